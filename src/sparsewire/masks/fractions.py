"""Fractions of a mask's weights (density, compression, drop fraction, rate), checked one way.

Every number that is a fraction of weights says which interval it lives in: ``"[0, 1)"`` for a
compression (removing every weight is not a pruning target), ``"(0, 1]"`` for a density, ``"[0, 1]"`` for
a fraction of the remaining weights, ``"(0, 1)"`` for a per-round rate.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Literal

__all__ = ["Interval", "check_fraction"]

Interval = Literal["[0, 1]", "[0, 1)", "(0, 1]", "(0, 1)"]


def check_fraction(value: object, interval: Interval, name: str, meaning: str = "",
                   error: type[ValueError] = ValueError) -> float:
    """``value`` as a float if it is a number in ``interval``; else ``error`` naming ``name`` and its ``meaning``.

    Any real number is accepted (numpy scalars too); booleans, strings and NaN are refused.
    """
    low_open, high_open = interval[0] == "(", interval[-1] == ")"
    if isinstance(value, Real) and not isinstance(value, bool) and not math.isnan(x := float(value)):
        if (0.0 < x if low_open else 0.0 <= x) and (x < 1.0 if high_open else x <= 1.0):
            return x
    note = f" ({meaning})" if meaning else ""
    raise error(f"{name} must be in {interval}{note}, got {value!r}")
