"""Shared test fixtures: a toy space and cheap evaluators."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import pytest

from archsmith.evaluators import EvalResult
from archsmith.space import Architecture, Decision, SearchSpace


@dataclass
class ToySpace(SearchSpace):
    """Three decisions; the score is a known function of them."""

    name = "toy"
    width: int = 5

    def _decisions(self) -> list[Decision]:
        return [
            Decision("a", tuple(range(self.width))),
            Decision("b", tuple(range(self.width))),
            Decision("c", ("x", "y")),
        ]

    def build(self, arch: Architecture, input_shape: tuple[int, ...], num_classes: int) -> Any:
        import torch

        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(num_classes))


class ToyEvaluator:
    """Deterministic score; optional failures keyed by trial architecture."""

    default_objective = "val_acc"

    def __init__(self, fail: str | None = None) -> None:
        self.fail = fail
        self.calls = 0

    def check_space(self, space: SearchSpace) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"kind": "toy", "fail": self.fail}

    def evaluate(self, arch: Architecture, budget: int | None = None) -> EvalResult:
        self.calls += 1
        a, b = int(arch["a"]), int(arch["b"])  # type: ignore[arg-type]
        if self.fail == "raise" and a == 0:
            raise RuntimeError("boom on a=0")
        if self.fail == "nan" and a == 1:
            return EvalResult(metrics={"val_acc": math.nan})
        if self.fail == "hang" and a == 2:
            time.sleep(30)
        if self.fail == "missing" and a == 3:
            return EvalResult(metrics={"other": 1.0})
        score = 50.0 + 10 * a - (b - 2) ** 2 + (5 if arch["c"] == "y" else 0)
        return EvalResult(metrics={"val_acc": score, "params": float(a * 100 + b)}, cost=0.01)


@pytest.fixture
def toy_space() -> ToySpace:
    return ToySpace()
