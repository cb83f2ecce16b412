"""Linear and conv layers whose kernel is chosen by measurement, per shape and batch size.

Which way of multiplying a pruned weight is fastest depends on the sparsity, the layer's shape, the batch
size, the thread count and the device; no rule of thumb survives all of them (``benchmarks/sparse_inference.py``).
:class:`MeasuredLinear` therefore times its candidates on the first input of each batch-size bucket (powers
of two) and keeps the fastest (fastest of a few interleaved rounds):

- ``dense``: ``F.linear`` on the dense weight with its zeros (always a candidate);
- ``csr`` / ``csr-int32``: ``F.linear`` on a torch CSR weight with int64 / int32 indices;
- ``bsr-<b>``: torch block-sparse rows with ``b × b`` blocks, when the shape divides and at most half of the
  blocks hold a non-zero (unstructured sparsity fills nearly every block, and BSR then only loses);
- ``scipy-csr``: scipy's CSR product (CPU, float32/float64, no autograd);
- ``numba-csr``: compiled CSR loops (:mod:`sparsewire.inference.compiled`; CPU, float32), when numba is installed
  (``pip install sparsewire[kernels]``).

A sparse kernel replaces ``dense`` only when its time is below ``margin`` × the dense time, so a
measured layer is never slower than dense by more than the noise of the measurement. Choices are cached
process-wide by (shape, non-zeros, batch bucket, threads, device, dtype): layers of the same shape and
sparsity are measured once. Inference only (no gradients flow into the sparse copies).
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable, Iterable
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from sparsewire.inference import compiled
from sparsewire.masks import Masks

Kernel = Callable[[torch.Tensor], torch.Tensor]
CHOICES: dict[tuple, str] = {}
"""Process-wide cache: (out, in, nnz, bucket, threads, device, dtype) -> kernel name."""


def bucket(batch: int) -> int:
    """Batch-size bucket: the next power of two (1, 2, 4, ...)."""
    return 1 << max(0, int(batch) - 1).bit_length()


def _quiet(fn: Callable[[], torch.Tensor]) -> torch.Tensor:
    with warnings.catch_warnings():  # "sparse CSR/BSR support is in beta": known
        warnings.simplefilter("ignore", UserWarning)
        return fn()


def _block_density(weight: torch.Tensor, block: int) -> float:
    rows, cols = weight.shape
    blocks = weight.ne(0).reshape(rows // block, block, cols // block, block).any(3).any(1)
    return float(blocks.float().mean())


def _sparse(make: Callable[[], torch.Tensor], bias: torch.Tensor | None) -> Kernel:
    """``F.linear`` on the sparse weight ``make()`` builds; built once per inference-mode state, since a sparse
    tensor made outside ``torch.inference_mode`` cannot be used inside it (torch 2.13)."""
    made: dict[bool, torch.Tensor] = {}

    def kernel(x: torch.Tensor) -> torch.Tensor:
        mode = torch.is_inference_mode_enabled()
        if mode not in made:
            made[mode] = _quiet(make)
        return _quiet(lambda: F.linear(x, made[mode], bias))

    return kernel


def candidate_kernels(weight: torch.Tensor, bias: torch.Tensor | None) -> dict[str, Kernel]:
    """The kernels that can run ``x ↦ x Wᵀ + b`` for this weight on its device."""
    weight = weight.detach()
    bias = None if bias is None else bias.detach()
    kernels: dict[str, Kernel] = {"dense": lambda x: F.linear(x, weight, bias)}
    kernels["csr"] = _sparse(weight.to_sparse_csr, bias)

    def csr32() -> torch.Tensor:
        csr = weight.to_sparse_csr()
        return torch.sparse_csr_tensor(csr.crow_indices().int(), csr.col_indices().int(), csr.values(), csr.shape)

    kernels["csr-int32"] = _sparse(csr32, bias)
    for block in (8, 16, 32):
        if weight.shape[0] % block or weight.shape[1] % block or _block_density(weight, block) > 0.5:
            continue
        kernels[f"bsr-{block}"] = _sparse(partial(weight.to_sparse_bsr, (block, block)), bias)
    if weight.device.type == "cpu" and weight.dtype in (torch.float32, torch.float64):
        import scipy.sparse

        matrix = scipy.sparse.csr_matrix(weight.numpy())
        b = None if bias is None else bias.numpy()

        def scipy_csr(x: torch.Tensor) -> torch.Tensor:
            out = (matrix @ x.detach().numpy().T).T
            return torch.from_numpy(out if b is None else out + b)

        kernels["scipy-csr"] = scipy_csr
    if weight.device.type == "cpu" and weight.dtype == torch.float32 and weight.dim() == 2 and compiled.available():
        kernels["numba-csr"] = compiled.numba_csr(weight, bias)
    return kernels


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_kernels(kernels: dict[str, Kernel], x: torch.Tensor, rounds: int = 5, min_round_s: float = 1e-3
                 ) -> dict[str, float]:
    """Fastest round's seconds per call of each kernel on ``x``, interleaved round by round after two warm-up
    calls each; a round repeats a fast kernel until it lasts about ``min_round_s`` (timer resolution). The
    minimum, not the median: on a shared machine other work only ever adds time, so the least disturbed
    round is the best estimate of what the kernel costs."""
    times: dict[str, list[float]] = {name: [] for name in kernels}
    reps: dict[str, int] = {}
    with torch.no_grad():
        for name, fn in kernels.items():
            fn(x)  # builds lazily made sparse tensors
            _sync(x.device)
            start = time.perf_counter()
            fn(x)
            _sync(x.device)
            reps[name] = max(1, min(100, int(min_round_s / max(time.perf_counter() - start, 1e-7))))
        for r in range(rounds):
            order = list(kernels.items()) if r % 2 == 0 else list(reversed(kernels.items()))
            for name, fn in order:
                _sync(x.device)
                start = time.perf_counter()
                for _ in range(reps[name]):
                    fn(x)
                _sync(x.device)
                times[name].append((time.perf_counter() - start) / reps[name])
    return {name: min(ts) for name, ts in times.items()}


class Measured(nn.Module):
    """A layer that runs through the kernel measured fastest for its shape and input size (inference only).

    Subclasses say which kernels exist (``_candidates``), what a measurement depends on beyond the layer
    (``_input_key``: the batch bucket, and the image size for convolutions) and how an input is handed to
    the kernels (``_flat`` / ``_unflat``). ``dense`` is always a candidate.
    """

    weight: torch.Tensor  # buffers
    bias: torch.Tensor | None

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, candidates: Iterable[str] | None,
                 rounds: int, margin: float) -> None:
        super().__init__()
        self.register_buffer("weight", weight.detach().clone())
        self.register_buffer("bias", None if bias is None else bias.detach().clone())
        self.candidates = None if candidates is None else {"dense", *candidates}
        self.rounds, self.margin = rounds, margin
        self.nnz = int(self.weight.ne(0).sum())
        self.choice: dict[tuple, str] = {}
        self.timings: dict[tuple, dict[str, float]] = {}
        self._kernels: dict[str, Kernel] | None = None
        self._ready: dict[int, Kernel] = {}  # batch size of a 2-d input -> its chosen kernel (the fast path)

    def __getstate__(self) -> dict:  # kernels are closures: rebuilt on demand after unpickling
        return {**self.__dict__, "_kernels": None, "_ready": {}}

    def _apply(self, fn, recurse=True):  # moved or cast: kernels and choices no longer apply
        self._kernels, self.choice, self._ready = None, {}, {}
        return super()._apply(fn, recurse)

    def _candidates(self) -> dict[str, Kernel]:
        raise NotImplementedError

    def _input_key(self, x: torch.Tensor) -> tuple:
        return (bucket(x.shape[0]),)

    def kernels(self) -> dict[str, Kernel]:
        if self._kernels is None:
            every = self._candidates()
            self._kernels = {k: v for k, v in every.items() if self.candidates is None or k in self.candidates}
        return self._kernels

    def key(self, x: torch.Tensor) -> tuple:
        """What a measurement is cached by, process-wide."""
        return (type(self).__name__, self.extra_key(), tuple(self.weight.shape), self.nnz, self._input_key(x),
                torch.get_num_threads(), str(self.weight.device), self.weight.dtype, tuple(sorted(self.kernels())))

    def extra_key(self) -> tuple:
        return ()

    def choose(self, x: torch.Tensor) -> str:
        """The kernel for ``x`` (its batch bucket and, for convolutions, image size): cached, or measured now."""
        local, key = self._input_key(x), self.key(x)
        if key not in CHOICES:
            times = time_kernels(self.kernels(), x, self.rounds)
            self.timings[local] = times
            best = min(times, key=times.__getitem__)
            CHOICES[key] = best if times[best] < self.margin * times["dense"] else "dense"
        self.choice[local] = CHOICES[key]
        return self.choice[local]

    def kernel_for(self, x: torch.Tensor) -> Kernel:
        """The kernel chosen for ``x``'s batch bucket (and image size), measured now if it is new."""
        return self.kernels()[self.choice.get(self._input_key(x)) or self.choose(x)]

    def run(self, x: torch.Tensor) -> torch.Tensor:
        return self.kernel_for(x)(x)

    def chosen(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in sorted(self.choice.items()))


class MeasuredLinear(Measured):
    """``y = x Wᵀ + b`` through the kernel measured fastest for this shape and batch bucket (inference only).

    Args:
        linear: the layer (its zeros are the sparsity; masks, if any, must already be applied).
        candidates: kernel names to consider (default: all that apply); ``dense`` is always included.
        rounds: timed rounds per candidate when a new batch bucket is seen.
        margin: a sparse kernel must take less than ``margin`` × the dense time to be chosen.
    """

    def __init__(self, linear: nn.Linear, candidates: Iterable[str] | None = None, rounds: int = 5,
                 margin: float = 0.95) -> None:
        super().__init__(linear.weight, linear.bias, candidates, rounds, margin)
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def _candidates(self) -> dict[str, Kernel]:
        return candidate_kernels(self.weight, self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:  # the common case: one dict lookup per call once the batch size has been seen
            kernel = self._ready.get(x.shape[0])
            if kernel is None:
                kernel = self._ready[x.shape[0]] = self.kernel_for(x)
            return kernel(x)
        return self.run(x.reshape(-1, self.in_features)).reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, nnz={self.nnz}, "
                f"chosen=[{self.chosen()}]")


class MeasuredConv2d(Measured):
    """A 2-d convolution through the kernel measured fastest for this layer, batch bucket and image size:
    ``dense`` (``F.conv2d``) or ``im2col-<k>`` (unfold the input patches, multiply by the flattened weight
    with the sparse linear kernel ``k``). Groups must be 1; zero padding only."""

    def __init__(self, conv: nn.Conv2d, candidates: Iterable[str] | None = None, rounds: int = 5,
                 margin: float = 0.95) -> None:
        if conv.groups != 1 or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError(f"MeasuredConv2d needs groups=1 and numeric zero padding, got {conv}")
        super().__init__(conv.weight, conv.bias, candidates, rounds, margin)
        self.stride, self.padding, self.dilation = conv.stride, conv.padding, conv.dilation
        self.kernel_size, self.out_channels = conv.kernel_size, conv.out_channels

    def extra_key(self) -> tuple:
        return (self.stride, self.padding, self.dilation)

    def _input_key(self, x: torch.Tensor) -> tuple:
        return (bucket(x.shape[0]), *x.shape[2:])

    def _candidates(self) -> dict[str, Kernel]:
        weight, bias = self.weight, self.bias
        stride, padding, dilation = self.stride, self.padding, self.dilation
        kernels: dict[str, Kernel] = {"dense": lambda x: F.conv2d(x, weight, bias, stride, padding, dilation)}
        for name, linear in candidate_kernels(weight.reshape(self.out_channels, -1), bias).items():
            if name != "dense":
                kernels[f"im2col-{name}"] = partial(self._im2col, linear=linear)
        return kernels

    def _im2col(self, x: torch.Tensor, linear: Kernel) -> torch.Tensor:
        b, _, h, w = x.shape
        patches = F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)  # (B, C·k·k, L)
        out = linear(patches.transpose(1, 2).reshape(-1, patches.shape[1]))  # (B·L, C_out)
        size = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, p, d, k, s in
                zip((h, w), self.padding, self.dilation, self.kernel_size, self.stride, strict=True)]
        return out.reshape(b, -1, self.out_channels).transpose(1, 2).reshape(b, self.out_channels, *size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x)

    def extra_repr(self) -> str:
        return (f"out_channels={self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, nnz={self.nnz}, chosen=[{self.chosen()}]")


@torch.no_grad()
def measured(model: nn.Module, *, batch_sizes: Iterable[int] = (), input_shape: tuple[int, ...] | None = None,
             min_sparsity: float = 0.0, candidates: Iterable[str] | None = None, rounds: int = 5) -> nn.Module:
    """A copy of ``model`` (eval, masks applied and removed) whose ``nn.Linear`` and ``nn.Conv2d`` layers with at
    least ``min_sparsity`` zeros are :class:`MeasuredLinear` / :class:`MeasuredConv2d`.

    With ``batch_sizes`` the choices are measured now: on random inputs for linear layers, and, given the
    model's ``input_shape`` (one example), on the activations of a forward pass for every layer; otherwise
    each layer measures on the first input of each new batch bucket (and image size).
    """
    model = Masks.of(model).export() if Masks.is_masked(model) else copy.deepcopy(model)
    model.eval()
    layers: list[Measured] = []
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.Linear | nn.Conv2d) and float(module.weight.eq(0).float().mean()) >= min_sparsity:
            if isinstance(module, nn.Conv2d) and (module.groups != 1 or isinstance(module.padding, str)
                                                  or module.padding_mode != "zeros"):
                continue
            parent_name, _, child = name.rpartition(".")
            new: Measured = (MeasuredLinear(module, candidates, rounds) if isinstance(module, nn.Linear)
                              else MeasuredConv2d(module, candidates, rounds))
            setattr(model.get_submodule(parent_name) if parent_name else model, child, new)
            layers.append(new)
    for batch in batch_sizes:
        if input_shape is not None:  # every layer sees its real input shape
            ref = layers[0].weight if layers else torch.empty(0)
            model(torch.randn(batch, *input_shape, dtype=ref.dtype, device=ref.device))
            continue
        for layer in layers:
            if isinstance(layer, MeasuredLinear):
                layer.choose(torch.randn(batch, layer.in_features, dtype=layer.weight.dtype,
                                         device=layer.weight.device))
    return model
