"""micrograd's demo, built from nn's pieces: a scalar MLP learns two moons with a max-margin loss.

The workload: 100 points of two moons (noise 0.1), ``scalar.MLP(2, [16, 16, 1])``, the
loss mean_i max(0, 1 − y_i·s_i) + α·Σ_p p² with labels y_i in {−1, +1}, scores s_i and
α = 1e-4, and SGD with learning rate 1 − 0.9·k/100 at step k, for 100 steps.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograd import GraphvizNotFoundError, Value, draw_graph, no_grad
from nn.losses import hinge_loss
from nn.metrics import accuracy
from nn.module import Module
from nn.optim import SGD
from nn.scalar import MLP
from nn.train import forward
from tracegrad.files import write_atomically


@dataclass
class StepResult:
    """What one training step measured: the loss and the training accuracy before the update."""

    loss: float
    accuracy: float


def margin_loss(
    model: Module, X: np.ndarray, signs: Sequence[float], alpha: float = 1e-4
) -> tuple[Value, list[float]]:
    """The max-margin loss with L2 regularisation, and the scores' data.

    The accuracy is left to the caller (``accuracy(scores, signs)``), so that the function
    can be compiled as it is: a compiled step computes the scores' data at every call.
    """
    scores = forward(model, X)
    weights = [p for p in model.parameters() if isinstance(p, Value)]
    regularisation = alpha * Value.sum([p * p for p in weights])
    loss = hinge_loss(scores, signs) + regularisation
    return loss, [score.data for score in scores]


def training_step(
    model: Module,
    X: np.ndarray,
    signs: Sequence[float],
    step: int,
    steps: int = 100,
    optimizer: SGD | None = None,
) -> StepResult:
    """One full-batch SGD step with the learning rate 1 − 0.9·step/steps."""
    optimizer = optimizer or SGD(model.parameters())
    loss, scores = margin_loss(model, X, signs)
    optimizer.zero_grad()
    loss.backward()
    optimizer.lr = 1.0 - 0.9 * step / steps
    optimizer.step()
    return StepResult(loss.data, accuracy(np.array(scores), signs))


def make_workload(seed: int = 0) -> tuple[MLP, np.ndarray, list[float]]:
    """The demo's data (X, labels as ±1) and a freshly initialised model."""
    from nn.datasets import moons

    X, y = moons(100, noise=0.1, rng=seed)
    signs = [2.0 * label - 1.0 for label in y.tolist()]
    model = MLP(2, [16, 16, 1], rng=np.random.default_rng(seed))
    return model, X, signs


@dataclass
class DemoResult:
    """The demo's final loss and training accuracy, and the files it wrote."""

    loss: float
    accuracy: float
    decision_boundary: Path
    neuron_graph: Path
    training_seconds: float
    drawing_seconds: float
    #: Why the graph is DOT source, not SVG ("" when Graphviz drew it).
    graph_note: str = ""


def draw_neuron(model: MLP, X: np.ndarray, path: Path) -> tuple[Path, str]:
    """The compute graph of the first neuron of the first layer, as SVG.

    Without Graphviz's ``dot`` the graph's DOT source is written instead (``.dot`` beside
    ``path``); returns the file written and, then, what to install to get the picture.

    It is drawn on the first data point that the neuron lets through (positive
    pre-activation), so that the gradients in the picture are not all zero.
    """
    neuron = model.layers[0].neurons[0]
    for i, w in enumerate(neuron.w):
        w.label = f"w{i + 1}"
    neuron.b.label = "b"
    with no_grad():
        active = [x for x in X.tolist() if Value.linear(neuron.w, x, neuron.b).data > 0.0]
    x = active[0] if active else X[0].tolist()
    inputs = [Value(xi, label=f"x{i + 1}") for i, xi in enumerate(x)]
    z = Value.linear(neuron.w, inputs, neuron.b)
    z.label = "z"
    out = neuron._act(z) if neuron._act is not None else z
    out.label = "out"
    model.zero_grad()
    out.backward()
    try:
        draw_graph(out, path)
        written, note = path, ""
    except GraphvizNotFoundError as error:
        written = path.with_suffix(".dot")
        write_atomically(written, error.source.encode())
        note = (
            "Graphviz's `dot` is not installed, so the graph is DOT source; install it "
            "(apt-get install graphviz, or brew install graphviz) for the SVG"
        )
    model.zero_grad()
    return written, note


def run_demo(
    out_dir: str | Path, *, steps: int = 100, seed: int = 0, progress: bool = True
) -> DemoResult:
    """Train the demo model, then write its decision boundary (PNG) and one neuron (SVG)."""
    from tqdm import tqdm

    from nn.plot import decision_boundary, save_figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model, X, signs = make_workload(seed)
    start = time.perf_counter()
    bar = tqdm(range(steps), desc="demo", unit="step", disable=not progress)
    result = StepResult(float("nan"), 0.0)
    optimizer = SGD(model.parameters())
    for step in bar:
        result = training_step(model, X, signs, step, steps, optimizer)
        bar.set_postfix(loss=f"{result.loss:.4f}", accuracy=f"{result.accuracy:.0%}", refresh=False)
    loss, scores = margin_loss(model, X, signs)
    final_accuracy = accuracy(np.array(scores), signs)
    training_seconds = time.perf_counter() - start

    start = time.perf_counter()
    labels = (np.array(signs) > 0).astype(np.int64)
    figure = decision_boundary(
        model,
        X,
        labels,
        title=f"scalar MLP 2-16-16-1: {final_accuracy:.0%} training accuracy",
    )
    boundary_path = out / "decision_boundary.png"
    save_figure(figure, boundary_path)
    graph_path, note = draw_neuron(model, X, out / "neuron_graph.svg")
    drawing_seconds = time.perf_counter() - start
    return DemoResult(
        loss.data,
        final_accuracy,
        boundary_path,
        graph_path,
        training_seconds,
        drawing_seconds,
        note,
    )
