"""Helpers around a training step, under PyTorch's names (``torch.nn.utils``).

``clip_grad_norm_`` rescales the gradients of a set of parameters so that their joint
norm is at most ``max_norm``, between ``backward()`` and the optimiser's ``step()``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from autograd import Node

from . import checks
from .absent import module_getattr as _module_getattr

__all__ = ["clip_grad_norm_"]


def _norm_type(value: Any) -> float:
    if isinstance(value, str) and value == "inf":
        return math.inf
    if isinstance(value, float) and value == math.inf:
        return math.inf
    return checks.real(value, "clip_grad_norm_", "norm_type", low=0.0, low_open=True)


def _norm(array: np.ndarray, order: float) -> float:
    """‖array‖ of ``order`` over all its elements, in float64."""
    flat = np.abs(np.asarray(array, dtype=np.float64)).ravel()
    if not flat.size:
        return 0.0
    if order == math.inf:
        return float(flat.max())
    if order == 2.0:
        return float(np.sqrt(np.dot(flat, flat)))
    return float(np.sum(flat**order) ** (1.0 / order))


def clip_grad_norm_(
    parameters: Iterable[Node] | Node,
    max_norm: float,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale the parameters' gradients in place so that their joint norm is ≤ ``max_norm``.

    With g_i the gradients (parameters without one are skipped) and p = ``norm_type``
    (``inf`` or "inf" for the largest magnitude), the joint norm is the p-norm of the
    gradients' own p-norms, N = ‖(‖g_1‖_p, ..., ‖g_k‖_p)‖_p, which equals the p-norm of
    all their elements together. When c = max_norm / (N + 10⁻⁶) is below 1, each
    gradient becomes c·g_i: the step keeps its direction and loses only length. Why: a
    single huge gradient (a spike in the loss, an exploding recurrence) would otherwise
    throw the weights far from where training had brought them, and one bad batch can
    undo many good ones. PyTorch's formula (the 10⁻⁶ included), so that a recipe moves
    over with its numbers. Returns N, measured before clipping (log it to see how often
    clipping acts). ``error_if_nonfinite`` raises ``FloatingPointError`` when N is NaN or
    infinite instead of scaling by it.
    """
    if isinstance(parameters, Node):
        parameters = [parameters]
    found = checks.parameters(parameters, "clip_grad_norm_")
    limit = checks.real(max_norm, "clip_grad_norm_", "max_norm", low=0.0)
    order = _norm_type(norm_type)
    strict = checks.flag(error_if_nonfinite, "clip_grad_norm_", "error_if_nonfinite")
    with_grads = [p for p in found if p.grad is not None]
    norms = [_norm(_raw(p.grad), order) for p in with_grads]
    total = _norm(np.array(norms), order) if norms else 0.0
    if strict and not math.isfinite(total):
        raise FloatingPointError(
            f"clip_grad_norm_: the gradients' norm of order {order:g} is {total}, so they "
            "cannot be clipped (pass error_if_nonfinite=False to scale by it anyway)"
        )
    coefficient = limit / (total + 1e-6)
    if not coefficient >= 1.0:  # scaling by 1 changes nothing; NaN scales, as in PyTorch
        for p in with_grads:
            grad = _raw(p.grad)
            if isinstance(grad, np.ndarray):
                p.grad = grad * grad.dtype.type(coefficient)
            else:
                p.grad = float(grad) * coefficient
    return total


def _raw(grad: Any) -> Any:
    """A gradient's numbers: its data when it is a node (``create_graph=True``)."""
    return grad.data if isinstance(grad, Node) else grad


__getattr__ = _module_getattr("nn.utils")
