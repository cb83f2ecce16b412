import pytest
from layer_nets import make_mlp

from sparsewire.layer_sparsity import (
    collapse,
    flops,
    measure_latency,
    nonzero_parameter_count,
    parameter_count,
)


def test_counts_match_formulas():
    model = make_mlp([10, 4, 4, 3])
    assert parameter_count(model) == 10 * 4 + 4 + 4 * 4 + 4 + 4 * 3 + 3
    assert flops(model) == 2 * (10 * 4 + 4 * 4 + 4 * 3) + 4 + 4 + 3
    assert nonzero_parameter_count(model) == parameter_count(model)
    shallow = collapse(make_mlp([10, 4, 4, 3], nonnegative=[1]))
    assert parameter_count(shallow) == 10 * 4 + 4 + 4 * 3 + 3


def test_latency_measures_every_model_and_batch_size():
    model = make_mlp([12, 8, 8, 8, 3], nonnegative=[1, 2])
    rows = measure_latency({"original": model, "collapsed": collapse(model)}, (12,), (1, 16), rounds=3, warmup=1)
    assert {(r.model, r.batch_size) for r in rows} == {(m, b) for m in ("original", "collapsed") for b in (1, 16)}
    assert all(0 < r.q1_s <= r.median_s <= r.q3_s for r in rows)
    assert model.training  # mode restored
    with pytest.raises(ValueError):
        measure_latency({}, (12,))
