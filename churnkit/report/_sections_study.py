"""Report sections of the interview study, the retention matrix, the actions and the appendix."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from churnkit.core._errors import ConfigError
from churnkit.report._figures import save_svg
from churnkit.report._sections import (
    Block,
    Section,
    figure,
    heading,
    note,
    para,
    section,
    table,
)

if TYPE_CHECKING:
    import pandas as pd

    from churnkit.matrix._matrix import RetentionMatrix
    from churnkit.report._format import Words

ACTION_FIELDS = ("goal", "hypothesis", "channel", "timing")


# -------------------------------------------------------------------------------- interviews
def interviews_section(
    w: Words,
    folder: Path,
    *,
    sample: dict[str, Any] | None,
    fielding: dict[str, Any] | None,
    reliability: pd.DataFrame | None,
    saturation: pd.DataFrame | None,
) -> Section:
    """Sample design, fielding status, coding reliability and saturation."""
    blocks: list[Block] = [heading(w("sample_design"))]
    if sample is not None:
        blocks += _sample_blocks(w, sample)
    else:
        blocks.append(note(w("not_run", what=w("no_sample"))))

    blocks.append(heading(w("fielding")))
    if fielding:
        values = {k: w.num(fielding.get(k, 0)) for k in ("completed", "quota", "open", "refused")}
        values["not_churned"] = w.num(fielding.get("not_churned", 0))
        blocks.append(para(w("fielding_sentence", **values)))
    else:
        blocks.append(note(w("not_run", what=w("no_fielding"))))

    blocks.append(heading(w("reliability")))
    if reliability is not None and len(reliability):
        blocks += _reliability_blocks(w, reliability)
    else:
        blocks.append(note(w("not_run", what=w("no_reliability"))))

    blocks.append(heading(w("saturation")))
    if saturation is not None and len(saturation):
        blocks += _saturation_blocks(w, folder, saturation)
    else:
        blocks.append(note(w("not_run", what=w("no_saturation"))))
    return section("interviews", w("interviews"), blocks)


def _sample_blocks(w: Words, sample: dict[str, Any]) -> list[Block]:
    """How the sample was drawn: strata with sizes, quotas, weights; the exclusions."""
    strata = sample["strata"]
    params = sample.get("params", {})
    by = ", ".join(w.strings.get(f"stratum_{s}", str(s)) for s in params.get("strata", []))
    blocks = [para(w("sample_intro", strata=by, seed=sample.get("seed", "–")))]
    rows = [
        [
            _stratum(w, r, params.get("strata", [])),
            w.num(r["eligible"]),
            w.num(r["quota"]),
            w.num(r["weight"], 1),
            w.num(r["reserves"]),
        ]
        for r in strata.to_dict("records")
    ]
    cols = ["col_stratum", "col_eligible", "col_quota", "col_weight", "col_reserves"]
    blocks.append(table([w(c) for c in cols], rows, widths=["1fr", *["auto"] * 4]))
    report = sample.get("frame_report")
    if report is not None and len(report):
        hit = report[report["excluded"] > 0]
        if len(hit):
            blocks.append(heading(w("exclusions")))
            rows = [
                [
                    w.strings.get(f"excl_{r.get('reason')}", str(r["description"])),
                    w.num(r["excluded"]),
                ]
                for r in hit.to_dict("records")
            ]
            blocks.append(table([w("col_exclusion"), w("col_rows")], rows, widths=["1fr", "auto"]))
    return blocks


def _reliability_blocks(w: Words, reliability: pd.DataFrame) -> list[Block]:
    """Agreement between coders: the primary code's alpha in a sentence, then every code's."""
    blocks: list[Block] = []
    primary = reliability[reliability["code"] == "(primary)"]
    codes = reliability[reliability["code"] != "(primary)"]
    if len(primary):
        p = primary.iloc[0]
        blocks.append(
            para(
                w(
                    "reliability_sentence",
                    alpha=w.num(p["alpha"], 2),
                    n_units=w.num(p["n_units"]),
                    n_coders=w.num(p["n_coders"]),
                    flagged=w.num(int(codes["flag"].sum())),
                )
            )
        )
    rows = [
        [
            str(r["code"]),
            w.num(r["alpha"], 2),
            w.share(r["percent_agreement"]),
            w.num(r["n_units"]),
        ]
        for r in reliability.to_dict("records")
    ]
    cols = [w("col_code"), w("col_alpha"), w("col_agreement"), w("col_n")]
    blocks.append(table(cols, rows, widths=["1fr", "auto", "auto", "auto"]))
    return blocks


def _saturation_blocks(w: Words, folder: Path, saturation: pd.DataFrame) -> list[Block]:
    """The saturation sentence and curve."""
    from churnkit.coding._saturation import plot_saturation, saturation_sentence

    def draw(ax: Any) -> None:
        plot_saturation(saturation, ax=ax)
        # the sentence above is the title; the words in the report's language
        ax.set_title("")
        ax.set_xlabel(w("interviews_held"))
        ax.set_ylabel(w("themes_heard"))
        if ax.get_legend() is not None:
            handles, _ = ax.get_legend_handles_labels()
            ax.legend(handles, [w("new_theme")], loc="lower right")

    path = save_svg(draw, folder / "figures" / "saturation.svg", (7, 3))
    return [
        para(saturation_sentence(saturation, lang=w.lang)),
        figure(path, folder, w("fig_saturation"), 75),
    ]


def _stratum(w: Words, row: dict[str, Any], columns: list[str]) -> str:
    """A stratum for people: "Repeat buyers · high" rather than "loyal|high"."""
    if not columns or any(c not in row for c in columns):
        return str(row["stratum"])
    labels = {"population": "pop", "risk_band": "band"}
    return " · ".join(
        w.label(labels[c], str(row[c])) if c in labels else str(row[c]) for c in columns
    )


# -------------------------------------------------------------------------------- matrix
def matrix_rows(w: Words, matrix: RetentionMatrix) -> tuple[list[list[str]], list[list[int]]]:
    """Per reason: its group, label, weighted main-reason share (95% CI) and the interviews it
    rests on per segment, and money; and the (row, column) of the figures flagged ``low_n``
    (fewer than 10 interviews or an effective sample under 30), which also carry a dagger."""
    cells = matrix.cells.set_index(["segment", "code"])
    rows, flagged = [], []
    for i, (group, code) in enumerate(matrix.table("primary_share").index):
        row = [w(f"group_{group}"), matrix.codebook.label(code, w.lang)]
        for segment in matrix.segments:
            c = cells.loc[(segment, code)]
            if c["count"] == 0:
                row.append("–")
                continue
            share = w.share(c["primary_share"])
            interval = w.interval(c["primary_low"], c["primary_high"])
            row.append(f"{share} ({interval}) n\u00a0{w.num(c['respondents'])}")
            if c["low_n"]:
                row[-1] += "†"
                flagged.append([i, len(row) - 1])
        row.append(w.money(cells.loc[(matrix.segments[-1], code), "money_at_risk"]))
        rows.append(row)
    return rows, flagged


def matrix_section(w: Words, folder: Path, matrix: RetentionMatrix | None) -> Section:
    """Heatmap and table of the retention matrix, per segment."""
    if matrix is None:
        return section(
            "matrix", w("matrix"), [note(w("not_run", what=w("no_matrix_section")))], new_page=True
        )
    names = [w.label("pop", s) for s in matrix.segments]
    labels = [
        f"{matrix.codebook.label(code, w.lang)} [{w(f'group_{group}')}]"
        for group, code in matrix.table("primary_share").index
    ]

    def draw(ax: Any) -> None:
        matrix.plot(ax=ax, value="primary_share")
        ax.set_xticks(range(len(names)), names)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_title("")
        ax.set_xlabel("")
        ax.set_ylabel("")

    height = 1.2 + 0.34 * len(labels)
    path = save_svg(draw, folder / "figures" / "retention_matrix.svg", (7.5, height))
    columns = [w("col_group"), w("col_reason"), *names, w("col_money")]
    rows, flagged = matrix_rows(w, matrix)
    blocks = [
        para(w("matrix_intro")),
        figure(path, folder, w("fig_matrix"), 85),
        table(
            columns,
            rows,
            align=["left", "left", *["right"] * (len(names) + 1)],
            widths=["auto", "1fr", *["auto"] * (len(names) + 1)],
        ),
        note(w("matrix_low_n")),
    ]
    blocks[2] |= {"size": 8, "muted": flagged}
    return section("matrix", w("matrix"), blocks)


# -------------------------------------------------------------------------------- actions
@functools.cache
def default_actions() -> dict[str, dict[str, dict[str, str]]]:
    """The packaged per-segment actions (``report/actions.yaml``): segment -> field -> lang -> text."""
    import yaml

    text = resources.files("churnkit.report").joinpath("actions.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def merge_actions(overrides: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The defaults with the config's overrides; a field may be a text or ``{en: …, ru: …}``."""
    merged = {seg: dict(fields) for seg, fields in default_actions().items()}
    for segment, fields in (overrides or {}).items():
        if not isinstance(fields, dict):
            raise ConfigError(
                f"report.actions.{segment}: expected a mapping of {list(ACTION_FIELDS)}, "
                f"got {fields!r}."
            )
        unknown = sorted(set(fields) - set(ACTION_FIELDS))
        if unknown:
            raise ConfigError(
                f"report.actions.{segment}.{unknown[0]}: unknown field; use {list(ACTION_FIELDS)}."
            )
        merged.setdefault(segment, {}).update(fields)
    return merged


def _in_lang(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("en") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def actions_section(w: Words, actions: dict[str, Any], segments: list[str] | None) -> Section:
    """Segment -> goal -> hypothesis -> channel -> timing, for the segments of this shop."""
    from churnkit.segments._rules import segment_label

    order = segments or list(actions)
    rows = [
        [segment_label(s, w.lang), *(_in_lang(actions[s].get(f), w.lang) for f in ACTION_FIELDS)]
        for s in order
        if s in actions
    ]
    cols = ["col_segment", "col_goal", "col_hypothesis", "col_channel", "col_timing"]
    blocks = [
        para(w("actions_intro")),
        table(
            [w(c) for c in cols],
            rows,
            align=["left"] * 5,
            widths=["auto", "1fr", "1.6fr", "0.8fr", "1fr"],
        ),
    ]
    return section("actions", w("actions"), blocks)


# -------------------------------------------------------------------------------- appendix
def appendix_section(
    w: Words,
    *,
    validation: dict[str, Any] | None,
    reasons: pd.DataFrame | None,
    manifest: list[dict[str, Any]] | None,
) -> Section:
    """Definitions, the data-quality report and the run manifest."""
    keys = ["def_purchase", "def_churn", "def_populations", "def_retention", "def_money"]
    blocks: list[Block] = [
        heading(w("definitions")),
        {"type": "list", "items": [w(k) for k in [*keys, "def_matrix"]]},
    ]
    blocks.append(heading(w("data_quality")))
    if validation is not None:
        blocks.append(
            para(
                w(
                    "dq_sentence",
                    rows_read=w.num(validation.get("rows_read")),
                    rows_used=w.num(validation.get("rows_used")),
                    rejected=w.num(validation.get("n_rejected")),
                    returns=w.num(validation.get("n_returns")),
                )
            )
        )
        if reasons is not None and len(reasons):
            rows = [
                [str(r["reason"]), w.num(r["rows"]), w.share(r["share"], 2), str(r["how_to_fix"])]
                for r in reasons.to_dict("records")
            ]
            cols = [w("col_reason"), w("col_rejected_rows"), w("col_share"), w("col_how_to_fix")]
            blocks.append(
                table(
                    cols,
                    rows,
                    align=["left", "right", "right", "left"],
                    widths=["auto", "auto", "auto", "1fr"],
                )
            )
            blocks[-1]["size"] = 8
    else:
        blocks.append(note(w("not_run", what=w("no_validation"))))
    blocks.append(heading(w("manifest")))
    if manifest:
        rows = [
            [
                str(m["stage"]),
                w(f"status_{m['status']}") if m.get("status") else "",
                w.num(m.get("seconds"), 1),
                str(m.get("inputs", ""))[:16],
            ]
            for m in manifest
        ]
        cols = [w("col_stage"), w("col_status"), w("col_seconds"), w("col_inputs")]
        blocks.append(table(cols, rows, align=["left", "left", "right", "left"]))
    else:
        blocks.append(note(w("not_run", what=w("no_manifest"))))
    return section("appendix", w("appendix"), blocks)
