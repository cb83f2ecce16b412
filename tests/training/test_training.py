import copy
import math

import pytest
import torch

from sparsewire.masks import Masks
from sparsewire.models import MLP
from sparsewire.pruning import prune
from sparsewire.training import TrainConfig, batches, evaluate, train


def blobs(n=600, seed=0):
    centers = torch.randn(3, 10, generator=torch.Generator().manual_seed(42)) * 3
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = centers[y] + torch.randn(n, 10, generator=g)
    return x, y


def test_same_seed_same_weights():
    data = blobs()
    states = []
    for _ in range(2):
        torch.manual_seed(3)
        model = MLP([10, 16, 3])
        train(model, data, TrainConfig(epochs=2, batch_size=32), seed=5, progress=False)
        states.append(model.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_learns_and_evaluates():
    data = blobs()
    torch.manual_seed(0)
    model = MLP([10, 16, 3])
    before = evaluate(model, data)["accuracy"]
    result = train(model, data, TrainConfig(epochs=5, batch_size=32, lr=1e-2), val_data=blobs(200, 1), progress=False)
    assert evaluate(model, data)["accuracy"] > max(before, 0.9)
    assert result.epochs == 5 and len(result.history) == 5 and result.seconds > 0
    assert 0.9 < result.best_val_accuracy <= 1.0


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_masks_enforced_during_training(optimizer):
    data = blobs()
    model = MLP([10, 32, 3])
    masks = prune(model, 0.7, "random")
    train(model, data, TrainConfig(epochs=3, optimizer=optimizer, lr=0.05, weight_decay=0.01), progress=False)
    for _, param, mask in masks.parameters():
        assert bool((param[~mask] == 0).all())
    assert masks.sparsity() == pytest.approx(0.7, abs=1e-3)


def test_plateau_schedule_decays_and_stops_at_floor():
    data = blobs()
    model = MLP([10, 16, 3])
    config = TrainConfig(epochs=50, lr=1e-2, schedule="plateau", plateau_threshold=0.5, lr_factor=0.1, min_lr=1e-4)
    result = train(model, data, config, val_data=blobs(200, 1), progress=False)
    lrs = [row["lr"] for row in result.history]
    assert result.stopped == "lr-floor"
    # epoch 1 sets the reference; a 0.5 gain is never met after that, so lr decays every epoch
    assert lrs == pytest.approx([1e-2, 1e-2, 1e-3, 1e-4])
    assert result.epochs == 4


def test_early_stopping_restores_best():
    data = blobs()
    val = blobs(200, 1)
    model = MLP([10, 16, 3])
    result = train(model, data, TrainConfig(epochs=40, lr=0.5, optimizer="sgd", patience=2), val_data=val, progress=False)
    assert result.stopped in {"early-stopping", "epochs"}
    assert evaluate(model, val)["accuracy"] == pytest.approx(result.best_val_accuracy)


def test_on_epoch_callback_and_batches():
    data = blobs(100)
    seen = []
    train(MLP([10, 4, 3]), data, TrainConfig(epochs=3), progress=False, on_epoch=lambda e, m: seen.append(e))
    assert seen == [1, 2, 3]
    parts = batches(data, 32, torch.Generator().manual_seed(0))
    assert [len(b[0]) for b in parts] == [32, 32, 32, 4]
    assert torch.equal(torch.sort(torch.cat([b[1] for b in parts])).values, torch.sort(data[1]).values)


def test_evaluate_empty():
    out = evaluate(MLP([10, 3]), (torch.zeros(0, 10), torch.zeros(0, dtype=torch.long)))
    assert math.isnan(out["accuracy"])


def test_bad_train_config():
    with pytest.raises(ValueError):
        TrainConfig(epochs=-1)
    with pytest.raises(ValueError):
        TrainConfig(optimizer="lbfgs")


def test_masked_model_detected_automatically():
    model = MLP([10, 8, 3])
    Masks(model).update({"layers.0.weight": torch.zeros(8, 10, dtype=torch.bool)}, warn_empty=False)
    train(model, blobs(), TrainConfig(epochs=1), progress=False)
    assert bool((model.layers[0].weight == 0).all())


def test_max_steps_trains_exactly_the_prefix_of_the_same_run():
    data, config = blobs(), TrainConfig(epochs=3, batch_size=64)
    snapshot = {}
    torch.manual_seed(1)
    whole = MLP([10, 16, 3])
    steps = [0]

    def keep_step_12(_):
        steps[0] += 1
        if steps[0] == 12:  # in the second epoch (10 steps per epoch)
            snapshot.update({k: v.clone() for k, v in whole.state_dict().items()})

    train(whole, data, config, seed=4, progress=False, post_step=keep_step_12)
    torch.manual_seed(1)
    prefix = MLP([10, 16, 3])
    result = train(prefix, data, config, seed=4, progress=False, max_steps=12)
    assert (result.steps, result.stopped, result.epochs, len(result.history)) == (12, "max-steps", 1, 1)
    assert all(torch.equal(prefix.state_dict()[k], snapshot[k]) for k in snapshot)
    with pytest.raises(ValueError, match="max_steps"):
        train(MLP([10, 3]), data, config, max_steps=0, progress=False)


@pytest.mark.parametrize(("optimizer", "schedule", "steps"), [("adam", "cosine", 4), ("sgd", "plateau", 10),
                                                               ("adamw", "cosine", 1)])
def test_a_run_stopped_in_its_first_epoch_resumes_to_the_same_end(optimizer, schedule, steps):
    # 10 steps per epoch: stop after `steps` (10: the whole first epoch), resume, and compare with never stopping
    data, val = blobs(), blobs(100, seed=5)
    config = TrainConfig(epochs=3, batch_size=64, optimizer=optimizer, schedule=schedule, momentum=0.9, lr=0.01)
    torch.manual_seed(1)
    whole = MLP([10, 16, 3])
    prune(whole, 0.5, "random", generator=torch.Generator().manual_seed(0))  # masks stay enforced across the stop
    resumed = copy.deepcopy(whole)
    expected = train(whole, data, config, val_data=val, seed=4, progress=False)
    first = train(resumed, data, config, val_data=val, seed=4, progress=False, max_steps=steps)
    assert first.state is not None and first.state.steps == steps and first.history == []
    rest = train(resumed, data, config, val_data=val, seed=4, progress=False, resume=first.state)
    assert all(torch.equal(resumed.state_dict()[k], v) for k, v in whole.state_dict().items())
    assert rest.history == expected.history and (rest.steps, rest.epochs) == (expected.steps, expected.epochs)


def test_resume_is_refused_outside_the_first_epoch():
    data, config = blobs(), TrainConfig(epochs=3, batch_size=64)
    torch.manual_seed(1)
    model = MLP([10, 16, 3])
    assert train(model, data, config, seed=4, progress=False, max_steps=12).state is None  # stopped in epoch 2
    state = train(MLP([10, 16, 3]), data, config, seed=4, progress=False, max_steps=3).state
    assert state is not None
    with pytest.raises(ValueError, match="first epoch"):
        train(model, blobs(100), config, seed=4, progress=False, resume=state)  # 2 steps per epoch
    with pytest.raises(ValueError, match="must exceed"):
        train(model, data, config, seed=4, progress=False, resume=state, max_steps=3)
