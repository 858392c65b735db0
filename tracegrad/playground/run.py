"""One run of the playground: the data, the model and the optimiser that a ``Settings``
names, trained an epoch at a time through ``nn.fit``, exactly as the page's Python code
says (``code.py`` writes that code from the same settings and ``FIT_OPTIONS``).

Each epoch is ``nn.fit(..., epochs=1, rng=generator)`` with one Generator kept across
epochs, which draws the same shuffles as ``nn.fit(..., epochs=n, rng=seed)``: the page
and the copied code train the same run, number for number.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import nn
from nn.module import Module
from nn.optim import Optimizer

from .settings import DATASETS, Settings

#: Extra options of ``nn.fit`` for each engine, used by the page and written into its
#: code. This is where a faster step plugs in: when ``fit`` learns to compile a Value
#: network's step, {"compile": True} here makes the page use it, and the code show it.
#: It must give the eager engine's numbers, which the browser test checks against the
#: code run on its own.
FIT_OPTIONS: dict[str, dict[str, Any]] = {"value": {}, "tensor": {}}

#: ``nn.fit``'s BLAS threads on the page: one, because the matrices are tiny (more
#: threads only wait on each other) and because every tab trains in the same process.
PAGE_THREADS = 1


def dataset_arguments(settings: Settings) -> dict[str, Any]:
    """The generator's keyword arguments: its own name for the noise, and the classes."""
    noise_name = DATASETS[settings.dataset][0]
    arguments: dict[str, Any] = {noise_name: settings.noise}
    if settings.dataset == "spiral":
        arguments["classes"] = settings.classes
    elif settings.dataset == "blobs":
        arguments["centers"] = settings.classes
    return arguments


def targets(settings: Settings, y: np.ndarray) -> np.ndarray:
    """The labels as the loss wants them: one column, the output's shape, for a Tensor
    network with one output; a flat list of numbers for a Value network."""
    if settings.engine == "tensor" and settings.outputs == 1:
        return y.reshape(-1, 1)
    return y.reshape(-1)


class Run:
    """The data, model and optimiser of one ``Settings``, and the epochs trained so far."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        make = nn.datasets.SYNTHETIC[settings.dataset]
        X, y = make(settings.points, **dataset_arguments(settings), rng=settings.seed)
        X_train, y_train, X_test, y_test = nn.data.train_val_split(
            X, y, settings.test_fraction, rng=settings.seed
        )
        self.X_train, self.X_test = X_train, X_test
        #: The labels (or regression targets) as they are, for the page's points.
        self.labels_train, self.labels_test = y_train.reshape(-1), y_test.reshape(-1)
        self.y_train, self.y_test = targets(settings, y_train), targets(settings, y_test)
        self.model = build_model(settings)
        self.optimizer = build_optimizer(settings, self.model)
        self.loss = getattr(nn, settings.loss)
        self.metric = "r2" if settings.task == "regression" else "accuracy"
        self.generator = np.random.default_rng(settings.seed)
        self.epoch = 0

    def train_epoch(self) -> dict[str, float]:
        """One more epoch; its record (``nn.fit``'s, with the epoch counted from the start).

        Raises ``nn.TrainingDivergedError`` when the loss stops being a finite number.
        """
        history = nn.fit(
            self.model,
            self.X_train,
            self.y_train,
            loss=self.loss,
            optimizer=self.optimizer,
            epochs=1,
            batch_size=self.settings.batch_size,
            validation=(self.X_test, self.y_test),
            metrics=[self.metric],
            evaluate_training=True,
            rng=self.generator,
            progress=False,
            threads=PAGE_THREADS,
            **FIT_OPTIONS[self.settings.engine],
        )
        self.epoch += 1
        record = dict(history.last)
        record["epoch"] = float(self.epoch)
        return record


def build_model(settings: Settings) -> Module:
    """The network: ``nn.scalar.MLP`` over Values or ``nn.MLP`` over Tensors."""
    if settings.engine == "value":
        return nn.scalar.MLP(
            settings.features, settings.sizes, activation=settings.activation, rng=settings.seed
        )
    return nn.MLP(
        settings.features, settings.sizes, activation=settings.activation, rng=settings.seed
    )


def build_optimizer(settings: Settings, model: Module) -> Optimizer:
    """SGD or Adam; the L2 regularisation is the optimiser's weight decay (λ·w added to
    each gradient, the gradient of λ/2·‖w‖²)."""
    if settings.optimizer == "adam":
        return nn.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.l2)
    return nn.optim.SGD(model.parameters(), lr=settings.lr, weight_decay=settings.l2)
