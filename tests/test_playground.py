"""``tracegrad playground`` without a browser: the form's checks, the run and its code,
the pictures against the engine, one neuron's graph and backward walk, and the server
(bad values, two sessions, a closed tab, local only, Ctrl-C)."""

from __future__ import annotations

import ast
import fnmatch
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nn
from autograd import Value, grad
from tracegrad.cli import main
from tracegrad.playground import Settings, SettingsError, views
from tracegrad.playground.code import reproducing_code
from tracegrad.playground.run import Run
from tracegrad.playground.server import Playground, PlaygroundServer, host_allowed, is_local
from tracegrad.playground.session import finite

ROOT = Path(__file__).resolve().parent.parent


# -- the form --------------------------------------------------------------------------------


def test_an_empty_form_is_the_default_run() -> None:
    settings = Settings.from_form({})
    assert settings == Settings()
    assert (settings.task, settings.sizes, settings.features) == ("binary", [8, 8, 1], 2)
    assert Settings.from_form(settings.as_form()) == settings


@pytest.mark.parametrize(
    ("form", "field", "shown"),
    [
        ({"hidden": "8, -3"}, "hidden", "'8, -3'"),
        ({"hidden": ",".join(["4"] * 10_000)}, "hidden", "at most 6 hidden layers"),
        ({"hidden": "10000"}, "hidden", "'10000'"),
        ({"hidden": "8, x"}, "hidden", "'8, x'"),
        ({"lr": "0"}, "lr", "learning rate: must be more than 0"),
        ({"lr": "fast"}, "lr", "learning rate: expected a number, got 'fast'"),
        ({"lr": "nan"}, "lr", "'nan'"),
        ({"lr": "-1e-3"}, "lr", "'-1e-3'"),
        ({"points": "5"}, "points", "'5'"),
        ({"points": 2.5}, "points", "'2.5'"),
        ({"points": None}, "points", "None"),
        ({"batch_size": "150"}, "batch_size", "150 is more than the 100 training points"),
        ({"train_percent": "95"}, "train_percent", "'95'"),
        ({"dataset": "mnist"}, "dataset", "'mnist'"),
        ({"loss": "cross_entropy"}, "loss", "'cross_entropy'"),
        ({"dataset": "classification", "noise": "1.5"}, "noise", "at most 1, got 1.5"),
        ({"seed": "-1"}, "seed", "'-1'"),
        ({"l2": "inf"}, "l2", "'inf'"),
        ({"colour": "red"}, "colour", "unknown field 'colour'"),
    ],
)
def test_a_bad_value_is_a_message_that_names_the_field_and_the_value(
    form: dict[str, Any], field: str, shown: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_form(form)
    assert field in raised.value.errors
    assert shown in raised.value.errors[field]


def test_a_network_too_large_for_the_value_engine_is_refused_with_what_to_change() -> None:
    form = {"hidden": "32, 32, 32", "points": "2000", "train_percent": "90"}
    with pytest.raises(SettingsError) as raised:
        Settings.from_form(form)
    message = raised.value.errors["hidden"]
    assert "too large a network for the Value engine" in message and "Tensor engine" in message
    tensor = Settings.from_form({**form, "engine": "tensor"})
    assert tensor.weights() == nn.MLP(2, tensor.sizes).num_parameters()


def test_too_many_small_steps_for_the_tensor_engine_are_refused() -> None:
    form = {"engine": "tensor", "points": "2000", "train_percent": "90", "batch_size": "1"}
    with pytest.raises(SettingsError) as raised:
        Settings.from_form({**form, "hidden": "8, 8, 8"})
    assert "1,800 steps through 4 layers" in raised.value.errors["batch_size"]
    assert Settings.from_form({**form, "batch_size": "10"}).batch_size == 10


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_form({"lr": "0", "points": "x", "hidden": "-1"})
    assert set(raised.value.errors) == {"lr", "points", "hidden"}


# -- the run, the code, determinism ---------------------------------------------------------

CASES = {
    "value moons": {},
    "tensor moons": {"engine": "tensor"},
    "value spiral, 3 classes, adam": {
        "dataset": "spiral", "classes": "3", "loss": "cross_entropy", "optimizer": "adam",
        "lr": "0.01", "hidden": "6", "activation": "relu",
    },
    "tensor regression, l1, L2": {
        "dataset": "regression", "loss": "l1_loss", "engine": "tensor", "l2": "0.001",
        "activation": "sigmoid",
    },
    "value regression, mse": {"dataset": "regression", "loss": "mse_loss", "hidden": "4"},
    "tensor xor, hinge": {"dataset": "xor", "loss": "hinge_loss", "engine": "tensor"},
}  # fmt: skip


@pytest.mark.parametrize("form", CASES.values(), ids=CASES.keys())
def test_the_code_reproduces_the_run_number_for_number(form: dict[str, str]) -> None:
    settings = Settings.from_form(form)
    run = Run(settings)
    records = [run.train_epoch() for _ in range(3)]
    scope: dict[str, Any] = {}
    exec(reproducing_code(settings, epochs=3), scope)  # prints one line
    history = scope["history"]
    for key in ("train_loss", "val_loss", f"train_{run.metric}", f"val_{run.metric}", "loss"):
        assert history[key] == [record[key] for record in records], key


def test_the_same_seed_gives_the_same_run_and_another_seed_another() -> None:
    def losses(seed: str) -> list[float]:
        run = Run(Settings.from_form({"seed": seed}))
        return [run.train_epoch()["train_loss"] for _ in range(3)]

    assert losses("7") == losses("7")
    assert losses("7") != losses("8")


def test_the_code_takes_the_epochs_the_page_has_trained() -> None:
    code = reproducing_code(Settings())
    assert "epochs=__EPOCHS__," in code
    compile(code.replace("__EPOCHS__", "5"), "<playground>", "exec")


# -- the pictures, against the engine --------------------------------------------------------


@pytest.mark.parametrize("engine", ["value", "tensor"])
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_the_pictures_forward_pass_is_the_engines(engine: str, activation: str) -> None:
    run = Run(Settings.from_form({"engine": engine, "activation": activation, "hidden": "5, 3"}))
    run.train_epoch()
    weights = views.layer_weights(run.model, engine)
    points = views.plane(views.extent(run.X_train), 7)
    ours = views.forward_layers(weights, points, activation)[-1]
    engines = nn.predict(run.model, points)
    tolerance = 1e-12 if engine == "value" else 1e-5  # the Tensor network computes in float32
    np.testing.assert_allclose(ours.reshape(engines.shape), engines, atol=tolerance)


def test_a_frame_has_every_neurons_picture_as_bytes() -> None:
    run = Run(Settings.from_form({"hidden": "3, 2"}))
    weights = views.layer_weights(run.model, "value")
    frame = views.pictures(run.settings, weights, views.extent(run.X_train))
    assert [len(layer) for layer in frame["neurons"]] == [3, 2]
    pixels = frame["neurons"][0][0]["pixels"]
    assert len(__import__("base64").b64decode(pixels)) == views.NEURON_PIXELS**2
    assert frame["output"]["kind"] == "score"


def test_infinite_numbers_travel_as_none() -> None:
    assert finite({"a": [1.0, float("nan")], "b": float("inf"), "c": "x"}) == {
        "a": [1.0, None], "b": None, "c": "x",
    }  # fmt: skip


# -- one neuron: its graph, the backward walk, and training left as it was -------------------


@pytest.mark.parametrize("engine", ["value", "tensor"])
def test_a_neurons_graph_and_walk_leave_training_as_it_was(engine: str) -> None:
    form = {"engine": engine}
    untouched, looked_at = Run(Settings.from_form(form)), Run(Settings.from_form(form))
    expected = [untouched.train_epoch() for _ in range(3)]
    got = [looked_at.train_epoch()]
    drawing = views.neuron_graph(looked_at, 1, 2, 5)
    views.loss_gradients(looked_at)
    got += [looked_at.train_epoch() for _ in range(2)]
    for record in got + expected:
        del record["seconds"]
    assert got == expected
    assert drawing["svg"].startswith("<svg") and "out" in drawing["svg"]
    assert drawing["backward"][0]["gradient"].endswith("= 1")
    assert "def backward" in drawing["source"] and "# backward of tanh" in drawing["source"]
    assert "neuron 3 of the hidden layer 2, on training point 6" in drawing["title"]


def test_the_written_out_walk_gives_the_engines_gradients() -> None:
    run = Run(Settings())
    drawing = views.neuron_graph(run, 0, 0, 3)
    steps = {step["node"]: step for step in drawing["backward"]}
    neuron = run.model.layers[0].neurons[0]
    x = [Value(v) for v in run.X_train[3].tolist()]
    out = Value.linear(neuron.w, x, neuron.b).tanh()
    expected = grad(out, [*neuron.w, neuron.b])
    for name, value in zip(["w1", "w2", "b"], expected):
        assert steps[name]["gradient"] == f"∂out/∂{name} = {value.data:.6g}"
    assert "d(tanh a)/da = 1 − tanh²a" in steps["out = tanh(z)"]["rule"]
    assert all(p.grad == 0.0 for p in run.model.parameters())  # cleared after


def test_the_loss_gradients_are_the_engines() -> None:
    run = Run(Settings.from_form({"engine": "tensor", "hidden": "3"}))
    gradients = views.loss_gradients(run)
    loss = run.loss(run.model(run.X_train), run.y_train)
    loss.backward()
    first = run.model.layers[0]
    np.testing.assert_allclose(gradients[0]["W"], first.weight.grad, rtol=1e-6)
    np.testing.assert_allclose(gradients[0]["b"], first.bias.grad, rtol=1e-6)


def test_a_neuron_that_does_not_exist_is_a_message() -> None:
    run = Run(Settings())
    with pytest.raises(IndexError, match="no neuron 9 in layer 1"):
        views.neuron_graph(run, 0, 8, 0)


# -- the server ------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[PlaygroundServer]:
    playground = Playground()
    running = PlaygroundServer(0, playground)
    thread = threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield running
    finally:
        playground.stop()
        running.shutdown()
        running.server_close()
        thread.join(10)


class Stream:
    """A tab's stream, read in a thread: the events as (name, data)."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        self.connection.connect()
        self.socket = self.connection.sock
        self.connection.request("GET", "/api/stream")
        self.response = self.connection.getresponse()
        assert self.response.status == 200
        self.events: list[tuple[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.session = self.wait("session")["id"]

    def _read(self) -> None:
        event = ""
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    self.events.append((event, json.loads(line[6:])))
        except (OSError, ValueError):
            return

    def wait(self, name: str, after: int = 0, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event, data in self.events[after:]:
                if event == name:
                    return data
            time.sleep(0.01)
        raise AssertionError(f"no {name!r} event; got {[e for e, _ in self.events]}")

    def epoch(self) -> int:
        return max([d["epoch"] for e, d in self.events if e in ("frame", "state")], default=0)

    def close(self) -> None:
        self.socket.shutdown(socket.SHUT_RDWR)  # the tab goes: its connection ends
        self.socket.close()


def post(port: int, path: str, body: Any, content_type: str = "application/json") -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    connection.request("POST", path, data, {"Content-Type": content_type})
    response = connection.getresponse()
    answer = (response.status, json.loads(response.read()))
    connection.close()
    return answer


def get(port: int, path: str, host: str | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    connection.request("GET", path, headers={"Host": host} if host else {})
    response = connection.getresponse()
    answer = (response.status, response.read())
    connection.close()
    return answer


def test_the_page_and_its_files_are_served(server: PlaygroundServer) -> None:
    port = server.server_address[1]
    status, page = get(port, "/")
    assert status == 200 and b"tracegrad playground" in page
    for name in ("playground.js", "playground.css"):
        assert get(port, f"/static/{name}")[0] == 200
    assert get(port, "/static/../server.py")[0] == 404
    assert get(port, "/favicon.ico")[0] == 404


def test_bad_values_are_answers_not_tracebacks(
    server: PlaygroundServer, capfd: pytest.CaptureFixture[str]
) -> None:
    port = server.server_address[1]
    stream = Stream(port)
    path = f"/api/sessions/{stream.session}"
    status, body = post(port, path, {"action": "settings", "form": {"lr": "0", "hidden": "-4"}})
    assert status == 400 and set(body["errors"]) == {"lr", "hidden"}
    assert post(port, path, {"action": "settings", "form": "lr=0"})[0] == 400
    assert post(port, path, {"action": "fly"}) == (
        400, {"error": "action: choose one of play, pause, step, reset, settings, gradients, "
              "neuron, got 'fly'"},
    )  # fmt: skip
    assert post(port, path, b"{not json")[0] == 400
    assert post(port, path, b"[]")[0] == 400
    assert post(port, path, {"action": "play"}, content_type="text/plain")[0] == 400
    assert post(port, path, {"action": "neuron", "layer": "x", "index": 0, "point": 0})[0] == 400
    assert post(port, "/api/sessions/nobody", {"action": "play"})[0] == 404
    assert post(port, path, {"action": "neuron", "layer": 7, "index": 0, "point": 0})[0] == 200
    assert "no neuron 1 in layer 8" in stream.wait("message")["text"]
    diverging = {"dataset": "regression", "loss": "mse_loss", "lr": "10", "activation": "relu"}
    assert post(port, path, {"action": "settings", "form": diverging})[0] == 200
    stream.wait("session", after=1)
    seen = len(stream.events)
    post(port, path, {"action": "play"})
    assert "training stopped" in stream.wait("message", after=seen, timeout=30)["text"]
    stream.close()
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out


def test_two_tabs_train_apart_and_a_closed_tab_stops_training(server: PlaygroundServer) -> None:
    port, playground = server.server_address[1], server.playground
    first, second = Stream(port), Stream(port)
    assert first.session != second.session
    post(port, f"/api/sessions/{first.session}", {"action": "settings", "form": {"hidden": "3"}})
    first.wait("session", after=1)
    post(port, f"/api/sessions/{first.session}", {"action": "play"})
    deadline = time.monotonic() + 20
    while first.epoch() < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.epoch() >= 5 and second.epoch() == 0
    assert [e for e, _ in second.events if e == "session"] == ["session"]
    reached = first.epoch()
    post(port, f"/api/sessions/{first.session}", {"action": "settings", "form": {"hidden": "3"}})
    time.sleep(0.3)  # the same settings again (a field left, a tab reconnected): no reset
    assert [e for e, _ in first.events].count("session") == 2 and first.epoch() >= reached
    first.close()
    deadline = time.monotonic() + 10
    while first.session in playground.sessions and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(playground.sessions) == {second.session}
    second.close()


def test_the_server_listens_on_127_0_0_1_only(server: PlaygroundServer) -> None:
    host, port = server.server_address[:2]
    assert host == "127.0.0.1"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", port), timeout=5)  # loopback, not bound


def test_requests_for_another_site_or_from_another_machine_are_refused(
    server: PlaygroundServer,
) -> None:
    port = server.server_address[1]
    assert get(port, "/", host=f"localhost:{port}")[0] == 200
    status, body = get(port, "/", host=f"rebound.example:{port}")
    assert status == 403 and b"answers to http://127.0.0.1:" in body
    assert host_allowed(f"127.0.0.1:{port}", port) and not host_allowed(None, port)
    assert is_local("127.0.0.1") and is_local("::1") and is_local("127.8.0.1")
    assert not is_local("10.0.0.7") and not is_local("192.168.1.2") and not is_local("nonsense")


def test_a_port_in_use_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["playground", "--no-browser", "--port", str(port)]) == 1
    assert f"tracegrad: error: --port {port}: cannot listen" in capsys.readouterr().err


def test_ctrl_c_stops_the_server_cleanly_while_a_tab_trains(tmp_path: Path) -> None:
    """Also: without --no-browser, the address is opened in the browser ($BROWSER here)."""
    opened = tmp_path / "opened"
    browser = f"{sys.executable} -c \"import sys; open(sys.argv[1], 'w').write(sys.argv[2])\""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BROWSER": f"{browser} {opened} %s"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tracegrad", "playground"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("tracegrad playground: http://127.0.0.1:")
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        stream = Stream(port)
        post(port, f"/api/sessions/{stream.session}", {"action": "play"})
        stream.wait("state")
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "tracegrad playground: stopped" in out
    assert opened.read_text() == f"http://127.0.0.1:{port}/"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


def test_the_page_ships_in_the_wheel() -> None:
    line = next(
        line
        for line in (ROOT / "pyproject.toml").read_text().splitlines()
        if line.startswith('"tracegrad.playground" = [')
    )
    patterns = ast.literal_eval(line.split("=", 1)[1].split("#", 1)[0].strip())
    static = ROOT / "tracegrad" / "playground" / "static"
    names = sorted(path.name for path in static.iterdir())
    assert names == ["index.html", "playground.css", "playground.js"]
    for name in names:
        assert any(fnmatch.fnmatch(f"static/{name}", pattern) for pattern in patterns), name


def test_the_help_lists_the_playground(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["playground", "--help"])
    shown = capsys.readouterr().out
    assert "--port" in shown and "--no-browser" in shown
