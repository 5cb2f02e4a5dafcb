"""Weight inheritance in a search (``--inherit``): children start from a stored
parent's transformed weights, the store keeps the lineage, checkpoints stay bounded,
resume keeps everything, critics keep the two kinds apart, bad input is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import archsmith
from archsmith import Search, SearchConfig
from archsmith.cli import app
from archsmith.errors import ConfigError
from archsmith.store import Store
from archsmith.strategies import TrialRecord
from archsmith.strategies._scalarise import critic_scores

WINE = {"data": "wine", "space": "mlp", "strategy": "evolution", "epochs": 4,
        "budget": 10, "seed": 1, "inherit": True, "inherit_epochs": 1,
        "strategy_config": {"population_size": 3, "sample_size": 2},
        "space_config": {"max_layers": 2, "widths": [8, 16, 32]}}


def _stored(out: Path) -> tuple[list, dict]:
    store = Store(f"sqlite:///{out / 'archsmith.db'}")
    try:
        sid = store.get_search("default").id  # type: ignore[union-attr]
        return store.trials(sid), store.lineage(sid)
    finally:
        store.close()


def test_evolution_children_inherit_from_the_parent_it_names(tmp_path: Path) -> None:
    out = tmp_path / "run"
    search = Search(SearchConfig(**WINE), out)
    named: dict[str, int | None] = {}
    ask = search.strategy.ask

    def spy(history, n, rng):  # records the parent evolution names for each child
        archs = ask(history, n, rng)
        named.update({a.hash: search.strategy.parent_of(a) for a in archs})
        return archs

    search.strategy.ask = spy  # type: ignore[method-assign]
    summary = search.run()
    assert summary["complete"] == 10
    rows, lineage = _stored(out)
    assert lineage, "no trial inherited"
    by_name = 0
    for row in rows:
        entry = lineage.get(row.number)
        if entry is None:  # from scratch: the full epochs
            assert row.metrics["epochs"] == 4 and "inherited_from" not in row.metrics
            continue
        assert row.metrics["epochs"] == 1
        assert row.metrics["inherited_from"] == entry["parent"]
        if named[row.hash] is not None:  # evolution's tournament winner
            assert entry["parent"] == named[row.hash]
            by_name += 1
        assert entry["moves"] and 1 <= len(entry["moves"]) <= 3
        assert entry["parent"] < row.number
    assert by_name >= 3
    # the records strategies see know which trials inherited
    recs = {r.number: search._record(r) for r in rows}
    assert {n for n, r in recs.items() if r.parent is not None} == set(lineage)
    # weights of at most `keep` trials are kept
    kept = list((out / "checkpoints").glob("trial-*.pt"))
    assert 0 < len(kept) <= search.inheritance.keep  # type: ignore[union-attr]


def test_a_growth_child_starts_with_its_parents_function(tmp_path: Path) -> None:
    """The checkpoint a child starts from computes the parent's outputs when the move
    preserves the function (here: a new layer after the first)."""
    from archsmith import transform as T
    from archsmith._inherit import Inheritance

    cfg = SearchConfig(**{**WINE, "budget": 1, "space_config": {  # residuals always on
        "max_layers": 2, "widths": [8, 16, 32], "residual": [True]}})
    search = Search(cfg, tmp_path / "run")
    search.run()
    rows, _ = _stored(tmp_path / "run")
    parent = search._record(rows[0])
    child = T.deeper(parent.arch, 2, act=parent.arch["act_1"])  # a zero-body skip layer
    inh: Inheritance = search.inheritance  # type: ignore[assignment]
    store = Store(f"sqlite:///{tmp_path / 'run' / 'archsmith.db'}")
    try:
        epochs, path = inh.prepare(5, child, [parent], store, store.get_search("default").id)
    finally:
        store.close()
    assert epochs == 1
    state = torch.load(path, weights_only=True)
    ds = search.evaluator.dataset  # type: ignore[attr-defined]
    x = torch.from_numpy(ds.X_val[:20])
    pnet = parent.arch.space.build(parent.arch, ds.input_shape, ds.num_classes)
    pnet.load_state_dict(inh._weights(parent))
    cnet = child.space.build(child, ds.input_shape, ds.num_classes)
    cnet.load_state_dict(state["net"])
    with torch.no_grad():
        torch.testing.assert_close(cnet.eval()(x), pnet.eval()(x), atol=1e-5, rtol=0)


def test_resume_keeps_lineage_and_the_best_exports_its_own_weights(tmp_path: Path) -> None:
    out = tmp_path / "run"
    Search(SearchConfig(**{**WINE, "budget": 6}), out).run()
    _, before = _stored(out)
    summary = Search.resume(out, budget=10).run()
    rows, after = _stored(out)
    assert len(rows) == 10 and summary["complete"] == 10
    assert all(after[n] == v for n, v in before.items())
    best = summary["best"]
    if best["number"] in after:  # an inherited best keeps its trained weights
        assert best.get("weights")
    model = archsmith.load(out, preprocess=False)  # ds holds standardised data
    ds = Search.resume(out).evaluator.dataset  # type: ignore[attr-defined]
    with torch.no_grad():
        logits = model(torch.from_numpy(ds.X_test))
    acc = 100.0 * float((logits.argmax(1).numpy() == ds.y_test).mean())
    assert acc == pytest.approx(best["final"]["test_acc"], abs=1e-6)


@pytest.mark.parametrize("strategy", ["gc", "local"])
def test_other_strategies_run_with_inheritance(tmp_path: Path, strategy: str) -> None:
    budget = 12 if strategy == "gc" else 8  # gc: 10 random ones first (num_init)
    cfg = SearchConfig(**{**WINE, "strategy": strategy, "strategy_config": {},
                          "budget": budget, "export": False})
    summary = Search(cfg, tmp_path / strategy).run()
    assert summary["complete"] == budget
    _, lineage = _stored(tmp_path / strategy)
    assert lineage


def test_critic_scores_remove_the_inheritance_effect_not_the_architectures_lead() -> None:
    from archsmith.space import create_space

    sp = create_space("mlp")
    a = sp.sample(np.random.default_rng(0))
    scratch = [TrialRecord(i, a, "complete", float(i)) for i in range(3)]
    assert critic_scores(scratch) == [0.0, 1.0, 2.0]
    mixed = [*scratch, TrialRecord(3, a, "complete", 50.0, parent=0),
             TrialRecord(4, a, "complete", 52.0, parent=3)]
    s = critic_scores(mixed)  # one architecture: inherited scores on the scratch scale
    assert np.mean(s[3:]) == pytest.approx(np.mean(s[:3]), abs=1e-6)
    assert s[4] - s[3] == pytest.approx(2.0) and s[:3] == [0.0, 1.0, 2.0]
    # inherited trials are children of the good architecture: they gain 2 points by
    # inheritance, and keep the 20 points their architecture is worth
    rng = np.random.default_rng(1)
    good, bad = [sp.mutate(a, rng) for _ in range(4)], [sp.sample(rng) for _ in range(8)]
    trials = [TrialRecord(i, x, "complete", 90.0 + rng.normal(0, 0.1))
              for i, x in enumerate(good)]
    trials += [TrialRecord(10 + i, x, "complete", 70.0 + rng.normal(0, 0.1))
               for i, x in enumerate(bad)]
    trials += [TrialRecord(20 + i, x, "complete", 92.0 + rng.normal(0, 0.1), parent=i)
               for i, x in enumerate(good)]
    s = critic_scores(trials)
    assert np.mean(s[12:]) == pytest.approx(90.0, abs=0.5)
    assert np.mean(s[:4]) == pytest.approx(90.0, abs=0.1)


def _one_parent(tmp_path: Path) -> tuple[Search, TrialRecord]:
    """A search of wine MLPs and a stored parent: one relu layer of 16 units."""
    from archsmith.evaluators._checkpoint import save_checkpoint

    cfg = SearchConfig(**{**WINE, "budget": 1, "space_config": {
        "max_layers": 3, "widths": [8, 16, 32], "activations": ["relu", "tanh"],
        "norms": ["none"], "residual": [False]}})
    search = Search(cfg, tmp_path / "run")
    search.run()
    arch = search.space.make({"n_layers": 1, "residual": False, "width_1": 16,
                              "act_1": "relu", "norm_1": "none", "dropout_1": 0.0})
    ds = search.evaluator.dataset  # type: ignore[attr-defined]
    torch.manual_seed(0)
    net = search.space.build(arch, ds.input_shape, ds.num_classes)
    inh = search.inheritance
    assert inh is not None
    save_checkpoint(inh.path(100), inh._key(arch), {"net": net.state_dict(), "epoch": 4,
                                                    "curve": [], "seconds": 0.0})
    return search, TrialRecord(100, arch, "complete", 90.0)


def _prepare(search: Search, tmp_path: Path, number: int, child, history) -> tuple[int, str]:
    store = Store(f"sqlite:///{tmp_path / 'run' / 'archsmith.db'}")
    try:
        return search.inheritance.prepare(  # type: ignore[union-attr]
            number, child, history, store, store.get_search("default").id)
    finally:
        store.close()


def test_a_parent_the_strategy_did_not_name_must_be_within_inherit_moves(
        tmp_path: Path) -> None:
    """A named parent is used at any distance; another one only within
    ``inherit_moves`` (1); when the named one cannot give weights, the next is used."""
    from archsmith import transform as T

    search, parent = _one_parent(tmp_path)
    inh = search.inheritance
    assert inh is not None and search.config.inherit_moves == 1
    a = parent.arch
    far = T.set_layer(T.wider(a, 1, 32), 1, act="tanh")  # two moves, function changed
    near = T.set_layer(a, 1, act="tanh")
    assert len(T.moves(a, far)) == 2 and len(T.moves(a, near)) == 1
    search.strategy.parent_of = lambda arch: None  # type: ignore[method-assign]
    assert _prepare(search, tmp_path, 5, far, [parent])[0] == 4  # from scratch
    assert 5 not in inh.lineage
    assert _prepare(search, tmp_path, 6, near, [parent])[0] == 1
    search.strategy.parent_of = lambda arch: parent.number  # type: ignore[method-assign]
    assert _prepare(search, tmp_path, 7, far, [parent])[0] == 1
    assert inh.lineage[7] == {"parent": 100, "moves": T.moves(a, far), "preserving": False}
    # the named parent is listed once when it is also the best one within reach
    assert [p.number for p, _ in inh.choose(near, [parent])] == [100]
    # a named parent without weights gives way to the best one within reach
    other = TrialRecord(101, T.wider(a, 1, 32), "complete", 80.0)
    search.strategy.parent_of = lambda arch: 101  # type: ignore[method-assign]
    assert [p.number for p, _ in inh.choose(near, [parent, other])] == [100]
    assert _prepare(search, tmp_path, 8, near, [parent, other])[0] == 1
    assert inh.lineage[8]["parent"] == 100


def test_an_inherited_child_is_fine_tuned_at_inherit_lr(tmp_path: Path) -> None:
    """The child's checkpoint carries ``inherit_lr``; the evaluator trains it at that
    fraction of its learning rate (here nearly 0: the weights barely move)."""
    from archsmith import transform as T

    search, parent = _one_parent(tmp_path)
    child = T.deeper(parent.arch, 2)
    moved = {}
    for scale in (1.0, 1e-6):
        search.config.inherit_lr = scale
        _, path = _prepare(search, tmp_path, 5, child, [parent])
        start = torch.load(path, weights_only=True)
        assert start["lr_scale"] == scale
        result = search.evaluator.evaluate(child, 1, checkpoint=path)
        assert result.ok and result.metrics["inherited_from"] == parent.number
        end = torch.load(path, weights_only=True)["net"]
        moved[scale] = max(float((end[k].float() - v.float()).abs().max())
                           for k, v in start["net"].items() if v.is_floating_point())
    assert moved[1e-6] < 1e-5 < moved[1.0]


@pytest.mark.parametrize("changing", [1.0, 0.5])
def test_a_child_whose_function_changed_trains_at_inherit_lr_changing(
        tmp_path: Path, changing: float) -> None:
    """``inherit_lr`` fine-tunes only children that compute their parent's function
    (growth); a new activation or a narrower layer trains at ``inherit_lr_changing``
    (default the full rate)."""
    from archsmith import transform as T

    search, parent = _one_parent(tmp_path)
    search.config.inherit_lr = 0.3
    search.config.inherit_lr_changing = changing
    for number, (child, preserving) in enumerate([
            (T.wider(parent.arch, 1, 32), True), (T.deeper(parent.arch, 2), True),
            (T.narrower(parent.arch, 1, 8), False),
            (T.set_layer(parent.arch, 1, act="tanh"), False)], start=5):
        _, path = _prepare(search, tmp_path, number, child, [parent])
        assert search.inheritance.lineage[number]["preserving"] is preserving
        assert torch.load(path, weights_only=True)["lr_scale"] == (
            0.3 if preserving else changing)


def test_inherit_lr_changing_at_its_default_keeps_the_fingerprint() -> None:
    """Searches stored before ``inherit_lr_changing`` trained such children at the full
    rate: at 1.0 the key is left out of the fingerprint, other values enter it."""
    base = SearchConfig(**{**WINE, "budget": 3})
    assert base.fingerprint({}) == SearchConfig(
        **{**WINE, "budget": 3, "inherit_lr_changing": 1}).fingerprint({})
    assert base.fingerprint({}) != SearchConfig(
        **{**WINE, "budget": 3, "inherit_lr_changing": 0.3}).fingerprint({})


@pytest.mark.parametrize(("args", "needle"), [
    (["--benchmark", "nb201/cifar10", "--inherit"], "--inherit needs networks"),
    (["--data", "iris", "--space", "mlp", "--inherit", "--scheduler", "asha"],
     "cannot be combined with --scheduler"),
    (["--data", "iris", "--space", "mlp", "--inherit", "--inherit-epochs", "0"],
     "inherit_epochs must be a positive integer"),
    (["--data", "iris", "--space", "mlp", "--inherit", "--inherit-lr", "0"],
     "inherit_lr must be a number above 0"),
    (["--data", "iris", "--space", "mlp", "--inherit", "--inherit-lr-changing", "-1"],
     "inherit_lr_changing must be a number above 0"),
])
def test_bad_inherit_input_is_a_clear_error(tmp_path: Path, args: list[str],
                                            needle: str) -> None:
    result = CliRunner().invoke(app, ["search", *args, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output


def test_a_search_without_inheritance_keeps_its_fingerprint() -> None:
    cfg = SearchConfig(space="mlp", data="iris", budget=3)
    d = cfg.to_dict()
    for k in SearchConfig.INHERIT_KEYS:
        d.pop(k)
    assert "inherit" not in d
    assert SearchConfig(space="mlp", data="iris", inherit=True).fingerprint({}) != \
        cfg.fingerprint({})


def test_an_inherit_search_stored_before_inherit_lr_resumes_at_the_full_rate(
        tmp_path: Path) -> None:
    """Searches stored before ``inherit_lr`` existed trained inherited children at the
    full rate: they resume with ``inherit_lr = 1`` and keep their fingerprint."""
    import json
    import sqlite3

    out = tmp_path / "old"
    cfg = SearchConfig(**{**WINE, "budget": 3, "inherit_lr": 1.0, "export": False})
    Search(cfg, out).run()
    con = sqlite3.connect(out / "archsmith.db")
    (stored,) = con.execute("select config from archsmith_searches").fetchone()
    old = json.loads(stored)
    del old["inherit_lr"]  # as an earlier version stored it
    con.execute("update archsmith_searches set config = ?", (json.dumps(old),))
    con.commit()
    con.close()
    search = Search.resume(out, budget=5)
    assert search.config.inherit_lr == 1.0
    assert search.run()["complete"] == 5
    assert SearchConfig(**{**WINE, "inherit_lr": 0.3}).fingerprint({}) != \
        SearchConfig(**{**WINE, "inherit_lr": 1.0}).fingerprint({})


def test_gc_names_only_its_elite_edits_one_move_away(tmp_path: Path) -> None:
    """The candidates gc names a parent for (and so expects to inherit, and discounts)
    are one move from that parent; elite edits further away are not named."""
    from archsmith.transform import moves

    cfg = SearchConfig(**{**WINE, "strategy": "gc", "strategy_config": {"num_init": 4},
                          "budget": 6, "export": False})
    search = Search(cfg, tmp_path / "gc")
    gc = search.strategy
    rounds: list[tuple[list, dict[str, int], list]] = []
    candidates = gc._candidates  # type: ignore[attr-defined]

    def spy(done, seen, sampled, rng):  # records each round's pool and named parents
        pool = candidates(done, seen, sampled, rng)
        rounds.append((pool, dict(gc._parents), list(done)))  # type: ignore[attr-defined]
        return pool

    gc._candidates = spy  # type: ignore[attr-defined]
    assert search.run()["complete"] == 6
    assert rounds
    unnamed_edits = 0
    for pool, parents, done in rounds:
        assert parents, "gc named no parent"
        by_number = {t.number: t.arch for t in done}
        by_hash = {a.hash: a for a in pool}
        for h, number in parents.items():
            assert len(moves(by_number[number], by_hash[h])) == 1
        best = max(done, key=lambda t: t.score)
        for a in search.space.neighbours(best.arch):
            a = gc._canon(a)  # type: ignore[attr-defined]
            if a.hash in by_hash and len(moves(best.arch, a)) != 1:
                unnamed_edits += a.hash not in parents
    assert unnamed_edits > 0


@pytest.mark.parametrize("share", [0.0, 0.5, 1.0])
def test_gc_reserves_inherit_share_of_its_picks_for_named_elite_edits(share: float) -> None:
    """Once the history holds an inherited trial, ``inherit_share`` of gc's picks are
    named elite edits (they will inherit); before that, and at 0, none are reserved."""
    from archsmith.space import create_space
    from archsmith.strategies import create_strategy

    space = create_space("mlp", max_layers=2, widths=(8, 16, 32))
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(6)]
    done = [TrialRecord(i, a, "complete", float(60 + 5 * i), {"epochs": 4.0})
            for i, a in enumerate(archs)]

    def picks(share: float, history: list[TrialRecord], seed: int) -> list:
        gc = create_strategy("gc", space, num_init=4, policy_samples=64,
                             inherit_share=share, critic="gp")
        out = gc._round(history, history, {t.arch.hash for t in history}, 2,  # type: ignore[attr-defined]
                        np.random.default_rng(seed))
        return [(a.hash, a.hash in gc._parents) for a in out]  # type: ignore[attr-defined]

    # no inherited trial yet: nothing is reserved, the picks are those of share 0
    assert picks(share, done, 0) == picks(0.0, done, 0)
    done.append(TrialRecord(6, space.neighbours(archs[5])[0], "complete", 70.0,
                            {"epochs": 1.0}, parent=5))
    named = sum(n for seed in range(4) for _, n in picks(share, done, seed))
    assert named >= int(8 * share)  # 1 of 2 picks a round at 0.5, both at 1.0


def test_gc_inherit_share_is_checked() -> None:
    from archsmith.space import create_space
    from archsmith.strategies import create_strategy

    with pytest.raises(ConfigError, match="inherit_share must be a number from 0 to 1"):
        create_strategy("gc", create_space("mlp"), inherit_share=1.5)


def test_eas_grows_the_best_network_by_preserving_moves(tmp_path: Path) -> None:
    cfg = SearchConfig(**{**WINE, "strategy": "eas", "strategy_config": {}, "budget": 6,
                          "space_config": {"max_layers": 3, "widths": [8, 16, 32, 64]},
                          "export": False})
    search = Search(cfg, tmp_path / "eas")
    assert search.run()["complete"] == 6
    rows, lineage = _stored(tmp_path / "eas")
    first = search.space.compact(search.space.from_dict(rows[0].arch))
    assert first == "8·relu·bn"  # the seed network: one layer of the smallest width
    assert set(lineage) == {1, 2, 3, 4, 5}
    grown = [e for e in lineage.values() if e["preserving"]]
    assert len(grown) >= 3
    # growth moves (or, when its samples are all seen, a random mutation: a dropout
    # change also preserves the function in eval mode)
    assert all(m.split()[0] in ("wider", "insert", "dropout") for e in grown
               for m in e["moves"])
    assert sum(m.split()[0] in ("wider", "insert") for e in grown for m in e["moves"]) >= 3
    state = search.strategy.state_dict()
    assert "controller" in state and state["baseline"] is not None


def test_show_json_lists_each_trials_parent_and_moves(tmp_path: Path) -> None:
    import json

    out = tmp_path / "run"
    Search(SearchConfig(**{**WINE, "budget": 8, "export": False}), out).run()
    shown = json.loads(CliRunner().invoke(app, ["show", str(out), "--json"]).output)
    _, lineage = _stored(out)
    got = {t["number"]: t["inherited"] for t in shown["trials"] if t["inherited"]}
    assert got == {n: {**v} for n, v in lineage.items()} and got


def test_eas_widens_a_residual_run_once() -> None:
    from archsmith.space import create_space
    from archsmith.strategies import create_strategy

    sp = create_space("mlp", widths=(16, 32), residual=(True,), max_layers=3)
    eas = create_strategy("eas", sp, seed=0)
    parent = sp.make({"n_layers": 2, "residual": True, "width_1": 16, "act_1": "relu",
                      "norm_1": "none", "dropout_1": 0.0, "width_2": 16, "act_2": "relu",
                      "norm_2": "none", "dropout_2": 0.0})
    hist = [TrialRecord(0, parent, "complete", 50.0, metrics={"val_acc": 50.0})]
    for i in range(30):  # widening both layers of the run never asks for a third step
        child = eas.ask(hist, 1, np.random.default_rng(i))[0]
        assert child.space.name == "mlp"


def test_n2n_remembers_the_teachers_size_once_seen() -> None:
    from archsmith.space import create_space
    from archsmith.strategies import create_strategy

    sp = create_space("mlp", max_layers=2)
    n2n = create_strategy("n2n", sp, seed=0, removal_trials=2)
    teacher = n2n.teacher_arch  # type: ignore[attr-defined]
    n2n.tell([TrialRecord(0, teacher, "complete", 90.0,
                          metrics={"val_acc": 90.0, "params": 1000.0})])
    small = n2n.ask([TrialRecord(0, teacher, "complete", 90.0)], 1,
                    np.random.default_rng(0))[0]
    rec = TrialRecord(1, small, "complete", 90.0, metrics={"val_acc": 90.0, "params": 200.0})
    assert n2n.reward(rec, *n2n._reference([rec])) == pytest.approx(0.8 * 1.2)  # type: ignore[attr-defined]


@pytest.mark.parametrize("insert_pool", [True, False])
def test_eas_inserts_pooling_stages_only_when_allowed(insert_pool: bool) -> None:
    from archsmith.space import create_space
    from archsmith.strategies import create_strategy
    from archsmith.transform import layer_specs

    sp = create_space("cnn")
    eas = create_strategy("eas", sp, seed=0, insert_pool=insert_pool)
    seed = eas.ask([], 1, np.random.default_rng(0))[0]
    hist = [TrialRecord(0, seed, "complete", 50.0, metrics={"val_acc": 50.0})]
    pools = set()
    for i in range(40):
        child = eas.ask(hist, 1, np.random.default_rng(i))[0]
        if eas.pending.get(child.hash) is None:  # type: ignore[attr-defined]
            continue  # the fallback's random mutation, not the controller's action
        pools |= {s["pool"] for s in layer_specs(child)[1:]}
    assert ("max" in pools or "avg" in pools) == insert_pool
    assert "none" in pools


def test_eas_resumes_a_controller_saved_before_stages_could_pool() -> None:
    from archsmith.space import create_space
    from archsmith.strategies import create_strategy

    sp = create_space("cnn")
    old = create_strategy("eas", sp, seed=0, insert_pool=False)
    seed = old.ask([], 1, np.random.default_rng(0))[0]
    hist = [TrialRecord(0, seed, "complete", 50.0, metrics={"val_acc": 50.0})]
    child = old.ask(hist, 1, np.random.default_rng(1))[0]
    state = old.state_dict()
    new = create_strategy("eas", sp, seed=0)  # today's default: insert_pool=True
    new.load_state_dict(state)
    assert new.insert_pool is False  # type: ignore[attr-defined]
    again = new.ask(hist, 1, np.random.default_rng(1))[0]
    assert again.hash == child.hash  # the same controller proposes the same child
    with pytest.raises(ConfigError, match="insert_pool"):
        create_strategy("eas", sp, insert_pool="yes")
