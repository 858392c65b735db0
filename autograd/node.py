"""The Node base shared by ``Value`` and ``Tensor``: one vertex of the compute graph.

A node holds its forward result (``data``), its gradient (``grad``), the nodes it was
computed from (``parents``, a tuple, in argument order), the primitive op that made it
and whatever plain constants that op's derivative rule needs (``_ctx``). A node never
refers to itself, directly or through a closure, so a graph is freed by reference
counting alone as soon as its last outside reference goes.

The two node kinds differ only in what ``data`` is (a Python float or a numpy array);
the engine (``engine.py``) and the derivative rules (``rules.py``) are shared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from .mode import state
from .versions import Storage, clock

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .rules import Rule

N = TypeVar("N", bound="Node")


class Node:
    """A vertex of the compute graph; subclassed by ``Value`` (scalar) and ``Tensor`` (array)."""

    __slots__ = (
        "_data",
        "grad",
        "requires_grad",
        "label",
        "_parents",
        "_rule",
        "_ctx",
        "_retains_grad",
        "_storage",
        "_epoch",
        "__weakref__",
    )

    #: True for kinds whose operations broadcast, so the engine must sum gradients back.
    _broadcasts: ClassVar[bool] = False
    #: The gradient a new node starts with (0.0 for Value, None for Tensor).
    _initial_grad: ClassVar[Any] = None
    #: Whether interior nodes keep their gradient after backward() without retain_grad().
    _retains_by_default: ClassVar[bool] = False

    _data: Any
    grad: Any
    requires_grad: bool
    label: str
    _parents: tuple[Node, ...]
    _rule: Rule | None
    _ctx: Any
    _retains_grad: bool
    #: The memory behind ``_data`` and when it was last written (None: never written).
    _storage: Storage | None
    #: ``versions.clock.now`` when the node was made: writes after it invalidate its rule.
    _epoch: int

    # -- the graph ---------------------------------------------------------------------

    @property
    def parents(self) -> tuple[Node, ...]:
        """The nodes this one was computed from, in argument order (empty for a leaf)."""
        return self._parents

    @property
    def op(self) -> str:
        """The name of the primitive op that made this node ("" for a leaf)."""
        return self._rule.name if self._rule is not None else ""

    # micrograd's names, read-only, for tools written against micrograd (its draw_dot):
    @property
    def _prev(self) -> set[Node]:
        """The parents as a set (micrograd's ``_prev``); the engine uses the ordered tuple."""
        return set(self._parents)

    @property
    def _op(self) -> str:
        """The op as a short string (micrograd's ``_op``): its symbol, "" for a leaf."""
        rule = self._rule
        if rule is None:
            return ""
        if "{}" in rule.symbol:
            constant = self._ctx
            return rule.symbol.format(constant if isinstance(constant, (int, float)) else "c")
        return rule.symbol

    @property
    def is_leaf(self) -> bool:
        """A leaf was made by the user (or under ``no_grad``), not recorded from an op."""
        return not self._parents

    # -- gradients ---------------------------------------------------------------------

    def backward(self, grad: Any = None, *, create_graph: bool = False) -> None:
        """Back-propagate from this node: every leaf that requires grad accumulates d(self)/d(leaf).

        Leaves *accumulate* into ``.grad`` across calls until ``zero_grad()``, as in
        PyTorch. Interior nodes keep their gradient only when they retain it (every
        ``Value`` does; a ``Tensor`` after ``retain_grad()``), and each call overwrites it.
        With ``create_graph=True`` the gradients are themselves nodes in a new graph, so
        they can be differentiated again.
        """
        engine.backward(self, grad, create_graph=create_graph)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    def retain_grad(self) -> None:
        """Keep this interior node's gradient in ``.grad`` after ``backward()``."""
        self._retains_grad = True

    # -- the data ---------------------------------------------------------------------

    @property
    def data(self) -> Any:
        """The forward result: a float for a ``Value``, a numpy array for a ``Tensor``.

        Assigning to it is recorded, so a backward through a graph that used the old data
        raises ``DataChangedError`` instead of returning a wrong gradient.
        """
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        self._data = value
        self._mark_written()

    def _shared_storage(self) -> Storage:
        """The ``Storage`` of this node's memory, made on first use."""
        storage = self._storage
        if storage is None:
            storage = self._storage = Storage()
        return storage

    def _mark_written(self) -> None:
        """Record that this node's data was just changed (see ``versions.py``)."""
        self._shared_storage().mark_written()

    # -- what each kind tells the engine ----------------------------------------------

    @classmethod
    def _constant(cls, data: Any) -> Node:
        """A leaf of this kind that does not require grad, holding ``data`` as it is."""
        raise NotImplementedError

    @classmethod
    def _seed(cls, root: Node, grad: Any) -> Any:
        """The raw gradient that starts back-propagation from ``root`` (``grad`` may be None)."""
        raise NotImplementedError

    @classmethod
    def _check_same_kind(cls, nodes: Sequence[Any], what: str) -> None:
        for node in nodes:
            if not isinstance(node, Node):
                raise TypeError(f"{what}: expected {cls.__name__} nodes, got {type(node).__name__}")
            if not isinstance(node, cls):
                raise TypeError(
                    f"{what}: cannot mix {cls.__name__} and {type(node).__name__} in one call"
                )


# The engine imports Node, so Node's backward() reaches the engine through the module,
# imported here at the bottom, once, after Node exists.
from . import engine  # noqa: E402

_new = object.__new__


def record(kind: type[N], data: Any, parents: tuple[Node, ...], op: Rule, ctx: Any = None) -> N:
    """The node of ``kind`` that ``op`` computed from ``parents``: the one way ops make nodes.

    It keeps its parents (and so joins the graph) only when gradients are being recorded
    and at least one parent requires grad; otherwise it is a leaf that needs no grad.
    """
    if state.anomaly_enabled and not np.all(np.isfinite(data)):
        raise FloatingPointError(
            f"detect_anomaly: the forward of {op.name!r} produced a NaN or inf"
        )
    out = _new(kind)
    out._data = data
    out.grad = kind._initial_grad
    out.label = ""
    out._ctx = ctx
    out._retains_grad = kind._retains_by_default
    out._storage = None
    out._epoch = clock.now
    if state.grad_enabled:
        for parent in parents:
            if parent.requires_grad:
                out.requires_grad = True
                out._parents = parents
                out._rule = op
                return out
    out.requires_grad = False
    out._parents = ()
    out._rule = None
    return out


def leaf(kind: type[N], data: Any, requires_grad: bool, label: str = "") -> N:
    """A leaf node of ``kind`` holding ``data`` as it is (no conversion, no copy)."""
    out = _new(kind)
    init_leaf(out, data, requires_grad, label)
    return out


def init_leaf(node: Node, data: Any, requires_grad: bool, label: str) -> None:
    """Make ``node`` a leaf holding ``data``: no parents, no op, the kind's initial grad."""
    node._data = data
    node.grad = type(node)._initial_grad
    node.requires_grad = requires_grad
    node.label = label
    node._parents = ()
    node._rule = None
    node._ctx = None
    node._retains_grad = type(node)._retains_by_default
    node._storage = None
    node._epoch = clock.now
