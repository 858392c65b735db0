"""``fit`` and ``evaluate``: minibatch training with a live progress bar, and a History.

    history = nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=opt, epochs=5,
                     batch_size=128, validation=(X_val, y_val))
    history["val_accuracy"]     # one number per epoch

Each epoch shuffles the data (seeded by ``rng``), and for every minibatch computes the
loss, back-propagates, and lets the optimiser step. Validation runs in evaluation mode
with no graph recorded. A loss that becomes NaN or infinite stops training with
``TrainingDivergedError`` instead of running on.

Around the loop: callbacks (``nn.callbacks``: stop early and restore the best weights,
log to CSV, draw the curves live in Jupyter with ``plot=True``), gradient clipping
(``max_grad_norm``), and checkpoints: ``checkpoint=path`` writes the whole state of the
run after each epoch, and ``resume_from=path`` goes on from one, giving to the last bit
the weights and history of a run that was never stopped (``nn.checkpoint``).

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograd import Tensor, TracingError, Value, no_grad
from autograd import compile as autograd_compile
from tracegrad.files import write_atomically
from tracegrad.rng import Seed
from tracegrad.words import counted

from . import checks
from .callbacks import LiveCurves, StopTraining, Training
from .data import _rows, batches
from .losses import LOSSES
from .metrics import accuracy, r2_score, zero_one_loss
from .module import Module
from .optim import LRScheduler, Optimizer, ReduceLROnPlateau
from .threads import IdleCores, blas_threads
from .utils import clip_grad_norm_

Loss = Callable[[Tensor, Any], Tensor]
Metric = Callable[[np.ndarray, np.ndarray], float]

#: The most BLAS threads ``fit(threads=)`` sets: more than any machine's cores only slows
#: BLAS down, and far more overflows the C int that BLAS takes.
MAX_THREADS = 1024

#: The metrics ``fit`` and ``evaluate`` know by name.
METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "zero_one_loss": zero_one_loss,
    "r2": r2_score,
}


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``fit``: ``history`` holds the epochs finished before it."""

    def __init__(self, history: History) -> None:
        super().__init__(f"training interrupted after {counted(len(history), 'finished epoch')}")
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
    - ``lr``: the learning rate the epoch's steps took (a scheduler sets the next after it);
    - ``epoch`` and ``seconds`` (the epoch's wall time: its steps and its figures).
    """

    records: list[dict[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.records, list) or not all(
            isinstance(record, dict) for record in self.records
        ):
            checks.wrong_type("History", "records", "a list of dicts, one per epoch", self.records)

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
        checks.path(path, "History.save")
        write_atomically(path, self.to_json().encode())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> History:
        """Read records written by ``save``: a JSON list of objects, one per epoch."""
        checks.path(path, "History.load")
        with open(path, "rb") as file:
            raw = file.read()
        try:
            records = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ValueError(
                f"History.load: path {os.fspath(path)} holds no history written by "
                "History.save: it is not JSON text (a model file is read by nn.load)"
            ) from None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ValueError(
                f"History.load: path {os.fspath(path)} holds JSON, but not a list of records "
                "(one object per epoch) as History.save writes"
            )
        return cls(records)


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
    ``scalar`` says which the model is, when the caller knows already.

    The Tensor shares ``X``'s memory: ``X`` is a batch of the library's own (made by
    ``nn.data._rows``), never the caller's array, so whatever the model does to its input
    stays in the batch."""
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
    from . import functional
    from .activations import Sigmoid
    from .layers import Sequential, Softmax
    from .losses import _Loss, binary_cross_entropy, cross_entropy

    last: Module = model
    while isinstance(last, Sequential) and last.layers:
        last = last.layers[-1]
    pairs = {
        cross_entropy: Softmax,
        functional.cross_entropy: Softmax,
        binary_cross_entropy: Sigmoid,
        functional.binary_cross_entropy_with_logits: Sigmoid,
    }
    # a loss module (CrossEntropyLoss()) by the function it applies
    squashing = pairs.get(type(loss).function if isinstance(loss, _Loss) else loss)
    if squashing is not None and type(last) is squashing:
        warnings.warn(
            f"fit: the model ends with {squashing.__name__} but {loss.__name__} takes logits "
            f"(it applies {squashing.__name__.lower()} itself): remove the last layer, or "
            "training goes on with squashed outputs and learns badly",
            UserWarning,
            stacklevel=3,
        )


def _metric_functions(metrics: Any, where: str) -> dict[str, Metric]:
    """The metrics by name: names from ``METRICS``, or functions (named by ``__name__``)."""
    if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
        hint = f": write [{metrics!r}]" if isinstance(metrics, str) else ""
        checks.wrong_type(
            where, "metrics", "a list of metric names or functions, such as ['accuracy']",
            metrics, hint,
        )  # fmt: skip
    named: dict[str, Metric] = {}
    for position, metric in enumerate(metrics):
        if isinstance(metric, str):
            if metric not in METRICS:
                raise ValueError(
                    f"{where}: unknown metric {metric!r} in metrics; choose from {sorted(METRICS)}"
                )
            named[metric] = METRICS[metric]
        else:
            checks.function(metric, where, f"metrics[{position}]", "a metric name or function")
            named[getattr(metric, "__name__", "metric")] = metric
    return named


def _chosen_metrics(metrics: Any, y: np.ndarray, where: str) -> dict[str, Metric]:
    """The metrics asked for; by default accuracy for integer labels, none for real targets."""
    if metrics is None:
        metrics = ["accuracy"] if y.dtype.kind in "iub" else []
    return _metric_functions(metrics, where)


def _check_model(model: Any, where: str) -> Module:
    checks.instance(model, Module, where, "model")
    kinds = {type(p) for p in model.parameters()}
    if len(kinds) > 1:
        raise TypeError(f"{where}: the model mixes {sorted(k.__name__ for k in kinds)} parameters")
    return model


def _check_loss(loss: Any, where: str) -> Loss:
    hint = f": write loss=nn.{loss}" if isinstance(loss, str) and loss in LOSSES else ""
    return checks.function(loss, where, "loss", "a loss function such as nn.cross_entropy", hint)


def input_features(model: Module) -> tuple[int, bool] | None:
    """How many numbers one sample holds for ``model``, when its first layer says, and
    whether the model flattens each sample first (else a sample is one row of features).
    None when its first layer does not say (a user's own module, an activation)."""
    from .layers import Flatten, Linear
    from .scalar import MLP, Layer, Neuron

    layers = _leaves(model)
    flattens = bool(layers) and isinstance(layers[0], Flatten) and layers[0].start_axis == 1
    first = layers[int(flattens)] if len(layers) > int(flattens) else None
    if isinstance(first, Linear):
        return first.in_features, flattens
    if isinstance(first, MLP):
        return first.nin, False
    if isinstance(first, Layer):
        return len(first.neurons[0].w), False
    if isinstance(first, Neuron):
        return len(first.w), False
    return None


def _leaves(model: Module) -> list[Module]:
    """The layers of nested Sequentials, in order."""
    from .layers import Sequential

    if isinstance(model, Sequential):
        return [leaf for layer in model.layers for leaf in _leaves(layer)]
    return [model]


def _check_features(model: Module, X: np.ndarray, where: str, name: str = "X") -> None:
    """Refuse data whose samples the model cannot take, naming both, before any work."""
    known = input_features(model)
    if known is None:
        return
    features, flattens = known
    sample = X.shape[1:]
    if flattens:
        fits = len(sample) >= 1 and math.prod(sample) == features
    elif is_scalar(model):
        fits = sample == (features,) or (sample == () and features == 1)
    else:
        fits = sample == (features,)
    if not fits:
        raise ValueError(
            f"{where}: {name} holds samples of shape {sample}, but the model takes "
            f"{counted(features, 'feature')} per sample ({name} of shape (n, {features}))"
        )


def _run_model(model: Module, X: np.ndarray, where: str, scalar: bool) -> Any:
    """The model's outputs for a batch; a refusal of the data names the call and X."""
    try:
        return forward(model, X, scalar)
    except (TypeError, ValueError) as error:
        context = f"{where}: the model refused X (a batch of shape {X.shape})"
        raise _refusal(error, context) from error


def _refusal(error: Exception, context: str) -> Exception:
    """``error`` again, of its kind (a TypeError or a ValueError), with the call's context
    before its message: which public call, which argument."""
    kind = TypeError if isinstance(error, TypeError) else ValueError
    return kind(f"{context}: {error}")


def _predict_batches(model: Module, X: np.ndarray, batch_size: int, where: str) -> np.ndarray:
    outputs, scalar = [], is_scalar(model)
    for start in range(0, max(len(X), 1), batch_size):  # no samples: one empty batch
        batch = _run_model(model, _rows(X, slice(start, start + batch_size)), where, scalar)
        outputs.append(outputs_array(batch))
    return np.concatenate(outputs)


def predict(model: Module, X: Any, batch_size: int = 1024) -> np.ndarray:
    """The model's outputs for X, in evaluation mode, with no graph recorded.

    No samples give no outputs: an array of zero rows.
    """
    _check_model(model, "predict")
    X = checks.numbers(X, "predict", "X", model_dtype(model), at_least_1d=True)
    batch_size = checks.positive_int(batch_size, "predict", "batch_size")
    _check_features(model, X, "predict")
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return _predict_batches(model, X, batch_size, "predict")
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
    _check_model(model, "evaluate")
    X = checks.samples(X, "evaluate", "X", model_dtype(model))
    y = checks.samples(y, "evaluate", "y")
    checks.same_length(X, y, "evaluate")
    _check_features(model, X, "evaluate")
    if loss is not None:
        _check_loss(loss, "evaluate")
    names = _chosen_metrics(metrics, y, "evaluate")
    batch_size = checks.positive_int(batch_size, "evaluate", "batch_size")
    return _evaluate(model, X, y, loss, names, batch_size, "evaluate")


def _evaluate(
    model: Module,
    X: np.ndarray,
    y: np.ndarray,
    loss: Loss | None,
    names: dict[str, Metric],
    batch_size: int,
    where: str,
) -> dict[str, float]:
    """``evaluate`` on checked arguments (``fit`` calls it at the end of an epoch)."""
    was_training = model.training
    model.eval()
    losses, outputs, scalar = [], [], is_scalar(model)
    try:
        with no_grad():
            for start in range(0, len(X), batch_size):
                picked = slice(start, start + batch_size)
                batch = _run_model(model, _rows(X, picked), where, scalar)
                if loss is not None:
                    losses.append(_summed_loss(loss, batch, _rows(y, picked), where))
                outputs.append(outputs_array(batch))
    finally:
        model.train(was_training)
    results: dict[str, float] = {}
    if loss is not None:
        results["loss"] = sum(losses) / len(X)
    results.update(_scores(names, np.concatenate(outputs), y.copy(), where))  # not the caller's
    return results


def _loss_number(result: Any, loss: Any, where: str) -> float:
    """The number a loss gave: one, held by a node (``backward`` starts from it)."""
    _check_loss_node(result, loss, where)
    return float(result.item())


def _check_loss_node(result: Any, loss: Any, where: str) -> None:
    """A loss gives one number, held by a node: what ``backward`` can start from."""
    if not isinstance(result, (Tensor, Value)):
        raise TypeError(
            f"{where}: loss {getattr(loss, '__name__', loss)!r} must return a node (a Tensor "
            f"or a Value) to back-propagate from, got {checks.describe(result)}"
        )
    if isinstance(result, Tensor) and result.shape != ():
        raise ValueError(
            f"{where}: loss {getattr(loss, '__name__', loss)!r} must return one number, got "
            f"a Tensor of shape {result.shape} (reduce it: reduction='mean')"
        )


def _call_loss(loss: Any, outputs: Any, y: np.ndarray, where: str, **options: Any) -> Any:
    """The loss of a batch; a refusal of the targets names the call and y."""
    try:
        return loss(outputs, y, **options)
    except (TypeError, ValueError) as error:
        if options and isinstance(error, TypeError) and "reduction" in str(error):
            raise  # a loss of one's own, without reduction=: the caller falls back
        name = getattr(loss, "__name__", "loss")
        context = f"{where}: the loss {name} refused the model's outputs and y"
        raise _refusal(error, context) from error


def _summed_loss(loss: Any, outputs: Any, y: np.ndarray, where: str) -> float:
    """The loss summed over a batch (so that batches of any size average right)."""
    try:
        return _loss_number(_call_loss(loss, outputs, y, where, reduction="sum"), loss, where)
    except TypeError as error:
        if "reduction" not in str(error) or str(error).startswith(where):
            raise
    mean = _loss_number(_call_loss(loss, outputs, y, where), loss, where)
    return mean * len(y)  # a loss of one's own, a mean


def _scores(
    names: dict[str, Metric], outputs: np.ndarray, y: np.ndarray, where: str
) -> dict[str, float]:
    scores = {}
    for name, metric in names.items():
        try:
            scores[name] = float(metric(outputs, y))
        except (TypeError, ValueError) as error:
            context = f"{where}: the metric {name} refused the model's outputs and y"
            raise _refusal(error, context) from error
    return scores


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
    progress: bool
    compile: bool = False
    bar: Any = None
    history: History = field(default_factory=History)
    idle_cores: IdleCores = field(default_factory=IdleCores)
    #: Whether the model is one of Values (asked once: it walks the parameters).
    scalar: bool = field(init=False)
    #: With ``compile``, the compiled step for each shape of batch (the last may be smaller).
    steps: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    #: The callbacks (``nn.callbacks``), and whether one asked to stop.
    callbacks: list[Any] = field(default_factory=list)
    stopped: bool = False
    #: Clip the gradients' joint norm to this before each step (None: never).
    max_grad_norm: float | None = None
    #: Where the state is written after each epoch, and what identifies the data.
    checkpoint: str | os.PathLike[str] | None = None
    fingerprint: dict[str, Any] = field(default_factory=dict)

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
        if run.compile:  # the forward and the backward as one compiled step
            run.optimizer.zero_grad()
            try:
                loss_data, output = _compiled_step(run, X_batch, y_batch).forward_backward(
                    X_batch, y_batch
                )
            except TracingError as error:
                raise TypeError(
                    f"fit: compile=True cannot compile this training step ({error}); train "
                    "with compile=False"
                ) from error
            value = _compiled_loss_number(loss_data, run.loss)
        else:
            output = _run_model(model, X_batch, "fit", run.scalar)
            batch_loss = _call_loss(run.loss, output, y_batch, "fit")
            value = _loss_number(batch_loss, run.loss, "fit")
        if getattr(run.loss, "reduction", "mean") == "sum":  # a loss module made to sum:
            value /= len(X_batch)  # the history's loss is per sample, as evaluate's is
        if not math.isfinite(value):
            raise TrainingDivergedError(
                f"fit: the loss became {value} at epoch {epoch}, batch {step}; "
                "lower the learning rate or check the data (X, y) for NaN and huge values",
                run.history,
            )
        if not run.compile:
            run.optimizer.zero_grad()
            batch_loss.backward()
        if run.max_grad_norm is not None:
            clip_grad_norm_(run.optimizer.parameters, run.max_grad_norm)
        run.optimizer.step()
        total_loss += value * len(X_batch)
        seen += len(X_batch)
        if names:
            outputs.append(np.asarray(output) if run.compile else outputs_array(output))
            labels.append(y_batch)
        bar.update()
        if not bar.disable:
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", refresh=False)
    record = {"epoch": float(epoch), "loss": total_loss / seen}
    if names:
        record.update(_scores(names, np.concatenate(outputs), np.concatenate(labels), "fit"))
    return record


def _compiled_step(run: _Run, X: np.ndarray, y: np.ndarray) -> Any:
    """``fit``'s step for batches shaped as (X, y), compiled at its first use.

    It returns the batch's loss, a node whose backward is compiled, and the outputs' data
    for the metrics: the outputs themselves would each get a compiled backward nobody uses.
    """
    key = (X.shape, X.dtype, y.shape, y.dtype)
    step = run.steps.get(key)
    if step is None:
        model, loss, scalar = run.model, run.loss, run.scalar

        def train_step(X_batch: Any, y_batch: Any) -> tuple[Any, Any]:
            output = _run_model(model, X_batch, "fit", scalar)
            data = output.data if isinstance(output, Tensor) else _outputs_data(output)
            batch_loss = _call_loss(loss, output, y_batch, "fit")
            _check_loss_node(batch_loss, loss, "fit")  # by its shape: traced, it has no number
            return batch_loss, data

        step = run.steps[key] = autograd_compile(train_step)
    return step


def _compiled_loss_number(data: Any, loss: Any) -> float:
    """The loss a compiled step gave, as data: one number (see ``_loss_number``)."""
    if np.size(data) != 1:
        raise ValueError(
            f"fit: loss {getattr(loss, '__name__', loss)!r} must return one number, got an "
            f"array of shape {np.shape(data)} (reduce it: reduction='mean')"
        )
    return float(np.asarray(data).reshape(()))


def _outputs_data(outputs: list[Any]) -> list[Any]:
    """A scalar model's outputs as their data (one number, or a list, per sample)."""
    return [[v.data for v in o] if isinstance(o, list) else o.data for o in outputs]


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
    on_epoch_end: Callable[[dict[str, float]], Any] | None = None,
    progress: bool = True,
    shuffle: bool = True,
    rng: Seed = 0,
    evaluate_training: bool = False,
    threads: int | None = None,
    compile: bool = False,
    callbacks: Sequence[Any] | None = None,
    max_grad_norm: float | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    resume_from: str | os.PathLike[str] | None = None,
    plot: bool = False,
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
    ``scheduler`` (if any) steps once per epoch; a ``ReduceLROnPlateau`` steps with the
    epoch's ``val_loss`` (its ``loss`` without validation data). ``on_epoch_end(record)``
    is called with each epoch's record before it is stored, and may add entries to it (a
    weight norm, say); returning True stops training. ``callbacks`` are objects with
    ``on_train_begin``, ``on_epoch_end`` (True, ``StopTraining`` or their ``stop`` flag
    ends training after the epoch), ``on_train_end`` and, to be checkpointed,
    ``state_dict``/``load_state_dict`` (``nn.callbacks``: ``EarlyStopping``,
    ``CSVLogger``, ``LiveCurves``). ``plot=True`` adds a ``LiveCurves``: in Jupyter the
    curves are redrawn in place after each epoch. The progress bar is ``tqdm.auto``'s: a
    widget in Jupyter, text in a terminal.
    ``max_grad_norm`` clips the gradients' joint 2-norm to it before each step
    (``nn.utils.clip_grad_norm_``). ``rng`` seeds the shuffling (``shuffle=False`` keeps
    the data's order).
    ``compile=True`` runs each step as code compiled from its first call
    (``autograd.compile``): the same numbers, with no graph built per op; one step is
    compiled per shape of batch.
    ``checkpoint=path`` writes the run's state after each epoch (``nn.checkpoint``:
    weights, optimiser, scheduler, callbacks, history, generators; atomically), and
    ``resume_from=path`` goes on from such a file: the same model, optimiser, scheduler
    and callbacks (made as for the first call) and the same data continue from the epoch
    after the checkpoint's, to ``epochs`` in all, with the weights and history of a run
    never stopped, to the last bit (with the same ``threads``: BLAS sums in an order
    that depends on its thread count). Pass the same path to both to resume a run that
    Ctrl-C stopped; a checkpoint that does not fit is refused before anything changes.
    """
    run = _checked_run(
        model, X, y, loss, optimizer, epochs, batch_size, validation, metrics, scheduler,
        on_epoch_end, progress, shuffle, rng, evaluate_training, threads,
    )  # fmt: skip
    run.compile = checks.flag(compile, "fit", "compile")
    run.callbacks = _checked_callbacks(callbacks, checks.flag(plot, "fit", "plot"))
    if max_grad_norm is not None:
        run.max_grad_norm = checks.real(max_grad_norm, "fit", "max_grad_norm", low=0.0)
    if checkpoint is not None:
        run.checkpoint = checks.path(checkpoint, "fit", "checkpoint")
    resume = None if resume_from is None else checks.path(resume_from, "fit", "resume_from")
    _warn_on_double_squashing(model, loss)
    if run.checkpoint is not None or resume is not None:
        from .checkpoint import data_fingerprint

        run.fingerprint = data_fingerprint(run.X, run.y, run.batch_size, run.shuffle)
        if run.checkpoint is not None:
            _check_checkpointable(run)
    stopped = False
    if resume is not None:
        stopped = _resume(run, resume)
    first = len(run.history) + 1

    run.bar = _progress_bar_class(run.progress)(
        total=max(run.epochs - first + 1, 0) * math.ceil(len(run.X) / run.batch_size),
        disable=not run.progress,
        unit="batch",
        mininterval=0.25,
        dynamic_ncols=True,
    )
    for callback in run.callbacks:  # a flag an earlier fit left set would stop this one
        if getattr(callback, "__dict__", {}).get("stop") is True:
            callback.stop = False
    try:
        training = Training(run.model, run.optimizer, run.scheduler, run.history, run.epochs)
        for callback in _having(run.callbacks, "on_train_begin"):
            callback.on_train_begin(training)
        for epoch in _epochs(run, first, stopped):
            _run_epoch(run, epoch)
    except KeyboardInterrupt:
        raise TrainingInterrupted(run.history) from None
    finally:
        run.bar.close()
    for callback in _having(run.callbacks, "on_train_end"):
        callback.on_train_end(run.history)
    return run.history


def _progress_bar_class(shown: bool) -> Any:
    """tqdm's bar: ``tqdm.auto``'s when it is shown (a widget in Jupyter, where ipywidgets
    is installed; else text), the plain one, disabled, when it is not (importing
    ``tqdm.auto`` in a kernel without ipywidgets warns, and a hidden bar has nothing to
    say)."""
    if shown:
        from tqdm.auto import tqdm as auto

        return auto
    from tqdm import tqdm

    return tqdm


def _epochs(run: _Run, first: int, stopped: bool) -> Iterator[int]:
    """The epochs left to run: from ``first`` to ``epochs``, until a callback stops
    (none if a callback had stopped the run that was checkpointed)."""
    if stopped:
        return
    for epoch in range(first, run.epochs + 1):
        yield epoch
        if run.stopped:
            return


def _having(callbacks: list[Any], method: str) -> list[Any]:
    return [c for c in callbacks if callable(getattr(c, method, None))]


def _checked_callbacks(callbacks: Any, plot: bool) -> list[Any]:
    """The callbacks as a list (a ``LiveCurves`` added for ``plot``), each an object with
    at least one of the protocol's methods (``nn.callbacks``)."""
    if callbacks is None:
        found: list[Any] = []
    elif isinstance(callbacks, (str, bytes, dict)) or not isinstance(callbacks, (list, tuple)):
        checks.wrong_type(
            "fit", "callbacks", "a list of callbacks, such as [nn.callbacks.EarlyStopping()]",
            callbacks,
        )  # fmt: skip
    else:
        found = list(callbacks)
    methods = ("on_train_begin", "on_epoch_end", "on_train_end")
    for position, callback in enumerate(found):
        if isinstance(callback, type) or not any(
            callable(getattr(callback, m, None)) for m in methods
        ):
            checks.wrong_type(
                "fit", f"callbacks[{position}]",
                "a callback: an object with on_epoch_end(record) (see nn.callbacks)", callback,
                " (a class? make one: EarlyStopping())" if isinstance(callback, type) else "",
            )  # fmt: skip
    if plot and not any(isinstance(c, LiveCurves) for c in found):
        found.append(LiveCurves())
    return found


def _check_checkpointable(run: _Run) -> None:
    """Refuse, before the first epoch, what a checkpoint could not store."""
    from .checkpoint import generator_state, model_generators

    generator_state(run.generator, "rng")
    for name, generator in model_generators(run.model).items():
        generator_state(generator, f"the model's {name}")


def _resume(run: _Run, path: str | os.PathLike[str]) -> bool:
    """Put the run in the checkpoint's state; whether a callback had stopped it there."""
    from .checkpoint import read_checkpoint, restore

    saved = read_checkpoint(path)
    finished = saved.header["epoch"]
    if finished != len(saved.header["history"]):
        raise saved.error("its epoch count and its history disagree")
    if finished > run.epochs:
        raise ValueError(
            f"fit: epochs={run.epochs}, but the checkpoint {os.fspath(path)} holds "
            f"{counted(finished, 'finished epoch')} already: epochs counts every epoch of "
            f"the run, those before the checkpoint too (give epochs >= {finished})"
        )
    restore(
        saved, model=run.model, optimizer=run.optimizer, scheduler=run.scheduler,
        callbacks=run.callbacks, data=run.fingerprint, rng=run.generator,
    )  # fmt: skip
    run.history.records[:] = [dict(record) for record in saved.header["history"]]
    stopped = bool(saved.header["stopped"])
    if stopped and finished < run.epochs:
        warnings.warn(
            f"fit: resume_from: a callback stopped the run in {os.fspath(path)} at epoch "
            f"{finished}, so no epoch is trained (of epochs={run.epochs}): the run ended by "
            "that decision; to train further, start a new run from its weights",
            UserWarning,
            stacklevel=3,
        )
    return stopped


def _checked_run(
    model: Any,
    X: Any,
    y: Any,
    loss: Any,
    optimizer: Any,
    epochs: Any,
    batch_size: Any,
    validation: Any,
    metrics: Any,
    scheduler: Any,
    on_epoch_end: Any,
    progress: Any,
    shuffle: Any,
    rng: Any,
    evaluate_training: Any,
    threads: Any,
) -> _Run:
    """``fit``'s arguments, every one checked (see ``checks.py``), as one ``_Run``."""
    _check_model(model, "fit")
    X = checks.samples(X, "fit", "X", model_dtype(model))
    y = checks.samples(y, "fit", "y")
    checks.same_length(X, y, "fit")
    _check_features(model, X, "fit")
    _check_loss(loss, "fit")
    _check_optimizer(optimizer, model)
    validation_data = None
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            checks.wrong_type("fit", "validation", "a pair (X_val, y_val) or None", validation)
        X_val = checks.samples(validation[0], "fit", "the validation X", X.dtype)
        y_val = checks.samples(validation[1], "fit", "the validation y")
        if len(X_val) != len(y_val):
            raise ValueError(
                f"fit: the validation X has {counted(len(X_val), 'sample')} but the validation y "
                f"has {len(y_val)}"
            )
        _check_features(model, X_val, "fit", "the validation X")
        validation_data = (X_val, y_val)
    if scheduler is not None:
        checks.instance(scheduler, LRScheduler, "fit", "scheduler")
        if scheduler.optimizer is not optimizer:
            raise ValueError(
                "fit: scheduler sets the learning rate of another optimiser than optimizer: "
                "make it from the same one, scheduler=nn.optim.StepLR(optimizer, ...)"
            )
    return _Run(
        model, X, y, loss, optimizer,
        checks.positive_int(epochs, "fit", "epochs"),
        checks.positive_int(batch_size, "fit", "batch_size"),
        checks.flag(shuffle, "fit", "shuffle"),
        checks.generator(rng, "fit"),
        _chosen_metrics(metrics, y, "fit"),
        validation_data, scheduler,
        checks.callback(on_epoch_end, "fit", "on_epoch_end"),
        checks.flag(evaluate_training, "fit", "evaluate_training"),
        None if threads is None else checks.integer(
            threads, "fit", "threads", minimum=1, maximum=MAX_THREADS
        ),
        checks.flag(progress, "fit", "progress"),
    )  # fmt: skip


def _check_optimizer(optimizer: Any, model: Module) -> None:
    """An optimiser that holds some of this model's parameters (one made for another
    model would leave this one untrained, silently)."""
    hint = ": make one, such as nn.optim.SGD(model.parameters(), lr=0.01)"
    checks.instance(optimizer, Optimizer, "fit", "optimizer", hint)
    held = {id(p) for p in optimizer.parameters}
    if not any(id(p) in held for p in model.parameters()):
        raise ValueError(
            "fit: optimizer holds none of the model's parameters (was it made for another "
            "model?): make it from this one, optimizer=nn.optim.SGD(model.parameters(), ...)"
        )


def _run_epoch(run: _Run, epoch: int) -> None:
    """One epoch of ``fit``: train, measure, record, step the schedule, call the
    callbacks, write the checkpoint."""
    run.bar.set_description(f"epoch {epoch}/{run.epochs}")
    start = time.perf_counter()
    lr = run.optimizer.lr
    with blas_threads(_thread_count(run)):
        record = _train_epoch(run, epoch)
        _add_end_of_epoch_figures(run, record)
    record["lr"] = lr
    record["seconds"] = time.perf_counter() - start
    if run.on_epoch_end is not None:
        try:
            asked = run.on_epoch_end(record)
        except (TypeError, ValueError) as error:
            raise _refusal(error, "fit: on_epoch_end failed on the epoch's record") from error
        run.stopped = asked is True
    run.history.records.append(record)
    run.bar.set_postfix(
        {k: f"{v:.4f}" for k, v in record.items() if k not in ("epoch", "seconds", "lr")},
        refresh=True,
    )
    if isinstance(run.scheduler, ReduceLROnPlateau):
        run.scheduler.step(record["val_loss" if run.validation is not None else "loss"])
    elif run.scheduler is not None:
        run.scheduler.step()
    for callback in _having(run.callbacks, "on_epoch_end"):
        try:
            asked = callback.on_epoch_end(record)
        except StopTraining:
            asked = True
        run.stopped = run.stopped or asked is True or getattr(callback, "stop", False) is True
    if run.checkpoint is not None:
        from .checkpoint import write_checkpoint

        write_checkpoint(
            run.checkpoint, model=run.model, optimizer=run.optimizer, scheduler=run.scheduler,
            callbacks=run.callbacks, history=run.history.records, epoch=epoch,
            stopped=run.stopped, data=run.fingerprint,
            rng=run.generator,
        )  # fmt: skip


def _add_end_of_epoch_figures(run: _Run, record: dict[str, float]) -> None:
    """The figures measured after the epoch: on the training data if asked, validation."""
    batch = max(run.batch_size, 1024)
    if run.evaluate_training:
        trained = _evaluate(run.model, run.X, run.y, run.loss, run.names, batch, "fit")
        record.update({f"train_{key}": number for key, number in trained.items()})
    if run.validation is not None:
        X_val, y_val = run.validation
        validated = _evaluate(run.model, X_val, y_val, run.loss, run.names, batch, "fit")
        record.update({f"val_{key}": number for key, number in validated.items()})


def _thread_count(run: _Run) -> int | None:
    """The BLAS threads for the next epoch: as asked, else the cores others leave idle."""
    if run.threads is not None:
        return run.threads
    if run.scalar:
        return 1  # no matrix products to share out
    return run.idle_cores.count()
