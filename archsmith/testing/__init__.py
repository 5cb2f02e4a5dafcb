"""Conformance suites every plug-in passes: strategies, spaces, critics, executors,
schedulers.

Public, so that plug-in authors run them on their own classes (as Optuna's
``optuna/testing`` and scikit-learn's ``check_estimator`` do). Each suite gives
``(id, check)`` pairs for ``pytest.mark.parametrize`` and a ``check_*`` function that
runs them all; archsmith's own tests run them over every registered name.

Example:
    >>> from archsmith.strategies import create_strategy
    >>> from archsmith.testing import check_strategy, conformance_spaces
    >>> check_strategy(lambda space: create_strategy("random", space),
    ...                conformance_spaces()[:1])
"""

from __future__ import annotations

from archsmith.testing._critics import CriticFactory, check_critic, critic_checks, graph_score
from archsmith.testing._executors import (
    ExecutorFactory,
    FaultyEvaluator,
    check_executor,
    executor_checks,
)
from archsmith.testing._schedulers import (
    SchedulerFactory,
    check_scheduler,
    scheduler_checks,
    simulate,
)
from archsmith.testing._spaces import check_space, conformance_spaces, space_checks, toy_space
from archsmith.testing._strategies import StrategyFactory, check_strategy, strategy_checks

__all__ = [
    "CriticFactory",
    "ExecutorFactory",
    "FaultyEvaluator",
    "SchedulerFactory",
    "StrategyFactory",
    "check_critic",
    "check_executor",
    "check_scheduler",
    "check_space",
    "check_strategy",
    "conformance_spaces",
    "critic_checks",
    "executor_checks",
    "graph_score",
    "scheduler_checks",
    "simulate",
    "space_checks",
    "strategy_checks",
    "toy_space",
]
