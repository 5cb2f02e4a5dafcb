"""The multi-fidelity search loop: a scheduler picks the job, the strategy proposes.

Each time a worker is free the scheduler (:mod:`archsmith.schedulers`) says whether to
continue a trial to its next rung or to start a new one at the lowest rung; a new one
is asked of the strategy. Every rung result is stored (``archsmith_rungs``) with the
trial's row brought up to date, then reported to the scheduler and told to the
strategy, whose state and the scheduler's are saved together after each result — so a
``kill -9`` of the driver loses at most the rungs in flight, and ``resume`` hands the
same jobs out again. A promoted trial continues from its checkpoint under
``OUT/checkpoints/`` (evaluators that declare ``continues``); checkpoints of trials
that can no longer be promoted are deleted, and the least promising paused ones go
when they would take more than ``checkpoint_mb``.

``budget`` counts full trainings: ``budget × epochs`` epochs across all rungs.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from archsmith._objectives import check_metrics, infeasible_before_training
from archsmith.errors import ConfigError
from archsmith.evaluators._base import EvalResult, MultiFidelity, TabularBenchmark
from archsmith.schedulers import Job, Scheduler, create_scheduler, rung_targets
from archsmith.store import RungRow, TrialRow
from archsmith.strategies import TrialRecord

if TYPE_CHECKING:
    from archsmith.search import ProgressFn, Search
    from archsmith.space import Architecture
    from archsmith.store import Store

__all__ = ["CHECKPOINT_DIR", "ScheduledRun", "make_scheduler", "run_scheduled"]

#: Folder of the checkpoints of paused trials, inside the search's folder.
CHECKPOINT_DIR = "checkpoints"
#: New proposals in a row that were all duplicates before the search gives up asking.
MAX_DUPLICATES = 200


def make_scheduler(search: Search) -> Scheduler | None:
    """The search's scheduler, or ``None``; refuses evaluators without a budget.

    Raises:
        ConfigError: Naming the fix (a tabular benchmark, an evaluator without a
            ``fidelity``, no ``epochs``, bad rung settings).
    """
    cfg = search.config
    if cfg.scheduler is None:
        return None
    ev = search.evaluator
    if isinstance(ev, TabularBenchmark) or cfg.source == "benchmark":
        raise ConfigError(
            f"--scheduler {cfg.scheduler} needs an evaluator that trains: the tabular "
            f"benchmark {cfg.benchmark or type(ev).__name__!r} records only final results, "
            "no learning curves, and archsmith does not invent them. Use --scheduler none "
            "(the default) with a benchmark, or --data for real training.")
    if not isinstance(ev, MultiFidelity):
        raise ConfigError(
            f"--scheduler {cfg.scheduler} needs an evaluator whose budget can grow (epochs); "
            f"{type(ev).__name__} declares no `fidelity`. Give it the attributes of "
            "archsmith.evaluators.MultiFidelity, or use --scheduler none.")
    if cfg.epochs is None:
        raise ConfigError(f"--scheduler {cfg.scheduler} needs --epochs (the budget of the "
                          "top rung, e.g. --epochs 20).")
    return create_scheduler(cfg.scheduler, min_budget=cfg.min_epochs, max_budget=cfg.epochs,
                            eta=cfg.eta)


@dataclass
class _Running:
    job: Job
    number: int
    arch: Architecture
    start_from: int  # budget the trial continues from (0: from scratch)
    attempts: int = 0


class ScheduledRun:
    """One run (start or resume) of a search with a scheduler; see the module doc."""

    def __init__(self, search: Search, store: Store, sid: int,
                 progress: ProgressFn | None) -> None:
        assert search.scheduler is not None
        self.search, self.store, self.sid, self.progress = search, store, sid, progress
        self.cfg = search.config
        self.sched: Scheduler = search.scheduler
        self.ckpt_dir = search.out / CHECKPOINT_DIR
        self.continues = bool(getattr(search.evaluator, "continues", False))
        self.limit = float(self.cfg.budget * (self.cfg.epochs or 1))
        self.running: dict[int, _Running] = {}
        self.errors: list[str | None] = []
        self.peak_bytes = 0
        self._archs: dict[int, Architecture] = {}

    # -- state --------------------------------------------------------------------------
    def _load(self) -> None:
        s = self.search
        self.rerun = self.store.drop_running(self.sid)
        self.rows: dict[int, TrialRow] = {r.number: r for r in self.store.trials(self.sid)}
        self.rungs: dict[int, dict[int, RungRow]] = {}
        for r in self.store.rungs(self.sid):
            self.rungs.setdefault(r.number, {})[r.rung] = r
        saved = self.store.load_strategy_state(self.sid) or {}
        told: set[str] = set()
        if saved:
            s.strategy.load_state_dict(saved.get("strategy", {}))
            self.sched.load_state_dict(saved["scheduler"])
            told = set(saved.get("told_rungs", []))
            self.peak_bytes = int(saved.get("checkpoint_peak_bytes", 0))
        late = [r for n in sorted(self.rungs) for r in self.rungs[n].values()
                if f"{r.number}:{r.budget}" not in told]
        for r in late:  # stored after the last saved state (kill -9): judge them now
            self.sched.report(r.number, r.budget, self._raw(r))
        self.sched.forget_pending()  # jobs in flight when it stopped are handed out again
        self.told = told | {f"{r.number}:{r.budget}" for r in late}
        if late:
            s.strategy.tell(self._records({r.number for r in late}))
        self._strategy_state = s.strategy.state_dict()
        self.spent = sum(r.trained for rs in self.rungs.values() for r in rs.values())
        self._tidy_checkpoints()

    def _save(self, strategy: bool = True) -> None:
        """Saves the scheduler's state with the strategy's (``strategy=False``: with the
        strategy's state as of the last result, as when a job starts — a resume then
        asks again from there, as the uninterrupted run did)."""
        if strategy:
            self._strategy_state = self.search.strategy.state_dict()
        self.store.save_strategy_state(self.sid, {
            "strategy": self._strategy_state,
            "scheduler": self.sched.state_dict(), "told_rungs": sorted(self.told),
            "checkpoint_peak_bytes": self.peak_bytes,
        })

    def _arch(self, n: int) -> Architecture:
        if n not in self._archs:
            self._archs[n] = self.search.space.from_dict(self.rows[n].arch)
        return self._archs[n]

    def _raw(self, r: RungRow) -> float | None:
        """The rung result's score (``None``: failed or infeasible, never promoted)."""
        s = self.search
        ok = r.state == "complete" and s.objective in r.metrics
        return s._score(r.metrics) if ok and s.objectives.violation(r.metrics) == 0 else None

    def _raw_scores(self) -> dict[int, dict[int, float]]:
        """``trial → rung → score`` of every successful rung result."""
        return {n: {k: v for k, r in rs.items() if (v := self._raw(r)) is not None}
                for n, rs in self.rungs.items()}

    # -- what strategies see --------------------------------------------------------------
    def _records(self, only: set[int] | None = None) -> list[TrialRecord]:
        """Every stored trial as the strategy sees it (calibrated or top-only scores)."""
        budgets = self.sched.budgets
        raw = self._raw_scores()
        calibrated = rung_targets(raw, len(budgets))
        out = []
        for n in sorted(self.rows) if only is None else sorted(only):
            row = self.rows[n]
            if row.state == "running":
                continue  # a new trial in flight: the caller lists it as running
            arch = self._arch(n)
            src = row.cached_from if row.cached_from is not None else n
            scores = raw.get(src, {})
            if not scores:  # failed, or infeasible (its violation says so)
                out.append(TrialRecord(
                    number=n, arch=arch, state="failed", metrics=row.metrics,
                    max_budget=budgets[-1],
                    violation=self.search.objectives.violation(row.metrics, partial=True)
                    if self.search.objectives.constraints and row.metrics else 0.0))
                continue
            k = max(scores)
            top_only = self.cfg.rung_targets == "top" and k < len(budgets) - 1
            out.append(TrialRecord(
                number=n, arch=arch, state="pruned" if top_only else "complete",
                score=None if top_only else calibrated[src], metrics=row.metrics,
                budget=budgets[k], rungs={budgets[j]: v for j, v in scores.items()},
                max_budget=budgets[-1]))
        return out

    # -- checkpoints ----------------------------------------------------------------------
    def _ckpt(self, number: int) -> Path:
        return self.ckpt_dir / f"trial-{number}.pt"

    def _tidy_checkpoints(self) -> None:
        """Deletes checkpoints of trials that cannot go on; keeps the rest under the cap."""
        if not self.ckpt_dir.is_dir():
            return
        paused: list[tuple[int, float, int, Path, int]] = []
        total = 0
        for f in self.ckpt_dir.glob("trial-*.pt"):
            try:
                n, size = int(f.stem.split("-")[1]), f.stat().st_size
            except (ValueError, OSError):
                continue
            if n in self.running:
                total += size
                continue
            if not self.sched.promotable(n):
                f.unlink(missing_ok=True)
                continue
            k = self.sched.rung_reached(n) or 0
            paused.append((k, self.sched.results[k].get(n, float("-inf")), n, f, size))
            total += size
        self.peak_bytes = max(self.peak_bytes, total)
        cap = self.cfg.checkpoint_mb * 1e6
        for _k, _score, _n, f, size in sorted(paused):  # lowest rung, worst score first
            if total <= cap:
                break
            f.unlink(missing_ok=True)
            total -= size

    # -- jobs -----------------------------------------------------------------------------
    def _free_number(self) -> int:
        used = set(self.rows) | {r.number for r in self.running.values()}
        n = 0
        while n in used:
            n += 1
        return n

    def _cost(self, job: Job) -> tuple[int, float]:
        """(budget it continues from, budget units it trains)."""
        start = 0
        if job.trial is not None and self.continues and self._ckpt(job.trial).is_file():
            start = self.sched.budgets[job.rung - 1]
        return start, float(job.budget - start)

    def _submit(self, run: _Running) -> None:
        ckpt = str(self._ckpt(run.number)) if self.continues else None
        self.search.executor.submit(run.number, self.search.evaluator, run.arch,
                                    run.job.budget, self.cfg.trial_timeout, checkpoint=ckpt)

    def _start(self, job: Job) -> bool:
        """Starts ``job`` if the budget allows; ``False`` when the budget is spent."""
        start, cost = self._cost(job)
        committed = self.spent + sum(r.job.budget - r.start_from for r in self.running.values())
        if committed + cost > self.limit + 1e-9:
            return False
        s = self.search
        if job.trial is not None and job.rung in self.rungs.get(job.trial, {}):
            # stored already (a state older than the store): record it, train nothing
            self.sched.start(job, job.trial)
            self.sched.report(job.trial, job.budget, self._raw(self.rungs[job.trial][job.rung]))
            return True
        if job.trial is not None:
            number, arch = job.trial, self._arch(job.trial)
        else:
            number = self._free_number()
            running = [TrialRecord(number=r.number, arch=r.arch, state="running")
                       for r in self.running.values() if r.job.trial is None]
            rng = np.random.default_rng([self.cfg.seed, number])
            arch = s.strategy.ask(self._records() + running, 1, rng)[0]
            done = next((r for r in self.rows.values() if r.hash == arch.hash
                         and r.cached_from is None and r.state == "complete"
                         and r.number in self.rungs), None)
            self.store.start_trial(self.sid, number, arch.to_dict(), arch.hash, job.budget)
            self.rows[number] = TrialRow(number=number, arch=arch.to_dict(), hash=arch.hash,
                                         state="running", budget=job.budget)
            self._archs[number] = arch
            if done is not None:  # a duplicate: answered from storage, nothing trained
                self._duplicate(number, done)
                return True
            infeasible = infeasible_before_training(s.objectives, s.evaluator, arch)
            if infeasible is not None:  # no epoch spent on a network that cannot fit
                self._infeasible(number, infeasible)
                return True
            self.duplicates = 0
            self._ckpt(number).unlink(missing_ok=True)  # a number freed by a crash
        self.sched.start(job, number)
        self._save(strategy=False)  # the job is the scheduler's: a crash cannot lose it
        run = _Running(job, number, arch, start)
        self.running[number] = run
        self._submit(run)
        return True

    def _duplicate(self, number: int, done: TrialRow) -> None:
        self.store.finish_trial(self.sid, number, "complete", metrics=dict(done.metrics),
                                curve=list(done.curve), cost=0.0, cached_from=done.number)
        self.rows[number] = _cached_row(number, done)
        self.duplicates += 1
        rec = self._records({number})[0]
        self.search.strategy.tell([rec])
        self._save()
        self._emit("trial", record=rec, error=None, cached=True)

    def _infeasible(self, number: int, result: EvalResult) -> None:
        """Stores a trial rejected before training (a failure with its violation)."""
        self.store.finish_trial(self.sid, number, "failed", metrics=result.metrics,
                                error=result.error, cost=0.0)
        self.rows[number] = replace(self.rows[number], state="failed",
                                    metrics=result.metrics, error=result.error)
        self.duplicates += 1  # many in a row: the strategy proposes nothing that fits
        self.errors.append(result.error)
        rec = self._records({number})[0]
        self.search.strategy.tell([rec])
        self._save()
        self._emit("trial", record=rec, error=result.error, cached=False)

    def _finish(self, number: int, result: EvalResult) -> None:
        run = self.running.pop(number)
        result = check_metrics(result, self.search.objectives)
        trained = float(run.job.budget - run.start_from)
        row = RungRow(number=number, rung=run.job.rung, budget=run.job.budget,
                      state="complete" if result.ok else "failed", metrics=result.metrics,
                      curve=result.curve, error=result.error, cost=result.cost,
                      trained=trained)
        self.store.add_rung(self.sid, row)
        self.spent += trained
        self.rungs.setdefault(number, {})[run.job.rung] = row
        old = self.rows[number]  # brought up to date as write_rung stored it
        cost = (old.cost or 0.0) + (result.cost or 0.0)
        if result.ok:
            self.rows[number] = replace(old, state="complete", budget=row.budget,
                                        metrics=row.metrics, curve=row.curve, cost=cost)
        else:
            failed = old.state == "running"
            self.rows[number] = replace(old, state="failed" if failed else old.state,
                                        error=result.error if failed else old.error, cost=cost)
        self.sched.report(number, run.job.budget, self._raw(row))
        self.told.add(f"{number}:{run.job.budget}")
        self.errors.append(None if result.ok else (result.error or "failed"))
        rec = self._records({number})[0]
        self.search.strategy.tell([rec])
        if not result.ok or run.job.rung == self.sched.top:
            self._ckpt(number).unlink(missing_ok=True)
        self._tidy_checkpoints()
        self._save()
        self._emit("trial", record=rec, error=result.error, cached=False,
                   rung=run.job.rung, rung_budget=run.job.budget)

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> str:
        """Runs to the budget; returns the status (``finished``, ``stopped``, ``failed``)."""
        s, cfg = self.search, self.cfg
        self._load()
        if self.continues:  # evaluators write their checkpoints into it
            self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        self.duplicates = 0
        ex = s.executor
        t0 = time.perf_counter()
        deadline = None if cfg.time_budget is None else t0 + cfg.time_budget
        s.time_budget_reached = False
        exhausted = False
        s._emit(self.progress, "start", done=self.spent / (cfg.epochs or 1),
                kept=len(self.rows), rerun=self.rerun, history=self._best_history())
        try:
            while True:
                s._check_lease()
                if deadline is not None and time.perf_counter() >= deadline:
                    s.time_budget_reached = True
                asking = not (exhausted or s.stop_requested or s.time_budget_reached)
                job: Job | None = None
                while asking and len(self.running) < ex.workers:
                    job = self.sched.next_job({n: r.job.rung for n, r in self.running.items()})
                    if job is None:
                        break
                    started = self._start(job)
                    if not started and job.trial is not None and self.sched.asynchronous:
                        # the promotion does not fit the budget left; a new trial may
                        started = self._start(Job(None, self.sched.budgets[0], 0))
                    if not started or self.duplicates >= MAX_DUPLICATES:
                        exhausted = True
                        break
                if not self.running:
                    if asking and not exhausted and job is not None:
                        continue  # e.g. a duplicate answered from storage
                    if asking and not exhausted:
                        raise RuntimeError(f"scheduler {self.sched.name!r} waits with no job "
                                           "running; it would never go on")
                    break
                for number, result in ex.wait():
                    run = self.running[number]
                    if not result.ok and run.attempts < cfg.max_retries:
                        run.attempts += 1
                        s._emit(self.progress, "retry", number=number, error=result.error,
                                attempt=run.attempts)
                        self._submit(run)
                        continue
                    self._finish(number, result)
                    self._check_fail_fast()
        except BaseException:
            ex.cancel()
            raise
        finally:
            ex.close()
        self.elapsed = time.perf_counter() - t0
        if s.abort_reason is not None:
            return "failed"
        return "finished" if exhausted or s.time_budget_reached else "stopped"

    def _check_fail_fast(self) -> None:
        from archsmith._errors_text import fail_fast_reason

        ok = any(self._raw(r) is not None for rs in self.rungs.values() for r in rs.values())
        reason = fail_fast_reason(self.cfg.fail_fast, self.errors, ok)
        if reason is not None and self.search.abort_reason is None:
            self.search.abort_reason = reason
            self.search.stop_requested = True

    # -- results --------------------------------------------------------------------------
    def best(self) -> TrialRecord | None:
        """The best trial trained to the top budget (else at the highest budget reached)."""
        raw = self._raw_scores()
        reached = [max(v) for v in raw.values() if v]
        if not reached:
            return None
        k = max(reached)
        n = max((n for n, v in raw.items() if k in v), key=lambda n: (raw[n][k], -n))
        r = self.rungs[n][k]
        return TrialRecord(number=n, arch=self._arch(n),
                           state="complete", score=raw[n][k], metrics=r.metrics,
                           budget=r.budget)

    def _best_history(self) -> list[TrialRecord]:
        b = self.best()
        return [] if b is None else [b]

    def rung_counts(self) -> list[int]:
        """Results per rung so far."""
        return [len(r) for r in self.sched.results]

    def _emit(self, event: str, **kw: Any) -> None:
        self.search._emit(self.progress, event, done=self.spent / (self.cfg.epochs or 1),
                          rungs=self.rung_counts(), elapsed=0.0, history=self._best_history(),
                          **kw)


def run_scheduled(search: Search, store: Store, sid: int,
                  progress: ProgressFn | None) -> dict[str, Any]:
    """Runs ``search`` (which has a scheduler) to its budget, then exports the best
    trial trained to the top budget; returns :meth:`Search.summary`."""
    from archsmith.search import _LeaseLostError

    search.abort_reason = None
    run = ScheduledRun(search, store, sid, progress)
    try:
        status = run.run()
    except _LeaseLostError:
        raise
    except BaseException:
        store.set_status(sid, "stopped")
        raise
    best = run.best()
    if status == "failed" and best is not None:
        search.abort_reason, status = None, "finished"
    if status == "finished" and best is None:
        from archsmith._errors_text import all_failed

        search.abort_reason = all_failed(len(run.rows), run.errors, search.objectives,
                                         sum(not r.feasible for r in run._records()))
        status = "failed"
    if status == "finished" and best is not None:
        search._emit(progress, "final", record=best)
        store.set_best(sid, search._finalize(best))
    if status == "finished" and not search.time_budget_reached:
        shutil.rmtree(run.ckpt_dir, ignore_errors=True)  # the budget is spent: no promotions
    store.set_status(sid, status)
    summary = search.summary()
    summary["rungs"] = run.rung_counts()
    summary["epochs_trained"] = run.spent
    summary["checkpoint_peak_mb"] = run.peak_bytes / 1e6
    return summary


def _cached_row(number: int, done: TrialRow) -> TrialRow:
    return replace(done, number=number, cached_from=done.number, cost=0.0)
