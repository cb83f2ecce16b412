"""Helpers shared by the architecture-search tests."""


class Killed(Exception):
    """A search killed mid-way (by :func:`dies_at_call`)."""


def dies_at_call(call, evaluate):
    """``evaluate`` that raises :class:`Killed` on its ``call``-th call (1-based), as a search killed in that generation."""
    calls = {"n": 0}

    def dying(genomes, indices):
        calls["n"] += 1
        if calls["n"] == call:
            raise Killed
        return evaluate(genomes, indices)

    return dying
