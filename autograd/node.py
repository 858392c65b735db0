"""The Node base shared by ``Value`` and ``Tensor``: one vertex of the compute graph.

A node holds its forward result (``data``), its gradient (``grad``), the nodes it was
computed from (``parents``, in argument order), the primitive op that made it and
whatever plain constants that op's derivative rule needs (``_ctx``). A node never refers
to itself, directly or through a closure, so a graph is freed by reference counting
alone as soon as its last outside reference goes.

The parents of an op with one or two inputs live in two slots of the node itself; an
op with more (an n-ary sum, a fused neuron) keeps the whole tuple as well. A tuple for
every node would be a second object per node, and Python's garbage collector works per
object: on micrograd's graph, where every ``w*x`` and ``+`` is a node, a second object
per node is a large share of a step with the collector on (``benchmarks/scalar.py``
measures it).

The two node kinds differ only in what ``data`` is (a Python float or a numpy array);
the engine (``engine.py``) and the derivative rules (``rules.py``) are shared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from . import trace
from .mode import state, switched
from .versions import Storage, clock, storage_of

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
        "_first",
        "_second",
        "_many",
        "_rule",
        "_ctx",
        "_epoch",
        "_retains_grad",
        # These stay empty on the nodes ops make, until used: such nodes seldom get a
        # label or a write, and an empty slot costs neither a store nor the collector's time.
        "_label",
        "_storage",
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
    #: The first parent (None for a leaf) and the second (None if fewer); for an op with
    #: more than two inputs, all of them in ``_many`` (empty otherwise).
    _first: Node | None
    _second: Node | None
    _many: tuple[Node, ...]
    _rule: Rule | None
    _ctx: Any
    #: ``versions.clock.now`` when the node was made: writes after it invalidate its rule.
    _epoch: int
    #: Whether retain_grad() was called (a kind that retains by default never reads it).
    _retains_grad: bool
    _label: str
    #: The memory behind ``_data`` and when it was last written (None or empty: never).
    _storage: Storage | None

    # -- the graph ---------------------------------------------------------------------

    @property
    def label(self) -> str:
        """A name for pictures and reprs ("" by default)."""
        return getattr(self, "_label", "")

    @label.setter
    def label(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"label: expected a string, got {type(name).__name__}")
        self._label = name

    @property
    def parents(self) -> tuple[Node, ...]:
        """The nodes this one was computed from, in argument order (empty for a leaf)."""
        first, second = self._first, self._second
        if first is None:
            return ()
        if second is None:
            return (first,)
        return self._many or (first, second)

    @property
    def op(self) -> str:
        """The name of the primitive op that made this node ("" for a leaf)."""
        return self._rule.name if self._rule is not None else ""

    # micrograd's names, read-only, for tools written against micrograd (its draw_dot):
    @property
    def _prev(self) -> set[Node]:
        """The parents as a set (micrograd's ``_prev``); the engine keeps their order."""
        return set(self.parents)

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
        return self._first is None

    # -- copies: copy.copy and copy.deepcopy ------------------------------------------

    def __copy__(self: N) -> N:
        """A new leaf with a copy of the data, ``requires_grad``, label and gradient.

        As numpy's ``copy.copy`` copies an array (and PyTorch's ``copy.deepcopy`` a
        tensor): a shallow copy sharing the memory would be a tensor that writes into this
        one. Only a leaf is copied: a node inside a graph has no copy that means one thing
        (``detach()`` shares its data outside the graph, ``clone()`` copies it in the graph).
        """
        if self._first is not None:
            raise RuntimeError(
                f"copy of a {type(self).__name__} inside a graph: only a leaf (a value you "
                "made) is copied; use .detach() for its data outside the graph, or .clone() "
                "for a copy in the graph"
            )
        data = self._data
        out = leaf(type(self), data.copy() if isinstance(data, np.ndarray) else data,
                   self.requires_grad, self.label)  # fmt: skip
        grad = self.grad
        out.grad = grad.copy() if isinstance(grad, np.ndarray) else grad
        return out

    def __deepcopy__(self: N, memo: dict[int, Any]) -> N:
        out = self.__copy__()
        memo[id(self)] = out
        return out

    def __getstate__(self) -> Any:
        """What pickle keeps of a leaf; a node inside a graph is refused, as it is copied
        (its graph holds the op's code, which no file should carry)."""
        if self._first is not None:
            raise TypeError(
                f"pickle of a {type(self).__name__} inside a graph: only a leaf (a value you "
                "made) is pickled; pickle .detach() for its data"
            )
        return super().__getstate__()

    # -- gradients ---------------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the accumulated gradient: None, or with ``set_to_none=False`` zeros of
        its shape where there was one (PyTorch's argument and default)."""
        _check_set_to_none(set_to_none, f"{type(self).__name__}.zero_grad")
        grad = self.grad
        if set_to_none or grad is None:
            self.grad = None
        else:
            raw = grad.data if isinstance(grad, Node) else grad
            self.grad = np.zeros_like(raw)

    def retain_grad(self) -> None:
        """Keep this interior node's gradient in ``.grad`` after ``backward()``."""
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        """True if an interior node keeps its gradient after ``backward()`` (as PyTorch's)."""
        return self._retains_by_default or self._retains_grad

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

    def subtract_data_(self, delta: Any) -> None:
        """``data −= delta`` in place: an optimiser's update, recorded as one write.

        It is not an op of the graph (as PyTorch's ``p.data.sub_(delta)`` is not): a
        backward through a graph that used the old data raises ``DataChangedError``. A
        ``delta`` of a wider float dtype is rounded to the data's dtype; it has the data's
        shape, or is a single number.
        """
        if isinstance(self._data, np.ndarray):
            shape = delta.shape if type(delta) is np.ndarray else np.shape(delta)
            if shape and shape != self._data.shape:  # no silent broadcast
                raise ValueError(
                    f"subtract_data_: delta of shape {shape} does not fit data of "
                    f"shape {self._data.shape}"
                )
            self._data -= delta  # numpy's in-place operators cast with "same_kind"
        else:
            self._data = self._data - float(delta)
        self._mark_written()

    def _shared_storage(self) -> Storage:
        """The ``Storage`` of this node's memory, made on first use."""
        storage = getattr(self, "_storage", None)
        if storage is None:  # the memory's own record, shared with every tensor of it
            data = self._data
            storage = storage_of(data) if isinstance(data, np.ndarray) else Storage()
            self._storage = storage
        return storage

    def _mark_written(self) -> None:
        """Record that this node's data was just changed (see ``versions.py``)."""
        self._shared_storage().mark_written()

    # -- what the derivative rules call on nodes when the engine records a graph -------
    #
    # With ``create_graph=True`` a rule's arithmetic runs on nodes (see ``rules.py``);
    # besides the operators it needs these. Each kind implements those it supports.

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the data: () for a Value."""
        raise NotImplementedError(f"{type(self).__name__} has no shape")

    def exp(self) -> Node:
        """e^x, elementwise."""
        raise NotImplementedError(f"{type(self).__name__} has no exp")

    def log(self) -> Node:
        """ln x, elementwise."""
        raise NotImplementedError(f"{type(self).__name__} has no log")

    def sigmoid(self) -> Node:
        """σ(x) = 1/(1 + e^−x), elementwise."""
        raise NotImplementedError(f"{type(self).__name__} has no sigmoid")

    def softmax(self, axis: int = -1) -> Node:
        """e^x / Σ_axis e^x."""
        raise NotImplementedError(f"{type(self).__name__} has no softmax")

    def broadcast_to(self, shape: tuple[int, ...]) -> Node:
        """The data repeated to ``shape`` by numpy's broadcasting rules."""
        raise NotImplementedError(f"{type(self).__name__} cannot broadcast")

    def _scatter_add(self, index: Any, shape: tuple[int, ...]) -> Node:
        """zeros(shape) with this node's data added at ``index`` (getitem's gradient)."""
        raise NotImplementedError(f"{type(self).__name__} cannot scatter")

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


def flag(value: Any, what: str, name: str) -> bool:
    """``value`` as a bool if it is one: a string such as "no" would be true, so any
    other kind is refused, naming the call ``what`` and the argument ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what}: {name} must be True or False, got {value!r}")
    return bool(value)


def check_flag(value: Any, what: str) -> None:
    """Refuse a ``requires_grad`` that is not True or False (0 and 1 pass, as in Python)."""
    if isinstance(value, (bool, np.bool_)) or (type(value) is int and value in (0, 1)):
        return
    raise TypeError(f"{what}: requires_grad must be True or False, got {type(value).__name__}")


def changes_in_place(node: Node, other_requires_grad: bool, op: str, instead: str) -> bool:
    """Whether ``node op= other`` writes into ``node``'s data (True) or makes a new node.

    PyTorch's rule: while gradients are recorded, a leaf that requires grad cannot change in
    place (it would silently stop being the leaf the graph and the optimisers know), so
    that is an error; under ``no_grad`` the data changes in place (the manual update
    ``w -= lr * w.grad``) and the write is recorded. A node inside a graph, or a constant
    combined with a node that requires grad, gets a new node, as ``x = x + y`` would.
    ``op`` names the operation in the error, ``instead`` what to write for a new node.
    """
    if not state.grad_enabled:
        return True
    if node.requires_grad:
        if node._first is None:
            name = f" {node.label!r}" if node.label else ""
            raise RuntimeError(
                f"{op}: the {type(node).__name__}{name} is a leaf that requires grad; changing "
                f"it in place while gradients are recorded would take it out of the graph. "
                f"Update it under `with no_grad():` (as in PyTorch), or {instead}"
            )
        return False
    return not other_requires_grad


trace.node_types = (Node,)  # a traced number's operators defer to a node's

_new = object.__new__


def record(
    kind: type[N],
    data: Any,
    op: Rule,
    first: Node,
    second: Node | None = None,
    ctx: Any = None,
    *,
    many: tuple[Node, ...] = (),
) -> N:
    """The node of ``kind`` that ``op`` computed from ``first`` (and ``second``).

    This is the one way ops make nodes. An op with more than two inputs passes them all
    as ``many`` as well (``record_all`` does that). The node keeps its parents, and so
    joins the graph, only when gradients are being recorded and at least one parent
    requires grad; otherwise it is a leaf that needs no grad. It runs once per node, so it
    does the least it can: the parents come as arguments, not in a tuple made per node.
    """
    if switched.count:  # some thread is inside no_grad or detect_anomaly: is this one?
        if state.anomaly_enabled and not np.all(np.isfinite(data)):
            raise FloatingPointError(
                f"detect_anomaly: the forward of {op.name!r} produced a NaN or inf"
            )
        if not state.grad_enabled:
            return leaf(kind, data, False)
    if not (
        first.requires_grad
        or (second is not None and second.requires_grad)
        or (many and any(parent.requires_grad for parent in many))
    ):
        return leaf(kind, data, False)  # computed from constants only: a constant
    out = _new(kind)
    out._data = data
    out.grad = kind._initial_grad
    out.requires_grad = True
    out._rule = op
    out._ctx = ctx
    out._epoch = clock.now
    out._retains_grad = False
    out._first = first
    out._second = second
    out._many = many
    return out


def record_all(kind: type[N], data: Any, op: Rule, parents: Sequence[Node], ctx: Any = None) -> N:
    """``record`` for an op with any number of inputs (one at least), given in order."""
    if len(parents) == 1:
        return record(kind, data, op, parents[0], None, ctx)
    many = tuple(parents) if len(parents) > 2 else ()
    return record(kind, data, op, parents[0], parents[1], ctx, many=many)


def leaf(kind: type[N], data: Any, requires_grad: bool, label: str = "") -> N:
    """A leaf node of ``kind`` holding ``data`` as it is (no conversion, no copy)."""
    out = _new(kind)
    init_leaf(out, data, requires_grad, label)
    return out


def init_leaf(node: Node, data: Any, requires_grad: bool, label: str = "") -> None:
    """Make ``node`` a leaf holding ``data``: no parents, no op, the kind's initial grad."""
    node._data = data
    node.grad = type(node)._initial_grad
    node.requires_grad = requires_grad
    if label:
        node._label = label
    node._first = node._second = None
    node._many = ()
    node._rule = None
    node._ctx = None
    node._epoch = clock.now
    node._retains_grad = False
    node._storage = None


def _check_set_to_none(value: Any, where: str) -> None:
    """``zero_grad``'s ``set_to_none``: True or False, as PyTorch's."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: set_to_none must be True or False, got {value!r}")
