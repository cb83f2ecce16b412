"""predictor-ga's two-stage screen: structure forest → prefix training → forest on features + prefix accuracy,
with prefix trainings charged to the budget."""

import json
import math
import zlib

import numpy as np
import pytest

from sparsewire.architecture_search.assisted import AssistedConfig, PrefixScreen, assisted_search
from sparsewire.architecture_search.spaces import Budget, CellSpace
from tests.architecture_search.conftest import Killed, dies_at_call

SPACE = CellSpace((1, 28, 28), 10, Budget(max_macs=300_000), min_nodes=1, max_nodes=6, channels=(2, 4, 8, 16))


def truth(genome):
    """A fake final accuracy: rises with log MACs, plus deterministic per-genome noise."""
    return 0.1 * math.log10(SPACE.cost(genome)["macs"]) + (zlib.crc32(SPACE.key(genome).encode()) % 1000) / 2e4


def full(genomes, indices):
    return [{"accuracy": truth(g), "prefix_accuracy": truth(g) - 0.05} for g in genomes]


def screen(cost=0.25):
    calls = []

    def prefix(genomes, indices):
        calls.append(len(genomes))
        return [{"prefix_accuracy": truth(g) - 0.05} for g in genomes]

    out = PrefixScreen(prefix, cost)
    out.calls = calls
    return out


CONFIG = AssistedConfig(method="predictor-ga", budget=20, population=5, offspring=3, candidates=4, prefix_candidates=5,
                        kappa=0.0, trees=20, seed=2)


def test_prefix_trainings_are_charged_and_the_last_generation_shrinks_to_fit():
    prefix = screen(0.25)
    records = assisted_search(SPACE, full, CONFIG, prefix=prefix, progress=False)
    sizes = [sum(r["generation"] == g for r in records) for g in range(5)]
    # 5 (gen 0); then 5 prefix trainings (1.25) + 3 per generation; gen 4 affords 1 network after its prefix stage
    assert sizes == [5, 3, 3, 3, 1] and prefix.calls == [5, 5, 5, 5]
    spent = len(records) + prefix.spent()
    assert spent == pytest.approx(20.0) and len(prefix.trainings) == 20
    alone = assisted_search(SPACE, full, AssistedConfig(method="random", budget=20, population=5, offspring=3, seed=2),
                            progress=False)
    assert len(alone) == 20  # the same budget in full trainings


def test_second_stage_trains_the_candidates_its_forest_ranks_highest():
    prefix = screen()
    records = assisted_search(SPACE, full, CONFIG, prefix=prefix, progress=False)
    for generation in range(1, 5):
        tried = [t for t in prefix.trainings if t["generation"] == generation]
        trained = {r["genome"]: r for r in records if r["generation"] == generation}
        assert {t["genome"] for t in tried if t["chosen"]} == set(trained)
        ranked = sorted(tried, key=lambda t: -t["predicted_prefix"])  # kappa 0: the mean ranks them
        chosen = [t["predicted_prefix"] for t in tried if t["chosen"]]
        assert sorted(chosen, reverse=True) == [t["predicted_prefix"] for t in ranked[: len(trained)]]
        assert all(r["predicted_prefix"] is not None and r["screened"] for r in trained.values())
    assert all(r["predicted_prefix"] is None for r in records if r["generation"] == 0)


def test_prefix_second_stage_trains_the_candidates_with_the_best_prefix_accuracy():
    """second_stage: prefix (successive halving) chooses by the prefix accuracy itself, which it records as the
    stage's prediction; the budget is spent as with the forest."""
    prefix = screen()
    config = AssistedConfig(**{**CONFIG.__dict__, "second_stage": "prefix"})
    records = assisted_search(SPACE, full, config, prefix=prefix, progress=False)
    for generation in range(1, 5):
        tried = [t for t in prefix.trainings if t["generation"] == generation]
        trained = [r for r in records if r["generation"] == generation]
        best = sorted((t["prefix_accuracy"] for t in tried), reverse=True)[: len(trained)]
        assert sorted(r["prefix_accuracy"] for r in trained) == sorted(best)
        assert all(t["predicted_prefix"] == t["prefix_accuracy"] for t in tried)
        assert all(r["predicted_prefix"] == r["prefix_accuracy"] and r["predicted_prefix_std"] == 0 for r in trained)
    assert len(records) + prefix.spent() == pytest.approx(20.0)
    with pytest.raises(ValueError, match="second_stage"):
        AssistedConfig(second_stage="oracle")


def test_an_informative_prefix_beats_the_structure_screen_alone():
    """Where the prefix accuracy is the final accuracy and structure says little, the second stage helps."""
    def noise(g):
        return (zlib.crc32(SPACE.key(g).encode()) % 1000) / 1e3

    def evaluate(genomes, indices):
        return [{"accuracy": noise(g), "prefix_accuracy": noise(g)} for g in genomes]

    def prefix_only(genomes, indices):
        return [{"prefix_accuracy": noise(g)} for g in genomes]

    mean = {}
    for stages in (0, 6):
        per_seed = []
        for seed in range(3):
            config = AssistedConfig(method="predictor-ga", budget=25, population=5, offspring=3, candidates=4,
                                    prefix_candidates=stages, trees=20, seed=seed)
            records = assisted_search(SPACE, evaluate, config, prefix=PrefixScreen(prefix_only, 0.1), progress=False)
            per_seed.append(np.mean([r["accuracy"] for r in records if r["generation"] > 0]))
        mean[stages] = np.mean(per_seed)
    assert mean[6] > mean[0] + 0.1


def test_checkpoint_resume_restores_the_prefix_log(tmp_path):
    whole_screen = screen()
    whole = assisted_search(SPACE, full, CONFIG, prefix=whole_screen, progress=False)

    path = tmp_path / "search.json"
    with pytest.raises(Killed):  # in generation 3
        assisted_search(SPACE, dies_at_call(4, full), CONFIG, prefix=screen(), checkpoint=path, progress=False)
    resumed_screen = screen()
    resumed = assisted_search(SPACE, full, CONFIG, prefix=resumed_screen, checkpoint=path, progress=False)
    assert resumed == json.loads(json.dumps(whole))
    assert resumed_screen.trainings == json.loads(json.dumps(whole_screen.trainings))
    assert resumed_screen.calls == [5, 5]  # generations 3 and 4 only


def test_prefix_settings_are_checked():
    with pytest.raises(ValueError, match="prefix_candidates"):
        AssistedConfig(offspring=5, prefix_candidates=5)
    with pytest.raises(ValueError, match="share of a full training"):
        PrefixScreen(full, 1.0)
    with pytest.raises(ValueError, match="needs a PrefixScreen"):
        assisted_search(SPACE, full, CONFIG, progress=False)

    def no_prefix(genomes, indices):
        return [{"accuracy": truth(g)} for g in genomes]

    with pytest.raises(ValueError, match="prefix_accuracy"):
        assisted_search(SPACE, no_prefix, CONFIG, prefix=screen(), progress=False)


def continuing():
    """A screen whose prefix trainings the full evaluator continues: it remembers each number's genome."""
    started: dict[int, str] = {}

    def prefix(genomes, indices):
        started.clear()  # a generation's unchosen prefix trainings are dropped
        started.update({i: SPACE.key(g) for g, i in zip(genomes, indices, strict=True)})
        return [{"prefix_accuracy": truth(g) - 0.05} for g in genomes]

    def evaluate(genomes, indices):
        out = []
        for genome, index in zip(genomes, indices, strict=True):
            continued = started.pop(index, None)
            assert continued in (None, SPACE.key(genome)), "a number's prefix training belongs to the same genome"
            out.append({"accuracy": truth(genome), "prefix_accuracy": truth(genome) - 0.05,
                        "prefix_continued": continued is not None})
        return out

    return PrefixScreen(prefix, 0.25, continues=True), evaluate


def test_a_continued_prefix_is_paid_once():
    prefix, evaluate = continuing()
    records = assisted_search(SPACE, evaluate, CONFIG, prefix=prefix, progress=False)
    sizes = [sum(r["generation"] == g for r in records) for g in range(6)]
    # 5 (gen 0); then 5 prefix trainings of which the 3 chosen are continued: 3 + 2 · 0.25 per generation;
    # after gen 4 (19 spent) a prefix stage no longer fits, so gen 5 trains 1 network screened by structure
    assert sizes == [5, 3, 3, 3, 3, 1]
    assert len(records) + prefix.spent() == pytest.approx(20.0)
    chosen = [t for t in prefix.trainings if t["chosen"]]
    assert len(chosen) == 12 and all(t["continued"] for t in chosen)
    assert not any(t.get("continued") for t in prefix.trainings if not t["chosen"])
    by_number = {t["index"]: t["genome"] for t in prefix.trainings}
    for r in records:  # every chosen network trains under its prefix training's number
        assert by_number.get(r["index"], r["genome"]) == r["genome"]
    numbers = [r["index"] for r in records] + [t["index"] for t in prefix.trainings if not t["chosen"]]
    assert len(set(numbers)) == len(numbers)  # every network built has its own number


def test_without_continuing_the_numbers_and_costs_are_as_before():
    records = assisted_search(SPACE, full, CONFIG, prefix=screen(), progress=False)
    assert [r["index"] for r in records] == list(range(len(records)))
