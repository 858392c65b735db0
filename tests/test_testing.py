"""autograd.testing as a user would use it: three lines per property-based gradient test."""

from __future__ import annotations

import math

import pytest
from hypothesis import given

from autograd import GradcheckError, Value, testing


@given(testing.floats(), testing.positive_floats())
def test_a_users_function(x: float, y: float) -> None:
    testing.assert_gradients_match(lambda a, b: (a * b.log()).tanh() + b.sqrt() * a, x, y)


@given(testing.floats_away_from([0.0, 1.0], margin=0.01))
def test_floats_away_from_keeps_its_distance(x: float) -> None:
    assert abs(x) >= 0.01 and abs(x - 1.0) >= 0.01


@given(testing.values(testing.positive_floats()))
def test_values_are_leaves_in_the_domain(v: Value) -> None:
    assert v.requires_grad and v.is_leaf and v.data > 0 and math.isfinite(v.data)


def test_the_helper_fails_on_a_function_that_hides_its_dependence() -> None:
    def sneaky(a: Value) -> Value:
        return a * a.data  # a.data is treated as a constant: the derivative is half of 2a

    with pytest.raises(GradcheckError):
        testing.assert_gradients_match(sneaky, 1.5, order=1)


def test_strategy_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        testing.floats(1.0, 0.0)
    with pytest.raises(ValueError):
        testing.positive_floats(0.0)
    with pytest.raises(ValueError):
        testing.assert_gradients_match(lambda a: a, 1.0, order=3)
