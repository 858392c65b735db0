"""How many threads numpy's BLAS uses while training: measured, not assumed.

With BLAS's default (one thread per core) a matrix product on a busy machine waits for
cores that other programs hold: on two cores with one other busy process, training was
ten times slower than with one thread. On a quiet machine more threads help a little.
So ``fit`` asks, at the start of every epoch, which thread count multiplies the model's
own shapes fastest right now (a few products per candidate, a few milliseconds), and
trains that epoch with it. ``threads=`` fixes the count instead. The setting is made with
threadpoolctl and undone when training ends.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

import numpy as np
from threadpoolctl import threadpool_limits

#: Products timed per candidate; the fastest of them counts (the least disturbed).
TRIALS = 5


def candidates() -> list[int]:
    """1 and the number of cores this process may use (just 1 on a one-core machine)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return sorted({1, max(1, cores)})


def fastest_thread_count(rows: int, inner: int, columns: int) -> int:
    """The BLAS thread count that multiplies (rows × inner) by (inner × columns) fastest
    now, among ``candidates()``; a tie goes to fewer threads."""
    options = candidates()
    if len(options) == 1:
        return options[0]
    rng = np.random.default_rng(0)
    a = rng.standard_normal((max(rows, 1), max(inner, 1)), dtype=np.float32)
    b = rng.standard_normal((max(inner, 1), max(columns, 1)), dtype=np.float32)
    best, best_time = options[0], float("inf")
    for count in options:
        with threadpool_limits(limits=count, user_api="blas"):
            a @ b  # warm the threads up
            elapsed = float("inf")
            for _ in range(TRIALS):
                start = time.perf_counter()
                a @ b
                elapsed = min(elapsed, time.perf_counter() - start)
        if elapsed < best_time * 0.9:  # more threads must win clearly
            best, best_time = count, elapsed
    return best


@contextlib.contextmanager
def blas_threads(count: int | None) -> Iterator[None]:
    """numpy's BLAS limited to ``count`` threads inside the block (None: unchanged)."""
    if count is None:
        yield
        return
    if count < 1:
        raise ValueError(f"threads must be at least 1, got {count}")
    with threadpool_limits(limits=count, user_api="blas"):
        yield
