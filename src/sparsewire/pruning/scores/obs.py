"""Layer-wise Optimal Brain Surgeon (Hassibi & Stork 1993; layer-wise form of Dong et al. 2017).

For a linear layer y = W x with inputs X collected on training data, the layer-wise error of removing
weight w_qj has Hessian H = XᵀX / n (shared by all rows q), saliency L_qj = w_qj² / (2 [H⁻¹]_jj)
(Dong et al., Eq. 7), and after pruning, the surviving weights of each row are refitted so that the
layer's output on X changes least: w_S = H_SS⁻¹ H_S· w (the exact multi-weight OBS update).
The Hessians and weights are measured before pruning; the refit carries them (a :class:`RefittingScore`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import torch
from torch import nn

from sparsewire.masks import Masks
from sparsewire.pruning.context import PruneContext
from sparsewire.pruning.score import Refit, ScoreMap

DAMPING = 1e-4  # relative to the mean of diag(H); keeps H invertible for dead or constant inputs


def layer_hessians(ctx: PruneContext) -> dict[str, torch.Tensor]:
    """H = XᵀX / n + damping for every masked ``nn.Linear`` weight (float64, on the CPU), X its inputs on
    ``ctx``'s batches."""
    modules: dict[str, nn.Linear] = {}
    for name in ctx.masks:
        module_name, _, param_name = name.rpartition(".")
        module = ctx.model.get_submodule(module_name)
        if not isinstance(module, nn.Linear) or param_name != "weight":
            raise ValueError(f"layer-wise OBS supports nn.Linear weights only; {name} is {type(module).__name__}")
        modules[name] = module
    sums = {n: torch.zeros(m.in_features, m.in_features, dtype=torch.float64) for n, m in modules.items()}
    counts = dict.fromkeys(modules, 0)

    def hook(name: str) -> Callable[[nn.Module, tuple[torch.Tensor, ...], torch.Tensor], None]:
        def record(_module: nn.Module, args: tuple[torch.Tensor, ...], _out: torch.Tensor) -> None:
            # on the CPU in float64, whatever the model's device: the same Hessian everywhere
            x = args[0].detach().reshape(-1, args[0].shape[-1]).to("cpu", torch.float64)
            sums[name] += x.T @ x
            counts[name] += x.shape[0]

        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in modules.items()]
    was_training = ctx.model.training
    ctx.model.eval()
    try:
        with torch.no_grad():
            for batch in ctx.require_batches("OBS"):
                ctx.forward(batch)
    finally:
        for handle in handles:
            handle.remove()
        ctx.model.train(was_training)
    hessians = {}
    for name, total in sums.items():
        h = total / max(counts[name], 1)
        damp = DAMPING * float(h.diagonal().mean()) + 1e-10
        hessians[name] = h + damp * torch.eye(h.shape[0], dtype=h.dtype)
    return hessians


@torch.no_grad()
def refit_rows(masks: Masks, hessians: Mapping[str, torch.Tensor], original: Mapping[str, torch.Tensor]) -> None:
    """Refit each row's surviving weights to the layer's original output: w_S = H_SS⁻¹ H_S· w."""
    for name, param, mask in masks.parameters():
        h = hessians[name]
        weights = original[name].to("cpu", torch.float64)
        for q in range(param.shape[0]):
            keep = mask[q].nonzero().flatten().cpu()
            row = torch.zeros(param.shape[1], dtype=torch.float64)
            if keep.numel():
                rhs = h[keep] @ weights[q]
                row[keep] = torch.linalg.solve(h[keep][:, keep], rhs)
            param[q] = row.to(param)


class LayerwiseOBS:
    """Layer-wise OBS: saliency w_qj² / (2 [H⁻¹]_jj), then the exact refit of the survivors (module doc)."""

    needs_data = True

    def __call__(self, ctx: PruneContext) -> ScoreMap:
        return self.score_and_refit(ctx)[0]

    def score_and_refit(self, ctx: PruneContext) -> tuple[ScoreMap, Refit]:
        hessians = layer_hessians(ctx)
        original = {n: p.detach().clone() for n, p, _ in ctx.masks.parameters()}
        scores = {}
        for name, param, _ in ctx.masks.parameters():
            hinv_diag = torch.linalg.inv(hessians[name]).diagonal().to(param)
            scores[name] = param.detach() ** 2 / (2 * hinv_diag.unsqueeze(0))
        return scores, functools.partial(refit_rows, hessians=hessians, original=original)

    def __repr__(self) -> str:
        return "LayerwiseOBS()"


obs = LayerwiseOBS()
