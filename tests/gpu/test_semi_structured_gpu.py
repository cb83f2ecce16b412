"""2:4 semi-structured export on CUDA (skipped without a GPU): same outputs as the dense half-precision net."""

import pytest
import torch

import sparsewire
from sparsewire.inference.semi_structured import to_semi_structured
from sparsewire.models import MLP

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_semi_structured_matches_dense(dtype):
    torch.manual_seed(0)
    model = MLP([256, 128, 128, 10])
    sparsewire.prune(model, 0.5, "2:4")
    sparse = to_semi_structured(model, dtype=dtype)
    assert sparse.semi_structured == ["layers.0", "layers.1"]
    assert "layers.2" in sparse.semi_structured_skipped  # 10 rows: not a multiple of the tile
    dense = sparsewire.Masks.of(model).export().to("cuda", dtype).eval()
    x = torch.randn(64, 256, device="cuda", dtype=dtype)
    with torch.no_grad():
        torch.testing.assert_close(sparse(x).float(), dense(x).float(), atol=2e-2, rtol=2e-2)
