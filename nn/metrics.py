"""Metrics, computed on plain arrays (no graph): accuracy, 0-1 loss, confusion, R².

Every metric takes its arguments in the losses' order: the model's output, then the
target (labels).

Predictions may be class labels, or a model's outputs: (n, C) scores give the class of
the largest score; (n,) or (n, 1) scores of a binary classifier give class 1 where the
score is positive.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Node

from . import checks


def as_array(x: Any, where: str = "as_array", name: str = "x") -> np.ndarray:
    """The data of a Tensor, a Value, a list of Values, or an array-like of numbers (a
    single number is one sample)."""
    if isinstance(x, Node):
        x = np.asarray(x.data)
    elif isinstance(x, (list, tuple)) and x and isinstance(x[0], Node):
        if not all(isinstance(v, Node) for v in x):
            checks.wrong_type(where, name, "a list of Values or an array of numbers", x)
        x = [v.data for v in x]
    return checks.numbers(x, where, name)


def predicted_classes(output: Any, where: str = "predicted_classes") -> np.ndarray:
    """Class labels from labels or scores (see the module's docstring)."""
    scores = as_array(output, where, "output")
    if scores.dtype.kind in "iub":
        return scores.astype(np.int64).ravel()
    if scores.ndim == 2 and scores.shape[1] > 1:
        return scores.argmax(axis=1)
    return (scores.ravel() > 0).astype(np.int64)


def accuracy(output: Any, labels: Any) -> float:
    """The fraction of samples whose predicted class is the label.

    For one score per sample, labels may be {0, 1} or micrograd's {−1, +1}.
    """
    return _accuracy(output, labels, "accuracy")


def _accuracy(output: Any, labels: Any, where: str) -> float:
    predicted, truth = predicted_classes(output, where), as_array(labels, where, "labels").ravel()
    if _one_score_each(output) and truth.size and np.all(np.isin(truth, (-1, 1))):
        predicted = 2 * predicted - 1  # the sign of the score against ±1 labels
    if len(predicted) != len(truth):
        raise ValueError(_lengths(where, len(predicted), len(truth)))
    if len(truth) == 0:
        raise ValueError(f"{where}: no samples (output and labels are empty)")
    return float(np.mean(predicted == truth))


def _lengths(where: str, predictions: int, labels: int, name: str = "labels") -> str:
    return (
        f"{where}: {predictions} predictions and {labels} {name} (output and {name} differ in "
        "length)"
    )


def _one_score_each(output: Any) -> bool:
    scores = as_array(output)
    return scores.dtype.kind == "f" and (scores.ndim <= 1 or scores.shape[1:] == (1,))


def zero_one_loss(output: Any, labels: Any) -> float:
    """The fraction of samples misclassified: 1 − accuracy."""
    return 1.0 - _accuracy(output, labels, "zero_one_loss")


def confusion_matrix(output: Any, labels: Any, num_classes: int | None = None) -> np.ndarray:
    """counts[i, j] = how many samples of class i (the labels) were predicted as class j.

    Arguments in the losses' order: the model's output (scores or predicted classes), then
    the labels. The old order (labels first, scores second) is refused where it shows.
    Classes are 0, 1, ...: a negative label would count from the end (numpy's indexing),
    so it is refused, as is a label or prediction past ``num_classes``.
    """
    where = "confusion_matrix"
    first = as_array(output, where, "output")
    truth = as_array(labels, where, "labels")
    if first.dtype.kind in "iu" and first.ndim == 1 and truth.dtype.kind == "f":
        raise TypeError(
            "confusion_matrix: takes (output, labels), the losses' order; got integer labels "
            "first and scores second: swap them"
        )
    num_classes = checks.optional_positive_int(num_classes, where, "num_classes")
    truth = truth.ravel()
    if np.any(truth != np.round(truth)) or np.any(truth < 0):
        raise ValueError(f"{where}: labels must be class numbers 0, 1, ..., got {truth.min()}")
    truth, predicted = truth.astype(np.int64), predicted_classes(output, where)
    if len(predicted) != len(truth):
        raise ValueError(_lengths(where, len(predicted), len(truth)))
    if np.any(predicted < 0):
        raise ValueError(f"{where}: output predicts class {predicted.min()}, below 0")
    largest = int(max(truth.max(initial=0), predicted.max(initial=0)))
    if num_classes is not None and largest >= num_classes:
        raise ValueError(
            f"{where}: num_classes is {num_classes}, but the labels or the output name class "
            f"{largest}"
        )
    classes = num_classes or largest + 1
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (truth, predicted), 1)
    return counts


def r2_score(output: Any, target: Any) -> float:
    """R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)²: 1 for a perfect fit, 0 for predicting the mean.

    Arguments in the losses' order: the model's output ŷ, then the target y.
    """
    y = as_array(target, "r2_score", "target").ravel().astype(np.float64)
    y_hat = as_array(output, "r2_score", "output").ravel()
    if y.shape != y_hat.shape:
        raise ValueError(_lengths("r2_score", y_hat.size, y.size, "targets"))
    total = np.sum((y - y.mean()) ** 2)
    if total == 0.0:
        raise ValueError("r2_score: the target is constant (R² divides by its variance)")
    return float(1.0 - np.sum((y - y_hat) ** 2) / total)
