"""sparsewire's RigL against rigl-torch (``benchmarks/rigl_crosscheck.py``) on an MNIST slice: the same update
steps and per-layer drop/grow counts (skipped where rigl-torch is not installed; ~10 s, so marked slow)."""

import argparse
import importlib.util
import math
from pathlib import Path

import pytest

from sparsewire.dynamic import steps_per_epoch
from sparsewire.studies.common import DatasetConfig, load_splits

HARNESS = Path(__file__).resolve().parents[2] / "benchmarks" / "rigl_crosscheck.py"


@pytest.mark.slow
def test_update_steps_and_per_layer_counts_match_rigl_torch(shared_data):
    pytest.importorskip("rigl_torch")
    spec = importlib.util.spec_from_file_location("rigl_crosscheck", HARNESS)
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    RigLScheduler = harness.import_rigl_torch()
    splits = load_splits(DatasetConfig(name="mnist", data_dir=str(shared_data), val_size=200, train_limit=1000,
                                       download=False))
    args = argparse.Namespace(epochs=2, density=0.1, delta=5, alpha=0.3, batch_size=50, optimizer="adam", lr=1e-3)
    total = 2 * steps_per_epoch(1000, 50)
    t_end = math.floor(0.75 * total)
    ours = harness.run_ours(0, splits, args, total, t_end)
    theirs = harness.run_rigl_torch(0, splits, args, total, t_end, RigLScheduler)
    assert ours["update_steps"] == theirs["update_steps"] == list(range(5, t_end, 5))
    assert ours["dropped"] == theirs["dropped"] == ours["grown"]
    assert sum(map(sum, ours["dropped"])) > 0
    assert ours["kept"] == theirs["kept"]
    assert abs(ours["test_accuracy"] - theirs["test_accuracy"]) < 0.1
