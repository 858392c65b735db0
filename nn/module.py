"""``Module``: the base of every model, which finds its parameters by itself.

A module's state is found among its attributes, in the order they were assigned,
inside sub-modules and inside lists, tuples and dicts of either, each with a dotted name
(``layers.0.weight``). Nothing has to be registered by hand:

- a leaf node that requires grad is a **parameter**, whatever its attribute's name
  (``_scale`` too): optimisers train it and files keep it;
- a leaf node that does not (a frozen parameter, an integer or boolean buffer) is kept
  too when its attribute's name is public; under a private name (``_cache``) it is the
  module's own business, neither trained nor saved;
- one shared by two sub-modules (tied weights) is listed once, under the first name that
  reaches it, and files record the second name as tied to the first;
- two members whose dotted names come out the same (a dict's keys ``1`` and ``"1"``)
  are an error, never a weight silently dropped.

One rule guards what an assignment may drop (``Module.__setattr__``): state may be
replaced only by state of the same standing, or removed with ``None``. Assigning over a
parameter anything but a parameter or a structure of them (a Tensor computed by an op,
one that does not require grad, an array, a number, a list of numbers), or over a
buffer anything but a leaf, is a ``TypeError``: it would silently stop the optimiser
training it and drop it from the state. Write into its data instead, or assign a new
leaf (or ``None``), as in PyTorch. And a module or a parameter held where the search
does not look (in a set, a deque, an object of another class) is refused when assigned.

A model saves to ``.npz``: one array per parameter under its dotted name, and the
architecture as JSON for the library's own modules, so that ``nn.load`` rebuilds the
model with no code from the user. Files are written atomically and read without pickle.
"""

from __future__ import annotations

import collections
import gc
import itertools
import os
import types
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from autograd import Node, Value, depends_on
from autograd.trace import tracing
from tracegrad.words import counted

from . import checks
from .init import unfilled
from .modelfile import (
    ARRAY_KINDS,
    FORMAT,
    FORMAT_VERSION,
    LEGACY_TYPE_NAMES,
    MAX_MODEL_BYTES,
    MODULE_BYTES,
    ModelFile,
    ModelFileError,
    check_architecture,
    write_model_file,
)
from .schema import SchemaError, shown

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "LEGACY_TYPE_NAMES",
    "MAX_MODEL_BYTES",
    "REGISTRY",
    "ModelFileError",
    "Module",
    "architecture_bytes",
    "architecture_kind",
    "build",
    "load",
    "load_metadata",
    "read_model_file",
]

#: The library's own module classes by their type name: the ones ``nn.load`` can rebuild
#: (those that ``modelfile.CONFIGS`` declares a config for). The name is the class's
#: ("Linear", "MLP"; "scalar.MLP" for nn.scalar's), not its module path, so that moving
#: a class to another file breaks no saved model.
REGISTRY: dict[str, type[Module]] = {}


def _is_parameter(value: Any) -> bool:
    return isinstance(value, Node) and value.is_leaf and value.requires_grad


def _standing(value: Any, private: bool) -> int:
    """What ``state_dict()`` keeps of ``value`` held under a public or a ``private`` name:
    2 if it is or holds (in lists, tuples, dicts) a parameter or a module, what is
    trained or a structure of layers; 1 if it holds other leaves only (frozen
    parameters, buffers), which are state under a public name; 0 if it holds none."""
    standing = 0
    for _, member, _, _ in _members(value, "", None, None):
        if isinstance(member, Module) or _is_parameter(member):
            return 2
        if isinstance(member, Node) and member.is_leaf and not private:
            standing = 1
    return standing


def _holds_parameter(value: Any) -> bool:
    """Whether ``value`` is or holds (in lists, tuples, dicts, modules) a parameter."""
    for _, member, _, _ in _members(value, "", None, None):
        if _is_parameter(member) or (isinstance(member, Module) and member.parameters()):
            return True
    return False


def _what(value: Any, wanted: int) -> str:
    """How an assigned value is described in the error that refuses it; ``wanted``, the
    standing it lacks, says what a container of it should have held."""
    if isinstance(value, Node):
        kind = type(value).__name__
        if not value.is_leaf:
            return f"a {kind} computed by an op ({value.op or 'an op'}), not a leaf"
        return f"a {kind} that does not require grad"
    if isinstance(value, (list, tuple, dict)):
        held = "module or parameter" if wanted == 2 else "leaf"
        return f"{checks.describe(value)} (holding no {held})"
    return checks.describe(value)


def _dropped(owner: str, old: Any, value: Any, standing: int) -> TypeError:
    """The error for an assignment of ``value`` over ``owner`` (``Class.attribute``), whose
    ``old`` value has the ``standing`` that ``value`` lacks."""
    name = owner.split(".", 1)[1]
    what = _what(value, standing)
    if _is_parameter(old):
        scalar = isinstance(old, Value)
        write = " = number" if scalar else "[...] = new_values"
        fresh = "Value(number)" if scalar else "Tensor(array, requires_grad=True)"
        return TypeError(
            f"{owner} is a parameter; assigning {what} to it would replace it with a "
            "constant that optimisers skip and state_dict() drops. To change its values, "
            f"write into it: `with no_grad(): module.{name}.data{write}` (or "
            f"`module.{name} -= step` under no_grad); to replace it, assign a new leaf that "
            f"requires grad ({fresh}), or None to remove it"
        )
    if isinstance(old, Node):
        return TypeError(
            f"{owner} is state ({_what(old, 1)}, which state_dict() keeps); assigning "
            f"{what} to it would drop it from the state without a word. To change its "
            f"values, write into it: `module.{name}.data[...] = new_values`; to replace it, "
            "assign a leaf (Tensor(array), or .detach() of a Tensor), or None to remove it"
        )
    kind = "a module or a parameter" if standing == 2 else "a leaf"
    return TypeError(
        f"{owner} holds {checks.describe(old)}, part of the module's state (what "
        f"state_dict() keeps and optimisers train); assigning {what} to it would drop that "
        f"without a word: assign {kind} (or a list, a tuple or a dict of them) to replace "
        "it, or None first to remove it"
    )


#: Objects that hold no module and no parameter: not searched (``_hidden``). Functions
#: and methods among them: what a closure or a bound method reaches is code, not state.
_OPAQUE = (
    str, bytes, bytearray, int, float, complex, type(None), type, range, slice, memoryview,
    types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
    types.CodeType, np.generic, np.dtype, np.ufunc, np.random.Generator,
    np.random.BitGenerator,
)  # fmt: skip
#: How far, and through how many objects, ``_hidden`` looks inside an object the walk
#: does not enter: enough for a SimpleNamespace or a dataclass of parameters (the object,
#: its values) or a set of them, nested a few deep; bounded for any object.
_SEARCH_DEPTH = 4
_SEARCH_OBJECTS = 10_000


def _hidden(value: Any) -> Iterator[tuple[str, Any, Any]]:
    """(dotted suffix, holder, found) for each module or parameter that ``value`` holds
    where the walk does not look: inside what it holds that is no module, node, list,
    tuple or dict (a set, a deque, an object array, an object of another class), or in
    containers nested too deep. What those refer to (``gc.get_referents``; the elements
    of an object array) is searched breadth first, through ``_SEARCH_DEPTH`` objects
    (lists, tuples and dicts inside them do not count) and ``_SEARCH_OBJECTS`` in all."""
    for suffix, holder, _, _ in _members(value, "", None, None):
        if isinstance(holder, (Module, Node, *_OPAQUE)):
            continue
        seen = {id(holder)}
        pending = collections.deque([(inner, 1) for inner in _referents(holder)])
        while pending and len(seen) <= _SEARCH_OBJECTS:
            item, depth = pending.popleft()
            if isinstance(item, _OPAQUE) or id(item) in seen or depth > _SEARCH_DEPTH:
                continue
            seen.add(id(item))
            if isinstance(item, Module) or _is_parameter(item):
                yield suffix, holder, item
            elif not isinstance(item, Node):  # a node's referents are its graph
                deeper = depth if isinstance(item, (list, tuple, dict)) else depth + 1
                pending.extend((inner, deeper) for inner in _referents(item))


def _referents(item: Any) -> list[Any]:
    """What ``item`` refers to: an object array's elements, any other object's referents
    (an array of numbers refers to none that matters)."""
    if isinstance(item, np.ndarray):
        return list(item.flat) if item.dtype.hasobject else []
    return gc.get_referents(item)


def _holder(value: Any) -> str:
    """What holds state the walk does not search, in words."""
    if isinstance(value, (list, tuple, dict)):
        return f"{checks.describe(value)} nested more than 32 containers deep"
    if isinstance(value, np.ndarray):
        return "an array of objects"
    kind = type(value).__name__
    return f"{'an' if kind[0] in 'AEIOUaeiou' else 'a'} {kind}"


def _check_held(module: Module, name: str, value: Any) -> None:
    """Refuse ``value`` for ``module.name`` if it holds a module or a parameter that the
    search for state would not find, so that it would be neither trained nor saved."""
    owner = f"{type(module).__name__}.{name}"
    if isinstance(value, types.GeneratorType) and not name.startswith("_"):
        raise TypeError(
            f"{owner}: a generator is no place for layers or parameters: what it yields "
            "is made only as it is iterated, where the search for a module's state cannot "
            "look, so none of it would be trained or saved; hold them in a list or a "
            "tuple (list(...))"
        )
    hidden = list(itertools.islice(_hidden(value), 1))
    if not hidden:
        return
    after = Module.__new__(Module)  # the module as it will be: is what is hidden there too?
    vars(after).update(vars(module))
    vars(after)[name] = value
    known = {id(module)} | {id(member) for _, member, _ in _walk(after, "")}
    for suffix, holder, found in _hidden(value):
        if id(found) in known:
            continue
        what = f"the module {type(found).__name__}"
        if not isinstance(found, Module):
            what = f"a parameter ({checks.describe(found)})"
        raise TypeError(
            f"{owner}{suffix}: {_holder(holder)} holds {what}, where the search for a "
            "module's state does not look: it would be neither trained nor saved. Hold "
            "modules and parameters in attributes, or in lists, tuples and dicts (which "
            "serve as PyTorch's nn.ModuleList and nn.ParameterDict)"
        )


def _depends_on_state(module: Module) -> None:
    """While a step is compiled, what it reads of ``module`` in Python (its mode, its
    parameters and sub-modules, its settings) must stay so: ``autograd.depends_on``."""
    if tracing():
        depends_on(module, "training")
        depends_on(module)


class Module:
    """A piece of a model: call it on inputs, ask it for ``parameters()``."""

    training: bool = True
    #: The name saved files give this class (see ``REGISTRY``; "" for a user's module).
    type_name: ClassVar[str] = ""
    #: What the library's modules of one family put before their class name.
    _type_prefix: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.type_name = ""
        if cls.__module__.split(".")[0] == "nn" and not cls.__name__.startswith("_"):
            name = cls._type_prefix + cls.__qualname__
            known = REGISTRY.get(name)
            if known is not None and known.__module__ != cls.__module__:
                raise TypeError(f"two of the library's modules are named {name!r}")
            REGISTRY[name] = cls
            cls.type_name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        _depends_on_state(self)
        return self.forward(*args, **kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        """Set an attribute; refuse one that would drop state or hide it.

        One rule for whatever the attribute holds: state (what ``state_dict()`` keeps)
        may be replaced only by state of the same standing, or removed with None. A
        parameter or a module, or a list, tuple or dict holding one, has the highest
        standing: what replaces it must hold a parameter or a module (a new parameter,
        or a change of structure: a layer for a layer, a list of them for a parameter).
        A leaf that does not require grad (a frozen parameter, a buffer) under a public
        name comes next: a leaf replaces it. Anything else would silently turn the
        state into a value that optimisers skip and files leave out:
        ``m.weight = m.weight * 2`` (a Tensor computed by an op), under ``no_grad``
        ``m.weight = m.weight - lr * g``, a frozen weight or an integer buffer replaced
        by an array, a number or a string, a parameter by a list of numbers. PyTorch
        refuses these too. And a module or a parameter held in what the search for
        state does not enter (a set, a deque, an object of another class; a generator,
        whose layers are made as it runs) is refused, unless the module's state holds
        it elsewhere too (an optimiser over the module's parameters).
        """
        old = self.__dict__.get(name)
        if value is not None and value is not old:
            _check_held(self, name, value)
            if old is not None:
                private = name.startswith("_")
                standing = _standing(old, private)
                if standing and _standing(value, private) < standing:
                    raise _dropped(f"{type(self).__name__}.{name}", old, value, standing)
                if _is_parameter(old) and not _holds_parameter(value):
                    owner = f"{type(self).__name__}.{name}"
                    raise TypeError(
                        f"{owner} is a parameter; {checks.describe(value)} holds none, so the "
                        "parameter would leave the state and the module's forward would find "
                        "no weight there: assign a parameter (Tensor(array, requires_grad="
                        "True)), or None to remove it, as PyTorch asks"
                    )
        object.__setattr__(self, name, value)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the module's output; every module defines it."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Node]]:
        """(dotted name, parameter) pairs in a stable order: attribute order, depth first.

        These are the module's state: every leaf that requires grad, under any name, and
        every other leaf under a public name (frozen parameters, integer and boolean
        buffers), as PyTorch's state holds its parameters and buffers. Optimisers leave
        those that do not require grad alone. One shared by two sub-modules is listed
        once; two members under one dotted name are a ValueError.
        """
        for name, value, first in _walk(self, prefix):
            if first is None and isinstance(value, Node):
                yield name, value

    def parameters(self) -> list[Node]:
        """Every parameter, in the order of ``named_parameters``."""
        return [parameter for _, parameter in self.named_parameters()]

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) pairs for this module ("") and every module inside it.

        Each module comes once, under the first name that reaches it, so a module shared
        by two others, or one that refers back to its parent, is no trouble.
        """
        yield prefix, self
        for name, value, first in _walk(self, prefix):
            if first is None and isinstance(value, Module):
                yield name, value

    def tied(self) -> dict[str, str]:
        """The second names of shared parameters and modules, each with its first name.

        ``Sequential(a, ReLU(), a)`` gives {"2": "0"}; a decoder whose weight is the
        encoder's gives {"decoder.weight": "encoder.weight"}. Files record these, so a
        tied model loads back tied.
        """
        return {name: first for name, _, first in _walk(self, "") if first is not None}

    def num_parameters(self) -> int:
        """How many numbers the parameters hold in all."""
        return sum(int(getattr(p.data, "size", 1)) for p in self.parameters())

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's accumulated gradient (``set_to_none=False``: zeros
        instead of None, PyTorch's argument)."""
        set_to_none = checks.flag(set_to_none, f"{type(self).__name__}.zero_grad", "set_to_none")
        for parameter in self.parameters():
            parameter.zero_grad(set_to_none)

    def train(self, mode: bool = True) -> Module:
        """Put this module and every module inside it in training mode (or evaluation mode)."""
        mode = checks.flag(mode, "train", "mode")  # train("False") would mean training
        for _, module in self.named_modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: the same as ``train(False)``."""
        return self.train(False)

    # -- what the module is made of ------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this module (its weights aside)."""
        raise NotImplementedError(f"{type(self).__name__} does not say how to rebuild itself")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Module:
        """A new module built from ``config()``'s output."""
        return cls(**config)

    def architecture(self) -> dict[str, Any] | None:
        """{"type": type name, "config": ...} for the library's modules, else None."""
        if not self.type_name:
            return None
        try:
            return {"type": self.type_name, "config": self.config()}
        except NotImplementedError:
            return None

    def extra_repr(self) -> str:
        """What the module's line of ``repr`` shows between the parentheses."""
        return ""

    def __repr__(self) -> str:
        return "\n".join(self._repr_lines(set()))

    def _repr_lines(self, shown: set[int]) -> list[str]:
        shown.add(id(self))
        children = list(_children(self, ""))
        if not children:
            return [f"{type(self).__name__}({self.extra_repr()})"]
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in children:
            if id(child) in shown:  # a module met above: name it, do not recurse into it
                lines.append(f"  ({name}): <{type(child).__name__}, shown above>")
                continue
            child_lines = child._repr_lines(shown)
            lines.append(f"  ({name}): {child_lines[0]}")
            lines.extend(f"  {line}" for line in child_lines[1:])
        return [*lines, ")"]

    # -- weights ---------------------------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's data by dotted name (a 0-d array for a Value)."""
        return {name: np.array(p.data) for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy ``state``'s arrays into the parameters of the same names.

        Every entry is checked before any is copied, so a mismatch changes nothing. With
        ``strict`` (the default) a missing or unexpected name is an error; a shape that
        differs, or values that do not fit the parameter's dtype, always are (real numbers
        for a float parameter, rounded to its precision; integers that fit for an integer
        buffer, booleans for a boolean one); a finite value beyond a float parameter's
        range (1e6 for float16) is an error too, never an infinity. The error names each
        entry at fault.
        """
        if not isinstance(state, Mapping):
            hint = (
                ": write model.load_state_dict(other.state_dict())"
                if isinstance(state, Module)
                else ""
            )
            checks.wrong_type(
                "load_state_dict", "state", "a mapping of names to arrays (a dict)", state, hint
            )
        strict = checks.flag(strict, "load_state_dict", "strict")
        parameters = dict(self.named_parameters())
        arrays = {
            name: checks.as_array(value, "load_state_dict", f"state[{shown(name)}]")
            for name, value in state.items()
        }
        problems = _mismatches(
            parameters, {name: (a.shape, a.dtype) for name, a in arrays.items()}, strict
        )
        if not problems:
            cast = {
                name: _cast(arrays[name], p) for name, p in parameters.items() if name in arrays
            }
            problems = [f for f in (_overflow(n, arrays[n], cast[n]) for n in cast) if f]
        if problems:
            raise ModelFileError(
                "load_state_dict: the state does not fit the model: " + "; ".join(problems)
            )
        for name, p in parameters.items():
            if name in cast:
                _assign(p, cast[name])

    def save(self, path: str | os.PathLike[str], metadata: Mapping[str, Any] | None = None) -> None:
        """Write the weights (and the architecture, for the library's modules) to ``.npz``.

        The file is written atomically: a reader sees the old file or the new, never half.
        ``metadata`` (JSON; numpy's numbers are taken as Python's) is stored beside them;
        the keys that ``tracegrad train`` writes must hold what it writes
        (``modelfile.METADATA``). Tied parameters and modules are saved once and recorded
        as tied. A file that would not load back is refused, and nothing is written.
        """
        checks.path(path, "save")
        if metadata is not None and not isinstance(metadata, Mapping):
            checks.wrong_type("save", "metadata", "a dict of JSON values", metadata)
        if os.path.isdir(path):
            raise IsADirectoryError(
                f"save: {os.fspath(path)} is a folder; name a file (such as "
                f"{os.path.join(path, 'model.npz')})"
            )
        header: dict[str, Any] = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "architecture": self.architecture(),
            "metadata": dict(metadata or {}),
        }
        ties = self.tied()
        if ties:
            header["tied"] = ties
        write_model_file(path, header, self.state_dict())

    def load(self, path: str | os.PathLike[str]) -> Module:
        """Load weights saved by ``save`` into this model (strictly); returns the model.

        The file's arrays are checked against this model's parameters (names, shapes,
        dtypes, ties) before any is decompressed; on any problem the model is left
        unchanged.
        """
        checks.path(path, "load")
        with ModelFile(path) as file:
            _load_into(self, file, all_or_nothing=True)
        return self

    @classmethod
    def memory_bytes(cls, config: Mapping[str, Any]) -> int:
        """The memory a module built from ``config`` takes: its objects and parameters.

        ``nn.load`` asks before it builds a file's model, so that a file cannot make it
        allocate more than it allows. The default: one module object and
        ``parameter_count`` parameters of ``bytes_per_parameter`` each.
        """
        return MODULE_BYTES + cls.parameter_count(config) * cls.bytes_per_parameter

    @classmethod
    def parameter_count(cls, config: Mapping[str, Any]) -> int:
        """How many numbers a module built from ``config`` holds, without building it.

        ``nn.load`` asks before it builds a file's model, so that a file cannot make it
        allocate more than it allows. Modules with parameters say; the default is none.
        """
        return 0

    #: Memory one parameter takes (a float32 in an array; a Value object is far larger).
    bytes_per_parameter: ClassVar[int] = 4


def _dtype(p: Node) -> np.dtype[Any]:
    """The dtype of a parameter's data (float64 for a Value's float)."""
    return p.data.dtype if isinstance(p.data, np.ndarray) else np.dtype(np.float64)


def _fits(stored: np.dtype[Any], wanted: np.dtype[Any], exact: bool) -> bool:
    """Whether values of ``stored`` load into a parameter of ``wanted`` without harm.

    Exactly (``exact``): the same kind and width, as ``save`` writes them. Otherwise a
    float parameter takes any real numbers (rounded to its precision), an integer buffer
    integers that always fit it, a boolean buffer booleans.
    """
    if stored.kind not in ARRAY_KINDS or stored.itemsize > 8 or stored.fields is not None:
        return False
    if exact:
        return stored.kind == wanted.kind and stored.itemsize == wanted.itemsize
    if wanted.kind == "f":
        return stored.kind in "fiu"
    if wanted.kind in "iu":
        return stored.kind in "iu" and bool(np.can_cast(stored, wanted, "safe"))
    return stored.kind == wanted.kind


def _mismatches(
    parameters: Mapping[str, Node],
    stored: Mapping[str, tuple[tuple[int, ...], np.dtype[Any]]],
    strict: bool,
    exact: bool = False,
) -> list[str]:
    """What keeps ``stored`` (name → shape, dtype) from loading into ``parameters``."""
    problems = []
    if strict:
        problems += [f"missing: {name}" for name in parameters if name not in stored]
        problems += [f"unexpected: {name}" for name in stored if name not in parameters]
    for name, p in parameters.items():
        if name not in stored:
            continue
        shape, dtype = stored[name]
        if shape != np.shape(p.data):
            problems.append(f"shape of {name}: the file has {shape}, the model {np.shape(p.data)}")
        elif not _fits(dtype, _dtype(p), exact):
            problems.append(f"{name} holds {dtype} values; the model's are {_dtype(p)}")
    return problems


def _cast(array: np.ndarray, p: Node) -> np.ndarray:
    """``array``'s values in ``p``'s dtype; past a float dtype's range they are infinite,
    which ``_overflow`` reports."""
    with np.errstate(over="ignore"):
        return array.astype(_dtype(p), copy=False)


def _overflow(name: str, given: np.ndarray, cast: np.ndarray) -> str:
    """How the finite values of ``given`` overflowed into ``cast`` ("" if none did)."""
    lost = np.isinf(cast) & np.isfinite(given) if cast.dtype.kind == "f" else False
    if not np.any(lost):
        return ""
    peak = float(np.abs(given[lost]).max())
    return (
        f"{name} holds {given.dtype} values up to {peak:g} in size, beyond {cast.dtype}'s "
        f"largest, {float(np.finfo(cast.dtype).max):g} ({counted(int(np.sum(lost)), 'value')} "
        "would become infinite)"
    )


def _assign(p: Node, array: np.ndarray) -> None:
    """Copy ``array`` (of ``p``'s shape, and values that fit its dtype) into ``p``'s data,
    in place: the parameter keeps its memory, as PyTorch's ``load_state_dict`` does, and
    no second copy of it is made."""
    if isinstance(p, Value):
        p.data = float(array)
    else:
        p.data[...] = array  # a write, recorded like any other


def _load_into(
    model: Module, file: ModelFile, *, all_or_nothing: bool, exact: bool = False
) -> None:
    """Check ``file``'s arrays and ties against ``model``'s, then read them in.

    With ``all_or_nothing`` every array is read before any is assigned, so a corrupt
    array leaves the model as it was; without, each is assigned as it is read, so that
    at most one array is in memory beside the model.
    """
    parameters = dict(model.named_parameters())
    stored = {name: (entry.shape, entry.dtype) for name, entry in file.entries.items()}
    problems = _mismatches(parameters, stored, strict=True, exact=exact)
    problems += _tie_mismatches(model.tied(), file.header["tied"])
    if problems:
        raise file.error("it does not fit the model: " + "; ".join(problems))
    if all_or_nothing:
        arrays = {name: file.read_stored(file.entries[name]) for name in parameters}
        for name, p in parameters.items():
            _assign(p, arrays[name])
        return
    for name, p in parameters.items():
        _assign(p, file.read_stored(file.entries[name]))


def _tie_mismatches(model_ties: Mapping[str, str], file_ties: Mapping[str, str]) -> list[str]:
    problems = []
    for name in sorted(set(model_ties) | set(file_ties)):
        mine, theirs = model_ties.get(name), file_ties.get(name)
        if mine == theirs:
            continue
        in_file = f"tied to {theirs}" if theirs is not None else "not tied"
        in_model = f"tied to {mine}" if mine is not None else "not tied"
        problems.append(f"{name} is {in_file} in the file, {in_model} in the model")
    return problems


def positive_size(value: Any) -> int:
    """A size read from a config: a positive int, or ValueError (a file may say anything)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"a size must be a positive integer, got {value!r}")
    return value


def perceptron_parameter_count(config: Mapping[str, Any]) -> int:
    """The weights and biases of an MLP config's layers: Σ (n_in·n_out + n_out)."""
    sizes = config["sizes"]
    if not isinstance(sizes, list):
        raise ValueError(f"sizes must be a list, got {type(sizes).__name__}")
    widths = [positive_size(config["nin"]), *[positive_size(size) for size in sizes]]
    return sum(a * b + b for a, b in itertools.pairwise(widths))


def read_model_file(
    path: str | os.PathLike[str], max_bytes: int = MAX_MODEL_BYTES
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and the arrays of a model file, read without pickle and checked."""
    with ModelFile(path, max_bytes) as file:
        file.check_size(max_bytes)
        return file.header, {name: file.read(entry) for name, entry in file.entries.items()}


def architecture_kind(spec: Any) -> tuple[type[Module], dict[str, Any]]:
    """The module class and config an architecture entry names, checked through
    ``modelfile.ARCHITECTURE`` (so every field of the config has its type and range)."""
    try:
        checked = check_architecture(spec)
    except SchemaError as error:
        raise ModelFileError(str(error)) from None
    kind = REGISTRY.get(checked["type"])
    if kind is None:  # declared in CONFIGS but not defined: our bug, said plainly
        raise ModelFileError(f"module type {checked['type']!r} is declared but not defined")
    return kind, checked["config"]


def architecture_bytes(spec: Mapping[str, Any]) -> int:
    """The memory the module that ``spec`` describes would take once built."""
    kind, config = architecture_kind(spec)
    return int(kind.memory_bytes(config))


def build(spec: Mapping[str, Any]) -> Module:
    """The module that an ``architecture()`` describes, with fresh weights."""
    kind, config = architecture_kind(spec)
    try:
        return kind.from_config(config)
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, OverflowError, RecursionError) as error:
        raise ModelFileError(f"the config of {spec['type']} is invalid ({error})") from None


def load(path: str | os.PathLike[str], *, max_bytes: int = MAX_MODEL_BYTES) -> Module:
    """Rebuild a saved model of the library's own modules, weights and all, from ``path``.

    The load is sized up before anything is built: the file's directory and header, the
    model its architecture describes (at the dtype it names), and its largest array while
    it is read. A load that would take more than ``max_bytes`` of memory is refused. The
    arrays must have the dtypes the model is built with, as ``save`` writes them.
    """
    checks.path(path, "load")
    checks.positive_int(max_bytes, "load", "max_bytes")
    with ModelFile(path, max_bytes) as file:
        architecture = file.header["architecture"]
        if architecture is None:
            raise file.error(
                "it holds weights only (the model was not made of the library's own modules); "
                "build the model in code and call model.load(path)"
            )
        try:
            file.spend(architecture_bytes(architecture), "its model")
            file.spend(
                max((entry.nbytes for entry in file.entries.values()), default=0),
                "its largest array",
            )
            with unfilled():  # no random weights: the file's replace them
                model = build(architecture)
            _tie(model, file.header["tied"])
        except ModelFileError as error:
            if str(error).startswith("load: "):
                raise
            raise file.error(str(error)) from None
        _load_into(model, file, all_or_nothing=False, exact=True)
    return model


def load_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata that ``save`` stored with a model, checked (``modelfile.METADATA``)."""
    checks.path(path, "load_metadata")
    with ModelFile(path) as file:
        return dict(file.header["metadata"])


# -- finding a module's members ----------------------------------------------------------


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


#: A member of a module: its dotted name, its value, and where it is held (the module,
#: list or dict that holds it, and the attribute, index or key it is held under).
_Member = tuple[str, Any, Any, Any]


def _items(module: Module, prefix: str) -> Iterator[_Member]:
    """Every attribute, with what lists, tuples and dicts hold as ``name.key``.

    Under a private name (``_x``) only modules and leaves that require grad count: the
    rest is the module's own business (caches, generators, helpers).
    """
    for name, value in vars(module).items():
        for member in _members(value, _join(prefix, name), module, name):
            value = member[1]
            if not name.startswith("_") or isinstance(value, Module) or _is_parameter(value):
                yield member


def _members(value: Any, name: str, holder: Any, key: Any, depth: int = 0) -> Iterator[_Member]:
    """``value`` itself, or the elements of a list, tuple or dict, nested ones included,
    up to 32 containers deep; a container deeper is not entered (no model nests so), and
    comes itself (``_hidden`` looks into it)."""
    if isinstance(value, (list, tuple)) and depth < 32:
        for index, element in enumerate(value):
            yield from _members(element, f"{name}.{index}", value, index, depth + 1)
    elif isinstance(value, dict) and depth < 32:
        for inner, element in value.items():
            yield from _members(element, f"{name}.{inner}", value, inner, depth + 1)
    else:
        yield name, value, holder, key


def _places(module: Module, prefix: str = "") -> Iterator[tuple[_Member, str | None]]:
    """Every module and leaf inside ``module``, depth first in attribute order, with the
    name it was first met under if it was met before (shared), else None.

    A module met before is not entered again (shared, or a cycle back to a parent). Two
    members under one dotted name are a ValueError: one of them would be lost.
    """
    first: dict[int, str] = {id(module): prefix}
    named: dict[str, Any] = {}
    pending = [_items(module, prefix)]
    while pending:
        member = next(pending[-1], None)
        if member is None:
            pending.pop()
            continue
        name, value = member[0], member[1]
        if not isinstance(value, Module) and not (isinstance(value, Node) and value.is_leaf):
            continue
        if name in named:
            raise ValueError(
                f"{type(module).__name__}: two members have the dotted name {name!r} "
                f"({type(named[name]).__name__} and {type(value).__name__}); one would be "
                "lost from the state: rename one (keys 1 and '1' of a dict, or a key with "
                "a dot, render alike)"
            )
        named[name] = value
        seen = first.get(id(value))
        yield member, seen
        if seen is None:
            first[id(value)] = name
            if isinstance(value, Module):
                pending.append(_items(value, name))


def _walk(module: Module, prefix: str) -> Iterator[tuple[str, Any, str | None]]:
    """(name, member, first name or None) for every module and leaf: see ``_places``."""
    for member, seen in _places(module, prefix):
        yield member[0], member[1], seen


def _children(module: Module, prefix: str) -> Iterator[tuple[str, Module]]:
    for name, value, _, _ in _items(module, prefix):
        if isinstance(value, Module):
            yield name, value


def _same(a: Any, b: Any) -> bool:
    """Whether ``b`` may stand for ``a`` in a tie: modules of one architecture, or
    leaves of one kind, shape and dtype."""
    if isinstance(a, Module) and isinstance(b, Module):
        return type(a) is type(b) and a.architecture() == b.architecture()
    if isinstance(a, Node) and isinstance(b, Node):
        return (
            type(a) is type(b)
            and a.requires_grad == b.requires_grad
            and np.shape(a.data) == np.shape(b.data)
            and _dtype(a) == _dtype(b)
        )
    return False


def _tie(model: Module, ties: Mapping[str, str]) -> None:
    """Make each second name in ``ties`` refer to what its first name refers to.

    ``model`` was just built, so nothing in it is shared yet; a tie between members of
    different kinds, shapes or dtypes, or one that names no member, is a ModelFileError.
    """
    if not ties:
        return
    places = {member[0]: member for member, _ in _places(model)}
    for alias, name in ties.items():
        if alias not in places or name not in places:
            missing = alias if alias not in places else name
            raise ModelFileError(f"tied: the model has no member {shown(missing)}")
        _, replaced, holder, key = places[alias]
        target = places[name][1]
        if alias == name or not _same(replaced, target):
            raise ModelFileError(f"tied: {shown(alias)} cannot be tied to {shown(name)}")
        if isinstance(holder, tuple):
            raise ModelFileError(f"tied: {shown(alias)} is held in a tuple")
        if isinstance(holder, Module):
            setattr(holder, key, target)
        else:
            holder[key] = target
    problems = _tie_mismatches(model.tied(), ties)
    if problems:
        raise ModelFileError("tied: " + "; ".join(problems))
