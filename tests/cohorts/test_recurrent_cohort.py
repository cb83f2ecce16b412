"""A recurrent cohort computes exactly what its members compute alone: outputs, gradients, training."""

import copy
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsewire.cohorts import RecurrentCohort, member_losses, train_cohort
from sparsewire.cohorts.recurrent import partition_sizes
from sparsewire.graphs.priors import generate
from sparsewire.models.recurrent import GraphRecurrentClassifier
from sparsewire.training import TrainConfig, train
from tests.cohorts.conftest import token_batch

CELLS = ["rnn-tanh", "rnn-relu", "gru", "lstm"]
PRIORS = [("barabasi-albert", 14, {"m": 2}), ("watts-strogatz", 18, {"k": 4, "p": 0.5}), ("barabasi-albert", 10, {"m": 1}),
          ("watts-strogatz", 12, {"k": 2, "p": 0.9})]


def members(cell, count=3, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [GraphRecurrentClassifier(generate(g, n, seed=i, **p), cell, 2, vocab_size=27, seed=i, **options)
                for i, (g, n, p) in enumerate(PRIORS[:count])]


def grads_of(cohort):
    return cohort.unpack({name: getattr(cohort, name).grad for name in cohort.packed_names()})


def assert_matches_alone(models, tokens, lengths, target, tol=1e-5):
    alone = copy.deepcopy(models)
    cohort = RecurrentCohort(models)
    out = cohort(tokens, lengths)
    member_losses(out, target).sum().backward()
    grads = grads_of(cohort)
    for k, model in enumerate(alone):
        single = model(tokens, lengths)
        F.cross_entropy(single, target).backward()
        torch.testing.assert_close(out[k], single, atol=tol, rtol=0)
        for name, param in model.named_parameters():
            torch.testing.assert_close(grads[k][name], param.grad, atol=tol, rtol=0, msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_a_cohort_of_one_is_the_network(cell):
    assert_matches_alone(members(cell, 1), *token_batch(9))


@pytest.mark.parametrize("cell", CELLS)
def test_every_member_gives_its_own_outputs_and_gradients(cell):
    assert_matches_alone(members(cell, 4), *token_batch(11, seed=1))


@pytest.mark.parametrize("options", [{"readout": "last-step"}, {"embedding_dim": "first-layer"},
                                     {"padding_embedding": "learned"}, {"embedding_dim": None},
                                     {"orientation": "random"}])
def test_the_authors_conventions_and_one_hot_inputs(options):
    assert_matches_alone(members("gru", 3, **options), *token_batch(10, seed=2))


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(CELLS), st.integers(1, 3))
def test_random_cohorts_match(seed, cell, count):
    rng = torch.Generator().manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = []
        for i in range(count):
            n = int(torch.randint(6, 16, (1,), generator=rng))
            try:
                models.append(GraphRecurrentClassifier(generate("barabasi-albert", n, seed=seed + i, m=1 + i % 2), cell, 2,
                                                       vocab_size=27, seed=seed + i))
            except ValueError:
                continue
    if models:
        assert_matches_alone(models, *token_batch(7, steps=9, seed=seed))


def test_members_must_share_the_cell_and_classes():
    with pytest.raises(ValueError, match="cell"):
        RecurrentCohort(members("gru", 1) + members("lstm", 1))
    with pytest.raises(TypeError, match="GraphRecurrentClassifier"):
        RecurrentCohort([torch.nn.Linear(2, 2)])


def test_partition_sizes_trades_padding_for_calls():
    assert partition_sizes([3, 3, 3], 10) == [[0, 1, 2]]
    groups = partition_sizes([1, 1, 1, 1, 9, 9], 1.0)
    assert sorted(map(sorted, groups)) == [[0, 1, 2, 3], [4, 5]]  # 4·1 + 2·9 + 2 beats 6·9 + 1
    assert partition_sizes([1, 9], 1000.0) in ([[0, 1]], [[1, 0]])


def train_data(n=96, seed=0):
    tokens, lengths, target = token_batch(n, steps=10, seed=seed)
    target = (tokens == 3).any(1).long()  # learnable: does the string contain a 'C'?
    return tokens, lengths, target


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_training_in_a_cohort_equals_training_alone(optimizer):
    """k optimizer steps with clipping, weight decay, plateau schedule, early stopping and best-weight restore."""
    config = TrainConfig(epochs=4, batch_size=32, lr=0.02, optimizer=optimizer, grad_clip=0.3, weight_decay=1e-3,
                         schedule="plateau", patience=2, plateau_threshold=0.05)
    models = members("gru", 3)
    alone = copy.deepcopy(models)
    data, val = train_data(), train_data(48, seed=5)
    results = train_cohort(models, data, config, build=RecurrentCohort, val_data=val, seed=7, progress=False)
    for model, single, result in zip(models, alone, results, strict=True):
        expected = train(single, data, config, val_data=val, seed=7, progress=False)
        assert (result.epochs, result.stopped) == (expected.epochs, expected.stopped)
        assert [h["lr"] for h in result.history] == pytest.approx([h["lr"] for h in expected.history])
        for (name, p), q in zip(model.named_parameters(), single.parameters(), strict=True):
            torch.testing.assert_close(p, q, atol=1e-4, rtol=0, msg=name)


def test_clipping_uses_each_members_own_norm():
    from sparsewire.cohorts import clip_member_grads
    from sparsewire.cohorts.optim import member_grad_norms

    models = members("lstm", 3)
    alone = copy.deepcopy(models)
    cohort = RecurrentCohort(models)
    tokens, lengths, target = token_batch(8)
    member_losses(cohort(tokens, lengths), target).mul(torch.tensor([1.0, 50.0, 0.01])).sum().backward()
    norms = member_grad_norms(cohort)
    clip_member_grads(cohort, 0.5)
    grads = grads_of(cohort)
    for k, (model, scale) in enumerate(zip(alone, [1.0, 50.0, 0.01], strict=True)):
        (scale * F.cross_entropy(model(tokens, lengths), target)).backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        assert float(norms[k]) == pytest.approx(float(norm), rel=1e-4)
        for name, param in model.named_parameters():
            torch.testing.assert_close(grads[k][name], param.grad, atol=1e-6, rtol=1e-4)


def test_masks_and_padding_stay_zero_and_members_leave_when_done():
    models = members("gru", 3)
    cut = models[1].graph_rnn.paths
    key = next(iter(cut))
    mask = cut[key].weight_hh_l0_mask
    mask[0] = False
    with torch.no_grad():
        cut[key].weight_hh_l0.mul_(mask)
    config = TrainConfig(epochs=3, batch_size=32, lr=0.05, patience=1, schedule="constant")
    finished = []
    from sparsewire.cohorts import iter_train_cohort

    for index, _, result in iter_train_cohort(models, train_data(), config, build=RecurrentCohort,
                                             val_data=train_data(32, seed=3), seed=1, progress=False):
        finished.append((index, result.epochs))
    assert sorted(i for i, _ in finished) == [0, 1, 2]
    assert bool((cut[key].weight_hh_l0[~mask] == 0).all())
    cohort = RecurrentCohort(models)
    for name in cohort.packed_names():
        assert bool((getattr(cohort, name)[cohort.mask(name) == 0] == 0).all()), name


def test_a_diverging_member_is_marked_and_the_others_go_on():
    models = members("rnn-relu", 2)
    with torch.no_grad():
        for p in models[0].parameters():
            p.fill_(float("nan"))
    results = train_cohort(models, train_data(), TrainConfig(epochs=2, batch_size=32), build=RecurrentCohort,
                           seed=0, progress=False)
    assert results[0].stopped == "diverged" and results[0].diverged_epoch == 1
    assert results[1].stopped == "epochs" and results[1].epochs == 2
    assert all(torch.isfinite(p).all() for p in models[1].parameters())


def test_a_cohort_moves_with_its_module_and_copies():
    cohort = RecurrentCohort(members("gru", 2))
    clone = copy.deepcopy(cohort)
    tokens, lengths, _ = token_batch(5)
    torch.testing.assert_close(clone(tokens, lengths), cohort(tokens, lengths))
    assert set(cohort.state_dict()) == set(cohort.packed_names())
