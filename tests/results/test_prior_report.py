import numpy as np
import pandas as pd

from sparsewire.results.reports.prior import MAX_LABELLED_SIZES, SIZE_RANGES, summary


def table(sizes, seeds=(0,)):
    rows = [{"dataset": "mnist", "generator": "watts-strogatz", "params": {"k": 4, "p": 0.3}, "nodes_requested": n,
             "seed": s, "test_accuracy": 0.5 + n / 2000, "edges": 2 * n, "layers": 3, "weights_remaining": 10 * n,
             "diameter": 5} for n in sizes for s in seeds]
    return pd.DataFrame(rows)


def test_listed_sizes_get_one_row_each():
    out = summary(table([50, 200, 800], seeds=(0, 1, 2)))
    assert list(out["nodes"]) == [50, 200, 800] and list(out["seeds"]) == [3, 3, 3]
    assert "networks" not in out


def test_drawn_sizes_are_grouped_into_labelled_ranges():
    sizes = np.random.default_rng(0).choice(np.arange(50, 801), size=100, replace=False).tolist()
    assert len(set(sizes)) > MAX_LABELLED_SIZES
    out = summary(table(sizes))
    assert len(out) == SIZE_RANGES and out["networks"].sum() == 100
    bounds = [tuple(map(int, label.split("–"))) for label in out["nodes"]]
    assert bounds[0][0] == min(sizes) and bounds[-1][1] == max(sizes)
    assert all(lo <= hi < next_lo for (lo, hi), (next_lo, _) in zip(bounds, bounds[1:], strict=False))
    for (lo, hi), count in zip(bounds, out["networks"], strict=True):
        assert count == sum(lo <= n <= hi for n in sizes)
