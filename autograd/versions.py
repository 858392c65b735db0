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

Writes are seen through ``Value.data = ...`` and ``Tensor.data = ...`` (augmented
assignment too), through the array that ``Tensor.data`` and ``Tensor.numpy()`` return
(item and slice assignment, in-place operators and ufuncs, ``fill``, ``np.copyto`` ...,
also through views of it), and through the optimisers and ``load_state_dict``. Writes
that bypass numpy's Python interface are not seen: a plain ndarray view taken with
``np.asarray(t.data)`` or ``t.data.view(np.ndarray)``, an array handed to
``Tensor.from_numpy`` or assigned to ``.data`` and written afterwards, a numpy array
used as an op's constant (``x * mask``) and changed before the backward, the buffer
protocol.
"""

from __future__ import annotations

import functools
import threading
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


def _reports_write(method: Any) -> Any:
    """``method`` of ndarray, stamping the array's storage once it has run (or failed)."""

    @functools.wraps(method)
    def wrapper(self: TrackedArray, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            self._written()

    return wrapper


class TrackedArray(np.ndarray):
    """A numpy array that stamps its tensor's ``Storage`` whenever something writes into it.

    ``Tensor.data`` returns one, a view of the tensor's memory: it is an ndarray in every
    respect, and the results of ufuncs computed from it are plain ndarrays. Views of it
    (slices, reshapes, transposes) report to the same storage; copies (``np.sort``,
    fancy indexing, ``copy()``) report to none.
    """

    _storage: Storage | None = None
    #: The tensor's own array, on the view that ``Tensor.data`` returned (not on views of it).
    _source: np.ndarray | None = None

    def __array_finalize__(self, obj: Any) -> None:
        storage = getattr(obj, "_storage", None)
        if storage is not None and not np.may_share_memory(self, obj):
            storage = None  # a copy (astype, fancy indexing): its writes change nothing of ours
        self._storage = storage

    def _written(self) -> None:
        if self._storage is not None:
            self._storage.mark_written()

    def __repr__(self) -> str:
        return repr(self.view(np.ndarray))

    def __setitem__(self, index: Any, value: Any) -> None:
        try:
            super().__setitem__(index, value)
        finally:
            self._written()

    def __array_ufunc__(
        self, ufunc: np.ufunc, method: str, *inputs: Any, out: Any = None, **kwargs: Any
    ) -> Any:
        plain = [_plain(x) for x in inputs]
        if out is None:
            if method == "at" and isinstance(inputs[0], TrackedArray):  # np.add.at(t.data, ...)
                try:
                    return ufunc.at(*plain, **kwargs)
                finally:
                    inputs[0]._written()
            return getattr(ufunc, method)(*plain, **kwargs)  # a new array: a plain one
        try:
            getattr(ufunc, method)(*plain, out=tuple([_plain(x) for x in out]), **kwargs)
        finally:
            for x in out:
                if type(x) is TrackedArray and x._storage is not None:
                    x._storage.mark_written()
        return out[0] if len(out) == 1 else out  # in place: hand back what was written

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        try:
            return super().__array_function__(func, types, args, kwargs)
        finally:
            if func in _WRITERS and args and isinstance(args[0], TrackedArray):
                args[0]._written()

    # the ndarray methods that write into the array
    fill = _reports_write(np.ndarray.fill)
    put = _reports_write(np.ndarray.put)
    sort = _reports_write(np.ndarray.sort)
    partition = _reports_write(np.ndarray.partition)
    setfield = _reports_write(np.ndarray.setfield)

    def byteswap(self, inplace: bool = False) -> Any:
        try:
            return super().byteswap(inplace)
        finally:
            if inplace:
                self._written()


#: numpy functions that write into their first argument.
_WRITERS = frozenset(
    f
    for f in (
        getattr(np, name, None)
        for name in ("copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis")
    )
    if f is not None
)


def _plain(x: Any) -> Any:
    """A TrackedArray as a plain ndarray of the same memory (anything else as it is)."""
    if type(x) is not TrackedArray:
        return x
    source = x._source  # the tensor's own array, when x is the view Tensor.data gave
    if source is not None and source.shape == x.shape and source.dtype == x.dtype:
        return source
    return x.view(np.ndarray)


def tracked_view(array: np.ndarray, storage: Storage) -> TrackedArray:
    """``array``'s memory as a TrackedArray that stamps ``storage`` on every write."""
    view = array.view(TrackedArray)
    view._storage = storage
    view._source = array
    return view
