"""``churnkit code | coding-sheet | reliability | matrix | codebook check``: from answers to the matrix.

Added to the main app by :func:`register`; the commands share :mod:`churnkit.cli`'s error
discipline (exit code 2 and one paragraph, ``--debug`` for the traceback) and progress display.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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

__all__ = ["register"]

CodebookOpt = Annotated[
    Path | None, typer.Option(help="Codebook YAML (default: churnkit's built-in codebook).")
]
IdColOpt = Annotated[str, typer.Option(help="Column with the answer id.")]
TextColOpt = Annotated[str, typer.Option(help="Column with the answer text.")]
LevelOpt = Annotated[str, typer.Option(help="Compare codes as given (code) or by theme.")]
SampleOpt = Annotated[
    Path | None,
    typer.Option(help="The sample folder, to link answers given by customer_id to their case."),
]


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
        str, typer.Option(help="Column with ru/en per answer, used when present (else both).")
    ] = "lang",
    codebook: CodebookOpt = None,
    sample: SampleOpt = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("churnkit-output/coding"),
) -> None:
    """Suggest reason codes for interview answers; write the codes and the saturation curve."""
    from churnkit.coding._saturation import saturation_sentence
    from churnkit.core._tables import read_table
    from churnkit.pipeline.stages import code_stage
    from churnkit.pipeline.stages._folders import read_sample

    def run() -> None:
        with _steps(("read", "code")) as step:
            step("read")
            frame = read_table(answers, "answers")
            sampled = None if sample is None else read_sample(sample)
            step("code")
            inputs = {"answers": answers, "codebook": codebook, "sample": sample}
            coded = code_stage(
                out,
                answers=frame,
                codebook=codebook,
                sample=sampled,
                id_col=id_col,
                text_col=text_col,
                lang_col=lang_col,
                inputs={k: v for k, v in inputs.items() if v is not None},
            )
        final = coded.final.assign(theme=coded.final["code"].str.split(".").str[0])
        themes = final.groupby("theme", sort=False).agg(
            mentions=("theme", "size"), primary=("is_primary", "sum")
        )
        _print_table(
            f"Suggested codes for {len(frame)} answers",
            themes.reset_index().sort_values("mentions", ascending=False),
            ["theme", "mentions", "primary"],
        )
        out_console.print(saturation_sentence(coded.saturation))
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
    from churnkit.core._tables import read_table

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
    from churnkit.pipeline.stages import code_stage

    def run() -> None:
        coded = code_stage(
            out,
            coding_sheets=sheets,
            codebook=codebook,
            level=level,
            inputs={f"sheet_{i + 1}": p for i, p in enumerate(sheets)},
        )
        _print_table(
            "Reliability (flag: alpha < 0.667)",
            coded.reliability,
            ["code", "alpha", "percent_agreement", "kappa", "n_units", "flag"],
        )
        out_console.print(
            f"{len(coded.final)} agreed codes; {len(coded.disagreements)} disagreements to decide "
            f"in [bold]{out / 'disagreements.csv'}[/bold]"
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
    scores: Annotated[
        Path, typer.Argument(help="Scores with value_at_risk: the score folder or a file.")
    ],
    frame: Annotated[
        Path | None,
        typer.Option(help="Stratum sizes (stratum, N); default: the sample folder's strata.csv."),
    ] = None,
    threshold: ChurnerThresholdOpt = None,
    segments: ChurnerSegmentsOpt = None,
    churned_only: Annotated[
        bool,
        typer.Option(
            "--churned-only/--all-interviewees",
            help="Leave out interviewees who say they still buy (not_churned).",
        ),
    ] = True,
    level: Annotated[str, typer.Option(help="Rows: theme or code.")] = "theme",
    codebook: CodebookOpt = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("churnkit-output/matrix"),
) -> None:
    """Build the retention matrix: weighted reasons by segment, the 80/20 and money at risk."""
    from churnkit.core._tables import read_table
    from churnkit.pipeline.stages import matrix_stage
    from churnkit.pipeline.stages._folders import (
        churner_definition,
        read_sample,
        read_scores,
        sample_strata,
    )

    def run() -> None:
        # by default the matrix counts the predicted churners the way the sample did
        chosen = None if segments is None else split_list(segments)
        who = churner_definition(sample, threshold, chosen)
        with _steps(("read", "matrix")) as step:
            step("read")
            sizes = frame if frame is not None else sample_strata(sample)
            inputs = {"codes": codes, "sample": sample, "scores": scores, "frame": sizes}
            tables = (read_table(codes, "codes"), read_sample(sample), read_scores(scores))
            step("matrix")
            result = matrix_stage(
                *tables,
                out,
                frame=None if sizes is None else read_table(sizes, "frame"),
                codebook=codebook,
                level=level,
                threshold=who[0],
                segments=who[1],
                churned_only=churned_only,
                inputs={k: v for k, v in inputs.items() if v is not None},
            )
        _print_matrix(result, out)

    _guarded(run)


def _print_matrix(result: Any, out: Path) -> None:
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
