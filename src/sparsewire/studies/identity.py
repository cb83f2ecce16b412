"""A trial's identity: the hash of its canonical config, so the same config is the same run."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def canonical(config: Mapping[str, Any]) -> str:
    """Canonical JSON: sorted keys, no whitespace, floats as Python prints them."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)


def config_hash(config: Mapping[str, Any], length: int = 16) -> str:
    """First ``length`` hex digits of the SHA-256 of :func:`canonical`."""
    return hashlib.sha256(canonical(config).encode()).hexdigest()[:length]
