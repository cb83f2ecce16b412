"""benchmarks/search_headroom.py: the expected best of k random draws, and a recorded study's headroom."""

import importlib.util
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "benchmarks" / "results" / "search-fashion-mnist-pooled"


def script():
    spec = importlib.util.spec_from_file_location("search_headroom", ROOT / "benchmarks" / "search_headroom.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_expected_best_of_k_draws_without_replacement():
    expected_best, rng = script().expected_best, np.random.default_rng(0)
    pool = np.arange(100.0)
    assert expected_best(pool, 100, rng) == (99.0, 0.0)  # every draw holds the maximum
    mean, std = expected_best(pool, 1, rng)
    assert abs(mean - 49.5) < 1.0 and abs(std - pool.std()) < 1.0
    # the maximum of k of n ranks has mean (n + 1)·k/(k + 1) − 1 on 0 … n−1
    assert abs(expected_best(pool, 9, rng)[0] - (101 * 9 / 10 - 1)) < 0.5


@pytest.mark.skipif(not (STUDY / "results.sqlite").exists(), reason="the recorded study's store is not here")
def test_headroom_of_the_recorded_pooled_study_is_its_top_minus_random_best():
    row = script().headroom(STUDY)
    con = sqlite3.connect(STUDY / "results.sqlite")
    accuracy = {}
    for (text,) in con.execute("select row from trials where status = 'done'"):
        result = json.loads(text)
        accuracy.setdefault(result["method"], []).extend(100 * n["accuracy"] for n in result["networks"])
    top = max(max(a) for a in accuracy.values())
    assert row["top (any method)"] == f"{top:.2f}" and row["random networks"] == len(accuracy["random"]) == 180
    best, spread = (float(x) for x in row["E best of k (random)"].split(" ± "))
    assert np.percentile(accuracy["random"], 90) < best < top and spread > 0
    assert float(row["headroom"]) == pytest.approx(top - best, abs=0.011)
