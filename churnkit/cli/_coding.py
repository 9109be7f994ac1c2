"""``churnkit code | coding-sheet | reliability | matrix | codebook check``: from answers to the matrix.

Added to the main app by :func:`register`; the commands share :mod:`churnkit.cli`'s error
discipline (exit code 2 and one paragraph, ``--debug`` for the traceback) and progress display.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from churnkit.cli._common import _guarded, _print_table, _steps, out_console
from churnkit.core._errors import ChurnkitError

__all__ = ["register"]

CodebookOpt = Annotated[
    Path | None, typer.Option(help="Codebook YAML (default: churnkit's built-in codebook).")
]
IdColOpt = Annotated[str, typer.Option(help="Column with the answer id.")]
TextColOpt = Annotated[str, typer.Option(help="Column with the answer text.")]
LevelOpt = Annotated[str, typer.Option(help="Compare codes as given (code) or by theme.")]


def register(app: typer.Typer) -> None:
    """Add ``code``, ``coding-sheet``, ``reliability``, ``matrix`` and ``codebook check`` to ``app``."""
    app.command("code")(code)
    app.command("coding-sheet")(coding_sheet)
    app.command("reliability")(reliability)
    app.command("matrix")(matrix)
    codebook_app = typer.Typer(help="Work with codebooks.", no_args_is_help=True)
    codebook_app.command("check")(codebook_check)
    app.add_typer(codebook_app, name="codebook")


def code(
    answers: Annotated[Path, typer.Argument(help="Answers: CSV/TSV, XLSX or Parquet.")],
    id_col: IdColOpt = "answer_id",
    text_col: TextColOpt = "text",
    lang_col: Annotated[
        str | None, typer.Option(help="Column with ru/en per answer (default: try both).")
    ] = None,
    codebook: CodebookOpt = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("churnkit-output/coding"),
) -> None:
    """Suggest reason codes for interview answers; write codes.csv and the saturation curve."""
    from churnkit.coding._codebook import load_codebook
    from churnkit.coding._coder import code_answers
    from churnkit.coding._saturation import saturation_curve, saturation_sentence
    from churnkit.core._outputs import atomic_folder, write_csv, write_manifest

    def run() -> None:
        with _steps(("read", "code", "write")) as step:
            step("read")
            book = load_codebook(codebook)
            frame = read_table(answers, "answers")
            step("code")
            codes = code_answers(frame, book, id_col=id_col, text_col=text_col, lang_col=lang_col)
            curve = saturation_curve(codes, order=frame[id_col].tolist(), id_col=id_col)
            step("write")
            with atomic_folder(out) as tmp:
                write_csv(codes, tmp / "codes.csv")
                write_csv(curve, tmp / "saturation.csv")
                inputs = {"answers": answers, **({"codebook": codebook} if codebook else {})}
                config = {"id_col": id_col, "text_col": text_col, "lang_col": lang_col}
                write_manifest(tmp, stage="code", inputs=inputs, config=config)
        themes = codes.groupby("theme", sort=False).agg(
            mentions=("theme", "size"), primary=("is_primary", "sum")
        )
        _print_table(
            f"Suggested codes for {len(frame)} answers",
            themes.reset_index().sort_values("mentions", ascending=False),
            ["theme", "mentions", "primary"],
        )
        out_console.print(saturation_sentence(curve))
        out_console.print(f"Codes written to [bold]{out}[/bold]")

    _guarded(run)


def coding_sheet(
    answers: Annotated[Path, typer.Argument(help="Answers: CSV/TSV, XLSX or Parquet.")],
    coder: Annotated[list[str], typer.Option("--coder", "-c", help="A coder's name (repeatable).")],
    id_col: IdColOpt = "answer_id",
    text_col: TextColOpt = "text",
    codebook: CodebookOpt = None,
    n_codes: Annotated[int, typer.Option(help="Code columns per coder.")] = 4,
    lang: Annotated[str, typer.Option(help="Language of the code labels: en or ru.")] = "en",
    out: Annotated[Path, typer.Option(help="The XLSX to write.")] = Path("coding_sheet.xlsx"),
) -> None:
    """Write an XLSX coding sheet: suggested codes and dropdown columns per coder."""
    from churnkit.coding._codebook import load_codebook
    from churnkit.coding._sheet import write_coding_sheet

    def run() -> None:
        book = load_codebook(codebook)
        frame = read_table(answers, "answers")
        out.parent.mkdir(parents=True, exist_ok=True)
        write_coding_sheet(
            frame,
            out,
            coders=coder,
            codebook=book,
            n_codes=n_codes,
            id_col=id_col,
            text_col=text_col,
            lang=lang,
        )
        out_console.print(
            f"Coding sheet for {len(frame)} answers and coders {', '.join(coder)} written to "
            f"[bold]{out}[/bold]"
        )

    _guarded(run)


def reliability(
    sheets: Annotated[list[Path], typer.Argument(help="Filled coding sheets (XLSX).")],
    codebook: CodebookOpt = None,
    level: LevelOpt = "code",
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("churnkit-output/reliability"),
) -> None:
    """Agreement between coders (α, κ), final codes where they agree, disagreements to decide."""
    from churnkit.coding._codebook import load_codebook
    from churnkit.coding._reliability import reconcile
    from churnkit.coding._reliability import reliability as agreement
    from churnkit.coding._sheet import read_coding_sheets
    from churnkit.core._outputs import atomic_folder, write_csv, write_manifest

    def run() -> None:
        book = load_codebook(codebook)
        codes = read_coding_sheets(sheets, book)
        if codes.empty:
            raise ChurnkitError(
                f"no codes in {', '.join(map(str, sheets))}: the coders' columns are empty"
            )
        table = agreement(codes, level=level)
        final, todo = reconcile(codes, level=level)
        with atomic_folder(out) as tmp:
            write_csv(codes, tmp / "coder_codes.csv")
            write_csv(table, tmp / "reliability.csv")
            write_csv(final, tmp / "final_codes.csv")
            write_csv(todo, tmp / "disagreements.csv")
            inputs = {f"sheet_{i + 1}": p for i, p in enumerate(sheets)}
            write_manifest(tmp, stage="reliability", inputs=inputs, config={"level": level})
        _print_table(
            "Reliability (flag: alpha < 0.667)",
            table,
            ["code", "alpha", "percent_agreement", "kappa", "n_units", "flag"],
        )
        out_console.print(
            f"{len(final)} agreed codes; {len(todo)} disagreements to decide in "
            f"[bold]{out / 'disagreements.csv'}[/bold]"
        )

    _guarded(run)


def matrix(
    codes: Annotated[
        Path,
        typer.Argument(help="Final codes (CSV/XLSX): sample_id or answer_id, code, is_primary."),
    ],
    sample: Annotated[
        Path,
        typer.Argument(help="The interview sample: the folder `churnkit sample` wrote, or a file."),
    ],
    scores: Annotated[Path, typer.Argument(help="Scores (CSV/Parquet) with value_at_risk.")],
    frame: Annotated[
        Path | None,
        typer.Option(help="Stratum sizes (stratum, N); default: the sample folder's strata.csv."),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Predicted churner: p_churn >= this (default: all).")
    ] = None,
    level: Annotated[str, typer.Option(help="Rows: theme or code.")] = "theme",
    codebook: CodebookOpt = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("churnkit-output/matrix"),
) -> None:
    """Build the retention matrix: weighted reasons by segment, the 80/20 and money at risk."""
    from matplotlib.figure import Figure

    from churnkit.coding._codebook import load_codebook
    from churnkit.core._outputs import atomic_folder, write_csv, write_json, write_manifest
    from churnkit.matrix._matrix import RetentionMatrix

    def run() -> None:
        book = load_codebook(codebook)
        with _steps(("read", "matrix", "write")) as step:
            step("read")
            sample_frame, frame_path = _read_sample(sample)
            frame_path = frame if frame is not None else frame_path
            sizes = read_table(frame_path, "frame") if frame_path is not None else None
            result = RetentionMatrix.from_codes(
                read_table(codes, "codes"),
                sample_frame,
                read_table(scores, "scores"),
                frame=sizes,
                codebook=book,
                level=level,
                threshold=threshold,
            )
            step("write")
            with atomic_folder(out) as tmp:
                result.to_excel(tmp / "matrix.xlsx")
                write_csv(result.cells, tmp / "cells.csv")
                write_csv(result.summary(), tmp / "summary.csv")
                write_csv(result.low_hanging_fruit(), tmp / "low_hanging_fruit.csv")
                # a bare Figure: no pyplot state, no GUI backend needed
                n_rows = result.cells["code"].nunique()
                figure = Figure(figsize=(2 + 1.4 * len(result.segments), 1 + 0.4 * n_rows))
                result.plot(ax=figure.subplots())
                figure.savefig(tmp / "matrix.svg", bbox_inches="tight")
                write_json({"headline": result.headline()}, tmp / "headline.json")
                inputs = {"codes": codes, "sample": sample, "scores": scores}
                if frame_path is not None:
                    inputs["frame"] = frame_path
                config = {"level": level, "threshold": threshold}
                write_manifest(tmp, stage="matrix", inputs=inputs, config=config)
        for population, (scored, eligible) in result.notes["scored_churners_vs_frame"].items():
            if abs(scored - eligible) > 0.05 * eligible:
                out_console.print(
                    f"[yellow]note:[/yellow] scores hold {scored:,} predicted churners of "
                    f"{population!r}, the sample's frame {eligible:,.0f}; money at risk uses the "
                    "scores (pass --threshold to match the sample's definition)."
                )
        out_console.print(result.headline())
        _print_table(
            "Low-hanging fruit",
            result.low_hanging_fruit(top=5),
            ["rank", "code", "owner", "effort", "money_at_risk", "primary_share"],
        )
        out_console.print(f"Matrix written to [bold]{out}[/bold]")

    _guarded(run)


def codebook_check(
    path: Annotated[
        Path | None, typer.Argument(help="Codebook YAML (default: the built-in one).")
    ] = None,
) -> None:
    """Validate a codebook: unique ids, known groups, owners of fixable codes, patterns compile."""
    from churnkit.coding._codebook import load_codebook

    def run() -> None:
        book = load_codebook(path)
        counts = book.codes.groupby("group", sort=False).agg(
            themes=("is_theme", "sum"), codes=("code", "size")
        )
        _print_table(f"{book!r} is valid", counts.reset_index(), ["group", "themes", "codes"])

    _guarded(run)


def read_table(path: Path, what: str) -> Any:
    """A CSV/TSV (encoding and separator detected, every column text), XLSX or Parquet table.

    Text files keep ids as written ("007" stays "007"); ``is_primary``/``is_reserve`` and
    numeric columns are converted where the consumer needs them.
    """
    import pandas as pd

    from churnkit.io._load import _read

    if path.suffix.lower() in (".xlsx", ".xlsm"):
        if not path.is_file():
            raise ChurnkitError(f"{path}: file not found; check the path.")
        try:
            frame = pd.read_excel(path, dtype=str, keep_default_na=False)
        except (ValueError, KeyError, OSError) as e:
            raise ChurnkitError(f"{path}: cannot read the {what} workbook ({e})") from e
    else:
        frame = _read(path, sep=None, encoding=None, name=None, what=what).frame
    return _typed(frame)


def _typed(frame: Any) -> Any:
    """Turn text columns that are clearly booleans or numbers into them (ids stay text)."""
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        textual = pd.api.types.is_object_dtype(out[col]) or pd.api.types.is_string_dtype(out[col])
        if col.endswith("_id") or col in ("stratum", "code", "text") or not textual:
            continue
        values = out[col].astype(str).str.strip()
        lower = values.str.lower()
        if len(values) and lower.isin(["true", "false"]).all():
            out[col] = lower == "true"
            continue
        numbers = pd.to_numeric(values.where(values != ""), errors="coerce")
        if len(values) and numbers.notna().sum() == (values != "").sum() and numbers.notna().any():
            out[col] = numbers
    return out


def _read_sample(path: Path) -> tuple[Any, Path | None]:
    """The sample table and, for a `churnkit sample` folder, its strata.csv."""
    if path.is_dir():
        analysis = path / "analysis.csv"
        if not analysis.is_file():
            raise ChurnkitError(
                f"{path} has no analysis.csv; pass the folder `churnkit sample` wrote or the "
                "sample file itself"
            )
        strata = path / "strata.csv"
        return read_table(analysis, "sample"), strata if strata.is_file() else None
    return read_table(path, "sample"), None
