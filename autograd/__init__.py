"""autograd (tracegrad's): a small reverse-mode automatic differentiation engine.

``Value`` (a scalar) and ``Tensor`` (a numpy array) record the operations applied to them
as a compute graph; one engine back-propagates through either kind.
"""

#: Marks this package as tracegrad's: HIPS autograd (``pip install autograd``) has the same
#: import name, and ``nn`` checks for this mark to say so, instead of failing obscurely.
__tracegrad__ = True

from .compiler import CompileError, compile
from .engine import backward, grad, topological_order
from .functional import concatenate, cross_entropy, linear, stack, where
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .mode import detect_anomaly, enable_grad, is_anomaly_enabled, is_grad_enabled, no_grad
from .node import Node
from .own_op import record_op, rule
from .rules import Rule
from .tensor import Tensor, matmul, maximum, minimum
from .trace import GuardError, TracingError, fresh, is_traced
from .value import Value
from .versions import DataChangedError
from .viz import GraphTooLargeError, GraphvizNotFoundError, draw_graph

__all__ = [
    "CompileError",
    "DataChangedError",
    "GradcheckError",
    "GraphTooLargeError",
    "GraphvizNotFoundError",
    "GuardError",
    "Node",
    "Rule",
    "Tensor",
    "TracingError",
    "Value",
    "backward",
    "compile",
    "concatenate",
    "cross_entropy",
    "detect_anomaly",
    "draw_graph",
    "enable_grad",
    "fresh",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "is_traced",
    "linear",
    "matmul",
    "maximum",
    "minimum",
    "no_grad",
    "record_op",
    "rule",
    "stack",
    "topological_order",
    "where",
]
