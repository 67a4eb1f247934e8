"""What an imported plan file says, before anything is written to the database.

The importer turns an uploaded file into these neutral dataclasses plus warnings; another part
of the program shows them to the administrator and commits them in one transaction. Nothing
here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from bot.domain.model import Rag, RagScheme, Status
from bot.importer.leads import split_leads

if TYPE_CHECKING:
    from bot.importer.dateorder import DateOrder


class PlanFileError(ValueError):
    """The uploaded file cannot be imported at all (damaged, empty, encrypted, macro-enabled,
    too big, no column headings...). The message says what is wrong in words an administrator
    understands and can be shown as it is. No partial result is ever returned with it."""


@dataclass
class ParsedProgress:
    """One dated progress column of a plan that keeps several ("End of September",
    "End of November"), each possibly with its own RAG rating."""

    label: str
    text: str
    rag: Rag | None = None

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "text": self.text, "rag": self.rag.value if self.rag else None}


@dataclass
class ParsedPriority:
    """A recommendation / area for improvement / priority that actions hang from."""

    ref: str
    title: str
    timescale: str = ""
    expected_outcome: str = ""
    findings: list[str] = field(default_factory=list)
    accountable_text: str = ""
    section: str = ""
    target_raw: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    where: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "title": self.title,
            "timescale": self.timescale,
            "expected_outcome": self.expected_outcome,
            "findings": list(self.findings),
            "accountable": self.accountable_text,
            "section": self.section,
            "target_raw": self.target_raw,
            "extra": dict(self.extra),
        }


@dataclass
class ParsedAction:
    ref: str
    priority_ref: str | None
    text: str
    lead_text: str = ""
    target_raw: str = ""
    target_date: date | None = None
    target_kind: str = "empty"
    target_note: str = ""
    revised_target_raw: str = ""  # a "Revised target" column next to the original one
    revised_target_date: date | None = None
    revision_reason: str = ""
    status: Status | None = None
    rag: Rag | None = None
    progress: str = ""
    outputs: str = ""
    outcome_required: str = ""
    evidence_required: str = ""
    links: str = ""
    achievement: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    history: list[ParsedProgress] = field(default_factory=list)
    section: str = ""
    timescale: str = ""
    source_ref: str = ""  # the ref exactly as the file gave it (shared refs get a suffix)
    where: str = ""

    @property
    def register_status(self) -> Status:
        """The status the register gives it: as stated, else complete when the target cell says
        so, else in progress when progress is reported (work has started), else not started."""
        if self.status is not None:
            return self.status
        if self.target_kind == "complete":
            return Status.COMPLETE
        return Status.IN_PROGRESS if self.progress.strip() else Status.NOT_STARTED

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "priority_ref": self.priority_ref,
            "text": self.text,
            "lead": self.lead_text,
            "leads": split_leads(self.lead_text),
            "target_raw": self.target_raw,
            "target_date": self.target_date.isoformat() if self.target_date else None,
            "target_kind": self.target_kind,
            "revised_target_raw": self.revised_target_raw,
            "revised_target_date": self.revised_target_date.isoformat() if self.revised_target_date else None,
            "revision_reason": self.revision_reason,
            "status": self.status.value if self.status else None,
            "rag": self.rag.value if self.rag else None,
            "progress": self.progress,
            "history": [h.to_json() for h in self.history],
            "outputs": self.outputs,
            "outcome_required": self.outcome_required,
            "evidence_required": self.evidence_required,
            "links": self.links,
            "achievement": self.achievement,
            "section": self.section,
            "timescale": self.timescale,
            "extra": dict(self.extra),
            "source_ref": self.source_ref,
            "where": self.where,
        }


@dataclass
class ParsedPlan:
    title: str
    organisation: str = ""
    rag_scheme: RagScheme = RagScheme.RAG
    plan_date: date | None = None
    source_file: str = ""
    priorities: list[ParsedPriority] = field(default_factory=list)
    actions: list[ParsedAction] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)  # header text as written -> field
    notes: list[str] = field(default_factory=list)  # footnotes and text kept but not imported
    preamble: list[str] = field(default_factory=list)  # the lines above the first table (title, purpose…)
    encoding: str = ""  # text files only: how the bytes were read
    guesses: list[dict[str, Any]] = field(default_factory=list)  # columns read by their contents: column, field, confidence, why
    date_order: DateOrder | None = None  # how numeric dates were read (day- or month-first) and why

    def to_json(self) -> dict[str, Any]:
        """The shape of `actionbot import --json`."""
        return {
            "plan": {
                "title": self.title,
                "organisation": self.organisation,
                "rag_scheme": self.rag_scheme.value,
                "plan_date": self.plan_date.isoformat() if self.plan_date else None,
                "source_file": self.source_file,
                "encoding": self.encoding or None,
                "date_order": self.date_order.to_json() if self.date_order else None,
            },
            "priorities": [p.to_json() for p in self.priorities],
            "actions": [a.to_json() for a in self.actions],
            "warnings": list(self.warnings),
            "extra_columns": list(self.extra_columns),
            "mapping": dict(self.mapping),
            "guesses": list(self.guesses),
            "notes": list(self.notes),
            "preamble": list(self.preamble),
        }
