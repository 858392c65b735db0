"""Two checkouts of tracegrad on the same workloads, in one process, taking turns.

    git worktree add /tmp/base <commit>
    python benchmarks/compare_engines.py /tmp/base .      # needs micrograd (make bench)

On a shared machine a slow spell can last longer than a whole benchmark, so two runs of
``scalar.py`` or ``tensor_mlp.py`` made minutes apart can differ by more than a change to
the engine does. Here both checkouts are imported into one process (each under its own
module names) and run the same workloads in turn, many times: a slow spell falls on
both. The workloads are the ones the engine's targets are about:

- micrograd's graph: micrograd's MLP 2-16-16-1 built from the checkout's ``Value``, the
  forward and backward of its demo step (collector off);
- 784-128-10 on 4,096 MNIST-shaped samples, plain SGD, as a user writes it
  (``x @ w.T + b``, ``relu``, ``log_softmax``, picking the labels, ``mean``) and with the
  fused ``linear`` and ``cross_entropy``, at batch 4, 32 and 128;
- the lesson's setting through ``nn.fit``: 784-100-10 tanh, batch 4, plain SGD, on the
  same 4,096 samples (the loop's own cost per step, which ``lesson.py`` measures).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

Workload = Callable[[], None]


def load(checkout: Path) -> tuple[ModuleType, ModuleType]:
    """``autograd`` and ``nn`` imported from ``checkout``, apart from any other checkout."""
    for name in [
        name for name in sys.modules if name.split(".")[0] in ("autograd", "nn", "tracegrad")
    ]:
        del sys.modules[name]
    sys.path.insert(0, str(checkout))
    try:
        return importlib.import_module("autograd"), importlib.import_module("nn")
    finally:
        sys.path.remove(str(checkout))


def micrograd_graph(autograd: ModuleType) -> Workload:
    """The forward and backward of micrograd's demo step on this checkout's Value."""
    import micrograd.nn

    value = autograd.Value
    micrograd.nn.Value = value
    model = micrograd.nn.MLP(2, [16, 16, 1])  # its neurons are made of this Value now
    generator = np.random.default_rng(0)
    rows = generator.standard_normal((100, 2)).tolist()
    signs = generator.choice([-1.0, 1.0], 100).tolist()

    def step() -> None:
        inputs = [list(map(value, row)) for row in rows]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(signs, scores)]
        total = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in model.parameters())
        model.zero_grad()
        total.backward()

    return step


def tensor_mlp(autograd: ModuleType, nn: ModuleType, batch: int, fused: bool) -> Workload:
    """One pass of SGD over 4,096 samples with 784-128-10."""
    tensor = autograd.Tensor
    generator = np.random.default_rng(0)
    X = generator.standard_normal((4096, 784)).astype(np.float32)
    y = generator.integers(0, 10, 4096)

    def parameter(*shape: int, scale: float) -> Any:
        return tensor(
            generator.standard_normal(shape).astype(np.float32) * scale, requires_grad=True
        )

    w1, b1 = parameter(128, 784, scale=0.03), parameter(128, scale=0.0)
    w2, b2 = parameter(10, 128, scale=0.1), parameter(10, scale=0.0)
    optimizer = nn.optim.SGD([w1, b1, w2, b2], lr=0.01)

    def loss(x: Any, labels: np.ndarray) -> Any:
        if fused:
            hidden = autograd.linear(x, w1, b1).relu()
            return autograd.cross_entropy(autograd.linear(hidden, w2, b2), labels)
        hidden = (x @ w1.T + b1).relu()
        log_probabilities = (hidden @ w2.T + b2).log_softmax(axis=1)
        return -log_probabilities[np.arange(len(labels)), labels].mean()

    def epoch() -> None:
        for start in range(0, len(X), batch):
            value = loss(tensor(X[start : start + batch]), y[start : start + batch])
            optimizer.zero_grad()
            value.backward()
            optimizer.step()

    return epoch


def lesson_fit(nn: ModuleType) -> Workload:
    """One epoch of ``nn.fit`` over 4,096 samples in the lesson's setting."""
    generator = np.random.default_rng(0)
    X = generator.standard_normal((4096, 784)).astype(np.float32)
    y = generator.integers(0, 10, 4096)
    model = nn.MLP(784, [100, 10], activation="tanh", rng=0)
    optimizer = nn.optim.SGD(model.parameters(), lr=0.01)

    def epoch() -> None:
        nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=optimizer, epochs=1,
               batch_size=4, metrics=[], progress=False, shuffle=False)  # fmt: skip

    return epoch


def workloads(checkout: Path) -> dict[str, Workload]:
    autograd, nn = load(checkout)
    found = {"micrograd's graph, forward + backward": micrograd_graph(autograd)}
    for batch in (4, 32, 128):
        for fused in (False, True):
            name = f"784-128-10, batch {batch}, {'fused' if fused else 'generic ops'}"
            found[name] = tensor_mlp(autograd, nn, batch, fused)
    found["nn.fit, 784-100-10 tanh, batch 4 (the lesson's)"] = lesson_fit(nn)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the checkout to compare against")
    parser.add_argument("new", type=Path, help="the checkout under test")
    parser.add_argument("--turns", type=int, default=9, help="runs of each workload per checkout")
    args = parser.parse_args()
    gc.disable()  # the collector's passes depend on what else is alive: not the engine's
    runs = {"base": workloads(args.base), "new": workloads(args.new)}
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.turns):
        for name in runs["base"]:
            for side, found in runs.items():
                start = time.perf_counter()
                found[name]()
                times.setdefault((side, name), []).append(time.perf_counter() - start)
    print(f"{args.base} (base) against {args.new} (new), median of {args.turns} turns:\n")
    print("| workload | base, ms | new, ms | new ÷ base |")
    print("|---|---:|---:|---:|")
    for name in runs["base"]:
        base = statistics.median(times[("base", name)])
        new = statistics.median(times[("new", name)])
        print(f"| {name} | {1e3 * base:.1f} | {1e3 * new:.1f} | {new / base:.2f}× |")


if __name__ == "__main__":
    main()
