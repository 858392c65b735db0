"""MNIST and Fashion-MNIST: the real files, and downloads from a server on 127.0.0.1.

The real data is at $TRACEGRAD_DATA (``make test`` and CI point it at ../shared/data).
Without it a user's run skips these tests and says why; in CI (CI=true) that is a failure.
"""

from __future__ import annotations

import gzip
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pytest

import nn
from nn.datasets import FASHION_MNIST, MNIST, DatasetError
from nn.datasets.download import md5_of
from nn.datasets.idx import read_idx


@pytest.fixture(scope="module")
def data_root() -> Path:
    root = os.environ.get("TRACEGRAD_DATA")
    if root and (Path(root) / "mnist").is_dir():
        return Path(root)
    reason = "the real MNIST files are not here: set TRACEGRAD_DATA to the folder that holds mnist/"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves files; under /truncated/ it promises the whole file and sends half."""

    requests: list[str]

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.path.startswith("/truncated/"):
            path = Path(self.directory) / "good" / self.path.split("/", 2)[2]
            data = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path: Path, data_root: Path) -> Iterator[tuple[str, list[str]]]:
    """A server on 127.0.0.1: /good/ has the real files, /wrong/ the same with a byte changed."""
    served = tmp_path / "served"
    (served / "good").mkdir(parents=True)
    (served / "wrong").mkdir()
    for file_name, _ in MNIST.files.values():
        source = data_root / "mnist" / file_name
        os.symlink(source, served / "good" / file_name)
        broken = bytearray(source.read_bytes())
        broken[-1] ^= 0xFF
        (served / "wrong" / file_name).write_bytes(bytes(broken))
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(handler, directory=str(served))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_real_mnist(data_root: Path) -> None:
    X, y, X_test, y_test = nn.datasets.mnist(data_root)
    assert X.shape == (60_000, 784) and X_test.shape == (10_000, 784)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # MNIST's first training labels
    assert sorted(np.unique(y_test).tolist()) == list(range(10))
    images = nn.datasets.mnist(data_root / "mnist", flatten=False)[0]  # its own folder too
    assert images.shape == (60_000, 28, 28)
    np.testing.assert_array_equal(images.reshape(60_000, -1), X)


def test_the_real_fashion_mnist_and_the_environment_variable(
    data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACEGRAD_DATA", str(data_root))
    X, y, _, y_test = nn.datasets.fashion_mnist()
    assert X.shape == (60_000, 784) and len(y_test) == 10_000
    assert len(nn.datasets.FASHION_CLASSES) == 10 == len(np.unique(y))


def test_the_shared_files_have_the_published_checksums(data_root: Path) -> None:
    for spec in (MNIST, FASHION_MNIST):
        for file_name, md5 in spec.files.values():
            assert md5_of(data_root / spec.name / file_name) == md5, file_name


def test_a_download_is_checked_written_once_and_not_repeated(
    tmp_path: Path, server: tuple[str, list[str]], data_root: Path
) -> None:
    url, requests = server
    root = tmp_path / "cache"
    first = nn.datasets.mnist(root, mirrors=[f"{url}/good/"], progress=False)
    assert len(requests) == 4
    for file_name, md5 in MNIST.files.values():
        assert md5_of(root / "mnist" / file_name) == md5
    np.testing.assert_array_equal(first[3], nn.datasets.mnist(data_root)[3])
    nn.datasets.mnist(root, mirrors=[f"{url}/good/"], progress=False)
    assert len(requests) == 4  # the second load finds the files


def test_a_wrong_checksum_falls_back_to_the_next_mirror(
    tmp_path: Path, server: tuple[str, list[str]]
) -> None:
    url, requests = server
    root = tmp_path / "cache"
    nn.datasets.mnist(root, mirrors=[f"{url}/wrong/", f"{url}/good/"], progress=False)
    assert sum(path.startswith("/wrong/") for path in requests) == 4
    files = sorted(p.name for p in (root / "mnist").iterdir())
    assert files == sorted(f for f, _ in MNIST.files.values())


def test_failed_downloads_leave_nothing_half_written(
    tmp_path: Path, server: tuple[str, list[str]]
) -> None:
    url, _ = server
    root = tmp_path / "cache"
    with pytest.raises(DatasetError) as caught:
        nn.datasets.mnist(
            root,
            mirrors=[f"{url}/wrong/", f"{url}/truncated/", "http://127.0.0.1:9/"],
            progress=False,
        )
    message = str(caught.value)
    assert message.startswith(
        f"mnist: train-images-idx3-ubyte.gz is not in {root / 'mnist'} (mnist/ in the data "
        f"root {root}), and downloading it failed: "
    )
    assert "is not the published" in message  # the wrong checksum
    assert "/truncated/" in message and "127.0.0.1:9" in message and "\n" not in message
    assert not root.exists()  # no partial file, no temporary, not even the folders made


def test_one_convention_for_the_data_root(
    tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``root``, $TRACEGRAD_DATA and the cache each hold ``mnist/``; a folder named after
    the set is its own; loose files under another name are refused, with where to put
    them; each error names the folder searched, for what, and where it came from."""
    loose = tmp_path / "downloads"
    loose.mkdir()
    for file_name, _ in MNIST.files.values():
        os.symlink(data_root / "mnist" / file_name, loose / file_name)
    with pytest.raises(DatasetError) as caught:
        nn.datasets.mnist(loose, download=False)
    assert str(caught.value) == (
        f"mnist: {loose} holds train-images-idx3-ubyte.gz itself (the data root {loose}), which "
        "could be either image set's file: a data root holds one folder per set, so move the "
        f"files into {loose / 'mnist'}"
    )
    own = tmp_path / "mnist"
    loose.rename(own)  # now its name says which set it holds
    assert nn.datasets.data_folder("mnist", own) == own
    assert nn.datasets.mnist(own, download=False)[3].shape == (10_000,)
    monkeypatch.setenv("TRACEGRAD_DATA", str(own))
    with pytest.raises(DatasetError) as caught:
        nn.datasets.fashion_mnist(download=False)
    assert str(caught.value) == (
        f"fashion-mnist: {own} is mnist's folder, with no fashion-mnist/ in it "
        f"(TRACEGRAD_DATA={own}); a data root is the folder that holds mnist/ and fashion-mnist/"
    )
    monkeypatch.setenv("TRACEGRAD_DATA", str(tmp_path / "shared"))
    assert nn.datasets.data_folder("mnist") == tmp_path / "shared" / "mnist"
    with pytest.raises(DatasetError) as caught:
        nn.datasets.mnist(download=False)
    assert str(caught.value) == (
        f"mnist: train-images-idx3-ubyte.gz is not in {tmp_path / 'shared' / 'mnist'} (mnist/ "
        f"in TRACEGRAD_DATA={tmp_path / 'shared'}), and download=False"
    )
    monkeypatch.delenv("TRACEGRAD_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    cache = tmp_path / "home" / ".cache" / "tracegrad"
    assert nn.datasets.data_folder("fashion-mnist") == cache / "fashion-mnist"


def test_missing_files_without_download(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte\.gz is not in"):
        nn.datasets.mnist(tmp_path, download=False)


def test_uncompressed_files_are_read_too(tmp_path: Path, data_root: Path) -> None:
    _uncompressed_copy(data_root, tmp_path)
    X, _, _, y_test = nn.datasets.mnist(tmp_path, download=False)
    assert X.shape == (60_000, 784) and y_test.shape == (10_000,)


def test_corrupt_and_truncated_files_are_reported_by_name(tmp_path: Path, data_root: Path) -> None:
    labels = data_root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    raw = gzip.decompress(labels.read_bytes())
    cut = tmp_path / "cut-labels-idx1-ubyte"
    cut.write_bytes(raw[:-10])
    with pytest.raises(
        DatasetError,
        match=r"cut-labels-idx1-ubyte: truncated: the header "
        r"promises \(10000,\)",
    ):
        read_idx(cut, expected_ndim=1)
    with pytest.raises(DatasetError, match="bad magic number 0x00000801; expected 0x00000803"):
        read_idx(labels, expected_ndim=3)
    broken_gz = tmp_path / "broken.gz"
    broken_gz.write_bytes(labels.read_bytes()[:-100])
    with pytest.raises(DatasetError, match=r"broken\.gz: cannot be read or decompressed"):
        read_idx(broken_gz, expected_ndim=1)
    empty = tmp_path / "empty"
    empty.write_bytes(b"\x00\x00")
    with pytest.raises(DatasetError, match="too short"):
        read_idx(empty, expected_ndim=1)


def test_a_cached_file_with_the_wrong_checksum_is_refused(tmp_path: Path, data_root: Path) -> None:
    folder = tmp_path / "mnist"
    folder.mkdir()
    for file_name, _ in MNIST.files.values():
        shutil.copy(data_root / "mnist" / file_name, folder / file_name)
    shutil.copy(
        data_root / "mnist" / "t10k-labels-idx1-ubyte.gz", folder / "train-labels-idx1-ubyte.gz"
    )
    with pytest.raises(
        DatasetError,
        match=r"train-labels-idx1-ubyte\.gz: its MD5 is ec29112dd5afa0611ce80d1b7f02629c, not "
        r"the published d53e105ee54ea40749a09fcbcd1e9432 .* delete it",
    ):
        nn.datasets.mnist(tmp_path, download=False)


def _uncompressed_copy(data_root: Path, root: Path) -> dict[str, bytes]:
    """MNIST's files, uncompressed, in ``root``/mnist."""
    folder = root / "mnist"
    folder.mkdir()
    raw = {}
    for file_name, _ in MNIST.files.values():
        raw[file_name] = gzip.decompress((data_root / "mnist" / file_name).read_bytes())
        (folder / file_name.removesuffix(".gz")).write_bytes(raw[file_name])
    return raw


def test_a_cached_file_with_a_label_out_of_range_is_refused(
    tmp_path: Path, data_root: Path
) -> None:
    raw = _uncompressed_copy(data_root, tmp_path)
    labels = bytearray(raw["train-labels-idx1-ubyte.gz"])
    labels[8 + 123] = 200  # one label of 200 would have made a 201-class model
    (tmp_path / "mnist" / "train-labels-idx1-ubyte").write_bytes(bytes(labels))
    with pytest.raises(
        DatasetError,
        match=r"train-labels-idx1-ubyte: holds labels up to 200, but mnist has 10 classes",
    ):
        nn.datasets.mnist(tmp_path, download=False)


def test_cached_files_with_other_counts_or_sizes_are_refused(
    tmp_path: Path, data_root: Path
) -> None:
    raw = _uncompressed_copy(data_root, tmp_path)
    folder = tmp_path / "mnist"
    (folder / "train-labels-idx1-ubyte").write_bytes(raw["t10k-labels-idx1-ubyte.gz"])
    with pytest.raises(
        DatasetError, match=r"60000 images but train-labels-idx1-ubyte has 10000 labels"
    ):
        nn.datasets.mnist(tmp_path, download=False)
    (folder / "train-labels-idx1-ubyte").write_bytes(raw["train-labels-idx1-ubyte.gz"])
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (folder / name).write_bytes(raw[f"{name.replace('train', 't10k')}.gz"])
    with pytest.raises(
        DatasetError, match=r"train-images-idx3-ubyte: holds images of shape \(10000, 28, 28\)"
    ):
        nn.datasets.mnist(tmp_path, download=False)
    images = raw["train-images-idx3-ubyte.gz"]
    (folder / "train-labels-idx1-ubyte").write_bytes(raw["train-labels-idx1-ubyte.gz"])
    header = bytearray(images[:16])
    header[8:16] = (14).to_bytes(4, "big") + (56).to_bytes(4, "big")  # 14 × 56: same bytes
    (folder / "train-images-idx3-ubyte").write_bytes(bytes(header) + images[16:])
    with pytest.raises(DatasetError, match=r"shape \(60000, 14, 56\)"):
        nn.datasets.mnist(tmp_path, download=False)


def test_train_and_evaluate_mnist_from_the_command_line(
    data_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tracegrad.cli import main

    monkeypatch.setenv("TRACEGRAD_DATA", str(data_root))
    out = tmp_path / "mnist"
    assert (
        main(
            [
                "train",
                "--dataset",
                "mnist",
                "--hidden",
                "64",
                "--epochs",
                "1",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    test_line = next(line for line in printed.splitlines() if line.startswith("test accuracy"))
    assert float(test_line.split()[2].rstrip("%")) > 90.0 and "wall time" in printed
    assert (out / "mistakes.png").exists() and nn.load(out / "model.npz").num_parameters() > 0
    assert main(["evaluate", str(out / "model.npz")]) == 0
    assert test_line.split(" ", 1)[1] in capsys.readouterr().out
