"""A model as an ONNX file, which ONNX runtimes run anywhere (servers, phones, browsers).

    nn.to_onnx(model, "model.onnx")

The graph is built with the ``onnx`` package, op by op: ``Linear`` is MatMul (by the
transposed weight) then Add; activations are ONNX's Relu, Tanh, Sigmoid, LeakyRelu,
Softmax and LogSoftmax; ``Flatten`` is a Reshape; ``Dropout`` is exported as in evaluation
mode, an Identity. The batch dimension is dynamic (``batch``), so one file serves batch 1
and batch 1,000. Each layer's input rank is followed from ``input_shape``, so a negative
axis (``Flatten(-2)``) means in the file what it means in tracegrad.

Opset 17 on purpose: it is the first with every op above in its current form (Softmax
and LogSoftmax over one axis since 13, Reshape's ``allowzero`` since 14) and is run by
every onnxruntime since 1.12. The IR version is 8, the one that came with opset 17.

``onnx`` (and ``onnxruntime``, to run the file) are an optional extra:
``pip install 'tracegrad[onnx]'``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd import Tensor, no_grad
from tracegrad.files import write_atomically
from tracegrad.words import counted

from .. import checks, layers, scalar
from ..activations import ACTIVATIONS, LeakyReLU, of_layer
from ..module import Module
from .pytorch import scalar_as_layers

OPSET = 17
IR_VERSION = 8


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ModuleNotFoundError(
            "the onnx package is not installed: pip install 'tracegrad[onnx]'"
        ) from None
    return onnx


class _Builder:
    """Collects ONNX nodes and initialisers, naming each intermediate value in turn."""

    def __init__(self, onnx: Any) -> None:
        self.onnx = onnx
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def constant(self, array: np.ndarray, hint: str) -> str:
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], **attributes: Any) -> str:
        output = self.name(op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [output], **attributes))
        return output

    def linear(self, x: str, weight: np.ndarray, bias: np.ndarray | None) -> str:
        out = self.op("MatMul", [x, self.constant(np.ascontiguousarray(weight.T), "weight_t")])
        if bias is not None:
            out = self.op("Add", [out, self.constant(bias, "bias")])
        return out


def _activation(builder: _Builder, name: str, x: str) -> str:
    """The activation called ``name`` applied to ``x`` ("linear": none)."""
    return x if name == "linear" else builder.op(ACTIVATIONS[name].onnx, [x])


def _emit(builder: _Builder, module: Module, x: str, rank: int) -> tuple[str, int]:
    """Add ``module``'s computation on the value named ``x``, of ``rank`` axes; the name
    and the rank of its result (a negative axis needs the rank to mean what it means in
    tracegrad)."""
    if isinstance(module, layers.Sequential):
        for layer in module.layers:
            x, rank = _emit(builder, layer, x, rank)
        return x, rank
    if isinstance(module, layers.Linear):
        weight = np.asarray(module.weight.data, np.float32)
        bias = None if module.bias is None else np.asarray(module.bias.data, np.float32)
        return builder.linear(x, weight, bias), rank
    if isinstance(module, scalar.MLP):
        for weight, bias, activation in scalar_as_layers(module):
            x = _activation(builder, activation, builder.linear(x, weight, bias))
        return x, rank
    if isinstance(module, LeakyReLU):
        return builder.op("LeakyRelu", [x], alpha=module.negative_slope), rank
    if isinstance(module, layers.LogSoftmax):
        return builder.op("LogSoftmax", [x], axis=module.axis), rank
    if isinstance(module, layers.Softmax):
        return builder.op("Softmax", [x], axis=module.axis), rank
    if isinstance(module, layers.Flatten):
        start = module.start_axis + rank if module.start_axis < 0 else module.start_axis
        if not 0 <= start < max(rank, 1):
            raise ValueError(
                f"to_onnx: Flatten's start_axis {module.start_axis} is out of range for "
                f"its input of {counted(rank, 'axis')}"
            )
        shape = np.array([0] * start + [-1], dtype=np.int64)  # 0: keep that axis
        return builder.op("Reshape", [x, builder.constant(shape, "shape")]), start + 1
    if isinstance(module, layers.Dropout):
        return builder.op("Identity", [x]), rank
    applied = of_layer(module)
    if applied is not None:
        return _activation(builder, applied.name, x), rank
    raise TypeError(
        f"to_onnx: cannot export {type(module).__name__}: only the library's own layers "
        "(Sequential, MLP, Linear, the activations, Dropout, Flatten) and nn.scalar.MLP are "
        "exported; a module with a forward of its own has no ONNX graph to write"
    )


def _input_features(model: Module) -> int | None:
    """The number of input features, read off the first layer that says."""
    first: Module = model
    while isinstance(first, layers.Sequential) and first.layers:
        first = first.layers[0]
    if isinstance(first, layers.Linear):
        return first.in_features
    if isinstance(first, scalar.MLP):
        return first.nin
    return None


def _output_shape(model: Module, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """One sample's output shape, found by running the model on one sample of zeros."""
    if isinstance(model, scalar.MLP):
        return (model.sizes[-1],)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            out = model(Tensor(np.zeros((1, *input_shape), np.float32)))
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"to_onnx: the model does not take inputs of shape {input_shape} (input_shape): {error}"
        ) from None
    finally:
        model.train(was_training)
    return tuple(out.shape[1:])


def to_onnx(
    model: Module, path: str | os.PathLike[str], *, input_shape: Sequence[int] | None = None
) -> Any:
    """Write ``model`` to ``path`` as an ONNX file (opset 17); returns the ``ModelProto``.

    ``input_shape`` is one sample's shape (without the batch axis); by default it is
    (in_features,) of the first Linear layer. The input is called "input" and the output
    "output"; the batch dimension, "batch", is dynamic.
    """
    checks.instance(model, Module, "to_onnx", "model")
    checks.path(path, "to_onnx")
    if input_shape is not None:
        input_shape = checks.shape(input_shape, "to_onnx", "input_shape")
    onnx = _onnx()
    if input_shape is None:
        features = _input_features(model)
        if features is None:
            raise ValueError(
                f"to_onnx: cannot tell the input shape of {type(model).__name__} "
                "(it does not start with a Linear layer): pass input_shape="
            )
        input_shape = (features,)
    output_shape = _output_shape(model, tuple(input_shape))
    builder = _Builder(onnx)
    output, _ = _emit(builder, model, "input", 1 + len(input_shape))
    output = builder.op("Identity", [output])
    builder.nodes[-1].output[0] = "output"
    float_type = onnx.TensorProto.FLOAT
    graph = onnx.helper.make_graph(
        builder.nodes,
        "tracegrad",
        [onnx.helper.make_tensor_value_info("input", float_type, ["batch", *input_shape])],
        [onnx.helper.make_tensor_value_info("output", float_type, ["batch", *output_shape])],
        builder.initializers,
    )
    proto = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)], producer_name="tracegrad"
    )
    proto.ir_version = IR_VERSION
    onnx.checker.check_model(proto)
    write_atomically(path, proto.SerializeToString())
    return proto
