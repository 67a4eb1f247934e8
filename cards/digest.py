"""The digest screen as a neutral view model, and its plain-text rendering.

The view has no platform markup. Text is split into parts, and each part says whether a person
typed it (action titles, refs, names: `user=True`) so that the Slack and Teams renderers can
escape exactly those parts and nothing of ours. Lines are short and sections capped, so a
renderer can map one line to one block without meeting a platform's limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.domain.digest import DUE_SOON_DAYS, Digest
from bot.domain.model import Rag, RagScheme
from bot.domain.rag import RAG_KEYS, fmt_date
from cards.view import Card, Fact, Line, Section, Text
from cards.view import render_text as view_render_text

TITLE_CHARS = 90  # action titles longer than this are cut with "…"

_RAG_NAMES = {"B": "Blue", "G": "Green", "A": "Amber", "R": "Red", "none": "No rating"}
_MOVED_HEADINGS = {
    "newly_red": "Newly Red",
    "worsened": "Worse",
    "improved": "Better",
    "completed": "Completed",
    "signed_off": "Signed off",
    "rebaselined": "Re-baselined",
}


@dataclass(frozen=True)
class DigestView:
    title: Line
    subtitle: str
    facts: tuple[Fact, ...]
    sections: tuple[Section, ...]
    chart_path: Path | None = None
    private: bool = False  # True: the plan owner's copy, with names of people missing updates


def _cut(text: str, limit: int = TITLE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _action(ref: str, title: str) -> tuple[Text, ...]:
    return (Text(ref, user=True, strong=True), Text(" "), Text(_cut(title), user=True))


def _lead(lead: str) -> tuple[Text, ...]:
    return (Text(", lead "), Text(_cut(lead, 60), user=True)) if lead else ()


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def _section(key: str, heading: str, lines: list[Line], empty: str, max_lines: int) -> Section:
    return Section(key, heading, tuple(lines[:max_lines]), max(0, len(lines) - max_lines), empty)


def _counts(counts: dict[str, int]) -> str:
    """"1 Blue, 2 Green, 1 Red": the non-zero counts, best first."""
    parts = [f"{counts[k]} {_RAG_NAMES[k]}" for k in RAG_KEYS if counts.get(k)]
    return ", ".join(parts) if parts else "none"


def build_digest_view(
    digest: Digest, *, private: bool = False, chart_path: Path | None = None, max_lines: int = 8
) -> DigestView:
    """The digest screen. `private` adds who has not updated (for the plan owner only)."""
    d = digest
    title = Line((Text(d.plan_title, user=True), Text(" — weekly digest")))
    if not d.plan_held:
        return DigestView(
            title=title,
            subtitle=f"Week to {fmt_date(d.as_of)}" + (" (private copy for the plan owner)" if private else ""),
            facts=(),
            sections=(Section("not_held", "Not in the register then", (Line((Text(d.not_held_note),)),)),),
            chart_path=chart_path,
            private=private,
        )
    by_rating = d.totals.by_rating
    suggested = d.totals.by_rating_suggested
    shown = [k for k in RAG_KEYS if k != "B" or d.scheme is RagScheme.BRAG or by_rating["B"]]
    facts = (
        Fact("Actions", str(d.totals.actions)),
        *(Fact(_RAG_NAMES[k], f"{by_rating[k]} ({suggested[k]} suggested)" if suggested[k] else str(by_rating[k]))
          for k in shown),
        Fact("Overdue", str(len(d.overdue))),
        Fact(f"Due in {DUE_SOON_DAYS // 7} weeks", str(len(d.due_soon))),
        Fact("Awaiting sign-off", str(len(d.awaiting_signoff))),
        Fact("Changed this week", str(d.moved.count)),
    )

    moved: list[Line] = []
    for kind in d.moved.KINDS:
        for m in getattr(d.moved, kind):
            moved.append(Line((Text(_MOVED_HEADINGS[kind] + ": ", strong=True), *_action(m.ref, m.title),
                               Text(f" ({m.detail})")), rag=m.after))

    overdue = [
        Line((*_action(o.ref, o.title),
              Text(f": {_days(o.days_overdue)} late (target {fmt_date(o.target)})"), *_lead(o.lead),
              *((Text(f"; suggested {o.rating.label}"),) if o.rating_suggested and o.rating else ())), rag=o.rating)
        for o in d.overdue
    ]
    waiting = [Line((*_action(a.ref, a.title), Text(": with "), Text(a.stage, user=True))) for a in d.awaiting_signoff]
    due_soon = [
        Line((*_action(s.ref, s.title),
              Text(f": {fmt_date(s.target)} ({'today' if s.days_left == 0 else 'in ' + _days(s.days_left)})"),
              *_lead(s.lead)))
        for s in d.due_soon
    ]

    mu = d.missing_updates
    if private:
        missing = [Line((Text(s.name, user=s.person_id is not None, strong=True), Text(": "),
                         Text(", ".join(s.refs), user=True))) for s in d.missing_updates_named]
    elif mu.actions:
        people = f"{mu.people} {'person' if mu.people == 1 else 'people'}"
        unowned = f", {mu.unowned} with no owner" if mu.unowned else ""
        missing = [Line((Text(f"{mu.actions} open action{'s' if mu.actions != 1 else ''} ({people}{unowned}). "
                              "The plan owner has the details."),))]
    else:
        missing = []

    differ = [
        Line((*_action(x.ref, x.title),
              Text(f": reported {x.reported.label}, rules say {x.suggested.label}"
                   + (f" ({'; '.join(x.reasons)})" if x.reasons else ""))), rag=x.suggested)
        for x in d.disagreements
    ]
    priorities = []
    for p in d.by_priority:
        name = ((Text(p.ref, user=True, strong=True), Text(" "), Text(_cut(p.title, 60), user=True))
                if p.ref is not None else (Text(p.title, strong=True),))
        n = p.totals.actions
        priorities.append(Line((*name, Text(f": {n} action{'s' if n != 1 else ''}, {_counts(p.totals.by_rating)}"))))
    trend = []
    if len(d.trend) > 1:
        for k in ("R", "A", "G", "B"):
            series = [t.counts[k] for t in d.trend]
            if any(series) and (k != "B" or d.scheme is RagScheme.BRAG):
                trend.append(Line((Text(f"{_RAG_NAMES[k]}: " + " → ".join(map(str, series))),), rag=Rag(k)))

    weeks = len(d.trend)
    sections = (
        _section("moved", f"What changed since {fmt_date(d.since)}", moved,
                 "No rating or status changed.", max_lines),
        _section("overdue", f"Overdue ({len(overdue)})", overdue, "Nothing is overdue.", max_lines),
        _section("awaiting_signoff", f"Awaiting sign-off ({len(waiting)})", waiting,
                 "Nothing is waiting for sign-off.", max_lines),
        _section("due_soon", f"Due in the next {DUE_SOON_DAYS // 7} weeks ({len(due_soon)})", due_soon,
                 "No target dates in the next four weeks.", max_lines),
        _section("missing_updates", f"No update in {mu.weeks} weeks", missing,
                 "Every open action has an update.", max_lines if private else 1),
        _section("disagreements", f"Ratings that differ from the rules ({len(differ)})", differ,
                 "Every reported rating matches the rules.", max_lines),
        _section("priorities", "By priority", priorities, "No actions.", max(max_lines, len(priorities))),
        _section("trend", f"Over the last {weeks} weeks (week ending {fmt_date(d.trend[0].week_ending)} "
                 f"to {fmt_date(d.as_of)})" if weeks > 1 else "Trend", trend, "Not enough history yet.", 4),
    )
    return DigestView(
        title=title,
        subtitle=f"Week to {fmt_date(d.as_of)}, changes since {fmt_date(d.since)}"
        + (" (private copy for the plan owner)" if private else "")
        + (". Suggested: the rules' rating where no lead officer has given one" if any(suggested.values()) else ""),
        facts=facts,
        sections=sections,
        chart_path=chart_path,
        private=private,
    )


def render_text(view: DigestView) -> str:
    """Plain text for the CLI and the console: the card's own text rendering."""
    return view_render_text(digest_card(view)) + "\n"


def digest_card(view: DigestView) -> Card:
    """The digest as the neutral card every renderer and the outbox take."""
    return Card(
        screen="digest",
        title=view.title,
        subtitle=view.subtitle,
        facts=view.facts,
        sections=view.sections,
        private=view.private,
        chart_path=str(view.chart_path) if view.chart_path else None,
    )
