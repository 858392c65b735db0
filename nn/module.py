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

import io
import json
import os
import zipfile
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from autograd import Node, Value
from autograd.atomic import write_atomically

#: The library's own module classes by name: the ones ``nn.load`` can rebuild.
REGISTRY: dict[str, type[Module]] = {}
FORMAT = "tracegrad-model"
FORMAT_VERSION = 1
_HEADER = "__tracegrad__"


class ModelFileError(ValueError):
    """A model file that cannot be read, or does not fit the model it is loaded into."""


class Module:
    """A piece of a model: call it on inputs, ask it for ``parameters()``."""

    training: bool = True
    #: Set by the library's own modules: nn.load may rebuild them from their config().
    _rebuildable: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__.split(".")[0] == "nn":
            REGISTRY[_type_name(cls)] = cls
            cls._rebuildable = True

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
        """{"type": class name, "config": ...} for the library's modules, else None."""
        if not self._rebuildable:
            return None
        try:
            return {"type": _type_name(type(self)), "config": self.config()}
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
        differs is always one. The error names each entry at fault.
        """
        parameters = dict(self.named_parameters())
        problems = []
        if strict:
            problems += [f"missing: {name}" for name in parameters if name not in state]
            problems += [f"unexpected: {name}" for name in state if name not in parameters]
        for name, p in parameters.items():
            if name in state and np.shape(state[name]) != np.shape(p.data):
                problems.append(
                    f"shape of {name}: the file has {np.shape(state[name])}, "
                    f"the model {np.shape(p.data)}"
                )
        if problems:
            raise ModelFileError("load_state_dict: " + "; ".join(problems))
        for name, p in parameters.items():
            if name in state:
                if isinstance(p, Value):
                    p.data = float(np.asarray(state[name]))
                else:
                    p.data = np.array(state[name], dtype=p.data.dtype)

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
        arrays = self.state_dict()
        arrays[_HEADER] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
        write_atomically(path, buffer.getvalue())

    def load(self, path: str | os.PathLike[str]) -> Module:
        """Load weights saved by ``save`` into this model (strictly); returns the model."""
        _, state = read_model_file(path)
        self.load_state_dict(state)
        return self


def _type_name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def read_model_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and the arrays of a model file, read without pickle and checked."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise ModelFileError(
            f"load: {os.fspath(path)} is not a readable model file ({error})"
        ) from None
    if _HEADER not in arrays:
        raise ModelFileError(f"load: {os.fspath(path)} has no tracegrad header")
    try:
        header = json.loads(arrays.pop(_HEADER).tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(
            f"load: the header of {os.fspath(path)} is corrupt ({error})"
        ) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"load: {os.fspath(path)} is not a tracegrad model file")
    if header.get("version") != FORMAT_VERSION:
        raise ModelFileError(
            f"load: {os.fspath(path)} has format version {header.get('version')}; "
            f"this tracegrad reads version {FORMAT_VERSION}"
        )
    return header, arrays


def build(spec: Mapping[str, Any]) -> Module:
    """The module that an ``architecture()`` describes, with fresh weights."""
    if not isinstance(spec, Mapping) or "type" not in spec:
        raise ModelFileError(f"load: an architecture entry is malformed: {spec!r}")
    kind = REGISTRY.get(spec["type"])
    if kind is None:
        raise ModelFileError(f"load: unknown module type {spec['type']!r}")
    return kind.from_config(spec.get("config", {}))


def load(path: str | os.PathLike[str]) -> Module:
    """Rebuild a saved model of the library's own modules, weights and all, from ``path``."""
    header, state = read_model_file(path)
    if header.get("architecture") is None:
        raise ModelFileError(
            f"load: {os.fspath(path)} holds weights only (the model was not made of the "
            "library's own modules); build the model in code and call model.load(path)"
        )
    model = build(header["architecture"])
    model.load_state_dict(state)
    return model


def load_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata that ``save`` stored with a model."""
    header, _ = read_model_file(path)
    return dict(header.get("metadata") or {})


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
