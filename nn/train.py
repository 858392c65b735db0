"""``fit`` and ``evaluate``: minibatch training with a live progress bar, and a History.

    history = nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=opt, epochs=5,
                     batch_size=128, validation=(X_val, y_val))
    history["val_accuracy"]     # one number per epoch

Each epoch shuffles the data (seeded by ``rng``), and for every minibatch computes the
loss, back-propagates, and lets the optimiser step. Training metrics are averaged over
the epoch's batches (weighted by their size); validation runs in evaluation mode with
no graph recorded. A loss that becomes NaN or infinite stops training with
``TrainingDivergedError`` instead of running on.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograd import Tensor, no_grad
from autograd.atomic import write_atomically
from autograd.rng import Seed, as_generator

from .data import batches
from .metrics import accuracy, r2_score, zero_one_loss
from .module import Module
from .optim import LRScheduler, Optimizer

Loss = Callable[[Tensor, Any], Tensor]
Metric = Callable[[np.ndarray, np.ndarray], float]

#: The metrics ``fit`` and ``evaluate`` know by name.
METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "zero_one_loss": zero_one_loss,
    "r2": lambda outputs, y: r2_score(y, outputs),
}


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite; ``history`` holds the epochs finished before."""

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


@dataclass
class History:
    """Per-epoch records: loss, metrics, their val_ versions, and the epoch's seconds."""

    records: list[dict[str, float]] = field(default_factory=list)

    def __getitem__(self, key: str) -> list[float]:
        if not self.records or key not in self.records[0]:
            known = sorted(self.records[0]) if self.records else []
            raise KeyError(f"History has no {key!r}; it has {known}")
        return [record[key] for record in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def keys(self) -> list[str]:
        """The names recorded every epoch."""
        return list(self.records[0]) if self.records else []

    @property
    def last(self) -> dict[str, float]:
        """The last epoch's record."""
        return self.records[-1] if self.records else {}

    def to_json(self) -> str:
        """The records as JSON (a list of objects, one per epoch)."""
        return json.dumps(self.records, indent=1)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the records as JSON, atomically."""
        write_atomically(path, self.to_json().encode())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> History:
        """Read records written by ``save``."""
        with open(path, encoding="utf-8") as file:
            return cls(json.load(file))


def model_dtype(model: Module) -> np.dtype[Any]:
    """The dtype of the model's first parameter (float32 for a model without any)."""
    for p in model.parameters():
        return np.asarray(p.data).dtype
    return np.dtype(np.float32)


def _metric_functions(metrics: Sequence[str | Metric]) -> dict[str, Metric]:
    named: dict[str, Metric] = {}
    for metric in metrics:
        if isinstance(metric, str):
            if metric not in METRICS:
                raise ValueError(f"unknown metric {metric!r}; choose from {sorted(METRICS)}")
            named[metric] = METRICS[metric]
        else:
            named[getattr(metric, "__name__", "metric")] = metric
    return named


def _default_metrics(y: np.ndarray) -> tuple[str, ...]:
    return ("accuracy",) if y.dtype.kind in "iub" else ()


def _check_model(model: Module, what: str) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"{what}: model must be an nn.Module, got {type(model).__name__}")
    if any(not isinstance(p, Tensor) for p in model.parameters()):
        raise TypeError(
            f"{what}: the model has Value parameters; fit and evaluate train Tensor models "
            "(train an nn.scalar model with its own loop, as nn.demo does)"
        )


def _predict_batches(model: Module, X: np.ndarray, batch_size: int) -> np.ndarray:
    outputs = []
    for start in range(0, max(len(X), 1), batch_size):  # no samples: one empty batch
        outputs.append(np.asarray(model(Tensor.from_numpy(X[start : start + batch_size])).data))
    return np.concatenate(outputs)


def _check_samples(X: np.ndarray, what: str, name: str = "X") -> None:
    """Refuse data with no samples, naming it: a mean over nothing is no score."""
    if X.ndim == 0 or len(X) == 0:
        raise ValueError(f"{what}: {name} holds no samples (shape {X.shape})")


def predict(model: Module, X: Any, batch_size: int = 1024) -> np.ndarray:
    """The model's outputs for X, in evaluation mode, with no graph recorded.

    No samples give no outputs: an array of zero rows.
    """
    _check_model(model, "predict")
    X = np.asarray(X, dtype=model_dtype(model))
    if X.ndim == 0:
        raise ValueError(f"predict: X must hold samples along its first axis, got a scalar {X}")
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return _predict_batches(model, X, batch_size)
    finally:
        model.train(was_training)


def evaluate(
    model: Module,
    X: Any,
    y: Any,
    *,
    loss: Loss | None = None,
    metrics: Sequence[str | Metric] | None = None,
    batch_size: int = 1024,
) -> dict[str, float]:
    """The loss (when given) and the metrics of the model on (X, y), in evaluation mode."""
    y = np.asarray(y)
    _check_samples(np.asarray(X), "evaluate")
    _check_samples(y, "evaluate", "y")
    names = _metric_functions(_default_metrics(y) if metrics is None else metrics)
    return _evaluate(model, X, y, loss, names, batch_size)


def _evaluate(
    model: Module,
    X: Any,
    y: np.ndarray,
    loss: Loss | None,
    names: dict[str, Metric],
    batch_size: int,
) -> dict[str, float]:
    outputs = predict(model, X, batch_size)
    results: dict[str, float] = {}
    if loss is not None:
        with no_grad():
            results["loss"] = float(loss(Tensor.from_numpy(outputs), y).item())
    results.update(_scores(names, outputs, y))
    return results


def _scores(names: dict[str, Metric], outputs: np.ndarray, y: np.ndarray) -> dict[str, float]:
    return {name: float(metric(outputs, y)) for name, metric in names.items()}


def _train_epoch(
    model: Module,
    X: np.ndarray,
    y: np.ndarray,
    loss: Loss,
    optimizer: Optimizer,
    batch_size: int,
    shuffle: bool,
    generator: np.random.Generator,
    bar: Any,
    epoch: int,
    history: History,
    names: dict[str, Metric],
) -> dict[str, float]:
    """One pass over the data, a gradient step per minibatch; the epoch's loss and metrics."""
    model.train()
    total_loss, seen, outputs, labels = 0.0, 0, [], []
    for step, (X_batch, y_batch) in enumerate(
        batches(X, y, batch_size, shuffle=shuffle, rng=generator), start=1
    ):
        output = model(Tensor.from_numpy(X_batch))
        batch_loss = loss(output, y_batch)
        value = float(batch_loss.item())
        if not math.isfinite(value):
            raise TrainingDivergedError(
                f"fit: the loss became {value} at epoch {epoch}, batch {step}; "
                "lower the learning rate or check the data for NaN",
                history,
            )
        optimizer.zero_grad()
        batch_loss.backward()
        optimizer.step()
        total_loss += value * len(X_batch)
        seen += len(X_batch)
        if names:
            outputs.append(output.data)
            labels.append(y_batch)
        bar.update()
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", refresh=False)
    record = {"epoch": float(epoch), "loss": total_loss / seen}
    if names:
        record.update(_scores(names, np.concatenate(outputs), np.concatenate(labels)))
    return record


def fit(
    model: Module,
    X: Any,
    y: Any,
    *,
    loss: Loss,
    optimizer: Optimizer,
    epochs: int,
    batch_size: int = 32,
    validation: tuple[Any, Any] | None = None,
    metrics: Sequence[str | Metric] | None = None,
    scheduler: LRScheduler | None = None,
    on_epoch_end: Callable[[dict[str, float]], None] | None = None,
    progress: bool = True,
    shuffle: bool = True,
    rng: Seed = 0,
) -> History:
    """Train ``model`` on (X, y) by minibatch gradient descent; returns the History.

    ``metrics`` defaults to accuracy for integer labels and to none for real targets.
    ``scheduler`` (if any) steps once per epoch. ``on_epoch_end(record)`` is called with
    each epoch's record before it is stored, and may add entries to it (a weight norm,
    say). ``rng`` seeds the shuffling (``shuffle=False`` keeps the data's order).
    """
    _check_model(model, "fit")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"fit: epochs and batch_size must be positive, got {epochs}, {batch_size}")
    X = np.asarray(X, dtype=model_dtype(model))
    y = np.asarray(y)
    _check_samples(X, "fit")
    _check_samples(y, "fit", "y")
    if len(X) != len(y):
        raise ValueError(f"fit: X has {len(X)} samples but y has {len(y)}")
    names = _metric_functions(_default_metrics(y) if metrics is None else metrics)
    if validation is not None:
        X_val, y_val = np.asarray(validation[0], dtype=X.dtype), np.asarray(validation[1])
        _check_samples(X_val, "fit", "the validation X")
        _check_samples(y_val, "fit", "the validation y")
    generator = as_generator(rng)
    history = History()
    steps_per_epoch = math.ceil(len(X) / batch_size)

    from tqdm import tqdm

    bar = tqdm(
        total=epochs * steps_per_epoch,
        disable=not progress,
        unit="batch",
        mininterval=0.25,
        dynamic_ncols=True,
    )
    try:
        for epoch in range(1, epochs + 1):
            bar.set_description(f"epoch {epoch}/{epochs}")
            start = time.perf_counter()
            record = _train_epoch(
                model,
                X,
                y,
                loss,
                optimizer,
                batch_size,
                shuffle,
                generator,
                bar,
                epoch,
                history,
                names,
            )
            if validation is not None:
                validated = _evaluate(model, X_val, y_val, loss, names, max(batch_size, 1024))
                record.update({f"val_{key}": number for key, number in validated.items()})
            record["seconds"] = time.perf_counter() - start
            if on_epoch_end is not None:
                on_epoch_end(record)
            history.records.append(record)
            bar.set_postfix(
                {k: f"{v:.4f}" for k, v in record.items() if k not in ("epoch", "seconds")},
                refresh=True,
            )
            if scheduler is not None:
                scheduler.step()
    finally:
        bar.close()
    return history
