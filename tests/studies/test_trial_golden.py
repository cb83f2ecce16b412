"""Every shipped and recorded config still expands to exactly the trials it did: same ids, same dicts.

``trial_ids.json`` holds, for every ``configs/*.yaml`` and ``benchmarks/results/*/study.yaml``, the ordered
list of its trial ids, and for every id the trial's dict in its key order (the order a diverged row's
config columns take; the id hashes the sorted form, :func:`~sparsewire.studies.identity.canonical`).
Written once from the code before typed trials (issue 18) and never rewritten: a new config is added with
``PYTHONPATH=src python tests/studies/test_trial_golden.py`` (existing entries are kept as they are).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sparsewire.studies import load_config
from sparsewire.studies.identity import config_hash
from sparsewire.studies.runner import expand

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("trial_ids.json")


def sources() -> list[str]:
    """Every config the golden file covers, relative to the repository root."""
    paths = sorted(ROOT.glob("configs/*.yaml")) + sorted(ROOT.glob("benchmarks/results/*/study.yaml"))
    return [p.relative_to(ROOT).as_posix() for p in paths]


def trials_of(source: str) -> list[tuple[str, str]]:
    """``(trial id, trial JSON in key order)`` of every trial ``source`` expands to, in order."""
    study_type, config = load_config(ROOT / source)
    return [(t.trial_id, _text(t.config)) for t in expand(study_type, config)]


def _text(trial: dict) -> str:
    return json.dumps(trial, separators=(",", ":"))


def _golden() -> dict:
    return json.loads(GOLDEN.read_text())


GOLDEN_SOURCES = sorted(_golden()["sources"]) if GOLDEN.exists() else []


@pytest.mark.parametrize("source", GOLDEN_SOURCES)
def test_configs_expand_to_their_recorded_trials(source):
    golden = _golden()
    expected = [(i, _text(golden["trials"][i])) for i in golden["sources"][source]]
    actual = trials_of(source)
    assert [i for i, _ in actual] == [i for i, _ in expected], f"{source}: the trial ids or their order changed"
    for (trial_id, got), (_, want) in zip(actual, expected, strict=True):
        assert got == want, f"{source}: trial {trial_id}'s dict changed"


def test_the_golden_file_covers_every_config_and_its_ids_hash_its_dicts():
    golden = _golden()
    missing = set(sources()) - set(golden["sources"])
    assert not missing, f"not in {GOLDEN.name}: {sorted(missing)}; add them with python {Path(__file__).name}"
    for trial_id, trial in golden["trials"].items():
        assert config_hash(trial) == trial_id


def add_missing() -> list[str]:
    """Add the configs that the golden file does not cover yet (existing entries are never rewritten)."""
    golden = _golden() if GOLDEN.exists() else {"sources": {}, "trials": {}}
    added = [s for s in sources() if s not in golden["sources"]]
    for source in added:
        trials = trials_of(source)
        golden["sources"][source] = [i for i, _ in trials]
        for trial_id, text in trials:
            golden["trials"].setdefault(trial_id, json.loads(text))
    lines = ['{"sources": {']
    lines += [",\n".join(f"{json.dumps(s)}: {json.dumps(ids)}" for s, ids in sorted(golden["sources"].items()))]
    lines += ['}, "trials": {']
    lines += [",\n".join(f"{json.dumps(i)}: {_text(t)}" for i, t in sorted(golden["trials"].items()))]
    lines += ["}}", ""]
    GOLDEN.write_text("\n".join(lines))
    return added


if __name__ == "__main__":
    print("added:", ", ".join(add_missing()) or "nothing")
