"""Pipeline stages that turn inputs into an output folder (tables, figures, manifest).

Each stage is a plain function used by the CLI and by ``churnkit demo``; it computes with the
public API, writes into a folder that is swapped in atomically, and returns what it computed.
Nothing here prints: the caller shows progress.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from churnkit.core._outputs import (
    atomic_folder,
    write_csv,
    write_figure,
    write_json,
    write_manifest,
)

if TYPE_CHECKING:
    import pandas as pd

    from churnkit.io._transaction_log import TransactionLog
    from churnkit.segments._dynamics import SegmentDynamics
    from churnkit.segments._rules import SegmentRules

PathLike = str | os.PathLike[str]


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


@dataclass
class SegmentResults:
    """What the segment stage computed."""

    at: pd.Timestamp
    segments: pd.DataFrame
    profile: pd.DataFrame
    dynamics: SegmentDynamics


def compute_segments(
    log: TransactionLog,
    *,
    at: Any = None,
    rules: SegmentRules | None = None,
    freq: str = "M",
) -> SegmentResults:
    """Segments at ``at`` (default: the log's as-of date), their profile and their dynamics."""
    import pandas as pd

    from churnkit.segments._assign import assign_segments
    from churnkit.segments._dynamics import segment_dynamics
    from churnkit.segments._profile import segment_profile

    at = pd.Timestamp(log.as_of if at is None else at).normalize()
    return SegmentResults(
        at=at,
        segments=assign_segments(log, at=at, rules=rules),
        profile=segment_profile(log, at=at, rules=rules),
        dynamics=segment_dynamics(log, freq=freq, rules=rules),
    )


def write_segments(results: SegmentResults, folder: PathLike, *, lang: str = "en") -> list[Path]:
    """Write segment tables and figures (PNG for people, SVG for the PDF) into ``folder``."""
    import matplotlib.pyplot as plt

    from churnkit.segments._plots import (
        plot_migration_heatmap,
        plot_retention_rates,
        plot_segment_sizes,
    )

    folder = Path(folder)
    (folder / "figures").mkdir(parents=True, exist_ok=True)
    dyn = results.dynamics
    written = [
        write_csv(results.segments, folder / "segments.csv"),
        write_csv(results.profile, folder / "segment_profile.csv"),
        write_csv(dyn.table, folder / "segment_dynamics.csv"),
        write_csv(dyn.migration, folder / "segment_migration.csv"),
        write_csv(dyn.migration_matrix().reset_index(), folder / "migration_matrix.csv"),
    ]
    (folder / "segment_rules.yaml").write_text(dyn.rules.to_yaml(), encoding="utf-8")
    written.append(folder / "segment_rules.yaml")
    figures = {
        "segment_sizes": (plot_segment_sizes, (12, 5)),
        "retention_rates": (plot_retention_rates, (12, 5)),
        "migration_heatmap": (plot_migration_heatmap, (9, 7.5)),
    }
    for name, (plot, size) in figures.items():
        fig, ax = plt.subplots(figsize=size)
        try:
            plot(dyn, ax=ax, lang=lang)
            fig.tight_layout()
        except BaseException:
            plt.close(fig)
            raise
        written += write_figure(fig, folder / "figures", name)
    return written


def segment_stage(
    log: TransactionLog,
    out: PathLike,
    *,
    at: Any = None,
    rules: SegmentRules | None = None,
    freq: str = "M",
    lang: str = "en",
    inputs: dict[str, Any] | None = None,
) -> SegmentResults:
    """Compute segments, profile and dynamics and write them (with a manifest) into ``out``."""
    results = compute_segments(log, at=at, rules=rules, freq=freq)
    with atomic_folder(out) as tmp:
        write_segments(results, tmp, lang=lang)
        write_manifest(
            tmp,
            stage="segment",
            inputs=inputs or {},
            config={
                "at": str(results.at.date()),
                "freq": freq,
                "lang": lang,
                "rules": results.dynamics.rules.to_dict(),
            },
        )
    return results
