"""The one engine behind ``Value`` and ``Tensor``: topological order and back-propagation.

``gradients(outputs, seeds)`` is the core. It orders the graph so that every node comes
after the nodes it was computed from (an iterative depth-first search: a chain of a
million nodes needs no recursion), then walks that order backwards. Each node's gradient
is complete when its turn comes, because every node that used it came later in the
order: the walk yields it, and the node's derivative rule turns it into one gradient per
parent, which the engine sums back to the parent's shape (un-broadcasting) and adds to
what the parent has so far (a node used twice gets the sum). A gradient is dropped as
soon as it has been passed on, so memory stays that of the forward activations.

Where the finished gradients go is decided by the two callers: ``grad()`` returns those
of the inputs asked for, ``backward()`` stores them on the nodes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np

from tracegrad.words import counted

from . import mode
from .broadcast import sum_to_shape
from .node import Node, flag
from .rules import Rule
from .versions import DataChangedError, clock, existing_storage


def topological_order(outputs: Sequence[Node]) -> list[Node]:
    """Every node that requires grad and is reachable from ``outputs``, parents first.

    An iterative post-order depth-first search. Popping a node from the stack "enters"
    it: a ``None`` marker goes on the stack, then its parents; when the marker comes off
    again, all of the node's ancestors have been appended, so the node is appended too.
    Reading the list backwards therefore visits each node before its parents. Nodes are
    their own keys in ``visited``: they hash by identity.
    """
    order: list[Node] = []
    visited: set[Node] = set()
    entered: list[Node] = []
    stack: list[Node | None] = list(reversed(outputs))
    while stack:
        node = stack.pop()
        if node is None:  # the marker: every parent of the last entered node is done
            order.append(entered.pop())
            continue
        if node in visited or not node.requires_grad:
            continue
        visited.add(node)
        first = node._first
        if first is None:  # a leaf
            order.append(node)
            continue
        entered.append(node)
        stack.append(None)
        # The parents go on in reverse, so that they come off in argument order; the
        # first two are pushed only if not yet seen (parameters are used many times).
        if node._many:
            stack.extend(reversed(node._many))
            continue
        second = node._second
        if second is not None and second not in visited:
            stack.append(second)
        if first not in visited:
            stack.append(first)
    return order


def gradients(
    outputs: Sequence[Node],
    seeds: Sequence[Any],
    create_graph: bool = False,
    order: Sequence[Node] | None = None,
) -> Generator[tuple[Node, Any], None, None]:
    """Walk the graph from ``outputs`` backwards, yielding each node with its finished gradient.

    ``seeds`` are d(root)/d(output) for each output. A node's gradient is finished when
    its turn comes, because every node computed from it came later in the topological
    order; it is yielded, then the node's rule turns it into one gradient per parent,
    which is summed back to the parent's shape (un-broadcasting) and added to what the
    parent has so far. A gradient is dropped once passed on, so memory stays that of the
    forward. With ``create_graph`` every gradient is a node recorded in a new graph;
    otherwise gradients are raw floats or arrays. Where a gradient goes is the caller's
    business: ``backward()`` stores them on the nodes, ``grad()`` returns some of them.
    ``order`` replaces the topological order (the compiler's walk stops at the nodes a
    compiled step is given).
    """
    grads: dict[Node, Any] = {}
    for output, seed in zip(outputs, seeds, strict=True):
        grads[output] = seed if output not in grads else grads[output] + seed
    check_anomaly = mode.state.anomaly_enabled
    now = clock.now  # no data was written since a node made at `now`
    broadcasts = outputs[0]._broadcasts  # one kind of node per graph

    for node in reversed(topological_order(outputs) if order is None else order):
        g = grads.pop(node, None)
        if g is None:
            continue
        yield node, g
        first = node._first
        if first is None:  # a leaf: nothing to pass on
            continue
        if node._epoch != now:
            _check_unchanged(node)
        rule: Rule = node._rule  # type: ignore[assignment]  # a node with parents has one
        second, many = node._second, node._many
        shares: Sequence[Any]
        try:  # the rule gets raw data, or the nodes themselves when it must record a graph
            if create_graph:
                shares = rule.backward(node._ctx, g, node, *node.parents)
            elif second is None:
                shares = rule.backward(node._ctx, g, node._data, first._data)
            elif not many:
                shares = rule.backward(node._ctx, g, node._data, first._data, second._data)
            else:
                shares = rule.backward(node._ctx, g, node._data, *[p._data for p in many])
        except ArithmeticError as error:  # Python floats raise where numpy gives inf or nan
            raise type(error)(f"the backward of {rule.name!r} failed: {error}") from error
        if check_anomaly:
            for share in shares:
                if share is not None:
                    _check_finite(share, f"the backward of {rule.name!r}")
        # Each parent adds its share to what it has so far (a parent used twice gets the
        # sum), once summed back to the parent's shape where the op broadcast the parent.
        if many:  # an op with more than two inputs
            if len(shares) != len(many):
                raise RuleError.miscounted(rule.name, shares, many)
            for parent, share in zip(many, shares):
                if share is not None and parent.requires_grad:
                    if broadcasts and share.shape != parent._data.shape:
                        share = _summed_back(rule, share, parent)
                    so_far = grads.get(parent)
                    grads[parent] = share if so_far is None else so_far + share
            continue
        # The same for one or two inputs, which nearly every node has, written out: a
        # helper called per parent costs a Python call per edge of the graph.
        try:
            if second is None:
                (first_share,) = shares
            else:
                first_share, second_share = shares
        except ValueError:  # not exactly one share per input
            raise RuleError.miscounted(rule.name, shares, node.parents) from None
        if first_share is not None and first.requires_grad:
            if broadcasts and first_share.shape != first._data.shape:
                first_share = _summed_back(rule, first_share, first)
            so_far = grads.get(first)
            grads[first] = first_share if so_far is None else so_far + first_share
        if second is not None and second_share is not None and second.requires_grad:
            if broadcasts and second_share.shape != second._data.shape:
                second_share = _summed_back(rule, second_share, second)
            so_far = grads.get(second)
            grads[second] = second_share if so_far is None else so_far + second_share


def _summed_back(rule: Rule, share: Any, parent: Node) -> Any:
    """``share`` summed back to ``parent``'s shape (un-broadcasting); a misfit is the rule's bug."""
    try:
        return sum_to_shape(share, parent._data.shape)
    except ValueError as error:  # a gradient that does not fit its input's shape
        raise RuleError(f"the backward of {rule.name!r}: {error}") from None


class RuleError(RuntimeError):
    """A derivative rule broke its contract: a bug in the rule, never in the user's program."""

    @classmethod
    def miscounted(cls, name: str, grads: Sequence[Any], inputs: Sequence[Node]) -> RuleError:
        return cls(
            f"the backward of {name!r} returned {counted(len(grads), 'gradient')} for "
            f"{counted(len(inputs), 'input')}; a rule returns exactly one per input (None for an "
            "input it gives none)"
        )


def _check_unchanged(node: Node) -> None:
    """Raise DataChangedError if data that ``node``'s rule reads was written after the forward."""
    rule = node._rule
    assert rule is not None
    suspects: list[tuple[str, Node]] = []
    if rule.reads_output:
        suspects.append(("output", node))
    if rule.reads_inputs:
        suspects += [(f"input {position}", p) for position, p in enumerate(node.parents)]
    # the Tensors the op keeps as constants (labels, a condition, a target, an index)
    suspects += [(f"constant {position}", c) for position, c in enumerate(_kept(node))]
    for what, suspect in suspects:
        # a node's own record, or the record another tensor of its memory made (a view,
        # a copy.copy, from_numpy of the same array)
        storage = getattr(suspect, "_storage", None) or existing_storage(suspect._data)
        if storage is not None and storage.written_at > node._epoch:
            label = f" {suspect.label!r}" if suspect.label else ""
            shape = getattr(suspect._data, "shape", None)
            where = f"{type(suspect).__name__}{label}" + (f" of shape {shape}" if shape else "")
            raise DataChangedError(
                f"backward: the {what} of {rule.name!r} ({where}) was changed after the "
                f"forward used it, so {rule.name!r}'s gradient would be wrong. Run the forward "
                "again after changing data (an assignment to .data, an optimiser step, "
                "load_state_dict), or change a copy."
            )


def _kept(node: Node) -> tuple[Node, ...]:
    """The constant nodes whose data ``node``'s rule reads from its ctx (none for most)."""
    return getattr(node, "_kept", ())


#: Serialises the read-add-write of a leaf's .grad: threads back-propagating into one
#: shared leaf (hogwild training, a parameter server) must not lose each other's updates.
_leaf_lock = threading.Lock()


def _accumulate(leaf: Node, g: Any, stored: set[int]) -> None:
    """Add ``g`` to the leaf's .grad (set it, the first time)."""
    g = _owned(g, stored, leaf)
    with _leaf_lock:
        leaf.grad = g if leaf.grad is None else leaf.grad + g


def _owned(g: Any, stored: set[int], node: Node) -> Any:
    """``g`` as an array like ``node``'s data that no other .grad shares and can be written to.

    Rules may pass one array to several inputs (add gives g to both) or a read-only view
    (sum broadcasts g back); a gradient that lands on a node's .grad is copied then, so an
    optimizer may update it in place. The copy takes the data's dtype (a gradient computed
    in another precision is cast, as in PyTorch) and the data's memory layout: the
    gradient of ``x @ w.T`` reaches ``w`` transposed, and an update ``w -= lr * grad``
    across layouts walks one array against its memory order.
    """
    if type(g) is not np.ndarray:
        if not isinstance(g, np.generic):
            return g  # a float or a node: nothing to share
        if not isinstance(node._data, np.ndarray):
            return float(g)  # a Value's gradient is a Python float
        g = np.array(g)
    data = node._data  # g has data's shape: pass_on summed it to it, or refused it
    if g.base is not None or id(g) in stored or g.strides != data.strides:
        owned = np.empty_like(data)  # the data's dtype and layout
        np.copyto(owned, g, casting="same_kind")
        g = owned
    elif g.dtype != data.dtype:
        g = g.astype(data.dtype)
    stored.add(id(g))
    return g


def _recording(create_graph: bool) -> AbstractContextManager[Any]:
    """Switch graph recording on for ``create_graph`` (even inside ``no_grad``).

    Without it the rules see raw arrays and make no nodes, so the mode does not matter.
    """
    return mode.enable_grad() if create_graph else nullcontext()


def _check_finite(value: Any, where: str) -> None:
    data = value._data if isinstance(value, Node) else value
    if not np.all(np.isfinite(data)):
        raise FloatingPointError(f"detect_anomaly: {where} produced a NaN or an infinity")


def _as_node_list(nodes: Node | Sequence[Node], what: str) -> list[Node]:
    if isinstance(nodes, Node):
        return [nodes]
    if isinstance(nodes, (str, bytes)) or not isinstance(nodes, Sequence):
        raise TypeError(
            f"grad: {what} must be a node or a sequence of nodes, got {type(nodes).__name__}"
        )
    return list(nodes)


def _seeds(outputs: Sequence[Node], grad_outputs: Any, create_graph: bool) -> list[Any]:
    """The starting gradient of each output: ones by default, raw data or nodes as asked."""
    if grad_outputs is None and not create_graph:
        return [type(output)._seed(output, None) for output in outputs]
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Node) or not isinstance(grad_outputs, Sequence):
        grad_outputs = [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(
            f"grad: got {len(grad_outputs)} grad_outputs for {counted(len(outputs), 'output')}"
        )
    seeds = []
    for output, given in zip(outputs, grad_outputs):
        kind = type(output)
        if isinstance(given, Node):
            seed = given if create_graph else kind._seed(output, given._data)
        else:
            seed = kind._seed(output, given)
            if create_graph:
                seed = kind._constant(seed)
        seeds.append(seed)
    return seeds


def grad(
    outputs: Node | Sequence[Node],
    inputs: Node | Sequence[Node],
    grad_outputs: Any = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, as a tuple of nodes.

    For outputs y_k and seeds v_k (``grad_outputs``, ones by default) it returns, for
    each input x_i, the vector-Jacobian product sum_k v_k · dy_k/dx_i. Nothing is stored
    on the nodes. With ``create_graph=True`` the returned gradients are nodes of a new
    graph that depends on the inputs, so they can be differentiated again (higher-order
    gradients). An input that no output depends on raises ValueError, or gives None when
    ``allow_unused=True``.
    """
    create_graph = flag(create_graph, "grad", "create_graph")
    allow_unused = flag(allow_unused, "grad", "allow_unused")  # "no" would allow
    output_list = _as_node_list(outputs, "outputs")
    input_list = _as_node_list(inputs, "inputs")
    if not output_list or not input_list:
        raise ValueError("grad: outputs and inputs must not be empty")
    kind = type(output_list[0])
    kind._check_same_kind(output_list + input_list, "grad")
    for position, output in enumerate(output_list):
        if not output.requires_grad:
            raise ValueError(
                f"grad: output {position} does not require grad (it depends on no input that does)"
            )
    for position, node in enumerate(input_list):
        if not node.requires_grad:
            raise ValueError(f"grad: input {position} does not require grad")

    positions: dict[Node, list[int]] = {}
    for position, node in enumerate(input_list):
        positions.setdefault(node, []).append(position)
    results: list[Any] = [None] * len(input_list)

    seeds = _seeds(output_list, grad_outputs, create_graph)
    unfinished = len(positions)
    with _recording(create_graph):
        walk = gradients(output_list, seeds, create_graph)
        for node, g in walk:
            wanted = positions.get(node)
            if wanted is None:
                continue
            for position in wanted:
                results[position] = g
            unfinished -= 1
            if not unfinished:  # the rest of the walk cannot change these gradients
                walk.close()
                break

    handed_out: set[int] = set()  # each result gets an array of its own (add shares one g)
    for position, result in enumerate(results):
        if result is None:
            if not allow_unused:
                raise ValueError(
                    f"grad: input {position} is not used to compute the outputs "
                    "(pass allow_unused=True to get None for it)"
                )
        elif not isinstance(result, Node):
            results[position] = kind._constant(_owned(result, handed_out, input_list[position]))
    return tuple(results)


def backward(root: Node, grad_output: Any = None, *, create_graph: bool = False) -> None:
    """Back-propagate from ``root`` and store gradients on the nodes (see ``Node.backward``)."""
    if not isinstance(root, Node):
        raise TypeError(f"backward: expected a node, got {type(root).__name__}")
    create_graph = flag(create_graph, "backward", "create_graph")
    if not root.requires_grad:
        raise ValueError(
            "backward: this node does not require grad (it depends on no input that does, "
            "or it was computed under no_grad)"
        )
    seeds = _seeds([root], None if grad_output is None else [grad_output], create_graph)
    stored: set[int] = set()  # the arrays already handed to a node's .grad in this pass
    retains_all = root._retains_by_default  # every Value keeps its gradient
    with _recording(create_graph):
        for node, g in gradients([root], seeds, create_graph):
            if node._first is None:  # leaves accumulate
                _accumulate(node, g, stored)
            elif retains_all or node._retains_grad:  # the others overwrite
                node.grad = g if type(g) is float else _owned(g, stored, node)


class Differentiable(Node):
    """A node the engine back-propagates from: Node plus ``backward()``.

    Value and Tensor derive from it, so that node.py needs no engine and the engine
    imports node.py alone.
    """

    __slots__ = ()

    def backward(self, grad: Any = None, *, create_graph: bool = False) -> None:
        """Back-propagate from this node: every leaf that requires grad accumulates d(self)/d(leaf).

        Leaves *accumulate* into ``.grad`` across calls until ``zero_grad()``, as in
        PyTorch. Interior nodes keep their gradient only when they retain it (every
        ``Value`` does; a ``Tensor`` after ``retain_grad()``), and each call overwrites it.
        With ``create_graph=True`` the gradients are themselves nodes in a new graph, so
        they can be differentiated again.
        """
        backward(self, grad, create_graph=create_graph)

    @property
    def _backward(self) -> Callable[[], None]:
        """micrograd's ``_backward``: one step of back-propagation, for walking a graph by hand.

        Calling it applies this node's derivative rule once, to the gradient in ``.grad``,
        and adds each input's share into that input's ``.grad`` (``micrograd.py``); on a
        leaf it does nothing. ``backward()`` does the whole walk, in topological order.
        """
        from .micrograd import manual_backward  # micrograd.py imports this module

        return manual_backward(self)

    @_backward.setter
    def _backward(self, closure: Callable[[], None]) -> None:
        from .micrograd import set_backward

        set_backward(self, closure)
