"""Structure graphs: graphs as networks (priors) and networks as graphs (metrics, comparison, drawing).

Stier, Darji & Granitzer (2021), "Experiments on Properties of Hidden Structures of Sparse Neural
Networks"; Van Gelder, Wortsman & Ehsani (2020), "Deconstructing the Structure of Sparse Neural Networks".
Import the submodules directly (``from sparsewire.graphs.priors import generate``); this package module
stays import-light.
"""

from sparsewire.graphs.errors import GraphError, GraphWarning, InputBottleneckWarning

__all__ = ["GraphError", "GraphWarning", "InputBottleneckWarning"]
