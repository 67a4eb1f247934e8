"""The layers stay honest: read every module's imports and fail when one crosses a line."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHAT_SDKS = ("slack_bolt", "slack_sdk", "botbuilder", "botframework", "msrest")
DATABASE = ("sqlmodel", "sqlalchemy", "alembic", "psycopg", "sqlite3")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def offenders(folder: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for path in modules(folder):
        bad = sorted(n for n in imports_of(path) if n.split(".")[0] in forbidden or n.startswith(forbidden))
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def test_the_domain_is_pure():
    assert modules("bot/domain"), "no domain modules found"
    assert offenders("bot/domain", CHAT_SDKS + DATABASE + ("aiohttp", "storage", "handlers", "cards", "bot.services", "matplotlib")) == {}


# The Block Kit renderer builds blocks with slack_sdk's models (they check Block Kit's limits);
# it may use those and nothing else of a chat SDK (no clients, no bolt).
RENDERERS = {"cards/blockkit.py": ("slack_sdk.models",)}


def renderer_ok(rel: str, name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in RENDERERS.get(rel, ()))


def test_use_cases_and_cards_import_no_chat_sdk():
    assert offenders("bot/services", CHAT_SDKS + ("aiohttp", "handlers")) == {}
    found = offenders("cards", CHAT_SDKS + DATABASE + ("aiohttp", "storage", "handlers"))
    assert {k: [n for n in v if not renderer_ok(k, n)] for k, v in found.items()} == {k: [] for k in found}
    assert offenders("storage", CHAT_SDKS + ("aiohttp", "handlers", "bot.services")) == {}


def test_only_slack_and_teams_handlers_import_chat_sdks():
    allowed = ("slack", "teams")
    for path in [*modules("bot"), *modules("handlers"), *modules("storage"), *modules("cards")]:
        rel = path.relative_to(ROOT)
        if rel.parts[0] == "handlers" and any(a in rel.stem for a in allowed):
            continue
        bad = sorted(n for n in imports_of(path) if n.split(".")[0] in CHAT_SDKS and not renderer_ok(str(rel), n))
        assert not bad, f"{rel} imports {bad}"


def test_the_importer_is_pure():
    assert modules("bot/importer"), "no importer modules found"
    assert offenders("bot/importer", CHAT_SDKS + DATABASE + ("aiohttp", "storage", "handlers", "cards", "bot.services")) == {}
