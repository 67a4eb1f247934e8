"""The digest's picture: ratings by priority, and the trend over the past weeks, as one PNG.

Ratings are the digest's `by_rating`: what a person sees (reported, else what the rules
suggest); the suggested part of each bar is hatched and the legend says so. Matplotlib runs
headless (Agg); nothing here touches a chat platform.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bot.domain.digest import Digest
from bot.domain.model import RagScheme
from bot.domain.rag import fmt_date

# Colours chosen to read on white and to stay apart for the commonest colour blindness:
# a true blue, a darker green, an orange-amber and a deep red; grey for unrated.
COLOURS = {"B": "#1f5fbf", "G": "#2e8b3a", "A": "#f0a202", "R": "#c0262d", "none": "#b8b8b8"}
NAMES = {"B": "Blue", "G": "Green", "A": "Amber", "R": "Red", "none": "No rating"}


def _keys(digest: Digest) -> list[str]:
    """The ratings worth a colour: Blue, Green, Amber and Red always (Blue only under BRAG),
    unrated only when some action has no rating."""
    keys = ["B", "G", "A", "R"] if digest.scheme is RagScheme.BRAG else ["G", "A", "R"]
    if digest.totals.by_rating["B"] and "B" not in keys:
        keys.insert(0, "B")
    if digest.totals.by_rating["none"] or any(t.counts["none"] for t in digest.trend):
        keys.append("none")
    return keys


def _label(ref: str | None, title: str) -> str:
    text = f"{ref.rstrip('.')}. {title}" if ref is not None else title
    wrapped = textwrap.wrap(text, 26, max_lines=2, placeholder="…")
    return "\n".join(wrapped)


def render_digest_chart(digest: Digest, path: str | Path) -> Path:
    """Write the digest chart as a PNG to `path` and return the path."""
    path = Path(path)
    keys = _keys(digest)
    groups = [p for p in digest.by_priority if p.totals.actions] or []
    n = max(len(groups), 1)
    fig, (bars, trend) = plt.subplots(
        1, 2, figsize=(12, max(4.6, 1.2 + 0.55 * n)), gridspec_kw={"width_ratios": [1.15, 1]}
    )
    heading = f"{digest.plan_title}: ratings at {fmt_date(digest.as_of)}"
    if not digest.plan_held:
        heading = f"{digest.plan_title}: not in the register on {fmt_date(digest.as_of)}"
    fig.suptitle(heading, fontsize=13, fontweight="bold")
    any_suggested = any(p.totals.by_rating_suggested[k] for p in groups for k in keys)

    # Left: stacked horizontal bars, one per priority, first priority at the top.
    labels = [_label(p.ref, p.title) for p in groups] or ["No actions"]
    y = list(range(len(labels)))[::-1]
    left = [0] * len(labels)
    for k in keys:
        values = [p.totals.by_rating[k] for p in groups] or [0]
        guessed = [p.totals.by_rating_suggested[k] for p in groups] or [0]
        reported = [v - g for v, g in zip(values, guessed, strict=True)]
        bars.barh(y, reported, left=left, color=COLOURS[k], label=NAMES[k], edgecolor="white", height=0.62)
        bars.barh(y, guessed, left=[a + r for a, r in zip(left, reported, strict=True)], color=COLOURS[k], hatch="///",
                  edgecolor="white", height=0.62)
        for yi, v, lft in zip(y, values, left, strict=True):
            if v:
                colour = "black" if k in ("A", "none") else "white"
                bars.text(lft + v / 2, yi, str(v), ha="center", va="center", fontsize=9, color=colour)
        left = [a + b for a, b in zip(left, values, strict=True)]
    bars.set_yticks(y, labels, fontsize=9)
    bars.set_xlabel("actions")
    bars.set_title("By priority", fontsize=11)
    bars.spines[["top", "right"]].set_visible(False)
    bars.xaxis.get_major_locator().set_params(integer=True)

    # Right: how many actions had each rating at the end of each week, as stacked columns
    # (lines would hide each other where counts are equal).
    weeks = [t.week_ending for t in digest.trend]
    x = list(range(len(weeks)))
    tallest = max((sum(t.counts[k] for k in keys) for t in digest.trend), default=0) or 1
    bottom = [0] * len(weeks)
    for k in keys:
        series = [t.counts[k] for t in digest.trend]
        trend.bar(x, series, bottom=bottom, color=COLOURS[k], edgecolor="white", width=0.7)
        for xi, v, b in zip(x, series, bottom, strict=True):
            if v and v / tallest >= 0.06:
                colour = "black" if k in ("A", "none") else "white"
                trend.text(xi, b + v / 2, str(v), ha="center", va="center", fontsize=8, color=colour)
        bottom = [a + b for a, b in zip(bottom, series, strict=True)]
    trend.set_xticks(x, [f"{d.day} {d:%b}" for d in weeks], fontsize=8, rotation=45 if len(x) > 8 else 0)
    trend.set_xlabel("week ending")
    trend.set_ylabel("actions")
    trend.set_title(f"Last {len(weeks)} weeks" if len(weeks) != 1 else "This week", fontsize=11)
    trend.yaxis.get_major_locator().set_params(integer=True)
    trend.spines[["top", "right"]].set_visible(False)

    handles, names = bars.get_legend_handles_labels()
    if any_suggested:
        from matplotlib.patches import Patch

        handles.append(Patch(facecolor="white", edgecolor="#555555", hatch="///"))
        names.append("hatched: suggested by the rules")
    fig.legend(handles, names, loc="lower center", ncol=len(handles), frameon=False, fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
