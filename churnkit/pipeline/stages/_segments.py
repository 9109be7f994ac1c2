"""The segments stage: segments at a date, their profile and dynamics, tables and figures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from churnkit.core._outputs import atomic_folder, write_csv, write_figure, write_manifest
from churnkit.pipeline.stages._folders import REPORT_FIGURES, PathLike
from churnkit.report._sections import draw_segment_figures

if TYPE_CHECKING:
    import pandas as pd

    from churnkit.io._transaction_log import TransactionLog
    from churnkit.segments._dynamics import SegmentDynamics
    from churnkit.segments._rules import SegmentRules


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
    """Write segment tables and figures (PNG and SVG) into ``folder``, and the figures at the
    report's sizes into ``folder/report_figures`` (so a later report needs no dynamics)."""
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
    written += draw_segment_figures(dyn, folder / REPORT_FIGURES, lang).values()
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
    """Compute segments, profile and dynamics and write them (with a manifest) into ``out``.

    Examples
    --------
    >>> segment_stage(log, "out/segments", freq="Q", lang="ru")  # doctest: +SKIP
    """
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
