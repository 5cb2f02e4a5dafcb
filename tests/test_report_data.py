"""The report page's data and file, without a browser: self-contained, downsampled,
every trial present; `show --html` and `report` write it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archsmith._stored import load_stored
from archsmith.cli import app
from archsmith.report._page import CURVE_POINTS, _downsample, page_data, write_report
from archsmith.testing._synthetic import synthetic_search


def test_page_data_of_a_large_search_is_compact_and_complete(tmp_path: Path) -> None:
    info = synthetic_search(tmp_path / "s", trials=600, epochs=45)
    cfg, trials, best, _ = load_stored(str(tmp_path / "s"))
    data = page_data(cfg, trials, best)
    assert len(data["trials"]["number"]) == 600
    assert data["pareto"] == info["pareto"] and data["knee"] == info["knee"]
    assert all(len(c) <= CURVE_POINTS for c in data["curves"].values())
    assert len(data["hypervolume"]) == 600
    assert data["hypervolume"] == sorted(data["hypervolume"])  # the front only grows
    assert set(data["errors"]) == {str(t["number"]) for t in trials if t["state"] == "failed"}
    for decisions in data["trials"]["decisions"]:
        assert len(decisions) == len(data["decisions"])
    page = write_report(tmp_path / "s", tmp_path / "page.html").read_text()
    scripts = re.findall(r"<script[^>]*src=", page)
    assert scripts == []  # nothing loaded from elsewhere
    payload = page.split('<script type="application/json" id="data">')[1].split("</script>")[0]
    assert json.loads(payload)["title"] == data["title"]
    assert "NaN" not in payload and "Infinity" not in payload


def test_downsample_keeps_the_first_and_last_epoch() -> None:
    curve = [{"epoch": float(e), "val_acc": float(e)} for e in range(1, 101)]
    pts = _downsample(curve, "val_acc")
    assert len(pts) == CURVE_POINTS and pts[0] == [1.0, 1.0] and pts[-1] == [100.0, 100.0]


def test_show_html_and_report_write_the_page(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import webbrowser

    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    synthetic_search(tmp_path / "s", trials=30)
    res = CliRunner().invoke(app, ["show", str(tmp_path / "s"), "--html"])
    assert res.exit_code == 0, res.output
    assert opened == [(tmp_path / "s" / "report.html").resolve().as_uri()]
    assert (tmp_path / "s" / "report.html").stat().st_size > 1_000_000
    res = CliRunner().invoke(app, ["report", str(tmp_path / "s"), "--out",
                                   str(tmp_path / "r.html")])
    assert res.exit_code == 0 and (tmp_path / "r.html").exists()
    res = CliRunner().invoke(app, ["report", str(tmp_path / "nothing")])
    assert res.exit_code == 2
