"""The examples in examples/ on tiny slices, outputs checked. An example whose library does not import here
(torchvision and timm next to the CPU torch: ENVIRONMENT.md) is skipped with the reason it prints."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name):
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(EXAMPLES))
    return module


def small_cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 5 * 5, 10))


def _check(results, compression, convolutions):
    assert results["dense"]["accuracy"] > 0.3
    for method in ("class-blinded", "magnitude/erk", "snip"):
        row = results[method]
        assert row["density"] == pytest.approx(1 - compression, abs=0.01), method
        assert row["pruned_weights_zero"] and row["norms_unmasked"], method
        assert row["masked_convolutions"] == convolutions
        assert 0.0 <= row["accuracy"] <= 1.0


def test_the_resnet_example_code_prunes_a_cnn_with_batchnorm_on_fashion_mnist(shared_data):
    """The same pruning code as the ResNet-18 example, run on a small CNN (torchvision is not needed)."""
    example = load("resnet18_fashion_mnist")
    results = example.prune_and_finetune(small_cnn, example.load_slice(512, 300, str(shared_data)), compression=0.8,
                                         epochs=3)
    _check(results, 0.8, convolutions=2)
    erk = results["magnitude/erk"]["layer_density"]
    assert erk["0.weight"] > erk["4.weight"]  # ERK: the small first convolution keeps more
    assert results["dense"]["accuracy"] > 0.5 and results["class-blinded"]["accuracy"] > 0.3


@pytest.mark.slow
@pytest.mark.parametrize(("name", "convolutions"), [("resnet18_fashion_mnist", 20), ("timm_vit_fashion_mnist", 1)])
def test_torchvision_and_timm_examples(shared_data, name, convolutions):
    example = load(name)
    if example.skip_reason():
        pytest.skip(example.skip_reason())
    results = example.main(train_limit=256, test_size=200, data_dir=str(shared_data))
    _check(results, 0.8, convolutions=convolutions)


def test_bert_example():  # transformers is in requirements-dev.txt (extra "hf"), so this runs in CI
    example = load("bert_random_tokens")
    if example.skip_reason():
        pytest.skip(example.skip_reason())
    results = example.main(compression=0.7, steps=20, examples=192)
    assert results["dense"]["accuracy"] > 0.9
    for method in ("class-blinded", "magnitude/erk", "snip", "obd"):
        row = results[method]
        assert row["density"] == pytest.approx(0.3, abs=0.01), method
        assert row["pruned_weights_zero"] and row["layernorm_dense"], method
        assert len(row["masked"]) == 17  # 3 embeddings + 2 x (q, k, v, attention output, intermediate, output) + pooler + classifier
        assert any(name.endswith("attention.self.query.weight") for name in row["masked"])
    assert results["class-blinded"]["accuracy"] > 0.8


def test_examples_without_their_library_skip_cleanly(capsys):
    for name in ("resnet18_fashion_mnist", "timm_vit_fashion_mnist", "bert_random_tokens"):
        example = load(name)
        if example.skip_reason() is None:
            continue
        assert example.main() == {}
        assert "skipped:" in capsys.readouterr().out
