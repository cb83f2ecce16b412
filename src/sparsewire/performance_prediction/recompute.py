"""Structural features recomputed from each row's graph, so that every row means the same definitions.

Rows recorded before issue 11 carry the ``sparsewire-v1`` feature definitions (no ``feature_convention``
column; see :mod:`sparsewire.graphs.features`); rows written since carry ``stier2021``, the authors'.
A row can be recomputed when it names its graph: ``reber-structure`` rows (``generator``, ``nodes``,
``graph_seed``, ``param_*``) and ``prior`` rows (``generator``, ``nodes_requested``, ``params``, ``seed``;
not ``graphml`` ones). The network's DAG is rebuilt with the row's ``orientation`` (``random``, seeded
as the study seeded it, where the row predates that column), and its features are computed again.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from sparsewire.graphs.features import FEATURE_NAMES, row_conventions, structural_features


def _value(row: pd.Series, key: str) -> Any:
    value = row.get(key)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def row_graph(row: pd.Series):
    """The oriented DAG a ``reber-structure`` or ``prior`` row's network was built on, or ``None``."""
    from sparsewire.graphs.build import orient
    from sparsewire.graphs.priors import GENERATORS, generate

    generator = _value(row, "generator")
    if generator not in GENERATORS:
        return None
    orientation = _value(row, "orientation") or "random"  # rows from before the column: random orientation
    if _value(row, "graph_seed") is not None and _value(row, "nodes") is not None:  # reber-structure
        params = {key[6:]: _value(row, key) for key in row.index if key.startswith("param_")}
        params = {k: int(v) if k in ("k", "m", "tries") else float(v) for k, v in params.items() if v is not None}
        seed = int(row["graph_seed"])
        graph = generate(generator, int(row["nodes"]), seed=seed, **params)
    elif _value(row, "nodes_requested") is not None and _value(row, "seed") is not None:  # prior
        params = row["params"] if isinstance(row["params"], dict) else json.loads(row["params"] or "{}")
        params = {k: int(v) if k in ("k", "m", "tries") and float(v).is_integer() else v for k, v in params.items()}
        seed = int(row["seed"])
        graph = generate(generator, int(row["nodes_requested"]), seed=seed, **params)
    else:
        return None
    return orient(graph, orientation, seed)


def recompute_features(table: pd.DataFrame, convention: str = "stier2021", *,
                       force: bool = False) -> tuple[pd.DataFrame, int]:
    """``table`` with the 23 features of every recomputable row not yet in ``convention`` (every
    recomputable row with ``force``) computed again and its ``feature_convention`` set; also how many rows
    were recomputed. Other rows are unchanged."""
    out = table.copy()
    if not set(FEATURE_NAMES) <= set(out.columns):
        return out, 0
    conventions = row_conventions(out)
    out["feature_convention"] = conventions
    done = 0
    for position, (index, row) in enumerate(out.iterrows()):
        if conventions[position] == convention and not force:
            continue
        dag = row_graph(row)
        if dag is None:
            continue
        values = structural_features(dag, convention=convention)  # type: ignore[arg-type]
        for name in FEATURE_NAMES:
            out.at[index, name] = values[name]
        out.at[index, "feature_convention"] = convention
        done += 1
    return out, done
