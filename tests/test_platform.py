"""The helpers run where Python runs, and importing the library reads and sends nothing.

Each fallback is tested here, on this machine, by taking away what it stands in for:
``os.fchmod`` (missing on Windows before Python 3.13), ``os.kill`` as a probe (on Windows
it sends Ctrl-C), ``/proc/stat`` (Linux only) and ``os.sched_getaffinity`` (Linux only).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import nn
from nn import threads
from tracegrad import files

ROOT = Path(__file__).resolve().parent.parent

# Run in a fresh interpreter: records every file opened and every connection or process
# started while the library is imported, leaving out the import system's own reading of
# modules and whatever lies inside the Python installation (the standard library and
# site-packages).
_IMPORT_AUDIT = textwrap.dedent(
    """
    import importlib.machinery, json, os, site, sys, sysconfig

    installed = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                 *sysconfig.get_paths().values(), *site.getsitepackages(),
                 site.getusersitepackages()}
    installed = tuple(os.path.join(os.path.realpath(p), "") for p in installed)
    module_files = tuple(importlib.machinery.all_suffixes())
    IO = ("socket.", "subprocess.", "urllib.", "http.", "os.system", "os.exec", "os.spawn",
          "os.posix_spawn", "os.startfile", "ftplib.", "smtplib.")
    seen = []

    def audit(event, args):
        if event == "open":
            path = args[0]
            if isinstance(path, int):
                return  # an open file descriptor, not a new file
            path = os.path.realpath(os.fsdecode(path))
            if path.endswith(module_files) or "__pycache__" in path:
                return  # the import system reading a module
            if os.path.join(path, "").startswith(installed):
                return
            seen.append(f"open {path}")
        elif event.startswith(IO):
            seen.append(f"{event} {args!r}"[:200])

    sys.addaudithook(audit)
    import autograd, tracegrad, tracegrad.files, tracegrad.rng, nn, nn.threads
    import tracegrad.cli, tracegrad.recipe, tracegrad.demo
    done = list(seen)
    print(json.dumps({"io": done, "first_look": nn.threads._last_look}))
    """
)


def test_importing_the_library_reads_no_file_and_opens_no_connection() -> None:
    done = subprocess.run(
        [sys.executable, "-B", "-c", _IMPORT_AUDIT],  # -B: no bytecode written either
        capture_output=True, text=True, check=True, cwd=ROOT,  # this checkout's packages
    )  # fmt: skip
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["io"] == []
    assert report["first_look"] is None  # /proc/stat waits for the first fit


# -- tracegrad.files: os.fchmod ---------------------------------------------------------------


def test_without_fchmod_the_temporary_file_gets_its_mode_through_its_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delattr(os, "fchmod", raising=False)
    chmodded: list[str] = []
    real_chmod = os.chmod

    def chmod(path: str, mode: int, **options: bool) -> None:
        chmodded.append(os.fspath(path))
        real_chmod(path, mode, **options)

    monkeypatch.setattr(os, "chmod", chmod)
    path = tmp_path / "model.npz"
    files.write_atomically(path, b"first")
    assert path.read_bytes() == b"first" and (path.stat().st_mode & 0o777) == 0o644
    path.chmod(0o660)
    chmodded.clear()
    with files.atomic_file(path) as file:
        file.write(b"second")
        (temporary,) = (p for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
        assert (temporary.stat().st_mode & 0o777) == 0o660  # before any byte lands
        assert path.read_bytes() == b"first"  # a reader still sees the whole old file
    assert chmodded == [str(temporary)]  # the temporary file's path, never the target's
    assert path.read_bytes() == b"second" and (path.stat().st_mode & 0o777) == 0o660
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    with pytest.raises(RuntimeError), files.atomic_file(path) as file:
        file.write(b"half")
        raise RuntimeError
    assert path.read_bytes() == b"second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


# -- tracegrad.files: leftovers, where os.kill cannot probe ------------------------------------


def _leftover(target: Path, pid: int, age: float) -> Path:
    """A temporary file as a writer ``pid`` would have left it, last written ``age`` ago."""
    leftover = target.parent / f".{target.name}.{pid}.abc123.tmp"
    leftover.write_bytes(b"half")
    written = time.time() - age
    os.utime(leftover, (written, written))
    return leftover


@pytest.mark.parametrize("platform", ["win32", "no os.kill"])
def test_where_processes_cannot_be_probed_a_leftover_is_stale_by_age(
    platform: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if platform == "win32":
        monkeypatch.setattr(sys, "platform", "win32")

        def kill(pid: int, signal: int) -> None:
            raise AssertionError(f"os.kill({pid}, {signal}) would send Ctrl-C on Windows")

        monkeypatch.setattr(os, "kill", kill)
    else:
        monkeypatch.delattr(os, "kill")
    target = tmp_path / "mnist.gz"
    old = files.STALE_AFTER_SECONDS + 60
    abandoned = _leftover(target, 4242, age=old)
    recent = _leftover(target, 4243, age=60)  # a writer perhaps still at work
    ours = _leftover(target, os.getpid(), age=old)  # this process's, never another's to take
    other = tmp_path / ".other.gz.4242.abc123.tmp"  # another file's leftover
    other.write_bytes(b"half")
    os.utime(other, (time.time() - old, time.time() - old))
    files.write_atomically(target, b"whole")
    assert target.read_bytes() == b"whole"
    assert not abandoned.exists()
    assert recent.exists() and ours.exists() and other.exists()
    assert files.remove_leftovers(target) == []  # nothing more is stale


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX: processes are probed")
def test_on_posix_a_leftover_is_stale_when_its_writer_is_gone_whatever_its_age(
    tmp_path: Path,
) -> None:
    gone = subprocess.Popen([sys.executable, "-S", "-c", ""])
    gone.wait()  # reaped: its id names no process
    target = tmp_path / "model.npz"
    dead_writer = _leftover(target, gone.pid, age=0)
    live_writer = _leftover(target, os.getppid(), age=files.STALE_AFTER_SECONDS + 60)
    assert files.remove_leftovers(target) == [dead_writer]
    assert live_writer.exists()


# -- nn.threads: /proc/stat and sched_getaffinity --------------------------------------------


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """nn.threads as in a process that has not looked yet, on 3 cores; records sleeps."""
    sleeps: list[float] = []
    monkeypatch.setattr(threads, "_last_look", None)
    monkeypatch.setattr(threads, "cores", lambda: 3)
    monkeypatch.setattr(threads.time, "sleep", sleeps.append)
    return sleeps


@pytest.mark.parametrize("stat", ["missing", "a folder", "empty", "no cpu line"])
def test_without_proc_stat_every_core_counts_as_idle(
    stat: str, fresh_process: list[float], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "stat"
    if stat == "a folder":
        path.mkdir()
    elif stat == "empty":
        path.write_text("")
    elif stat == "no cpu line":
        path.write_text("intr 1 2 3\nctxt 4\n")
    monkeypatch.setattr(threads, "PROC_STAT", str(path))
    meter = threads.IdleCores()
    assert [meter.count() for _ in range(2)] == [3, 3]
    assert fresh_process == []  # nothing to wait for


def test_fit_gives_blas_every_core_where_proc_stat_is_missing(
    fresh_process: list[float], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(threads, "PROC_STAT", str(tmp_path / "missing"))
    asked: list[int | None] = []

    @contextlib.contextmanager
    def blas_threads(count: int | None) -> Iterator[None]:
        asked.append(count)
        yield

    monkeypatch.setattr(nn.train, "blas_threads", blas_threads)
    X, y = nn.datasets.moons(32, rng=0)
    model = nn.MLP(2, [4, 2], rng=0)
    nn.fit(model, X, y, loss=nn.cross_entropy, epochs=2, progress=False,
           optimizer=nn.optim.SGD(model.parameters(), lr=0.1))  # fmt: skip
    assert asked == [3, 3]


def test_the_first_look_is_taken_by_the_first_counter_and_reads_proc_stat(
    fresh_process: list[float], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice, then per-core lines
    path.write_text("cpu  10 20 30 400 50 6 7 8 0 0\ncpu0 5 10 15 200 25 3 3 4 0 0\n")
    monkeypatch.setattr(threads, "PROC_STAT", str(path))
    assert threads._last_look is None
    threads.IdleCores()
    look = threads._last_look
    assert look is not None
    assert look[1] == pytest.approx((531 - 400 - 50) / os.sysconf("SC_CLK_TCK"))  # less idle
    threads.IdleCores()
    assert threads._last_look is look  # later counters look back to it


def test_the_cores_left_over_are_the_cores_less_what_others_used(
    fresh_process: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # (seconds, machine busy seconds, own CPU seconds): over 1 s, others used 1.5 cores
    looks = iter([(0.0, 0.0, 0.0), (1.0, 2.0, 0.5), (2.0, 2.6, 1.0), (3.0, 6.0, 1.0)])
    monkeypatch.setattr(threads, "_sample", lambda: next(looks))
    meter = threads.IdleCores()
    assert meter.count() == 2  # round(3 - 1.5), as many as are left
    assert meter.count() == 3  # others used 0.1 of a core
    assert meter.count() == 1  # others used more than every core: still one
    assert fresh_process == []


def test_without_sched_getaffinity_every_core_of_the_machine_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    assert threads.cores() == (os.cpu_count() or 1)
    assert threads.candidates() == sorted({1, os.cpu_count() or 1})


def test_a_fit_on_this_machine_still_measures(monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path("/proc/stat").is_file():
        pytest.skip("no /proc/stat here: the fallback is what runs")
    monkeypatch.setattr(threads, "_last_look", None)
    X, y = nn.datasets.moons(32, rng=0)
    model = nn.MLP(2, [4, 2], rng=0)
    nn.fit(model, X, y, loss=nn.cross_entropy, epochs=1, progress=False,
           optimizer=nn.optim.SGD(model.parameters(), lr=0.1))  # fmt: skip
    assert threads._last_look is not None and np.isfinite(threads._last_look).all()
