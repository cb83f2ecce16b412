"""Small formatting helpers shared by study summaries and reports."""

from __future__ import annotations

import json
import math

import pandas as pd


def mean_std(values: pd.Series, scale: float = 100.0, digits: int = 2) -> str:
    """``"mean ± std"`` of ``values × scale`` (sample std); just the mean when there is no spread to report
    (one value, or a std that is NaN)."""
    mean = values.mean() * scale
    std = values.std(ddof=1) * scale if len(values) > 1 else math.nan
    return f"{mean:.{digits}f}" if math.isnan(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def as_list(value: object) -> list:
    """A list-valued results column: a list from the store, or its JSON text from ``results.csv``."""
    return json.loads(value) if isinstance(value, str) else list(value)  # type: ignore[call-overload]
