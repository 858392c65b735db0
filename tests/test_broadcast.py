"""Summing a broadcast gradient back: checked against the adjoint identity, not the code.

Broadcasting x (shape s) to shape S is a linear map B; the gradient rule must be its
adjoint Bᵀ. So for every x of shape s and g of shape S, ⟨B x, g⟩ = ⟨x, Bᵀ g⟩, where
⟨·,·⟩ is the sum of elementwise products: numpy's broadcast_to is B, sum_to_shape is Bᵀ.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd.broadcast import sum_to_shape


@st.composite
def broadcast_pairs(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(s, S): S of up to 4 axes (sizes 0 to 3), s from S by dropping leading axes and
    setting some sizes to 1."""
    big = tuple(draw(st.lists(st.integers(0, 3), min_size=0, max_size=4)))
    dropped = draw(st.integers(0, len(big)))
    small = tuple(1 if draw(st.booleans()) else size for size in big[dropped:])
    return small, big


@given(broadcast_pairs(), st.integers(0, 2**32 - 1))
def test_sum_to_shape_is_the_adjoint_of_broadcasting(
    shapes: tuple[tuple[int, ...], tuple[int, ...]], seed: int
) -> None:
    small, big = shapes
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(small)
    g = rng.standard_normal(big)
    summed = sum_to_shape(g, small)
    assert summed.shape == small
    np.testing.assert_allclose(
        np.sum(np.broadcast_to(x, big) * g), np.sum(x * summed), rtol=1e-10, atol=1e-10
    )


def test_hand_worked_sums() -> None:
    g = np.arange(12.0).reshape(2, 3, 2)  # [[[0,1],[2,3],[4,5]], [[6,7],[8,9],[10,11]]]
    np.testing.assert_array_equal(sum_to_shape(g, (3, 1)), [[0 + 1 + 6 + 7], [22], [30]])
    np.testing.assert_array_equal(sum_to_shape(g, (2, 1, 2)), [[[6, 9]], [[24, 27]]])
    np.testing.assert_array_equal(sum_to_shape(g, ()), 66.0)
    assert sum_to_shape(np.zeros((4, 0)), (1, 1)).tolist() == [[0.0]]  # 1 stretched to 0
    # A stretched axis beside unstretched size-1 axes, in front of and behind it:
    np.testing.assert_array_equal(sum_to_shape(np.ones((1, 3)), (1, 1)), [[3.0]])
    np.testing.assert_array_equal(
        sum_to_shape(np.ones((3, 4, 1)), (3, 1, 1)), 4 * np.ones((3, 1, 1))
    )


@pytest.mark.parametrize(
    ("grad_shape", "shape"), [((2, 3), (3, 2)), ((3, 1), (3, 2)), ((4,), (2, 2))]
)
def test_a_gradient_that_is_not_a_broadcast_of_the_shape_is_refused(
    grad_shape: tuple[int, ...], shape: tuple[int, ...]
) -> None:
    # (2, 3) → (3, 2) and (4,) → (2, 2) have the right number of elements: a reshape would
    # fit them silently.
    with pytest.raises(
        ValueError, match=f"a gradient of shape {re.escape(str(grad_shape))} does not fit"
    ):
        sum_to_shape(np.ones(grad_shape), shape)
