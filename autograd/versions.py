"""Catch data that changed after the graph used it, the way PyTorch's version counters do.

A backward pass reads the data the forward saw: a product's rule multiplies by the other
factor, tanh's by its own output. If that data is changed between the forward and the
backward, the gradient is silently wrong. So every write to a node's data is recorded:

- a global ``clock`` counts writes; a node remembers the count when it was made
  (``Node._epoch``);
- a write stamps the written memory (a ``Storage``, shared by a tensor and every view of
  its memory) with a new count;
- before a rule runs, the engine compares: memory the rule reads that was stamped after
  the node was made raises ``DataChangedError``, naming the op. When no write happened
  since the node was made (the usual training loop) the check is one comparison. As in
  PyTorch, the error comes during the backward: leaves it reached first may hold part of
  a gradient, so ``zero_grad()`` before running the forward again.

The promise is kept by construction, not by a list of the writes we thought of: the
array that ``Tensor.data`` and ``Tensor.numpy()`` hand out is **read-only** to numpy
(a ``TrackedArray``). numpy refuses every write to a read-only array, in every function,
with its own error; the writes this module can record are let through a writable view of
the same memory and stamped: item and slice assignment, in-place operators and ufuncs
(``out=``, ``ufunc.at``), numpy functions given the array as ``out=`` (``np.dot``,
``np.einsum``, ``np.cumsum`` ...), the functions that write into an argument
(``np.copyto``, ``np.put``, ``np.place``, ``np.putmask``, ``np.fill_diagonal``,
``np.put_along_axis``), and the methods ``fill``, ``put``, ``sort``, ``partition``,
``setfield`` and ``byteswap(inplace=True)``. Any other write (``.flat``, a Generator's
``out=``, an ``out`` given by position) is numpy's read-only error, never a silent one.
Plain views taken from it (``np.asarray(t.data)``, ``memoryview``) are read-only too.

Not seen, because nothing of the tensor is involved: writes to an array handed to
``Tensor.from_numpy`` made through the caller's own array, and writes by code that sets
the writeable flag itself or reaches the memory another way (``.base``, ctypes on the
caller's array).
"""

from __future__ import annotations

import functools
import inspect
import threading
import weakref
from typing import Any

import numpy as np


class DataChangedError(RuntimeError):
    """The data an op saved for its backward changed between the forward and the backward."""


class _Clock:
    """The number of writes so far, program-wide; only ever grows."""

    __slots__ = ("now", "_lock")

    def __init__(self) -> None:
        self.now = 0
        self._lock = threading.Lock()

    def tick(self) -> int:
        with self._lock:
            self.now += 1
            return self.now


clock = _Clock()


class Storage:
    """The memory behind a node's data, shared with its views: when it was last written."""

    __slots__ = ("written_at",)

    def __init__(self) -> None:
        self.written_at = 0

    def mark_written(self) -> None:
        """Stamp this memory as written now."""
        self.written_at = clock.tick()


# -- one record of writes per block of memory ----------------------------------------------
#
# Tensors that share memory must share its record, or a write through one is unseen by the
# other's graph: a view (reshape, T, detach), another tensor's data handed to from_numpy,
# two from_numpy of one array, a copy.copy. Rather than pass the record along every way
# memory can be shared (and miss one), the record belongs to the memory itself: to the
# array that owns it, found by following ``.base``. Any array that views the memory, made
# any way, finds the same record.

_records: dict[int, tuple[Any, Storage]] = {}
#: Reentrant: making a record allocates, an allocation can start the garbage collector,
#: and an owner it frees calls ``_forget`` on the same thread while the lock is held.
_records_lock = threading.RLock()


def _owner(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory ``array`` views (itself, if it owns it)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def storage_of(array: np.ndarray) -> Storage:
    """The record of writes of the memory behind ``array``, made on first use."""
    owner = _owner(array)
    key = id(owner)
    with _records_lock:
        entry = _records.get(key)
        if entry is not None and entry[0]() is owner:
            return entry[1]
        storage = Storage()
        _records[key] = (weakref.ref(owner, functools.partial(_forget, key)), storage)
        return storage


def existing_storage(array: Any) -> Storage | None:
    """The record of the memory behind ``array``, if any tensor of that memory made one."""
    if not isinstance(array, np.ndarray):
        return None
    owner = _owner(array)
    entry = _records.get(id(owner))
    return entry[1] if entry is not None and entry[0]() is owner else None


def _forget(key: int, _: Any) -> None:
    """The owner of memory ``key`` is gone: its record goes too (its id may be reused)."""
    with _records_lock:
        _records.pop(key, None)


def _reports_write(method: Any) -> Any:
    """``method`` of ndarray run on the writable memory behind the array, then stamped."""

    @functools.wraps(method)
    def wrapper(self: TrackedArray, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(writable_view(self), *args, **kwargs)
        finally:
            self._written()

    return wrapper


class TrackedArray(np.ndarray):
    """A read-only numpy view of a tensor's memory that lets through the writes it records.

    ``Tensor.data`` returns one: an ndarray in every respect but writes. The results of
    ufuncs computed from it are plain ndarrays. Views of it (slices, reshapes,
    transposes) are TrackedArrays of the same storage, read-only as well; copies
    (``copy()``, ``astype``, fancy indexing) belong to nobody and are writable.
    """

    #: The record of the tensor's memory (None on a copy, which is nobody's).
    _storage: Storage | None = None
    #: Whether the tensor's memory itself may be written (a broadcast view may not).
    _memory_writable: bool = True
    #: The tensor's own array, on the view that ``Tensor.data`` returned (not on views of it).
    _source: np.ndarray | None = None

    def __array_finalize__(self, obj: Any) -> None:
        storage = getattr(obj, "_storage", None)
        if storage is not None and not np.may_share_memory(self, obj):
            storage = None  # a copy (astype, fancy indexing): its writes change nothing of ours
        self._storage = storage
        if storage is not None:
            self._memory_writable = obj._memory_writable

    def _written(self) -> None:
        if self._storage is not None:
            self._storage.mark_written()

    def __repr__(self) -> str:
        return repr(self.view(np.ndarray))

    def __setitem__(self, index: Any, value: Any) -> None:
        try:
            writable_view(self)[_plain(index)] = _plain(value)
        finally:
            self._written()

    def __array_ufunc__(
        self, ufunc: np.ufunc, method: str, *inputs: Any, out: Any = None, **kwargs: Any
    ) -> Any:
        plain = [_plain(x) for x in inputs]
        if method == "at":  # np.add.at(t.data, indices, values) writes into its first input
            target = inputs[0]
            if type(target) is TrackedArray:
                plain[0] = writable_view(target)
            try:
                return ufunc.at(*plain, **kwargs)
            finally:
                if type(target) is TrackedArray:
                    target._written()
        if out is None:
            return getattr(ufunc, method)(*plain, **kwargs)  # a new array: a plain one
        try:
            getattr(ufunc, method)(*plain, out=tuple([_destination(x) for x in out]), **kwargs)
        finally:
            for x in out:
                if type(x) is TrackedArray:
                    x._written()
        return out[0] if len(out) == 1 else out  # in place: hand back what was written

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        targets = _written_arguments(func, args, kwargs)
        if not targets:
            return super().__array_function__(func, types, args, kwargs)
        args, kwargs = list(args), dict(kwargs)
        writable: dict[int, Any] = {}
        for where, array in targets:
            writable[id(array)] = _destination(array)
            if isinstance(where, int):
                args[where] = writable[id(array)]
            elif where == "out" and isinstance(kwargs["out"], tuple):
                kwargs["out"] = tuple(writable.get(id(x), x) for x in kwargs["out"])
            else:
                kwargs[where] = writable[id(array)]
        try:
            result = super().__array_function__(func, types, tuple(args), kwargs)
        finally:
            for _, array in targets:
                array._written()
        for _, array in targets:  # `out` handed back: the tracked array, never the writable one
            if result is writable[id(array)]:
                return array
        return result

    # the ndarray methods that write into the array
    fill = _reports_write(np.ndarray.fill)
    put = _reports_write(np.ndarray.put)
    sort = _reports_write(np.ndarray.sort)
    partition = _reports_write(np.ndarray.partition)
    setfield = _reports_write(np.ndarray.setfield)

    def byteswap(self, inplace: bool = False) -> Any:
        if not inplace:
            return super().byteswap(False)
        try:
            writable_view(self).byteswap(True)
        finally:
            self._written()
        return self  # as numpy's: the array itself, never the writable memory behind it


#: numpy functions that write into an argument other than ``out``, and its name.
_WRITERS: dict[Any, str] = {
    f: argument
    for f, argument in (
        (getattr(np, name, None), argument)
        for name, argument in (
            ("copyto", "dst"),
            ("put", "a"),
            ("place", "arr"),
            ("putmask", "a"),
            ("fill_diagonal", "a"),
            ("put_along_axis", "arr"),
        )
    )
    if f is not None
}


@functools.cache
def _parameters(func: Any) -> tuple[str, ...] | None:
    """The names of ``func``'s positional parameters, or None if numpy does not say."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return tuple(p.name for p in parameters if p.kind in positional)


def _written_arguments(func: Any, args: Any, kwargs: Any) -> list[tuple[int | str, TrackedArray]]:
    """Where a numpy function call writes into a TrackedArray: (position or name, array).

    A function writes into its ``out`` (by name or by position) and the writers above into
    their destination. Everything else numpy does to a read-only array is a read.
    """
    names = [_WRITERS[func], "out"] if func in _WRITERS else ["out"]
    targets: list[tuple[int | str, TrackedArray]] = []
    for name in names:
        if name in kwargs:
            value = kwargs[name]
            values = value if isinstance(value, tuple) else (value,)
            targets += [(name, x) for x in values if type(x) is TrackedArray]
            continue
        parameters = _parameters(func)
        if parameters is not None and name in parameters:
            position = parameters.index(name)
            if position < len(args) and type(args[position]) is TrackedArray:
                targets.append((position, args[position]))
    return targets


def writable_view(x: TrackedArray) -> np.ndarray:
    """A writable plain view of the memory behind ``x`` (read-only where the tensor's is).

    Where the tensor's own memory may not be written (the broadcast result of an op), the
    view stays read-only, so the write fails with numpy's own error.
    """
    source = x._source
    if source is not None and source.shape == x.shape and source.dtype == x.dtype:
        return source
    view: np.ndarray = x.view(np.ndarray)
    if x._storage is not None and x._memory_writable and not view.flags.writeable:
        view.flags.writeable = True
    return view


def _destination(x: Any) -> Any:
    """Where a write aimed at ``x`` goes: the writable memory behind a TrackedArray."""
    return writable_view(x) if type(x) is TrackedArray else x


def _plain(x: Any) -> Any:
    """A TrackedArray as a plain (read-only) ndarray of the same memory; anything else as is."""
    if type(x) is not TrackedArray:
        if isinstance(x, tuple):
            return tuple(_plain(part) for part in x)
        return x
    source = x._source  # the tensor's own array, when x is the view Tensor.data gave
    if source is not None and source.shape == x.shape and source.dtype == x.dtype:
        return source
    return x.view(np.ndarray)


def tracked_view(array: np.ndarray, storage: Storage) -> TrackedArray:
    """``array``'s memory as a read-only TrackedArray that stamps ``storage`` on each write."""
    view = array.view(TrackedArray)
    view._storage = storage
    view._memory_writable = bool(array.flags.writeable)
    view._source = array
    view.flags.writeable = False
    return view
