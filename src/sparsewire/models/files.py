"""Model files without pickled code: the weights (state dict) and a JSON architecture spec.

``save_model(model, path)`` writes ``{"format": "sparsewire-model", "version": 1, "spec": <JSON text>,
"state": <state dict>}`` with ``torch.save``; ``load_model(path)`` reads it back with
``torch.load(weights_only=True)`` (tensors, numbers, strings and containers only: nothing in the file can
run), rebuilds the architecture from the spec with :func:`~sparsewire.models.build_model`, re-attaches the
masks named by ``*_mask`` entries and loads the state strictly. The spec is what ``build_model`` recorded
on the model (``model.sparsewire_spec``) or one passed explicitly:
``{"name": ..., "input_shape": [...], "num_classes": N, "options": {...}}``.

Files written by ``torch.save(model, path)`` (a pickled module) are refused with a message saying how to
convert them in a trusted session.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sparsewire.atomic import replacing
from sparsewire.errors import ModelFileError
from sparsewire.models.mlp import MLP
from sparsewire.models.registry import SPEC_ATTRIBUTE, build_model

FORMAT = "sparsewire-model"
VERSION = 1


def model_spec(model: nn.Module) -> dict[str, Any] | None:
    """The architecture spec :func:`~sparsewire.models.build_model` recorded on ``model``; for an
    :class:`~sparsewire.models.MLP` made directly, the equivalent ``mlp`` spec; else ``None``."""
    spec = getattr(model, SPEC_ATTRIBUTE, None)
    if isinstance(spec, Mapping):
        return dict(spec)
    if isinstance(model, MLP) and all(layer.bias is not None for layer in model.layers):
        sizes = [int(n) for n in model.sizes]
        return {"name": "mlp", "input_shape": sizes[:1], "num_classes": sizes[-1],
                "options": {"hidden": sizes[1:-1], "activation": model.activation_name}}
    return None


def save_model(model: nn.Module, path: str | Path, spec: Mapping[str, Any] | None = None) -> Path:
    """Write ``model``'s weights and architecture spec to ``path`` (atomically); returns the path."""
    spec = dict(spec) if spec is not None else model_spec(model)
    if spec is None:
        raise ModelFileError(f"{type(model).__name__} has no architecture spec: build it with "
                             "sparsewire.models.build_model, or pass spec={'name': ..., 'input_shape': ..., "
                             "'num_classes': ..., 'options': {...}}")
    try:
        text = json.dumps(spec, sort_keys=True)
    except TypeError as err:
        raise ModelFileError(f"the architecture spec must be JSON: {err}") from err
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    path = Path(path)
    with replacing(path, "wb") as out:
        torch.save({"format": FORMAT, "version": VERSION, "spec": text, "state": state}, out)
    return path


def load_model(path: str | Path) -> nn.Module:
    """Rebuild the model saved by :func:`save_model` at ``path``, without unpickling any code."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"no such model file: {path}")
    try:
        data = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - every refusal or decoding failure means: not a safe model file
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if "weights_only" in str(err) or "Unsupported global" in str(err):
            reason = "it holds pickled Python objects, which sparsewire never loads (they can run code)"
        raise ModelFileError(
            f"{path} is not a sparsewire model file: {reason}. Save models with "
            "sparsewire.models.save_model(model, path) (weights + JSON spec); to convert a torch.save(model) "
            "file you trust, load it yourself with torch.load(path, weights_only=False) and save_model it"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        kind = "a state dict without an architecture" if isinstance(data, dict) else type(data).__name__
        raise ModelFileError(f"{path} holds {kind}, not a model saved by sparsewire.models.save_model(model, path)")
    if data.get("version") != VERSION:
        raise ModelFileError(f"{path}: unsupported model file version {data.get('version')!r} (expected {VERSION})")
    try:
        spec = json.loads(data["spec"])
        state = data["state"]
        model = build_model(spec["name"], spec["input_shape"], spec["num_classes"], **spec.get("options", {}))
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFileError(f"{path}: bad architecture spec ({err})") from err
    return load_weights(model, state, f"{path}: the weights do not fit the architecture {spec['name']!r}")


def load_weights(model: nn.Module, state: Mapping[str, torch.Tensor], misfit: str) -> nn.Module:
    """Attach the masks ``state`` names (``*_mask`` entries the model lacks) and load ``state`` strictly into
    ``model``; a state that does not fit raises :class:`~sparsewire.errors.ModelFileError` with ``misfit``."""
    from sparsewire.masks import Masks
    from sparsewire.masks.masks import MASK_SUFFIX

    present = set(model.state_dict())
    masked = [k[: -len(MASK_SUFFIX)] for k in state if k.endswith(MASK_SUFFIX) and k not in present]
    if masked:
        Masks(model, prunable=masked)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ModelFileError(f"{misfit} ({str(err).splitlines()[0]})") from err
    return model
