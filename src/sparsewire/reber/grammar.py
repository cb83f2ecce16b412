"""The Reber grammar and the embedded Reber grammar as deterministic finite automata.

Reber (1967), "Implicit learning of artificial grammars"; the embedded variant is the long-range
benchmark of Hochreiter & Schmidhuber (1997), Sec. 5.1. Strings start with ``B`` and end with ``E``::

    Reber:     0 -B-> 1;  1 -T-> 2, 1 -P-> 3;  2 -S-> 2, 2 -X-> 4;  3 -T-> 3, 3 -V-> 5;
               4 -X-> 3, 4 -S-> 6;  5 -P-> 4, 5 -V-> 6;  6 -E-> 7 (accepting)
    Embedded:  B T <Reber string> T E   or   B P <Reber string> P E

Both automata are deterministic (a state has at most one edge per symbol), so acceptance is a walk and
the set of grammatical next symbols after any prefix is the out-edges of the state reached.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

REBER_SYMBOLS = "BTPSXVE"
"""The seven symbols of the Reber grammar."""


@dataclass(frozen=True)
class Automaton:
    """A deterministic finite automaton: ``transitions[state][symbol] -> state``."""

    transitions: Mapping[Hashable, Mapping[str, Hashable]]
    start: Hashable
    final: frozenset[Hashable] = field(default_factory=frozenset)

    def step(self, state: Hashable | None, symbol: str) -> Hashable | None:
        """The state after reading ``symbol`` (``None`` once the string has left the language)."""
        if state is None:
            return None
        return self.transitions.get(state, {}).get(symbol)

    def run(self, string: str) -> Hashable | None:
        """The state reached after ``string`` (``None`` if some symbol has no edge)."""
        state: Hashable | None = self.start
        for symbol in string:
            state = self.step(state, symbol)
        return state

    def accepts(self, string: str) -> bool:
        """Whether ``string`` is in the language."""
        return self.run(string) in self.final

    def allowed(self, state: Hashable | None) -> tuple[str, ...]:
        """Symbols with an edge out of ``state`` (empty for ``None`` or the accepting state)."""
        if state is None:
            return ()
        return tuple(self.transitions.get(state, {}))


_REBER_EDGES: Mapping[Hashable, Mapping[str, Hashable]] = {
    0: {"B": 1},
    1: {"T": 2, "P": 3},
    2: {"S": 2, "X": 4},
    3: {"T": 3, "V": 5},
    4: {"X": 3, "S": 6},
    5: {"P": 4, "V": 6},
    6: {"E": 7},
}

REBER = Automaton(_REBER_EDGES, start=0, final=frozenset({7}))
"""The Reber grammar (Reber 1967)."""


def _embedded() -> Automaton:
    edges: dict[Hashable, dict[str, Hashable]] = {"start": {"B": "branch"}, "branch": {}}
    for branch in "TP":
        edges["branch"][branch] = (branch, 0)
        for state, out in _REBER_EDGES.items():
            edges[(branch, state)] = {symbol: (branch, target) for symbol, target in out.items()}
        edges[(branch, 7)] = {branch: ("closing", branch)}
        edges[("closing", branch)] = {"E": "end"}
    return Automaton(edges, start="start", final=frozenset({"end"}))


EMBEDDED_REBER = _embedded()
"""The embedded Reber grammar (Hochreiter & Schmidhuber 1997): ``B T <Reber> T E | B P <Reber> P E``."""

GRAMMARS: dict[str, Automaton] = {"reber": REBER, "embedded-reber": EMBEDDED_REBER}


def grammar(name: str) -> Automaton:
    """The automaton called ``name`` (``"reber"`` or ``"embedded-reber"``)."""
    if name not in GRAMMARS:
        raise ValueError(f"unknown grammar {name!r}; choose from {sorted(GRAMMARS)}")
    return GRAMMARS[name]


def is_valid(string: str, embedded: bool = False) -> bool:
    """Whether ``string`` belongs to the (embedded) Reber grammar."""
    return (EMBEDDED_REBER if embedded else REBER).accepts(string)


def next_symbols(prefix: str, embedded: bool = False) -> tuple[str, ...]:
    """The symbols the grammar allows after ``prefix`` (empty if the prefix is already ungrammatical)."""
    automaton = EMBEDDED_REBER if embedded else REBER
    return automaton.allowed(automaton.run(prefix))
