"""The committee-report layout every export shares: columns, headings, legend, colours, and the
text rules (UK dates, status words, formula neutralising).

Header words and priority headings are the conventional ones the importer recognises, so an
exported register reads back as the same register.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.domain.model import Rag, RagScheme, Status

from .report import ActionReport, PlanReport, PriorityReport


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    weight: float  # relative width


_BASE_COLUMNS = [
    Column("ref", "Ref", 6),
    Column("text", "Action", 30),
    Column("outputs", "Outputs", 18),
    Column("outcome_required", "Outcome Required", 18),
    Column("lead", "Lead Officer", 14),
    Column("original_target", "Original Target", 10),
    Column("revised_target", "Revised Target", 10),
    Column("revised_reason", "Reason for Revision", 14),
    Column("status", "Status", 11),
    Column("rag", "RAG", 8),
    Column("latest_progress", "Latest Progress", 36),
    Column("last_update", "Last Updated", 10),
]
_OPTIONAL = ("outputs", "outcome_required", "revised_reason")


def columns(report: PlanReport, *, reason_column: bool = True) -> list[Column]:
    """The table's columns. Outputs, Outcome Required (Derby-style plans) and Reason for Revision
    appear only when some action has them, so plans without them keep a compact table. Word
    tables put the reason under the revised date instead (reason_column=False): a landscape
    page has no room for another column."""
    used = {key for key in _OPTIONAL if any(getattr(a, key).strip() for a in all_actions(report))}
    if not reason_column:
        used.discard("revised_reason")
    return [c for c in _BASE_COLUMNS if c.key not in _OPTIONAL or c.key in used]


def all_actions(report: PlanReport) -> list[ActionReport]:
    return [a for p in report.priorities for a in p.actions]


def priority_heading(priority: PriorityReport) -> str:
    """"Recommendation 2 – Ensure that…", the heading councils put above each action table."""
    title = priority.title.strip()
    return f"Recommendation {priority.ref.strip()} – {title}" if title else f"Recommendation {priority.ref.strip()}"


def timescale_line(priority: PriorityReport) -> str:
    return f"Timescale: {priority.timescale.strip()}" if priority.timescale.strip() else ""


def position_line(report: PlanReport) -> str:
    return f"Position as at {uk_date(report.as_of)}"


def uk_date(d: date) -> str:
    """30 Nov 2012."""
    return f"{d.day} {d:%b %Y}"


# The domain's own labels ("Complete (awaiting sign-off)"), as the rest of the bot shows them;
# the importer reads each of them back to the same status.
STATUS_TEXT = {status: status.label for status in Status}

# Fill colour and the text colour legible on it (contrast ratio above 4.5 either way round).
RAG_FILL = {Rag.RED: "C00000", Rag.AMBER: "FFC000", Rag.GREEN: "00B050", Rag.BLUE: "0070C0"}
RAG_FONT = {Rag.RED: "FFFFFF", Rag.AMBER: "000000", Rag.GREEN: "000000", Rag.BLUE: "FFFFFF"}
RAG_MEANING = {
    Rag.BLUE: "Completed / signed off",
    Rag.GREEN: "On track",
    Rag.AMBER: "Slippage",
    Rag.RED: "Major slippage",
}


def legend_rags(report: PlanReport) -> list[Rag]:
    """Blue first for BRAG plans; a RAG plan shows Blue only if some action is rated Blue anyway,
    so no colour in the table is left unexplained."""
    blue_used = any(a.rating.rag is Rag.BLUE for a in all_actions(report))
    show_blue = report.rag_scheme == RagScheme.BRAG or blue_used
    return [r for r in (Rag.BLUE, Rag.GREEN, Rag.AMBER, Rag.RED) if r != Rag.BLUE or show_blue]


SUGGESTED_NOTE = "Suggested: a rating the bot proposes from the target dates where the lead officer has not given one"


def rag_text(action: ActionReport) -> str:
    """The word in the RAG cell: the rating given, else the bot's suggestion marked as such
    ("Suggested: Red", which the importer reads back as no rating given)."""
    shown = action.rating
    if shown.rag is None:
        return ""
    return f"Suggested: {shown.rag.label}" if shown.suggested else shown.rag.label


def any_suggestion_shown(report: PlanReport) -> bool:
    return any(a.rating.suggested for a in all_actions(report))


# --- text safety -----------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# Characters XML 1.0 forbids (Word pastes \x0b for a line break, \x07 from old tables).
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str | None) -> str:
    """Text a file can hold: vertical tab becomes a line break, other control characters go."""
    if not text:
        return ""
    return _ILLEGAL_XML.sub("", text.replace("\x0b", "\n").replace("\r\n", "\n"))


def neutralise(text: str | None) -> str:
    """Spreadsheet-safe text: a cell that would start with = + - @ (or a tab or line break, also
    after leading spaces) gets a leading single quote, so Excel, LibreOffice and Sheets show it
    as text and never run it as a formula ("=HYPERLINK(…)", "-10 days")."""
    text = clean(text)
    if text.lstrip(" ").startswith(_FORMULA_START):
        return "'" + text
    return text


def unneutralise(text: str) -> str:
    """What an importer does to read back a cell this module neutralised."""
    if text.startswith("'") and text[1:].lstrip(" ").startswith(_FORMULA_START):
        return text[1:]
    return text
