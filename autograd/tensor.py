"""``Tensor``: a numpy array that records the operations applied to it.

    x = Tensor(np.random.randn(4, 3), requires_grad=True)   # float32 unless told otherwise
    y = (x @ w + bias).relu().sum()
    y.backward()                                            # x.grad: an array of x's shape

Operations follow numpy's semantics (broadcasting, 1-D/2-D/batched matmul, indexing);
the engine sums a broadcast gradient back to each input's shape. Python numbers and
numpy arrays mix with Tensors on either side of an operator: they are kept as the op's
constants, cast to the tensor's dtype. Every primitive's derivative lives in ``rules.py``.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from tracegrad.rng import Seed, as_generator
from tracegrad.words import counted

from . import rules
from .engine import Differentiable
from .habits import ElementCount, TensorHabits, pytorch_names
from .node import Node, changes_in_place, check_flag, init_leaf, leaf, record_all
from .rules import Rule
from .trace import Sym, apply
from .versions import TrackedArray, storage_of, tracked_view, writable_view

DEFAULT_DTYPE = np.float32
AxisError = np.exceptions.AxisError

Shape = int | Sequence[int]
Axis = int | Sequence[int] | None


def _make(data: Any, parents: tuple[Tensor, ...], op: Rule, ctx: Any = None) -> Tensor:
    if type(data) is not np.ndarray:  # numpy returns scalars for 0-d results
        data = _as_array(data)
    return record_all(Tensor, data, op, parents, ctx)


def _constant(data: Any) -> Tensor:
    return leaf(Tensor, _as_array(data), False)


def _as_array(x: Any, dtype: Any = None) -> Any:
    """``np.asarray(x, dtype)``; of traced data (trace.py), written into the compiled step."""
    if type(x) is Sym:
        if type(x.value) is np.ndarray and (dtype is None or x.value.dtype == dtype):
            return x
        return apply(np.asarray, x, dtype=dtype) if dtype is not None else apply(np.asarray, x)
    return np.asarray(x, dtype=dtype)


def _copy(x: Any, dtype: Any = None) -> Any:
    """``np.array(x, dtype)``, a copy; of traced data, written into the compiled step."""
    if type(x) is Sym:
        return apply(np.array, x, dtype=dtype) if dtype is not None else apply(np.array, x)
    return np.array(x, dtype=dtype)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _shape_tuple(sizes: tuple[Any, ...], op: str, infer: bool = False) -> tuple[int, ...]:
    """A shape given as ``(2, 3)`` or as ``((2, 3),)`` (the two ways numpy users write it):
    ints (a float, a string or a bool would be coerced or fail deep in numpy), none
    negative but one −1 where the size is inferred (``infer``: reshape)."""
    if len(sizes) == 1 and not _is_int(sizes[0]) and not isinstance(sizes[0], (str, bytes)):
        with contextlib.suppress(TypeError):  # a tuple, a list, an array of sizes
            sizes = tuple(sizes[0])
    if not all(_is_int(size) for size in sizes):
        shown = sizes[0] if len(sizes) == 1 else sizes
        raise TypeError(f"{op}: a shape is ints, got {shown!r}")
    if any(size < (-1 if infer else 0) for size in sizes):
        raise ValueError(f"{op}: a size cannot be negative, got {tuple(sizes)}")
    return tuple(int(size) for size in sizes)


def _keepdims(keepdims: Any, op: str) -> bool:
    if not isinstance(keepdims, (bool, np.bool_)):
        raise TypeError(f"{op}: keepdims must be True or False, got {keepdims!r}")
    return bool(keepdims)


def _axes(axis: Axis, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative axes (None means every axis).

    As in PyTorch, a 0-d tensor accepts axis 0 (or −1) and has nothing to reduce over.
    Out-of-range and repeated axes raise numpy's AxisError, naming the op.
    """
    if axis is None:
        return tuple(range(ndim))
    requested = (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis)
    axes = []
    for a in requested:
        if not _is_int(a):
            raise TypeError(f"{op}: an axis is an int, got {type(a).__name__}")
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise AxisError(
                f"{op}: axis {a} is out of range for a tensor of {counted(ndim, 'dimension')}"
            )
        if ndim:
            axes.append(int(a) % ndim)
    if len(set(axes)) != len(axes):
        raise AxisError(f"{op}: axis {axis} repeats an axis")
    return tuple(sorted(axes))


def _axis(axis: int, ndim: int, op: str) -> int:
    """One axis of a tensor that has at least one dimension, as a non-negative int."""
    if ndim == 0:
        raise ValueError(f"{op}: needs a tensor of at least one dimension, got a 0-d tensor")
    if isinstance(axis, (tuple, list)) or axis is None:
        raise TypeError(f"{op}: takes one axis (an int), got {axis!r}")
    (a,) = _axes(axis, ndim, op)
    return a


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if axis in axes else size for axis, size in enumerate(shape))


class Tensor(TensorHabits, Differentiable):
    """An n-dimensional array node of the compute graph.

    ``data`` is a numpy array (float32 unless ``dtype`` says otherwise; the data is
    copied); ``grad`` is None until a backward pass reaches it, then an array of the
    same shape. Tensors do not require grad unless asked, as in PyTorch. Interior
    tensors drop their gradient once it has been passed on, unless ``retain_grad()``.
    """

    __slots__ = ("_data_view", "_kept")

    #: The constant Tensors whose data the op's rule reads from its ctx (see ``_watching``).
    _kept: tuple[Tensor, ...]

    _broadcasts = True
    __array_priority__ = 1000  # numpy defers to Tensor's reflected operators
    __hash__ = Node.__hash__  # by identity, although == compares elementwise

    def __init__(
        self, data: Any, requires_grad: bool = False, dtype: Any = None, label: str = ""
    ) -> None:
        if isinstance(data, Node):
            raise TypeError(
                f"Tensor: got a {type(data).__name__}; use its .data, or .detach() for a copy"
            )
        if data is None:  # numpy would make a NaN of it
            raise TypeError("Tensor: data is None; give numbers (Tensor.zeros(n) for zeros)")
        if isinstance(data, (complex, np.complexfloating)) or (
            isinstance(data, np.ndarray) and data.dtype.kind == "c"
        ):  # a cast to float would drop the imaginary parts without a word
            raise TypeError(
                "Tensor: complex numbers, which tracegrad does not compute with: pass the "
                "real parts (x.real) or the magnitudes (abs(x))"
            )
        if not isinstance(label, str):
            raise TypeError(f"Tensor: label must be a string, got {label!r}")
        try:
            array = _copy(data, DEFAULT_DTYPE if dtype is None else dtype)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"Tensor: cannot make an array of {type(data).__name__}: {error}"
            ) from None
        check_flag(requires_grad, "Tensor")
        if array.dtype.kind == "c":
            raise TypeError(
                f"Tensor: dtype {array.dtype} is complex, which tracegrad does not compute with"
            )
        if requires_grad and not np.issubdtype(array.dtype, np.floating):
            raise TypeError(
                f"Tensor: only floating-point tensors can require grad, not {array.dtype}"
            )
        init_leaf(self, array, bool(requires_grad), label)

    @staticmethod
    def from_numpy(array: np.ndarray, requires_grad: bool = False) -> Tensor:
        """A tensor that shares ``array``'s memory (no copy, no dtype conversion), as PyTorch's.

        The one way in that shares memory, by name: for large data that is read, not
        changed. A write through your own ``array`` changes the tensor too and cannot be
        seen by the engine's check for changed data (a write through the tensor's ``.data``
        is); every other way in (``Tensor(...)``, an op's array operand, ``.data = array``,
        a model's numpy input) copies. Another tensor's ``.data`` is shared with its record
        of writes, so writes through either are seen.
        """
        if not isinstance(array, np.ndarray):
            raise TypeError(f"from_numpy: expected a numpy array, got {type(array).__name__}")
        check_flag(requires_grad, "from_numpy")
        if array.dtype.kind not in "biuf":  # shared as it is: no cast may drop a part of it
            what = {"c": "complex numbers", "O": "Python objects"}.get(array.dtype.kind, "")
            raise TypeError(
                f"from_numpy: an array of dtype {array.dtype}{f' ({what})' if what else ''}, "
                "which tracegrad does not compute with: pass booleans, integers or floats "
                "(x.real or abs(x) of complex numbers)"
            )
        if requires_grad and not np.issubdtype(array.dtype, np.floating):
            raise TypeError(
                f"from_numpy: only floating-point tensors can require grad, not {array.dtype}"
            )
        if type(array) is np.ndarray:  # a data batch: the usual case
            return leaf(Tensor, array, requires_grad)
        if isinstance(array, TrackedArray) and array._storage is not None:
            out = leaf(Tensor, writable_view(array), requires_grad)  # another tensor's memory
            out._storage = array._storage  # and its record of writes
            return out
        return leaf(Tensor, array.view(np.ndarray), requires_grad)

    # -- what the engine asks of the kind ----------------------------------------------

    @classmethod
    def _constant(cls, data: Any) -> Tensor:
        return _constant(data)

    @classmethod
    def _seed(cls, root: Node, grad: Any) -> np.ndarray:
        if grad is None:
            if root._data.size != 1:
                raise ValueError(
                    f"backward: a gradient can be implied only for a tensor with one element; "
                    f"this one has shape {root._data.shape}, so pass grad"
                )
            if root._data.ndim == 0:  # the usual case, a scalar loss: the cheapest array
                return np.array(1, dtype=root._data.dtype)
            return np.ones(root._data.shape, root._data.dtype)
        if isinstance(grad, Node):
            grad = grad._data
        array = np.array(grad, dtype=root._data.dtype)  # a copy: it may become a leaf's .grad
        if array.shape != root._data.shape:
            raise ValueError(
                f"backward: grad has shape {array.shape} but the tensor has shape "
                f"{root._data.shape}"
            )
        return array

    # -- the data ---------------------------------------------------------------------

    @property
    def data(self) -> np.ndarray:
        """The array, as a view that reports every write to the engine.

        Writing into it (``t.data[0] = 5``, ``t.data *= 2``, ``np.copyto(t.data, ...)``)
        or assigning a new array is recorded, so a backward through a graph that used
        the old data raises ``DataChangedError`` instead of a wrong gradient.
        """
        if type(self._data) is Sym:  # while a compiled function is traced
            return self._data
        view = getattr(self, "_data_view", None)  # made once, while the array stays the same
        data = self._data
        if (  # made once, and again if the array changed or the view was reinterpreted
            view is None
            or view._source is not data
            or view.shape != data.shape
            or view.dtype != data.dtype
            or view.strides != data.strides
        ):
            view = self._data_view = tracked_view(data, self._shared_storage())
        return view

    @data.setter
    def data(self, value: Any) -> None:
        """A new array for this tensor: a copy of ``value``, or another tensor's memory.

        Another tensor's ``.data`` (or a view of it) is shared with that tensor, with its
        record of writes, as in PyTorch; any other array is copied, so that a later write
        to it cannot change this tensor unseen. Either way the assignment is a write.
        """
        if isinstance(value, Node):
            raise TypeError(f"Tensor.data: got a {type(value).__name__}; assign its .data instead")
        current: np.ndarray = self._data
        if type(value) is TrackedArray:
            if value._source is current and value.shape == current.shape:
                return  # `t.data *= 2`: the array Tensor.data gave, written in place and recorded
            storage = value._storage
        else:
            storage = None
        if storage is not None:
            array = writable_view(value)  # another tensor's memory: shared with its record
        else:
            array = np.array(value, dtype=current.dtype if not hasattr(value, "dtype") else None)
        if self.requires_grad and not np.issubdtype(array.dtype, np.floating):
            raise TypeError(
                f"Tensor.data: this tensor requires grad, so its data must be floating-point, "
                f"not {array.dtype}"
            )
        self._data = array
        self._storage = storage if storage is not None else storage_of(array)
        self._mark_written()

    # -- what users see ----------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """The array's shape."""
        return self._data.shape

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self._data.ndim

    @property
    def size(self) -> ElementCount:
        """The number of elements (numpy's ``size``, an int); called, PyTorch's ``size()``:
        ``t.size()`` is the shape and ``t.size(dim)`` the length of one axis."""
        return ElementCount(self._data.shape)

    @property
    def dtype(self) -> np.dtype[Any]:
        """The numpy dtype of the data."""
        return self._data.dtype

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __repr__(self) -> str:
        body = np.array2string(
            self._data, separator=", ", threshold=20, edgeitems=2, prefix="Tensor("
        )
        parts = [body]
        if self._data.ndim > 1 or self._data.size > 20:
            parts.append(f"shape={self.shape}")
        if self._data.dtype != DEFAULT_DTYPE:
            parts.append(f"dtype={self._data.dtype}")
        if self.requires_grad:
            parts.append("requires_grad=True")
        if self._rule is not None:
            parts.append(f"op={self._rule.name!r}")
        if self.label:
            parts.append(f"label={self.label!r}")
        return "Tensor(" + ", ".join(parts) + ")"

    def __bool__(self) -> bool:
        return bool(self._data)

    def item(self) -> Any:
        """The only element as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item: the tensor has {self._data.size} elements, not 1")
        return self._data.item()

    def numpy(self) -> np.ndarray:
        """The data array itself, as PyTorch's: not a copy; writes into it are recorded.

        It is the read-only view ``data`` gives, whose writes go through the paths that
        record them (``versions.py``); ``np.array(t)`` or ``t.numpy().copy()`` is yours.
        """
        return self.data

    def tolist(self) -> Any:
        """The data as nested Python lists."""
        return self._data.tolist()

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, outside the graph."""
        out = leaf(Tensor, self._data, False, self.label)
        out._storage = self._shared_storage()
        return out

    def astype(self, dtype: Any) -> Tensor:
        """A copy of the data in ``dtype``.

        Between floating-point dtypes it is an op of the graph: the gradient flows back,
        cast to this tensor's dtype. To another kind (integers, bools) it is a constant.
        """
        target = np.dtype(dtype)
        data = self._data.astype(target)
        if not np.issubdtype(target, np.floating):
            return _constant(data)
        return _make(data, (self,), rules.cast, self._data.dtype)

    # -- constructors ------------------------------------------------------------------

    @staticmethod
    def zeros(*shape: Shape, dtype: Any = DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
        """A tensor of zeros: ``Tensor.zeros(2, 3)`` or ``Tensor.zeros((2, 3))``."""
        return Tensor(np.zeros(_shape_tuple(shape, "zeros"), dtype), requires_grad, dtype)

    @staticmethod
    def ones(*shape: Shape, dtype: Any = DEFAULT_DTYPE, requires_grad: bool = False) -> Tensor:
        """A tensor of ones."""
        return Tensor(np.ones(_shape_tuple(shape, "ones"), dtype), requires_grad, dtype)

    @staticmethod
    def full(
        shape: Shape, value: float, *, dtype: Any = DEFAULT_DTYPE, requires_grad: bool = False
    ) -> Tensor:
        """A tensor with every element ``value``."""
        return Tensor(np.full(_shape_tuple((shape,), "full"), value, dtype), requires_grad, dtype)

    @staticmethod
    def randn(
        *shape: Shape, rng: Seed = None, dtype: Any = DEFAULT_DTYPE, requires_grad: bool = False
    ) -> Tensor:
        """Standard normal samples from ``rng`` (a numpy Generator or a seed)."""
        size = _shape_tuple(shape, "randn")
        data = as_generator(rng).standard_normal(size).astype(dtype, copy=False)
        return Tensor(data, requires_grad, dtype)

    @staticmethod
    def rand(
        *shape: Shape, rng: Seed = None, dtype: Any = DEFAULT_DTYPE, requires_grad: bool = False
    ) -> Tensor:
        """Uniform samples in [0, 1) from ``rng`` (a numpy Generator or a seed)."""
        data = as_generator(rng).random(_shape_tuple(shape, "rand")).astype(dtype, copy=False)
        return Tensor(data, requires_grad, dtype)

    @staticmethod
    def arange(
        start: float,
        stop: float | None = None,
        step: float = 1,
        *,
        dtype: Any = DEFAULT_DTYPE,
        requires_grad: bool = False,
    ) -> Tensor:
        """Evenly spaced values in [start, stop), like ``numpy.arange``."""
        for name, value in (("start", start), ("stop", stop), ("step", step)):
            if value is not None and (
                isinstance(value, (bool, np.bool_))
                or not isinstance(value, (int, float, np.number))
            ):
                raise TypeError(f"arange: {name} must be a number, got {value!r}")
        if step == 0:
            raise ValueError("arange: step must not be 0")
        data = np.arange(start, stop, step) if stop is not None else np.arange(start)
        return Tensor(data, requires_grad, dtype)

    @staticmethod
    def eye(
        n: int, m: int | None = None, *, dtype: Any = DEFAULT_DTYPE, requires_grad: bool = False
    ) -> Tensor:
        """The n × m identity matrix (m = n by default)."""
        size = _shape_tuple((n,) if m is None else (n, m), "eye")
        return Tensor(np.eye(*size, dtype=dtype), requires_grad, dtype)

    # -- operands ----------------------------------------------------------------------

    def _operand(self, other: Any, op: str) -> Tensor | Any:
        """A Tensor as it is; a number or an array as a constant of this tensor's dtype.

        Returns None for anything else, so that Python can try the other operand.
        """
        if isinstance(other, Tensor):
            return other
        if isinstance(other, Node):
            raise TypeError(f"{op}: cannot mix Tensor and {type(other).__name__}; use one kind")
        if type(other) is Sym:  # traced data (trace.py): a constant of the op, as an array is
            return _constant_array(other, self)
        if isinstance(other, (float, int)):
            return float(other)
        if isinstance(other, (np.ndarray, np.generic, list, tuple, numbers.Real)):
            return _constant_array(other, self)
        return None

    def _elementwise(self, other: Tensor, op: Rule, forward: Any) -> Tensor:
        try:
            data = forward(self._data, other._data)
        except ValueError:
            raise ValueError(
                f"{op.name}: shapes {self.shape} and {other.shape} cannot be broadcast together"
            ) from None
        return _make(data, (self, other), op)

    def _with_constant(self, c: Any, op: Rule, forward: Any) -> Tensor:
        try:
            data = forward(self._data, c)
        except ValueError:
            raise ValueError(
                f"{op.name}: shapes {self.shape} and {np.shape(c)} cannot be broadcast together"
            ) from None
        return _make(data, (self,), op, c)

    # -- arithmetic --------------------------------------------------------------------

    def __add__(self, other: Any) -> Tensor:
        operand = self._operand(other, "add")
        if isinstance(operand, Tensor):
            return self._elementwise(operand, rules.add, np.add)
        if operand is None:
            return NotImplemented
        return self._with_constant(operand, rules.add_constant, np.add)

    __radd__ = __add__

    def __mul__(self, other: Any) -> Tensor:
        operand = self._operand(other, "mul")
        if isinstance(operand, Tensor):
            return self._elementwise(operand, rules.mul, np.multiply)
        if operand is None:
            return NotImplemented
        return self._with_constant(operand, rules.mul_constant, np.multiply)

    __rmul__ = __mul__

    def __sub__(self, other: Any) -> Tensor:
        operand = self._operand(other, "sub")
        if isinstance(operand, Tensor):
            return self._elementwise(operand, rules.sub, np.subtract)
        if operand is None:
            return NotImplemented
        return self._with_constant(-operand, rules.add_constant, np.add)

    def __rsub__(self, other: Any) -> Tensor:
        operand = self._operand(other, "sub")
        if operand is None:
            return NotImplemented
        return (-self)._with_constant(operand, rules.add_constant, np.add)

    def __truediv__(self, other: Any) -> Tensor:
        operand = self._operand(other, "div")
        if isinstance(operand, Tensor):
            return self._elementwise(operand, rules.div, np.divide)
        if operand is None:
            return NotImplemented
        return self._with_constant(1.0 / _as_array(operand), rules.mul_constant, np.multiply)

    def __rtruediv__(self, other: Any) -> Tensor:
        operand = self._operand(other, "div")
        if operand is None:
            return NotImplemented
        return (self**-1.0)._with_constant(operand, rules.mul_constant, np.multiply)

    def __pow__(self, exponent: Any) -> Tensor:
        operand = self._operand(exponent, "pow")
        if isinstance(operand, Tensor):
            return self._elementwise(operand, rules.pow_, np.power)
        if operand is None:
            return NotImplemented
        return self._with_constant(operand, rules.pow_const, np.power)

    def __rpow__(self, base: Any) -> Tensor:
        operand = self._operand(base, "pow")
        if operand is None:
            return NotImplemented
        return _constant(_as_array(operand, self._data.dtype)) ** self

    def __neg__(self) -> Tensor:
        return _make(-self._data, (self,), rules.neg)

    def __matmul__(self, other: Any) -> Tensor:
        operand = self._operand(other, "matmul")
        if operand is None:
            return NotImplemented
        return matmul(self, operand if isinstance(operand, Tensor) else _constant(operand))

    def __rmatmul__(self, other: Any) -> Tensor:
        operand = self._operand(other, "matmul")
        if operand is None:
            return NotImplemented
        return matmul(_constant(operand), self)

    def matmul(self, other: Tensor) -> Tensor:
        """self @ other, with numpy's 1-D, 2-D and batched semantics."""
        return self @ other

    # -- in-place operators, PyTorch's way (see ``node.changes_in_place``) ---------------

    def _in_place(self, other: Any, symbol: str, ufunc: Any, out_of_place: Any) -> Tensor:
        operand = self._operand(other, f"{symbol}=")
        if operand is None:
            return NotImplemented
        other_requires_grad = isinstance(operand, Tensor) and operand.requires_grad
        if not changes_in_place(
            self, other_requires_grad, f"{symbol}=", f"write `x = x {symbol} y` for a new node"
        ):
            return out_of_place(self, other)
        # A Python number stays one (numpy then computes in the tensor's dtype, as `x * 0.1`
        # does, and an int updates an integer tensor); an array is the op's constant.
        if isinstance(operand, Tensor):
            value = operand._data
        elif type(other) in (int, float, bool):
            value = other
        else:
            value = operand
        try:
            ufunc(self._data, value, out=self._data, casting="same_kind")
        except ValueError as error:
            shape = np.shape(value)
            raise ValueError(
                f"{symbol}=: the result of a tensor of shape {self.shape} and an operand of "
                f"shape {shape} does not fit in the tensor ({error})"
            ) from None
        except TypeError as error:  # numpy's casting refusal: float into an integer tensor
            raise TypeError(f"{symbol}=: {error}") from None
        finally:
            self._mark_written()
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._in_place(other, "+", np.add, Tensor.__add__)

    def __isub__(self, other: Any) -> Tensor:
        return self._in_place(other, "-", np.subtract, Tensor.__sub__)

    def __imul__(self, other: Any) -> Tensor:
        return self._in_place(other, "*", np.multiply, Tensor.__mul__)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._in_place(other, "/", np.true_divide, Tensor.__truediv__)

    def __ipow__(self, other: Any) -> Tensor:
        return self._in_place(other, "**", np.power, Tensor.__pow__)

    def __imatmul__(self, other: Any) -> Tensor:
        return self._in_place(other, "@", np.matmul, Tensor.__matmul__)

    def __setitem__(self, index: Any, value: Any) -> None:
        """``t[index] = value``: a write into the data, under PyTorch's rule for in-place ops.

        Allowed for a tensor that requires no grad, and under ``no_grad`` (the write is
        recorded); an error for a tensor that requires grad while gradients are recorded.
        """
        value_requires_grad = isinstance(value, Node) and value.requires_grad
        instead = "build a new tensor with where() or concatenate()"
        if not changes_in_place(self, value_requires_grad, "setitem", instead):
            raise RuntimeError(
                "setitem: item assignment into a tensor of the graph is not an op; build the "
                "new tensor with where() or concatenate(), or assign under `with no_grad():`"
            )
        self.data[_plain_index(index)] = value._data if isinstance(value, Tensor) else value

    # -- comparisons: constant boolean tensors -----------------------------------------

    def _compare(self, other: Any, compare: Any) -> Tensor:
        other_data = other._data if isinstance(other, Tensor) else other
        if isinstance(other, Node) and not isinstance(other, Tensor):
            raise TypeError(f"cannot compare Tensor and {type(other).__name__}")
        return _constant(compare(self._data, other_data))

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    # -- elementwise functions ---------------------------------------------------------

    def exp(self) -> Tensor:
        """e^x."""
        return _make(np.exp(self._data), (self,), rules.exp)

    def log(self) -> Tensor:
        """ln x (nan for x < 0 and −inf at 0, as numpy gives)."""
        return _make(np.log(self._data), (self,), rules.log)

    def sqrt(self) -> Tensor:
        """√x."""
        return _make(np.sqrt(self._data), (self,), rules.sqrt)

    def tanh(self) -> Tensor:
        """tanh x."""
        return _make(np.tanh(self._data), (self,), rules.tanh)

    def sigmoid(self) -> Tensor:
        """σ(x) = 1/(1 + e^−x), computed from e^−|x| so that nothing overflows."""
        return _make(rules.stable_sigmoid(self._data), (self,), rules.sigmoid)

    def relu(self) -> Tensor:
        """max(x, 0)."""
        return _make(np.maximum(self._data, 0), (self,), rules.relu)

    def abs(self) -> Tensor:
        """``|x|``."""
        return _make(np.abs(self._data), (self,), rules.abs_)

    __abs__ = abs

    def clip(self, min: Any = None, max: Any = None) -> Tensor:
        """x limited to [min, max] (either bound may be None; numbers, arrays or Tensors).

        The rule reads the bounds at the backward: an array bound is copied and a Tensor
        bound is watched, as every constant an op keeps (``_constant_array``, ``_watching``).
        """
        if min is None and max is None:
            raise ValueError("clip: give min, max or both")
        tensors = [bound for bound in (min, max) if isinstance(bound, Tensor)]
        low, high = (_bound(min, self), _bound(max, self))
        try:
            data = np.clip(self._data, low, high)
        except ValueError:
            raise ValueError(
                f"clip: bounds of shapes {np.shape(low)} and {np.shape(high)} do not broadcast "
                f"with a tensor of shape {self.shape}"
            ) from None
        out = _make(data, (self,), rules.clip, (low, high))
        return _watching(out, *tensors) if tensors else out

    def maximum(self, other: Any) -> Tensor:
        """The elementwise maximum of self and other (ties share the gradient)."""
        return maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        """The elementwise minimum of self and other (ties share the gradient)."""
        return minimum(self, other)

    # -- reductions --------------------------------------------------------------------

    @pytorch_names
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Σ over ``axis`` (an int, a tuple, or None for every axis)."""
        axes = _axes(axis, self.ndim, "sum")
        keepdims = _keepdims(keepdims, "sum")
        data = self._data.sum(axis=axes, keepdims=keepdims)
        return _make(data, (self,), rules.sum_, (_kept_shape(self.shape, axes), self.shape))

    @pytorch_names
    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The mean over ``axis``: the sum divided by the number of elements summed."""
        axes = _axes(axis, self.ndim, "mean")
        keepdims = _keepdims(keepdims, "mean")
        count = int(np.prod([self.shape[a] for a in axes]))
        if count == 0:
            raise ValueError(f"mean: no elements along axis {axis} of shape {self.shape}")
        return self.sum(axes, keepdims) * (1.0 / count)

    @pytorch_names
    def var(self, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Σ (x − mean)² / (n − ddof): numpy's variance (ddof=1 for PyTorch's unbiased)."""
        axes = _axes(axis, self.ndim, "var")
        keepdims = _keepdims(keepdims, "var")
        if not _is_int(ddof):  # numpy takes a float; no variance divides by n − 2.5
            raise TypeError(f"var: ddof must be an int, got {ddof!r}")
        if ddof < 0:
            raise ValueError(f"var: ddof must be 0 or more, got {ddof}")
        count = int(np.prod([self.shape[a] for a in axes]))
        if count - ddof <= 0:
            raise ValueError(
                f"var: {counted(count, 'element')} along axis {axis} "
                f"{'leaves' if count == 1 else 'leave'} no degree of freedom"
            )
        centred = self - self.mean(axes, keepdims=True)
        return (centred * centred).sum(axes, keepdims) * (1.0 / (count - ddof))

    @pytorch_names
    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The maximum over ``axis``; ties share the gradient equally."""
        return self._extremum(axis, keepdims, rules.max_, np.max)

    @pytorch_names
    def min(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The minimum over ``axis``; ties share the gradient equally."""
        return self._extremum(axis, keepdims, rules.min_, np.min)

    def _extremum(self, axis: Axis, keepdims: bool, op: Rule, reduce: Any) -> Tensor:
        axes = _axes(axis, self.ndim, op.name)
        keepdims = _keepdims(keepdims, op.name)
        empty = [a for a in axes if self.shape[a] == 0]  # a 0-d tensor is never empty
        if empty:
            raise ValueError(
                f"{op.name}: axis {empty[0]} of the tensor of shape {self.shape} is empty, "
                f"and an empty {op.name} has no value"
            )
        data = reduce(self._data, axis=axes, keepdims=keepdims)
        return _make(data, (self,), op, (_kept_shape(self.shape, axes), self.shape))

    @pytorch_names
    def logsumexp(self, axis: int = -1, keepdims: bool = False) -> Tensor:
        """log Σ e^x along ``axis``, computed as m + log Σ e^(x − m) with m the maximum."""
        a = _axis(axis, self.ndim, "logsumexp")
        data = _logsumexp(self._data, a)
        kept = _kept_shape(self.shape, (a,))
        return _make(
            data if keepdims else data.reshape(np.delete(self.shape, a)),
            (self,),
            rules.logsumexp,
            (a, kept),
        )

    @pytorch_names
    def log_softmax(self, axis: int = -1) -> Tensor:
        """x − logsumexp(x) along ``axis``: finite even for logits of 1e4."""
        a = _axis(axis, self.ndim, "log_softmax")
        shifted = _shifted(self._data, a)  # x − max, formed once: exact where it matters
        with np.errstate(divide="ignore"):  # an empty axis: log 0, over no elements
            data = shifted - np.log(np.exp(shifted).sum(axis=a, keepdims=True))
        return _make(data, (self,), rules.log_softmax, a)

    @pytorch_names
    def softmax(self, axis: int = -1) -> Tensor:
        """e^x / Σ e^x along ``axis``, computed from x − max so that nothing overflows."""
        a = _axis(axis, self.ndim, "softmax")
        exps = np.exp(_shifted(self._data, a))
        return _make(exps / exps.sum(axis=a, keepdims=True), (self,), rules.softmax, a)

    def binary_cross_entropy(self, target: Any) -> Tensor:
        """log(1 + e^x) − y·x elementwise: the logistic loss of logits x for targets y in [0, 1].

        Computed as max(x, 0) − y·x + log(1 + e^−|x|), which never overflows.
        """
        if isinstance(target, Tensor):  # watched, below
            y = target._data.astype(self._data.dtype, copy=False)
        else:
            y = _copy(target, self._data.dtype)  # a copy, as every array an op keeps
        x = self._data
        try:
            data = np.maximum(x, 0) - y * x + np.log1p(np.exp(-np.abs(x)))
        except ValueError:
            raise ValueError(
                f"binary_cross_entropy: logits of shape {self.shape} and targets of shape "
                f"{y.shape} cannot be broadcast together"
            ) from None
        return _watching(_make(data, (self,), rules.binary_cross_entropy, y), target)

    # -- shapes ------------------------------------------------------------------------

    def reshape(self, *shape: Shape) -> Tensor:
        """The same elements in another shape (one size may be −1)."""
        target = _shape_tuple(shape, "reshape", infer=True)
        try:
            data = self._data.reshape(target)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape {self.shape} into {target}") from None
        return _view(_make(data, (self,), rules.reshape, self.shape), self)

    def flatten(self, start_axis: int = 0) -> Tensor:
        """Merge the axes from ``start_axis`` on into one (``flatten(1)`` keeps the batch)."""
        (start,) = _axes(start_axis, self.ndim, "flatten") if self.ndim else (0,)
        return self.reshape((*self.shape[:start], -1))

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        """The axes permuted (reversed when none are given), like ``numpy.transpose``."""
        if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
            axes = tuple(axes[0])
        ndim = self.ndim
        order = tuple(range(ndim))[::-1] if not axes else tuple(int(a) for a in axes)  # type: ignore[arg-type]
        for a in order:
            if not -ndim <= a < ndim:
                raise AxisError(
                    f"transpose: axis {a} is out of range for a tensor of "
                    f"{counted(ndim, 'dimension')}"
                )
        order = tuple(a % ndim for a in order)
        if sorted(order) != list(range(ndim)):
            raise ValueError(
                f"transpose: axes {axes} are not a permutation of {counted(ndim, 'axis')}"
            )
        return _view(_make(self._data.transpose(order), (self,), rules.transpose, order), self)

    @property
    def T(self) -> Tensor:  # noqa: N802 - numpy's name
        """The transpose: the axes reversed."""
        return self.transpose()

    def swapaxes(self, first: int, second: int) -> Tensor:
        """The tensor with two axes exchanged."""
        order = list(range(self.ndim))
        a, b = _axis(first, self.ndim, "swapaxes"), _axis(second, self.ndim, "swapaxes")
        order[a], order[b] = order[b], order[a]
        return self.transpose(order)

    def broadcast_to(self, shape: Shape) -> Tensor:
        """The tensor repeated to ``shape`` by numpy's broadcasting rules."""
        target = _shape_tuple((shape,), "broadcast_to")
        try:
            data = np.broadcast_to(self._data, target)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast {self.shape} to {target}") from None
        return _view(_make(data, (self,), rules.broadcast_to), self)

    def __getitem__(self, index: Any) -> Tensor:
        tensors = _index_tensors(index)
        index = _plain_index(index)
        try:
            data = self._data[index]
        except IndexError as error:
            raise IndexError(f"getitem: {error} (tensor of shape {self.shape})") from None
        out = _view(_make(data, (self,), rules.getitem, (index, self.shape)), self)
        return _watching(out, *tensors) if tensors else out

    def _scatter_add(self, index: Any, shape: tuple[int, ...]) -> Tensor:
        """zeros(shape) with this tensor added at ``index``: getitem's gradient, as an op."""
        data = rules.add_at(shape, index, self._data)
        return _make(data, (self,), rules.scatter_add, (index, shape))


def _view(out: Tensor, of: Tensor) -> Tensor:
    """``out``, whose data may be a view of ``of``'s memory: then they share its Storage."""
    if out._data.base is not None and np.may_share_memory(out._data, of._data):
        out._storage = of._shared_storage()
    return out


def _plain_index(index: Any) -> Any:
    """An index with Tensors replaced by their arrays (watched) and arrays copied."""
    if isinstance(index, tuple):
        return tuple(_plain_index(part) for part in index)
    if isinstance(index, Tensor):
        if index.requires_grad:
            raise TypeError("getitem: an index tensor cannot require grad")
        return index._data
    if isinstance(index, (list, np.ndarray)):
        return _copy(index)  # a copy: the caller may change their array before the backward
    return index


def _index_tensors(index: Any) -> tuple[Tensor, ...]:
    """The Tensors inside an index (their data is kept by getitem, so they are watched)."""
    if isinstance(index, Tensor):
        return (index,)
    if isinstance(index, tuple):
        return tuple(part for part in index if isinstance(part, Tensor))
    return ()


def _row_max(x: np.ndarray, axis: int) -> np.ndarray:
    """The maximum along ``axis`` (kept), 0 where it is not finite or the axis is empty."""
    if x.shape[axis] == 0:
        return np.zeros(_kept_shape(x.shape, (axis,)), x.dtype)
    m = x.max(axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)


def _shifted(x: np.ndarray, axis: int) -> np.ndarray:
    """x − max(x) along ``axis``: e^(x − max) never overflows."""
    return x - _row_max(x, axis)


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    """log Σ e^x along ``axis``, keeping the axis; finite for large x, −inf for an empty axis."""
    m = _row_max(x, axis)
    with np.errstate(divide="ignore"):  # log 0 = −inf: the sum over an empty axis
        return m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _as_tensor(x: Any, op: str, like: Tensor | None = None) -> Tensor:
    """A Tensor as it is; anything else as a constant leaf holding a copy of its data."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, Node):
        raise TypeError(f"{op}: cannot mix Tensor and {type(x).__name__}; use one kind")
    array = _copy(x)  # a copy: the caller may change their array before the backward
    if like is not None and np.issubdtype(like.dtype, np.floating):
        array = array.astype(like.dtype, copy=False)
    return _constant(array)


def _constant_array(x: Any, like: Tensor) -> Any:
    """An array an op keeps as a constant: a copy in ``like``'s float dtype (a number as such).

    The copy is the rule for every array that enters an op from outside the graph (a
    numpy array, a list, another tensor's ``.data``): the caller may change their array
    before the backward, and nothing could see it. A Tensor is never copied: it is watched
    instead (``_watching``).
    """
    array = _copy(x)
    if np.issubdtype(like._data.dtype, np.floating):
        array = array.astype(like._data.dtype, copy=False)
    return array if array.ndim else array.item()


def _bound(bound: Any, like: Tensor) -> Any:
    """A bound of ``clip``: None, a number, a copy of an array, or a Tensor's data."""
    if bound is None or isinstance(bound, (int, float)):
        return bound
    if isinstance(bound, Tensor):
        if bound.requires_grad:
            raise TypeError("clip: a bound cannot require grad; use maximum() and minimum()")
        return bound._data
    if isinstance(bound, Node):
        raise TypeError(f"clip: a bound is a number or an array, not a {type(bound).__name__}")
    return _constant_array(bound, like)


def _watching(out: Tensor, *constants: Any) -> Tensor:
    """``out``, whose rule reads the data of ``constants`` (Tensors among them) from its ctx.

    A Tensor an op uses without differentiating it (cross-entropy's labels, a ``where``
    condition, a target, an index) is not copied: the engine checks, as it does for the
    op's inputs, that its data did not change before the backward (``DataChangedError``).
    """
    if out._first is not None:  # an interior node: its rule will run
        kept = tuple(c for c in constants if isinstance(c, Tensor))
        if kept:
            out._kept = kept
    return out


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """a @ b with numpy's semantics: 1-D operands are vectors, leading axes are batches."""
    a, b = _as_tensor(a, "matmul", b), _as_tensor(b, "matmul", a)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape}: operands must not be scalars")
    inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if a.shape[-1] != inner_b:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned")
    try:
        data = a._data @ b._data
    except ValueError:
        raise ValueError(
            f"matmul: the batch axes of shapes {a.shape} and {b.shape} cannot be broadcast"
        ) from None
    return _make(data, (a, b), rules.matmul, (a.requires_grad, b.requires_grad))


def maximum(a: Any, b: Any) -> Tensor:
    """The elementwise maximum; where a = b each gets half of the gradient."""
    like = a if isinstance(a, Tensor) else b
    a, b = _as_tensor(a, "maximum", like), _as_tensor(b, "maximum", like)
    return a._elementwise(b, rules.maximum, np.maximum)


def minimum(a: Any, b: Any) -> Tensor:
    """The elementwise minimum; where a = b each gets half of the gradient."""
    like = a if isinstance(a, Tensor) else b
    a, b = _as_tensor(a, "minimum", like), _as_tensor(b, "minimum", like)
    return a._elementwise(b, rules.minimum, np.minimum)
