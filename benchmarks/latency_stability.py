"""How steady archsmith's measured cost metrics are (issue 14).

For ``--archs`` random architectures of a space (built for a dataset's input shape), each
cost metric is measured ``--repeats`` times in this process (one torch thread, the
machine otherwise idle): ``latency_ms`` (eager PyTorch, batch 1, median of ≥ 20 timed
passes), ``onnx_latency_ms`` (the exported model under ONNX Runtime, one thread),
``peak_activation_mb``, ``params`` and ``flops``. Prints, per metric, the coefficient of
variation (standard deviation / mean over the repeats) of each architecture — median and
worst over architectures — and the Spearman rank correlation between two independent
rounds of measurement (does re-measuring change which network is faster?).

    python benchmarks/latency_stability.py --space cnn --data mnist1d --archs 30 --repeats 10
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.stats import spearmanr

from archsmith.evaluators import load_dataset
from archsmith.evaluators._costs import (
    count_flops,
    count_params,
    measure_latency,
    measure_onnx_latency,
    peak_activation_mb,
)
from archsmith.space import create_space


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--space", default="cnn")
    p.add_argument("--data", default="mnist1d")
    p.add_argument("--archs", type=int, default=30)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(1)
    ds = load_dataset(a.data)
    space = create_space(a.space)
    rng = np.random.default_rng(a.seed)
    nets = []
    for _ in range(a.archs):
        torch.manual_seed(int(rng.integers(2**31)))
        nets.append(space.build(space.sample(rng), ds.input_shape, ds.num_classes).eval())
    metrics = {
        "latency_ms": lambda n: measure_latency(n, ds.input_shape)[0],
        "onnx_latency_ms": lambda n: measure_onnx_latency(n, ds.input_shape)[0],
        "peak_activation_mb": lambda n: peak_activation_mb(n, ds.input_shape),
        "params": lambda n: float(count_params(n)),
        "flops": lambda n: count_flops(n, ds.input_shape),
    }
    t0 = time.time()
    values = {m: np.zeros((a.archs, a.repeats)) for m in metrics}
    for r in range(a.repeats):  # rounds over all networks, so drift hits every network alike
        for i, net in enumerate(nets):
            for m, fn in metrics.items():
                values[m][i, r] = fn(net)
    print(f"{a.space} on {a.data} {ds.input_shape}: {a.archs} architectures x {a.repeats} "
          f"repeats, one torch thread, {time.time() - t0:.0f} s")
    print("| metric | median of archs | CV median | CV worst | Spearman round 1 vs 2 |")
    print("|---|---|---|---|---|")
    for m, v in values.items():
        cv = v.std(axis=1) / v.mean(axis=1)
        rho = spearmanr(v[:, 0], v[:, 1]).statistic if a.repeats > 1 else float("nan")
        print(f"| {m} | {np.median(v.mean(axis=1)):.4g} | {np.median(cv):.3%} | "
              f"{cv.max():.3%} | {rho:.3f} |")


if __name__ == "__main__":
    main()
