"""What numpy and PyTorch users reach for on a Tensor: the array protocol and PyTorch's names.

numpy, decided on purpose:

- ``np.asarray(t)`` (``__array__``) is the tensor's array, read-only, so that plotting,
  printing and numpy's functions work and nothing writes to the tensor behind the engine's
  back (ask for ``copy=True`` to get a writable copy);
- numpy's functions (``np.mean(t)``, ``np.concatenate([t, u])``, ``plt.plot(t)``) see a
  Tensor as that array: their results are plain arrays, outside the graph;
- numpy's ufuncs on a Tensor (``np.exp(t)``) are refused with a TypeError that names the
  Tensor's own method, which keeps the graph: a silent plain result would drop the
  gradient. The ufuncs behind operators (``array + tensor``, ``np.multiply(a, t)``) are
  the Tensor's own operators: their result is a Tensor in the graph.

PyTorch: ``float(t)``, ``int(t)``; ``argmax`` / ``argmin``; ``unsqueeze`` / ``squeeze``;
``view``; ``clone``; ``requires_grad_``; and ``dim=`` / ``keepdim=`` accepted where PyTorch
uses them (``pytorch_names``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])
#: The class the habits are mixed into (Tensor), which this module does not import.
T = TypeVar("T", bound="TensorHabits")

_UNSET: Any = object()

#: The ufuncs behind Python's operators, with the Tensor's method and reflected method.
_OPERATORS: dict[Any, tuple[str, str]] = {
    np.add: ("__add__", "__radd__"),
    np.subtract: ("__sub__", "__rsub__"),
    np.multiply: ("__mul__", "__rmul__"),
    np.true_divide: ("__truediv__", "__rtruediv__"),
    np.power: ("__pow__", "__rpow__"),
    np.matmul: ("__matmul__", "__rmatmul__"),
    np.less: ("__lt__", "__gt__"),
    np.less_equal: ("__le__", "__ge__"),
    np.greater: ("__gt__", "__lt__"),
    np.greater_equal: ("__ge__", "__le__"),
    np.equal: ("__eq__", "__eq__"),
    np.not_equal: ("__ne__", "__ne__"),
}


def pytorch_names(method: F) -> F:
    """Let ``method`` take PyTorch's ``dim=`` and ``keepdim=`` for numpy's axis and keepdims."""

    @functools.wraps(method)
    def wrapper(
        self: Any, *args: Any, dim: Any = _UNSET, keepdim: Any = _UNSET, **kwargs: Any
    ) -> Any:
        if dim is not _UNSET:
            if args or "axis" in kwargs:
                raise TypeError(f"{method.__name__}: give axis or dim, not both")
            kwargs["axis"] = dim
        if keepdim is not _UNSET:
            if "keepdims" in kwargs:
                raise TypeError(f"{method.__name__}: give keepdims or keepdim, not both")
            kwargs["keepdims"] = keepdim
        return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _plain(value: Any) -> Any:
    """A Tensor as its read-only array, inside lists and tuples too (numpy's functions' view)."""
    if isinstance(value, TensorHabits):
        return value.__array__()
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


class TensorHabits:
    """numpy's array protocol and PyTorch's conveniences, mixed into ``Tensor``."""

    __slots__ = ()

    _data: np.ndarray

    if TYPE_CHECKING:  # what the mixin uses of Tensor and Node
        requires_grad: bool

        @property
        def is_leaf(self) -> bool: ...

        @classmethod
        def _constant(cls: type[T], data: Any) -> T: ...

        def reshape(self: T, *shape: Any) -> T: ...

        def __mul__(self: T, other: Any) -> T: ...

    # -- numpy ---------------------------------------------------------------------------

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        array = self._data if dtype is None else self._data.astype(dtype, copy=False)
        if copy:
            return np.array(array, copy=True)
        if copy is False and array is not self._data:
            raise ValueError(f"__array__: the tensor is {self._data.dtype}, not {dtype}")
        view = array.view(np.ndarray)
        view.flags.writeable = False
        return view

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return func(*_plain(args), **{key: _plain(value) for key, value in kwargs.items()})

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if ufunc in _OPERATORS and method == "__call__" and len(inputs) == 2 and not kwargs:
            forward, reflected = _OPERATORS[ufunc]  # array + tensor: the Tensor's operator
            if inputs[0] is self:
                return getattr(self, forward)(inputs[1])
            return getattr(self, reflected)(inputs[0])
        name = getattr(ufunc, "__name__", str(ufunc))
        raise TypeError(
            f"np.{name} on a Tensor: use the Tensor's own method (x.{name}(), which records "
            f"the graph), or np.{name}(np.asarray(x)) for a plain array outside the graph"
        )

    # -- PyTorch -------------------------------------------------------------------------

    def _only_element(self, kind: str) -> Any:
        if self._data.size != 1:
            raise TypeError(
                f"only a one-element tensor converts to a Python {kind}; this one has shape "
                f"{self._data.shape}"
            )
        return self._data.reshape(()).item()

    def __float__(self) -> float:
        return float(self._only_element("float"))

    def __int__(self) -> int:
        return int(self._only_element("int"))

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu":
            raise TypeError(f"only an integer tensor can be an index, not {self._data.dtype}")
        return int(self._only_element("int"))

    @pytorch_names
    def argmax(self: T, axis: int | None = None, keepdims: bool = False) -> T:
        """The index of the largest element (along ``axis``), as a constant int64 tensor."""
        return self._constant(np.argmax(self._data, axis=axis, keepdims=keepdims))

    @pytorch_names
    def argmin(self: T, axis: int | None = None, keepdims: bool = False) -> T:
        """The index of the smallest element (along ``axis``), as a constant int64 tensor."""
        return self._constant(np.argmin(self._data, axis=axis, keepdims=keepdims))

    def unsqueeze(self: T, dim: int) -> T:
        """The tensor with a new axis of size 1 at ``dim`` (a view, as in PyTorch)."""
        try:
            shape = np.expand_dims(np.empty(self._data.shape, dtype=bool), dim).shape
        except np.exceptions.AxisError as error:
            raise np.exceptions.AxisError(f"unsqueeze: {error}") from None
        return self.reshape(shape)

    @pytorch_names
    def squeeze(self: T, axis: int | tuple[int, ...] | None = None) -> T:
        """The tensor without its axes of size 1 (or only ``axis``, which must be of size 1)."""
        shape = self._data.shape
        if axis is None:
            return self.reshape(tuple(s for s in shape if s != 1))
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        try:
            squeezed = np.squeeze(np.empty(shape, dtype=bool), axis=axes).shape
        except np.exceptions.AxisError as error:
            raise np.exceptions.AxisError(f"squeeze: {error}") from None
        except ValueError:
            raise ValueError(
                f"squeeze: axis {axis} of the tensor of shape {shape} is not of size 1"
            ) from None
        return self.reshape(squeezed)

    def view(self: T, *shape: Any) -> T:
        """PyTorch's name for ``reshape``."""
        return self.reshape(*shape)

    def clone(self: T) -> T:
        """A copy of the data, in the graph (its gradient flows back to this tensor)."""
        if not self.requires_grad:
            return self._constant(self._data.copy())
        return self * 1.0

    def requires_grad_(self: T, requires_grad: bool = True) -> T:
        """Set whether this leaf requires grad, in place; returns the tensor (PyTorch's)."""
        if not self.is_leaf:
            raise ValueError("requires_grad_: only a leaf's flag can be set (use detach())")
        if requires_grad and self._data.dtype.kind != "f":
            raise TypeError(f"requires_grad_: only floating-point tensors, not {self._data.dtype}")
        object.__setattr__(self, "requires_grad", bool(requires_grad))  # Node's slot
        return self
