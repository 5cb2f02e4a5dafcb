"""Critic evaluation: fit on random architectures of a benchmark, rank the rest.

:func:`critic_eval` is what ``archsmith critic-eval`` runs. The pool is every
architecture of the space with a distinct :attr:`~archsmith.space.Architecture.hash`
(the first one enumerated represents its class; NAS-Bench-201's 15,625 cells give 6,040
distinct functions), scored by the benchmark's default objective. Per seed, the
training set is ``train_size`` pool members drawn uniformly with
``np.random.default_rng(seed)``; the test set is the rest of the pool, or
``test_size`` of it. Spaces too large to enumerate are sampled instead.

Example:
    Scoring the whole NAS-Bench-201 pool once takes a few seconds, so this example is
    not run as a doctest (``tests/critic/test_critic_eval.py`` runs it):

    >>> out = critic_eval("nb201", "nb201/cifar10", train_size=20, test_size=50,
    ...                   seeds=1, critic="gp")  # doctest: +SKIP
    >>> sorted(k for k in out if k in ("kendall_tau", "spearman", "mae"))  # doctest: +SKIP
    ['kendall_tau', 'mae', 'spearman']
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from archsmith.errors import ConfigError, SpaceError

if TYPE_CHECKING:
    from archsmith.space import Architecture, SearchSpace

__all__ = ["critic_eval", "scored_pool"]

_ENUM_LIMIT = 200_000
_POOLS: dict[tuple[str, str, str], tuple[list[Architecture], np.ndarray]] = {}


def scored_pool(
    space: SearchSpace, benchmark: str, size: int | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[list[Architecture], np.ndarray]:
    """Distinct-hash architectures of ``space`` with their benchmark scores.

    Enumerable spaces give every distinct architecture (cached per process); larger
    ones give ``size`` distinct samples drawn with ``rng``. Failed evaluations are left
    out.

    Args:
        space: The search space.
        benchmark: Benchmark name (``"nb201/cifar10"``).
        size: Samples to draw when the space cannot be enumerated.
        rng: Generator for those samples.

    Raises:
        ConfigError: the space is too large to enumerate and ``size`` is ``None``.
    """
    from archsmith.evaluators import create_benchmark

    evaluator = create_benchmark(benchmark)
    evaluator.check_space(space)
    key = (space.name, repr(space.config()), benchmark)
    if key in _POOLS:
        return _POOLS[key]
    try:
        candidates = space.enumerate(limit=_ENUM_LIMIT)
        enumerable = True
    except SpaceError:
        if size is None or rng is None:
            raise ConfigError(
                f"Space {space.name!r} has more than {_ENUM_LIMIT} architectures; give "
                "test_size (--test-size) so critic-eval samples a test set instead."
            ) from None
        enumerable = False
        candidates = [space.sample(rng) for _ in range(4 * size)]
    seen: set[str] = set()
    archs: list[Architecture] = []
    scores: list[float] = []
    objective = evaluator.default_objective
    for arch in candidates:
        if arch.hash in seen:
            continue
        seen.add(arch.hash)
        res = evaluator.evaluate(arch).check_objective(objective)
        if res.ok:
            archs.append(arch)
            scores.append(float(res.metrics[objective]))
    pool = (archs, np.asarray(scores, dtype=np.float64))
    if enumerable:
        _POOLS[key] = pool
    return pool


def critic_eval(
    space_name: str,
    benchmark: str,
    train_size: int,
    test_size: int | None = None,
    seeds: int = 3,
    critic: str = "gnn",
    critic_config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fits ``critic`` on random architectures and measures how it ranks held-out ones.

    Args:
        space_name: Space name (``"nb201"``).
        benchmark: Tabular benchmark scoring the space (``"nb201/cifar10"``).
        train_size: Training architectures per seed (distinct hashes).
        test_size: Held-out architectures per seed (default: all the others).
        seeds: Number of seeds ``0..seeds-1``.
        critic: Critic name (see :func:`~archsmith.critic.critic_names`).
        critic_config: Constructor arguments of the critic.

    Returns:
        ``{"kendall_tau", "spearman", "mae"}`` (means over seeds; MAE in the
        objective's units), ``"per_seed"`` (the same keys as lists, plus
        ``fit_seconds`` and ``predict_seconds``), ``"fit_seconds"`` and
        ``"predict_seconds"`` (means), and the arguments (``critic``, ``space``,
        ``benchmark``, ``train_size``, ``test_size`` as used, ``seeds``).

    Raises:
        ConfigError: bad sizes, an unknown critic or benchmark, or a space the
            benchmark cannot score.
    """
    from scipy.stats import kendalltau, spearmanr

    from archsmith.critic import CRITICS, create_critic
    from archsmith.evaluators import benchmark_space, create_benchmark

    if train_size < 2:
        raise ConfigError(f"train_size (--train-size) must be ≥ 2, got {train_size}.")
    if test_size is not None and test_size < 2:
        raise ConfigError(f"test_size (--test-size) must be ≥ 2, got {test_size}.")
    if seeds < 1:
        raise ConfigError(f"seeds (--seeds) must be ≥ 1, got {seeds}.")
    CRITICS.get(critic)  # an unknown name fails before any work, listing the valid ones
    space = benchmark_space(create_benchmark(benchmark), space_name)
    config = dict(critic_config or {})
    need = train_size + (test_size or 0)
    archs, scores = scored_pool(space, benchmark, size=need, rng=np.random.default_rng(0))
    if len(archs) < train_size + 2 or (test_size is not None and len(archs) < need):
        raise ConfigError(
            f"Only {len(archs)} distinct architectures can be scored; lower train_size "
            f"(--train-size) or test_size (--test-size) to fit (they need {need or train_size})."
        )
    per: dict[str, list[float]] = {k: [] for k in (
        "kendall_tau", "spearman", "mae", "fit_seconds", "predict_seconds")}
    used_test = 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        perm = rng.permutation(len(archs))
        train = perm[:train_size]
        rest = perm[train_size:]
        test = rest if test_size is None else rest[:test_size]
        used_test = len(test)
        model = create_critic(critic, space, seed=seed, **config)
        t0 = time.perf_counter()
        model.fit([archs[i] for i in train], scores[train], rng=rng)
        t1 = time.perf_counter()
        mean, _ = model.predict([archs[i] for i in test])
        t2 = time.perf_counter()
        truth = scores[test]
        per["kendall_tau"].append(float(kendalltau(mean, truth).statistic))
        per["spearman"].append(float(spearmanr(mean, truth).statistic))
        per["mae"].append(float(np.mean(np.abs(mean - truth))))
        per["fit_seconds"].append(t1 - t0)
        per["predict_seconds"].append(t2 - t1)
    out: dict[str, Any] = {k: float(np.mean(v)) for k, v in per.items()}
    out.update({
        "per_seed": per, "critic": critic, "space": space_name, "benchmark": benchmark,
        "train_size": train_size, "test_size": used_test, "seeds": seeds,
    })
    return out
