"""thin() on ResNets: zero/unread channels go only where removable on both sides of every residual add."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from sparsewire.thinning import count_parameters, thin
from sparsewire.thinning.residual import is_resnet


class Block(nn.Module):
    """A basic residual block with torchvision's attribute names and forward."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class SmallResNet(nn.Module):
    """torchvision's ResNet-18 layout (2 blocks per stage) at a small width, for a fast test without torchvision."""

    def __init__(self, width=8, classes=5):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths = [width, 2 * width, 4 * width, 8 * width]
        cin = width
        for s, w in enumerate(widths):
            setattr(self, f"layer{s + 1}", nn.Sequential(Block(cin, w, 1 if s == 0 else 2), Block(w, w)))
            cin = w
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def randomise_norms(model, g):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5, generator=g)
                m.running_var.uniform_(0.5, 2, generator=g)
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.uniform_(-0.5, 0.5, generator=g)


def zero_channels(model, g, p):
    """Zero whole filters with a BN that maps 0 to 0 (a zero channel), and whole input columns (unread)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                rows = torch.rand(m.out_channels, generator=g) < p
                m.weight[rows] = 0
                cols = torch.rand(m.in_channels, generator=g) < p / 2
                if m.in_channels > 3:
                    m.weight[:, cols] = 0
        for name, m in model.named_modules():
            if isinstance(m, nn.BatchNorm2d):
                conv = model.get_submodule(name.replace("bn", "conv") if "bn" in name else name[:-1] + "0")
                dead = ~conv.weight.reshape(conv.out_channels, -1).ne(0).any(1)
                m.running_mean[dead] = 0
                m.bias[dead] = 0


def check(model, x):
    model.eval()
    thinned = thin(model)
    with torch.no_grad():
        torch.testing.assert_close(thinned(x), model(x), atol=1e-5, rtol=1e-5)
    assert count_parameters(thinned) <= count_parameters(model)
    return thinned


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.floats(0.0, 0.9))
def test_resnet_property(seed, p):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = SmallResNet()
    randomise_norms(model, g)
    zero_channels(model, g, p)
    check(model, torch.randn(2, 3, 24, 24, generator=g))


def test_stream_channel_needs_every_writer():
    torch.manual_seed(0)
    model = SmallResNet()
    assert is_resnet(model)
    with torch.no_grad():  # stream channel 0 of layer1 (stem + both blocks' bn2) zero only in the stem: stays
        model.conv1.weight[0] = 0
        model.layer1[0].conv1.weight[1] = 0  # an inner channel: zero (default BN maps 0 to 0): goes
        model.layer4[1].conv2.weight[:, 3] = 0  # inner channel read by nothing: goes
    thinned = check(model, torch.randn(2, 3, 32, 32))
    assert thinned.conv1.out_channels == 8 and thinned.layer1[0].bn2.num_features == 8
    assert thinned.layer1[0].conv1.out_channels == 7 and thinned.layer1[0].conv2.in_channels == 7
    assert thinned.layer4[1].conv1.out_channels == 63
    with torch.no_grad():  # now zero in every writer of the layer1 stream: removed from stem, blocks and readers
        for block in model.layer1:
            block.conv2.weight[0] = 0
    thinned = check(model, torch.randn(2, 3, 32, 32))
    assert thinned.conv1.out_channels == 7 and thinned.layer1[1].bn2.num_features == 7
    assert thinned.layer2[0].downsample[0].in_channels == 7 and thinned.layer1[0].conv1.in_channels == 7


def test_unread_stream_channel_goes():
    torch.manual_seed(0)
    model = SmallResNet()
    with torch.no_grad():  # layer4's stream channel 5: written, but read neither by block 2 nor by fc → goes
        model.fc.weight[:, 5] = 0
        model.layer4[1].conv1.weight[:, 5] = 0
    thinned = check(model, torch.randn(2, 3, 32, 32))
    assert thinned.layer4[1].conv1.in_channels == 63
    with torch.no_grad():
        model.layer4[1].conv1.weight[:, 5] = 1  # read again inside the stage: stays
    assert thin(model).fc.in_features == 64
    with torch.no_grad():
        model.layer4[1].conv1.weight[:, 5] = 0
    assert thinned.fc.in_features == 63 and thinned.layer4[0].downsample[1].num_features == 63


def test_torchvision_resnet18():
    models = pytest.importorskip("torchvision.models", exc_type=ImportError)
    torch.manual_seed(0)
    model = models.resnet18(weights=None, num_classes=10)
    with torch.no_grad():
        model.layer2[0].conv1.weight[:10] = 0
        model.layer3[1].conv2.weight[:, :20] = 0
        model.fc.weight[:, :7] = 0  # layer4 stream channels 0-6: read by neither fc nor layer4[1]
        model.layer4[1].conv1.weight[:, :7] = 0
    thinned = check(model, torch.randn(2, 3, 64, 64))
    assert thinned.layer2[0].conv1.out_channels == 118 and thinned.fc.in_features == 505
    assert thinned.layer3[1].conv1.out_channels == 236
