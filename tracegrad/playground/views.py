"""What the page draws, computed from a model: pictures as small arrays, the graph of one
neuron, the engine's backward walk written out (and compiled, as code), and each
weight's gradient.

Each update redraws the output over the input plane and every hidden neuron's output
over it too: thousands of points through every neuron. Recording a compute graph for
that would cost far more than the training step it illustrates (a Value network makes
a Python object per neuron and point), so the pictures come from a plain numpy forward
pass over the model's current weights (``layer_weights``, ``forward_layers``), which
computes the same function; the tests check it against the engine's own predictions.
Training, the neuron's graph and the gradients use the engine itself.

Pictures travel as bytes (0-255 per pixel, base64), not as JSON numbers: a frame of
every neuron's picture stays small enough to send many times a second.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd import Node, Tensor, Value, no_grad
from autograd.engine import gradients as engine_walk
from autograd.rules import RULES
from nn.layers import Linear
from nn.module import Module

from .settings import Settings

#: Pixels along each side of the output picture, and of each neuron's.
OUTPUT_PIXELS = 50
NEURON_PIXELS = 20
#: Points along the input line for regression curves.
CURVE_POINTS = 100
#: The margin around the data in the input plane.
MARGIN = 0.5

Weights = list[tuple[np.ndarray, np.ndarray]]


def layer_weights(model: Module, engine: str) -> Weights:
    """(W, b) per layer as float64 arrays, W of shape (outputs, inputs), from either engine."""
    if engine == "value":
        return [
            (
                np.array([[w.data for w in neuron.w] for neuron in layer.neurons]),
                np.array([neuron.b.data for neuron in layer.neurons]),
            )
            for layer in model.layers  # type: ignore[attr-defined]
        ]
    return [
        (
            np.asarray(layer.weight.data, np.float64),
            np.asarray(layer.bias.data, np.float64),  # type: ignore[union-attr]
        )
        for layer in linear_layers(model)
    ]


def linear_layers(model: Module) -> list[Linear]:
    """The Linear layers of a Tensor MLP, in order."""
    return [m for m in model.layers if isinstance(m, Linear)]  # type: ignore[attr-defined]


def activate(z: np.ndarray, activation: str) -> np.ndarray:
    """The activation applied to an array, as the engines apply it to each neuron."""
    if activation == "tanh":
        return np.tanh(z)
    if activation == "relu":
        return np.maximum(z, 0.0)
    if activation == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # σ without overflow
    raise ValueError(f"activation: unknown {activation!r}")


def forward_layers(weights: Weights, X: np.ndarray, activation: str) -> list[np.ndarray]:
    """Every layer's outputs for the points X: the hidden layers' after the activation,
    the last layer's raw (scores, logits or the regression's prediction)."""
    outputs, h = [], np.asarray(X, np.float64)
    for position, (W, b) in enumerate(weights):
        h = h @ W.T + b
        if position < len(weights) - 1:
            h = activate(h, activation)
        outputs.append(h)
    return outputs


def extent(X: np.ndarray) -> list[float]:
    """The region drawn: the data's range and a margin, [x_min, x_max, y_min, y_max]."""
    low, high = X.min(axis=0) - MARGIN, X.max(axis=0) + MARGIN
    if X.shape[1] == 1:
        return [float(low[0]), float(high[0])]
    return [float(low[0]), float(high[0]), float(low[1]), float(high[1])]


def plane(box: Sequence[float], pixels: int) -> np.ndarray:
    """Pixel centres over the box, row by row from the top (as a canvas is drawn)."""
    xs = np.linspace(box[0], box[1], pixels)
    ys = np.linspace(box[3], box[2], pixels)
    xx, yy = np.meshgrid(xs, ys)
    return np.column_stack([xx.ravel(), yy.ravel()])


def line(box: Sequence[float], points: int) -> np.ndarray:
    """Points along the input line of a regression, as a column."""
    return np.linspace(box[0], box[1], points)[:, None]


def as_bytes(values: np.ndarray) -> str:
    """Values in [−1, 1] as base64 bytes, 0 for −1 and 255 for +1."""
    scaled = np.rint((np.clip(values, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    return base64.b64encode(scaled.tobytes()).decode("ascii")


def _scaled(values: np.ndarray) -> tuple[np.ndarray, float]:
    """Values divided by their largest magnitude (kept with them, for the page's legend)."""
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    if not np.isfinite(scale) or scale < 1e-12:
        return np.zeros_like(values), 0.0
    return values / scale, scale


def pictures(settings: Settings, weights: Weights, box: Sequence[float]) -> dict[str, Any]:
    """The output over the input plane (or line) and each hidden neuron's own output."""
    if settings.features == 1:
        xs = line(box, CURVE_POINTS)
        layers = forward_layers(weights, xs, settings.activation)
        neurons = []
        for hidden in layers[:-1]:
            neurons.append([_curve(hidden[:, j]) for j in range(hidden.shape[1])])
        return {
            "output": {"kind": "curve", "values": _rounded(layers[-1][:, 0])},
            "neurons": neurons,
        }
    out_layers = forward_layers(weights, plane(box, OUTPUT_PIXELS), settings.activation)
    neuron_layers = forward_layers(weights, plane(box, NEURON_PIXELS), settings.activation)
    neurons = []
    for hidden in neuron_layers[:-1]:
        row = []
        for j in range(hidden.shape[1]):
            scaled, scale = _scaled(hidden[:, j])
            row.append({"pixels": as_bytes(scaled), "scale": scale})
        neurons.append(row)
    own = neuron_layers[-1]  # each output neuron's own score, for the network's drawing
    outputs = []
    for j in range(own.shape[1]):
        scaled, scale = _scaled(own[:, j])
        outputs.append({"pixels": as_bytes(scaled), "scale": scale})
    scores = out_layers[-1]
    if settings.task == "multiclass":
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        classes = probabilities.argmax(axis=1)
        output = {
            "kind": "classes",
            "classes": base64.b64encode(classes.astype(np.uint8).tobytes()).decode("ascii"),
            "confidence": as_bytes(2.0 * probabilities.max(axis=1) - 1.0),
        }
    else:
        # One score: its sign is the class. The colour deepens with the score as the
        # loss reads it: a probability σ(s) for the logistic loss, the margin for hinge.
        s = scores[:, 0]
        shade = np.tanh(s / 2.0) if settings.loss == "binary_cross_entropy" else np.tanh(s)
        output = {"kind": "score", "pixels": as_bytes(shade)}
    return {"output": output, "neurons": neurons, "outputs": outputs}


def _curve(values: np.ndarray) -> dict[str, Any]:
    return {"values": _rounded(values)}


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 5) for v in values]


def weights_json(weights: Weights) -> list[dict[str, list[Any]]]:
    """The weights for the page's drawing of the network, rounded for the eye."""
    return [{"W": np.round(W, 5).tolist(), "b": np.round(b, 5).tolist()} for W, b in weights]


# -- on demand: every weight's gradient ----------------------------------------------------


def loss_gradients(run: Any) -> list[dict[str, list[Any]]]:
    """∂(training loss)/∂w for every weight and bias, at the current weights, on the whole
    training set (not the last minibatch's gradient, which is noisy and one step old).

    Computed with the engine: a forward and a backward pass, after which the model's
    gradients are cleared again so that training goes on as if nothing happened. The
    L2 term (the optimiser's weight decay) is not part of the loss; it adds λ·w.
    """
    from nn.train import forward

    model = run.model
    model.zero_grad()
    outputs = forward(model, run.X_train, run.settings.engine == "value")
    loss = run.loss(outputs, run.y_train)
    loss.backward()
    if run.settings.engine == "value":
        result = [
            {
                "W": [[w.grad for w in neuron.w] for neuron in layer.neurons],
                "b": [neuron.b.grad for neuron in layer.neurons],
            }
            for layer in model.layers
        ]
    else:
        result = [
            {
                "W": np.asarray(layer.weight.grad, np.float64).tolist(),
                "b": np.asarray(layer.bias.grad, np.float64).tolist(),  # type: ignore[union-attr]
            }
            for layer in linear_layers(model)
        ]
    model.zero_grad()
    return result


# -- on demand: one neuron's compute graph and its backward pass written out ---------------


def neuron_graph(run: Any, layer: int, index: int, point: int) -> dict[str, Any]:
    """The compute graph of neuron ``index`` of layer ``layer`` on training point ``point``,
    drawn by ``draw_graph`` after a backward pass from the neuron's output, and the
    engine's walk of that backward pass written out.

    The graph is built with the model's own parameters (so its data are the current
    weights); its inputs are the point's values reaching that layer (the point itself for
    the first layer), computed by the engine. The parameters' gradients are cleared after.
    """
    settings, model = run.settings, run.model
    sizes = settings.sizes
    if not 0 <= layer < len(sizes) or not 0 <= index < sizes[layer]:
        raise IndexError(f"neuron: no neuron {index + 1} in layer {layer + 1}")
    if not 0 <= point < len(run.X_train):
        raise IndexError(f"neuron: no training point {point}")
    x = run.X_train[point]
    out: Any
    if settings.engine == "value":
        out, leaves = _value_neuron(model, layer, index, x)
    else:
        out, leaves = _tensor_neuron(model, layer, index, x, settings.activation)
    source = compiled_source(neuron_function(run, layer, index), leaves)
    model.zero_grad()
    for node in _interior(out):
        if isinstance(node, Tensor):
            node.retain_grad()
    out.backward()
    walk = backward_walk(out)
    # A Value neuron fans in (weights and inputs to one fused node): drawn left to right;
    # a Tensor neuron is a chain of array ops, which reads better top to bottom.
    drawing = _drawing(out, "LR" if settings.engine == "value" else "TB")
    for leaf in leaves:
        leaf.zero_grad()
    model.zero_grad()
    name = "output" if layer == len(sizes) - 1 else f"hidden layer {layer + 1}"
    return {
        "layer": layer,
        "index": index,
        "point": point,
        "title": f"neuron {index + 1} of the {name}, on training point {point + 1} "
        f"({', '.join(f'{v:.3g}' for v in x)})",
        **drawing,
        "backward": walk,
        "source": source,
    }


def neuron_function(run: Any, layer: int, index: int) -> Any:
    """The neuron as a function of its inputs (Values, or one Tensor), on the model's own
    parameters: what ``compiled_source`` compiles."""
    model = run.model
    if run.settings.engine == "value":
        neuron = model.layers[layer].neurons[index]

        def value_neuron(inputs: list[Value]) -> Value:
            z = Value.linear(neuron.w, inputs, neuron.b)
            return neuron._act(z) if neuron._act is not None else z

        return value_neuron
    linears = linear_layers(model)
    target, last = linears[layer], layer == len(linears) - 1

    def tensor_neuron(inputs: Tensor) -> Tensor:
        z = (target.weight[index] * inputs).sum() + target.bias[index]  # type: ignore[index]
        return z if last else getattr(z, run.settings.activation)()

    return tensor_neuron


def compiled_source(function: Any, inputs: Any) -> str:
    """The neuron's forward and backward as the straight-line Python that
    ``autograd.compile`` generates from its graph: the backward pass written out as code.

    Compiling traces one call; nothing is back-propagated, so no gradient changes. Where
    the compiler refuses the function, the reason is shown instead.
    """
    import autograd

    compile_function = getattr(autograd, "compile", None)
    if compile_function is None:
        return "# this version of autograd has no compile"
    argument = inputs if isinstance(inputs[0], Value) else inputs[0]
    fresh = (
        [Value(v.data, label=v.label) for v in argument]
        if isinstance(argument, list)
        else Tensor(argument.data, requires_grad=True, dtype=argument.dtype, label=argument.label)
    )
    compiled = compile_function(function)
    try:
        compiled(fresh)
        return str(compiled.source)
    except Exception as error:  # a refusal of the compiler is a message, not a failure
        return f"# autograd.compile could not compile this neuron: {error}"


def _interior(root: Node) -> list[Node]:
    from autograd import topological_order

    return [node for node in topological_order([root]) if not node.is_leaf]


def _value_neuron(model: Any, layer: int, index: int, x: np.ndarray) -> tuple[Any, list[Any]]:
    with no_grad():
        h: Any = x.tolist()
        for previous in model.layers[:layer]:
            h = previous(h)
            h = [h] if isinstance(h, Value) else h
        values = [v.data if isinstance(v, Value) else float(v) for v in h]
    neuron = model.layers[layer].neurons[index]
    name = "x" if layer == 0 else "h"
    inputs = [Value(v, label=f"{name}{i + 1}") for i, v in enumerate(values)]
    for i, w in enumerate(neuron.w):
        w.label = f"w{i + 1}"
    neuron.b.label = "b"
    z = Value.linear(neuron.w, inputs, neuron.b)
    z.label = "z"
    out = neuron._act(z) if neuron._act is not None else z
    out.label = "out"
    return out, inputs


def _tensor_neuron(
    model: Any, layer: int, index: int, x: np.ndarray, activation: str
) -> tuple[Any, list[Any]]:
    linears = linear_layers(model)
    target = linears[layer]
    with no_grad():
        h = Tensor(x[None, :], dtype=target.weight.dtype)
        for module in model.layers:
            if module is target:
                break
            h = module(h)
    name = "x" if layer == 0 else "h"
    inputs = Tensor(h.data[0], requires_grad=True, dtype=target.weight.dtype, label=name)
    w = target.weight[index]
    w.label = f"weight[{index}]"
    b = target.bias[index]  # type: ignore[index]
    b.label = f"bias[{index}]"
    product = w * inputs
    product.label = f"weight[{index}] × {name}"
    z = product.sum() + b
    z.label = "z"
    if layer == len(linears) - 1:
        out = z
    else:
        out = {"tanh": z.tanh, "relu": z.relu, "sigmoid": z.sigmoid}[activation]()
    out.label = "out"
    return out, [inputs]


def _drawing(out: Node, rankdir: str) -> dict[str, str]:
    """The graph as SVG, or as DOT source with a note when Graphviz's ``dot`` is missing."""
    import graphviz

    from autograd.viz import graph_source

    dot = graph_source(out, rankdir=rankdir)
    try:
        svg = dot.pipe(format="svg").decode("utf-8")
    except graphviz.ExecutableNotFound:
        return {
            "svg": "",
            "dot": dot.source,
            "note": "Graphviz's `dot` is not installed, so the graph is shown as DOT source: "
            "install it (apt-get install graphviz, or brew install graphviz) for the picture",
        }
    start = svg.find("<svg")
    return {"svg": svg[start:], "dot": "", "note": ""}


def _number(value: Any) -> str:
    if isinstance(value, np.ndarray):
        if value.size == 1:
            return f"{float(value.reshape(-1)[0]):.6g}"
        return np.array2string(value, precision=4, separator=", ", threshold=12)
    return f"{float(value):.6g}"


def _name(node: Node) -> str:
    return node.label or (node.op or "leaf")


#: The ops written between their two inputs (a + b), not in front of them (ReLU(z)).
INFIX = ("+", "−", "×", "÷", "^")


def _expression(symbol: str, parents: Sequence[Node]) -> str:
    """How the op that made a node reads: ``a + b``, ``W[…]``, ``x × c``, ``ReLU(z)``."""
    names = [_name(parent) for parent in parents]
    if symbol in INFIX and len(names) == 2:
        return f" {symbol} ".join(names)
    if symbol == "[ ]" and len(names) == 1:
        return f"{names[0]}[…]"
    if "{}" in symbol and len(names) == 1:
        return f"{names[0]} {symbol.replace('{}', 'c')}"
    return f"{symbol}({', '.join(names)})"


def backward_walk(root: Node) -> list[dict[str, str]]:
    """The engine's backward walk from ``root``, one entry per node in the order it visits
    them: the node, the op that made it, the op's derivative rule (from the rules table)
    and the gradient ∂root/∂node, finished when its turn comes.

    This is ``autograd.engine.gradients``, the walk ``backward()`` itself runs, so the
    numbers are the engine's, not a second computation of them.
    """
    seed: Any = 1.0 if isinstance(root, Value) else np.ones_like(root.data)
    steps = []
    top = _name(root)
    for node, g in engine_walk([root], [seed]):
        if node.is_leaf:
            steps.append(
                {
                    "node": _name(node),
                    "op": "",
                    "rule": f"a leaf: its gradient is stored in {_name(node)}.grad",
                    "gradient": f"∂{top}/∂{_name(node)} = {_number(g)}",
                }
            )
            continue
        rule = RULES[node.op]
        doc = (rule.backward.__doc__ or "").strip().split("\n\n")[0]
        steps.append(
            {
                "node": f"{_name(node)} = {_expression(rule.symbol, node.parents)}",
                "op": node.op,
                "rule": " ".join(doc.split()),
                "gradient": f"∂{top}/∂{_name(node)} = {_number(g)}",
            }
        )
    return steps
