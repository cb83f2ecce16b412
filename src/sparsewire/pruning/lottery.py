"""Lottery tickets: iterative magnitude pruning with rewinding (IMP), and early-bird tickets.

**IMP** (Frankle & Carbin 2019, Alg. 1 with iterative pruning; Frankle et al. 2019): train the dense network,
prune the smallest-magnitude weights, rewind the survivors to their initial values and train again, for
``rounds`` rounds, each keeping ``density^(1/rounds)`` of what remains (:func:`round_densities`), so that the
last round's mask keeps exactly ``density``. Every training uses the full recipe and the same batch order;
the ticket is the network of the last training (``rounds + 1`` trainings in all, the first dense).
The layer densities follow ``distribution`` (:func:`~sparsewire.pruning.allocation.keep_at_density`:
``uniform`` prunes every layer alike, ``erk`` splits by the ERK rule).

**Early birds** (You et al. 2020): the mask a ticket would get by one-shot magnitude pruning (same density and
allocation) emerges early in the dense training. :func:`find_ticket` records that mask at initialisation and
after every epoch of the dense training (:attr:`Ticket.early_birds`); :func:`early_bird_ticket` stops the dense
training after ``epoch`` epochs, takes that mask, rewinds and trains it once — Van Gelder, Wortsman & Ehsani
(2020)'s "freeze the structure after epoch k" for IMP.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from sparsewire.masks import Masks
from sparsewire.masks.fractions import check_fraction
from sparsewire.pruning.allocation import keep_at_density
from sparsewire.pruning.context import PruneContext
from sparsewire.pruning.rewind import rewind, snapshot
from sparsewire.pruning.scores import magnitude
from sparsewire.training import TrainConfig, TrainResult, train

MaskState = dict[str, torch.Tensor]


def round_densities(density: float, rounds: int) -> list[float]:
    """Densities after each of ``rounds`` IMP rounds: ``density^(k/rounds)``, the last exactly ``density``
    (every round keeps the same fraction ``density^(1/rounds)`` of the remaining weights)."""
    density = check_fraction(density, "(0, 1]", "density", "fraction of weights kept")
    if not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"IMP needs at least one round, got {rounds!r}")
    return [density ** (k / rounds) for k in range(1, rounds)] + [density]


def magnitude_mask(masks: Masks, density: float, distribution: str = "uniform") -> MaskState:
    """The one-shot magnitude mask of the masked weights as they are now: the largest ``|w|`` among the
    survivors, ``density`` of all weights, layer densities by ``distribution``. ``masks`` is unchanged."""
    return keep_at_density(magnitude(PruneContext(masks.model, masks)), masks, density, distribution)


@dataclass
class Ticket:
    """What :func:`find_ticket` / :func:`early_bird_ticket` found and trained.

    ``results[i]`` is training ``i`` (0: the dense one; the last: the ticket's), run with mask ``states[i]``.
    ``early_birds`` are the one-shot magnitude masks at the final density of the dense network at
    initialisation and after each dense epoch.
    """

    masks: Masks
    results: list[TrainResult] = field(default_factory=list)
    states: list[MaskState] = field(default_factory=list)
    early_birds: list[MaskState] = field(default_factory=list)

    def record(self, result: TrainResult) -> None:
        """Add a finished training at the current masks."""
        self.results.append(result)
        self.states.append(self.masks.state())

    @property
    def kept(self) -> list[dict[str, int]]:
        """Weights kept per layer in each training."""
        return [{name: int(m.sum()) for name, m in state.items()} for state in self.states]

    @property
    def densities(self) -> list[float]:
        """The density of each training."""
        return [sum(int(m.sum()) for m in state.values()) / sum(m.numel() for m in state.values())
                for state in self.states]


def _dense_training(model: nn.Module, train_data: Any, config: TrainConfig, *, density: float, distribution: str,
                    seed: int, **train_options: Any) -> tuple[Ticket, dict[str, torch.Tensor]]:
    """Train ``model`` dense with ``config``, recording the early-bird masks; the ticket and the rewind point."""
    masks = Masks.of(model) if Masks.is_masked(model) else Masks(model)
    if masks.remaining() != masks.total():
        raise ValueError("a lottery ticket is found from the unpruned network; this one is already pruned")
    init = snapshot(model)
    ticket = Ticket(masks, early_birds=[magnitude_mask(masks, density, distribution)])

    def watch(epoch: int, _: nn.Module) -> None:
        ticket.early_birds.append(magnitude_mask(masks, density, distribution))

    ticket.record(train(model, train_data, config, seed=seed, masks=masks, on_epoch=watch, **train_options))
    return ticket, init


def _train_rewound(ticket: Ticket, model: nn.Module, init: dict[str, torch.Tensor], mask: MaskState,
                   train_data: Any, config: TrainConfig, *, seed: int, **train_options: Any) -> None:
    """Set ``mask``, rewind the survivors to ``init`` and train with the mask fixed."""
    ticket.masks.update(mask)
    rewind(model, init, ticket.masks)
    ticket.record(train(model, train_data, config, seed=seed, masks=ticket.masks, **train_options))


def find_ticket(model: nn.Module, train_data: Any, config: TrainConfig, *, density: float, rounds: int = 4,
                distribution: str = "uniform", seed: int = 0, **train_options: Any) -> Ticket:
    """IMP with rewinding to initialisation (see the module doc) on ``model`` (freshly initialised,
    unpruned); ``model`` ends as the trained ticket. ``seed`` orders the batches of every training;
    ``train_options`` go to :func:`sparsewire.training.train` (``val_data``, ``progress``, ``device``)."""
    ticket, init = _dense_training(model, train_data, config, density=density, distribution=distribution, seed=seed,
                                   **train_options)
    for target in round_densities(density, rounds):
        mask = keep_at_density(magnitude(PruneContext(model, ticket.masks)), ticket.masks, target, distribution)
        _train_rewound(ticket, model, init, mask, train_data, config, seed=seed, **train_options)
    return ticket


def early_bird_ticket(model: nn.Module, train_data: Any, config: TrainConfig, *, epoch: int, density: float,
                      distribution: str = "uniform", seed: int = 0, **train_options: Any) -> Ticket:
    """The early-bird ticket of epoch ``epoch``: ``model`` trained dense for ``epoch`` epochs of ``config``
    (the first epochs of :func:`find_ticket`'s dense training, unless the learning-rate schedule depends on
    the number of epochs), pruned one-shot by magnitude to ``density``, rewound to its initialisation and
    trained once with the full recipe."""
    if not isinstance(epoch, int) or not 1 <= epoch <= config.epochs:
        raise ValueError(f"the early-bird epoch must be in [1, {config.epochs}], got {epoch!r}")
    ticket, init = _dense_training(model, train_data, config.model_copy(update={"epochs": epoch}), density=density,
                                   distribution=distribution, seed=seed, **train_options)
    _train_rewound(ticket, model, init, ticket.early_birds[-1], train_data, config, seed=seed, **train_options)
    return ticket


def round_counts(model: nn.Module, density: float, rounds: int, distribution: str = "uniform") -> list[dict[str, int]]:
    """Weights each layer keeps in each training of :func:`find_ticket` (dense first), without training: the
    counts follow from the allocation alone. ``model`` is unchanged."""
    clone = copy.deepcopy(model)
    masks = Masks.of(clone) if Masks.is_masked(clone) else Masks(clone)
    masks.reset()
    out = [{name: k for name, (k, _) in masks.counts().items()}]
    for target in round_densities(density, rounds):
        masks.update(keep_at_density({n: torch.zeros_like(m, dtype=torch.float) for n, m in masks.items()}, masks,
                                     target, distribution), apply=False)
        out.append({name: k for name, (k, _) in masks.counts().items()})
    return out

