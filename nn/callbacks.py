"""Callbacks: code ``fit`` runs when training begins, after each epoch, and when it ends.

A run that stops once the validation loss stops improving, and logs to CSV::

    history = nn.fit(model, X, y, ..., validation=(X_val, y_val), callbacks=[
        nn.callbacks.EarlyStopping(monitor="val_loss", patience=5),
        nn.callbacks.CSVLogger("runs/log.csv"),
    ])

A callback is any object with some of these methods (subclassing ``Callback`` is a
convenience, not a requirement); ``fit`` calls those it has:

- ``on_train_begin(training)``: ``training`` (a ``Training``) holds the model, the
  optimiser, the scheduler, the history so far (not empty when a run is resumed) and
  the number of epochs planned;
- ``on_epoch_end(record)``: the epoch's record, already in the history (entries added
  to it are kept). Returning True stops training after this epoch; so does raising
  ``StopTraining``, or setting the callback's ``stop`` attribute to True;
- ``on_train_end(history)``: after the last epoch, or the one a callback stopped at
  (not after Ctrl-C or a diverged loss: the run did not end, it was broken off);
- ``state_dict()`` and ``load_state_dict(state)``: what a checkpoint keeps of the
  callback, so that a resumed run goes on as the uninterrupted one would (numbers,
  strings, lists, dicts and numpy arrays).

Why a protocol of a few optional methods rather than one function: stopping early and
restoring the best weights needs the model before the first epoch and after the last,
and a checkpoint must keep the callback's own counts; a function per epoch
(``fit(on_epoch_end=...)``, still taken) can only look at a record.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tracegrad.files import write_atomically

from . import checks
from .module import Module


class StopTraining(Exception):  # noqa: N818 - PyTorch Lightning's and Keras's sense: a request
    """Raised by a callback's ``on_epoch_end`` to end training after this epoch."""


@dataclass
class Training:
    """What a callback's ``on_train_begin`` is given: the run's objects.

    ``history`` is the run's History (it grows as epochs end; a resumed run's starts
    with the epochs before); ``epochs`` the number of epochs planned in all.
    """

    model: Module
    optimizer: Any
    scheduler: Any
    history: Any
    epochs: int

    def __post_init__(self) -> None:
        from .optim import LRScheduler, Optimizer

        checks.instance(self.model, Module, "Training", "model")
        checks.instance(self.optimizer, Optimizer, "Training", "optimizer")
        if self.scheduler is not None:
            checks.instance(self.scheduler, LRScheduler, "Training", "scheduler")
        if not isinstance(getattr(self.history, "records", None), list):
            checks.wrong_type("Training", "history", "a History", self.history)
        self.epochs = checks.positive_int(self.epochs, "Training", "epochs")


class Callback:
    """A callback that does nothing: subclass it and override what you need."""

    #: Set to True to end training after this epoch.
    stop: bool = False

    def on_train_begin(self, training: Training) -> None:
        """Before the first epoch (of this call of ``fit``)."""

    def on_epoch_end(self, record: dict[str, float]) -> bool | None:
        """After each epoch, with its record; True stops training."""
        return None

    def on_train_end(self, history: Any) -> None:
        """After the last epoch, or the epoch a callback stopped training at."""


# -- early stopping --------------------------------------------------------------------


def _best_start(mode: str) -> float:
    return math.inf if mode == "min" else -math.inf


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs; restore the best
    weights at the end.

    In mode "min" an epoch's figure f improves on the best b when f < b − min_delta
    ("max": f > b + min_delta). After ``patience`` epochs in a row without improvement
    training stops, and with ``restore_best_weights`` the model gets back the weights of
    its best epoch when training ends (stopped or not). Why: past the best epoch the
    model fits the training data's noise and the held-out figure worsens; the weights
    worth keeping are those of the best epoch, not the last. ``mode="auto"`` chooses
    "min" for a loss or an error and "max" for an accuracy or R².

    ``best``, ``best_epoch`` and ``stopped_epoch`` (0 if it did not stop) say what
    happened; a checkpoint keeps them, with the best weights.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = True,
    ) -> None:
        if not isinstance(monitor, str) or not monitor:
            checks.wrong_type(
                "EarlyStopping", "monitor", "the name of a record's entry, such as 'val_loss'",
                monitor,
            )  # fmt: skip
        self.monitor = monitor
        self.patience = checks.integer(patience, "EarlyStopping", "patience", minimum=0)
        self.min_delta = checks.real(min_delta, "EarlyStopping", "min_delta", low=0.0)
        mode = checks.choice(mode, ("auto", "min", "max"), "EarlyStopping", "mode")
        self.mode = _direction(monitor) if mode == "auto" else mode
        self.restore_best_weights = checks.flag(
            restore_best_weights, "EarlyStopping", "restore_best_weights"
        )
        self.best = _best_start(self.mode)
        self.best_epoch = 0
        self.stopped_epoch = 0
        self.wait = 0
        self.best_weights: dict[str, np.ndarray] | None = None
        self._model: Module | None = None

    def on_train_begin(self, training: Training) -> None:
        """Watch ``training.model``; a new run (an empty history) starts from nothing, as
        Keras's does: the best figure and weights of an earlier ``fit`` (of another model,
        maybe) would otherwise be restored into this one. A resumed run keeps the counts
        its checkpoint gave."""
        self._model = training.model
        if not training.history.records:
            self.best = _best_start(self.mode)
            self.best_epoch = self.stopped_epoch = self.wait = 0
            self.best_weights = None

    def on_epoch_end(self, record: dict[str, float]) -> bool:
        if self.monitor not in record:
            raise ValueError(
                f"EarlyStopping: monitor {self.monitor!r} is not in the epoch's record (it has "
                f"{sorted(record)}); {_hint(self.monitor)}"
            )
        current, epoch = float(record[self.monitor]), int(record.get("epoch", 0))
        if self._improves(current):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights and self._model is not None:
                self.best_weights = self._model.state_dict()
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def _improves(self, current: float) -> bool:
        if math.isnan(current):
            return False
        if self.mode == "min":
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta

    def on_train_end(self, history: Any) -> None:
        if self.restore_best_weights and self.best_weights is not None and self._model:
            self._model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        """The counts and the best weights (a checkpoint keeps them)."""
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "stopped_epoch": self.stopped_epoch,
            "wait": self.wait,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Take what ``state_dict`` gave, checked."""
        where = "EarlyStopping.load_state_dict"
        if not isinstance(state, Mapping) or set(state) != set(self.state_dict()):
            checks.wrong_type(where, "state", f"a dict with the keys {sorted(self.state_dict())}",
                              state)  # fmt: skip
        best = state["best"]
        if best not in (math.inf, -math.inf):
            best = checks.real(best, where, "best")
        counts = {
            key: checks.integer(state[key], where, key, minimum=0)
            for key in ("best_epoch", "stopped_epoch", "wait")
        }
        weights = state["best_weights"]
        if weights is not None:
            if not isinstance(weights, Mapping):
                checks.wrong_type(where, "best_weights", "None or a dict of arrays", weights)
            weights = {
                str(name): checks.numbers(array, where, f"best_weights[{name!r}]")
                for name, array in weights.items()
            }
        self.best = float(best)
        self.best_epoch, self.stopped_epoch = counts["best_epoch"], counts["stopped_epoch"]
        self.wait = counts["wait"]
        self.best_weights = weights

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
            f"mode={self.mode!r}, best={self.best:g}, best_epoch={self.best_epoch})"
        )


def _direction(monitor: str) -> str:
    """Whether ``monitor`` should fall ("min") or rise ("max"), from its name."""
    name = monitor.lower()
    if "loss" in name or "error" in name:
        return "min"
    if "accuracy" in name or name.endswith("r2"):
        return "max"
    raise ValueError(
        f"EarlyStopping: mode='auto' cannot tell whether monitor {monitor!r} should fall or "
        "rise: pass mode='min' or mode='max'"
    )


def _hint(monitor: str) -> str:
    if monitor.startswith("val_"):
        return "pass validation=(X_val, y_val) to fit, or monitor a training figure"
    return (
        "monitor one of the record's entries (callbacks run in the list's order: one that "
        "adds the entry goes before EarlyStopping)"
    )


# -- a CSV log -------------------------------------------------------------------------


class CSVLogger(Callback):
    """Write the history to ``path`` as CSV after each epoch: one row per epoch, one
    column per entry (``epoch``, ``loss``, ..., ``lr``, ``seconds``).

    The whole file is written anew each epoch, atomically (``tracegrad.files``): a
    reader (a spreadsheet, ``tail``) never sees half a row, Ctrl-C leaves the last whole
    file, and a resumed run's log holds its earlier epochs too, without duplicates.
    Numbers are written with all their digits (Python's ``repr``: read back, each is the
    same float).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = checks.path(path, "CSVLogger")
        self._history: Any = None
        #: The records seen, when no ``fit`` gave a history (a loop of one's own).
        self._records: list[dict[str, float]] = []

    def on_train_begin(self, training: Training) -> None:
        self._history = training.history

    def on_epoch_end(self, record: dict[str, float]) -> None:
        if self._history is not None:
            records = self._history.records
        else:  # called from a loop of one's own: every row so far, not the last alone
            self._records.append(dict(record))
            records = self._records
        columns: list[str] = []
        for one in records:
            columns += [key for key in one if key not in columns]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for one in records:
            writer.writerow([repr(float(one[key])) if key in one else "" for key in columns])
        write_atomically(self.path, buffer.getvalue().encode())

    def __repr__(self) -> str:
        return f"CSVLogger({os.fspath(self.path)!r})"


# -- live curves in Jupyter ------------------------------------------------------------


def in_jupyter() -> bool:
    """Whether this runs in a Jupyter kernel (IPython's, with a front end to draw in)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LiveCurves(Callback):
    """The training curves, drawn again after each epoch in place, in Jupyter.

    ``fit(..., plot=True)`` adds one. Each epoch the figure of ``nn.plot.training_curves``
    (``keys`` picks the panels) replaces the last in the same output of the cell, through
    IPython's display handle: one picture that grows, no new window and no pile of
    pictures. Outside Jupyter it draws nothing unless given a ``path``, where it writes
    the picture (PNG, atomically) after each epoch instead, for an image viewer that
    reloads it.
    """

    def __init__(
        self,
        keys: Sequence[str] | None = None,
        title: str = "",
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        if keys is not None and (
            isinstance(keys, str)
            or not isinstance(keys, (list, tuple))
            or not all(isinstance(key, str) for key in keys)
        ):
            checks.wrong_type("LiveCurves", "keys", "None or a list of names, such as ['loss']",
                              keys)  # fmt: skip
        if not isinstance(title, str):
            checks.wrong_type("LiveCurves", "title", "a string", title)
        self.keys = None if keys is None else list(keys)
        self.title = title
        self.path = None if path is None else checks.path(path, "LiveCurves")
        self._history: Any = None
        self._handle: Any = None
        self.drawn = 0

    def on_train_begin(self, training: Training) -> None:
        self._history = training.history
        self._handle = None
        if self.path is None and not in_jupyter():
            warnings.warn(
                "LiveCurves: not in Jupyter, so nothing is drawn; pass path= to write the "
                "curves to a file after each epoch",
                UserWarning,
                stacklevel=3,
            )

    def on_epoch_end(self, record: dict[str, float]) -> None:
        from .plot import save_figure, training_curves

        records = self._history.records if self._history is not None else [record]
        if self.path is None and not in_jupyter():
            return
        figure = training_curves(records, self.keys, self.title)
        if self.path is not None:
            save_figure(figure, self.path)
        else:
            from IPython.display import display

            if self._handle is None:
                self._handle = display(figure, display_id=True)
            else:
                self._handle.update(figure)
        self.drawn += 1

    def __repr__(self) -> str:
        return f"LiveCurves(keys={self.keys!r})"
