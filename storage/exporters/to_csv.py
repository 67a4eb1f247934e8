"""The register as one flat CSV table, for anyone who wants to sort or merge it themselves.

UTF-8 with a byte-order mark so Excel shows "–" and accented names correctly; dates in ISO form
(2012-11-30), which every spreadsheet reads as a date whatever its locale; every user-provided
string neutralised against formula injection.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from .layout import STATUS_TEXT, columns, neutralise, priority_heading, rag_text
from .report import ActionReport, PlanReport

# "Recommendation" holds the whole heading ("Recommendation 2 – Ensure that…"), from which the
# importer takes the priority's ref and title; "Priority Ref" repeats the ref alone for sorting
# and lookups; "Recommended Timescale" is the wording the importer maps to a timescale (a bare
# "Timescale" would be read as the target date).
PRIORITY_HEADERS = ["Priority Ref", "Recommendation", "Recommended Timescale"]


def write_csv(report: PlanReport, path: Path) -> Path:
    cols = columns(report)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(PRIORITY_HEADERS + [c.header for c in cols])
        for p in report.priorities:
            lead_cells = [neutralise(p.ref), neutralise(priority_heading(p)), neutralise(p.timescale)]
            for action in p.actions:
                writer.writerow(lead_cells + [_text(action, c.key) for c in cols])
            if not p.actions:  # a recommendation with no actions yet still belongs to the plan
                writer.writerow(lead_cells + [""] * len(cols))
    return path


def _text(action: ActionReport, key: str) -> str:
    match key:
        case "original_target":
            return _iso(action.original_target) or neutralise(action.original_target_raw)
        case "revised_target":
            return _iso(action.revised_target)
        case "last_update":
            return _iso(action.last_update)
        case "status":
            return STATUS_TEXT[action.status]
        case "rag":
            return rag_text(action)
        case _:
            return neutralise(getattr(action, key))


def _iso(d: date | None) -> str:
    return d.isoformat() if d else ""
