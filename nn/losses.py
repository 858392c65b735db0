"""Loss functions, with PyTorch's names and ``reduction="mean" | "sum" | "none"``.

Each takes the model's output and the targets and returns a node. They work on a Tensor
of outputs and, where it makes sense (l1, mse, binary cross-entropy, hinge), on a Value
or a list of Values with numbers as targets.

- l1_loss: |ŷ − y|                      (absolute error)
- mse_loss: (ŷ − y)²                    (squared error)
- cross_entropy: −log softmax(z)[y]     (logits z, integer labels y or probabilities)
- binary_cross_entropy: log(1 + e^z) − y·z, from logits z, for y in [0, 1]
- hinge_loss: max(0, margin − y·s)      (scores s, labels y in {−1, +1} or {0, 1})
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import autograd
from autograd import Tensor, Value

REDUCTIONS = ("mean", "sum", "none")
Output = Tensor | Value | Sequence[Value]


def _check_reduction(reduction: str, loss: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{loss}: reduction must be one of {REDUCTIONS}, not {reduction!r}")


def _target_array(target: Any, like: Tensor, loss: str) -> np.ndarray:
    """The targets as an array of the output's shape and dtype."""
    y = np.asarray(target.data if isinstance(target, Tensor) else target)
    if y.shape != like.shape:
        if y.size != like.size:
            raise ValueError(
                f"{loss}: output of shape {like.shape} and target of shape {y.shape} differ"
            )
        y = y.reshape(like.shape)  # (n,) targets for (n, 1) outputs
    return y.astype(like.dtype, copy=False)


def _elementwise(
    output: Output,
    target: Any,
    reduction: str,
    loss: str,
    on_tensor: Callable[[Tensor, np.ndarray], Tensor],
    on_value: Callable[[Value, float], Value],
) -> Any:
    """Apply a per-element loss to a Tensor, a Value or a list of Values, then reduce."""
    _check_reduction(reduction, loss)
    if isinstance(output, Tensor):
        losses = on_tensor(output, _target_array(target, output, loss))
        if reduction == "none":
            return losses
        return losses.mean() if reduction == "mean" else losses.sum()
    values = [output] if isinstance(output, Value) else list(output)
    targets = np.atleast_1d(np.asarray(target, dtype=np.float64)).ravel().tolist()
    if len(targets) != len(values):
        raise ValueError(f"{loss}: {len(values)} outputs and {len(targets)} targets")
    for position, value in enumerate(values):
        if not isinstance(value, Value):
            raise TypeError(f"{loss}: output {position} is {type(value).__name__}, not a Value")
    losses_v = [on_value(v, y) for v, y in zip(values, targets)]
    if reduction == "none":
        return losses_v if not isinstance(output, Value) else losses_v[0]
    total = Value.sum(losses_v)
    return total * (1.0 / len(losses_v)) if reduction == "mean" else total


def l1_loss(output: Output, target: Any, reduction: str = "mean") -> Any:
    """The absolute error |ŷ − y|."""
    return _elementwise(
        output, target, reduction, "l1_loss", lambda o, y: (o - y).abs(), lambda v, y: (v - y).abs()
    )


def mse_loss(output: Output, target: Any, reduction: str = "mean") -> Any:
    """The squared error (ŷ − y)²."""
    return _elementwise(
        output, target, reduction, "mse_loss", lambda o, y: (o - y) ** 2, lambda v, y: (v - y) ** 2
    )


def binary_cross_entropy(output: Output, target: Any, reduction: str = "mean") -> Any:
    """The logistic loss of logits z for targets y in [0, 1]: −y·log σ(z) − (1−y)·log(1−σ(z)).

    Computed from the logits as log(1 + e^z) − y·z, which is stable for any z (PyTorch's
    binary_cross_entropy_with_logits).
    """
    return _elementwise(
        output,
        target,
        reduction,
        "binary_cross_entropy",
        lambda o, y: o.binary_cross_entropy(y),
        lambda v, y: v.binary_cross_entropy(y),
    )


def _signs(target: Any) -> np.ndarray:
    y = np.asarray(target.data if isinstance(target, Tensor) else target, dtype=np.float64)
    if np.any(y == 0):  # labels in {0, 1}
        y = 2.0 * y - 1.0
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError("hinge_loss: targets must be in {-1, +1} or in {0, 1}")
    return y


def hinge_loss(output: Output, target: Any, margin: float = 1.0, reduction: str = "mean") -> Any:
    """The max-margin loss max(0, margin − y·s) for scores s and labels y in {−1, +1}."""
    signs = _signs(target)
    return _elementwise(
        output,
        signs,
        reduction,
        "hinge_loss",
        lambda o, y: (margin - o * y).relu(),
        lambda v, y: (margin - v * y).relu(),
    )


def cross_entropy(logits: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """−log softmax(z_i)[y_i] for logits z of shape (n, C).

    ``target`` is either n integer labels (fused and stable: logsumexp(z_i) − z_i[y_i]) or
    an (n, C) array of class probabilities (−Σ_c p_c·log softmax(z_i)_c).
    """
    _check_reduction(reduction, "cross_entropy")
    if not isinstance(logits, Tensor):
        raise TypeError(f"cross_entropy: logits must be a Tensor, got {type(logits).__name__}")
    y = np.asarray(target.data if isinstance(target, Tensor) else target)
    if y.dtype.kind in "iu":
        return autograd.cross_entropy(logits, y, reduction)
    if y.shape != logits.shape:
        raise ValueError(
            f"cross_entropy: probabilities of shape {y.shape} do not fit logits {logits.shape}"
        )
    losses = -(logits.log_softmax(axis=-1) * y.astype(logits.dtype)).sum(axis=-1)
    if reduction == "none":
        return losses
    return losses.mean() if reduction == "mean" else losses.sum()
