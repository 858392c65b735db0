"""micrograd's ways on tracegrad's nodes: ``node._backward()`` and ``Value(data, _children, _op)``.

micrograd's lecture back-propagates by hand, one node at a time::

    o.grad = 1.0
    o._backward()        # adds do/dn into n.grad
    n._backward()        # adds into the grads of n's inputs, and so on

Here ``node._backward`` is a property. For a node an op of the library made, it gives a
function that applies the node's derivative rule (the one in ``rules.py``, the same the
engine runs) once, to the gradient in ``node.grad``, and *adds* each input's share into
that input's ``.grad``, as micrograd's closures do. For a leaf it gives a function that
does nothing, as micrograd's ``lambda: None``.

micrograd's lecture also adds ops to ``Value`` with closures::

    out = Value(self.data ** 3, (self,), 'cube')
    def _backward():
        self.grad += 3 * self.data ** 2 * out.grad
    out._backward = _backward

``Value(data, _children, _op)`` builds such a node: its parents are the children (one of
each, as micrograd's ``set``), and its rule calls the closure assigned to ``_backward``.
The engine's ``backward()`` and ``grad()`` run it like any rule: the closure reads the
node's gradient from ``out.grad`` and adds into its inputs' ``.grad``, which read 0 while
it runs, and what it added there is the input's share, which the engine then sums as it
sums every op's. A closure computes with numbers, so what it cannot serve is refused by
name instead of giving a wrong gradient: a second derivative (``create_graph=True``), a
compiled step, a node whose ``_backward`` was never assigned, a ``_backward`` assigned
to a leaf (which ``backward()`` would never call), and a closure that uses a Value left
out of the children (which would get no gradient). An op declared with a rule
(``autograd.rule`` and ``autograd.record_op``, "Your own op" in the docs) has none of
these limits.
"""

from __future__ import annotations

import functools
import numbers
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .engine import RuleError, _check_unchanged, _owned, _summed_back
from .mode import state
from .node import Node, init_leaf
from .rules import Rule
from .trace import Sym, TracingError
from .versions import clock

#: Where a learner reads how to give an op a rule; every refusal here points to it.
HOW = "see 'Your own op' in the docs"


def _nothing() -> None:
    """A leaf's ``_backward``: no inputs to pass a gradient to (micrograd's ``lambda: None``)."""


# -- node._backward() for the library's ops -----------------------------------------------


def apply_rule_once(node: Node) -> None:
    """Apply ``node``'s derivative rule once: each input's ``.grad`` += its share of ``node.grad``.

    For an op out = f(x_1, ..., x_n) and g = ``node.grad``, input x_i receives
    g · ∂f/∂x_i, computed by the op's rule in ``rules.py`` (the engine's, not a copy),
    summed back to x_i's shape where the op broadcast it. It is one step of the chain
    rule, micrograd's ``_backward()``: the caller walks the graph, and a node whose
    gradient is not complete yet passes on what it has. A ``Tensor`` whose ``.grad`` is
    None has nothing to pass on. Inputs that need no gradient get none, and data changed
    since the forward is a ``DataChangedError``, as in ``backward()``.
    """
    rule = node._rule
    g = node.grad
    if rule is None or g is None:
        return
    if node._epoch != clock.now:
        _check_unchanged(node)
    parents = node.parents
    try:
        shares = rule.backward(node._ctx, g, node._data, *[p._data for p in parents])
    except ArithmeticError as error:  # Python floats raise where numpy gives inf or nan
        raise type(error)(f"the backward of {rule.name!r} failed: {error}") from error
    if len(shares) != len(parents):
        raise RuleError.miscounted(rule.name, shares, parents)
    for parent, share in zip(parents, shares):
        if share is None or not parent.requires_grad:
            continue
        if node._broadcasts and np.shape(share) != np.shape(parent._data):
            share = _summed_back(rule, share, parent)
        share = _owned(share, set(), parent)
        so_far = parent.grad
        parent.grad = share if so_far is None else so_far + share


def manual_backward(node: Node) -> Callable[[], None]:
    """What ``node._backward`` gives: the function micrograd's node would have there."""
    rule = node._rule
    if rule is None:
        return _nothing
    ctx = node._ctx
    if type(ctx) is Closure:
        return ctx.closure if ctx.closure is not None else functools.partial(_missing, rule.name)
    return functools.partial(apply_rule_once, node)


def set_backward(node: Node, closure: Callable[[], None]) -> None:
    """``node._backward = closure``: allowed on a node made as ``Value(data, _children, _op)``."""
    if not callable(closure):
        raise TypeError(
            f"_backward: expected a function of no arguments, got {type(closure).__name__}"
        )
    ctx = node._ctx
    if type(ctx) is Closure:
        _check_captured(node, closure)
        ctx.closure = closure
        return
    kind = type(node).__name__
    if node._rule is not None:
        raise TypeError(
            f"_backward: this {kind} was made by the op {node._rule.name!r}, which has its "
            f"rule; a _backward of your own goes on a Value(data, _children, _op) ({HOW})"
        )
    if node.requires_grad:
        raise TypeError(
            f"_backward: this {kind} is a leaf, so backward() would never call it: make the "
            f"op's result with its inputs, Value(data, (self, other), 'op') ({HOW})"
        )
    # A constant (no child needed a gradient, or made under no_grad): nothing is owed.


def _check_captured(node: Node, closure: Callable[[], None]) -> None:
    """Refuse a closure that uses a node needing a gradient that is not among the inputs.

    The engine passes gradients along the graph, so an input left out of ``_children``
    would get the closure's share, or not, depending on the order of the walk: an error
    now, where the closure names it, instead of a gradient wrong later.
    """
    code = getattr(closure, "__code__", None)
    cells = getattr(closure, "__closure__", None) or ()
    if code is None:
        return
    parents = node.parents
    for name, cell in zip(code.co_freevars, cells):
        try:
            value = cell.cell_contents
        except ValueError:  # a variable not assigned yet
            continue
        if (
            isinstance(value, Node)
            and value is not node
            and value.requires_grad
            and all(value is not parent for parent in parents)
        ):
            raise TypeError(
                f"_backward: the closure of {node.op!r} uses {name!r}, which is not among the "
                f"op's _children, so backward() would not pass it its gradient: list it, "
                f"Value(data, (..., {name}), {node._op!r})"
            )


# -- Value(data, _children, _op): a node driven by the user's closure ---------------------


class Closure:
    """The constant of a node made as ``Value(data, _children, _op)``: its ``_backward``.

    ``node`` refers back to the node weakly (the closure itself refers to it strongly, as
    in micrograd, so such a node is freed by the garbage collector, not by reference
    counting alone as the library's nodes are).
    """

    __slots__ = ("closure", "node")

    def __init__(self) -> None:
        self.closure: Callable[[], None] | None = None
        self.node: weakref.ref[Node] | None = None

    def __repr__(self) -> str:
        return "_backward"


_closure_rules: dict[str, Rule] = {}


def _closure_rule(op: str) -> Rule:
    """The rule of micrograd-style nodes of the op ``op`` (one per op name, for pictures)."""
    rule = _closure_rules.get(op)
    if rule is None:
        # It reads inputs and output: a closure may read self.data and out.data, so data
        # changed after the forward is refused, as for any rule that reads them.
        rule = _closure_rules[op] = Rule(op or "_backward", op, _run_closure, reads="both")
    return rule


def is_closure_rule(rule: Rule) -> bool:
    """Whether ``rule`` runs a ``_backward`` closure (a node made as micrograd's)."""
    return rule.backward is _run_closure


def _missing(name: str) -> None:
    raise RuntimeError(
        f"backward: the op {name!r} (a Value(data, _children, _op)) has no _backward: "
        f"assign out._backward = _backward ({HOW})"
    )


def _run_closure(ctx: Closure, g: Any, out: Any, *inputs: Any) -> tuple[Any, ...]:
    """The rule of a micrograd-style node: the user's closure, run on zeroed input grads.

    The closure reads ``out.grad`` and adds into its inputs' ``.grad``: each input's grad
    is set to 0.0 while it runs, so what it holds afterwards is exactly that input's share
    (an input listed twice in the op, as in ``a * a``, gets both of its shares). Every
    ``.grad`` the closure touched is then restored: the engine stores gradients itself,
    and ``grad()`` stores none.
    """
    node = ctx.node() if ctx.node is not None else None
    assert node is not None  # the engine holds the node it walks
    name = node._rule.name  # type: ignore[union-attr]
    if isinstance(g, Node):
        raise RuntimeError(
            f"create_graph: the op {name!r} (a Value(data, _children, _op)) has a _backward "
            f"that computes numbers, not a rule that can be differentiated again ({HOW})"
        )
    if type(g) is Sym:
        raise TracingError(
            f"compile: the op {name!r} (a Value(data, _children, _op)) has a _backward, "
            f"which cannot be compiled; a rule can ({HOW})"
        )
    if ctx.closure is None:
        _missing(name)
    parents = node.parents
    kept_out, kept = node.grad, [p.grad for p in parents]
    try:
        node.grad = g
        for parent in parents:
            parent.grad = 0.0
        ctx.closure()  # type: ignore[misc]
        shares = tuple(
            _share(parent.grad, name, position) for position, parent in enumerate(parents)
        )
    finally:
        node.grad = kept_out
        for parent, grad in zip(parents, kept):
            parent.grad = grad
    return shares


def _share(grad: Any, name: str, position: int) -> float:
    if isinstance(grad, numbers.Real) and not isinstance(grad, bool):
        return float(grad)
    raise TypeError(
        f"backward: the _backward of {name!r} left input {position}'s .grad as "
        f"{type(grad).__name__}; it must add a number into it (self.grad += ...)"
    )


def init_node(
    node: Node, data: Any, children: Iterable[Any], op: Any, label: Any, kind: type[Node]
) -> None:
    """Make ``node`` micrograd's ``Value(data, _children, _op)``: a node of the op ``op``.

    Its parents are ``children`` in order, each once (micrograd keeps them in a set). As
    for the library's ops, it joins the graph only while gradients are recorded and some
    child requires grad; otherwise it is a constant. Without children it is a leaf.
    """
    if not isinstance(op, str):
        raise TypeError(f"Value: _op must be a string (the op's name), got {type(op).__name__}")
    if not isinstance(label, str):
        raise TypeError(f"Value: label must be a string, got {type(label).__name__}")
    listed = tuple(children)
    for position, child in enumerate(listed):
        if not isinstance(child, kind):
            raise TypeError(
                f"Value: _children must be Values (the op's inputs), child {position} is "
                f"{type(child).__name__}"
            )
    parents = tuple(dict.fromkeys(listed))
    init_leaf(node, data, True, label)
    if not parents:
        return  # micrograd's leaf: Value(data, (), '')
    rule = _closure_rule(op)
    if state.anomaly_enabled and not np.all(np.isfinite(data)):
        raise FloatingPointError(
            f"detect_anomaly: the forward of {rule.name!r} produced a NaN or inf"
        )
    if not (state.grad_enabled and any(p.requires_grad for p in parents)):
        node.requires_grad = False  # a constant, as record() makes
        return
    ctx = Closure()
    ctx.node = weakref.ref(node)
    node._rule = rule
    node._ctx = ctx
    node._first = parents[0]
    node._second = parents[1] if len(parents) > 1 else None
    node._many = parents if len(parents) > 2 else ()
