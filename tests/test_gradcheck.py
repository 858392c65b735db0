"""gradcheck and gradgradcheck catch wrong rules and say where."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from autograd import GradcheckError, Value, gradcheck, gradgradcheck, rules


@pytest.fixture
def broken_tanh() -> Iterator[None]:
    """Swap tanh's rule for one that forgets the square: 1 − out instead of 1 − out²."""
    rule = rules.RULES["tanh"]
    original = rule.backward

    def wrong(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
        return (g * (1.0 - out),)

    rule.backward = wrong
    yield
    rule.backward = original


def test_gradcheck_passes_a_correct_function() -> None:
    assert gradcheck(lambda a, b: (a * b).tanh() + a / b, [Value(0.3), Value(1.7)]) is True


def test_gradcheck_catches_a_wrong_rule_and_names_the_input(broken_tanh: None) -> None:
    with pytest.raises(GradcheckError, match=r"d\(output 0\)/d\(input 1\) disagrees: analytic"):
        gradcheck(lambda a, b: a + b.tanh(), [Value(0.3), Value(1.7)])


def test_gradgradcheck_passes_second_derivatives() -> None:
    assert gradgradcheck(lambda a, b: (a * b).sigmoid() * a.exp(), [Value(0.3), Value(-1.1)])


def test_gradgradcheck_catches_a_rule_that_is_not_differentiable_itself() -> None:
    """A rule that computes its gradient from raw floats breaks second derivatives."""
    rule = rules.RULES["exp"]
    original = rule.backward

    def constant_slope(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
        slope = out.data if isinstance(out, Value) else out  # a constant: no graph
        return (g * slope,)

    rule.backward = constant_slope
    try:
        assert gradcheck(lambda a: a.exp(), [Value(0.5)])  # first derivatives still right
        with pytest.raises(GradcheckError, match=r"^gradgradcheck: the second derivative d\("):
            gradgradcheck(lambda a: a.exp(), [Value(0.5)])
    finally:
        rule.backward = original


def test_gradgradcheck_catches_a_rule_that_is_wrong_only_when_recorded() -> None:
    """A rule whose recorded branch (create_graph=True) halves the gradient is consistent
    with its own derivative, so differentiating it again cannot tell: gradgradcheck also
    compares the recorded first derivatives with central differences."""
    rule = rules.RULES["exp"]
    original = rule.backward

    def halved_when_recorded(ctx: None, g: Any, out: Any, a: Any) -> tuple[Any]:
        return (g * out * 0.5,) if isinstance(out, Value) else (g * out,)

    rule.backward = halved_when_recorded
    try:
        assert gradcheck(lambda a: a.exp() * 3.0, [Value(0.5)])  # the plain branch is right
        with pytest.raises(
            GradcheckError,
            match=r"^gradgradcheck: the first derivative recorded with create_graph=True, "
            r"d\(Σ v·y\)/d\(input 0\), disagrees: recorded",
        ):
            gradgradcheck(lambda a: a.exp() * 3.0, [Value(0.5)])
    finally:
        rule.backward = original


def test_gradcheck_handles_several_outputs() -> None:
    assert gradcheck(lambda a, b: (a * b, a + b, a.exp()), [Value(0.3), Value(1.7)])


def test_gradgradcheck_of_a_linear_function_is_zero() -> None:
    assert gradgradcheck(lambda a, b: 3.0 * a - b, [Value(0.3), Value(1.7)])


def test_gradcheck_input_errors() -> None:
    with pytest.raises(ValueError, match="input 0 does not require grad"):
        gradcheck(lambda a: a * 2.0, [Value(1.0, requires_grad=False)])
    with pytest.raises(TypeError, match="input 0 is float"):
        gradcheck(lambda a: a * 2.0, [1.0])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="output 0 is float"):
        gradcheck(lambda a: 2.0, [Value(1.0)])
