"""The report page in a real browser (headless Chromium over the DevTools protocol):
every view renders with the expected number of points, no console errors, a click on a
Pareto point selects its trial; a screenshot is saved in the test's folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from archsmith._config import SearchConfig
from archsmith.cli import app
from archsmith.report._page import OTHER_CURVES, TOP_CURVES, write_report
from archsmith.search import Search
from archsmith.testing._browser import Chromium, find_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    if find_chromium() is None:
        pytest.skip("the report page test needs a real browser: Debian's chromium is not "
                    "installed (.ci/run installs it with apt-get install chromium)")
    with Chromium(width=1400, height=1000) as b:
        yield b


def _open(browser: Chromium, page: Path) -> dict[str, Any]:
    browser.errors.clear()
    browser.open(page)
    browser.wait_for("document.body.dataset.ready === '1'")
    assert browser.errors == []
    rendered: dict[str, Any] = browser.evaluate("window.archsmithReport.rendered")
    return rendered


def _point_of(browser: Chromium, trace: int, k: int) -> dict[str, float]:
    """Viewport coordinates and trial number of point ``k`` of a front-plot trace."""
    return browser.evaluate(f"""(() => {{
        const gd = document.getElementById('plot-front');
        gd.scrollIntoView({{block: 'center'}});
        const fl = gd._fullLayout, tr = gd._fullData[{trace}], r = gd.getBoundingClientRect();
        return {{x: r.left + fl._size.l + fl.xaxis.l2p(tr.x[{k}]),
                 y: r.top + fl._size.t + fl.yaxis.l2p(tr.y[{k}]), n: tr.customdata[{k}]}};
    }})()""")


def test_multi_objective_page_renders_and_a_pareto_click_selects(
        tmp_path: Path, browser: Chromium) -> None:
    cfg = SearchConfig(benchmark="nb201/cifar10", strategy="nsga2", budget=80, seed=0,
                       objective="val_acc,latency_ms", constraints=["latency_ms<=19"],
                       strategy_config={"population_size": 12})
    summary = Search(cfg, tmp_path / "mo").run()
    page = write_report(tmp_path / "mo")
    assert page == tmp_path / "mo" / "report.html"
    assert "https://" not in page.read_text().split('id="data"')[1]  # data: no URLs to fetch
    r = _open(browser, page)
    data = browser.evaluate("window.archsmithReport.data.trials.state")
    n = len(data)
    assert n == 80
    front = summary["pareto"]
    assert r["front"]["pareto"] == len(front) >= 2
    assert r["front"]["infeasible"] > 0
    feasible = browser.evaluate(
        "window.archsmithReport.data.trials.feasible.filter((f, i) => f && "
        "window.archsmithReport.data.trials.state[i] === 'complete').length")
    assert r["progress"]["trials"] == r["parcoords"]["lines"] == feasible
    assert r["front"]["trials"] + r["front"]["pareto"] == feasible
    assert r["hypervolume"] == 80
    assert r["parcoords"]["dimensions"] == 6 + 1  # nb201's six edges and the objective
    assert r["table"] == {"rows": 80, "shown": 50}
    assert r["graph"]["nodes"] >= 2
    knee = summary["best"]["number"]
    assert browser.evaluate("window.archsmithReport.selected()") == knee
    # a real click on another Pareto point selects that trial
    k = next(k for k, num in enumerate(browser.evaluate(
        "document.getElementById('plot-front')._fullData[2].customdata")) if num != knee)
    pt = _point_of(browser, 2, k)
    browser.click(pt["x"], pt["y"])
    browser.wait_for(f"window.archsmithReport.selected() === {pt['n']}", timeout=10)
    assert f"Selected trial {pt['n']}" in browser.evaluate(
        "document.getElementById('selected-title').textContent")
    # the table filters and sorts
    browser.evaluate("""(() => {const f = document.getElementById('table-filter');
        f.value = 'state=infeasible'; f.dispatchEvent(new Event('input'));})()""")
    infeasible = sum(not f for f in browser.evaluate("window.archsmithReport.data.trials.feasible"))
    assert browser.evaluate("window.archsmithReport.rendered.table.rows") == infeasible
    # the top-N % filter of the parallel coordinates
    browser.evaluate("""(() => {const s = document.getElementById('top-pct');
        s.value = '10'; s.dispatchEvent(new Event('input'));})()""")
    assert browser.evaluate("window.archsmithReport.rendered.parcoords.lines") == max(
        1, -(-feasible * 10 // 100))
    assert browser.errors == []
    shot = browser.screenshot(tmp_path / "report-mo.png")
    assert shot.stat().st_size > 50_000


def test_training_page_draws_learning_curves_pruned_and_failed(
        tmp_path: Path, browser: Chromium) -> None:
    cfg = SearchConfig(data="digits", space="mlp", strategy="random", scheduler="asha",
                       epochs=4, min_epochs=1, eta=2, budget=4, seed=0, export=False,
                       constraints=["params<=150000"])
    Search(cfg, tmp_path / "tr").run()
    out = tmp_path / "page.html"
    res = CliRunner().invoke(app, ["report", str(tmp_path / "tr"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    r = _open(browser, out)
    states = browser.evaluate("window.archsmithReport.data.trials.state")
    curves = browser.evaluate("Object.keys(window.archsmithReport.data.curves).length")
    assert r["curves"]["lines"] == curves <= TOP_CURVES + OTHER_CURVES + len(states)
    assert r["curves"]["pruned"] >= 1  # stopped below the top rung: dashed
    assert r["table"]["rows"] == len(states)
    assert "failed" in states  # rejected before training (params): listed, no curve
    assert browser.errors == []
    browser.screenshot(tmp_path / "report-training.png")


def test_a_5000_trial_page_renders_in_under_3_seconds(tmp_path: Path,
                                                      browser: Chromium) -> None:
    from archsmith.testing._synthetic import synthetic_search

    info = synthetic_search(tmp_path / "big", trials=5000)
    page = write_report(tmp_path / "big")
    browser.errors.clear()
    load = browser.open(page)
    ready = browser.wait_for("document.body.dataset.ready === '1'")
    assert browser.errors == []
    assert load + ready < 3.0, f"loaded in {load:.2f} s, views ready {ready:.2f} s later"
    r = browser.evaluate("window.archsmithReport.rendered")
    ok = 5000 - info["failed"]
    assert r["progress"]["trials"] == ok
    pct = 100 * 1000 // ok  # the best ~1000 lines at first (the slider shows more)
    assert r["parcoords"]["percent"] == pct
    assert r["parcoords"]["lines"] == -(-ok * pct // 100) <= 1000
    assert r["front"]["pareto"] == len(info["pareto"])
    assert r["front"]["trials"] + r["front"]["pareto"] == ok
    assert r["table"] == {"rows": 5000, "shown": 50}
    assert r["curves"]["lines"] <= TOP_CURVES + OTHER_CURVES + len(info["pareto"])
    browser.screenshot(tmp_path / "report-5000.png")
