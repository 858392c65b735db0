"""micrograd's demo, done right: a scalar MLP learns two moons with a max-margin loss.

The workload: 100 points of two moons (noise 0.1), ``scalar.MLP(2, [16, 16, 1])``, the
loss mean_i max(0, 1 − y_i·s_i) + α·Σ_p p² with labels y_i in {−1, +1}, scores s_i and
α = 1e-4, and SGD with learning rate 1 − 0.9·k/100 at step k, for 100 steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from autograd import Value

from .module import Module
from .scalar import MLP


@dataclass
class StepResult:
    """What one training step measured: the loss and the training accuracy before the update."""

    loss: float
    accuracy: float


def margin_loss(model: Module, X: np.ndarray, signs: Sequence[float], alpha: float = 1e-4
                ) -> tuple[Value, float]:
    """The max-margin loss with L2 regularisation, and the accuracy of the scores' signs."""
    inputs = X.tolist()
    scores = [model(x)[0] for x in inputs]
    margins = [(1.0 - yi * si).relu() for yi, si in zip(signs, scores)]
    data_loss = Value.sum(margins) * (1.0 / len(margins))
    reg_loss = alpha * Value.sum([p * p for p in model.parameters()])
    correct = sum((yi > 0) == (si.data > 0) for yi, si in zip(signs, scores))
    return data_loss + reg_loss, correct / len(scores)


def training_step(model: Module, X: np.ndarray, signs: Sequence[float], step: int,
                  steps: int = 100) -> StepResult:
    """One full-batch SGD step with the learning rate 1 − 0.9·step/steps."""
    loss, accuracy = margin_loss(model, X, signs)
    model.zero_grad()
    loss.backward()
    learning_rate = 1.0 - 0.9 * step / steps
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    return StepResult(loss.data, accuracy)


def make_workload(seed: int = 0) -> tuple[MLP, np.ndarray, list[float]]:
    """The demo's data (X, labels as ±1) and a freshly initialised model."""
    from .datasets import moons

    X, y = moons(100, noise=0.1, rng=seed)
    signs = [2.0 * label - 1.0 for label in y.tolist()]
    model = MLP(2, [16, 16, 1], rng=np.random.default_rng(seed))
    return model, X, signs
