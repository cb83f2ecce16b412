"""Seedable generator of (embedded) Reber strings for classification and next-symbol prediction.

Valid strings are random walks of the automaton (each out-edge equally likely, as in Reber 1967 and
Hochreiter & Schmidhuber 1997). Invalid strings are valid walks changed by one *perturbation*, redrawn
until the grammar rejects the result (so every string labelled invalid is provably outside the language):

* ``substitute`` — one inner symbol replaced by another grammar symbol;
* ``insert`` — one grammar symbol inserted at an inner position;
* ``delete`` — one inner symbol removed;
* ``swap`` — two adjacent, different inner symbols exchanged;
* ``relabel`` — the inner symbols permuted (a walk of the Reber graph with wrong edge labels; many of
  the shipped invalid strings look like this);
* ``foreign`` — the inner symbols mapped one-to-one onto letters outside the grammar (like the shipped
  invalid strings over ``A, C, D, F, …``);
* ``branch`` — embedded grammar only: the closing ``T``/``P`` differs from the opening one (the
  long-range dependency).

"Inner" means everything between the leading ``B`` and the trailing ``E``, which are kept, so a classifier
cannot separate the classes by the first or last symbol.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import pandas as pd
import torch

from sparsewire.masks.fractions import check_fraction
from sparsewire.reber.encoding import ALPHABET, pad_batch
from sparsewire.reber.errors import ReberError
from sparsewire.reber.grammar import EMBEDDED_REBER, REBER, REBER_SYMBOLS, Automaton

INNER_SYMBOLS = "TPSXV"
PERTURBATIONS = ("substitute", "insert", "delete", "swap", "relabel", "foreign")
_FOREIGN = [c for c in ALPHABET if c not in REBER_SYMBOLS]
_MAX_TRIES = 1000


def _automaton(embedded: bool) -> Automaton:
    return EMBEDDED_REBER if embedded else REBER


def walk(rng: random.Random, embedded: bool = False) -> str:
    """One random walk of the automaton from start to the accepting state."""
    automaton = _automaton(embedded)
    state, out = automaton.start, []
    while state not in automaton.final:
        symbol = rng.choice(automaton.allowed(state))
        out.append(symbol)
        state = automaton.step(state, symbol)
    return "".join(out)


def _check_lengths(min_length: int | None, max_length: int | None, embedded: bool) -> None:
    shortest = 9 if embedded else 5
    if min_length is not None and min_length < 1:
        raise ReberError(f"min_length must be positive, got {min_length}")
    if max_length is not None and max_length < shortest:
        raise ReberError(f"max_length {max_length} is below the shortest grammatical string ({shortest})")
    if min_length is not None and max_length is not None and min_length > max_length:
        raise ReberError(f"min_length {min_length} exceeds max_length {max_length}")


def _fits(s: str, min_length: int | None, max_length: int | None) -> bool:
    return (min_length is None or len(s) >= min_length) and (max_length is None or len(s) <= max_length)


def generate_valid(
    n: int, *, seed: int = 0, embedded: bool = False, min_length: int | None = None, max_length: int | None = None
) -> list[str]:
    """``n`` grammatical strings (with repetition), walks redrawn until their length is in range."""
    _check_lengths(min_length, max_length, embedded)
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        for _ in range(_MAX_TRIES):
            s = walk(rng, embedded)
            if _fits(s, min_length, max_length):
                out.append(s)
                break
        else:
            raise ReberError(f"no walk of length in [{min_length}, {max_length}] after {_MAX_TRIES} tries")
    return out


def perturb(string: str, kind: str, rng: random.Random, embedded: bool = False) -> str:
    """One perturbation of ``kind`` applied to the grammatical ``string`` (see the module docstring).

    The result may still be grammatical (e.g. a substitution that happens to form another valid walk);
    :func:`generate_invalid` redraws until it is not.
    """
    inner = list(string[1:-1])
    if not inner:
        raise ReberError(f"cannot perturb {string!r}: nothing between B and E")
    if kind == "substitute":
        i = rng.randrange(len(inner))
        inner[i] = rng.choice([c for c in INNER_SYMBOLS if c != inner[i]])
    elif kind == "insert":
        inner.insert(rng.randrange(len(inner) + 1), rng.choice(INNER_SYMBOLS))
    elif kind == "delete":
        del inner[rng.randrange(len(inner))]
    elif kind == "swap":
        pairs = [i for i in range(len(inner) - 1) if inner[i] != inner[i + 1]]
        if pairs:
            i = rng.choice(pairs)
            inner[i], inner[i + 1] = inner[i + 1], inner[i]
    elif kind == "relabel":
        symbols = list(INNER_SYMBOLS)
        shuffled = symbols[:]
        while shuffled == symbols:
            rng.shuffle(shuffled)
        mapping = dict(zip(symbols, shuffled, strict=True))
        inner = [mapping.get(c, c) for c in inner]
    elif kind == "foreign":
        mapping = dict(zip(INNER_SYMBOLS, rng.sample(_FOREIGN, len(INNER_SYMBOLS)), strict=True))
        inner = [mapping.get(c, c) for c in inner]
    elif kind == "branch":
        if not embedded:
            raise ReberError("perturbation 'branch' only applies to embedded Reber strings")
        inner[-1] = "P" if inner[-1] == "T" else "T"
    else:
        raise ReberError(f"unknown perturbation {kind!r}; choose from {[*PERTURBATIONS, 'branch']}")
    return string[0] + "".join(inner) + string[-1]


def generate_invalid(
    n: int,
    *,
    seed: int = 0,
    embedded: bool = False,
    perturbations: Sequence[str] = PERTURBATIONS,
    min_length: int | None = None,
    max_length: int | None = None,
) -> list[tuple[str, str]]:
    """``n`` ungrammatical strings as ``(string, perturbation)``; kinds drawn uniformly from ``perturbations``."""
    _check_lengths(min_length, max_length, embedded)
    if not perturbations:
        raise ReberError("perturbations is empty")
    for kind in perturbations:
        if kind not in PERTURBATIONS and kind != "branch":
            raise ReberError(f"unknown perturbation {kind!r}; choose from {[*PERTURBATIONS, 'branch']}")
    automaton = _automaton(embedded)
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    while len(out) < n:
        kind = rng.choice(list(perturbations))
        for _ in range(_MAX_TRIES):
            s = perturb(walk(rng, embedded), kind, rng, embedded)
            if _fits(s, min_length, max_length) and not automaton.accepts(s):
                out.append((s, kind))
                break
        else:
            raise ReberError(f"perturbation {kind!r} found no invalid string of length in [{min_length}, {max_length}]")
    return out


def classification_frame(
    n: int,
    *,
    seed: int = 0,
    embedded: bool = False,
    valid_fraction: float = 0.5,
    perturbations: Sequence[str] = PERTURBATIONS,
    min_length: int | None = None,
    max_length: int | None = None,
) -> pd.DataFrame:
    """A shuffled table of ``n`` strings with columns ``string``, ``valid`` (1/0) and ``perturbation``.

    ``min_length=11`` matches the length range of the shipped data set (11–53 characters).
    """
    if n < 1:
        raise ReberError(f"n must be positive, got {n}")
    check_fraction(valid_fraction, "[0, 1]", "valid_fraction", "share of valid strings", ReberError)
    n_valid = round(n * valid_fraction)
    valid = generate_valid(n_valid, seed=seed, embedded=embedded, min_length=min_length, max_length=max_length)
    invalid = generate_invalid(n - n_valid, seed=seed + 1, embedded=embedded, perturbations=perturbations,
                               min_length=min_length, max_length=max_length) if n > n_valid else []
    rows = [(s, 1, "") for s in valid] + [(s, 0, k) for s, k in invalid]
    random.Random(seed + 2).shuffle(rows)
    return pd.DataFrame(rows, columns=["string", "valid", "perturbation"])


def classification_tensors(
    n: int, *, seed: int = 0, embedded: bool = False, **options: object
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(tokens, lengths, valid)`` for :func:`classification_frame` — ready for ``train``/``evaluate``."""
    frame = classification_frame(n, seed=seed, embedded=embedded, **options)  # type: ignore[arg-type]
    tokens, lengths = pad_batch(frame["string"].tolist())
    return tokens, lengths, torch.tensor(frame["valid"].to_numpy(), dtype=torch.long)


def next_symbol_targets(strings: Sequence[str], embedded: bool = False) -> torch.Tensor:
    """Multi-hot targets ``(N, T, 26)``: at step ``t``, the symbols the grammar allows after ``s[: t + 1]``.

    This is the next-symbol prediction task of Reber-grammar learning (Hochreiter & Schmidhuber 1997):
    the next symbol is not determined, so the target is the *set* of grammatical continuations. Rows past a
    string's end (and after its final ``E``) are all zero. Strings must be grammatical.
    """
    automaton = _automaton(embedded)
    tokens, lengths = pad_batch(list(strings))
    out = torch.zeros(tokens.shape[0], tokens.shape[1], len(ALPHABET))
    for i, s in enumerate(strings):
        if not automaton.accepts(s):
            raise ReberError(f"{s!r} is not a grammatical string; next-symbol targets need valid walks")
        state = automaton.start
        for t, symbol in enumerate(s):
            state = automaton.step(state, symbol)
            for nxt in automaton.allowed(state):
                out[i, t, ALPHABET.index(nxt)] = 1.0
    return out


def next_symbol_tensors(
    n: int, *, seed: int = 0, embedded: bool = False, min_length: int | None = None, max_length: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(tokens, lengths, targets)`` of ``n`` grammatical strings for next-symbol prediction."""
    strings = generate_valid(n, seed=seed, embedded=embedded, min_length=min_length, max_length=max_length)
    tokens, lengths = pad_batch(strings)
    return tokens, lengths, next_symbol_targets(strings, embedded)
