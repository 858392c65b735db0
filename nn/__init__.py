"""nn: neural networks on top of autograd (modules, layers, losses, optimisers, data)."""

from . import datasets, scalar
from .module import Module

__all__ = ["Module", "datasets", "scalar"]
