"""Executors run evaluations; the search driver alone writes to storage."""

from __future__ import annotations

from archsmith.executors._inline import InlineExecutor, TrialTimeout, safe_evaluate

__all__ = ["InlineExecutor", "TrialTimeout", "safe_evaluate"]
