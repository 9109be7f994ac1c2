"""The ``churnkit`` command line: validate, segment, demo.

Errors in the data or the options end the command with exit code 2 and one paragraph that
says what is wrong and how to fix it; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from churnkit.cli._common import (
    AsOfOpt,
    CustomerMapOpt,
    CustomersOpt,
    DateFormatOpt,
    EncodingOpt,
    MapOpt,
    OrdersArg,
    SepOpt,
    _guarded,
    _load,
    _print_table,
    _state,
    _steps,
    out_console,
)

app = typer.Typer(
    name="churnkit",
    help="Find the customers who are about to leave, learn why, and decide what to fix first.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    _state["debug"] = debug


@app.command()
def validate(
    orders: OrdersArg,
    maps: MapOpt = None,
    customers: CustomersOpt = None,
    customer_maps: CustomerMapOpt = None,
    as_of: AsOfOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("churnkit-output/validation"),
) -> None:
    """Load and validate orders; write the validation report and every rejected row."""
    from churnkit.pipeline.stages import validate_stage

    def run() -> None:
        with _steps(("validate",)) as step:
            step("validate")
            log, kwargs = _load(
                orders, maps, customers, customer_maps, as_of, sep, encoding, date_format
            )
            inputs = {"orders": orders, **({"customers": customers} if customers else {})}
            validate_stage(log, out, inputs=inputs, config=kwargs | {"customers": None})
        out_console.print(repr(log))
        if log.report is not None and log.report.n_rejected:
            _print_table(
                "Rejected rows", log.report.reasons_table(), ["reason", "rows", "how_to_fix"]
            )
        out_console.print(f"Report written to [bold]{out}[/bold]")

    _guarded(run)


@app.command()
def segment(
    orders: OrdersArg,
    maps: MapOpt = None,
    customers: CustomersOpt = None,
    customer_maps: CustomerMapOpt = None,
    as_of: AsOfOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    date_format: DateFormatOpt = None,
    at: Annotated[
        str | None, typer.Option(help="Segment as of this date (default: as-of / last order).")
    ] = None,
    rules: Annotated[
        Path | None, typer.Option(help="Segment rules YAML (default: built-in).")
    ] = None,
    freq: Annotated[str, typer.Option(help="Period of the dynamics: M, Q or W.")] = "M",
    lang: Annotated[str, typer.Option(help="Figure language: en or ru.")] = "en",
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("churnkit-output/segments"),
) -> None:
    """Assign lifecycle segments, measure retention per segment over time, plot migrations."""
    from churnkit.pipeline.stages import segment_stage
    from churnkit.segments._rules import SegmentRules

    def run() -> None:
        with _steps(("load", "segment")) as step:
            step("load")
            seg_rules = SegmentRules.from_yaml(rules) if rules is not None else None
            log, _ = _load(
                orders, maps, customers, customer_maps, as_of, sep, encoding, date_format
            )
            step("segment")
            inputs = {"orders": orders, **({"rules": rules} if rules else {})}
            result = segment_stage(
                log, out, at=at, rules=seg_rules, freq=freq, lang=lang, inputs=inputs
            )
        _print_table(
            f"Segments at {result.at.date()}", result.profile, ["segment", "customers", "warning"]
        )
        out_console.print(f"Segments written to [bold]{out}[/bold]")

    _guarded(run)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("reports/demo"),
    customers: Annotated[int, typer.Option(help="Customers in the generated shop.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    lang: Annotated[str, typer.Option(help="Report language: en or ru.")] = "en",
) -> None:
    """Generate a pet shop with known churn and interviews; run every stage up to the PDF."""
    from churnkit.pipeline._demo import DEMO_STEPS, run_demo

    def run() -> None:
        t0 = time.perf_counter()
        with _steps(DEMO_STEPS) as step:
            result = run_demo(out, n_customers=customers, seed=seed, lang=lang, on_step=step)
        timings = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
        out_console.print(f"Demo finished in {time.perf_counter() - t0:.1f} s ({timings}).")
        out_console.print(str((result.report or result.folder).resolve()))

    _guarded(run)


def _register_stage_commands() -> None:
    """Add the commands of the later stages, each defined next to its stage."""
    import importlib

    for module in _STAGE_COMMANDS:
        importlib.import_module(module).register(app)


# modules with a ``register(app)`` that adds their commands
_STAGE_COMMANDS: tuple[str, ...] = (
    "churnkit.cli._models",
    "churnkit.cli._sample",
    "churnkit.cli._coding",
    "churnkit.cli._run",
)
_register_stage_commands()


def main() -> None:
    """Entry point of the ``churnkit`` console script."""
    app()


if __name__ == "__main__":
    main()
