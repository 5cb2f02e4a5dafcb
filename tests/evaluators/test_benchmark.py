"""Tabular NAS-Bench-201 benchmark evaluator."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest

from archsmith.errors import SpaceError, UnknownNameError
from archsmith.evaluators import BenchmarkEvaluator, Evaluator, benchmark_names, create_benchmark
from archsmith.space import create_space
from archsmith.space._nb201 import NB201Space

BEST_C10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"  # noqa: E501


@pytest.fixture(scope="module")
def bench() -> BenchmarkEvaluator:
    b = create_benchmark("nb201/cifar10")
    b.load()
    return b


def test_names_and_protocol(bench: BenchmarkEvaluator) -> None:
    assert {"nb201/cifar10", "nb201/cifar100", "nb201/imagenet16-120"} <= set(benchmark_names())
    assert isinstance(bench, Evaluator)
    assert bench.default_objective == "val_acc" and bench.space_name == "nb201"
    assert isinstance(bench.default_space(), NB201Space)


def test_unknown_name_lists_valid() -> None:
    with pytest.raises(UnknownNameError, match="nb201/cifar10, nb201/cifar100"):
        create_benchmark("nb201/cifar11")
    with pytest.raises(UnknownNameError, match="imagenet16-120"):
        BenchmarkEvaluator("nb201/imagenet")


def test_lookup_values(bench: BenchmarkEvaluator) -> None:
    space = bench.default_space()
    arch = space.from_arch_str(BEST_C10)
    r = bench.evaluate(arch)
    assert r.ok
    m = r.metrics
    assert m["val_acc"] == pytest.approx((91.684 + 91.72 + 91.416) / 3, abs=1e-3)
    assert m["params"] == 1_073_466 and m["model_size_mb"] == pytest.approx(1.073466)
    assert m["latency_ms"] == pytest.approx(20.22, abs=0.01)
    assert m["train_seconds"] == pytest.approx(2879.75, abs=0.01)
    assert r.cost == m["train_seconds"]
    assert r.check_objective("val_acc") is r
    # all-none cell: chance accuracy
    none = space.make({d.name: "none" for d in space.decisions})
    assert bench.evaluate(none).metrics["val_acc"] == pytest.approx(9.712, abs=1e-3)


def test_deterministic(bench: BenchmarkEvaluator) -> None:
    space = bench.default_space()
    rng = np.random.default_rng(0)
    for _ in range(20):
        arch = space.sample(rng)
        assert bench.evaluate(arch).metrics == bench.evaluate(arch, budget=12).metrics


def test_optimum() -> None:
    assert create_benchmark("nb201/cifar10").optimum() == pytest.approx(91.6067, abs=1e-3)
    assert create_benchmark("nb201/cifar100").optimum() == pytest.approx(73.4933, abs=1e-3)
    assert create_benchmark("nb201/imagenet16-120").optimum() == pytest.approx(46.7333, abs=1e-3)


def test_thousand_lookups_fast(bench: BenchmarkEvaluator) -> None:
    space = bench.default_space()
    rng = np.random.default_rng(1)
    archs = [space.sample(rng) for _ in range(1000)]
    start = time.perf_counter()
    for a in archs:
        bench.evaluate(a)
    assert time.perf_counter() - start < 0.5


def test_wrong_space(bench: BenchmarkEvaluator) -> None:
    mlp = create_space("mlp")
    with pytest.raises(SpaceError, match="'nb201' space"):
        bench.check_space(mlp)
    with pytest.raises(SpaceError, match="'nb201' space"):
        bench.evaluate(mlp.sample(np.random.default_rng(0)))
    bench.check_space(create_space("nb201", stem_channels=8, cells_per_stage=1))


def test_pickle_small_and_describe(bench: BenchmarkEvaluator) -> None:
    blob = pickle.dumps(bench)
    assert len(blob) < 1000
    again = pickle.loads(blob)
    assert again == bench
    d = bench.describe()
    assert d["kind"] == "benchmark" and d["name"] == "nb201/cifar10"
    assert d["space"] == "nb201" and len(d["fingerprint"]) == 16
