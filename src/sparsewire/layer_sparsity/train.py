"""Training with a sparsity penalty: proximal steps (exact zeros) or plain subgradient (for comparison).

*Proximal*: after every optimizer step, the penalty's proximal operator is applied with step size equal
to the optimizer's current learning rate (threshold ``lr·λ·r_j`` for layer ``j``). With SGD this is
proximal (stochastic) gradient descent; with Adam it is the common heuristic of a proximal step after
the adaptive step (Adam's per-coordinate scaling is not taken into account). Either way the penalised
groups become *exactly* zero. *Subgradient*: the penalty is added to the loss and differentiated
(gradient 0 chosen at the kinks); entries hover around zero instead of reaching it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from sparsewire.layer_sparsity.penalties import Penalties, Penalty
from sparsewire.layer_sparsity.stack import linear_stack
from sparsewire.masks import Masks
from sparsewire.training import TrainConfig, TrainResult, train

Optimisation = Literal["proximal", "subgradient"]


def train_penalized(
    model: nn.Module,
    train_data: Sequence[torch.Tensor],
    config: TrainConfig,
    penalty: Penalty | Penalties | None,
    *,
    optimisation: Optimisation = "proximal",
    val_data: Sequence[torch.Tensor] | None = None,
    seed: int = 0,
    masks: Masks | None = None,
    progress: bool = True,
    desc: str = "penalised",
    device: str | torch.device | None = None,
) -> TrainResult:
    """Train a ReLU MLP (in place) on cross-entropy plus ``penalty`` with the given optimisation.

    ``penalty=None`` trains without a penalty (the unregularised baseline with the same recipe).
    """
    stack = linear_stack(model)  # refuses unsupported networks before any training
    if optimisation not in ("proximal", "subgradient"):
        raise ValueError(f"optimisation must be 'proximal' or 'subgradient', got {optimisation!r}")
    if penalty is None:
        return train(model, train_data, config, val_data=val_data, seed=seed, masks=masks, progress=progress, desc=desc,
                     device=device)
    if optimisation == "proximal":

        def post_step(optimizer: torch.optim.Optimizer) -> None:
            penalty.prox(stack, float(optimizer.param_groups[0]["lr"]))

        return train(model, train_data, config, val_data=val_data, seed=seed, masks=masks, progress=progress, device=device,
                     desc=desc, post_step=post_step)

    def loss_fn(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out, target) + penalty.value(stack)

    return train(model, train_data, config, val_data=val_data, seed=seed, masks=masks, progress=progress, desc=desc, device=device,
                 loss_fn=loss_fn)
