"""Off the happy path: powers at zero, axes, empty tensors, dtypes, threads, precision.

Each case is either right (PyTorch, installed by the dev extra, is the oracle where it has
an answer) or a clear error that names the op and the input.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd import Tensor, Value, cross_entropy, grad, testing

# -- powers at zero --------------------------------------------------------------------------


def _torch_pow_grads(a: list[float], b: list[float]) -> tuple[np.ndarray, np.ndarray]:
    import torch  # the oracle, imported only where it is used

    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    (ta**tb).sum().backward()
    return ta.grad.numpy(), tb.grad.numpy()  # type: ignore[union-attr]


def test_tensor_to_tensor_powers_at_zero_match_pytorch() -> None:
    a, b = [0.0, 0.0, 0.0, 2.0, 0.0, 3.0, 0.0, 1.0], [0.0, 2.0, 0.5, 3.0, 1.0, 0.0, -0.5, 3.0]
    x = Tensor(a, requires_grad=True, dtype=np.float64)
    y = Tensor(b, requires_grad=True, dtype=np.float64)
    with np.errstate(divide="ignore"):  # 0^−0.5 = inf, which numpy warns about
        (x**y).sum().backward()
    expected_a, expected_b = _torch_pow_grads(a, b)
    np.testing.assert_array_equal(x.grad, expected_a)
    np.testing.assert_array_equal(y.grad, expected_b)


@pytest.mark.parametrize(("a", "b"), [(0.0, 0.0), (0.0, 2.0), (0.0, 1.0), (2.0, 0.0), (3.0, 2.0)])
def test_value_powers_at_zero_match_pytorch(a: float, b: float) -> None:
    x, y = Value(a), Value(b)
    (x**y).backward()
    expected_a, expected_b = _torch_pow_grads([a], [b])
    assert (x.grad, y.grad) == (expected_a[0], expected_b[0])


def test_x_to_the_zero_has_zero_gradient_everywhere() -> None:
    for point in (0.0, -2.0, 3.0):
        v = Value(point)
        (v**0).backward()
        assert v.grad == 0.0
    t = Tensor([0.0, -2.0, 3.0], requires_grad=True, dtype=np.float64)
    (t**0).sum().backward()
    np.testing.assert_array_equal(t.grad, [0.0, 0.0, 0.0])
    t.grad = None
    (t ** np.array([0.0, 1.0, 2.0])).sum().backward()  # an array exponent with a zero in it
    np.testing.assert_array_equal(t.grad, [0.0, 1.0, 6.0])


def test_the_second_derivative_of_x_to_the_one_at_zero_is_zero() -> None:
    for make in (lambda: Value(0.0), lambda: Tensor(0.0, requires_grad=True, dtype=np.float64)):
        x = make()
        (first,) = grad(x**1, [x], create_graph=True)
        (second,) = grad(first, [x], allow_unused=True)
        assert float(first.data) == 1.0
        assert second is None or float(second.data) == 0.0


def test_second_derivatives_of_a_power_stay_right_where_the_exponent_is_zero() -> None:
    # d²(a^b)/da db at b = 0 is 1/a: masking b = 0 everywhere would give 0.
    a = Tensor([2.0], requires_grad=True, dtype=np.float64)
    b = Tensor([0.0], requires_grad=True, dtype=np.float64)
    (ga,) = grad((a**b).sum(), [a], create_graph=True)
    (gab,) = grad(ga.sum(), [b])
    assert gab.data[0] == pytest.approx(0.5)


# -- axes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.transpose(2, 1),
        lambda t: t.transpose(0, -3),
        lambda t: t.sum(axis=2),
        lambda t: t.max(axis=-3),
        lambda t: t.softmax(axis=5),
        lambda t: t.log_softmax(axis=-3),
        lambda t: t.logsumexp(axis=2),
        lambda t: t.swapaxes(0, 2),
        lambda t: t.mean(axis=(0, 2)),
        lambda t: t.flatten(3),
    ],
)
def test_an_axis_out_of_range_is_numpys_axis_error(call: object) -> None:
    t = Tensor(np.zeros((2, 3)))
    with pytest.raises(np.exceptions.AxisError, match="out of range for a tensor of 2 dimensions"):
        call(t)  # type: ignore[operator]


def test_a_repeated_axis_and_a_non_permutation_are_refused() -> None:
    t = Tensor(np.zeros((2, 3)))
    with pytest.raises(np.exceptions.AxisError, match="repeats an axis"):
        t.sum(axis=(1, -1))
    with pytest.raises(ValueError, match="not a permutation"):
        t.transpose(1, 1)


@given(ndim=st.integers(0, 4), axis=st.integers(-6, 6))
def test_every_axis_is_accepted_exactly_when_numpy_accepts_it(ndim: int, axis: int) -> None:
    array = np.ones((2,) * ndim)
    t = Tensor(array)
    try:
        expected = np.sum(array, axis=axis)
    except np.exceptions.AxisError:
        if ndim == 0 and axis in (0, -1):  # PyTorch's rule for 0-d tensors, see below
            return
        with pytest.raises(np.exceptions.AxisError):
            t.sum(axis=axis)
        return
    np.testing.assert_array_equal(t.sum(axis=axis).data, expected)


def test_a_zero_dimensional_tensor_reduces_over_axis_zero_as_in_pytorch() -> None:
    import torch  # the oracle, imported only where it is used

    t = Tensor(3.0, requires_grad=True)
    assert t.sum(axis=0).item() == 3.0 and t.max(axis=-1).item() == 3.0
    assert torch.tensor(3.0).sum(dim=0).item() == 3.0


# -- empty tensors ---------------------------------------------------------------------------


def test_softmax_family_over_an_empty_axis_matches_pytorch() -> None:
    import torch  # the oracle, imported only where it is used

    empty = Tensor(np.zeros((3, 0)), requires_grad=True)
    assert empty.softmax().shape == (3, 0) and empty.log_softmax().shape == (3, 0)
    expected = torch.logsumexp(torch.zeros(3, 0), dim=1).numpy()
    np.testing.assert_array_equal(empty.logsumexp().data, expected)  # −inf, as PyTorch
    empty.softmax().sum().backward()
    assert empty.grad is not None and empty.grad.shape == (3, 0)


def test_max_of_an_empty_axis_is_refused_but_empty_rows_are_fine() -> None:
    rows = Tensor(np.zeros((0, 3)))
    assert rows.max(axis=1).shape == (0,) and rows.min(axis=-1, keepdims=True).shape == (0, 1)
    with pytest.raises(ValueError, match=r"max: axis 0 of the tensor of shape \(0, 3\) is empty"):
        rows.max(axis=0)
    with pytest.raises(ValueError, match="is empty"):
        rows.max()


def test_cross_entropy_of_no_rows_is_nan_and_backward_is_empty() -> None:
    import torch  # the oracle, imported only where it is used

    logits = Tensor(np.zeros((0, 3)), requires_grad=True)
    loss = cross_entropy(logits, np.zeros(0, dtype=np.int64))
    expected = torch.nn.functional.cross_entropy(
        torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)
    )
    assert np.isnan(loss.item()) and np.isnan(expected.item())
    loss.backward()
    assert logits.grad is not None and logits.grad.shape == (0, 3)
    assert cross_entropy(logits, np.zeros(0, np.int64), reduction="sum").item() == 0.0


def test_fit_evaluate_and_predict_with_no_samples() -> None:
    model = nn.MLP(2, [3, 2], rng=0)
    assert nn.predict(model, np.zeros((0, 2))).shape == (0, 2)
    with pytest.raises(ValueError, match=r"evaluate: X holds no samples \(shape \(0, 2\)\)"):
        nn.evaluate(model, np.zeros((0, 2)), np.zeros(0, np.int64))
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="fit: X holds no samples"):
        nn.fit(model, np.zeros((0, 2)), np.zeros(0, np.int64), loss=nn.cross_entropy,
               optimizer=opt, epochs=1, progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="fit: the validation X holds no samples"):
        nn.fit(model, np.ones((4, 2)), np.zeros(4, np.int64), loss=nn.cross_entropy,
               optimizer=opt, epochs=1, progress=False,
               validation=(np.zeros((0, 2)), np.zeros(0, np.int64)))  # fmt: skip


# -- dtypes ----------------------------------------------------------------------------------


def test_a_leafs_gradient_has_the_leafs_dtype_and_shape() -> None:
    w = Tensor(np.ones(3), requires_grad=True)  # float32
    x = Tensor(np.arange(3.0), dtype=np.float64)
    (w * x).sum().backward()
    assert w.grad.dtype == np.float32 and w.grad.shape == (3,)
    b = Tensor(np.zeros(1), requires_grad=True)
    (b + Tensor(np.ones((4, 3)), dtype=np.float64)).sum().backward()
    assert b.grad.dtype == np.float32 and b.grad.shape == (1,) and b.grad[0] == 12.0


def test_linear_layers_compute_in_their_parameters_dtype() -> None:
    layer = nn.Linear(3, 2, rng=0)
    x = Tensor(np.ones((4, 3)), requires_grad=True, dtype=np.float64)
    out = layer(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float64 and layer.weight.grad.dtype == np.float32
    opt = nn.optim.Adam(layer.parameters())
    opt.step()
    assert all(state["exp_avg"].dtype == np.float32 for state in opt.state)


def test_astype_is_differentiable_between_float_dtypes() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    y = (x.astype(np.float32) * 3.0).sum()
    y.backward()
    assert x.grad.dtype == np.float64 and x.grad.tolist() == [3.0, 3.0]
    assert not x.astype(np.int64).requires_grad


# -- threads ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["tensor", "large tensor", "value"])
def test_threads_back_propagating_into_one_leaf_lose_no_update(kind: str) -> None:
    """A one-element leaf and a large one: numpy lets go of the GIL while it adds large
    arrays, so without the engine's lock two threads would both read the old .grad."""
    leaf: Tensor | Value
    if kind == "value":
        leaf = Value(0.0)
    else:
        size = 200_000 if kind == "large tensor" else 1
        leaf = Tensor(np.zeros(size), requires_grad=True, dtype=np.float64)
    steps, threads = (300 if kind == "large tensor" else 4000), 4

    def work() -> None:
        for _ in range(steps):
            out = leaf * 1.0
            (out.sum() if isinstance(out, Tensor) else out).backward()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(interval)
    assert float(np.min(leaf.grad)) == steps * threads


# -- precision -------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(shift=st.floats(-1e4, 1e4), row=testing.arrays((5,), testing.floats(-3, 3)))
def test_float32_log_softmax_is_accurate_far_from_zero(shift: float, row: np.ndarray) -> None:
    logits = (row + shift).astype(np.float32)
    exact = logits.astype(np.float64)
    exact = exact - exact.max() - np.log(np.exp(exact - exact.max()).sum())
    z = Tensor(logits[None, :], requires_grad=True)
    out = z.log_softmax()
    np.testing.assert_allclose(out.data[0], exact, atol=4e-6)
    out.sum().backward()  # d Σ log softmax / dz = 1 − n·softmax: its row sums to 0
    assert abs(float(z.grad.sum())) < 2e-6
