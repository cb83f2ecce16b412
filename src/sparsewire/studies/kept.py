"""Loading the trained networks a study folder keeps (``sparsewire run --save-models``).

The files (:mod:`sparsewire.results.models`) hold weights only; :func:`load_trial_model` rebuilds the network
from the trial's own config in ``results.sqlite`` (:meth:`~sparsewire.studies.base.StudyType.model_for`) and
loads them, so nothing in the file can run.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from sparsewire.errors import ModelFileError
from sparsewire.models.files import load_weights
from sparsewire.results.models import FORMAT, VERSION, model_path
from sparsewire.results.store import ResultsStore
from sparsewire.studies.builtin import get_study_type


def load_trial_model(study_dir: str | Path, trial_id: str, name: str = "final") -> nn.Module:
    """The network trial ``trial_id`` of the study in ``study_dir`` kept, on the CPU, masks attached.

    Raises ``FileNotFoundError`` (naming ``--save-models`` when the folder keeps no models) and
    :class:`~sparsewire.errors.ModelFileError` for a file that is not such weights or does not fit the trial."""
    path = model_path(study_dir, trial_id, name)
    if not path.exists():
        kept = "" if path.parent.is_dir() else " (the folder keeps no models: run it with --save-models)"
        raise FileNotFoundError(f"no kept network {name!r} of trial {trial_id} in {Path(study_dir)}{kept}")
    try:
        data = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - any refusal or decoding failure: not a safe weights file
        raise ModelFileError(f"{path} is not a kept network's weights file ({type(err).__name__}); sparsewire "
                             "never unpickles code") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
        raise ModelFileError(f"{path} is not a weights file written by sparsewire run --save-models")
    if data.get("trial_id") != trial_id:
        raise ModelFileError(f"{path} holds the weights of trial {data.get('trial_id')!r}, not {trial_id!r}")
    store = ResultsStore.open_existing(study_dir)
    config = store.trial_config(trial_id)
    if config is None:
        raise ModelFileError(f"{Path(study_dir)}: results.sqlite has no trial {trial_id}, so its network cannot be rebuilt")
    study_type = get_study_type(config["study"])
    trial = study_type.parse_trial({k: v for k, v in config.items() if k != "study"})
    model = study_type.model_for(trial, store.trial_result(trial_id))
    return load_weights(model, data["state"], f"{path}: the weights do not fit trial {trial_id}'s network").eval()
