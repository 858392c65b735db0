"""The ``tracegrad`` command: demo, train, evaluate, export, playground."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .words import counted


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    problem = _out_problem(Path(args.out), DEMO_FILES)
    if problem is not None:  # before training, as for train
        return _fail(f"--out {args.out}: {problem}")
    result = run_demo(args.out, steps=args.steps, seed=args.seed, progress=not args.quiet)
    print(
        f"two moons, scalar MLP 2-16-16-1, {counted(args.steps, 'SGD step')} in "
        f"{result.training_seconds:.1f} s: loss {result.loss:.4f}, "
        f"training accuracy {result.accuracy:.0%}"
    )
    print(f"pictures drawn in {result.drawing_seconds:.1f} s")
    print(f"decision boundary: {result.decision_boundary}")
    print(f"compute graph of one neuron: {result.neuron_graph}")
    if result.graph_note:
        print(f"note: {result.graph_note}")
    return 0


#: The files ``demo`` may write into its output folder.
DEMO_FILES = ("decision_boundary.png", "neuron_graph.svg", "neuron_graph.dot")

#: The widest hidden layer the command builds: wider is a typo (a layer of 10⁹ units
#: would not fit in memory, and would fail only once allocated, or not at all).
MAX_WIDTH = 100_000


def _hidden(text: str) -> list[int]:
    """Sizes separated by commas; an empty text is no hidden layer, an empty size between
    commas (``64,,32``, ``64,``) a typo that is refused, not skipped."""
    if not text.strip():
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden takes sizes like 64,64, not {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError("--hidden sizes must be positive")
    if any(size > MAX_WIDTH for size in sizes):
        raise argparse.ArgumentTypeError(f"--hidden sizes must be at most {MAX_WIDTH:,}")
    return sizes


def _report(task: str, results: dict[str, float], prefix: str) -> str:
    if task == "classification":
        return f"{prefix} accuracy {results['accuracy']:.2%} (loss {results['loss']:.4f})"
    return f"{prefix} MSE {results['loss']:.4f}, R² {results['r2']:.4f}"


def _save_pictures(model: Any, split: Any, history: Any, out: Path) -> None:
    import numpy as np

    from nn import plot
    from nn.metrics import confusion_matrix
    from nn.train import predict

    plot.save_figure(plot.training_curves(history, title=split.name), out / "training_curves.png")
    if split.task == "regression":
        from nn.datasets import regression_function

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
    """``train(recipe)`` with the recipe the options give; then the files and the report."""
    from dataclasses import fields

    from nn.train import evaluate

    from .recipe import Recipe, loss_for, train

    _check_data_root(args, args.dataset)
    out = Path(args.out)
    problem = _out_problem(out, ("model.npz", "history.json", CHECKPOINT, *PICTURES))
    if problem is not None:  # before training, not after: no run is lost to a typo
        return _fail(f"--out {out}: {problem}")
    recipe = Recipe.for_dataset(
        args.dataset,
        **{f.name: getattr(args, f.name) for f in fields(Recipe) if f.name != "dataset"},
    )
    if args.resume:
        problem = _resume_problem(out, recipe)
        if problem is not None:
            return _fail(f"--resume: {problem}")
    run = train(
        recipe,
        progress=not args.quiet,
        compile=args.compile,
        checkpoint=out / CHECKPOINT,
        resume=args.resume,
    )
    model, split, history = run.model, run.split, run.history
    out.mkdir(parents=True, exist_ok=True)
    metadata = {
        "dataset": recipe.dataset,
        "seed": recipe.seed,
        "samples": recipe.samples,
        "task": split.task,
        "recipe": recipe.as_dict(),
    }
    if run.interrupted_after is not None:
        finished = run.interrupted_after
        model.save(out / "model.npz", metadata={**metadata, "interrupted_after": finished})
        history.save(out / "history.json")
        print(
            f"tracegrad: interrupted after {finished} of {counted(recipe.epochs, 'epoch')}; "
            f"saved the model as it stands and the history so far to {out}; the same "
            "command with --resume goes on from there",
            file=sys.stderr,
        )
        return 130
    model.save(out / "model.npz", metadata={**metadata, "seconds": run.seconds})
    history.save(out / "history.json")
    _save_pictures(model, split, history, out)

    loss = loss_for(split.task)
    train_results = evaluate(model, run.X_fit, run.y_fit, loss=loss, metrics=run.metrics)
    test_results = evaluate(model, split.X_test, split.y_test, loss=loss, metrics=run.metrics)
    print(_report(split.task, train_results, "training"))
    print(_report(split.task, _unprefixed(history.last), "validation"))
    print(_report(split.task, test_results, "test"))
    print(
        f"trained {counted(model.num_parameters(), 'parameter', grouped=True)} for "
        f"{counted(recipe.epochs, 'epoch')} on {counted(len(run.X_fit), 'sample', grouped=True)} "
        f"({len(run.X_val):,} held out for validation, the "
        f"{counted(len(split.X_test), 'test sample', grouped=True)} used once, at the end); "
        f"wall time {run.seconds:.1f} s; wrote {out}"
    )
    return 0


#: The checkpoint ``train`` writes into its output folder after each epoch.
CHECKPOINT = "checkpoint.npz"

#: Recipe fields that say where and how fast a run computes, not what it computes: a
#: resumed run may change them.
_HOW_NOT_WHAT = ("data_root", "threads")


def _resume_problem(out: Path, recipe: Any) -> str | None:
    """Why the run in ``out`` cannot go on with ``recipe``, or None: there must be a
    checkpoint, and the recipe must be the one the run was started with (as the model
    file of an interrupted run records it; the checkpoint itself refuses other data and
    another model or optimiser)."""
    from nn.module import load_metadata

    if not (out / CHECKPOINT).is_file():
        return (
            f"no checkpoint to go on from in {out} (a run writes {CHECKPOINT} there after "
            "each epoch)"
        )
    if not (out / "model.npz").is_file():
        return None  # killed before it could save: the checkpoint's own checks remain
    stored = load_metadata(out / "model.npz").get("recipe")
    if stored is None:
        return None
    given = recipe.as_dict()
    differ = [
        f"--{name.replace('_', '-')} {stored[name]!r}, not {given[name]!r}"
        for name in given
        if name not in _HOW_NOT_WHAT and name in stored and stored[name] != given[name]
    ]
    if differ:
        return f"the run in {out} was started with {'; '.join(differ)}: give its options"
    return None


#: The pictures ``train`` may write into its output folder.
PICTURES = (
    "training_curves.png",
    "regression_fit.png",
    "confusion_matrix.png",
    "decision_boundary.png",
    "mistakes.png",
)


def _out_problem(out: Path, names: Sequence[str]) -> str | None:
    """Why the files ``names`` cannot be written into the folder ``out``, or None.

    The rules are the writes' own (``tracegrad/files.py``): the folder and its missing
    parents are made, so each existing part of the path must be a folder that can be
    written into (when it is not there yet: its nearest existing parent), and a file
    to be replaced must not be a folder or read-only. Each reason says what to do, since
    the user's next step is to type the command again.
    """
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        if existing == out:
            return (
                "it is a file, not a folder: --out names the folder to write the files into "
                "(made if missing), so name another"
            )
        return f"{existing} is a file, so no folder can be made in it: name another --out"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write into {existing} (permission denied): name another --out"
    for name in names:
        problem = _file_problem(out / name)
        if problem is not None:
            return problem
    return None


def _file_problem(target: Path) -> str | None:
    """Why the file ``target`` cannot be (re)written, or None."""
    if target.is_dir():
        return f"{target} is a folder, where a file is to be written: remove it or write elsewhere"
    if target.exists() and not stat.S_IMODE(target.stat().st_mode) & stat.S_IWUSR:
        return f"{target} is read-only; make it writable (chmod u+w) or write elsewhere"
    return None


def _export_problem(out: Path) -> str | None:
    """Why the ONNX file ``out`` cannot be written, or None."""
    if out.is_dir():
        return f"{out} is a folder: name the .onnx file to write, such as {out / 'model.onnx'}"
    existing = out.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, so no folder can be made in it: write {out.name} elsewhere"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write into {existing} (permission denied): write {out.name} elsewhere"
    return _file_problem(out)


def _check_data_root(args: argparse.Namespace, dataset: str) -> None:
    """A data root that does not exist is a mistake (a typo): say so, and never create
    it. $TRACEGRAD_DATA counts only for the image sets, since only they read it: a run on
    moons does not fail for a variable set for another project."""
    from nn.datasets import IMAGE_SETS, DatasetError

    if args.data_root is not None and not Path(args.data_root).is_dir():
        raise DatasetError(
            f"--data-root {args.data_root}: the folder does not exist (it names the folder "
            "that holds mnist/ and fashion-mnist/)"
        )
    shared = os.environ.get("TRACEGRAD_DATA")
    if args.data_root is None and dataset in IMAGE_SETS and shared and not Path(shared).is_dir():
        raise DatasetError(
            f"TRACEGRAD_DATA={shared}: the folder does not exist (it names the folder that "
            "holds mnist/ and fashion-mnist/)"
        )


def _unprefixed(record: dict[str, float]) -> dict[str, float]:
    """The validation figures of a History record, without their ``val_`` prefix."""
    return {key[4:]: value for key, value in record.items() if key.startswith("val_")}


def _evaluate(args: argparse.Namespace) -> int:
    from nn.module import load, load_metadata
    from nn.train import evaluate

    from .recipe import load_split, loss_for, metrics_for

    model = load(args.model)
    chosen = _split_of(args, load_metadata(args.model))
    if isinstance(chosen, str):
        return _fail(f"evaluate: {chosen}")
    dataset, seed, samples = chosen
    _check_data_root(args, dataset)
    split = load_split(dataset, seed=seed, samples=samples, root=args.data_root)
    problem = _misfit(model, split)
    if problem is not None:
        return _fail(f"evaluate: {problem}")
    try:
        results = evaluate(
            model,
            split.X_test,
            split.y_test,
            loss=loss_for(split.task),
            metrics=metrics_for(split.task),
        )
    except (TypeError, ValueError) as error:  # what _misfit did not foresee: still one line
        return _fail(" ".join(str(error).split()))
    print(_report(split.task, results, f"{dataset} test"))
    return 0


def _split_of(args: argparse.Namespace, metadata: dict[str, Any]) -> tuple[str, int, Any] | str:
    """The data set, seed and size to evaluate on: the options', else the model file's
    (whose metadata was checked when the file was read: ``nn.modelfile.METADATA``); or
    why there is none. A size given for an image set, which has one size, is refused:
    ignored, it would evaluate on another set than the one meant."""
    dataset = args.dataset if args.dataset is not None else metadata.get("dataset")
    if dataset is None:
        return "the model does not say its data set: name it with --dataset"
    seed = args.seed if args.seed is not None else metadata.get("seed", 0)
    if args.samples is not None:
        problem = _sizes_a_fixed_set(dataset, args.samples)
        if problem is not None:
            return f"--samples {args.samples}: {problem}: leave --samples out"
        return dataset, seed, args.samples
    if args.dataset is not None and args.dataset != metadata.get("dataset"):
        return dataset, seed, None  # the file's size was its own data set's
    problem = _sizes_a_fixed_set(dataset, metadata.get("samples"))
    if problem is not None:
        return f"the model's metadata says samples {metadata['samples']}, but {problem}"
    return dataset, seed, metadata.get("samples")


def _sizes_a_fixed_set(dataset: str | None, samples: int | None) -> str | None:
    """Why ``samples`` cannot size ``dataset``, or None: an image set has one size."""
    from nn.datasets import IMAGE_SETS

    if samples is None or dataset not in IMAGE_SETS:
        return None
    return f"{dataset} is an image set of one size (--samples sizes a synthetic set)"


def _misfit(model: Any, split: Any) -> str | None:
    """Why ``model`` cannot be evaluated on ``split``, or None: its inputs must be the
    data set's features, and its outputs one row per sample of one per class (one for
    regression). Run on the wrong data set, a model either fails deep inside or, worse,
    gives a score that means nothing (a 3-class model on the 2 classes of moons)."""
    import numpy as np

    from nn.train import input_features, predict

    elsewhere = "; evaluate it on the data set it was trained on"
    known = input_features(model)
    if known is not None and known[0] != split.features:
        return (
            f"the model takes {counted(known[0], 'feature')} but {split.name} has "
            f"{counted(split.features, 'feature')}{elsewhere}"
        )
    try:
        outputs = predict(model, np.zeros((1, *split.X_test.shape[1:]), np.float32))
    except (TypeError, ValueError) as error:
        return f"the model does not take {split.name}'s samples ({error}){elsewhere}"
    width = int(np.prod(outputs.shape[1:]))
    wanted = 1 if split.task == "regression" else split.classes
    if width != wanted:
        has = "is a regression (1 output)" if split.task == "regression" else "has"
        if split.task == "classification":
            has += f" {counted(split.classes, 'class')}"
        return f"the model gives {counted(width, 'output')} but {split.name} {has}{elsewhere}"
    if outputs.ndim != 2:  # the loss compares one row of outputs per sample
        return (
            f"the model gives an output of shape {tuple(outputs.shape)} for 1 sample, where "
            f"the loss needs one row per sample: shape (1, {wanted})"
        )
    return None


def _export(args: argparse.Namespace) -> int:
    from nn.interop import to_onnx
    from nn.module import ModelFileError, load

    problem = _export_problem(Path(args.out))
    if problem is not None:  # before reading the model: the file name is the mistake
        return _fail(problem)
    try:
        model, flattened = _flattened(load(args.model), args.input_shape)
        to_onnx(model, args.out, input_shape=args.input_shape)
    except FileNotFoundError:
        return _fail(f"{args.model}: no such file")
    except (ModelFileError, ModuleNotFoundError, TypeError, ValueError, OSError) as error:
        return _fail(str(error))
    print(f"wrote {args.out} (ONNX opset 17, dynamic batch{flattened}) from {args.model}")
    return 0


def _flattened(model: Any, input_shape: tuple[int, ...] | None) -> tuple[Any, str]:
    """The model to export for samples of ``input_shape``, and what was added to it.

    ``train`` makes an MLP of flat features, and the image sets are flattened row by row
    before it (``nn.datasets.mnist``): given an image's shape whose pixels are its
    features (28,28 for MNIST's 784), the file takes images and flattens them first, as
    training did; a program that serves the model has images at hand, not rows. A shape
    the model takes as it is (its last axis is the features) is left alone.
    """
    import math

    from nn.layers import Flatten, Sequential
    from nn.train import input_features

    known = input_features(model)
    if input_shape is None or known is None:
        return model, ""
    features, flattens = known
    if flattens or input_shape[-1] == features:
        return model, ""
    if math.prod(input_shape) != features:
        raise ValueError(
            f"--input-shape {','.join(map(str, input_shape))}: the model takes "
            f"{counted(features, 'feature')}, and a sample of that shape holds "
            f"{math.prod(input_shape)} values: give sizes that multiply to {features}, such "
            f"as {features}"
        )
    shape = "×".join(map(str, input_shape))
    return Sequential(Flatten(), model), f"; a {shape} sample is flattened to {features} features"


def _playground(args: argparse.Namespace) -> int:
    from .playground import serve

    try:
        return serve(args.port, open_browser=not args.no_browser)
    except OSError as error:
        return _fail(
            f"--port {args.port}: cannot listen on 127.0.0.1:{args.port} "
            f"({error.strerror or error}); choose another port, or leave --port out for a "
            "free one"
        )


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port lies between 0 and 65535, got {value}")
    return value


def _fail(message: str) -> int:
    """Report a failed run on one line, as command-line tools do; exit status 1."""
    print(f"tracegrad: error: {_one_line(message)}", file=sys.stderr)
    return 1


def _one_line(message: str) -> str:
    """``message`` with every character that is not printable written as an escape: a file
    name may hold a newline (or another line break), and the error stays one line."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in message)


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 28,28, got {text!r}") from None
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return shape


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake reported on one line: ``tracegrad: error: ...``.

    An option that no sub-command knows is reported by the sub-command it was given to,
    with the option it is closest to: argparse alone sends it up to the top-level parser,
    whose help lists the commands but not the option meant (``--batch_size``, typed with a
    PyTorch or Keras habit, is ``--batch-size`` here).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The sub-commands' parsers by name (filled in by ``build_parser``).
        self.commands: dict[str, _Parser] = {}

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"tracegrad: error: {_one_line(message)} (see {self.prog} --help)\n")

    def parse_command_line(self, argv: Sequence[str] | None = None) -> argparse.Namespace:
        """``parse_args``, with options and arguments that are not the sub-command's
        reported by it (and before a missing required option, so that a misspelt option
        is named first rather than reported missing)."""
        arguments = list(sys.argv[1:] if argv is None else argv)
        command = next((self.commands[a] for a in arguments if a in self.commands), None)
        rest = arguments[arguments.index(command.name) + 1 :] if command is not None else []
        if command is not None and not {"-h", "--help"} & set(rest):  # help first, as asked
            unknown = command.unknown_options(rest)
            if len(unknown) == 1:
                option, meant = unknown[0]
                command.error(
                    f"unrecognized option {option}" + (f": did you mean {meant}?" if meant else "")
                )
            if unknown:
                listed = (
                    f"{option} (did you mean {meant}?)" if meant else option
                    for option, meant in unknown
                )
                command.error(f"unrecognized options {', '.join(listed)}")
        namespace, extra = self.parse_known_args(arguments)
        if extra:
            (command or self).error(f"unrecognized arguments: {' '.join(extra)}")
        problem = _sizes_a_fixed_set(
            getattr(namespace, "dataset", None), getattr(namespace, "samples", None)
        )
        if command is not None and problem is not None:
            command.error(f"--samples {namespace.samples}: {problem}: leave --samples out")
        return namespace

    @property
    def name(self) -> str:
        """The sub-command's name: the last word of its ``prog`` ("tracegrad train")."""
        return self.prog.split()[-1]

    def unknown_options(self, arguments: Sequence[str]) -> list[tuple[str, str | None]]:
        """The long options among ``arguments`` that this parser does not know (nor as a
        prefix of one it knows, which argparse accepts), each with the one it most likely
        means, or None. Nothing after ``--`` is an option."""
        known = [option for option in self._option_string_actions if option.startswith("--")]
        found = []
        for argument in arguments:
            if argument == "--":
                break
            option = argument.split("=", 1)[0]
            if option.startswith("--") and not any(k.startswith(option) for k in known):
                found.append((option, _closest(option, known)))
        return found


def _closest(option: str, known: Sequence[str]) -> str | None:
    """The known option that ``option`` most likely means: the same once underscores are
    dashes and capitals small (``--batch_size``, ``--Batch-Size``), else a near spelling."""
    import difflib

    written = option.replace("_", "-").lower()
    if written in known:
        return written
    close = difflib.get_close_matches(written, known, n=1, cutoff=0.75)
    return close[0] if close else None


class _Help(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where the help says it (defaults that depend
    on the data set) or there is none to show (flags); the examples below the options
    keep their lines (one command each, to copy)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False or "default" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action) or ""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _count(text: str) -> int:
    """A count nothing allocates by (epochs, a batch size), within what a model file may
    record of it (``nn.modelfile.COUNT``)."""
    from nn.modelfile import COUNT

    value = _positive_int(text)
    if value > COUNT.high:
        raise argparse.ArgumentTypeError(f"must be at most {COUNT.high}, got {value}")
    return value


def _threads(text: str) -> int:
    from nn.train import MAX_THREADS

    value = _positive_int(text)
    if value > MAX_THREADS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_THREADS}, got {value}")
    return value


def _path(text: str) -> str:
    """A file or folder's name: an empty one would silently mean the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a file or folder name, got {text!r}")
    return text


def _samples(text: str) -> int:
    """A synthetic set's size, within the bounds a model file may record."""
    from nn.modelfile import MAX_SAMPLES, MIN_SAMPLES

    value = _positive_int(text)
    if value < MIN_SAMPLES:
        raise argparse.ArgumentTypeError(
            f"a synthetic set needs at least {MIN_SAMPLES} samples to split into training, "
            f"validation and test data, got {value}"
        )
    if value > MAX_SAMPLES:
        raise argparse.ArgumentTypeError(f"at most {MAX_SAMPLES:,} samples, got {value:,}")
    return value


def _seed(text: str) -> int:
    """A seed of numpy's generators, within the bounds a model file may record."""
    from nn.modelfile import SEED

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not SEED.low <= value <= SEED.high:
        raise argparse.ArgumentTypeError(f"a seed lies in [{SEED.low}, 2**64 - 1], got {value}")
    return value


def _float(text: str, expected: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def _positive_float(text: str) -> float:
    value = _float(text, "a positive number")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _probability(text: str) -> float:
    value = _float(text, "a number in [0, 1)")
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1), got {text}")
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"tracegrad {version('tracegrad')}"
    except PackageNotFoundError:
        return "tracegrad (not installed as a package)"


def build_parser() -> _Parser:
    """The command line: one sub-command per job; every option's default is in --help."""
    from nn.activations import ACTIVATIONS

    from .recipe import dataset_names

    parser = _Parser(
        prog="tracegrad", description="A small autograd engine and neural-network library."
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    demo = commands.add_parser(
        "demo",
        help="train a scalar MLP on two moons; write a decision boundary and a graph",
        formatter_class=_Help,
    )
    demo.add_argument("--out", type=_path, default="tracegrad-demo", help="output folder")
    demo.add_argument("--steps", type=_positive_int, default=100, help="SGD steps")
    demo.add_argument("--seed", type=_seed, default=0, help="data and weights seed")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(run=_demo)

    train = commands.add_parser(
        "train",
        help="train an MLP on a data set and save it",
        formatter_class=_Help,
    )
    train.add_argument("--dataset", required=True, choices=dataset_names(), help="the data set")
    train.add_argument(
        "--hidden",
        type=_hidden,
        default=None,
        help="hidden layer sizes, comma-separated (default: 64,64; 512,256 for the image sets)",
    )
    train.add_argument(
        "--activation",
        default="relu",
        choices=sorted(ACTIVATIONS),
        help="activation between layers",
    )
    train.add_argument("--dropout", type=_probability, default=0.0, help="dropout probability")
    train.add_argument("--optimizer", default="adam", choices=["adam", "sgd"], help="optimiser")
    train.add_argument(
        "--lr",
        type=_positive_float,
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
        "--epochs",
        type=_count,
        default=None,
        help="epochs (default: 50; 10 for the image sets)",
    )
    train.add_argument(
        "--batch-size",
        type=_count,
        default=None,
        help="minibatch size (default: 32; 128 for the image sets)",
    )
    train.add_argument(
        "--samples",
        type=_samples,
        default=None,
        help="size of a synthetic set (default: 1000)",
    )
    train.add_argument(
        "--data-root",
        type=_path,
        default=None,
        help="the folder that holds mnist/ and fashion-mnist/ "
        "(default: $TRACEGRAD_DATA, then ~/.cache/tracegrad)",
    )
    train.add_argument(
        "--threads",
        type=_threads,
        default=None,
        help="BLAS threads (default: at each epoch, the cores other processes leave idle)",
    )
    train.add_argument("--seed", type=_seed, default=0, help="data split, weights and shuffling")
    train.add_argument("--out", type=_path, default="runs/model", help="output folder")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument(
        "--resume",
        action="store_true",
        help=f"go on from the checkpoint in --out ({CHECKPOINT}, written after each epoch) "
        "with the options the run was started with: to the last bit, the run never stopped",
    )
    train.add_argument(
        "--compile",
        action="store_true",
        help="run each training step as code compiled from its first call: the same "
        "numbers, faster (autograd.compile)",
    )
    train.set_defaults(run=_train)

    evaluate = commands.add_parser(
        "evaluate",
        help="evaluate a saved model on its test set",
        formatter_class=_Help,
    )
    evaluate.add_argument("model", type=_path, help="a model.npz written by train")
    evaluate.add_argument(
        "--dataset",
        choices=dataset_names(),
        default=None,
        help="the data set (default: the one the model was trained on)",
    )
    evaluate.add_argument(
        "--seed", type=_seed, default=None, help="the split's seed (default: the model's)"
    )
    evaluate.add_argument(
        "--samples",
        type=_samples,
        default=None,
        help="size of a synthetic set (default: the model's)",
    )
    evaluate.add_argument(
        "--data-root",
        type=_path,
        default=None,
        help="the folder that holds mnist/ and fashion-mnist/ "
        "(default: $TRACEGRAD_DATA, then ~/.cache/tracegrad)",
    )
    evaluate.set_defaults(run=_evaluate)

    export = commands.add_parser(
        "export",
        help="write a saved model as an ONNX file",
        formatter_class=_Help,
    )
    export.add_argument("model", type=_path, help="a model.npz written by train or Module.save")
    export.add_argument("out", type=_path, help="the .onnx file to write")
    export.add_argument(
        "--input-shape",
        type=_shape,
        default=None,
        help="one sample's shape, e.g. 28,28 for the image sets, whose pixels the model "
        "takes flattened (default: the first Linear layer's inputs)",
    )
    export.set_defaults(run=_export)

    playground = commands.add_parser(
        "playground",
        help="watch a network learn in the browser (a local server; Ctrl-C stops it)",
        formatter_class=_Help,
    )
    playground.add_argument(
        "--port",
        type=_port,
        default=0,
        help="the port on 127.0.0.1 (default: a free one, printed)",
    )
    playground.add_argument(
        "--no-browser", action="store_true", help="print the address; open no browser"
    )
    playground.set_defaults(run=_playground)
    parser.commands = dict(commands.choices)
    for name, command in parser.commands.items():
        if name in EXAMPLES:
            command.epilog = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name])
    return parser


#: The commands each sub-command's help ends with, in the order a newcomer runs them (the
#: later ones use the files the earlier ones write). tests/test_cli.py runs every one as
#: it is written here: an example that does not run teaches the wrong thing.
EXAMPLES = {
    "demo": ["tracegrad demo --out demo"],
    "train": [
        "tracegrad train --dataset spiral --out runs/spiral",
        "tracegrad train --dataset mnist --epochs 1 --out runs/mnist",
    ],
    "evaluate": [
        "tracegrad evaluate runs/spiral/model.npz",
        "tracegrad evaluate runs/mnist/model.npz",
    ],
    "export": [
        "tracegrad export runs/spiral/model.npz spiral.onnx",
        "tracegrad export runs/mnist/model.npz mnist.onnx --input-shape 28,28",
    ],
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tracegrad`` command with ``argv`` (the process's arguments by default).

    Exit status: 0 done, 1 a failed run (a user's mistake reported on one line, no
    traceback: a traceback is for our bugs), 2 a usage mistake, 130 interrupted (Ctrl-C).
    """
    import numpy as np

    from nn.datasets import DatasetError
    from nn.module import ModelFileError
    from nn.train import TrainingDivergedError

    args = build_parser().parse_command_line(argv)
    try:
        # An overflow is no news of its own: a run that overflows diverges, and fit says
        # so on one line (numpy's warning would add lines of its own before it).
        with np.errstate(over="ignore", invalid="ignore"):
            return int(args.run(args))
    except FileNotFoundError as error:
        return _fail(f"{error.filename or error}: no such file")
    except (ModelFileError, DatasetError, TrainingDivergedError) as error:
        return _fail(" ".join(str(error).split()))
    except (FileExistsError, NotADirectoryError) as error:  # a file where a folder goes
        return _fail(
            f"{error.filename}: a file stands where a folder is needed: move it, or name "
            "another path"
        )
    except OSError as error:  # the machine said no: a full disk, a permission
        where = f"{error.filename}: " if error.filename else ""
        return _fail(f"{where}{error.strerror or error}")
    except KeyboardInterrupt:
        print("tracegrad: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
