"""``Value``: a scalar that records the operations applied to it (micrograd's node, grown up).

    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = (a * b + b ** 2).tanh()
    c.backward()          # a.grad = dc/da, b.grad = dc/db

Python numbers mix freely with Values on either side of ``+ - * / **``; a number is kept
as a constant of the op (``x * 2.0`` is one node, as PyTorch's ``mul.Scalar``), not as a
node of its own. Every primitive's derivative lives in ``rules.py``.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable, Sequence
from typing import Any, overload

from tracegrad.words import counted

from . import rules
from .engine import Differentiable
from .micrograd import init_node
from .node import (
    Node,
    _check_set_to_none,
    changes_in_place,
    check_flag,
    init_leaf,
    leaf,
    record,
    record_all,
)
from .trace import Sym, apply


def _to_float(x: Any, op: str) -> float:
    """``x`` as a Python float (numpy's float64 too: its arithmetic is many times slower)."""
    if type(x) is float:
        return x
    if type(x) is Sym:  # traced data (trace.py): converted in the compiled step
        return x if type(x.value) is float else apply(float, x)  # type: ignore[return-value]
    if isinstance(x, Node):
        raise TypeError(f"{op}: cannot mix Value and {type(x).__name__}; use one kind of node")
    if isinstance(x, numbers.Real):
        return float(x)
    raise TypeError(f"{op}: expected a real number, got {type(x).__name__}")


def _constant(data: float) -> Value:
    return leaf(Value, data, False)


def _number(other: Any, op: str) -> float | None:
    """``other`` as a float if it is a real number, None if it is no kind of number."""
    if type(other) is Sym:
        return _to_float(other, op)
    if isinstance(other, (float, int)):
        return float(other)
    if isinstance(other, Node):
        raise TypeError(f"{op}: cannot mix Value and {type(other).__name__}; use one kind of node")
    if isinstance(other, numbers.Real):
        return float(other)
    return None


def _as_value(x: Any, op: str) -> Value:
    """``x`` as a Value: a number becomes a constant."""
    return x if isinstance(x, Value) else _constant(_to_float(x, op))


def _power(base: float, exponent: float) -> float:
    """base ** exponent for real numbers, with clear errors where it is not a real number."""
    if type(base) is Sym or type(exponent) is Sym:
        result: float = apply(_power, base, exponent)
        return result
    if base < 0 and not float(exponent).is_integer():
        raise ValueError(
            f"pow: a negative base ({base}) to a non-integer power ({exponent}) is not real"
        )
    try:
        return base**exponent
    except ZeroDivisionError:
        raise ZeroDivisionError(f"pow: 0.0 to a negative power ({exponent}) is infinite") from None
    except OverflowError:
        odd = float(exponent).is_integer() and int(exponent) % 2 == 1
        return -math.inf if base < 0 and odd else math.inf


def _divide(a: float, b: float) -> float:
    if b == 0.0:
        raise ZeroDivisionError(f"div: {a} divided by zero")
    return a / b


def _of(function: Any, x: Any) -> Any:
    """``function(x)`` of the float ``x``; of traced data, written into the compiled step."""
    return function(x) if type(x) is float else apply(function, x)


def _exp(x: float) -> float:
    """e^x, or inf where it overflows (as numpy gives)."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _positive_part(x: float) -> float:
    """max(x, 0), relu's forward."""
    return x if x > 0.0 else 0.0


def _micrograd_form(
    children: Any, more: tuple[Any, ...], label: str, keyword_children: Any, keyword_op: Any
) -> tuple[Any, Any, Any]:
    """The children, op and label of micrograd's ``Value(data, _children, _op, label)``."""
    if keyword_children is not None:
        if children is not True or more:
            raise TypeError("Value: _children= goes with data alone by position")
        children = keyword_children
    if isinstance(children, (str, bytes)) or not isinstance(children, Iterable):
        raise TypeError(
            f"Value: _children must be a tuple of Values, got {type(children).__name__}"
        )
    if len(more) > 2:
        raise TypeError(
            f"Value(data, _children, _op, label) takes 4 arguments, got {2 + len(more)}"
        )
    op = more[0] if more else ""
    if keyword_op is not None:
        if more:
            raise TypeError("Value: _op given twice (by position and by keyword)")
        op = keyword_op
    if len(more) == 2:
        if label:
            raise TypeError("Value: label given twice (by position and by keyword)")
        label = more[1]
    return children, op, label


def _logistic(x: float, y: float) -> float:
    """log(1 + e^x) − y·x, as max(x, 0) − y·x + log(1 + e^−|x|): it never overflows."""
    return max(x, 0.0) - y * x + math.log1p(math.exp(-abs(x)))


class Value(Differentiable):
    """A scalar node of the compute graph.

    ``data`` is a Python float; ``grad`` is d(root)/d(self) after ``root.backward()`` (a
    float, 0.0 before). Values require grad by default, as in micrograd; pass
    ``requires_grad=False`` for a constant. ``label`` names the value in pictures.

    micrograd's form ``Value(data, _children, _op)`` (or ``_children=``, ``_op=``) makes
    the result of an op of your own, whose inputs are the children: assign it a
    ``_backward`` closure, as micrograd's lecture does (``micrograd.py``), or declare a
    rule instead (``autograd.rule`` and ``autograd.record_op``).
    """

    __slots__ = ()

    _initial_grad = 0.0
    _retains_by_default = True

    @overload
    def __init__(self, data: float, requires_grad: bool = True, label: str = "") -> None: ...

    @overload
    def __init__(
        self, data: float, _children: Iterable[Value], _op: str = "", label: str = "", /
    ) -> None: ...

    @overload
    def __init__(
        self, data: float, *, _children: Iterable[Value], _op: str = "", label: str = ""
    ) -> None: ...

    def __init__(
        self,
        data: float,
        requires_grad: Any = True,
        *more: Any,
        label: str = "",
        _children: Any = None,
        _op: Any = None,
    ) -> None:
        if more or _children is not None or _op is not None or type(requires_grad) is not bool:
            # A rarer form: micrograd's Value(data, _children, _op[, label]), or a label
            # or a flag given by position (Value(2.0, True, "a")).
            if _children is not None or isinstance(requires_grad, (tuple, list, set, frozenset)):
                children, op, label = _micrograd_form(requires_grad, more, label, _children, _op)
                init_node(self, _to_float(data, "Value"), children, op, label, Value)
                return
            if _op is not None:
                raise TypeError("Value: _op= goes with _children= (micrograd's form)")
            if len(more) > 1:
                raise TypeError(
                    f"Value takes data, requires_grad and label, got {2 + len(more)} "
                    "arguments by position"
                )
            if more:
                if label:
                    raise TypeError("Value: label given twice (by position and by keyword)")
                label = more[0]
        check_flag(requires_grad, "Value")
        if not isinstance(label, str):
            raise TypeError(f"Value: label must be a string, got {type(label).__name__}")
        init_leaf(self, _to_float(data, "Value"), bool(requires_grad), label)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self._data!r}, grad={self.grad!r}{label})"  # as micrograd shows it

    @property
    def data(self) -> float:
        """The value, a Python float; assigning to it is recorded (see ``versions.py``)."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        self._data = _to_float(value, "Value.data")
        self._mark_written()

    @property
    def shape(self) -> tuple[int, ...]:
        """() : a Value is a scalar."""
        return ()

    def __float__(self) -> float:
        # math.tanh(v), math.exp(v), float(v): each would return a float and silently drop
        # the gradient, so they are refused, as np.exp(tensor) is; micrograd's Value has
        # no __float__ either.
        raise TypeError(
            "a Value is not a float: math.tanh(v) and the like would drop the gradient. Use "
            "the Value's own method (v.tanh(), v.exp(), v.log(), ...), which records the "
            "graph, or v.data (v.item()) for the number"
        )

    def item(self) -> float:
        """The data as a Python float."""
        return self._data

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the accumulated gradient to 0.0 (micrograd's: a Value's gradient of
        nothing reads 0.0, so ``set_to_none``, PyTorch's argument, changes nothing)."""
        _check_set_to_none(set_to_none, "Value.zero_grad")
        self.grad = 0.0

    # -- what the engine asks of the kind ----------------------------------------------

    @classmethod
    def _constant(cls, data: Any) -> Value:
        return _constant(float(data))

    @classmethod
    def _seed(cls, root: Node, grad: Any) -> float:
        return 1.0 if grad is None else _to_float(grad, "backward")

    # -- arithmetic ------------------------------------------------------------------

    def __add__(self, other: Any) -> Value:
        if isinstance(other, Value):
            return record(Value, self._data + other._data, rules.add, self, other)
        c = _number(other, "add")
        if c is None:
            return NotImplemented
        return record(Value, self._data + c, rules.add_constant, self, ctx=c)

    __radd__ = __add__

    def __mul__(self, other: Any) -> Value:
        if isinstance(other, Value):
            return record(Value, self._data * other._data, rules.mul, self, other)
        c = _number(other, "mul")
        if c is None:
            return NotImplemented
        return record(Value, self._data * c, rules.mul_constant, self, ctx=c)

    __rmul__ = __mul__

    def __neg__(self) -> Value:
        return record(Value, -self._data, rules.neg, self)

    def __sub__(self, other: Any) -> Value:
        if isinstance(other, Value):
            return record(Value, self._data - other._data, rules.sub, self, other)
        c = _number(other, "sub")
        if c is None:
            return NotImplemented
        return self + (-c)

    def __rsub__(self, other: Any) -> Value:
        c = _number(other, "sub")
        if c is None:
            return NotImplemented
        return (-self) + c

    def __truediv__(self, other: Any) -> Value:
        if isinstance(other, Value):
            if other._data == 0.0:
                raise ZeroDivisionError(f"div: {self._data} divided by zero")
            return record(Value, self._data / other._data, rules.div, self, other)
        c = _number(other, "div")
        if c is None:
            return NotImplemented
        if c == 0.0:
            raise ZeroDivisionError(f"div: {self._data} divided by zero")
        return self * (1.0 / c)

    def __rtruediv__(self, other: Any) -> Value:
        c = _number(other, "div")
        if c is None:
            return NotImplemented
        return self**-1 * c

    def __pow__(self, exponent: Any) -> Value:
        if isinstance(exponent, Value):
            data = _power(self._data, exponent._data)
            return record(Value, data, rules.pow_, self, exponent)
        p = _number(exponent, "pow")
        if p is None:
            return NotImplemented
        return record(Value, _power(self._data, p), rules.pow_const, self, ctx=p)

    def __rpow__(self, base: Any) -> Value:
        c = _number(base, "pow")
        if c is None:
            return NotImplemented
        return _constant(c) ** self

    # -- in-place operators, PyTorch's way (see ``node.changes_in_place``) ---------------

    def _in_place(self, other: Any, symbol: str, forward: Any, out_of_place: Any) -> Value:
        if isinstance(other, Value):
            other_requires_grad, c = other.requires_grad, other._data
        else:
            number = _number(other, f"{symbol}=")
            if number is None:
                return NotImplemented
            other_requires_grad, c = False, number
        if not changes_in_place(
            self, other_requires_grad, f"{symbol}=", f"write `x = x {symbol} y` for a new node"
        ):
            return out_of_place(self, other)
        self.data = forward(self._data, c)  # a write, recorded
        return self

    def __iadd__(self, other: Any) -> Value:
        return self._in_place(other, "+", operator.add, Value.__add__)

    def __isub__(self, other: Any) -> Value:
        return self._in_place(other, "-", operator.sub, Value.__sub__)

    def __imul__(self, other: Any) -> Value:
        return self._in_place(other, "*", operator.mul, Value.__mul__)

    def __itruediv__(self, other: Any) -> Value:
        return self._in_place(other, "/", _divide, Value.__truediv__)

    def __ipow__(self, other: Any) -> Value:
        return self._in_place(other, "**", _power, Value.__pow__)

    # -- functions -------------------------------------------------------------------

    def exp(self) -> Value:
        """e^x (inf when it overflows, as numpy gives)."""
        return record(Value, _of(_exp, self._data), rules.exp, self)

    def log(self) -> Value:
        """The natural logarithm ln x, for x > 0."""
        if self._data <= 0.0:
            raise ValueError(f"log: the argument must be positive, got {self._data}")
        return record(Value, _of(math.log, self._data), rules.log, self)

    def sqrt(self) -> Value:
        """√x, for x ≥ 0."""
        if self._data < 0.0:
            raise ValueError(f"sqrt: the argument must not be negative, got {self._data}")
        return record(Value, _of(math.sqrt, self._data), rules.sqrt, self)

    def tanh(self) -> Value:
        """tanh x = (e^x − e^−x) / (e^x + e^−x)."""
        return record(Value, _of(math.tanh, self._data), rules.tanh, self)

    def sigmoid(self) -> Value:
        """σ(x) = 1 / (1 + e^−x), computed without overflow for large ``|x|``."""
        return record(Value, rules.stable_sigmoid(self._data), rules.sigmoid, self)

    def relu(self) -> Value:
        """max(x, 0)."""
        return record(Value, _of(_positive_part, self._data), rules.relu, self)

    def abs(self) -> Value:
        """``|x|``."""
        return record(Value, abs(self._data), rules.abs_, self)

    __abs__ = abs

    def binary_cross_entropy(self, target: float) -> Value:
        """log(1 + e^x) − y·x: the logistic loss of the logit x for a target y in [0, 1].

        Computed as max(x, 0) − y·x + log(1 + e^−|x|), which never overflows.
        """
        y = _to_float(target, "binary_cross_entropy")
        x = self._data
        data = _logistic(x, y) if type(x) is float and type(y) is float else apply(_logistic, x, y)
        return record(Value, data, rules.binary_cross_entropy, self, ctx=y)

    @staticmethod
    def sum(terms: Iterable[Value | float]) -> Value:
        """x1 + ... + xn as one node (Python's ``sum`` would make n − 1 nodes).

        Numbers among the terms are added into one constant.
        """
        nodes: list[Value] = []
        constant = 0.0
        for term in terms:
            if isinstance(term, Value):
                nodes.append(term)
            else:
                constant += _to_float(term, "sum")
        if constant != 0.0 or not nodes:
            nodes.append(_constant(constant))
        data = 0.0
        for node in nodes:
            data += node._data
        return record_all(Value, data, rules.add_n, nodes)

    @staticmethod
    def linear(
        weights: Sequence[Value], inputs: Sequence[Value | float], bias: Value | float = 0.0
    ) -> Value:
        """Σ_i w_i·x_i + b as one node: a neuron's pre-activation, fused.

        It equals ``Value.sum([w * x for w, x in zip(weights, inputs)] + [bias])`` but
        records one node instead of n + 1, which makes scalar networks several times faster.
        """
        if len(weights) != len(inputs):
            raise ValueError(
                f"linear: {counted(len(weights), 'weight')} and {counted(len(inputs), 'input')}; "
                "they must match"
            )
        n = len(weights)
        parents = tuple(
            [
                p if isinstance(p, Value) else _as_value(p, "linear")
                for p in (*weights, *inputs, bias)
            ]
        )
        raw = [p._data for p in parents]
        data = raw[-1] + sum(map(operator.mul, raw[:n], raw[n:-1]))
        return record_all(Value, data, rules.weighted_sum, parents, n)

    # -- comparisons compare the data and return bools ---------------------------------

    def __lt__(self, other: Any) -> bool:
        return self._data < _to_float(other._data if isinstance(other, Value) else other, "<")

    def __le__(self, other: Any) -> bool:
        return self._data <= _to_float(other._data if isinstance(other, Value) else other, "<=")

    def __gt__(self, other: Any) -> bool:
        return self._data > _to_float(other._data if isinstance(other, Value) else other, ">")

    def __ge__(self, other: Any) -> bool:
        return self._data >= _to_float(other._data if isinstance(other, Value) else other, ">=")
