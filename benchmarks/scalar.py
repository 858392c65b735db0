"""The scalar engine against micrograd 0.1.0: time per training step, nodes per second, memory.

    make bench                      # or: python benchmarks/scalar.py [--steps 30]

The workload is the demo's (``nn.demo``): 100 points of two moons, MLP 2-16-16-1,
max-margin loss + 1e-4·L2, full-batch SGD. micrograd trains the very same model from the
very same initial weights, so both runs follow the same loss trajectory (checked).
Each measurement runs in a fresh Python process, so that one's garbage does not slow
the other's collector. micrograd must be importable (``make bench`` installs it into the
benchmark's own environment).
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
    from nn.demo import make_workload

    return make_workload(0)


def _time_steps(step: Callable[[int], float], steps: int) -> dict[str, Any]:
    times, losses = [], []
    for k in range(steps):
        start = time.perf_counter()
        losses.append(step(k))
        times.append(time.perf_counter() - start)
    return {"median_step_s": statistics.median(times), "losses": losses}


def worker_ours(steps: int) -> dict[str, Any]:
    from nn.demo import training_step

    model, X, signs = _our_workload()
    return _time_steps(lambda k: training_step(model, X, signs, k).loss, steps)


def worker_ours_unfused(steps: int) -> dict[str, Any]:
    """Our engine on micrograd's graph shape: every w·x and every + is a node of its own."""
    from autograd import Value
    from nn import scalar

    model, X, signs = _our_workload()

    def neuron_forward(self: Any, x: Any) -> Value:
        z = Value.sum([wi * xi for wi, xi in zip(self.w, x)] + [self.b])
        return self._act(z) if self._act is not None else z

    scalar.Neuron.forward = neuron_forward  # type: ignore[method-assign]
    from nn.demo import training_step

    return _time_steps(lambda k: training_step(model, X, signs, k).loss, steps)


def _micrograd_workload() -> tuple[Any, Any, list[float], Callable[[int], float]]:
    from micrograd.engine import Value
    from micrograd.nn import MLP

    ours, X, signs = _our_workload()
    model = MLP(2, [16, 16, 1])
    for theirs, mine in zip(model.parameters(), ours.parameters(), strict=True):
        theirs.data = mine.data

    def step(k: int) -> float:
        # micrograd's own demo notebook, as it is written there.
        inputs = [list(map(Value, row)) for row in X.tolist()]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(signs, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        total = data_loss + reg_loss
        model.zero_grad()
        total.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        return total.data

    return model, X, signs, step


def worker_micrograd(steps: int) -> dict[str, Any]:
    return _time_steps(_micrograd_workload()[3], steps)


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
    from nn.demo import margin_loss

    model, X, signs = _our_workload()
    return _graph_memory(lambda: margin_loss(model, X, signs))


def worker_micrograd_step_memory(_: int) -> dict[str, Any]:
    from micrograd.engine import Value

    model, X, signs, _ = _micrograd_workload()

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
    parser.add_argument("--steps", type=int, default=30, help="training steps timed (>= 20)")
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
    ours = run_worker("ours", steps, True)
    ours_nogc = run_worker("ours", steps, False)
    unfused = run_worker("ours_unfused", steps, True)
    theirs = run_worker("micrograd", steps, True)
    theirs_nogc = run_worker("micrograd", steps, False)
    trajectory_gap = max(abs(a - b) for a, b in zip(ours["losses"], theirs["losses"]))
    if trajectory_gap > 1e-9:
        raise RuntimeError(f"the two runs computed different losses (gap {trajectory_gap:.3g})")

    chain = run_worker("ours_chain", steps, True)
    their_chain = run_worker("micrograd_chain", steps, True)
    memory = run_worker("ours_memory", steps, True)
    their_memory = run_worker("micrograd_memory", steps, True)
    graph = run_worker("ours_step_memory", steps, True)
    their_graph = run_worker("micrograd_step_memory", steps, True)

    t = ours["median_step_s"]
    print(
        f"Demo workload (two moons, MLP 2-16-16-1), median of {steps} steps, same losses "
        f"(largest gap {trajectory_gap:.1e}):\n"
    )
    print("| engine | ms per step | micrograd (GC on) ÷ this | micrograd (GC off) ÷ this |")
    print("|---|---:|---:|---:|")
    rows = [
        ("tracegrad", t),
        ("tracegrad, GC off", ours_nogc["median_step_s"]),
        ("tracegrad, micrograd-shaped graph (no fused neuron)", unfused["median_step_s"]),
        ("micrograd 0.1.0 as shipped (GC on)", theirs["median_step_s"]),
        ("micrograd 0.1.0, GC off", theirs_nogc["median_step_s"]),
    ]
    for name, seconds in rows:
        print(
            f"| {name} | {1e3 * seconds:.1f} | {theirs['median_step_s'] / seconds:.1f}× "
            f"| {theirs_nogc['median_step_s'] / seconds:.1f}× |"
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
