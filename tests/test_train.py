"""nn.fit solves what the lesson asks: many classes, regression, non-separable data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nn
from autograd import Tensor, Value
from nn.data import train_val_split


def _fit(
    name: str,
    sizes: list[int],
    n: int = 1000,
    epochs: int = 40,
    activation: str = "relu",
    lr: float = 0.01,
    **kwargs: object,
) -> tuple[nn.Module, nn.History, tuple]:
    X, y = nn.datasets.SYNTHETIC[name](n, rng=0, **kwargs)
    X_train, y_train, X_val, y_val = train_val_split(X, y, 0.3, rng=0)
    model = nn.MLP(X.shape[1], sizes, activation=activation, rng=0)
    regression = name == "regression"
    history = nn.fit(
        model,
        X_train,
        y_train,
        loss=nn.mse_loss if regression else nn.cross_entropy,
        optimizer=nn.optim.Adam(model.parameters(), lr=lr),
        epochs=epochs,
        batch_size=32,
        validation=(X_val, y_val),
        progress=False,
    )
    return model, history, (X_train, y_train, X_val, y_val)


def test_three_class_spiral() -> None:
    _, history, _ = _fit("spiral", [64, 64, 3], n=300, epochs=150)
    assert history.last["accuracy"] >= 0.95


@pytest.mark.parametrize("name", ["moons", "circles"])
def test_moons_and_circles_held_out(name: str) -> None:
    _, history, _ = _fit(name, [32, 32, 2])
    assert history.last["val_accuracy"] >= 0.97


def test_xor_is_solved_by_a_hidden_layer() -> None:
    _, history, _ = _fit("xor", [8, 2], n=400, epochs=60, lr=0.05)
    assert history.last["accuracy"] == 1.0 and history.last["val_accuracy"] == 1.0


def test_xor_is_not_solved_without_one() -> None:
    _, history, _ = _fit("xor", [2], n=400, epochs=60, lr=0.05)
    assert history.last["accuracy"] < 0.8


def test_regression_reaches_the_noise_floor() -> None:
    model, history, (_, _, X_val, y_val) = _fit(
        "regression", [64, 64, 1], n=2000, epochs=60, activation="tanh"
    )
    noise_variance = 0.3**2
    assert history.last["val_loss"] <= 1.2 * noise_variance
    predictions = nn.predict(model, X_val)[:, 0]
    assert nn.r2_score(predictions, y_val) > 0.9


def test_the_lessons_two_class_set() -> None:
    _, history, _ = _fit("classification", [16, 2], n=2000, epochs=30)
    assert history.last["val_accuracy"] >= 0.85


def test_history_records_every_epoch(tmp_path: Path) -> None:
    _, history, _ = _fit("moons", [8, 2], n=200, epochs=3)
    assert len(history) == 3 and history["epoch"] == [1.0, 2.0, 3.0]
    assert set(history.keys()) == {
        "epoch",
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "lr",
        "seconds",
    }
    assert history["lr"] == [0.01, 0.01, 0.01]
    history.save(tmp_path / "history.json")
    assert nn.History.load(tmp_path / "history.json").records == history.records
    assert json.loads(history.to_json())[0]["epoch"] == 1.0
    with pytest.raises(KeyError, match="History has no 'r2'"):
        history["r2"]


def test_evaluate_and_predict_use_evaluation_mode() -> None:
    X, y = nn.datasets.moons(200, rng=0)
    model = nn.MLP(2, [16, 2], dropout=0.5, rng=0)
    model.train()
    first = nn.predict(model, X)
    assert np.array_equal(first, nn.predict(model, X))  # dropout is off
    assert model.training  # and training mode is restored
    results = nn.evaluate(model, X, y, loss=nn.cross_entropy)
    assert set(results) == {"loss", "accuracy"}


def test_a_nan_loss_stops_training_with_a_clear_message() -> None:
    X, y = nn.datasets.moons(100, rng=0)
    X[5, 0] = np.nan
    model = nn.MLP(2, [4, 2], rng=0)
    with pytest.raises(nn.TrainingDivergedError, match="the loss became nan at epoch 1"):
        nn.fit(
            model,
            X,
            y,
            loss=nn.cross_entropy,
            epochs=3,
            batch_size=10,
            progress=False,
            optimizer=nn.optim.SGD(model.parameters(), lr=0.1),
        )


def test_the_progress_bar_shows_the_epoch_and_the_loss(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = nn.datasets.moons(100, rng=0)
    model = nn.MLP(2, [4, 2], rng=0)
    nn.fit(
        model,
        X,
        y,
        loss=nn.cross_entropy,
        epochs=2,
        batch_size=50,
        progress=True,
        optimizer=nn.optim.SGD(model.parameters(), lr=0.1),
    )
    shown = capsys.readouterr().err
    assert "epoch 2/2" in shown and "loss=" in shown and "accuracy=" in shown


def test_fit_refuses_bad_arguments() -> None:
    X, y = nn.datasets.moons(20, rng=0)
    model = nn.MLP(2, [4, 2], rng=0)
    with pytest.raises(ValueError, match="X has 20 samples but y has 19"):
        nn.fit(
            model,
            X,
            y[:19],
            loss=nn.cross_entropy,
            epochs=1,
            optimizer=nn.optim.SGD(model.parameters(), lr=0.1),
        )
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        nn.evaluate(model, X, y, metrics=["f1"])


@pytest.mark.parametrize("shuffle", [True, False])
def test_fit_takes_its_batches_as_batches_gives_them(shuffle: bool) -> None:
    """Each epoch's order is the next of the seeded generator's permutations (the data's
    own order without shuffle): the weights are those of the loop by hand over
    ``nn.data.batches`` with the same generator, and differ between the two orders."""
    X, y = nn.datasets.moons(40, rng=0)

    def trained(by_hand: bool, shuffled: bool) -> list[np.ndarray]:
        model = nn.MLP(2, [4, 2], rng=0)
        sgd = nn.optim.SGD(model.parameters(), lr=0.5)
        if not by_hand:
            nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=sgd, epochs=3, batch_size=8,
                   shuffle=shuffled, rng=7, progress=False, threads=1)  # fmt: skip
            return [np.array(p.data) for p in model.parameters()]
        generator = np.random.default_rng(7)
        for _ in range(3):
            for X_batch, y_batch in nn.data.batches(X, y, 8, shuffle=shuffled, rng=generator):
                loss = nn.cross_entropy(model(X_batch.astype(np.float32)), y_batch)
                sgd.zero_grad()
                loss.backward()
                sgd.step()
        return [np.array(p.data) for p in model.parameters()]

    for got, expected in zip(trained(False, shuffle), trained(True, shuffle)):
        np.testing.assert_array_equal(got, expected)
    other = trained(False, not shuffle)
    assert any(not np.array_equal(a, b) for a, b in zip(trained(False, shuffle), other))


def test_a_schedule_steps_once_per_epoch() -> None:
    X, y = nn.datasets.moons(64, rng=0)
    model = nn.MLP(2, [4, 2], rng=0)
    optimizer = nn.optim.SGD(model.parameters(), lr=1.0)
    nn.fit(
        model,
        X,
        y,
        loss=nn.cross_entropy,
        optimizer=optimizer,
        epochs=3,
        progress=False,
        scheduler=nn.optim.StepLR(optimizer, step_size=1, gamma=0.5),
    )
    assert optimizer.lr == 0.125


def test_on_epoch_end_can_add_to_the_record() -> None:
    X, y = nn.datasets.moons(64, rng=0)
    model = nn.MLP(2, [4, 2], rng=0)

    def largest_weight(record: dict[str, float]) -> None:
        record["max_weight"] = max(float(np.abs(p.data).max()) for p in model.parameters())

    history = nn.fit(
        model,
        X,
        y,
        loss=nn.cross_entropy,
        epochs=2,
        progress=False,
        optimizer=nn.optim.SGD(model.parameters(), lr=0.1),
        on_epoch_end=largest_weight,
    )
    assert len(history["max_weight"]) == 2 and history["max_weight"][0] > 0


def test_a_scalar_mlp_trains_through_fit_like_a_tensor_model() -> None:
    X, y = nn.datasets.moons(200, noise=0.1, rng=0)
    X_train, y_train, X_val, y_val = train_val_split(X, y, 0.25, rng=0)
    model = nn.scalar.MLP(2, [16, 16, 1], rng=0)
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = nn.fit(
        model,
        X_train,
        2.0 * y_train - 1.0,
        loss=nn.hinge_loss,
        optimizer=optimizer,
        scheduler=nn.optim.StepLR(optimizer, step_size=10, gamma=0.5),
        epochs=30,
        batch_size=32,
        metrics=["accuracy"],
        validation=(X_val, 2 * y_val - 1),
        evaluate_training=True,
        progress=False,
    )
    assert history.last["val_accuracy"] >= 0.95 and history.last["train_accuracy"] >= 0.95
    outputs = nn.predict(model, X_val)
    assert outputs.shape == (len(X_val),) and nn.accuracy(outputs, y_val) >= 0.95
    figure = nn.plot.decision_boundary(model, X_val, y_val)
    assert figure.axes


def test_a_scalar_classifier_with_cross_entropy_matches_the_tensor_one() -> None:
    X, y = nn.datasets.blobs(60, rng=0)
    scalar = nn.scalar.MLP(2, [3], rng=0)
    tensor = nn.Sequential(nn.Linear(2, 3, rng=0))
    tensor[0].weight.data = np.array(
        [[w.data for w in n.w] for n in scalar.layers[0].neurons], np.float64
    )
    tensor[0].bias.data = np.array([n.b.data for n in scalar.layers[0].neurons], np.float64)
    got = nn.evaluate(scalar, X, y, loss=nn.cross_entropy)
    expected = nn.evaluate(tensor, X.astype(np.float64), y, loss=nn.cross_entropy)
    assert (
        got["loss"] == pytest.approx(expected["loss"]) and got["accuracy"] == expected["accuracy"]
    )


def test_end_of_epoch_training_figures_match_evaluate() -> None:
    X, y = nn.datasets.moons(100, rng=0)
    model = nn.MLP(2, [8, 2], rng=0)
    optimizer = nn.optim.Adam(model.parameters(), lr=0.01)
    history = nn.fit(model, X, y, loss=nn.cross_entropy, epochs=2, evaluate_training=True,
                     optimizer=optimizer, progress=False)  # fmt: skip
    figures = nn.evaluate(model, X, y, loss=nn.cross_entropy)
    assert history.last["train_loss"] == pytest.approx(figures["loss"], rel=1e-6)
    assert history.last["train_accuracy"] == figures["accuracy"]


@pytest.mark.parametrize(
    ("last", "loss"),
    [
        (nn.Softmax(), nn.cross_entropy),
        (nn.Sigmoid(), nn.binary_cross_entropy),
        (nn.Softmax(), nn.CrossEntropyLoss()),  # the modules and nn.functional's names too
        (nn.Sigmoid(), nn.BCEWithLogitsLoss(reduction="sum")),
        (nn.Softmax(), nn.functional.cross_entropy),
        (nn.Sigmoid(), nn.functional.binary_cross_entropy_with_logits),
    ],
)
def test_fit_warns_when_the_model_squashes_what_the_loss_squashes(
    last: nn.Module, loss: object
) -> None:
    X, y = nn.datasets.moons(40, rng=0)
    classes = isinstance(last, nn.Softmax)
    outputs = 2 if classes else 1
    model = nn.Sequential(nn.Linear(2, outputs, rng=0), last)
    target = y if classes else y[:, None].astype(np.float64)
    with pytest.warns(UserWarning, match="takes logits"):
        nn.fit(model, X, target, loss=loss, epochs=1, progress=False,  # type: ignore[arg-type]
               optimizer=nn.optim.SGD(model.parameters(), lr=0.1))  # fmt: skip


def test_a_tensor_model_takes_numpy_arrays_and_refuses_values() -> None:
    model = nn.MLP(2, [3, 2], rng=0)
    X = np.ones((4, 2))
    np.testing.assert_allclose(model(X).data, model(Tensor(X)).data)
    with pytest.raises(TypeError, match=r"expected a Tensor .* nn.scalar"):
        model([Value(1.0), Value(2.0)])


def test_blas_threads_are_measured_or_fixed() -> None:
    import subprocess
    import sys
    import time

    from threadpoolctl import threadpool_info

    from nn.threads import IdleCores, blas_threads, cores

    with blas_threads(1):
        assert all(
            pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas"
        )
    meter = IdleCores()
    assert 1 <= meter.count() <= cores()
    if cores() == 2:  # one busy process leaves one core: BLAS gets one thread
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.3)
            meter.count()
            time.sleep(0.3)
            assert meter.count() == 1
        finally:
            busy.kill()
            busy.wait()
    X, y = nn.datasets.moons(64, rng=0)
    for threads in (None, 1):
        model = nn.MLP(2, [8, 2], rng=0)
        sgd = nn.optim.SGD(model.parameters(), lr=0.1)
        history = nn.fit(model, X, y, loss=nn.cross_entropy, epochs=1, threads=threads,
                         optimizer=sgd, progress=False)  # fmt: skip
        assert len(history) == 1
    with pytest.raises(ValueError, match="threads must be at least 1"):
        nn.fit(model, X, y, loss=nn.cross_entropy, epochs=1, threads=0,
               optimizer=nn.optim.SGD(model.parameters(), lr=0.1), progress=False)  # fmt: skip


def test_a_new_fit_looks_back_at_the_machine_instead_of_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nn import threads

    sleeps: list[float] = []
    monkeypatch.setattr(threads.time, "sleep", sleeps.append)
    monkeypatch.setattr(threads, "_last_look", (0.0, 0.0, 0.0))  # a look long ago
    assert 1 <= threads.IdleCores().count() <= threads.cores()
    assert sleeps == []  # it looked back over the time since then
    fresh = threads.IdleCores()  # the look just taken is too recent to measure from
    fresh.count()
    assert len(sleeps) == 1 and 0.0 < sleeps[0] <= threads.FIRST_LOOK_SECONDS
