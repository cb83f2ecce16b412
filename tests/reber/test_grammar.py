import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsewire.reber import (
    EMBEDDED_REBER,
    REBER,
    ReberError,
    generate_invalid,
    generate_valid,
    is_valid,
    next_symbols,
    perturb,
    walk,
)


def test_known_strings():
    assert is_valid("BTXSE")
    assert is_valid("BPVVE")
    assert is_valid("BTSSXXTVVE")
    assert not is_valid("BTXSEE")
    assert not is_valid("BTSE")
    assert not is_valid("")
    assert is_valid("BTBTXSETE", embedded=True)
    assert not is_valid("BTBTXSEPE", embedded=True)  # closing branch differs from the opening one
    assert not is_valid("BTXSE", embedded=True)


def test_next_symbols():
    assert set(next_symbols("B")) == {"T", "P"}
    assert set(next_symbols("BTS")) == {"S", "X"}
    assert next_symbols("BTXS") == ("E",)
    assert next_symbols("BTXSE") == ()
    assert next_symbols("BQ") == ()
    assert next_symbols("BPBTXSE", embedded=True) == ("P",)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), embedded=st.booleans())
def test_walks_are_grammatical_and_every_prefix_allows_its_next_symbol(seed, embedded):
    s = walk(random.Random(seed), embedded)
    assert is_valid(s, embedded)
    assert s[0] == "B" and s[-1] == "E"
    for t in range(len(s)):
        assert s[t] in next_symbols(s[:t], embedded)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), embedded=st.booleans(),
       kind=st.sampled_from(["substitute", "insert", "delete", "swap", "relabel", "foreign"]))
def test_generated_invalid_strings_are_rejected(seed, embedded, kind):
    [(s, got_kind)] = generate_invalid(1, seed=seed, embedded=embedded, perturbations=[kind])
    assert got_kind == kind
    assert not is_valid(s, embedded)
    assert s[0] == "B" and s[-1] == "E"


def test_perturbations_change_length_as_documented():
    rng = random.Random(0)
    s = "BTSSXXTVVE"
    assert len(perturb(s, "insert", rng)) == len(s) + 1
    assert len(perturb(s, "delete", rng)) == len(s) - 1
    assert len(perturb(s, "substitute", rng)) == len(s)
    foreign = perturb(s, "foreign", rng)
    assert set(foreign[1:-1]).isdisjoint(set("BTPSXVE"))
    with pytest.raises(ReberError, match="embedded"):
        perturb(s, "branch", rng)
    with pytest.raises(ReberError, match="unknown perturbation"):
        perturb(s, "scramble", rng)


def test_generator_is_seeded_and_respects_lengths():
    a = generate_valid(50, seed=3, min_length=11, max_length=20)
    assert a == generate_valid(50, seed=3, min_length=11, max_length=20)
    assert a != generate_valid(50, seed=4, min_length=11, max_length=20)
    assert all(11 <= len(s) <= 20 for s in a)
    with pytest.raises(ReberError):
        generate_valid(1, min_length=30, max_length=20)
    with pytest.raises(ReberError):
        generate_valid(1, max_length=3)


def test_automata_are_deterministic():
    for automaton in (REBER, EMBEDDED_REBER):
        for out in automaton.transitions.values():
            assert len(out) == len(set(out))
