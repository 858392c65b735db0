"""The data, the model and the recipe behind ``tracegrad train`` and ``tracegrad evaluate``.

``train(recipe)`` is the whole of ``tracegrad train`` but the files and the report: a
``Recipe`` names the data set and every choice of model and optimisation, and those left
out take the data set's defaults (``Recipe.for_dataset``).

A data set name gives the training and test split and the task (classification or
regression); the same name, seed and size give the same split, so ``evaluate`` sees the
test set that ``train`` held out. MNIST and Fashion-MNIST use their standard split.

Each kind of data set has its own defaults. Those for the image sets (784-512-256-10,
Adam 1e-3 with a cosine schedule, batch 128, 10 epochs) are chosen to reach 98 % test
accuracy on MNIST, the lesson's goal; ``benchmarks/mnist.py`` measures what they reach.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from nn import datasets, optim
from nn.data import train_val_split
from nn.losses import cross_entropy, mse_loss
from nn.mlp import MLP
from nn.train import History, TrainingInterrupted, fit

#: How many samples a synthetic set has unless told otherwise.
DEFAULT_SAMPLES = 1000
#: The share of a synthetic set held out for testing.
TEST_FRACTION = 0.2
#: The share of the training data ``tracegrad train`` holds out for validation (MNIST:
#: 5,000 of the 60,000 training images); the test set is evaluated once, at the end.
VALIDATION_FRACTION = 1 / 12


@dataclass
class Split:
    """A data set divided into training and test parts, and what the task is."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str  # "classification" or "regression"

    @property
    def classes(self) -> int:
        """The number of classes (1 output for regression)."""
        if self.task == "regression":
            return 1
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    @property
    def features(self) -> int:
        return int(np.prod(self.X_train.shape[1:]))


#: Training defaults by kind of data set (the command line's options override them).
DEFAULTS: dict[str, dict[str, Any]] = {
    "synthetic": {
        "hidden": [64, 64],
        "epochs": 50,
        "batch_size": 32,
        "lr": 0.01,
        "schedule": "none",
    },
    "images": {
        "hidden": [512, 256],
        "epochs": 10,
        "batch_size": 128,
        "lr": 0.001,
        "schedule": "cosine",
    },
}


def dataset_names() -> list[str]:
    """Every name ``load_split`` knows."""
    return sorted(datasets.SYNTHETIC) + sorted(datasets.IMAGE_SETS)


def defaults_for(name: str) -> dict[str, Any]:
    """The training defaults for the data set ``name``."""
    return dict(DEFAULTS["images" if name in datasets.IMAGE_SETS else "synthetic"])


def load_split(
    name: str,
    *,
    seed: int = 0,
    samples: int | None = None,
    root: str | None = None,
    progress: bool = True,
) -> Split:
    """The training and test split of the data set ``name``.

    ``seed`` and ``samples`` shape the synthetic sets; ``root`` is the data root, the
    folder that holds the image sets' folders ``mnist/`` and ``fashion-mnist/`` (by
    default $TRACEGRAD_DATA, then ~/.cache/tracegrad: see ``nn.datasets.images``).
    """
    if name in datasets.IMAGE_SETS:
        X_train, y_train, X_test, y_test = datasets.IMAGE_SETS[name](root, progress=progress)
        return Split(name, X_train, y_train, X_test, y_test, "classification")
    if name not in datasets.SYNTHETIC:
        raise ValueError(f"unknown data set {name!r}; choose one of {dataset_names()}")
    X, y = datasets.SYNTHETIC[name](samples or DEFAULT_SAMPLES, rng=seed)
    X_train, y_train, X_test, y_test = train_val_split(X, y, TEST_FRACTION, rng=seed)
    task = "regression" if name == "regression" else "classification"
    return Split(name, X_train.astype(np.float32), y_train, X_test.astype(np.float32), y_test, task)


def build_model(split: Split, hidden: list[int], activation: str, dropout: float, seed: int) -> MLP:
    """An MLP from the split's features through ``hidden`` to its classes (or 1 output)."""
    return MLP(
        split.features, [*hidden, split.classes], activation=activation, dropout=dropout, rng=seed
    )


def loss_for(task: str) -> Any:
    """Cross-entropy for classification, mean squared error for regression."""
    return cross_entropy if task == "classification" else mse_loss


def metrics_for(task: str) -> list[str]:
    """What is reported besides the loss: accuracy for classification, R² for regression."""
    return ["accuracy"] if task == "classification" else ["r2"]


@dataclass(frozen=True)
class Recipe:
    """How to train: the data set, the model, the optimiser and its schedule."""

    dataset: str
    hidden: list[int]
    epochs: int
    batch_size: int
    lr: float
    schedule: str  # "none", "cosine" or "step"
    activation: str = "relu"
    dropout: float = 0.0
    optimizer: str = "adam"  # "adam", or "sgd" (with momentum 0.9)
    seed: int = 0
    samples: int | None = None  # the size of a synthetic set
    data_root: str | None = None  # the folder that holds mnist/ and fashion-mnist/
    threads: int | None = None  # BLAS threads (None: the idle cores)

    @classmethod
    def for_dataset(cls, dataset: str, **choices: Any) -> Recipe:
        """The recipe for ``dataset``: the given choices, and its defaults for those left None."""
        known = {f.name for f in fields(cls)}
        unknown = set(choices) - known
        if unknown:
            raise TypeError(f"Recipe: unknown choices {sorted(unknown)}")
        given = {key: value for key, value in choices.items() if value is not None}
        return cls(dataset=dataset, **{**defaults_for(dataset), **given})

    def as_dict(self) -> dict[str, Any]:
        """The recipe as JSON-ready data (stored in the model's metadata)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class TrainingRun:
    """What ``train`` produced: the model, its data and history, and how long it took."""

    recipe: Recipe
    model: MLP
    split: Split
    #: The training data the model saw, and the validation data held out from it.
    X_fit: np.ndarray
    y_fit: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    history: History
    seconds: float
    #: Set when Ctrl-C stopped training: the epochs finished before it.
    interrupted_after: int | None = None
    metrics: list[str] = field(default_factory=list)


def train(
    recipe: Recipe,
    *,
    progress: bool = True,
    compile: bool = False,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
) -> TrainingRun:
    """Train an MLP as ``recipe`` says, on the training split less a validation split.

    ``compile`` runs each step as compiled code (``fit(compile=True)``): the same numbers,
    faster; it is how a run is made, not part of the recipe, so the model file does not
    keep it. ``checkpoint`` is written after each epoch (``fit(checkpoint=...)``);
    ``resume`` goes on from it (``fit(resume_from=...)``): the same model, weights and
    history as a run never stopped.

    The validation split guides nothing; it is reported each epoch. The test split is
    left for the caller to evaluate once, at the end. Ctrl-C stops training between
    batches: the run comes back with what was finished (``interrupted_after``).
    """
    start = time.perf_counter()
    split = load_split(
        recipe.dataset,
        seed=recipe.seed,
        samples=recipe.samples,
        root=recipe.data_root,
        progress=progress,
    )
    X_fit, y_fit, X_val, y_val = train_val_split(
        split.X_train, split.y_train, VALIDATION_FRACTION, rng=recipe.seed
    )
    model = build_model(split, recipe.hidden, recipe.activation, recipe.dropout, recipe.seed)
    optimizer: optim.Optimizer
    if recipe.optimizer == "adam":
        optimizer = optim.Adam(model.parameters(), lr=recipe.lr)
    elif recipe.optimizer == "sgd":
        optimizer = optim.SGD(model.parameters(), lr=recipe.lr, momentum=0.9)
    else:
        raise ValueError(f"Recipe: unknown optimizer {recipe.optimizer!r}; choose adam or sgd")
    scheduler = _scheduler(recipe, optimizer)
    metrics = metrics_for(split.task)
    run = TrainingRun(recipe, model, split, X_fit, y_fit, X_val, y_val, History(), 0.0)
    run.metrics = metrics
    try:
        run.history = fit(
            model,
            X_fit,
            y_fit,
            loss=loss_for(split.task),
            optimizer=optimizer,
            epochs=recipe.epochs,
            batch_size=recipe.batch_size,
            validation=(X_val, y_val),
            metrics=metrics,
            scheduler=scheduler,
            progress=progress,
            rng=recipe.seed,
            threads=recipe.threads,
            compile=compile,
            checkpoint=checkpoint,
            resume_from=checkpoint if resume else None,
        )
    except TrainingInterrupted as interrupted:
        run.history = interrupted.history
        run.interrupted_after = len(interrupted.history)
    run.seconds = time.perf_counter() - start
    return run


def _scheduler(recipe: Recipe, optimizer: optim.Optimizer) -> optim.LRScheduler | None:
    if recipe.schedule == "none":
        return None
    if recipe.schedule == "cosine":
        return optim.CosineAnnealingLR(optimizer, T_max=recipe.epochs)
    if recipe.schedule == "step":
        return optim.StepLR(optimizer, step_size=max(1, recipe.epochs // 3))
    raise ValueError(f"Recipe: unknown schedule {recipe.schedule!r}; choose none, cosine or step")
