"""What a network costs: parameters, FLOPs, peak activation memory and batch-1 latency
(PyTorch eager and, with ONNX Runtime installed, the exported ONNX model).

Every figure is for one example (batch size 1) on the CPU of the machine that measures
it; how steady the timings are is measured in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import copy
import statistics
import time

import torch

__all__ = ["LATENCY_MAX_SECONDS", "LATENCY_RUNS", "LATENCY_WARMUP", "cost_metrics", "count_flops",
           "count_params", "measure_latency", "measure_onnx_latency", "peak_activation_mb"]

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


def peak_activation_mb(net: torch.nn.Module, input_shape: tuple[int, ...]) -> float:
    """Peak memory (MB) of the tensors alive at once during one batch-1 forward pass in
    eval mode: the input and every intermediate result, from its creation until it is
    freed (weights are not counted). Tracked per operator with a ``TorchDispatchMode``,
    so it is what eager PyTorch holds, not an estimate from the layer list.

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Linear(1000, 1000), torch.nn.ReLU())
        >>> round(peak_activation_mb(net, (1000,)), 3)  # input, linear out, relu out
        0.012
    """
    import weakref

    from torch.utils._python_dispatch import TorchDispatchMode

    live = {"now": 0, "peak": 0}
    refs: dict[int, int] = {}  # storage → tensors alive on it (views share a storage)
    weights = {t.untyped_storage().data_ptr() for t in (*net.parameters(), *net.buffers())}

    def track(t: torch.Tensor) -> None:
        st = t.untyped_storage()
        key, size = st.data_ptr(), st.nbytes()
        if key in weights or size == 0:
            return
        if key not in refs:
            refs[key] = 0
            live["now"] += size
            live["peak"] = max(live["peak"], live["now"])
        refs[key] += 1

        def free() -> None:
            refs[key] -= 1
            if refs[key] == 0:
                del refs[key]
                live["now"] -= size

        weakref.finalize(t, free)

    class _Mode(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            out = func(*args, **(kwargs or {}))
            for o in out if isinstance(out, tuple | list) else (out,):
                if isinstance(o, torch.Tensor):
                    track(o)
            return out

    device = next((p.device for p in net.parameters()), torch.device("cpu"))
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            x = torch.zeros((1, *input_shape), device=device)
            track(x)
            with _Mode():
                out = net(x)
            del out, x
    finally:
        net.train(was_training)
    return live["peak"] / 1e6


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


def measure_onnx_latency(net: torch.nn.Module,
                         input_shape: tuple[int, ...]) -> tuple[float, float]:
    """Median and interquartile range (ms) of batch-1 passes of ``net`` exported to ONNX
    and run by ONNX Runtime on one CPU thread (the timing rule of :func:`measure_latency`).

    Raises:
        ArchsmithError: ``onnxruntime`` is not installed (names the ``export`` extra).
        RuntimeError: the network cannot be exported.
    """
    import io
    import warnings

    from archsmith._lazy import optional_import

    ort = optional_import("onnxruntime", "export", "onnx_latency_ms")
    model = copy.deepcopy(net).cpu().eval()
    example = torch.zeros((1, *input_shape))
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:  # the TorchScript exporter: fast for small networks
            torch.onnx.export(model, (example,), buf,  # type: ignore[arg-type]
                              input_names=["input"], dynamo=False)
        except TypeError:  # torch < 2.5 has no `dynamo` argument (and exports the same way)
            torch.onnx.export(model, (example,), buf,  # type: ignore[arg-type]
                              input_names=["input"])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(buf.getvalue(), opts, providers=["CPUExecutionProvider"])
    feed = {"input": example.numpy()}
    for _ in range(LATENCY_WARMUP):
        sess.run(None, feed)
    times: list[float] = []
    low, high = LATENCY_RUNS
    deadline = time.perf_counter() + LATENCY_MAX_SECONDS
    while len(times) < high and (len(times) < low or time.perf_counter() < deadline):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append(time.perf_counter() - t0)
    q1, q2, q3 = statistics.quantiles(times, n=4)
    return q2 * 1000.0, (q3 - q1) * 1000.0


def cost_metrics(net: torch.nn.Module, input_shape: tuple[int, ...],
                 onnx_latency: bool = False) -> dict[str, float]:
    """Every cost metric of ``net`` for one example of ``input_shape``: ``params``,
    ``flops``, ``peak_activation_mb``, ``latency_ms`` and ``latency_iqr_ms``, and with
    ``onnx_latency`` the ONNX Runtime ones.

    Raises:
        RuntimeError: the ONNX latency could not be measured (the message says why).
    """
    latency, spread = measure_latency(net, input_shape)
    out = {"params": float(count_params(net)), "flops": count_flops(net, input_shape),
           "peak_activation_mb": peak_activation_mb(net, input_shape),
           "latency_ms": latency, "latency_iqr_ms": spread}
    if onnx_latency:
        from archsmith.errors import describe_exception

        try:
            out["onnx_latency_ms"], out["onnx_latency_iqr_ms"] = measure_onnx_latency(
                net, input_shape)
        except Exception as e:
            raise RuntimeError(f"measuring onnx_latency_ms failed (the network could not "
                               f"be exported or run by ONNX Runtime): "
                               f"{describe_exception(e)}") from e
    return out
