"""What every ``churnkit`` command shares: consoles, options, the error guard, progress, loading.

Kept apart from :mod:`churnkit.cli` so that the modules adding commands import it without
importing the app that imports them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from churnkit.core._errors import ChurnkitError

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
# who counts as a predicted churner in the matrix and the report
ChurnerThresholdOpt = Annotated[
    float | None,
    typer.Option("--threshold", help="Predicted churner: p_churn >= this (default: the sample's)."),
]
ChurnerSegmentsOpt = Annotated[
    str | None,
    typer.Option(
        "--segments", help="Comma-separated segments that count (default: the sample's, else all)."
    ),
]


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
    from churnkit.io._orders import load_orders

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


def split_list(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``: a comma-separated option as a list."""
    return [part.strip() for part in text.split(",") if part.strip()]
