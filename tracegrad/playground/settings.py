"""The playground's form, read and checked: every field of a run, or a message per field.

The page sends its form as text (what a person typed); ``Settings.from_form`` turns it
into a ``Settings`` or raises ``SettingsError`` with one message per bad field, each
naming the field and the value, so that the page can show it beside the field. Nothing a
person can type reaches the training code unchecked: a bad value is a message, never a
traceback.

The limits keep the page live. The pictures are redrawn every update, so the network is
capped at what the page can draw (``MAX_LAYERS`` layers of ``MAX_NEURONS``), and the
work of one epoch (weights times points) at what the chosen engine trains several times
a second (``WORK_BUDGET``): past that, the message says what to change.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..words import counted

#: The data sets, each with its noise's meaning and default (the generator's own
#: parameter: a standard deviation, or for ``classification`` the share of flipped labels).
DATASETS: dict[str, tuple[str, float]] = {
    "moons": ("noise", 0.1),
    "circles": ("noise", 0.1),
    "xor": ("noise", 0.1),
    "spiral": ("noise", 0.2),
    "blobs": ("std", 0.6),
    "classification": ("flip", 0.2),
    "regression": ("noise", 0.3),
}
#: The sets whose number of classes is a choice (the others have two, or are regression).
CLASS_CHOICE = ("spiral", "blobs")
ENGINES = ("value", "tensor")
#: The activations both engines have.
ACTIVATIONS = ("tanh", "relu", "sigmoid")
OPTIMIZERS = ("sgd", "adam")
#: The losses that suit each task ("binary": one output for two classes).
LOSSES: dict[str, tuple[str, ...]] = {
    "binary": ("binary_cross_entropy", "hinge_loss"),
    "multiclass": ("cross_entropy",),
    "regression": ("mse_loss", "l1_loss"),
}

MAX_LAYERS = 6
MAX_NEURONS = 32
MIN_POINTS, MAX_POINTS = 10, 2000
MAX_CLASSES = 5
MAX_LEARNING_RATE = 10.0
MAX_L2 = 1.0
MAX_NOISE = 2.0
MAX_SEED = 2**32 - 1

#: Weights × points one epoch may cost, per engine: the Value engine makes a Python
#: object per neuron and sample, the Tensor engine a numpy call per layer and batch.
#: Beyond these an epoch takes too long for the page to stay live on a small machine.
WORK_BUDGET = {"value": 100_000, "tensor": 40_000_000}
#: Minibatch steps × layers one epoch may take on the Tensor engine: each layer of each
#: step is a few numpy calls whatever its size, so small batches on many points cost
#: time that no weight count shows. (The Value engine's cost is its weights × points.)
STEP_BUDGET = 4_000

#: The labels the page shows beside each field; messages name fields by them.
LABELS = {
    "dataset": "data set",
    "noise": "noise",
    "classes": "classes",
    "points": "points",
    "train_percent": "training share (%)",
    "hidden": "hidden layers",
    "activation": "activation",
    "engine": "engine",
    "loss": "loss",
    "optimizer": "optimiser",
    "lr": "learning rate",
    "batch_size": "batch size",
    "l2": "L2 regularisation",
    "seed": "seed",
}


class SettingsError(ValueError):
    """Bad form values: ``errors`` maps each bad field to its message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class Settings:
    """One run of the playground: the data, the network and the training, all checked."""

    dataset: str = "moons"
    noise: float = 0.1
    classes: int = 2
    points: int = 200
    train_percent: int = 50
    hidden: tuple[int, ...] = (8, 8)
    activation: str = "tanh"
    engine: str = "value"
    loss: str = "binary_cross_entropy"
    optimizer: str = "sgd"
    lr: float = 0.03
    batch_size: int = 10
    l2: float = 0.0
    seed: int = 0
    #: Filled in by the checks: the task ("binary", "multiclass" or "regression").
    task: str = field(default="binary", compare=False)

    @property
    def features(self) -> int:
        """Inputs per point: 1 for regression (a curve), else 2 (a plane)."""
        return 1 if self.dataset == "regression" else 2

    @property
    def outputs(self) -> int:
        """Outputs of the network: one score for two classes or for regression."""
        return self.classes if self.task == "multiclass" else 1

    @property
    def sizes(self) -> list[int]:
        """The layer sizes after the inputs, the output layer last."""
        return [*self.hidden, self.outputs]

    @property
    def test_points(self) -> int:
        """How many points are held out for testing (as ``nn.data.train_val_split`` rounds)."""
        return max(1, round(self.points * self.test_fraction))

    @property
    def train_points(self) -> int:
        """How many points the network trains on."""
        return self.points - self.test_points

    @property
    def test_fraction(self) -> float:
        """The share held out for testing, as written in the reproducing code."""
        return round(1 - self.train_percent / 100, 10)

    def weights(self) -> int:
        """The number of parameters (weights and biases) of the network."""
        widths = [self.features, *self.sizes]
        return sum((a + 1) * b for a, b in itertools.pairwise(widths))

    def as_form(self) -> dict[str, str]:
        """The settings as the page's form holds them (text)."""
        form = {key: str(value) for key, value in asdict(self).items() if key != "task"}
        form["hidden"] = ", ".join(str(size) for size in self.hidden)
        return form

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> Settings:
        """Read the page's form; raises ``SettingsError`` naming every bad field and value.

        Missing fields take their defaults; unknown fields are refused (a page and a
        server of different versions should not half-agree).
        """
        if not isinstance(form, Mapping):
            raise SettingsError({"form": f"the settings must be an object, got {form!r}"})
        reader = _Reader(form)
        unknown = sorted(map(str, set(form) - ({f.name for f in fields(cls)} - {"task"})))
        for name in unknown:
            reader.errors[str(name)[:40]] = f"unknown field {str(name)[:40]!r}"
        dataset = reader.choice("dataset", tuple(DATASETS))
        noise = reader.number("noise", 0.0, MAX_NOISE)
        classes = reader.integer("classes", 2, MAX_CLASSES)
        points = reader.integer("points", MIN_POINTS, MAX_POINTS)
        train_percent = reader.integer("train_percent", 10, 90)
        hidden = reader.layers("hidden")
        activation = reader.choice("activation", ACTIVATIONS)
        engine = reader.choice("engine", ENGINES)
        optimizer = reader.choice("optimizer", OPTIMIZERS)
        lr = reader.number("lr", 0.0, MAX_LEARNING_RATE, open_low=True)
        batch_size = reader.integer("batch_size", 1, MAX_POINTS)
        l2 = reader.number("l2", 0.0, MAX_L2)
        seed = reader.integer("seed", 0, MAX_SEED)
        if dataset is not None and dataset not in CLASS_CHOICE:
            classes = 2
        task = _task(dataset, classes)
        loss = reader.choice("loss", LOSSES[task] if task else sum(LOSSES.values(), ()))
        if reader.errors:
            raise SettingsError(reader.errors)
        settings = cls(
            dataset, noise, classes, points, train_percent, hidden, activation, engine,
            loss, optimizer, lr, batch_size, l2, seed, task,
        )  # fmt: skip
        settings.check_together()
        return settings

    def check_together(self) -> None:
        """The checks across fields: enough points on each side, a batch that fits, and
        an epoch the engine trains quickly enough for the page to stay live."""
        errors: dict[str, str] = {}
        if self.dataset == "classification" and self.noise > 1.0:
            errors["noise"] = (
                f"noise: for this set it is the share of labels drawn at random, at most 1, "
                f"got {self.noise:g}"
            )
        if self.train_points < 2 or self.test_points < 2:
            errors["train_percent"] = (
                f"training share (%): {self.train_percent} % of {self.points} points leaves "
                f"{self.train_points} for training and {self.test_points} for testing; "
                "each side needs at least 2"
            )
        elif self.batch_size > self.train_points:
            errors["batch_size"] = (
                f"batch size: {self.batch_size} is more than the {self.train_points} "
                "training points"
            )
        steps = -(-self.train_points // self.batch_size) * len(self.sizes)
        if self.engine == "tensor" and steps > STEP_BUDGET and "batch_size" not in errors:
            errors["batch_size"] = (
                f"batch size: {self.batch_size} makes {-(-self.train_points // self.batch_size):,} "
                f"steps through {counted(len(self.sizes), 'layer')} each epoch, too many to "
                "train live "
                f"(at most {STEP_BUDGET:,} layer steps): use a larger batch, fewer points or "
                "fewer layers"
            )
        work = self.weights() * self.points
        if work > WORK_BUDGET[self.engine]:
            other = "" if self.engine == "tensor" else ", or the Tensor engine"
            errors["hidden"] = (
                f"hidden layers: {self.weights():,} weights on {self.points:,} points is too "
                f"large a network for the {self.engine.capitalize()} engine to train live "
                f"(weights × points is {work:,}, at most {WORK_BUDGET[self.engine]:,}): "
                f"use fewer neurons or fewer points{other}"
            )
        if errors:
            raise SettingsError(errors)


def _task(dataset: str | None, classes: int | None) -> str:
    """The task: "binary", "multiclass" or "regression"; "" while the data set is unknown."""
    if dataset is None:
        return ""
    if dataset == "regression":
        return "regression"
    return "multiclass" if (classes or 2) > 2 else "binary"


class _Reader:
    """Reads fields from the form, collecting one message per bad field."""

    def __init__(self, form: Mapping[str, Any]) -> None:
        self.form = form
        self.errors: dict[str, str] = {}
        self.defaults = Settings()

    def _text(self, name: str) -> str | None:
        if name not in self.form:
            return None
        value = self.form[name]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.errors[name] = f"{LABELS[name]}: expected text or a number, got {value!r}"[:200]
            return ""
        return str(value).strip()

    def _bad(self, name: str, text: str, why: str) -> None:
        shown = text if len(text) <= 30 else text[:27] + "..."
        self.errors[name] = f"{LABELS[name]}: {why}, got {shown!r}"

    def choice(self, name: str, choices: tuple[str, ...]) -> Any:
        text = self._text(name)
        if name in self.errors:
            return None
        if text is None:
            default = getattr(self.defaults, name)
            return default if default in choices else choices[0]
        if text not in choices:
            self._bad(name, text, f"choose one of {', '.join(choices)}")
            return None
        return text

    def integer(self, name: str, low: int, high: int) -> Any:
        text = self._text(name)
        if name in self.errors:
            return None
        if text is None:
            return getattr(self.defaults, name)
        try:
            value = int(text)
        except ValueError:
            self._bad(name, text, "expected a whole number")
            return None
        if not low <= value <= high:
            self._bad(name, text, f"must lie between {low:,} and {high:,}")
            return None
        return value

    def number(self, name: str, low: float, high: float, open_low: bool = False) -> Any:
        text = self._text(name)
        if name in self.errors:
            return None
        if text is None:
            return getattr(self.defaults, name)
        try:
            value = float(text)
        except ValueError:
            self._bad(name, text, "expected a number")
            return None
        if not math.isfinite(value):
            self._bad(name, text, "expected a finite number")
            return None
        if (value <= low if open_low else value < low) or value > high:
            lower = f"more than {low:g}" if open_low else f"at least {low:g}"
            self._bad(name, text, f"must be {lower} and at most {high:g}")
            return None
        return value

    def layers(self, name: str) -> Any:
        text = self._text(name)
        if name in self.errors:
            return None
        if text is None:
            return self.defaults.hidden
        parts = [part.strip() for part in text.replace(";", ",").split(",")]
        parts = [part for part in parts if part]
        if len(parts) > MAX_LAYERS:
            self._bad(name, text, f"at most {MAX_LAYERS} hidden layers (sizes separated by commas)")
            return None
        sizes = []
        for part in parts:
            try:
                size = int(part)
            except ValueError:
                self._bad(name, text, "expected neurons per layer as whole numbers, like 8, 8")
                return None
            if not 1 <= size <= MAX_NEURONS:
                self._bad(name, text, f"each layer has between 1 and {MAX_NEURONS} neurons")
                return None
            sizes.append(size)
        return tuple(sizes)
