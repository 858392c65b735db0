"""micrograd's lecture, both halves, on tracegrad's ``Value``.

The lecture (karpathy/nn-zero-to-hero, lectures/micrograd) writes a ``Value`` class of its
own and, step by step: takes a derivative by limits, builds an expression graph and draws
it, fills in every gradient by hand with the chain rule, then lets each node do it
(``o.grad = 1.0; o._backward(); n._backward(); ...``), orders the nodes topologically and
calls ``backward()``; in its second half it spells tanh out with exp, checks a neuron
against PyTorch, and trains a small MLP with a loop of its own. Here its class is ours
(``from autograd import Value``) and each step is retold in our words, with the lecture's
inputs and the numbers it shows. Nothing is fetched.

Where a number is not the lecture's to the last bit, it is our tanh: the lecture computes
tanh x as (e^2x − 1)/(e^2x + 1), ``Value.tanh`` calls ``math.tanh``, and the two differ in
the last bit at the lecture's input (0.7071067811865477 against 0.7071067811865476). Those
numbers are compared to 1e-15; every other one is the lecture's exactly.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

import graphviz
import numpy as np
import pytest
import torch

from autograd import DataChangedError, Value, draw_graph, topological_order

ULP = 1e-15  # our tanh against the lecture's formula (see the module's docstring)


# -- helpers a learner writes along with the lecture, in our words ----------------------------


def parabola(x: Any) -> Any:
    """The lecture's first function, 3x² − 4x + 5, of a float, an array or a Value."""
    return 3 * x**2 - 4 * x + 5


def nodes_and_edges(root: Value) -> tuple[set[Value], set[tuple[Value, Value]]]:
    """Every node behind ``root`` and every (input, result) edge, read through ``_prev``."""
    nodes: set[Value] = set()
    edges: set[tuple[Value, Value]] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if node in nodes:
            continue
        nodes.add(node)
        for child in node._prev:
            edges.add((child, node))
            pending.append(child)
    return nodes, edges


def lecture_drawing(root: Value) -> graphviz.Digraph:
    """The lecture's kind of drawing: a record (label, data, grad) per node, an ellipse per op."""
    nodes, edges = nodes_and_edges(root)
    dot = graphviz.Digraph(format="svg", graph_attr={"rankdir": "LR"})
    for node in nodes:
        key = str(id(node))
        text = f"{{ {node.label} | data {node.data:.4f} | grad {node.grad:.4f} }}"
        dot.node(name=key, label=text, shape="record")
        if node._op:
            dot.node(name=key + node._op, label=node._op)
            dot.edge(key + node._op, key)
    for child, parent in edges:
        dot.edge(str(id(child)), str(id(parent)) + parent._op)
    return dot


def order_by_hand(root: Value) -> list[Value]:
    """Topological order as the lecture builds it: a node after all of its ``_prev``."""
    ordered: list[Value] = []
    seen: set[Value] = set()

    def visit(node: Value) -> None:
        if node in seen:
            return
        seen.add(node)
        for child in node._prev:
            visit(child)
        ordered.append(node)

    visit(root)
    return ordered


def expression() -> dict[str, Value]:
    """The first half's expression L = (a·b + c)·f, every node labelled."""
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "L": L}


def neuron(bias: float = 6.8813735870195432, tanh_by_exp: bool = False) -> dict[str, Value]:
    """The lecture's neuron: two inputs, two weights, a bias chosen so that n ≈ 0.8814."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(bias, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    if tanh_by_exp:  # the second half: tanh n = (e^2n − 1)/(e^2n + 1), op by op
        e = (2 * n).exp()
        o = (e - 1) / (e + 1)
    else:
        o = n.tanh()
    o.label = "o"
    return dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, x1w1=x1w1, x2w2=x2w2, x1w1x2w2=x1w1x2w2, n=n, o=o)


#: The gradients the lecture finds for the neuron's nodes (its drawing shows them so).
NEURON_GRADIENTS = {
    "o": 1.0,
    "n": 0.5,
    "b": 0.5,
    "x1w1x2w2": 0.5,
    "x1w1": 0.5,
    "x2w2": 0.5,
    "x1": -1.5,
    "w1": 1.0,
    "x2": 0.5,
    "w2": 0.0,
}


def assert_neuron_gradients(nodes: dict[str, Value]) -> None:
    for name, expected in NEURON_GRADIENTS.items():
        assert nodes[name].grad == pytest.approx(expected, abs=ULP), name


# -- the first half -----------------------------------------------------------------------------


def test_a_derivative_by_limits_of_a_function_of_one_number() -> None:
    assert parabola(3.0) == 20.0
    xs = np.arange(-5, 5, 0.25)
    assert parabola(xs).shape == (40,)  # the lecture plots it
    h, x = 0.000001, 2 / 3  # where the slope is zero
    assert (parabola(x + h) - parabola(x)) / h == 2.999378523327323e-06
    # The same function of Values gives the same numbers, bit for bit, and its slope.
    assert (parabola(Value(x + h)).data - parabola(Value(x)).data) / h == 2.999378523327323e-06
    for at, slope in [(3.0, 14.0), (2 / 3, 0.0)]:  # 6x − 4
        v = Value(at)
        parabola(v).backward()
        assert v.grad == pytest.approx(slope, abs=1e-12)


def test_a_derivative_by_limits_of_a_function_of_three_numbers() -> None:
    h = 0.0001
    a, b, c = 2.0, -3.0, 10.0
    before = a * b + c
    assert before == 4.0
    after = a * b + (c + h)
    assert (before, after) == (4.0, 4.0001)
    assert (after - before) / h == 0.9999999999976694
    # backward() gives d = a·b + c's three slopes at once: b, a and 1.
    va, vb, vc = Value(a), Value(b), Value(c)
    (va * vb + vc).backward()
    assert (va.grad, vb.grad, vc.grad) == (-3.0, 2.0, 1.0)
    for bumped, slope in [((a + h, b, c), -3.0), ((a, b + h, c), 2.0)]:
        assert (bumped[0] * bumped[1] + bumped[2] - before) / h == pytest.approx(slope, abs=1e-6)


def test_the_expression_graph_is_built_labelled_and_drawn() -> None:
    nodes = expression()
    L = nodes["L"]
    assert L.data == -8.0 and repr(L) == "Value(data=-8.0, grad=0.0, label='L')"
    assert L._prev == {nodes["d"], nodes["f"]} and L._op == "×"  # the lecture's '*'
    assert nodes["d"]._prev == {nodes["e"], nodes["c"]} and nodes["d"]._op == "+"
    assert nodes["a"]._prev == set() and nodes["a"]._op == ""
    graph, edges = nodes_and_edges(L)
    assert graph == set(nodes.values()) and len(edges) == 6
    source = lecture_drawing(L).source
    assert "{ L | data -8.0000 | grad 0.0000 }" in source
    assert "{ e | data -6.0000 | grad 0.0000 }" in source
    assert source.count("->") == 3 + 6  # an edge from each op to its result, one per input
    ours = draw_graph(L).source  # the library's drawing, of the same graph
    assert "{ L | data -8 | grad 0 }" in ours and ours.count("shape=ellipse") == 3


def test_gradients_filled_in_by_hand_with_the_chain_rule() -> None:
    nodes = expression()
    a, b, c, d, e, f, L = (nodes[k] for k in "abcdefL")
    L.grad = 1.0  # dL/dL
    f.grad = d.data  # L = d·f
    d.grad = f.data
    c.grad = d.grad * 1.0  # d = e + c: a plus routes the gradient on
    e.grad = d.grad * 1.0
    a.grad = b.data * e.grad  # e = a·b
    b.grad = a.data * e.grad
    assert (a.grad, b.grad, c.grad, d.grad, e.grad, f.grad) == (6.0, -4.0, -2.0, -2.0, -2.0, 4.0)
    assert "{ a | data 2.0000 | grad 6.0000 }" in lecture_drawing(L).source
    # backward() agrees on a graph built afresh
    again = expression()
    again["L"].backward()
    for name in "abcdef":
        assert again[name].grad == nodes[name].grad, name


def test_the_gradient_of_b_checked_by_limits() -> None:
    h = 0.001
    L1 = expression()["L"].data
    nodes = expression()
    nodes["b"].data += h  # before the rest is computed from it: the lecture's order
    a, b, c, f = (nodes[k] for k in "abcf")
    L2 = ((a * b) + c) * f
    assert (L2.data - L1) / h == -3.9999999999995595


def test_one_step_along_the_gradient_raises_the_loss() -> None:
    nodes = expression()
    nodes["L"].backward()
    for name in "abcf":
        leaf = nodes[name]
        leaf.data += 0.01 * leaf.grad
    a, b, c, f = (nodes[k] for k in "abcf")
    assert (((a * b) + c) * f).data == -7.286496
    # Where tracegrad differs on purpose: the old graph read the old data.
    with pytest.raises(DataChangedError):
        nodes["L"].backward()


def test_the_neuron_by_hand() -> None:
    nodes = neuron()
    o, n = nodes["o"], nodes["n"]
    assert n.data == 0.8813735870195432
    assert o.data == pytest.approx(0.7071067811865476, abs=ULP)
    o.grad = 1.0
    n.grad = 1 - o.data**2  # do/dn for o = tanh n
    assert n.grad == pytest.approx(0.4999999999999999, abs=ULP)
    nodes["x1w1x2w2"].grad = nodes["b"].grad = n.grad  # a plus routes it on
    nodes["x1w1"].grad = nodes["x2w2"].grad = n.grad
    for x, w, product in [("x1", "w1", "x1w1"), ("x2", "w2", "x2w2")]:
        nodes[x].grad = nodes[w].data * nodes[product].grad
        nodes[w].grad = nodes[x].data * nodes[product].grad
    assert_neuron_gradients(nodes)


def test_the_neuron_node_by_node_with_backward_underscore() -> None:
    """Each node passes its gradient to its inputs: o, then n, then its inputs, and so on."""
    nodes = neuron()
    assert all(node.grad == 0.0 for node in nodes.values())
    nodes["o"].grad = 1.0
    nodes["o"]._backward()
    assert nodes["n"].grad == pytest.approx(0.5, abs=ULP)
    nodes["n"]._backward()
    assert nodes["b"].grad == nodes["x1w1x2w2"].grad == nodes["n"].grad
    nodes["b"]._backward()  # a leaf: nothing to pass on
    nodes["x1w1x2w2"]._backward()
    nodes["x2w2"]._backward()
    nodes["x1w1"]._backward()
    assert_neuron_gradients(nodes)
    source = lecture_drawing(nodes["o"]).source
    for record in [
        "{ o | data 0.7071 | grad 1.0000 }",
        "{ n | data 0.8814 | grad 0.5000 }",
        "{ x1 | data 2.0000 | grad -1.5000 }",
        "{ w1 | data -3.0000 | grad 1.0000 }",
        "{ x2 | data 0.0000 | grad 0.5000 }",
        "{ w2 | data 1.0000 | grad 0.0000 }",
    ]:
        assert record in source, record


def test_backward_underscore_adds_into_the_inputs_as_micrographs_closures_do() -> None:
    nodes = neuron()
    nodes["o"].grad = 1.0
    nodes["o"]._backward()
    nodes["o"]._backward()  # twice: the share is added twice
    assert nodes["n"].grad == pytest.approx(1.0, abs=ULP)


def test_the_walk_in_topological_order_then_backward() -> None:
    nodes = neuron()
    o = nodes["o"]
    ordered = order_by_hand(o)
    assert len(ordered) == 10 and ordered[-1] is o
    for position, node in enumerate(ordered):  # each node after its inputs
        assert node._prev <= set(ordered[:position])
    assert set(ordered) == set(topological_order([o])) == set(nodes.values())
    o.grad = 1.0
    for node in reversed(ordered):
        node._backward()
    assert_neuron_gradients(nodes)
    by_engine = neuron()
    by_engine["o"].backward()
    for name in NEURON_GRADIENTS:  # the engine and the walk by hand run the same rules
        assert by_engine[name].grad == nodes[name].grad, name


def test_a_node_used_twice_gets_both_gradients() -> None:
    """The lecture's bug (a gradient set, not added, when a node feeds an op twice)."""
    a = Value(3.0, label="a")
    b = a + a
    b.label = "b"
    b.backward()
    assert a.grad == 2.0
    a, b = Value(-2.0, label="a"), Value(3.0, label="b")
    d = a * b
    e = a + b
    f = d * e
    f.backward()
    assert (a.grad, b.grad) == (-3.0, -8.0)


# -- the second half ----------------------------------------------------------------------------


def test_numbers_mix_with_values_on_either_side() -> None:
    a, b = Value(2.0), Value(4.0)
    assert (a + 1).data == 3.0 and (1 + a).data == 3.0
    assert (a * 2).data == 4.0 and (2 * a).data == 4.0
    assert (a / b).data == 0.5 and (a - b).data == -2.0 and (a**2).data == 4.0
    assert a.exp().data == pytest.approx(7.38905609893065, abs=1e-14)


def test_tanh_spelled_out_with_exp_gives_the_same_numbers() -> None:
    nodes = neuron(tanh_by_exp=True)
    o = nodes["o"]
    assert o.data == pytest.approx(0.7071067811865476, abs=ULP)
    assert {"exp", "÷"} <= {node._op for node in nodes_and_edges(o)[0]}
    o.backward()
    assert_neuron_gradients(nodes)


def test_the_neuron_against_pytorch() -> None:
    """PyTorch is the oracle: the lecture's cell, and our Values with the same inputs.

    The lecture makes its tensors as float32 before .double(), so its bias is the float32
    nearest 6.8813735870195432: our neuron is given that bias too.
    """
    leaves = {
        name: torch.tensor([value], dtype=torch.float32).double().requires_grad_()
        for name, value in [
            ("x1", 2.0),
            ("x2", 0.0),
            ("w1", -3.0),
            ("w2", 1.0),
            ("b", 6.8813735870195432),
        ]
    }
    n = leaves["x1"] * leaves["w1"] + leaves["x2"] * leaves["w2"] + leaves["b"]
    o = torch.tanh(n)
    o.backward()
    assert o.item() == 0.7071066904050358  # the lecture's numbers
    lecture = {"x2": 0.5000001283844369, "w2": 0.0, "x1": -1.5000003851533106}
    lecture["w1"] = 1.0000002567688737
    for name, grad in lecture.items():
        assert leaves[name].grad.item() == grad, name  # type: ignore[union-attr]
    ours = neuron(bias=leaves["b"].item())
    ours["o"].backward()
    assert ours["o"].data == pytest.approx(o.item(), abs=ULP)
    for name, grad in lecture.items():
        assert ours[name].grad == pytest.approx(grad, abs=ULP), name


# -- the second half's network: a neuron, a layer, an MLP, and the loop ---------------------------


class LectureNeuron:
    """tanh(w·x + b), its weights drawn from [-1, 1] with ``random`` (as the lecture's)."""

    def __init__(self, nin: int) -> None:
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(random.uniform(-1, 1))

    def __call__(self, x: Sequence[Any]) -> Value:
        activation = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return activation.tanh()

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]


class LectureLayer:
    def __init__(self, nin: int, nout: int) -> None:
        self.neurons = [LectureNeuron(nin) for _ in range(nout)]

    def __call__(self, x: Sequence[Any]) -> Any:
        outs = [neuron(x) for neuron in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self) -> list[Value]:
        return [p for neuron in self.neurons for p in neuron.parameters()]


class LectureMLP:
    def __init__(self, nin: int, nouts: list[int]) -> None:
        sizes = [nin, *nouts]
        self.layers = [LectureLayer(sizes[i], sizes[i + 1]) for i in range(len(nouts))]

    def __call__(self, x: Sequence[Any]) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]


#: The lecture's four samples and their targets.
SAMPLES = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
TARGETS = [1.0, -1.0, -1.0, 1.0]


def torch_twin(model: LectureMLP) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The MLP's layers as float64 torch (weight, bias) pairs holding the same numbers."""
    return [
        (
            torch.tensor(
                [[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64
            ).requires_grad_(),
            torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64).requires_grad_(),
        )
        for layer in model.layers
    ]


def torch_loss(layers: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    x = torch.tensor(SAMPLES, dtype=torch.float64)
    for weight, bias in layers:
        x = torch.tanh(x @ weight.T + bias)
    return ((x[:, 0] - torch.tensor(TARGETS, dtype=torch.float64)) ** 2).sum()


def test_the_mlp_gives_one_value_for_one_output() -> None:
    random.seed(0)
    model = LectureMLP(3, [4, 4, 1])
    out = model([2.0, 3.0, -1.0])
    assert isinstance(out, Value) and -1.0 < out.data < 1.0
    assert len(model.parameters()) == 4 * 4 + 4 * 5 + 1 * 5


def test_the_loss_loop_follows_pytorch_step_by_step_and_learns_the_targets() -> None:
    """The lecture's loop: forward, zero the gradients, backward, a step of 0.1 against them.

    Its weights are random (the lecture draws them unseeded), so its printed losses cannot
    be ours; PyTorch, given the same weights, is the oracle at every step instead.
    """
    random.seed(1)
    model = LectureMLP(3, [4, 4, 1])
    twin = torch_twin(model)
    losses = []
    for step in range(20):
        predictions = [model(x) for x in SAMPLES]
        loss = sum((out - target) ** 2 for target, out in zip(TARGETS, predictions))
        assert isinstance(loss, Value)
        for p in model.parameters():
            p.grad = 0.0
        loss.backward()
        expected = torch_loss(twin)
        expected.backward()
        assert loss.data == pytest.approx(expected.item(), rel=1e-12), step
        ours = [p.grad for p in model.parameters()]
        theirs = [
            g
            for weight, bias in twin
            for row, b in zip(weight.grad, bias.grad)  # type: ignore[arg-type]
            for g in [*row.tolist(), b.item()]
        ]
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12), step
        for p in model.parameters():
            p.data += -0.1 * p.grad
        with torch.no_grad():
            for weight, bias in twin:
                for t in (weight, bias):
                    t -= 0.1 * t.grad  # type: ignore[operator]
                    t.grad = None
        losses.append(loss.data)
    assert losses[-1] < losses[0] / 2
    for _ in range(200):  # on to the lecture's end: every prediction has its target's sign
        predictions = [model(x) for x in SAMPLES]
        loss = sum((out - target) ** 2 for target, out in zip(TARGETS, predictions))
        for p in model.parameters():
            p.grad = 0.0
        loss.backward()
        for p in model.parameters():
            p.data += -0.1 * p.grad
    assert loss.data < 0.05
    assert [p.data > 0 for p in predictions] == [t > 0 for t in TARGETS]


def test_forgetting_to_zero_the_gradients_accumulates_them_as_in_the_lecture() -> None:
    random.seed(2)
    model = LectureMLP(3, [4, 1])
    loss = (model(SAMPLES[0]) - 1.0) ** 2
    loss.backward()
    once = [p.grad for p in model.parameters()]
    loss.backward()  # the lecture's bug: no p.grad = 0.0 in between
    assert [p.grad for p in model.parameters()] == [2 * g for g in once]
