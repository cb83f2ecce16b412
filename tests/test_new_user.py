"""What a new user meets first (issue 16): the README's snippets run from any folder, progress output in
logs, report wording, notes on smoke tests and chance accuracy, the unpruned row first."""

from __future__ import annotations

import io
import re
import runpy
from pathlib import Path

import pandas as pd
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def _block(containing: str) -> str:
    found = [b for b in _python_blocks() if containing in b]
    assert found, f"no README python block contains {containing!r}"
    return found[0]


def test_first_snippet_saves_a_model_graph_describe_reads(tmp_path, monkeypatch, capsys):
    from sparsewire.cli.main import main

    monkeypatch.chdir(tmp_path)
    script = tmp_path / "first.py"
    script.write_text(_block("masks.bind(opt)"))
    runpy.run_path(str(script), run_name="__main__")
    assert (tmp_path / "m.pt").is_file()
    capsys.readouterr()
    assert main(["graph", "describe", "m.pt", "--json"]) == 0
    assert '"edges"' in capsys.readouterr().out


def test_search_snippet_works_outside_the_repository(tmp_path, monkeypatch):
    code = _block("genetic_search(")
    # the snippet as written, with a search small enough for a test
    code = re.sub(r"SearchConfig\(population=\d+, generations=\d+", "SearchConfig(population=6, generations=1", code)
    code = code.replace("range(10, 50, 2)", "range(10, 16, 2)")
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "search.py"
    script.write_text(code.rstrip().rsplit("\n", 1)[0] + "\nprint(found.best, found.fitness[0])\n")
    runpy.run_path(str(script), run_name="__main__")
    assert (tmp_path / "runs" / "search.json").is_file()


def test_plain_progress_lines_when_not_a_terminal(monkeypatch):
    from sparsewire.progress import PlainProgress, progress

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    out = io.StringIO()
    bar = progress(total=3, desc="trials", unit="trial", file=out)
    assert isinstance(bar, PlainProgress)
    for _ in range(3):
        bar.update(1)
    bar.write("trial x failed: boom")
    bar.close()
    text = out.getvalue()
    assert "\r" not in text and "\x1b" not in text
    assert "trials: 1/3 (33%), " in text and "trials: 3/3 (100%), " in text
    assert "trial x failed: boom" in text
    inner = io.StringIO()
    for _ in progress(range(5), desc="epochs", leave=False, file=inner):
        pass
    assert inner.getvalue() == ""  # nested bars stay silent in logs
    monkeypatch.setenv("TQDM_DISABLE", "1")
    quiet = io.StringIO()
    for _ in progress(range(2), desc="trials", file=quiet):
        pass
    assert quiet.getvalue() == ""


def test_baseline_row_first_and_report_says_percent():
    from sparsewire.results.reports.prune import report, summary

    rows = [{"dataset": "mnist", "model": "mlp", "schedule": "one-shot", "rewind": "none", "method": m,
             "compression": c, "seed": s, "test_accuracy": 0.9, "test_accuracy_before_retrain": 0.5,
             "dense_test_accuracy": 0.95, "params_remaining": 10}
            for m, c in [("class-blinded", 0.5), ("random", 0.5), ("none", 0.0), ("obd", 0.5)] for s in (0, 1)]
    table = summary(pd.DataFrame(rows))
    assert table["method"].tolist() == ["none", "class-blinded", "obd", "random"]
    text = report.__code__.co_consts
    assert not any(isinstance(c, str) and "fraction correct" in c for c in text)


def test_notes_smoke_test_and_chance():
    from sparsewire.results.notes import at_chance, study_notes

    table = pd.DataFrame({"cell": ["gru"] * 3 + ["lstm"] * 3,
                          "test_accuracy": [0.8, 0.85, 0.9, 0.5, 0.52, 0.49]})
    chance = at_chance(table, "reber-structure")
    assert chance["group"].tolist() == ["cell lstm"]
    notes = study_notes("reber-structure", "reber-structure-quick", table)
    assert "Smoke test" in notes[0] and "--folds 2" in notes[0]
    assert "At chance" in notes[1] and "cell lstm" in notes[1]
    assert study_notes("prune", "paper-mnist", pd.DataFrame({"method": ["a"], "test_accuracy": [0.97]})) == []
    everything = table.assign(test_accuracy=0.5, density=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6])  # not an axis
    assert at_chance(everything, "reber-structure").to_dict("records") == [
        {"group": "all trials", "trials": 6, "mean": 0.5}]


def test_too_few_rows_suggests_folds_that_work():
    from sparsewire.performance_prediction.predictors import PredictError, _check_size

    with pytest.raises(PredictError, match="use --folds 3 or fewer"):
        _check_size(6, 5)
    _check_size(6, 3)


def test_predicted_vs_actual_has_title_and_labelled_identity(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from sparsewire.performance_prediction import plots

    captured = {}
    monkeypatch.setattr(plt, "close", lambda fig: captured.setdefault("fig", fig))
    scatter = pd.DataFrame({"actual": [0.5, 0.6, 0.7], "predicted": [0.55, 0.6, 0.65]})
    plots.predicted_vs_actual(scatter, tmp_path / "s.png", 0.5)
    ax = captured["fig"].axes[0]
    assert ax.get_title().startswith("Predicted vs actual")
    assert any("y = x" in t.get_text() for t in ax.get_legend().get_texts())
