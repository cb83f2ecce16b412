"""Examples in docstrings run as doctests (issue 16): every sparsewire module whose source holds ``>>>``."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
MODULES = sorted(
    ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
    for path in (SRC / "sparsewire").rglob("*.py") if ">>>" in path.read_text()
)


def test_some_modules_have_examples():
    assert len(MODULES) >= 4


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
