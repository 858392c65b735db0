"""The one engine behind ``Value`` and ``Tensor``: topological order and back-propagation.

``grad(outputs, inputs)`` is the core. It orders the graph so that every node comes after
the nodes it was computed from (an iterative depth-first search: a chain of a million
nodes needs no recursion), then walks that order backwards. Each node's gradient is
complete when its turn comes, because every node that used it came later in the order;
the node's derivative rule turns it into one gradient per parent, which the engine sums
back to the parent's shape (un-broadcasting) and adds to what the parent has so far (a
node used twice gets the sum). A gradient is dropped as soon as it has been passed on,
unless it is wanted, so memory stays that of the forward activations.

``backward()`` is a thin wrapper around the same walk that stores gradients on the nodes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np

from . import mode
from .broadcast import sum_to_shape
from .node import Node
from .versions import DataChangedError, clock


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
        if not node._parents:
            order.append(node)
            continue
        entered.append(node)
        stack.append(None)
        stack.extend(reversed(node._parents))
    return order


def _propagate(
    outputs: Sequence[Node],
    seeds: Sequence[Any],
    create_graph: bool,
    wanted: dict[Node, list[int]] | None,
    results: list[Any],
) -> None:
    """Walk the graph from ``outputs`` backwards, finishing each node's gradient in turn.

    ``seeds`` are d(root)/d(output) for each output. With ``create_graph`` every gradient
    is a node recorded in a new graph; otherwise gradients are raw floats or arrays.
    A finished gradient goes to ``results[position]`` for each position ``wanted`` lists
    for its node; with ``wanted=None`` it is stored on the node instead, as
    ``backward()`` does: leaves accumulate, interior nodes that retain grad overwrite.
    """
    grads: dict[Node, Any] = {}
    stored: set[int] = set()  # the arrays already handed to a node's .grad in this pass
    for output, seed in zip(outputs, seeds):
        grads[output] = seed if output not in grads else grads[output] + seed
    check_anomaly = mode.state.anomaly_enabled
    now = clock.now  # no data was written since a node made at `now`
    broadcasts = outputs[0]._broadcasts  # one kind of node per graph

    for node in reversed(topological_order(outputs)):
        g = grads.pop(node, None)
        if g is None:
            continue
        parents = node._parents
        if wanted is not None:
            for position in wanted.get(node, ()):
                results[position] = g
        elif not parents:
            _accumulate(node, g, stored)
        elif node._retains_grad:  # a Value's float needs no copy: the cheap case first
            node.grad = g if type(g) is float else _owned(g, stored, node)
        if not parents:
            continue

        rule = node._rule
        assert rule is not None  # a node with parents was made by an op
        if node._epoch != now:
            _check_unchanged(node)
        try:
            if create_graph:
                parent_grads = rule.backward(node._ctx, g, node, *parents)
            elif len(parents) == 1:
                parent_grads = rule.backward(node._ctx, g, node._data, parents[0]._data)
            elif len(parents) == 2:
                parent_grads = rule.backward(
                    node._ctx, g, node._data, parents[0]._data, parents[1]._data
                )
            else:
                parent_grads = rule.backward(node._ctx, g, node._data, *[p._data for p in parents])
        except ArithmeticError as error:  # Python floats raise where numpy gives inf or nan
            raise type(error)(f"the backward of {rule.name!r} failed: {error}") from error

        if check_anomaly:
            for parent_grad in parent_grads:
                if parent_grad is not None:
                    _check_finite(parent_grad, f"the backward of {rule.name!r}")
        for parent, parent_grad in zip(parents, parent_grads):
            if parent_grad is None or not parent.requires_grad:
                continue
            if broadcasts and parent_grad.shape != parent._data.shape:
                parent_grad = sum_to_shape(parent_grad, parent._data.shape)
            previous = grads.get(parent)
            grads[parent] = parent_grad if previous is None else previous + parent_grad


def _check_unchanged(node: Node) -> None:
    """Raise DataChangedError if data that ``node``'s rule reads was written after the forward."""
    rule = node._rule
    assert rule is not None
    suspects: list[tuple[str, Node]] = []
    if rule.reads_output:
        suspects.append(("output", node))
    if rule.reads_inputs:
        suspects += [(f"input {position}", p) for position, p in enumerate(node._parents)]
    for what, suspect in suspects:
        storage = suspect._storage
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


#: Serialises the read-add-write of a leaf's .grad: threads back-propagating into one
#: shared leaf (hogwild training, a parameter server) must not lose each other's updates.
_leaf_lock = threading.Lock()


def _accumulate(leaf: Node, g: Any, stored: set[int]) -> None:
    """Add ``g`` to the leaf's .grad (set it, the first time)."""
    g = _owned(g, stored, leaf)
    with _leaf_lock:
        leaf.grad = g if leaf.grad is None else leaf.grad + g


def _owned(g: Any, stored: set[int], node: Node) -> Any:
    """``g`` as an array of ``node``'s dtype that no other .grad shares and can be written to.

    Rules may pass one array to several inputs (add gives g to both) or a read-only view
    (sum broadcasts g back); a gradient that lands on a node's .grad is copied then, so an
    optimizer may update it in place. A gradient computed in another precision (a
    float32 leaf used with float64 data) is cast to the leaf's own dtype, as in PyTorch.
    """
    if type(g) is not np.ndarray:
        if not isinstance(g, np.generic):
            return g  # a float or a node: nothing to share
        if not isinstance(node._data, np.ndarray):
            return float(g)  # a Value's gradient is a Python float
        g = np.array(g)
    elif g.base is not None or id(g) in stored:  # a view, or given to another node already
        g = np.array(g)
    dtype = node._data.dtype
    if g.dtype != dtype:
        g = g.astype(dtype)
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
        raise ValueError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
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
    with _recording(create_graph):
        _propagate(output_list, seeds, create_graph, positions, results)

    for position, result in enumerate(results):
        if result is None:
            if not allow_unused:
                raise ValueError(
                    f"grad: input {position} is not used to compute the outputs "
                    "(pass allow_unused=True to get None for it)"
                )
        elif not isinstance(result, Node):
            results[position] = kind._constant(result)
    return tuple(results)


def backward(root: Node, grad_output: Any = None, *, create_graph: bool = False) -> None:
    """Back-propagate from ``root`` and store gradients on the nodes (see ``Node.backward``)."""
    if not isinstance(root, Node):
        raise TypeError(f"backward: expected a node, got {type(root).__name__}")
    if not root.requires_grad:
        raise ValueError(
            "backward: this node does not require grad (it depends on no input that does, "
            "or it was computed under no_grad)"
        )
    seeds = _seeds([root], None if grad_output is None else [grad_output], create_graph)
    with _recording(create_graph):
        _propagate([root], seeds, create_graph, None, [])
