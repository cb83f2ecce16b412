"""One contract per pruning axis: every score is a Score that says whether it needs data, a refitting score
is refitted with the updated masks, and every allocation works out its own per-layer counts."""

import pytest
import torch

from sparsewire.masks import Masks
from sparsewire.models import MLP
from sparsewire.pruning import ALLOCATIONS, SCORES, NOfM, PruneContext, RefittingScore, Score, prune
from sparsewire.pruning.scores import LayerwiseOBS


def batches(n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(16, 12, generator=g), torch.randint(0, 3, (16,), generator=g)) for _ in range(n)]


def test_every_score_is_a_score_and_says_whether_it_needs_data():
    assert all(isinstance(score, Score) for score in SCORES.values())
    assert {name for name, score in SCORES.items() if score.needs_data} == {"obd", "obs", "saliency"}
    assert [name for name, score in SCORES.items() if isinstance(score, RefittingScore)] == ["obs"]


def test_obs_leaves_the_context_as_it_found_it():
    torch.manual_seed(0)
    model = MLP([12, 8, 3])
    ctx = PruneContext(model, Masks(model), batches())
    before = set(vars(ctx))
    scores, refit = LayerwiseOBS().score_and_refit(ctx)
    assert set(vars(ctx)) == before  # what the refit needs travels with it, not on the context
    assert set(scores) == set(ctx.masks) and callable(refit)


class Recording:
    """A data-free refitting score: magnitude, and a refit that records the masks it was given."""

    needs_data = False

    def __init__(self):
        self.seen = []

    def __call__(self, ctx):
        return {n: p.detach().abs() for n, p, _ in ctx.masks.parameters()}

    def score_and_refit(self, ctx):
        def refit(masks):
            self.seen.append(masks.sparsity())
            for _n, param, _m in masks.parameters():
                param.data.add_(1.0)  # prune() re-applies the masks afterwards

        return self(ctx), refit


def test_a_refitting_score_is_refitted_with_the_updated_masks(monkeypatch):
    score = Recording()
    assert isinstance(score, RefittingScore)
    monkeypatch.setitem(SCORES, "recording", score)
    torch.manual_seed(0)
    model = MLP([12, 8, 3])
    masks = prune(model, 0.75, "recording/class-blinded")
    assert score.seen == [pytest.approx(0.75, abs=0.01)]
    for _n, param, mask in masks.parameters():
        assert bool((param[~mask] == 0).all()) and bool((param[mask] != 0).all())


@pytest.mark.parametrize("name", sorted(ALLOCATIONS))
def test_every_allocation_reaches_the_compression_and_never_revives(name):
    torch.manual_seed(0)
    model = MLP([12, 16, 8, 3])
    masks = Masks(model)
    masks.update({"layers.0.weight": torch.rand(16, 12) < 0.5})  # layers start at different densities
    before = masks.state()
    scores = {n: torch.rand(m.shape) for n, m in masks.items()}
    new = ALLOCATIONS[name](scores, masks, 0.7)
    assert all(not bool((new[n] & ~before[n]).any()) for n in new)
    if name == "class-uniform":  # every layer at the compression (rounded per layer)
        assert all(int(new[n].sum()) == m.numel() - round(0.7 * m.numel()) for n, m in masks.items())
    else:
        assert sum(int(m.sum()) for m in new.values()) == masks.total() - round(0.7 * masks.total())


def test_n_of_m_refuses_another_compression_itself():
    model = MLP([8, 4])
    masks = Masks(model)
    scores = {n: torch.rand(m.shape) for n, m in masks.items()}
    with pytest.raises(ValueError, match="compression 0.5"):
        NOfM(2, 4)(scores, masks, 0.7)
    assert NOfM(2, 4)(scores, masks, 0.5)["layers.0.weight"].sum() == 16
