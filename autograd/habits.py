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
``view``; ``clone``; ``requires_grad_``; ``dim=`` / ``keepdim=`` accepted where PyTorch
uses them (``pytorch_names``); the casts ``float()``, ``double()``, ``half()``, ``long()``,
``int()``, ``bool()`` and ``to(dtype)``; ``permute``; ``size()`` / ``size(dim)`` beside
numpy's ``size``; ``numel()``, ``dim()`` and ``cpu()``.

Devices, decided on purpose: tracegrad computes with numpy, on the CPU. ``to("cpu")`` and
``cpu()`` are therefore what they are in PyTorch on a CPU tensor, no-ops that return the
tensor itself, so that PyTorch code that moves its data runs unchanged; any other device
(``"cuda"``, ``"mps"``) is a ValueError that says so, rather than a silent stay on the CPU
that the caller would take for a move.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

import numpy as np

from tracegrad.words import counted

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


def _is_torch(value: Any, kind: str) -> bool:
    """Whether ``value`` is a ``torch.dtype`` or a ``torch.device`` (``kind``), told by its
    type's name so that PyTorch need not be installed, nor imported, to ask."""
    cls = type(value)
    return cls.__module__ == "torch" and cls.__name__ == kind


def _device_name(value: Any) -> str | None:
    """The device that ``value`` names (a string such as "cpu" or "cuda:0", or a
    ``torch.device``), or None if it names none: a dtype's name ("float64") is a dtype."""
    if _is_torch(value, "device"):
        return str(value)
    if isinstance(value, str):
        try:
            np.dtype(value)
        except TypeError:
            return value
    return None


def as_dtype(value: Any, where: str) -> np.dtype[Any]:
    """The numpy dtype of real numbers that ``value`` names: a numpy type or dtype
    (``np.float64``), a Python type (``float``, as PyTorch takes it), a name ("float64"),
    or a ``torch.dtype`` (``torch.float64``, read by its name)."""
    if _is_torch(value, "dtype"):
        name = str(value).removeprefix("torch.")
        try:
            return as_dtype(name, where)
        except TypeError:
            raise TypeError(f"{where}: numpy has no dtype for {value}") from None
    chosen = None
    if isinstance(value, (type, np.dtype, str)):
        try:
            chosen = np.dtype(value)
        except TypeError:
            chosen = None
    if chosen is None or chosen.kind not in "biuf":
        shown = f"the string {value!r}" if isinstance(value, str) else repr(value)
        raise TypeError(
            f"{where}: dtype must be a dtype of real numbers or bools (np.float32, "
            f"torch.float32, float, 'float32'), got {shown}"
        )
    return chosen


class ElementCount(int):
    """A tensor's ``size``: numpy's, the number of elements (an int), that can also be
    called as PyTorch's ``size()`` (the shape) and ``size(dim)`` (one axis's length).

    The two libraries give the name to two things, an attribute and a method; an int
    that can be called keeps both habits working, ``t.size == 6`` as ``t.size(0) == 2``.
    """

    _shape: tuple[int, ...]

    def __new__(cls, shape: tuple[int, ...]) -> ElementCount:
        count = 1
        for length in shape:
            count *= length
        made = super().__new__(cls, count)
        made._shape = shape
        return made

    @overload
    def __call__(self) -> tuple[int, ...]: ...

    @overload
    def __call__(self, dim: int) -> int: ...

    def __call__(self, dim: int | None = None) -> int | tuple[int, ...]:
        """The shape, or with ``dim`` the length of that axis (negative counts from the end)."""
        if dim is None:
            return self._shape
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, (bool, np.bool_)):
            raise TypeError(f"size: dim must be an integer, got {type(dim).__name__}")
        ndim = len(self._shape)
        if not -ndim <= dim < ndim:
            where = "a 0-d tensor" if not ndim else f"a tensor of {counted(ndim, 'dimension')}"
            raise np.exceptions.AxisError(f"size: dim {dim} is out of range for {where}")
        return self._shape[dim]

    def __reduce__(self) -> tuple[type, tuple[int]]:  # pickled, copied: a plain int
        return int, (int(self),)


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
        def _constant(cls: builtins.type[T], data: Any) -> T: ...

        @property
        def dtype(self) -> np.dtype[Any]: ...

        def reshape(self: T, *shape: Any) -> T: ...

        def astype(self: T, dtype: Any) -> T: ...

        def transpose(self: T, *axes: Any) -> T: ...

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
        from .node import check_flag

        check_flag(requires_grad, "requires_grad_")
        if requires_grad and self._data.dtype.kind != "f":
            raise TypeError(f"requires_grad_: only floating-point tensors, not {self._data.dtype}")
        object.__setattr__(self, "requires_grad", bool(requires_grad))  # Node's slot
        return self

    # The casts and the devices (defined last: the methods named float, int and bool
    # would stand for the types in the annotations of the methods after them).

    def to(
        self: T,
        *args: Any,
        dtype: Any = None,
        device: Any = None,
        copy: builtins.bool = False,
        non_blocking: builtins.bool = False,
    ) -> T:
        """PyTorch's ``to``: this tensor in another dtype, on the CPU (the one device).

        ``t.to(np.float64)`` (or ``torch.float64``, ``float``, ``"float64"``),
        ``t.to("cpu")``, ``t.to("cpu", np.float64)``, ``t.to(other)`` (other's dtype),
        ``t.to(dtype=..., device=...)``. As in PyTorch the tensor itself is returned when
        nothing changes, unless ``copy``; a cast is ``astype``'s (in the graph between
        floating-point dtypes, a constant to integers and bools). Any device but the CPU
        is a ValueError: tracegrad computes with numpy. ``non_blocking`` is accepted and
        has nothing to do, with no transfer to overlap.
        """
        if len(args) > 2:
            raise TypeError(
                f"to: takes a device and a dtype, or a tensor; got {len(args)} arguments"
            )
        for arg in args:
            if isinstance(arg, TensorHabits):
                found, name = arg.dtype, "dtype"
            elif _device_name(arg) is not None:
                found, name = arg, "device"
            else:
                found, name = arg, "dtype"
            if (dtype if name == "dtype" else device) is not None:
                raise TypeError(f"to: {name} given twice")
            if name == "dtype":
                dtype = found
            else:
                device = found
        for flag, value in (("copy", copy), ("non_blocking", non_blocking)):
            if not isinstance(value, (builtins.bool, np.bool_)):
                raise TypeError(f"to: {flag} must be True or False, got {value!r}")
        if device is not None:
            _check_device(device)
        target = self.dtype if dtype is None else as_dtype(dtype, "to")
        return self._cast(target, copy=builtins.bool(copy))

    def _cast(self: T, dtype: np.dtype[Any], copy: builtins.bool = False) -> T:
        if dtype == self.dtype:
            return self.clone() if copy else self
        return self.astype(dtype)

    def cpu(self: T) -> T:
        """The tensor itself: it is on the CPU already, the one device there is (PyTorch's
        ``cpu()`` on a CPU tensor, so that ``t.cpu().numpy()`` runs unchanged)."""
        return self

    def float(self: T) -> T:
        """``to(float32)``: the tensor itself if it is float32 already (PyTorch's ``float()``)."""
        return self._cast(np.dtype(np.float32))

    def double(self: T) -> T:
        """``to(float64)``: the tensor itself if it is float64 already."""
        return self._cast(np.dtype(np.float64))

    def half(self: T) -> T:
        """``to(float16)``: the tensor itself if it is float16 already."""
        return self._cast(np.dtype(np.float16))

    def long(self: T) -> T:
        """``to(int64)``: a constant (integers carry no gradient), PyTorch's label dtype."""
        return self._cast(np.dtype(np.int64))

    def int(self: T) -> T:
        """``to(int32)``: a constant (integers carry no gradient)."""
        return self._cast(np.dtype(np.int32))

    def bool(self: T) -> T:
        """``to(bool)``: a constant, True where an element is not zero."""
        return self._cast(np.dtype(np.bool_))

    def type(self: T, dtype: Any = None) -> Any:
        """PyTorch's ``type``: with a dtype, ``to(dtype)`` (``(pred == y).type(torch.float)``,
        the quickstart's count of right answers); without, the dtype's name."""
        if dtype is None:
            return str(self.dtype)
        return self.to(dtype)

    # PyTorch's names for shapes.

    def permute(self: T, *dims: builtins.int | Sequence[builtins.int]) -> T:
        """The axes reordered: axis i of the result is axis ``dims[i]`` of this tensor.

        PyTorch's ``permute``, a view: ``permute(2, 0, 1)`` or ``permute((2, 0, 1))``, every
        axis named once (negative ones count from the end). ``transpose`` keeps numpy's
        meaning, in which it is this same permutation; PyTorch's ``transpose(a, b)``, a
        swap of two axes, is ``swapaxes(a, b)``.
        """
        given: tuple[Any, ...] = (
            tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        )
        ndim = self._data.ndim
        for d in given:
            if not isinstance(d, (builtins.int, np.integer)) or isinstance(
                d, (builtins.bool, np.bool_)
            ):
                raise TypeError(f"permute: dims must be integers, got {d!r}")
        if len(given) != ndim:
            raise ValueError(
                f"permute: dims {given} name {counted(len(given), 'axis')} of a tensor of "
                f"{counted(ndim, 'dimension')}: name every axis once, such as "
                f"{tuple(range(ndim))[::-1]}"
            )
        order = []
        for d in given:
            if not -ndim <= d < ndim:
                raise np.exceptions.AxisError(
                    f"permute: dim {d} is out of range for a tensor of {counted(ndim, 'dimension')}"
                )
            order.append(builtins.int(d) % ndim)
        if len(set(order)) != ndim:
            raise ValueError(f"permute: dims {given} name an axis twice")
        return self.transpose(tuple(order))

    def numel(self) -> builtins.int:
        """The number of elements (PyTorch's name for numpy's ``size``)."""
        return builtins.int(self._data.size)

    def dim(self) -> builtins.int:
        """The number of dimensions (PyTorch's name for ``ndim``)."""
        return builtins.int(self._data.ndim)


def _check_device(device: Any) -> None:
    """Refuse any device but the CPU, saying why: a silent stay on the CPU would be taken
    for a move by code that goes on as if its data were on the GPU."""
    name = _device_name(device)
    if name is None:
        raise TypeError(
            f"to: device must be a device's name or a torch.device, such as 'cpu', got {device!r}"
        )
    if name != "cpu" and not name.startswith("cpu:"):
        raise ValueError(
            f"to: tracegrad computes with numpy, on the CPU: there is no device {name!r} "
            "(drop the move, or name 'cpu')"
        )
