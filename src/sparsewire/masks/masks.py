"""The one mask abstraction of sparsewire.

A :class:`Masks` object owns boolean masks for a model's prunable parameters. The masks live on the
model itself as boolean buffers named ``<param>_mask`` next to each masked parameter, so a masked model
saves, loads (strictly), deep-copies and pickles like any ``nn.Module`` and moves between devices with it.

Masks are enforced *in place*: the parameter tensor itself holds exact zeros where the mask is ``False``.
The forward pass therefore costs nothing extra, gradients stay dense (algorithms that grow connections
need them), and :meth:`Masks.bind` re-applies the masks after every optimizer step so that momentum,
Adam moments or weight decay can never revive a pruned weight.
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping

import torch
from torch import nn

from sparsewire.errors import SparsewireError

MASK_SUFFIX = "_mask"

# Parameters masked by default: weight matrices and kernels of the layers below (biases stay dense).
_DEFAULT_TYPES: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.Embedding,
    nn.RNNBase,
)
_RNN_WEIGHT = re.compile(r"^weight_(ih|hh)_l\d+(_reverse)?$")

Selector = Callable[[str, nn.Module, str, nn.Parameter], bool]
_Path = tuple[tuple[str, ...], str]
"""A masked parameter's module path (attribute names from the model down) and its attribute name."""
_Check = tuple[tuple[str, ...], str, nn.Module, nn.Parameter, torch.Tensor, int, int]
"""What :meth:`Masks._pairs` re-validates its cache with: path, name, module, parameter, mask, mask version,
data pointer."""


class MaskError(SparsewireError, ValueError):
    """Raised for masks that do not fit the model (shape, dtype, unknown parameter, nothing prunable)."""


class EmptyLayerWarning(UserWarning):
    """A masked parameter has no weight left (density 0)."""


_ATTENTION_WEIGHTS = ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight")


def default_selector(module_name: str, module: nn.Module, param_name: str, param: nn.Parameter) -> bool:
    """The default rule for any ``nn.Module``: what is masked, what is left dense.

    Masked: the ``weight`` of Linear (attention projections that are Linear layers included, as in Hugging
    Face BERT), Conv1d/2d/3d (every kernel entry) and Embedding layers (every entry of the table), the
    ``weight_ih``/``weight_hh`` matrices of RNN/GRU/LSTM layers, the input projections of
    ``nn.MultiheadAttention`` (``in_proj_weight`` or ``q/k/v_proj_weight``; its ``out_proj`` is a Linear),
    and the ``weight`` of Hugging Face's ``Conv1D`` (GPT-2's transposed linear layer).
    Left dense: biases, normalisation layers (LayerNorm, BatchNorm, GroupNorm, RMSNorm ...), and any other
    parameter (positional tables held as bare parameters, class tokens, scales). Pass ``prunable=`` to choose.
    """
    if isinstance(module, nn.MultiheadAttention):
        return param_name in _ATTENTION_WEIGHTS
    if type(module).__name__ == "Conv1D" and type(module).__module__.startswith("transformers"):
        return param_name == "weight" and param.dim() == 2
    if not isinstance(module, _DEFAULT_TYPES):
        return False
    if isinstance(module, nn.RNNBase):
        return bool(_RNN_WEIGHT.match(param_name))
    return param_name == "weight"


def _split(name: str) -> tuple[str, str]:
    module_name, _, param_name = name.rpartition(".")
    return module_name, param_name


def _as_selector(prunable: Selector | Iterable[str] | str | None) -> Selector:
    if prunable is None:
        return default_selector
    if callable(prunable):
        return prunable
    if isinstance(prunable, str):
        pattern = re.compile(prunable)
        return lambda m, mod, p, par: bool(pattern.fullmatch(f"{m}.{p}" if m else p))
    wanted = set(prunable)
    return lambda m, mod, p, par: (f"{m}.{p}" if m else p) in wanted


class Masks(Mapping[str, torch.Tensor]):
    """Boolean masks of a model's prunable parameters, stored on the model as buffers.

    ``Masks(model)`` attaches all-``True`` masks to the parameters chosen by ``prunable`` (default: the
    weights of Linear/Conv/Embedding/RNN/GRU/LSTM layers) unless masks are already attached, in which case
    it simply reads them. It behaves as a read-only mapping ``parameter name -> bool mask``; write
    masks with :meth:`update`.

    Args:
        model: any ``nn.Module``.
        prunable: which parameters to mask: ``None`` (default rule), a callable
            ``(module_name, module, param_name, param) -> bool``, an iterable of full parameter names
            or a regular expression matched against full parameter names.
    """

    def __init__(self, model: nn.Module, prunable: Selector | Iterable[str] | str | None = None) -> None:
        self.model = model
        existing = self._find_existing(model)
        if existing:
            if prunable is not None:
                requested = self._select(model, _as_selector(prunable))
                if set(requested) != set(existing):
                    raise MaskError(
                        "model already carries masks on "
                        f"{sorted(existing)}; they differ from the requested {sorted(requested)}"
                    )
            self._names = existing
        else:
            names = self._select(model, _as_selector(prunable))
            if not names:
                raise MaskError(
                    f"{type(model).__name__} has no prunable parameter (looked for weights of "
                    "Linear, Conv, Embedding and RNN layers; pass `prunable=` to choose others)"
                )
            for name in names:
                module_name, param_name = _split(name)
                module = model.get_submodule(module_name)
                param = getattr(module, param_name)
                module.register_buffer(param_name + MASK_SUFFIX, torch.ones_like(param, dtype=torch.bool))
            self._names = names
        self._enforcement: tuple[list[_Check], list[tuple[torch.Tensor, torch.Tensor]]] | None = None

    # ------------------------------------------------------------------ discovery
    @staticmethod
    def _select(model: nn.Module, selector: Selector) -> list[str]:
        """Names of the selected parameters; a parameter shared by several modules (tied input and output
        embeddings) is masked once, under its first name."""
        names, seen = [], set()
        for module_name, module in model.named_modules():
            for param_name, param in module.named_parameters(recurse=False):
                if id(param) in seen:
                    continue
                seen.add(id(param))
                if selector(module_name, module, param_name, param):
                    names.append(f"{module_name}.{param_name}" if module_name else param_name)
        return names

    @staticmethod
    def _find_existing(model: nn.Module) -> list[str]:
        names = []
        for module_name, module in model.named_modules():
            for buffer_name, _ in module.named_buffers(recurse=False):
                if buffer_name.endswith(MASK_SUFFIX):
                    param_name = buffer_name[: -len(MASK_SUFFIX)]
                    if isinstance(getattr(module, param_name, None), nn.Parameter):
                        names.append(f"{module_name}.{param_name}" if module_name else param_name)
        return names

    @classmethod
    def of(cls, model: nn.Module) -> Masks:
        """The masks already attached to ``model``; :class:`MaskError` if it carries none."""
        if not cls._find_existing(model):
            raise MaskError(f"{type(model).__name__} carries no masks; create them with Masks(model)")
        return cls(model)

    @staticmethod
    def is_masked(model: nn.Module) -> bool:
        """Whether ``model`` carries sparsewire masks."""
        return bool(Masks._find_existing(model))

    # ------------------------------------------------------------------ mapping protocol
    _paths: dict[str, _Path]  # created on first use (masks pickled before it existed have none)

    def __getitem__(self, name: str) -> torch.Tensor:
        module, param_name = self._locate(name)
        mask: torch.Tensor = getattr(module, param_name + MASK_SUFFIX)
        return mask

    def _locate(self, name: str) -> tuple[nn.Module, str]:
        """The module holding masked parameter ``name`` and the parameter's attribute name.

        Resolved afresh on every call (a submodule may have been swapped), but by walking pre-split paths:
        ``get_submodule`` per parameter per optimizer step cost as much as the masking itself.
        """
        paths: dict[str, _Path] = self.__dict__.setdefault("_paths", {})
        entry = paths.get(name)
        if entry is None:
            if name not in self._names:
                raise KeyError(f"{name!r} is not masked; masked parameters: {self._names}")
            module_name, param_name = _split(name)
            entry = paths[name] = (tuple(module_name.split(".")) if module_name else (), param_name)
        path, param_name = entry
        module = self.model
        try:
            for key in path:
                child = module._modules[key]
                if child is None:
                    raise KeyError(key)
                module = child
        except KeyError:
            module = self.model.get_submodule(".".join(path))  # non-standard containers: the slow, general way
        return module, param_name

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"Masks({len(self)} parameters, density={self.density():.4f})"

    def parameter(self, name: str) -> nn.Parameter:
        """The parameter that mask ``name`` applies to."""
        module, param_name = self._locate(name)
        param: nn.Parameter = getattr(module, param_name)
        return param

    def parameters(self) -> Iterator[tuple[str, nn.Parameter, torch.Tensor]]:
        """``(name, parameter, mask)`` for every masked parameter."""
        for name in self._names:
            module, param_name = self._locate(name)
            yield name, getattr(module, param_name), getattr(module, param_name + MASK_SUFFIX)

    # ------------------------------------------------------------------ writing
    def _pairs(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``(parameter, mask as a float multiplier)`` for every masked parameter.

        :meth:`apply` runs after every optimizer step, where resolving names, ``nn.Module.__getattr__`` and
        converting masks cost as much as the multiply itself (``benchmarks/mask_overhead.py``). The pairs
        are therefore cached and re-validated with plain dict lookups and identity checks: a swapped
        submodule, a replaced parameter or mask buffer, a mask modified in place (its version counter) or
        parameter data moved to another device or dtype (its data pointer) rebuilds them.
        """
        cached: tuple[list[_Check], list[tuple[torch.Tensor, torch.Tensor]]] | None = self.__dict__.get("_enforcement")
        if cached is not None:
            for path, param_name, module, param, mask, version, pointer in cached[0]:
                owner: nn.Module | None = self.model
                for key in path:
                    owner = owner._modules.get(key) if owner is not None else None
                if (owner is not module or module._parameters.get(param_name) is not param
                        or module._buffers.get(param_name + MASK_SUFFIX) is not mask
                        or mask._version != version or param.data_ptr() != pointer):
                    break
            else:
                return cached[1]
        checks: list[_Check] = []
        pairs: list[tuple[torch.Tensor, torch.Tensor]] = []
        for name in self._names:
            module, param_name = self._locate(name)
            param, mask = getattr(module, param_name), getattr(module, param_name + MASK_SUFFIX)
            # multiplying by a float tensor is several times faster than by a bool one
            pairs.append((param, mask.to(device=param.device, dtype=param.dtype)))
            checks.append((self._paths[name][0], param_name, module, param, mask, mask._version, param.data_ptr()))
        self._enforcement = (checks, pairs)
        return pairs

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_enforcement"] = None  # a cache: rebuilt on first use
        return state

    @torch.no_grad()
    def apply(self) -> None:
        """Zero every masked-out weight in place (called after each optimizer step by :meth:`bind`)."""
        for param, multiplier in self._pairs():
            param.mul_(multiplier)

    @torch.no_grad()
    def update(self, new: Mapping[str, torch.Tensor], *, apply: bool = True, warn_empty: bool = True) -> None:
        """Replace some or all masks and zero the newly pruned weights.

        A layer whose mask becomes all-``False`` triggers an :class:`EmptyLayerWarning`: the network
        can no longer pass signal through it.
        """
        for name, mask in new.items():
            current = self[name]
            if tuple(mask.shape) != tuple(current.shape):
                raise MaskError(f"mask for {name} has shape {tuple(mask.shape)}, expected {tuple(current.shape)}")
            current.copy_(mask.to(device=current.device, dtype=torch.bool))
            if warn_empty and not bool(current.any()):
                warnings.warn(f"{name} is pruned to zero weights (density 0)", EmptyLayerWarning, stacklevel=3)
        if apply:
            self.apply()

    def reset(self) -> None:
        """Set every mask back to all-``True`` (weights already zeroed stay zero until trained)."""
        self.update({name: torch.ones_like(mask) for name, mask in self.items()}, apply=False)

    def bind(self, optimizer: torch.optim.Optimizer) -> torch.utils.hooks.RemovableHandle:
        """Re-apply the masks after every ``optimizer.step()``; returns a handle to undo it."""
        return optimizer.register_step_post_hook(lambda opt, args, kwargs: self.apply())

    @torch.no_grad()
    def mask_gradients(self) -> None:
        """Zero the gradients of pruned weights (optional: :meth:`bind` alone keeps them zero)."""
        for _, param, mask in self.parameters():
            if param.grad is not None:
                param.grad.mul_(mask)

    def state(self) -> dict[str, torch.Tensor]:
        """A detached copy of all masks, keyed by parameter name."""
        return {name: mask.detach().clone() for name, mask in self.items()}

    # ------------------------------------------------------------------ reporting
    def counts(self) -> dict[str, tuple[int, int]]:
        """``name -> (remaining weights, total weights)``."""
        return {name: (int(mask.sum()), mask.numel()) for name, mask in self.items()}

    def density(self, name: str | None = None) -> float:
        """Fraction of weights *kept* (1 = dense), for one parameter or over all masked parameters."""
        counts = self.counts()
        if name is not None:
            kept, total = counts[name]
            return kept / total
        kept = sum(k for k, _ in counts.values())
        total = sum(t for _, t in counts.values())
        return kept / total

    def sparsity(self, name: str | None = None) -> float:
        """Fraction of weights *removed* (0 = dense) — ``1 - density``."""
        return 1.0 - self.density(name)

    def densities(self) -> dict[str, float]:
        """Density (fraction kept) of every masked parameter."""
        return {name: kept / total for name, (kept, total) in self.counts().items()}

    def empty_layers(self) -> list[str]:
        """Masked parameters with no weight left."""
        return [name for name, (kept, _) in self.counts().items() if kept == 0]

    def remaining(self) -> int:
        """Number of unpruned weights over all masked parameters."""
        return sum(k for k, _ in self.counts().values())

    def total(self) -> int:
        """Number of weights over all masked parameters, pruned or not."""
        return sum(t for _, t in self.counts().values())

    # ------------------------------------------------------------------ export
    def export(self) -> nn.Module:
        """A deep copy of the model as a plain module: pruned weights are zeros, mask buffers removed."""
        plain = copy.deepcopy(self.model)
        with torch.no_grad():
            for name in self._names:
                module_name, param_name = _split(name)
                module = plain.get_submodule(module_name)
                mask = getattr(module, param_name + MASK_SUFFIX)
                getattr(module, param_name).mul_(mask)
                delattr(module, param_name + MASK_SUFFIX)
        return plain


def strip_masks(model: nn.Module) -> nn.Module:
    """Shorthand for ``Masks.of(model).export()``."""
    return Masks.of(model).export()
