"""A user's mistake in a call to nn is a clear error, never a raw Python one.

The property, over every public function and class of ``nn`` (each name of
``nn.__all__`` that is one, and those of ``nn.optim``, ``nn.data``, ``nn.scalar``,
``nn.functional``, ``nn.callbacks``, ``nn.utils``, ``nn.plot``, ``nn.init`` and
``nn.datasets``, its image sets' loaders aside, which the last cases check; and the
methods of ``Module`` and ``History`` that take arguments),
every argument, and values of wrong types and out of range drawn by hypothesis: a call
with one argument replaced by such a value either works or raises a ``TypeError`` or
``ValueError`` (or one of the library's own errors) whose message names the function
and the argument, never an ``AttributeError``, ``IndexError``, ``KeyError``,
``ZeroDivisionError`` or numpy's own error from deep inside. Two more: a value the
signature's type rules out (a float for an int, a string for a flag) is refused, not
used; and NaN or an infinity where a setting (a float) belongs is refused. The
mechanism is ``nn/checks.py``: every entry point checks its arguments with it.

The public names are enumerated, so a new one fails ``test_every_public_name_has_a_valid_call``
until ``VALID`` says how to call it. Then come the issue's cases, one by one.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import tempfile
import types
import typing
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nn
from autograd import Tensor, Value
from nn.datasets import DatasetError
from nn.modelfile import ModelFileError

#: A folder the calls run in: junk paths are written and read there, nowhere else.
_FOLDER = tempfile.TemporaryDirectory(prefix="tracegrad-api-")
_SAVED = str(Path(_FOLDER.name) / "saved.npz")
nn.MLP(2, [3, 2], rng=0).save(_SAVED, metadata={"dataset": "moons"})


#: The loaders of the image sets: a valid call needs the files (the last cases check
#: them); and ImageSet, the description of a set that they are given.
IMAGE_LOADERS = {"mnist", "fashion_mnist", "load_image_set", "ImageSet"}


def _public() -> dict[str, Any]:
    """Every public function and class: nn.__all__, and nn.optim, nn.data, nn.scalar,
    nn.functional, nn.callbacks, nn.utils."""
    found = {}
    for name in nn.__all__:
        found[f"nn.{name}"] = getattr(nn, name)
    for module in (
        nn.optim, nn.data, nn.scalar, nn.functional, nn.callbacks, nn.utils, nn.plot, nn.init
    ):  # fmt: skip
        for name, value in vars(module).items():
            if not name.startswith("_") and getattr(value, "__module__", "") == module.__name__:
                found[f"{module.__name__}.{name}"] = value
    for name in set(nn.datasets.__all__) - IMAGE_LOADERS:
        found[f"nn.datasets.{name}"] = getattr(nn.datasets, name)
    return {
        name: value
        for name, value in found.items()
        if (inspect.isfunction(value) or inspect.isclass(value))
        and not (inspect.isclass(value) and issubclass(value, BaseException))
    }


PUBLIC = _public()
#: The public methods of the library's classes that take arguments: checked as the
#: functions are (on one model, one history).
_HOLDER = nn.MLP(2, [3, 2], rng=0)
_HISTORY = str(Path(_FOLDER.name) / "history.json")
nn.History([{"loss": 1.0}]).save(_HISTORY)
PUBLIC.update(
    {
        "nn.Module.train": _HOLDER.train,
        "nn.Module.save": _HOLDER.save,
        "nn.Module.load": _HOLDER.load,
        "nn.Module.load_state_dict": _HOLDER.load_state_dict,
        "nn.History.save": nn.History([{"loss": 1.0}]).save,
        "nn.History.load": nn.History.load,
    }
)


def _moons() -> tuple[np.ndarray, np.ndarray]:
    return nn.datasets.moons(12, rng=0)


def _model() -> nn.MLP:
    return nn.MLP(2, [3, 2], rng=0)


def _parameters() -> list[Tensor]:
    return _model().parameters()


def _fit() -> dict[str, Any]:
    X, y = _moons()
    model = _model()
    return {
        "model": model, "X": X, "y": y, "loss": nn.cross_entropy,
        "optimizer": nn.optim.SGD(model.parameters(), lr=0.1), "epochs": 1, "batch_size": 4,
        "validation": (X, y), "metrics": ["accuracy"], "scheduler": None,
        "on_epoch_end": None, "progress": False, "shuffle": True, "rng": 0,
        "evaluate_training": False, "threads": 1, "compile": False, "callbacks": None,
        "max_grad_norm": None, "checkpoint": None, "resume_from": None, "plot": False,
    }  # fmt: skip


def _loss_call(target: Any, **more: Any) -> Callable[[], dict[str, Any]]:
    return lambda: {"output": Tensor(np.zeros((3, 1))), "target": target, **more}


_SCORES = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])


def _functional_loss(target: Any) -> Callable[[], dict[str, Any]]:
    return lambda: {"input": Tensor(np.zeros((3, 1))), "target": target, "reduction": "mean"}


def _input() -> Tensor:
    return Tensor(np.arange(6.0).reshape(2, 3) - 2.5)


#: The public names that take their arguments as ``*name``: the property gives the
#: wrong value first, then the valid ones after it.
VARIADIC = {"nn.Sequential": "modules", "nn.data.TensorDataset": "tensors"}

#: How to call each public name correctly: each argument by name (``modules`` for
#: Sequential's ``*modules``). The property replaces one of them at a time.
VALID: dict[str, Callable[[], dict[str, Any]]] = {
    "nn.MLP": lambda: {
        "nin": 2,
        "sizes": [3, 2],
        "activation": "relu",
        "dropout": 0.0,
        "rng": 0,
        "dtype": np.float32,
    },
    "nn.Dropout": lambda: {"p": 0.5, "rng": 0},
    "nn.Flatten": lambda: {"start_axis": 1},
    "nn.History": lambda: {"records": [{"loss": 1.0}]},
    "nn.LeakyReLU": lambda: {"negative_slope": 0.01},
    "nn.Linear": lambda: {
        "in_features": 2,
        "out_features": 3,
        "bias": True,
        "init": "kaiming",
        "rng": 0,
        "dtype": np.float32,
    },
    "nn.LogSoftmax": lambda: {"axis": -1},
    "nn.Softmax": lambda: {"axis": -1},
    "nn.Module": dict,
    "nn.ReLU": dict,
    "nn.Sigmoid": dict,
    "nn.Tanh": dict,
    "nn.Sequential": lambda: {"modules": [nn.Linear(2, 2, rng=0), nn.ReLU()]},
    "nn.accuracy": lambda: {"output": _SCORES, "labels": np.array([1, 0, 0])},
    "nn.zero_one_loss": lambda: {"output": _SCORES, "labels": np.array([1, 0, 0])},
    "nn.confusion_matrix": lambda: {
        "output": _SCORES,
        "labels": np.array([1, 0, 0]),
        "num_classes": 2,
    },
    "nn.r2_score": lambda: {"output": np.array([1.0, 2.0, 3.0]), "target": np.array([1, 2.5, 3])},
    "nn.binary_cross_entropy": _loss_call(np.ones((3, 1)), reduction="mean"),
    "nn.l1_loss": _loss_call(np.ones((3, 1)), reduction="mean"),
    "nn.mse_loss": _loss_call(np.ones((3, 1)), reduction="mean"),
    "nn.hinge_loss": _loss_call(np.array([[1.0], [-1.0], [1.0]]), margin=1.0, reduction="mean"),
    "nn.cross_entropy": lambda: {
        "logits": Tensor(np.zeros((3, 2))),
        "target": np.array([0, 1, 1]),
        "reduction": "mean",
    },
    "nn.CrossEntropyLoss": lambda: {"reduction": "mean"},
    "nn.MSELoss": lambda: {"reduction": "sum"},
    "nn.L1Loss": lambda: {"reduction": "none"},
    "nn.BCEWithLogitsLoss": lambda: {"reduction": "mean"},
    "nn.HingeLoss": lambda: {"margin": 1.0, "reduction": "mean"},
    "nn.evaluate": lambda: {
        "model": _model(),
        "X": _moons()[0],
        "y": _moons()[1],
        "loss": nn.cross_entropy,
        "metrics": ["accuracy"],
        "batch_size": 4,
    },
    "nn.fit": _fit,
    "nn.predict": lambda: {"model": _model(), "X": _moons()[0], "batch_size": 4},
    "nn.from_torch": lambda: {"module": __import__("torch").nn.Linear(2, 2)},
    "nn.to_torch": lambda: {"model": _model()},
    "nn.to_onnx": lambda: {"model": _model(), "path": "model.onnx", "input_shape": None},
    "nn.load": lambda: {"path": _SAVED, "max_bytes": 1 << 30},
    "nn.load_metadata": lambda: {"path": _SAVED},
    "nn.optim.Optimizer": lambda: {"parameters": _parameters(), "lr": 0.1},
    "nn.optim.SGD": lambda: {
        "parameters": _parameters(),
        "lr": 0.1,
        "momentum": 0.9,
        "dampening": 0.0,
        "nesterov": False,
        "weight_decay": 0.0,
    },
    "nn.optim.Adam": lambda: {
        "parameters": _parameters(),
        "lr": 0.1,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 0.0,
    },
    "nn.optim.LRScheduler": lambda: {"optimizer": nn.optim.SGD(_parameters())},
    "nn.optim.StepLR": lambda: {
        "optimizer": nn.optim.SGD(_parameters()),
        "step_size": 2,
        "gamma": 0.5,
    },
    "nn.optim.CosineAnnealingLR": lambda: {
        "optimizer": nn.optim.SGD(_parameters()),
        "T_max": 3,
        "eta_min": 0.0,
    },
    "nn.optim.ReduceLROnPlateau": lambda: {
        "optimizer": nn.optim.SGD(_parameters()),
        "mode": "min",
        "factor": 0.5,
        "patience": 2,
        "threshold": 1e-4,
        "threshold_mode": "rel",
        "cooldown": 1,
        "min_lr": 0.0,
        "eps": 1e-8,
    },
    "nn.optim.ParamGroup": lambda: {"optimizer": nn.optim.SGD(_parameters())},
    "nn.callbacks.Callback": dict,
    "nn.callbacks.EarlyStopping": lambda: {
        "monitor": "val_loss",
        "patience": 3,
        "min_delta": 0.0,
        "mode": "auto",
        "restore_best_weights": True,
    },
    "nn.callbacks.CSVLogger": lambda: {"path": "log.csv"},
    "nn.callbacks.LiveCurves": lambda: {"keys": None, "title": "", "path": None},
    "nn.callbacks.Training": lambda: {
        "model": _model(),
        "optimizer": nn.optim.SGD(_parameters()),
        "scheduler": None,
        "history": nn.History(),
        "epochs": 3,
    },
    "nn.callbacks.in_jupyter": dict,
    "nn.utils.clip_grad_norm_": lambda: {
        "parameters": _parameters(),
        "max_norm": 1.0,
        "norm_type": 2.0,
        "error_if_nonfinite": False,
    },
    "nn.data.batches": lambda: {
        "X": _moons()[0],
        "y": _moons()[1],
        "batch_size": 4,
        "shuffle": True,
        "rng": 0,
        "drop_last": False,
    },
    "nn.data.Dataset": dict,
    "nn.data.TensorDataset": lambda: {"tensors": list(_moons())},
    "nn.data.DataLoader": lambda: {
        "dataset": nn.data.TensorDataset(*_moons()),
        "batch_size": 4,
        "shuffle": True,
        "drop_last": False,
        "generator": 0,
    },
    "nn.data.train_val_split": lambda: {
        "X": _moons()[0],
        "y": _moons()[1],
        "validation_fraction": 0.25,
        "rng": 0,
    },
    "nn.scalar.Neuron": lambda: {"nin": 2, "nonlin": True, "activation": None, "rng": 0},
    "nn.scalar.Layer": lambda: {
        "nin": 2,
        "nout": 2,
        "nonlin": True,
        "activation": None,
        "rng": 0,
    },
    "nn.scalar.MLP": lambda: {"nin": 2, "sizes": [3, 1], "activation": "relu", "rng": 0},
    "nn.functional.relu": lambda: {"input": _input()},
    "nn.functional.tanh": lambda: {"input": _input()},
    "nn.functional.sigmoid": lambda: {"input": _input()},
    "nn.functional.leaky_relu": lambda: {"input": _input(), "negative_slope": 0.1},
    "nn.functional.softmax": lambda: {"input": _input(), "dim": 1},
    "nn.functional.log_softmax": lambda: {"input": _input(), "dim": -1},
    "nn.functional.linear": lambda: {
        "input": _input(),
        "weight": Tensor(np.ones((2, 3))),
        "bias": Tensor(np.zeros(2)),
    },
    "nn.functional.dropout": lambda: {"input": _input(), "p": 0.5, "training": True, "rng": 0},
    "nn.functional.cross_entropy": lambda: {
        "input": Tensor(np.zeros((3, 2))),
        "target": np.array([0, 1, 1]),
        "reduction": "mean",
    },
    "nn.datasets.moons": lambda: {"n": 12, "noise": 0.1, "rng": 0},
    "nn.datasets.circles": lambda: {"n": 12, "noise": 0.1, "factor": 0.5, "rng": 0},
    "nn.datasets.spiral": lambda: {"n": 12, "classes": 3, "noise": 0.2, "rng": 0},
    "nn.datasets.blobs": lambda: {"n": 12, "centers": 3, "std": 0.6, "rng": 0},
    "nn.datasets.xor": lambda: {"n": 12, "noise": 0.1, "rng": 0},
    "nn.datasets.classification": lambda: {"n": 12, "flip": 0.2, "separation": 1.5, "rng": 0},
    "nn.datasets.regression": lambda: {"n": 12, "noise": 0.3, "rng": 0},
    "nn.datasets.regression_function": lambda: {"x": np.linspace(-3, 3, 5)},
    "nn.datasets.data_root": lambda: {"root": _FOLDER.name},
    "nn.datasets.data_folder": lambda: {"name": "mnist", "root": _FOLDER.name},
    "nn.init.kaiming_uniform": lambda: {"shape": (3, 2), "rng": 0, "dtype": np.float32},
    "nn.init.xavier_uniform": lambda: {"shape": (3, 2), "rng": 0, "dtype": np.float32},
    "nn.init.initialise": lambda: {
        "name": "kaiming",
        "shape": (3, 2),
        "rng": 0,
        "dtype": np.float32,
    },
    "nn.init.unfilled": dict,
    "nn.plot.decision_boundary": lambda: {
        "predict": _model(),
        "X": _moons()[0],
        "y": _moons()[1],
        "resolution": 4,
        "margin": 0.5,
        "title": "",
    },
    "nn.plot.training_curves": lambda: {
        "history": nn.History([{"loss": 1.0, "val_loss": 1.5}]),
        "keys": None,
        "title": "",
    },
    "nn.plot.regression_fit": lambda: {
        "predict": _first_column,
        "X": np.linspace(0, 1, 4)[:, None],
        "y": np.ones(4),
        "truth": None,
        "title": "",
    },
    "nn.plot.confusion_matrix": lambda: {
        "counts": np.eye(2, dtype=np.int64),
        "class_names": None,
        "title": "",
    },
    "nn.plot.image_grid": lambda: {
        "images": np.zeros((2, 4)),
        "labels": None,
        "predictions": None,
        "columns": 10,
        "shape": (2, 2),
        "title": "",
    },
    "nn.plot.save_figure": lambda: {
        "figure": nn.plot.confusion_matrix(np.eye(2, dtype=np.int64)),
        "path": "f.png",
        "dpi": 20,
    },
    "nn.Module.train": lambda: {"mode": True},
    "nn.Module.save": lambda: {"path": "model.npz", "metadata": {"notes": "a note"}},
    "nn.Module.load": lambda: {"path": _SAVED},
    "nn.Module.load_state_dict": lambda: {"state": _model().state_dict(), "strict": True},
    "nn.History.save": lambda: {"path": "history.json"},
    "nn.History.load": lambda: {"path": _HISTORY},
    "nn.functional.mse_loss": _functional_loss(np.ones((3, 1))),
    "nn.functional.l1_loss": _functional_loss(np.ones((3, 1))),
    "nn.functional.binary_cross_entropy_with_logits": _functional_loss(np.ones((3, 1))),
}


def _first_column(points: np.ndarray) -> np.ndarray:
    return points[:, 0]


def _arguments(name: str) -> list[str]:
    target = PUBLIC[name]
    if inspect.isclass(target) and target.__init__ is object.__init__:
        return []  # takes no arguments
    function = target.__init__ if inspect.isclass(target) else target
    return [p for p in inspect.signature(function).parameters if p != "self"]


def _hints(name: str) -> dict[str, Any]:
    target = PUBLIC[name]
    from matplotlib.figure import Figure  # nn.plot's, imported for type checkers only

    try:
        return typing.get_type_hints(
            target.__init__ if inspect.isclass(target) else target, localns={"Figure": Figure}
        )
    except (NameError, TypeError):  # a name only imported for type checkers: no rule
        return {}


def _call(name: str, arguments: dict[str, Any]) -> Any:
    target = PUBLIC[name]
    if name in VARIADIC:
        return target(*arguments[VARIADIC[name]])
    result = target(**arguments)
    if isinstance(result, Iterator):  # a generator's work happens as it is read
        result = list(result)
    return result


def _where(name: str) -> str:
    """The name an error message starts with: the function's, or the class's."""
    return PUBLIC[name].__name__


# -- the values: of wrong types, and out of range --------------------------------------

_FIXED = [
    None, "", "x", "relu", "cross_entropy", "accuracy", b"bytes", True, False, 0, -1, 1, 3,
    0.0, -0.5, 0.5, 1.0, 2.5, math.nan, math.inf, -math.inf, 1e300, np.int64(-2),
    np.float32(0.5), np.bool_(True), [], [0], [1, 2], [[1, 2]], ["a"], [None], (), (1,),
    (0.5, 0.5, 0.5), {}, {"a": 1}, {1, 2},
]  # fmt: skip


def _harmless(*args: Any, **kwargs: Any) -> None:
    """A function that takes anything and gives nothing back."""


def _echo(first: Any, *args: Any, **kwargs: Any) -> Any:
    """A function that gives back its first argument (as a loss: one per sample)."""
    return first


_MADE: list[Callable[[], Any]] = [
    object,
    lambda: np.array([]),
    lambda: np.zeros((0, 2)),
    lambda: np.ones((12, 2, 2)),
    lambda: np.ones((12, 3)),
    lambda: np.array(["a", "b"]),
    lambda: np.array([1, 2], dtype=object),
    lambda: np.array([1 + 2j, 3j]),
    lambda: np.array(1.5),
    lambda: np.full((12, 2), np.nan),
    lambda: np.arange(12) % 5,
    lambda: np.arange(12) - 6,
    lambda: Tensor(np.ones((2, 2))),
    lambda: Tensor(np.ones(3), requires_grad=True) * 2,
    lambda: Value(1.0),
    lambda: [Value(1.0), Value(2.0)],
    lambda: nn.Linear(2, 2, rng=0),
    lambda: nn.MLP(3, [2], rng=0),
    lambda: nn.scalar.MLP(2, [2], rng=0),
    lambda: nn.Linear,
    lambda: nn.optim.SGD([Tensor(np.ones(2), requires_grad=True)]),
    lambda: nn.optim.StepLR(nn.optim.SGD([Tensor(np.ones(2), requires_grad=True)]), 1),
    lambda: _harmless,
    lambda: _echo,
    lambda: len,
    lambda: iter([1, 2]),
    lambda: (p for p in _parameters()),
    lambda: np.random.default_rng(0),
    lambda: Path(_FOLDER.name),
    lambda: Path(_FOLDER.name) / "missing.npz",
]


def _drawn() -> st.SearchStrategy[Any]:
    """Numbers, strings and arrays of any dtype, shape and contents (NaN and huge too)."""
    arrays = hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.int64, np.uint8, np.bool_]),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    )
    return st.one_of(
        st.integers(-3, 3),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=3),
        arrays,
    )


# -- what the type rules say -------------------------------------------------------------


def _accepts(hint: Any, value: Any) -> bool:
    """Whether ``value`` is of a type that ``hint`` allows (unknown hints allow anything)."""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(arg, value) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, (bool, np.bool_))
    if hint in (int, float):
        plain = (int, np.integer) if hint is int else (int, float, np.integer, np.floating)
        return isinstance(value, plain) and not isinstance(value, (bool, np.bool_))
    if hint is str:
        return isinstance(value, str)
    if origin is tuple:
        return isinstance(value, (tuple, list))
    if origin is not None:
        if origin is typing.Callable or getattr(origin, "__name__", "") == "Callable":
            return callable(value)
        return not isinstance(origin, type) or isinstance(value, origin)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def _is_path(hint: Any) -> bool:
    return "PathLike" in str(hint)


def _check_outcome(name: str, argument: str, value: Any, arguments: dict[str, Any]) -> None:
    where, hint = _where(name), _hints(name).get(argument, Any)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # overflow in a drawn 1e300
            with contextlib.chdir(_FOLDER.name):
                _call(name, arguments)
    except (OSError, ModelFileError) as error:
        if not _is_path(hint):
            if isinstance(error, ModelFileError):
                _check_message(error, where, argument)
                return
            raise
        path = os.fspath(value)  # an error about the file names the file
        assert getattr(error, "filename", None) == path or path in str(error), error
    except (TypeError, ValueError, nn.TrainingDivergedError, DatasetError) as error:
        kind = type(error)
        assert kind in (TypeError, ValueError) or kind.__module__.split(".")[0] in (
            "nn",
            "autograd",
            "tracegrad",
        ), f"{kind.__module__}.{kind.__name__}: {error}"
        _check_message(error, where, argument)
    else:
        assert _accepts(hint, value), f"{where} took {argument}={value!r} against {hint}"
        if hint is float and isinstance(value, float):
            assert math.isfinite(value), f"{where} took {argument}={value!r}"


def _check_message(error: Exception, where: str, argument: str) -> None:
    message = str(error)
    assert f"{where}:" in message, f"{where!r} not named in: {message}"
    assert argument in message, f"{argument!r} not named in: {message}"


#: Every (public name, argument) pair.
SLOTS = [(name, argument) for name in sorted(VALID) for argument in _arguments(name)]


def test_every_public_name_has_a_valid_call() -> None:
    assert set(PUBLIC) == set(VALID), "say in VALID how to call each public name"
    for name, make in VALID.items():
        assert set(make()) == set(_arguments(name)), f"{name}: give every argument"
        unread = set(_arguments(name)) - set(_hints(name))
        assert not unread, (
            f"{name}: no type rule for {unread} (an annotation that does not resolve)"
        )
        with contextlib.chdir(_FOLDER.name):
            _call(name, make())


def _replaced(name: str, argument: str, value: Any) -> dict[str, Any]:
    arguments = VALID[name]()
    if VARIADIC.get(name) == argument:
        arguments[argument] = [value, *arguments[argument][1:]]
    else:
        arguments[argument] = value
    return arguments


@pytest.mark.parametrize(("name", "argument"), SLOTS, ids=[f"{n}-{a}" for n, a in SLOTS])
def test_every_listed_wrong_value_is_a_clear_error(name: str, argument: str) -> None:
    """Each value of the lists above, in every argument: none is left to chance."""
    for value in [*_FIXED, *(make() for make in _MADE)]:
        try:
            _check_outcome(name, argument, value, _replaced(name, argument, value))
        except BaseException as failure:
            raise AssertionError(f"{name}({argument}={value!r}): {failure}") from failure


@settings(max_examples=25)
@given(value=_drawn())
@pytest.mark.parametrize(("name", "argument"), SLOTS, ids=[f"{n}-{a}" for n, a in SLOTS])
def test_a_drawn_wrong_value_is_a_clear_error(name: str, argument: str, value: Any) -> None:
    _check_outcome(name, argument, value, _replaced(name, argument, value))


# -- the issue's cases ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "kind", "message"),
    [
        (lambda: nn.optim.Adam(_model()), TypeError,
         r"Adam: parameters must be the model's parameters, got the module MLP itself: "
         r"write Adam\(model.parameters\(\), ...\)"),
        (lambda: nn.optim.SGD(_parameters()[0]), TypeError, r"write SGD\(\[p\], ...\)"),
        (lambda: nn.optim.SGD(iter([])), ValueError, "SGD: parameters is empty"),
        (lambda: nn.fit(**{**_fit(), "loss": "cross_entropy"}), TypeError,
         "fit: loss must be a loss function .* got the string 'cross_entropy': "
         "write loss=nn.cross_entropy"),
        (lambda: nn.fit(**{**_fit(), "optimizer": None}), TypeError,
         "fit: optimizer must be an Optimizer, got None"),
        (lambda: nn.fit(**{**_fit(), "epochs": 2.5}), TypeError,
         "fit: epochs must be an integer, got 2.5"),
        (lambda: nn.fit(**{**_fit(), "epochs": True}), TypeError,
         "fit: epochs must be an integer, got True"),
        (lambda: nn.fit(**{**_fit(), "optimizer": nn.optim.SGD(_parameters())}), ValueError,
         "fit: optimizer holds none of the model's parameters"),
        (lambda: nn.fit(**{**_fit(), "metrics": "accuracy"}), TypeError,
         r"fit: metrics must be a list .* write \['accuracy'\]"),
        (lambda: nn.fit(**{**_fit(), "X": np.ones((12, 3))}), ValueError,
         r"fit: X holds samples of shape \(3,\), but the model takes 2 features"),
        (lambda: nn.fit(**{**_fit(), "y": _moons()[1] + 1}), ValueError,
         r"fit: the loss cross_entropy refused the model's outputs and y: .*\[0, 2\)"),
        (lambda: nn.fit(**{**_fit(), "progress": "no"}), TypeError,
         "fit: progress must be True or False, got the string 'no'"),
        (lambda: nn.evaluate(_model(), *_moons(), batch_size=0), ValueError,
         "evaluate: batch_size must be at least 1, got 0"),
        (lambda: nn.evaluate(_model(), _moons()[0], _moons()[1][:5]), ValueError,
         "evaluate: X has 12 samples but y has 5"),
        (lambda: nn.predict(_model(), _moons()[0], batch_size=0), ValueError,
         "predict: batch_size must be at least 1, got 0"),
        (lambda: nn.MLP(784, 512, 10), TypeError,  # type: ignore[arg-type]
         r"MLP: sizes must be a list of layer sizes such as \[512, 10\], got the single "
         r"number 512"),
        (lambda: nn.scalar.MLP(2, 3), TypeError, "MLP: sizes must be a list"),  # type: ignore[arg-type]
        (lambda: nn.Linear(2.0, 3), TypeError, "Linear: in_features must be an integer"),  # type: ignore[arg-type]
        (lambda: nn.Dropout("0.5"), TypeError, "Dropout: p must be a real number"),  # type: ignore[arg-type]
        (lambda: nn.optim.StepLR(None, 1), TypeError, "StepLR: optimizer must be an Optimizer"),  # type: ignore[arg-type]
        (lambda: nn.optim.Adam(_parameters(), betas=0.9), TypeError, "Adam: betas must be a pair"),  # type: ignore[arg-type]
        (lambda: nn.optim.SGD(_parameters(), lr=math.nan), ValueError, "SGD: lr must be"),
        (lambda: nn.data.batches(*_moons(), batch_size=0), ValueError,
         "batches: batch_size must be at least 1"),
        (lambda: nn.data.batches(*_moons(), 4, rng=-1), ValueError,
         "batches: rng must be at least 0"),
        (lambda: nn.confusion_matrix(np.array([0, 1]), np.array([0, -1])), ValueError,
         "confusion_matrix: labels must be class numbers"),
        (lambda: nn.confusion_matrix(np.array([0, 2]), np.array([0, 1]), 2), ValueError,
         "confusion_matrix: num_classes is 2, but the labels or the output name class 2"),
        (lambda: nn.load(None), TypeError, "load: path must be a path"),  # type: ignore[arg-type]
        (lambda: _model().load_state_dict(_model()), TypeError,  # type: ignore[arg-type]
         r"load_state_dict: state must be a mapping .* got the module MLP: write "
         r"model.load_state_dict\(other.state_dict\(\)\)"),
        (lambda: _model().load_state_dict(_model().state_dict(), strict="no"), TypeError,  # type: ignore[arg-type]
         "load_state_dict: strict must be True or False, got the string 'no'"),
        (lambda: _model().train("False"), TypeError,  # type: ignore[arg-type]
         "train: mode must be True or False, got the string 'False'"),
        (lambda: _model().save(""), ValueError, "save: path is empty"),
        (lambda: _model().save("m.npz", metadata="notes"), TypeError,  # type: ignore[arg-type]
         "save: metadata must be a dict of JSON values, got the string 'notes'"),
        (lambda: _model().save("m.npz", metadata={"big": 10**5000}), ValueError,
         r"save: the metadata cannot be written as JSON \(Exceeds the limit"),
        (lambda: _model().save("m.npz", metadata={"seen": {1, 2}}), TypeError,
         r"save: metadata\['seen'\] is a set, which JSON cannot hold"),
        (lambda: nn.History.load(_SAVED), ValueError,
         "History.load: path .* holds no history written by History.save"),
        (lambda: nn.datasets.mnist(root=3), TypeError, "mnist: root must be a path"),  # type: ignore[arg-type]
        (lambda: nn.datasets.mnist(flatten=1), TypeError, "mnist: flatten must be True or False"),  # type: ignore[arg-type]
        (lambda: nn.datasets.fashion_mnist(mirrors="http://x"), TypeError,
         r"fashion_mnist: mirrors must be a list of base URLs .*: write \['http://x'\]"),
        (lambda: nn.datasets.load_image_set("mnist"), TypeError,  # type: ignore[arg-type]
         "load_image_set: spec must be an ImageSet"),
        (lambda: nn.datasets.moons(noise=math.nan), ValueError, "moons: noise must be"),
        (lambda: nn.datasets.blobs(2.5), TypeError, "blobs: n must be an integer"),  # type: ignore[arg-type]
        (lambda: nn.init.kaiming_uniform((3, 0)), ValueError,
         r"kaiming_uniform: shape\[1\] must be at least 1"),
        (lambda: nn.plot.training_curves(nn.History([{"loss": 1.0}]), keys=["nope"]),
         ValueError, r"training_curves: keys names \['nope'\], which the history does not "
         r"record; it records \['loss'\]"),
        (lambda: nn.plot.image_grid(np.ones(5)), ValueError,
         r"image_grid: each image must hold 784 values \(shape \(28, 28\)\)"),
        (lambda: nn.plot.save_figure(3, "f.png"), TypeError,  # type: ignore[arg-type]
         "save_figure: figure must be a Figure"),
    ],
)  # fmt: skip
def test_the_issues_mistakes(call: Callable[[], Any], kind: type, message: str) -> None:
    with pytest.raises(kind, match=message):
        call()


def test_metadata_takes_numpys_numbers_as_pythons(tmp_path: Path) -> None:
    metadata = {"epochs": np.int64(3), "score": np.float32(0.5), "best": np.bool_(True)}
    _model().save(tmp_path / "m.npz", metadata=metadata)
    assert nn.load_metadata(tmp_path / "m.npz") == {"epochs": 3, "score": 0.5, "best": True}


def test_batches_checks_when_called_not_when_read() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        nn.data.batches(*_moons(), batch_size=0)  # no next(): the call itself refuses


def test_a_split_never_leaves_a_side_empty() -> None:
    X, y = _moons()
    X_train, _, X_val, _ = nn.data.train_val_split(X[:3], y[:3], 0.9)
    assert (len(X_train), len(X_val)) == (1, 2)
    with pytest.raises(ValueError, match="train_val_split: X has 1 sample;"):
        nn.data.train_val_split(X[:1], y[:1])


# -- nn.checks at the edges of each rule ---------------------------------------------------

from nn import checks  # noqa: E402


def test_integer_and_real_at_the_ends_of_their_ranges() -> None:
    assert checks.integer(5, "f", "x", minimum=5, maximum=5) == 5
    for value, end in ((4, "at least 5"), (6, "at most 5")):
        with pytest.raises(ValueError, match=f"f: x must be {end}, got {value}"):
            checks.integer(value, "f", "x", minimum=5, maximum=5)
    assert checks.real(1.0, "f", "x", low=0.0, high=1.0) == 1.0  # ends are in unless open
    assert checks.real(0.0, "f", "x", low=0.0, high=1.0) == 0.0
    for value, kwargs in [
        (1.0, {"high": 1.0, "high_open": True}),
        (0.0, {"low": 0.0, "low_open": True}),
        (math.nextafter(1.0, 2.0), {"high": 1.0}),
        (math.nextafter(0.0, -1.0), {"low": 0.0}),
    ]:
        with pytest.raises(ValueError, match="f: x must be"):
            checks.real(value, "f", "x", **kwargs)
    assert checks.real(math.nextafter(1.0, 0.0), "f", "x", high=1.0, high_open=True) < 1.0


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({}, "a finite number"),
        ({"low": 0.0}, "a finite number, not negative"),
        ({"low": 0.0, "low_open": True}, r"positive \(and finite\)"),
        ({"low": 2.0}, "a finite number at least 2"),
        ({"low": -1.0}, "a finite number at least -1"),
        ({"low": 2.0, "low_open": True}, "a finite number above 2"),
        ({"high": 3.0}, "a number at most 3"),
        ({"high": 3.0, "high_open": True}, "a number below 3"),
        ({"low": 0.0, "high": 1.0, "high_open": True}, r"in \[0, 1\)"),
        ({"low": 0.0, "high": 1.0, "low_open": True}, r"in \(0, 1\]"),
    ],
)
def test_a_real_out_of_range_says_the_range_in_words(kwargs: dict[str, Any], said: str) -> None:
    with pytest.raises(ValueError, match=f"^f: x must be {said}, got inf$"):
        checks.real(math.inf, "f", "x", **kwargs)


def test_the_range_of_a_check_is_given_by_keyword_only() -> None:
    """A range given by position would be read as the wrong end: refused."""
    for call in (
        lambda: checks.integer(5, "f", "x", 1),
        lambda: checks.real(1.0, "f", "x", 0.0),
        lambda: checks.numbers([1.0], "f", "x", None, True),
    ):
        with pytest.raises(TypeError, match="positional argument"):
            call()


def test_numbers_converts_to_the_dtype_asked_for_and_takes_a_single_number() -> None:
    for numbers in ([1, 2], np.array([1.0, 2.0]), np.array([1, 2], np.int64)):
        for dtype in (np.float32, np.float64, np.int64):
            array = checks.numbers(numbers, "f", "x", dtype)
            assert array.dtype == dtype and array.tolist() == [1, 2]
    assert checks.numbers(3.0, "f", "x").shape == ()  # one number is an array too, by default
    assert checks.samples([[1.0]], "f", "x").shape == (1, 1)  # one sample is enough
    for none in ([], np.zeros((0, 3))):
        with pytest.raises(ValueError, match=r"f: x holds no samples \(shape \(0,"):
            checks.samples(none, "f", "x")


class _RefusesToBeAnArray:
    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError("not an array")


@pytest.mark.parametrize(
    "value", [[[1.0], [1.0, 2.0]], _RefusesToBeAnArray()], ids=["ragged", "refuses"]
)
def test_what_numpy_cannot_make_an_array_of_is_a_clear_type_error(value: Any) -> None:
    with pytest.raises(TypeError, match="f: x must be an array of numbers, got a"):
        checks.as_array(value, "f", "x")


def test_describe_shows_short_values_and_counts_long_ones() -> None:
    """The cut-offs: a repr of up to 60 characters is shown whole; a longer string by
    its first 57 and "..."; a list or tuple of up to 6 plain items whose repr fits."""
    d = checks.describe
    assert d("a" * 58) == "the string '" + "a" * 58 + "'"  # a repr of 60
    assert d("a" * 59) == "the string '" + "a" * 56 + "..."
    assert d(10**59) == "1" + "0" * 59 and d(10**60) == "1" + "0" * 56 + "..."
    assert d([1, 2, 3, 4, 5, 6]) == "the list [1, 2, 3, 4, 5, 6]"
    assert d([1, 2, 3, 4, 5, 6, 7]) == "a list of 7 items"
    assert d((1, [2])) == "a tuple of 2 items"  # not every item plain
    fits = ["a" * 9] * 4 + ["a" * 4]  # a repr of 60 characters, and one of 61
    assert len(repr(fits)) == 60 and d(fits) == f"the list {fits!r}"
    fits[-1] = "a" * 5
    assert len(repr(fits)) == 61 and d(fits) == "a list of 5 items"
    assert d(len) == "the function len" and d(object()) == "an object" and d({1}) == "a set"
    assert d("") == "an empty string"


def test_a_parameter_that_is_no_leaf_is_named_as_what_it_is() -> None:
    with pytest.raises(TypeError, match=r"item 0 is not a leaf node \(got a Value \(2.0\), not a"):
        nn.optim.SGD([Value(1.0) * 2.0])
    with pytest.raises(TypeError, match=r"item 1 is not a leaf node \(got 3\)"):
        nn.optim.SGD([Value(1.0), 3])


class _Scorer:
    """A class of this test module whose instances are called, as nn's losses are."""

    def __call__(self, *args: Any) -> float:
        return 0.0


class _Plain:
    """A class whose instances are not called."""


_CLASSES: dict[str, tuple[type, str]] = {  # a class given for a function: the hint it gets
    "nn's CrossEntropyLoss": (nn.CrossEntropyLoss, ": write nn.CrossEntropyLoss()"),
    "nn's MSELoss": (nn.MSELoss, ": write nn.MSELoss()"),
    "nn's HingeLoss": (nn.HingeLoss, ": write nn.HingeLoss()"),
    "one of this module's": (_Scorer, ": write _Scorer()"),
    "functools' partial": (__import__("functools").partial, ": write partial()"),
    "one that is not called": (_Plain, ""),
    "int": (int, ""),
}


@given(kind=st.sampled_from(sorted(_CLASSES)), hint=st.sampled_from(["", ": make one first"]))
def test_a_class_given_for_a_function_is_told_how_to_make_one(kind: str, hint: str) -> None:
    """A class whose instances are called is told to call it, with nn's prefix only when
    it is one of nn's own (from any submodule); a class whose instances are not, nothing;
    a caller's own hint always wins."""
    from nn import checks

    value, made = _CLASSES[kind]
    name = value.__name__
    with pytest.raises(TypeError) as raised:
        checks.function(value, "fit", "loss", "a loss function", hint)
    said = hint or made
    assert str(raised.value) == f"fit: loss must be a loss function, got the class {name}{said}"
