"""sparsewire: make, inspect and experiment with the structure of sparse neural networks."""

from sparsewire.masks import Masks
from sparsewire.pruning import prune

__version__ = "0.1.0"
__all__ = ["Masks", "__version__", "prune"]
