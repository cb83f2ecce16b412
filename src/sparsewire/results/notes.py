"""Plain-language notes on a results table that a reader should see before its numbers.

- A *quick* study (config name ending in ``-quick``) is a smoke test: it checks that the pipeline runs end to
  end on a few small, briefly trained networks, and its numbers are not results. (``quick``, the README's
  first study, is a small but real study.)
- Groups of trials whose mean test accuracy is at chance (Reber: 2 classes; the image datasets: 10) learned
  nothing, which a table of percentages does not say by itself.
"""

from __future__ import annotations

import pandas as pd

#: Config axes that tell groups of trials apart, in the order they are named (those with 2 to
#: :data:`MAX_LEVELS` values are used; a result column such as a graph's density is not an axis).
GROUP_KEYS = ("kind", "cell", "model", "method", "compression", "algorithm")
MAX_LEVELS = 12
#: Studies that predict from structure: the hint on ``sparsewire predict`` applies to them.
PREDICT_STUDIES = ("reber-structure", "prior")


def is_quick(name: str | None) -> bool:
    """A quick config (``prior-quick``, ``reber-structure-quick``, ...): a smoke test.

    >>> is_quick("reber-structure-quick"), is_quick("quick"), is_quick("paper-mnist")
    (True, False, False)
    """
    return bool(name) and str(name).endswith("-quick")


def chance_level(study: str) -> float:
    """Test accuracy of guessing: 0.5 for the (balanced, two-class) Reber studies, 0.1 for the 10-class image
    datasets (MNIST, Fashion-MNIST, CIFAR-10) of every other study.

    >>> chance_level("reber-structure"), chance_level("prune")
    (0.5, 0.1)
    """
    return 0.5 if study.startswith("reber") else 0.1


def at_chance(table: pd.DataFrame, study: str, column: str = "test_accuracy") -> pd.DataFrame:
    """Groups (by the :data:`GROUP_KEYS` that vary) whose mean ``column`` is within a small margin of chance:
    columns ``group``, ``trials``, ``mean`` (fractions)."""
    if table.empty or column not in table:
        return pd.DataFrame(columns=["group", "trials", "mean"])
    chance = chance_level(study)
    threshold = chance + max(0.05, 0.2 * chance)  # Reber: < 60 %, 10 classes: < 15 %
    keys = [k for k in GROUP_KEYS if k in table and 1 < table[k].astype(str).nunique() <= MAX_LEVELS]
    values = table.assign(_value=pd.to_numeric(table[column], errors="coerce"))
    groups = list(values.groupby(keys, sort=True, dropna=False)) if keys else [((), values)]
    rows = []
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        mean = float(part["_value"].mean())
        if mean < threshold:
            label = ", ".join(f"{k} {v}" for k, v in zip(keys, key, strict=True))
            rows.append({"group": label, "trials": len(part), "mean": mean})
    if rows and len(rows) == len(groups):  # every group: say it once
        rows = [{"group": "all trials", "trials": len(values), "mean": float(values["_value"].mean())}]
    return pd.DataFrame(rows, columns=["group", "trials", "mean"])


def study_notes(study: str, name: str | None, table: pd.DataFrame) -> list[str]:
    """Lines (Markdown) to show above a study's results: smoke test, groups at chance accuracy."""
    lines = []
    if is_quick(name):
        text = (f"**Smoke test.** `{name}` is a quick config: it checks that the study runs end to end on a few "
                "small, briefly trained networks. Its numbers are not results; run the record config for those.")
        if study in PREDICT_STUDIES:
            text += (" `sparsewire predict` needs at least 2 × folds rows per group: on a quick study use "
                     "`--folds 2` (or fewer groups, without `--by`).")
        lines.append(text)
    chance = at_chance(table, study)
    if len(chance):
        level = 100 * chance_level(study)
        listed = "; ".join(f"{group} ({trials} trials, mean {100 * mean:.1f} %)"
                           for group, trials, mean in zip(chance["group"], chance["trials"], chance["mean"], strict=True))
        lines.append(f"**At chance accuracy** (guessing gives {level:.0f} %): {listed}. These networks learned "
                     "nothing" + (" in this short smoke test." if is_quick(name) else "."))
    return lines
