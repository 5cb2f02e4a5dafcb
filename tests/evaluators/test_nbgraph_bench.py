"""NAS-Bench-Graph tabular benchmarks: registry, lookups, optimum, search integration."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from archsmith.errors import SpaceError, UnknownNameError
from archsmith.evaluators import Evaluator, benchmark_names, create_benchmark
from archsmith.evaluators._nbgraph import NBGRAPH_DATASETS, NBGraphBenchmark
from archsmith.space import create_space
from archsmith.space._nbgraph import PROTEINS_OPS, NBGraphSpace

nbg = pytest.importorskip("nas_bench_graph")
NAMES = [f"nbgraph/{d}" for d in NBGRAPH_DATASETS]


def test_registered_with_the_other_benchmarks() -> None:
    names = benchmark_names()
    assert set(NAMES) <= set(names) and "nb201/cifar10" in names
    assert len(NBGRAPH_DATASETS) == 9
    from archsmith.evaluators._benchmark import BENCHMARKS

    assert all(BENCHMARKS.help(n).startswith("NAS-Bench-Graph on ") for n in NAMES)


def test_protocol_and_default_space() -> None:
    bench = create_benchmark("nbgraph/cora")
    assert isinstance(bench, NBGraphBenchmark) and isinstance(bench, Evaluator)
    assert bench.default_objective == "val_acc" and bench.space_name == "nbgraph"
    assert bench.default_space() == NBGraphSpace.for_dataset("cora")
    assert create_benchmark("nbgraph/proteins").default_space().ops == PROTEINS_OPS
    blob = pickle.dumps(bench)
    assert len(blob) < 300 and pickle.loads(blob) == bench
    info = bench.describe()
    json.dumps(info)
    assert info["space"] == "nbgraph" and info["architectures"] == 26_206
    assert info["optimum"] == bench.optimum() and len(info["fingerprint"]) == 16


def test_unknown_dataset_lists_the_names() -> None:
    with pytest.raises(UnknownNameError, match="nbgraph/cora") as info:
        create_benchmark("nbgraph/karate")
    assert set(NAMES) <= set(info.value.valid)
    with pytest.raises(UnknownNameError, match="nbgraph/pubmed"):
        NBGraphBenchmark("nbgraph/karate")


def test_lookups_match_the_package_and_are_deterministic() -> None:
    bench = create_benchmark("nbgraph/citeseer")
    table = nbg.light_read("citeseer")
    space = bench.default_space()
    rng = np.random.default_rng(0)
    for _ in range(200):
        arch = space.sample(rng)
        res = bench.evaluate(arch)
        assert res.ok and res.metrics == bench.evaluate(arch).metrics
        row = table[nbg.Arch(list(space.links(arch)), list(space.arch_ops(arch))).valid_hash()]
        assert res.metrics["val_acc"] == pytest.approx(float(row["valid_perf"]))
        assert res.metrics["test_acc"] == pytest.approx(float(row["perf"]))
        assert res.metrics["latency_ms"] == pytest.approx(float(row["latency"]) * 1000)
        assert res.metrics["params"] == round(float(row["para"]) * 1e6)
        assert res.cost == pytest.approx(float(row["latency"]))
        assert 0.0 < res.metrics["val_acc"] < 1.0  # a fraction, as in the package
    # equivalent sequences share one entry
    a = space.from_links_ops([0, 1, 2, 1], ["gcn", "gin", "fc", "cheb"])
    b = space.from_links_ops([0, 1, 1, 2], ["gcn", "gin", "cheb", "fc"])
    assert bench.evaluate(a).metrics == bench.evaluate(b).metrics
    assert bench.config_id(a) == str(nbg.Arch([0, 1, 2, 1], ["gcn", "gin", "fc", "cheb"])
                                     .valid_hash())


def test_optimum() -> None:
    assert create_benchmark("nbgraph/cora").optimum() == pytest.approx(0.81933, abs=1e-5)
    for name in ("nbgraph/pubmed", "nbgraph/proteins"):
        table = nbg.light_read(name.split("/")[1])
        best = max(float(v["valid_perf"]) for v in table.values())
        assert create_benchmark(name).optimum() == pytest.approx(best)


def test_check_space() -> None:
    bench = create_benchmark("nbgraph/cora")
    with pytest.raises(SpaceError, match="'nbgraph' space"):
        bench.check_space(create_space("nb201"))
    nb201_arch = create_space("nb201").sample(np.random.default_rng(0))
    with pytest.raises(SpaceError):
        bench.evaluate(nb201_arch)
    with pytest.raises(SpaceError, match="nb201"):
        create_benchmark("nb201/cifar10").check_space(NBGraphSpace())
    proteins = create_benchmark("nbgraph/proteins")
    with pytest.raises(SpaceError, match="space_config"):
        proteins.check_space(NBGraphSpace())
    proteins.check_space(NBGraphSpace(ops=("gcn", "fc")))
    space = proteins.default_space()
    rng = np.random.default_rng(1)
    assert all(proteins.evaluate(space.sample(rng)).ok for _ in range(200))


def test_search_runs_on_the_benchmark(tmp_path: Path) -> None:
    from archsmith.search import Search, SearchConfig

    cfg = SearchConfig(space="nbgraph", benchmark="nbgraph/cora", strategy="evolution",
                       budget=40, strategy_config={"population_size": 10, "sample_size": 3})
    summary = Search(cfg, tmp_path / "run").run()
    assert summary["trials"] == summary["complete"] == 40 and summary["status"] == "finished"
    best = summary["best"]
    assert 0.7 < best["metrics"]["val_acc"] <= create_benchmark("nbgraph/cora").optimum()
    again = Search.resume(tmp_path / "run", budget=45).run()
    assert again["trials"] == 45
