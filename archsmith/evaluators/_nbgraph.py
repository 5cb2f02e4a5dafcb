"""NAS-Bench-Graph tabular benchmarks: GNN results looked up instead of trained.

The tables come from the ``nas-bench-graph`` package (its "light" tables: final
results, each the mean over the benchmark's three training seeds), one per dataset:
``nbgraph/cora``, ``citeseer``, ``pubmed``, ``cs``, ``physics``, ``photo``,
``computers``, ``arxiv`` and ``proteins`` (ogbn-proteins, 2,021 architectures over the
ops of :data:`~archsmith.space._nbgraph.PROTEINS_OPS`; the others have 26,206).

Reported metrics:

* ``val_acc`` — the table's ``valid_perf``, a *fraction* (0.8193, not 81.93) as in the
  package and the NAS-Bench-Graph paper; ``test_acc`` — its ``perf``. (OGB scores
  ogbn-proteins by ROC-AUC; the package does not say which metric its table holds.)
* ``latency_ms`` — inference time in milliseconds (the table stores seconds);
* ``params`` — number of parameters (the table's ``para`` is in millions).

The table holds no training time, so a result's ``cost`` is the latency in seconds: a
small, nominal cost that grows with the model's compute.

Example:
    >>> from archsmith.evaluators import create_benchmark
    >>> bench = create_benchmark("nbgraph/cora")
    >>> space = bench.default_space()
    >>> arch = space.from_links_ops([0, 1, 2, 1], ["gcn", "gin", "fc", "cheb"])
    >>> sorted(bench.evaluate(arch).metrics)
    ['latency_ms', 'params', 'test_acc', 'val_acc']
    >>> round(bench.optimum(), 4)
    0.8193
"""

from __future__ import annotations

import hashlib
import os
import pickle
from typing import TYPE_CHECKING, Any

from archsmith.errors import ConfigError, SpaceError, UnknownNameError
from archsmith.evaluators._base import EvalResult
from archsmith.evaluators._benchmark import (
    BENCHMARKS,
    BenchmarkEvaluator,
    _Table,
    cached_table,
    read_table_file,
)

if TYPE_CHECKING:
    from archsmith.space import Architecture, SearchSpace
    from archsmith.space._nbgraph import NBGraphSpace

__all__ = ["NBGRAPH_DATASETS", "NBGraphBenchmark"]

#: Dataset -> description (nodes, features, classes).
NBGRAPH_DATASETS: dict[str, str] = {
    "cora": "Cora citation graph (2,708 nodes, 1,433 features, 7 classes)",
    "citeseer": "CiteSeer citation graph (3,327 nodes, 3,703 features, 6 classes)",
    "pubmed": "PubMed citation graph (19,717 nodes, 500 features, 3 classes)",
    "cs": "Coauthor-CS (18,333 nodes, 6,805 features, 15 classes)",
    "physics": "Coauthor-Physics (34,493 nodes, 8,415 features, 5 classes)",
    "photo": "Amazon-Photo (7,650 nodes, 745 features, 8 classes)",
    "computers": "Amazon-Computers (13,752 nodes, 767 features, 10 classes)",
    "arxiv": "ogbn-arxiv (169,343 nodes, 128 features, 40 classes)",
    "proteins": "ogbn-proteins (132,534 nodes, 112 binary tasks; 5 ops, 2,021 GNNs)",
}
_METRICS = ("val_acc", "test_acc", "latency_ms", "params")


def _load_table(dataset: str) -> _Table:
    """Loads (once per process) the table of ``dataset``."""
    return cached_table(f"nbgraph/{dataset}", lambda: _build_table(dataset))


def _build_table(dataset: str) -> _Table:

    try:
        import nas_bench_graph as package
    except ImportError:  # pragma: no cover - a declared dependency
        raise ConfigError("The nbgraph/* benchmarks need the `nas-bench-graph` package; "
                          "install it with `pip install nas-bench-graph`.") from None
    path = os.path.join(os.path.dirname(package.__file__ or ""), "light", f"{dataset}.bench")
    blob = read_table_file(path, "NAS-Bench-Graph", "nas-bench-graph")
    rows: dict[Any, tuple[float, ...]] = {
        int(key): (
            float(v["valid_perf"]),
            float(v["perf"]),
            float(v["latency"]) * 1000.0,
            float(round(float(v["para"]) * 1e6)),
        )
        for key, v in pickle.loads(blob).items()
    }
    return _Table(rows, hashlib.sha1(blob).hexdigest()[:16])


class NBGraphBenchmark(BenchmarkEvaluator):
    """Scores NAS-Bench-Graph architectures by table lookup (no training).

    Satisfies the :class:`~archsmith.evaluators.Evaluator` protocol. The table is loaded
    on first use and cached per process; the evaluator holds only names, so it pickles
    small.

    Args:
        name: ``"nbgraph/<dataset>"`` with a dataset of :data:`NBGRAPH_DATASETS`.

    Raises:
        UnknownNameError: unknown benchmark name (the message lists the valid ones).
    """

    default_objective: str = "val_acc"
    space_name: str = "nbgraph"
    simulated_time_metric: str | None = None  # the table holds no training time

    def __init__(self, name: str) -> None:  # no super().__init__: that one is NB-201's
        dataset = name.split("/", 1)[1] if name.startswith("nbgraph/") else ""
        if dataset not in NBGRAPH_DATASETS:
            from archsmith.evaluators._benchmark import benchmark_names

            raise UnknownNameError("benchmark", name, benchmark_names())
        self.name = name
        self.dataset = dataset

    def __repr__(self) -> str:
        return f"NBGraphBenchmark({self.name!r})"

    # -- protocol -----------------------------------------------------------------------
    def default_space(self) -> NBGraphSpace:  # type: ignore[override]
        """The nbgraph space with this dataset's settings (ogbn-proteins: its 5 ops)."""
        from archsmith.space._nbgraph import NBGraphSpace

        return NBGraphSpace.for_dataset(self.dataset)

    def check_space(self, space: SearchSpace) -> None:
        """Raises :class:`SpaceError` unless ``space`` is an nbgraph space this table covers."""
        from archsmith.space._nbgraph import PROTEINS_OPS, NBGraphSpace

        if not isinstance(space, NBGraphSpace):
            raise SpaceError(
                f"Benchmark {self.name!r} only scores architectures of the 'nbgraph' "
                f"space, not of space {space.name!r}. Use the 'nbgraph' space with it."
            )
        if self.dataset == "proteins":
            extra = [op for op in space.ops if op not in PROTEINS_OPS]
            if extra:
                raise SpaceError(
                    f"Benchmark 'nbgraph/proteins' covers only the ops {list(PROTEINS_OPS)}, "
                    f"but the space also allows {extra}. Restrict the space: "
                    f"space_config = {{ops = {list(PROTEINS_OPS)}}} in a --config TOML "
                    "file, or NBGraphSpace.for_dataset('proteins') in Python."
                )

    def evaluate(self, arch: Architecture, budget: int | None = None) -> EvalResult:
        """Looks ``arch`` up.

        Args:
            arch: An architecture of the nbgraph space.
            budget: Ignored; the table holds final results only.

        Raises:
            SpaceError: ``arch`` is not an nbgraph architecture.
        """
        self.check_space(arch.space)
        key = self.config_id(arch)
        row = _load_table(self.dataset).rows.get(int(key))
        if row is None:  # pragma: no cover - check_space and the space's mask prevent it
            return EvalResult.failure(f"{self.name} has no entry for {arch!r} (key {key}).")
        metrics = dict(zip(_METRICS, row, strict=True))
        return EvalResult(metrics=metrics, cost=metrics["latency_ms"] / 1000.0)

    source = ("nas-bench-graph light tables (final results, mean over 3 seeds); "
              "val_acc/test_acc are fractions")
    metric_names = _METRICS

    def _table(self) -> _Table:
        return _load_table(self.dataset)

    def _described(self, table: _Table) -> dict[str, Any]:
        return {"architectures": len(table.rows)}

    # -- extras -------------------------------------------------------------------------
    @staticmethod
    def config_id(arch: Architecture) -> str:
        """The table key, the package's ``valid_hash()``, as a string (e.g. ``"61237"``)."""
        from archsmith.space._nbgraph import NBGraphSpace

        space = arch.space
        if not isinstance(space, NBGraphSpace):
            raise SpaceError(f"{arch!r} is not an architecture of the 'nbgraph' space.")
        return str(space.bench_key(arch))


def _factory(name: str) -> Any:
    def create() -> NBGraphBenchmark:
        return NBGraphBenchmark(name)

    create.__doc__ = f"NAS-Bench-Graph on {NBGRAPH_DATASETS[name.split('/')[1]]}"
    return create


for _dataset, _text in NBGRAPH_DATASETS.items():
    BENCHMARKS.add(f"nbgraph/{_dataset}", _factory(f"nbgraph/{_dataset}"),
                   help=f"NAS-Bench-Graph on {_text}")
