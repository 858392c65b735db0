"""An op of one's own: a forward, a rule declared with ``autograd.rule``, and ``record_op``.

An op added so is checked as the library's are: first and second derivatives against
central differences (``gradcheck``, ``gradgradcheck``, and hypothesis through
``autograd.testing``), ``create_graph=True``, ``autograd.compile`` (its forward and its
rule traced, bit for bit the eager numbers), the check for data changed before the
backward, and ``_backward()`` by hand. Then micrograd's way, ``Value(data, _children,
_op)`` with a ``_backward`` closure: what it serves, and what it refuses by name.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import (
    DataChangedError,
    Rule,
    Tensor,
    TracingError,
    Value,
    grad,
    gradcheck,
    gradgradcheck,
    no_grad,
    record_op,
    rule,
    testing,
)
from autograd.rules import RULES

# -- three ops of one's own, as the docs teach them ---------------------------------------


@rule("cube", "³", reads="inputs")
def cube_rule(ctx: None, g: Any, out: Any, x: Any) -> tuple[Any]:
    """d(x³)/dx = 3x²."""
    return (g * 3.0 * x * x,)


def cube(x: Any) -> Any:
    return record_op(cube_rule, x.data**3, x)


@rule("times_square", "a·b²", reads="inputs")
def times_square_rule(ctx: None, g: Any, out: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """d(a·b²)/da = b², d(a·b²)/db = 2ab."""
    return g * b * b, g * 2.0 * a * b


def times_square(a: Any, b: Any) -> Any:
    return record_op(times_square_rule, a.data * b.data**2, a, b)


@rule("soft_abs", "√(x² + {})", reads="both")
def soft_abs_rule(eps: float, g: Any, out: Any, x: Any) -> tuple[Any]:
    """out = √(x² + ε), a smooth |x|: d/dx = x / out (ε, a constant, is the ctx)."""
    return (g * x / out,)


def soft_abs(x: Any, eps: float = 0.1) -> Any:
    return record_op(soft_abs_rule, (x.data**2 + eps) ** 0.5, x, ctx=eps)


# -- the numbers, the first and the second derivatives ---------------------------------------


def test_an_own_op_is_a_node_of_the_graph() -> None:
    x = Value(2.0, label="x")
    y = cube(x)
    assert isinstance(y, Value) and y.data == 8.0 and type(y.data) is float
    assert y.parents == (x,) and y.op == "cube" and y._op == "³"
    y.backward()
    assert x.grad == 12.0
    assert 'label="³"' in autograd.draw_graph(y).source
    s = soft_abs(Value(-1.0))
    assert s._op == "√(x² + 0.1)" and 'label="√(x² + 0.1)"' in autograd.draw_graph(s).source


def test_the_same_rule_serves_tensors() -> None:
    t = Tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True, dtype=np.float64)
    y = cube(t)
    assert isinstance(y, Tensor) and y.dtype == np.float64
    assert y.numpy().tolist() == [1.0, -8.0, 0.125]
    y.sum().backward()
    assert t.grad.tolist() == [3.0, 12.0, 0.75]


@pytest.mark.parametrize(
    ("fn", "inputs"),
    [
        (cube, [Value(0.7)]),
        (times_square, [Value(0.7), Value(-1.3)]),
        (soft_abs, [Value(-0.4)]),
        (lambda a, b: times_square(cube(a), b).tanh(), [Value(0.6), Value(0.9)]),
    ],
)
def test_gradcheck_and_gradgradcheck_of_values(fn: Any, inputs: list[Value]) -> None:
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_gradcheck_and_gradgradcheck_of_tensors_that_broadcast() -> None:
    rng = np.random.default_rng(0)
    a = Tensor(rng.normal(size=(2, 3)), requires_grad=True, dtype=np.float64)
    b = Tensor(rng.normal(size=(3,)), requires_grad=True, dtype=np.float64)
    assert gradcheck(times_square, [a, b]) and gradgradcheck(times_square, [a, b])
    assert gradcheck(soft_abs, [a]) and gradgradcheck(soft_abs, [a])


@given(testing.floats(), testing.floats())
def test_hypothesis_values(x: float, y: float) -> None:
    testing.assert_gradients_match(lambda a, b: times_square(cube(a), b) + soft_abs(b), x, y)


@settings(max_examples=50)
@given(
    testing.broadcastable_shapes(2).flatmap(
        lambda shapes: st.tuples(*(testing.arrays(shape) for shape in shapes))
    )
)
def test_hypothesis_tensors(arrays: tuple[np.ndarray, ...]) -> None:
    testing.assert_gradients_match(lambda a, b: times_square(cube(a), soft_abs(b)), *arrays)


def test_second_derivatives_with_create_graph() -> None:
    x = Value(1.5)
    (first,) = grad(cube(x), x, create_graph=True)
    assert isinstance(first, Value) and first.data == pytest.approx(3 * 1.5**2)
    (second,) = grad(first, x)
    assert second.data == pytest.approx(6 * 1.5)
    x.zero_grad()
    cube(x).backward(create_graph=True)
    assert isinstance(x.grad, Value)
    x.grad.backward()  # d/dx (3x²) = 6x, added to the 3x² node's leaf
    t = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    (first_t,) = grad(cube(t).sum(), t, create_graph=True)
    (second_t,) = grad(first_t.sum(), t)
    assert second_t.numpy().tolist() == [6.0, 12.0]


# -- compiled -------------------------------------------------------------------------------


def test_an_own_op_compiles_to_the_eager_numbers_bit_for_bit() -> None:
    w = Value(0.4, label="w")

    def step(x: Value, y: Value) -> Value:
        return (times_square(cube(w * x), y) - soft_abs(y)) ** 2

    compiled = autograd.compile(step)
    for k in range(4):  # new data each call, and a weight that moves
        x, y = Value(0.3 + k), Value(-0.2 * k)
        w.zero_grad()
        eager = step(x, y)
        eager.backward()
        expected = (eager.data, w.grad, x.grad, y.grad)
        w.zero_grad()
        x.zero_grad()
        y.zero_grad()
        out = compiled(x, y)
        out.backward()
        assert (out.data, w.grad, x.grad, y.grad) == expected, k
        with no_grad():
            w -= 0.1 * w.grad
    assert "# cube" in compiled.source and "backward of cube" in compiled.source


def test_an_own_op_on_tensors_compiles() -> None:
    weight = Tensor(np.array([[0.5, -1.0], [2.0, 0.25]]), requires_grad=True, dtype=np.float64)

    def loss(x: np.ndarray) -> Tensor:
        return soft_abs(times_square(Tensor(x, dtype=np.float64) @ weight, weight[0])).sum()

    compiled = autograd.compile(loss)
    for k in range(3):
        x = np.arange(4.0).reshape(2, 2) - k
        weight.zero_grad()
        eager = loss(x)
        eager.backward()
        expected = weight.grad.copy()
        weight.zero_grad()
        out = compiled(x)
        out.backward()
        assert out.item() == eager.item() and np.array_equal(weight.grad, expected)


@rule("sine", "sin", reads="inputs")
def sine_rule(ctx: None, g: Any, out: Any, x: Any) -> tuple[Any]:
    """d(sin x)/dx = cos x, with math's cos: numbers only, so it is not traced but called."""
    return (g * math.cos(x),)


def test_a_rule_that_cannot_be_traced_is_called_by_the_compiled_step() -> None:
    def sine(x: Value) -> Value:
        return record_op(sine_rule, np.sin(x.data), x)

    compiled = autograd.compile(lambda x: sine(x * x))
    for start in (0.3, 1.1):
        x = Value(start)
        compiled(x).backward()
        assert x.grad == pytest.approx(math.cos(start**2) * 2 * start, rel=1e-15)
    assert "_sine_rule(" in compiled.source


# -- what the engine promises of any op --------------------------------------------------------


def test_changed_input_data_before_the_backward_is_an_error() -> None:
    x = Value(2.0)
    y = cube(x)
    x.data = 3.0
    with pytest.raises(DataChangedError, match="'cube'"):
        y.backward()


def test_backward_underscore_applies_the_own_rule_once() -> None:
    x = Value(2.0)
    y = cube(x)
    y.grad = 1.0
    y._backward()
    assert x.grad == 12.0


def test_no_graph_under_no_grad_or_from_constants() -> None:
    with no_grad():
        y = cube(Value(2.0))
    assert y.is_leaf and not y.requires_grad and y.data == 8.0
    assert cube(Value(2.0, requires_grad=False)).is_leaf


def test_an_own_rule_joins_no_table_of_the_library() -> None:
    assert "cube" not in RULES and isinstance(cube_rule, Rule)
    again = rule("cube")(cube_rule.backward)  # a second op may take the same name
    assert again is not cube_rule and again.name == "cube"


def test_mistakes_are_named() -> None:
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"declared with @autograd\.rule"):
        record_op(cube_rule.backward, 1.0, x)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"record_op\('cube'\): no inputs"):
        record_op(cube_rule, 1.0)
    with pytest.raises(TypeError, match="input 1 is float"):
        record_op(times_square_rule, 1.0, x, 2.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="input 1 is Tensor"):
        record_op(times_square_rule, 1.0, x, Tensor([1.0]))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="data is a Value"):
        record_op(cube_rule, x * x * x, x)
    with pytest.raises(TypeError, match="floating-point, got int64"):
        record_op(cube_rule, np.array([1, 2]), Tensor([1.0, 2.0], requires_grad=True))
    with pytest.raises(TypeError, match="expected a real number"):
        record_op(cube_rule, "8", x)
    with pytest.raises(ValueError, match="rule 'x': reads must be"):
        rule("x", reads="input")
    with pytest.raises(TypeError, match="non-empty string"):
        rule("")
    with pytest.raises(TypeError, match="expected a function"):
        rule("x")(3)  # type: ignore[arg-type]
    wrong = rule("wrong")(lambda ctx, g, out, x: (g, g))  # two gradients for one input
    with pytest.raises(RuntimeError, match="'wrong' returned 2 gradients for 1 input"):
        record_op(wrong, 1.0, x).backward()


def test_a_tensors_data_is_copied_into_the_node() -> None:
    t = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    forward = t.data**3
    y = record_op(cube_rule, forward, t)
    forward[0] = 100.0  # the caller's array, changed: not the node's
    assert y.numpy().tolist() == [1.0, 8.0]


# -- micrograd's way: Value(data, _children, _op) and a _backward closure -----------------------


def micrograd_cube(self: Value) -> Value:
    """The lecture's way of adding an op to Value, written for ``cube``."""
    out = Value(self.data**3, (self,), "cube")

    def _backward() -> None:
        self.grad += 3 * self.data**2 * out.grad

    out._backward = _backward
    return out


def micrograd_mul(self: Value, other: Value) -> Value:
    out = Value(self.data * other.data, (self, other), "*")

    def _backward() -> None:
        self.grad += other.data * out.grad
        other.grad += self.data * out.grad

    out._backward = _backward
    return out


def test_a_closure_op_is_run_by_backward_and_by_hand() -> None:
    x = Value(2.0, label="x")
    y = micrograd_cube(x)
    assert y.data == 8.0 and y._op == "cube" and y._prev == {x} and y.parents == (x,)
    z = y * x  # a library op after it
    z.backward()
    assert x.grad == 3 * 4.0 * 2.0 + 8.0  # through cube, and directly
    x.zero_grad()
    y.grad = 1.0
    y._backward()  # the closure itself, as micrograd calls it
    assert x.grad == 12.0
    assert "n1_rule [label=cube" in autograd.draw_graph(z).source


def test_a_closure_op_with_an_input_used_twice() -> None:
    a = Value(3.0)
    micrograd_mul(a, a).backward()  # micrograd keeps a set of children: one parent
    assert a.grad == 6.0
    b = Value(-2.0)
    out = micrograd_mul(micrograd_cube(a), micrograd_mul(a, b))  # a used in two ops
    a.zero_grad()
    out.backward()
    assert a.grad == pytest.approx(3 * 9.0 * (3.0 * -2.0) + 27.0 * -2.0)
    assert b.grad == 27.0 * 3.0


def test_grad_through_a_closure_op_stores_nothing() -> None:
    x = Value(2.0)
    y = micrograd_cube(x)
    (g,) = grad(y * 2.0, x)
    assert g.data == 24.0 and x.grad == 0.0 and y.grad == 0.0


@given(testing.floats(-2.0, 2.0), testing.floats())
def test_a_closure_op_passes_gradcheck(x: float, y: float) -> None:
    testing.assert_gradients_match(
        lambda a, b: micrograd_mul(micrograd_cube(a), b).tanh(), x, y, order=1
    )


def test_what_a_closure_cannot_serve_is_refused_by_name() -> None:
    x = Value(0.5)
    with pytest.raises(RuntimeError, match=r"create_graph: the op 'cube'.*Your own op"):
        gradgradcheck(micrograd_cube, [x])
    compiled = autograd.compile(lambda v: micrograd_cube(v) * 2.0)
    with pytest.raises(TracingError, match=r"compile: the op 'cube'.*Your own op"):
        compiled(x)
    unassigned = Value(1.0, (x,), "half_done")
    with pytest.raises(RuntimeError, match=r"'half_done'.*has no _backward"):
        (unassigned + x).backward()
    with pytest.raises(RuntimeError, match="has no _backward"):
        unassigned._backward()
    leaf = Value(x.data**3)  # the inputs left out: backward() would never reach a closure
    with pytest.raises(TypeError, match=r"is a leaf.*Value\(data, \(self, other\), 'op'\)"):
        leaf._backward = lambda: None
    with pytest.raises(TypeError, match="made by the op 'tanh'"):
        x.tanh()._backward = lambda: None
    with pytest.raises(TypeError, match="a function of no arguments"):
        unassigned._backward = 3.0  # type: ignore[assignment]
    with pytest.raises(TypeError, match="child 1 is float"):
        Value(1.0, (x, 2.0), "+")


def test_a_closure_that_uses_an_input_left_out_of_the_children_is_refused() -> None:
    a, b = Value(2.0), Value(3.0)
    out = Value(a.data * b.data, (a,), "*")  # b forgotten: it would get no gradient

    def _backward() -> None:
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad

    with pytest.raises(TypeError, match=r"uses 'b', which is not among the op's _children"):
        out._backward = _backward
    constant = Value(3.0, requires_grad=False)  # a constant needs no gradient: allowed
    scaled = Value(a.data * constant.data, (a,), "scale")

    def scale_back() -> None:
        a.grad += constant.data * scaled.grad

    scaled._backward = scale_back
    scaled.backward()
    assert a.grad == 3.0


def test_a_closure_that_sets_a_non_number_is_named() -> None:
    x = Value(1.0)
    out = Value(2.0, (x,), "odd")

    def _backward() -> None:
        x.grad = "a lot"  # type: ignore[assignment]

    out._backward = _backward
    with pytest.raises(TypeError, match=r"'odd' left input 0's \.grad as str"):
        out.backward()
    assert x.grad == 0.0  # restored


def test_changed_data_under_a_closure_op_is_an_error() -> None:
    x = Value(2.0)
    y = micrograd_cube(x)
    x.data = 1.0
    with pytest.raises(DataChangedError, match="'cube'"):
        y.backward()


def test_a_closure_op_under_no_grad_is_a_constant() -> None:
    x = Value(2.0)
    with no_grad():
        y = micrograd_cube(x)  # its _backward is assigned, and has nothing to do
    assert not y.requires_grad and y.is_leaf and y.data == 8.0


@pytest.mark.parametrize(
    "make",
    [
        lambda a, b: Value(6.0, (a, b), "*"),
        lambda a, b: Value(6.0, (a, b), "*", "p"),
        lambda a, b: Value(6.0, (a, b), "*", label="p"),
        lambda a, b: Value(6.0, [a, b], _op="*", label="p"),
        lambda a, b: Value(6.0, _children=(a, b), _op="*", label="p"),
        lambda a, b: Value(6.0, _children={a, b}, _op="*"),
    ],
)
def test_micrographs_constructor_in_each_of_its_forms(make: Any) -> None:
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    out = make(a, b)
    assert out.data == 6.0 and out._op == "*" and out._prev == {a, b}
    assert out.label in ("", "p")


def test_the_constructors_forms_that_make_no_sense_are_refused() -> None:
    a = Value(1.0)
    with pytest.raises(TypeError, match="label given twice"):
        Value(1.0, (a,), "op", "x", label="y")
    with pytest.raises(TypeError, match="_op given twice"):
        Value(1.0, (a,), "op", _op="other")
    with pytest.raises(TypeError, match="takes 4 arguments"):
        Value(1.0, (a,), "op", "x", "y")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="_op= goes with _children="):
        Value(1.0, _op="op")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="_op must be a string"):
        Value(1.0, (a,), 3)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="label given twice"):
        Value(1.0, True, "x", label="y")  # type: ignore[call-overload]
    assert Value(1.0, True, "x").label == "x" and Value(1.0, False).requires_grad is False
    assert Value(1.0, (), "").is_leaf  # micrograd's leaf, children and all
