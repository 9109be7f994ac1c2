"""SampleDesign: the settings of an interview sample, one object for the API, the CLI and the config.

:func:`churnkit.draw_interview_sample` takes one (or its fields as keywords),
``churnkit sample`` builds one from its options and the project config's ``sample:`` section
is one (with a default quota and the reachable segments). Values are checked here, so a bad
setting reads the same wherever it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd
from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from churnkit.core._errors import ConfigError
from churnkit.core._settings import Strict, explain
from churnkit.sample._frame import SEP

__all__ = ["SampleDesign"]


class SampleDesign(Strict):
    """How to draw an interview sample of predicted churners.

    Attributes
    ----------
    quotas : int, mapping or DataFrame
        Interviews per stratum: a total allocated by ``allocation``; a mapping from stratum
        (``"loyal|high"`` or ``("loyal", "high")``) to a number, strata left out getting 0;
        or a DataFrame with the strata columns and ``quota``.
    strata : list of str
        Columns of the scores (or customers) that define the strata.
    allocation : {"proportional", "equal"}
        How an integer total is split: largest remainders of ``total × N_s / N``, or equal
        shares (the remainder to the largest strata).
    reserve_ratio : float
        Reserves per stratum as a multiple of its quota (rounded up).
    populations : list of {"loyal", "first_time"}
        Populations to sample from.
    segments : list of str, optional
        Lifecycle segments to sample from (``scores.segment``), e.g. leave out ``"lost"``
        customers who stopped buying long ago and remember little; None for all.
    threshold, top_share : float, optional
        Predicted churner: ``p_churn >= threshold``, or (``threshold=None``) the top
        ``top_share`` of each population by ``p_churn``. Exactly one of them.
    contrast : int or mapping
        Low-risk (``risk_band == "low"``) contrast cases per population, flagged with
        ``group == "contrast"``; 0 for none.
    contact_window_days : int
        Customers contacted in this many days before the draw are excluded.
    contact_via : list of {"phone", "email"}
        Channels the fielding team can use; a customer needs a valid one.

    Examples
    --------
    >>> SampleDesign(quotas=300, threshold=None, top_share=0.2).strata
    ['population', 'risk_band']
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    quotas: int | dict[str | tuple[str, ...], int] | pd.DataFrame
    strata: list[str] = Field(default_factory=lambda: ["population", "risk_band"])
    allocation: Literal["proportional", "equal"] = "proportional"
    reserve_ratio: float = Field(3, ge=0)
    populations: list[Literal["loyal", "first_time"]] = Field(
        default_factory=lambda: ["loyal", "first_time"]
    )
    segments: list[str] | None = None
    threshold: float | None = Field(0.5, gt=0, lt=1)
    top_share: float | None = Field(None, gt=0, le=1)
    contrast: int | dict[str, int] = Field(0)
    contact_window_days: int = Field(180, ge=0)
    contact_via: list[Literal["phone", "email"]] = Field(
        default_factory=lambda: ["phone", "email"], min_length=1
    )

    @field_validator("strata", "populations", "segments", "contact_via", mode="before")
    @classmethod
    def _one_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> SampleDesign:
        if not self.strata or len(set(self.strata)) != len(self.strata):
            raise ValueError(f"strata must be distinct column names, got {self.strata}.")
        if (self.threshold is None) == (self.top_share is None):
            raise ValueError(
                "Give exactly one of threshold (p_churn >= threshold) and top_share (the top "
                f"share of each population), got threshold={self.threshold!r}, "
                f"top_share={self.top_share!r}."
            )
        return self

    @classmethod
    def of(cls, design: SampleDesign | None = None, **settings: Any) -> SampleDesign:
        """``design`` with ``settings`` (fields given as keywords) replacing its values.

        Without ``design`` the settings make a new one. Unknown or bad settings raise
        :class:`churnkit.ConfigError` naming them.

        Examples
        --------
        >>> SampleDesign.of(SampleDesign(quotas=100), reserve_ratio=1).reserve_ratio
        1.0
        """
        given = {k: v for k, v in settings.items() if k != "quotas" or v is not None}
        if design is not None:
            if not given:
                return design
            base = {f: getattr(design, f) for f in SampleDesign.model_fields}
            given = {**base, **given}
        try:
            return cls.model_validate(given)
        except ValidationError as e:
            raise ConfigError(explain(e, "sample design")) from e

    def params(self) -> dict[str, Any]:
        """The settings as JSON-able data, for the manifest (quotas keyed by stratum text)."""
        return {
            "strata": list(self.strata),
            "allocation": self.allocation,
            "populations": list(self.populations),
            "contact_via": list(self.contact_via),
            "quotas": _jsonable_quotas(self.quotas),
            "reserve_ratio": self.reserve_ratio,
            "threshold": self.threshold,
            "top_share": self.top_share,
            "contrast": self.contrast if isinstance(self.contrast, int) else dict(self.contrast),
            "segments": None if self.segments is None else list(self.segments),
            "contact_window_days": int(self.contact_window_days),
        }


def _jsonable_quotas(quotas: Any) -> Any:
    if isinstance(quotas, pd.DataFrame):
        return quotas.astype(str).to_dict(orient="records")
    if isinstance(quotas, Mapping):
        return {
            SEP.join(map(str, k)) if isinstance(k, tuple) else str(k): int(v)
            for k, v in quotas.items()
        }
    return int(quotas)
