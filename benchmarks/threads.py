"""BLAS threads while training, on a quiet machine and on a busy one.

The workload is ``tracegrad train --dataset mnist``'s model and setting (784-512-256-10,
Adam 1e-3, batch 128) on MNIST-shaped synthetic data (no download), 12,800 samples per
timed epoch. Each thread setting (1, every core, and the default, which gives BLAS the
cores other processes leave idle, see ``nn.threads``) is timed on a quiet machine and
with one competing busy process (a Python loop that never sleeps), interleaved, median
of the repeats. The
table gives each setting's time as a ratio of the best setting's in the same condition;
the target is the default within 1.3× of the best in both.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import numpy as np

import nn
from nn.threads import candidates

SAMPLES = 12_800


def _epoch(threads: int | None, X: np.ndarray, y: np.ndarray) -> float:
    model = nn.MLP(784, [512, 256, 10], rng=0)
    optimizer = nn.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=optimizer, epochs=1, batch_size=128,
           metrics=[], progress=False, threads=threads)  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.random((SAMPLES, 784), dtype=np.float32)
    y = rng.integers(0, 10, SAMPLES)
    settings: dict[str, int | None] = {f"{n} thread{'s' * (n > 1)}": n for n in candidates()}
    settings["default (idle cores, per epoch)"] = None
    conditions = ["quiet", "one busy process"]
    times: dict[tuple[str, str], list[float]] = {}
    _epoch(1, X[:1280], y[:1280])  # warm up
    for condition in conditions:
        busy = None
        if condition != "quiet":
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(0.5)
        try:
            for _ in range(args.repeats):
                for name, threads in settings.items():
                    times.setdefault((condition, name), []).append(_epoch(threads, X, y))
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
    cores = max(candidates())
    print(
        f"Seconds per epoch of {SAMPLES:,} samples (784-512-256-10, Adam, batch 128), "
        f"median of {args.repeats}, on {cores} cores:\n"
    )
    print("| BLAS threads | quiet | ÷ best | one busy process | ÷ best |")
    print("|---|---:|---:|---:|---:|")
    median = {key: statistics.median(value) for key, value in times.items()}
    best = {c: min(median[(c, name)] for name in settings) for c in conditions}
    for name in settings:
        cells = []
        for condition in conditions:
            seconds = median[(condition, name)]
            cells += [f"{seconds:.2f}", f"{seconds / best[condition]:.2f}×"]
        print(f"| {name} | " + " | ".join(cells) + " |")
    worst = max(median[(c, "default (idle cores, per epoch)")] / best[c] for c in conditions)
    print(f"\nthe default's worst ratio to the best setting: {worst:.2f}× (target ≤ 1.3×)")


if __name__ == "__main__":
    main()
