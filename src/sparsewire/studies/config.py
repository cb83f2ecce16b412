"""Study configs: YAML files, ``--set key=value`` overrides and validation against the study type."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sparsewire.studies.base import StudyType, get_study_type


class ConfigError(ValueError):
    """A study config that cannot be run (unknown key, bad value, unknown study type)."""


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of config keys, got {type(data).__name__}")
    return data


def apply_overrides(config: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides; values are parsed as YAML (``seeds=[0,1]``, ``train.lr=0.01``)."""
    config = yaml.safe_load(yaml.safe_dump(config))  # deep copy
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {part!r} is not a mapping")
        node[leaf] = yaml.safe_load(raw)
    return config


def validate(config: dict[str, Any]) -> tuple[StudyType, BaseModel]:
    """Resolve the study type named by ``study:`` and validate the config against its schema."""
    if "study" not in config:
        raise ConfigError("config has no 'study:' key (e.g. 'study: prune')")
    try:
        study_type = get_study_type(str(config["study"]))
    except ValueError as err:
        raise ConfigError(str(err)) from err
    try:
        parsed = study_type.Config.model_validate(config)
    except ValidationError as err:
        lines = [f"  {'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in err.errors()]
        raise ConfigError(f"invalid {study_type.name} config:\n" + "\n".join(lines)) from None
    return study_type, parsed


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> tuple[StudyType, BaseModel]:
    """Read, override and validate a study config."""
    return validate(apply_overrides(load_yaml(path), overrides))
