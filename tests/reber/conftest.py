from pathlib import Path

import pytest

REBER_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "reber"


@pytest.fixture(scope="session")
def reber_dir() -> Path:
    if not (REBER_DIR / "train_data.csv").exists():
        pytest.skip(f"shipped Reber data not found at {REBER_DIR}")
    return REBER_DIR


@pytest.fixture(autouse=True)
def _one_thread():
    """Small recurrent nets run fastest (and most predictably on a shared machine) on one thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
