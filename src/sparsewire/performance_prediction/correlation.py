"""Correlation of each structural feature with accuracy (Stier, Darji & Granitzer 2021, Sec. 4.3)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats


def correlations(table: pd.DataFrame, features: Sequence[str], target: str = "test_accuracy") -> pd.DataFrame:
    """Pearson r and Spearman ρ (with two-sided p-values) of every feature with ``target``.

    A constant feature (or target) has no correlation: its row holds NaN. Rows are sorted by |Spearman ρ|.
    """
    y = table[target].to_numpy(dtype=float)
    rows = []
    for name in features:
        x = table[name].to_numpy(dtype=float)
        if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
            rows.append({"feature": name, "pearson": np.nan, "pearson_p": np.nan, "spearman": np.nan, "spearman_p": np.nan})
            continue
        pr = stats.pearsonr(x, y)
        sr = stats.spearmanr(x, y)
        rows.append({"feature": name, "pearson": float(pr.statistic), "pearson_p": float(pr.pvalue),
                     "spearman": float(sr.statistic), "spearman_p": float(sr.pvalue)})
    out = pd.DataFrame(rows)
    order = out["spearman"].abs().fillna(-1).sort_values(ascending=False).index
    return out.loc[order].reset_index(drop=True)
