"""The neutral form: what an *Update* button or a *Return with note* button opens.

One model, rendered by each platform in its own way (a Slack modal, an Adaptive Card with
inputs, numbered prompts on the console). Input ids are ``cards.ids.Field`` values so the
conversation reads a submission the same way whatever sent it. ``value`` is the hidden state
the form carries (action id, the version it was drawn from, ...) and must come back unchanged
with the submission.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

INPUT_KINDS = ("choice", "text", "multiline", "date", "url")


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Input:
    id: str  # a cards.ids.Field value
    kind: str  # one of INPUT_KINDS; a date is ISO yyyy-mm-dd on the way in and out
    label: str
    required: bool = False
    initial: str = ""  # the preselected option's value, the pre-filled text or ISO date
    options: tuple[Option, ...] = ()  # for "choice"
    hint: str = ""  # placeholder / help text under the input
    max_length: int = 0  # 0: no limit of its own


@dataclass(frozen=True)
class Form:
    id: str  # what submitting it does: a cards.ids.Verb value (submit_update, return ...)
    title: str  # short: Slack modal titles hold 24 characters
    inputs: tuple[Input, ...]
    submit_label: str = "Save"
    intro: str = ""  # a line or two above the inputs (the action's ref and text)
    value: dict[str, Any] = field(default_factory=dict)  # hidden state, comes back on submit

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Form:
        return cls(
            id=d["id"], title=d["title"], submit_label=d.get("submit_label", "Save"), intro=d.get("intro", ""),
            value=dict(d.get("value") or {}),
            inputs=tuple(Input(**{**i, "options": tuple(Option(**o) for o in i.get("options", ()))}) for i in d["inputs"]),
        )
