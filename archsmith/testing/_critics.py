"""The conformance checks every critic (performance predictor) passes."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from archsmith.testing._common import assert_rejects_wrong_kinds, round_trip, run_checks

if TYPE_CHECKING:
    from archsmith.critic import Predictor
    from archsmith.space import Architecture, SearchSpace

__all__ = ["CriticFactory", "check_critic", "critic_checks"]

#: Builds a fresh critic for a space (e.g. ``lambda space: create_critic("gp", space)``).
CriticFactory = Callable[["SearchSpace"], "Predictor"]


def _label_weight(label: str) -> float:
    digest = hashlib.sha1(label.encode()).digest()
    return int.from_bytes(digest[:4], "little") / 2**32 - 0.5


def graph_score(arch: Architecture) -> float:
    """A learnable score that is a function of the graph view: a weight per op label,
    summed over the graph's nodes (isomorphic architectures score alike)."""
    return float(sum(_label_weight(x) for x in arch.graph.labels))


def _data(space: SearchSpace, n: int, seed: int) -> tuple[list[Architecture], np.ndarray]:
    """Up to ``n`` distinct architectures (by hash) with their :func:`graph_score`."""
    rng = np.random.default_rng(seed)
    archs: dict[str, Architecture] = {}
    for _ in range(50 * n):
        a = space.sample(rng)
        archs.setdefault(a.hash, a)
        if len(archs) == n:
            break
    out = list(archs.values())
    return out, np.array([graph_score(a) for a in out])


def check_fit_predict_shapes(make: CriticFactory, space: SearchSpace) -> None:
    """predict gives finite means and variances ≥ 0, one per architecture."""
    archs, y = _data(space, 30, 0)
    critic = make(space).fit(archs[:20], y[:20], rng=np.random.default_rng(0))
    mean, var = critic.predict(archs[20:])
    n = len(archs) - 20
    assert np.shape(mean) == (n,) and np.shape(var) == (n,), (
        f"predict returned shapes {np.shape(mean)}, {np.shape(var)} for {n} architectures")
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(var)), "non-finite predictions"
    assert np.all(np.asarray(var) >= 0), "negative predicted variance"


def check_better_than_a_constant(make: CriticFactory, space: SearchSpace) -> None:
    """On a learnable score, held-out predictions beat predicting the training mean."""
    archs, y = _data(space, 80, 1)
    k = len(archs) * 3 // 4
    critic = make(space).fit(archs[:k], y[:k], rng=np.random.default_rng(1))
    mean, _ = critic.predict(archs[k:])
    err = float(np.mean((np.asarray(mean) - y[k:]) ** 2))
    const = float(np.mean((y[:k].mean() - y[k:]) ** 2))
    assert err < const, f"mean squared error {err:.3g} is not below a constant's {const:.3g}"


def check_warm_refit(make: CriticFactory, space: SearchSpace) -> None:
    """A warm-started refit on more data works and still predicts sensibly."""
    archs, y = _data(space, 40, 2)
    critic = make(space).fit(archs[:20], y[:20], rng=np.random.default_rng(2))
    critic.fit(archs[:35], y[:35], rng=np.random.default_rng(3), warm_start=True)
    mean, var = critic.predict(archs[35:])
    assert np.all(np.isfinite(mean)) and np.all(np.asarray(var) >= 0)


def check_state_dict_round_trip(make: CriticFactory, space: SearchSpace) -> None:
    """A fresh critic that loads a fitted one's stored state predicts the same."""
    archs, y = _data(space, 30, 4)
    fitted = make(space).fit(archs[:20], y[:20], rng=np.random.default_rng(4))
    restored = make(space)
    restored.load_state_dict(round_trip(fitted.state_dict()))
    a, b = fitted.predict(archs[20:]), restored.predict(archs[20:])
    assert np.allclose(a[0], b[0], atol=1e-6) and np.allclose(a[1], b[1], atol=1e-6), (
        "a critic restored from state_dict predicts differently")


def check_rejects_wrong_types(make: CriticFactory, space: SearchSpace) -> None:
    """Each constructor argument with a default, given a value of the wrong kind, raises
    :class:`~archsmith.errors.ConfigError` naming it."""
    import inspect

    cls = type(make(space))
    config = {name: p.default for name, p in inspect.signature(cls).parameters.items()
              if name != "space" and p.default is not inspect.Parameter.empty}
    assert_rejects_wrong_kinds(lambda cfg: cls(space, **cfg), config)


CRITIC_CHECKS: dict[str, Callable[[CriticFactory, SearchSpace], None]] = {
    "fit_predict_shapes": check_fit_predict_shapes,
    "better_than_a_constant": check_better_than_a_constant,
    "warm_refit": check_warm_refit,
    "state_dict_round_trip": check_state_dict_round_trip,
    "rejects_wrong_types": check_rejects_wrong_types,
}

#: Checks run on the first space only (the others run on every space).
FIRST_SPACE = ("rejects_wrong_types",)


def critic_checks(make: CriticFactory, spaces: list[SearchSpace]
                  ) -> Iterator[tuple[str, Callable[[], None]]]:
    """``(id, check)`` pairs: every check on every space given (the argument check on
    the first)."""
    for i, space in enumerate(spaces):
        for name, fn in CRITIC_CHECKS.items():
            if i and name in FIRST_SPACE:
                continue
            yield f"{name}[{space.name}]", functools.partial(fn, make, space)


def check_critic(make: CriticFactory, spaces: list[SearchSpace]) -> None:
    """Runs every critic check; raises ``AssertionError`` naming the first that fails."""
    run_checks("critic", critic_checks(make, spaces))
