"""A feed-forward cohort computes exactly what its members compute alone: outputs, gradients, training."""

import copy
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsewire.cohorts import (
    DenseFeedForwardCohort,
    FeedForwardCohort,
    StackedCohort,
    iter_train_cohort,
    member_losses,
    train_cohort,
)
from sparsewire.graphs.errors import GraphError
from sparsewire.graphs.feedforward import GraphNetwork
from sparsewire.graphs.priors import generate
from sparsewire.masks import Masks
from sparsewire.models.conv import LeNet5
from sparsewire.models.mlp import MLP
from sparsewire.training import TrainConfig, train

FEATURES, CLASSES = 12, 4
PRIORS = [("watts-strogatz", 30, {"k": 4, "p": 0.3}, "edge-order"), ("barabasi-albert", 25, {"m": 2}, "random"),
          ("watts-strogatz", 12, {"k": 2, "p": 0.5}, "random"), ("barabasi-albert", 40, {"m": 1}, "edge-order")]


def network(generator, nodes, params, orientation, seed, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GraphNetwork(generate(generator, nodes, seed=seed, **params), FEATURES, CLASSES, seed=seed,
                            orientation=orientation, **options)


def members(count=3, **options):
    return [network(*prior, seed=i, **options) for i, prior in enumerate(PRIORS[:count])]


def batch(n=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, FEATURES, generator=g), torch.randint(0, CLASSES, (n,), generator=g)


def assert_matches_alone(models, x, target, tol=1e-5, build=FeedForwardCohort):
    """Outputs, input gradients and parameter gradients of every member as alone; :class:`FeedForwardCohort`
    gives masked hidden weights (absent edges) no gradient, :class:`DenseFeedForwardCohort` gives them theirs."""
    alone = copy.deepcopy(models)
    cohort = build(models)
    xc = x.clone().requires_grad_()
    out = cohort(xc)
    assert out.shape == (len(models), len(x), CLASSES)
    member_losses(out, target).sum().backward()
    grads = cohort.unpack({name: getattr(cohort, name).grad for name in cohort.packed_names()})
    x_grad = torch.zeros_like(x)
    for k, model in enumerate(alone):
        xk = x.clone().requires_grad_()
        single = model(xk)
        F.cross_entropy(single, target).backward()
        x_grad += xk.grad
        torch.testing.assert_close(out[k], single, atol=tol, rtol=0)
        masks = Masks.of(model)
        for name, param in model.named_parameters():
            hidden = build is FeedForwardCohort and name.startswith("edges.")  # absent edges are not packed
            expected = param.grad * masks[name] if hidden else param.grad
            torch.testing.assert_close(grads[k][name], expected, atol=tol, rtol=0, msg=name)
    torch.testing.assert_close(xc.grad, x_grad, atol=tol, rtol=0)


BUILDS = [FeedForwardCohort, DenseFeedForwardCohort]


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "identity"])
def test_a_cohort_of_one_is_the_network(activation, build):
    assert_matches_alone(members(1, activation=activation, outputs="sinks"), *batch(), build=build)


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("options", [{}, {"outputs": "sinks"}, {"inputs": "first-layer", "activation": "tanh"},
                                     {"inputs": [0, 5, 7, 11], "outputs": "sinks"}])  # inputs into deeper layers
def test_every_member_gives_its_own_outputs_and_gradients(options, build):
    assert_matches_alone(members(4, **options), *batch(11, seed=1), build=build)


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 4), st.sampled_from(["relu", "tanh", "sigmoid"]),
       st.sampled_from(["last-layer", "sinks"]), st.sampled_from(BUILDS))
def test_random_cohorts_match(seed, count, activation, outputs, build):
    rng = torch.Generator().manual_seed(seed)
    models = []
    for i in range(count):
        n = int(torch.randint(4, 40, (1,), generator=rng))
        kind = int(torch.randint(0, 3, (1,), generator=rng))
        prior = [("barabasi-albert", {"m": 1 + i % 2}), ("watts-strogatz", {"k": 2 + 2 * (i % 2), "p": 0.4}),
                 ("erdos-renyi", {"p": 0.2})][kind]
        orientation = "random" if int(torch.randint(0, 2, (1,), generator=rng)) else "edge-order"
        try:
            models.append(network(prior[0], n, prior[1], orientation, seed + i, activation=activation, outputs=outputs))
        except (GraphError, ValueError):
            continue
    if models:
        assert_matches_alone(models, *batch(7, seed=seed), build=build)


def test_members_must_share_inputs_classes_and_activation():
    with pytest.raises(ValueError, match="activation"):
        FeedForwardCohort(members(1) + members(1, activation="tanh"))
    with pytest.raises(TypeError, match="GraphNetwork"):
        FeedForwardCohort([torch.nn.Linear(2, 2)])


def train_data(n=96, seed=0):
    x, _ = batch(n, seed)
    return x, ((x[:, 0] + x[:, 1] > 0).long() + 2 * (x[:, 2] > 0.5).long())  # learnable 4-way labels


@pytest.mark.parametrize(("optimizer", "build", "clip"), [("adam", FeedForwardCohort, None), ("sgd", FeedForwardCohort, None),
                                                     ("adam", DenseFeedForwardCohort, 0.5), ("sgd", DenseFeedForwardCohort, 0.5)])
def test_training_in_a_cohort_equals_training_alone(optimizer, build, clip):
    """k optimizer steps with weight decay, plateau schedule, early stopping and best-weight restore (and
    clipping, for which the dense cohort gives masked weights their gradients as alone)."""
    config = TrainConfig(epochs=4, batch_size=32, lr=0.02, optimizer=optimizer, grad_clip=clip, weight_decay=1e-3,
                         schedule="plateau", patience=2, plateau_threshold=0.05)
    models = members(4, outputs="sinks")
    alone = copy.deepcopy(models)
    data, val = train_data(), train_data(48, seed=5)
    results = train_cohort(models, data, config, build=build, val_data=val, seed=7, progress=False)
    for model, single, result in zip(models, alone, results, strict=True):
        expected = train(single, data, config, val_data=val, seed=7, progress=False)
        assert (result.epochs, result.stopped) == (expected.epochs, expected.stopped)
        for (name, p), q in zip(model.named_parameters(), single.parameters(), strict=True):
            torch.testing.assert_close(p, q, atol=1e-4, rtol=0, msg=name)


@pytest.mark.parametrize("build", BUILDS)
def test_masks_and_padding_stay_zero_and_members_leave_when_done(build):
    models = members(3)
    masks = Masks.of(models[1])
    name = next(n for n in masks if n.startswith("edges."))
    cut = masks[name].clone()
    cut.view(-1)[cut.view(-1).nonzero()[0]] = False
    masks.update({name: cut})
    config = TrainConfig(epochs=3, batch_size=32, lr=0.05, patience=1)
    finished = [index for index, _, _ in iter_train_cohort(models, train_data(), config, build=build,
                                                          val_data=train_data(32, seed=3), seed=1, progress=False)]
    assert sorted(finished) == [0, 1, 2]
    for model in models:
        for _, param, mask in Masks.of(model).parameters():
            assert bool((param[~mask] == 0).all())
    cohort = build(models)
    for packed in cohort.packed_names():
        assert bool((getattr(cohort, packed)[cohort.mask(packed) == 0] == 0).all()), packed


def stacked_members(kind):
    torch.manual_seed(0)
    if kind == "mlp":
        models = [MLP([FEATURES, 16, 8, CLASSES]) for _ in range(3)]
    else:
        models = [LeNet5(num_classes=CLASSES) for _ in range(2)]
    for k, model in enumerate(models[1:], 1):  # a different random mask on the first weight of all but one
        masks = Masks(model)
        name = next(iter(masks))
        masks.update({name: torch.rand(masks[name].shape, generator=torch.Generator().manual_seed(k)) < 0.5})
    return models


@pytest.mark.parametrize("kind", ["mlp", "lenet5"])
def test_a_stacked_cohort_matches_its_members(kind):
    models = stacked_members(kind)
    alone = copy.deepcopy(models)
    x = torch.randn(5, FEATURES) if kind == "mlp" else torch.randn(5, 1, 28, 28)
    target = torch.randint(0, CLASSES, (5,))
    cohort = StackedCohort(models)
    out = cohort(x)
    member_losses(out, target).sum().backward()
    grads = cohort.unpack({name: getattr(cohort, name).grad for name in cohort.packed_names()})
    for k, model in enumerate(alone):
        single = model(x)
        F.cross_entropy(single, target).backward()
        torch.testing.assert_close(out[k], single, atol=1e-5, rtol=0)
        for name, param in model.named_parameters():
            torch.testing.assert_close(grads[k][name], param.grad, atol=1e-5, rtol=0, msg=name)


def test_stacked_training_equals_training_alone_and_keeps_masks():
    config = TrainConfig(epochs=2, batch_size=32, lr=0.01, grad_clip=1.0)
    models = stacked_members("mlp")
    alone = copy.deepcopy(models)
    data = train_data()
    train_cohort(models, data, config, build=StackedCohort, seed=3, progress=False)
    for model, single in zip(models, alone, strict=True):
        train(single, data, config, seed=3, progress=False)
        for (name, p), q in zip(model.named_parameters(), single.parameters(), strict=True):
            torch.testing.assert_close(p, q, atol=1e-4, rtol=0, msg=name)
        if Masks.is_masked(model):
            for _, param, mask in Masks.of(model).parameters():
                assert bool((param[~mask] == 0).all())
    with pytest.raises(ValueError, match="architecture"):
        StackedCohort([MLP([FEATURES, 16, CLASSES]), MLP([FEATURES, 8, CLASSES])])
