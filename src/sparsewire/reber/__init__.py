"""Reber-grammar data: the shipped CSVs of Stier et al. (2021), a seedable generator, encoding.

>>> from sparsewire.reber import load_reber, classification_frame, is_valid
>>> splits = load_reber()                       # doctest: +SKIP
>>> tokens, lengths, valid = splits.train       # doctest: +SKIP
>>> is_valid("BTXSE")
True
"""

from sparsewire.reber.data import FILES, ReberSplits, load_reber, locate, read_csv, to_tensors
from sparsewire.reber.encoding import ALPHABET, PAD, VOCAB_SIZE, check_string, decode, encode, pad_batch
from sparsewire.reber.errors import ReberError
from sparsewire.reber.generate import (
    PERTURBATIONS,
    classification_frame,
    classification_tensors,
    generate_invalid,
    generate_valid,
    next_symbol_targets,
    next_symbol_tensors,
    perturb,
    walk,
)
from sparsewire.reber.grammar import (
    EMBEDDED_REBER,
    GRAMMARS,
    REBER,
    REBER_SYMBOLS,
    Automaton,
    grammar,
    is_valid,
    next_symbols,
)

__all__ = [
    "ALPHABET",
    "EMBEDDED_REBER",
    "FILES",
    "GRAMMARS",
    "PAD",
    "PERTURBATIONS",
    "REBER",
    "REBER_SYMBOLS",
    "VOCAB_SIZE",
    "Automaton",
    "ReberError",
    "ReberSplits",
    "check_string",
    "classification_frame",
    "classification_tensors",
    "decode",
    "encode",
    "generate_invalid",
    "generate_valid",
    "grammar",
    "is_valid",
    "load_reber",
    "locate",
    "next_symbol_targets",
    "next_symbol_tensors",
    "next_symbols",
    "pad_batch",
    "perturb",
    "read_csv",
    "to_tensors",
    "walk",
]
