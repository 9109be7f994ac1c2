"""Matplotlib figures of the report, saved as SVG (vector, small) and closed at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

# readable at the ~16 cm width of an A4 text column
_RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 8.5,
    "svg.hashsalt": "churnkit",
    "svg.fonttype": "path",
}


def save_svg(draw: Callable[[Any], Any], path: Path, size: tuple[float, float]) -> Path:
    """Draw on a fresh Axes of ``size`` inches with ``draw(ax)`` and write it to ``path``.

    The SVG carries no date, so equal figures give equal bytes; matplotlib settings are
    restored and the figure is closed whatever happens.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=size)
        try:
            draw(ax)
            fig.tight_layout()
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, format="svg", metadata={"Date": None})
        finally:
            plt.close(fig)
    return path
