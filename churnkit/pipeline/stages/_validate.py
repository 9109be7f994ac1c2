"""The validate stage: the loaded orders' validation report, written with a manifest."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from churnkit.core._outputs import atomic_folder, write_csv, write_json, write_manifest

if TYPE_CHECKING:
    from churnkit.io._transaction_log import TransactionLog
    from churnkit.pipeline.stages._folders import PathLike

__all__ = ["validate_stage", "write_validation"]


def write_validation(log: TransactionLog, folder: PathLike) -> list[Path]:
    """Write ``log``'s validation report into ``folder`` (JSON, Markdown, reasons, rejected rows)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    report = log.report
    summary = {"log": log.summary(), "report": report.to_dict() if report is not None else None}
    written = [write_json(summary, folder / "validation_report.json")]
    if report is not None:
        (folder / "validation_report.md").write_text(report.to_markdown() + "\n", encoding="utf-8")
        written.append(folder / "validation_report.md")
        written.append(write_csv(report.reasons_table(), folder / "rejected_reasons.csv"))
        written.append(write_csv(report.rejected, folder / "rejected_rows.csv"))
    return written


def validate_stage(
    log: TransactionLog, out: PathLike, *, inputs: dict[str, Any], config: dict[str, Any]
) -> TransactionLog:
    """Write ``log``'s validation report and a manifest into ``out``, swapped in atomically.

    Examples
    --------
    >>> validate_stage(log, "out/validation", inputs={"orders": "orders.csv"}, config={})  # doctest: +SKIP
    """
    with atomic_folder(out) as tmp:
        write_validation(log, tmp)
        write_manifest(tmp, stage="validate", inputs=inputs, config=config)
    return log
