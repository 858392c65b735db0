"""The lesson's own setting through ``nn.fit``, against a lesson-style numpy framework.

    make bench                      # or: python benchmarks/lesson.py (needs $TRACEGRAD_DATA)

The lesson ("Introduction to Neural Networks: Multi-Layered Perceptron") builds a small
framework by hand: layer objects with ``forward``, ``backward`` and ``update``, a
separate softmax and cross-entropy, and a training loop over minibatches. It trains
784-100-10 with tanh at batch 4 and learning rate 0.1 for an epoch of MNIST. That
framework is written below (in our words) and timed against ``nn.fit`` on the same
model, from the same weights, over the same batches in the same order (float32 both).
Each engine trains several single epochs from fresh weights, taking turns, and the table
gives the median. Both must end with the same test accuracy within 0.5 %: a fast wrong
engine is not a result.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable

import numpy as np

import nn

SIZES = [784, 100, 10]
BATCH, LEARNING_RATE = 4, 0.1
Weights = list[tuple[np.ndarray, np.ndarray]]
Predictor = Callable[[np.ndarray], np.ndarray]


# -- the lesson's framework ----------------------------------------------------------------


class LessonLinear:
    """z = x·Wᵀ + b; backward returns dL/dx and keeps dL/dW and dL/db for ``update``."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        self.W, self.b = weight.copy(), bias.copy()

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x @ self.W.T + self.b

    def backward(self, dz: np.ndarray) -> np.ndarray:
        self.dW = dz.T @ self.x
        self.db = dz.sum(axis=0)
        return dz @ self.W

    def update(self, lr: float) -> None:
        self.W -= lr * self.dW
        self.b -= lr * self.db


class LessonTanh:
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = np.tanh(x)
        return self.y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return (1.0 - self.y**2) * dy


class LessonSoftmax:
    def forward(self, z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        self.p = e / e.sum(axis=1, keepdims=True)
        return self.p

    def backward(self, dp: np.ndarray) -> np.ndarray:
        weighted = self.p * dp
        return weighted - self.p * weighted.sum(axis=1, keepdims=True)


class LessonCrossEntropy:
    """The mean of −log p[label] over the batch."""

    def forward(self, p: np.ndarray, y: np.ndarray) -> float:
        self.p, self.y = p, y
        return float(-np.log(p[np.arange(len(y)), y]).mean())

    def backward(self) -> np.ndarray:
        grad = np.zeros_like(self.p)
        rows = np.arange(len(self.y))
        grad[rows, self.y] = -1.0 / (len(self.y) * self.p[rows, self.y])
        return grad


class LessonNet:
    def __init__(self, weights: Weights) -> None:
        self.layers: list[LessonLinear | LessonTanh | LessonSoftmax] = []
        for i, (w, b) in enumerate(weights):
            self.layers.append(LessonLinear(w, b))
            self.layers.append(LessonTanh() if i < len(weights) - 1 else LessonSoftmax())

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad: np.ndarray) -> None:
        for layer in reversed(self.layers):
            grad = layer.backward(grad)

    def update(self, lr: float) -> None:
        for layer in self.layers:
            if isinstance(layer, LessonLinear):
                layer.update(lr)


def lesson_epoch(weights: Weights, X: np.ndarray, y: np.ndarray) -> Predictor:
    """One epoch of the lesson's training loop; returns the trained net's predictor."""
    net, loss = LessonNet(weights), LessonCrossEntropy()
    for start in range(0, len(X), BATCH):
        xb, yb = X[start : start + BATCH], y[start : start + BATCH]
        loss.forward(net.forward(xb), yb)
        net.backward(loss.backward())
        net.update(LEARNING_RATE)
    return lambda inputs: net.forward(inputs).argmax(axis=1)


# -- tracegrad -------------------------------------------------------------------------------


def tracegrad_epoch(
    weights: Weights, X: np.ndarray, y: np.ndarray, compile: bool = False
) -> Predictor:
    """One epoch through ``nn.fit`` with the lesson's model and recipe (its step compiled,
    with ``compile``: the epoch's time then includes compiling it)."""
    model = nn.MLP(SIZES[0], SIZES[1:], activation="tanh", rng=0)
    for layer, (w, b) in zip([m for m in model.layers if isinstance(m, nn.Linear)], weights):
        layer.weight.data[...] = w
        layer.bias.data[...] = b
    nn.fit(
        model,
        X,
        y,
        loss=nn.cross_entropy,
        optimizer=nn.optim.SGD(model.parameters(), lr=LEARNING_RATE),
        epochs=1,
        batch_size=BATCH,
        metrics=[],
        progress=False,
        shuffle=False,
        compile=compile,
    )
    return lambda inputs: nn.predict(model, inputs).argmax(axis=1)


def compiled_epoch(weights: Weights, X: np.ndarray, y: np.ndarray) -> Predictor:
    return tracegrad_epoch(weights, X, y, compile=True)


def lesson_weights(seed: int) -> Weights:
    """The lesson's initialisation: W ~ N(0, 1/√fan_in), b = 0."""
    generator = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out in itertools.pairwise(SIZES):
        w = generator.normal(0.0, 1.0 / np.sqrt(fan_in), (fan_out, fan_in)).astype(np.float32)
        weights.append((w, np.zeros(fan_out, dtype=np.float32)))
    return weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="epochs timed per engine")
    parser.add_argument("--samples", type=int, default=60_000, help="training samples used")
    args = parser.parse_args()
    X, y, X_test, y_test = nn.datasets.mnist(download=False, progress=False)
    X, y = X[: args.samples], y[: args.samples]

    engines = {"lesson": lesson_epoch, "tracegrad": tracegrad_epoch, "compiled": compiled_epoch}
    times: dict[str, list[float]] = {name: [] for name in engines}
    accuracy: dict[str, list[float]] = {name: [] for name in engines}
    for repeat in range(args.repeats):
        weights = lesson_weights(repeat)
        for name, epoch in engines.items():
            start = time.perf_counter()
            predict = epoch(weights, X, y)
            times[name].append(time.perf_counter() - start)
            accuracy[name].append(float((predict(X_test) == y_test).mean()))
    for name in ("tracegrad", "compiled"):
        gaps = [abs(a - b) for a, b in zip(accuracy["lesson"], accuracy[name])]
        if max(gaps) > 0.005:
            raise RuntimeError(f"the engines disagree on test accuracy: {accuracy}")

    lesson, ours = statistics.median(times["lesson"]), statistics.median(times["tracegrad"])
    compiled = statistics.median(times["compiled"])
    print(
        f"The lesson's setting (784-100-10 tanh, batch {BATCH}, lr {LEARNING_RATE}, "
        f"{len(X):,} MNIST samples, one epoch), median of {args.repeats}:\n"
    )
    print("| engine | seconds per epoch | test accuracy after it | ÷ lesson-style | target |")
    print("|---|---:|---:|---:|---|")
    print(
        f"| lesson-style numpy framework | {lesson:.2f} "
        f"| {100 * statistics.median(accuracy['lesson']):.2f} % | 1.00× | |"
    )
    print(
        f"| tracegrad `nn.fit` | {ours:.2f} "
        f"| {100 * statistics.median(accuracy['tracegrad']):.2f} % | {ours / lesson:.2f}× "
        "| ≤ 1.2× |"
    )
    print(
        f"| tracegrad `nn.fit(compile=True)`, compiling included | {compiled:.2f} "
        f"| {100 * statistics.median(accuracy['compiled']):.2f} % | {compiled / lesson:.2f}× "
        "| ≤ 0.9× |"
    )


if __name__ == "__main__":
    main()
