"""The `tracegrad` command, run for real: the demo trains to 100 % and writes its files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from tracegrad.cli import main
from tracegrad.demo import make_workload, training_step


def test_demo_reaches_full_training_accuracy_and_writes_its_pictures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--out", str(tmp_path), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "training accuracy 100%" in printed
    png = (tmp_path / "decision_boundary.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    svg = (tmp_path / "neuron_graph.svg").read_text()
    assert "<svg" in svg and "w·x + b" in svg and "ReLU" in svg


def test_the_demo_workload_is_deterministic() -> None:
    results = []
    for _ in range(2):
        model, X, signs = make_workload(0)
        results.append([training_step(model, X, signs, k).loss for k in range(3)])
    assert results[0] == results[1]


def test_help_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tracegrad", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in done.stdout


def test_unknown_command_fails() -> None:
    with pytest.raises(SystemExit):
        main(["fly"])


@pytest.mark.parametrize(
    "dataset", ["moons", "circles", "spiral", "blobs", "xor", "classification", "regression"]
)
def test_train_on_each_synthetic_set_then_evaluate(
    dataset: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / dataset
    assert main(["train", "--dataset", dataset, "--epochs", "5", "--out", str(out), "--quiet"]) == 0
    trained = capsys.readouterr().out
    assert "test" in trained and "wrote" in trained
    for name in ("model.npz", "history.json", "training_curves.png"):
        assert (out / name).exists(), name
    picture = "regression_fit.png" if dataset == "regression" else "confusion_matrix.png"
    assert (out / picture).read_bytes().startswith(b"\x89PNG")
    assert main(["evaluate", str(out / "model.npz")]) == 0
    evaluated = capsys.readouterr().out
    test_line = next(line for line in trained.splitlines() if line.startswith("test"))
    assert test_line.split(" ", 1)[1] in evaluated  # the same numbers again


@pytest.mark.parametrize("text", ["64,,32", "64,", ",64", "64, ,32"])
def test_an_empty_hidden_size_between_commas_is_refused_not_skipped(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["train", "--dataset", "moons", "--hidden", text])
    assert stopped.value.code == 2
    assert f"--hidden takes sizes like 64,64, not {text!r}" in capsys.readouterr().err


def test_an_empty_hidden_option_is_a_network_with_no_hidden_layer() -> None:
    from tracegrad.cli import _hidden

    assert _hidden("") == [] and _hidden(" ") == [] and _hidden("8, 4") == [8, 4]


def test_train_rejects_bad_hidden_sizes() -> None:
    with pytest.raises(SystemExit):
        main(["train", "--dataset", "moons", "--hidden", "64,x"])


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # The timeout guards against a hang (a check that ran after a 100000-epoch training
    # would never return); it measures nothing.
    return subprocess.run(
        [sys.executable, "-m", "tracegrad", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=600,
    )


def _one_line_error(done: subprocess.CompletedProcess[str], status: int) -> str:
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tracegrad: error: "), done.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--dataset", "moons", "--epochs", "0"], "--epochs: must be at least 1"),
        (["train", "--dataset", "moons", "--lr", "-0.1"], "--lr: must be a positive number"),
        (["train", "--dataset", "moons", "--dropout", "1.5"], "--dropout: must lie in [0, 1)"),
        (["train", "--dataset", "moons", "--samples", "2"], "needs at least 20 samples"),
        (["train", "--dataset", "moonz"], "invalid choice: 'moonz'"),
        (["train"], "the following arguments are required: --dataset"),
        (["fly"], "invalid choice: 'fly'"),
        (["train", "--dataset", "moons", "--seed", "-1"], "--seed: a seed lies in [0, 2**64 - 1]"),
        (["evaluate", "model.npz", "--seed", "x"], "--seed: expected an integer, got 'x'"),
        (["demo", "--seed", "-2"], "--seed: a seed lies in [0, 2**64 - 1], got -2"),
        (["train", "--dataset", "moons", "--hidden", "10000000"], "--hidden sizes must be at most"),
        (["train", "--dataset", "moons", "--samples", "10" * 10], "at most 10,000,000 samples"),
        (["train", "--dataset", "moons", "--threads", "100000"], "--threads: must be at most"),
        (
            ["train", "--dataset", "moons", "--batch-size", "9" * 20],
            "--batch-size: must be at most",
        ),
        (["train", "--dataset", "moons", "--out", ""], "--out: expected a file or folder name"),
        (["evaluate", ""], "expected a file or folder name"),
        # an option of PyTorch's or Keras's spelling: the sub-command's help, the option meant
        (
            ["train", "--batch_size", "32"],
            "unrecognized option --batch_size: did you mean --batch-size? (see tracegrad train "
            "--help)",
        ),
        (
            ["train", "--dataset", "moons", "--batch_size=32"],
            "--batch_size: did you mean --batch-size? (see tracegrad train --help)",
        ),
        (
            ["evaluate", "m.npz", "--data_root", "data"],
            "did you mean --data-root? (see tracegrad evaluate --help)",
        ),
        (
            ["export", "m.npz", "m.onnx", "--input_shape", "28,28"],
            "did you mean --input-shape? (see tracegrad export --help)",
        ),
        (["demo", "--Steps", "3"], "did you mean --steps? (see tracegrad demo --help)"),
        (["train", "--dataset", "moons", "--hiden", "8"], "did you mean --hidden?"),
        (
            ["train", "--dataset", "moons", "--Epochs", "3", "--verbose"],
            "unrecognized options --Epochs (did you mean --epochs?), --verbose (see tracegrad "
            "train --help)",
        ),
        (["evaluate", "a.npz", "b.npz"], "unrecognized arguments: b.npz (see tracegrad evaluate"),
    ],
)
def test_a_usage_mistake_is_one_line_and_status_2(args: list[str], message: str) -> None:
    assert message in _one_line_error(_run(*args), 2)


def test_a_failed_run_is_one_line_and_status_1(tmp_path: Path) -> None:
    assert "missing.npz: no such file" in _one_line_error(
        _run("evaluate", str(tmp_path / "missing.npz")), 1
    )
    line = _one_line_error(_run("evaluate", "README.md"), 1)
    assert "not a zip archive" in line and "allow_pickle" not in line
    mistyped = tmp_path / "mnits"
    line = _one_line_error(_run("train", "--dataset", "mnist", "--data-root", str(mistyped)), 1)
    assert f"--data-root {mistyped}: the folder does not exist (it names the folder that " in line
    assert not mistyped.exists()
    assert _run("train", "--dataset", "moons", "--epochs", "2", "--quiet",
                "--out", str(tmp_path / "moons")).returncode == 0  # fmt: skip
    line = _one_line_error(
        _run("evaluate", str(tmp_path / "moons" / "model.npz"), "--dataset", "regression"), 1
    )
    assert "the model takes 2 features but regression has 1 feature;" in line
    (tmp_path / "a-file").write_text("")
    line = _one_line_error(
        _run("train", "--dataset", "moons", "--quiet", "--out", str(tmp_path / "a-file")), 1
    )
    assert (
        f"--out {tmp_path / 'a-file'}: it is a file, not a folder: --out names the folder" in line
    )
    assert "(made if missing), so name another" in line


def test_the_data_root_mistakes_are_one_line_naming_the_folder(tmp_path: Path) -> None:
    """--data-root and $TRACEGRAD_DATA name the folder that holds mnist/: each mistake is
    one line that says which folder was searched for what (downloads fail at once here:
    the proxy named is a closed port on this machine)."""
    env = {**os.environ, "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}
    env.pop("TRACEGRAD_DATA", None)
    empty, loose, named = tmp_path / "empty", tmp_path / "downloads", tmp_path / "mnist"
    for folder in (empty, loose, named):
        folder.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (loose / name).write_bytes(b"")
        (named / name).write_bytes(b"")
    train = ["train", "--epochs", "1", "--quiet", "--out", str(tmp_path / "run")]
    line = _one_line_error(
        _run(*train, "--dataset", "mnist", "--data-root", str(empty), env=env), 1
    )
    assert line == (
        f"tracegrad: error: mnist: train-images-idx3-ubyte.gz is not in {empty / 'mnist'} "
        f"(mnist/ in the data root {empty}), and downloading it failed: Connection refused "
        "(3 mirrors tried)"
    )
    assert list(empty.iterdir()) == []  # the folder made for the download is gone again
    line = _one_line_error(
        _run(*train, "--dataset", "mnist", "--data-root", str(loose), env=env), 1
    )
    assert f"{loose} holds train-images-idx3-ubyte.gz itself (the data root {loose})" in line
    assert line.endswith(f"so move the files into {loose / 'mnist'}")
    shared = {**env, "TRACEGRAD_DATA": str(named)}
    line = _one_line_error(_run(*train, "--dataset", "fashion-mnist", env=shared), 1)
    assert line.endswith(
        f"{named} is mnist's folder, with no fashion-mnist/ in it (TRACEGRAD_DATA={named}); "
        "a data root is the folder that holds mnist/ and fashion-mnist/"
    )
    missing = {**env, "TRACEGRAD_DATA": str(tmp_path / "shraed")}
    line = _one_line_error(_run(*train, "--dataset", "mnist", env=missing), 1)
    assert line == (
        f"tracegrad: error: TRACEGRAD_DATA={tmp_path / 'shraed'}: the folder does not exist (it "
        "names the folder that holds mnist/ and fashion-mnist/)"
    )
    assert _run(*train, "--dataset", "xor", "--samples", "40", env=missing).returncode == 0


def test_help_shows_the_defaults_and_version() -> None:
    done = _run("train", "--help")
    assert (
        "(default: relu)" in done.stdout and "(default: 50; 10 for the image sets)" in done.stdout
    )
    assert "(default: None)" not in done.stdout
    assert _run("demo", "--help").stdout.count("(default:") == 3
    asked = _run("train", "--batch_size", "32", "--help")  # help wins, as argparse has it
    assert asked.returncode == 0 and "--batch-size BATCH_SIZE" in asked.stdout
    assert _run("--version").stdout.startswith("tracegrad ")


@pytest.mark.slow
def test_the_examples_in_the_help_run_as_written(tmp_path: Path) -> None:
    """Every example at the end of a sub-command's --help, run as a user copies it, in the
    order of the commands (train's write what evaluate and export read); every "e.g." of
    an option's help is among them. The MNIST model that train writes is exported for
    28×28 images, and the ONNX file gives the model's own outputs on real test images."""
    import re
    import shlex

    from tracegrad.cli import build_parser

    if not os.environ.get("TRACEGRAD_DATA"):
        pytest.skip("the examples train on MNIST: set TRACEGRAD_DATA")
    parser = build_parser()
    examples = []
    for name in ("demo", "train", "evaluate", "export"):
        shown = _run(name, "--help").stdout
        lines = [line.strip() for line in shown.split("\nexamples:\n")[1].splitlines()]
        assert lines and all(line.startswith(f"tracegrad {name} ") for line in lines), shown
        examples += lines
        for action in parser.commands[name]._actions:
            for value in re.findall(r"e\.g\. (\S+)", action.help or ""):
                option = f"{action.option_strings[0]} {value}"
                assert any(option in line for line in lines), (name, option)
    for line in examples:
        done = subprocess.run(
            [sys.executable, "-m", "tracegrad", *shlex.split(line)[1:]],
            capture_output=True, text=True, check=False, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, (line, done.stderr[-2000:])
    assert "a 28×28 sample is flattened to 784 features" in done.stdout

    import onnxruntime

    images = nn.datasets.mnist(flatten=False, download=False)[2][:100]
    session = onnxruntime.InferenceSession(str(tmp_path / "mnist.onnx"))
    (outputs,) = session.run(None, {"input": images})
    expected = nn.train.predict(nn.load(tmp_path / "runs/mnist/model.npz"), images.reshape(100, -1))
    np.testing.assert_allclose(outputs, expected, rtol=1e-4, atol=1e-4)


def test_ctrl_c_during_train_saves_the_model_and_the_history(tmp_path: Path) -> None:
    import select
    import signal
    import time

    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "tracegrad", "train", "--dataset", "spiral", "--samples", "3000",
         "--epochs", "100000", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    progress, deadline = b"", time.monotonic() + 120
    while b"epoch 3/" not in progress:  # the progress bar says two epochs are done
        assert time.monotonic() < deadline and process.poll() is None, progress[-500:]
        if select.select([process.stderr], [], [], 1.0)[0]:
            progress += os.read(process.stderr.fileno(), 65536)
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    stderr = (progress + rest).decode(errors="replace")
    assert process.returncode == 130 and "Traceback" not in stderr
    assert "interrupted after" in stderr and "saved the model as it stands" in stderr
    assert nn.load(out / "model.npz").num_parameters() > 0
    assert len(json.loads((out / "history.json").read_text())) >= 2


def test_the_demo_without_graphviz_trains_writes_the_dot_source_and_succeeds(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "PATH": str(tmp_path / "empty")}
    done = _run("demo", "--out", str(tmp_path / "demo"), "--quiet", "--steps", "20", env=env)
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert "install it (apt-get install graphviz" in done.stdout
    assert (tmp_path / "demo" / "decision_boundary.png").exists()
    assert (tmp_path / "demo" / "neuron_graph.dot").read_text().startswith("digraph")
    assert "pictures drawn in" in done.stdout and "SGD steps in" in done.stdout


def test_train_takes_one_recipe_with_the_data_sets_defaults() -> None:
    from tracegrad.recipe import DEFAULTS, Recipe, train

    recipe = Recipe.for_dataset("circles", epochs=3, samples=240, hidden=[8], lr=None)
    assert recipe.lr == DEFAULTS["synthetic"]["lr"]  # None takes the default
    assert recipe.batch_size == DEFAULTS["synthetic"]["batch_size"]
    run = train(recipe, progress=False)
    assert len(run.history) == 3 and run.interrupted_after is None
    assert run.model.sizes == [8, 2] and run.metrics == ["accuracy"]
    assert len(run.X_fit) + len(run.X_val) == len(run.split.X_train) == 192
    assert Recipe.for_dataset("regression", epochs=1).as_dict()["schedule"] == "none"
    with pytest.raises(TypeError, match=r"unknown choices \['epoch'\]"):
        Recipe.for_dataset("circles", epoch=3)
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        train(Recipe.for_dataset("circles", optimizer="rmsprop", epochs=1), progress=False)
    with pytest.raises(ValueError, match="unknown schedule 'linear'"):
        train(Recipe.for_dataset("circles", schedule="linear", epochs=1), progress=False)


# -- the command checks what it is given before it runs ---------------------------------


def _model_file(folder: Path, trained_on: str, **metadata: object) -> Path:
    """A model file as ``train`` writes it for ``trained_on`` (untrained: only its shape
    and its metadata matter here). Metadata that ``save`` refuses is written all the
    same, as a crafted file would hold it."""
    from unittest import mock

    from nn import modelfile
    from tracegrad.recipe import build_model, load_split

    split = load_split(trained_on, samples=40, progress=False)
    path = folder / f"{trained_on}.npz"
    with mock.patch.object(modelfile, "check_header", lambda header: header):
        build_model(split, [4], "relu", 0.0, seed=0).save(
            path, metadata={"dataset": trained_on, "seed": 0, "samples": 40, **metadata}
        )
    return path


def _fits(trained_on: str, evaluated_on: str) -> bool:
    from tracegrad.recipe import load_split

    a, b = (load_split(name, samples=40, progress=False) for name in (trained_on, evaluated_on))
    return a.features == b.features and a.classes == b.classes


def test_evaluate_checks_the_model_against_every_data_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every model on every synthetic set: it runs where its inputs are the set's features
    and its outputs one per class; anywhere else it is one line and status 1, before any
    score (a 3-class model on moons once printed 1.5 % with status 0)."""
    from tracegrad.recipe import DEFAULT_SAMPLES, dataset_names, load_split

    synthetic = [name for name in dataset_names() if "mnist" not in name]
    for trained_on in synthetic:
        path = _model_file(tmp_path, trained_on)
        for evaluated_on in synthetic:
            status = main(["evaluate", str(path), "--dataset", evaluated_on])
            out, err = capsys.readouterr()
            split = load_split(evaluated_on, samples=DEFAULT_SAMPLES, progress=False)
            if _fits(trained_on, evaluated_on):
                assert status == 0 and out.startswith(f"{split.name} test"), (trained_on, err)
            else:
                lines = err.strip().splitlines()
                assert status == 1 and out == "", (trained_on, evaluated_on, out)
                assert len(lines) == 1 and lines[0].startswith("tracegrad: error: evaluate: ")


def test_the_wrong_data_set_is_one_line_as_a_user_runs_it(tmp_path: Path) -> None:
    two, three = _model_file(tmp_path, "moons"), _model_file(tmp_path, "spiral")
    line = _one_line_error(_run("evaluate", str(two), "--dataset", "spiral"), 1)
    assert "the model gives 2 outputs but spiral has 3 classes" in line
    line = _one_line_error(_run("evaluate", str(three), "--dataset", "moons"), 1)
    assert "the model gives 3 outputs but moons has 2 classes" in line
    one = tmp_path / "one-output.npz"  # a count of one reads in the singular
    nn.MLP(2, [4, 1], rng=0).save(one, metadata={"dataset": "moons", "seed": 0, "samples": 40})
    line = _one_line_error(_run("evaluate", str(one)), 1)
    assert "the model gives 1 output but moons has 2 classes" in line
    line = _one_line_error(
        _run("export", str(two), str(tmp_path / "m.onnx"), "--input-shape", "28,28"), 1
    )
    assert line == (
        "tracegrad: error: --input-shape 28,28: the model takes 2 features, and a sample of "
        "that shape holds 784 values: give sizes that multiply to 2, such as 2"
    )


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_samples_for_an_image_set_is_refused_not_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dataset: str
) -> None:
    """An image set has one size: --samples, or a size in a model file's metadata, would
    be ignored, and the run would train or score on all of it without a word."""
    wanted = f"--samples 100: {dataset} is an image set of one size"
    for command in (["train", "--out", str(tmp_path / "run")], ["evaluate", "m.npz"]):
        with pytest.raises(SystemExit) as caught:
            main([*command, "--dataset", dataset, "--samples", "100"])
        assert caught.value.code == 2 and wanted in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    path = tmp_path / "m.npz"
    nn.MLP(784, [10], rng=0).save(path, metadata={"dataset": dataset, "samples": 100})
    assert main(["evaluate", str(path)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"tracegrad: error: evaluate: the model's metadata says samples 100, but {dataset} "
        "is an image set of one size (--samples sizes a synthetic set)"
    )
    nn.MLP(784, [10], rng=0).save(path, metadata={"dataset": dataset})
    assert main(["evaluate", str(path), "--samples", "100"]) == 1
    assert wanted in capsys.readouterr().err


def test_a_model_of_one_output_per_batch_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A regression model whose output is flattened to one number per sample, shape (n,),
    gives 1 output by its width but not one row per sample, which the loss needs."""
    from tracegrad.recipe import load_split

    features = load_split("regression", samples=40, progress=False).features
    path = tmp_path / "flat.npz"
    model = nn.Sequential(nn.Linear(features, 1, rng=0), nn.Flatten(0))
    model.save(path, metadata={"dataset": "regression", "seed": 0, "samples": 40})
    assert main(["evaluate", str(path)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "tracegrad: error: evaluate: the model gives an output of shape (1,) for 1 sample, "
        "where the loss needs one row per sample: shape (1, 1)"
    ]


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"dataset": "moonz"}, "metadata.dataset"),
        ({"dataset": 7}, "metadata.dataset"),
        ({"seed": "abc"}, "metadata.seed"),
        ({"seed": -3}, "metadata.seed"),
        ({"seed": 1.5}, "metadata.seed"),
        ({"samples": 5}, "metadata.samples"),
        ({"samples": "many"}, "metadata.samples"),
        ({"samples": 10**12}, "metadata.samples"),
    ],
)
def test_a_model_files_metadata_is_checked_before_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], metadata: dict[str, object], message: str
) -> None:
    path = _model_file(tmp_path, "moons", **metadata)
    assert main(["evaluate", str(path)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tracegrad: error: "), lines
    assert message in lines[0], lines


def test_a_crafted_metadata_field_is_one_line_as_a_user_runs_it(tmp_path: Path) -> None:
    path = _model_file(tmp_path, "moons", seed="abc")
    assert "metadata.seed" in _one_line_error(_run("evaluate", str(path)), 1)


def test_train_checks_out_before_training(tmp_path: Path) -> None:
    """Each mistake in --out is refused at once: a run of 100,000 epochs would otherwise
    train first and fail at the end."""
    (tmp_path / "a-file").write_text("")
    (tmp_path / "run" / "model.npz").mkdir(parents=True)
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "history.json").write_text("[]")
    (tmp_path / "locked" / "history.json").chmod(0o444)
    cases = {
        "a-file": "it is a file, not a folder: --out names the folder to write the files into",
        "a-file/sub": f"{tmp_path / 'a-file'} is a file, so no folder can be made in it: name "
        "another --out",
        "run": f"{tmp_path / 'run' / 'model.npz'} is a folder, where a file is to be written: "
        "remove it or write elsewhere",
        "locked": "history.json is read-only; make it writable (chmod u+w) or write elsewhere",
    }
    for out, message in cases.items():  # 100000 epochs: checked after training, it would hang
        done = _run("train", "--dataset", "spiral", "--samples", "3000", "--epochs", "100000",
                    "--quiet", "--out", str(tmp_path / out))  # fmt: skip
        assert message in _one_line_error(done, 1), out
    assert not (tmp_path / "a-file").is_dir()


def test_a_file_where_a_folder_belongs_says_what_to_do(tmp_path: Path) -> None:
    """demo and export check where they write before they work, as train does, and say
    what to type instead (the machine's own words were "File exists")."""
    (tmp_path / "README.md").write_text("# a file\n")
    readme = tmp_path / "README.md"
    line = _one_line_error(_run("demo", "--quiet", "--steps", "100000", "--out", str(readme)), 1)
    assert f"--out {readme}: it is a file, not a folder: --out names the folder" in line
    line = _one_line_error(_run("demo", "--quiet", "--out", str(readme / "sub")), 1)
    assert f"{readme} is a file, so no folder can be made in it: name another --out" in line
    model = _model_file(tmp_path, "moons")
    line = _one_line_error(_run("export", str(model), str(readme / "m.onnx")), 1)
    assert line.endswith(
        f"{readme} is a file, so no folder can be made in it: write m.onnx elsewhere"
    )
    line = _one_line_error(_run("export", str(model), str(tmp_path)), 1)
    assert (
        f"{tmp_path} is a folder: name the .onnx file to write, such as {tmp_path}/model.onnx"
        in line
    )


def test_out_is_made_with_its_parents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "new" / "deeper"
    args = ["train", "--dataset", "xor", "--samples", "40", "--epochs", "1", "--quiet"]
    assert main([*args, "--out", str(out)]) == 0
    assert (out / "model.npz").is_file()


#: Values a user might mistype into an option, or a path.
_TYPED = ["", " ", "0", "-1", "1", "3", "x", "1.5", "-0.5", "nan", "inf", "1e400", "4,x",
          "0,4", "4,,4", "99999999999999999999", "--quiet", "relu", "moons", "/", "a-file",
          "a-file/sub", "missing.npz", "README.md", "🙂"]  # fmt: skip

#: Each command, a run that works (small and quick), and the options it takes.
_COMMANDS = {
    "train": ["train", "--dataset", "xor", "--samples", "40", "--epochs", "1", "--hidden", "4",
              "--quiet", "--out", "run"],
    "evaluate": ["evaluate", "xor.npz"],
    "export": ["export", "xor.npz", "xor.onnx"],
}  # fmt: skip
_OPTIONS = [
    ("train", option)
    for option in ["--dataset", "--hidden", "--activation", "--dropout", "--optimizer", "--lr",
                   "--schedule", "--epochs", "--batch-size", "--samples", "--data-root",
                   "--threads", "--seed", "--out"]
] + [("evaluate", option) for option in ["--dataset", "--seed", "--samples", "--data-root", 1]] + [
    ("export", option) for option in ["--input-shape", 1, 2]
]  # fmt: skip


def _check_typed(command: str, option: str | int, value: str) -> None:
    """Run ``command`` with ``value`` in ``option`` (or in place of a positional path), in
    the process, the pictures left out (the other tests draw them): it works, or says
    what is wrong on one line with status 2 (usage) or 1 (the run failed)."""
    import contextlib
    import io

    import tracegrad.cli

    argv = list(_COMMANDS[command])
    if isinstance(option, int):
        argv[option] = value
    elif option in argv:
        argv[argv.index(option) + 1] = value
    else:
        argv += [option, value]
    if value in ("moons", "xor") or (value.startswith("-") and isinstance(option, int)):
        return  # a valid data set, or an option where a path belongs: argparse's own rule
    if option == "--epochs" and value.strip().isdigit() and int(value) > 20:
        return  # valid, and long: a user may train for many epochs
    with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
        Path("a-file").write_text("")
        Path("README.md").write_text("# not a model\n")
        _model_file(Path(folder), "xor")
        errors = io.StringIO()
        original = tracegrad.cli._save_pictures
        tracegrad.cli._save_pictures = lambda *args: None
        try:
            with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
                status = main(argv)
        except SystemExit as exit:
            status = int(exit.code or 0)
        finally:
            tracegrad.cli._save_pictures = original
    lines = errors.getvalue().strip().splitlines()
    assert status in (0, 1, 2), (argv, status, lines)
    if status:
        assert len(lines) == 1 and lines[0].startswith("tracegrad: error: "), (argv, lines)


@pytest.mark.parametrize(("command", "option"), _OPTIONS)
def test_every_mistyped_value_is_one_line_and_status_1_or_2(
    command: str, option: str | int
) -> None:
    """Each value of ``_TYPED`` in each option: never a traceback."""
    for value in _TYPED:
        _check_typed(command, option, value)


@settings(max_examples=12)
@given(value=st.text(max_size=4))
@pytest.mark.parametrize(("command", "option"), _OPTIONS)
def test_a_drawn_value_is_one_line_and_status_1_or_2(
    command: str, option: str | int, value: str
) -> None:
    """Any short text (control characters, line breaks, other scripts) in each option."""
    _check_typed(command, option, value)
