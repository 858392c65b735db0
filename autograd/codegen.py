"""From a traced ``Program`` to Python source: straight-line statements, one per operation.

A generated function takes the values it is given (``L``: the data of the nodes the step
uses, ``A``: its arguments' data, ``S``: what the forward saved for the backward, ``g``: the
incoming gradient) and returns what was asked of it. Operations whose result is used once
are written inside the expression that uses it (``v9 = (v3 * v4) + v7``): fewer
statements run faster, and Python evaluates the expression in the order the trace did, so
the numbers are the same to the last bit. Only numbers are inlined so freely; an array is
inlined only where no write comes between its making and its use.

A function longer than ``CHUNK`` statements is split into chunks, each a function of its
own that loads what it uses from a dict of the values that cross chunks and stores what
later chunks use: CPython compiles and runs one huge function poorly, and a graph of 10⁵
scalar ops would be one.
"""

from __future__ import annotations

import bisect
import builtins
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .trace import GuardError, Program, Sym, float_constant

#: Statements per generated function; longer ones are split into chunks.
CHUNK = 4000
#: Functions of at most this many operations keep one line per op of the graph.
READABLE = 300
#: How deep an inlined expression may nest before its parts get names of their own.
MAX_DEPTH = 64

#: Instruction kinds whose result depends on nothing but their operands (may be inlined).
_PURE = frozenset(("binop", "unop", "call", "method", "attr", "getitem", "ufunc", "input"))


class Namespace:
    """The globals of generated code: numpy, math, and every other object it refers to."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {
            "np": np,
            "math": math,
            "_inf": math.inf,
            "_nan": math.nan,
        }
        self._names: dict[int, str] = {}
        self.guards: list[str] = []

    def name_of(self, obj: Any) -> str:
        """A name under which generated code reaches ``obj`` (a function, a dtype, an array)."""
        known = self._names.get(id(obj))
        if known is not None:
            return known
        name = _public_name(obj)
        if name is None:
            base = getattr(obj, "__name__", None)
            base = base.strip("_") if isinstance(base, str) and base.isidentifier() else ""
            name = f"_{base or 'c'}"
            while name in self.values:
                name = f"_{base or 'c'}{len(self._names)}"
            self.values[name] = obj
        self._names[id(obj)] = name
        self.values.setdefault("_keep", []).append(obj)  # ids stay unique while named
        return name

    def guard(self, message: str) -> int:
        self.guards.append(message)
        return len(self.guards) - 1


def _public_name(obj: Any) -> str | None:
    """``np.exp``, ``math.tanh``, ``abs``: how the code reaches a well-known function."""
    name = getattr(obj, "__name__", None)
    if not isinstance(name, str):
        return None
    if getattr(np, name, None) is obj:
        return f"np.{name}"
    if getattr(math, name, None) is obj:
        return f"math.{name}"
    if getattr(builtins, name, None) is obj:
        return name
    return None


class _Renderer:
    """Operands and instructions as Python source, given how each variable is spelled."""

    def __init__(self, program: Program, namespace: Namespace) -> None:
        self.program = program
        self.namespace = namespace
        #: How each instruction's result is spelled where it is used: a name, or the
        #: parenthesised expression of an inlined instruction.
        self.spelling: dict[int, str] = {}

    def operand(self, x: Any, in_index: bool = False) -> str:
        kind = type(x)
        if kind is Sym:
            return self.spelling[x.index]
        if kind is float:
            text = float_constant(x)
            return f"({text})" if text.startswith("-") else text
        if kind is bool or x is None or x is Ellipsis:
            return repr(x)
        if kind is int:
            return f"({x})" if x < 0 else repr(x)
        if kind is str:
            return repr(x)
        if kind is tuple:
            parts = [self.operand(item, in_index) for item in x]
            if in_index:
                return ", ".join(parts) if parts else "()"
            return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        if kind is list:
            return "[" + ", ".join(self.operand(item) for item in x) + "]"
        if kind is dict:
            items = ", ".join(f"{k!r}: {self.operand(v)}" for k, v in x.items())
            return "{" + items + "}"
        if kind is slice:
            if in_index:
                parts = [
                    "" if part is None else self.operand(part) for part in (x.start, x.stop, x.step)
                ]
                text = f"{parts[0]}:{parts[1]}"
                return text + (f":{parts[2]}" if parts[2] else "")
            return f"slice({self.operand(x.start)}, {self.operand(x.stop)}, {self.operand(x.step)})"
        return self.namespace.name_of(x)

    def arguments(self, args: Sequence[Any], kwargs: dict[str, Any]) -> str:
        parts = [self.operand(a) for a in args]
        parts += [f"{key}={self.operand(value)}" for key, value in kwargs.items()]
        return ", ".join(parts)

    def expression(self, index: int) -> str:
        """The Python expression of instruction ``index``'s result."""
        instruction = self.program.instructions[index]
        kind = instruction[0]
        if kind == "input":
            return instruction[1]
        if kind == "binop":
            _, symbol, a, b = instruction
            return f"{self.operand(a)} {symbol} {self.operand(b)}"
        if kind == "unop":
            _, symbol, a = instruction
            return f"{symbol}{self.operand(a)}"
        if kind == "call":
            _, function, args, kwargs = instruction
            return f"{self.operand(function)}({self.arguments(args, kwargs)})"
        if kind == "ufunc":
            _, ufunc, method, inputs, kwargs = instruction
            callee = self.operand(ufunc) + ("" if method == "__call__" else f".{method}")
            return f"{callee}({self.arguments(inputs, kwargs)})"
        if kind == "method":
            _, obj, name, args, kwargs = instruction
            return f"{self.operand(obj)}.{name}({self.arguments(args, kwargs)})"
        if kind == "attr":
            _, obj, name = instruction
            return f"{self.operand(obj)}.{name}"
        if kind == "getitem":
            _, obj, index_ = instruction
            return f"{self.operand(obj)}[{self.operand(index_, in_index=True)}]"
        raise AssertionError(f"no expression for {kind}")

    def action(self, index: int) -> str:
        """The statement of an instruction that only acts (a write, a guard)."""
        instruction = self.program.instructions[index]
        kind = instruction[0]
        if kind == "setitem":
            _, obj, index_, value = instruction
            target = f"{self.operand(obj)}[{self.operand(index_, in_index=True)}]"
            return f"{target} = {self.operand(value)}"
        if kind == "inplace":
            _, symbol, a, b = instruction
            return f"{self.operand(a)} {symbol}= {self.operand(b)}"
        if kind == "guard":
            _, condition, expected, message = instruction
            number = self.namespace.guard(message)
            test = f"not {self.operand(condition)}" if expected else self.operand(condition)
            return f"if {test}: _guard_failed({number})"
        return self.expression(index)  # a call that writes through out= or into an argument


def _operand_refs(x: Any, found: list[int]) -> None:
    kind = type(x)
    if kind is Sym:
        found.append(x.index)
    elif kind in (tuple, list):
        for item in x:
            _operand_refs(item, found)
    elif kind is dict:
        for item in x.values():
            _operand_refs(item, found)
    elif kind is slice:
        _operand_refs(x.start, found)
        _operand_refs(x.stop, found)
        _operand_refs(x.step, found)


def references(instruction: tuple[Any, ...]) -> list[int]:
    """The instructions whose results ``instruction`` uses."""
    found: list[int] = []
    for part in instruction[1:]:
        _operand_refs(part, found)
    return found


def _write_targets(instruction: tuple[Any, ...]) -> list[int]:
    """Variables an action writes into: they must keep a name of their own."""
    kind = instruction[0]
    if kind in ("setitem", "inplace"):
        found: list[int] = []
        _operand_refs(instruction[1] if kind == "setitem" else instruction[2], found)
        return found
    return []


class Function:
    """One generated function: a name, its parameters, the instructions it runs, its result.

    ``members`` are the instructions it may run (those nobody needs are left out),
    ``given`` says how a result made outside the function reaches it (``S[3]``), and
    ``results`` are what it returns, in order.
    """

    def __init__(
        self,
        name: str,
        parameters: str,
        members: Iterable[int],
        given: dict[int, str],
        results: Sequence[int | None],
        note: Callable[[int], str] | None = None,
        returns: Callable[[list[str]], str] | None = None,
        names: dict[int, str] | None = None,
        unpack: str = "",
    ) -> None:
        self.name = name
        self.parameters = parameters
        self.members = sorted(members)
        self.given = given
        self.results = list(results)
        self.note = note
        self.returns = returns or (lambda parts: "return " + tuple_source(parts))
        #: Names for results, from the nodes' labels (``w1``, ``grad_w1``); others are ``v{i}``.
        self.names = names or {}
        #: For a small function, the parameter whose items ``given`` are: they are unpacked
        #: into named variables at the top (``x1, w1, o = S``) instead of read as ``S[k]``.
        self.unpack = unpack

    def externals(self, program: Program) -> list[int]:
        """The results made outside the function that it needs, in the order first needed."""
        refs_of = program.refs
        members = set(self.members)
        needed = {r for r in self.results if r is not None}
        needed |= {i for i in self.members if i in program.actions}
        outside: dict[int, None] = {}
        for r in self.results:
            if r is not None and r not in members:
                outside[r] = None
        for i in reversed(self.members):
            if i not in needed:
                continue
            for ref in refs_of[i]:
                if ref in members:
                    needed.add(ref)
                else:
                    outside[ref] = None
        return sorted(outside)

    def source(self, program: Program, namespace: Namespace) -> str:
        """Python source of the function (and of its chunks, when it is long)."""
        instructions = program.instructions
        refs_of = program.refs
        actions = program.actions
        values = program.values
        size = len(instructions)
        member = bytearray(size)
        for i in self.members:
            member[i] = 1

        # Which instructions are needed (the results, every action, and what they use),
        # how often each result is used, and which must keep a name.
        needed = bytearray(size)
        uses = [0] * size
        pinned = bytearray(size)
        for r in self.results:
            if r is not None:
                uses[r] += 1
                pinned[r] = 1
                if member[r]:
                    needed[r] = 1
        for i in self.members:
            if i in actions:
                needed[i] = 1
        for i in reversed(self.members):
            if not needed[i]:
                continue
            for ref in refs_of[i]:
                uses[ref] += 1
                if member[ref]:
                    needed[ref] = 1
            for target in _write_targets(instructions[i]):
                pinned[target] = 1
        order = [i for i in self.members if needed[i]]
        # A small step is written one op per line, for a reader; a large one for speed.
        readable = len(order) <= READABLE
        notes = program.notes

        # Which results are written inside the one expression that uses them.
        action_positions = [i for i in order if i in actions]
        user = [-1] * size
        for i in order:
            for ref in refs_of[i]:
                user[ref] = i
        inlined = bytearray(size)
        depth = [0] * size
        for i in order:
            deepest = 0
            for r in refs_of[i]:
                if inlined[r] and depth[r] > deepest:
                    deepest = depth[r]
            depth[i] = deepest + 1
            if (
                pinned[i]
                or uses[i] != 1
                or i in actions
                or deepest + 1 > MAX_DEPTH
                or instructions[i][0] not in _PURE
                or (readable and i in notes and notes[i][0] == "forward")
                or (readable and i in self.names)  # a named input keeps its name
            ):
                continue
            j = user[i]
            if j < 0 or not needed[j]:
                continue
            if isinstance(values[i], np.ndarray):
                k = bisect.bisect_right(action_positions, i)
                if k < len(action_positions) and action_positions[k] < j:
                    continue  # a write comes between: the array must be made where it was
            inlined[i] = 1

        renderer = _Renderer(program, namespace)
        spelling = renderer.spelling
        names = self.names if readable else {}  # a large function keeps v{i}, for its chunks
        lines: list[tuple[str, int]] = []  # (text, instruction)
        if readable and self.unpack and self.given:
            unpacked = [names.get(i, f"v{i}") for i in self.given]
            lines.append(
                (f"{', '.join(unpacked)}{',' if len(unpacked) == 1 else ''} = {self.unpack}", -1)
            )
            for index, name in zip(self.given, unpacked):
                spelling[index] = name
        else:
            for index, spelled in self.given.items():
                spelling[index] = spelled
        noted_groups: set[int] = set()
        note = self.note
        for i in order:
            if inlined[i]:
                expression = renderer.expression(i)
                spelling[i] = expression if instructions[i][0] == "input" else f"({expression})"
                continue
            if i in actions:
                text = renderer.action(i)
            else:
                name = names.get(i) or f"v{i}"
                spelling[i] = name
                text = f"{name} = {renderer.expression(i)}"
            if note is not None:
                group = program.group_of(i)
                if group is not None and group not in noted_groups:
                    noted_groups.add(group)
                    comment = note(group)
                    if comment:
                        text += f"  # {comment}"
            lines.append((text, i))

        result_text = self.returns([spelling[r] if r is not None else "None" for r in self.results])
        if len(lines) <= CHUNK:
            return _function(
                self.name, self.parameters, [text for text, _ in lines] + [result_text]
            )
        return self._chunked(lines, result_text, program, inlined)

    def _chunked(
        self,
        lines: list[tuple[str, int]],
        result_text: str,
        program: Program,
        inlined: bytearray,
    ) -> str:
        """The function as chunks that hand each other what crosses them in a dict ``V``."""
        refs_of = program.refs
        given = self.given
        named: dict[int, tuple[int, ...]] = {}  # the named variables an inlined result reads

        def reads(i: int) -> list[int]:
            found: list[int] = []
            for r in refs_of[i]:
                if r in given:
                    continue
                if inlined[r]:
                    inner = named.get(r)
                    if inner is None:
                        inner = named[r] = tuple(reads(r))
                    found.extend(inner)
                else:
                    found.append(r)
            return found

        chunks = [lines[k : k + CHUNK] for k in range(0, len(lines), CHUNK)]
        home: dict[int, int] = {}
        for number, chunk in enumerate(chunks):
            for _, i in chunk:
                if i not in program.actions:
                    home[i] = number
        crossing: list[set[int]] = [set() for _ in chunks]  # what each chunk must store
        loads: list[set[int]] = [set() for _ in chunks]
        for number, chunk in enumerate(chunks):
            for _, i in chunk:
                for r in reads(i):
                    where = home.get(r, number)
                    if where != number:
                        crossing[where].add(r)
                        loads[number].add(r)
        final_loads = set()
        for result in self.results:
            if result is None or result in given:
                continue
            for named_read in reads_of_result(result, inlined, reads):
                if named_read in home:
                    crossing[home[named_read]].add(named_read)
                    final_loads.add(named_read)
        parts = []
        calls = []
        for number, chunk in enumerate(chunks):
            body = [f"v{r} = V[{r}]" for r in sorted(loads[number])]
            body += [text for text, _ in chunk]
            body += [f"V[{r}] = v{r}" for r in sorted(crossing[number])]
            name = f"{self.name}_chunk{number}"
            parts.append(_function(name, f"V, {self.parameters}", body))
            calls.append(f"{name}(V, {_call_arguments(self.parameters)})")
        main = ["V = {}", *calls, *[f"v{r} = V[{r}]" for r in sorted(final_loads)], result_text]
        parts.append(_function(self.name, self.parameters, main))
        return "\n\n".join(parts)


def reads_of_result(r: int, inlined: bytearray, reads: Callable[[int], list[int]]) -> list[int]:
    """The named variables a returned result reads: itself, or what its inlined expression reads."""
    return reads(r) if inlined[r] else [r]


def tuple_source(parts: Sequence[str]) -> str:
    """A tuple display of ``parts``: ``(a, b)``, ``(a,)`` or ``()``."""
    if len(parts) == 1:
        return f"({parts[0]},)"
    return "(" + ", ".join(parts) + ")"


def _call_arguments(parameters: str) -> str:
    return ", ".join(p.split("=")[0].strip() for p in parameters.split(",") if p.strip())


def _function(name: str, parameters: str, body: list[str]) -> str:
    return f"def {name}({parameters}):\n" + "\n".join(f"    {line}" for line in body)


def guard_failed(messages: list[str]) -> Callable[[int], None]:
    """The function generated guards call: the error names the check that failed."""

    def fail(number: int) -> None:
        raise GuardError(
            f"compiled step: the data goes the other way at a check in the library's code "
            f"({messages[number]}) than when the step was traced. Where the eager op raises "
            "an error for such data this is that error; otherwise call the function itself "
            "(.function) for such data"
        )

    return fail
