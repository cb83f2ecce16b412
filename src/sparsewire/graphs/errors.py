"""Errors and warnings of the structure-graph package."""

from __future__ import annotations

from sparsewire.errors import SparsewireError


class GraphError(SparsewireError, ValueError):
    """A graph cannot be turned into a network (empty, cyclic, no input→output path, unreadable file)."""


class GraphWarning(UserWarning):
    """A graph was accepted but something was dropped or is unused (self-loops, dead nodes)."""


class InputBottleneckWarning(GraphWarning):
    """A graph network's input attaches to fewer units than it has outputs (see
    :func:`~sparsewire.graphs.feedforward.warn_input_bottleneck`)."""
