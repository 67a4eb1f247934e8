"""The Teams app package: manifest.json and two icons, zipped, ready to upload to Teams
(Apps → Manage your apps → Upload an app) or to the Teams admin centre.

The bot's commands come from the conversation's own command table, so the menu Teams shows
never disagrees with ``help``. Teams allows ten commands per scope: the personal menu lists the
ten most used, the team and group chat menu the ones that make sense in a channel.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

from bot.conversation.commands import BY_NAME

SCHEMA = "https://developer.microsoft.com/en-us/json-schemas/teams/v1.17/MicrosoftTeams.schema.json"
MANIFEST_VERSION = "1.17"
PERSONAL = ("mine", "due", "update", "snooze", "away", "signoff", "import", "digest", "export", "help")
IN_CHANNELS = ("digest", "set", "plans", "show", "help")
ACCENT = "#1F6E43"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class PackageError(ValueError):
    pass


def _commands(names: tuple[str, ...]) -> list[dict[str, str]]:
    out = []
    for name in names:
        cmd = BY_NAME[name]
        out.append({"title": cmd.name[:32], "description": f"{cmd.usage} — {cmd.summary}"[:128]})
    return out


def manifest(app_id: str, *, name: str = "actionbot", version: str = "1.0.0", developer: str = "actionbot",
             website: str = "https://example.org/actionbot", privacy: str | None = None, terms: str | None = None,
             domain: str | None = None) -> dict[str, Any]:
    """The app manifest for the bot registered as ``app_id`` (its MicrosoftAppId)."""
    if not GUID.match(app_id.strip()):
        raise PackageError(f"the app id must be the bot's Microsoft App ID (a GUID like 00000000-0000-0000-0000-000000000000), not {app_id!r}")
    if not re.match(r"^\d+\.\d+\.\d+$", version):
        raise PackageError(f"the version must look like 1.0.0, not {version!r}")
    for label, url in (("website", website), ("privacy", privacy), ("terms", terms)):
        if url is not None and not url.startswith("https://"):
            raise PackageError(f"the {label} address must start with https://, not {url!r}")
    app_id = app_id.strip().lower()
    return {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {"name": developer[:32], "websiteUrl": website, "privacyUrl": privacy or website, "termsOfUseUrl": terms or website},
        "name": {"short": name[:30], "full": f"{name} — improvement plan actions"[:100]},
        "description": {
            "short": "Chases improvement-plan actions and posts the weekly RAG digest."[:80],
            "full": ("Keeps your improvement plan's action register: lead officers get a nudge when an update is due and "
                     "answer in a card or in plain words; leadership channels get the weekly RAG digest; administrators "
                     "import plans by sending the Word or Excel file to the bot.")[:4000],
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": ACCENT,
        "bots": [{
            "botId": app_id,
            "scopes": ["personal", "team", "groupChat"],
            "supportsFiles": True,
            "isNotificationOnly": False,
            "commandLists": [
                {"scopes": ["personal"], "commands": _commands(PERSONAL)},
                {"scopes": ["team", "groupChat"], "commands": _commands(IN_CHANNELS)},
            ],
        }],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [domain] if domain else [],
    }


def icons() -> tuple[bytes, bytes]:
    """color.png (192×192, the accent colour with a white tick) and outline.png (32×32, white
    on transparent), as Teams requires."""
    from PIL import Image, ImageDraw

    def draw(size: int, background: tuple[int, int, int, int], stroke: int) -> bytes:
        im = Image.new("RGBA", (size, size), background)
        d = ImageDraw.Draw(im)
        s = size
        d.line([(0.22 * s, 0.52 * s), (0.42 * s, 0.72 * s), (0.78 * s, 0.30 * s)], fill=(255, 255, 255, 255), width=stroke, joint="curve")
        out = io.BytesIO()
        im.save(out, "PNG")
        return out.getvalue()

    accent = tuple(int(ACCENT[i:i + 2], 16) for i in (1, 3, 5)) + (255,)
    return draw(192, accent, 18), draw(32, (0, 0, 0, 0), 3)  # type: ignore[arg-type]


def build(app_id: str, **options: Any) -> bytes:
    """The zip Teams takes: manifest.json, color.png, outline.png at its root."""
    man = manifest(app_id, **options)
    color, outline = icons()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(man, indent=2, ensure_ascii=False))
        z.writestr("color.png", color)
        z.writestr("outline.png", outline)
    return out.getvalue()
