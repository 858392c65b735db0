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


def as_array(x: Any) -> np.ndarray:
    """The data of a Tensor, a Value, a list of Values, or an array-like."""
    if isinstance(x, Node):
        return np.asarray(x.data)
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], Node):
        return np.array([v.data for v in x])
    return np.asarray(x)


def predicted_classes(output: Any) -> np.ndarray:
    """Class labels from labels or scores (see the module's docstring)."""
    scores = as_array(output)
    if scores.dtype.kind in "iub":
        return scores.astype(np.int64).ravel()
    if scores.ndim == 2 and scores.shape[1] > 1:
        return scores.argmax(axis=1)
    return (scores.ravel() > 0).astype(np.int64)


def accuracy(output: Any, labels: Any) -> float:
    """The fraction of samples whose predicted class is the label.

    For one score per sample, labels may be {0, 1} or micrograd's {−1, +1}.
    """
    predicted, truth = predicted_classes(output), as_array(labels).ravel()
    if _one_score_each(output) and truth.size and np.all(np.isin(truth, (-1, 1))):
        predicted = 2 * predicted - 1  # the sign of the score against ±1 labels
    if len(predicted) != len(truth):
        raise ValueError(f"accuracy: {len(predicted)} predictions and {len(truth)} labels")
    if len(truth) == 0:
        raise ValueError("accuracy: no samples")
    return float(np.mean(predicted == truth))


def _one_score_each(output: Any) -> bool:
    scores = as_array(output)
    return scores.dtype.kind == "f" and (scores.ndim <= 1 or scores.shape[1:] == (1,))


def zero_one_loss(output: Any, labels: Any) -> float:
    """The fraction of samples misclassified: 1 − accuracy."""
    return 1.0 - accuracy(output, labels)


def confusion_matrix(output: Any, labels: Any, num_classes: int | None = None) -> np.ndarray:
    """counts[i, j] = how many samples of class i (the labels) were predicted as class j.

    Arguments in the losses' order: the model's output (scores or predicted classes), then
    the labels. The old order (labels first, scores second) is refused where it shows.
    """
    first = as_array(output)
    if first.dtype.kind in "iu" and first.ndim == 1 and as_array(labels).dtype.kind == "f":
        raise TypeError(
            "confusion_matrix: takes (output, labels), the losses' order; got integer labels "
            "first and scores second: swap them"
        )
    truth, predicted = as_array(labels).ravel().astype(np.int64), predicted_classes(output)
    if len(predicted) != len(truth):
        raise ValueError(f"confusion_matrix: {len(predicted)} predictions, {len(truth)} labels")
    classes = num_classes or int(max(truth.max(initial=0), predicted.max(initial=0))) + 1
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (truth, predicted), 1)
    return counts


def r2_score(output: Any, target: Any) -> float:
    """R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)²: 1 for a perfect fit, 0 for predicting the mean.

    Arguments in the losses' order: the model's output ŷ, then the target y.
    """
    y, y_hat = as_array(target).ravel().astype(np.float64), as_array(output).ravel()
    if y.shape != y_hat.shape:
        raise ValueError(f"r2_score: {y_hat.size} predictions and {y.size} targets")
    total = np.sum((y - y.mean()) ** 2)
    if total == 0.0:
        raise ValueError("r2_score: the targets are constant")
    return float(1.0 - np.sum((y - y_hat) ** 2) / total)
