"""The ``tracegrad`` command: demo, train, evaluate."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


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


def _hidden(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden takes sizes like 64,64, not {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError("--hidden sizes must be positive")
    return sizes


def _report(task: str, results: dict[str, float], prefix: str) -> str:
    if task == "classification":
        return f"{prefix} accuracy {results['accuracy']:.2%} (loss {results['loss']:.4f})"
    return f"{prefix} MSE {results['loss']:.4f}, R² {results['r2']:.4f}"


def _save_pictures(model: Any, split: Any, history: Any, out: Path) -> None:
    import numpy as np

    from . import plot
    from .metrics import confusion_matrix
    from .train import predict

    plot.save_figure(plot.training_curves(history, title=split.name), out / "training_curves.png")
    if split.task == "regression":
        from .datasets import regression_function

        figure = plot.regression_fit(
            lambda grid: predict(model, grid), split.X_test, split.y_test, truth=regression_function
        )
        plot.save_figure(figure, out / "regression_fit.png")
        return
    outputs = predict(model, split.X_test)
    predicted = outputs.argmax(axis=1)
    counts = confusion_matrix(outputs, split.y_test, outputs.shape[1])
    plot.save_figure(plot.confusion_matrix(counts), out / "confusion_matrix.png")
    if split.features == 2:
        figure = plot.decision_boundary(
            lambda grid: predict(model, grid.astype(np.float32)).argmax(axis=1),
            split.X_test,
            split.y_test,
            title=f"{split.name}: test set",
        )
        plot.save_figure(figure, out / "decision_boundary.png")
    if split.features == 784:
        wrong = np.flatnonzero(predicted != split.y_test)[:30]
        if len(wrong):
            figure = plot.image_grid(
                split.X_test[wrong],
                split.y_test[wrong].tolist(),
                predictions=predicted[wrong].tolist(),
                title="test images it gets wrong: label → prediction",
            )
            plot.save_figure(figure, out / "mistakes.png")


def _train(args: argparse.Namespace) -> int:
    from . import optim
    from .experiment import build_model, defaults_for, load_split, loss_for
    from .train import evaluate, fit

    for key, value in defaults_for(args.dataset).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    start = time.perf_counter()
    split = load_split(
        args.dataset,
        seed=args.seed,
        samples=args.samples,
        root=args.data_root,
        progress=not args.quiet,
    )
    model = build_model(split, args.hidden, args.activation, args.dropout, args.seed)
    if args.optimizer == "adam":
        optimizer: Any = optim.Adam(model.parameters(), lr=args.lr)
    else:
        optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    schedules = {
        "none": lambda: None,
        "cosine": lambda: optim.CosineAnnealingLR(optimizer, T_max=args.epochs),
        "step": lambda: optim.StepLR(optimizer, step_size=max(1, args.epochs // 3)),
    }
    loss = loss_for(split.task)
    metrics = ["accuracy"] if split.task == "classification" else ["r2"]
    history = fit(
        model,
        split.X_train,
        split.y_train,
        loss=loss,
        optimizer=optimizer,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation=(split.X_test, split.y_test),
        metrics=metrics,
        scheduler=schedules[args.schedule](),
        progress=not args.quiet,
        rng=args.seed,
    )
    seconds = time.perf_counter() - start

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = {key: value for key, value in vars(args).items() if key != "run"}
    model.save(
        out / "model.npz",
        metadata={
            "dataset": args.dataset,
            "seed": args.seed,
            "samples": args.samples,
            "task": split.task,
            "seconds": seconds,
            "command": command,
        },
    )
    history.save(out / "history.json")
    _save_pictures(model, split, history, out)

    train_results = evaluate(model, split.X_train, split.y_train, loss=loss, metrics=metrics)
    test_results = evaluate(model, split.X_test, split.y_test, loss=loss, metrics=metrics)
    print(_report(split.task, train_results, "training"))
    print(_report(split.task, test_results, "test"))
    print(
        f"trained {model.num_parameters():,} parameters for {args.epochs} epochs; "
        f"wall time {seconds:.1f} s; wrote {out}"
    )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .experiment import load_split, loss_for
    from .module import load, load_metadata
    from .train import evaluate

    model = load(args.model)
    metadata = load_metadata(args.model)
    dataset = args.dataset or metadata.get("dataset")
    if dataset is None:
        raise SystemExit("evaluate: name the data set with --dataset")
    seed = args.seed if args.seed is not None else int(metadata.get("seed", 0))
    samples = args.samples if args.samples is not None else metadata.get("samples")
    split = load_split(dataset, seed=seed, samples=samples, root=args.data_root)
    metrics = ["accuracy"] if split.task == "classification" else ["r2"]
    results = evaluate(
        model, split.X_test, split.y_test, loss=loss_for(split.task), metrics=metrics
    )
    print(_report(split.task, results, f"{dataset} test"))
    return 0


def _export(args: argparse.Namespace) -> int:
    from .module import ModelFileError, load
    from .onnx_export import to_onnx

    try:
        model = load(args.model)
        to_onnx(model, args.out, input_shape=args.input_shape)
    except FileNotFoundError:
        return _fail(f"{args.model}: no such file")
    except (ModelFileError, ModuleNotFoundError, TypeError, ValueError, OSError) as error:
        return _fail(str(error))
    print(f"wrote {args.out} (ONNX opset 17, dynamic batch) from {args.model}")
    return 0


def _fail(message: str) -> int:
    """Report a failed run on one line, as command-line tools do; exit status 1."""
    print(f"tracegrad: error: {message}", file=sys.stderr)
    return 1


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 28,28, got {text!r}") from None
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return shape


def build_parser() -> argparse.ArgumentParser:
    """The command line: one sub-command per job."""
    from .experiment import dataset_names

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

    train = commands.add_parser("train", help="train an MLP on a data set and save it")
    train.add_argument("--dataset", required=True, choices=dataset_names())
    train.add_argument(
        "--hidden",
        type=_hidden,
        default=None,
        help="hidden layer sizes, comma-separated (default: 64,64; 512,256 for the image sets)",
    )
    train.add_argument(
        "--activation", default="relu", choices=["relu", "tanh", "sigmoid", "leaky_relu"]
    )
    train.add_argument("--dropout", type=float, default=0.0)
    train.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
    train.add_argument(
        "--lr",
        type=float,
        default=None,
        help="learning rate (default: 0.01; 0.001 for the image sets)",
    )
    train.add_argument(
        "--schedule",
        default=None,
        choices=["none", "cosine", "step"],
        help="learning-rate schedule (default: none; cosine for the image sets)",
    )
    train.add_argument(
        "--epochs", type=int, default=None, help="epochs (default: 50; 10 for the image sets)"
    )
    train.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="minibatch size (default: 32; 128 for the image sets)",
    )
    train.add_argument(
        "--samples", type=int, default=None, help="size of a synthetic set (default: 1000)"
    )
    train.add_argument(
        "--data-root",
        default=None,
        help="folder of an image set's files "
        "(default: $TRACEGRAD_DATA/NAME, then ~/.cache/tracegrad/NAME)",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", default="runs/model", help="output folder")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a saved model on its test set")
    evaluate.add_argument("model", help="a model.npz written by train")
    evaluate.add_argument(
        "--dataset",
        choices=dataset_names(),
        default=None,
        help="the data set (default: the one the model was trained on)",
    )
    evaluate.add_argument("--seed", type=int, default=None)
    evaluate.add_argument("--samples", type=int, default=None)
    evaluate.add_argument("--data-root", default=None, help="folder of an image set's files")
    evaluate.set_defaults(run=_evaluate)

    export = commands.add_parser("export", help="write a saved model as an ONNX file")
    export.add_argument("model", help="a model.npz written by train or Module.save")
    export.add_argument("out", help="the .onnx file to write")
    export.add_argument(
        "--input-shape",
        type=_shape,
        default=None,
        help="one sample's shape, e.g. 28,28 (default: the first Linear layer's inputs)",
    )
    export.set_defaults(run=_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tracegrad`` command with ``argv`` (the process's arguments by default)."""
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
