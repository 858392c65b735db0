"""Data changed between the forward and the backward is an error, never a wrong gradient.

Every way a user changes data is tried between a forward and its backward: assignment
and augmented assignment to ``.data``, item and slice assignment, in-place numpy calls,
an optimiser's step, ``load_state_dict``, and writes through views (indexing, reshape,
transpose, detach, ``numpy()``). The usual loop (forward, backward, step, forward) and
reads or writes of copies must not be mistaken for a change.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd import DataChangedError, Tensor, Value, grad, linear

Write = Callable[[Tensor], None]


def _cube_sum(x: Tensor) -> Tensor:
    return (x**3).sum()


def _x() -> Tensor:
    return Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, dtype=np.float64)


def _copyto(t: Tensor) -> None:
    np.copyto(t.data, 5.0)


def _ufunc_out(t: Tensor) -> None:
    np.multiply(t.data, 2.0, out=t.data)


def _add_at(t: Tensor) -> None:
    np.add.at(t.data, (0, 0), 1.0)


def _assign(t: Tensor) -> None:
    t.data = np.zeros((2, 2))


def _augmented(t: Tensor) -> None:
    t.data *= 2


def _item(t: Tensor) -> None:
    t.data[0, 1] = 5.0


def _slice(t: Tensor) -> None:
    t.data[:, 0] = -1.0


def _fill(t: Tensor) -> None:
    t.data.fill(0.5)


def _row_view(t: Tensor) -> None:
    row = t.data[1]
    row[0] = 9.0


def _numpy(t: Tensor) -> None:
    t.numpy()[1, 1] = 0.0


def _reshaped_array(t: Tensor) -> None:
    t.data.reshape(-1)[3] = 7.0


def _sort(t: Tensor) -> None:
    t.data[::-1].sort(axis=0)


WRITES: dict[str, Write] = {
    "assignment": _assign,
    "augmented assignment": _augmented,
    "item assignment": _item,
    "slice assignment": _slice,
    "view of .data": _row_view,
    "reshaped .data": _reshaped_array,
    "numpy()": _numpy,
    "np.copyto": _copyto,
    "ufunc out=": _ufunc_out,
    "ufunc.at": _add_at,
    "fill": _fill,
    "sort": _sort,
}

#: Tensors that share the leaf's memory, made by the ops that return views.
VIEWS: dict[str, Callable[[Tensor], Tensor]] = {
    "detach": lambda t: t.detach(),
    "reshape": lambda t: t.reshape(4),
    "flatten": lambda t: t.flatten(),
    "transpose": lambda t: t.T,
    "getitem": lambda t: t[0],
    "slice": lambda t: t[:, 1:],
}


@pytest.mark.parametrize("way", sorted(WRITES))
def test_a_write_to_the_leaf_after_the_forward_is_an_error_naming_the_op(way: str) -> None:
    x = _x()
    y = _cube_sum(x)
    WRITES[way](x)
    with pytest.raises(DataChangedError, match=r"the input 0 of 'pow_const' \(Tensor"):
        y.backward()
    assert x.grad is None  # nothing was half-written


@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("way", ["item assignment", "augmented assignment", "fill"])
def test_a_write_through_a_view_is_seen_by_the_tensor_it_views(view: str, way: str) -> None:
    x = _x()
    y = _cube_sum(x)
    shared = VIEWS[view](x)
    WRITES[way](shared) if way != "item assignment" else _write_first(shared)
    with pytest.raises(DataChangedError, match="pow_const"):
        y.backward()


def _write_first(t: Tensor) -> None:
    t.data[(0,) * t.ndim] = 123.0


@pytest.mark.parametrize("view", sorted(set(VIEWS) - {"detach"}))  # detached: no graph
def test_a_write_to_the_tensor_is_seen_by_its_views(view: str) -> None:
    x = _x()
    shared = VIEWS[view](x)
    y = (shared**3).sum()
    x.data[0, 0] = 11.0
    with pytest.raises(DataChangedError, match="pow_const"):
        y.backward()


def test_the_examples_of_the_issue() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    y = (x**3).sum()
    x.data *= 2
    with pytest.raises(DataChangedError):
        y.backward()
    a = Value(3.0)
    b = a * a
    a.data += 1
    with pytest.raises(DataChangedError, match=r"the input 0 of 'mul' \(Value\)"):
        b.backward()


def test_a_value_assignment_is_an_error_for_every_rule_that_reads_it() -> None:
    for make in (
        lambda v: v * v,
        lambda v: v.tanh(),
        lambda v: v.exp(),
        lambda v: v**2.5,
        lambda v: v.log(),
    ):
        v = Value(1.5)
        out = make(v)
        v.data = 2.0
        reads_input = out.op in {"mul", "pow_const", "log"}
        if reads_input:
            with pytest.raises(DataChangedError, match=out.op):
                out.backward()
        else:  # tanh and exp read their own output, which did not change: still right
            out.backward()


def test_a_changed_output_is_an_error_for_a_rule_that_reads_its_output() -> None:
    x = _x()
    h = x.tanh()
    y = (h * 2.0).sum()
    h.data[0, 0] = 0.0
    with pytest.raises(DataChangedError, match=r"the output of 'tanh'"):
        y.backward()


def test_a_change_that_no_rule_reads_is_not_an_error() -> None:
    x = _x()
    y = (x * 2.0 + 1.0).sum()  # mul_constant and add_constant read no data
    x.data[0, 0] = 100.0
    y.backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 2.0))


def test_a_write_to_data_the_graph_does_not_read_is_not_an_error() -> None:
    x, buffer = Value(2.0), Value(0.0)
    x.data = 3.0  # written before the forward: the graph reads the new data
    buffer.data = 1.0
    y = x * x
    buffer.data = 2.0  # after the forward, but y's rule never reads it
    y.backward()
    assert x.grad == 6.0


def test_an_optimiser_step_between_forward_and_backward_is_an_error() -> None:
    model = nn.Linear(3, 2, rng=0)
    x = Tensor(np.ones((4, 3)))
    loss = model(x).sum()
    loss.backward()
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    opt.step()
    with pytest.raises(DataChangedError, match="'linear'"):
        loss.backward()


@pytest.mark.parametrize("make", [nn.optim.SGD, nn.optim.Adam])
def test_the_usual_loop_never_trips_the_check(make: Callable[..., nn.optim.Optimizer]) -> None:
    model = nn.MLP(3, [4, 2], rng=0)
    opt = make(model.parameters(), lr=0.01)
    x, labels = Tensor(np.ones((5, 3))), np.array([0, 1, 0, 1, 1])
    for _ in range(5):
        opt.zero_grad()
        loss = nn.cross_entropy(model(x), labels)
        loss.backward()
        opt.step()
    scalar = nn.scalar.MLP(2, [3, 1], rng=0)
    sgd = nn.optim.SGD(scalar.parameters(), lr=0.1)
    for _ in range(3):
        sgd.zero_grad()
        out = scalar([Value(1.0), Value(-1.0)])
        value = out[0] if isinstance(out, list) else out
        (value * value).backward()
        sgd.step()


def test_load_state_dict_between_forward_and_backward_is_an_error() -> None:
    model = nn.Linear(3, 2, rng=0)
    loss = model(Tensor(np.ones((1, 3)))).sum()
    model.load_state_dict(nn.Linear(3, 2, rng=1).state_dict())
    with pytest.raises(DataChangedError, match="'linear'"):
        loss.backward()


def test_the_micrograd_update_between_two_backwards_is_an_error() -> None:
    w = Tensor([0.5, -0.5], requires_grad=True, dtype=np.float64)
    loss = (w * w).sum()
    loss.backward()
    w.data -= 0.1 * w.grad  # the lesson's update, then a stale second backward
    with pytest.raises(DataChangedError):
        loss.backward()


def test_reading_data_and_writing_copies_is_not_a_change() -> None:
    x = _x()
    y = _cube_sum(x)
    print(x.data, repr(x.data), x.data.sum(), x.data * 2, x.numpy().tolist())
    copy = x.data.copy()
    copy[0, 0] = 50.0
    picked = x.data[[0, 1]]  # fancy indexing copies
    picked[0, 0] = 50.0
    doubled = x.data * 2  # a new array
    doubled[0, 0] = 50.0
    np.asarray(x.data, dtype=np.float32)[0, 0] = 50.0  # a converted copy
    y.backward()
    np.testing.assert_array_equal(x.grad, 3 * np.array([[1.0, 2.0], [3.0, 4.0]]) ** 2)


def test_results_computed_from_data_are_plain_arrays() -> None:
    x = _x()
    assert type(x.data * 2) is np.ndarray
    assert type(np.exp(x.data)) is np.ndarray
    assert isinstance(x.data, np.ndarray) and repr(x.data).startswith("array(")


def test_assigning_data_after_the_forward_then_a_new_forward_is_right() -> None:
    x = _x()
    _cube_sum(x)
    x.data = np.ones((2, 2))
    y = _cube_sum(x)
    y.backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 3.0))


def test_the_check_applies_to_grad_and_to_create_graph() -> None:
    x = _x()
    y = _cube_sum(x)
    x.data[0, 0] = 0.0
    with pytest.raises(DataChangedError):
        grad(y, [x])
    with pytest.raises(DataChangedError):
        grad(y, [x], create_graph=True)


def test_a_weight_changed_between_linear_and_backward() -> None:
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    w = Tensor(np.ones((4, 3)), requires_grad=True)
    y = linear(x, w).sum()
    w.data[0] = 2.0
    with pytest.raises(DataChangedError, match=re.escape("the input 1 of 'linear' (Tensor")):
        y.backward()


@settings(max_examples=60, deadline=None)
@given(
    way=st.sampled_from(sorted(WRITES)),
    op=st.sampled_from(["mul", "pow_const", "log", "matmul", "max", "div", "abs"]),
)
def test_every_write_is_caught_by_every_op_that_reads_its_input(way: str, op: str) -> None:
    x = Tensor([[1.0, 2.0], [3.0, 4.5]], requires_grad=True, dtype=np.float64)
    other = Tensor([[0.5, 1.5], [2.5, 3.5]], requires_grad=True, dtype=np.float64)
    forward = {
        "mul": lambda: x * other,
        "pow_const": lambda: x**2.5,
        "log": lambda: x.log(),
        "matmul": lambda: x @ other,
        "max": lambda: x.max(axis=0),
        "div": lambda: other / x,
        "abs": lambda: x.abs(),
    }[op]
    y = forward().sum()
    WRITES[way](x)
    with pytest.raises(DataChangedError, match=op):
        y.backward()


def test_a_tensor_made_from_another_tensors_data_shares_its_write_record() -> None:
    x = _x()
    y = _cube_sum(x)
    shared = Tensor.from_numpy(x.data)
    assert type(shared._data) is np.ndarray  # the engine works on plain arrays
    shared.data[0, 0] = 0.0
    with pytest.raises(DataChangedError):
        y.backward()


def test_subtract_data_updates_in_place_and_counts_as_a_write() -> None:
    w = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    memory = w.numpy()
    loss = (w * w).sum()
    w.subtract_data_(np.array([0.5, 0.25]))  # float64: rounded into the float32 data
    assert w.data.dtype == np.float32 and np.shares_memory(np.asarray(w.data), memory)
    np.testing.assert_array_equal(w.data, np.array([0.5, 1.75], dtype=np.float32))
    with pytest.raises(DataChangedError, match="'mul'"):
        loss.backward()
    v = Value(3.0)
    product = v * v
    v.subtract_data_(1.0)
    assert v.data == 2.0
    with pytest.raises(DataChangedError):
        product.backward()


def test_subtract_data_refuses_a_delta_that_would_broadcast() -> None:
    w = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match=r"delta of shape \(1,\) does not fit data of shape"):
        w.subtract_data_(np.ones(1))
    np.testing.assert_array_equal(w.data, np.ones(3))  # nothing was written
    w.subtract_data_(0.5)  # one number for every element is what it says
    np.testing.assert_array_equal(w.data, np.full(3, 0.5))
    matrix = Tensor(np.ones((2, 3)), requires_grad=True)
    for shape in [(3,), (1, 3), (2, 1), (3, 2), (2, 3, 1)]:  # rows, columns, or no fit at all
        with pytest.raises(ValueError, match=rf"delta of shape \({shape[0]},"):
            matrix.subtract_data_(np.ones(shape))
    np.testing.assert_array_equal(matrix.data, np.ones((2, 3)))


def test_memory_freed_while_a_record_of_writes_is_made_does_not_deadlock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A garbage collection can run while a record is made (any allocation may start one)
    and free another recorded array, whose record then goes: in the same thread, under
    the lock that making a record holds."""
    import gc
    import threading
    import types

    from autograd import versions

    holder = types.SimpleNamespace(array=np.ones(3))
    holder.itself = holder  # a cycle: freed only by a collection
    versions.storage_of(holder.array)
    del holder
    make = versions.Storage

    def collecting() -> versions.Storage:
        gc.collect()
        return make()

    monkeypatch.setattr(versions, "Storage", collecting)
    worker = threading.Thread(target=versions.storage_of, args=(np.ones(3),), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "storage_of deadlocked"
