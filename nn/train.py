"""``fit`` and ``evaluate``: minibatch training with a live progress bar, and a History.

    history = nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=opt, epochs=5,
                     batch_size=128, validation=(X_val, y_val))
    history["val_accuracy"]     # one number per epoch

Each epoch shuffles the data (seeded by ``rng``), and for every minibatch computes the
loss, back-propagates, and lets the optimiser step. Validation runs in evaluation mode
with no graph recorded. A loss that becomes NaN or infinite stops training with
``TrainingDivergedError`` instead of running on.

The same functions train both kinds of model: Tensor models (``nn.MLP``,
``nn.Sequential``) on batches as Tensors, and scalar models (``nn.scalar.MLP``) one sample
at a time, as Values; losses, metrics, optimisers and schedulers take either.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograd import Tensor, Value, no_grad
from tracegrad.files import write_atomically
from tracegrad.rng import Seed, as_generator

from .data import batches
from .metrics import accuracy, r2_score, zero_one_loss
from .module import Module
from .optim import LRScheduler, Optimizer
from .threads import IdleCores, blas_threads

Loss = Callable[[Tensor, Any], Tensor]
Metric = Callable[[np.ndarray, np.ndarray], float]

#: The metrics ``fit`` and ``evaluate`` know by name.
METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "zero_one_loss": zero_one_loss,
    "r2": r2_score,
}


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``fit``: ``history`` holds the epochs finished before it."""

    def __init__(self, history: History) -> None:
        super().__init__(f"training interrupted after {len(history)} finished epochs")
        self.history = history


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite; ``history`` holds the epochs finished before."""

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


@dataclass
class History:
    """Per-epoch records, one dict per epoch. What each number is:

    - ``loss`` and the metrics (``accuracy``, ...): averages over the epoch's minibatches,
      each computed *before* its step, while the weights were still moving; cheap, and a
      little behind the model as it ends the epoch;
    - ``train_loss``, ``train_accuracy``, ...: with ``fit(evaluate_training=True)``, the
      same measured on the whole training set at the end of the epoch, in evaluation
      mode, as ``evaluate`` computes them;
    - ``val_loss``, ``val_accuracy``, ...: on the validation data, at the end of the epoch;
    - ``epoch`` and ``seconds``.
    """

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


def is_scalar(model: Module) -> bool:
    """True for a model of Values (``nn.scalar``), which takes one sample at a time."""
    from .scalar import MLP, Layer, Neuron

    if isinstance(model, (MLP, Layer, Neuron)):
        return True
    return any(isinstance(p, Value) for p in model.parameters())


def forward(model: Module, X: np.ndarray, scalar: bool | None = None) -> Any:
    """The model's outputs for a batch, as the losses take them: a Tensor for a Tensor
    model; for a scalar model, one output per sample (a Value, or a list of Values).
    ``scalar`` says which the model is, when the caller knows already."""
    if is_scalar(model) if scalar is None else scalar:
        return [model(row) for row in X.tolist()]
    return model(Tensor.from_numpy(X))


def outputs_array(outputs: Any) -> np.ndarray:
    """A batch of outputs (see ``forward``) as a plain array, for the metrics."""
    if isinstance(outputs, Tensor):
        return np.asarray(outputs.data)
    return np.array([[v.data for v in o] if isinstance(o, list) else o.data for o in outputs])


def _warn_on_double_squashing(model: Module, loss: Any) -> None:
    """Warn when the model ends with Softmax (Sigmoid) and the loss takes logits: the
    loss applies the squashing again, and training goes on, badly."""
    from .activations import Sigmoid
    from .layers import Sequential, Softmax
    from .losses import binary_cross_entropy, cross_entropy

    last: Module = model
    while isinstance(last, Sequential) and last.layers:
        last = last.layers[-1]
    pairs = {cross_entropy: Softmax, binary_cross_entropy: Sigmoid}
    squashing = pairs.get(loss)
    if squashing is not None and type(last) is squashing:
        warnings.warn(
            f"fit: the model ends with {squashing.__name__} but {loss.__name__} takes logits "
            f"(it applies {squashing.__name__.lower()} itself): remove the last layer, or "
            "training goes on with squashed outputs and learns badly",
            UserWarning,
            stacklevel=3,
        )


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
    kinds = {type(p) for p in model.parameters()}
    if len(kinds) > 1:
        raise TypeError(f"{what}: the model mixes {sorted(k.__name__ for k in kinds)} parameters")


def _predict_batches(model: Module, X: np.ndarray, batch_size: int) -> np.ndarray:
    outputs, scalar = [], is_scalar(model)
    for start in range(0, max(len(X), 1), batch_size):  # no samples: one empty batch
        outputs.append(outputs_array(forward(model, X[start : start + batch_size], scalar)))
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
    _check_model(model, "evaluate")
    X = np.asarray(X, dtype=model_dtype(model))
    was_training = model.training
    model.eval()
    losses, outputs, scalar = [], [], is_scalar(model)
    try:
        with no_grad():
            for start in range(0, len(X), batch_size):
                batch = forward(model, X[start : start + batch_size], scalar)
                if loss is not None:
                    losses.append(_summed_loss(loss, batch, y[start : start + batch_size]))
                outputs.append(outputs_array(batch))
    finally:
        model.train(was_training)
    results: dict[str, float] = {}
    if loss is not None:
        results["loss"] = sum(losses) / len(X)
    results.update(_scores(names, np.concatenate(outputs), y))
    return results


def _summed_loss(loss: Any, outputs: Any, y: np.ndarray) -> float:
    """The loss summed over a batch (so that batches of any size average right)."""
    try:
        return float(loss(outputs, y, reduction="sum").item())
    except TypeError as error:
        if "reduction" not in str(error):
            raise
        return float(loss(outputs, y).item()) * len(y)  # a loss of one's own, a mean


def _scores(names: dict[str, Metric], outputs: np.ndarray, y: np.ndarray) -> dict[str, float]:
    return {name: float(metric(outputs, y)) for name, metric in names.items()}


@dataclass
class _Run:
    """Everything one call of ``fit`` trains with, checked, in one place."""

    model: Module
    X: np.ndarray
    y: np.ndarray
    loss: Loss
    optimizer: Optimizer
    epochs: int
    batch_size: int
    shuffle: bool
    generator: np.random.Generator
    names: dict[str, Metric]
    validation: tuple[np.ndarray, np.ndarray] | None
    scheduler: LRScheduler | None
    on_epoch_end: Callable[[dict[str, float]], None] | None
    evaluate_training: bool
    threads: int | None
    bar: Any
    history: History = field(default_factory=History)
    idle_cores: IdleCores = field(default_factory=IdleCores)
    #: Whether the model is one of Values (asked once: it walks the parameters).
    scalar: bool = field(init=False)

    def __post_init__(self) -> None:
        self.scalar = is_scalar(self.model)


def _train_epoch(run: _Run, epoch: int) -> dict[str, float]:
    """One pass over the data, a gradient step per minibatch; the epoch's loss and metrics."""
    model, names, bar = run.model, run.names, run.bar
    model.train()
    total_loss, seen, outputs, labels = 0.0, 0, [], []
    for step, (X_batch, y_batch) in enumerate(
        batches(run.X, run.y, run.batch_size, shuffle=run.shuffle, rng=run.generator), start=1
    ):
        output = forward(model, X_batch, run.scalar)
        batch_loss = run.loss(output, y_batch)
        value = float(batch_loss.item())
        if not math.isfinite(value):
            raise TrainingDivergedError(
                f"fit: the loss became {value} at epoch {epoch}, batch {step}; "
                "lower the learning rate or check the data for NaN",
                run.history,
            )
        run.optimizer.zero_grad()
        batch_loss.backward()
        run.optimizer.step()
        total_loss += value * len(X_batch)
        seen += len(X_batch)
        if names:
            outputs.append(outputs_array(output))
            labels.append(y_batch)
        bar.update()
        if not bar.disable:
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
    evaluate_training: bool = False,
    threads: int | None = None,
) -> History:
    """Train ``model`` on (X, y) by minibatch gradient descent; returns the History.

    ``model`` is a Tensor model or a scalar one (``nn.scalar``); ``loss`` is one of
    ``nn``'s losses or any function (outputs, targets, reduction=...) -> node. The losses
    that take logits (cross_entropy, binary_cross_entropy) want the model without a final
    Softmax or Sigmoid: ``fit`` warns when it sees that pair.
    ``metrics`` defaults to accuracy for integer labels and to none for real targets.
    ``evaluate_training`` adds end-of-epoch figures on the whole training set
    (``train_loss``, ``train_accuracy``; see ``History``). ``threads`` fixes how many
    threads numpy's BLAS uses; by default each epoch uses the cores that other
    processes left idle during the last (see ``nn.threads``), which keeps a busy machine
    from slowing training down many times.
    ``scheduler`` (if any) steps once per epoch. ``on_epoch_end(record)`` is called with
    each epoch's record before it is stored, and may add entries to it (a weight norm,
    say). ``rng`` seeds the shuffling (``shuffle=False`` keeps the data's order).
    """
    _check_model(model, "fit")
    if threads is not None and threads < 1:
        raise ValueError(f"fit: threads must be at least 1, got {threads}")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"fit: epochs and batch_size must be positive, got {epochs}, {batch_size}")
    X = np.asarray(X, dtype=model_dtype(model))
    y = np.asarray(y)
    _check_samples(X, "fit")
    _check_samples(y, "fit", "y")
    if len(X) != len(y):
        raise ValueError(f"fit: X has {len(X)} samples but y has {len(y)}")
    names = _metric_functions(_default_metrics(y) if metrics is None else metrics)
    validation_data = None
    if validation is not None:
        X_val, y_val = np.asarray(validation[0], dtype=X.dtype), np.asarray(validation[1])
        _check_samples(X_val, "fit", "the validation X")
        _check_samples(y_val, "fit", "the validation y")
        validation_data = (X_val, y_val)
    _warn_on_double_squashing(model, loss)

    from tqdm import tqdm

    bar = tqdm(
        total=epochs * math.ceil(len(X) / batch_size),
        disable=not progress,
        unit="batch",
        mininterval=0.25,
        dynamic_ncols=True,
    )
    run = _Run(
        model, X, y, loss, optimizer, epochs, batch_size, shuffle, as_generator(rng), names,
        validation_data, scheduler, on_epoch_end, evaluate_training, threads, bar,
    )  # fmt: skip
    try:
        for epoch in range(1, epochs + 1):
            _run_epoch(run, epoch)
    except KeyboardInterrupt:
        raise TrainingInterrupted(run.history) from None
    finally:
        bar.close()
    return run.history


def _run_epoch(run: _Run, epoch: int) -> None:
    """One epoch of ``fit``: train, measure, record, and step the schedule."""
    run.bar.set_description(f"epoch {epoch}/{run.epochs}")
    start = time.perf_counter()
    with blas_threads(_thread_count(run)):
        record = _train_epoch(run, epoch)
        _add_end_of_epoch_figures(run, record)
    record["seconds"] = time.perf_counter() - start
    if run.on_epoch_end is not None:
        run.on_epoch_end(record)
    run.history.records.append(record)
    run.bar.set_postfix(
        {k: f"{v:.4f}" for k, v in record.items() if k not in ("epoch", "seconds")},
        refresh=True,
    )
    if run.scheduler is not None:
        run.scheduler.step()


def _add_end_of_epoch_figures(run: _Run, record: dict[str, float]) -> None:
    """The figures measured after the epoch: on the training data if asked, validation."""
    batch = max(run.batch_size, 1024)
    if run.evaluate_training:
        trained = _evaluate(run.model, run.X, run.y, run.loss, run.names, batch)
        record.update({f"train_{key}": number for key, number in trained.items()})
    if run.validation is not None:
        X_val, y_val = run.validation
        validated = _evaluate(run.model, X_val, y_val, run.loss, run.names, batch)
        record.update({f"val_{key}": number for key, number in validated.items()})


def _thread_count(run: _Run) -> int | None:
    """The BLAS threads for the next epoch: as asked, else the cores others leave idle."""
    if run.threads is not None:
        return run.threads
    if run.scalar:
        return 1  # no matrix products to share out
    return run.idle_cores.count()
