"""Figures of reports: matplotlib on its non-interactive Agg backend (set here, once) and one way to save them.

Every module that draws a report figure takes ``plt`` from here and finishes with :func:`save`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = ["BAND_LABEL", "LINESTYLES", "legend", "plt", "save"]

LINESTYLES = ["-", "--", ":", "-."]
#: Legend entry that says what the shaded bands around mean lines are.
BAND_LABEL = "shaded band: ± 1 std over seeds"


def legend(ax: Axes, *, band: bool = True, **kwargs: Any) -> None:
    """``ax.legend`` with, when ``band``, an entry explaining the shaded mean ± std bands."""
    from matplotlib.patches import Patch

    handles, labels = ax.get_legend_handles_labels()
    if band:
        handles.append(Patch(facecolor="grey", alpha=0.3, label=BAND_LABEL))
        labels.append(BAND_LABEL)
    ax.legend(handles, labels, **kwargs)


def save(fig: Figure, path: Path, title: str = "", *, dpi: int = 120) -> Path:
    """Give ``fig`` its title (if any), lay it out, write it to ``path`` as a PNG of ``dpi`` (folders created)
    and close it."""
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
