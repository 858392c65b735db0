"""Hypothesis strategies and an assertion for property-based gradient tests.

A user checks their own function's first and second derivatives in three lines::

    from hypothesis import given
    from autograd import testing

    @given(testing.floats(), testing.positive_floats())
    def test_my_function(x, y):
        testing.assert_gradients_match(lambda a, b: (a * b.log()).tanh(), x, y)

and for tensors, over drawn shapes that broadcast together::

    @given(testing.broadcastable_shapes(2).flatmap(
        lambda shapes: st.tuples(*(testing.arrays(s) for s in shapes))))
    def test_my_tensor_function(arrays):
        testing.assert_gradients_match(lambda a, b: (a * b).tanh(), *arrays)

The strategies draw finite float64 numbers from a range where central differences are
accurate: not so large that rounding swamps ε, and, for functions with a kink or a
restricted domain, not too close to the kink or the edge of the domain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .gradcheck import gradcheck, gradgradcheck
from .node import Node
from .tensor import Tensor
from .value import Value


def floats(min_value: float = -5.0, max_value: float = 5.0) -> st.SearchStrategy[float]:
    """Finite floats in [min_value, max_value] (no NaN, no infinity, no subnormals)."""
    if not min_value < max_value:
        raise ValueError(f"floats: min_value {min_value} must be below max_value {max_value}")
    return st.floats(
        min_value=min_value,
        max_value=max_value,
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=False,
    )


def positive_floats(min_value: float = 0.1, max_value: float = 5.0) -> st.SearchStrategy[float]:
    """Floats in [min_value, max_value] with min_value > 0: the domain of log, sqrt, x**p."""
    if min_value <= 0:
        raise ValueError(f"positive_floats: min_value must be positive, got {min_value}")
    return floats(min_value, max_value)


def floats_away_from(
    points: Sequence[float] = (0.0,),
    margin: float = 1e-3,
    min_value: float = -5.0,
    max_value: float = 5.0,
) -> st.SearchStrategy[float]:
    """Floats at least ``margin`` away from each of ``points`` (the kinks of relu, abs, max)."""
    return floats(min_value, max_value).filter(
        lambda x: all(abs(x - point) >= margin for point in points)
    )


def values(
    elements: st.SearchStrategy[float] | None = None, *, requires_grad: bool = True
) -> st.SearchStrategy[Value]:
    """``Value`` nodes whose data is drawn from ``elements`` (``floats()`` by default)."""
    return (elements if elements is not None else floats()).map(
        lambda x: Value(x, requires_grad=requires_grad)
    )


def as_node(x: Any) -> Node:
    """A float64 leaf that requires grad: a number becomes a Value, an array a Tensor."""
    if isinstance(x, Node):
        return x
    if isinstance(x, np.ndarray):
        return Tensor(x, requires_grad=True, dtype=np.float64)
    return Value(float(x))


def assert_gradients_match(
    fn: Callable[..., Any],
    *inputs: Any,
    order: int = 2,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> None:
    """Assert that the engine's derivatives of ``fn`` up to ``order`` match central differences.

    ``inputs`` are numbers, arrays or nodes; numbers become float64 Values and arrays
    float64 Tensors, leaves that require grad.
    Raises ``GradcheckError`` (an AssertionError) naming the input and the values.
    """
    if order not in (1, 2):
        raise ValueError(f"assert_gradients_match: order must be 1 or 2, got {order}")
    nodes = [as_node(x) for x in inputs]
    gradcheck(fn, nodes, eps=eps, atol=atol, rtol=rtol)
    if order == 2:
        gradgradcheck(fn, nodes, eps=eps, atol=atol, rtol=rtol)


# -- tensors ---------------------------------------------------------------------------


def shapes(
    min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 3
) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes, small enough for central differences element by element."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def broadcastable_shapes(
    num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3, max_side: int = 3
) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """Tuples of ``num_shapes`` shapes that broadcast together (scalars, 1s, missing axes)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, max_side=max_side
    ).map(lambda shapes: shapes.input_shapes)


def arrays(
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
    elements: st.SearchStrategy[float] | None = None,
    dtype: Any = np.float64,
) -> st.SearchStrategy[np.ndarray]:
    """Arrays of ``dtype`` whose elements come from ``elements`` (``floats()`` by default)."""
    return hnp.arrays(
        dtype,
        shape if shape is not None else shapes(),
        elements=elements if elements is not None else floats(),
    )


def tensors(
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
    elements: st.SearchStrategy[float] | None = None,
    dtype: Any = np.float64,
    *,
    requires_grad: bool = True,
) -> st.SearchStrategy[Tensor]:
    """``Tensor`` leaves holding arrays drawn by ``arrays``."""
    return arrays(shape, elements, dtype).map(
        lambda array: Tensor(array, requires_grad=requires_grad, dtype=dtype)
    )
