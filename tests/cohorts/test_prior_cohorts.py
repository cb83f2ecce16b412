"""``study: prior`` trains its networks in cohorts by default; each row is what training alone gives."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sparsewire.studies import load_config, run_study

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def run(shared_data, out, *overrides):
    study_type, config = load_config(CONFIGS / "prior-quick.yaml", [
        f"dataset.data_dir={shared_data}", "dataset.train_limit=300", "dataset.val_size=100", "train.epochs=2",
        "train.schedule=plateau", "train.plateau_threshold=0.02",
        "priors=[{generator: watts-strogatz, nodes: [20], params: {k: 4, p: 0.3}}, "
        "{generator: barabasi-albert, nodes: [25], params: {m: 2}}]", "seeds=[0, 1]", *overrides])
    summary = run_study(study_type, config, out, progress=False, echo=lambda s: None)
    assert (summary.done, summary.failed) == (4, 0)
    return pd.read_csv(out / "results.csv").set_index("trial_id").sort_index()


@pytest.mark.parametrize("clip", ["null", "0.5"])  # clipping: the dense cohort (masked weights' gradients count)
def test_a_prior_study_in_cohorts_gives_the_accuracies_of_one_at_a_time(shared_data, tmp_path, clip):
    together = run(shared_data, tmp_path / "cohorts", "cohort_size=3", "orientation=edge-order", f"train.grad_clip={clip}")
    alone = run(shared_data, tmp_path / "alone", "cohort_size=1", "orientation=edge-order", f"train.grad_clip={clip}")
    assert list(together.index) == list(alone.index)  # grouping is not part of any trial id
    assert sorted(together["cohort_size"]) == [1, 3, 3, 3] and set(alone["cohort_size"]) == {1}  # a single trains alone
    assert set(together["batch_order"]) == {"shared"} and set(together["data_seed"]) == {0}
    for column in ("test_accuracy", "val_accuracy", "epochs", "weights_remaining", "edges"):
        assert list(together[column]) == list(alone[column]), column
    assert set(together.columns) - set(alone.columns) == {"cohort_wall_seconds"}
    assert together["cohort_wall_seconds"].notna().sum() == 3


def test_per_network_batch_order_keeps_the_old_trials(shared_data, tmp_path):
    table = run(shared_data, tmp_path, "batch_order=per-network", "orientation=random")
    assert set(table["batch_order"]) == {"per-network"} and set(table["cohort_size"]) == {1}
    assert list(table["data_seed"]) == list(table["seed"])
