"""Fused and joining operations on Tensors: a layer's x·Wᵀ + b, the cross-entropy loss,
and concatenate, stack and where.

Each is one op of the graph with one derivative rule in ``rules.py``: the fused ones are
faster and steadier than the same math spelled out in elementwise ops (the loss never
forms log(softmax), which underflows), and their rules skip the work no input needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import rules
from .tensor import Tensor, _as_array, _as_tensor, _axis, _copy, _make, _watching

REDUCTIONS = ("mean", "sum", "none")


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x·Wᵀ + b as one op, for x of shape (..., in), W of (out, in) and b of (out,).

    Each may be a Tensor or an array (a constant, copied), as the other ops take them."""
    x, weight = _as_tensor(x, "linear"), _as_tensor(weight, "linear")
    bias = None if bias is None else _as_tensor(bias, "linear")
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out, in), got shape {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {x.shape} does not fit weight of shape {weight.shape}"
        )
    data = x._data @ weight._data.T
    if bias is None:
        return _make(data, (x, weight), rules.linear, (x.requires_grad, weight.requires_grad))
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias of shape {bias.shape} does not fit weight {weight.shape}")
    data += bias._data
    needs = (x.requires_grad, weight.requires_grad, bias.requires_grad)
    return _make(data, (x, weight, bias), rules.linear, needs)


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """The tensors joined along an existing axis."""
    tensors = _same_kind(tensors, "concatenate")
    a = _axis(axis, tensors[0].ndim, "concatenate")
    try:
        data = np.concatenate([t._data for t in tensors], axis=a)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"concatenate: shapes {shapes} differ off axis {axis}") from None
    return _make(data, tuple(tensors), rules.concatenate, (a, tuple(t.shape[a] for t in tensors)))


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """The tensors joined along a new axis."""
    tensors = _same_kind(tensors, "stack")
    a = _axis(axis, tensors[0].ndim + 1, "stack")
    if len({t.shape for t in tensors}) != 1:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"stack: shapes {shapes} must be equal")
    return _make(np.stack([t._data for t in tensors], axis=a), tuple(tensors), rules.stack, a)


def _same_kind(tensors: Sequence[Tensor], op: str) -> list[Tensor]:
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    return [
        _as_tensor(t, op, tensors[0] if isinstance(tensors[0], Tensor) else None) for t in tensors
    ]


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """a where ``condition`` holds, else b (condition is a constant boolean mask)."""
    if isinstance(condition, Tensor):  # watched, below
        mask = condition._data.astype(bool, copy=False)
    else:
        mask = _copy(condition, bool)  # a copy: the caller may change theirs
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    a, b = _as_tensor(a, "where", like), _as_tensor(b, "where", like)
    try:
        data = np.where(mask, a._data, b._data)
    except ValueError:
        raise ValueError(
            f"where: shapes {mask.shape}, {a.shape} and {b.shape} cannot be broadcast together"
        ) from None
    return _watching(_make(data, (a, b), rules.where, mask), condition)


def cross_entropy(logits: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """−log softmax(z_i)[y_i] for logits z of shape (n, C): the classification loss.

    ``target`` is either n integer class indices y, or an (n, C) array of class
    probabilities p, which gives −Σ_c p_c·log softmax(z_i)_c (a probability Tensor that
    requires grad gets its gradient). With indices the loss is one fused op, computed as
    logsumexp(z_i) − z_i[y_i], stable for any z. ``reduction`` is "mean", "sum" or
    "none" (one loss per row). This is the one cross-entropy of Tensors: ``nn``'s adds
    rows of Values.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be mean, sum or none, not {reduction!r}")
    if not isinstance(logits, Tensor):
        raise TypeError(f"cross_entropy: logits must be a Tensor, got {type(logits).__name__}")
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must have shape (n, classes), got {logits.shape}")
    # A Tensor target is watched for changes before the backward; an array is copied.
    array = target._data if isinstance(target, Tensor) else _copy(target)
    if array.dtype.kind not in "iu":
        if array.dtype.kind == "b" or array.shape == logits.shape[:1]:
            raise TypeError(
                f"cross_entropy: labels must be integer class indices, got {array.dtype} of "
                f"shape {array.shape} (use y.astype(int); for class probabilities pass shape "
                f"{logits.shape})"
            )
        if isinstance(target, Tensor):
            return _soft_cross_entropy(logits, target, reduction)
        return _soft_cross_entropy(logits, array.astype(logits.dtype, copy=False), reduction)
    if isinstance(target, Tensor) and target.requires_grad:
        raise TypeError("cross_entropy: integer labels cannot require grad")
    return _watching(_label_cross_entropy(logits, array, reduction), target)


def _label_cross_entropy(logits: Tensor, labels: np.ndarray, reduction: str) -> Tensor:
    """The fused loss for integer labels (see ``cross_entropy``)."""
    if labels.shape != logits.shape[:1]:
        raise ValueError(
            f"cross_entropy: labels of shape {labels.shape} do not fit logits of shape "
            f"{logits.shape}"
        )
    classes = logits.shape[1]
    z = logits._data
    shifted = z - z.max(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    try:  # numpy refuses labels past the last class; negative ones would count from the end
        if labels.size and labels.min() < 0:
            raise IndexError
        picked = shifted[rows, labels]
    except IndexError:
        raise ValueError(
            f"cross_entropy: labels must lie in [0, {classes}), got {labels.min()}..{labels.max()}"
        ) from None
    exps = np.exp(shifted)
    sums = exps.sum(axis=1, keepdims=True)
    losses = np.log(sums[:, 0]) - picked
    data = losses if reduction == "none" else losses.sum()
    if reduction == "mean":  # the mean of no losses is nan, as in numpy and PyTorch
        data = data / len(labels) if len(labels) else np.nan
    return _make(
        _as_array(data, z.dtype),
        (logits,),
        rules.cross_entropy,
        (rows, labels, exps, sums, reduction),
    )


def _soft_cross_entropy(
    logits: Tensor, probabilities: Tensor | np.ndarray, reduction: str
) -> Tensor:
    """−Σ_c p_c·log softmax(z)_c per row, composed of ops (see ``cross_entropy``)."""
    if probabilities.shape != logits.shape:
        raise ValueError(
            f"cross_entropy: class probabilities of shape {probabilities.shape} do not fit "
            f"logits of shape {logits.shape}; give integer labels of shape {logits.shape[:1]} "
            f"or probabilities of shape {logits.shape}"
        )
    losses = -(logits.log_softmax(axis=-1) * probabilities).sum(axis=-1)
    if reduction == "none":
        return losses
    return losses.mean() if reduction == "mean" else losses.sum()
