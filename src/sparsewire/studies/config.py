"""Study configs: YAML files, ``--set key=value`` overrides and validation against the study type."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sparsewire.errors import ConfigError
from sparsewire.studies.base import StudyType
from sparsewire.studies.builtin import get_study_type

__all__ = ["ConfigError", "apply_overrides", "load_config", "load_yaml", "validate"]


def load_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path``; unreadable or malformed files raise :class:`ConfigError` (file and line)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    if not path.is_file():
        raise ConfigError(f"config {path} is not a file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}{_yaml_position(err)}: malformed YAML: {_yaml_problem(err)}") from err
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read config {path}: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of config keys, got {type(data).__name__}")
    return data


def _yaml_position(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    return f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""


def _yaml_problem(err: yaml.YAMLError) -> str:
    parts = [getattr(err, "context", None), getattr(err, "problem", None)]
    return ", ".join(p for p in parts if p) or str(err).splitlines()[0]


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
        try:
            node[leaf] = yaml.safe_load(raw)
        except yaml.YAMLError as err:
            raise ConfigError(f"override {item!r}: malformed YAML value: {_yaml_problem(err)}") from err
    return config


def validate(config: dict[str, Any]) -> tuple[StudyType[Any, Any], BaseModel]:
    """Resolve the study type named by ``study:`` and validate the config against its schema."""
    if "study" not in config:
        raise ConfigError("config has no 'study:' key (e.g. 'study: prune')")
    check_name(config.get("name"))
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


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_name(name: Any) -> None:
    """A study ``name`` becomes the folder ``runs/<name>``: one path component, no ``/``, ``\\`` or ``..``."""
    if name is None:
        return
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name or len(name) > 200:
        raise ConfigError(f"name {name!r} must be one folder name: letters, digits, '.', '_', '-' "
                          "(no '/', '\\' or '..'); it becomes runs/<name>")


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> tuple[StudyType[Any, Any], BaseModel]:
    """Read, override and validate a study config."""
    return validate(apply_overrides(load_yaml(path), overrides))
