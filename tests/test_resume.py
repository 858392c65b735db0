"""fit's loop around the steps: callbacks that stop it, early stopping with the best
weights restored, a CSV log, the learning rate in the history, and checkpoints: a run
stopped at epoch 3 and resumed is, to the last bit, the run never stopped; a crafted or
corrupt checkpoint is refused, naming the file, and changes nothing."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nn
from nn.callbacks import CSVLogger, EarlyStopping, StopTraining
from nn.modelfile import ModelFileError

EPOCHS = 6


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = nn.datasets.moons(120, noise=0.2, rng=0)
    X_val, y_val = nn.datasets.moons(40, noise=0.2, rng=1)
    return X.astype(np.float32), y, X_val.astype(np.float32), y_val


#: The runs resumed: each optimiser with state and each kind of schedule.
SETUPS: dict[str, Callable[[], tuple[nn.Module, Any, Any]]] = {}


def _setup(name: str) -> Callable[[Callable[[], tuple[nn.Module, Any, Any]]], Any]:
    def register(make: Callable[[], tuple[nn.Module, Any, Any]]) -> Any:
        SETUPS[name] = make
        return make

    return register


@_setup("adam-cosine-dropout")
def _adam() -> tuple[nn.Module, Any, Any]:
    model = nn.MLP(2, [16, 16, 2], dropout=0.2, rng=0)  # Dropout draws from its own generator
    optimizer = nn.optim.Adam(model.parameters(), lr=0.02)
    return model, optimizer, nn.optim.CosineAnnealingLR(optimizer, T_max=4)


@_setup("sgd-momentum-step")
def _sgd() -> tuple[nn.Module, Any, Any]:
    model = nn.MLP(2, [8, 2], rng=1)
    optimizer = nn.optim.SGD(model.parameters(), lr=0.2, momentum=0.9, nesterov=True)
    return model, optimizer, nn.optim.StepLR(optimizer, step_size=2, gamma=0.5)


@_setup("adam-plateau")
def _plateau() -> tuple[nn.Module, Any, Any]:
    model = nn.MLP(2, [8, 2], rng=2)
    optimizer = nn.optim.Adam(model.parameters(), lr=0.05)
    return model, optimizer, nn.optim.ReduceLROnPlateau(optimizer, factor=0.5, patience=0)


@_setup("scalar-sgd")
def _scalar() -> tuple[nn.Module, Any, Any]:
    model = nn.scalar.MLP(2, [4, 1], rng=0)
    return model, nn.optim.SGD(model.parameters(), lr=0.05, momentum=0.5), None


def _fit(make: Callable[[], tuple[nn.Module, Any, Any]], epochs: int, **options: Any) -> Any:
    X, y, X_val, y_val = _data()
    model, optimizer, scheduler = make()
    scalar = isinstance(model, nn.scalar.MLP)
    if scalar:
        X, y, X_val, y_val = X[:40], (y[:40] * 2 - 1.0), X_val[:10], y_val[:10] * 2 - 1.0
    callbacks = options.pop("callbacks", [EarlyStopping(patience=100)])
    history = nn.fit(
        model, X, y, loss=nn.hinge_loss if scalar else nn.cross_entropy, optimizer=optimizer,
        scheduler=scheduler, epochs=epochs, batch_size=16, validation=(X_val, y_val),
        progress=False, threads=1, rng=7, callbacks=callbacks, **options,
    )  # fmt: skip
    return model, optimizer, scheduler, history, callbacks


def _without_seconds(history: nn.History) -> list[dict[str, float]]:
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history.records]


def _assert_same_state(a: Any, b: Any, where: str = "") -> None:
    """Two state_dicts (nested dicts, lists, arrays, numbers) equal to the last bit."""
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for key in a:
            _assert_same_state(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, z) in enumerate(zip(a, b)):
            _assert_same_state(x, z, f"{where}.{i}")
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
        assert np.asarray(a).dtype == np.asarray(b).dtype, where
    else:
        assert a == b, where


def _assert_same_run(one: Any, other: Any) -> None:
    model, optimizer, scheduler, history, callbacks = one
    model2, optimizer2, scheduler2, history2, callbacks2 = other
    assert _without_seconds(history) == _without_seconds(history2)
    _assert_same_state(model.state_dict(), model2.state_dict(), "weights")
    _assert_same_state(optimizer.state_dict(), optimizer2.state_dict(), "optimizer")
    if scheduler is not None:
        _assert_same_state(scheduler.state_dict(), scheduler2.state_dict(), "scheduler")
    for callback, callback2 in zip(callbacks, callbacks2):
        _assert_same_state(callback.state_dict(), callback2.state_dict(), "callback")


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("name", list(SETUPS))
def test_a_run_stopped_at_epoch_3_and_resumed_is_the_run_never_stopped(
    name: str, compiled: bool, tmp_path: Path
) -> None:
    make, path = SETUPS[name], tmp_path / "run.ckpt"
    whole = _fit(make, EPOCHS, compile=compiled)
    first = _fit(make, 3, compile=compiled, checkpoint=path)
    assert len(first[3]) == 3
    resumed = _fit(make, EPOCHS, compile=compiled, checkpoint=path, resume_from=path)
    _assert_same_run(whole, resumed)
    if name.startswith("adam"):  # Adam's moments and step counts came back, not zeros
        assert resumed[1].state_dict()["state"][0]["step"] == whole[1].state[0]["step"] > 10
    again = _fit(make, EPOCHS, compile=compiled, resume_from=path)  # nothing left to train
    _assert_same_run(whole, again)


def test_ctrl_c_in_the_middle_of_an_epoch_loses_only_that_epoch(tmp_path: Path) -> None:
    """Ctrl-C during epoch 4 (some of its steps taken): the checkpoint is epoch 3's, and
    resuming from it gives the uninterrupted run."""
    path = tmp_path / "run.ckpt"
    whole = _fit(_adam, EPOCHS)
    model, optimizer, scheduler = _adam()
    step, steps = optimizer.step, []

    def interrupted_step() -> None:
        steps.append(1)
        if len(steps) == 3 * 8 + 5:  # 8 batches an epoch: the 5th step of epoch 4
            raise KeyboardInterrupt
        step()

    optimizer.step = interrupted_step  # type: ignore[method-assign]
    X, y, X_val, y_val = _data()
    with pytest.raises(nn.train.TrainingInterrupted) as stopped:
        nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=optimizer, scheduler=scheduler,
               epochs=EPOCHS, batch_size=16, validation=(X_val, y_val), progress=False,
               threads=1, rng=7, callbacks=[EarlyStopping(patience=100)],
               checkpoint=path)  # fmt: skip
    assert len(stopped.value.history) == 3
    resumed = _fit(_adam, EPOCHS, checkpoint=path, resume_from=path)
    _assert_same_run(whole, resumed)


def test_a_checkpoint_holds_what_the_docs_say(tmp_path: Path) -> None:
    path = tmp_path / "run.ckpt"
    _fit(_adam, 2, checkpoint=path)
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
        header = json.loads(np.load(io.BytesIO(archive.read("__tracegrad__.npy"))).tobytes())
    assert header["format"] == "tracegrad-checkpoint" and header["version"] == 1
    assert header["epoch"] == 2 and len(header["history"]) == 2 and not header["stopped"]
    assert header["optimizer"]["type"] == "Adam"
    assert header["scheduler"]["type"] == "CosineAnnealingLR"
    assert [part["type"] for part in header["callbacks"]] == ["EarlyStopping"]
    assert header["rng"]["bit_generator"] == "PCG64"
    assert set(header["generators"]) == {"2._rng", "5._rng"}  # the model's two Dropouts
    assert header["data"]["samples"] == 120 and len(header["data"]["sha256"]) == 64
    assert "model.0.weight.npy" in names and "optimizer.state.0.exp_avg.npy" in names
    assert header["optimizer"]["state"]["state"]["0"]["exp_avg"] == {
        "__array__": "optimizer.state.0.exp_avg"
    }
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically: no leftover


# -- refused checkpoints -------------------------------------------------------------------


def _rewrite(path: Path, change: Callable[[dict[str, Any]], None] | None = None,
             arrays: dict[str, np.ndarray] | None = None) -> None:  # fmt: skip
    """The checkpoint at ``path`` with its header changed, or arrays added or replaced."""
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    header = json.loads(np.load(io.BytesIO(contents["__tracegrad__.npy"])).tobytes())
    if change is not None:
        change(header)
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(json.dumps(header).encode(), np.uint8))
    contents["__tracegrad__.npy"] = buffer.getvalue()
    for name, array in (arrays or {}).items():
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=True)
        contents[f"{name}.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def _header_change(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(header: dict[str, Any]) -> None:
        target = header
        *parents, last = key.split("/")
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return change


_DELETE = object()

CRAFTED = [
    ("epoch", -1, "epoch: expected an integer in"),
    ("epoch", 1, "its epoch count and its history disagree"),
    ("history/0/loss", "1.0", r"history.0.loss: expected a number"),
    ("history/0/loss", {"__float__": "huge"}, r"history.0.loss: expected a number"),
    ("format", "tracegrad-model", "not a tracegrad checkpoint"),
    ("version", 2, "format version 2"),
    ("surprise", 1, "surprise: an unknown field"),
    ("rng/bit_generator", "MT19937", "rng.bit_generator: expected one of"),
    ("rng/state/state", -5, r"rng.state.state: expected an integer in \[0, "),
    ("optimizer/type", "SGD", "a 'SGD' optimiser; fit was given Adam"),
    ("optimizer/state/state/0/exp_avg", {"__array__": "nowhere"}, "refers to an array 'nowhere'"),
    ("optimizer/state/state/0/step", -3, r"state\[0\]\['step'\] must be at least 1"),
    ("optimizer/state/state/7", {}, "state names parameter 7"),
    ("optimizer/state/param_groups/0/lr", -0.5, "lr must be"),
    ("optimizer/state/param_groups/0/amsgrad", True, "amsgrad=True"),
    ("scheduler/state/T_max", 0, "T_max must be at least 1"),
    ("scheduler", None, "scheduler None; fit was given 'CosineAnnealingLR'"),
    ("callbacks", [], r"the callbacks \[\]; fit was given \['EarlyStopping'\]"),
    ("callbacks/0/state/wait", "x", "wait must be an integer"),
    ("data/sha256", "0" * 64, "other data .sha256 differ"),
    ("data/batch_size", 32, "batch_size differ"),
    ("architecture/config/sizes", [16, 16, 3], "another model's state"),
    ("generators/2._rng", _DELETE, "other generators"),
    ("tied", {"2.weight": "0.weight"}, "ties other parameters"),
]


@pytest.mark.parametrize(("key", "value", "message"), CRAFTED, ids=[c[0] for c in CRAFTED])
def test_a_crafted_checkpoint_is_refused_and_changes_nothing(
    key: str, value: Any, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "run.ckpt"
    _fit(_adam, 2, checkpoint=path)
    _rewrite(path, _header_change(key, value))
    model, optimizer, scheduler = _adam()
    callback = EarlyStopping(patience=100)
    before = (model.state_dict(), optimizer.state_dict(), scheduler.state_dict(),
              callback.state_dict())  # fmt: skip
    X, y, X_val, y_val = _data()
    with pytest.raises(ModelFileError, match=message) as refused:
        nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=optimizer, scheduler=scheduler,
               epochs=EPOCHS, batch_size=16, validation=(X_val, y_val), progress=False,
               threads=1, rng=7, callbacks=[callback], resume_from=path)  # fmt: skip
    assert str(refused.value).startswith(f"fit: resume_from: {path}: ")
    after = (model.state_dict(), optimizer.state_dict(), scheduler.state_dict(),
             callback.state_dict())  # fmt: skip
    _assert_same_state(list(before), list(after))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda path: path.write_bytes(path.read_bytes()[:200]), "not a zip archive"),
        (lambda path: path.write_bytes(b"\x00" * 100), "not a zip archive"),
        (lambda path: path.write_text("{}"), "not a zip archive"),
        (lambda path: nn.MLP(2, [2]).save(path), "not a tracegrad checkpoint"),
        (lambda path: _rewrite(path, arrays={"model.0.weight": np.array([object()] * 3)}),
         "holds Python objects, which are never unpickled"),
        (lambda path: _rewrite(path, arrays={"model.0.weight": np.ones((3, 3), np.float32)}),
         r"model.0.weight has shape|shape of 0.weight"),
        (lambda path: _rewrite(path, arrays={"model.extra": np.ones(3, np.float32)}),
         "unexpected: .'extra'"),
    ],
)  # fmt: skip
def test_a_corrupt_checkpoint_is_refused(
    damage: Callable[[Path], Any], message: str, tmp_path: Path
) -> None:
    path = tmp_path / "run.ckpt"
    _fit(_adam, 1, checkpoint=path)
    damage(path)
    model, optimizer, scheduler = _adam()
    weights = model.state_dict()
    X, y, X_val, y_val = _data()
    with pytest.raises(ModelFileError, match=message):
        nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=optimizer, scheduler=scheduler,
               epochs=2, batch_size=16, validation=(X_val, y_val), progress=False,
               callbacks=[EarlyStopping()], resume_from=path)  # fmt: skip
    _assert_same_state(weights, model.state_dict())


def test_a_missing_checkpoint_names_the_file(tmp_path: Path) -> None:
    model, optimizer, _ = _sgd()
    X, y, _, _ = _data()
    with pytest.raises(FileNotFoundError) as missing:
        nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=optimizer, epochs=1,
               progress=False, resume_from=tmp_path / "none.ckpt")  # fmt: skip
    assert missing.value.filename == str(tmp_path / "none.ckpt")
    assert "fit: resume_from: no such file (a first run has nothing to go on from" in str(
        missing.value
    )


def test_resuming_with_fewer_epochs_than_the_checkpoint_holds_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.ckpt"
    _fit(_sgd, 4, checkpoint=path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"fit: epochs=2, but the checkpoint .* holds 4 "
                       r"finished epochs already.*give epochs >= 4"):  # fmt: skip
        _fit(_sgd, 2, checkpoint=path, resume_from=path)
    assert path.read_bytes() == before
    assert len(_fit(_sgd, 4, resume_from=path)[3]) == 4  # as many: nothing left to train


def test_a_generator_a_checkpoint_cannot_store_is_refused_before_training(tmp_path: Path) -> None:
    model, optimizer, _ = _sgd()
    X, y, _, _ = _data()
    with pytest.raises(TypeError, match="fit: checkpoint: rng draws from a MT19937 generator"):
        nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=optimizer, epochs=1,
               progress=False, rng=np.random.Generator(np.random.MT19937(0)),
               checkpoint=tmp_path / "c.ckpt")  # fmt: skip


# -- callbacks -----------------------------------------------------------------------------


class _Recorder:
    """A callback that is no subclass of Callback: the protocol is the methods."""

    def __init__(self, stop_at: int = 0, how: str = "return") -> None:
        self.calls: list[str] = []
        self.stop_at, self.how = stop_at, how
        self.stop = False

    def on_train_begin(self, training: Any) -> None:
        self.calls.append(f"begin {len(training.history)}/{training.epochs}")

    def on_epoch_end(self, record: dict[str, float]) -> bool:
        self.calls.append(f"epoch {int(record['epoch'])}")
        record["mine"] = record["epoch"] * 2
        if record["epoch"] == self.stop_at:
            if self.how == "raise":
                raise StopTraining
            if self.how == "flag":
                self.stop = True
                return False
            return True
        return False

    def on_train_end(self, history: Any) -> None:
        self.calls.append(f"end {len(history)}")


@pytest.mark.parametrize("how", ["return", "raise", "flag"])
def test_a_callback_stops_training_by_returning_true_raising_or_its_flag(how: str) -> None:
    recorder = _Recorder(stop_at=2, how=how)
    *_, history, _ = _fit(_sgd, EPOCHS, callbacks=[recorder])
    assert recorder.calls == ["begin 0/6", "epoch 1", "epoch 2", "end 2"]
    assert history["mine"] == [2.0, 4.0]


def test_on_epoch_end_returning_true_stops_too() -> None:
    *_, history, _ = _fit(_sgd, EPOCHS, callbacks=[],
                          on_epoch_end=lambda record: record["epoch"] >= 3)  # fmt: skip
    assert len(history) == 3


def test_early_stopping_stops_and_restores_the_best_weights() -> None:
    seen: dict[int, dict[str, np.ndarray]] = {}
    model_holder: list[nn.Module] = []

    class Snapshots:
        def on_train_begin(self, training: Any) -> None:
            model_holder.append(training.model)

        def on_epoch_end(self, record: dict[str, float]) -> None:
            seen[int(record["epoch"])] = model_holder[0].state_dict()

    stopper = EarlyStopping(monitor="val_loss", patience=2)
    model, _, _, history, _ = _fit(_plateau_overfits, 40, callbacks=[Snapshots(), stopper])
    losses = history["val_loss"]
    best = int(np.argmin(losses)) + 1
    assert stopper.best_epoch == best and stopper.best == min(losses)
    assert stopper.stopped_epoch == len(history) == best + 2 < 40
    _assert_same_state(model.state_dict(), seen[best])
    assert len(seen) == len(history)


def _plateau_overfits() -> tuple[nn.Module, Any, Any]:
    model = nn.MLP(2, [64, 2], rng=0)
    return model, nn.optim.Adam(model.parameters(), lr=0.1), None


def test_a_stopped_run_resumed_trains_no_further_and_ends_with_the_best_weights(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run.ckpt"
    stopped = _fit(_plateau_overfits, 40, callbacks=[EarlyStopping(patience=2)], checkpoint=path)
    with pytest.warns(UserWarning, match="a callback stopped the run .* no epoch is trained"):
        again = _fit(_plateau_overfits, 40, callbacks=[EarlyStopping(patience=2)],
                     resume_from=path)  # fmt: skip
    assert len(again[3]) == len(stopped[3]) < 40
    _assert_same_state(stopped[0].state_dict(), again[0].state_dict())


def test_an_early_stopping_used_again_starts_afresh_and_restores_only_its_runs_weights() -> None:
    stopper = EarlyStopping(monitor="val_loss", patience=1)
    first = _fit(_plateau_overfits, 40, callbacks=[stopper])
    assert stopper.stopped_epoch > 0
    second = _fit(_sgd, 3, callbacks=[stopper])  # another model: nothing of the first run
    assert stopper.best_epoch >= 1 and stopper.best == min(second[3]["val_loss"])
    assert first[3].records != second[3].records
    model, optimizer, _ = _plateau_overfits()
    X, y, X_val, y_val = _data()
    fresh = EarlyStopping(monitor="val_loss", patience=1)
    options = dict(loss=nn.cross_entropy, epochs=40, batch_size=16, validation=(X_val, y_val),
                   progress=False, threads=1, rng=7, callbacks=[fresh])  # fmt: skip
    nn.fit(model, X, y, optimizer=optimizer, **options)  # type: ignore[arg-type]
    again, optimizer = _plateau_overfits()[:2]  # the same model, new weights: a new run
    nn.fit(again, X, y, optimizer=optimizer, **options)  # type: ignore[arg-type]
    _assert_same_state(again.state_dict(), model.state_dict())  # the same run, twice


def test_a_callbacks_stop_flag_stops_one_run_not_the_next() -> None:
    recorder = _Recorder(stop_at=1, how="flag")
    assert len(_fit(_sgd, 3, callbacks=[recorder])[3]) == 1
    recorder.stop_at = 0
    assert len(_fit(_sgd, 3, callbacks=[recorder])[3]) == 3


def test_early_stopping_needs_its_figure_and_a_direction() -> None:
    with pytest.raises(ValueError, match="EarlyStopping: monitor 'val_loss' is not in the"):
        model, optimizer, _ = _sgd()
        X, y, _, _ = _data()
        nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=optimizer, epochs=2,
               progress=False, callbacks=[EarlyStopping()])  # fmt: skip
    with pytest.raises(ValueError, match="mode='auto' cannot tell whether monitor 'norm'"):
        EarlyStopping(monitor="norm")
    assert EarlyStopping(monitor="val_accuracy").mode == "max"
    assert EarlyStopping(monitor="val_zero_one_loss").mode == "min"


def test_fit_refuses_what_is_no_callback() -> None:
    model, optimizer, _ = _sgd()
    X, y, _, _ = _data()
    for bad, message in [
        (EarlyStopping(), "callbacks must be a list"),
        ([EarlyStopping], r"callbacks\[0\] must be a callback.*a class\? make one"),
        ([print], r"callbacks\[0\] must be a callback"),
    ]:
        with pytest.raises(TypeError, match=message):
            nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=optimizer, epochs=1,
                   progress=False, callbacks=bad)  # fmt: skip


def test_the_csv_log_is_the_history_to_the_last_digit(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    *_, history, _ = _fit(_adam, 3, callbacks=[CSVLogger(path)])
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == list(history.records[0])
    assert [{k: float(v) for k, v in row.items()} for row in rows] == history.records
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_csv_log_called_from_a_loop_of_ones_own_keeps_every_row(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    logger = CSVLogger(path)
    for epoch, loss in [(1, 0.5), (2, 0.25), (3, 0.125)]:
        logger.on_epoch_end({"epoch": float(epoch), "loss": loss})
    rows = list(csv.DictReader(path.open()))
    assert [(float(r["epoch"]), float(r["loss"])) for r in rows] == [
        (1.0, 0.5), (2.0, 0.25), (3.0, 0.125)
    ]  # fmt: skip


def test_a_resumed_runs_csv_log_holds_every_epoch_once(tmp_path: Path) -> None:
    log, path = tmp_path / "log.csv", tmp_path / "run.ckpt"
    _fit(_sgd, 2, callbacks=[CSVLogger(log)], checkpoint=path)
    *_, history, _ = _fit(_sgd, 4, callbacks=[CSVLogger(log)], checkpoint=path, resume_from=path)
    rows = list(csv.DictReader(log.open()))
    assert [float(row["epoch"]) for row in rows] == [1.0, 2.0, 3.0, 4.0] == history["epoch"]


def test_the_history_has_the_learning_rate_each_epoch_took() -> None:
    *_, scheduler, history, _ = _fit(_sgd, 5)
    assert history["lr"] == [0.2, 0.2, 0.1, 0.1, 0.05]
    assert scheduler.get_last_lr() == [0.05]
    assert all(seconds > 0 for seconds in history["seconds"])


def test_reduce_lr_on_plateau_steps_with_the_validation_loss() -> None:
    *_, history, _ = _fit(_plateau, EPOCHS)
    losses, rates = history["val_loss"], history["lr"]
    for epoch in range(1, EPOCHS):
        improved = losses[epoch - 1] < min(losses[: epoch - 1], default=np.inf) * (1 - 1e-4)
        assert rates[epoch] == (rates[epoch - 1] if improved else rates[epoch - 1] * 0.5)
