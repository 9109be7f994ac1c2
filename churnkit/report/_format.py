"""Numbers and words of the report in its language: "1 234,5" in Russian, "1,234.5" in English."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

from churnkit.core._errors import ConfigError

LANGS = ("en", "ru")
# a no-break space keeps "1 234" and "12 %" on one line
_NBSP = "\u00a0"
_DASH = "–"


@functools.cache
def _strings() -> dict[str, dict[str, str]]:
    import yaml

    text = resources.files("churnkit.report").joinpath("strings.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def format_number(value: Any, lang: str = "en", decimals: int = 0) -> str:
    """A number with the language's digit grouping and decimal mark; "–" when missing.

    Examples
    --------
    >>> format_number(1234.5, "en", 1), format_number(1234.5, "ru", 1)
    ('1,234.5', '1\\xa0234,5')
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return _DASH
    text = f"{float(value):,.{decimals}f}"
    if lang == "ru":
        text = text.replace(",", _NBSP).replace(".", ",")
    return text


def format_share(value: Any, lang: str = "en", decimals: int = 0) -> str:
    """A share in [0, 1] as a percentage: "12.5%" or "12,5 %" (Russian puts a space before %)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return _DASH
    number = format_number(100 * float(value), lang, decimals)
    return f"{number}{_NBSP}%" if lang == "ru" else f"{number}%"


@dataclass(frozen=True)
class Words:
    """The report's strings and number formats in one language (``t("key", n=...)``)."""

    lang: str
    strings: dict[str, str]
    currency: str = ""

    @classmethod
    def of(cls, lang: str, currency: str = "", overrides: dict[str, str] | None = None) -> Words:
        """Load the strings of ``lang``; ``overrides`` replaces single strings (e.g. the title)."""
        if lang not in LANGS:
            raise ConfigError(
                f"report.lang: {lang!r} is not a report language; use one of {LANGS}."
            )
        return cls(lang, {**_strings()[lang], **(overrides or {})}, currency)

    def __call__(self, key: str, **values: Any) -> str:
        text = self.strings[key]
        return text.format(**values) if values else text

    def num(self, value: Any, decimals: int = 0) -> str:
        """Format a count or a measure."""
        return format_number(value, self.lang, decimals)

    def share(self, value: Any, decimals: int = 0) -> str:
        """Format a share as a percentage."""
        return format_share(value, self.lang, decimals)

    def money(self, value: Any) -> str:
        """Format an amount of money (whole units, with the currency sign if one is set)."""
        text = format_number(value, self.lang, 0)
        return f"{text}{_NBSP}{self.currency}" if self.currency and text != _DASH else text

    def interval(self, lo: Any, hi: Any, kind: str = "share") -> str:
        """A 95% interval as "lo–hi"."""
        fmt = self.share if kind == "share" else self.money
        return f"{fmt(lo)}{_DASH}{fmt(hi)}"

    def date(self, value: Any) -> str:
        """A date as 31.12.2024 (ru) or 2024-12-31 (en)."""
        import pandas as pd

        day = pd.Timestamp(value)
        return day.strftime("%d.%m.%Y") if self.lang == "ru" else day.strftime("%Y-%m-%d")

    def label(self, kind: str, name: str) -> str:
        """A population's or model's name for people (``kind`` is "pop" or "model")."""
        return self.strings.get(f"{kind}_{name}", str(name).replace("_", " "))
