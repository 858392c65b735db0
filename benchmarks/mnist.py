"""The default MNIST model, trained by tracegrad, by hand-written numpy, and by PyTorch.

    make bench                      # or: python benchmarks/mnist.py (needs $TRACEGRAD_DATA)

The model and recipe are ``tracegrad train --dataset mnist``'s defaults (784-512-256-10,
ReLU, Adam 1e-3 with a cosine schedule, batch 128, 10 epochs). The three engines start
from the same weights and see the same batches in the same order, and take turns epoch
by epoch, so that the machine's noise falls on all of them alike. For each epoch the
table gives the training time (evaluation excluded) and the test accuracy after it, and
then the training time until the test accuracy first reached 98 %. The last line times
the command itself, end to end (loading the data, training with a validation pass each
epoch, writing the model and its pictures).
"""

from __future__ import annotations

import itertools
import math
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from common import Weights, torch_mlp

import nn
from tracegrad.recipe import defaults_for

DEFAULTS = defaults_for("mnist")
SIZES = [784, *DEFAULTS["hidden"], 10]
EPOCHS, BATCH, LR = DEFAULTS["epochs"], DEFAULTS["batch_size"], DEFAULTS["lr"]
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


def cosine_lr(epoch: int) -> float:
    """The learning rate in epoch ``epoch`` (0-based), as CosineAnnealingLR gives it."""
    return LR * (1.0 + math.cos(math.pi * epoch / EPOCHS)) / 2.0


def orders(n: int) -> list[np.ndarray]:
    """The batch order of every epoch, as nn.fit draws it (one Generator, seed 0)."""
    generator = np.random.default_rng(0)
    return [generator.permutation(n) for _ in range(EPOCHS)]


# -- the engines: each returns a function that trains one epoch, and a predictor ---------


def tracegrad_engine(initial: Weights) -> tuple[Callable[..., None], Callable[..., np.ndarray]]:
    model = nn.MLP(SIZES[0], SIZES[1:], rng=0)
    for layer, (w, b) in zip([m for m in model.layers if isinstance(m, nn.Linear)], initial):
        layer.weight.data[...] = w
        layer.bias.data[...] = b
    optimizer = nn.optim.Adam(model.parameters(), lr=LR)
    scheduler = nn.optim.CosineAnnealingLR(optimizer, T_max=EPOCHS)

    def epoch(X: np.ndarray, y: np.ndarray, index: int) -> None:
        nn.fit(
            model,
            X,
            y,
            loss=nn.cross_entropy,
            optimizer=optimizer,
            epochs=1,
            batch_size=BATCH,
            metrics=[],
            progress=False,
            shuffle=False,
        )
        scheduler.step()

    return epoch, lambda X: nn.predict(model, X)


def numpy_engine(initial: Weights) -> tuple[Callable[..., None], Callable[..., np.ndarray]]:
    """Forward, backward and Adam written out by hand, updating in place where it can."""
    params = [(w.copy(), b.copy()) for w, b in initial]
    moments = [[np.zeros_like(a) for a in (w, w, b, b)] for w, b in params]
    steps = [0]

    def forward(h: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        inputs, pre = [], []
        for i, (w, b) in enumerate(params):
            inputs.append(h)
            z = h @ w.T
            z += b
            pre.append(z)
            h = np.maximum(z, 0) if i < len(params) - 1 else z
        return inputs, pre, h

    def adam(array: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, lr: float) -> None:
        t = steps[0]
        m *= BETA1
        m += (1 - BETA1) * grad
        v *= BETA2
        v += (1 - BETA2) * (grad * grad)
        step = np.sqrt(v)
        step /= math.sqrt(1 - BETA2**t)
        step += EPS
        np.divide(m, step, out=step)
        step *= lr / (1 - BETA1**t)
        array -= step

    def epoch(X: np.ndarray, y: np.ndarray, index: int) -> None:
        lr = cosine_lr(index)
        for start in range(0, len(X), BATCH):
            xb, yb = X[start : start + BATCH], y[start : start + BATCH]
            rows = np.arange(len(xb))
            inputs, pre, logits = forward(xb)
            shifted = logits - logits.max(axis=1, keepdims=True)
            exps = np.exp(shifted)
            delta = exps / exps.sum(axis=1, keepdims=True)
            delta[rows, yb] -= 1.0
            delta /= len(xb)
            steps[0] += 1
            for i in reversed(range(len(params))):
                w, b = params[i]
                grad_w, grad_b = delta.T @ inputs[i], delta.sum(axis=0)
                if i > 0:
                    delta = (delta @ w) * (pre[i - 1] > 0)
                mw, vw, mb, vb = moments[i]
                adam(w, grad_w, mw, vw, lr)
                adam(b, grad_b, mb, vb, lr)

    return epoch, lambda X: forward(X)[2]


def torch_engine(initial: Weights) -> tuple[Callable[..., None], Callable[..., np.ndarray]] | None:
    model = torch_mlp(initial)
    if model is None:
        return None
    import torch

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS)

    def epoch(X: np.ndarray, y: np.ndarray, index: int) -> None:
        tx, ty = torch.from_numpy(X), torch.from_numpy(y)
        for start in range(0, len(X), BATCH):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(
                model(tx[start : start + BATCH]), ty[start : start + BATCH]
            )
            loss.backward()
            optimizer.step()
        scheduler.step()

    def predict(X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(X)).numpy()

    return epoch, predict


# -- the run -------------------------------------------------------------------------------


def run(
    engines: dict[str, Any], data: tuple[np.ndarray, ...], batch_orders: list[np.ndarray]
) -> dict[str, dict[str, Any]]:
    """Train every engine epoch by epoch, the engines taking turns within each epoch, so
    that the machine's noise falls on all of them alike."""
    X, y, X_test, y_test = data
    results: dict[str, dict[str, Any]] = {name: {"seconds": [], "accuracy": []} for name in engines}
    for index, order in enumerate(batch_orders):
        X_epoch, y_epoch = X[order], y[order]  # this epoch's batch order, outside the timing
        for name, (train_epoch, predict) in engines.items():
            start = time.perf_counter()
            train_epoch(X_epoch, y_epoch, index)
            results[name]["seconds"].append(time.perf_counter() - start)
            accuracy = float(np.mean(predict(X_test).argmax(axis=1) == y_test))
            results[name]["accuracy"].append(accuracy)
            print(
                f"  {name}: epoch {index + 1}: {results[name]['seconds'][-1]:.2f} s, "
                f"test {accuracy:.2%}",
                file=sys.stderr,
                flush=True,
            )
    for result in results.values():
        reached = next((i for i, a in enumerate(result["accuracy"]) if a >= 0.98), None)
        result["until_98"] = sum(result["seconds"][: reached + 1]) if reached is not None else None
    return results


def command_wall_time() -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tracegrad",
                "train",
                "--dataset",
                "mnist",
                "--out",
                out,
                "--quiet",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        total = time.perf_counter() - start
    test = re.search(r"test accuracy ([\d.]+%)", done.stdout)
    return total, test.group(1) if test else "?"


def main() -> None:
    load_start = time.perf_counter()
    data = nn.datasets.mnist()
    load_seconds = time.perf_counter() - load_start
    generator = np.random.default_rng(0)
    initial = [
        (nn.init.kaiming_uniform((fan_out, fan_in), generator), np.zeros(fan_out, np.float32))
        for fan_in, fan_out in itertools.pairwise(SIZES)
    ]
    batch_orders = orders(len(data[0]))
    engines = {"tracegrad": tracegrad_engine(initial), "numpy by hand": numpy_engine(initial)}
    torch_engine_ = torch_engine(initial)
    if torch_engine_ is not None:
        engines["PyTorch"] = torch_engine_
    results = run(engines, data, batch_orders)

    names = list(results)
    print(
        f"MNIST, {'-'.join(map(str, SIZES))}, Adam {LR} with a cosine schedule, batch {BATCH} "
        f"(data loaded in {load_seconds:.2f} s):\n"
    )
    print("| epoch | " + " | ".join(f"{n}: s | {n}: test" for n in names) + " |")
    print("|---:|" + "---:|---:|" * len(names))
    for i in range(EPOCHS):
        cells = " | ".join(
            f"{results[n]['seconds'][i]:.2f} | {results[n]['accuracy'][i]:.2%}" for n in names
        )
        print(f"| {i + 1} | {cells} |")
    hand = float(np.median(results["numpy by hand"]["seconds"]))
    print("\n| engine | median s per epoch | ÷ numpy by hand | training s until 98 % test |")
    print("|---|---:|---:|---:|")
    for n in names:
        median = float(np.median(results[n]["seconds"]))
        until = results[n]["until_98"]
        print(
            f"| {n} | {median:.2f} | {median / hand:.2f}× | "
            f"{f'{until:.1f}' if until is not None else 'not reached'} |"
        )
    wall, accuracy = command_wall_time()
    print(
        f"\n`tracegrad train --dataset mnist`, end to end: {wall:.1f} s of wall time, "
        f"test accuracy {accuracy} (target: 98 % within 60 s)."
    )


if __name__ == "__main__":
    main()
