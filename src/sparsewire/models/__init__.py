"""Model zoo: MLPs (any widths, the paper's 784-100-10, LeNet-300-100) and small CNNs (LeNet-5, ResNet-20)."""

from sparsewire.models.conv import LeNet5, ResNet20
from sparsewire.models.files import load_model, save_model
from sparsewire.models.mlp import MLP, lenet_300_100, mlp_100
from sparsewire.models.registry import MODELS, build_model

__all__ = ["MLP", "MODELS", "LeNet5", "ResNet20", "build_model", "lenet_300_100", "load_model", "mlp_100", "save_model"]
