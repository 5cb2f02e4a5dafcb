"""The spaces the conformance suites run plug-ins on, and the space checks."""

from __future__ import annotations

import functools
import json
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from archsmith.space import Decision, FunctionalSpace, create_space
from archsmith.testing._common import run_checks

if TYPE_CHECKING:
    import torch

    from archsmith.space import Architecture, SearchSpace

__all__ = ["check_space", "conformance_spaces", "space_checks", "toy_space"]


def _toy_build(arch: Architecture, input_shape: tuple[int, ...], num_classes: int
               ) -> torch.nn.Module:
    import torch

    width = int(arch["width"])  # type: ignore[arg-type]
    layers: list[torch.nn.Module] = [torch.nn.Flatten(), torch.nn.LazyLinear(width)]
    if arch["act"] == "relu":
        layers.append(torch.nn.ReLU())
    if arch["deep"]:
        layers += [torch.nn.Linear(width, width), torch.nn.Tanh()]
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, num_classes))


def toy_space() -> FunctionalSpace:
    """A small :class:`FunctionalSpace` with a conditional decision (48 architectures)."""
    return FunctionalSpace("conformance-toy", [
        Decision("width", (4, 8, 16, 32)),
        Decision("act", ("relu", "none")),
        Decision("deep", (False, True)),
        Decision("extra", (1, 2, 3), parent="deep", active_if=(True,)),
    ], _toy_build)


def conformance_spaces() -> list[SearchSpace]:
    """A user-defined space and every built-in one (mlp, cnn, nb201, nbgraph)."""
    return [toy_space(), *(create_space(n) for n in ("mlp", "cnn", "nb201", "nbgraph"))]


# -- the checks ------------------------------------------------------------------------
#: Input shapes tried by the build check: a feature vector, a 1-D signal, 2-D images.
SHAPES: tuple[tuple[int, ...], ...] = ((20,), (1, 40), (1, 8, 8), (3, 16, 16))
SAMPLES = 24


def _samples(space: SearchSpace, n: int = SAMPLES, seed: int = 0) -> list[Architecture]:
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


def check_round_trips(space: SearchSpace) -> None:
    """sample → values / dict / indices / encoding → the same architecture."""
    width = None
    for arch in _samples(space):
        assert space.make(arch.values) == arch, f"make(values) changes {arch!r}"
        assert space.from_dict(json.loads(json.dumps(arch.to_dict()))) == arch, (
            f"to_dict/from_dict (through JSON) changes {arch!r}")
        assert space.from_indices(arch.indices) == arch, f"from_indices changes {arch!r}"
        enc = space.encode(arch)
        width = len(enc) if width is None else width
        assert len(enc) == width, "encodings of one space differ in length"
        assert np.all(np.isfinite(enc)), f"non-finite encoding of {arch!r}"


def check_mutation_stays_in_space(space: SearchSpace) -> None:
    """mutate() and neighbours() give valid architectures of the space that differ."""
    rng = np.random.default_rng(1)
    for arch in _samples(space, 8):
        child = space.mutate(arch, rng)
        assert space.make(child.values) == child, f"mutate gives an invalid {child!r}"
        assert child.values != arch.values, f"mutate returned {arch!r} unchanged"
        for nb in space.neighbours(arch)[:10]:
            assert space.make(nb.values) == nb, f"neighbours gives an invalid {nb!r}"


def _hashes_in_subprocess(space: SearchSpace, archs: list[Architecture]) -> list[str]:
    code = ("import pickle, sys\n"
            "space, values = pickle.load(sys.stdin.buffer)\n"
            "print('\\n'.join(space.make(v).hash for v in values))\n")
    payload = pickle.dumps((space, [a.values for a in archs]))
    res = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True,
                         timeout=120, check=False)
    assert res.returncode == 0, f"hashing in a fresh process failed: {res.stderr.decode()}"
    return res.stdout.decode().split()


def check_hash_stable_across_processes(space: SearchSpace) -> None:
    """The canonical hash of an architecture is the same in a fresh Python process."""
    archs = _samples(space, 12, seed=2)
    assert _hashes_in_subprocess(space, archs) == [a.hash for a in archs], (
        "canonical hashes differ between processes (a hash of a Python object id or a "
        "randomised str hash?)")


def check_graph_view(space: SearchSpace) -> None:
    """The graph view is a function of the decisions, with valid nodes and edges."""
    for arch in _samples(space, 12, seed=3):
        g = arch.graph
        assert g.num_nodes >= 2 and all(isinstance(x, str) and x for x in g.labels), (
            f"graph of {arch!r} needs named nodes")
        assert all(0 <= a < g.num_nodes and 0 <= b < g.num_nodes for a, b in g.edges), (
            f"graph of {arch!r} has an edge to a missing node")
        assert space.make(arch.values).graph == g, f"graph of {arch!r} is not deterministic"


def check_build_output_shape(space: SearchSpace) -> None:
    """For each input shape the space accepts, built networks output (batch, classes)."""
    import torch

    from archsmith.errors import ArchsmithError

    for shape in SHAPES:
        try:
            space.check_data(shape, 5)
        except ArchsmithError:
            continue  # not a kind of input this space claims
        for arch in _samples(space, 3, seed=4):
            torch.manual_seed(0)
            net = space.build(arch, shape, 5)
            net.eval()
            with torch.no_grad():
                out = net(torch.zeros((2, *shape)))
            assert tuple(out.shape) == (2, 5), (
                f"{arch!r} built for inputs {shape} outputs {tuple(out.shape)}, not (2, 5)")


SPACE_CHECKS: dict[str, Callable[[SearchSpace], None]] = {
    "round_trips": check_round_trips,
    "mutation_stays_in_space": check_mutation_stays_in_space,
    "hash_stable_across_processes": check_hash_stable_across_processes,
    "graph_view": check_graph_view,
    "build_output_shape": check_build_output_shape,
}


def space_checks(space: SearchSpace) -> Iterator[tuple[str, Callable[[], None]]]:
    """``(id, check)`` pairs for ``pytest.mark.parametrize``."""
    for name, fn in SPACE_CHECKS.items():
        yield name, functools.partial(fn, space)


def check_space(space: SearchSpace) -> None:
    """Runs every space check; raises ``AssertionError`` naming the first that fails."""
    run_checks("space", space_checks(space))
