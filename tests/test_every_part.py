"""Every optimiser, schedule, loss and metric of the library, on both kinds of model.

The parts are enumerated, not listed: the optimisers and schedules are the subclasses
``nn.optim`` defines, the losses ``nn.losses.LOSSES``, the metrics ``nn.train.METRICS``.
A new one joins these tests by itself, or fails the first test until the tables below
say how to use it. For each optimiser, every setting is turned on in a variant of its
own (SGD: plain, momentum, dampening, Nesterov, weight decay), and each variant trains,
with each loss, a scalar model (Values) and a Tensor model, through ``nn.fit`` and by
hand, with the schedules and the metrics in turn. The properties:

- it learns: the loss on the training data falls;
- ``fit`` is the loop by hand: the same weights and the same per-epoch figures;
- the Tensor model's weights are PyTorch's after the same steps (float64, the same
  loss, optimiser and schedule);
- the scalar model's weights are the Tensor model's after the same steps on the same
  numbers (Values and Tensors are two paths to one arithmetic);
- ``fit(compile=True)`` gives ``fit``'s figures and weights to the last bit (a scalar
  model's cross-entropy, which picks a Value by its label, is refused by name).
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nn
from autograd import Tensor
from nn.losses import LOSSES
from nn.optim import LRScheduler, Optimizer
from nn.train import METRICS

EPOCHS, BATCH, SAMPLES, HIDDEN = 4, 8, 24, 4


def _subclasses(base: type) -> list[type]:
    found: list[type] = []
    for sub in base.__subclasses__():
        if sub.__module__ == base.__module__:
            found += [sub, *_subclasses(sub)]
    return found


OPTIMISERS: list[type[Optimizer]] = _subclasses(Optimizer)
SCHEDULERS: list[type[LRScheduler]] = _subclasses(LRScheduler)

#: How each optimiser setting is turned on in its variant (with what it needs beside it).
TURNED_ON: dict[str, dict[str, Any]] = {
    "momentum": {"momentum": 0.9},
    "dampening": {"momentum": 0.9, "dampening": 0.3},
    "nesterov": {"momentum": 0.9, "nesterov": True},
    "weight_decay": {"weight_decay": 0.01},
    "betas": {"betas": (0.8, 0.99)},
    "eps": {"eps": 1e-3},
}
#: The learning rate each optimiser trains with here (others: ``DEFAULT_LR``).
LEARNING_RATES = {"SGD": 0.1, "Adam": 0.03}
DEFAULT_LR = 0.05
#: The settings the schedules run with.
SCHEDULE_SETTINGS: dict[str, Any] = {
    "step_size": 2, "gamma": 0.5, "T_max": 3, "eta_min": 0.001,
    # ReduceLROnPlateau: no patience, so that four epochs see the rate lowered
    "mode": "min", "factor": 0.5, "patience": 0, "threshold": 1e-4, "threshold_mode": "rel",
    "cooldown": 0, "min_lr": 0.0, "eps": 1e-8,
}  # fmt: skip

#: For each loss: the targets it takes, and how many outputs the model has.
TASKS: dict[str, tuple[str, int]] = {
    "cross_entropy": ("classes", 3),
    "binary_cross_entropy": ("binary", 1),
    "hinge_loss": ("signs", 1),
    "mse_loss": ("real", 1),
    "l1_loss": ("real", 1),
}
#: The targets each metric scores.
METRIC_TARGETS: dict[str, set[str]] = {
    "accuracy": {"classes", "binary", "signs"},
    "zero_one_loss": {"classes", "binary", "signs"},
    "r2": {"real"},
}


def _torch_losses() -> dict[str, Callable[[Any, Any], Any]]:
    """PyTorch's spelling of each loss (hinge has none: its formula, in torch ops)."""
    import torch
    from torch.nn import functional

    return {
        "cross_entropy": lambda z, y: functional.cross_entropy(z, torch.as_tensor(y)),
        "binary_cross_entropy": lambda z, y: functional.binary_cross_entropy_with_logits(
            z, torch.as_tensor(y)
        ),
        "hinge_loss": lambda s, y: (1.0 - s * torch.as_tensor(y)).clamp(min=0.0).mean(),
        "mse_loss": lambda s, y: functional.mse_loss(s, torch.as_tensor(y)),
        "l1_loss": lambda s, y: functional.l1_loss(s, torch.as_tensor(y)),
    }


def _settings(cls: type, skip: str) -> list[str]:
    return [name for name in inspect.signature(cls.__init__).parameters if name not in skip]


def _variants() -> list[tuple[type[Optimizer], dict[str, Any]]]:
    variants: list[tuple[type[Optimizer], dict[str, Any]]] = []
    for cls in OPTIMISERS:
        variants.append((cls, {}))
        variants += [(cls, TURNED_ON[name]) for name in _settings(cls, "self parameters lr")]
    return variants


def test_every_part_is_in_the_tables() -> None:
    assert {cls.__name__ for cls in OPTIMISERS} >= {"SGD", "Adam"}
    for cls in OPTIMISERS:
        missing = [n for n in _settings(cls, "self parameters lr") if n not in TURNED_ON]
        assert not missing, f"{cls.__name__}: say in TURNED_ON how to turn on {missing}"
    for cls in SCHEDULERS:
        missing = [n for n in _settings(cls, "self optimizer") if n not in SCHEDULE_SETTINGS]
        assert not missing, f"{cls.__name__}: give {missing} in SCHEDULE_SETTINGS"
    assert set(LOSSES) == set(TASKS) == set(_torch_losses()), "a loss needs a task and torch"
    assert set(METRICS) == set(METRIC_TARGETS), "a metric needs its targets"
    public_losses = {name for name in nn.__all__ if name.endswith(("loss", "entropy"))}
    assert public_losses - {"zero_one_loss"} == set(LOSSES)  # the registry is complete


def _data(targets: str, scalar: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three blobs; their labels as the loss wants them, or a linear target."""
    X, classes = nn.datasets.blobs(SAMPLES, rng=seed)
    y = {
        "classes": classes,
        "binary": (classes == 0).astype(np.float64),
        "signs": np.where(classes == 0, 1.0, -1.0),
        "real": X @ np.array([0.5, -0.25]) + 0.1,
    }[targets]
    return X, y if scalar or targets == "classes" else y[:, None]


def _scalar_model(outputs: int) -> nn.scalar.MLP:
    return nn.scalar.MLP(2, [HIDDEN, outputs], "tanh", rng=0)


def _tensor_twin(model: nn.scalar.MLP) -> nn.Sequential:
    """The Tensor model (float64) that computes what the scalar one does, same weights."""
    first, second = (
        nn.Linear(len(layer.neurons[0].w), len(layer.neurons), rng=0, dtype=np.float64)
        for layer in model.layers
    )
    twin = nn.Sequential(first, nn.Tanh(), second)
    twin.load_state_dict(_scalar_state(model))
    return twin


def _scalar_state(model: nn.scalar.MLP) -> dict[str, np.ndarray]:
    state = {}
    for index, layer in zip((0, 2), model.layers):
        state[f"{index}.weight"] = np.array([[w.data for w in n.w] for n in layer.neurons])
        state[f"{index}.bias"] = np.array([n.b.data for n in layer.neurons])
    return state


def _weights(model: nn.Module) -> dict[str, np.ndarray]:
    if isinstance(model, nn.scalar.MLP):
        return _scalar_state(model)
    return model.state_dict()


def _parts(
    model: nn.Module, cls: type[Optimizer], setting: dict[str, Any], schedule: type | None
) -> tuple[Optimizer, LRScheduler | None]:
    lr = LEARNING_RATES.get(cls.__name__, DEFAULT_LR)
    optimizer = cls(model.parameters(), lr=lr, **setting)
    if schedule is None:
        return optimizer, None
    chosen = {name: SCHEDULE_SETTINGS[name] for name in _settings(schedule, "self optimizer")}
    return optimizer, schedule(optimizer, **chosen)


def _outputs(output: Any) -> np.ndarray:
    if isinstance(output, Tensor):
        return np.array(output.data)
    return np.array([[v.data for v in o] if isinstance(o, list) else o.data for o in output])


def _by_hand(
    model: nn.Module,
    X: np.ndarray,
    y: np.ndarray,
    loss: Callable[..., Any],
    optimizer: Optimizer,
    scheduler: LRScheduler | None,
    metrics: dict[str, Callable[[Any, Any], float]],
    validation: tuple[np.ndarray, np.ndarray],
) -> list[dict[str, float]]:
    """The training loop written out, no shuffling: each epoch's loss and metrics; a
    ReduceLROnPlateau steps with the validation loss, as fit steps it."""
    records = []
    for _ in range(EPOCHS):
        total, outputs = 0.0, []
        for start in range(0, len(X), BATCH):
            X_batch, y_batch = X[start : start + BATCH], y[start : start + BATCH]
            if isinstance(model, nn.scalar.MLP):
                output: Any = [model(row) for row in X_batch.tolist()]
            else:
                output = model(X_batch)  # a numpy array keeps its float64
            batch_loss = loss(output, y_batch)
            optimizer.zero_grad()
            batch_loss.backward()
            optimizer.step()
            total += float(batch_loss.item()) * len(X_batch)
            outputs.append(_outputs(output))
        record = {"loss": total / len(X)}
        record.update({name: m(np.concatenate(outputs), y) for name, m in metrics.items()})
        records.append(record)
        if isinstance(scheduler, nn.optim.ReduceLROnPlateau):
            scheduler.step(nn.evaluate(model, *validation, loss=loss, metrics=[])["loss"])
        elif scheduler is not None:
            scheduler.step()
    return records


def _torch_by_hand(
    weights: dict[str, np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    loss_name: str,
    cls: type[Optimizer],
    setting: dict[str, Any],
    schedule: type | None,
    validation: tuple[np.ndarray, np.ndarray],
) -> dict[str, np.ndarray]:
    """The same loop in PyTorch, float64, from the same weights: the weights it ends with."""
    import torch

    outputs, hidden = weights["2.weight"].shape[0], weights["0.weight"].shape[0]
    model = torch.nn.Sequential(
        torch.nn.Linear(2, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, outputs)
    ).double()
    model.load_state_dict({name: torch.tensor(array) for name, array in weights.items()})
    lr = LEARNING_RATES.get(cls.__name__, DEFAULT_LR)
    optimizer = getattr(torch.optim, cls.__name__)(model.parameters(), lr=lr, **setting)
    scheduler = None
    if schedule is not None:
        chosen = {name: SCHEDULE_SETTINGS[name] for name in _settings(schedule, "self optimizer")}
        scheduler = getattr(torch.optim.lr_scheduler, schedule.__name__)(optimizer, **chosen)
    loss = _torch_losses()[loss_name]
    for _ in range(EPOCHS):
        for start in range(0, len(X), BATCH):
            output = model(torch.tensor(X[start : start + BATCH]))
            optimizer.zero_grad()
            loss(output, y[start : start + BATCH]).backward()
            optimizer.step()
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            with torch.no_grad():
                scheduler.step(float(loss(model(torch.tensor(validation[0])), validation[1])))
        elif scheduler is not None:
            scheduler.step()
    return {name: tensor.detach().numpy() for name, tensor in model.state_dict().items()}


#: Every (optimiser variant, loss) pair, each with a schedule in turn (or none).
CASES = [
    (cls, setting, loss_name, schedule)
    for (cls, setting), loss_name, schedule in zip(
        *zip(*itertools.product(_variants(), sorted(LOSSES))),
        itertools.cycle([None, *SCHEDULERS]),
    )
]


def _case_id(case: Any) -> str:
    cls, setting, loss_name, schedule = case
    turned_on = "+".join(setting) or "plain"
    return f"{cls.__name__}-{turned_on}-{loss_name}-{getattr(schedule, '__name__', 'constant')}"


@pytest.mark.parametrize("kind", ["tensor", "scalar"])
@pytest.mark.parametrize("case", CASES, ids=[_case_id(case) for case in CASES])
def test_fit_learns_is_the_loop_by_hand_and_matches_the_oracle(kind: str, case: Any) -> None:
    cls, setting, loss_name, schedule = case
    targets, outputs = TASKS[loss_name]
    scalar = kind == "scalar"
    X, y = _data(targets, scalar)
    loss = LOSSES[loss_name]
    metrics = {name: METRICS[name] for name in sorted(METRICS) if targets in METRIC_TARGETS[name]}

    def fresh() -> nn.Module:
        model = _scalar_model(outputs)
        return model if scalar else _tensor_twin(model)

    model = fresh()
    before = nn.evaluate(model, X, y, loss=loss, metrics=[])["loss"]
    optimizer, scheduler = _parts(model, cls, setting, schedule)
    validation = _data(targets, scalar, seed=1)  # other samples of the same blobs
    history = nn.fit(model, X, y, loss=loss, optimizer=optimizer, scheduler=scheduler,
                     epochs=EPOCHS, batch_size=BATCH, shuffle=False, metrics=list(metrics),
                     validation=validation, progress=False, threads=1)  # fmt: skip
    after = nn.evaluate(model, X, y, loss=loss, metrics=list(metrics))
    assert after["loss"] < before, "it did not learn"
    assert set(after) == {"loss", *metrics}
    held_out = nn.evaluate(model, *validation, loss=loss, metrics=list(metrics))
    for name, number in held_out.items():  # measured on the validation data, not on X
        assert history.last[f"val_{name}"] == pytest.approx(number, rel=1e-12), name

    compiled = fresh()  # fit(compile=True): the same epochs and weights, to the last bit
    compiled_parts = _parts(compiled, cls, setting, schedule)
    arguments = dict(loss=loss, optimizer=compiled_parts[0], scheduler=compiled_parts[1],
                     epochs=EPOCHS, batch_size=BATCH, shuffle=False, metrics=list(metrics),
                     validation=validation, progress=False, threads=1, compile=True)  # fmt: skip
    if scalar and loss_name == "cross_entropy":  # it picks a Value by its label: refused
        with pytest.raises(TypeError, match="compile=True cannot compile"):
            nn.fit(compiled, X, y, **arguments)
    else:
        compiled_history = nn.fit(compiled, X, y, **arguments)
        for record, expected in zip(compiled_history.records, history.records):
            assert {k: v for k, v in record.items() if k != "seconds"} == {
                k: v for k, v in expected.items() if k != "seconds"
            }
        for name, array in _weights(compiled).items():
            np.testing.assert_array_equal(array, _weights(model)[name], err_msg=name)

    by_hand = fresh()
    records = _by_hand(
        by_hand, X, y, loss, *_parts(by_hand, cls, setting, schedule), metrics, validation
    )
    for epoch, (record, expected) in enumerate(zip(history.records, records)):
        for name, number in expected.items():
            assert record[name] == pytest.approx(number, rel=1e-12), (epoch, name)
    trained = _weights(model)
    for name, array in _weights(by_hand).items():
        np.testing.assert_array_equal(trained[name], array, err_msg=name)

    if scalar:  # the same steps on the same numbers, by the Tensor path
        twin = _tensor_twin(_scalar_model(outputs))
        X_twin, y_twin = _data(targets, scalar=False)
        validation_twin = _data(targets, scalar=False, seed=1)
        _by_hand(
            twin, X_twin, y_twin, loss, *_parts(twin, cls, setting, schedule), {}, validation_twin
        )
        oracle = _weights(twin)
    else:
        oracle = _torch_by_hand(
            _weights(fresh()), X, y, loss_name, cls, setting, schedule, validation
        )
    for name, array in trained.items():
        np.testing.assert_allclose(array, oracle[name], rtol=1e-7, atol=1e-9, err_msg=name)
