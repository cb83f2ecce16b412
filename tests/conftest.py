import os
from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "mnist").exists():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


os.environ.setdefault("TQDM_DISABLE", "1")

# Tests use small models: one intra-op thread is as fast and does not oversubscribe a busy machine.
torch.set_num_threads(1)
