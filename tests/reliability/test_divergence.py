"""A run that diverges (non-finite loss or weight) is a failed run, not a result: status `diverged` with the
epoch, counted in the summary, exit code 1, left out of tables, reports and predict unless asked for."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from reliability_tools import run_args, run_cli, tiny_study, write_config

from sparsewire.cli.main import main
from sparsewire.errors import TrainingDiverged
from sparsewire.models import MLP
from sparsewire.performance_prediction import load_results
from sparsewire.results import ResultsStore
from sparsewire.studies import validate
from sparsewire.studies.runner import Outcome, expand, run_study
from sparsewire.training import TrainConfig, train

NAN_TRAIN = {"epochs": 3, "batch_size": 50, "optimizer": "sgd", "lr": 1e6}


def _data(n: int = 200):
    x = torch.randn(n, 8)
    return x, (x[:, 0] > 0).long()


def test_train_raises_with_the_epoch_on_a_nan_loss():
    with pytest.raises(TrainingDiverged) as err:
        train(MLP([8, 16, 2]), _data(), TrainConfig(epochs=5, batch_size=20, optimizer="sgd", lr=1e6), progress=False)
    assert 1 <= err.value.epoch <= 5
    assert "nan" in str(err.value) or "not finite" in str(err.value)


def test_train_raises_on_a_non_finite_weight():
    model = MLP([8, 4, 2])

    def poison(optimizer) -> None:  # a step that leaves an infinite weight but a finite loss so far
        with torch.no_grad():
            model.layers[0].weight[0, 0] = math.inf

    with pytest.raises(TrainingDiverged, match="epoch 1.*layers.0.weight is not finite"):
        train(model, _data(), TrainConfig(epochs=2, batch_size=200), progress=False, post_step=poison)


def test_finite_training_is_untouched():
    result = train(MLP([8, 16, 2]), _data(), TrainConfig(epochs=2, batch_size=50), progress=False)
    assert result.epochs == 2


def test_a_nan_study_is_recorded_as_diverged(tmp_path, reber_data, capsys):
    # SGD at lr 1e6: the ReLU RNN's loss becomes NaN, the GRU (bounded gates) stays finite
    config = write_config(tmp_path / "nan.yaml", tiny_study(percents=2, cells=["gru", "rnn-relu"], train=NAN_TRAIN))
    out = tmp_path / "study"
    run = run_cli(*run_args(config, out, reber_data))
    assert run.returncode == 1
    assert "2 trials run, 0 reused, 2 diverged, 0 failed." in run.stdout
    assert run.stdout.count("diverged: training diverged in epoch 1") == 2
    store = ResultsStore(out, readonly=True)
    assert store.counts() == {"done": 2, "diverged": 2}
    every = store.table(include_diverged=True)
    assert (every.query("status == 'diverged'")["diverged_epoch"] == 1).all()
    assert set(every.query("status == 'diverged'")["cell"]) == {"rnn-relu"}

    assert main(["results", str(out)]) == 0  # left out of the table...
    table = capsys.readouterr().out
    assert "gru" in table and "rnn-relu" not in table
    assert main(["results", str(out), "--include-diverged"]) == 0  # ...unless asked for
    listed = capsys.readouterr().out
    assert "diverged trials (2)" in listed and "diverged_epoch" in listed and "rnn-relu" in listed
    assert main(["report", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert "2 finished trials, 2 diverged" in report and "## Diverged trials" not in report
    assert "rnn-relu" not in report
    assert main(["report", str(out), "--include-diverged"]) == 0
    assert "## Diverged trials" in (out / "report.md").read_text()
    assert len(load_results(out)) == 2 and len(load_results(out, include_diverged=True)) == 4
    assert "rnn-relu" not in (out / "results.csv").read_text()  # the CSV holds results only

    again = run_cli(*run_args(config, out, reber_data))  # diverged trials are finished: not retried
    assert again.returncode == 0 and "0 trials run, 4 reused" in again.stdout


def test_diverged_and_done_outcomes_from_one_group(tmp_path, reber_data):
    """A caller that trains several networks at once (a cohort) reports each one's fate through Outcome."""
    config = tiny_study(percents=3)
    config["data"]["data_dir"] = str(reber_data)
    study_type, parsed = validate(config)
    trials = expand(study_type, parsed)

    def cohort(todo, out_dir: Path, progress: bool):
        # one computation for the whole group, then one outcome per trial
        for i, trial in enumerate(todo):
            if i == 1:
                yield Outcome.diverged(trial, 2, "training diverged in epoch 2: loss is nan")
            elif i == 2:
                yield Outcome.failed(trial, "Traceback ...\nRuntimeError: boom")
            else:
                yield Outcome.done(trial, {"test_accuracy": 0.5})

    summary = run_study(study_type, parsed, tmp_path, executor=cohort, progress=False, echo=lambda _: None)
    assert (summary.done, summary.diverged, summary.failed) == (len(trials) - 2, 1, 1) and not summary.ok
    store = ResultsStore(tmp_path, readonly=True)
    assert store.counts() == {"done": len(trials) - 2, "diverged": 1, "failed": 1}
    diverged = store.table(include_diverged=True).query("status == 'diverged'").iloc[0]
    assert diverged["trial_id"] == trials[1].trial_id and diverged["diverged_epoch"] == 2
    assert store.finished_ids() == {t.trial_id for i, t in enumerate(trials) if i != 2}  # failed: retried


def test_outcome_statuses_are_checked():
    trial = expand(*validate(tiny_study(percents=1)))[0]
    assert Outcome(trial, {"a": 1}, None).status == "done"
    assert Outcome(trial, None, "boom").status == "failed"
    with pytest.raises(ValueError, match="unknown outcome status"):
        Outcome(trial, None, None, "exploded")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_divergence_is_caught_on_the_gpu():
    x, y = _data()
    model = MLP([8, 16, 2]).cuda()
    with pytest.raises(TrainingDiverged):
        train(model, (x.cuda(), y.cuda()), TrainConfig(epochs=5, batch_size=20, optimizer="sgd", lr=1e6), progress=False)
    assert train(MLP([8, 16, 2]).cuda(), (x.cuda(), y.cuda()), TrainConfig(epochs=1), progress=False).epochs == 1
