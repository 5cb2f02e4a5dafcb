"""Runs evaluations in a pool of long-lived worker processes.

Each worker is a spawned Python process that limits its CPU threads so that
``workers`` processes share the cores without oversubscription, imports torch once,
and then evaluates one trial at a time. The parent enforces the per-trial time limit: a
worker whose trial runs past it is killed (``SIGKILL``) and replaced, and a worker
that dies (segfault, ``os._exit``, the out-of-memory killer) turns its trial into a
failed result that names the cause. Evaluators are sent to a worker only once.

Example:
    >>> from archsmith.executors._process import describe_exit
    >>> describe_exit(-9)
    'exit code -9 / signal SIGKILL; killed from outside, e.g. by the out-of-memory killer'
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import multiprocessing
import multiprocessing.connection as mpc
import multiprocessing.util  # registers its exit hook before ours (atexit is LIFO)
import os
import pickle
import signal
import sys
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from archsmith.errors import ConfigError
from archsmith.evaluators._base import EvalResult
from archsmith.executors._shipping import (
    EVALUATOR_CACHE,
    cache_evaluator,
    cpu_count,
    describe_exit,
    pickle_trial,
)

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from archsmith.evaluators._base import Evaluator
    from archsmith.space import Architecture

__all__ = ["ProcessExecutor", "cpu_count", "describe_exit"]

#: Environment variables that size the thread pools of torch and BLAS libraries.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                   "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
#: Workers that die before they are ready, in a row, before the executor gives up.
MAX_START_FAILURES = 3
#: Seconds :meth:`ProcessExecutor.close` waits for idle workers to exit.
CLOSE_GRACE = 5.0


_ENV_LOCK = threading.Lock()


# -- the worker process ----------------------------------------------------------------
def _watch_parent() -> None:
    """Ends this worker within a second of its parent's death (e.g. ``kill -9``)."""
    ppid = os.getppid()

    def run() -> None:
        while os.getppid() == ppid:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=run, name="archsmith-parent-watch", daemon=True).start()


def _worker_main(conn: Connection, threads: int, preload_torch: bool) -> None:
    """Body of a worker process: evaluates trials sent over ``conn`` until told to stop."""
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(threads)
    with contextlib.suppress(OSError):
        os.setpgrp()  # Ctrl-C in a terminal reaches the driver only; killpg ends children
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent()
    if preload_torch:  # otherwise torch, if imported later, reads the variables above
        import torch

        torch.set_num_threads(threads)
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(threads)
        with contextlib.suppress(Exception):
            # the first optimiser imports torch._dynamo (seconds): not on a trial's clock
            import torch._dynamo
    from archsmith.executors._inline import describe_exception, safe_evaluate

    cache: OrderedDict[str, Any] = OrderedDict()
    conn.send(("ready", os.getpid()))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] != "eval":
            return
        _, number, key, blob, payload = msg
        t0 = time.perf_counter()
        if blob is not None:
            try:
                cache[key] = pickle.loads(blob)
            except Exception as e:  # kept: later trials fail the same way
                cache[key] = e
            while len(cache) > EVALUATOR_CACHE:
                cache.popitem(last=False)
        try:
            cache.move_to_end(key)
            evaluator = cache[key]
            if isinstance(evaluator, Exception):
                raise evaluator
            arch, budget, checkpoint = pickle.loads(payload)
        except Exception as e:
            result = EvalResult.failure(
                f"the worker process could not load the trial: {describe_exception(e)}")
        else:
            try:
                result = safe_evaluate(evaluator, arch, budget, None, checkpoint)
            except SystemExit as e:
                result = EvalResult.failure(f"the evaluator called sys.exit({e.code!r})",
                                            cost=time.perf_counter() - t0)
        try:
            conn.send(("result", number, result))
        except (EOFError, OSError):
            return
        except Exception as e:  # the result itself could not be pickled
            conn.send(("result", number, EvalResult.failure(
                f"the trial's result could not be sent to the driver: {describe_exception(e)}",
                cost=result.cost)))


# -- the parent side -------------------------------------------------------------------
@dataclass
class _Job:
    number: int
    key: str
    blob: bytes
    payload: bytes
    timeout: float | None


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    ready: bool = False
    gone: bool = False
    job: _Job | None = None
    sent_at: float = 0.0
    keys: OrderedDict[str, None] = field(default_factory=OrderedDict)


@contextlib.contextmanager
def _thread_env(threads: int) -> Iterator[None]:
    """Sets the thread-count variables while a worker is started (it inherits them)."""
    with _ENV_LOCK:
        old = {v: os.environ.get(v) for v in THREAD_ENV_VARS}
        os.environ.update({v: str(threads) for v in THREAD_ENV_VARS})
        try:
            yield
        finally:
            for var, value in old.items():
                if value is None:
                    os.environ.pop(var, None)
                else:
                    os.environ[var] = value


def _kill(worker: _Worker) -> None:
    """SIGKILLs a worker (and the processes it started), reaps it and closes its pipe."""
    proc = worker.process
    if proc.exitcode is None and proc.pid is not None:
        with contextlib.suppress(OSError):
            if os.getpgid(proc.pid) == proc.pid:
                os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            proc.kill()
    proc.join(timeout=10.0)
    worker.gone = True
    worker.conn.close()
    with contextlib.suppress(ValueError):
        proc.close()


def _kill_all(pool: list[_Worker]) -> None:
    """Kills every worker of ``pool`` (also the exit hook of an executor never closed)."""
    for w in pool:
        if not w.gone:
            _kill(w)
    pool.clear()


class ProcessExecutor:
    """Evaluates trials in ``workers`` long-lived worker processes.

    Workers start at the first :meth:`submit` (or :meth:`start`) and stay alive across
    trials; one that is killed or dies is replaced. Each worker imports torch (and
    ``torch._dynamo``, which the first optimiser would import) while it starts, before
    it takes a trial, when the driver has imported torch by then, e.g. for a training
    evaluator: that costs a few seconds once and is not counted against a trial's time
    limit. Not thread-safe: call it from one thread (the driver's).

    Args:
        workers: Number of worker processes (trials evaluated at once).
        start_method: ``multiprocessing`` start method: ``spawn`` (default; a script
            that starts a search must then guard it with ``if __name__ == "__main__":``),
            ``forkserver`` or ``fork``.
        threads_per_worker: Torch/BLAS threads in each worker (default: the usable CPU
            cores divided by ``workers``, at least 1).
        preload_torch: Import torch in each worker before it takes trials (default:
            when the driver process has imported torch when the workers start).

    Raises:
        ConfigError: An argument is invalid.

    Example:
        >>> ProcessExecutor(workers=0)
        Traceback (most recent call last):
        ...
        archsmith.errors.ConfigError: workers must be a positive integer, got 0.
    """

    name = "process"

    def __init__(
        self, workers: int, start_method: str = "spawn", threads_per_worker: int | None = None,
        preload_torch: bool | None = None,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(f"workers must be a positive integer, got {workers!r}.")
        methods = multiprocessing.get_all_start_methods()
        if start_method not in methods:
            raise ConfigError(
                f"start_method must be one of {methods} on this system, got {start_method!r}."
            )
        if threads_per_worker is not None and (
            isinstance(threads_per_worker, bool) or not isinstance(threads_per_worker, int)
            or threads_per_worker < 1
        ):
            raise ConfigError(
                f"threads_per_worker must be a positive integer or None, got "
                f"{threads_per_worker!r}."
            )
        self.workers = workers
        self.start_method = start_method
        self.threads_per_worker = threads_per_worker or max(1, cpu_count() // workers)
        self._ctx = multiprocessing.get_context(start_method)
        self._pool: list[_Worker] = []
        self._queue: deque[_Job] = deque()
        self._done: list[tuple[int, EvalResult]] = []
        self._blobs: OrderedDict[str, bytes] = OrderedDict()
        self._start_failures = 0
        self._closed = False
        self.preload_torch = preload_torch
        # kill the workers of an executor that is dropped or left open at exit
        self._shutdown = functools.partial(_kill_all, self._pool)
        atexit.register(self._shutdown)
        self._finalizer = weakref.finalize(self, self._shutdown)
        self._finalizer.atexit = False  # the atexit hook above runs before multiprocessing's

    def start(self) -> None:
        """Starts the workers now rather than at the first :meth:`submit`."""
        if self._closed:
            raise RuntimeError("the process executor is closed")
        self._fill()

    # -- pool ---------------------------------------------------------------------------
    def _fill(self) -> None:
        """Starts workers until the pool holds ``workers`` of them."""
        if self.preload_torch is None:
            self.preload_torch = "torch" in sys.modules
        while len(self._pool) < self.workers:
            parent_conn, child_conn = self._ctx.Pipe(duplex=True)
            proc = self._ctx.Process(  # type: ignore[attr-defined]
                target=_worker_main,
                args=(child_conn, self.threads_per_worker, self.preload_torch),
                name="archsmith-worker", daemon=False,
            )
            with _thread_env(self.threads_per_worker):
                proc.start()
            child_conn.close()
            self._pool.append(_Worker(proc, parent_conn))

    def _bury(self, worker: _Worker, cause: str | None = None) -> None:
        """Removes a dead (or to-be-killed) worker; its trial fails with ``cause``."""
        code = None
        if not worker.gone:
            if cause is None:  # it died: wait briefly for its exit code
                worker.process.join(timeout=1.0)
                code = worker.process.exitcode
            _kill(worker)
        if worker in self._pool:
            self._pool.remove(worker)
        job, worker.job = worker.job, None
        if job is not None:
            text = cause or f"worker process died ({describe_exit(code)}) during the trial"
            self._done.append(
                (job.number, EvalResult.failure(text, cost=time.perf_counter() - worker.sent_at))
            )
        elif not worker.ready and cause is None:
            self._start_failures += 1
            if self._start_failures >= MAX_START_FAILURES:
                self.cancel()
                raise ConfigError(
                    f"The process executor's workers failed to start {MAX_START_FAILURES} "
                    f"times in a row (last: {describe_exit(code)}; see the error printed "
                    "above). A script that starts a search must guard it with "
                    "`if __name__ == '__main__':`; or use --executor inline."
                )

    # -- protocol -----------------------------------------------------------------------
    def submit(
        self, number: int, evaluator: Evaluator, arch: Architecture, budget: int | None,
        timeout: float | None = None, checkpoint: str | None = None,
    ) -> None:
        """Hands trial ``number`` to a free worker (or queues it); never blocks for long.

        Raises:
            ConfigError: The evaluator or the architecture cannot be pickled.
        """
        if self._closed:
            raise RuntimeError("the process executor is closed")
        key, blob, payload = pickle_trial(evaluator, arch, budget, "worker processes",
                                          checkpoint)
        blob = cache_evaluator(self._blobs, key, lambda: blob)
        self._queue.append(_Job(number, key, blob, payload, timeout))
        self._fill()
        self._dispatch()

    def _dispatch(self) -> None:
        """Sends queued jobs to ready, idle workers."""
        for w in list(self._pool):
            if not self._queue:
                return
            if not w.ready or w.job is not None or w.gone:
                continue
            job = self._queue.popleft()
            send_blob = job.key not in w.keys
            cache_evaluator(w.keys, job.key, lambda: None)  # mirrors the worker's cache
            try:
                w.conn.send(("eval", job.number, job.key, job.blob if send_blob else None,
                             job.payload))
            except (OSError, ValueError):
                self._queue.appendleft(job)
                self._bury(w)
                continue
            w.job, w.sent_at = job, time.perf_counter()

    def _read(self, w: _Worker) -> bool:
        """Handles the worker's pending messages; ``False`` when its pipe is closed."""
        try:
            while w.conn.poll():
                msg = w.conn.recv()
                if msg[0] == "ready":
                    w.ready = True
                    self._start_failures = 0
                elif msg[0] == "result" and w.job is not None and msg[1] == w.job.number:
                    self._done.append((msg[1], msg[2]))
                    w.job = None
        except (EOFError, OSError):
            return False
        return True

    def _poll(self, max_wait: float | None) -> None:
        """Waits up to ``max_wait`` s for messages, deaths and time-outs, and handles them."""
        self._fill()
        self._dispatch()
        now = time.perf_counter()
        limits = [w.sent_at + w.job.timeout - now for w in self._pool
                  if w.job is not None and w.job.timeout is not None]
        if max_wait is not None:
            limits.append(max_wait)
        wait_s = max(0.0, min(limits)) if limits else None
        objects: dict[Any, _Worker] = {}
        for w in self._pool:
            objects[w.conn] = w
            objects[w.process.sentinel] = w
        ready = mpc.wait(list(objects), timeout=wait_s) if objects else []
        dead: list[_Worker] = []
        for obj in ready:
            w = objects[obj]
            alive = self._read(w)
            if (not alive or obj is not w.conn) and w not in dead:
                dead.append(w)
        for w in dead:
            self._bury(w)
        now = time.perf_counter()
        for w in list(self._pool):
            job = w.job
            if job is not None and job.timeout is not None and now >= w.sent_at + job.timeout:
                self._bury(w, f"timeout: trial exceeded the time limit of {job.timeout:g} s")
        self._fill()
        self._dispatch()

    def wait(self, timeout: float | None = None) -> list[tuple[int, EvalResult]]:
        """Blocks until at least one submitted trial finished; returns ``[(number, result)]``.

        Failures, time-outs and dead workers come back as failed results.

        Args:
            timeout: Return ``[]`` after this many seconds without a finished trial
                (default: wait as long as it takes).
        """
        end = None if timeout is None else time.perf_counter() + timeout
        while not self._done:
            if not self._queue and all(w.job is None for w in self._pool):
                return []
            remaining = None if end is None else end - time.perf_counter()
            if remaining is not None and remaining <= 0:
                return []
            self._poll(remaining)
        done, self._done = self._done, []
        return done

    def cancel(self) -> None:
        """Kills every worker now and forgets all trials (they are re-run on resume)."""
        _kill_all(self._pool)
        self._queue.clear()
        self._done.clear()

    def close(self) -> None:
        """Stops the workers (idle ones gracefully) and reaps them; leaves no processes."""
        self._queue.clear()
        for w in self._pool:
            if w.ready and w.job is None:
                with contextlib.suppress(OSError, ValueError):
                    w.conn.send(("stop",))
            else:
                _kill(w)
        end = time.monotonic() + CLOSE_GRACE
        for w in self._pool:
            if not w.gone:
                w.process.join(timeout=max(0.0, end - time.monotonic()))
                _kill(w)
        self._pool.clear()
        self._done.clear()
        self._closed = True
        atexit.unregister(self._shutdown)
        self._finalizer.detach()

    def pids(self) -> list[int]:
        """Process ids of the current workers (for monitoring and tests)."""
        return [w.process.pid for w in self._pool if not w.gone and w.process.pid is not None]

    def __enter__(self) -> ProcessExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"ProcessExecutor(workers={self.workers}, start_method={self.start_method!r}, "
                f"threads_per_worker={self.threads_per_worker})")
