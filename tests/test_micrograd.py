"""Code written for micrograd 0.1.0 runs on tracegrad with only its imports changed.

These are micrograd's behaviours (its README example, its engine checks against PyTorch,
its demo and its graph-drawing notebook), written here as our own tests: the imports a
micrograd user changes are ``from autograd import Value`` and ``from nn import scalar``.
Where tracegrad differs on purpose, the last tests pin the difference down.
"""

from __future__ import annotations

import random

import graphviz
import numpy as np
import pytest
import torch
from sklearn.datasets import make_moons

from autograd import Value
from nn import scalar as mg_nn
from nn.scalar import MLP, Layer, Neuron


def _expression(a: Value | torch.Tensor, b: Value | torch.Tensor) -> Value | torch.Tensor:
    """The expression of micrograd's README, step by step, with in-place updates."""
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g


def test_the_readme_example_gives_micrograds_numbers() -> None:
    a, b = Value(-4.0), Value(2.0)
    g = _expression(a, b)
    g.backward()
    assert f"{g.data:.4f}" == "24.7041"
    assert (f"{a.grad:.4f}", f"{b.grad:.4f}") == ("138.8338", "645.5773")
    assert g.data == pytest.approx(24.70408163265306, rel=1e-12)
    assert a.grad == pytest.approx(138.83381924198252, rel=1e-12)
    assert b.grad == pytest.approx(645.5772594752186, rel=1e-12)


def test_the_readme_example_matches_pytorch() -> None:
    a, b = Value(-4.0), Value(2.0)
    g = _expression(a, b)
    g.backward()
    ta = torch.tensor([-4.0], dtype=torch.float64, requires_grad=True)
    tb = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    tg = _expression(ta, tb)
    tg.backward()  # type: ignore[union-attr]
    assert abs(g.data - tg.item()) < 1e-6  # type: ignore[union-attr]
    assert abs(a.grad - ta.grad.item()) < 1e-6 and abs(b.grad - tb.grad.item()) < 1e-6  # type: ignore[union-attr]


def _relu_mix(x: Value | torch.Tensor) -> Value | torch.Tensor:
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    return h + q + q * x


def test_a_mix_of_relus_matches_pytorch_exactly() -> None:
    x = Value(-4.0)
    y = _relu_mix(x)
    y.backward()
    tx = torch.tensor([-4.0], dtype=torch.float64, requires_grad=True)
    ty = _relu_mix(tx)
    ty.backward()  # type: ignore[union-attr]
    assert y.data == ty.item() and x.grad == tx.grad.item()  # type: ignore[union-attr]


def _micrograd_style_loss(
    model: MLP, X: np.ndarray, y: np.ndarray, alpha: float = 1e-4
) -> tuple[Value, float]:
    """The demo's loss as micrograd users write it: Python sums, numpy labels, map()."""
    inputs = [list(map(Value, row)) for row in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = alpha * sum(p * p for p in model.parameters())
    correct = [(yi > 0) == (si.data > 0) for yi, si in zip(y, scores)]
    return data_loss + reg_loss, sum(correct) / len(correct)


@pytest.mark.slow
def test_the_demo_reproduces_micrographs_loss_at_step_99() -> None:
    np.random.seed(1337)
    random.seed(1337)
    X, y = make_moons(n_samples=100, noise=0.1)
    y = y * 2 - 1
    model = MLP(2, [16, 16, 1])
    assert len(model.parameters()) == 337
    first, accuracy = _micrograd_style_loss(model, X, y)
    assert first.data == pytest.approx(0.8958441028683222, abs=1e-12) and accuracy == 0.5
    for k in range(100):
        loss, accuracy = _micrograd_style_loss(model, X, y)
        model.zero_grad()
        loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
    assert loss.data == pytest.approx(0.010978370135492717, abs=1e-12)
    assert accuracy == 1.0
    mesh = np.array([[x, y] for x in np.arange(-2, 3, 0.5) for y in np.arange(-1, 1.5, 0.5)])
    regions = np.array([s.data > 0 for s in map(model, [list(map(Value, r)) for r in mesh])])
    assert regions.any() and not regions.all()


def _draw_dot(root: Value) -> graphviz.Digraph:
    """A graph drawer written against micrograd's node: it reads ``_prev`` and ``_op``."""
    nodes, edges = set(), set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node not in nodes:
            nodes.add(node)
            for parent in node._prev:
                edges.add((parent, node))
                stack.append(parent)
    dot = graphviz.Digraph(format="svg", graph_attr={"rankdir": "LR"})
    for node in nodes:
        dot.node(
            str(id(node)), f"{{ data {node.data:.4f} | grad {node.grad:.4f} }}", shape="record"
        )
        if node._op:
            dot.node(str(id(node)) + node._op, node._op)
            dot.edge(str(id(node)) + node._op, str(id(node)))
    for parent, child in edges:
        dot.edge(str(id(parent)), str(id(child)) + child._op)
    return dot


def test_a_micrograd_graph_drawer_reads_prev_and_op() -> None:
    x = Value(1.0)
    y = (x * 2 + 1).relu()
    y.backward()
    assert isinstance(y._prev, set) and y._op == "ReLU"
    assert {p._op for p in y._prev} == {"+ 1.0"} and x._op == ""
    svg = _draw_dot(y).pipe(encoding="utf-8")
    assert "<svg" in svg and "ReLU" in svg and "data 3.0000" in svg
    random.seed(1337)
    neuron = mg_nn.Neuron(2)
    out = neuron([Value(1.0), Value(-2.0)])
    out.backward()
    svg = _draw_dot(out).pipe(encoding="utf-8")
    assert svg.count("grad") == 1 + 1 + 5  # out, the fused sum, w1 w2 b x1 x2
    with pytest.raises(AttributeError):
        y._prev = set()  # type: ignore[misc]  # a view, not the engine's tuple


def test_module_api_as_in_micrograd() -> None:
    random.seed(0)
    model = MLP(3, [4, 4, 1])
    assert len(model.parameters()) == 4 * 4 + 4 * 5 + 5
    out = model([Value(1.0), Value(2.0), Value(-1.0)])
    assert isinstance(out, Value)
    out.backward()
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())
    assert repr(Layer(2, 2, nonlin=False)) == "Layer of [LinearNeuron(2), LinearNeuron(2)]"
    assert repr(Neuron(3)) == "ReLUNeuron(3)"


# -- where tracegrad differs on purpose (the README's "Coming from micrograd") --------------


def test_backward_twice_accumulates_exactly_instead_of_compounding() -> None:
    x = Value(3.0)
    y = x * x
    y.backward()
    y.backward()
    assert x.grad == 12.0  # 6 + 6; micrograd's interior grads would compound to 18


def test_a_negative_base_to_a_fractional_power_is_an_error() -> None:
    with pytest.raises(ValueError, match="not real"):
        Value(-2.0) ** 0.5


def test_an_input_of_the_wrong_length_is_an_error_not_a_silent_zip() -> None:
    with pytest.raises(ValueError, match="expected 2 inputs, got 3"):
        Neuron(2)([1.0, 2.0, 3.0])
