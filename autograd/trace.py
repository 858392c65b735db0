"""Tracing: the real code of a step, run on symbols that write down what is done to them.

A ``Sym`` stands for one number or array of a step. It carries the value it has in the
step being traced (so every decision the code makes on shapes, dtypes and types is the
real one) and the instruction that computed it. Arithmetic, numpy's functions and ufuncs,
methods, indexing and the few helpers the ops call on data all work on symbols: each
computes its value as usual and appends one instruction to the ``Program``. Nothing of
the forward or the backward is written twice: the user's function, the op methods, the
engine's walk and the derivative rules run as they are, and the program is what they did.

What the code may not do with a symbol is decide something by it: a branch on data
(``if loss.data > 1``), a conversion to a Python number (``float``, ``int``, ``math.exp``)
or to a plain array. In the user's code that is a ``TracingError``: the compiled step would
silently keep the trace's decision. The library's own checks of data (the argument of
``log`` is positive, labels lie in range) are kept as *guards*: the compiled step checks
them again on every call and stops with an error where the eager op would have.
"""

from __future__ import annotations

import math
import operator
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .mode import switched


class TracingError(RuntimeError):
    """Something a compiled function did cannot be traced; the message says what to do."""


class GuardError(RuntimeError):
    """A check that held when the step was traced fails now (the eager op would refuse too)."""


#: Instructions, one per operation done to a symbol; see ``Program`` for their forms.
Instruction = tuple[Any, ...]


class Program:
    """The instructions of a trace, in the order they were done.

    Each instruction is ``(kind, *payload)``; the instruction at position ``i`` defines
    the variable ``v{i}`` (instructions that only act, such as a guard or an in-place
    write, define nothing). Operands are kept as nested Python structures, symbols among
    them (a symbol stands for the result of the instruction that made it):

    - ``("input", source)``: a value the compiled step is given (a node's data, an argument);
    - ``("binop", symbol, a, b)``, ``("unop", symbol, a)``: Python's operators;
    - ``("call", function, args, kwargs)``: a function (numpy's, math's, a helper);
    - ``("method", obj, name, args, kwargs)``, ``("attr", obj, name)``;
    - ``("getitem", obj, index)``, ``("setitem", obj, index, value)``;
    - ``("inplace", symbol, a, b)``: ``a op= b`` on an array, which stays the same object;
    - ``("guard", condition, expected, message)``: stop unless ``bool(condition)`` is expected.
    """

    def __init__(self) -> None:
        self.instructions: list[Instruction] = []
        #: Each instruction's value in the trace (None for an action).
        self.values: list[Any] = []
        #: The instructions that only act: writes and guards.
        self.actions: set[int] = set()
        #: For each instruction, the instructions whose results it uses.
        self.refs: list[tuple[int, ...]] = []
        #: A note for each instruction that made a node's data: the op and the node's label.
        self.notes: dict[int, Any] = {}
        self._note_starts: list[int] | None = None
        #: The arrays the compiled step is given: no instruction may write into them.
        self.given: list[np.ndarray] = []
        self.closed = False

    def emit(
        self, instruction: Instruction, value: Any, refs: tuple[int, ...] | None = None
    ) -> Sym:
        """Append ``instruction`` and return the symbol of its result, whose value is ``value``.

        ``refs``, the instructions it uses, may be given by a caller that knows them.
        """
        if self.closed:
            raise TracingError(
                "a value from inside a compiled function was used after its trace ended; "
                "return it from the function instead of keeping it aside"
            )
        self.instructions.append(instruction)
        self.values.append(value)
        self.refs.append(_refs(instruction) if refs is None else refs)
        return Sym(value, len(self.instructions) - 1, self)

    def group_of(self, index: int) -> int | None:
        """The instruction whose note covers ``index``: the latest noted one at or before it."""
        starts = self._note_starts
        if starts is None:
            starts = self._note_starts = sorted(self.notes)
        import bisect

        k = bisect.bisect_right(starts, index) - 1
        if k < 0:
            return None
        start = starts[k]
        return start if self.notes[start][0] == "backward" or start == index else None

    def act(self, instruction: Instruction) -> None:
        """Append an instruction that defines nothing (a write, a guard)."""
        if self.closed:
            raise TracingError("a compiled function's trace is over; nothing can be added to it")
        self.actions.add(len(self.instructions))
        self.instructions.append(instruction)
        self.values.append(None)
        self.refs.append(_refs(instruction))

    def check_write(self, target: Any) -> None:
        """Refuse a write into memory the compiled step is given (a parameter, an input)."""
        if isinstance(target, np.ndarray) and any(
            np.may_share_memory(target, given) for given in self.given
        ):
            raise TracingError(
                "a write into a parameter's or an input's data inside a compiled function: "
                "the compiled step could not record it as a change of data. Update data "
                "outside the function (an optimiser's step, or `with no_grad(): p -= ...`)"
            )


def _refs(instruction: Instruction) -> tuple[int, ...]:
    """The numbers of the instructions whose results ``instruction`` uses."""
    found: list[int] = []
    stack = list(instruction[1:])
    while stack:
        x = stack.pop()
        kind = type(x)
        if kind is Sym:
            found.append(x.index)
        elif kind is tuple or kind is list:
            stack.extend(x)
        elif kind is dict:
            stack.extend(x.values())
        elif kind is slice:
            stack.extend((x.start, x.stop, x.step))
    return tuple(found)


def _operand(x: Any) -> Any:
    """``x`` as an instruction keeps it: symbols stand for themselves (see ``Program``)."""
    return x


def value_of(x: Any) -> Any:
    """``x`` with every symbol replaced by its value (inside containers too)."""
    if type(x) is Sym:
        return x.value
    if type(x) in (tuple, list):
        return type(x)(value_of(item) for item in x)
    if type(x) is dict:
        return {key: value_of(item) for key, item in x.items()}
    if type(x) is slice:
        return slice(value_of(x.start), value_of(x.stop), value_of(x.step))
    return x


def contains_sym(x: Any) -> bool:
    """Whether ``x`` is a symbol or holds one."""
    if type(x) is Sym:
        return True
    if type(x) in (tuple, list):
        return any(contains_sym(item) for item in x)
    if type(x) is dict:
        return any(contains_sym(item) for item in x.values())
    if type(x) is slice:
        return contains_sym(x.start) or contains_sym(x.stop) or contains_sym(x.step)
    return False


def _program_of(*items: Any) -> Program:
    for item in items:
        if type(item) is Sym:
            return item.program
        if type(item) in (tuple, list):
            for inner in item:
                if contains_sym(inner):
                    return _program_of(inner)
        if type(item) is dict:
            for inner in item.values():
                if contains_sym(inner):
                    return _program_of(inner)
        if type(item) is slice and contains_sym(item):
            return _program_of(item.start, item.stop, item.step)
    raise AssertionError("no symbol among the operands")


def apply(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, written down when a symbol is among the arguments.

    The helpers of the ops call this where data decides a result (relu's ``x if x > 0``,
    a stable sigmoid, an exponential that overflows to inf): the compiled step then calls
    the very same helper, so its numbers are the eager ones to the last bit.
    """
    if not (contains_sym(args) or contains_sym(kwargs)):
        return function(*args, **kwargs)
    value = function(*value_of(args), **value_of(kwargs))
    program = _program_of(args, kwargs)
    return program.emit(("call", function, _operand(args), _operand(kwargs)), value)


def made(function: Callable[..., Any], *args: Any, like: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, an array made of plain numbers (``np.zeros``) that
    ``like``'s data will be written into: when ``like`` is traced, the compiled step makes
    the array too, at each call, instead of keeping the one made while tracing."""
    value = function(*args, **kwargs)
    if type(like) is not Sym:
        return value
    return like.program.emit(("call", function, _operand(args), _operand(kwargs)), value, ())


def fresh(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)`` now, and again at every call of a compiled step.

    What a compiled function computes from plain numbers is frozen when it is traced; a
    random draw inside it (a dropout mask) must not be. Called through ``fresh``, the draw
    is made again at every call, from the same generator, so a compiled step draws the
    same numbers as the eager loop would.
    """
    value = function(*args, **kwargs)
    trace = local.trace
    if trace is None:
        return value
    return trace.program.emit(("call", function, _operand(args), _operand(kwargs)), value, ())


def depends_on(obj: Any, *names: str) -> None:
    """Say that what is being compiled depends on ``obj``'s attributes ``names`` (all of
    its attributes when none are named).

    Outside a trace it does nothing. While a function is traced, the compiled step will
    check at every call that each attribute is still what it is now (the same object, or
    an equal number or string) and refuse to run otherwise (``CompileError``): Python
    state such as a module's train/eval mode or a dropout rate is read while tracing and
    would otherwise be frozen silently. ``nn``'s modules call it for their own state.
    """
    trace = local.trace
    if trace is None:
        return
    for name in names or [name for name in vars(obj) if not name.startswith("__")]:
        trace.remember(obj, name, getattr(obj, name))


#: The engine's node classes (set by node.py): a symbol's operators defer to a node's,
#: which take the symbol as a constant of the op.
node_types: tuple[type, ...] = ()


#: Modules whose own checks of data become guards (the library's); anywhere else a branch
#: on a symbol is a TracingError.
_LIBRARY = ("autograd.", "nn.")


def _from_library(depth: int = 2) -> bool:
    name = sys._getframe(depth).f_globals.get("__name__", "")
    return isinstance(name, str) and name.startswith(_LIBRARY)


_BINARY = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
    "@": operator.matmul,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "&": operator.and_,
    "|": operator.or_,
    "^": operator.xor,
}

_IN_PLACE = {
    "+": operator.iadd,
    "-": operator.isub,
    "*": operator.imul,
    "/": operator.itruediv,
    "**": operator.ipow,
    "@": operator.imatmul,
}

#: numpy functions whose result depends only on shapes, dtypes or memory layout: they are
#: answered from the trace's values and written into no program.
_METADATA = frozenset(
    getattr(np, name)
    for name in (
        "shape",
        "ndim",
        "size",
        "may_share_memory",
        "shares_memory",
        "result_type",
        "iscomplexobj",
        "isrealobj",
        "isscalar",
    )
    if hasattr(np, name)
)

#: Attributes of an array that describe it rather than compute from it.
_DESCRIPTIONS = frozenset(
    ("shape", "ndim", "dtype", "size", "itemsize", "nbytes", "strides", "flags", "base")
)


def _binary(symbol: str, reflected: bool) -> Callable[[Sym, Any], Any]:
    function = _BINARY[symbol]

    def method(self: Sym, other: Any) -> Any:
        kind = type(other)
        if kind is Sym:  # the common cases first: two symbols, or a symbol and a number
            if reflected:
                value = function(other.value, self.value)
                operands = (other, self)
            else:
                value = function(self.value, other.value)
                operands = (self, other)
            refs: tuple[int, ...] = (operands[0].index, operands[1].index)
        elif kind is float or kind is int or kind is bool:
            if reflected:
                value = function(other, self.value)
                operands = (other, self)
            else:
                value = function(self.value, other)
                operands = (self, other)
            refs = (self.index,)
        elif isinstance(other, node_types):
            return NotImplemented  # a node: let its own operator take the symbol as a constant
        else:
            a, b = (other, self) if reflected else (self, other)
            value = function(value_of(a), value_of(b))
            return self.program.emit(("binop", symbol, _operand(a), _operand(b)), value)
        return self.program.emit(("binop", symbol, *operands), value, refs)

    return method


def _in_place(symbol: str) -> Callable[[Sym, Any], Any]:
    function = _IN_PLACE[symbol]

    def method(self: Sym, other: Any) -> Any:
        if isinstance(other, node_types):
            return NotImplemented
        if not isinstance(self.value, np.ndarray):
            return _binary(symbol, False)(self, other)  # numbers: x += y makes a new one
        self.program.check_write(self.value)
        function(self.value, value_of(other))
        self.program.act(("inplace", symbol, self, _operand(other)))
        return self

    return method


class Sym:
    """A number or array of a step being traced: its value now, and how it was computed."""

    __slots__ = ("value", "index", "program", "__weakref__")

    def __init__(self, value: Any, index: int, program: Program) -> None:
        self.value = value
        self.index = index
        self.program = program

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        # isinstance() sees the value's type, so the library's code dispatches on a symbol
        # exactly as on its value (a float takes the float path, an array numpy's);
        # type() still sees Sym.
        return type(self.value)

    # -- what is refused: deciding something by the data ------------------------------

    def __bool__(self) -> bool:
        decided = bool(self.value)
        if _from_library():
            self.program.act(("guard", self, decided, _guard_message()))
            return decided
        raise TracingError(
            "a branch on data inside a compiled function (an `if`, `while`, `and`/`or`, "
            "`min`/`max` or a comparison of Values): the compiled step would keep the "
            "branch this trace took whatever the data. Compute it outside the function, "
            "or with where() on Tensors"
        )

    def _concrete(self, what: str) -> TracingError:
        return TracingError(
            f"{what} of data inside a compiled function: the compiled step would keep "
            "this trace's number. Use the node's own methods (v.exp(), v.tanh(), ...) or "
            "return the value from the function and convert it outside"
        )

    def __float__(self) -> float:
        raise self._concrete("float()")

    def __int__(self) -> int:
        raise self._concrete("int()")

    def __index__(self) -> int:
        raise self._concrete("an index or a size made")

    def __complex__(self) -> complex:
        raise self._concrete("complex()")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise self._concrete("a plain numpy array made")

    def __iter__(self) -> Iterator[Sym]:
        shape = np.shape(self.value)
        if not shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(shape[0]))

    def __len__(self) -> int:
        return len(self.value)

    def __repr__(self) -> str:
        return f"traced({self.value!r})"

    def __format__(self, spec: str) -> str:  # a print inside the function shows the trace
        return format(self.value, spec)

    __hash__ = object.__hash__

    # -- Python's operators -------------------------------------------------------------

    __add__ = _binary("+", False)
    __radd__ = _binary("+", True)
    __sub__ = _binary("-", False)
    __rsub__ = _binary("-", True)
    __mul__ = _binary("*", False)
    __rmul__ = _binary("*", True)
    __truediv__ = _binary("/", False)
    __rtruediv__ = _binary("/", True)
    __floordiv__ = _binary("//", False)
    __rfloordiv__ = _binary("//", True)
    __mod__ = _binary("%", False)
    __rmod__ = _binary("%", True)
    __pow__ = _binary("**", False)
    __rpow__ = _binary("**", True)
    __matmul__ = _binary("@", False)
    __rmatmul__ = _binary("@", True)
    __lt__ = _binary("<", False)
    __le__ = _binary("<=", False)
    __gt__ = _binary(">", False)
    __ge__ = _binary(">=", False)
    __eq__ = _binary("==", False)
    __ne__ = _binary("!=", False)
    __and__ = _binary("&", False)
    __rand__ = _binary("&", True)
    __or__ = _binary("|", False)
    __ror__ = _binary("|", True)
    __xor__ = _binary("^", False)
    __rxor__ = _binary("^", True)
    __iadd__ = _in_place("+")
    __isub__ = _in_place("-")
    __imul__ = _in_place("*")
    __itruediv__ = _in_place("/")
    __ipow__ = _in_place("**")
    __imatmul__ = _in_place("@")

    def __neg__(self) -> Sym:
        return self.program.emit(("unop", "-", self), -self.value)

    def __pos__(self) -> Sym:
        return self.program.emit(("unop", "+", self), +self.value)

    def __invert__(self) -> Sym:
        return self.program.emit(("unop", "~", self), ~self.value)

    def __abs__(self) -> Sym:
        return self.program.emit(("call", abs, (self,), {}), abs(self.value))

    # -- arrays: indexing, attributes, methods, and numpy's protocols -------------------

    def __getitem__(self, index: Any) -> Sym:
        _refuse_data_shaped(index)
        value = self.value[value_of(index)]
        return self.program.emit(("getitem", self, _operand(index)), value)

    def __setitem__(self, index: Any, item: Any) -> None:
        self.program.check_write(self.value)
        self.value[value_of(index)] = value_of(item)
        self.program.act(("setitem", self, _operand(index), _operand(item)))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        attribute = getattr(self.value, name)
        if name in _DESCRIPTIONS:
            return attribute
        if callable(attribute):
            return _Method(self, name)
        return self.program.emit(("attr", self, name), attribute)

    __array_priority__ = 2000  # above Tensor's: numpy defers to a symbol first

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if any(isinstance(x, node_types) for x in inputs):
            return NotImplemented
        out = kwargs.get("out")
        for written in (out if isinstance(out, tuple) else (out,)) if out is not None else ():
            _check_target(self.program, written)
        if method == "at":
            _check_target(self.program, inputs[0])
        value = getattr(ufunc, method)(*value_of(inputs), **value_of(kwargs))
        instruction = ("ufunc", ufunc, method, _operand(inputs), _operand(kwargs))
        if out is not None:  # written in place: the outputs stay what they were
            self.program.act(instruction)
            outs = out if isinstance(out, tuple) else (out,)
            return outs[0] if len(outs) == 1 else outs
        if method == "at":  # ufunc.at writes into its first input
            self.program.act(instruction)
            return None
        return self.program.emit(instruction, value)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if func in _METADATA:
            return func(*value_of(args), **value_of(kwargs))
        if func in _DATA_SHAPED:
            raise TracingError(
                f"np.{getattr(func, '__name__', func)} of data inside a compiled function: "
                "its result's shape depends on the data, which a compiled step cannot follow"
            )
        writes_first = func in _WRITING_FUNCTIONS
        if writes_first:
            _check_target(self.program, args[0] if args else kwargs.get("dst", kwargs.get("a")))
        if kwargs.get("out") is not None:
            _check_target(self.program, kwargs["out"])
        value = func(*value_of(args), **value_of(kwargs))
        instruction = ("call", func, _operand(tuple(args)), _operand(kwargs))
        if writes_first:
            self.program.act(instruction)
            return value
        if kwargs.get("out") is not None:
            self.program.act(instruction)
            return kwargs["out"]
        return self.program.emit(instruction, value)


def _check_target(program: Program, target: Any) -> None:
    """A write of traced data goes into a traced array, never into a plain one."""
    targets = target if isinstance(target, tuple) else (target,)
    for written in targets:
        if type(written) is not Sym:
            raise TracingError(
                "traced data written into an array made as a plain one while tracing: the "
                "compiled step would not make that array again"
            )
        program.check_write(written.value)


class _Method:
    """A method of a traced array, to be called: ``x.sum(axis=0)`` is written down."""

    __slots__ = ("owner", "name")

    def __init__(self, owner: Sym, name: str) -> None:
        self.owner, self.name = owner, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        owner = self.owner
        if self.name in ("nonzero", "compress"):
            raise TracingError(
                f"{self.name}() of data inside a compiled function: its result's shape "
                "depends on the data, which a compiled step cannot follow"
            )
        if self.name in _WRITING_METHODS:
            owner.program.check_write(owner.value)
        value = getattr(owner.value, self.name)(*value_of(args), **value_of(kwargs))
        instruction = ("method", owner, self.name, _operand(args), _operand(kwargs))
        if self.name in _WRITING_METHODS:
            owner.program.act(instruction)
            return value
        return owner.program.emit(instruction, value)


#: numpy functions that write into their first argument.
_WRITING_FUNCTIONS = frozenset(
    getattr(np, name)
    for name in ("copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis")
    if hasattr(np, name)
)

#: numpy functions whose result's shape depends on the data (what is nonzero, unique...).
_DATA_SHAPED = frozenset(
    getattr(np, name)
    for name in ("nonzero", "flatnonzero", "argwhere", "unique", "extract", "compress")
    if hasattr(np, name)
)


def _refuse_data_shaped(index: Any) -> None:
    """A mask of data as an index picks as many elements as the data says: refused."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if type(part) is Sym and getattr(part.value, "dtype", None) == np.bool_:
            raise TracingError(
                "an index made of a mask of data inside a compiled function: how many "
                "elements it picks depends on the data, which a compiled step cannot "
                "follow; use where() instead"
            )


#: ndarray methods that write into the array (their result, if any, is not data).
_WRITING_METHODS = frozenset(("fill", "put", "sort", "partition", "itemset", "setfield"))


def _guard_message() -> str:
    """Where a library check was made: the function that checked, for the guard's error."""
    frame = sys._getframe(2)
    where = frame.f_code.co_filename.rsplit("/", 1)[-1]
    return f"{frame.f_code.co_name} in {where}, line {frame.f_lineno}"


# -- the state of tracing ---------------------------------------------------------------


class _Local(threading.local):
    trace: Any = None


local = _Local()


def tracing() -> Any:
    """The trace this thread is running, or None (one read of a plain counter when no
    thread is tracing: the op methods and modules ask at every call)."""
    return local.trace if switched.count else None


def is_traced(x: Any) -> bool:
    """Whether ``x`` is data of a function being compiled (a symbol of its trace).

    Code that checks data before using it (``nn``'s losses check their targets) asks this:
    traced data has a shape and a dtype to check, but no numbers to look at.
    """
    return type(x) is Sym


def float_constant(x: float) -> str:
    """Python source for the float ``x`` that reads back to the same bits."""
    if math.isnan(x):
        return "_nan"
    if math.isinf(x):
        return "_inf" if x > 0 else "(-_inf)"
    return repr(x)
