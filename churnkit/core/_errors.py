"""Domain exceptions.

Every churnkit error is a ``ValueError`` so that generic callers can catch it, and every
message names the input (file, column, row, value) and says how to fix it.
"""

from __future__ import annotations

from typing import Any


class ChurnkitError(ValueError):
    """Base class of churnkit's domain errors."""


class DataValidationError(ChurnkitError):
    """The input data cannot be used as it is (structure, not single rows)."""


class MissingColumnError(DataValidationError):
    """A required column is absent from an input table."""


class SegmentRulesError(ChurnkitError):
    """Segment rules overlap, leave a gap, or are malformed."""


class ConfigError(ChurnkitError):
    """A configuration file or value is invalid."""


def plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar, so that messages read ``3.0``, not ``np.float64(3.0)``."""
    item = getattr(value, "item", None)
    return item() if item is not None and type(value).__module__ == "numpy" else value
