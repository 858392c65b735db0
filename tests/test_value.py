"""Value: forward results, numbers on either side, errors, and what users see."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograd import Value


def test_arithmetic_with_numbers_on_either_side() -> None:
    x = Value(3.0)
    assert (x + 2).data == 5.0
    assert (2 + x).data == 5.0
    assert (x - 2).data == 1.0
    assert (2 - x).data == -1.0
    assert (x * 2).data == 6.0
    assert (2 * x).data == 6.0
    assert (x / 2).data == 1.5
    assert (6 / x).data == 2.0
    assert (x**2).data == 9.0
    assert (2**x).data == 8.0
    assert (-x).data == -3.0
    assert (x ** Value(2.0)).data == 9.0


def test_numpy_scalars_count_as_numbers() -> None:
    x = Value(np.float32(2.0))
    assert isinstance(x.data, float)
    assert (x * np.float32(3.0)).data == 6.0
    assert (x + np.int64(1)).data == 3.0


def test_functions() -> None:
    x = Value(0.5)
    assert x.exp().data == pytest.approx(math.exp(0.5))
    assert x.log().data == pytest.approx(math.log(0.5))
    assert x.sqrt().data == pytest.approx(math.sqrt(0.5))
    assert x.tanh().data == pytest.approx(math.tanh(0.5))
    assert x.sigmoid().data == pytest.approx(1 / (1 + math.exp(-0.5)))
    assert Value(-2.0).relu().data == 0.0
    assert Value(2.0).relu().data == 2.0
    assert abs(Value(-2.0)).data == 2.0
    assert Value.sum([Value(1.0), 2.0, Value(3.0)]).data == 6.0


def test_sigmoid_is_stable_for_large_inputs() -> None:
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0


def test_exp_overflow_gives_inf_like_numpy() -> None:
    assert Value(1000.0).exp().data == math.inf


def test_linear_equals_the_sum_of_products() -> None:
    w = [Value(0.5), Value(-2.0)]
    x = [Value(3.0), 4.0]
    z = Value.linear(w, x, Value(1.0))
    assert z.data == pytest.approx(0.5 * 3.0 - 2.0 * 4.0 + 1.0)
    assert len(z.parents) == 5


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Value(-1.0).log(), "log: the argument must be positive"),
        (lambda: Value(-1.0).sqrt(), "sqrt: the argument must not be negative"),
        (lambda: Value(-8.0) ** (1 / 3), "pow: a negative base"),
        (lambda: Value(0.0) ** -1, "pow: 0.0 to a negative power"),
        (lambda: Value(1.0) / 0, "div: 1.0 divided by zero"),
        (lambda: Value.linear([Value(1.0)], [1.0, 2.0]), "linear: 1 weight and 2 inputs"),
    ],
)
def test_bad_input_names_the_op(make: object, message: str) -> None:
    with pytest.raises((ValueError, ZeroDivisionError), match=message):
        make()  # type: ignore[operator]


def test_non_numbers_are_refused() -> None:
    with pytest.raises(TypeError, match="expected a real number, got str"):
        Value("2")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Value(1.0) + "a"  # type: ignore[operator]


def test_comparisons_compare_data() -> None:
    assert Value(1.0) < Value(2.0)
    assert Value(2.0) > 1
    assert Value(2.0) >= 2.0
    assert Value(2.0) <= Value(2.0)


def test_values_hash_by_identity() -> None:
    a, b = Value(1.0), Value(1.0)
    assert len({a, b}) == 2


def test_repr_shows_data_grad_and_label() -> None:
    assert repr(Value(2.0, label="a")) == "Value(data=2.0, grad=0.0, label='a')"
    assert repr(Value(1 / 3)) == "Value(data=0.3333333333333333, grad=0.0)"  # full precision
    assert Value(2.5).item() == 2.5
    assert Value(2.5).item() == 2.5


def test_op_and_parents_are_recorded_in_argument_order() -> None:
    a, b = Value(1.0), Value(2.0)
    c = a * b
    assert c.op == "mul"
    assert c.parents == (a, b)
    assert a.op == "" and a.is_leaf
    d = a * 2.0
    assert d.op == "mul_constant" and d.parents == (a,)


def test_a_label_must_be_a_string() -> None:
    v = Value(1.0, label="v")
    with pytest.raises(TypeError, match="label: expected a string, got int"):
        v.label = 3  # type: ignore[assignment]
    assert v.label == "v" and Value(2.0).label == ""


def test_linear_of_three_inputs_by_hand() -> None:
    w = [Value(1.0), Value(2.0), Value(3.0)]
    x = [Value(4.0), Value(5.0), Value(6.0)]
    b = Value(0.5)
    out = Value.linear(w, x, b)
    assert out.data == 32.5  # 4 + 10 + 18 + 0.5
    out.backward()
    assert [v.grad for v in w] == [4.0, 5.0, 6.0]
    assert [v.grad for v in x] == [1.0, 2.0, 3.0]
    assert b.grad == 1.0


def test_a_negative_base_to_a_value_power_has_a_nan_exponent_gradient() -> None:
    # d(a^b)/db = a^b·ln a, and ln of a negative number is nan (as in PyTorch), not an error.
    a, b = Value(-2.0), Value(2.0)
    (a**b).backward()
    assert a.grad == -4.0  # b·a^(b−1)
    assert math.isnan(b.grad)


@pytest.mark.parametrize("a", [0.5, -0.5, 2.0])
def test_a_value_power_of_a_value_by_hand(a: float) -> None:
    # d(a^b)/da = b·a^(b−1); d(a^b)/db = a^b·ln a, nan for a negative base
    x, y = Value(a), Value(2.0)
    (x**y).backward()
    assert x.grad == pytest.approx(2.0 * a)
    if a > 0:
        assert y.grad == pytest.approx(a**2 * math.log(a))
    else:
        assert math.isnan(y.grad)


def test_sum_of_values_records_a_constant_only_when_there_is_one() -> None:
    a, b = Value(1.0), Value(2.0)
    assert Value.sum([]).data == 0.0
    total = Value.sum([a, b])
    assert total.data == 3.0 and set(total.parents) == {a, b}
    shifted = Value.sum([a, 4.0])
    assert shifted.data == 5.0 and len(shifted.parents) == 2


def test_a_power_that_overflows_keeps_its_sign() -> None:
    assert (Value(-1e200) ** 3).data == -math.inf  # odd power of a negative base
    assert (Value(-1e200) ** 2).data == math.inf
    assert (Value(1e200) ** 3).data == math.inf
    assert (Value(-1e200) ** 3.0).data == -math.inf  # an integer given as a float
    assert (Value(0.5) ** -2001).data == math.inf  # a small positive base: never negative
    with pytest.raises(ValueError, match=r"a negative base .* to a non-integer power"):
        Value(-1e200) ** 2.5


def test_edges_of_value_ops() -> None:
    a = Value(1.0)
    assert Value.sum([a, -4.0]).data == -3.0  # a negative constant is kept too
    assert (Value(0.0) ** 2.5).data == 0.0  # zero is not a negative base
    assert Value(0.0).sqrt().data == 0.0
    with pytest.raises(ValueError, match=r"log: the argument must be positive, got 0\.0"):
        Value(0.0).log()
    assert not Value(1.0) > 2.0 and Value(3.0) > 2.0 and not Value(2.0) > 2.0


def test_linear_needs_as_many_inputs_as_weights() -> None:
    for weights, inputs in [([Value(1.0), Value(2.0)], [Value(1.0)]), ([Value(1.0)], [1.0, 2.0])]:
        with pytest.raises(ValueError, match="they must match"):
            Value.linear(weights, inputs)


def test_constants_need_no_grad_and_value_defaults() -> None:
    assert not (Value(2.0, requires_grad=False) * 3.0).requires_grad
    w, x = Value(2.0), Value(5.0)
    assert Value.linear([w], [x]).data == 10.0  # no bias given: none added
    assert Value(1.0).shape == () and not Value(3.0) < 2.0 and Value(1.0) < 2.0


def test_interior_values_keep_their_gradient_as_in_micrograd() -> None:
    x = Value(2.0)
    y = x * 2.0
    z = y * 3.0
    z.backward()
    assert (y.grad, x.grad) == (3.0, 6.0)


def test_comparisons_at_equality_and_overflow_of_a_small_negative_base() -> None:
    assert not Value(2.0) < 2.0 and Value(2.0) <= 2.0 and Value(1.0) <= 2.0
    assert Value(3.0) >= 2.0 and Value(2.0) >= 2.0 and not Value(1.0) >= 2.0
    assert (Value(-0.5) ** -2001).data == -math.inf


def test_division_by_a_negative_number_and_fractional_powers_of_negative_bases() -> None:
    assert (Value(1.0) / -2.0).data == -0.5
    with pytest.raises(ValueError, match="a negative base"):
        Value(-0.5) ** 0.5
    w, x = Value(2.0), Value(3.0)
    assert Value(1.0).linear([w], [x]).data == 6.0  # static: callable on a Value too


def test_constant_nodes_need_no_grad_and_sum_is_static() -> None:
    frozen = Value(1.0, requires_grad=False)
    assert not Value.sum([frozen, 4.0]).requires_grad  # 4.0 becomes a constant node
    assert Value(1.0).sum([Value(2.0), 3.0]).data == 5.0  # callable on a Value too
    with pytest.raises(TypeError):
        (Value(2.0) * 3.0).backward(None, True)  # type: ignore[misc]
