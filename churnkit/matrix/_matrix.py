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
    with codes is a respondent; one without is a non-respondent. ``value_at_risk``, when
    present (the draw carries it), is each respondent's own value at risk; else it is looked
    up in ``scores`` by ``customer_id``.
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
``n_primary`` (respondents whose main reason it is; also ``cases``); ``mention_share`` (share
of the segment's predicted churners who would mention the code; multi-label, so a column does
not sum to 1) and ``primary_share`` (share whose main reason it is; sums to 1 per column), each
re-weighted with ``N_s / r_s`` per respondent (``r_s`` respondents of stratum ``s``: the design
weight adjusted for non-response within the stratum) and given a 95% interval;
``money_at_risk`` = the value at risk of the segment's predicted churners × the
value-weighted share of the code among the respondents (each respondent's own value at risk,
see ``notes["value_source"]``), so that the money of a column sums to its value at risk and
the total is the sum over populations. ``respondents`` is the number of interviews behind the
figure, ``n_eff`` the effective sample size of the main-reason interval and ``low_n`` flags a
figure resting on fewer than 10 interviews or an effective sample under 30. The statistics,
their references and the simulation that checked them: :mod:`churnkit.matrix._survey_stats`
and :meth:`RetentionMatrix.method_note`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnkit.coding._codebook import Codebook
from churnkit.coding._coder import _default_codebook
from churnkit.core._errors import DataValidationError
from churnkit.matrix._cells import (
    CELL_COLUMNS,
    NOT_CHURNED,
    answer_matrices,
    order_cells,
    segment_tables,
    still_buying,
)
from churnkit.matrix._inputs import (
    TOTAL,
    check_codes,
    churner_sample,
    designs_of,
    frame_sizes,
    link_key,
    respondent_values,
    value_at_risk_of,
)
from churnkit.matrix._survey_stats import METHOD_NOTE, REFERENCES

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["CELL_COLUMNS", "NOT_CHURNED", "RetentionMatrix"]


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
            Shares among the interviewees who did leave: one whose primary code is
            ``not_churned`` still buys (evidence about the model, not a reason to leave). They
            stay in the design, so the shares are estimated for the domain of churners
            (Cochran 1977 §2.13) without shrinking the frame; their count per stratum is in
            ``notes["not_churned"]``. Money at risk per reason is the same with or without
            it: a customer who still buys has no reason to leave, so their value is never
            spread over the reasons. Without ``churned_only`` it is the ``not_churned`` row's
            money; with it that row is 0 and ``notes["value_not_churned"][segment]`` holds
            (estimate, low, high), so a column's money sums to its value at risk minus that.

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
        churners = value_at_risk_of(scores, threshold)
        value, notes["value_source"] = respondent_values(respondents, scores, churners)
        designs = designs_of(respondents, sizes, churners, value)
        notes["frame"] = sizes.to_dict("records")
        notes["value_at_risk"] = churners["value"].astype(float).to_dict()
        # scores and frame should describe the same people; a gap means a wrong threshold
        notes["scored_churners_vs_frame"] = {
            str(p): (int(churners.at[p, "n"]), float(n))
            for p, n in sizes.groupby("population")["N"].sum().items()
            if p in churners.index
        }
        rows, mention, primary = answer_matrices(codes, respondents, key, book, level)
        still = still_buying(rows, primary)
        if churned_only:
            per_stratum = respondents.loc[still, "stratum"].value_counts().sort_index()
            notes["not_churned"] = {str(k): int(v) for k, v in per_stratum.items()}
        cells, groups, not_churned = [], [], {}
        for segment, design in designs.items():
            c, g, not_churned[segment] = segment_tables(
                segment, design, rows, (mention, primary), book, ~still if churned_only else None
            )
            cells.append(c)
            groups.append(g)
        if churned_only:
            notes["value_not_churned"] = not_churned
        cells = order_cells(pd.concat(cells, ignore_index=True), list(designs), book)
        groups = pd.concat(groups, ignore_index=True)
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
            money_at_risk, money_low, money_high, respondents, n_eff, low_n``; a group's
            share is the weighted share of respondents whose primary reason is in it (an
            estimate of its own, not a sum of code intervals), so the four groups sum to 1 per
            segment, and its money is estimated alike.
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
            primary_share, primary_low, primary_high, mention_share, count, n_primary,
            respondents, low_n``, fixable codes mentioned at least once, largest money first.
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
        columns += ["mention_share", "count", "n_primary", "respondents", "low_n"]
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

    def method_note(self) -> str:
        """How the figures were estimated, for a reviewer: estimator, variance, interval,
        adjustments, what ``respondents``/``n_eff``/``low_n`` mean, and the references (the
        text of the workbook's ``method`` sheet).
        """
        return "\n\n".join([*METHOD_NOTE, "References:\n" + "\n".join(REFERENCES)])

    def to_excel(self, path: str | os.PathLike[str]) -> Path:
        """Write the matrix, its cells, the summary, the low-hanging fruit and the method note.

        Sheets: ``matrix`` (per segment: main-reason share and interval, the respondents it
        rests on, the effective n, the ``low_n`` flag, the mention share and money with its
        interval; flagged figures in grey italics), ``cells`` (long form), ``summary``,
        ``low_hanging_fruit``, ``method`` (:meth:`method_note`, its references and the
        notes). Equal matrices give equal bytes.
        """
        from churnkit.matrix._excel import write_workbook

        method = [*METHOD_NOTE, "References:", *REFERENCES]
        method += [f"{k}: {v}" for k, v in self.notes.items()]
        sheets = {"summary": self.summary(), "low_hanging_fruit": self.low_hanging_fruit()}
        return write_workbook(self.cells, self.segments, sheets, method, Path(path))

    def __repr__(self) -> str:
        n = self.notes.get("respondents", 0)
        return (
            f"RetentionMatrix({n} interviews, {self.cells['code'].nunique()} {self.level}s, "
            f"segments {self.segments})"
        )
