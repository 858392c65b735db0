"""Every primitive's derivative rule against float64 central differences, and by hand.

Each case names a rule of ``autograd.rules.RULES``, a function that uses it, and the
strategies its inputs are drawn from. Hypothesis draws hundreds of inputs per rule and
checks first and second derivatives (``gradcheck`` and ``gradgradcheck``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd import Value, grad, rules, testing, topological_order

Case = tuple[Callable[..., Any], list[st.SearchStrategy[float]]]

anywhere = testing.floats()
positive = testing.positive_floats()
off_zero = testing.floats_away_from([0.0], margin=0.5)
no_kink = testing.floats_away_from([0.0], margin=1e-3)

VALUE_CASES: dict[str, Case] = {
    "add": (lambda a, b: a + b, [anywhere, anywhere]),
    "add_constant": (lambda a: a + 2.5, [anywhere]),
    "add_n": (lambda a, b, c: Value.sum([a, b, c, 1.0]), [anywhere, anywhere, anywhere]),
    "weighted_sum": (
        lambda w1, w2, x1, x2, b: Value.linear([w1, w2], [x1, x2], b),
        [anywhere] * 5,
    ),
    "mul": (lambda a, b: a * b, [anywhere, anywhere]),
    "sub": (lambda a, b: a - b, [anywhere, anywhere]),
    "div": (lambda a, b: a / b, [anywhere, off_zero]),
    "mul_constant": (lambda a: -1.5 * a, [anywhere]),
    "neg": (lambda a: -a, [anywhere]),
    "pow_const": (lambda a: a**3 + a**2 + (a * a + 1.0) ** -1.5, [anywhere]),
    "pow": (lambda a, b: a**b, [testing.positive_floats(0.5, 3.0), testing.floats(-3, 3)]),
    "exp": (lambda a: a.exp(), [anywhere]),
    "log": (lambda a: a.log(), [positive]),
    "sqrt": (lambda a: a.sqrt(), [positive]),
    "tanh": (lambda a: a.tanh(), [anywhere]),
    "sigmoid": (lambda a: a.sigmoid(), [testing.floats(-20, 20)]),
    "relu": (lambda a: a.relu(), [no_kink]),
    "abs": (lambda a: abs(a), [no_kink]),
    "binary_cross_entropy": (
        lambda a: a.binary_cross_entropy(0.3) + (a * 2.0).binary_cross_entropy(1.0),
        [anywhere],
    ),
}

COMPOSITES: dict[str, Case] = {
    "rsub": (lambda a: 3.0 - a, [anywhere]),
    "rdiv": (lambda a: 2.0 / a, [off_zero]),
    "rpow": (lambda a: 2.0**a, [anywhere]),
    "tanh of a polynomial": (lambda a, b: (a * b + b**2).tanh(), [anywhere, anywhere]),
}


def _rules_used(fn: Callable[..., Any], arity: int) -> set[str]:
    inputs = [Value(0.7 + 0.1 * i) for i in range(arity)]
    return {node.op for node in topological_order([fn(*inputs)]) if node.op}


@pytest.mark.parametrize("name", sorted(VALUE_CASES))
def test_each_case_uses_its_rule(name: str) -> None:
    fn, strategies = VALUE_CASES[name]
    assert name in _rules_used(fn, len(strategies))


@pytest.mark.parametrize("name", sorted(VALUE_CASES) + sorted(COMPOSITES))
@given(data=st.data())
def test_derivatives_match_central_differences(name: str, data: st.DataObject) -> None:
    fn, strategies = {**VALUE_CASES, **COMPOSITES}[name]
    xs = [data.draw(strategy, label=f"x{i}") for i, strategy in enumerate(strategies)]
    testing.assert_gradients_match(fn, *xs, order=2)


# -- worked by hand ----------------------------------------------------------------------


def test_cube_derivatives_at_three() -> None:
    x = Value(3.0)
    (first,) = grad(x**3, [x], create_graph=True)
    (second,) = grad(first, [x], create_graph=True)
    (third,) = grad(second, [x])
    assert first.data == 27.0  # 3x² at 3
    assert second.data == 18.0  # 6x at 3
    assert third.data == 6.0


def test_tanh_neuron_by_hand() -> None:
    a, b = Value(2.0), Value(-3.0)
    c = (a * b + b**2).tanh()  # tanh(3)
    c.backward()
    slope = 1.0 - math.tanh(3.0) ** 2
    assert c.data == pytest.approx(math.tanh(3.0))
    assert a.grad == pytest.approx(slope * -3.0)  # dz/da = b
    assert b.grad == pytest.approx(slope * (2.0 + 2 * -3.0))  # dz/db = a + 2b


def test_micrograd_sanity_check() -> None:
    """micrograd's own test, whose numbers it checked against PyTorch."""
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    assert y.data == -20.0
    assert x.grad == 46.0


def test_mixed_second_partials() -> None:
    x, y = Value(1.5), Value(-2.0)
    f = x * y * y
    gx, gy = grad(f, [x, y], create_graph=True)
    (gxy,) = grad(gx, [y])
    (gyx,) = grad(gy, [x])
    assert gxy.data == pytest.approx(2 * -2.0)  # d²(x y²)/dx dy = 2y
    assert gyx.data == pytest.approx(gxy.data)


def test_relu_and_abs_take_the_zero_subgradient_at_zero() -> None:
    x = Value(0.0)
    x.relu().backward()
    assert x.grad == 0.0
    x.zero_grad()
    abs(x).backward()
    assert x.grad == 0.0


def test_a_rule_declares_what_it_reads_by_keyword_only() -> None:
    with pytest.raises(TypeError):
        rules.rule("a_new_op", "n", "inputs")  # type: ignore[misc]
    with pytest.raises(ValueError, match="rule 'a_new_op': reads must be"):
        rules.rule("a_new_op", reads="everything")(lambda ctx, g, out, a: (g,))
