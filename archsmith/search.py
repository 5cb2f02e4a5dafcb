"""The search driver: ask the strategy, evaluate, store, repeat; then export the best.

The driver is the only writer to storage. Each trial is stored when it starts and
again when it finishes, so a crash loses nothing that finished; :meth:`Search.resume`
drops trials left ``running``, restores the strategy and continues to the budget.
A driver holds the search's lease (:class:`~archsmith.store.Lease`) while it runs, so a
second driver on the same search name is refused with the first one's host and pid
instead of both writing to it.

Example:
    >>> import tempfile
    >>> from archsmith.search import Search, SearchConfig
    >>> cfg = SearchConfig(space="nb201", benchmark="nb201/cifar10", strategy="random",
    ...                    budget=5)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     summary = Search(cfg, out=d).run()
    >>> summary["trials"]
    5
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from archsmith._build import (
    build_evaluator,
    build_space,
    build_strategy,
    check_rebuildable,
    config_diff,
    record_evaluator,
)
from archsmith._config import SearchConfig
from archsmith._errors_text import all_failed as _all_failed
from archsmith._errors_text import fail_fast_reason
from archsmith._fs import make_out_dir
from archsmith._objectives import (
    Objectives,
    check_known_metrics,
    check_metrics,
    check_multi_objective,
    choose_best,
    front_of,
    infeasible_before_training,
    make_record,
)
from archsmith._run_folder import (
    DEFAULT_DB,
    POINTER_FILE,
    POINTER_VERSION,
    check_pointer_matches,
    pointer_storage,
    read_pointer,
    write_atomic,
)
from archsmith.errors import ConfigError
from archsmith.evaluators._base import EvalResult, check_evaluator
from archsmith.store import Lease, Store, TrialRow, safe_url, sqlite_url
from archsmith.strategies import TrialRecord

if TYPE_CHECKING:
    from archsmith.evaluators._base import Evaluator
    from archsmith.executors import Executor
    from archsmith.space import SearchSpace

__all__ = ["POINTER_FILE", "Search", "SearchConfig", "build_evaluator"]

ProgressFn = Callable[[dict[str, Any]], None]


class Search:
    """One stored search.

    Args:
        config: The search configuration.
        out: Output folder (created); holds ``archsmith.db`` and ``best/``.
        storage: SQLAlchemy URL; default SQLite at ``out/archsmith.db``.
        space: A space object to use instead of ``config.space`` (custom spaces).
        evaluator: An evaluator object to use instead of the one ``config`` names.
        executor: An executor object to use instead of the one ``config`` names.
    """

    def __init__(
        self,
        config: SearchConfig,
        out: str | Path,
        storage: str | None = None,
        *,
        space: SearchSpace | None = None,
        evaluator: Evaluator | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.out = Path(out)
        given = evaluator
        self.evaluator = evaluator if evaluator is not None else build_evaluator(config)
        check_evaluator(self.evaluator)  # the contract, once: a missing method named here
        if space is None and config.benchmark:
            # a tabular benchmark knows its space's settings (e.g. nbgraph/proteins' ops)
            from archsmith.evaluators import benchmark_space

            space = benchmark_space(self.evaluator, config.space, config.space_config)
        self.space = space if space is not None else build_space(config)
        self.evaluator.check_space(self.space)
        self.objectives = Objectives.parse(config.objective, config.direction,
                                           config.constraints, self.evaluator.default_objective)
        self.objective, self.direction = self.objectives.primary, self.objectives.directions[0]
        # the stored config is what runs: the space and evaluator objects as given,
        # defaults resolved, so that resume rebuilds exactly this search
        if given is not None:
            config = record_evaluator(config, given)
        self.config = config = dataclasses.replace(
            config,
            space=self.space.name,
            objective=",".join(self.objectives.names),
            direction=",".join(self.objectives.directions),
            epochs=config.epochs or (5 if config.source == "data" else None),
            space_config=self.space.config() if space is not None or not config.space_config
            else config.space_config,
        )
        self.strategy = build_strategy(config, self.space)
        check_multi_objective(self.objectives, self.strategy, config.scheduler)
        check_known_metrics(self.objectives, self.evaluator)
        if executor is None:
            from archsmith.executors import create_executor

            name = config.executor or ("inline" if config.workers == 1 else "process")
            opts = {"address": config.ray_address} if name == "ray" and config.ray_address else {}
            executor = create_executor(name, workers=config.workers, **opts)
        from archsmith.executors import ChecksEvaluator

        if isinstance(executor, ChecksEvaluator):  # e.g. simulated time needs a benchmark
            executor.check_evaluator(self.evaluator)
        self.executor: Executor = executor
        from archsmith._scheduled import make_scheduler

        self.scheduler = make_scheduler(self)
        from archsmith._inherit import make_inheritance

        self.inheritance = make_inheritance(self)
        self._jobs: dict[int, tuple[int | None, str | None]] = {}
        self._storage_url = storage
        self._store: Store | None = None
        self._search_id: int | None = None
        self._lease: Lease | None = None
        self.stop_requested = False
        self.abort_reason: str | None = None

    # -- storage ------------------------------------------------------------------------
    def _open(self) -> tuple[Store, int]:
        """Opens (or creates) the stored search; refuses a folder of another search."""
        make_out_dir(self.out)
        pointer = self.out / POINTER_FILE
        url = self._storage_url
        meta: dict[str, Any] | None = None
        if pointer.exists():
            meta = read_pointer(self.out)
            url = url or meta["storage"]
        url = url or sqlite_url(self.out / DEFAULT_DB)
        store = Store(url)
        fp = self.config.fingerprint(self.evaluator.describe())
        row = store.get_search(self.config.name)
        try:
            if row is not None and meta is not None and url == meta["storage"]:
                check_pointer_matches(self.out, url, meta, row.name, row.fingerprint)
        except ConfigError:
            store.close()
            raise
        if row is None:
            sid = store.create_search(self.config.name, self._stored_config(), fp)
        else:
            if row.fingerprint != fp:
                store.close()
                diff = config_diff(row.config, self._stored_config())
                raise ConfigError(
                    f"{self.out} already holds a different search named "
                    f"{self.config.name!r} (differences: {diff or 'evaluator/data'}). "
                    "Nothing was changed. Choose another --out folder, or run "
                    f"`archsmith resume {self.out}` to continue the stored one."
                )
            sid = row.id
        # one driver per search: a second one (or a stale `resume`) is refused here
        lease = Lease(store, sid, self.config.name)
        try:
            lease.acquire()
        except ConfigError:
            store.close()
            raise
        try:
            if row is not None:  # runtime settings (budget, timeout) may change on resume
                store.set_status(sid, "running")
            # never write a password next to the results: the driver finds it again in
            # PGPASSWORD / ~/.pgpass, or the user gives --storage on resume. A SQLite file
            # inside the folder is named relative to it, so the folder can be moved.
            pointer_data = {"storage": pointer_storage(self.out, url),
                            "name": self.config.name, "fingerprint": fp,
                            "version": POINTER_VERSION}
            if not pointer.exists() or read_pointer(self.out, raw=True) != pointer_data:
                write_atomic(pointer, json.dumps(pointer_data, indent=2) + "\n")
        except BaseException:  # e.g. an unwritable folder: give the search back
            lease.release()
            store.close()
            raise
        self._lease = lease
        return store, sid

    def _stored_config(self) -> dict[str, Any]:
        d = self.config.to_dict()
        kind = type(self.evaluator)
        d["evaluator_info"] = {**self.evaluator.describe(),
                               "class": f"{kind.__module__}.{kind.__qualname__}"}
        return d

    # -- the loop -----------------------------------------------------------------------
    def _score(self, metrics: dict[str, float]) -> float:
        v = float(metrics[self.objective])
        return v if self.direction == "max" else -v

    def _record(self, row: TrialRow) -> TrialRecord:
        return make_record(self.objectives, row.number, self.space.from_dict(row.arch),
                           row.state, row.metrics, parent=self._parent(row.number))

    def _parent(self, number: int) -> int | None:
        return None if self.inheritance is None else self.inheritance.parent(number)

    def _submit(self, number: int, arch: Any, history: list[TrialRecord] | None) -> None:
        """Starts trial ``number`` (a retry, ``history=None``, as its first attempt)."""
        if history is not None:  # with inheritance: from its parent's weights
            self._jobs[number] = (self.config.epochs, None) if self.inheritance is None \
                else self.inheritance.prepare(number, arch, history, self._store,  # type: ignore[arg-type]
                                              self._search_id)  # type: ignore[arg-type]
        budget, ckpt = self._jobs[number]
        self.executor.submit(number, self.evaluator, arch, budget, self.config.trial_timeout,
                             **({} if ckpt is None else {"checkpoint": ckpt}))

    def run(self, progress: ProgressFn | None = None) -> dict[str, Any]:
        """Runs (or continues) the search to its budget and exports the best.

        Returns:
            A summary dict: ``trials``, ``complete``, ``failed``, ``best`` (number, arch,
            metrics, final metrics) and ``out``.
        """
        store, sid = self._open()
        self._store, self._search_id = store, sid
        try:
            return self._run(store, sid, progress)
        finally:
            if self._lease is not None:
                self._lease.release()

    def _check_lease(self) -> None:
        lease = self._lease
        if lease is not None and lease.lost:
            raise _LeaseLostError(
                f"Search {self.config.name!r} was taken over by another driver while this "
                "one could not refresh its lease (storage unreachable or the process "
                f"suspended for over {lease.stale_after:.0f} s). This driver stopped; its "
                "finished trials are stored.")

    def _run(self, store: Store, sid: int, progress: ProgressFn | None) -> dict[str, Any]:
        if self.scheduler is not None:
            from archsmith._scheduled import run_scheduled

            return run_scheduled(self, store, sid, progress)
        cfg = self.config
        rerun = store.drop_running(sid)
        rows = store.trials(sid)
        if self.inheritance is not None:
            self.inheritance.load(store, sid, {r.number for r in rows})
        finished = {r.number: self._record(r) for r in rows}
        self._run_errors: list[str | None] = []
        self.abort_reason = None
        saved = store.load_strategy_state(sid)
        told: set[int] = set()
        if saved:
            self.strategy.load_state_dict(saved.get("strategy", {}))
            told = set(saved.get("told", []))
        late = [finished[n] for n in sorted(finished) if n not in told]
        if late:  # finished after the last saved strategy state (e.g. kill -9)
            self.strategy.tell(late)
            told.update(r.number for r in late)
        self._done_by_hash: dict[str, TrialRow] = {}
        for r in rows:
            if r.state == "complete" and r.hash not in self._done_by_hash:
                self._done_by_hash[r.hash] = r
        free = [n for n in range(cfg.budget) if n not in finished]
        running: dict[int, TrialRecord] = {}
        attempts: dict[int, int] = {}
        t_start = time.perf_counter()
        deadline = None if cfg.time_budget is None else t_start + cfg.time_budget
        self.time_budget_reached = False

        def asking() -> bool:  # new trials are started until the budgets are spent
            if deadline is not None and time.perf_counter() >= deadline:
                self.time_budget_reached = True
            return bool(free) and not self.stop_requested and not self.time_budget_reached
        self._emit(progress, "start", done=len(finished), rerun=rerun,
                   history=list(finished.values()))
        executor = self.executor
        try:
            while asking() or running:
                self._check_lease()
                while len(running) < executor.workers and asking():
                    number = free.pop(0)
                    history = [finished[n] for n in sorted(finished)] + list(running.values())
                    rng = np.random.default_rng([cfg.seed, number])
                    arch = self.strategy.ask(history, 1, rng)[0]
                    store.start_trial(sid, number, arch.to_dict(), arch.hash, cfg.epochs)
                    running[number] = TrialRecord(number=number, arch=arch, state="running")
                    cached = self._done_by_hash.get(arch.hash)
                    if cached is not None:
                        res = EvalResult(metrics=dict(cached.metrics), cost=0.0,
                                         curve=list(cached.curve))
                        self._finish(number, running.pop(number), res, cached.number,
                                     finished, told, progress, t_start)
                    elif (bad := infeasible_before_training(
                            self.objectives, self.evaluator, arch)) is not None:
                        self._finish(number, running.pop(number), bad, None,
                                     finished, told, progress, t_start)
                    else:
                        self._submit(number, arch, history)
                if running:
                    for number, res in executor.wait():
                        res = check_metrics(res, self.objectives)
                        if not res.ok and attempts.get(number, 0) < cfg.max_retries:
                            attempts[number] = attempts.get(number, 0) + 1
                            self._emit(progress, "retry", number=number, error=res.error,
                                       attempt=attempts[number])
                            self._submit(number, running[number].arch, None)
                            continue
                        self._finish(number, running.pop(number), res, None,
                                     finished, told, progress, t_start)
                        self._check_fail_fast(finished)
        except _LeaseLostError:  # the search is another driver's now: leave it alone
            executor.cancel()
            raise
        except BaseException:  # Ctrl-C, SIGTERM, or an executor that cannot start
            executor.cancel()
            store.drop_running(sid)
            store.set_status(sid, "stopped")
            raise
        finally:
            executor.close()
        if self.abort_reason is not None and any(r.complete for r in finished.values()):
            self.abort_reason = None  # a trial that was running when it stopped completed
        if self.abort_reason is not None:
            store.set_status(sid, "failed")
            return self.summary()
        if len(finished) < cfg.budget and not self.time_budget_reached:
            store.set_status(sid, "stopped")
            return self.summary()
        if not any(r.complete for r in finished.values()):
            self.abort_reason = _all_failed(
                len(finished), self._run_errors, self.objectives,
                sum(not r.feasible for r in finished.values()))
            store.set_status(sid, "failed")
            return self.summary()
        best = self.best(list(finished.values()))
        if best is not None:
            self._emit(progress, "final", record=best)
            final = self._finalize(best)
            if self.objectives.multi:  # the store keeps the front with the knee
                final["pareto"] = self.summary()["pareto"]
            store.set_best(sid, final)
        store.set_status(sid, "finished")
        return self.summary()

    def _finish(
        self, number: int, pending: TrialRecord, result: EvalResult, cached_from: int | None,
        finished: dict[int, TrialRecord], told: set[int], progress: ProgressFn | None,
        t_start: float,
    ) -> None:
        """Stores a finished trial, tells the strategy and saves the strategy's state."""
        assert self._store is not None and self._search_id is not None
        arch = pending.arch
        state_name = "complete" if result.ok else "failed"
        self._store.finish_trial(
            self._search_id, number, state_name, metrics=result.metrics, curve=result.curve,
            error=result.error, cost=result.cost, cached_from=cached_from,
        )
        rec = make_record(self.objectives, number, arch, state_name, result.metrics,
                          parent=self._parent(number))
        finished[number] = rec
        if self.inheritance is not None:
            self.inheritance.tidy(finished, set(self._jobs) - set(finished))
        self._run_errors.append(None if result.ok else (result.error or "failed"))
        if result.ok and arch.hash not in self._done_by_hash:
            self._done_by_hash[arch.hash] = TrialRow(
                number=number, arch=arch.to_dict(), hash=arch.hash, state="complete",
                metrics=result.metrics, curve=result.curve,
            )
        self.strategy.tell([rec])
        told.add(number)
        self._store.save_strategy_state(
            self._search_id, {"strategy": self.strategy.state_dict(), "told": sorted(told)}
        )
        self._emit(progress, "trial", record=rec, error=result.error,
                   cached=cached_from is not None, done=len(finished),
                   elapsed=time.perf_counter() - t_start, history=list(finished.values()))

    def _check_fail_fast(self, finished: dict[int, TrialRecord]) -> None:
        """Stops the search when its first ``fail_fast`` trials failed alike."""
        reason = fail_fast_reason(self.config.fail_fast, self._run_errors,
                                  any(r.complete for r in finished.values()))
        if reason is not None and self.abort_reason is None:
            self.abort_reason, self.stop_requested = reason, True

    def stop(self) -> None:
        """Asks the loop to stop after the running trial (it can be resumed)."""
        self.stop_requested = True

    def _emit(self, progress: ProgressFn | None, event: str, **kw: Any) -> None:
        if progress is None:
            return
        hist: list[TrialRecord] = kw.pop("history", [])
        best = self.best(hist) if hist else None
        progress({
            "event": event, "budget": self.config.budget, "objective": self.objective,
            "best": None if best is None else best.metrics.get(self.objective), **kw,
        })

    def best(self, history: list[TrialRecord]) -> TrialRecord | None:
        """Best complete, feasible trial (lowest number among ties); with several
        objectives the knee of the Pareto front."""
        return choose_best(self.objectives, history)

    def export_trial(self, number: int) -> dict[str, Any]:
        """Retrains a finished trial like the best and writes it to ``OUT/trial-N/``
        (see :func:`archsmith._finish.export_trial`)."""
        from archsmith._finish import export_trial

        return export_trial(self, number)

    def _finalize(self, best: TrialRecord, folder: Path | None = None) -> dict[str, Any]:
        """Retrains the best on train+validation, scores it on test and exports it."""
        from archsmith._finish import finalize

        return finalize(self, best, folder or self.out / "best",
                        retrain=self.config.export)

    # -- reading ------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        assert self._store is not None and self._search_id is not None
        rows = self._store.trials(self._search_id)
        row = self._store.get_search(self.config.name)
        return {
            "out": str(self.out),
            "trials": len(rows),
            "complete": sum(r.state == "complete" for r in rows),
            "failed": sum(r.state == "failed" for r in rows),
            "best": row.best if row else None,
            "status": row.status if row else None,
            "error": getattr(self, "abort_reason", None),
            "time_budget_reached": getattr(self, "time_budget_reached", False),
            **({"pareto": front_of(self.objectives, [(r.number, r.state, r.metrics)
                                                     for r in rows if r.cached_from is None])[0]}
               if self.objectives.multi else {}),
        }

    @classmethod
    def resume(
        cls, out: str | Path, *, budget: int | None = None, storage: str | None = None,
        space: SearchSpace | None = None, evaluator: Evaluator | None = None,
        name: str | None = None, workers: int | None = None, executor: str | None = None,
        time_budget: float | None = None,
    ) -> Search:
        """Re-creates the search stored in ``out`` (optionally with a larger budget)."""
        out = Path(out)
        meta = read_pointer(out)
        url = storage or meta["storage"]
        store = Store(url)
        try:
            row = store.get_search(name or meta["name"])
            if row is None:
                raise ConfigError(f"{out} points to {safe_url(url)}, which holds no search "
                                  f"{name or meta['name']!r}.")
            if storage is None and name is None:
                check_pointer_matches(out, url, meta, row.name, row.fingerprint)
        except BaseException:
            store.close()
            raise
        data = {k: v for k, v in row.config.items() if k != "evaluator_info"}
        if budget is not None:
            data["budget"] = budget
        if workers is not None:
            data["workers"] = workers
        if executor is not None:
            data["executor"] = executor
        data["time_budget"] = time_budget  # a time budget is per run, never inherited
        if data.get("inherit") and "inherit_lr" not in data:
            data["inherit_lr"] = 1.0  # stored before inherit_lr: trained at the full rate
        store.close()
        cfg = SearchConfig.from_dict(data, where=f"stored config of {out}")
        check_rebuildable(cfg, out, need_space=space is None, need_evaluator=evaluator is None)
        return cls(cfg, out, storage=url, space=space, evaluator=evaluator)


class _LeaseLostError(ConfigError):
    """Another driver took this search over; this driver must not write to it."""
