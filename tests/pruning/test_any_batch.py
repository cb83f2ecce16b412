"""Any model, any batch: tuple/dict/tensor batches from a DataLoader, both kinds of loss, the masking rule."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from sparsewire import Masks, prune
from sparsewire.batch import batch_loss, batch_size, logits, model_loss, split_batch


class Tokens(Dataset):
    def __init__(self, n=64):
        g = torch.Generator().manual_seed(0)
        self.ids = torch.randint(0, 20, (n, 6), generator=g)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": (self.ids[i, 0] < 10).long()}


class TinyEncoder(nn.Module):
    """Embedding -> self-attention -> LayerNorm -> head, called with keyword inputs, returning a dict."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.attention = nn.MultiheadAttention(8, 2, batch_first=True)
        self.norm = nn.LayerNorm(8)
        self.head = nn.Linear(8, 2)

    def forward(self, input_ids, attention_mask=None):
        x = self.embed(input_ids)
        x = self.norm(x + self.attention(x, x, x, need_weights=True)[0])
        return {"logits": self.head(x[:, 0])}


def test_batch_rule():
    x, y = torch.ones(3, 2), torch.zeros(3)
    assert split_batch((x, y))[2] is y and split_batch([x, x, y])[0] == (x, x)
    assert split_batch((x,)) == ((x,), {}, None)
    args, kwargs, target = split_batch({"input_ids": x, "label": y})
    assert args == () and list(kwargs) == ["input_ids"] and target is y
    assert split_batch(x)[2] is None
    assert batch_size({"a": [x]}) == 3
    with pytest.raises(TypeError):
        split_batch("text")


def test_logits_of_any_output():
    t = torch.ones(2, 3)

    class Output:
        logits = t

    assert logits(t) is t and logits(Output()) is t and logits({"logits": t}) is t and logits((t, None)) is t
    with pytest.raises(TypeError, match="model_loss"):
        logits({"hidden": t})


def test_default_rule_masks_embeddings_and_attention_but_not_layernorm():
    masks = Masks(TinyEncoder())
    assert sorted(masks) == ["attention.in_proj_weight", "attention.out_proj.weight", "embed.weight", "head.weight"]


def test_tied_weights_are_masked_once():
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 10, bias=False))
    model[1].weight = model[0].weight
    masks = Masks(model)
    assert list(masks) == ["0.weight"]
    prune(model, 0.5)
    assert not model[1].weight[~masks["0.weight"]].any()


@pytest.mark.parametrize("method", ["snip", "obd", "class-blinded", "magnitude/erk"])
def test_dict_batches_from_a_dataloader(method):
    torch.manual_seed(0)
    model = TinyEncoder()
    loader = DataLoader(Tokens(), batch_size=16)
    masks = prune(model, 0.6, method, batches=loader, max_batches=2)
    assert masks.density() == pytest.approx(0.4, abs=0.01)
    assert (model.norm.weight != 0).all()
    for name, param, mask in masks.parameters():
        assert not param[~mask].any(), name


def test_model_loss_for_batches_without_a_target():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    images = torch.randn(32, 1, 6, 6)

    @model_loss
    def reconstruction(m, batch):  # a tensor batch: the model's own objective
        return m(batch).pow(2).mean()

    loader = DataLoader(images, batch_size=8)
    masks = prune(model, 0.5, "snip", batches=loader, loss_fn=reconstruction)
    assert masks.density() == pytest.approx(0.5, abs=0.01)
    with pytest.raises(ValueError, match="no target"):
        batch_loss(model, images[:4])
    tuples = DataLoader(TensorDataset(images, torch.randint(0, 3, (32,))), batch_size=8)
    assert torch.isfinite(batch_loss(model, next(iter(tuples)), F.cross_entropy))
    prune(model, 0.7, "obd", batches=tuples)  # Hutchinson on a convolution
    assert masks.density() == pytest.approx(0.3, abs=0.01)
