"""``compile``: trace a step once, then run it as straight-line generated code.

    @autograd.compile                 # or: loss = autograd.compile(loss)
    def loss(X, y):
        ...                           # builds a graph of Values or Tensors, as usual
        return total, accuracy

    total, accuracy = loss(X, y)      # the first call traces and compiles; every call
    total.backward()                  # then runs the generated forward, and backward()
                                      # the generated backward: the loop stays the same

The first call runs the function on symbols (``trace.py``) and the engine's own walk on
the graph it built: what the op methods, the engine and the rules did is written out as
Python (``codegen.py``), one statement per operation, with no node objects, no sort and
no rule dispatch. Every later call reads the current data of the nodes the function used
(parameters change between steps: that is the point), runs the generated forward on them
and on its arguments, and hands back each output as **one node** of the ordinary graph,
whose rule is the generated backward. So ``backward()``, ``grad()``, ``zero_grad()``, the
optimisers and everything built on them work unchanged, and the engine's promises hold:
leaves accumulate, threads may share leaves, and data changed between the forward and the
backward is a ``DataChangedError``.

What the function's Python decided while it was traced is frozen: a branch on a shape, the
length of a list, a random batch drawn inside it. Branches on data cannot be frozen
silently, so they are errors while tracing (``TracingError``), and so is anything else that
could make the compiled step differ from eager: new arguments of another shape or kind, a
node the function used that no longer exists or whose ``requires_grad`` changed, a call
under ``no_grad`` or ``detect_anomaly``, a backward with ``create_graph``.
"""

from __future__ import annotations

import builtins
import functools
import keyword
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from . import mode
from .codegen import Function, Namespace, guard_failed, tuple_source
from .engine import _accumulate as accumulate
from .engine import backward as backward_from
from .engine import gradients, topological_order
from .micrograd import is_closure_rule
from .mode import switched
from .node import Node, record_all
from .rules import RULES, Rule
from .trace import Program, Sym, local, value_of
from .trace import _operand as operand
from .versions import clock

F = TypeVar("F", bound=Callable[..., Any])

#: One trace at a time: a trace changes how every node's data is read, in every thread.
_trace_lock = threading.RLock()
_get_ident = threading.get_ident


class CompileError(TypeError):
    """A compiled step was called in a way its trace does not cover (see the message)."""


# -- the arguments and the results, as flat lists plus their structure -------------------


def _flatten(obj: Any, nodes: list[Node], arrays: list[Any]) -> Any:
    """The structure of ``obj`` with its nodes and data set aside in ``nodes`` and ``arrays``."""
    if isinstance(obj, Node):
        nodes.append(obj)
        return ("node", len(nodes) - 1)
    if type(obj) is Sym or isinstance(obj, (np.ndarray, np.generic)) or type(obj) is float:
        arrays.append(obj)
        return ("data", len(arrays) - 1)
    if type(obj) in (tuple, list):
        return (type(obj).__name__, [_flatten(item, nodes, arrays) for item in obj])
    if type(obj) is dict:
        return ("dict", {key: _flatten(item, nodes, arrays) for key, item in obj.items()})
    return ("static", obj)


def _rebuild(spec: Any, nodes: Sequence[Any], arrays: Sequence[Any]) -> Any:
    kind, payload = spec
    if kind == "node":
        return nodes[payload]
    if kind == "data":
        return arrays[payload]
    if kind in ("tuple", "list"):
        items = [_rebuild(item, nodes, arrays) for item in payload]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        return {key: _rebuild(item, nodes, arrays) for key, item in payload.items()}
    return payload


def _describe(x: Any) -> Any:
    """What a call must keep the same for the trace to hold: kind, shape and dtype."""
    if isinstance(x, Node):
        data = x._data
        return (type(x).__name__, np.shape(data), getattr(data, "dtype", None))
    return (type(x).__name__, np.shape(x), getattr(x, "dtype", None))


def _same_structure(traced: Any, now: Any) -> bool:
    if traced[0] != now[0]:
        return False
    kind = traced[0]
    if kind in ("tuple", "list"):
        return len(traced[1]) == len(now[1]) and all(
            _same_structure(a, b) for a, b in zip(traced[1], now[1])
        )
    if kind == "dict":
        return traced[1].keys() == now[1].keys() and all(
            _same_structure(traced[1][k], now[1][k]) for k in traced[1]
        )
    if kind == "static":
        a, b = traced[1], now[1]
        if a is b:
            return True
        if type(a) is not type(b) or type(a) not in (int, bool, str, type(None), bytes):
            return False
        return bool(a == b)
    return True


# -- tracing: how nodes' data is read while a function is traced --------------------------


class _Trace:
    """One trace in progress: the program, and the nodes it was given or found in use."""

    def __init__(self) -> None:
        self.program = Program()
        self.thread = threading.get_ident()
        #: Nodes made before the trace whose data the function read, in order of first use.
        self.captured: list[Node] = []
        #: Each argument node and captured node by identity, with its data's symbol.
        self.symbols: dict[int, Sym] = {}
        self.start = clock.tick()  # nodes made during the trace have an epoch this late
        #: Python state the function read (``trace.depends_on``): (object, name, value).
        self.remembered: dict[tuple[int, str], tuple[Any, str, Any]] = {}

    def remember(self, obj: Any, name: str, value: Any) -> None:
        self.remembered.setdefault((id(obj), name), (obj, name, value))

    def give(self, node: Node, source: str, value: Any) -> Sym:
        symbol = self.program.emit(("input", source), value)
        if isinstance(value, np.ndarray):
            self.program.given.append(value)
        self.symbols[id(node)] = symbol
        return symbol

    def capture(self, node: Node, value: Any) -> Sym:
        self.captured.append(node)
        return self.give(node, f"L[{len(self.captured) - 1}]", value)


class _TracedData:
    """``Node._data`` while a trace runs: the tracing thread reads a node made before the
    trace as a symbol, an input of the compiled step. Every other read is the real one."""

    def __init__(self, slot: Any, trace: _Trace) -> None:
        self.slot = slot
        self.read = slot.__get__
        self.trace = trace

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        value = self.read(obj)
        if type(value) is Sym:
            return value
        trace = self.trace
        if _get_ident() != trace.thread:
            return value
        symbol = trace.symbols.get(id(obj))
        if symbol is not None:
            return symbol
        if obj._epoch < trace.start:  # a parameter, or any node made before the trace
            return trace.capture(obj, value)
        return value  # made during the trace from plain numbers: a constant of the step

    def __set__(self, obj: Any, value: Any) -> None:
        self.slot.__set__(obj, value)


class _Tracing:
    """Install ``_TracedData`` and mark this thread as tracing; undo both on exit."""

    def __init__(self, trace: _Trace) -> None:
        self.trace = trace
        self.slot = Node.__dict__["_data"]

    def __enter__(self) -> _Trace:
        Node._data = _TracedData(self.slot, self.trace)  # type: ignore[misc]
        local.trace = self.trace
        switched.add(1)  # what asks tracing() looks further while a trace runs
        return self.trace

    def __exit__(self, *exc: Any) -> None:
        switched.add(-1)
        Node._data = self.slot  # type: ignore[misc]
        local.trace = None


def _order(output: Node, inputs: set[int]) -> list[Node]:
    """The nodes from ``output`` back to the step's inputs, parents first (as the engine's
    ``topological_order``, but an input of the step is where the walk stops)."""
    order: list[Node] = []
    visited: set[int] = set()
    stack: list[tuple[Node, bool]] = [(output, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited or not node.requires_grad:
            continue
        visited.add(id(node))
        if node._first is None or id(node) in inputs:
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((parent, False) for parent in reversed(node.parents))
    return order


class _RuleFallback:
    """While a backward is traced, a rule that cannot run on symbols is called as it is.

    That is every rule of the library and of the ops of one's own in the graph behind
    ``outputs`` (``autograd.rule``), but not a micrograd-style ``_backward`` closure: it
    changes ``.grad`` attributes of nodes that a compiled step does not have.
    """

    def __init__(self, outputs: Sequence[Node]) -> None:
        self.outputs = outputs

    def __enter__(self) -> None:
        rules = set(RULES.values())
        for node in topological_order(self.outputs):
            rule = node._rule
            if rule is not None and not is_closure_rule(rule):
                rules.add(rule)
        self.saved = {rule: rule.backward for rule in rules}
        for rule, backward in self.saved.items():
            rule.backward = _traced_rule(rule.name, backward)

    def __exit__(self, *exc: Any) -> None:
        for rule, backward in self.saved.items():
            rule.backward = backward


def _traced_rule(name: str, backward: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(backward)
    def run(ctx: Any, g: Any, out: Any, *inputs: Any) -> Any:
        trace = local.trace
        if trace is None:
            return backward(ctx, g, out, *inputs)
        program = trace.program
        mark = len(program.instructions)
        try:
            return backward(ctx, g, out, *inputs)
        except Exception:
            del program.instructions[mark:]
            del program.values[mark:]
            del program.refs[mark:]
            program.actions = {i for i in program.actions if i < mark}
            value = backward(*value_of((ctx, g, out, *inputs)))
            call = program.emit(("call", backward, operand((ctx, g, out, *inputs)), {}), value)
            return tuple(None if v is None else call[k] for k, v in enumerate(value))

    return run


# -- the compiled step -------------------------------------------------------------------


class _Output:
    """How one node the function returned is made on every call.

    ``computed``: the forward's result ``position``, a node whose rule is the compiled
    backward ``rule``; ``given``: the function returned one of its inputs, ``parents[position]``;
    ``constant``: a node made of plain numbers during the trace, returned as it is.
    """

    __slots__ = ("how", "kind", "position", "rule", "node")

    def __init__(
        self, how: str, kind: type, position: int = -1, rule: Rule | None = None, node: Any = None
    ) -> None:
        self.how, self.kind, self.position, self.rule, self.node = how, kind, position, rule, node


class CompiledStep:
    """A traced function as generated code, with what a call must match to run it."""

    def __init__(self) -> None:
        self.source = ""
        self.forward: Callable[..., Any] = _unset
        self.captured: list[weakref.ref[Node]] = []
        self.flags: tuple[bool, ...] = ()
        self.descriptions: list[Any] = []
        self.arg_spec: Any = None
        self.arg_descriptions: list[Any] = []
        self.result_spec: Any = None
        self.outputs: list[_Output] = []
        #: The results of the call that traced (its random draws and writes were made once).
        self.first: tuple[Any, Any] | None = None
        #: For each node the step uses: a weak reference, and its requires_grad, shape and
        #: dtype when traced (no shape for a Value), which every call checks.
        self.expected: list[tuple[weakref.ref[Node], bool, Any, Any]] = []
        #: When every argument was an array or a number: (type, shape, dtype) of each.
        self.simple: tuple[tuple[type, Any, Any], ...] | None = None
        #: When the function returned one node, computed: how to make it (the usual case).
        self.single: _Output | None = None
        #: How many of the forward's results are nodes' data (the plain values follow).
        self.computed = 0
        #: Whether every node the step uses is a leaf, so that forward_backward can add the
        #: gradients into them without the engine's walk (the usual case: parameters).
        self.direct = False
        #: The generated backward of the first output, with (saved, seed).
        self.backward_of_first: Callable[..., Any] = _unset
        #: Python state the traced function read: (object, attribute, what it was).
        self.state: list[tuple[Any, str, Any]] = []

    def __call__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        nodes, arrays = self._arguments(args, kwargs)
        captured, data = self._captured()
        parents = captured + nodes
        if nodes and tuple(p.requires_grad for p in nodes) != self.flags[len(captured) :]:
            raise CompileError(
                "compiled function: an argument node has another requires_grad than when it "
                "was traced; compile the function again"
            )
        first, self.first = self.first, None
        if first is not None:  # the call that traced: its results are the trace's own
            results, saved = first
        else:
            results, saved = self.forward(data, [p._data for p in nodes], arrays)
        single = self.single
        if single is not None and single.rule is not None:  # the usual case: one node
            return record_all(single.kind, results[0], single.rule, parents, saved)
        made = []
        for output in self.outputs:
            if output.how == "computed":
                value = results[output.position]
                if output.rule is None:
                    made.append(output.kind._constant(value))  # type: ignore[attr-defined]
                else:
                    made.append(record_all(output.kind, value, output.rule, parents, saved))
            elif output.how == "given":
                made.append(parents[output.position])
            else:
                made.append(output.node)
        return _rebuild(self.result_spec, made, results[self.computed :])

    def forward_backward(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The step, and the backward of its first output, at once (see ``CompiledFunction``).

        The results come back as data: the output nodes are never made, so no graph is
        left between the forward and the backward, and each leaf's gradient is added
        into its ``.grad`` as ``backward()`` adds it.
        """
        nodes, arrays = self._arguments(args, kwargs)
        if not self.direct or any(p._first is not None for p in nodes):
            out = self(args, kwargs)  # a node inside a graph takes the engine's walk
            backward_from(_first_node(out))
            return _as_data(out)
        captured, data = self._captured()
        parents = captured + nodes
        first, self.first = self.first, None
        if first is not None:
            results, saved = first
        else:
            results, saved = self.forward(data, [p._data for p in nodes], arrays)
        grads = self.backward_of_first(saved, _unit_seed(results[0]))
        stored: set[int] = set()
        for parent, g in zip(parents, grads):
            if g is not None and parent.requires_grad:
                accumulate(parent, g, stored)
        made = []
        for output in self.outputs:
            if output.how == "computed":
                made.append(results[output.position])
            elif output.how == "given":
                made.append(parents[output.position]._data)
            else:
                made.append(output.node._data)
        return _rebuild(self.result_spec, made, results[self.computed :])

    def _arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list[Node], Any]:
        """The argument nodes and data of a call, checked against the trace's."""
        simple = self.simple
        if simple is not None and not kwargs and len(args) == len(simple):
            for arg, (kind, shape, dtype) in zip(args, simple):  # arrays and numbers only
                if type(arg) is not kind or (
                    kind is np.ndarray and (arg.shape != shape or arg.dtype != dtype)  # type: ignore[attr-defined]
                ):
                    break
            else:
                return [], args
        nodes: list[Node] = []
        arrays: list[Any] = []
        spec = _flatten((args, kwargs), nodes, arrays)
        if not _same_structure(self.arg_spec, spec):
            raise CompileError(
                "compiled function: called with arguments of another structure than when it "
                "was traced (another count or container, or another value of an argument "
                "that is not data); compile a function for each, or pass the value as an array"
            )
        now = [_describe(x) for x in (*nodes, *arrays)]
        for position, (was, is_) in enumerate(zip(self.arg_descriptions, now)):
            if was != is_:
                raise CompileError(
                    f"compiled function: argument {position} is {_spell(is_)}, but the "
                    f"function was traced with {_spell(was)}; a compiled step keeps the "
                    "shapes it was traced with (compile another one for this shape)"
                )
        return nodes, arrays

    def _check_state(self) -> None:
        """The Python state the function read while traced is still what it was."""
        for holder, name, was in self.state:
            obj = holder()
            if obj is None:
                continue  # gone: its nodes are checked as such
            now = getattr(obj, name, _MISSING)
            same = now is was() if isinstance(was, weakref.ref) else _same_value(now, was)
            if not same:
                raise CompileError(
                    f"compiled function: {type(obj).__name__}.{name} is no longer what it was "
                    "when the function was traced (a module's train/eval mode, a layer or "
                    "parameter replaced, a setting changed); compile one function for each"
                )

    def _captured(self) -> tuple[list[Node], list[Any]]:
        """The nodes the step uses and their data, each still as it was when traced."""
        if self.state:
            self._check_state()
        captured: list[Node] = []
        data: list[Any] = []
        for position, (ref, flag, shape, dtype) in enumerate(self.expected):
            node = ref()
            if node is None:
                raise CompileError(
                    f"compiled function: node {position} of those it used when traced no "
                    "longer exists (a model made again, say); compile the function again"
                )
            value = node._data
            if node.requires_grad is not flag:
                raise CompileError(
                    "compiled function: a node it uses has another requires_grad than when "
                    "it was traced (a layer frozen or unfrozen); compile the function again"
                )
            if shape is not None and (value.shape != shape or value.dtype != dtype):
                raise CompileError(
                    "compiled function: the data of a node it uses changed shape or dtype "
                    f"since it was traced ({_spell(_describe(node))}, was of shape {shape}); "
                    "compile the function again"
                )
            captured.append(node)
            data.append(value)
        return captured, data


def _unset(*args: Any) -> Any:
    raise AssertionError("the compiled step has no code")


def _first_node(out: Any) -> Node:
    """The first node among a function's results (the one forward_backward differentiates)."""
    nodes: list[Node] = []
    _flatten(out, nodes, [])
    if not nodes:
        raise CompileError("forward_backward: the function returned no node to differentiate")
    return nodes[0]


def _as_data(out: Any) -> Any:
    """A function's results with every node replaced by its data."""
    nodes: list[Node] = []
    arrays: list[Any] = []
    spec = _flatten(out, nodes, arrays)
    return _rebuild(spec, [node.data for node in nodes], arrays)


def _unit_seed(output: Any) -> Any:
    """d(output)/d(output) = 1, of the output's kind (a gradient implied for one element)."""
    if not isinstance(output, np.ndarray):
        return 1.0
    if output.size != 1:
        raise CompileError(
            f"forward_backward: a gradient can be implied only for an output of one element; "
            f"the first output has shape {output.shape}"
        )
    return np.ones(output.shape, output.dtype)


_MISSING = object()


def _same_value(now: Any, was: Any) -> bool:
    return type(now) is type(was) and bool(now == was)


def _remembered(obj: Any, name: str, value: Any) -> tuple[Any, str, Any] | None:
    """How a compiled step checks ``obj.name`` later: the object weakly, the value by identity
    (a node, a module) or by equality (a number, a string); None for what it cannot check."""
    try:
        holder = weakref.ref(obj)
    except TypeError:
        return None
    if isinstance(value, (bool, int, float, str, type(None))):
        return holder, name, value
    try:
        return holder, name, weakref.ref(value)
    except TypeError:
        return None


def _layout(node: Node) -> tuple[Any, Any]:
    """The shape and dtype of a node's data (none for a Value's float)."""
    data = node._data
    return (data.shape, data.dtype) if isinstance(data, np.ndarray) else (None, None)


def _spell(description: Any) -> str:
    kind, shape, dtype = description
    return f"a {kind}" + (f" of shape {shape}" if shape else "") + (f" ({dtype})" if dtype else "")


class CompiledFunction:
    """What ``compile`` returns: the function, traced and compiled at its first call."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.step: CompiledStep | None = None
        self._lock = threading.Lock()
        functools.update_wrapper(self, function)

    @property
    def source(self) -> str:
        """The generated Python of the forward and the backward (after the first call)."""
        if self.step is None:
            raise CompileError("compiled function: call it once first; it is traced then")
        return self.step.source

    def forward_backward(self, *args: Any, **kwargs: Any) -> Any:
        """``out = f(*args); out.backward(); return out.data``, at once and faster.

        For a function that returns one node with one element (a loss): the compiled
        forward and backward run back to back, no node of the output is made, and every
        leaf's gradient is added into its ``.grad`` as ``backward()`` adds it. ``nn.fit``
        trains with it (``compile=True``).
        """
        if self.step is None or local.trace is not None:  # the first call traces
            out = self(*args, **kwargs)
            backward_from(_first_node(out))
            return _as_data(out)
        self._check_modes()
        return self.step.forward_backward(args, kwargs)

    def _check_modes(self) -> None:
        if not mode.state.grad_enabled:
            raise CompileError(
                "a compiled step under no_grad is not supported: call the function itself "
                "(.function) for a forward pass without a graph"
            )
        if mode.state.anomaly_enabled:
            raise CompileError(
                "a compiled step under detect_anomaly is not supported: call the function "
                "itself (.function) to find the op that makes a NaN"
            )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if local.trace is not None:  # inside another function being traced: trace this too
            return self.function(*args, **kwargs)
        if not mode.state.grad_enabled:
            raise CompileError(
                "a compiled step under no_grad is not supported: call the function itself "
                "(.function) for a forward pass without a graph"
            )
        if mode.state.anomaly_enabled:
            raise CompileError(
                "a compiled step under detect_anomaly is not supported: call the function "
                "itself (.function) to find the op that makes a NaN"
            )
        step = self.step
        if step is None:
            with self._lock:
                if self.step is None:
                    self.step = _compile(self.function, args, kwargs)
                step = self.step
        return step(args, kwargs)


def compile(function: F) -> F:
    """``function`` traced once and run as generated code from then on (see the module).

    Usable as a decorator. The compiled function takes arguments of the same structure,
    shapes and dtypes as at its first call (numpy arrays, numbers, Values or Tensors; any
    other argument is frozen and must be the same at every call), and returns what the
    function returns: its nodes as nodes of the graph, whose backward is compiled too.
    ``compiled.source`` is the generated code.
    """
    if not callable(function) or isinstance(function, type):
        what = f"the class {function.__name__}" if isinstance(function, type) else None
        raise TypeError(f"compile: expected a function, got {what or type(function).__name__}")
    return CompiledFunction(function)  # type: ignore[return-value]


def _compile(
    function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> CompiledStep:
    with _trace_lock:
        return _Compiler(function).build(args, kwargs)


class _Compiler:
    """One compilation: trace the forward, trace a backward per output, write the code."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.trace = _Trace()
        #: Each node the backward walks reached, with its gradient's instruction.
        self.reached: list[tuple[Node, int]] = []
        #: Whether the step is small enough to be read: then its code has comments and
        #: names from the nodes' labels (a large one is written for speed alone).
        self.readable = True

    def build(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CompiledStep:
        trace, program = self.trace, self.trace.program
        step = CompiledStep()
        arg_nodes: list[Node] = []
        arrays: list[Any] = []
        step.arg_spec = _flatten((args, kwargs), arg_nodes, arrays)
        step.arg_descriptions = [_describe(x) for x in (*arg_nodes, *arrays)]
        for k, node in enumerate(arg_nodes):
            trace.give(node, f"N[{k}]", node._data)
        symbols = []
        for k, array in enumerate(arrays):
            symbols.append(program.emit(("input", f"A[{k}]"), array))
            if isinstance(array, np.ndarray):
                program.given.append(array)
        traced_args, traced_kwargs = _rebuild(step.arg_spec, arg_nodes, symbols)

        out_nodes: list[Node] = []
        out_values: list[Any] = []
        try:
            with _Tracing(trace):
                result = self.function(*traced_args, **traced_kwargs)
                step.result_spec = _flatten(result, out_nodes, out_values)
                forward_end = len(program.instructions)
                parents = trace.captured + arg_nodes
                position = {id(p): k for k, p in enumerate(parents)}
                # Comments and names serve a reader, who reads small steps only.
                self.readable = forward_end <= READABLE_STEP
                if self.readable:
                    self._note_forward(out_nodes, position)
                with _RuleFallback(out_nodes):
                    backwards = [self._backward(node, parents, position) for node in out_nodes]
        finally:
            program.closed = True

        namespace = Namespace()
        namespace.values["_guard_failed"] = guard_failed(namespace.guards)
        forward_results: list[int | None] = []
        for node in out_nodes:
            data = _slot.__get__(node)
            if id(node) in position:
                step.outputs.append(_Output("given", type(node), position[id(node)]))
            elif type(data) is not Sym:
                step.outputs.append(_Output("constant", type(node), node=node))
            else:
                step.outputs.append(_Output("computed", type(node), len(forward_results)))
                forward_results.append(data.index)
        for output in step.outputs:  # the plain values come after the nodes
            if output.how == "computed":
                continue
        values = [v for v in out_values]
        constant_values: dict[int, Any] = {}
        for k, value in enumerate(values):
            if type(value) is not Sym:
                constant_values[k] = value

        # Each backward, and what of the forward it needs saved.
        functions: list[Function | None] = []
        saved: list[int] = []
        for number, backward in enumerate(backwards):
            if backward is None:
                functions.append(None)
                continue
            start, end, grads = backward
            function = Function(
                f"backward_{number}", "S, g", range(start, end), {}, grads, self._note
            )
            for index in function.externals(program):
                if index not in saved:
                    saved.append(index)
            functions.append(function)
        given = {index: f"S[{k}]" for k, index in enumerate(saved)}
        names = self._names(parents, backwards) if self.readable else {}
        node_count = len(forward_results)
        value_indices: list[int | None] = [v.index if type(v) is Sym else None for v in values]
        results = forward_results + value_indices
        forward = Function(
            "forward",
            "L, N, A",
            range(forward_end),
            {},
            [*results, *saved],
            self._note,
            returns=lambda parts: _forward_return(
                parts, len(results), constant_values, node_count, namespace
            ),
            names=names,
        )
        sources = [forward.source(program, namespace)]
        for backward_function in functions:
            if backward_function is not None:
                backward_function.given = given
                backward_function.names = names
                backward_function.unpack = "S"
                sources.append(backward_function.source(program, namespace))
        step.source = "\n\n\n".join(sources) + "\n"
        name = getattr(self.function, "__name__", "step")
        code = builtins.compile(step.source, f"<compiled {name}>", "exec")
        exec(code, namespace.values)
        step.forward = namespace.values["forward"]

        step.captured = [weakref.ref(node) for node in trace.captured]
        step.flags = tuple(p.requires_grad for p in parents)
        step.descriptions = [_describe(p) for p in trace.captured]
        step.expected = [
            (weakref.ref(node), node.requires_grad, *_layout(node)) for node in trace.captured
        ]
        if not arg_nodes and not kwargs and all(type(a) in (np.ndarray, float) for a in args):
            step.simple = tuple(
                (type(a), getattr(a, "shape", None), getattr(a, "dtype", None)) for a in args
            )
        step.computed = len(forward_results)
        step.state = [
            checked
            for obj, name, value in trace.remembered.values()
            if (checked := _remembered(obj, name, value)) is not None
        ]
        for output, made_function in zip(step.outputs, functions):
            if output.how == "computed" and made_function is not None:
                output.rule = _compiled_rule(namespace.values[made_function.name])
        if step.result_spec[0] == "node" and step.outputs[0].rule is not None:
            step.single = step.outputs[0]
        first_function = functions[0] if functions else None
        if first_function is not None and step.outputs[0].how == "computed":
            step.backward_of_first = namespace.values[first_function.name]
            step.direct = all(node._first is None for node in trace.captured)
        values_of = program.values
        step.first = (
            tuple(values_of[i] if i is not None else None for i in results)
            if not constant_values
            else tuple(
                constant_values[k - node_count]
                if k >= node_count and (k - node_count) in constant_values
                else (values_of[i] if i is not None else None)
                for k, i in enumerate(results)
            ),
            tuple(values_of[i] for i in saved),
        )
        program.values = []  # the trace's arrays are not needed once the code exists
        return step

    def _note_forward(self, outputs: list[Node], inputs: dict[int, int]) -> None:
        """Name, in the code, the instruction that made each node's data: its op and label."""
        notes = self.trace.program.notes
        seen: set[int] = set()
        stack = list(outputs)
        while stack:
            node = stack.pop()
            if id(node) in seen or id(node) in inputs:
                continue
            seen.add(id(node))
            data = _slot.__get__(node)
            if type(data) is Sym and node._rule is not None:
                notes.setdefault(data.index, ("forward", node))
            stack.extend(node.parents)

    def _backward(
        self, node: Node, parents: list[Node], position: dict[int, int]
    ) -> tuple[int, int, list[int | None]] | None:
        """Trace the engine's walk from ``node`` down to the step's inputs."""
        if not node.requires_grad or id(node) in position:
            return None
        program = self.trace.program
        start = len(program.instructions)
        data = value_of(node._data)
        seed_value = np.ones_like(data) if isinstance(data, np.ndarray) else 1.0
        seed = program.emit(("input", "g"), seed_value)
        grads: list[int | None] = [None] * len(parents)
        if all(p._first is None for p in parents):  # the usual case: inputs are leaves
            order = topological_order([node])
        else:
            order = _order(node, set(position))
        walk = gradients([node], [seed], order=order)
        current: Node | None = None
        mark = len(program.instructions)
        notes = self.readable
        for reached, g in walk:
            if notes and current is not None and mark < len(program.instructions):
                program.notes.setdefault(mark, ("backward", current))
            current, mark = reached, len(program.instructions)
            if notes and type(g) is Sym:
                self.reached.append((reached, g.index))
            k = position.get(id(reached))
            if k is not None and type(g) is Sym and reached.requires_grad:
                grads[k] = g.index
        if notes and current is not None and mark < len(program.instructions):
            program.notes.setdefault(mark, ("backward", current))
        return start, len(program.instructions), grads

    def _names(
        self, parents: list[Node], backwards: list[tuple[int, int, list[int | None]] | None]
    ) -> dict[int, str]:
        """Names from the nodes' labels: ``w1`` for a node's data, ``grad_w1`` for the
        gradient the step returns for it (a small step is read by people)."""
        names: dict[int, str] = {}
        used = {"L", "N", "A", "S", "g", "V", "np", "math", *dir(builtins)}

        def claim(index: int, label: str) -> None:
            base = re.sub(r"\W", "_", label)
            if index in names or not base.isidentifier() or keyword.iskeyword(base):
                return
            name, k = base, 2
            while name in used or name.startswith("_"):
                name, k = f"{base}_{k}", k + 1
            used.add(name)
            names[index] = name

        for node in parents:
            symbol = self.trace.symbols.get(id(node))
            if symbol is not None and node.label:
                claim(symbol.index, node.label)
        for index, (what, node) in sorted(self.trace.program.notes.items()):
            if what == "forward" and node.label:
                claim(index, node.label)

        def named(node: Node) -> str:
            """The name of a node's data where it has one (``weight_2`` for the second
            node labelled ``weight``), so that its gradient's name matches it."""
            symbol = self.trace.symbols.get(id(node))
            if symbol is not None and symbol.index in names:
                return names[symbol.index]
            return node.label

        for node, gradient in self.reached:  # in the order the walk reached them
            if node.label:
                claim(gradient, f"grad_{named(node)}")
        for backward in backwards:
            if backward is not None:
                for parent, gradient_index in zip(parents, backward[2]):
                    if gradient_index is not None and parent.label:
                        claim(gradient_index, f"grad_{named(parent)}")
        return names

    def _note(self, index: int) -> str:
        note = self.trace.program.notes.get(index)
        if note is None:
            return ""
        what, node = note
        label = f" {node.label!r}" if node.label else ""
        return f"backward of {node.op}{label}" if what == "backward" else f"{node.op}{label}"


_slot = Node.__dict__["_data"]

#: A forward of at most this many operations is written for a reader (see ``readable``).
READABLE_STEP = 1000


def _forward_return(
    parts: list[str], count: int, constants: dict[int, Any], node_count: int, namespace: Namespace
) -> str:
    results = list(parts[:count])
    for k, value in constants.items():  # a plain value the function returned as it is
        results[node_count + k] = (
            namespace.name_of(value)
            if not isinstance(value, (int, float, bool, str, type(None)))
            else repr(value)
        )
    return f"return {tuple_source(results)}, {tuple_source(parts[count:])}"


def _compiled_rule(backward: Callable[..., Any]) -> Rule:
    """The rule of a compiled step's output: the generated backward, from its saved values."""

    def run(saved: Any, g: Any, out: Any, *parents: Any) -> tuple[Any, ...]:
        if isinstance(g, Node):
            raise CompileError(
                "create_graph through a compiled step is not supported: call the function "
                "itself (.function) for higher-order gradients"
            )
        grads: tuple[Any, ...] = backward(saved, g)
        return grads

    return Rule("compiled", "compiled step", run, reads="inputs")
