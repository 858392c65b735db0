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

from typing import Any, TypeVar

import numpy as np

from .node import Node, record_all
from .rules import Rule
from .tensor import Tensor, _as_array
from .trace import Sym
from .value import Value, _to_float

N = TypeVar("N", Value, Tensor)


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
