"""Property-based tests (hypothesis) of the built-in spaces' encode/decode/hash invariants.

For ``mlp``, ``cnn``, ``nb201`` and ``nbgraph``: every index sequence ``from_indices``
accepts round-trips through ``to_dict``/``from_dict`` and the JSON form storage keeps;
hashes are stable (across space instances and processes); ``mutate`` changes exactly
one active decision (plus decisions it (de)activates or invalidates) and stays valid;
neighbours are valid, distinct and differ from the architecture; ``sample`` is
deterministic for a seed; for ``nb201`` and ``nbgraph`` equal canonical hashes mean
equal graphs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from archsmith.errors import SpaceError
from archsmith.space import Architecture, SearchSpace, create_space
from archsmith.store import Store

NAMES = ("mlp", "cnn", "nb201", "nbgraph")
_SPACES: dict[str, SearchSpace] = {}
PROPS = settings(max_examples=30, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _space(name: str) -> SearchSpace:
    if name not in _SPACES:
        _SPACES[name] = create_space(name)
    return _SPACES[name]


@st.composite
def arch_of(draw: st.DrawFn, space: SearchSpace) -> Architecture:
    """An architecture from an index sequence drawn entry by entry (rejected if invalid)."""
    raw = [draw(st.integers(0, d.size - 1)) for d in space.decisions]
    try:
        return space.from_indices(raw)
    except SpaceError:
        assume(False)
        raise  # unreachable: assume(False) raises


def _valid(space: SearchSpace, arch: Architecture) -> bool:
    """``arch`` is exactly what ``from_indices`` makes of its own indices."""
    return space.from_indices(arch.indices).indices == arch.indices


def _one_change(space: SearchSpace, old: Architecture, new: Architecture) -> None:
    """``new`` differs from ``old`` in one chosen decision; later differences are forced.

    A later decision may differ only when it was (de)activated by the change or when its
    old value is no longer an allowed choice.
    """
    diff = [i for i, (a, b) in enumerate(zip(old.indices, new.indices, strict=True)) if a != b]
    assert diff, "the architecture did not change"
    first = diff[0]
    assert old.indices[first] >= 0 and new.indices[first] >= 0
    for j in diff[1:]:
        a, b = old.indices[j], new.indices[j]
        if a >= 0 and b >= 0:  # active in both: the old value must have become invalid
            assert not space.choice_mask(j, new.indices)[a], (
                f"decision {space.decisions[j].name} changed without being forced"
            )


# -- encode / decode -----------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
@PROPS
def test_round_trips(name: str, data: st.DataObject) -> None:
    space = _space(name)
    arch = data.draw(arch_of(space))
    assert _valid(space, arch)
    assert all(i == -1 or 0 <= i < d.size for i, d in zip(arch.indices, space.decisions,
                                                          strict=True))
    assert space.from_dict(arch.to_dict()) == arch
    stored = json.loads(json.dumps(arch.to_dict()))  # what the store writes and reads
    back = space.from_dict(stored)
    assert back == arch and back.indices == arch.indices
    assert space.from_dict(json.loads(arch.to_json())) == arch
    assert space.make(arch.values) == arch
    # a rebuilt space (resume) decodes the same architecture with the same hash
    twin = create_space(name, **json.loads(json.dumps(space.config())))
    again = twin.from_dict(stored)
    assert again.indices == arch.indices and again.hash == arch.hash
    vec = space.encode(arch)
    assert vec.shape == (sum(d.size for d in space.decisions),)
    assert int(vec.sum()) == sum(i >= 0 for i in arch.indices)


@pytest.mark.parametrize("name", NAMES)
@given(raw=st.lists(st.integers(-3, 12), min_size=0, max_size=30))
@PROPS
def test_from_indices_rejects_with_space_error(name: str, raw: list[int]) -> None:
    space = _space(name)
    try:
        arch = space.from_indices(raw)
    except SpaceError:
        return
    assert _valid(space, arch)


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data(), key=st.text(min_size=1, max_size=10))
@PROPS
def test_from_dict_is_strict(name: str, data: st.DataObject, key: str) -> None:
    space = _space(name)
    arch = data.draw(arch_of(space))
    d = arch.to_dict()
    if key not in ("space", "decisions"):
        with pytest.raises(SpaceError, match="Unknown key"):
            space.from_dict({**d, key: 1})
    if key not in {dec.name for dec in space.decisions}:
        with pytest.raises(SpaceError, match="no decision"):
            space.from_dict({"space": name, "decisions": {**d["decisions"], key: 1}})


def test_stored_form_round_trips_through_the_store() -> None:
    store = Store("sqlite://")
    sid = store.create_search("spaces", {}, "fp")
    archs: list[Architecture] = []
    for k, name in enumerate(NAMES):
        space = _space(name)
        rng = np.random.default_rng(k)
        for _ in range(25):
            arch = space.sample(rng)
            store.start_trial(sid, len(archs), arch.to_dict(), arch.hash)
            archs.append(arch)
    rows = store.trials(sid)
    assert [r.number for r in rows] == list(range(len(archs)))
    for row, arch in zip(rows, archs, strict=True):
        back = arch.space.from_dict(row.arch)
        assert back == arch and row.hash == back.hash
    store.close()


# -- hashes --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
@PROPS
def test_hash_is_stable(name: str, data: st.DataObject) -> None:
    space = _space(name)
    arch = data.draw(arch_of(space))
    h = arch.hash
    assert isinstance(h, str) and 0 < len(h) <= 64  # the store's hash column
    assert space.canonical_hash(arch) == h
    assert space.from_indices(arch.indices).hash == h
    assert create_space(name, **space.config()).from_dict(arch.to_dict()).hash == h


def test_hash_does_not_depend_on_the_process() -> None:
    """Hashes are content digests, not Python's per-process ``hash()``."""
    archs = {n: [_space(n).sample(np.random.default_rng(s)) for s in range(10)] for n in NAMES}
    code = (
        "import json, sys\n"
        "from archsmith.space import create_space\n"
        "data = json.loads(sys.stdin.read())\n"
        "print(json.dumps({n: [create_space(n).from_dict(a).hash for a in arcs]\n"
        "                  for n, arcs in data.items()}))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps({n: [a.to_dict() for a in v]
                                                         for n, v in archs.items()}),
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )
    assert json.loads(out.stdout) == {n: [a.hash for a in v] for n, v in archs.items()}


@st.composite
def collapsing_pair(draw: st.DrawFn, name: str) -> tuple[Architecture, Architecture]:
    """Two architectures over few ops, so that equal hashes are frequent."""
    space = _space(name)
    if name == "nb201":
        ops = st.sampled_from([0, 1, 4])  # none, skip_connect, avg_pool_3x3
        make = lambda: [draw(ops) for _ in range(6)]  # noqa: E731
    else:
        few = [space.decisions[1].index(o) for o in ("skip", "fc")
               if o in space.decisions[1].choices]
        make = lambda: [draw(st.integers(0, space.decisions[0].size - 1)),  # noqa: E731
                        *(draw(st.sampled_from(few)) for _ in range(4))]
    try:
        return space.from_indices(make()), space.from_indices(make())
    except SpaceError:
        assume(False)
        raise


@pytest.mark.parametrize("name", ["nb201", "nbgraph"])
@given(data=st.data())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_equal_hash_means_equal_graph(name: str, data: st.DataObject) -> None:
    a, b = data.draw(collapsing_pair(name))
    if a.hash == b.hash:
        assert a.graph == b.graph
    if a.graph == b.graph:
        assert a.hash == b.hash


@pytest.mark.parametrize("name", ["nb201", "nbgraph"])
def test_equal_hash_means_equal_graph_on_a_sample(name: str) -> None:
    space = _space(name)
    rng = np.random.default_rng(0)
    graphs: dict[str, set[Any]] = defaultdict(set)
    for _ in range(1500):
        arch = space.sample(rng)
        graphs[arch.hash].add(arch.graph)
    assert all(len(g) == 1 for g in graphs.values())
    assert len(graphs) < 1500  # the sample did contain equivalent architectures


# -- moves -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
@PROPS
def test_mutate_changes_one_decision(name: str, data: st.DataObject, seed: int) -> None:
    space = _space(name)
    arch = data.draw(arch_of(space))
    child = space.mutate(arch, np.random.default_rng(seed))
    assert _valid(space, child)
    _one_change(space, arch, child)
    # deterministic for the generator's state
    assert space.mutate(arch, np.random.default_rng(seed)) == child


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
@PROPS
def test_neighbours_are_valid_and_distinct(name: str, data: st.DataObject) -> None:
    space = _space(name)
    arch = data.draw(arch_of(space))
    nbrs = space.neighbours(arch)
    assert nbrs, "every built-in space has an alternative for some decision"
    assert len(set(nbrs)) == len(nbrs)
    for n in nbrs:
        assert n != arch and _valid(space, n)
        _one_change(space, arch, n)
    assert space.neighbours(arch) == nbrs  # deterministic


@pytest.mark.parametrize("name", NAMES)
@given(seed=st.integers(0, 2**63 - 1))
@PROPS
def test_sample_is_deterministic(name: str, seed: int) -> None:
    space = _space(name)
    a = space.sample(np.random.default_rng(seed))
    b = space.sample(np.random.default_rng(seed))
    assert a == b and a.indices == b.indices and a.hash == b.hash
    assert _valid(space, a)
    many = [space.sample(np.random.default_rng([seed, k])) for k in range(3)]
    assert many == [space.sample(np.random.default_rng([seed, k])) for k in range(3)]
