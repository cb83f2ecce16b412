"""Export a pruned model for deployment: thinned (a smaller dense network) or ONNX (verified with onnxruntime).

- ``"thinned"``: :func:`sparsewire.thinning.thin`, then written as a sparsewire model file (weights + JSON
  spec, :func:`sparsewire.models.save_model`) when the thinned network has a spec (MLPs), otherwise as a
  ``torch.export`` program (``.pt2``: a graph and its weights, no pickled Python).
- ``"onnx"``: ``torch.onnx.export`` of the model (thinned first unless ``thinned=False``), then run in
  onnxruntime on a random example and compared with the PyTorch outputs (1e-5). Needs the optional extra
  ``pip install 'sparsewire[onnx]'`` (onnx, onnxscript, onnxruntime).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from sparsewire.errors import SparsewireError

Format = Literal["thinned", "onnx"]
TOLERANCE = 1e-5


class ExportError(SparsewireError, RuntimeError):
    """The model could not be exported, or the export does not compute what the model computes."""


def _example(input_shape: Sequence[int], batch: int = 4) -> torch.Tensor:
    return torch.rand(batch, *input_shape, generator=torch.Generator().manual_seed(0))


def export_model(model: nn.Module, path: str | Path, format: Format = "thinned", *,
                 input_shape: Sequence[int] | None = None, thinned: bool = True) -> Path:
    """Write ``model`` to ``path`` in ``format`` and return the path written (see the module doc).

    ``input_shape`` is one example's shape (default: the model's recorded spec ``input_shape``).
    """
    from sparsewire.models.files import model_spec, save_model
    from sparsewire.thinning import thin

    if format not in ("thinned", "onnx"):
        raise ExportError(f"unknown export format {format!r}; choose 'thinned' or 'onnx'")
    spec = model_spec(model)
    if input_shape is None:
        if spec is None:
            raise ExportError(f"{type(model).__name__} has no recorded input shape: pass input_shape")
        input_shape = spec["input_shape"]
    path = Path(path)
    out = thin(model) if (format == "thinned" or thinned) else model
    out.eval()
    example = _example(input_shape)
    if format == "thinned":
        if model_spec(out) is not None:
            return save_model(out, path)
        program = torch.export.export(out, (example,), dynamic_shapes=({0: torch.export.Dim.DYNAMIC},))
        path = path.with_suffix(".pt2")
        torch.export.save(program, path)
        return path
    return _onnx(out, example, path)


def _onnx(model: nn.Module, example: torch.Tensor, path: Path) -> Path:
    try:
        import onnxruntime
    except ModuleNotFoundError as err:
        raise ExportError("ONNX export needs the optional extra: pip install 'sparsewire[onnx]' "
                          "(onnx, onnxscript, onnxruntime)") from err
    path.parent.mkdir(parents=True, exist_ok=True)
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)  # "torchvision is not installed. Skipping ..." and the like
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning, UserWarning))
            torch.onnx.export(model, (example,), str(path), input_names=["input"], output_names=["output"],
                              dynamic_shapes=({0: torch.export.Dim.DYNAMIC},), dynamo=True, verbose=False)
    finally:
        exporter_log.setLevel(level)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for x in (example, example[:1]):
        with torch.no_grad():
            expected = model(x).numpy()
        got = session.run(None, {"input": x.numpy()})[0]
        diff = float(abs(got - expected).max())
        if diff > TOLERANCE * max(1.0, float(abs(expected).max())):
            raise ExportError(f"the ONNX model differs from the PyTorch model by {diff:.2e} (batch {len(x)})")
    return path
