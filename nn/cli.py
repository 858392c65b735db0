"""The ``tracegrad`` command."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    start = time.perf_counter()
    result = run_demo(args.out, steps=args.steps, seed=args.seed, progress=not args.quiet)
    seconds = time.perf_counter() - start
    print(
        f"two moons, scalar MLP 2-16-16-1, {args.steps} SGD steps in {seconds:.1f} s: "
        f"loss {result.loss:.4f}, training accuracy {result.accuracy:.0%}"
    )
    print(f"decision boundary: {result.decision_boundary}")
    print(f"compute graph of one neuron: {result.neuron_graph}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line: one sub-command per job."""
    parser = argparse.ArgumentParser(
        prog="tracegrad", description="A small autograd engine and neural-network library."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="train a scalar MLP on two moons; write a decision boundary and a graph"
    )
    demo.add_argument(
        "--out", default="tracegrad-demo", help="output folder (default: %(default)s)"
    )
    demo.add_argument("--steps", type=int, default=100, help="SGD steps (default: %(default)s)")
    demo.add_argument(
        "--seed", type=int, default=0, help="data and weights seed (default: %(default)s)"
    )
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tracegrad`` command with ``argv`` (the process's arguments by default)."""
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
