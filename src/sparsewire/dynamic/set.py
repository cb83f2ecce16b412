"""SET, Sparse Evolutionary Training (Mocanu et al. 2018, Nature Communications 9:2383).

Drop score: magnitude (the fraction ζ of each layer's kept weights closest to zero is removed, their Sec.
"Sparse Evolutionary Training", Algorithm 1). Grow score: uniform random. Schedule: every ``update_every``
steps (the paper: at the end of each epoch, with a constant ζ; here ζ is cosine-annealed by default as in
the RigL comparison, ``schedule="constant"`` gives the paper's). SET never needs a dense gradient.
"""

from __future__ import annotations

import torch

from sparsewire.dynamic.base import MaskUpdater


class SET(MaskUpdater):
    """Drop the smallest-magnitude kept weights; grow as many at uniformly random free positions."""

    name = "set"
    grow_score = "uniform random"

    def grow_scores(self, name: str, weight: torch.nn.Parameter, candidates: torch.Tensor,
                    generator: torch.Generator) -> torch.Tensor:
        return torch.rand(candidates.shape, generator=generator, dtype=torch.float64).to(candidates.device)
