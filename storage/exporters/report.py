"""What an export needs to know about a plan: a neutral snapshot, free of the database.

The storage layer fills it from its rows; tests build it by hand. Every exporter (xlsx, docx,
csv) reads only these classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bot.domain.model import Rag, RagScheme, Status
from bot.domain.rag import RagSuggestion, Rating, shown_rating


@dataclass(frozen=True)
class ActionReport:
    ref: str
    text: str
    lead: str
    original_target: date | None
    original_target_raw: str  # as the plan wrote it ("Nov 12", "Ongoing"); shown when there is no date
    revised_target: date | None
    revised_reason: str
    status: Status
    rag: Rag | None  # the rating given by a person
    suggested_rag: Rag | None  # the bot's suggestion from the dates; shown only when nobody rated it
    latest_progress: str
    last_update: date | None
    outputs: str = ""
    outcome_required: str = ""

    @property
    def rating(self) -> Rating:
        """The rating the report shows: the one given, else the suggestion, marked suggested."""
        return shown_rating(self.rag, RagSuggestion(self.suggested_rag, ()) if self.suggested_rag else None)


@dataclass(frozen=True)
class PriorityReport:
    ref: str
    title: str
    timescale: str
    actions: list[ActionReport] = field(default_factory=list)


@dataclass(frozen=True)
class PlanReport:
    title: str
    organisation: str
    rag_scheme: RagScheme
    as_of: date
    priorities: list[PriorityReport] = field(default_factory=list)
