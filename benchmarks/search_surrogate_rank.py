"""How well do the surrogate variants of issue 17 rank the new genomes of a search, and better than size?

Replays every finished search of one or more ``study: search`` folders: before each generation g ≥ 1, each
variant's forest is fitted on the networks trained in generations < g — exactly the rows the search's own
surrogate saw — and predicts the networks trained in generation g; Spearman's ρ of those predictions with
their real validation accuracy is taken per search over all its new genomes (as the study report does) and
averaged over searches. Variants (:class:`~sparsewire.architecture_search.surrogate.SurrogateFeatures`,
:class:`~sparsewire.architecture_search.surrogate.ForestSurrogate` with the study's trees and seed):

- ``parameters``: the parameter count alone (no fit);
- ``structure``: the 23 structural + size features (reproduces the recorded ``predicted`` column);
- ``structure+wl``: plus the Weisfeiler–Lehman pattern frequencies (vocabulary refitted per generation);
- ``structure+wl+prefix``: plus the validation accuracy after the training-curve prefix (studies with a
  ``prefix_fraction``: recorded during each network's full training);
- ``prefix``: the prefix accuracy alone (no fit);
- ``chosen by stage 2``: predictor-ga's recorded second-stage forest on the children it chose (two-stage studies).

    python benchmarks/search_surrogate_rank.py benchmarks/results/search-fashion-mnist-prefix [more folders] [--out FILE]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sparsewire.architecture_search.surrogate import ForestSurrogate, SurrogateFeatures, rank_correlation
from sparsewire.results.format import as_list
from sparsewire.results.store import ResultsStore
from sparsewire.studies import load_config
from sparsewire.studies.search import make_space


def replay(networks: list[dict[str, Any]], features: dict[str, SurrogateFeatures], trees: int,
           seed: int, used: str = "structure") -> dict[str, float]:
    """Per variant, ρ over the networks of generations ≥ 1 of one search (predicted before their generation);
    ``reproduced``: whether variant ``used`` (the search's own surrogate) gives the recorded predictions."""
    has_prefix = all(n.get("prefix_accuracy") is not None for n in networks)
    predicted: dict[str, list[float]] = {"structure": [], "structure+wl": []}
    if has_prefix:
        predicted["structure+wl+prefix"] = []
    new: list[dict[str, Any]] = []
    for generation in sorted({n["generation"] for n in networks} - {0}):
        seen = [n for n in networks if n["generation"] < generation]
        batch = [n for n in networks if n["generation"] == generation]
        keys = [n["genome"] for n in seen]
        for name in predicted:
            featurise = features["wl" if "wl" in name else "structure"].refit(keys)

            def row(n: dict[str, Any], name: str = name, featurise: SurrogateFeatures = featurise) -> dict[str, float]:
                return featurise(n["genome"]) | ({"prefix_accuracy": n["prefix_accuracy"]} if "prefix" in name else {})

            forest = ForestSurrogate(trees, seed).fit([row(n) for n in seen], [n["accuracy"] for n in seen])
            predicted[name] += forest.predict([row(n) for n in batch])[0].tolist()
        new += batch
    actual = [n["accuracy"] for n in new]
    out = {"parameters": rank_correlation([n["params"] for n in new], actual)}
    out |= {name: rank_correlation(values, actual) for name, values in predicted.items()}
    if has_prefix:
        out["prefix"] = rank_correlation([n["prefix_accuracy"] for n in new], actual)
    recorded = [n["predicted"] for n in new]
    out["reproduced"] = float(np.allclose(recorded, predicted[used])) if None not in recorded else np.nan
    second = [n for n in new if n.get("predicted_prefix") is not None]
    if second:
        out["chosen by stage 2"] = rank_correlation([n["predicted_prefix"] for n in second],
                                                    [n["accuracy"] for n in second])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("studies", type=Path, nargs="+")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = []
    for folder in args.studies:
        _, config = load_config(folder / "study.yaml")
        space = make_space(config.space, (1, 28, 28), 10)
        features = {"structure": SurrogateFeatures(space), "wl": SurrogateFeatures(space, wl=True)}
        for row in ResultsStore.open_existing(folder).table().itertuples():
            used = "structure+wl" if config.surrogate.wl else "structure"
            rho = replay(as_list(row.networks), features, config.search.trees, int(row.search_seed), used)
            rows.append({"study": folder.name, "method": row.method, "search_seed": row.search_seed, **rho})
    table = pd.DataFrame(rows)
    variants = [c for c in ("parameters", "structure", "structure+wl", "structure+wl+prefix", "prefix", "chosen by stage 2")
                if c in table]
    summary = table.groupby(["study", "method"], sort=False)[variants].agg(lambda v: f"{v.mean():.2f} ± {v.std():.2f}")
    summary.insert(0, "searches", table.groupby(["study", "method"], sort=False).size())
    text = ["# Surrogate variants: Spearman ρ with the real validation accuracy of new genomes", "",
            "    python benchmarks/search_surrogate_rank.py " + " ".join(str(s) for s in args.studies), "",
            f"Mean ± std over searches of the per-search ρ (all networks of generations ≥ 1, each predicted by a forest "
            f"fitted on the earlier generations); {time.perf_counter() - start:.0f} s. The replayed forest of the "
            f"search's own features reproduces its recorded predictions in {int(table['reproduced'].sum())} of "
            f"{int(table['reproduced'].notna().sum())} searches.", "",
            summary.reset_index().to_markdown(index=False), ""]
    print("\n".join(text))
    if args.out is not None:
        args.out.write_text("\n".join(text))
        table.to_csv(args.out.with_suffix(".csv"), index=False)


if __name__ == "__main__":
    main()
