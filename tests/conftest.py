import os
from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread for every test (small models run fastest and most predictably that way on a
    shared machine), restored after a test that changes it (e.g. a study run with ``--threads 2``)."""
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def reber_dir() -> Path:
    """The shipped Reber-grammar dataset (``../shared/data/reber``)."""
    if not (SHARED_DATA / "reber" / "train_data.csv").exists():
        pytest.skip(f"shipped Reber data not found at {SHARED_DATA / 'reber'}")
    return SHARED_DATA / "reber"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "mnist").exists():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


os.environ.setdefault("TQDM_DISABLE", "1")

# Tests use small models: one intra-op thread is as fast and does not oversubscribe a busy machine.
torch.set_num_threads(1)
