"""Small formatting helpers shared by study summaries and reports."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import pandas as pd


def mean_std(values: pd.Series, scale: float = 100.0, digits: int = 2) -> str:
    """``"mean ± std"`` of ``values × scale`` (sample std); just the mean when there is no spread to report
    (one value, or a std that is NaN)."""
    mean = values.mean() * scale
    std = values.std(ddof=1) * scale if len(values) > 1 else math.nan
    return f"{mean:.{digits}f}" if math.isnan(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def as_list(value: object) -> list[Any]:
    """A list-valued results column: a list from the store, or its JSON text from ``results.csv``."""
    if isinstance(value, str):
        loaded: list[Any] = json.loads(value)
        return loaded
    if not isinstance(value, Iterable):
        raise TypeError(f"{type(value).__name__!r} object is not iterable")
    return list(value)
