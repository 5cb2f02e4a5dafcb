"""UserEvaluator: a user's Python function as the evaluator."""

from __future__ import annotations

import hashlib
import pickle
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from archsmith.errors import ConfigError
from archsmith.evaluators import Evaluator
from archsmith.evaluators._user import UserEvaluator
from archsmith.space import Architecture, Decision, SearchSpace

USER_CODE = '''
import math

import numpy as np

from helper_mod import OFFSET


def good(arch, budget):
    width = arch["decisions"]["width"]
    return {"val_acc": OFFSET + width, "params": np.float32(width * 2), "budget": budget or 0}


def raises(arch, budget):
    x = 1
    raise ValueError(f"bad width {arch['decisions']['width']}")


def nan(arch, budget):
    return {"val_acc": math.nan}


def no_objective(arch, budget):
    return {"accuracy": 1.0}


def text_metric(arch, budget):
    return {"val_acc": 1.0, "note": "hello"}


def not_a_dict(arch, budget):
    return 0.5


def one_arg(arch):
    return {}


NOT_CALLABLE = 3
'''


@dataclass
class TinySpace(SearchSpace):
    name = "tiny"

    def _decisions(self) -> list[Decision]:
        return [Decision("width", (8, 16))]


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    (tmp_path / "helper_mod.py").write_text("OFFSET = 50\n")
    path = tmp_path / "my_eval.py"
    path.write_text(textwrap.dedent(USER_CODE))
    return path


@pytest.fixture
def arch() -> Architecture:
    return TinySpace().make({"width": 16})


def test_success(user_file: Path, arch: Architecture) -> None:
    ev = UserEvaluator(f"{user_file}:good")
    assert isinstance(ev, Evaluator) and ev.default_objective == "val_acc"
    ev.check_space(TinySpace())
    result = ev.evaluate(arch, budget=3)
    assert result.ok, result.error
    assert result.metrics == {"val_acc": 66.0, "params": 32.0, "budget": 3.0}
    assert all(type(v) is float for v in result.metrics.values())
    assert result.cost >= 0
    assert str(user_file.parent) not in sys.path  # only added while importing


def test_custom_objective(user_file: Path, arch: Architecture) -> None:
    ev = UserEvaluator(f"{user_file}:no_objective", objective="accuracy")
    assert ev.default_objective == "accuracy"
    assert ev.evaluate(arch).ok


def test_exception_becomes_failure(user_file: Path, arch: Architecture) -> None:
    result = UserEvaluator(f"{user_file}:raises").evaluate(arch)
    assert not result.ok and result.error is not None
    assert result.error.startswith("ValueError: bad width 16")
    assert "my_eval.py, line 16, in raises" in result.error


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("nan", "objective 'val_acc' is not a finite number"),
        ("no_objective", "returned no 'val_acc' metric"),
        ("text_metric", "non-numeric metric 'note': 'hello'"),
        ("not_a_dict", "returned float, but it must return a dict"),
    ],
)
def test_bad_results(user_file: Path, arch: Architecture, function: str, expected: str) -> None:
    result = UserEvaluator(f"{user_file}:{function}").evaluate(arch)
    assert not result.ok and result.error is not None
    assert expected in result.error, result.error


def test_construction_errors(user_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        UserEvaluator(f"{tmp_path / 'nope.py'}:good")
    with pytest.raises(ConfigError, match=r"path/to/file\.py:function"):
        UserEvaluator(str(user_file))
    with pytest.raises(ConfigError, match=r"'missing' is not defined.*good.*raises"):
        UserEvaluator(f"{user_file}:missing")
    with pytest.raises(ConfigError, match="'NOT_CALLABLE' is not callable"):
        UserEvaluator(f"{user_file}:NOT_CALLABLE")
    with pytest.raises(ConfigError, match="must accept two arguments"):
        UserEvaluator(f"{user_file}:one_arg")
    txt = tmp_path / "code.txt"
    txt.write_text("def f(a, b):\n    return {}\n")
    with pytest.raises(ConfigError, match=r"must end in \.py"):
        UserEvaluator(f"{txt}:f")
    broken = tmp_path / "broken.py"
    broken.write_text("def f(a, b):\n    return {\n")
    with pytest.raises(ConfigError, match="SyntaxError"):
        UserEvaluator(f"{broken}:f")
    raising = tmp_path / "raising.py"
    raising.write_text("import no_such_module_xyz\n")
    with pytest.raises(ConfigError, match=r"ModuleNotFoundError.*raising\.py, line 1"):
        UserEvaluator(f"{raising}:f")


def test_pickle_reloads_lazily(user_file: Path, arch: Architecture) -> None:
    ev = UserEvaluator(f"{user_file}:good")
    clone = pickle.loads(pickle.dumps(ev))
    assert clone._fn is None
    assert clone.evaluate(arch).metrics == ev.evaluate(arch).metrics


def test_describe(user_file: Path) -> None:
    d = UserEvaluator(f"{user_file}:good").describe()
    assert d["kind"] == "user" and d["spec"] == f"{user_file}:good"
    assert d["sha256"] == hashlib.sha256(user_file.read_bytes()).hexdigest()
