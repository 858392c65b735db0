"""``Module``: the base of every model, which finds its parameters by itself.

A module's parameters are the leaf nodes that require grad among its attributes, found
in the order the attributes were assigned, inside sub-modules and inside lists and
tuples of either, each with a dotted name (``layers.0.weight``). Nothing has to be
registered by hand, and a parameter shared by two sub-modules is listed once.

A model saves to ``.npz``: one array per parameter under its dotted name, and the
architecture as JSON for the library's own modules, so that ``nn.load`` rebuilds the
model with no code from the user. Files are written atomically and read without pickle.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from autograd import Node, Value

from . import checks
from .modelfile import (
    FORMAT,
    FORMAT_VERSION,
    MAX_MODEL_BYTES,
    ModelFile,
    ModelFileError,
    write_model_file,
)

#: The library's own module classes by their type name: the ones ``nn.load`` can rebuild.
#: The name is the class's ("Linear", "MLP"; "scalar.MLP" for nn.scalar's), not its
#: module path, so that moving a class to another file breaks no saved model.
REGISTRY: dict[str, type[Module]] = {}

#: The module paths that files saved before type names were stable (before 2026-11-23)
#: use, and the type names they stand for: such files still load.
_LEGACY_TENSOR_MODULES = (
    "Linear ReLU Tanh Sigmoid LeakyReLU Softmax LogSoftmax Flatten Dropout Sequential MLP"
)
LEGACY_TYPE_NAMES: dict[str, str] = {
    **{f"nn.layers.{name}": name for name in _LEGACY_TENSOR_MODULES.split()},
    **{f"nn.scalar.{name}": f"scalar.{name}" for name in ("Neuron", "Layer", "MLP")},
}


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
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the module's output; every module defines it."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Node]]:
        """(dotted name, parameter) pairs in a stable order: attribute order, depth first.

        A parameter is a leaf node held by the module, trainable or frozen
        (``requires_grad=False``): both are saved and loaded, as in PyTorch; optimisers
        leave the frozen ones alone. One shared by two sub-modules is listed once.
        """
        seen: set[int] = set()
        for name, value in _walk(self, prefix, {id(self)}):
            if isinstance(value, Node) and value.is_leaf and id(value) not in seen:
                seen.add(id(value))
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
        for name, value in _walk(self, prefix, {id(self)}):
            if isinstance(value, Module):
                yield name, value

    def num_parameters(self) -> int:
        """How many numbers the parameters hold in all."""
        return sum(int(getattr(p.data, "size", 1)) for p in self.parameters())

    def zero_grad(self) -> None:
        """Forget every parameter's accumulated gradient."""
        for parameter in self.parameters():
            parameter.zero_grad()

    def train(self, mode: bool = True) -> Module:
        """Put this module and every module inside it in training mode (or evaluation mode)."""
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
        differs, or values that are not real numbers, always are. The error names each
        entry at fault.
        """
        parameters = dict(self.named_parameters())
        problems = _mismatches(
            parameters,
            {name: (np.shape(value), np.asarray(value).dtype) for name, value in state.items()},
            strict,
        )
        if problems:
            raise ModelFileError("load_state_dict: " + "; ".join(problems))
        for name, p in parameters.items():
            if name in state:
                _assign(p, state[name])

    def save(self, path: str | os.PathLike[str], metadata: Mapping[str, Any] | None = None) -> None:
        """Write the weights (and the architecture, for the library's modules) to ``.npz``.

        The file is written atomically: a reader sees the old file or the new, never half.
        ``metadata`` (JSON-serialisable) is stored beside them.
        """
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "architecture": self.architecture(),
            "metadata": dict(metadata or {}),
        }
        write_model_file(path, header, self.state_dict())

    def load(self, path: str | os.PathLike[str]) -> Module:
        """Load weights saved by ``save`` into this model (strictly); returns the model.

        The file's arrays are checked against this model's parameters (names, shapes,
        dtypes) before any is decompressed; on any problem the model is left unchanged.
        """
        with ModelFile(path) as file:
            _load_into(self, file)
        return self

    @classmethod
    def parameter_count(cls, config: Mapping[str, Any]) -> int:
        """How many numbers a module built from ``config`` holds, without building it.

        ``nn.load`` asks before it builds a file's model, so that a file cannot make it
        allocate more than it allows. Modules with parameters say; the default is none.
        """
        return 0

    #: Memory one parameter takes (a float32 in an array; a Value object is far larger).
    bytes_per_parameter: ClassVar[int] = 4


def _mismatches(
    parameters: Mapping[str, Node],
    stored: Mapping[str, tuple[tuple[int, ...], np.dtype[Any]]],
    strict: bool,
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
        elif dtype.kind not in "fiu" or dtype.hasobject:
            problems.append(f"{name} holds {dtype} values, not real numbers")
    return problems


def _assign(p: Node, value: Any) -> None:
    if isinstance(p, Value):
        p.data = float(np.asarray(value))
    else:
        p.data = np.array(value, dtype=p.data.dtype)


def _load_into(model: Module, file: ModelFile) -> None:
    """Check ``file``'s arrays against ``model``'s parameters, then copy them in."""
    parameters = dict(model.named_parameters())
    stored = {name: (entry.shape, entry.dtype) for name, entry in file.entries.items()}
    problems = _mismatches(parameters, stored, strict=True)
    if problems:
        raise file.error("it does not fit the model: " + "; ".join(problems))
    arrays = {name: file.read(entry) for name, entry in file.entries.items()}
    for name, p in parameters.items():
        _assign(p, arrays[name])


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
    with ModelFile(path) as file:
        file.check_size(max_bytes)
        return file.header, {name: file.read(entry) for name, entry in file.entries.items()}


def architecture_kind(spec: Any) -> tuple[type[Module], dict[str, Any]]:
    """The module class and config an architecture entry names, checked."""
    if not isinstance(spec, Mapping) or "type" not in spec:
        raise ModelFileError(f"an architecture entry is malformed: {_short(spec)}")
    name = spec["type"]
    kind = REGISTRY.get(LEGACY_TYPE_NAMES.get(name, name)) if isinstance(name, str) else None
    if kind is None:
        raise ModelFileError(f"unknown module type {_short(spec['type'])}")
    config = spec.get("config", {})
    if not isinstance(config, Mapping) or not all(isinstance(key, str) for key in config):
        raise ModelFileError(f"the config of {spec['type']} is not a JSON object: {_short(config)}")
    return kind, dict(config)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def architecture_bytes(spec: Mapping[str, Any]) -> int:
    """The memory the parameters of the module that ``spec`` describes would take."""
    kind, config = architecture_kind(spec)
    try:
        return int(kind.parameter_count(config)) * kind.bytes_per_parameter
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, OverflowError, RecursionError) as error:
        raise ModelFileError(f"the config of {spec['type']} is invalid ({error})") from None


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

    The model the file describes is sized up before it is built: one that would take
    more than ``max_bytes`` of memory is refused.
    """
    checks.path(path, "load")
    checks.positive_int(max_bytes, "load", "max_bytes")
    with ModelFile(path) as file:
        architecture = file.header.get("architecture")
        if architecture is None:
            raise file.error(
                "it holds weights only (the model was not made of the library's own modules); "
                "build the model in code and call model.load(path)"
            )
        try:
            needed = architecture_bytes(architecture)
            if needed > max_bytes:
                raise ModelFileError(
                    f"its model would take {needed} bytes, more than the {max_bytes} allowed "
                    "(pass max_bytes= to load a larger model)"
                )
            model = build(architecture)
        except ModelFileError as error:
            raise file.error(str(error)) from None
        _load_into(model, file)
    return model


def load_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata that ``save`` stored with a model."""
    checks.path(path, "load_metadata")
    with ModelFile(path) as file:
        return dict(file.header.get("metadata") or {})


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _items(module: Module, prefix: str) -> Iterator[tuple[str, Any]]:
    """Every public attribute, with what lists, tuples and dicts hold as ``name.key``."""
    for name, value in vars(module).items():
        if not name.startswith("_"):
            yield from _members(value, _join(prefix, name))


def _members(value: Any, name: str, depth: int = 0) -> Iterator[tuple[str, Any]]:
    """``value`` itself, or the elements of a list, tuple or dict, nested ones included."""
    if depth > 32:  # containers nested this deep are not a model's
        return
    if isinstance(value, (list, tuple)):
        for index, element in enumerate(value):
            yield from _members(element, f"{name}.{index}", depth + 1)
    elif isinstance(value, dict):
        for key, element in value.items():
            yield from _members(element, f"{name}.{key}", depth + 1)
    else:
        yield name, value


def _walk(module: Module, prefix: str, seen: set[int]) -> Iterator[tuple[str, Any]]:
    """Every member of ``module`` in attribute order, depth first: a sub-module, then
    what it holds. A module already in ``seen`` is not entered again (shared, or a cycle)."""
    for name, value in _items(module, prefix):
        if isinstance(value, Module):
            if id(value) in seen:
                continue
            seen.add(id(value))
            yield name, value
            yield from _walk(value, name, seen)
        else:
            yield name, value


def _children(module: Module, prefix: str) -> Iterator[tuple[str, Module]]:
    for name, value in _items(module, prefix):
        if isinstance(value, Module):
            yield name, value
