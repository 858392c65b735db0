"""Data changed between the forward and the backward is an error, never a wrong gradient.

Every way a user changes data is tried between a forward and its backward: assignment
and augmented assignment to ``.data``, item and slice assignment, in-place numpy calls,
an optimiser's step, ``load_state_dict``, and writes through views (indexing, reshape,
transpose, detach, ``numpy()``). The usual loop (forward, backward, step, forward) and
reads or writes of copies must not be mistaken for a change.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
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


# -- the handed-out array against a plain ndarray: numpy is the oracle ------------------------

#: Operations on an array: (whether it writes, the call). Each runs on a tensor's ``.data``
#: (or a view of it) and on a plain copy of the same numbers; numpy decides what is right.
_ARRAY_OPS: dict[str, tuple[bool, Callable[[np.ndarray], object]]] = {
    "sum": (False, lambda a: a.sum()),
    "add": (False, lambda a: np.add(a, 1)),
    "copy": (False, lambda a: a.copy()),
    "byteswapped copy": (False, lambda a: a.byteswap()),
    "sorted copy": (False, lambda a: np.sort(a, axis=None)),
    "read by ufunc.at": (False, lambda a: _added_at(np.zeros(a.shape), a)),
    "like= of a function with no signature": (False, lambda a: np.fromstring("1", sep=" ", like=a)),
    "item": (True, lambda a: a.__setitem__((0,) * a.ndim, 7)),
    "every other": (True, lambda a: a.__setitem__(slice(None, None, 2), 5)),
    "+=": (True, lambda a: a.__iadd__(2)),
    "ufunc out=": (True, lambda a: np.add(a, 3, out=a)),
    "two outputs": (True, lambda a: np.divmod(a, 2, out=(a, np.empty_like(a)))),
    "ufunc.at": (True, lambda a: np.add.at(a, (0,) * a.ndim, 1)),
    "copyto": (True, lambda a: np.copyto(a, 2)),
    "copyto by keyword": (True, lambda a: np.copyto(dst=a, src=4)),
    "cumsum out= by position": (True, lambda a: np.cumsum(np.ones(a.shape), -1, None, a)),
    "put": (True, lambda a: np.put(a, [0], [9])),
    "put method": (True, lambda a: a.put([0], [9])),
    "putmask": (True, lambda a: np.putmask(a, a > 1, 0)),
    "fill": (True, lambda a: a.fill(6)),
    "sort": (True, lambda a: a.sort()),
    "partition": (True, lambda a: a.partition(0)),
    "byteswap in place": (True, lambda a: a.byteswap(True)),
}


def _added_at(into: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``into`` after np.add.at adds ``values`` (the array read) into all of it."""
    np.add.at(into, (slice(None),) * into.ndim, values)
    return into


#: A dtype of the same item size, for ``array.dtype = ...`` in place.
_SAME_SIZE = {
    np.dtype(np.float32): np.int32,
    np.dtype(np.float64): np.int64,
    np.dtype(np.int32): np.float32,
    np.dtype(np.bool_): np.uint8,
}

#: Changes of the handed-out array itself that write nothing: its shape or its dtype.
_IN_PLACE_CHANGES: dict[str, Callable[[np.ndarray], None]] = {
    "none": lambda a: None,
    "reshaped to a row": lambda a: setattr(a, "shape", (1, -1)),
    "reshaped to a column": lambda a: setattr(a, "shape", (-1, 1)),
    "flattened": lambda a: setattr(a, "shape", (-1,)),
    "retyped": lambda a: setattr(a, "dtype", _SAME_SIZE[a.dtype]),
}

_VIEWS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "itself": lambda a: a,
    "reversed": lambda a: a[::-1],
    "transposed": lambda a: a.T,
    "flattened": lambda a: a.reshape(-1),
    "first half": lambda a: a[: (len(a) + 1) // 2],
}


def _outcome(call: Callable[[np.ndarray], object], a: np.ndarray) -> tuple[object, type | None]:
    """What ``call(a)`` returns, or the type of the exception it raises."""
    try:
        with np.errstate(all="ignore"):
            return call(a), None
    except Exception as error:  # the same refusal is the expected outcome
        return None, type(error)


def _same_result(got: object, expected: object, tracked: np.ndarray, plain: np.ndarray) -> None:
    """``got`` (of the tracked array) is what ``expected`` is of the plain one."""
    if expected is plain:  # numpy hands back the array it wrote: the tracked one, itself
        assert got is tracked
    elif isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            _same_result(g, e, tracked, plain)
    elif isinstance(expected, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype == expected.dtype
        assert got.shape == expected.shape and got.tobytes() == expected.tobytes()
    else:
        assert got == expected or (got != got and expected != expected)  # nan is nan


@pytest.mark.parametrize("change", sorted(_IN_PLACE_CHANGES))
@pytest.mark.parametrize("view", sorted(_VIEWS))
def test_the_data_acts_as_a_plain_array_and_records_exactly_its_writes(
    view: str, change: str
) -> None:
    """Every read and write, on ``.data`` or a view of it, whose shape or dtype may have
    been set in place, for every dtype: the same as on a writable ndarray of the same
    numbers (the same results, the written array handed back being the tracked one; the
    same memory afterwards), and a new stamp on the tensor's memory for each write and
    only then. numpy itself is the oracle."""
    numbers = np.random.default_rng(0).integers(-3, 4, size=(2, 3, 2))
    for dtype in _SAME_SIZE:
        for shape in [(3,), (2, 3), (2, 1, 2), (2, 3, 2)]:
            for name, (writes, op) in _ARRAY_OPS.items():
                t = Tensor(numbers.reshape(-1)[: np.prod(shape)].reshape(shape), dtype=dtype)
                plain_memory = np.array(t.numpy())  # an ndarray: .copy() keeps the subclass
                assert type(plain_memory) is np.ndarray
                tracked, plain = _VIEWS[view](t.data), _VIEWS[view](plain_memory.view())
                _, refused = _outcome(_IN_PLACE_CHANGES[change], plain)
                if refused is not None:  # numpy cannot do that change to this view
                    continue
                _IN_PLACE_CHANGES[change](tracked)
                storage = t._storage
                assert storage is not None
                before = storage.written_at
                expected, expected_error = _outcome(op, plain)
                got, error = _outcome(op, tracked)
                where = f"{name} on {dtype} {shape}"
                assert error is expected_error, where
                if expected_error is None:
                    _same_result(got, expected, tracked, plain)
                assert (tracked.shape, tracked.dtype) == (plain.shape, plain.dtype), where
                assert tracked.view(np.ndarray).tobytes() == plain.tobytes(), where
                assert t.numpy().tobytes() == plain_memory.tobytes(), where
                assert (storage.written_at > before) is writes, where


def test_a_write_through_any_view_of_a_broadcast_result_is_refused() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    wide = x.broadcast_to((3, 2))
    for write in (
        lambda: wide.data[0].__setitem__(0, 5.0),
        lambda: wide.data.T.fill(1.0),
        lambda: np.copyto(wide.data[::-1], 0.0),
        lambda: np.add(wide.data[1], 1.0, out=wide.data[1]),
    ):
        with pytest.raises(ValueError, match="read-only"):
            write()
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])


def test_the_methods_that_record_writes_keep_numpys_names_and_documentation() -> None:
    from autograd.versions import TrackedArray

    for name in ("fill", "put", "sort", "partition", "setfield", "byteswap"):
        method = getattr(TrackedArray, name)
        assert method.__name__ == name
        if name != "byteswap":  # byteswap is written out: its own short signature
            assert method.__doc__ == getattr(np.ndarray, name).__doc__


def test_data_never_written_is_unchanged_from_the_first_graph_of_a_program() -> None:
    """In a new program, the first graph reads data that was never written (only read):
    a write to another tensor afterwards (which makes the engine look) is not a change."""
    code = (
        "from autograd import Tensor\n"
        "x = Tensor([1.0, 2.0], requires_grad=True)\n"
        "x.data\n"
        "y = (x * x).sum()\n"
        "other = Tensor([0.0])\n"
        "other.data[0] = 1.0\n"
        "y.backward()\n"
        "print(x.grad.tolist())\n"
    )
    root = str(Path(autograd.__file__).resolve().parent.parent)  # the autograd under test
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": root},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[2.0,", "4.0]"]


def test_memory_collected_while_a_record_is_being_made_does_not_deadlock() -> None:
    """The garbage collector may free an owner of recorded memory in the middle of
    ``storage_of`` (any allocation can start a collection), on the thread that holds its
    lock; the owner's callback must then not wait for that lock. Collected as often as
    possible here, with owners kept in reference cycles so only the collector frees them;
    run on a thread so that a deadlock fails the test instead of hanging the suite."""
    import gc
    import threading

    from autograd import versions

    def churn() -> None:
        threshold = gc.get_threshold()
        gc.set_threshold(1, 1, 1)
        try:
            for _ in range(3000):
                owner = np.zeros(2)
                versions.storage_of(owner)
                cycle: list[object] = [owner]
                cycle.append(cycle)  # so that the collector alone frees it
                fresh = np.zeros(2)
                del owner, cycle  # garbage now, with no allocation since...
                versions.storage_of(fresh)  # ...so the collection comes inside this call
        finally:
            gc.set_threshold(*threshold)

    worker = threading.Thread(target=churn, daemon=True)
    worker.start()
    worker.join(timeout=300)  # a guard against a hang, not a measure of time
    assert not worker.is_alive(), "storage_of deadlocked on a collection inside it"
    gc.collect()
    assert all(entry[0]() is not None for entry in versions._records.values())


def test_a_record_outlives_its_owner_by_no_collection() -> None:
    """Once the owning array is gone, so is its record; a record made later for another
    array with the same id is not removed by the first one's callback."""
    import gc

    from autograd import versions

    owner = np.zeros(3)
    key = id(owner)
    first = versions.storage_of(owner)
    reference = versions._records[key][0]
    del owner
    gc.collect()
    assert key not in versions._records
    again = np.zeros(3)
    second = versions.storage_of(again)
    assert second is not first
    versions._forget(id(again), reference)  # a late callback for the old owner: no effect
    assert versions.storage_of(again) is second


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

    # the same here: a record of memory never written is not after a new clock's start
    from autograd.versions import Storage, _Clock

    assert Storage().written_at <= _Clock().now


def test_records_are_made_and_forgotten_while_the_garbage_collector_frees_their_owners() -> None:
    """Making a record allocates, an allocation can run the garbage collector, and an
    owner it frees forgets its record at once, on the same thread: that must not wait
    for the lock the record being made holds (it did: the program hung). Every tensor
    here is in a cycle, so only the collector frees it; after the loop no record is
    left, and a write is still seen."""
    code = (
        "import gc\n"
        "from autograd import Tensor, DataChangedError\n"
        "from autograd.versions import _records\n"
        "gc.set_threshold(1)\n"
        "for i in range(200):\n"
        "    box = [Tensor([float(i)])]\n"
        "    box.append(box)\n"
        "    box[0].data\n"
        "    del box\n"
        "gc.collect()\n"
        "print(len(_records))\n"
        "x = Tensor([1.0, 2.0], requires_grad=True)\n"
        "y = (x * x).sum()\n"
        "x.data[0] = 3.0\n"
        "try:\n"
        "    y.backward()\n"
        "except DataChangedError:\n"
        "    print('seen')\n"
    )
    root = str(Path(autograd.__file__).resolve().parent.parent)  # the autograd under test
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": root},
        check=False,
        timeout=60,  # only against a hang: the loop takes well under a second
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "seen"]


#: Arrays made from one plain block of memory: (whether it is a view of that block, how).
_OF_ONE_BLOCK: dict[str, tuple[bool, Callable[[np.ndarray], np.ndarray]]] = {
    "the block": (True, lambda a: a),
    "reversed": (True, lambda a: a[::-1]),
    "its tail": (True, lambda a: a[1:]),
    "its head": (True, lambda a: a[:1]),
    "a column": (True, lambda a: a.reshape(-1, 1)),
    "a view of a view": (True, lambda a: a[1:][::-1].reshape(1, -1)),
    "a copy": (False, lambda a: a.copy()),
    "a copy's view": (False, lambda a: a.copy()[::-1]),
}

_WRITES = sorted(name for name, (writes, _) in _ARRAY_OPS.items() if writes)


@given(
    first=st.sampled_from(sorted(_OF_ONE_BLOCK)),
    second=st.sampled_from(sorted(_OF_ONE_BLOCK)),
    first_read_before=st.booleans(),
    second_read_before=st.booleans(),
    write=st.sampled_from(_WRITES),
)
def test_tensors_of_one_block_share_one_record_however_each_was_made(
    first: str, second: str, first_read_before: bool, second_read_before: bool, write: str
) -> None:
    """Two tensors handed arrays of one plain block (each made by from_numpy, each
    with its record made before the forward or not): a write through the second's data
    is a change to the first's whenever both views are of the block, and never when the
    second is of a copy. The record is found from the memory, whichever tensor made it
    first."""
    block = np.array([1.0, 2.0, 3.0, 4.0])
    first_shares, make_first = _OF_ONE_BLOCK[first]
    second_shares, make_second = _OF_ONE_BLOCK[second]
    x = Tensor.from_numpy(make_first(block), requires_grad=True)
    other = Tensor.from_numpy(make_second(block))
    if first_read_before:
        x.data  # its record is made now, before the forward
    if second_read_before:
        other.data
    y = (x * x).sum()
    _ARRAY_OPS[write][1](other.data)
    if first_shares and second_shares:
        with pytest.raises(DataChangedError, match="'mul'"):
            y.backward()
    else:
        y.backward()
        np.testing.assert_array_equal(x.grad, 2 * make_first(np.array([1.0, 2.0, 3.0, 4.0])))
