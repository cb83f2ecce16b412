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


def _prune_everything(model):
    """Zero every recurrent weight matrix (i2h and h2h) and the read-out weights: only biases remain."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "weight" in name and "embedding" not in name:
                param.zero_()


@pytest.mark.parametrize("cell", CELLS)
def test_readouts_with_every_weight_pruned(cell):
    """Biases alone make a gated cell's last valid step depend on the length (the state moves towards a
    fixed point step by step); the batch's last step gives one answer per batch for every cell."""
    from sparsewire.graphs.priors import generate
    from sparsewire.models.recurrent import GraphRecurrentClassifier

    strings = ["BTXSE", "BPVPXVVE", "BTSSSXXTTVVE"]
    tokens, lengths = pad_batch(strings)
    graph = generate("barabasi-albert", 12, seed=1, m=2)
    for make in (lambda r: RecurrentClassifier(cell, hidden_size=5, readout=r),
                 lambda r: GraphRecurrentClassifier(graph, cell, 2, seed=0, readout=r)):
        valid, last = make("last-valid").eval(), make("last-step").eval()
        last.load_state_dict(valid.state_dict())
        for model in (valid, last):
            with torch.no_grad():  # biases that make the state move with every step
                for name, param in model.named_parameters():
                    if "bias" in name:
                        param.uniform_(-1, 1)
            _prune_everything(model)
            head = model.head if hasattr(model, "head") else model.graph_rnn.outputs[str(len(model.graph_rnn.layers) - 1)]
            with torch.no_grad():
                head.weight.fill_(0.5)  # a read-out that looks at the state
        by_length = valid(tokens, lengths)
        if cell in ("gru", "lstm"):  # it knows the length without any weight
            assert not torch.allclose(by_length[0], by_length[1])
        else:  # h_t = act(b): the same state after every step
            torch.testing.assert_close(by_length, by_length[:1].expand_as(by_length))
        same = last(tokens, lengths)
        torch.testing.assert_close(same, same[:1].expand_as(same))  # one answer per batch: chance


def test_last_step_reads_after_the_padding_and_last_valid_ignores_it():
    torch.manual_seed(0)
    model = RecurrentClassifier("gru", hidden_size=6, readout="last-step").eval()
    tokens, lengths = pad_batch(["BTXSE", "BPVPXVVE"])
    out, _ = model.rnn(model.features(tokens))
    torch.testing.assert_close(model(tokens, lengths), model.head(out[:, -1]))
    model.readout = "last-valid"
    torch.testing.assert_close(model(tokens, lengths), model.head(out[torch.arange(2), lengths - 1]))
    with pytest.raises(ValueError, match="readout"):
        RecurrentClassifier("gru", readout="packed")


def test_first_layer_embedding_and_learned_padding():
    from sparsewire.graphs.build import longest_path_layers, to_dag
    from sparsewire.graphs.priors import generate
    from sparsewire.models.recurrent import GraphRecurrentClassifier

    model = RecurrentClassifier("lstm", hidden_size=7, embedding_dim="first-layer", padding_embedding="learned")
    assert model.embedding.weight.shape == (27, 7) and model.embedding.padding_idx is None
    assert RecurrentClassifier("lstm").embedding.padding_idx == 0
    graph = generate("watts-strogatz", 30, seed=2, k=6, p=1.0)
    net = GraphRecurrentClassifier(graph, "gru", 2, embedding_dim="first-layer")
    first = len(longest_path_layers(to_dag(graph))[0])
    assert net.embedding.weight.shape == (27, first) == (27, net.graph_rnn.input.input_size)
    assert net.graph_rnn.input.hidden_size == first
    random = GraphRecurrentClassifier(graph, "gru", 2, embedding_dim="first-layer", orientation="random", seed=3)
    assert random.embedding.weight.shape[1] == len(longest_path_layers(to_dag(graph, seed=3))[0])


def test_graph_classifier_keeps_its_parameter_names():
    """The cohort trainer mirrors these names; options must not move them."""
    from sparsewire.graphs.priors import generate
    from sparsewire.models.recurrent import GraphRecurrentClassifier

    graph = generate("barabasi-albert", 15, seed=0, m=2)
    default = GraphRecurrentClassifier(graph, "gru", 2)
    paper = GraphRecurrentClassifier(graph, "gru", 2, embedding_dim="first-layer", readout="last-step",
                                     padding_embedding="learned")
    names = {n.split(".")[0] + "." + n.split(".")[1] for n in default.state_dict()}
    assert {"embedding.weight", "graph_rnn.input"} <= names
    assert any(n.startswith("graph_rnn.paths.") for n in default.state_dict())
    assert any(n.startswith("graph_rnn.outputs.") for n in default.state_dict())
    assert set(default.state_dict()) == set(paper.state_dict())
