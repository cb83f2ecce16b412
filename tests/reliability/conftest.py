from pathlib import Path

import pytest
from reliability_tools import SHARED_DATA


@pytest.fixture(scope="session")
def reber_data() -> Path:
    if not (SHARED_DATA / "reber" / "train_data.csv").exists():
        pytest.skip(f"shipped Reber data not found under {SHARED_DATA}")
    return SHARED_DATA
