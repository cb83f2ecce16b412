"""Trained networks a study folder keeps (``sparsewire run --save-models``), stored without pickled code.

A study that hands its networks over (:meth:`~sparsewire.studies.base.TrialContext.keep_model`) has each one's
weights saved as ``DIR/models/<trial id>.pt``: ``{"format": "sparsewire-trial-weights", "version": 1,
"trial_id", "name", "state": <state dict>}`` (tensors and strings only). :func:`sparsewire.studies.load_trial_model` reads it with
``torch.load(weights_only=True)``, rebuilds the untrained network from the trial's own config in
``results.sqlite`` (:meth:`~sparsewire.studies.base.StudyType.model_for`), re-attaches the masks the weights
name and loads them strictly — nothing in the file can run, as for
:func:`sparsewire.models.load_model`. A finished network can so be analysed again (further pruning, thinning,
export, its graph) without training it again. The trial id is the ``trial_id`` column of ``results.csv``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

MODELS_DIR = "models"
"""The folder of a study's trained networks: while it exists, every trial trained in the study saves the
networks it hands over there."""

FORMAT = "sparsewire-trial-weights"
VERSION = 1


def model_path(study_dir: str | Path, trial_id: str, name: str = "final") -> Path:
    """Where a trial's kept network ``name`` is saved."""
    return Path(study_dir) / MODELS_DIR / (f"{trial_id}.pt" if name == "final" else f"{trial_id}-{name}.pt")


def weights_file(model: nn.Module, trial_id: str, name: str) -> dict[str, Any]:
    """What :func:`sparsewire.studies.load_trial_model` reads back: the model's state dict (on the CPU) with its trial and name."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return {"format": FORMAT, "version": VERSION, "trial_id": trial_id, "name": name, "state": state}
