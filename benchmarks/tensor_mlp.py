"""The Tensor engine against a hand-written numpy MLP and PyTorch: seconds per epoch.

    make bench                      # or: python benchmarks/tensor_mlp.py [--repeats 3]

MNIST-shaped data (60,000 × 784 float32, 10 classes; synthetic, so no download), MLPs
784-128-10 and 784-256-128-10 with ReLU, cross-entropy and plain SGD, one epoch per
measurement at batch sizes 32, 128 and 512, through the fused ``linear`` and
``cross_entropy`` and through the generic ops a user writes (``x @ W.T + b``, relu,
log_softmax, picking each row's label, a mean). All engines start from the same weights and
see the same batches in the same order. The hand-written numpy MLP, forward and backward
by hand, is the floor for any numpy engine. PyTorch runs when it is importable (the
benchmark's own environment installs the CPU build). The figure is the median over
``--repeats`` epochs, the engines taking turns so that the machine's noise falls on all.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from common import Weights, torch_mlp

from autograd import Tensor, cross_entropy, linear, no_grad, topological_order

SAMPLES, FEATURES, CLASSES = 60_000, 784, 10
LEARNING_RATE = 0.01
Epoch = Callable[[np.ndarray, np.ndarray, int], float]


def make_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    X = generator.random((SAMPLES, FEATURES), dtype=np.float32)
    y = generator.integers(0, CLASSES, SAMPLES)
    return X, y


def make_weights(sizes: Sequence[int], seed: int = 1) -> Weights:
    """Kaiming-uniform weights of shape (out, in) and zero biases, as PyTorch lays them out."""
    generator = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = np.sqrt(6.0 / fan_in)
        w = generator.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        weights.append((w, np.zeros(fan_out, dtype=np.float32)))
    return weights


# -- the three engines ---------------------------------------------------------------------


def tracegrad_epoch(initial: Weights) -> Epoch:
    params = [(Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)) for w, b in initial]
    flat = [p for pair in params for p in pair]

    def epoch(X: np.ndarray, y: np.ndarray, batch: int) -> float:
        loss = None
        for start in range(0, len(X), batch):
            h = Tensor.from_numpy(X[start : start + batch])
            for i, (w, b) in enumerate(params):
                h = linear(h, w, b)
                if i < len(params) - 1:
                    h = h.relu()
            loss = cross_entropy(h, y[start : start + batch])
            loss.backward()
            for p in flat:
                p.data -= LEARNING_RATE * p.grad
                p.grad = None
        return float(loss.item())

    return epoch


def tracegrad_generic_epoch(initial: Weights) -> Epoch:
    """The MLP as a user writes it from generic ops: ``x @ W.T + b``, relu, log_softmax,
    picking each row's label and a mean; no fused layer, no fused loss."""
    params = [(Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)) for w, b in initial]
    flat = [p for pair in params for p in pair]

    def epoch(X: np.ndarray, y: np.ndarray, batch: int) -> float:
        loss = None
        for start in range(0, len(X), batch):
            h = Tensor.from_numpy(X[start : start + batch])
            labels = y[start : start + batch]
            for i, (w, b) in enumerate(params):
                h = h @ w.T + b
                if i < len(params) - 1:
                    h = h.relu()
            log_probabilities = h.log_softmax(axis=-1)
            loss = -log_probabilities[np.arange(len(labels)), labels].mean()
            loss.backward()
            for p in flat:
                p.data -= LEARNING_RATE * p.grad
                p.grad = None
        return float(loss.item())

    return epoch


def tracegrad_compiled_epoch(initial: Weights) -> Epoch:
    """The generic ops' MLP with its step compiled (``autograd.compile``), one compiled
    function per batch shape (the last batch of an epoch may be smaller); the epoch's time
    includes compiling them."""
    import autograd

    params = [(Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)) for w, b in initial]
    flat = [p for pair in params for p in pair]

    def generic_loss(xb: np.ndarray, labels: np.ndarray) -> Tensor:
        h = Tensor.from_numpy(xb)
        for i, (w, b) in enumerate(params):
            h = h @ w.T + b
            if i < len(params) - 1:
                h = h.relu()
        log_probabilities = h.log_softmax(axis=-1)
        return -log_probabilities[np.arange(len(labels)), labels].mean()

    def epoch(X: np.ndarray, y: np.ndarray, batch: int) -> float:
        steps: dict[int, Any] = {}
        loss = None
        for start in range(0, len(X), batch):
            xb, labels = X[start : start + batch], y[start : start + batch]
            step = steps.get(len(xb))
            if step is None:
                step = steps[len(xb)] = autograd.compile(generic_loss)
            loss = step(xb, labels)
            loss.backward()
            for p in flat:
                p.data -= LEARNING_RATE * p.grad
                p.grad = None
        return float(loss.item())

    return epoch


def compile_cost(
    initial: Weights, X: np.ndarray, y: np.ndarray, batch: int, steps: int = 50
) -> tuple[float, float]:
    """Seconds to compile the generic ops' step (its first call), and the median eager step."""
    import autograd

    params = [(Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)) for w, b in initial]

    def generic_loss(xb: np.ndarray, labels: np.ndarray) -> Tensor:
        h = Tensor.from_numpy(xb)
        for i, (w, b) in enumerate(params):
            h = h @ w.T + b
            if i < len(params) - 1:
                h = h.relu()
        return -h.log_softmax(axis=-1)[np.arange(len(labels)), labels].mean()

    xb, labels = X[:batch], y[:batch]
    eager = []
    for _ in range(steps):
        start = time.perf_counter()
        generic_loss(xb, labels).backward()
        eager.append(time.perf_counter() - start)
    start = time.perf_counter()
    autograd.compile(generic_loss)(xb, labels).backward()
    return time.perf_counter() - start, statistics.median(eager)


def numpy_epoch(initial: Weights) -> Epoch:
    """Forward and backward by hand: what an engine would do with no overhead at all."""
    params = [(w.copy(), b.copy()) for w, b in initial]

    def epoch(X: np.ndarray, y: np.ndarray, batch: int) -> float:
        loss = 0.0
        for start in range(0, len(X), batch):
            xb, yb = X[start : start + batch], y[start : start + batch]
            rows = np.arange(len(xb))
            inputs, pre_activations = [], []
            h = xb
            for i, (w, b) in enumerate(params):
                inputs.append(h)
                z = h @ w.T + b
                pre_activations.append(z)
                h = np.maximum(z, 0) if i < len(params) - 1 else z
            shifted = h - h.max(axis=1, keepdims=True)
            exps = np.exp(shifted)
            sums = exps.sum(axis=1, keepdims=True)
            loss = float(np.mean(np.log(sums[:, 0]) - shifted[rows, yb]))
            delta = exps / sums
            delta[rows, yb] -= 1.0
            delta /= len(xb)
            for i in reversed(range(len(params))):
                w, b = params[i]
                grad_w, grad_b = delta.T @ inputs[i], delta.sum(axis=0)
                if i > 0:
                    delta = (delta @ w) * (pre_activations[i - 1] > 0)
                w -= LEARNING_RATE * grad_w
                b -= LEARNING_RATE * grad_b
        return loss

    return epoch


def torch_epoch(initial: Weights) -> Epoch | None:
    model = torch_mlp(initial)
    if model is None:
        return None
    import torch

    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    cache: dict[int, tuple[Any, Any]] = {}

    def epoch(X: np.ndarray, y: np.ndarray, batch: int) -> float:
        if id(X) not in cache:
            cache[id(X)] = (torch.from_numpy(X), torch.from_numpy(y))
        tx, ty = cache[id(X)]
        loss = None
        for start in range(0, len(X), batch):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(
                model(tx[start : start + batch]), ty[start : start + batch]
            )
            loss.backward()
            optimizer.step()
        return float(loss.item())

    return epoch


# -- no_grad --------------------------------------------------------------------------------


def evaluation_pass(initial: Weights, X: np.ndarray, record: bool) -> tuple[float, int]:
    """A forward pass over the data at batch 512: seconds, and nodes in the last graph."""
    params = [(Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)) for w, b in initial]
    start = time.perf_counter()
    nodes = 0
    for first in range(0, len(X), 512):
        if record:
            h = Tensor.from_numpy(X[first : first + 512])
            for w, b in params:
                h = linear(h, w, b).relu()
        else:
            with no_grad():
                h = Tensor.from_numpy(X[first : first + 512])
                for w, b in params:
                    h = linear(h, w, b).relu()
        nodes = len(topological_order([h]))
    return time.perf_counter() - start, nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="epochs timed per engine")
    parser.add_argument("--batches", default="32,128,512", help="batch sizes")
    args = parser.parse_args()
    X, y = make_data()
    batches = [int(b) for b in args.batches.split(",")]
    targets = {32: (1.30, 1.0), 128: (1.15, 1.0), 512: (1.15, None)}

    print(
        "Seconds per epoch of 60,000 MNIST-shaped samples (float32, SGD), median of "
        f"{args.repeats}:\n"
    )
    print(
        "| MLP | batch | numpy by hand | tracegrad | tracegrad, generic ops "
        "| generic ops, compiled | PyTorch | tracegrad ÷ numpy | tracegrad ÷ PyTorch "
        "| generic ops ÷ PyTorch | compiled ÷ PyTorch | targets |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for sizes in ([FEATURES, 128, CLASSES], [FEATURES, 256, 128, CLASSES]):
        for batch in batches:
            initial = make_weights(sizes)
            engines = {
                "numpy": numpy_epoch(initial),
                "tracegrad": tracegrad_epoch(initial),
                "generic": tracegrad_generic_epoch(initial),
                "compiled": tracegrad_compiled_epoch(initial),
                "torch": torch_epoch(initial),
            }
            times: dict[str, list[float]] = {name: [] for name, e in engines.items() if e}
            for _ in range(args.repeats):
                for name in times:
                    start = time.perf_counter()
                    engines[name](X, y, batch)  # type: ignore[misc]
                    times[name].append(time.perf_counter() - start)
            median = {name: statistics.median(t) for name, t in times.items()}
            ours, generic, compiled = median["tracegrad"], median["generic"], median["compiled"]
            torch_time = median.get("torch")
            vs_numpy, vs_torch = targets.get(batch, (None, None))
            target = f"≤ {vs_numpy}× numpy" if vs_numpy else ""
            if vs_torch:  # the generic ops' target is set for the two-layer MLP
                target += ", both ≤ PyTorch" if len(sizes) == 3 else ", fused ≤ PyTorch"
            compiled_target = {32: 0.85, 128: 1.0}.get(batch) if len(sizes) == 3 else None
            if compiled_target:
                target += f", compiled ≤ {compiled_target}× PyTorch"

            def versus_torch(seconds: float, torch_time: float | None = torch_time) -> str:
                return f"{seconds / torch_time:.2f}×" if torch_time else "—"

            print(
                f"| {'-'.join(map(str, sizes))} | {batch} | {median['numpy']:.2f} | {ours:.2f} "
                f"| {generic:.2f} | {compiled:.2f} | {f'{torch_time:.2f}' if torch_time else '—'} "
                f"| {ours / median['numpy']:.2f}× | {versus_torch(ours)} "
                f"| {versus_torch(generic)} | {versus_torch(compiled)} | {target} |",
                flush=True,
            )

    print("\nCompiling the generic ops' step (784-128-10), against one eager step:\n")
    print("| batch | compiling: ms | an eager step: ms | compiling ÷ an eager step | target |")
    print("|---:|---:|---:|---:|---|")
    for batch in batches:
        compile_s, step_s = compile_cost(make_weights([FEATURES, 128, CLASSES]), X, y, batch)
        print(
            f"| {batch} | {1e3 * compile_s:.1f} | {1e3 * step_s:.2f} | {compile_s / step_s:.1f}× "
            "| ≤ 20× |"
        )

    initial = make_weights([FEATURES, 256, 128, CLASSES])
    recorded, recorded_nodes = evaluation_pass(initial, X, record=True)
    skipped, skipped_nodes = evaluation_pass(initial, X, record=False)
    print("\nA forward pass over the 60,000 samples at batch 512 (784-256-128-10):\n")
    print("| mode | seconds | nodes recorded per batch |")
    print("|---|---:|---:|")
    print(f"| recording the graph | {recorded:.2f} | {recorded_nodes} |")
    print(f"| `no_grad()` | {skipped:.2f} | {skipped_nodes} |")


if __name__ == "__main__":
    main()
