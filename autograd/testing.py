"""Hypothesis strategies and an assertion for property-based gradient tests.

A user checks their own function's first and second derivatives in three lines::

    from hypothesis import given
    from autograd import testing

    @given(testing.floats(), testing.positive_floats())
    def test_my_function(x, y):
        testing.assert_gradients_match(lambda a, b: (a * b.log()).tanh(), x, y)

The strategies draw finite float64 numbers from a range where central differences are
accurate: not so large that rounding swamps ε, and, for functions with a kink or a
restricted domain, not too close to the kink or the edge of the domain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

from .gradcheck import gradcheck, gradgradcheck
from .node import Node
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
    """A float64 leaf that requires grad: a number becomes a Value; a node is kept."""
    if isinstance(x, Node):
        return x
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

    ``inputs`` are numbers or nodes; numbers become float64 leaves that require grad.
    Raises ``GradcheckError`` (an AssertionError) naming the input and the values.
    """
    if order not in (1, 2):
        raise ValueError(f"assert_gradients_match: order must be 1 or 2, got {order}")
    nodes = [as_node(x) for x in inputs]
    gradcheck(fn, nodes, eps=eps, atol=atol, rtol=rtol)
    if order == 2:
        gradgradcheck(fn, nodes, eps=eps, atol=atol, rtol=rtol)
