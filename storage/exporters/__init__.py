"""Write a plan's register as the files councils take to committee: .xlsx, .docx or .csv."""

from __future__ import annotations

from pathlib import Path

from bot.domain.model import InvalidValue

from .report import ActionReport, PlanReport, PriorityReport
from .to_csv import write_csv
from .to_docx import write_docx
from .to_xlsx import write_xlsx

__all__ = ["EXPORT_FORMATS", "ActionReport", "PlanReport", "PriorityReport", "export_plan"]

_WRITERS = {".xlsx": write_xlsx, ".docx": write_docx, ".csv": write_csv}
EXPORT_FORMATS = tuple(_WRITERS)


def export_plan(report: PlanReport, path: Path) -> Path:
    """Write the report to `path` in the format its suffix names and return the path.

    Raises InvalidValue (a ValueError) for any other suffix, naming the accepted ones."""
    path = Path(path)
    writer = _WRITERS.get(path.suffix.lower())
    if writer is None:
        accepted = ", ".join(EXPORT_FORMATS)
        raise InvalidValue(
            f"cannot export a plan to {path.name!r}: the file name must end in one of {accepted}"
        )
    return writer(report, path)
