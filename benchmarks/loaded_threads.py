"""Training under load: torch's default intra-op threads against one thread per trial.

Trains a fixed, seeded set of the demo's networks (``archsmith search`` with no options:
the ``cnn`` space on ``digits``, 4 epochs per trial) with the
:class:`~archsmith.evaluators.TrainingEvaluator` in four configurations — torch's default
thread count (``torch.get_num_threads()`` of a fresh process: one per core) and one
thread, each on the idle machine and on the machine loaded by a second job — and prints
seconds and the ratio default / one thread, idle and loaded.

"Loaded" means ``--load-procs`` background processes run a second job during the
configuration. By default (``--load-kind torch``) each is another ML job: a plain torch
training loop of an MLP (512-1024-1024-10, batch 256, Adam) on random data with torch's
default thread count, as a user's second notebook or training script would be;
``--load-kind python`` runs a pure-Python busy loop instead (one busy core each). The
load processes start in their own session (as a job started from another terminal
would; with the kernel's scheduler autogroup on, the kernel shares CPU time between
sessions) and are killed by this script at the end, on Ctrl-C and on errors; they also
end themselves within a second if this script dies. Their throughput (training steps or
loop iterations per second) is measured alone and during each loaded configuration, so
the table also shows what each configuration costs the other job.

Each configuration trains the networks in a fresh subprocess, so that torch's thread
pool is sized before its first use; the subprocess loads the data and warms up (imports,
first optimiser step) before the clock starts. The two subprocesses of a phase (idle or
loaded) are started together and then train the networks alternately, network by
network (1 thread then default for network 0, default then 1 thread for network 1, ...),
never at the same time, so that load from elsewhere drifting during the phase affects
both alike. What is timed per network is the whole ``evaluate`` call a search trial
makes (building, training, per-epoch validation, testing, FLOPs, latency); ``train s``
is the training part alone. A configuration whose networks took ``--max-seconds`` in
total is stopped (its current network is abandoned); both configurations of that phase
are then compared on the networks both finished.

Ratios are default-thread seconds / one-thread seconds, measured in the same run, under
load and idle. The validation accuracy of every network is compared between the
configurations: PyTorch's CPU kernels may split reductions differently with a different
thread count, so results can differ in the last bits (and, after 4 epochs, in a val_acc
step); with the same thread count, load must not change them.

``--workers-check`` also times the demo's search itself (``archsmith search`` through
its command line, ``--workers-budget`` trials of the demo's configuration, no final
retraining), with the thread count given explicitly (``[training] num_threads`` of a
``--config`` file): 1 worker with torch's default thread count, 1 worker with one
thread, and 2 process workers with one thread each; it checks that all three train the
same architectures and compares their accuracies. Wall times include starting Python,
torch and (for the process executor) the workers.

Other processes on the machine (e.g. other people's test runs) load it too, "idle"
included: the load averages (``/proc/loadavg``) before and after every phase are
printed, and the column ``others`` gives the cores that processes other than the
training and the load job kept busy (from ``/proc/stat``) while each configuration
trained.

Run:
    python benchmarks/loaded_threads.py --archs 4 --max-seconds 60   # quick look
    python benchmarks/loaded_threads.py                 # 20 networks, 5-7 minutes
    python benchmarks/loaded_threads.py --data wine --space mlp       # the wine report
    python benchmarks/loaded_threads.py --skip-threads --workers-check idle
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import resource
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _machine import autogroup, loadavg  # benchmarks/ is on sys.path when run

#: Environment variables that size torch's and BLAS libraries' thread pools; removed from
#: the environment of the subprocesses so that "default" is torch's own default.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                   "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


# -- machine facts ---------------------------------------------------------------------
def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def busy_seconds() -> float:
    """CPU seconds all processes of the machine have used (``/proc/stat``), or NaN."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    # user nice system idle iowait irq softirq steal ...: all but idle and iowait
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def proc_seconds(pid: int | None) -> float:
    """CPU seconds process ``pid`` has used so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV_VARS}
    env["PYTHONUNBUFFERED"] = "1"
    return env


# -- the second job --------------------------------------------------------------------
def _watch_parent(ppid: int) -> None:
    def run() -> None:
        while os.getppid() == ppid:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=run, daemon=True).start()


def load_main(counter: Any, kind: str, ppid: int) -> None:
    """Body of a load process: runs the second job forever, counting its steps."""
    with contextlib.suppress(OSError):
        os.setsid()  # its own session, like a job started from another terminal
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it
    _watch_parent(ppid)
    if kind == "python":
        n = 0
        while True:
            for _ in range(10_000):
                n += 1
            counter.value += 1
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(512, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024),
        torch.nn.ReLU(), torch.nn.Linear(1024, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    X, y = torch.randn(4096, 512), torch.randint(0, 10, (4096,))
    i = 0
    while True:
        idx = slice(i, i + 256)
        loss = torch.nn.functional.cross_entropy(net(X[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        i = (i + 256) % 4096
        counter.value += 1


class Load:
    """``k`` background load processes, stopped reliably by :meth:`stop`."""

    def __init__(self, k: int, kind: str) -> None:
        self.k, self.kind = k, kind
        self.procs: list[Any] = []
        self.counters: list[Any] = []

    def start(self, settle: float = 3.0) -> None:
        ctx = mp.get_context("spawn")
        env_old = {v: os.environ.pop(v, None) for v in THREAD_ENV_VARS}
        try:
            for _ in range(self.k):
                c = ctx.Value("q", 0, lock=False)
                p = ctx.Process(target=load_main, args=(c, self.kind, os.getpid()),
                                daemon=True, name="loaded_threads-load")
                p.start()
                self.procs.append(p)
                self.counters.append(c)
        finally:
            for var, value in env_old.items():
                if value is not None:
                    os.environ[var] = value
        deadline = time.time() + 60
        while any(c.value == 0 for c in self.counters):  # imported torch, first step done
            if time.time() > deadline or any(not p.is_alive() for p in self.procs):
                self.stop()
                raise SystemExit("a load process did not start")
            time.sleep(0.1)
        time.sleep(settle)

    def cpu(self) -> float:
        return sum(proc_seconds(p.pid) for p in self.procs)

    def steps(self) -> int:
        return sum(c.value for c in self.counters)

    def rate(self, seconds: float) -> float:
        n0, t0 = self.steps(), time.perf_counter()
        time.sleep(seconds)
        return (self.steps() - n0) / (time.perf_counter() - t0)

    def stop(self) -> None:
        for p in self.procs:  # by pid, one at a time
            if p.is_alive():
                p.kill()
        for p in self.procs:
            p.join(timeout=5)
        self.procs.clear()

    def __enter__(self) -> Load:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def maybe_load(k: int, kind: str, on: bool) -> Any:
    if not on or k <= 0:
        yield None
        return
    with Load(k, kind) as load:
        yield load


# -- the training subprocess -----------------------------------------------------------
def proposals(space_name: str, seed: int, n: int) -> list[Any]:
    """The first ``n`` proposals of a ``random`` search with seed ``seed`` (trial ``k``
    samples the space with ``default_rng([seed, k])``, re-drawing a repeat, as the search
    driver and the ``random`` strategy do); up to the demo's population size (8) these
    are also the demo's own first trials."""
    import numpy as np

    from archsmith.space import create_space
    from archsmith.strategies._bananas import random_fill

    space = create_space(space_name)
    seen: set[str] = set()
    # one generator per trial number, as the search driver seeds its proposals
    return [random_fill(space, seen, 1, np.random.default_rng([seed, number]))[0]
            for number in range(n)]


def train_child(spec: dict[str, Any]) -> None:
    """Body of a training subprocess: trains network ``i`` for each line ``i`` on stdin;
    one JSON line per event on stdout."""
    import torch

    default = torch.get_num_threads()
    threads = spec["threads"] or default
    torch.set_num_threads(threads)  # before any parallel work
    import torch._dynamo  # imported by the first optimiser: not on the clock

    from archsmith.evaluators import TrainingEvaluator
    from archsmith.space import create_space

    space = create_space(spec["space"])
    # num_threads given explicitly: "default" stays torch's default whatever the
    # evaluator's own default becomes
    ev = TrainingEvaluator(spec["data"], epochs=spec["epochs"], seed=spec["seed"],
                           device="cpu", num_threads=threads)
    ev.check_space(space)
    archs = [space.from_dict(d) for d in spec["archs"]]
    w = torch.nn.Linear(4, 2)  # warm-up: first fused optimiser step, autograd engine
    opt = torch.optim.AdamW(w.parameters(), fused=True)
    w(torch.zeros(2, 4)).sum().backward()
    opt.step()

    def emit(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def cpu() -> float:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime

    emit({"event": "ready", "threads": torch.get_num_threads(), "default_threads": default,
          "torch": torch.__version__})
    for line in sys.stdin:
        i = int(line)
        arch = archs[i]
        c0, t0 = cpu(), time.perf_counter()
        r = ev.evaluate(arch)
        wall = time.perf_counter() - t0
        emit({"event": "net", "i": i, "hash": arch.hash, "ok": r.ok, "error": r.error,
              "val_acc": r.metrics.get("val_acc"), "test_acc": r.metrics.get("test_acc"),
              "train_seconds": r.metrics.get("train_seconds"), "wall": wall,
              "cpu": cpu() - c0})


class Trainer:
    """A fresh training subprocess with a fixed thread count (0: torch's default); trains
    one network at a time on request."""

    def __init__(self, spec: dict[str, Any], threads: int) -> None:
        self.err = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by close())
        cmd = [sys.executable, os.path.abspath(__file__), "--_train",
               json.dumps({**spec, "threads": threads})]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err, env=clean_env())
        self.buf = b""
        self.info: dict[str, Any] = {}

    def ready(self) -> dict[str, Any]:
        if not self.info:
            got = self._read(time.perf_counter() + 300)
            if got is None:
                self._fail("did not start within 300 s")
            self.info = got  # type: ignore[assignment]
        return self.info

    def _fail(self, why: str) -> None:
        self.err.seek(0)
        tail = self.err.read()[-3000:]
        self.close()
        raise SystemExit(f"training subprocess {why}:\n{tail}")

    def _read(self, deadline: float) -> dict[str, Any] | None:
        """The next JSON line, or None when ``deadline`` passes first."""
        assert self.proc.stdout is not None
        while b"\n" not in self.buf:
            timeout = deadline - time.perf_counter()
            if timeout <= 0:
                return None
            rlist, _, _ = select.select([self.proc.stdout], [], [], min(timeout, 1.0))
            if rlist:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    self._fail(f"ended (exit {self.proc.wait()})")
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)  # type: ignore[no-any-return]

    def train(self, i: int, deadline: float, load: Load | None) -> dict[str, Any] | None:
        """Trains network ``i``; None (and the subprocess killed) if ``deadline`` passes.
        Also measures the CPU time other processes (not this one, not ``load``) used."""
        assert self.proc.stdin is not None
        self.ready()
        marks = (busy_seconds(), proc_seconds(self.proc.pid), load.cpu() if load else 0.0,
                 load.steps() if load else 0)
        self.proc.stdin.write(f"{i}\n".encode())
        self.proc.stdin.flush()
        got = self._read(deadline)
        if got is None:
            self.close()
            return None
        mine = max(proc_seconds(self.proc.pid) - marks[1], got["cpu"])
        got["others_cpu"] = max(0.0, busy_seconds() - marks[0] - mine
                                - ((load.cpu() if load else 0.0) - marks[2]))
        got["load_steps"] = (load.steps() if load else 0) - marks[3]
        return got

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.err):
            if f is not None:
                with contextlib.suppress(OSError):
                    f.close()


def run_phase(spec: dict[str, Any], n: int, cap: float, load: Load | None,
              flip: bool) -> dict[int, dict[str, Any]]:
    """Trains networks 0..n-1 with one thread and with torch's default, alternately
    (network by network, in separate fresh processes), so that load drifting during the
    phase affects both alike; a configuration stops once its networks took ``cap`` s."""
    trainers = {1: Trainer(spec, 1), 0: Trainer(spec, 0)}
    try:
        out: dict[int, dict[str, Any]] = {}
        for t, tr in trainers.items():
            info = tr.ready()
            out[t] = {"threads": info["threads"], "default_threads": info["default_threads"],
                      "nets": [], "capped": False}
        for i in range(n):
            order = [1, 0] if (i % 2 == 0) != flip else [0, 1]
            for t in order:
                res = out[t]
                if res["capped"]:
                    continue
                used = sum(x["wall"] for x in res["nets"])
                got = trainers[t].train(i, time.perf_counter() + cap - used, load)
                if got is None:
                    res["capped"] = True
                else:
                    res["nets"].append(got)
        return out
    finally:
        for tr in trainers.values():
            tr.close()


# -- the demo's search through the command line ----------------------------------------
DEMO_TOML = """space = "cnn"
data = "digits"
strategy = "evolution"
budget = {budget}
epochs = {epochs}
seed = {seed}
export = false
[strategy_config]
population_size = 8
sample_size = 3
"""


def children_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_cli(name: str, extra: list[str], toml: str, tmp: Path,
            load: Load | None) -> dict[str, Any]:
    cfg = tmp / f"{name}.toml"
    cfg.write_text(toml)
    out = tmp / name
    cmd = [sys.executable, "-m", "archsmith", "search", "--config", str(cfg), "--out",
           str(out), *extra]
    busy0, kids0, load0 = busy_seconds(), children_seconds(), load.cpu() if load else 0.0
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env=clean_env())
    wall = time.perf_counter() - t0
    cpu = children_seconds() - kids0
    others = busy_seconds() - busy0 - cpu - ((load.cpu() if load else 0.0) - load0)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    shown = subprocess.run([sys.executable, "-m", "archsmith", "show", str(out), "--json"],
                           capture_output=True, text=True, check=True, env=clean_env())
    trials = json.loads(shown.stdout)["trials"]
    return {"name": name, "command": "archsmith search " + " ".join(extra), "wall": wall,
            "cores_busy": cpu / wall, "others_cores": max(0.0, others / wall),
            "trials": {t["number"]: (t["hash"], t["metrics"].get("val_acc"), t["state"])
                       for t in trials},
            "trial_seconds": sum(t["cost"] or 0.0 for t in trials)}


def torch_default_threads() -> int:
    """``torch.get_num_threads()`` of a fresh process without thread variables."""
    out = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                         capture_output=True, text=True, check=True, env=clean_env())
    return int(out.stdout.strip())


def workers_check(args: argparse.Namespace, phase: str, log: Any) -> dict[str, Any]:
    toml = DEMO_TOML.format(budget=args.workers_budget, epochs=args.epochs, seed=args.seed)

    def threads(n: int) -> str:  # explicit: independent of archsmith's own default
        return toml.replace("[strategy_config]",
                            f"[training]\nnum_threads = {n}\n[strategy_config]")

    variants = [("w1-default", ["--workers", "1"], threads(torch_default_threads())),
                ("w1-1thread", ["--workers", "1"], threads(1)),
                ("w2-process", ["--workers", "2", "--executor", "process"], threads(1))]
    runs: dict[str, list[dict[str, Any]]] = {v[0]: [] for v in variants}
    expected = [a.hash for a in proposals("cnn", args.seed, min(8, args.workers_budget))]
    with tempfile.TemporaryDirectory(prefix="loaded_threads-") as d, \
            maybe_load(args.load_procs, args.load_kind, phase == "loaded") as load:
        for rep in range(args.repeats):
            order = variants if rep % 2 == 0 else variants[::-1]
            for name, extra, text in order:
                before = loadavg()
                r = run_cli(f"{name}-{rep}", extra, text, Path(d), load)
                r["load_before"], r["load_after"] = before, loadavg()
                runs[name].append(r)
                print(f"  [{phase}] {name:11s} rep {rep}: {r['wall']:7.2f} s wall, trials' "
                      f"own seconds {r['trial_seconds']:.2f}, {r['cores_busy']:.2f} cores "
                      f"busy, others {r['others_cores']:.2f}  (load {before} -> "
                      f"{r['load_after']})", file=log, flush=True)
    return {"phase": phase, "runs": runs, "expected": expected}


# -- main ------------------------------------------------------------------------------
CONFIGS = [("idle", 1), ("idle", 0), ("loaded", 1), ("loaded", 0)]


def label(phase: str, threads: int) -> str:
    return f"{phase}, " + ("torch default" if threads == 0 else "1 thread")


def summarise(runs: list[dict[str, Any]], idx: set[int]) -> dict[str, float]:
    """Medians over repeats of the sums over networks ``idx``."""

    def med(key: str) -> float:
        return statistics.median(sum(r["nets"][i][key] or 0.0 for i in idx) for r in runs)

    wall = med("wall")
    return {"seconds": wall, "train_seconds": med("train_seconds"),
            "cores": med("cpu") / wall if wall else float("nan"),
            "others": med("others_cpu") / wall if wall else float("nan"),
            "load_rate": med("load_steps") / wall if wall else float("nan")}


def compare_acc(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> tuple[int, int, float]:
    """(networks compared, networks with equal val_acc, largest difference)."""
    same = total = 0
    worst = 0.0
    for x, y in zip(a, b, strict=False):
        total += 1
        if x["val_acc"] == y["val_acc"]:
            same += 1
        elif x["val_acc"] is not None and y["val_acc"] is not None:
            worst = max(worst, abs(x["val_acc"] - y["val_acc"]))
    return total, same, worst


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--archs", type=int, default=20, help="networks (demo: 20 trials)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per network (demo: 4)")
    parser.add_argument("--space", default="cnn")
    parser.add_argument("--data", default="digits")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--load-procs", type=int, default=1,
                        help="background load processes in the loaded configurations "
                        "(0: idle configurations only)")
    parser.add_argument("--load-kind", choices=["torch", "python"], default="torch",
                        help="torch: a torch training loop with default threads; "
                        "python: a pure-Python busy loop")
    parser.add_argument("--max-seconds", type=float, default=150.0,
                        help="stop a configuration after this many seconds of training")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--skip-threads", action="store_true",
                        help="skip the default-vs-one-thread comparison")
    parser.add_argument("--workers-check", choices=["none", "idle", "loaded", "both"],
                        default="none", help="also time `archsmith search` with 1 worker "
                        "(default threads, 1 thread) and 2 process workers")
    parser.add_argument("--workers-budget", type=int, default=8)
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                        help="write the results as JSON to FILE (no FILE: to stdout, and "
                        "the human-readable output to stderr)")
    parser.add_argument("--_train", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._train:
        train_child(json.loads(args._train))
        return {}
    for name in ("archs", "epochs", "repeats", "workers_budget"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.load_procs < 0 or args.max_seconds <= 0:
        parser.error("--load-procs must be >= 0 and --max-seconds > 0")
    log = sys.stderr if args.json == "-" else sys.stdout
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks

    import torch

    facts = {"cores": cores(), "torch": torch.__version__, "python": sys.version.split()[0],
             "autogroup": autogroup(), "load_procs": args.load_procs,
             "load_kind": args.load_kind, "load_before": loadavg(),
             "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(f"machine: {facts['cores']} usable cores, torch {facts['torch']}, Python "
          f"{facts['python']}, scheduler autogroup {facts['autogroup']}; load average "
          f"(1/5/15 min) before: {facts['load_before']}", file=log, flush=True)
    load_desc = ("a torch MLP training loop with default threads" if args.load_kind == "torch"
                 else "a pure-Python busy loop")
    print(f"loaded = {args.load_procs} background process(es), each {load_desc}"
          if args.load_procs else "no load processes: idle configurations only",
          file=log, flush=True)
    result: dict[str, Any] = {"facts": facts, "args": {k: v for k, v in vars(args).items()
                                                       if k != "_train"}}

    if not args.skip_threads:
        archs = proposals(args.space, args.seed, args.archs)
        spec = {"space": args.space, "data": args.data, "epochs": args.epochs,
                "seed": args.seed, "archs": [a.to_dict() for a in archs]}
        print(f"{args.archs} networks of the {args.space!r} space on {args.data!r}, "
              f"{args.epochs} epochs each, seed {args.seed}; cap {args.max_seconds:g} s "
              "per configuration", file=log, flush=True)
        phases = ("idle", "loaded") if args.load_procs > 0 else ("idle",)
        runs: dict[tuple[str, int], list[dict[str, Any]]] = {c: [] for c in CONFIGS}
        load_alone: list[float] = []
        phase_load: dict[str, list[tuple[str, str]]] = {"idle": [], "loaded": []}
        for rep in range(args.repeats):
            for phase in phases:
                with maybe_load(args.load_procs, args.load_kind, phase == "loaded") as load:
                    if load is not None:
                        load_alone.append(load.rate(5.0))
                    before = loadavg()
                    got = run_phase(spec, args.archs, args.max_seconds, load, flip=bool(rep % 2))
                    phase_load[phase].append((before, loadavg()))
                for threads, r in got.items():
                    runs[(phase, threads)].append(r)
                    secs = sum(x["wall"] for x in r["nets"])
                    print(f"  {label(phase, threads):22s} threads={r['threads']} "
                          f"{len(r['nets'])}/{args.archs} networks in {secs:7.2f} s"
                          + (" (stopped at the cap)" if r["capped"] else ""),
                          file=log, flush=True)
                print(f"  ({phase} phase: load average {before} -> {loadavg()})", file=log,
                      flush=True)
        result["threads"] = report_threads(args, runs, load_alone, log)
        result["threads"]["load_average"] = phase_load

    if args.workers_check != "none":
        phases = ["idle", "loaded"] if args.workers_check == "both" else [args.workers_check]
        print(f"\n`archsmith search` on the demo's configuration, {args.workers_budget} trials "
              f"x {args.epochs} epochs, --no-export (`export = false`), seed {args.seed}:",
              file=log, flush=True)
        result["workers"] = [report_workers(workers_check(args, p, log), log) for p in phases]

    facts["load_after"] = loadavg()
    print(f"\nload average (1/5/15 min) after: {facts['load_after']} (before: "
          f"{facts['load_before']}); other processes on the machine count in these",
          file=log, flush=True)
    if args.json:
        text = json.dumps(result, indent=2, default=list)
        if args.json == "-":
            sys.stdout.write(text + "\n")
        else:
            Path(args.json).write_text(text + "\n")
    return result


def report_threads(args: argparse.Namespace, runs: dict[tuple[str, int], list[dict[str, Any]]],
                   load_alone: list[float], log: Any) -> dict[str, Any]:
    n = args.archs
    default_threads = runs[("idle", 0)][0]["threads"]
    print(f"\ntorch default = {default_threads} threads. seconds: the networks' whole "
          "evaluate() calls; both configurations of a phase are summed over the same "
          f"networks (median over {args.repeats} repeat(s))", file=log)
    head = (f"{'configuration':24s} {'threads':>7s} {'networks':>9s} {'seconds':>9s} "
            f"{'train s':>8s} {'CPU/wall':>8s} {'others':>6s} {'load steps/s':>12s}  "
            "ratio default / 1 thread [median per network]")
    print(head, file=log)
    out: dict[str, Any] = {"default_threads": default_threads, "rows": {}, "ratios": {}}
    capped_any = False
    for phase in ("idle", "loaded"):
        if not runs[(phase, 1)]:
            continue
        one, dflt = runs[(phase, 1)], runs[(phase, 0)]
        common = set(range(min(len(r["nets"]) for r in one + dflt)))
        s_one, s_dflt = summarise(one, common), summarise(dflt, common)
        ratio = s_dflt["seconds"] / s_one["seconds"] if common else float("nan")
        per_net = [statistics.median(d["nets"][i]["wall"] / o["nets"][i]["wall"]
                                     for o, d in zip(one, dflt, strict=True))
                   for i in sorted(common)]
        med = statistics.median(per_net) if per_net else float("nan")
        out["ratios"][phase] = {"ratio": ratio, "median_per_network": med,
                                "networks": len(common), "per_network": per_net}
        for threads, rs, s in ((1, one, s_one), (0, dflt, s_dflt)):
            name = label(phase, threads)
            capped = any(r["capped"] for r in rs)
            capped_any |= capped
            rate_txt = (f"{s['load_rate']:12.1f}" if phase == "loaded" and args.load_procs > 0
                        else f"{'-':>12s}")
            done = f"{len(common)}/{n}" + ("*" if capped else "")
            tail = ("1 (baseline)" if threads == 1 else f"{ratio:.2f} [{med:.2f}]")
            print(f"{name:24s} {rs[0]['threads']:7d} {done:>9s} {s['seconds']:9.2f} "
                  f"{s['train_seconds']:8.2f} {s['cores']:8.2f} {s['others']:6.2f} {rate_txt}  "
                  f"{tail}", file=log)
            out["rows"][name] = {**s, "threads": rs[0]["threads"], "networks": len(common),
                                 "capped": capped,
                                 "val_acc": [x["val_acc"] for x in rs[0]["nets"]],
                                 "seconds_per_net": [x["wall"] for x in rs[0]["nets"]]}
    if capped_any:
        print(f"* a configuration was stopped at --max-seconds {args.max_seconds:g}: both "
              "configurations of that phase are compared on the networks finished by both",
              file=log)
    print("CPU/wall: cores the training process kept busy; others: cores all other "
          "processes (not the training, not the load job) kept busy meanwhile", file=log)
    if load_alone:
        unit = "training steps" if args.load_kind == "torch" else "x 10k loop iterations"
        out["load_alone"] = statistics.median(load_alone)
        print(f"load job alone: {out['load_alone']:.1f} {unit}/s (column 'load steps/s': "
              "the same while each loaded configuration trained)", file=log)
    print("val_acc per network:", file=log)
    checks = {}
    for a, b in ((("idle", 0), ("idle", 1)), (("loaded", 0), ("loaded", 1)),
                 (("idle", 1), ("loaded", 1)), (("idle", 0), ("loaded", 0))):
        if not runs[a] or not runs[b]:
            continue
        total, same, worst = compare_acc(runs[a][0]["nets"], runs[b][0]["nets"])
        reps = [compare_acc(runs[a][0]["nets"], r["nets"]) for r in runs[a][1:]]
        stable = all(t == s for t, s, _ in reps)
        key = f"{label(*a)} vs {label(*b)}"
        checks[key] = {"compared": total, "identical": same, "largest_difference": worst}
        print(f"  {key:48s}: {same}/{total} identical"
              + (f" (largest difference {worst:.2f} points)" if same < total else "")
              + ("" if stable else "; NOT repeatable across repeats"), file=log)
    out["val_acc_checks"] = checks
    return out


def report_workers(res: dict[str, Any], log: Any) -> dict[str, Any]:
    runs = res["runs"]
    base = statistics.median(r["wall"] for r in runs["w1-1thread"])
    print(f"[{res['phase']}] {'variant':34s} {'wall s (median)':>15s}  ratio vs 1 worker x 1 "
          "thread", file=log)
    names = {"w1-default": "1 worker x torch default threads",
             "w1-1thread": "1 worker x 1 thread",
             "w2-process": "2 process workers x 1 thread"}
    out: dict[str, Any] = {"phase": res["phase"], "rows": {}}
    for key, title in names.items():
        walls = [r["wall"] for r in runs[key]]
        med = statistics.median(walls)
        others = statistics.median(r["others_cores"] for r in runs[key])
        print(f"[{res['phase']}] {title:34s} {med:15.2f}  {med / base:.2f}  (runs: "
              + ", ".join(f"{w:.1f}" for w in walls) + f"; others kept {others:.2f} cores "
              "busy)", file=log)
        out["rows"][key] = {"title": title, "command": runs[key][0]["command"],
                            "walls": walls, "ratio": med / base,
                            "others_cores": [r["others_cores"] for r in runs[key]],
                            "load": [(r["load_before"], r["load_after"]) for r in runs[key]]}
    ref = runs["w1-1thread"][0]["trials"]
    first = [ref[k][0] for k in sorted(ref)][: len(res["expected"])]
    print(f"[{res['phase']}] the first {len(first)} trials are the networks the thread "
          "comparison trains (same --seed): " + ("yes" if first == res["expected"] else "NO"),
          file=log)
    for key in names:
        for r in runs[key]:
            same = [k for k in sorted(ref) if k in r["trials"] and r["trials"][k][0] == ref[k][0]]
            accs = sum(r["trials"][k][1] == ref[k][1] for k in same)
            print(f"[{res['phase']}]   {r['name']}: the same architecture as 1 worker x 1 thread "
                  f"in {len(same)}/{len(ref)} trials (the rest are proposed in another order "
                  "when trials run at once); identical val_acc in "
                  f"{accs}/{len(same)} of those" if len(same) < len(ref) else
                  f"[{res['phase']}]   {r['name']}: the same architectures as 1 worker x 1 "
                  f"thread; identical val_acc {accs}/{len(same)}", file=log)
    return out


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # the finally blocks have stopped every subprocess
        sys.exit("interrupted")
