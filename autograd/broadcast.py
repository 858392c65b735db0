"""Sum a broadcast gradient back to its input's shape; called by the engine only.

If the forward broadcast an input x of shape s to the output's shape S, every element of
x was used once per copy, so dL/dx is dL/dout summed over the copies: over the leading
axes that broadcasting added, and over every axis where s has 1 and S does not.
"""

from __future__ import annotations

from typing import Any


def broadcast_axes(from_shape: tuple[int, ...], to_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of ``to_shape`` along which an array of ``from_shape`` was repeated."""
    leading = len(to_shape) - len(from_shape)
    stretched = tuple(
        leading + axis
        for axis, size in enumerate(from_shape)
        if size == 1 and to_shape[leading + axis] != 1
    )
    return tuple(range(leading)) + stretched


def sum_to_shape(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``grad`` (an array, or a Tensor when the engine records a graph) down to ``shape``.

    ``grad``'s shape must be a broadcast of ``shape``: anything else is a rule's mistake,
    and a ValueError, never a reshape that happens to fit.
    """
    if grad.shape == shape:
        return grad
    axes = broadcast_axes(shape, grad.shape)
    if axes:
        grad = grad.sum(axis=axes)
    if grad.shape != shape:  # the stretched size-1 axes were summed away; put them back
        if _without_ones(grad.shape) != _without_ones(shape):
            raise ValueError(
                f"a gradient of shape {grad.shape} does not fit an input of shape {shape}"
            )
        grad = grad.reshape(shape)
    return grad


def _without_ones(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(size for size in shape if size != 1)
