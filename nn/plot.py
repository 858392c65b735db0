"""Pictures of models and data with matplotlib; every function returns a ``Figure``.

Figures are made without pyplot, so nothing depends on a display (headless machines
work); each is an ``InlineFigure``, a Figure which Jupyter shows as a picture by itself in a fresh
kernel, and ``save_figure`` writes one atomically.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tracegrad.files import write_atomically

from .callbacks import LiveCurves
from .metrics import predicted_classes
from .module import Module
from .train import predict as predict_outputs

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Predict = Callable[[np.ndarray], np.ndarray]

__all__ = [
    "LiveCurves",
    "confusion_matrix",
    "decision_boundary",
    "image_grid",
    "regression_fit",
    "save_figure",
    "training_curves",
]


def _new_figure(**options: Any) -> Figure:
    """An ``InlineFigure``: matplotlib is imported on the first picture, not with ``nn``.

    (matplotlib brings some fifty thousand objects; kept out of ``import nn`` they cost
    neither start-up time nor the garbage collector's time in a scalar graph's forward.)
    """
    return _inline_figure_class()(**options)


@functools.cache
def _inline_figure_class() -> type[Figure]:
    from matplotlib.figure import Figure

    class InlineFigure(Figure):
        """A matplotlib Figure that Jupyter shows as a picture by itself.

        The figures are made without pyplot (nothing depends on a display, and none piles
        up in pyplot's list), so no backend registers them with IPython; ``_repr_png_``
        renders the PNG on demand instead, in a fresh kernel, with no ``%matplotlib`` magic.
        """

        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=100)
            return buffer.getvalue()

    return InlineFigure


def decision_boundary(
    predict: Predict | Module,
    X: np.ndarray,
    y: np.ndarray,
    *,
    resolution: int = 100,
    margin: float = 0.5,
    title: str = "",
) -> Figure:
    """The regions a 2-D classifier assigns to each class, with the data on top.

    ``predict`` is a model (a Tensor model or an ``nn.scalar`` one: its outputs are turned
    into classes as the metrics do), or a function from an (m, 2) array of points to m
    integer class labels.
    """
    if isinstance(predict, Module):
        model = predict

        def predict(points: np.ndarray) -> np.ndarray:
            return predicted_classes(predict_outputs(model, points))

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary: X must have shape (n, 2), got {X.shape}")
    (x_min, y_min), (x_max, y_max) = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(
        np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution)
    )
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    regions = np.asarray(predict(grid)).reshape(xx.shape)
    classes = np.unique(np.concatenate([np.asarray(y).ravel(), regions.ravel()]))

    figure = _new_figure(figsize=(5.5, 4.5), layout="constrained")
    ax = figure.add_subplot()
    levels = np.append(classes, classes[-1] + 1) - 0.5
    ax.contourf(xx, yy, regions, levels=levels, cmap="coolwarm", alpha=0.35)
    ax.scatter(
        X[:, 0],
        X[:, 1],
        c=y,
        cmap="coolwarm",
        edgecolors="k",
        s=25,
        vmin=classes[0],
        vmax=classes[-1],
    )
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_min, y_max)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return figure


def training_curves(history: Any, keys: Sequence[str] | None = None, title: str = "") -> Figure:
    """Each recorded quantity per epoch, with its validation twin on the same axes.

    One panel for the loss and one per metric (``keys`` picks them; by default all but
    the learning rate, ``lr``, which has a scale of its own: ask for it by name).
    """
    records = history.records if hasattr(history, "records") else list(history)
    if not records:
        raise ValueError("training_curves: the history is empty")
    hidden = ("epoch", "seconds", "lr")
    names = [k for k in records[0] if k not in hidden and not k.startswith("val_")]
    names = list(keys) if keys is not None else names
    epochs = [r.get("epoch", i + 1) for i, r in enumerate(records)]
    figure = _new_figure(figsize=(4.5 * len(names), 3.5), layout="constrained")
    for position, name in enumerate(names, start=1):
        ax = figure.add_subplot(1, len(names), position)
        if name in records[0]:
            ax.plot(epochs, [r[name] for r in records], marker=".", label=f"training {name}")
        if f"val_{name}" in records[0]:
            ax.plot(
                epochs, [r[f"val_{name}"] for r in records], marker=".", label=f"validation {name}"
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        figure.suptitle(title)
    return figure


def regression_fit(
    predict: Predict, X: np.ndarray, y: np.ndarray, *, truth: Predict | None = None, title: str = ""
) -> Figure:
    """A 1-D regression: the data, the model's curve, and the true function if known."""
    x = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    if x.shape[1] != 1:
        raise ValueError(f"regression_fit: X must have one feature, got shape {np.shape(X)}")
    grid = np.linspace(x.min(), x.max(), 300)[:, None]
    figure = _new_figure(figsize=(5.5, 4), layout="constrained")
    ax = figure.add_subplot()
    ax.scatter(x[:, 0], np.ravel(y), s=8, alpha=0.4, label="data")
    ax.plot(grid[:, 0], np.ravel(predict(grid)), color="C3", linewidth=2, label="model")
    if truth is not None:
        ax.plot(grid[:, 0], np.ravel(truth(grid[:, 0])), "k--", label="true function")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend()
    if title:
        ax.set_title(title)
    return figure


def confusion_matrix(
    counts: np.ndarray, class_names: Sequence[str] | None = None, title: str = ""
) -> Figure:
    """A confusion matrix (rows: true class, columns: predicted), counts written in."""
    counts = np.asarray(counts)
    classes = counts.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(classes)]
    figure = _new_figure(figsize=(1.0 + 0.55 * classes, 0.8 + 0.5 * classes), layout="constrained")
    ax = figure.add_subplot()
    image = ax.imshow(counts, cmap="Blues")
    figure.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(range(classes), names, rotation=45 if classes > 10 else 0)
    ax.set_yticks(range(classes), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = counts.max() / 2 if counts.size else 0
    for i in range(classes):
        for j in range(classes):
            ax.text(
                j,
                i,
                str(counts[i, j]),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if counts[i, j] > threshold else "black",
            )
    if title:
        ax.set_title(title)
    return figure


def image_grid(
    images: np.ndarray,
    labels: Sequence[Any] | None = None,
    *,
    predictions: Sequence[Any] | None = None,
    columns: int = 10,
    shape: tuple[int, int] = (28, 28),
    title: str = "",
) -> Figure:
    """Images in a grid, each titled with its label (and the prediction, red if wrong)."""
    images = np.asarray(images)
    count = len(images)
    if count == 0:
        raise ValueError("image_grid: no images")
    rows = -(-count // columns)
    figure = _new_figure(figsize=(1.1 * min(columns, count), 1.3 * rows), layout="constrained")
    for index in range(count):
        ax = figure.add_subplot(rows, min(columns, count), index + 1)
        ax.imshow(images[index].reshape(shape), cmap="gray_r")
        ax.set_xticks([])
        ax.set_yticks([])
        caption, color = "", "black"
        if labels is not None:
            caption = str(labels[index])
        if predictions is not None:
            caption = f"{caption} → {predictions[index]}" if caption else str(predictions[index])
            if labels is not None and predictions[index] != labels[index]:
                color = "red"
        ax.set_title(caption, fontsize=8, color=color)
    if title:
        figure.suptitle(title)
    return figure


def save_figure(figure: Figure, path: str | os.PathLike[str], *, dpi: int = 120) -> None:
    """Write ``figure`` to ``path`` (the format from its suffix), atomically."""
    suffix = os.fspath(path).rsplit(".", 1)[-1].lower()
    buffer = io.BytesIO()
    figure.savefig(buffer, format=suffix, dpi=dpi)
    write_atomically(path, buffer.getvalue())
