"""A session: one tab's run, trained in the thread that streams its updates to the tab.

Each tab opens one stream (server-sent events). The thread serving that stream owns the
session: it takes the tab's commands from a queue between epochs, trains while playing,
and writes an update at most ``MAX_FRAMES_PER_SECOND`` times a second (the records of
the epochs in between ride along, so the curves miss nothing). One thread per tab keeps
two tabs apart without a lock on any model, and ties the run to the tab: when the tab
closes, the next write fails, and training stops with it.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import nn
from nn.train import TrainingDivergedError

from . import views
from .code import reproducing_code
from .run import Run
from .settings import Settings

#: The updates a tab gets per second at most: more than the eye follows, fewer than a
#: fast engine trains epochs (the Tensor engine on a small network).
MAX_FRAMES_PER_SECOND = 20
#: How often a paused stream says it is alive; a closed tab is noticed by then.
HEARTBEAT_SECONDS = 1.0
#: Commands a tab may have waiting; beyond that the page is told to slow down.
MAX_WAITING_COMMANDS = 64

Send = Callable[[str, Any], None]


class ClosedError(Exception):
    """The tab went away (its stream could not be written), or the server is stopping."""


class Session:
    """One tab's run: its settings, its model, whether it plays, and its commands."""

    def __init__(self, session_id: str, settings: Settings) -> None:
        self.id = session_id
        self.commands: queue.Queue[dict[str, Any]] = queue.Queue(MAX_WAITING_COMMANDS)
        self.run = Run(settings)
        self.box = views.extent(_all_points(self.run))
        self.playing = False
        self.show_gradients = False
        self.pending: list[dict[str, float]] = []
        self.closed = threading.Event()

    def post(self, command: dict[str, Any]) -> bool:
        """Queue a command from the tab; False when too many are waiting already."""
        try:
            self.commands.put_nowait(command)
        except queue.Full:
            return False
        return True

    # -- the stream's loop ------------------------------------------------------------

    def serve(self, send: Send, heartbeat: Callable[[], None], stopping: threading.Event) -> None:
        """Run the session until the tab goes away or the server stops: commands between
        epochs, epochs while playing, an update at most every 1/MAX_FRAMES_PER_SECOND s."""
        send("session", self.describe())
        send("frame", self.frame())
        last_frame = last_beat = time.monotonic()
        while not stopping.is_set() and not self.closed.is_set():
            try:
                command = self.commands.get(timeout=0.0 if self.playing else 0.2)
            except queue.Empty:
                command = None
            if command is not None:
                self.handle(command, send)
                continue
            now = time.monotonic()
            if not self.playing:
                if now - last_beat >= HEARTBEAT_SECONDS:
                    heartbeat()
                    last_beat = now
                continue
            if not self.train(send):
                continue
            now = time.monotonic()
            if now - last_frame >= 1.0 / MAX_FRAMES_PER_SECOND:
                send("frame", self.frame())
                last_frame = last_beat = now

    def train(self, send: Send) -> bool:
        """One epoch; on divergence, pause and say why on the page. True if it trained."""
        try:
            record = self.run.train_epoch()
            if not all(math.isfinite(value) for value in record.values()):
                raise TrainingDivergedError(
                    f"the loss became {record.get('train_loss')} at epoch {self.run.epoch}; "
                    "lower the learning rate",
                    nn.History(),
                )
            self.pending.append(record)
        except (TrainingDivergedError, ArithmeticError) as error:
            # The learning rate was too large: the numbers left the floats. Say so.
            self.playing = False
            message = " ".join(str(error).split()).replace("fit: ", "", 1)
            send("frame", self.frame())
            send("message", {"level": "error", "text": f"training stopped: {message}"})
            send("state", self.state())
            return False
        return True

    def handle(self, command: dict[str, Any], send: Send) -> None:
        """Carry out one command from the tab (already checked by the server)."""
        action = command["action"]
        if action == "play":
            self.playing = True
            send("state", self.state())
        elif action == "pause":
            self.playing = False
            send("frame", self.frame())
            send("state", self.state())
        elif action == "step":
            self.playing = False
            if self.train(send):
                send("frame", self.frame())
            send("state", self.state())
        elif action == "settings" and command["settings"] == self.run.settings:
            return  # the form said again what runs (a field left, a tab reconnected)
        elif action in ("reset", "settings"):
            settings = command.get("settings", self.run.settings)
            self.run = Run(settings)
            self.box = views.extent(_all_points(self.run))
            self.pending = []
            send("session", self.describe())
            send("frame", self.frame())
        elif action == "gradients":
            self.show_gradients = bool(command.get("on"))
            send("frame", self.frame())
        elif action == "neuron":
            self.send_neuron(command, send)

    def send_neuron(self, command: dict[str, Any], send: Send) -> None:
        try:
            drawing = views.neuron_graph(
                self.run, int(command["layer"]), int(command["index"]), int(command["point"])
            )
        except (IndexError, ValueError) as error:
            send("message", {"level": "error", "text": str(error)})
            return
        send("neuron", drawing)

    # -- what the tab is sent ------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {"playing": self.playing, "epoch": self.run.epoch}

    def describe(self) -> dict[str, Any]:
        """Everything about the run that changes only with the settings."""
        run, settings = self.run, self.run.settings
        return {
            "id": self.id,
            "settings": settings.as_form(),
            "task": settings.task,
            "classes": settings.classes,
            "sizes": [settings.features, *settings.sizes],
            "activation": settings.activation,
            "engine": settings.engine,
            "box": self.box,
            "pixels": {"output": views.OUTPUT_PIXELS, "neuron": views.NEURON_PIXELS},
            "train": {"X": run.X_train.tolist(), "y": run.labels_train.tolist()},
            "test": {"X": run.X_test.tolist(), "y": run.labels_test.tolist()},
            "metric": run.metric,
            "code": reproducing_code(settings),
            "playing": self.playing,
        }

    def frame(self) -> dict[str, Any]:
        """An update: the epochs since the last one, the weights and the pictures."""
        weights = views.layer_weights(self.run.model, self.run.settings.engine)
        records, self.pending = self.pending, []
        frame = {
            "epoch": self.run.epoch,
            "records": records,
            "weights": views.weights_json(weights),
            **views.pictures(self.run.settings, weights, self.box),
        }
        if self.show_gradients:
            frame["gradients"] = views.loss_gradients(self.run)
        return finite(frame)


def finite(data: Any) -> Any:
    """``data`` with every infinite or NaN number as None (JSON has no such numbers): a
    network that diverged still draws, with gaps."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, list):
        return [finite(item) for item in data]
    if isinstance(data, dict):
        return {key: finite(value) for key, value in data.items()}
    return data


def _all_points(run: Run) -> Any:
    import numpy as np

    return np.concatenate([run.X_train, run.X_test])
