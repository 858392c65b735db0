"""Promises kept by construction, stated as properties over the whole space.

- Writes: the array ``Tensor.data`` hands out is read-only to numpy, and the writes that
  get through are recorded. So, for **every** numpy function and every ndarray method,
  called with a tensor's data in every place a write can go: either the data is
  unchanged, or the backward through a graph that used it is a ``DataChangedError``.
- Constants: an array that enters an op is copied; a Tensor an op keeps is watched.
- Boundaries: where an array enters or leaves, it is copied, or shared and recorded.
- In-place operators follow PyTorch: in place under ``no_grad``, an error for a leaf
  that requires grad while recording, a new node for a node inside a graph.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tensor_rules import TENSOR_CASES

import nn
from autograd import (
    DataChangedError,
    Tensor,
    Value,
    cross_entropy,
    grad,
    no_grad,
    topological_order,
    where,
)
from autograd.versions import TrackedArray

# -- every write through .data: recorded or refused ----------------------------------------

#: numpy callables left out of the sweep: they print, touch files or global state, or
#: build arrays whose size comes from the data (none of them can write into an argument).
_NOT_SWEPT_PREFIXES = ("set", "save", "load", "show", "get", "from", "print", "test", "info")
_NOT_SWEPT = {
    "asarray_chkfinite",
    "errstate",
    "genfromtxt",
    "loadtxt",
    "memmap",
    "savetxt",
    "format_float_positional",
    "format_float_scientific",
    "array2string",
    "array_repr",
    "array_str",
    "busday_count",
    "busday_offset",
    "is_busday",
    "nested_iters",
    "nditer",
    "vectorize",
    "frompyfunc",
    "piecewise",
    "ndindex",
    "empty",
    "zeros",
    "ones",
    "full",
    "tile",
    "repeat",
    "indices",
    "arange",
    "eye",
    "identity",
    "tri",
    "unravel_index",
    "ravel_multi_index",
    "bincount",
    "histogram",
    "histogram2d",
    "histogramdd",
    "histogram_bin_edges",
    "linspace",
    "logspace",
    "geomspace",
    "pad",
    "vander",
    "resize",
    "kron",
}


def _numpy_callables() -> list[tuple[str, Callable[..., Any]]]:
    found = []
    for name in sorted(dir(np)):
        if name.startswith("_") or name.startswith(_NOT_SWEPT_PREFIXES) or name in _NOT_SWEPT:
            continue
        value = getattr(np, name)
        if callable(value) and not isinstance(value, type):
            found.append((name, value))
    return found


def _first_parameter(f: Callable[..., Any]) -> str | None:
    try:
        parameters = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return None
    return (
        parameters[0].name if parameters and parameters[0].kind.name != "VAR_POSITIONAL" else None
    )


def _placements(f: Callable[..., Any], other: np.ndarray) -> list[Callable[[Any], Any]]:
    """Every way a call can hand data to ``f`` where ``f`` might write into it."""
    calls: list[Callable[[Any], Any]] = [
        lambda d: f(d),
        lambda d: f(d, other),
        lambda d: f(d, 1),
        lambda d: f(other, d),
        lambda d: f(other, out=d),
        lambda d: f(other, other, out=d),
        lambda d: f(d, out=d),
        lambda d: f(other, other, d),  # an out given by position (np.dot(a, b, out))
    ]
    first = _first_parameter(f)
    if first is not None:
        calls.append(lambda d: f(**{first: d}, src=other))  # np.copyto(dst=..., src=...)
        calls.append(lambda d: f(other, **{first: d}))
    return calls


def _tensor() -> tuple[Tensor, Tensor]:
    """A leaf of small distinct numbers and a loss whose backward reads them."""
    x = Tensor(
        np.array([[0.25, 1.5, 2.0], [0.75, 1.25, 0.5]]), requires_grad=True, dtype=np.float64
    )
    return x, (x * x).sum()


def _arrays_in(result: Any) -> Iterator[np.ndarray]:
    if isinstance(result, np.ndarray):
        yield result
    elif isinstance(result, (tuple, list)):
        for part in result:
            yield from _arrays_in(part)


def _check_no_silent_write(call: Callable[[Tensor], Any]) -> None:
    """Run ``call`` on a tensor's data; a change to the data must fail the backward, and
    nothing it hands back may be a writable array of the tensor's memory (a later write
    through it would be unseen)."""
    x, loss = _tensor()
    before = x.numpy().copy()
    result = None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        with contextlib.suppress(Exception):  # refusing is fine; only a silent write is not
            result = call(x)
    for array in _arrays_in(result):
        shared = np.may_share_memory(array, x._data)
        assert not (shared and array.flags.writeable), "handed back a writable view of the data"
    after = np.asarray(x._data)
    if after.shape == before.shape and np.array_equal(after, before):
        return
    with pytest.raises(DataChangedError):
        loss.backward()


@pytest.mark.parametrize(("name", "f"), _numpy_callables(), ids=[n for n, _ in _numpy_callables()])
def test_no_numpy_function_writes_into_data_unseen(name: str, f: Callable[..., Any]) -> None:
    other = np.array([[3.0, -1.0, 0.5], [2.0, 1.0, -2.5]])
    for placement in _placements(f, other):
        _check_no_silent_write(lambda x, call=placement: call(x.data))


_METHOD_ARGUMENTS: list[tuple[Any, ...]] = [
    (),
    (0,),
    (1.0,),
    (0, 5.0),
    ([0, 1], [7.0, 8.0]),
    (True,),
]


def _ndarray_methods() -> list[str]:
    return sorted(
        name
        for name in dir(np.ndarray)
        if not name.startswith("__")
        and callable(getattr(np.ndarray, name))
        and name not in {"tofile", "dump", "dumps"}
    )


@pytest.mark.parametrize("method", _ndarray_methods())
def test_no_ndarray_method_writes_into_data_unseen(method: str) -> None:
    for arguments in _METHOD_ARGUMENTS:
        _check_no_silent_write(lambda x, a=arguments: getattr(x.data, method)(*a))
        _check_no_silent_write(lambda x, a=arguments: getattr(x.data[0], method)(*a))


#: The writes of the issue that once gave a silently wrong gradient, and what does them.
_WRITES_ONCE_UNSEEN: dict[str, Callable[[Tensor], Any]] = {
    "copyto by keyword": lambda x: np.copyto(dst=x.data, src=np.zeros((2, 3))),
    "flat item": lambda x: x.data.flat.__setitem__(0, 9.0),
    "flat assignment": lambda x: setattr(x.data, "flat", 9.0),
    "dot out=": lambda x: np.dot(np.eye(2), np.ones((2, 3)), out=x.data),
    "einsum out=": lambda x: np.einsum("ij->ij", np.ones((2, 3)), out=x.data),
    "take out=": lambda x: np.take(np.arange(6.0), [[0, 1, 2], [3, 4, 5]], out=x.data),
    "concatenate out=": lambda x: np.concatenate([np.ones((1, 3)), np.ones((1, 3))], out=x.data),
    "generator out=": lambda x: np.random.default_rng(0).standard_normal(out=x.data),
    "asarray then write": lambda x: np.asarray(x.data).__setitem__(0, 9.0),
    "view then write": lambda x: x.data.view(np.ndarray).__setitem__(0, 9.0),
    "memoryview": lambda x: memoryview(x.data).__setitem__((0, 0), 9.0),
    "sum out=": lambda x: np.sum(np.ones((4, 2, 3)), axis=0, out=x.data),
    "cumsum out= by position": lambda x: np.cumsum(np.ones((2, 3)), 1, None, x.data),
    "clip out=": lambda x: np.clip(x.data, 0.0, 1.0, out=x.data),
    "numpy() item": lambda x: x.numpy().__setitem__((0, 0), 9.0),
    "a view's item": lambda x: x.data.T[0].__setitem__(0, 9.0),
}


@pytest.mark.parametrize("way", sorted(_WRITES_ONCE_UNSEEN))
def test_each_write_of_the_issue_is_recorded_or_refused(way: str) -> None:
    _check_no_silent_write(_WRITES_ONCE_UNSEEN[way])


@pytest.mark.parametrize(
    "way",
    [
        lambda d: d.__setitem__((0, 0), 9.0),
        lambda d: d.__imul__(2.0),
        lambda d: np.copyto(d, 9.0),
        lambda d: np.copyto(dst=d, src=9.0),
        lambda d: np.add(d, 1.0, out=d),
        lambda d: np.dot(np.eye(2), np.ones((2, 3)), out=d),
        lambda d: np.add.at(d, (0, 0), 1.0),
        lambda d: d.fill(9.0),
        lambda d: d.sort(axis=0),
    ],
    ids=[
        "setitem",
        "imul",
        "copyto",
        "copyto-keywords",
        "ufunc-out",
        "dot-out",
        "ufunc-at",
        "fill",
        "sort",
    ],
)
def test_the_writes_that_get_through_write_and_are_recorded(way: Callable[[Any], Any]) -> None:
    x, loss = _tensor()
    before = x.numpy().copy()
    way(x.data)
    assert not np.array_equal(x.numpy(), before)
    with pytest.raises(DataChangedError, match="'mul'"):
        loss.backward()


def test_out_stamps_what_it_writes_not_what_it_reads() -> None:
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    uses_a, uses_b = (a * a).sum(), (b * b).sum()
    np.multiply(a.data, 2.0, out=b.data)  # reads a, writes b
    uses_a.backward()
    with pytest.raises(DataChangedError):
        uses_b.backward()


def test_plain_views_of_the_data_are_read_only() -> None:
    x = Tensor([1.0, 2.0])
    for plain in (np.asarray(x.data), x.data.view(np.ndarray), np.asarray(x), x.data[::-1]):
        assert not plain.flags.writeable
    assert memoryview(x.data).readonly
    assert x.data.copy().flags.writeable  # a copy is yours
    assert np.array(x).flags.writeable


def test_a_broadcast_result_stays_unwritable_through_every_write_that_gets_through() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    wide = x.broadcast_to((3, 2))
    with pytest.raises(ValueError, match="read-only"):
        wide.data[0, 0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        np.copyto(wide.data, 0.0)
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])


# -- ops keep copies of arrays and watch tensors ----------------------------------------------


def _ctx_arrays(ctx: Any) -> Iterator[np.ndarray]:
    if isinstance(ctx, np.ndarray):
        yield ctx
    elif isinstance(ctx, (tuple, list)):
        for part in ctx:
            yield from _ctx_arrays(part)


@pytest.mark.parametrize("name", sorted(TENSOR_CASES))
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_no_op_keeps_memory_it_neither_owns_nor_watches(name: str, data: st.DataObject) -> None:
    """Every op's saved constants share no memory with the caller's arrays, nor with a
    tensor that is not one of the op's inputs or watched constants."""
    fn, arrays = TENSOR_CASES[name](data)
    leaves = [Tensor(a, requires_grad=True, dtype=np.float64) for a in arrays]
    out = fn(*leaves)
    callers = list(arrays)
    nodes = topological_order([out])
    for node in nodes:
        allowed = [p._data for p in (*node.parents, *getattr(node, "_kept", ()), node)]
        for saved in _ctx_arrays(node._ctx):
            for array in callers:
                assert not np.may_share_memory(saved, array), f"{node.op} keeps a caller's array"
            for other in nodes:
                if any(other._data is a for a in allowed):
                    continue
                assert not np.may_share_memory(saved, other._data), f"{node.op} keeps {other.op}'s"


def _labels_case(t: Tensor) -> Tensor:
    logits = Tensor(np.arange(6.0).reshape(3, 2) / 7, requires_grad=True)
    return cross_entropy(logits, t)


#: Each op that keeps a Tensor's data as a constant: (the constant, the loss using it).
_KEEPERS: dict[str, Callable[[], tuple[Tensor, Tensor]]] = {
    "cross_entropy labels": lambda: (
        (t := Tensor(np.array([0, 1, 1]), dtype=np.int64)),
        _labels_case(t),
    ),
    "cross_entropy probabilities": lambda: (
        (t := Tensor([[0.5, 0.5], [0.25, 0.75], [1.0, 0.0]])),
        _labels_case(t),
    ),
    "where condition": lambda: (
        (t := Tensor([True, False, True], dtype=bool)),
        where(t, Tensor([1.0, 2.0, 3.0], requires_grad=True) ** 2, 0.0).sum(),
    ),
    "binary_cross_entropy target": lambda: (
        (t := Tensor([0.0, 1.0, 0.25])),
        Tensor([0.5, -1.0, 2.0], requires_grad=True).binary_cross_entropy(t).sum(),
    ),
    "getitem index": lambda: (
        (t := Tensor(np.array([2, 0]), dtype=np.int64)),
        (Tensor([1.0, 2.0, 3.0], requires_grad=True) ** 2)[t].sum(),
    ),
    "nn.cross_entropy labels": lambda: (
        (t := Tensor(np.array([1, 0]), dtype=np.int64)),
        nn.cross_entropy(Tensor([[0.5, 0.1], [-0.25, 0.3]], requires_grad=True) * 2.0, t),
    ),
}

#: Losses of nn whose targets may be copied rather than watched: a later change to the
#: target must then leave the gradient that of the forward that ran.
_LOSS_TARGETS: dict[str, Callable[[Tensor], tuple[Tensor, Tensor]]] = {
    name: (lambda x, t, loss=loss: loss(x * 2.0, t))
    for name, loss in {
        "mse_loss": nn.mse_loss,
        "l1_loss": nn.l1_loss,
        "binary_cross_entropy": nn.binary_cross_entropy,
        "hinge_loss": nn.hinge_loss,
    }.items()
}

_CONSTANT_WRITES: dict[str, Callable[[Tensor], None]] = {
    "item": lambda t: t.data.__setitem__(0, t.numpy()[1]),
    "copyto": lambda t: np.copyto(t.data, t.numpy()[::-1].copy()),
    "assignment": lambda t: setattr(t, "data", t.numpy()[::-1].copy()),
    "in place under no_grad": lambda t: t.__imul__(t),
}


@pytest.mark.parametrize("write", sorted(_CONSTANT_WRITES))
@pytest.mark.parametrize("keeper", sorted(_KEEPERS))
def test_a_tensor_an_op_keeps_is_watched(keeper: str, write: str) -> None:
    constant, loss = _KEEPERS[keeper]()
    with no_grad():
        _CONSTANT_WRITES[write](constant)
    with pytest.raises(DataChangedError, match=r"constant|input"):
        loss.backward()


@pytest.mark.parametrize("write", sorted(_CONSTANT_WRITES))
@pytest.mark.parametrize("loss", sorted(_LOSS_TARGETS))
def test_a_target_changed_after_the_loss_leaves_its_gradient_right(loss: str, write: str) -> None:
    """Never a silent wrong gradient: an error, or the gradient of the forward that ran."""
    make = _LOSS_TARGETS[loss]
    x = Tensor([[0.5], [-0.25]], requires_grad=True)
    expected = grad(make(x, Tensor([[1.0], [0.0]])), [x])[0].numpy()
    target = Tensor([[1.0], [0.0]])
    out = make(x, target)
    with no_grad():
        _CONSTANT_WRITES[write](target)
    try:
        (got,) = grad(out, [x])
    except DataChangedError:
        return
    np.testing.assert_array_equal(got.numpy(), expected)


@pytest.mark.parametrize(
    "op",
    [
        lambda x, a: x * a,
        lambda x, a: x + a,
        lambda x, a: x / (a + 10.0),
        lambda x, a: x**a,
        lambda x, a: where(a > 0.5, x, -x),
        lambda x, a: x[np.argsort(a)],
        lambda x, a: x.binary_cross_entropy(a / 10.0),
        lambda x, a: x.reshape(1, 3) @ a.reshape(3, 1),
        lambda x, a: nn.mse_loss(x, a),
    ],
    ids=["mul", "add", "div", "pow", "where", "getitem", "bce", "matmul", "mse_loss"],
)
def test_an_array_an_op_keeps_is_copied(op: Callable[[Tensor, np.ndarray], Tensor]) -> None:
    """A numpy array changed after the forward changes nothing: the gradient is that of
    the forward that ran (the array that entered was copied)."""
    a = np.array([1.0, 2.0, 3.0])
    x = Tensor([0.5, 1.5, 2.5], requires_grad=True, dtype=np.float64)
    expected = grad(op(x, a.copy()).sum(), [x])[0].numpy()
    out = op(x, a).sum()
    a *= -7.0
    (got,) = grad(out, [x])
    np.testing.assert_allclose(got.numpy(), expected)


@pytest.mark.parametrize("n", [2, 3, 5])
@pytest.mark.parametrize("position", range(11))
def test_a_change_to_any_input_of_an_op_with_many_is_seen(n: int, position: int) -> None:
    """A fused neuron has 2n + 1 inputs (weights, inputs, bias); its rule reads all but the
    bias: a change to any of them, the third and later too, is an error naming it."""
    if position >= 2 * n:
        return
    weights = [Value(0.5 + i) for i in range(n)]
    inputs = [Value(1.5 - i) for i in range(n)]
    out = Value.linear(weights, inputs, 1.0)
    (weights + inputs)[position].data = 9.0
    with pytest.raises(DataChangedError, match=f"input {position} "):
        out.backward()


# -- where arrays enter and leave: copied, or shared and recorded ------------------------------


def test_a_model_copies_its_numpy_input() -> None:
    model = nn.Linear(3, 1, rng=0)
    X = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    expected = grad(model(X.copy()).sum(), [model.weight])[0].numpy()
    out = model(X).sum()
    X *= 100
    np.testing.assert_array_equal(grad(out, [model.weight])[0].numpy(), expected)


#: What a model, a loss or a metric may do to the batch it is handed, by numpy habit.
_BATCH_WRITES: dict[str, Callable[[Any], None]] = {
    "x /= 255 under no_grad": lambda x: _under_no_grad(x.__itruediv__, 255.0),
    "x += 1": lambda x: x.__iadd__(1.0),
    "x.data[...] = 0": lambda x: x.data.__setitem__(Ellipsis, 0.0),
    "np.multiply(x.data, 2, out=x.data)": lambda x: np.multiply(x.data, 2.0, out=x.data),
    "an array written in place": lambda a: np.multiply(a, 0, out=a),
}


def _under_no_grad(update: Callable[[Any], Any], operand: Any) -> None:
    with no_grad():
        update(operand)


def _write_into(batch: Any, how: str) -> None:
    """Write into ``batch`` (a Tensor or an array) as ``how`` says; a write the batch's
    kind does not take (an array's ``.data``) is skipped, as is a refusal: what is asked
    is whether the caller's memory changed, not whether the write was allowed."""
    array_write = how == "an array written in place"
    if isinstance(batch, Tensor) == array_write:
        return
    with contextlib.suppress(Exception):
        _BATCH_WRITES[how](batch)


class _Writer(nn.Module):
    """A model that writes into its input before using it."""

    def __init__(self, how: str) -> None:
        self.lin = nn.Linear(3, 2, rng=0)
        self.how = how

    def forward(self, x: Tensor) -> Tensor:
        _write_into(x, self.how)
        return self.lin(x)


def _writing_loss(how: str) -> Callable[..., Any]:
    def loss(output: Tensor, target: np.ndarray, reduction: str = "mean") -> Tensor:
        result = nn.cross_entropy(output, target.copy(), reduction=reduction)
        _write_into(target, how)
        return result

    return loss


def _writing_metric(how: str) -> Callable[[np.ndarray, np.ndarray], float]:
    def metric(output: np.ndarray, labels: np.ndarray) -> float:
        _write_into(output, how)
        _write_into(labels, how)
        return 0.0

    return metric


def _entry_points(
    how: str, shuffle: bool, compiled: bool, size: int
) -> dict[str, Callable[..., Any]]:
    """Every public way the library hands a caller's data to a model, a loss or a metric."""

    def fit(X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray) -> Any:
        model = _Writer(how)
        return nn.fit(
            model, X, y, loss=_writing_loss(how), optimizer=nn.optim.SGD(model.parameters()),
            epochs=2, batch_size=size, shuffle=shuffle, validation=(X_val, y_val),
            evaluate_training=True, metrics=[_writing_metric(how)], progress=False,
            compile=compiled,
        )  # fmt: skip

    def evaluate(X: np.ndarray, y: np.ndarray, *_: Any) -> Any:
        return nn.evaluate(
            _Writer(how), X, y, loss=_writing_loss(how), metrics=[_writing_metric(how)],
            batch_size=size,
        )  # fmt: skip

    def batches(X: np.ndarray, y: np.ndarray, *_: Any) -> None:
        for xb, yb in nn.data.batches(X, y, size, shuffle=shuffle, rng=0):
            _write_into(xb, how)
            _write_into(yb, how)

    def loader(X: np.ndarray, y: np.ndarray, *_: Any) -> None:
        shared = nn.data.TensorDataset(Tensor.from_numpy(X), Tensor.from_numpy(y))
        for xb, yb in nn.data.DataLoader(shared, size, shuffle=shuffle, generator=0):
            _write_into(xb, how)
            _write_into(yb, how)

    return {
        "fit": fit,
        "evaluate": evaluate,
        "predict": lambda X, *_: nn.predict(_Writer(how), X, batch_size=size),
        "batches": batches,
        "DataLoader": loader,
    }


@settings(max_examples=60)
@given(
    entry=st.sampled_from(["fit", "evaluate", "predict", "batches", "DataLoader"]),
    how=st.sampled_from(sorted(_BATCH_WRITES)),
    shuffle=st.booleans(),
    compiled=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    size=st.integers(1, 7),
)
def test_a_model_loss_or_metric_never_gets_the_callers_memory(
    entry: str, how: str, shuffle: bool, compiled: bool, dtype: Any, size: int
) -> None:
    """Whatever a model, a loss or a metric writes into what it is handed, in place, by
    any route: the caller's X and y (training and validation data) are left as they
    were, by every entry point, shuffled or not, compiled or eager, of the model's dtype
    or converted. Each batch is an array of its own (``nn.data._rows``)."""
    rng = np.random.default_rng(0)
    X, X_val = rng.normal(size=(6, 3)).astype(dtype), rng.normal(size=(5, 3)).astype(dtype)
    y, y_val = np.array([0, 1, 1, 0, 1, 0]), np.array([1, 0, 1, 1, 0])
    before = [a.copy() for a in (X, y, X_val, y_val)]
    call = _entry_points(how, shuffle, compiled, size)[entry]
    with contextlib.suppress(TypeError, ValueError):  # a refused write may end the call
        call(X, y, X_val, y_val)
    for array, kept in zip((X, y, X_val, y_val), before):
        np.testing.assert_array_equal(array, kept)


def test_a_seed_is_copied_and_never_becomes_grad() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    seed = np.array([1.0, 1.0], dtype=np.float32)
    (x * 3.0).backward(seed)
    seed[:] = 100.0
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    x.grad[:] = 0.0
    np.testing.assert_array_equal(seed, [100.0, 100.0])


def test_gradients_handed_out_share_no_memory() -> None:
    a, b = Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    ga, gb = grad(a + b, [a, b])
    assert not np.may_share_memory(ga.numpy(), gb.numpy())
    (a + b).backward()
    assert not np.may_share_memory(a.grad, b.grad)


def test_every_boundary_follows_the_one_rule() -> None:
    """Copied where an array enters, unless shared by name (from_numpy, another tensor's
    data, detach), and then every write through the tensor is recorded."""
    array = np.array([1.0, 2.0])
    copied = [Tensor(array), Tensor([0.0, 0.0])]
    copied[1].data = array
    for t in copied:
        assert not np.may_share_memory(t.numpy(), array)
    shared = Tensor.from_numpy(array)
    assert np.may_share_memory(shared.numpy(), array)
    x = Tensor([1.0, 2.0], requires_grad=True)
    for share in (Tensor.detach, lambda t: Tensor.from_numpy(t.data), _assigned):
        sharer = share(x)
        loss = (x * x).sum()
        sharer.data[0] = 5.0
        assert x.numpy()[0] == 5.0
        with pytest.raises(DataChangedError):
            loss.backward()
        x.data = np.array([1.0, 2.0], dtype=np.float32)


def _assigned(x: Tensor) -> Tensor:
    t = Tensor([0.0, 0.0])
    t.data = x.data
    return t


def test_data_of_a_tensor_that_requires_grad_stays_floating_point() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        x.data = np.array([1, 2])


# -- in-place operators: PyTorch's rule ------------------------------------------------------

_IN_PLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": lambda a, b: a.__iadd__(b),
    "-=": lambda a, b: a.__isub__(b),
    "*=": lambda a, b: a.__imul__(b),
    "/=": lambda a, b: a.__itruediv__(b),
    "**=": lambda a, b: a.__ipow__(b),
}


@pytest.mark.parametrize("kind", ["Tensor", "Value"])
@pytest.mark.parametrize("op", sorted(_IN_PLACE))
def test_an_update_under_no_grad_is_in_place_and_keeps_the_parameter(op: str, kind: str) -> None:
    p = Tensor([2.0], requires_grad=True) if kind == "Tensor" else Value(2.0)
    loss = p * p
    with no_grad():
        result = _IN_PLACE[op](p, 0.5)
    assert result is p and p.requires_grad and p.is_leaf
    expected = {"+=": 2.5, "-=": 1.5, "*=": 1.0, "/=": 4.0, "**=": math.sqrt(2.0)}[op]
    assert float(np.asarray(p.data).reshape(-1)[0]) == pytest.approx(expected)
    with pytest.raises(DataChangedError):  # the update is a recorded write
        loss.backward()


@pytest.mark.parametrize("kind", ["Tensor", "Value"])
@pytest.mark.parametrize("op", sorted(_IN_PLACE))
def test_changing_a_leaf_that_requires_grad_in_place_is_an_error(op: str, kind: str) -> None:
    p = Tensor([2.0], requires_grad=True) if kind == "Tensor" else Value(2.0)
    with pytest.raises(RuntimeError, match="no_grad"):
        _IN_PLACE[op](p, 0.5)
    assert float(np.asarray(p.data).reshape(-1)[0]) == 2.0


@pytest.mark.parametrize("kind", ["Tensor", "Value"])
@pytest.mark.parametrize("op", sorted(_IN_PLACE))
def test_a_node_inside_a_graph_gets_a_new_node(op: str, kind: str) -> None:
    x = Tensor([2.0], requires_grad=True) if kind == "Tensor" else Value(2.0)
    y = x * 1.0
    z = _IN_PLACE[op](y, 0.5)
    assert z is not y and not z.is_leaf
    z_sum = z.sum() if kind == "Tensor" else z
    z_sum.backward()
    assert x.grad is not None


def test_the_pytorch_manual_update_trains_a_model() -> None:
    X, y = nn.datasets.blobs(60, rng=0)
    model = nn.MLP(2, [8, 3], rng=0)
    params = model.parameters()
    first = None
    for _ in range(30):
        loss = nn.cross_entropy(model(X.astype(np.float32)), y)
        first = first if first is not None else loss.item()
        for p in params:
            p.zero_grad()
        loss.backward()
        with no_grad():
            for p in params:
                p -= 0.5 * p.grad
    assert model.parameters() == params and all(p.requires_grad for p in params)
    assert loss.item() < first / 2
    assert set(model.state_dict()) == {name for name, _ in model.named_parameters()}


def test_a_parameter_cannot_be_replaced_by_an_update_outside_no_grad() -> None:
    model = nn.Linear(2, 1, rng=0)
    weight = model.weight
    with pytest.raises(RuntimeError, match="no_grad"):
        model.weight += 1.0
    assert model.weight is weight


def test_item_assignment_into_a_tensor_follows_the_same_rule() -> None:
    p = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        p[0] = 5.0
    loss = (p * p).sum()
    with no_grad():
        p[0] = 5.0
    assert p.numpy()[0] == 5.0
    with pytest.raises(DataChangedError):
        loss.backward()
    constant = Tensor([1.0, 2.0])
    constant[1] = 7.0
    assert constant.numpy()[1] == 7.0


# -- the engine's own mistakes a user can make -------------------------------------------------


@pytest.mark.parametrize("fn", [math.tanh, math.exp, math.log, float, math.sqrt])
def test_a_math_function_of_a_value_is_refused_naming_the_method(fn: Callable[[Any], Any]) -> None:
    with pytest.raises(TypeError, match=r"v\.tanh\(\)"):
        fn(Value(0.5))


def test_micrographs_constructor_never_gives_a_silent_gradient() -> None:
    """Value(data, _children, _op) keeps its inputs; where its _backward cannot serve (never
    assigned, assigned to a leaf or to a library op's node, a second derivative, a compiled
    step) it is an error that says how to add an op, never a gradient left at zero."""
    a, b = Value(1.0), Value(2.0)
    out = Value(3.0, (a, b), "+")
    assert out.parents == (a, b) and out._op == "+"
    with pytest.raises(RuntimeError, match=r"has no _backward.*Your own op"):
        (out * 2).backward()
    with pytest.raises(TypeError, match=r"is a leaf.*Your own op"):
        Value(3.0)._backward = lambda: None
    with pytest.raises(TypeError, match=r"the op 'mul'.*Your own op"):
        (a * b)._backward = lambda: None

    def add_back() -> None:
        a.grad += out.grad
        b.grad += out.grad

    out._backward = add_back
    with pytest.raises(RuntimeError, match=r"create_graph.*Your own op"):
        grad(out * out, a, create_graph=True)
    with pytest.raises(TypeError, match="requires_grad must be True or False"):
        Value(3.0, "yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="requires_grad must be True or False"):
        Tensor([1.0], requires_grad=(a,))  # type: ignore[arg-type]


def test_a_tracked_array_is_still_an_ndarray_to_read() -> None:
    x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    d = x.data
    assert isinstance(d, np.ndarray) and isinstance(d, TrackedArray)
    assert type(d + 1) is np.ndarray and type(np.sum(d)) is not TrackedArray
    assert float(d.sum()) == 10.0 and d.T[0, 1] == 3.0
