"""``churnkit run project.yml``: the whole pipeline from one config, with one progress display."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from churnkit.cli._common import _guarded, _print_table, _steps, out_console


def register(app: typer.Typer) -> None:
    """Add ``run`` to the ``churnkit`` command line."""
    app.command(name="run")(run)


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
