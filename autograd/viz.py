"""Draw a compute graph with Graphviz: one record per node, one ellipse per op.

``draw_graph(root)`` returns a ``graphviz.Digraph``, which Jupyter shows inline and whose
``.source`` is the DOT text; with a path it also writes the picture as SVG. The drawing
is deterministic: nodes are numbered in the order a depth-first walk from the root
meets them, parents in argument order.

The picture needs Graphviz's ``dot`` program, which pip cannot install. Without it,
Jupyter shows the graph's DOT source under one line on how to install ``dot``, instead
of graphviz's ``ExecutableNotFound`` traceback: a lesson's notebook goes on to its next
cell, and the source still shows every node, value and gradient. None of the project's
dependencies lays out a graph without ``dot``, so the text is the fallback.
"""

from __future__ import annotations

import functools
import numbers
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tracegrad.files import write_atomically

from .node import Node

if TYPE_CHECKING:
    import graphviz

#: How many values a tensor may hold for them to be written into its record.
TINY_TENSOR = 6

#: How to get Graphviz's ``dot`` program, in one line.
INSTALL_DOT = (
    "install it for the picture: apt-get install graphviz (Debian, Ubuntu), brew install "
    "graphviz (macOS) or conda install graphviz"
)


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` program is not installed; the DOT source is in ``.source``."""

    def __init__(self, source: str) -> None:
        super().__init__(
            "draw_graph: Graphviz's `dot` program was not found on PATH, so the SVG cannot be "
            f"rendered; {INSTALL_DOT}. The DOT source is still available as .source on this "
            "error and on the Digraph."
        )
        self.source = source


class GraphTooLargeError(ValueError):
    """The graph has more nodes than ``max_nodes``; a picture of it would be unreadable."""


def _walk(root: Node, max_nodes: int) -> list[Node]:
    """Every node reachable from ``root``, in depth-first order, parents in argument order."""
    seen = {id(root)}
    order = []
    stack = [root]
    while stack:
        node = stack.pop()
        order.append(node)
        if len(order) > max_nodes:
            raise GraphTooLargeError(
                f"draw_graph: the graph has more than max_nodes={max_nodes} nodes; draw a "
                "smaller part of it (for example one neuron) or raise max_nodes"
            )
        for parent in reversed(node.parents):
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return order


def _escape(text: str) -> str:
    for special in '\\{}|<>"':
        text = text.replace(special, "\\" + special)
    return text


def _format_number(x: Any) -> str:
    return f"{float(x):.4g}"


def _format_array(array: np.ndarray) -> str:
    if array.size > TINY_TENSOR:
        return ""
    if array.ndim == 0:
        return _format_number(array)
    return "[" + ", ".join(_format_number(x) for x in array.reshape(-1)) + "]"


def _op_label(node: Node) -> str:
    symbol = node._rule.symbol if node._rule is not None else ""
    if "{}" not in symbol:
        return symbol
    constant = node._ctx  # an op of one's own may keep any constant: "c" stands for it then
    return symbol.format(_format_number(constant) if isinstance(constant, numbers.Real) else "c")


def _record(node: Node, show_grad: bool) -> str:
    """The fields of a node's record: label, then data and grad (or shape, dtype, values)."""
    fields = [node.label] if node.label else []
    data = node._data
    if isinstance(data, np.ndarray):
        fields.append(f"{data.shape} {data.dtype}")
        values = _format_array(data)
        if values:
            fields.append(f"data {values}")
        if show_grad and isinstance(node.grad, np.ndarray) and _format_array(node.grad):
            fields.append(f"grad {_format_array(node.grad)}")
    else:
        fields.append(f"data {_format_number(data)}")
        if show_grad and isinstance(node.grad, (int, float)):
            fields.append(f"grad {_format_number(node.grad)}")
    return "{ " + " | ".join(_escape(field) for field in fields) + " }"


def graph_source(
    root: Node, *, rankdir: str = "LR", show_grad: bool = True, max_nodes: int = 500
) -> graphviz.Digraph:
    """The compute graph behind ``root`` as a ``graphviz.Digraph`` (nothing is rendered)."""
    if not isinstance(root, Node):
        raise TypeError(f"draw_graph: expected a Value or Tensor, got {type(root).__name__}")
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"draw_graph: rankdir must be LR, RL, TB or BT, got {rankdir!r}")
    nodes = _walk(root, max_nodes)
    names = {id(node): f"n{number}" for number, node in enumerate(nodes)}
    dot = _shown_without_dot()("compute_graph", graph_attr={"rankdir": rankdir})
    dot.attr("node", fontname="Helvetica", fontsize="11")
    for node in nodes:
        name = names[id(node)]
        shape = "record" if not node.requires_grad else "Mrecord"
        color = "lightgrey" if not node.requires_grad else "white"
        dot.node(name, label=_record(node, show_grad), shape=shape, style="filled", fillcolor=color)
        if node._rule is not None:
            dot.node(name + "_rule", label=_escape(_op_label(node)), shape="ellipse")
            dot.edge(name + "_rule", name)
            for parent in node.parents:
                dot.edge(names[id(parent)], name + "_rule")
    return dot


@functools.cache
def _shown_without_dot() -> type[graphviz.Digraph]:
    """``graphviz.Digraph``, shown in Jupyter as its DOT source and how to install ``dot``
    when ``dot`` is missing (graphviz's own display raises ``ExecutableNotFound``, and
    the notebook shows a traceback where the graph should be).

    Made on first use: graphviz is slow to import, and most programs never draw.
    """
    import graphviz

    class ComputeGraph(graphviz.Digraph):
        def _repr_mimebundle_(
            self, include: Any = None, exclude: Any = None, **kwargs: Any
        ) -> dict[str, Any]:
            try:
                return dict(super()._repr_mimebundle_(include, exclude, **kwargs))
            except graphviz.ExecutableNotFound:
                note = "Graphviz's `dot` is not installed, so here is the graph's DOT source"
                return {"text/plain": f"{note}; {INSTALL_DOT}.\n\n{self.source}"}

    ComputeGraph.__qualname__ = ComputeGraph.__name__ = "Digraph"  # as graphviz's reads
    ComputeGraph.__module__ = graphviz.Digraph.__module__
    return ComputeGraph


def draw_graph(
    root: Node,
    path: str | os.PathLike[str] | None = None,
    *,
    rankdir: str = "LR",
    show_grad: bool = True,
    max_nodes: int = 500,
) -> graphviz.Digraph:
    """Draw the compute graph behind ``root``; with ``path``, also write it as SVG.

    Leaves that require grad (parameters, inputs) are drawn with rounded corners,
    constants in grey. The SVG is written atomically (a temporary file, then a rename).
    Raises ``GraphvizNotFoundError`` when ``dot`` is missing and ``GraphTooLargeError``
    when the graph has more than ``max_nodes`` nodes. Shown in Jupyter without ``dot``,
    the graph is its DOT source under one line on how to install ``dot``.
    """
    import graphviz

    dot = graph_source(root, rankdir=rankdir, show_grad=show_grad, max_nodes=max_nodes)
    if path is not None:
        try:
            svg = dot.pipe(format="svg")
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFoundError(dot.source) from None
        write_atomically(Path(path), svg)
    return dot
