"""Tensor: numpy semantics, dtypes, errors that name the op and shapes, gradients, memory."""

from __future__ import annotations

import gc
import re
import tracemalloc
import weakref
from collections.abc import Callable

import numpy as np
import pytest

import autograd
from autograd import (
    Tensor,
    Value,
    concatenate,
    cross_entropy,
    detect_anomaly,
    draw_graph,
    grad,
    gradcheck,
    gradgradcheck,
    linear,
    maximum,
    minimum,
    no_grad,
    stack,
    topological_order,
    where,
)

rng = np.random.default_rng(0)


def t64(*shape: int) -> Tensor:
    return Tensor(rng.standard_normal(shape), requires_grad=True, dtype=np.float64)


# -- construction ----------------------------------------------------------------------


def test_float32_unless_told_otherwise() -> None:
    assert Tensor([1, 2, 3]).dtype == np.float32
    assert Tensor(np.arange(3.0)).dtype == np.float32
    assert Tensor([1.0], dtype=np.float64).dtype == np.float64
    assert Tensor.zeros(2, 3).shape == (2, 3) and Tensor.ones((2,)).data.sum() == 2
    assert Tensor.full((2, 2), 7.0).data.max() == 7.0
    assert Tensor.eye(3).data.trace() == 3 and Tensor.arange(4).data.tolist() == [0, 1, 2, 3]


def test_random_constructors_take_an_explicit_generator() -> None:
    a = Tensor.randn(3, 4, rng=np.random.default_rng(5))
    b = Tensor.randn((3, 4), rng=5)
    assert np.array_equal(a.data, b.data) and a.dtype == np.float32
    u = Tensor.rand(100, rng=1, dtype=np.float64)
    assert u.dtype == np.float64 and u.data.min() >= 0.0 and u.data.max() < 1.0


def test_the_data_is_copied() -> None:
    array = np.ones(3, dtype=np.float32)
    tensor = Tensor(array)
    array[0] = 5.0
    assert tensor.data[0] == 1.0


def test_only_floating_tensors_require_grad() -> None:
    with pytest.raises(TypeError, match="only floating-point tensors can require grad"):
        Tensor([1, 2], dtype=np.int64, requires_grad=True)


def test_properties_and_conversions() -> None:
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, label="x")
    assert (x.shape, x.ndim, x.size, len(x)) == ((2, 2), 2, 4, 2)
    assert x.T.data.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert x.sum().item() == 10.0
    assert np.shares_memory(x.numpy(), x.data) and x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    d = x.detach()
    assert not d.requires_grad and np.shares_memory(d.data, x.data)
    assert "requires_grad=True" in repr(x) and "label='x'" in repr(x)
    assert "op='mul'" in repr(x * x)


def test_mixing_value_and_tensor_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="cannot mix Tensor and Value"):
        Tensor([1.0]) + Value(1.0)
    with pytest.raises(TypeError, match="cannot mix Value and Tensor"):
        Value(1.0) * Tensor([1.0])
    with pytest.raises(TypeError, match="cannot mix"):
        grad(Tensor([1.0], requires_grad=True).sum(), [Value(1.0)])
    with pytest.raises(TypeError, match="got a Value"):
        Tensor(Value(1.0))


# -- numpy semantics -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ((), (3, 4)),
        ((4,), (3, 4)),
        ((1, 4), (3, 4)),
        ((3, 1), (3, 4)),
        ((3, 4), (3, 4)),
        ((3, 1), (1, 4)),
        ((2, 1, 4), (3, 1)),
    ],
)
def test_every_broadcasting_case(left: tuple[int, ...], right: tuple[int, ...]) -> None:
    a, b = t64(*left), t64(*right)
    out = a * b + a - b / (b * b + 1.0)
    expected = a.data * b.data + a.data - b.data / (b.data * b.data + 1.0)
    np.testing.assert_allclose(out.data, expected)
    out.sum().backward()
    assert a.grad.shape == left and b.grad.shape == right
    assert gradcheck(lambda a, b: a * b + a - b / (b * b + 1.0), [a, b])
    assert gradgradcheck(lambda a, b: (a * b).tanh(), [a, b])


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ((3,), (3,)),
        ((2, 3), (3,)),
        ((3,), (3, 4)),
        ((2, 3), (3, 4)),
        ((5, 2, 3), (3, 4)),
        ((2, 3), (5, 3, 4)),
        ((5, 2, 3), (5, 3, 4)),
        ((1, 2, 3), (5, 3, 4)),
        ((2, 1, 2, 3), (4, 3, 2)),
        ((3,), (5, 3, 4)),
        ((5, 2, 3), (3,)),
    ],
)
def test_matmul_has_numpys_semantics(left: tuple[int, ...], right: tuple[int, ...]) -> None:
    a, b = t64(*left), t64(*right)
    np.testing.assert_allclose((a @ b).data, a.data @ b.data)
    assert gradcheck(lambda a, b: a @ b, [a, b])
    assert gradgradcheck(lambda a, b: a @ b, [a, b])


def test_reductions_match_numpy() -> None:
    x = t64(2, 3, 4)
    np.testing.assert_allclose(x.sum(axis=(0, 2)).data, x.data.sum(axis=(0, 2)))
    np.testing.assert_allclose(x.mean(axis=-1, keepdims=True).data, x.data.mean(-1, keepdims=True))
    np.testing.assert_allclose(x.max(axis=1).data, x.data.max(axis=1))
    np.testing.assert_allclose(x.min().data, x.data.min())
    np.testing.assert_allclose(x.var(axis=0, ddof=1).data, x.data.var(axis=0, ddof=1))


def test_max_shares_the_gradient_among_ties() -> None:
    x = Tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.5]


def test_indexing_picks_each_rows_class_logit() -> None:
    logits = t64(4, 3)
    labels = np.array([2, 0, 0, 1])
    picked = logits[np.arange(4), labels]
    np.testing.assert_allclose(picked.data, logits.data[np.arange(4), labels])
    picked.sum().backward()
    expected = np.zeros((4, 3))
    expected[np.arange(4), labels] = 1.0
    np.testing.assert_array_equal(logits.grad, expected)


def test_an_index_used_twice_gets_the_summed_gradient() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    x[[0, 0, 1]].sum().backward()
    assert x.grad.tolist() == [2.0, 1.0]


def test_boolean_masks_and_slices() -> None:
    x = t64(4, 3)
    mask = x.data[:, 0] > 0
    np.testing.assert_allclose(x[mask].data, x.data[mask])
    np.testing.assert_allclose(x[1:, ::2].data, x.data[1:, ::2])
    assert gradcheck(lambda a: a[1:, ::2] * a[0, ::2], [x])


def test_joining_and_selecting() -> None:
    a, b = t64(2, 3), t64(1, 3)
    np.testing.assert_allclose(concatenate([a, b]).data, np.concatenate([a.data, b.data]))
    np.testing.assert_allclose(stack([a, a], axis=1).data, np.stack([a.data, a.data], 1))
    np.testing.assert_allclose(where(a.data > 0, a, 0.0).data, np.where(a.data > 0, a.data, 0))
    assert a.flatten().shape == (6,) and t64(2, 3, 4).flatten(1).shape == (2, 12)
    assert a.reshape(3, 2).shape == (3, 2) and a.reshape((-1,)).shape == (6,)
    assert t64(2, 3, 4).transpose(2, 0, 1).shape == (4, 2, 3)
    assert t64(2, 3, 4).swapaxes(0, -1).shape == (4, 3, 2)


def test_comparisons_are_constant_boolean_tensors() -> None:
    x = Tensor([1.0, -2.0], requires_grad=True)
    for mask in (x > 0, x >= 0, x < 0, x <= 0, x == 1.0, x != 1.0):
        assert mask.dtype == bool and not mask.requires_grad
    assert (x > 0).tolist() == [True, False]
    assert len({x, x * 1.0}) == 2  # still hashable, by identity


def test_numpy_arrays_on_either_side() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    out = np.array([3.0, 4.0]) * x + np.array([1.0, 1.0]) - x / np.array([2.0, 2.0])
    assert isinstance(out, Tensor) and out.dtype == np.float32
    out.sum().backward()
    np.testing.assert_allclose(x.grad, [2.5, 3.5])


# -- stability ---------------------------------------------------------------------------


def test_log_softmax_of_huge_logits_is_finite_and_so_is_its_gradient() -> None:
    logits = Tensor([[1e4, 0.0, -1e4], [3e4, 3e4, 0.0]], requires_grad=True)
    out = logits.log_softmax(axis=1)
    assert np.all(np.isfinite(out.data))
    np.testing.assert_allclose(out.data[0], [0.0, -1e4, -2e4])
    (out * Tensor([[1.0, 2.0, 3.0], [1.0, 0.0, 0.0]])).sum().backward()
    assert np.all(np.isfinite(logits.grad))
    assert np.all(np.isfinite(logits.softmax(axis=1).data))
    assert np.all(np.isfinite(logits.logsumexp(axis=1).data))
    loss = cross_entropy(logits, np.array([2, 0]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(logits.grad))


def test_sigmoid_does_not_overflow() -> None:
    out = Tensor([-1e4, 0.0, 1e4]).sigmoid()
    assert out.data.tolist() == [0.0, 0.5, 1.0]


def test_cross_entropy_matches_the_definition() -> None:
    logits, labels = t64(5, 4), np.array([0, 3, 1, 1, 2])
    log_p = logits.data - np.log(np.exp(logits.data).sum(1, keepdims=True))
    expected = -log_p[np.arange(5), labels]
    np.testing.assert_allclose(cross_entropy(logits, labels, "none").data, expected)
    np.testing.assert_allclose(cross_entropy(logits, labels).item(), expected.mean())
    np.testing.assert_allclose(cross_entropy(logits, labels, "sum").item(), expected.sum())


# -- errors name the op, the argument and the shapes -----------------------------------


def test_shape_errors_name_the_op_and_both_shapes() -> None:
    with pytest.raises(
        ValueError, match=r"matmul: shapes \(128, 784\) and \(100, 10\) are not aligned"
    ):
        Tensor.zeros(128, 784) @ Tensor.zeros(100, 10)
    with pytest.raises(ValueError, match=r"add: shapes \(3,\) and \(4,\) cannot be broadcast"):
        Tensor.zeros(3) + Tensor.zeros(4)
    with pytest.raises(ValueError, match=r"mul_constant: shapes \(3,\) and \(4,\)"):
        Tensor.zeros(3) * np.zeros(4)
    with pytest.raises(ValueError, match=r"reshape: cannot reshape \(2, 3\) into \(4,\)"):
        Tensor.zeros(2, 3).reshape(4)
    with pytest.raises(ValueError, match="sum: axis 2 is out of range"):
        Tensor.zeros(2, 3).sum(axis=2)
    with pytest.raises(ValueError, match=r"linear: input of shape \(5, 3\) does not fit"):
        linear(Tensor.zeros(5, 3), Tensor.zeros(4, 2))
    with pytest.raises(ValueError, match=r"cross_entropy: labels of shape \(3,\) do not fit"):
        cross_entropy(Tensor.zeros(2, 4), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\)"):
        cross_entropy(Tensor.zeros(2, 4), np.array([0, 4]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\), got -1\.\.1"):
        cross_entropy(Tensor.zeros(2, 4), np.array([-1, 1]))  # not counted from the end
    with pytest.raises(ValueError, match=r"backward: a gradient can be implied only"):
        Tensor.zeros(2, requires_grad=True).exp().backward()
    with pytest.raises(ValueError, match=r"backward: grad has shape \(3,\)"):
        Tensor.zeros(2, requires_grad=True).exp().backward(np.ones(3))
    with pytest.raises(IndexError, match=r"getitem: .* \(tensor of shape \(2,\)\)"):
        Tensor.zeros(2)[5]


# -- the engine with tensors -------------------------------------------------------------


def test_gradients_keep_the_dtype() -> None:
    x = Tensor.randn(4, 3, rng=0, requires_grad=True)
    w = Tensor.randn(3, 2, rng=1, requires_grad=True)
    loss = cross_entropy((x @ w).relu() * 2.0 + 1.0, np.array([0, 1, 1, 0]))
    loss.backward()
    assert loss.dtype == x.grad.dtype == w.grad.dtype == np.float32


def test_only_retain_grad_makes_a_tensor_retain_its_gradient() -> None:
    leaf = Tensor([1.0, 2.0], requires_grad=True)
    interior = leaf * 2.0
    assert not leaf.retains_grad and not interior.retains_grad  # as PyTorch's
    interior.retain_grad()
    assert interior.retains_grad and not leaf.retains_grad
    assert Value(1.0).retains_grad and (Value(1.0) * 2.0).retains_grad  # every Value does


def test_interior_gradients_are_freed_unless_retained() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    hidden = x * 3.0
    kept = hidden.exp()
    assert not kept.retains_grad
    kept.retain_grad()
    assert kept.retains_grad and not hidden.retains_grad
    kept.sum().backward()
    assert hidden.grad is None
    np.testing.assert_allclose(kept.grad, [1.0, 1.0])
    np.testing.assert_allclose(x.grad, 3.0 * np.exp(hidden.data))


def test_leaf_gradients_are_private_writable_arrays() -> None:
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()  # add hands one array to both; sum's is a read-only view
    assert a.grad is not b.grad
    a.grad *= 10.0
    assert b.grad.tolist() == [1.0, 1.0]


def test_leaves_accumulate_until_zero_grad() -> None:
    x = Tensor([2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    assert x.grad.tolist() == [8.0]
    x.zero_grad()
    assert x.grad is None


def test_second_derivatives_of_a_tensor_function() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    (g,) = grad((x**3).sum(), [x], create_graph=True)
    (h,) = grad(g.sum(), [x])
    np.testing.assert_allclose(g.data, 3 * x.data**2)
    np.testing.assert_allclose(h.data, 6 * x.data)


def test_no_grad_records_nothing() -> None:
    w = Tensor.randn(3, 3, rng=0, requires_grad=True)
    with no_grad():
        out = (Tensor.ones(2, 3) @ w).relu().sum()
    assert not out.requires_grad and out.is_leaf
    assert topological_order([out]) == []


def test_detect_anomaly_names_the_forward_op() -> None:
    with (
        detect_anomaly(),
        np.errstate(invalid="ignore"),
        pytest.raises(FloatingPointError, match="forward of 'log'"),
    ):
        Tensor([-1.0], requires_grad=True).log()


def test_detect_anomaly_names_the_backward_op() -> None:
    x = Tensor([0.0, 4.0], requires_grad=True)
    y = x.sqrt()  # finite; its derivative 1/(2√x) is infinite at 0
    with (
        detect_anomaly(),
        np.errstate(divide="ignore"),
        pytest.raises(FloatingPointError, match="backward of 'sqrt'"),
    ):
        y.sum().backward()


def test_a_tensor_graph_is_freed_without_the_garbage_collector() -> None:
    gc.collect()
    gc.disable()
    try:
        w = Tensor.randn(4, 3, rng=0, requires_grad=True)
        x = Tensor.randn(5, 4, rng=1)
        loss = cross_entropy((x @ w).tanh() * 2.0, np.array([0, 1, 2, 0, 1]))
        loss.backward()
        refs = [weakref.ref(node) for node in topological_order([loss]) if not node.is_leaf]
        assert len(refs) == 4
        del loss
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_a_thousand_training_steps_leave_memory_flat() -> None:
    generator = np.random.default_rng(0)
    X = Tensor(generator.standard_normal((64, 20)))
    y = generator.integers(0, 5, 64)
    w1 = Tensor.randn(32, 20, rng=1, requires_grad=True)
    b1 = Tensor.zeros(32, requires_grad=True)
    w2 = Tensor.randn(5, 32, rng=2, requires_grad=True)

    def step() -> None:
        loss = cross_entropy(linear(linear(X, w1, b1).relu(), w2), y)
        loss.backward()
        for p in (w1, b1, w2):
            p.data -= 0.01 * p.grad
            p.grad = None

    for _ in range(50):
        step()
    tracemalloc.start()
    for _ in range(200):
        step()
    gc.collect()  # a full collection empties CPython's free lists, which are not a leak
    early = tracemalloc.get_traced_memory()[0]
    for _ in range(800):
        step()
    gc.collect()
    late = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert late - early < 64_000, f"memory grew by {late - early} bytes over 800 steps"


def test_draw_graph_shows_label_op_shape_and_dtype() -> None:
    w = Tensor.randn(3, 2, rng=0, requires_grad=True, dtype=np.float64)
    w.label = "W"
    x = Tensor([1.0, 2.0, 3.0], label="x")
    out = (x @ w).relu().sum()
    source = draw_graph(out).source
    assert "W | (3, 2) float64" in source
    assert "x | (3,) float32 | data [1, 2, 3]" in source
    assert 'label="@"' in source and "ReLU" in source


def test_from_numpy_shares_memory() -> None:
    array = np.zeros(3, dtype=np.float64)
    tensor = Tensor.from_numpy(array)
    array[0] = 1.0
    assert tensor.data[0] == 1.0 and tensor.dtype == np.float64 and not tensor.requires_grad
    with pytest.raises(TypeError, match="only floating-point"):
        Tensor.from_numpy(np.zeros(2, dtype=np.int64), requires_grad=True)


def test_a_weight_read_transposed_gets_its_gradient_in_its_own_layout() -> None:
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 3)), requires_grad=True)  # (out, in), read as w.T
    (x @ w.T).tanh().sum().backward()
    expected = (1 - np.tanh(x.data @ w.data.T) ** 2).T @ x.data  # d/dw of Σ tanh(x·wᵀ)
    np.testing.assert_allclose(w.grad, expected, rtol=1e-12)
    assert w.grad.flags.c_contiguous and w.grad.flags.writeable
    v = Tensor(w.data.copy(), requires_grad=True)  # read transposed on the left: v.T @ y
    y = Tensor(rng.standard_normal((4, 2)))
    (v.T @ y).sum().backward()
    # d Σ_jk Σ_i v_ij·y_ik / dv_ij = Σ_k y_ik, the same for every j
    np.testing.assert_allclose(v.grad, np.repeat(y.data.sum(axis=1, keepdims=True), 3, axis=1))
    assert v.grad.flags.c_contiguous
    # A leaf whose data is laid out column by column gets a gradient laid out alike.
    f = Tensor(np.asfortranarray(rng.standard_normal((3, 4))), requires_grad=True)
    (x @ f).sum().backward()
    assert f.grad.flags.f_contiguous and not f.grad.flags.c_contiguous
    np.testing.assert_allclose(f.grad, x.data.sum(axis=0)[:, None] * np.ones((3, 4)))


# -- found by mutation testing: each case below once let a wrong line pass -----------------


def test_a_number_divided_by_a_tensor() -> None:
    x = Tensor(np.array([4.0, -0.5]), requires_grad=True)
    y = 2.0 / x
    np.testing.assert_array_equal(y.data, [0.5, -4.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [-0.125, -8.0])  # d(2/x)/dx = −2/x²


def test_softmax_and_logsumexp_default_to_the_last_axis() -> None:
    x = t64(2, 3, 4)  # three axes, so that axis 1 and axis −1 differ
    np.testing.assert_array_equal(x.softmax().data, x.softmax(axis=-1).data)
    np.testing.assert_array_equal(x.logsumexp().data, x.logsumexp(axis=-1).data)
    np.testing.assert_array_equal(x.log_softmax().data, x.log_softmax(axis=-1).data)
    np.testing.assert_array_equal(
        x.logsumexp(dim=0, keepdim=True).data, x.logsumexp(axis=0, keepdims=True).data
    )
    np.testing.assert_array_equal(
        x.var(dim=0, keepdim=True).data, x.var(axis=0, keepdims=True).data
    )
    assert x.logsumexp().shape == (2, 3)


def test_repr_names_dtype_and_shape_only_when_they_are_not_the_default() -> None:
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert repr(Tensor([1.0], dtype=np.float64)) == "Tensor([1.], dtype=float64)"
    assert repr(Tensor([[1.0, 2.0]])) == "Tensor([[1., 2.]], shape=(1, 2))"


def test_item_of_a_tensor_with_several_elements_is_refused() -> None:
    assert Tensor([[2.5]]).item() == 2.5
    for shape in [(2,), (0,), (2, 2)]:
        with pytest.raises(ValueError, match="item: the tensor has"):
            Tensor(np.zeros(shape)).item()


def test_comparisons_take_tensors_and_refuse_values() -> None:
    a, b = Tensor([1.0, 2.0]), Tensor([2.0, 2.0])
    np.testing.assert_array_equal((a < b).data, [True, False])
    np.testing.assert_array_equal((a >= b).data, [False, True])
    with pytest.raises(TypeError, match="cannot compare Tensor and Value"):
        _ = a < Value(1.0)


def test_a_float32_tensor_times_a_float64_array_stays_float32() -> None:
    w = Tensor(np.ones((2, 2), dtype=np.float32))
    assert (w @ np.ones((2, 2))).dtype == np.float32
    assert (np.ones((2, 2)) @ w).dtype == np.float32


def test_matmul_refuses_a_scalar_on_either_side() -> None:
    for a, b in [(Tensor(3.0), Tensor([1.0, 2.0])), (Tensor([1.0, 2.0]), Tensor(3.0))]:
        with pytest.raises(ValueError, match="operands must not be scalars"):
            _ = a @ b


def test_a_one_element_root_gives_its_gradient_its_own_shape() -> None:
    x = Tensor(np.array([2.0]), requires_grad=True)
    y = x * 3.0
    y.retain_grad()
    y.backward()
    assert y.grad.shape == (1,) and x.grad.shape == (1,)
    np.testing.assert_array_equal(x.grad, [3.0])


def test_data_keeps_its_shape_when_the_array_it_gave_is_reshaped() -> None:
    t = Tensor([1.0, 2.0, 3.0])
    for shape in [(3, 1), (1, 3)]:
        view = t.data
        view.shape = shape  # reshapes that view object only, not the tensor
        assert t.data.shape == (3,)


def test_assigning_another_tensors_array_shares_it_and_a_plain_array_does_not() -> None:
    from autograd import DataChangedError

    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = Tensor(np.zeros(2), requires_grad=True)
    b.data = a.data  # now one array: a write through a reaches b's graph
    loss = (b * b).sum()
    a.data[0] = 5.0
    with pytest.raises(DataChangedError):
        loss.backward()
    c = Tensor(np.zeros(2), requires_grad=True)
    c.data = np.array([1.0, 2.0])
    (c * c).sum().backward()  # its own storage: nothing changed since the forward
    np.testing.assert_array_equal(c.grad, [2.0, 4.0])


def test_factories_keep_their_keyword_only_arguments_and_defaults() -> None:
    full = Tensor.full((2,), 1.0)
    assert full.requires_grad is False and full.dtype == np.float32
    with pytest.raises(TypeError):
        Tensor.full((2,), 1.0, np.float64)  # type: ignore[misc]
    with pytest.raises(TypeError):
        Tensor.eye(2, 2, np.float64)  # type: ignore[misc]
    for make in (Tensor.zeros, Tensor.ones, Tensor.rand, Tensor.randn):
        assert make(2).requires_grad is False
    assert Tensor.zeros().shape == () and Tensor.ones((2, 3)).shape == (2, 3)
    # They are static: called on a tensor as on the class, as numpy's are on arrays.
    t = Tensor([1.0])
    assert t.zeros(2).shape == (2,) and t.ones(2).shape == (2,) and t.eye(2).shape == (2, 2)
    assert t.full((2,), 3.0).shape == (2,) and t.arange(3).shape == (3,)
    assert t.from_numpy(np.ones(2)).shape == (2,)
    assert t.rand(2, rng=0).shape == (2,) and t.randn(2, rng=0).shape == (2,)


def test_var_divides_by_the_count_less_ddof() -> None:
    x = Tensor(np.array([1.0, 2.0, 3.0, 4.0]), requires_grad=True)  # Σ (x − 2.5)² = 5
    assert x.var().item() == pytest.approx(1.25)
    v = x.var(ddof=1)
    assert v.item() == pytest.approx(5.0 / 3.0)
    v.backward()
    np.testing.assert_allclose(x.grad, 2.0 * (x.data - 2.5) / 3.0)


def test_max_and_min_drop_the_reduced_axes_unless_asked() -> None:
    x = t64(2, 3)
    assert x.min().shape == () and x.max().shape == ()
    assert x.min(axis=0).shape == (3,) and x.min(axis=0, keepdims=True).shape == (1, 3)


def test_data_numpy_cannot_take_is_refused_with_a_type_error() -> None:
    with pytest.raises(TypeError, match="Tensor: cannot make an array of set"):
        Tensor({1.0, 2.0})
    with pytest.raises(TypeError, match="Tensor: cannot make an array of list"):
        Tensor([[1.0, 2.0], [3.0]])  # ragged


def test_var_refuses_a_ddof_that_leaves_no_degree_of_freedom() -> None:
    x = Tensor(np.array([1.0, 2.0, 3.0, 4.0]))
    for ddof in (4, 5):
        with pytest.raises(ValueError, match="var: 4 elements along axis None leave no degree"):
            x.var(ddof=ddof)


def test_len_counts_the_first_axis_and_refuses_a_0d_tensor() -> None:
    assert len(Tensor([1.0, 2.0, 3.0])) == 3 and len(Tensor(np.zeros((2, 5)))) == 2
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(Tensor(1.0))


def test_arange_with_one_and_with_two_bounds() -> None:
    np.testing.assert_array_equal(Tensor.arange(3).data, [0, 1, 2])
    np.testing.assert_array_equal(Tensor.arange(1, 4).data, [1, 2, 3])


def test_maximum_and_minimum_keep_the_tensors_dtype_on_either_side() -> None:
    t, array = Tensor(np.array([1.0, 5.0], dtype=np.float32)), np.array([2.0, 3.0])
    for out in (maximum(t, array), maximum(array, t), minimum(t, array), minimum(array, t)):
        assert out.dtype == np.float32


def test_an_empty_reduction_names_the_first_empty_axis() -> None:
    with pytest.raises(ValueError, match="max: axis 1 of the tensor of shape \\(3, 0, 0\\)"):
        Tensor(np.zeros((3, 0, 0))).max(axis=(1, 2))


def test_a_reshape_that_copies_does_not_share_the_inputs_storage() -> None:
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x.transpose().reshape((6,))  # not expressible as a view: numpy copies
    assert not np.may_share_memory(y.data, x.data)
    loss = (y * y).sum()
    x.data[0, 0] = 5.0  # y's values did not change, so its product may still be differentiated
    loss.backward()
    np.testing.assert_array_equal(x.grad, 2.0 * np.arange(6.0).reshape(2, 3))


def test_backward_without_grad_needs_exactly_one_element() -> None:
    empty = Tensor(np.zeros(0), requires_grad=True)
    with pytest.raises(ValueError, match="only for a tensor with one element"):
        (empty * 2.0).backward()


def test_backward_refuses_a_grad_of_another_shape_smaller_or_larger() -> None:
    y = Tensor(np.ones(3), requires_grad=True) * 2.0
    for shape in [(2,), (4,), (3, 1)]:
        with pytest.raises(ValueError, match=re.escape(f"grad has shape {shape} but")):
            y.backward(np.ones(shape))


def test_assigning_a_reshaped_view_of_its_own_data_reshapes_the_tensor() -> None:
    t = Tensor([1.0, 2.0, 3.0])
    t.data = t.data.reshape(1, 3)
    assert t.shape == (1, 3)
    t.data = t.data.reshape(3)
    assert t.shape == (3,)


def test_matmul_names_misaligned_inner_sizes_either_way() -> None:
    for a, b in [(np.ones((2, 2)), np.ones((3, 2))), (np.ones((2, 3)), np.ones((2, 2)))]:
        with pytest.raises(ValueError, match="are not aligned"):
            _ = Tensor(a) @ Tensor(b)


def test_repr_of_a_scalar_and_of_long_tensors() -> None:
    assert repr(Tensor(1.0)) == "Tensor(1.)"
    long, short = repr(Tensor(np.arange(21.0))), repr(Tensor(np.arange(20.0)))
    assert long == "Tensor([ 0.,  1., ..., 19., 20.], shape=(21,))"  # over 20: two at each end
    assert "..." not in short and "shape" not in short


def test_clip_takes_either_bound_alone() -> None:
    x = Tensor([1.0, 5.0])
    np.testing.assert_array_equal(x.clip(min=2.0).data, [2.0, 5.0])
    np.testing.assert_array_equal(x.clip(max=2.0).data, [1.0, 2.0])
    with pytest.raises(ValueError, match="clip: give min, max or both"):
        x.clip()


def test_an_integer_tensor_does_not_cast_a_float_array_to_integers() -> None:
    np.testing.assert_array_equal(
        maximum(Tensor(np.array([1, 2]), dtype=np.int64), np.array([1.5, 0.5])).data, [1.5, 2.0]
    )


def test_one_axis_ops_refuse_a_0d_tensor() -> None:
    for op in ("softmax", "log_softmax", "logsumexp"):
        with pytest.raises(ValueError, match=f"{op}: needs a tensor of at least one dimension"):
            getattr(Tensor(1.0), op)()


def test_eye_and_min_defaults() -> None:
    assert Tensor.eye(2).requires_grad is False
    x = t64(2, 3)
    np.testing.assert_array_equal(
        x.min(dim=0, keepdim=True).data, x.min(axis=0, keepdims=True).data
    )


def test_a_number_to_a_tensor_power() -> None:
    x = Tensor(np.array([3.0, 0.5]), requires_grad=True)
    y = 2.0**x
    np.testing.assert_allclose(y.data, [8.0, np.sqrt(2.0)])
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.log(2.0) * y.data)  # d(2^x)/dx = 2^x·ln 2


def test_assigning_a_tensor_its_own_array_changes_nothing() -> None:
    t = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (t * t).sum()
    t.data = t.data  # the same array, the same shape: not a write
    loss.backward()
    np.testing.assert_array_equal(t.grad, [2.0, 4.0])


def test_var_along_the_last_axis() -> None:
    x = t64(3, 4)
    np.testing.assert_allclose(x.var(axis=1).data, x.data.var(axis=1))
    np.testing.assert_allclose(x.var(axis=-1, ddof=1).data, x.data.var(axis=-1, ddof=1))


def test_mean_over_an_empty_axis_is_refused() -> None:
    with pytest.raises(ValueError, match="mean: no elements along axis 1"):
        Tensor(np.zeros((2, 0))).mean(axis=1)


def test_transpose_refuses_what_is_not_a_permutation() -> None:
    x = t64(2, 3)
    with pytest.raises(ValueError, match="are not a permutation of 2 axes"):
        x.transpose(0, 0)
    with pytest.raises(TypeError):
        x.transpose((1, 0), 2)  # type: ignore[arg-type]
    assert x.transpose([1, 0]).shape == (3, 2) and x.transpose(1, 0).shape == (3, 2)


def test_an_index_tensor_indexes_and_may_not_require_grad() -> None:
    x = Tensor(np.array([10.0, 20.0, 30.0]))
    np.testing.assert_array_equal(x[Tensor(np.array([2, 0]), dtype=np.int64)].data, [30.0, 10.0])
    with pytest.raises(TypeError, match="an index tensor cannot require grad"):
        _ = x[Tensor(np.array([0.0]), requires_grad=True)]


def test_shapes_and_targets_that_do_not_fit_are_named() -> None:
    with pytest.raises(TypeError, match="zeros: a shape is ints, got \\(2, None\\)"):
        Tensor.zeros(2, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="broadcast_to: cannot broadcast \\(3,\\) to \\(2,\\)"):
        Tensor(np.ones(3)).broadcast_to((2,))
    with pytest.raises(ValueError, match="binary_cross_entropy: logits of shape \\(3,\\)"):
        Tensor(np.zeros(3)).binary_cross_entropy(np.zeros(2))


def test_a_shape_mixes_no_tuple_with_ints() -> None:
    with pytest.raises(TypeError, match="zeros: a shape is ints"):
        Tensor.zeros((2, 3), 4)  # type: ignore[arg-type]


def test_transpose_takes_negative_axes_and_refuses_axes_out_of_range() -> None:
    x = t64(2, 3)
    np.testing.assert_array_equal(x.transpose(-1, -2).data, x.data.T)
    for bad in [(0, 5), (0, 2), (-3, 0)]:
        with pytest.raises(
            np.exceptions.AxisError, match=f"axis {bad[0] if bad[0] < 0 else bad[1]}"
        ):
            x.transpose(*bad)


def test_data_gives_the_same_array_object_while_the_data_stays() -> None:
    t = Tensor([1.0, 2.0])
    assert t.data is t.data  # made once: reading .data in a loop costs nothing
    t.data = np.zeros(3)
    assert t.data is t.data and t.data.shape == (3,)


def test_one_axis_ops_refuse_several_axes() -> None:
    for axis in [(0, 1), [0], None]:
        with pytest.raises(TypeError, match="softmax: takes one axis"):
            t64(2, 3).softmax(axis=axis)  # type: ignore[arg-type]


def test_matmul_names_batch_axes_that_do_not_broadcast() -> None:
    with pytest.raises(
        ValueError, match="matmul: the batch axes of shapes \\(2, 2, 3\\) and \\(3, 3, 4\\)"
    ):
        _ = Tensor(np.ones((2, 2, 3))) @ Tensor(np.ones((3, 3, 4)))


def test_from_numpy_takes_integers_without_grad_and_floats_with_it() -> None:
    assert Tensor.from_numpy(np.array([1, 2])).dtype == np.int64
    assert Tensor.from_numpy(np.array([1.0, 2.0]), requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="from_numpy: only floating-point tensors can require"):
        Tensor.from_numpy(np.array([1, 2]), requires_grad=True)


@pytest.mark.parametrize(
    "array",
    [np.array([1 + 2j]), np.array([1.0, "a"], dtype=object), np.array(["ab"]),
     np.array([b"ab"]), np.zeros(2, dtype="V4"), np.array(["2026-12-04"], dtype="M8[D]"),
     np.zeros(2, dtype=[("x", "f8")])],
    ids=["complex", "object", "text", "bytes", "void", "datetime", "structured"],
)  # fmt: skip
def test_from_numpy_refuses_what_is_not_numbers_as_tensor_does(array: np.ndarray) -> None:
    """Shared without a cast, an array of complex numbers would lose its imaginary parts at
    the first op, and one of objects or text would fail deep inside one: refused at once,
    as ``Tensor()`` refuses them, for every dtype kind but bool, int, uint and float."""
    with pytest.raises(TypeError, match=re.escape(f"from_numpy: an array of dtype {array.dtype}")):
        Tensor.from_numpy(array)
    for dtype in (np.bool_, np.int8, np.uint16, np.float16, np.float32, np.float64):
        assert Tensor.from_numpy(np.zeros(2, dtype)).dtype == dtype


def test_assigning_a_view_of_its_own_data_with_another_shape() -> None:
    for shape in [(3, 1), (1, 3)]:
        t = Tensor([1.0, 2.0, 3.0])
        view = t.data
        view.shape = shape  # the same memory, another shape
        t.data = view
        assert t.shape == shape


def test_repr_names_an_integer_dtype_and_arange_keeps_its_defaults() -> None:
    assert repr(Tensor(np.array([1, 2]), dtype=np.int64)) == "Tensor([1, 2], dtype=int64)"
    assert not Tensor.arange(3).requires_grad
    with pytest.raises(TypeError):
        Tensor.arange(0, 4, 1, np.float64)  # type: ignore[misc]
    x = t64(2, 3)
    np.testing.assert_array_equal(x.log_softmax(dim=0).data, x.log_softmax(axis=0).data)


def test_fused_ops_refuse_shapes_that_do_not_fit() -> None:
    x = t64(2, 3)
    for weight in (np.ones(3), np.ones((4, 3, 1))):
        with pytest.raises(ValueError, match="linear: weight must be 2-D"):
            linear(x, Tensor(weight))
    with pytest.raises(ValueError, match=re.escape("stack: shapes (2,), (3,) must be equal")):
        stack([Tensor(np.ones(2)), Tensor(np.ones(3))])
    with pytest.raises(
        ValueError, match=re.escape("logits must have shape (n, classes), got (2, 3, 1)")
    ):
        cross_entropy(Tensor(np.ones((2, 3, 1))), np.zeros(2, np.int64))
    with pytest.raises(
        ValueError, match=re.escape("labels of shape (2,) do not fit logits of shape (3, 4)")
    ):
        cross_entropy(Tensor(np.ones((3, 4))), np.zeros(2, np.int64))
    with pytest.raises(
        ValueError, match=re.escape("class probabilities of shape (1, 3) do not fit")
    ):
        cross_entropy(Tensor(np.ones((2, 3))), np.full((1, 3), 1 / 3))  # would broadcast


def test_fused_ops_give_numpy_operands_the_tensors_dtype() -> None:
    t, array = Tensor(np.ones(2, dtype=np.float32)), np.ones(2)  # float32 and float64
    assert concatenate([t, array]).dtype == np.float32
    mask = np.array([True, False])
    assert where(mask, t, array).dtype == np.float32 and where(mask, array, t).dtype == np.float32


def test_fused_ops_name_what_does_not_fit() -> None:
    with pytest.raises(
        ValueError, match=re.escape("input of shape (2, 2) does not fit weight of shape (3, 3)")
    ):
        linear(t64(2, 2), t64(3, 3))
    with pytest.raises(
        ValueError, match=re.escape("where: shapes (2,), (3,) and (2,) cannot be broadcast")
    ):
        where(np.array([True, False]), t64(3), t64(2))
    with pytest.raises(
        ValueError, match=re.escape("give integer labels of shape (2,) or probabilities")
    ):
        cross_entropy(Tensor(np.ones((2, 3))), np.full((1, 3), 1 / 3))
    assert concatenate([[1.0, 2.0], Tensor(np.ones(1))]).shape == (3,)  # a list first
    assert Value(1.0).sum([Value(2.0), 3.0]).data == 5.0  # static: callable on a Value too


def test_bias_shapes_float_targets_of_the_wrong_shape_and_stacks_default_axis() -> None:
    x, w = t64(2, 3), t64(4, 3)
    for bias in (t64(3), t64(5)):
        with pytest.raises(ValueError, match="linear: bias of shape"):
            linear(x, w, bias)
    with pytest.raises(ValueError, match=re.escape("class probabilities of shape (1,) do not fit")):
        cross_entropy(Tensor(np.ones((2, 3))), np.array([0.5]))  # floats, but not one per row
    assert stack([t64(3), t64(3)]).shape == (2, 3)  # a new first axis by default


def test_fused_ops_refuse_0d_inputs_1d_logits_and_name_concatenate_shapes() -> None:
    with pytest.raises(ValueError, match="linear: input of shape \\(\\) does not fit"):
        linear(Tensor(1.0), t64(2, 1))
    with pytest.raises(ValueError, match="cross_entropy: logits must have shape \\(n, classes\\)"):
        cross_entropy(t64(3), np.zeros(3, np.int64))
    with pytest.raises(
        ValueError, match=re.escape("concatenate: shapes (2, 3), (2, 4) differ off axis 0")
    ):
        concatenate([t64(2, 3), t64(2, 4)])


_t = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)


@pytest.mark.parametrize(
    ("call", "kind", "message"),
    [
        (lambda: Tensor.zeros(2.5), TypeError, "zeros: a shape is ints, got 2.5"),
        (lambda: Tensor.zeros("3"), TypeError, "zeros: a shape is ints, got '3'"),
        (lambda: Tensor.ones(True), TypeError, "ones: a shape is ints, got True"),
        (lambda: Tensor.zeros(-1), ValueError, r"zeros: a size cannot be negative, got \(-1,\)"),
        (lambda: Tensor.eye(2.5), TypeError, "eye: a shape is ints, got 2.5"),
        (lambda: _t.reshape("6"), TypeError, "reshape: a shape is ints, got '6'"),
        (lambda: Tensor.arange(0, 10, 0), ValueError, "arange: step must not be 0"),
        (lambda: Tensor(None), TypeError, "Tensor: data is None"),
        (lambda: Tensor([1.0], label=3), TypeError, "Tensor: label must be a string, got 3"),
        (lambda: _t.sum(axis=1.0), TypeError, "sum: an axis is an int, got float"),
        (lambda: _t.sum(keepdims="yes"), TypeError, "sum: keepdims must be True or False"),
        (lambda: _t.max(keepdims=1), TypeError, "max: keepdims must be True or False, got 1"),
        (lambda: _t.var(ddof=2.5), TypeError, "var: ddof must be an int, got 2.5"),
        (lambda: _t.var(ddof=-1), ValueError, "var: ddof must be 0 or more, got -1"),
        (lambda: Tensor([1.0]).requires_grad_("yes"), TypeError,
         "requires_grad_: requires_grad must be True or False"),
        (lambda: (_t * _t).sum().backward(create_graph="yes"), TypeError,
         "backward: create_graph must be True or False, got 'yes'"),
        (lambda: autograd.grad((_t * 2).sum(), [_t], allow_unused="no"), TypeError,
         "grad: allow_unused must be True or False, got 'no'"),
        (lambda: autograd.gradcheck(lambda a: a.sum(), [Tensor([1.0], dtype=np.float64,
         requires_grad=True)], eps=-1), ValueError, "gradcheck: eps must be positive"),
        (lambda: autograd.compile(Tensor), TypeError,
         "compile: expected a function, got the class Tensor"),
        (lambda: Tensor(np.ones(2, complex)), TypeError, "Tensor: complex numbers"),
        (lambda: Tensor([1.0], dtype=np.complex64), TypeError, "Tensor: dtype complex64"),
    ],
)  # fmt: skip
def test_a_mistake_in_a_call_is_named_never_coerced(
    call: Callable[[], object], kind: type, message: str
) -> None:
    """A value of the wrong kind or out of range is refused by name: "3" is no size,
    "no" no False (allow_unused="no" returned None where an error was asked for), and
    gradcheck with eps=-1 would pass anything."""
    with pytest.raises(kind, match=message):
        call()


def test_linear_takes_an_array_as_the_other_ops_do() -> None:
    x = np.ones((4, 3))
    out = autograd.linear(x, _t)
    np.testing.assert_array_equal(out.data, x @ _t.data.T)


def test_a_leaf_pickles_and_a_node_inside_a_graph_is_refused_by_name() -> None:
    import pickle

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    back = pickle.loads(pickle.dumps(x))
    np.testing.assert_array_equal(back.data, x.data)
    assert back.requires_grad
    for node in (x.tanh(), Value(1.0) * 2):
        with pytest.raises(TypeError, match=r"pickle of a .* inside a graph: .*detach"):
            pickle.dumps(node)
