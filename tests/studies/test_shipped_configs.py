from pathlib import Path

import pytest

from sparsewire.studies import load_config, run_study
from sparsewire.studies.runner import expand

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_config_is_valid(path):
    study_type, config = load_config(path)
    assert expand(study_type, config), f"{path.name} expands to no trials"


def test_quick_config_runs_on_a_slice(shared_data, tmp_path):
    study_type, config = load_config(
        Path(__file__).resolve().parents[2] / "configs" / "quick.yaml",
        [f"dataset.data_dir={shared_data}", "dataset.train_limit=1000", "dataset.val_size=500",
         "train.epochs=1", "retrain.epochs=1", "seeds=[0]", "compressions=[0.5]"],
    )
    summary = run_study(study_type, config, tmp_path, progress=False, echo=lambda s: None)
    assert (summary.done, summary.failed) == (5, 0)
