"""Fifteen invented councils' plans, each in .txt, .docx and .xlsx, against the register each is
known to hold (tests/fixtures/plans/*.expected.json, written from the same facts as the plan;
see make_plans.py there). At least 95% of the actions must be found, and lead, target date,
status and rating must be right for at least 95% of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.importer import ParsedPlan, read_plan, split_leads

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "plans"
NAMES = sorted(p.name.removesuffix(".expected.json") for p in FIXTURES.glob("*.expected.json"))
FORMATS = ("txt", "docx", "xlsx")


def norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def score(plan: ParsedPlan, expected: dict) -> tuple[float, float, list[str]]:
    """(share of expected actions found, share of found ones with every field right, what differed)."""
    by_text = {norm(a.text): a for a in plan.actions}
    found = 0
    right = 0
    wrong: list[str] = []
    for e in expected["actions"]:
        got = by_text.get(norm(e["text"]))
        if got is None:
            wrong.append(f"{e['ref']}: not found ({e['text']!r})")
            continue
        found += 1
        have = {
            "lead": norm(got.lead_text),
            "target": got.target_date.isoformat() if got.target_date else None,
            "status": got.register_status.value,
            "rag": got.rag.value if got.rag else None,
        }
        want = {"lead": norm(e["lead"]), "target": e["target"], "status": e["status"], "rag": e["rag"]}
        if "leads" in e:  # the people or roles the cell names, one per line in Word and Excel, <br> in text
            have["leads"], want["leads"] = split_leads(got.lead_text), e["leads"]
        if have == want:
            right += 1
        else:
            wrong.append(f"{e['ref']}: " + ", ".join(f"{k} {have[k]!r} != {want[k]!r}" for k in want if have[k] != want[k]))
    n = len(expected["actions"])
    return found / n, (right / found if found else 0.0), wrong


def test_the_corpus_has_sixteen_councils_in_three_formats() -> None:
    assert len(NAMES) >= 16
    for name in NAMES:
        for fmt in FORMATS:
            assert (FIXTURES / f"{name}.{fmt}").stat().st_size > 0


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", NAMES)
def test_each_plan_imports_its_register(name: str, fmt: str) -> None:
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))
    plan = read_plan(FIXTURES / f"{name}.{fmt}")
    found, right, wrong = score(plan, expected)
    assert found >= 0.95 and right >= 0.95, "\n".join(wrong)
    # refs as written, or (none written) from the structure: recommendation 2's third action is 2.3
    assert [a.ref for a in plan.actions] == [e["ref"] for e in expected["actions"]]
    if expected["refs_generated"]:
        assert any("from the plan's structure" in w for w in plan.warnings)
    grouped = [e for e in expected["actions"] if e["priority"]]
    if grouped:
        by_ref = {a.ref: a for a in plan.actions}
        assert [by_ref[e["ref"]].priority_ref for e in grouped] == [e["priority"] for e in grouped]


@pytest.mark.parametrize("name", NAMES)
def test_the_three_formats_agree(name: str) -> None:
    registers = {
        fmt: [(a.ref, norm(a.text), norm(a.lead_text), split_leads(a.lead_text), a.target_date, a.status, a.rag)
              for a in read_plan(FIXTURES / f"{name}.{fmt}").actions]
        for fmt in (*FORMATS, *(["md"] if (FIXTURES / f"{name}.md").exists() else []))
    }
    assert all(reg == registers["docx"] for reg in registers.values())


def test_leads_on_separate_lines_are_separate_leads_in_every_format() -> None:
    """A line break between two leads in a Word or Excel cell (or "<br>" in a text copy)
    separates them; a title wrapped onto a second line in lower case, or after "and", does not."""
    expected = json.loads((FIXTURES / "16_brackenford_leads_on_separate_lines.expected.json").read_text(encoding="utf-8"))
    want = {e["ref"]: e["leads"] for e in expected["actions"] if "leads" in e}
    assert want["B1"] == ["Head of Service", "Service Manager, Safeguarding"] and len(want["B3"]) == 1
    for fmt in ("txt", "md", "docx", "xlsx"):
        plan = read_plan(FIXTURES / f"16_brackenford_leads_on_separate_lines.{fmt}")
        got = {a.ref: a.lead_text for a in plan.actions}
        assert {ref: split_leads(got[ref]) for ref in want} == want, fmt
        assert got["B1"] == "Head of Service\nService Manager, Safeguarding", fmt  # the break is kept in the register
        assert got["B3"] == "Assistant Director for Children's social care", fmt  # a wrapped title is one line
        assert all("\u2028" not in a.text + a.progress + a.target_raw for a in plan.actions), fmt
