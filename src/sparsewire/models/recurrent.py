"""Masked recurrent sequence classifiers: RNN-tanh, RNN-ReLU, GRU and LSTM, stacked, with a character embedding.

Inputs are right-padded token matrices ``(B, T)`` plus lengths ``(B,)`` (see :mod:`sparsewire.reber`).
Batches are cut to their longest string first. Two read-outs (``readout=``):

- ``"last-valid"`` (default): *gather each sequence's last valid step*. The recurrence is causal, so the
  hidden state at step ``length - 1`` of a right-padded sequence is exactly the state of the unpadded
  sequence (what packed sequences give; tested against running each string alone).
- ``"last-step"``: the output at the batch's last time step, after the padding — how Stier, Darji &
  Granitzer (2021) fed their strings (zero-padded batches, ``output[-1]``). Each string then runs through
  its batch's padding, so its prediction depends on the longest string of its batch.

Why the read-out matters: a gated cell (GRU, LSTM) keeps part of its previous state at every step
through gates set by its biases, so even with *every* weight pruned its hidden state after ``t`` steps
moves step by step towards a fixed point and is a function of ``t``. Read at the last valid step, that
state tells the read-out each string's length, and length alone separates much of the Reber data (valid
and invalid strings differ in length): this is why a GRU keeps ~75 % accuracy at 100 % pruning with
``"last-valid"`` while the paper reports chance. Read at the last step, every string of a batch has run
the same number of steps, so a network without weights gives one answer per batch: chance. (A plain
RNN without weights is at ``act(b)`` after every step and knows nothing either way.)

``embedding_dim="first-layer"`` makes the character embedding as wide as the first recurrent layer (the
authors' choice), and ``padding_embedding="learned"`` gives the padding token a trained vector like any
character (the authors' ``nn.Embedding`` has no padding index); the default ``"zero"`` keeps it at zero.

Masks: the input-to-hidden (``weight_ih_l<k>``, *i2h*) and hidden-to-hidden (``weight_hh_l<k>``, *h2h*)
matrices of every layer are separate parameters, so :func:`recurrent_masks` puts a separate mask on each
(the embedding and the output layer stay dense), as in the Reber pruning experiments of Stier, Darji &
Granitzer (2021), Sec. 4.2.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

import torch
import torch.nn.functional as F
from torch import nn

from sparsewire.masks import Masks

if TYPE_CHECKING:
    import networkx as nx

    from sparsewire.graphs.build import Orientation

Cell = Literal["rnn-tanh", "rnn-relu", "gru", "lstm"]
CELLS: tuple[str, ...] = ("rnn-tanh", "rnn-relu", "gru", "lstm")

Readout = Literal["last-valid", "last-step"]
READOUTS: tuple[str, ...] = ("last-valid", "last-step")
EmbeddingDim = int | None | Literal["first-layer"]
PaddingEmbedding = Literal["zero", "learned"]


def read_out(out: torch.Tensor, lengths: torch.Tensor, readout: str) -> torch.Tensor:
    """``(B, T, F) -> (B, F)``: each sequence's last valid step, or the batch's last step."""
    if readout == "last-step":
        return out[:, -1]
    if readout == "last-valid":
        return out[torch.arange(out.shape[0], device=out.device), lengths.to(out.device) - 1]
    raise ValueError(f"unknown readout {readout!r}; choose from {list(READOUTS)}")


def _check_options(readout: str, padding_embedding: str) -> None:
    if readout not in READOUTS:
        raise ValueError(f"unknown readout {readout!r}; choose from {list(READOUTS)}")
    if padding_embedding not in ("zero", "learned"):
        raise ValueError(f"padding_embedding must be 'zero' or 'learned', got {padding_embedding!r}")


def make_embedding(vocab_size: int, dim: int | None, padding_embedding: str) -> nn.Embedding | None:
    """The character embedding (``None``: one-hot input); padding id 0 stays zero unless ``"learned"``."""
    if not dim:
        return None
    return nn.Embedding(vocab_size, dim, padding_idx=0 if padding_embedding == "zero" else None)


I2H = re.compile(r"^(.*\.)?weight_ih_l\d+$")
H2H = re.compile(r"^(.*\.)?weight_hh_l\d+$")


def make_rnn(cell: str, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> nn.RNNBase:
    """A batch-first ``nn.RNN``/``nn.GRU``/``nn.LSTM`` for ``cell`` in :data:`CELLS`."""
    if cell not in CELLS:
        raise ValueError(f"unknown recurrent cell {cell!r}; choose from {list(CELLS)}")
    kwargs = {"input_size": input_size, "hidden_size": hidden_size, "num_layers": num_layers, "batch_first": True,
              "dropout": dropout if num_layers > 1 else 0.0}
    if cell == "gru":
        return nn.GRU(**kwargs)
    if cell == "lstm":
        return nn.LSTM(**kwargs)
    return nn.RNN(nonlinearity=cell.removeprefix("rnn-"), **kwargs)


class RecurrentClassifier(nn.Module):
    """Embedding → stacked recurrent layers → linear read-out of one step (see ``readout``) or of every step.

    Args:
        cell: ``"rnn-tanh"``, ``"rnn-relu"``, ``"gru"`` or ``"lstm"``.
        vocab_size: number of token ids including padding id 0 (27 for A–Z).
        hidden_size: units per recurrent layer.
        num_classes: outputs of the read-out (2 for valid/invalid).
        num_layers: stacked recurrent layers.
        embedding_dim: size of the learned character embedding; ``"first-layer"``: ``hidden_size`` (the
            authors'); ``None`` feeds one-hot characters.
        dropout: between stacked layers.
        per_step: return ``(B, T, num_classes)`` outputs at every step (next-symbol prediction) instead of
            ``(B, num_classes)`` at the ``readout`` step.
        readout: ``"last-valid"`` (each sequence's last valid step) or ``"last-step"`` (the batch's last
            step, after the padding; the authors'). See the module doc for why it matters.
        padding_embedding: ``"zero"`` (padding id 0 embeds to zeros) or ``"learned"`` (a trained vector).
    """

    def __init__(
        self,
        cell: str = "lstm",
        vocab_size: int = 27,
        hidden_size: int = 32,
        num_classes: int = 2,
        *,
        num_layers: int = 1,
        embedding_dim: EmbeddingDim = 8,
        dropout: float = 0.0,
        per_step: bool = False,
        readout: Readout = "last-valid",
        padding_embedding: PaddingEmbedding = "zero",
    ) -> None:
        super().__init__()
        _check_options(readout, padding_embedding)
        if embedding_dim == "first-layer":
            embedding_dim = int(hidden_size)
        for name, value in [("vocab_size", vocab_size), ("hidden_size", hidden_size), ("num_classes", num_classes),
                            ("num_layers", num_layers)]:
            if int(value) < 1:
                raise ValueError(f"{name} must be positive, got {value}")
        if embedding_dim is not None and (not isinstance(embedding_dim, int) or embedding_dim < 1):
            raise ValueError(f"embedding_dim must be positive or None (one-hot), got {embedding_dim}")
        self.cell = cell
        self.vocab_size = int(vocab_size)
        self.per_step = per_step
        self.readout = readout
        self.embedding = make_embedding(vocab_size, embedding_dim, padding_embedding)
        # an nn.RNNBase, which thinning may replace by a thinning.recurrent.StackedRNN
        self.rnn: nn.Module = make_rnn(cell, embedding_dim or vocab_size, hidden_size, num_layers, dropout)
        self.head = nn.Linear(hidden_size, num_classes)

    def features(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"tokens must be an integer tensor of ids, got {tokens.dtype}")
        if self.embedding is not None:
            return self.embedding(tokens)
        return F.one_hot(tokens, self.vocab_size).float()

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if tokens.dim() != 2:
            raise ValueError(f"tokens must be (batch, time), got shape {tuple(tokens.shape)}")
        if lengths is None:
            lengths = (tokens != 0).sum(1)
        if len(lengths) and (int(lengths.min()) < 1 or int(lengths.max()) > tokens.shape[1]):
            raise ValueError(f"lengths must be in [1, {tokens.shape[1]}], got [{int(lengths.min())}, {int(lengths.max())}]")
        longest = int(lengths.max()) if len(lengths) else tokens.shape[1]
        out, _ = self.rnn(self.features(tokens[:, :longest]))
        if self.per_step:
            return self.head(out)
        return self.head(read_out(out, lengths, self.readout))


def recurrent_weight_names(model: nn.Module, which: Literal["i2h", "h2h", "both"] = "both") -> list[str]:
    """Full names of the i2h and/or h2h weight matrices of every recurrent layer of ``model``."""
    if which not in ("i2h", "h2h", "both"):
        raise ValueError(f"which must be 'i2h', 'h2h' or 'both', got {which!r}")
    names = []
    for module_name, module in model.named_modules():
        if isinstance(module, nn.RNNBase):
            for param_name, _ in module.named_parameters(recurse=False):
                full = f"{module_name}.{param_name}" if module_name else param_name
                if (which in ("i2h", "both") and I2H.match(full)) or (which in ("h2h", "both") and H2H.match(full)):
                    names.append(full)
    return names


def recurrent_masks(model: nn.Module) -> Masks:
    """Masks on the i2h and h2h matrices of ``model``'s recurrent layers only (one mask per matrix)."""
    names = recurrent_weight_names(model, "both")
    if not names:
        raise ValueError(f"{type(model).__name__} has no recurrent layer to mask")
    return Masks(model, prunable=names)


class GraphRecurrentClassifier(nn.Module):
    """A character embedding feeding a :class:`sparsewire.graphs.recurrent.GraphRNN` built from ``graph``,
    read out at one step per sequence (the graph → recurrent network of Stier et al. 2021, Sec. 3.1).

    The GraphRNN carries its own masks (its graph's adjacency on the i2h matrices); the embedding stays dense.
    Padding and the read-out are handled as in :class:`RecurrentClassifier`.

    Options (defaults first; the authors' choices are ``orientation="edge-order"``,
    ``embedding_dim="first-layer"``, ``readout="last-step"``, ``padding_embedding="learned"``):

    - ``orientation``: ``"edge-order"`` or ``"random"`` (seeded by ``seed``), see :class:`GraphRNN`;
    - ``embedding_dim``: an int, ``"first-layer"`` (as wide as the graph's first layer) or ``None`` (one-hot);
    - ``readout``: ``"last-valid"`` or ``"last-step"`` (see the module doc);
    - ``padding_embedding``: ``"zero"`` or ``"learned"``.
    """

    def __init__(self, graph: nx.Graph, cell: Cell = "lstm", num_classes: int = 2, *, vocab_size: int = 27,
                 embedding_dim: EmbeddingDim = 8, seed: int = 0, orientation: Orientation = "edge-order",
                 readout: Readout = "last-valid", padding_embedding: PaddingEmbedding = "zero") -> None:
        super().__init__()
        from sparsewire.graphs.build import longest_path_layers, orient
        from sparsewire.graphs.recurrent import GraphRNN

        _check_options(readout, padding_embedding)
        if embedding_dim == "first-layer":
            embedding_dim = len(longest_path_layers(orient(graph, orientation, seed))[0])
        self.vocab_size = int(vocab_size)
        self.readout = readout
        torch.manual_seed(seed)
        self.embedding = make_embedding(vocab_size, embedding_dim, padding_embedding)
        self.graph_rnn = GraphRNN(graph, embedding_dim or vocab_size, num_classes, cell=cell, seed=seed,
                                  orientation=orientation)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if lengths is None:
            lengths = (tokens != 0).sum(1)
        longest = int(lengths.max())
        x = tokens[:, :longest]
        x = self.embedding(x) if self.embedding is not None else F.one_hot(x, self.vocab_size).float()
        return read_out(self.graph_rnn(x), lengths, self.readout)
