"""``tracegrad train --resume``: a run stopped by Ctrl-C after epoch 3, resumed by the same
command with --resume, ends with the model file and history of a run never stopped, to
the last bit; a resume with other options, or without a checkpoint, is one line."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nn.module import read_model_file

#: Enough samples that an epoch lasts long enough to be interrupted in (about a second).
RUN = ["train", "--dataset", "spiral", "--samples", "100000", "--epochs", "6",
       "--hidden", "32,32", "--threads", "1", "--seed", "3"]  # fmt: skip


def _tracegrad(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracegrad", *args], capture_output=True, text=True, check=False
    )


def _interrupt_after(epochs: int, out: Path) -> str:
    """Start the run, send Ctrl-C once ``epochs`` epochs are done, return its stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tracegrad", *RUN, "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    progress, deadline = b"", time.monotonic() + 180
    marker = f"epoch {epochs + 1}/".encode()  # the bar's description as the next one starts
    while marker not in progress:
        assert time.monotonic() < deadline and process.poll() is None, progress[-500:]
        if select.select([process.stderr], [], [], 1.0)[0]:
            progress += os.read(process.stderr.fileno(), 65536)
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    assert process.returncode == 130
    return (progress + rest).decode(errors="replace")


def _history(out: Path) -> list[dict[str, float]]:
    records = json.loads((out / "history.json").read_text())
    return [{k: v for k, v in record.items() if k != "seconds"} for record in records]


@pytest.mark.slow
def test_ctrl_c_then_resume_gives_the_run_never_stopped(tmp_path: Path) -> None:
    stopped, whole = tmp_path / "stopped", tmp_path / "whole"
    stderr = _interrupt_after(3, stopped)
    assert "Traceback" not in stderr and "the same command with --resume" in stderr
    interrupted = len(json.loads((stopped / "history.json").read_text()))
    assert 3 <= interrupted < 6
    resumed = _tracegrad(*RUN, "--out", str(stopped), "--quiet", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    uninterrupted = _tracegrad(*RUN, "--out", str(whole), "--quiet")
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    assert _history(stopped) == _history(whole) and len(_history(whole)) == 6
    header, arrays = read_model_file(stopped / "model.npz")
    whole_header, whole_arrays = read_model_file(whole / "model.npz")
    assert header["metadata"]["recipe"] == whole_header["metadata"]["recipe"]
    assert "interrupted_after" not in header["metadata"]
    assert arrays.keys() == whole_arrays.keys()
    for name, array in arrays.items():
        np.testing.assert_array_equal(array, whole_arrays[name], err_msg=name)
        assert array.dtype == whole_arrays[name].dtype
    reports = [
        [line for line in done.stdout.splitlines() if not line.startswith("trained")]
        for done in (resumed, uninterrupted)
    ]
    assert reports[0] == reports[1] and len(reports[0]) == 3  # training, validation, test


def test_resume_refuses_other_options_and_a_folder_without_a_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "run"
    short = ["train", "--dataset", "moons", "--epochs", "2", "--quiet", "--out", str(out)]
    done = _tracegrad(*short, "--resume")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"--resume: no checkpoint to go on from in {out}" in done.stderr
    assert _tracegrad(*short).returncode == 0
    assert (out / "checkpoint.npz").is_file()
    done = _tracegrad(*short, "--lr", "0.5", "--resume")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert "the run in" in done.stderr and "--lr 0.01, not 0.5" in done.stderr
    done = _tracegrad(*short, "--resume", "--threads", "2")  # how, not what: allowed
    assert done.returncode == 0, done.stderr
    done = _tracegrad(*short[:-2], "--out", str(out), "--hidden", "8", "--resume")
    assert done.returncode == 1 and "--hidden [64, 64], not [8]" in done.stderr
