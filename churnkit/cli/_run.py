"""``churnkit run project.yml`` (the whole pipeline from one config) and ``churnkit report``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from churnkit.cli._common import (
    ChurnerSegmentsOpt,
    ChurnerThresholdOpt,
    _guarded,
    _print_table,
    _steps,
    out_console,
    split_list,
)


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``report`` to the ``churnkit`` command line."""
    app.command(name="run")(run)
    app.command(name="report")(report)


def run(
    config: Annotated[
        Path, typer.Argument(help="Project config (YAML), see churnkit.pipeline._config.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: churnkit-output next to the config)."),
    ] = None,
) -> None:
    """Run validate → segments → models → sample → coding → matrix → report from a config.

    Stages whose inputs and settings did not change since the last run into the same folder
    are taken from it, not recomputed.
    """
    import pandas as pd

    from churnkit.pipeline._config import load_config
    from churnkit.pipeline._runner import planned_stages, run_project

    def go() -> None:
        t0 = time.perf_counter()
        project = load_config(config)
        folder = out if out is not None else config.parent / "churnkit-output"
        with _steps(tuple(planned_stages(project))) as step:
            result = run_project(project, folder, on_step=step)
        table = pd.DataFrame(
            {
                "stage": list(result.status),
                "status": list(result.status.values()),
                "seconds": [round(result.timings[s], 2) for s in result.status],
            }
        )
        _print_table("Stages", table, ["stage", "status", "seconds"])
        out_console.print(f"Finished in {time.perf_counter() - t0:.1f} s.")
        if result.report is not None:
            out_console.print(str(result.report.resolve()))

    _guarded(go)


FolderArg = Annotated[
    Path,
    typer.Argument(help="Folder with the stage folders (validate/, segments/, …, matrix/)."),
]


def report(
    folder: FolderArg,
    lang: Annotated[str, typer.Option(help="Report language: en or ru.")] = "en",
    title: Annotated[str | None, typer.Option(help="Title of the report.")] = None,
    horizon: Annotated[
        int | None, typer.Option(help="Churn window in days (default: the fitted model's).")
    ] = None,
    threshold: ChurnerThresholdOpt = None,
    segments: ChurnerSegmentsOpt = None,
    as_of: Annotated[
        str | None, typer.Option(help="Date the data describes (default: the validated data's).")
    ] = None,
    currency: Annotated[str, typer.Option(help="Appended to amounts of money, e.g. ₽.")] = "",
    brand: Annotated[str | None, typer.Option(help="Accent colour, e.g. #7a1f3d.")] = None,
    codebook: Annotated[
        Path | None, typer.Option(help="Codebook YAML (default: the built-in one).")
    ] = None,
    tracker: Annotated[
        Path | None, typer.Option(help="The filled fielding tracker (analysis.xlsx or .csv).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Report folder (default: FOLDER/report).")
    ] = None,
) -> None:
    """Write the leadership PDF from the stage folders that earlier commands wrote."""
    from churnkit.pipeline.stages import report_stage
    from churnkit.pipeline.stages._folders import churner_definition, read_json

    def go() -> None:
        chosen = None if segments is None else split_list(segments)
        who = churner_definition(folder / "sample", threshold, chosen)
        fit = folder / "fit" / "manifest.json"
        model_horizon = read_json(fit)["config"].get("horizon") if fit.is_file() else None
        pdf = report_stage(
            folder,
            out if out is not None else folder / "report",
            lang=lang,
            title=title,
            horizon=horizon or model_horizon or 90,
            threshold=0.5 if who[0] is None else who[0],
            segments=who[1],
            currency=currency,
            brand=brand,
            as_of=as_of,
            codebook=codebook,
            tracker=tracker,
        )
        out_console.print(str(pdf.resolve()))

    _guarded(go)
