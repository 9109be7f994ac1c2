"""The project config of ``churnkit run``: one validated YAML file from data to report.

Relative paths are read from the config file's folder. Every error names the key path
(``data.orders``) and says what to do, e.g. ``data.orders: file not found: x.csv``.

Examples
--------
A minimal ``project.yml``::

    data:
      orders: orders.csv
      columns: {customer_id: Код клиента, order_date: Дата заказа, revenue: Сумма}
    horizon: 90
    report: {lang: ru, title: Отток клиентов}
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from churnkit.core._errors import ConfigError
from churnkit.core._settings import Strict, explain
from churnkit.sample._design import SampleDesign

PathLike = str | os.PathLike[str]


# customers a retention action can still reach: not 'new' (nothing to lose yet) and not
# 'lost' (silent for 8+ of their typical gaps: they left long ago, they are not leaving)
REACHABLE_SEGMENTS: tuple[str, ...] = (
    "first_time",
    "promising",
    "loyal",
    "vip",
    "drifting",
    "at_risk",
    "vip_at_risk",
    "sleeping",
)


class DataConfig(Strict):
    """Where the orders (and customers) are and how their columns are called."""

    orders: Path = Field(description="Orders file (CSV/TSV/Parquet) or a folder of Parquet.")
    customers: Path | None = Field(None, description="Customers file, optional.")
    columns: dict[str, str] = Field(default_factory=dict, description="canonical: your column")
    customer_columns: dict[str, str] = Field(default_factory=dict)
    sep: str | None = None
    encoding: str | None = None
    decimal: str | None = None
    date_format: str | None = None


class SegmentsConfig(Strict):
    """Lifecycle segment rules: a YAML file, rules written inline, or the defaults (null)."""

    rules: Path | dict[str, Any] | None = None
    freq: Literal["M", "Q", "W"] = "M"


class ModelConfig(Strict):
    """Churn model options: training cutoffs, backtest models, LightGBM settings."""

    cutoffs: list[dt.date] | None = Field(
        None, description="Training/backtest cutoffs; default: the last n_cutoffs quarter ends."
    )
    n_cutoffs: int = Field(6, ge=3)
    models: list[Literal["gbm", "survival", "bgnbd", "rfm_logit", "recency"]] = Field(
        default_factory=lambda: ["gbm", "survival", "bgnbd", "rfm_logit", "recency"]
    )
    n_boot: int = Field(200, ge=0)
    params: dict[str, Any] = Field(default_factory=dict, description="ChurnModel arguments.")
    drivers: Literal["high", "all", "none"] = "high"
    enabled: bool = Field(True, description="false: no backtest, model, scores or sample.")
    backtest: bool = True


class SampleConfig(SampleDesign):
    """The interview sample: a :class:`churnkit.SampleDesign` (every field of it), a quota of
    300 by default, the reachable segments, and the exclusion lists."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    quotas: int | dict[str, int] = 300
    segments: list[str] = Field(
        default_factory=lambda: list(REACHABLE_SEGMENTS),
        description=(
            "Segments whose predicted churners count (sample frame, matrix, report); by "
            "default every segment but 'new' (no purchase yet) and 'lost' (already gone)."
        ),
    )
    do_not_contact: Path | None = None
    contact_history: Path | None = None

    def keyed(self) -> dict[str, Any]:
        """The settings as JSON-able data, leaving out the design fields added after 0.1.0
        while they keep their defaults (so caches and the keys the report lists stay valid)."""
        data = self.model_dump(mode="json")
        for name, default in _ADDED_AT_DEFAULT.items():
            if data.get(name) == default:
                data.pop(name)
        return data


# SampleDesign fields the config did not have in 0.1.0, with their defaults
_ADDED_AT_DEFAULT: dict[str, Any] = {
    "allocation": "proportional",
    "top_share": None,
    "contrast": 0,
    "contact_via": ["phone", "email"],
}


class InterviewsConfig(Strict):
    """Interview answers (coded automatically) and/or filled coding sheets; a codebook."""

    codebook: Path | None = None
    answers: Path | None = Field(
        None, description="CSV/XLSX: answer_id, text, optional lang, and sample_id or customer_id."
    )
    coding_sheets: list[Path] = Field(default_factory=list)
    tracker: Path | None = Field(None, description="Filled fielding tracker (sample status).")


class ReportConfig(Strict):
    """Language, title and branding of the PDF, and overrides of the per-segment actions."""

    lang: Literal["en", "ru"] = "en"
    title: str | None = None
    currency: str = ""
    brand: str | None = Field(None, pattern=r"^#[0-9a-fA-F]{6}$")
    actions: dict[str, dict[str, Any]] = Field(default_factory=dict)


class ProjectConfig(Strict):
    """Everything ``churnkit run`` needs; see the module docstring for an example.

    Build it with :func:`load_config` (from YAML) or :meth:`from_dict`.
    """

    data: DataConfig
    as_of: dt.date | None = None
    horizon: int = Field(90, ge=7, le=730)
    seed: int = Field(0, ge=0)
    segments: SegmentsConfig = Field(default_factory=SegmentsConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    sample: SampleConfig = Field(default_factory=SampleConfig)
    interviews: InterviewsConfig = Field(default_factory=InterviewsConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    # the folder relative paths start from: the config file's
    _base_dir: Path = PrivateAttr(default=Path("."))

    @field_validator("as_of", mode="before")
    @classmethod
    def _date_text(cls, value: Any) -> Any:
        # YAML gives dates as date objects already; strings must be ISO days
        if isinstance(value, str):
            return dt.date.fromisoformat(value.strip())
        return value

    @classmethod
    def from_dict(
        cls, raw: dict[str, Any], base_dir: PathLike = ".", source: str = "config"
    ) -> ProjectConfig:
        """Validate a plain dict; relative paths are taken from ``base_dir``; files must exist."""
        if not isinstance(raw, dict):
            raise ConfigError(
                f"{source}: expected a mapping of settings at the top, got {type(raw).__name__}."
            )
        try:
            config = cls.model_validate(raw)
        except ValidationError as e:
            raise ConfigError(explain(e, source)) from e
        config._base_dir = Path(base_dir)
        config._check_files(source)
        return config

    @property
    def base_dir(self) -> Path:
        """The folder relative paths are read from (the config file's)."""
        return self._base_dir

    def path(self, value: Path) -> Path:
        """``value`` resolved against the config file's folder."""
        return value if value.is_absolute() else self.base_dir / value

    def files(self) -> dict[str, Path]:
        """Every input file the config names, by key path (``data.orders``, …), resolved."""
        found: dict[str, Path] = {"data.orders": self.data.orders}
        optional = {
            "data.customers": self.data.customers,
            "segments.rules": self.segments.rules
            if isinstance(self.segments.rules, Path)
            else None,
            "sample.do_not_contact": self.sample.do_not_contact,
            "sample.contact_history": self.sample.contact_history,
            "interviews.codebook": self.interviews.codebook,
            "interviews.answers": self.interviews.answers,
            "interviews.tracker": self.interviews.tracker,
        }
        found.update({k: v for k, v in optional.items() if v is not None})
        for i, sheet in enumerate(self.interviews.coding_sheets):
            found[f"interviews.coding_sheets.{i}"] = sheet
        return {k: self.path(v) for k, v in found.items()}

    def _check_files(self, source: str) -> None:
        for key, path in self.files().items():
            if not path.exists():
                raise ConfigError(
                    f"{source}: {key}: file not found: {path}. Check the path; relative paths "
                    f"are read from the config file's folder ({self.base_dir})."
                )

    def stage_config(self) -> dict[str, Any]:
        """The whole config as JSON-able data (paths as given), for manifests and caching."""
        return self.model_dump(mode="json") | {"sample": self.sample.keyed()}


def load_config(path: PathLike) -> ProjectConfig:
    """Read and validate a project config (YAML).

    Raises
    ------
    ConfigError
        The file is missing or not YAML, a key is unknown, a value has the wrong type or
        range, or a file it names does not exist; the message names the key path.

    Examples
    --------
    >>> config = load_config("project.yml")  # doctest: +SKIP
    >>> config.report.lang  # doctest: +SKIP
    'ru'
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found; check the path.")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid YAML ({e}); fix the syntax at the line shown.") from e
    return ProjectConfig.from_dict(raw or {}, base_dir=path.parent, source=str(path))


def _loader() -> type:
    """A safe YAML loader that leaves dates as text, so a bad date is reported at its key."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor(
        "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
    )
    return Loader
