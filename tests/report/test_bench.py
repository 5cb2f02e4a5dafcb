"""The benchmark harness: files, curves, determinism across workers, name checks."""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from archsmith.errors import ConfigError, UnknownNameError
from archsmith.report import _bench, best_so_far, plot_curves, run_bench

STRATS = ["random", "evolution"]
BUDGET, SEEDS = 20, 2


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], list]:
    out = tmp_path_factory.mktemp("bench1")
    calls: list[tuple[str, int, int]] = []
    res = run_bench("nb201", "nb201/cifar10", STRATS, budget=BUDGET, seeds=SEEDS, out=out,
                    progress=lambda d, c, t: calls.append((d, c, t)))
    return out, res, calls


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_files_and_csv(bench: tuple[Path, dict[str, Any], list]) -> None:
    out, res, _ = bench
    for name in ("results.csv", "summary.md", "curves.png", "summary.json"):
        assert (out / name).is_file(), name
    assert (out / "results.csv").read_text().splitlines()[0] == "strategy,seed,query,best_so_far"
    rows = _rows(out / "results.csv")
    assert len(rows) == len(STRATS) * SEEDS * BUDGET
    for s in STRATS:
        for k in range(SEEDS):
            run = [r for r in rows if r["strategy"] == s and r["seed"] == str(k)]
            assert [int(r["query"]) for r in run] == list(range(1, BUDGET + 1))
            vals = [float(r["best_so_far"]) for r in run]
            assert all(b >= a for a, b in itertools.pairwise(vals))
            assert 9.0 < vals[-1] <= 91.61
    at = res["strategies"]["random"]["at"]
    assert [v["query"] for v in at.values()] == [2, 5, 10, 20]
    final = [float(r["best_so_far"]) for r in rows
             if r["strategy"] == "random" and r["query"] == str(BUDGET)]
    assert at["100%"]["mean"] == pytest.approx(sum(final) / len(final))


def test_summary_and_plot(bench: tuple[Path, dict[str, Any], list]) -> None:
    out, res, calls = bench
    text = (out / "summary.md").read_text()
    for s in STRATS:
        assert f"| {s} |" in text
    assert "mean curve" in text and "optimum" in text
    assert res["optimum"] == pytest.approx(91.6067, abs=1e-3)
    assert res["strategies"]["evolution"]["queries_to_reach"]["evolution"] <= BUDGET
    assert res["plot_backend"] in ("matplotlib", "pillow")
    with Image.open(out / "curves.png") as img:
        img.verify()
    with Image.open(out / "curves.png") as img:
        assert img.format == "PNG" and img.size[0] >= 600
    assert calls[-1][1:] == (len(STRATS) * SEEDS * BUDGET,) * 2


def test_paired_comparison_with_the_reference(bench: tuple[Path, dict[str, Any], list]) -> None:
    out, res, _ = bench
    rows = _rows(out / "results.csv")

    def final(s: str) -> list[float]:
        return [float(r["best_so_far"]) for r in rows
                if r["strategy"] == s and r["query"] == str(BUDGET)]

    diffs = [a - b for a, b in zip(final("random"), final("evolution"), strict=True)]
    d = res["strategies"]["random"]["vs_reference"]["evolution"]
    assert d["diff"] == pytest.approx(sum(diffs) / SEEDS)
    assert d["ahead"] + d["level"] + d["behind"] == SEEDS
    assert d["low"] <= d["diff"] <= d["high"]
    assert "evolution" not in res["strategies"]["evolution"]["vs_reference"]
    assert "seed by seed" in (out / "summary.md").read_text()


def test_workers_do_not_change_results(
    bench: tuple[Path, dict[str, Any], list], tmp_path: Path
) -> None:
    out1, _, _ = bench
    calls: list[int] = []
    run_bench("nb201", "nb201/cifar10", STRATS, budget=BUDGET, seeds=SEEDS, out=tmp_path,
              workers=2, progress=lambda d, c, t: calls.append(c))
    assert (tmp_path / "results.csv").read_text() == (out1 / "results.csv").read_text()
    assert calls[-1] == len(STRATS) * SEEDS * BUDGET


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"strategies": ["random", "no-such-strategy"]}, UnknownNameError),
        ({"strategies": ["random", "nosuch:variant"]}, UnknownNameError),
        ({"benchmark": "nb201/nosuch"}, UnknownNameError),
        ({"space": "nosuch"}, UnknownNameError),
        ({"strategies": ["random", "random"]}, ConfigError),
        ({"budget": 0}, ConfigError),
        ({"strategy_configs": {"evolution": {"population_size": 1}}}, ConfigError),
    ],
)
def test_bad_settings_raise_before_any_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any], error: type
) -> None:
    def no_runs(*a: Any, **k: Any) -> None:
        raise AssertionError("a job started")

    monkeypatch.setattr(_bench, "_run_jobs", no_runs)
    args: dict[str, Any] = {"space": "nb201", "benchmark": "nb201/cifar10",
                            "strategies": ["random", "evolution"], "budget": 5, "seeds": 1,
                            "out": tmp_path / "out"}
    with pytest.raises(error):
        run_bench(**{**args, **kwargs})
    assert not (tmp_path / "out").exists()


def test_best_so_far_respects_direction() -> None:
    assert best_so_far([3.0, 1.0, 2.0], "min") == [3.0, 1.0, 1.0]
    assert best_so_far([3.0, 1.0, 4.0], "max") == [3.0, 3.0, 4.0]
    assert math.isnan(best_so_far([math.nan])[0])


def test_pillow_renderer(tmp_path: Path) -> None:
    curves = {"a": ([50.0, math.nan, 70.0, 80.0], [2.0, math.nan, 1.0, math.nan]),
              "b": ([60.0, 65.0, 66.0, 90.0], [0.0, 1.0, 1.0, 1.0])}
    for direction in ("max", "min"):
        path = tmp_path / f"{direction}.png"
        assert plot_curves(path, curves, optimum=95.0, direction=direction,
                           backend="pillow") == "pillow"
        with Image.open(path) as img:
            assert img.size == (1000, 600)
            colors = img.convert("RGB").getcolors(1 << 20)
            assert colors is not None and len(colors) > 50  # lines, bands, text
