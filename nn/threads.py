"""How many threads numpy's BLAS uses while training: as many as there are idle cores.

With BLAS's default (one thread per core) a matrix product on a busy machine waits for
cores that other programs hold: on two cores with one other busy process, an epoch took
twice as long with two threads as with one, and ``tracegrad train`` ten times as long.
On a quiet machine every core helps (1.4× on two cores). So ``fit`` looks, before every
epoch, at how much of the machine *other* processes used (the kernel's count of busy
time, less this process's own CPU time) and gives BLAS the cores left over, at least
one. ``threads=`` fixes the count instead. The setting is made with threadpoolctl and
undone when training ends.

Importing this module reads nothing: the first look at ``/proc/stat`` is taken by the
first counter made (every ``fit`` makes one, even with ``threads=`` fixed). Where
``/proc/stat`` is missing (systems other than Linux) every core counts as idle.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from threadpoolctl import threadpool_limits

#: The shortest time a look may cover: a first look closer than this to the last waits.
FIRST_LOOK_SECONDS = 0.05

#: The kernel's running count of the time each kind of work took, machine-wide (Linux).
PROC_STAT = "/proc/stat"

Sample = tuple[float, float, float]  # (monotonic time, machine busy seconds, own CPU seconds)


def cores() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def candidates() -> list[int]:
    """The thread counts worth comparing: 1 and every core."""
    return sorted({1, cores()})


def _sample() -> Sample | None:
    """The machine's busy time so far (from /proc/stat) and this process's CPU time.

    None where ``/proc/stat`` cannot be read or does not start with the machine's total.
    """
    try:
        fields = Path(PROC_STAT).read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    ticks = [int(value) for value in fields[1:]]
    busy = sum(ticks) - ticks[3] - (ticks[4] if len(ticks) > 4 else 0)  # less idle, iowait
    own = os.times()
    ticks_per_second = os.sysconf("SC_CLK_TCK")  # asked only where /proc/stat exists: Linux
    return time.monotonic(), busy / ticks_per_second, own.user + own.system


#: The last look in this process, so that a new ``fit`` looks back over the time since
#: instead of waiting to see. None until the first counter is made: importing reads
#: nothing.
_last_look: Sample | None = None


class IdleCores:
    """Counts the cores that other processes leave idle, from one look to the next.

    Reads the machine's busy time from ``/proc/stat`` and subtracts this process's own
    CPU time (``os.times``), so that our own threads, spinning or working, do not count.
    The first look of a new counter looks back to the process's last look (the first
    counter made, or the end of the last epoch trained); only when that was under 50 ms
    ago does it wait, as the process's first measured epoch does. Where ``/proc/stat`` is
    missing it reports every core as idle.
    """

    def __init__(self) -> None:
        global _last_look
        if _last_look is None:
            _last_look = _sample()  # the process's first look, at first use
        self._last = _last_look

    def count(self) -> int:
        """The cores idle since the last look."""
        global _last_look
        if self._last is None:
            return cores()
        now = _sample()
        if now is None:
            return cores()
        waited = now[0] - self._last[0]
        if waited < FIRST_LOOK_SECONDS:
            time.sleep(FIRST_LOOK_SECONDS - waited)
            now = _sample() or now
        wall = now[0] - self._last[0]
        others = max(0.0, (now[1] - self._last[1]) - (now[2] - self._last[2])) / max(wall, 1e-9)
        self._last = _last_look = now
        return max(1, min(cores(), round(cores() - others)))


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
