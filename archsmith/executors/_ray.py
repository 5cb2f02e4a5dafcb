"""Runs evaluations as Ray tasks, on a local Ray started on demand or on a cluster.

Needs the ``ray`` extra (``pip install 'archsmith[ray]'``). Without ``address`` a
private local Ray is started on the loopback interface (no dashboard) and shut down by
:meth:`RayExecutor.close`; with ``address`` the executor connects to a running cluster,
whose nodes must have archsmith (and whatever the evaluator imports) installed.

Example:
    >>> from archsmith.executors._ray import ray_failure_text
    >>> ray_failure_text(TimeoutError("slow"))
    'Ray task failed: TimeoutError: slow'
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archsmith.errors import ConfigError
from archsmith.evaluators._base import EvalResult
from archsmith.executors._shipping import cache_evaluator, cpu_count, pickle_trial

if TYPE_CHECKING:
    from archsmith.evaluators._base import Evaluator
    from archsmith.space import Architecture

__all__ = ["RayExecutor", "ray_failure_text"]

#: Longest single blocking call to Ray (keeps Ctrl-C responsive).
POLL_SECONDS = 0.5

# evaluators unpickled in this (Ray worker) process, by pickle hash
_EVALUATORS: OrderedDict[str, Any] = OrderedDict()


def _is_loopback(address: str | None) -> bool:
    """``True`` for no address (a local Ray) or one on this machine's loopback interface.

    Example:
        >>> _is_loopback("127.0.0.1:6379"), _is_loopback("ray://10.0.0.5:10001")
        (True, False)
    """
    if address is None:
        return True
    host = address.split("://")[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def _import_ray(address: str | None) -> Any:
    """Imports ray; a local Ray (or one on loopback) then uses the loopback address only."""
    # read when ray is imported: keep 127.0.0.1 rather than the machine's address
    local = _is_loopback(address) and os.environ.setdefault(
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0") == "0"
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    from archsmith._lazy import optional_import

    ray = optional_import("ray", "ray", "The ray executor", hint="Or use --executor process.")
    if local:
        with contextlib.suppress(Exception):  # ray was imported before the variable was set
            from ray._private import ray_constants

            ray_constants.ENABLE_RAY_CLUSTER = False
    return ray


#: First item a trial's task yields: the driver starts the trial's clock on it.
STARTED = "started"


def _run_trial(key: str, blob_ref: list[Any], payload: bytes,
               timeout: float | None) -> Iterator[Any]:
    """Body of a Ray task: yields :data:`STARTED`, then the trial's :class:`EvalResult`."""
    from archsmith.executors._inline import describe_exception, safe_evaluate

    yield STARTED
    try:
        import ray

        evaluator = cache_evaluator(_EVALUATORS, key,
                                    lambda: pickle.loads(ray.get(blob_ref[0])))
        arch, budget, checkpoint = pickle.loads(payload)
    except Exception as e:
        yield EvalResult.failure(
            f"the Ray worker could not load the trial: {describe_exception(e)}"
        )
        return
    result = safe_evaluate(evaluator, arch, budget, timeout, checkpoint)
    if result.error is not None and result.error.startswith("TrialTimeout: "):
        # an evaluator that catches every exception (e.g. a user function's) caught it
        result.error = f"timeout: {result.error.removeprefix('TrialTimeout: ')}"
    yield result


def ray_failure_text(e: BaseException) -> str:
    """Error text of a trial whose Ray task failed with ``e``."""
    kind = type(e).__name__
    first = (str(e).strip().splitlines() or [""])[0][:300]
    if kind in ("WorkerCrashedError", "NodeDiedError", "ActorDiedError"):
        return f"worker process died ({kind}: {first})"
    if kind == "OutOfMemoryError":
        return f"worker process died (out of memory; Ray's memory monitor killed it: {first})"
    if kind == "TaskCancelledError":
        return "the Ray task was cancelled"
    cause = getattr(e, "cause", None)
    if kind == "RayTaskError" or cause is not None:
        from archsmith.executors._inline import describe_exception

        inner = describe_exception(cause) if isinstance(cause, BaseException) else first
        return f"Ray task failed: {inner}"
    return f"Ray task failed: {kind}: {first}"


@dataclass
class _Job:
    number: int
    key: str
    payload: bytes
    timeout: float | None
    blob_ref: Any = None
    ref: Any = None
    sent_at: float = 0.0
    started_at: float | None = None


class _RayStarter:
    """Runs ``ray.init`` in a thread that lives as long as the Ray it starts.

    Ray ties its processes to the thread that started them (they are killed when it
    exits), so the thread waits until :meth:`stop`.
    """

    def __init__(self, ray: Any, kwargs: dict[str, Any]) -> None:
        self.ray = ray
        self.kwargs = kwargs
        self.started = threading.Event()
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="archsmith-ray", daemon=True)

    def _run(self) -> None:
        try:
            self.ray.init(**self.kwargs)
        except BaseException as e:
            self.error = e
        finally:
            self.started.set()
        self.stopping.wait()

    def start(self, timeout: float) -> None:
        self.thread.start()
        local = self.kwargs.get("address") == "local"
        where = "a local Ray (127.0.0.1)" if local else self.kwargs.get("address")
        if not self.started.wait(timeout):
            hint = ("Check the address, and if the cluster uses token authentication set "
                    "RAY_AUTH_MODE=token" if not local
                    else "Check that the loopback interface is up")
            raise ConfigError(
                f"Ray did not start within {timeout:g} s ({where}). {hint}; or use "
                "--executor process."
            )
        if self.error is not None:
            e = self.error
            raise ConfigError(
                f"Ray could not start ({where}): {type(e).__name__}: {e}. Check --ray-address, "
                "or use --executor process."
            ) from None

    def stop(self) -> None:
        self.stopping.set()


class RayExecutor:
    """Evaluates trials as Ray tasks, at most ``workers`` at a time.

    A trial's time limit counts from the moment its task starts (time spent waiting
    for a Ray worker is not counted). It is enforced inside the task (as in the inline
    executor) and, for a hang in native code, by force-cancelling the task (which kills
    its Ray worker) ``timeout_grace`` seconds later. Tasks are never retried by Ray: a
    crashed worker gives a failed trial, and the search driver decides about retries.

    Args:
        workers: Trials evaluated at once.
        address: Address of a running Ray cluster (``auto``, ``host:port`` or
            ``ray://host:port``); default: ``$RAY_ADDRESS`` if set, else start a new
            private local Ray (even when ``ray start`` left one running).
        num_cpus: CPUs of the local Ray (default: the larger of ``workers`` and the
            usable cores). Ignored with ``address``.
        init_timeout: Seconds to wait for Ray to start or connect.
        timeout_grace: Extra seconds before a timed-out task is force-cancelled.
        log_to_driver: Show the Ray workers' output in this process.

    Raises:
        ConfigError: Ray is not installed, or did not start or connect in time.
    """

    name = "ray"

    def __init__(
        self, workers: int, address: str | None = None, num_cpus: int | None = None,
        init_timeout: float = 60.0, timeout_grace: float = 5.0, log_to_driver: bool = False,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(f"workers must be a positive integer, got {workers!r}.")
        if num_cpus is not None and (isinstance(num_cpus, bool) or not isinstance(num_cpus, int)
                                     or num_cpus < 1):
            raise ConfigError(f"num_cpus must be a positive integer or None, got {num_cpus!r}.")
        address = address or os.environ.get("RAY_ADDRESS") or None
        ray = _import_ray(address)
        self.workers = workers
        self.address = address
        self.timeout_grace = float(timeout_grace)
        self._ray = ray
        self._starter: _RayStarter | None = None
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {
                "include_dashboard": False, "log_to_driver": log_to_driver,
                "logging_level": logging.ERROR, "ignore_reinit_error": True,
            }
            if address is None:  # "local": a new private Ray, not one `ray start` left
                kwargs.update(address="local", num_cpus=num_cpus or max(workers, cpu_count()),
                              _node_ip_address="127.0.0.1")
            else:
                kwargs["address"] = address
                kwargs.pop("include_dashboard")
            self._starter = _RayStarter(ray, kwargs)
            self._starter.start(init_timeout)
        self._task = ray.remote(num_cpus=1, max_retries=0, retry_exceptions=False,
                                num_returns="streaming")(_run_trial)
        self._queue: deque[_Job] = deque()
        self._running: dict[Any, _Job] = {}
        self._done: list[tuple[int, EvalResult]] = []
        self._blobs: OrderedDict[str, Any] = OrderedDict()
        self._closed = False

    @property
    def owns_ray(self) -> bool:
        """``True`` when this executor started (or connected) Ray and will shut it down."""
        return self._starter is not None

    def submit(
        self, number: int, evaluator: Evaluator, arch: Architecture, budget: int | None,
        timeout: float | None = None, checkpoint: str | None = None,
    ) -> None:
        """Starts trial ``number`` as a Ray task (or queues it when ``workers`` run).

        Raises:
            ConfigError: The evaluator or the architecture cannot be pickled.
        """
        if self._closed:
            raise RuntimeError("the Ray executor is closed")
        key, blob, payload = pickle_trial(evaluator, arch, budget, "Ray workers", checkpoint)
        blob_ref = cache_evaluator(self._blobs, key, lambda: self._ray.put(blob))
        self._queue.append(_Job(number, key, payload, timeout, blob_ref))
        self._dispatch()

    def _dispatch(self) -> None:
        while self._queue and len(self._running) < self.workers:
            job = self._queue.popleft()
            # the reference is wrapped in a list so Ray does not fetch it for every task
            job.ref = self._task.remote(job.key, [job.blob_ref], job.payload, job.timeout)
            job.sent_at = time.perf_counter()
            self._running[job.ref] = job

    def _read(self, ref: Any) -> None:
        """Takes the next item of a task that has one: its start, its result or its failure."""
        job = self._running[ref]
        now = time.perf_counter()
        try:
            item = self._ray.get(next(ref))
        except StopIteration:
            item = EvalResult.failure("the Ray task ended without a result",
                                      cost=now - (job.started_at or job.sent_at))
        except Exception as e:
            item = EvalResult.failure(ray_failure_text(e),
                                      cost=now - (job.started_at or job.sent_at))
        if isinstance(item, str) and item == STARTED:
            job.started_at = now
            return
        if not isinstance(item, EvalResult):
            item = EvalResult.failure(
                f"the Ray task returned {type(item).__name__}, expected EvalResult")
        del self._running[ref]
        self._done.append((job.number, item))

    def _hard_deadline(self, job: _Job) -> float | None:
        if job.timeout is None or job.started_at is None:
            return None
        return job.started_at + job.timeout + self.timeout_grace

    def wait(self, timeout: float | None = None) -> list[tuple[int, EvalResult]]:
        """Blocks until at least one submitted trial finished; returns ``[(number, result)]``.

        Args:
            timeout: Return ``[]`` after this many seconds without a finished trial.
        """
        end = None if timeout is None else time.perf_counter() + timeout
        while not self._done:
            self._dispatch()
            if not self._running:
                return []
            now = time.perf_counter()
            limits = [POLL_SECONDS]
            limits += [d - now for j in self._running.values()
                       if (d := self._hard_deadline(j)) is not None]
            if end is not None:
                limits.append(end - now)
            refs = list(self._running)
            ready, _ = self._ray.wait(refs, num_returns=1, timeout=max(0.0, min(limits)))
            if ready:  # and whatever else is ready too
                ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=0)
            for ref in ready:
                self._read(ref)
            now = time.perf_counter()
            for ref, job in list(self._running.items()):
                deadline = self._hard_deadline(job)
                if deadline is not None and now >= deadline:
                    with contextlib.suppress(Exception):
                        self._ray.cancel(ref, force=True)
                    del self._running[ref]
                    self._done.append((job.number, EvalResult.failure(
                        f"timeout: trial exceeded the time limit of {job.timeout:g} s",
                        cost=now - (job.started_at or job.sent_at))))
            if end is not None and time.perf_counter() >= end and not self._done:
                return []
        done, self._done = self._done, []
        return done

    def cancel(self) -> None:
        """Force-cancels every running task and forgets all trials."""
        for ref in list(self._running):
            with contextlib.suppress(Exception):
                self._ray.cancel(ref, force=True)
        self._running.clear()
        self._queue.clear()
        self._done.clear()

    def close(self) -> None:
        """Cancels what still runs; shuts Ray down if this executor started it."""
        if self._closed:
            return
        self.cancel()
        self._blobs.clear()
        self._closed = True
        if self._starter is not None:
            with contextlib.suppress(Exception):
                self._ray.shutdown()
            self._starter.stop()
            self._starter = None

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RayExecutor(workers={self.workers}, address={self.address!r})"
