"""Your own op: a forward, a derivative rule, and ``record_op`` to join them into the graph.

    from autograd import Value, record_op, rule

    @rule("cube", "³", reads="inputs")
    def cube_rule(ctx, g, out, x):
        return (g * 3.0 * x * x,)          # d(x³)/dx = 3x², times the incoming gradient

    def cube(x):
        return record_op(cube_rule, x.data ** 3, x)

An op made so is the library's kind of op: the engine runs its rule in ``backward()`` and
``grad()``, ``create_graph=True`` differentiates the rule again when it is written with
operators (it then runs on nodes), ``autograd.compile`` traces the forward and the rule,
the data it reads is checked for changes, and ``gradcheck`` checks it as it checks the
built-in ones. The same rule serves Values and Tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from .node import Node, record_all
from .rules import Backward, Rule
from .tensor import Tensor, _as_array
from .trace import Sym
from .value import Value, _to_float

N = TypeVar("N", Value, Tensor)


def rule(name: str, symbol: str | None = None, *, reads: str = "") -> Callable[[Backward], Rule]:
    """Declare ``backward`` the derivative rule of your op ``name`` (a decorator; gives a Rule).

    ``backward(ctx, g, out, *inputs)`` returns one gradient per input (None for an input
    that gets none): for out = f(x_1, ..., x_n) and the incoming gradient g = ∂L/∂out,
    input i's is g·∂f/∂x_i, the chain rule's step. ``out`` and ``inputs`` are raw data (a
    float, an array), or nodes when the engine differentiates the rule again
    (``create_graph=True``): written with operators and the nodes' methods, the same code
    serves both. ``ctx`` is the constant given to ``record_op``. The engine sums a
    broadcast gradient back to its input's shape, so a rule never does.

    ``reads`` names the data the rule reads besides g: "inputs", "output", "both" or ""
    (none). The engine refuses a backward after that data changed, instead of giving a
    gradient of data that is gone. ``symbol`` is drawn for the op in pictures (the name by
    default; a ``{}`` in it is filled with the op's constant).

    It registers nothing: the name is for pictures and errors (the library's own ops are
    declared in ``autograd.rules``' table).
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"rule: the op's name must be a non-empty string, got {name!r}")
    if symbol is not None and not isinstance(symbol, str):
        raise TypeError(f"rule {name!r}: symbol must be a string, got {type(symbol).__name__}")
    if reads not in ("", "inputs", "output", "both"):
        raise ValueError(f"rule {name!r}: reads must be '', inputs, output or both, got {reads!r}")

    def declare(backward: Backward) -> Rule:
        if not callable(backward):
            raise TypeError(f"rule {name!r}: expected a function, got {type(backward).__name__}")
        return Rule(name, symbol or name, backward, reads)

    return declare


def record_op(op: Rule, data: Any, *inputs: N, ctx: Any = None) -> N:
    """The node of the op ``op`` whose forward computed ``data`` from ``inputs``.

    ``op`` is a rule declared with ``autograd.rule``; ``data`` is the forward's result,
    computed from the inputs' data (``x.data ** 3``); ``inputs`` are the op's inputs, all
    Values or all Tensors, in the order the rule receives them; ``ctx`` is whatever
    constant the rule needs (an exponent, an axis), passed to it as its first argument.
    The result is a Value holding ``data`` as a float, or a Tensor holding a copy of it
    (you may keep your array and change it). As for the library's ops, the node joins the
    graph only while gradients are recorded and some input requires grad: otherwise it is
    a constant.
    """
    if not isinstance(op, Rule):
        raise TypeError(
            f"record_op: op must be a rule declared with @autograd.rule(name), got "
            f"{type(op).__name__}"
        )
    where = f"record_op({op.name!r})"
    if not inputs:
        raise TypeError(f"{where}: no inputs; an op's node is computed from Values or Tensors")
    kind = Value if isinstance(inputs[0], Value) else Tensor
    for position, x in enumerate(inputs):
        if not isinstance(x, kind):
            what = "Values" if kind is Value else "Tensors"
            raise TypeError(
                f"{where}: input {position} is {type(x).__name__}, not one of the {what} the "
                f"op is computed from; pass a constant in ctx"
            )
    if isinstance(data, Node):
        raise TypeError(
            f"{where}: data is a {type(data).__name__}; pass the forward's result, computed "
            "from the inputs' .data (a node would be recorded twice)"
        )
    if kind is Value:
        data = _to_float(data, where)
    elif type(data) is Sym:  # traced (autograd.compile): written into the compiled step
        data = _as_array(data)
    else:
        data = np.array(data)  # a copy: the caller may keep their array and change it
        if not np.issubdtype(data.dtype, np.floating):
            raise TypeError(f"{where}: data must be floating-point, got {data.dtype}")
    return record_all(kind, data, op, inputs, ctx)
