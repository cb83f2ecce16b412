"""Characters ↔ integer tokens, and right-padded batches of strings.

Tokens are ``1..26`` for ``A..Z`` (the shipped Reber data uses letters outside the grammar's seven for
some invalid strings); ``0`` is padding. Strings are right-padded, so a causal recurrent network's output
at step ``length - 1`` is exactly its output for the unpadded string (see
:class:`sparsewire.models.recurrent.RecurrentClassifier`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from sparsewire.reber.errors import ReberError

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
PAD = 0
VOCAB_SIZE = len(ALPHABET) + 1
"""Number of token ids including padding (embedding tables need this many rows)."""

_INDEX = {c: i + 1 for i, c in enumerate(ALPHABET)}


def check_string(string: object, where: str = "string") -> str:
    """Return ``string`` if it is a non-empty string over :data:`ALPHABET`; :class:`ReberError` otherwise."""
    if not isinstance(string, str):
        raise ReberError(f"{where} must be a str, got {type(string).__name__}: {string!r}")
    if not string:
        raise ReberError(f"{where} is empty; Reber strings have at least one symbol")
    bad = sorted({c for c in string if c not in _INDEX})
    if bad:
        raise ReberError(f"{where} {string!r} has characters outside A-Z: {bad}")
    return string


def encode(string: str) -> list[int]:
    """Token ids of ``string`` (``A`` → 1 … ``Z`` → 26)."""
    check_string(string)
    return [_INDEX[c] for c in string]


def decode(tokens: Sequence[int] | torch.Tensor) -> str:
    """The string of ``tokens``; padding (0) ends it."""
    out = []
    for t in (tokens.tolist() if isinstance(tokens, torch.Tensor) else tokens):
        if t == PAD:
            break
        if not 1 <= t <= len(ALPHABET):
            raise ReberError(f"token {t} is not a letter id (1..{len(ALPHABET)})")
        out.append(ALPHABET[t - 1])
    return "".join(out)


def pad_batch(strings: Sequence[str], length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded token matrix ``(N, T)`` (int64) and lengths ``(N,)`` of ``strings``.

    ``length`` fixes ``T`` (default: the longest string); a longer string is an error, never truncated.
    """
    if len(strings) == 0:
        raise ReberError("no strings to encode")
    encoded = [encode(s) if isinstance(s, str) else encode(check_string(s, f"string #{i}")) for i, s in enumerate(strings)]
    lengths = torch.tensor([len(e) for e in encoded], dtype=torch.long)
    width = int(lengths.max()) if length is None else int(length)
    if int(lengths.max()) > width:
        raise ReberError(f"a string of length {int(lengths.max())} does not fit the padded length {width}")
    tokens = torch.full((len(encoded), width), PAD, dtype=torch.long)
    for i, e in enumerate(encoded):
        tokens[i, : len(e)] = torch.tensor(e, dtype=torch.long)
    return tokens, lengths
