"""What a trained network costs: parameters, FLOPs and batch-1 latency."""

from __future__ import annotations

import copy
import statistics
import time

import torch

__all__ = ["LATENCY_MAX_SECONDS", "LATENCY_RUNS", "LATENCY_WARMUP", "count_flops",
           "count_params", "measure_latency"]

#: Untimed batch-size-1 forward passes before latency is timed (caches, allocator, JIT).
LATENCY_WARMUP = 5
#: Timed batch-size-1 forward passes for ``latency_ms``: at least the first number, and
#: more (up to the second) while the time allows.
LATENCY_RUNS = (20, 200)
#: Stop timing latency after this many seconds (once the minimum number of runs is done).
LATENCY_MAX_SECONDS = 0.3


def count_params(net: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def count_flops(net: torch.nn.Module, input_shape: tuple[int, ...]) -> float:
    """Forward FLOPs of one example as counted by ``FlopCounterMode``.

    A multiply-add counts as two FLOPs; only matrix products and convolutions are
    counted (element-wise operations are not).
    """
    from torch.utils.flop_counter import FlopCounterMode

    device = next((p.device for p in net.parameters()), torch.device("cpu"))
    x = torch.zeros((1, *input_shape), device=device)
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            net(x)
    finally:
        net.train(was_training)
    return float(counter.get_total_flops())


def measure_latency(net: torch.nn.Module, input_shape: tuple[int, ...]) -> tuple[float, float]:
    """Median and interquartile range (milliseconds) of batch-1 CPU forward passes.

    :data:`LATENCY_WARMUP` untimed passes, then at least ``LATENCY_RUNS[0]`` timed ones
    (more, up to ``LATENCY_RUNS[1]``, within :data:`LATENCY_MAX_SECONDS`). The median
    ignores the outliers a busy machine adds (a descheduled pass can take 100x longer);
    the interquartile range says how steady the measurement was.

    Example:
        >>> net = torch.nn.Linear(4, 2)
        >>> median, iqr = measure_latency(net, (4,))
        >>> 0 < median < 100 and iqr >= 0
        True
    """
    on_cpu = all(p.device.type == "cpu" for p in net.parameters())
    model = net if on_cpu else copy.deepcopy(net).cpu()
    was_training = model.training
    model.eval()
    x = torch.zeros((1, *input_shape))
    times: list[float] = []
    low, high = LATENCY_RUNS
    try:
        with torch.no_grad():
            for _ in range(LATENCY_WARMUP):
                model(x)
            deadline = time.perf_counter() + LATENCY_MAX_SECONDS
            while len(times) < high and (len(times) < low or time.perf_counter() < deadline):
                t0 = time.perf_counter()
                model(x)
                times.append(time.perf_counter() - t0)
    finally:
        model.train(was_training)
    q1, q2, q3 = statistics.quantiles(times, n=4)
    return q2 * 1000.0, (q3 - q1) * 1000.0
