"""``Module``: the base of every model, which finds its parameters by itself.

A module's parameters are the leaf nodes that require grad among its attributes, found
in the order the attributes were assigned, inside sub-modules and inside lists and
tuples of either, each with a dotted name (``layers.0.w.1``). Nothing has to be
registered by hand, and a parameter shared by two sub-modules is listed once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from autograd import Node


class Module:
    """A piece of a model: call it on inputs, ask it for ``parameters()``."""

    training: bool = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the module's output; every module defines it."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Node]]:
        """(dotted name, parameter) pairs in a stable order: attribute order, depth first."""
        seen: set[int] = set()
        for name, parameter in _walk_parameters(self, prefix):
            if id(parameter) not in seen:
                seen.add(id(parameter))
                yield name, parameter

    def parameters(self) -> list[Node]:
        """Every parameter, in the order of ``named_parameters``."""
        return [parameter for _, parameter in self.named_parameters()]

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) pairs for this module ("") and every module inside it."""
        yield prefix, self
        for name, child in _children(self, prefix):
            yield from child.named_modules(name)

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


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _items(module: Module, prefix: str) -> Iterator[tuple[str, Any]]:
    """Every attribute, with the elements of lists and tuples as ``name.index``."""
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        if isinstance(value, (list, tuple)):
            for index, element in enumerate(value):
                yield _join(prefix, f"{name}.{index}"), element
        else:
            yield _join(prefix, name), value


def _children(module: Module, prefix: str) -> Iterator[tuple[str, Module]]:
    for name, value in _items(module, prefix):
        if isinstance(value, Module):
            yield name, value


def _walk_parameters(module: Module, prefix: str) -> Iterator[tuple[str, Node]]:
    for name, value in _items(module, prefix):
        if isinstance(value, Module):
            yield from _walk_parameters(value, name)
        elif isinstance(value, Node) and value.requires_grad and value.is_leaf:
            yield name, value
