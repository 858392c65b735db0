"""Pictures of models and data with matplotlib; every function returns a ``Figure``.

Figures are made without pyplot, so nothing depends on a display (headless machines
work); each is an ``InlineFigure``, a Figure which Jupyter shows as a picture by itself in a fresh
kernel, and ``save_figure`` writes one atomically. Arguments are checked as the rest of
the library's are (``nn.checks``), before any figure is made.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tracegrad.files import write_atomically

from . import checks
from .callbacks import LiveCurves
from .metrics import predicted_classes
from .module import Module
from .train import History
from .train import predict as predict_outputs

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Predict = Callable[[np.ndarray], np.ndarray]
#: The fewest dots per inch a figure is drawn at: below, its smallest text (8 points) is
#: less than a pixel high, which the font renderer refuses.
MIN_DPI = 10

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
    X: Any,
    y: Any,
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
    where = "decision_boundary"
    if not isinstance(predict, Module):
        checks.function(predict, where, "predict", "a model or a function of points")
    X = _finite(checks.samples(X, where, "X", np.float64), where, "X")
    y = checks.numbers(y, where, "y", at_least_1d=True)
    checks.same_length(X, y, where)
    if y.size != len(y):
        raise ValueError(
            f"decision_boundary: y must hold one class per sample, got shape {y.shape}"
        )
    y = y.ravel()
    resolution = checks.integer(resolution, where, "resolution", minimum=2)
    margin = checks.real(margin, where, "margin", low=0.0)
    _title(title, where)
    if isinstance(predict, Module):
        model = predict

        def predict(points: np.ndarray) -> np.ndarray:
            return predicted_classes(predict_outputs(model, points))

    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary: X must have shape (n, 2), got {X.shape}")
    (x_min, y_min), (x_max, y_max) = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(
        np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution)
    )
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    regions = _called(predict, grid, where, "predict").reshape(xx.shape)
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
    where = "training_curves"
    records = history.records if isinstance(history, History) else history
    if not isinstance(records, (list, tuple)) or not all(isinstance(r, dict) for r in records):
        checks.wrong_type(where, "history", "a History (or a list of its records)", history)
    if not records:
        raise ValueError("training_curves: the history is empty")
    _title(title, where)
    hidden = ("epoch", "seconds", "lr")
    names = [k for k in records[0] if k not in hidden and not k.startswith("val_")]
    if keys is not None:
        if (
            isinstance(keys, str)
            or not isinstance(keys, Sequence)
            or not all(isinstance(key, str) for key in keys)
        ):
            hint = f": write [{keys!r}]" if isinstance(keys, str) else ""
            checks.wrong_type(where, "keys", "a list of recorded names", keys, hint)
        unknown = [key for key in keys if key not in records[0] and f"val_{key}" not in records[0]]
        if unknown or not keys:
            raise ValueError(
                f"training_curves: keys names {unknown or 'nothing'}, which the history does "
                f"not record; it records {sorted(records[0])}"
            )
        names = list(keys)
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
    predict: Predict, X: Any, y: Any, *, truth: Predict | None = None, title: str = ""
) -> Figure:
    """A 1-D regression: the data, the model's curve, and the true function if known."""
    where = "regression_fit"
    checks.function(predict, where, "predict", "a function of an (m, 1) array")
    checks.callback(truth, where, "truth")
    X = _finite(checks.samples(X, where, "X", np.float64), where, "X")
    y = checks.numbers(y, where, "y", at_least_1d=True)
    checks.same_length(X, y, where)
    _title(title, where)
    x = X.reshape(len(X), -1)
    if x.shape[1] != 1:
        raise ValueError(f"regression_fit: X must have one feature, got shape {np.shape(X)}")
    grid = np.linspace(x.min(), x.max(), 300)[:, None]
    figure = _new_figure(figsize=(5.5, 4), layout="constrained")
    ax = figure.add_subplot()
    ax.scatter(x[:, 0], np.ravel(y), s=8, alpha=0.4, label="data")
    ax.plot(grid[:, 0], _called(predict, grid, where, "predict").ravel(), color="C3", label="model")
    if truth is not None:
        values = _called(truth, grid[:, 0], where, "truth").ravel()
        ax.plot(grid[:, 0], values, "k--", label="true function")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend()
    if title:
        ax.set_title(title)
    return figure


def confusion_matrix(
    counts: Any, class_names: Sequence[str] | np.ndarray | None = None, title: str = ""
) -> Figure:
    """A confusion matrix (rows: true class, columns: predicted), counts written in."""
    where = "confusion_matrix"
    counts = checks.numbers(counts, where, "counts")
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or not counts.size:
        raise ValueError(
            f"confusion_matrix: counts must be a square table, one row and one column per "
            f"class (nn.confusion_matrix gives one), got shape {counts.shape}"
        )
    classes = counts.shape[0]
    names = [str(i) for i in range(classes)]
    if class_names is not None:
        names = _captions(class_names, classes, where, "class_names", "class")
    _title(title, where)
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
    images: Any,
    labels: Sequence[Any] | np.ndarray | None = None,
    *,
    predictions: Sequence[Any] | np.ndarray | None = None,
    columns: int = 10,
    shape: tuple[int, int] = (28, 28),
    title: str = "",
) -> Figure:
    """Images in a grid, each titled with its label (and the prediction, red if wrong)."""
    where = "image_grid"
    size = checks.shape(shape, where, "shape")
    images = checks.numbers(images, where, "images", at_least_1d=True)
    count = len(images)
    if count == 0:
        raise ValueError("image_grid: no images")
    if images[0].size != np.prod(size):
        raise ValueError(
            f"image_grid: each image must hold {int(np.prod(size))} values (shape {size}), "
            f"got images of shape {images.shape[1:]}: pass shape="
        )
    if labels is not None:
        labels = _captions(labels, count, where, "labels", "image")
    if predictions is not None:
        predictions = _captions(predictions, count, where, "predictions", "image")
    columns = checks.positive_int(columns, where, "columns")
    _title(title, where)
    rows = -(-count // columns)
    figure = _new_figure(figsize=(1.1 * min(columns, count), 1.3 * rows), layout="constrained")
    for index in range(count):
        ax = figure.add_subplot(rows, min(columns, count), index + 1)
        ax.imshow(images[index].reshape(size), cmap="gray_r")
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
    from matplotlib.figure import Figure

    checks.instance(
        figure, Figure, "save_figure", "figure", ": one of nn.plot's functions gives one"
    )
    checks.path(path, "save_figure")
    dpi = checks.integer(dpi, "save_figure", "dpi", minimum=MIN_DPI)
    suffix = os.fspath(path).rsplit(".", 1)[-1].lower()
    formats = sorted(figure.canvas.get_supported_filetypes())
    if suffix not in formats:
        raise ValueError(
            f"save_figure: path {os.fspath(path)!r} names no picture format by its suffix; "
            f"end it in one of {', '.join('.' + name for name in formats)}"
        )
    buffer = io.BytesIO()
    figure.savefig(buffer, format=suffix, dpi=dpi)
    write_atomically(path, buffer.getvalue())


def _title(title: Any, where: str) -> str:
    """A figure's title: a string ("" for none)."""
    if not isinstance(title, str):
        checks.wrong_type(where, "title", "a string", title)
    return title


def _captions(values: Any, count: int, where: str, name: str, per: str) -> list[Any]:
    """One caption per ``per`` (image, class): a sequence (or array) of ``count`` values."""
    if (
        isinstance(values, str)
        or not isinstance(values, (Sequence, np.ndarray))
        or np.ndim(values) != 1
    ):
        checks.wrong_type(where, name, f"a list of captions, one per {per}", values)
    if len(values) != count:
        raise ValueError(
            f"{where}: {name} must hold one item per {per}: {count}, got {len(values)}"
        )
    return list(values)


def _finite(array: np.ndarray, where: str, name: str) -> np.ndarray:
    """``array``, if it holds no NaN or infinity (no axis can be drawn around one)."""
    if not np.isfinite(array).all():
        raise ValueError(f"{where}: {name} holds NaN or infinity, which cannot be drawn")
    return array


def _called(
    function: Callable[[Any], Any], points: np.ndarray, where: str, name: str
) -> np.ndarray:
    """``function(points)``: one number per point; what it raises on them, said with the
    call."""
    try:
        result = checks.numbers(function(points), where, f"{name}'s result")
    except (TypeError, ValueError) as error:
        raise type(error)(
            f"{where}: {name} failed on the points of shape {points.shape} that it is given "
            f"({error})"
        ) from None
    if result.size != len(points):
        raise ValueError(
            f"{where}: {name} must give one number per point: {len(points)} for points of "
            f"shape {points.shape}, got shape {result.shape}"
        )
    return result
