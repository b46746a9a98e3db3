"""How fast torch multiplies matrices on the CPU, measured once at start-up: Debian's torch runs on
whichever BLAS the system provides, and without OpenBLAS that is the reference BLAS, about twenty
times slower (about 4 GFLOP/s against about 90 on two cores). A run on it is not broken, only slow,
so the trainer says so with the fix instead of leaving the user to wonder."""
import math
import os
import time

import torch

from .events import TrainerError

MIN_GFLOPS_ENV = "ONNX_COMPRESS_MIN_BLAS_GFLOPS"
# Well below OpenBLAS on a loaded 2-core machine, well above the reference BLAS on a fast one.
DEFAULT_MIN_GFLOPS = 20.0
FIX = "apt-get install libopenblas0-pthread"

_measured = {}  # thread count -> GFLOP/s: the BLAS does not change within a process


def measure_gflops(size=512, budget_s=0.2, max_products=20):
    """GFLOP/s of float32 `size` x `size` products: the best of as many as fit in `budget_s` after
    one warm-up (at least one). The best, not the mean: other processes on the cores only ever slow
    a product down. At 4 GFLOP/s one product of 512 takes about 70 ms, so this stays well under a
    second even on the slowest BLAS."""
    generator = torch.Generator().manual_seed(0)  # the run's seeded global RNG is left untouched
    a = torch.randn(size, size, generator=generator)
    b = torch.randn(size, size, generator=generator)
    torch.mm(a, b)  # warm-up: thread pools, first-touch pages
    flops = 2.0 * size ** 3
    best = 0.0
    started = time.perf_counter()
    for _ in range(max_products):
        t = time.perf_counter()
        torch.mm(a, b)
        best = max(best, flops / max(time.perf_counter() - t, 1e-9))
        if time.perf_counter() - started > budget_s:
            break
    return best / 1e9


def cpu_gflops():
    threads = torch.get_num_threads()
    if threads not in _measured:
        _measured[threads] = measure_gflops()
    return _measured[threads]


def min_gflops():
    raw = os.environ.get(MIN_GFLOPS_ENV)
    if raw is None or raw.strip() == "":
        return DEFAULT_MIN_GFLOPS
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise TrainerError(f"{MIN_GFLOPS_ENV}={raw!r} is not a number of GFLOP/s", where=MIN_GFLOPS_ENV,
                           hint=f"unset it (default {DEFAULT_MIN_GFLOPS:g}) or give a number such as 20")
    return value


def slow_blas_warning(gflops, threshold):
    """The `warning` event's fields when `gflops` is below `threshold`, else None."""
    if gflops >= threshold:
        return None
    return {"message": f"matrix products on the CPU run at {gflops:.1f} GFLOP/s (below {threshold:g}): torch is using "
                       f"a slow BLAS, likely the reference one, and training will be many times slower than it should",
            "hint": f"install OpenBLAS: `{FIX}` (Debian's torch picks it up at the next run), or set {MIN_GFLOPS_ENV} "
                    "to change this threshold"}
