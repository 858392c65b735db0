"""Every tensor op's derivative against float64 central differences, over drawn shapes.

Each case draws the shapes it needs (mutually broadcastable ones for elementwise ops,
aligned ones for matmul) and the arrays, and returns the function to check. Smooth ops
are checked to second order (``gradgradcheck``), piecewise-linear ones to first order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_rules import VALUE_CASES

from autograd import (
    Tensor,
    concatenate,
    cross_entropy,
    grad,
    linear,
    maximum,
    minimum,
    stack,
    testing,
    topological_order,
    where,
)
from autograd.rules import RULES

Drawn = tuple[Callable[..., Any], list[np.ndarray]]

anywhere = testing.floats(-3.0, 3.0)
positive = testing.positive_floats(0.2, 3.0)
away = testing.floats_away_from([0.0], margin=1e-2, min_value=-3.0, max_value=3.0)
off_zero = testing.floats_away_from([0.0], margin=0.5, min_value=-3.0, max_value=3.0)


def _distinct(array: np.ndarray) -> bool:
    """No two elements within 1e-3 of each other: max/min/maximum/clip are smooth there."""
    flat = np.sort(array.reshape(-1))
    return bool(np.all(np.diff(flat) > 1e-3))


def _pair(
    data: st.DataObject,
    elements: st.SearchStrategy[float] = anywhere,
    second_elements: st.SearchStrategy[float] | None = None,
) -> list[np.ndarray]:
    first, second = data.draw(testing.broadcastable_shapes(2), label="shapes")
    return [
        data.draw(testing.arrays(first, elements), label="a"),
        data.draw(
            testing.arrays(second, elements if second_elements is None else second_elements),
            label="b",
        ),
    ]


def _one(
    data: st.DataObject, elements: st.SearchStrategy[float] = anywhere, min_dims: int = 0
) -> np.ndarray:
    return data.draw(testing.arrays(testing.shapes(min_dims=min_dims), elements), label="a")


def _axis(data: st.DataObject, ndim: int) -> int | tuple[int, ...] | None:
    if ndim == 0:
        return None
    return data.draw(
        st.one_of(
            st.none(),
            st.integers(-ndim, ndim - 1),
            st.lists(st.integers(0, ndim - 1), unique=True, min_size=1).map(tuple),
        ),
        label="axis",
    )


def _case_pow(data: st.DataObject) -> Drawn:
    return (lambda a, b: a**b), _pair(data, positive, anywhere)


def _case_matmul(data: st.DataObject) -> Drawn:
    n, k, m = (data.draw(st.integers(1, 3), label=name) for name in "nkm")
    batch = data.draw(testing.broadcastable_shapes(2, max_dims=2, max_side=2), label="batch")
    left_vector, right_vector = data.draw(st.booleans()), data.draw(st.booleans())
    a_shape = (k,) if left_vector else (*batch[0], n, k)
    b_shape = (k,) if right_vector else (*batch[1], k, m)
    return (lambda a, b: a @ b), [
        data.draw(testing.arrays(a_shape, anywhere)),
        data.draw(testing.arrays(b_shape, anywhere)),
    ]


def _case_linear(data: st.DataObject) -> Drawn:
    n, k, m = (data.draw(st.integers(1, 3), label=name) for name in "nkm")
    batch = data.draw(st.lists(st.integers(1, 2), max_size=2), label="batch")  # x: (..., n, k)
    x = data.draw(testing.arrays((*batch, n, k), anywhere))
    w = data.draw(testing.arrays((m, k), anywhere))
    b = data.draw(testing.arrays((m,), anywhere))
    return (lambda x, w, b: linear(x, w, b)), [x, w, b]


def _case_reduction(method: str) -> Callable[[st.DataObject], Drawn]:
    def draw(data: st.DataObject) -> Drawn:
        elements = anywhere
        array = data.draw(testing.arrays(testing.shapes(), elements).filter(_distinct), label="a")
        axis = _axis(data, array.ndim)
        keepdims = data.draw(st.booleans(), label="keepdims")
        return (lambda a: getattr(a, method)(axis=axis, keepdims=keepdims)), [array]

    return draw


def _case_softmax_family(method: str) -> Callable[[st.DataObject], Drawn]:
    def draw(data: st.DataObject) -> Drawn:
        array = _one(data, min_dims=1)
        axis = data.draw(st.integers(-array.ndim, array.ndim - 1), label="axis")
        return (lambda a: getattr(a, method)(axis=axis)), [array]

    return draw


def _case_getitem(data: st.DataObject) -> Drawn:
    array = _one(data, min_dims=1)
    rows = array.shape[0]
    index = data.draw(
        st.one_of(
            st.integers(-rows, rows - 1),
            st.slices(rows),
            st.lists(st.integers(0, rows - 1), min_size=1, max_size=5).map(np.array),
            testing.arrays((rows,), st.booleans(), dtype=bool),
        ),
        label="index",
    )
    return (lambda a: a[index]), [array]


def _case_cross_entropy(data: st.DataObject) -> Drawn:
    n, classes = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    labels = np.array(data.draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)))
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    logits = data.draw(testing.arrays((n, classes), anywhere))
    return (lambda z: cross_entropy(z, labels, reduction)), [logits]


def _case_concatenate(data: st.DataObject) -> Drawn:
    shape = data.draw(testing.shapes(min_dims=1), label="shape")
    axis = data.draw(st.integers(0, len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    arrays = [
        data.draw(testing.arrays((*shape[:axis], size, *shape[axis + 1 :]), anywhere))
        for size in sizes
    ]
    return (lambda *ts: concatenate(ts, axis=axis)), arrays


def _case_stack(data: st.DataObject) -> Drawn:
    shape = data.draw(testing.shapes(), label="shape")
    count = data.draw(st.integers(1, 3))
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    return (lambda *ts: stack(ts, axis=axis)), [
        data.draw(testing.arrays(shape, anywhere)) for _ in range(count)
    ]


def _case_where(data: st.DataObject) -> Drawn:
    first, second, mask_shape = data.draw(testing.broadcastable_shapes(3))
    mask = data.draw(testing.arrays(mask_shape, st.booleans(), dtype=bool))
    a, b = data.draw(testing.arrays(first, anywhere)), data.draw(testing.arrays(second, anywhere))
    return (lambda a, b: where(mask, a, b)), [a, b]


def _case_transpose(data: st.DataObject) -> Drawn:
    array = _one(data)
    axes = data.draw(st.permutations(range(array.ndim)), label="axes")
    return (lambda a: a.transpose(axes)), [array]


def _case_reshape(data: st.DataObject) -> Drawn:
    array = _one(data)
    target = (-1,) if array.ndim < 2 else (array.shape[0], -1)
    return (lambda a: a.reshape(target) * a.reshape(target)), [array]


def _case_broadcast_to(data: st.DataObject) -> Drawn:
    small, big = data.draw(testing.broadcastable_shapes(2), label="shapes")
    target = np.broadcast_shapes(small, big)
    return (lambda a: a.broadcast_to(target)), [data.draw(testing.arrays(small, anywhere))]


def _case_scatter_add(data: st.DataObject) -> Drawn:
    rows = data.draw(st.integers(1, 4))
    index = np.array(data.draw(st.lists(st.integers(0, rows - 1), min_size=1, max_size=5)))
    source = data.draw(testing.arrays((len(index), 2), anywhere))
    return (lambda s: s._scatter_add(index, (rows, 2))), [source]


def _case_clip(data: st.DataObject) -> Drawn:
    array = data.draw(
        testing.arrays(testing.shapes(), anywhere).filter(
            lambda a: np.all(np.abs(np.abs(a) - 1.0) > 1e-3)
        )
    )
    return (lambda a: a.clip(-1.0, 1.0)), [array]


def _case_extremum_pair(function: Callable[..., Any]) -> Callable[[st.DataObject], Drawn]:
    def draw(data: st.DataObject) -> Drawn:
        a, b = _pair(data)
        if np.any(np.abs(np.subtract(a, b)) < 1e-3):  # keep clear of ties: not smooth there
            b = np.asarray(b + 0.5)
        return (lambda x, y: function(x, y)), [a, b]

    return draw


def _with_constant(data: st.DataObject, fn: Callable[[Any, np.ndarray], Any]) -> Drawn:
    """fn(tensor, array): the array is a constant that broadcasts with the tensor."""
    array, constant = _pair(data)
    return (lambda a: fn(a, constant)), [array]


def _unary(
    method: str, elements: st.SearchStrategy[float] = anywhere
) -> Callable[[st.DataObject], Drawn]:
    return lambda data: ((lambda a: getattr(a, method)()), [_one(data, elements)])


TENSOR_CASES: dict[str, Callable[[st.DataObject], Drawn]] = {
    "add": lambda data: ((lambda a, b: a + b), _pair(data)),
    "sub": lambda data: ((lambda a, b: a - b), _pair(data)),
    "mul": lambda data: ((lambda a, b: a * b), _pair(data)),
    "div": lambda data: ((lambda a, b: a / b), _pair(data, anywhere, off_zero)),
    "pow": _case_pow,
    "add_constant": lambda data: _with_constant(data, lambda a, c: 1.5 + a + c),
    "mul_constant": lambda data: _with_constant(data, lambda a, c: 2.5 * a - c * a / 4.0),
    "pow_const": lambda data: ((lambda a: a**3 + a**-2.0), [_one(data, positive)]),
    "neg": _unary("__neg__"),
    "exp": _unary("exp"),
    "log": _unary("log", positive),
    "sqrt": _unary("sqrt", positive),
    "tanh": _unary("tanh"),
    "sigmoid": _unary("sigmoid"),
    "relu": _unary("relu", away),
    "abs": _unary("abs", away),
    "clip": _case_clip,
    "maximum": _case_extremum_pair(maximum),
    "minimum": _case_extremum_pair(minimum),
    "where": _case_where,
    "matmul": _case_matmul,
    "linear": _case_linear,
    "sum": _case_reduction("sum"),
    "max": _case_reduction("max"),
    "min": _case_reduction("min"),
    "mean": _case_reduction("mean"),
    "var": _case_reduction("var"),
    "reshape": _case_reshape,
    "transpose": _case_transpose,
    "broadcast_to": _case_broadcast_to,
    "getitem": _case_getitem,
    "scatter_add": _case_scatter_add,
    "concatenate": _case_concatenate,
    "stack": _case_stack,
    "logsumexp": _case_softmax_family("logsumexp"),
    "log_softmax": _case_softmax_family("log_softmax"),
    "softmax": _case_softmax_family("softmax"),
    "cross_entropy": _case_cross_entropy,
    "cast": lambda data: (
        (lambda a: a.astype(np.longdouble).exp().astype(np.float64) * a),
        [_one(data)],
    ),
    "binary_cross_entropy": lambda data: _with_constant(
        data, lambda a, c: a.binary_cross_entropy(1.0 / (1.0 + np.exp(-c)))
    ),
}

#: Rules of Value only (their tensor forms are covered above or need no tensor form).
SCALAR_ONLY = {"add_n", "weighted_sum"}
#: Piecewise-linear ops: their second derivative is zero away from the kinks.
FIRST_ORDER = {"relu", "abs", "clip", "maximum", "minimum", "max", "min"}


def test_every_rule_has_a_case() -> None:
    covered = set(VALUE_CASES) | set(TENSOR_CASES)
    assert set(RULES) <= covered, f"add cases for {sorted(set(RULES) - covered)}"
    assert set(RULES) - SCALAR_ONLY <= set(TENSOR_CASES) | {"add_n", "weighted_sum"}


@pytest.mark.parametrize("name", sorted(TENSOR_CASES))
@settings(max_examples=100)
@given(data=st.data())
def test_tensor_derivatives_match_central_differences(name: str, data: st.DataObject) -> None:
    fn, arrays = TENSOR_CASES[name](data)
    order = 1 if name in FIRST_ORDER else 2
    testing.assert_gradients_match(fn, *arrays, order=order)


@pytest.mark.parametrize("name", sorted(set(TENSOR_CASES) - {"mean", "var"}))
def test_each_case_uses_its_rule(name: str) -> None:
    @settings(max_examples=1, database=None)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        fn, arrays = TENSOR_CASES[name](data)
        out = fn(*[Tensor(a, requires_grad=True, dtype=np.float64) for a in arrays])
        assert name in {node.op for node in topological_order([out])}

    check()


@pytest.mark.parametrize("name", sorted(set(TENSOR_CASES) - {"mean", "var"}))
def test_each_rule_reads_only_the_data_it_declares(name: str) -> None:
    """A rule that declares it reads no output (or no inputs) gives the same gradient when
    that data is replaced: so the engine's check for changed data (versions.py) is exact."""

    @settings(max_examples=5, database=None)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        fn, arrays = TENSOR_CASES[name](data)
        out = fn(*[Tensor(a, requires_grad=True, dtype=np.float64) for a in arrays])
        for node in topological_order([out]):
            if node.op != name:
                continue
            rule = RULES[name]
            g = np.ones_like(node.data)
            output, inputs = node.data, [p.data for p in node.parents]
            expected = rule.backward(node._ctx, g, output, *inputs)
            # Undeclared data is replaced by unrelated numbers, each element on its own: a
            # shift of them all would keep the order that max, maximum or clip depend on.
            rng = np.random.default_rng(len(node.parents))
            for _ in range(3):
                if not rule.reads_output:
                    output = rng.uniform(-4.0, 4.0, np.shape(output)).astype(node.data.dtype)
                if not rule.reads_inputs:
                    inputs = [rng.uniform(-4.0, 4.0, np.shape(x)).astype(x.dtype) for x in inputs]
                got = rule.backward(node._ctx, g, output, *inputs)
                for e, o in zip(expected, got):
                    if e is not None:
                        np.testing.assert_array_equal(np.asarray(e), np.asarray(o))

    check()


# -- hand-worked cases: the branches that drawn values rarely reach ------------------------


def _leaf(values: Any) -> Tensor:
    return Tensor(values, dtype=np.float64, requires_grad=True)


def test_maximum_and_minimum_share_a_tie_equally() -> None:
    a, b = _leaf([1.0, 2.0, 3.0]), _leaf([1.0, 0.0, 5.0])
    (maximum(a, b) * Tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 10.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.5, 0.0, 100.0])
    c, d = _leaf([1.0, 2.0, 3.0]), _leaf([1.0, 0.0, 5.0])
    minimum(c, d).sum().backward()
    np.testing.assert_array_equal(c.grad, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(d.grad, [0.5, 1.0, 0.0])


def test_clip_passes_the_gradient_at_its_bounds() -> None:
    # As PyTorch's clamp: 1 on [lo, hi] including both ends, 0 outside.
    a = _leaf([-2.0, -1.0, 0.0, 1.0, 2.0])
    a.clip(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 1.0, 1.0, 1.0, 0.0])


def test_power_with_an_array_exponent_at_base_one_and_zero() -> None:
    # d(a^p)/da = p·a^(p−1): at a = 1 it is p; where p = 0 it is 0 whatever a is.
    a = _leaf([1.0, 0.0, 2.0, 1.0, -0.5, 0.5, 2.0])
    (a ** np.array([3.0, 0.0, 2.0, 0.0, 0.0, 0.0, -1.0])).sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 0.0, 4.0, 0.0, 0.0, 0.0, -0.25])


def test_matmul_of_a_transposed_batch() -> None:
    # A 3-D operand laid out column-major (a transpose of a row-major array).
    x = _leaf(np.arange(24.0).reshape(4, 3, 2) / 10)
    w = _leaf(np.arange(8.0).reshape(4, 2) / 10)
    testing.assert_gradients_match(lambda x, w: x.transpose((2, 1, 0)) @ w, x.data, w.data)
    (x.transpose((2, 1, 0)) @ w).sum().backward()
    # d Σ(x' @ w)/dx'[b, i, k] = Σ_j w[k, j]
    expected = np.broadcast_to(w.data.sum(axis=1), (2, 3, 4)).transpose((2, 1, 0))
    np.testing.assert_allclose(x.grad, expected)


@pytest.mark.parametrize("frozen", ["x", "weight", "bias"])
def test_linear_gives_each_input_its_own_gradient_when_one_needs_none(frozen: str) -> None:
    inputs = {
        "x": _leaf([[1.0, 2.0], [3.0, 4.0]]),
        "weight": _leaf([[0.5, -1.0], [2.0, 0.25], [1.0, 1.0]]),
        "bias": _leaf([0.1, 0.2, 0.3]),
    }
    inputs[frozen].requires_grad = False
    out = linear(inputs["x"], inputs["weight"], inputs["bias"])
    (out * Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
    g = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    expected = {
        "x": g @ inputs["weight"].data,
        "weight": g.T @ inputs["x"].data,
        "bias": g.sum(axis=0),
    }
    for name, tensor in inputs.items():
        if name == frozen:
            assert tensor.grad is None
        else:
            np.testing.assert_allclose(tensor.grad, expected[name], err_msg=name)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_second_derivatives_with_every_reduction(reduction: str) -> None:
    logits = np.array([[0.5, -1.0, 2.0], [0.0, 0.3, -0.7]])
    labels = np.array([2, 0])
    fn = lambda z: cross_entropy(z, labels, reduction)  # noqa: E731
    testing.assert_gradients_match(fn, logits, order=2)


def test_cross_entropy_of_no_rows_records_an_empty_gradient() -> None:
    logits = Tensor(np.zeros((0, 3)), requires_grad=True)
    loss = cross_entropy(logits, np.zeros(0, dtype=np.int64))
    (gradient,) = grad(loss, [logits], create_graph=True)
    assert gradient.shape == (0, 3)


def test_linear_of_a_single_sample() -> None:
    # x of shape (in,): out = W·x + b, d/dW = outer(g, x), d/dx = Wᵀ·g.
    x, w, b = _leaf([1.0, 2.0]), _leaf([[0.5, -1.0], [2.0, 0.25], [1.0, 1.0]]), _leaf([0.0] * 3)
    out = linear(x, w, b)
    np.testing.assert_allclose(out.data, [-1.5, 2.5, 3.0])
    (out * Tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(w.grad, np.outer([1.0, 2.0, 3.0], [1.0, 2.0]))
    np.testing.assert_allclose(x.grad, [7.5, 2.5])
    np.testing.assert_allclose(b.grad, [1.0, 2.0, 3.0])


def test_max_along_the_last_axis_shares_ties_within_each_row() -> None:
    # Square, so that normalising by the wrong axis's sums would broadcast silently.
    x = _leaf([[1.0, 1.0, 0.0], [2.0, 0.0, 0.0], [0.0, 3.0, 3.0]])
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])


def test_linear_with_batch_axes_by_hand() -> None:
    rng = np.random.default_rng(3)
    x, w, b = (
        _leaf(rng.standard_normal((2, 3, 4))),
        _leaf(rng.standard_normal((5, 4))),
        _leaf([0.0] * 5),
    )
    g = rng.standard_normal((2, 3, 5))
    out = linear(x, w, b)
    np.testing.assert_allclose(out.data, np.einsum("bni,oi->bno", x.data, w.data))
    (out * Tensor(g, dtype=np.float64)).sum().backward()
    np.testing.assert_allclose(w.grad, np.einsum("bno,bni->oi", g, x.data))
    np.testing.assert_allclose(x.grad, np.einsum("bno,oi->bni", g, w.data))
    np.testing.assert_allclose(b.grad, g.sum(axis=(0, 1)))
