"""The scalar engine against micrograd 0.1.0: time per training step, nodes per second, memory.

    make bench                      # or: python benchmarks/scalar.py [--steps 10 --rounds 3]

The workload is the demo's (``tracegrad.demo``): 100 points of two moons, MLP 2-16-16-1,
max-margin loss + 1e-4·L2, full-batch SGD. micrograd trains the very same model from the
very same initial weights, so both runs follow the same loss trajectory (checked).
Each measurement runs in a fresh Python process, so that one's garbage does not slow
the other's collector, and the engines take turns for several rounds, so that a slow
spell of this shared machine falls on all of them: a step time is the median over all
rounds. micrograd must be importable (``make bench`` installs it into the benchmark's
own environment).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

CHAIN_TURNS = 500_000  # x = x * 1.0001 + 0.0001, two ops a turn: a million ops
MEMORY_TURNS = 50_000  # x = x * w + b with Value operands: two nodes a turn


# -- the workers, each run in its own process ---------------------------------------------


def _our_workload() -> tuple[Any, Any, list[float]]:
    from tracegrad.demo import make_workload

    return make_workload(0)


def _time_steps(step: Callable[[int], float], steps: int) -> dict[str, Any]:
    """Run ``steps`` + 1 training steps; the first, which pays a fresh process's one-off
    costs (the allocator's first arenas, cold caches), is left out of the times."""
    times, losses = [], []
    for k in range(steps + 1):
        start = time.perf_counter()
        losses.append(step(k))
        times.append(time.perf_counter() - start)
    return {"step_s": times[1:], "losses": losses}


def worker_ours(steps: int) -> dict[str, Any]:
    from tracegrad.demo import training_step

    model, X, signs = _our_workload()
    return _time_steps(lambda k: training_step(model, X, signs, k).loss, steps)


class _BareValue:
    """The floor: a scalar node with nothing but what micrograd's step needs.

    Five slots, an op code instead of a rule, no checks of any kind (no requires_grad, no
    no_grad, no check for changed data, no broadcasting, no anomaly mode), an iterative
    topological sort, and the backward written out per op code. No library would ship
    it; it shows what pure Python costs per node on this graph.
    """

    __slots__ = ("data", "grad", "_a", "_b", "_op")
    ADD, MUL, RELU, ADD_CONSTANT, MUL_CONSTANT, LEAF = range(6)

    def __init__(self, data: float, a: Any = None, b: Any = None, op: int = LEAF) -> None:
        self.data, self.grad, self._a, self._b, self._op = data, 0.0, a, b, op

    def __add__(self, other: Any) -> _BareValue:
        if isinstance(other, _BareValue):
            return _BareValue(self.data + other.data, self, other, self.ADD)
        return _BareValue(self.data + other, self, None, self.ADD_CONSTANT)

    __radd__ = __add__

    def __mul__(self, other: Any) -> _BareValue:
        if isinstance(other, _BareValue):
            return _BareValue(self.data * other.data, self, other, self.MUL)
        return _BareValue(self.data * other, self, other, self.MUL_CONSTANT)

    __rmul__ = __mul__

    def relu(self) -> _BareValue:
        return _BareValue(self.data if self.data > 0 else 0.0, self, None, self.RELU)

    def backward(self) -> None:
        order: list[_BareValue] = []
        visited: set[_BareValue] = set()
        entered: list[_BareValue] = []
        stack: list[_BareValue | None] = [self]
        while stack:
            node = stack.pop()
            if node is None:
                order.append(entered.pop())
                continue
            if node in visited:
                continue
            visited.add(node)
            if node._a is None:
                order.append(node)
                continue
            entered.append(node)
            stack.append(None)
            if isinstance(node._b, _BareValue) and node._b not in visited:
                stack.append(node._b)
            if node._a not in visited:
                stack.append(node._a)
        self.grad = 1.0
        for node in reversed(order):
            op, g, a, b = node._op, node.grad, node._a, node._b
            if op == self.ADD:
                a.grad += g
                b.grad += g
            elif op == self.MUL:
                a.grad += g * b.data
                b.grad += g * a.data
            elif op == self.RELU:
                if node.data > 0:
                    a.grad += g
            elif op == self.ADD_CONSTANT:
                a.grad += g
            elif op == self.MUL_CONSTANT:
                a.grad += g * b


def _micrograd_workload(
    engine: str = "micrograd", compiled: bool = False
) -> tuple[Any, Any, list[float], Callable[[int], float]]:
    """micrograd's own MLP and its demo notebook's step, on micrograd's Value or on ours.

    With ``engine="tracegrad"`` only the Value class is swapped: micrograd.nn builds its
    neurons from our Value (``sum(w*x ...)`` as micrograd writes it, a node for every
    ``*`` and every ``+``), and the step is the notebook's, line for line. With
    ``engine="floor"`` the class swapped in is ``_BareValue``.
    """
    import micrograd.engine
    import micrograd.nn

    import autograd

    classes = {
        "tracegrad": autograd.Value,
        "floor": _BareValue,
        "micrograd": micrograd.engine.Value,
    }
    Value = classes[engine]
    micrograd.nn.Value = Value  # the module-level name micrograd.nn builds with

    ours, X, signs = _our_workload()
    model = micrograd.nn.MLP(2, [16, 16, 1])
    for theirs, mine in zip(model.parameters(), ours.parameters(), strict=True):
        theirs.data = mine.data

    rows = X.tolist()

    def loss() -> Any:
        # micrograd's own demo notebook, as it is written there.
        inputs = [list(map(Value, row)) for row in rows]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(signs, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        return data_loss + reg_loss

    if compiled:
        loss = autograd.compile(loss)  # the one line the loop gains

    def step(k: int) -> float:
        total = loss()
        model.zero_grad()
        total.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        return total.data

    return model, X, signs, step


def worker_ours_micrograd_graph(steps: int) -> dict[str, Any]:
    """Our engine on micrograd's graph: micrograd's nn and notebook, with our Value."""
    return _time_steps(_micrograd_workload("tracegrad")[3], steps)


def worker_ours_micrograd_graph_compiled(steps: int) -> dict[str, Any]:
    """The same, its loss function compiled: the first step traces and compiles it."""
    step = _micrograd_workload("tracegrad", compiled=True)[3]
    return _time_compiled(step, steps)


def _time_compiled(step: Callable[[int], float], steps: int) -> dict[str, Any]:
    """``_time_steps`` for a compiled step; the first step, which compiles, is timed apart."""
    start = time.perf_counter()
    first = step(0)
    compile_s = time.perf_counter() - start
    result = _time_steps(lambda k: step(k + 1), steps)
    return {**result, "losses": [first, *result["losses"]][: steps + 1], "compile_s": compile_s}


def worker_ours_compiled(steps: int) -> dict[str, Any]:
    """tracegrad's own demo step (fused neurons), its loss compiled."""
    import autograd
    from autograd import Value
    from nn.optim import SGD
    from tracegrad.demo import margin_loss

    model, X, signs = _our_workload()
    optimizer = SGD(model.parameters())
    loss = autograd.compile(lambda: margin_loss(model, X, signs)[0])

    def step(k: int) -> float:
        total: Value = loss()
        optimizer.zero_grad()
        total.backward()
        optimizer.lr = 1.0 - 0.9 * k / 100
        optimizer.step()
        return float(total.data)

    return _time_compiled(step, steps)


def worker_micrograd(steps: int) -> dict[str, Any]:
    return _time_steps(_micrograd_workload("micrograd")[3], steps)


def worker_floor(steps: int) -> dict[str, Any]:
    """micrograd's graph on the bare node: what pure Python costs per node."""
    return _time_steps(_micrograd_workload("floor")[3], steps)


def worker_ours_chain(_: int) -> dict[str, Any]:
    from autograd import Value

    x0 = Value(1.0)
    x = x0
    start = time.perf_counter()
    for _ in range(CHAIN_TURNS):
        x = x * 1.0001 + 0.0001
    built = time.perf_counter()
    x.backward()
    done = time.perf_counter()
    expected = 1.0001**CHAIN_TURNS
    assert abs(x0.grad - expected) <= 1e-9 * expected, (x0.grad, expected)
    ops = 2 * CHAIN_TURNS
    return {"forward_s": built - start, "backward_s": done - built, "ops": ops}


def worker_micrograd_chain(_: int) -> dict[str, Any]:
    from micrograd.engine import Value

    x = Value(1.0)
    for _ in range(CHAIN_TURNS):
        x = x * 1.0001 + 0.0001
    try:
        x.backward()
    except RecursionError:
        return {"error": "RecursionError"}
    return {"error": ""}


def _bytes_per_node(value_class: type, node_count: Callable[[Any], int]) -> dict[str, Any]:
    w, b = value_class(1.0001), value_class(0.0001)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    x = value_class(1.0)
    for _ in range(MEMORY_TURNS):
        x = x * w + b
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    nodes = node_count(x)
    return {"bytes_per_node": (after - before) / nodes, "nodes": nodes}


def worker_ours_memory(_: int) -> dict[str, Any]:
    from autograd import Value, topological_order

    return _bytes_per_node(Value, lambda x: len(topological_order([x])))


def worker_micrograd_memory(_: int) -> dict[str, Any]:
    from micrograd.engine import Value

    def count(root: Any) -> int:
        seen, stack = set(), [root]
        while stack:
            node = stack.pop()
            if id(node) not in seen:
                seen.add(id(node))
                stack.extend(node._prev)
        return len(seen)

    return _bytes_per_node(Value, count)


def _graph_memory(build: Callable[[], Any]) -> dict[str, Any]:
    gc.collect()
    tracemalloc.start()
    loss = build()
    used = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del loss
    return {"graph_mb": used / 1e6}


def worker_ours_step_memory(_: int) -> dict[str, Any]:
    from tracegrad.demo import margin_loss

    model, X, signs = _our_workload()
    return _graph_memory(lambda: margin_loss(model, X, signs))


def worker_micrograd_step_memory(_: int) -> dict[str, Any]:
    from micrograd.engine import Value

    model, X, signs, _step = _micrograd_workload("micrograd")

    def build() -> Any:
        inputs = [list(map(Value, row)) for row in X.tolist()]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(signs, scores)]
        return sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in model.parameters())

    return _graph_memory(build)


WORKERS: dict[str, Callable[[int], dict[str, Any]]] = {
    name.removeprefix("worker_"): function
    for name, function in globals().items()
    if name.startswith("worker_")
}


def run_worker(name: str, steps: int, gc_enabled: bool) -> dict[str, Any]:
    """Run one worker in a fresh interpreter and return what it measured."""
    command = [sys.executable, __file__, "--worker", name, "--steps", str(steps)]
    if not gc_enabled:
        command.append("--no-gc")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"worker {name} failed:\n{done.stderr}")
    return json.loads(done.stdout)


# -- the table ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="training steps timed per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the engines in turn")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--no-gc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        if args.no_gc:
            gc.disable()
        print(json.dumps(WORKERS[args.worker](args.steps)))
        return

    import micrograd  # noqa: F401  (fail early with a clear ImportError)

    steps = args.steps
    step_runs = [  # (worker, with the garbage collector on)
        ("ours", True),
        ("ours", False),
        ("ours_compiled", True),
        ("ours_micrograd_graph", True),
        ("ours_micrograd_graph", False),
        ("ours_micrograd_graph_compiled", True),
        ("ours_micrograd_graph_compiled", False),
        ("micrograd", True),
        ("micrograd", False),
        ("floor", True),
        ("floor", False),
    ]
    times: dict[tuple[str, bool], list[float]] = {run: [] for run in step_runs}
    compile_times: dict[tuple[str, bool], list[float]] = {run: [] for run in step_runs}
    gaps = []
    for _ in range(args.rounds):
        results = {(name, gc_on): run_worker(name, steps, gc_on) for name, gc_on in step_runs}
        for key, result in results.items():
            times[key] += result["step_s"]
            if "compile_s" in result:
                compile_times[key].append(result["compile_s"])
        reference = results[("micrograd", True)]["losses"]
        gaps += [
            max(abs(a - b) for a, b in zip(result["losses"], reference))
            for result in results.values()
        ]
    if max(gaps) > 1e-9:
        raise RuntimeError(f"the runs computed different losses (largest gap {max(gaps)})")
    (
        ours,
        ours_nogc,
        ours_compiled,
        graph_ours,
        graph_ours_nogc,
        graph_compiled,
        graph_compiled_nogc,
        theirs,
        theirs_nogc,
        floor,
        floor_nogc,
    ) = (
        {
            "median_step_s": statistics.median(times[key]),
            "compile_s": statistics.median(compile_times[key]) if compile_times[key] else None,
        }
        for key in step_runs
    )

    chain = run_worker("ours_chain", steps, True)
    their_chain = run_worker("micrograd_chain", steps, True)
    memory = run_worker("ours_memory", steps, True)
    their_memory = run_worker("micrograd_memory", steps, True)
    graph = run_worker("ours_step_memory", steps, True)
    their_graph = run_worker("micrograd_step_memory", steps, True)

    print(
        f"Demo workload (two moons, MLP 2-16-16-1), median of {steps} steps in each of "
        f"{args.rounds} rounds, the engines taking turns; same losses (largest gap "
        f"{max(gaps):.1e}):\n"
    )
    print(
        "| engine | graph | ms per step | micrograd (GC on) ÷ this | micrograd (GC off) ÷ this "
        "| compiling: s (÷ the uncompiled step) |"
    )
    print("|---|---|---:|---:|---:|---:|")
    uncompiled = {id(ours_compiled): ours, id(graph_compiled): graph_ours}
    uncompiled[id(graph_compiled_nogc)] = graph_ours_nogc
    rows = [
        ("tracegrad", "fused neurons (nn.MLP)", ours),
        ("tracegrad, GC off", "fused neurons (nn.MLP)", ours_nogc),
        ("tracegrad, compiled", "fused neurons (nn.MLP)", ours_compiled),
        ("tracegrad", "micrograd's (its nn, our Value)", graph_ours),
        ("tracegrad, GC off", "micrograd's (its nn, our Value)", graph_ours_nogc),
        ("tracegrad, compiled", "micrograd's (its nn, our Value)", graph_compiled),
        ("tracegrad, compiled, GC off", "micrograd's (its nn, our Value)", graph_compiled_nogc),
        ("micrograd 0.1.0 as shipped (GC on)", "micrograd's", theirs),
        ("micrograd 0.1.0, GC off", "micrograd's", theirs_nogc),
        ("the floor: a bare node, no checks (not a library)", "micrograd's", floor),
        ("the floor, GC off", "micrograd's", floor_nogc),
    ]
    for name, shape, run in rows:
        seconds = run["median_step_s"]
        compile_s = run.get("compile_s")
        compiling = ""
        if compile_s is not None:
            eager = uncompiled[id(run)]["median_step_s"]
            compiling = f"{compile_s:.2f} ({compile_s / eager:.0f}×)"
        print(
            f"| {name} | {shape} | {1e3 * seconds:.1f} "
            f"| {theirs['median_step_s'] / seconds:.1f}× "
            f"| {theirs_nogc['median_step_s'] / seconds:.2f}× | {compiling} |"
        )

    ops = chain["ops"]
    total = chain["forward_s"] + chain["backward_s"]
    print(f"\nA chain of {ops:,} ops (x = x * 1.0001 + 0.0001):\n")
    print("| engine | forward | backward | nodes per second (forward + backward) |")
    print("|---|---:|---:|---:|")
    print(
        f"| tracegrad | {chain['forward_s']:.2f} s | {chain['backward_s']:.2f} s "
        f"| {ops / total:,.0f} |"
    )
    print(f"| micrograd 0.1.0 | — | fails: {their_chain['error'] or 'no error'} | — |")

    print("\nMemory:\n")
    print("| measure | tracegrad | micrograd 0.1.0 | micrograd ÷ tracegrad |")
    print("|---|---:|---:|---:|")
    ours_bytes, their_bytes = memory["bytes_per_node"], their_memory["bytes_per_node"]
    print(
        f"| bytes per node (x = x * w + b, Value operands) | {ours_bytes:.0f} "
        f"| {their_bytes:.0f} | {their_bytes / ours_bytes:.1f}× |"
    )
    print(
        f"| one demo step's graph (MB) | {graph['graph_mb']:.1f} "
        f"| {their_graph['graph_mb']:.1f} | {their_graph['graph_mb'] / graph['graph_mb']:.1f}× |"
    )


if __name__ == "__main__":
    main()
