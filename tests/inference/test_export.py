"""export_model / `sparsewire export`: thinned and ONNX files compute what the model computes."""

import warnings

import pytest
import torch

import sparsewire
from sparsewire.cli.main import main
from sparsewire.inference.export import ExportError, export_model
from sparsewire.models import build_model, load_model, save_model


def pruned(name):
    torch.manual_seed(0)
    model = build_model(name, (1, 28, 28), 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sparsewire.prune(model, 0.95, "class-blinded")
    return model.eval()


def test_thinned_mlp_is_a_model_file(tmp_path):
    model = pruned("lenet-300-100")
    path = export_model(model, tmp_path / "m.pt", "thinned")
    loaded = load_model(path).eval()
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(loaded(x), model(x), atol=1e-5, rtol=1e-5)
    assert sum(p.numel() for p in loaded.parameters()) < sum(p.numel() for p in model.parameters())


@pytest.mark.slow  # torch.export: ~6 s
def test_thinned_conv_is_an_exported_program(tmp_path):
    model = pruned("lenet5")
    path = export_model(model, tmp_path / "m.pt", "thinned")
    assert path.suffix == ".pt2"
    program = torch.export.load(path).module()
    for batch in (1, 5):
        x = torch.rand(batch, 1, 28, 28)
        torch.testing.assert_close(program(x), model(x), atol=1e-5, rtol=1e-5)


def test_errors(tmp_path):
    model = pruned("lenet-300-100")
    with pytest.raises(ExportError, match="format"):
        export_model(model, tmp_path / "m", "tflite")
    with pytest.raises(ExportError, match="input_shape"):
        export_model(torch.nn.Sequential(torch.nn.Linear(3, 2)), tmp_path / "m")


def test_cli_export_thinned(tmp_path, capsys):
    save_model(pruned("lenet-300-100"), tmp_path / "net.pt")
    assert main(["export", str(tmp_path / "net.pt")]) == 0
    assert (tmp_path / "net.thinned.pt").is_file()
    assert "parameters 266,610 ->" in capsys.readouterr().out


@pytest.mark.slow
def test_onnx_verified_with_onnxruntime(tmp_path):
    pytest.importorskip("onnxruntime")
    save_model(pruned("lenet5"), tmp_path / "net.pt")
    assert main(["export", str(tmp_path / "net.pt"), "--format", "onnx"]) == 0  # checks 1e-5 itself
    assert (tmp_path / "net.onnx").is_file()
