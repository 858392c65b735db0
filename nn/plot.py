"""Pictures of models and data with matplotlib; every function returns a ``Figure``.

Figures are made without pyplot, so nothing depends on a display; Jupyter shows a
returned Figure inline, and ``save_figure`` writes one atomically.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure

from autograd.atomic import write_atomically

Predict = Callable[[np.ndarray], np.ndarray]


def decision_boundary(
    predict: Predict,
    X: np.ndarray,
    y: np.ndarray,
    *,
    resolution: int = 100,
    margin: float = 0.5,
    title: str = "",
) -> Figure:
    """The regions a 2-D classifier assigns to each class, with the data on top.

    ``predict`` maps an (m, 2) array of points to m integer class labels.
    """
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

    figure = Figure(figsize=(5.5, 4.5), layout="constrained")
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


def save_figure(figure: Figure, path: str | os.PathLike[str], *, dpi: int = 120) -> None:
    """Write ``figure`` to ``path`` (the format from its suffix), atomically."""
    suffix = os.fspath(path).rsplit(".", 1)[-1].lower()
    buffer = io.BytesIO()
    figure.savefig(buffer, format=suffix, dpi=dpi)
    write_atomically(path, buffer.getvalue())
