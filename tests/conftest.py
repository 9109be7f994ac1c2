"""Shared test set-up: a non-interactive plotting backend and small demo data."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
