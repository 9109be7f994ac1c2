"""The ``churnkit`` command line: validate, segment, demo.

Errors in the data or the options end the command with exit code 2 and one paragraph that
says what is wrong and how to fix it; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from churnkit._errors import ChurnkitError

app = typer.Typer(
    name="churnkit",
    help="Find the customers who are about to leave, learn why, and decide what to fix first.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
# paths and messages stay on one line (soft wrap) so they can be copied and grepped
out_console = Console(soft_wrap=True)
_state = {"debug": False}
T = TypeVar("T")

OrdersArg = Annotated[
    Path, typer.Argument(help="Orders file (CSV/TSV or Parquet, or a folder of Parquet).")
]
MapOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        "-m",
        help="Map a column: canonical=YourName, e.g. order_date='Дата заказа'. Repeatable.",
    ),
]
CustomersOpt = Annotated[Path | None, typer.Option(help="Customers file (CSV/Parquet), optional.")]
CustomerMapOpt = Annotated[
    list[str] | None,
    typer.Option("--customer-map", help="Map a customers column: canonical=YourName."),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(help="Date the data describes (YYYY-MM-DD); later orders are rejected."),
]
SepOpt = Annotated[str | None, typer.Option(help="CSV separator (default: detected).")]
EncodingOpt = Annotated[
    str | None, typer.Option(help="CSV encoding (default: UTF-8, else cp1251).")
]
DateFormatOpt = Annotated[
    str | None, typer.Option(help="Date format, e.g. %d.%m.%Y (default: detected).")
]


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    _state["debug"] = debug


def _guarded(fn: Callable[[], T]) -> T:
    """Run ``fn``; turn churnkit and file errors into a one-paragraph message and exit code 2."""
    try:
        return fn()
    except (ChurnkitError, OSError) as exc:
        if _state["debug"]:
            raise
        console.print(f"[bold red]error:[/bold red] {exc}", soft_wrap=True)
        console.print("[dim](run with --debug for the traceback)[/dim]")
        raise typer.Exit(code=2) from None


def _parse_mapping(pairs: list[str] | None, option: str) -> dict[str, str] | None:
    if not pairs:
        return None
    mapping: dict[str, str] = {}
    for pair in pairs:
        canonical, sep, user = pair.partition("=")
        if not sep or not canonical.strip() or not user.strip():
            raise ChurnkitError(
                f"{option} {pair!r}: expected canonical=YourColumn, e.g. {option} "
                "order_date='Дата заказа'."
            )
        mapping[canonical.strip()] = user.strip()
    return mapping


@contextlib.contextmanager
def _steps(names: tuple[str, ...]) -> Iterator[Callable[[str], None]]:
    """A progress display with one line per step; yields the function that starts a step."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        tasks = {n: progress.add_task(n, total=1, start=False, visible=False) for n in names}
        current: list[str] = []

        def start(name: str) -> None:
            if current:
                progress.update(tasks[current[-1]], completed=1)
                progress.stop_task(tasks[current[-1]])
            progress.update(tasks[name], visible=True)
            progress.start_task(tasks[name])
            current.append(name)

        yield start
        if current:
            progress.update(tasks[current[-1]], completed=1)
            progress.stop_task(tasks[current[-1]])


def _load(
    orders: Path,
    maps: list[str] | None,
    customers: Path | None,
    customer_maps: list[str] | None,
    as_of: str | None,
    sep: str | None,
    encoding: str | None,
    date_format: str | None,
) -> tuple[Any, dict[str, Any]]:
    from churnkit._io import load_orders

    kwargs: dict[str, Any] = {
        "columns": _parse_mapping(maps, "--map"),
        "customers": customers,
        "customer_columns": _parse_mapping(customer_maps, "--customer-map"),
        "as_of": as_of,
        "sep": sep,
        "encoding": encoding,
        "date_format": date_format,
    }
    return load_orders(orders, **kwargs), kwargs


def _print_table(title: str, frame: Any, columns: list[str]) -> None:
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col, justify="left" if frame[col].dtype == object else "right")
    for row in frame[columns].itertuples(index=False):
        table.add_row(*(f"{v:,.3g}" if isinstance(v, float) else str(v) for v in row))
    out_console.print(table)


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
    from churnkit._stages import validate_stage

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
    from churnkit._segment_rules import SegmentRules
    from churnkit._stages import segment_stage

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
    from churnkit._demo import DEMO_STEPS, run_demo

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
    "churnkit._cli_models",
    "churnkit._cli_sample",
    "churnkit._cli_coding",
    "churnkit._cli_report",
)
_register_stage_commands()


def main() -> None:
    """Entry point of the ``churnkit`` console script."""
    app()


if __name__ == "__main__":
    main()
