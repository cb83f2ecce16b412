import pytest
import torch

from sparsewire.masks import Masks
from sparsewire.models.recurrent import CELLS, RecurrentClassifier, recurrent_masks, recurrent_weight_names
from sparsewire.reber import load_reber, pad_batch
from sparsewire.training import TrainConfig, evaluate, train


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("embedding_dim", [None, 4])
def test_padding_does_not_change_the_output(cell, embedding_dim):
    torch.manual_seed(0)
    model = RecurrentClassifier(cell, hidden_size=6, num_layers=2, embedding_dim=embedding_dim).eval()
    strings = ["BTXSE", "BPVPXVVE", "BTSSSXXTTVVE"]
    tokens, lengths = pad_batch(strings)
    batched = model(tokens, lengths)
    for i, s in enumerate(strings):
        alone = model(*pad_batch([s]))
        torch.testing.assert_close(batched[i], alone[0])
    # extra padding columns change nothing either
    wide, _ = pad_batch(strings, length=30)
    torch.testing.assert_close(model(wide, lengths), batched)


def test_masks_cover_i2h_and_h2h_separately():
    model = RecurrentClassifier("lstm", hidden_size=5, num_layers=2)
    masks = recurrent_masks(model)
    assert sorted(masks) == ["rnn.weight_hh_l0", "rnn.weight_hh_l1", "rnn.weight_ih_l0", "rnn.weight_ih_l1"]
    assert recurrent_weight_names(model, "i2h") == ["rnn.weight_ih_l0", "rnn.weight_ih_l1"]
    assert masks["rnn.weight_ih_l0"].shape == (20, 8)  # 4 gates x 5 units, embedding 8
    with pytest.raises(ValueError, match="which"):
        recurrent_weight_names(model, "all")


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown recurrent cell"):
        RecurrentClassifier("transformer")
    with pytest.raises(ValueError, match="hidden_size"):
        RecurrentClassifier("gru", hidden_size=0)
    model = RecurrentClassifier("gru", hidden_size=3)
    with pytest.raises(ValueError, match="lengths"):
        model(torch.ones(2, 4, dtype=torch.long), torch.tensor([0, 4]))
    with pytest.raises(TypeError, match="integer"):
        model(torch.ones(2, 4), torch.tensor([4, 4]))


def test_per_step_outputs():
    model = RecurrentClassifier("rnn-tanh", hidden_size=4, num_classes=26, per_step=True)
    tokens, lengths = pad_batch(["BTXSE", "BPVPXVVE"])
    assert model(tokens, lengths).shape == (2, 8, 26)


def test_pruned_h2h_weights_stay_zero_through_training_and_it_learns(reber_dir):
    splits = load_reber(reber_dir.parent, val_size=0, train_limit=1500, test_limit=500)
    data, test = splits.train, splits.test
    torch.manual_seed(0)
    model = RecurrentClassifier("gru", hidden_size=12)
    masks = recurrent_masks(model)
    masks.update({"rnn.weight_hh_l0": torch.rand_like(model.rnn.weight_hh_l0) < 0.5})
    before = evaluate(model, test)["accuracy"]
    train(model, data, TrainConfig(epochs=4, batch_size=32, lr=0.01, grad_clip=1.0), progress=False)
    assert (model.rnn.weight_hh_l0[~masks["rnn.weight_hh_l0"]] == 0).all()
    assert Masks.of(model).density("rnn.weight_ih_l0") == 1.0
    after = evaluate(model, test)["accuracy"]
    assert after > max(before, 0.8)


@pytest.mark.filterwarnings("ignore::sparsewire.graphs.errors.GraphWarning")
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_graph_classifier_padding_invariance_and_graph_masks(cell):
    from sparsewire.graphs.priors import generate
    from sparsewire.models.recurrent import GraphRecurrentClassifier

    graph = generate("barabasi-albert", 12, seed=3, m=1)
    model = GraphRecurrentClassifier(graph, cell, 2, embedding_dim=4, seed=0).eval()
    strings = ["BTXSE", "BPTTVPXVVE"]
    tokens, lengths = pad_batch(strings)
    batched = model(tokens, lengths)
    for i, s in enumerate(strings):
        torch.testing.assert_close(batched[i], model(*pad_batch([s]))[0])
    masks = Masks.of(model)
    assert 0 < masks.density() < 1  # the graph's sparsity is on the i2h masks
    assert not any(name.startswith("embedding") for name in masks)
