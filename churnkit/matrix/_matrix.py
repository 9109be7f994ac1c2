"""The retention matrix: reasons × segments, re-weighted to the predicted churners, with money on each.

Inputs and how they link
------------------------
``final_codes``
    One row per (interview, code) with ``code`` and ``is_primary`` — the output of
    :func:`churnkit.reconcile` or :func:`churnkit.code_answers` — and an interview key:
    ``sample_id``, else ``answer_id``, else ``customer_id`` (the first that ``sample`` has too).
    Every interview needs exactly one primary code.
``sample``
    The interview sample (:func:`churnkit.draw_interview_sample`'s ``sample``, or the
    pseudonymous ``analysis.csv`` of its export): ``sample_id``, ``stratum``, ``population``
    (``loyal``, ``first_time``, …) and ``weight`` (``N_stratum / n_stratum``). Rows of a ``group`` other than ``churner`` (the
    low-risk contrast cases) are left out of the matrix and counted in ``notes``. A sample row
    with codes is a respondent; one without is a non-respondent.
``frame`` (the eligible frame's stratum sizes)
    Taken from, in this order: the ``frame`` argument; ``sample.attrs["frame"]``; else
    recovered from the sample as ``weight × main-sample rows`` per stratum (``N_s / n_s × n_s``;
    reserves, ``is_reserve == True``, are not counted). A frame is a DataFrame with
    ``stratum`` and ``N`` — the ``strata`` table of an interview sample, whose column is
    called ``eligible``, is accepted as it is.
``scores``
    ``customer_id, population, p_churn, value_at_risk`` of the predicted churners — the
    population the sample was drawn from. With ``threshold``, only rows with ``p_churn >=
    threshold`` count as predicted churners.

What a cell is
--------------
For a segment (a population, or ``total``) and a code: ``count`` (respondents mentioning it),
``n_primary``; ``mention_share`` (share of the segment's predicted churners who would mention
the code; multi-label, so a column does not sum to 1) and ``primary_share`` (share whose main
reason it is; sums to 1 per column), each a stratified estimate with stratum weights
``W_s = N_s / N`` over the respondents of stratum ``s`` — i.e. design weights ``N_s / r_s``
with ``r_s`` respondents, which also corrects for non-response within strata — and a 95%
Wilson interval on the design's effective sample size (:mod:`churnkit.matrix._survey_stats`);
``money_at_risk = Σ value_at_risk of the segment's predicted churners × primary_share`` with
the interval scaled alike. For ``total`` the money is the sum over populations (each with its
own reasons), estimated in one go with weights ``W_s × value_at_risk_p / N_p``, so its
interval is right too.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnkit.coding._codebook import GROUPS, Codebook
from churnkit.coding._coder import _default_codebook
from churnkit.core._errors import DataValidationError
from churnkit.core._xlsx import EPOCH, fix_xlsx_times
from churnkit.matrix._inputs import (
    TOTAL,
    Design,
    check_codes,
    churner_sample,
    designs_of,
    frame_sizes,
    link_key,
    value_at_risk_of,
)
from churnkit.matrix._survey_stats import stratified_share

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# the code of interviewees who still buy (see ``churned_only``)
NOT_CHURNED = "not_churned"
CELL_COLUMNS = (
    "segment",
    "group",
    "code",
    "label",
    "n",
    "count",
    "n_primary",
    "mention_share",
    "mention_low",
    "mention_high",
    "primary_share",
    "primary_low",
    "primary_high",
    "money_at_risk",
    "money_low",
    "money_high",
)


@dataclass
class RetentionMatrix:
    """Why predicted churners leave, by segment, with weighted shares, intervals and money at risk.

    Build it with :meth:`from_codes`. ``cells`` is the whole matrix in long form (one row per
    segment and code; see :data:`CELL_COLUMNS` and the module notes), ``groups`` the same
    estimates for the four groups (:meth:`summary`), ``notes`` what was left out or assumed
    (contrast rows, non-respondents, strata the sample does not cover, the frame and the value
    at risk used). :meth:`table` pivots the cells, :meth:`low_hanging_fruit` ranks the fixable
    reasons by money, :meth:`plot` draws a heatmap and :meth:`to_excel` writes a workbook.

    Examples
    --------
    The 12-interview fixture of the tests, in short: two strata, loyal ``N = 400`` (8
    interviews) and first-time ``N = 600`` (4 interviews).

    >>> import pandas as pd
    >>> prim = ["price"] * 4 + ["loyalty"] * 2 + ["delivery", "technical"]
    >>> prim += ["price", "delivery", "delivery", "trust"]
    >>> codes = pd.DataFrame({"sample_id": [f"S{i}" for i in range(12)], "code": prim,
    ...                       "is_primary": True})
    >>> sample = pd.DataFrame({"sample_id": [f"S{i}" for i in range(12)],
    ...     "customer_id": [f"C{i}" for i in range(12)],
    ...     "stratum": ["L"] * 8 + ["F"] * 4, "population": ["loyal"] * 8 + ["first_time"] * 4,
    ...     "weight": [50.0] * 8 + [150.0] * 4})
    >>> scores = pd.DataFrame({"customer_id": ["X1", "X2"], "population": ["loyal", "first_time"],
    ...     "p_churn": [0.9, 0.9], "value_at_risk": [100_000.0, 50_000.0]})
    >>> m = RetentionMatrix.from_codes(codes, sample, scores)
    >>> m.table("primary_share").loc[("obvious", "price")].round(4).tolist()
    [0.5, 0.25, 0.35]
    >>> round(float(m.table("money_at_risk").loc[("obvious", "price"), "total"]), 6)
    62500.0
    """

    cells: pd.DataFrame
    groups: pd.DataFrame
    codebook: Codebook
    level: str
    segments: list[str]
    notes: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ build
    @classmethod
    def from_codes(
        cls,
        final_codes: pd.DataFrame,
        sample: pd.DataFrame,
        scores: pd.DataFrame,
        frame: pd.DataFrame | None = None,
        codebook: Codebook | None = None,
        level: str = "theme",
        threshold: float | None = None,
        churned_only: bool = False,
    ) -> RetentionMatrix:
        """Build the matrix from final codes, the interview sample and the churn scores.

        Parameters
        ----------
        final_codes, sample, scores, frame
            See the module notes: what each needs and how they link.
        codebook : Codebook, optional
            Groups, labels, owners and efforts of the codes; the default codebook if omitted.
        level : {"theme", "code"}
            Rows are themes (sub-codes collapsed: ``price.went_up`` counts as ``price``; every
            theme of the codebook is a row, zero or not) or the codes as coded.
        threshold : float, optional
            Only scores with ``p_churn >= threshold`` are predicted churners (all rows if None).
        churned_only : bool
            Leave out interviewees whose primary code is ``not_churned`` (they still buy:
            evidence about the model, not a reason to leave) and shrink each stratum's size
            by its share of them, so shares are among the predicted churners who did leave.
            Their count per stratum is in ``notes["not_churned"]``.

        Returns
        -------
        RetentionMatrix

        Raises
        ------
        MissingColumnError, DataValidationError
            A required column is missing; codes name interviews or codes that do not exist; an
            interview has no or several primary codes; a stratum is in two populations, has
            no size, or has no coded interview; weights, sizes or values are not positive
            numbers.
        """
        book = _default_codebook() if codebook is None else codebook
        if level not in ("theme", "code"):
            raise DataValidationError(f"level must be 'theme' or 'code', got {level!r}")
        sample, notes = churner_sample(sample)
        key = link_key(final_codes, sample)
        codes = check_codes(final_codes, sample, key, book, level)
        respondents = sample[sample[key].isin(set(codes[key]))].reset_index(drop=True)
        notes["respondents"] = len(respondents)
        notes["non_respondents"] = len(sample) - len(respondents)
        sizes, notes["strata_not_sampled"] = frame_sizes(frame, sample)
        if churned_only:
            codes, respondents, sizes = _churned_only(codes, respondents, sizes, key, notes)
        churners = value_at_risk_of(scores, threshold)
        designs = designs_of(respondents, sizes, churners)
        notes["frame"] = sizes.to_dict("records")
        notes["value_at_risk"] = churners["value"].astype(float).to_dict()
        # scores and frame should describe the same people; a gap means a wrong threshold
        notes["scored_churners_vs_frame"] = {
            str(p): (int(churners.at[p, "n"]), float(n))
            for p, n in sizes.groupby("population")["N"].sum().items()
            if p in churners.index
        }

        position = pd.Series(np.arange(len(respondents)), index=respondents[key])
        row_of = position[codes[key]].to_numpy()
        rows = [c for c in book.ids if book.code(c).is_theme or level == "code"]
        if level == "code":
            rows = [c for c in rows if c in set(codes["row"])]
        col_of = {c: i for i, c in enumerate(rows)}
        mention = np.zeros((len(respondents), len(rows)))
        primary = np.zeros_like(mention)
        columns = codes["row"].map(col_of).to_numpy()
        mention[row_of, columns] = 1.0
        is_primary = codes["is_primary"].to_numpy(dtype=bool)
        primary[row_of[is_primary], columns[is_primary]] = 1.0

        records = []
        for segment, design in designs.items():
            for j, code in enumerate(rows):
                records.append(_cell(segment, code, book, design, mention[:, j], primary[:, j]))
        cells = pd.DataFrame(records, columns=list(CELL_COLUMNS))
        cells = _order(cells, list(designs), book)
        groups = _group_split(designs, primary, [book.group_of(c) for c in rows])
        return cls(cells, groups, book, level, list(designs), notes)

    # ------------------------------------------------------------------ views
    def table(self, value: str = "primary_share") -> pd.DataFrame:
        """One value of every cell as a (group, code) × segment table.

        Examples
        --------
        ``m.table("mention_share")``, ``m.table("money_at_risk")``, ``m.table("count")``.
        """
        if value not in CELL_COLUMNS[4:]:
            raise DataValidationError(
                f"value must be one of {list(CELL_COLUMNS[4:])}, got {value!r}"
            )
        wide = self.cells.pivot_table(
            index=["group", "code"], columns="segment", values=value, sort=False
        )
        return wide[self.segments].rename_axis(columns=None)

    def summary(self) -> pd.DataFrame:
        """The obvious-vs-fixable split: each group's share of primary reasons, per segment.

        Returns
        -------
        pandas.DataFrame
            ``segment, group, n_primary, primary_share, primary_low, primary_high,
            money_at_risk, money_low, money_high``; a group's share is the weighted share of
            respondents whose primary reason is in it (a stratified estimate of its own, not a
            sum of code intervals), so the four groups sum to 1 per segment.
        """
        return self.groups.copy()

    def low_hanging_fruit(self, segment: str = TOTAL, top: int | None = None) -> pd.DataFrame:
        """Fixable reasons ranked by money at risk, with the owner and effort of the fix.

        Parameters
        ----------
        segment : str, default "total"
            The segment whose money ranks the codes.
        top : int, optional
            Keep the first ``top`` rows.

        Returns
        -------
        pandas.DataFrame
            ``rank, code, label, owner, effort, money_at_risk, money_low, money_high,
            primary_share, primary_low, primary_high, mention_share, count, n_primary``,
            fixable codes mentioned at least once, largest money first.
        """
        if segment not in self.segments:
            raise DataValidationError(f"segment must be one of {self.segments}, got {segment!r}")
        cells = self.cells[
            (self.cells["segment"] == segment)
            & (self.cells["group"] == "fixable")
            & (self.cells["count"] > 0)
        ]
        cells = cells.sort_values(
            ["money_at_risk", "mention_share"], ascending=False, kind="stable"
        )
        out = cells.assign(
            owner=cells["code"].map(self.codebook.owner_of),
            effort=cells["code"].map(lambda c: self.codebook.code(c).effort),
        )
        out.insert(0, "rank", np.arange(1, len(out) + 1))
        columns = ["rank", "code", "label", "owner", "effort", "money_at_risk", "money_low"]
        columns += ["money_high", "primary_share", "primary_low", "primary_high"]
        columns += ["mention_share", "count", "n_primary"]
        out = out[columns].reset_index(drop=True)
        return out if top is None else out.head(top)

    def headline(self, segment: str = TOTAL) -> str:
        """The 80/20 in one sentence, e.g. for a report.

        Examples
        --------
        'Obvious reasons (price, delivery): 78% of predicted churners (95% CI 72–83%); fixable:
        17% (13–22%), 1,234,000 at risk.'
        """
        s = self.groups.set_index(["segment", "group"])

        def pct(group: str) -> str:
            row = s.loc[(segment, group)]
            return (
                f"{row['primary_share']:.0%} (95% CI {row['primary_low']:.0%}–"
                f"{row['primary_high']:.0%})"
            )

        money = s.loc[(segment, "fixable"), "money_at_risk"]
        obvious = ", ".join(
            c for c in self.cells.loc[self.cells["group"] == "obvious", "code"].unique()
        )
        return (
            f"Obvious reasons ({obvious}): {pct('obvious')} of predicted churners' main reasons; "
            f"fixable: {pct('fixable')}, {money:,.0f} of value at risk."
        )

    def plot(self, ax: Axes | None = None, value: str = "primary_share") -> Axes:
        """Heatmap of one value (default: share of primary reasons) by code and segment.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        wide = self.table(value)
        if ax is None:
            _, ax = plt.subplots(figsize=(2 + 1.4 * len(self.segments), 1 + 0.4 * len(wide)))
        data = wide.to_numpy(dtype=float)
        ax.imshow(data, cmap="Blues", aspect="auto", vmin=0)
        is_share = value.endswith(("share", "low", "high"))
        top = np.nanmax(data) if data.size else 0
        for (i, j), v in np.ndenumerate(data):
            text = f"{v:.0%}" if is_share else f"{v:,.0f}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize="small",
                color="white" if top and v > 0.6 * top else "black",
            )
        ax.set_xticks(range(len(self.segments)), self.segments)
        labels = [f"{code}  [{group}]" for group, code in wide.index]
        ax.set_yticks(range(len(wide)), labels)
        groups = [g for g, _ in wide.index]
        for i in range(1, len(groups)):
            if groups[i] != groups[i - 1]:
                ax.axhline(i - 0.5, color="black", linewidth=1)
        ax.set_xlabel("segment")
        ax.set_ylabel(self.level)
        ax.set_title(f"Retention matrix: {value.replace('_', ' ')}")
        return ax

    def to_excel(self, path: str | os.PathLike[str]) -> Path:
        """Write the matrix, its cells, the summary, the low-hanging fruit and the method notes.

        Sheets: ``matrix`` (primary share, interval and money per segment), ``cells`` (long
        form), ``summary``, ``low_hanging_fruit``, ``method``. Equal matrices give equal bytes.
        """
        path = Path(path)
        wide = []
        for segment in self.segments:
            part = self.cells[self.cells["segment"] == segment].set_index(["group", "code"])
            part = part[list(_EXCEL_COLUMNS)]
            wide.append(part.add_prefix(f"{segment}: "))
        matrix = pd.concat(wide, axis=1).reset_index()
        label_cols = [c for c in matrix.columns if c.endswith(": label")]
        matrix.insert(2, "label", matrix[label_cols[0]])
        matrix = matrix.drop(columns=label_cols)
        method = pd.DataFrame(
            {"note": _METHOD_NOTES + [f"{k}: {v}" for k, v in self.notes.items()]}
        )
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            matrix.to_excel(writer, sheet_name="matrix", index=False)
            self.cells.to_excel(writer, sheet_name="cells", index=False)
            self.summary().to_excel(writer, sheet_name="summary", index=False)
            self.low_hanging_fruit().to_excel(writer, sheet_name="low_hanging_fruit", index=False)
            method.to_excel(writer, sheet_name="method", index=False)
        # fixed document dates and zip times: equal matrices, equal bytes
        path.write_bytes(fix_xlsx_times(buffer.getvalue(), EPOCH))
        return path

    def __repr__(self) -> str:
        n = self.notes.get("respondents", 0)
        return (
            f"RetentionMatrix({n} interviews, {self.cells['code'].nunique()} {self.level}s, "
            f"segments {self.segments})"
        )


_EXCEL_COLUMNS = (
    "label",
    "count",
    "primary_share",
    "primary_low",
    "primary_high",
    "mention_share",
    "money_at_risk",
)
_METHOD_NOTES = [
    "Shares are re-weighted to the predicted churners: stratum weights W_s = N_s / N over the "
    "respondents of each stratum (design weight N_s / r_s, which also adjusts for non-response "
    "within strata).",
    "mention_share: share who mention the code (several per person); primary_share: share whose "
    "main reason it is (sums to 1 per segment).",
    "95% intervals: Wilson score interval on the effective sample size p(1-p)/V(p), V the "
    "stratified variance with finite population correction (Korn & Graubard 1998); Kish's "
    "effective n when V is 0.",
    "money_at_risk = sum of value_at_risk of the segment's predicted churners x primary_share; "
    "total = sum over populations.",
]


def _primary(design: Design, y: np.ndarray) -> tuple[float, ...]:
    """Primary share with interval, and money at risk with interval, of one 0/1 variable."""
    p = stratified_share(y, design.stratum, design.weight, design.size)
    money = stratified_share(y, design.stratum, design.money_weight, design.size)
    v = design.value_at_risk
    return p.share, p.low, p.high, v * money.share, v * money.low, v * money.high


def _cell(
    segment: str,
    code: str,
    book: Codebook,
    design: Design,
    mention: np.ndarray,
    primary: np.ndarray,
) -> tuple[Any, ...]:
    y_m, y_p = mention[design.rows], primary[design.rows]
    m = stratified_share(y_m, design.stratum, design.weight, design.size)
    head = (segment, book.group_of(code), code, book.label(code, "en"), len(design.rows))
    counts = (int(y_m.sum()), int(y_p.sum()), m.share, m.low, m.high)
    return head + counts + _primary(design, y_p)


def _churned_only(
    codes: pd.DataFrame,
    respondents: pd.DataFrame,
    sizes: pd.DataFrame,
    key: str,
    notes: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Drop respondents who did not churn; scale strata to the share who did."""
    theme = codes["row"].astype(str).str.split(".").str[0]
    still = set(codes.loc[codes["is_primary"].to_numpy(dtype=bool) & (theme == NOT_CHURNED), key])
    gone = ~respondents[key].isin(still)
    per_stratum = respondents.groupby("stratum").size()
    churned = respondents[gone].groupby("stratum").size().reindex(per_stratum.index, fill_value=0)
    notes["not_churned"] = (per_stratum - churned)[lambda x: x > 0].astype(int).to_dict()
    share = (churned / per_stratum).reindex(sizes["stratum"]).fillna(0.0).to_numpy()
    sizes = sizes.assign(N=sizes["N"].to_numpy() * share)
    notes["strata_all_not_churned"] = sizes.loc[sizes["N"] <= 0, "stratum"].tolist()
    sizes = sizes[sizes["N"] > 0].reset_index(drop=True)
    return codes[~codes[key].isin(still)], respondents[gone].reset_index(drop=True), sizes


def _group_split(
    designs: dict[str, Design], primary: np.ndarray, group_of: list[str]
) -> pd.DataFrame:
    """Each group's share of primary reasons per segment, estimated as a share of its own."""
    records = []
    for segment, design in designs.items():
        for group in GROUPS:
            y = primary[:, [g == group for g in group_of]].sum(axis=1)[design.rows]
            records.append((segment, group, int(y.sum()), *_primary(design, y)))
    columns = ["segment", "group", "n_primary", "primary_share", "primary_low", "primary_high"]
    return pd.DataFrame(records, columns=[*columns, "money_at_risk", "money_low", "money_high"])


def _order(cells: pd.DataFrame, segments: list[str], book: Codebook) -> pd.DataFrame:
    rank = {c: i for i, c in enumerate(book.ids)}
    cells = cells.assign(
        _g=cells["group"].map(GROUPS.index),
        _c=cells["code"].map(rank),
        _s=cells["segment"].map(segments.index),
    )
    return (
        cells.sort_values(["_s", "_g", "_c"])
        .drop(columns=["_g", "_c", "_s"])
        .reset_index(drop=True)
    )
