"""Per-network optimizers over a cohort's packed parameters.

Adam, AdamW and SGD with momentum are elementwise, so one update over the packed tensors is each member's
own update, provided everything that is *not* elementwise stays per member: the learning rate (plateau
and cosine schedules act per network: ``lr`` is an ``(N,)`` tensor), the step count behind Adam's bias
correction, and gradient clipping, which scales each member's gradients by its own global norm exactly
as ``torch.nn.utils.clip_grad_norm_`` would on the member alone. The update formulas are PyTorch's
(``torch.optim.Adam``/``AdamW``/``SGD``, default betas, ``eps = 1e-8``, no dampening or Nesterov), so a
member trained in a cohort follows the same trajectory as alone (tested to 1e-4 after several steps).

State is kept as packed tensors shaped like the parameters and moves with them when a cohort is
compacted (:meth:`CohortOptimizer.subset`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from sparsewire.cohorts.base import Cohort
from sparsewire.training.config import TrainConfig

BETAS = (0.9, 0.999)
EPS = 1e-8


def _per_row(values: torch.Tensor, owner: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``values[owner]`` shaped to broadcast over a packed tensor ``like``."""
    return values[owner].view(-1, *([1] * (like.dim() - 1))).to(like.dtype)


def member_grad_norms(cohort: Cohort) -> torch.Tensor:
    """The global gradient norm ``(N,)`` of every member (over all its parameters)."""
    device = next(cohort.parameters()).device
    squares = torch.zeros(len(cohort), dtype=torch.float64, device=device)
    for name in cohort.packed_names():
        grad = getattr(cohort, name).grad
        if grad is not None:
            squares.index_add_(0, cohort.owner(name), grad.detach().double().pow(2).reshape(len(grad), -1).sum(1))
    return squares.sqrt()


@torch.no_grad()
def clip_member_grads(cohort: Cohort, max_norm: float) -> torch.Tensor:
    """Scale each member's gradients by ``min(1, max_norm / (norm + 1e-6))`` (``clip_grad_norm_`` per member)."""
    norms = member_grad_norms(cohort)
    coef = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for name in cohort.packed_names():
        param = getattr(cohort, name)
        if param.grad is not None:  # out of place: autograd may hand two parameters one gradient tensor
            param.grad = param.grad * _per_row(coef, cohort.owner(name), param.grad)
    return norms


class CohortOptimizer:
    """``config.optimizer`` (adam/adamw/sgd) with per-member learning rates ``lr`` and step counts."""

    def __init__(self, cohort: Cohort, config: TrainConfig) -> None:
        self.cohort, self.kind = cohort, config.optimizer
        self.weight_decay, self.momentum = config.weight_decay, config.momentum
        device = next(cohort.parameters()).device
        self.lr = torch.full((len(cohort),), float(config.lr), dtype=torch.float64, device=device)
        self.steps = torch.zeros(len(cohort), dtype=torch.float64, device=device)
        self.state: dict[str, dict[str, torch.Tensor]] = {}

    def zero_grad(self) -> None:
        for param in self.cohort.parameters():
            param.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        for name in self.cohort.packed_names():
            param = getattr(self.cohort, name)
            if param.grad is None:
                continue
            owner = self.cohort.owner(name)
            lr = _per_row(self.lr, owner, param)
            grad = param.grad
            state = self.state.setdefault(name, {})
            if self.kind == "sgd":
                self._sgd(param, grad, lr, state)
            else:
                self._adam(param, grad, lr, _per_row(self.steps, owner, param), state)

    def _sgd(self, param: torch.Tensor, grad: torch.Tensor, lr: torch.Tensor, state: dict) -> None:
        if self.weight_decay:
            grad = grad.add(param, alpha=self.weight_decay)
        if self.momentum:
            if "momentum" not in state:
                state["momentum"] = grad.clone()
            else:
                state["momentum"].mul_(self.momentum).add_(grad)
            grad = state["momentum"]
        param.addcmul_(lr, grad, value=-1)  # in place: no parameter-sized temporary

    def _adam(self, param: torch.Tensor, grad: torch.Tensor, lr: torch.Tensor, steps: torch.Tensor, state: dict) -> None:
        beta1, beta2 = BETAS
        if self.weight_decay and self.kind == "adamw":
            param.mul_(1 - lr * self.weight_decay)
        elif self.weight_decay:
            grad = grad.add(param, alpha=self.weight_decay)
        if "exp_avg" not in state:
            state["exp_avg"], state["exp_avg_sq"] = torch.zeros_like(param), torch.zeros_like(param)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias1 = 1 - beta1 ** steps
        bias2_sqrt = (1 - beta2 ** steps).sqrt()
        # param -= (lr / bias1) · exp_avg / (sqrt(exp_avg_sq) / bias2_sqrt + eps), with one temporary (the
        # per-row step size divides the denominator), since parameter-sized temporaries dominate large cohorts
        denom = exp_avg_sq.sqrt().div_(bias2_sqrt).add_(EPS).div_(lr / bias1)
        param.addcdiv_(exp_avg, denom, value=-1)

    def subset(self, cohort: Cohort, keep: Sequence[int]) -> CohortOptimizer:
        """This optimizer's state for ``cohort``, the compaction of the old cohort to members ``keep``."""
        new = CohortOptimizer.__new__(CohortOptimizer)
        new.cohort, new.kind, new.weight_decay, new.momentum = cohort, self.kind, self.weight_decay, self.momentum
        index = torch.tensor(list(keep), device=self.lr.device)
        new.lr, new.steps = self.lr[index].clone(), self.steps[index].clone()
        new.state = {}
        keys = {k for s in self.state.values() for k in s}
        for key in keys:
            packed = {name: state[key] for name, state in self.state.items() if key in state}
            if len(packed) != len(self.state):
                continue
            per_member = self.cohort.unpack(packed)
            repacked = cohort.layout.pack([per_member[i] for i in keep], device=self.lr.device)
            for name, value in repacked.items():
                new.state.setdefault(name, {})[key] = value
        return new
