"""Download a file from a list of mirrors, check its MD5, and write it atomically.

The bytes stream into a temporary file beside the target while their MD5 is computed
(``tracegrad.files.atomic_file``); only a file whose MD5 matches the published one is
renamed into place, so a failed or corrupted download leaves nothing half-written.
Mirrors are tried in order.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tracegrad.files import atomic_file
from tracegrad.words import counted

from .idx import DatasetError

CHUNK = 1 << 16
TIMEOUT_SECONDS = 30


def md5_of(path: str | os.PathLike[str]) -> str:
    """The MD5 of a file's bytes, as hex."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(url: str, target: Path, md5: str, progress: bool) -> None:
    """Stream ``url`` into ``target``, atomically, if the bytes have the published MD5."""
    from tqdm import tqdm

    with (
        atomic_file(target) as file,
        urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response,
    ):
        digest = hashlib.md5(usedforsecurity=False)
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        with tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            desc=target.name,
            disable=not progress,
            leave=False,
        ) as bar:
            received = 0
            for chunk in iter(lambda: response.read(CHUNK), b""):
                file.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
        if total is not None and received != total:  # raised inside: nothing lands
            raise DatasetError(f"received {received} of {counted(total, 'byte')}")
        if digest.hexdigest() != md5:
            raise DatasetError(f"MD5 {digest.hexdigest()} is not the published {md5}")


class DownloadError(DatasetError):
    """No mirror served a file with the published MD5; ``reason`` says why in a few words
    (each mirror's own reason is in the message)."""

    def __init__(self, name: str, failures: Sequence[tuple[str, str]]) -> None:
        super().__init__(
            f"could not download {name}; tried:\n  "
            + "\n  ".join(f"{url}: {why}" for url, why in failures)
        )
        reasons = list(dict.fromkeys(why for _, why in failures))
        if len(reasons) == 1:  # the usual case: no network, the same reason for each mirror
            tried = counted(len(failures), "mirror")
            self.reason = f"{reasons[0]} ({tried} tried)" if len(failures) > 1 else reasons[0]
        else:
            self.reason = "; ".join(f"{url}: {why}" for url, why in failures)


def _why(error: BaseException) -> str:
    """What went wrong, in the fewest words that say it: a name that does not resolve
    is "Name or service not known", not the URL error that wraps it."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        reason = error.reason
        if isinstance(reason, OSError) and reason.strerror:
            return reason.strerror
        return str(reason)
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return " ".join(str(error).split()) or type(error).__name__


def download(
    name: str,
    target_dir: str | os.PathLike[str],
    mirrors: Sequence[str],
    md5: str,
    *,
    progress: bool = True,
) -> Path:
    """Download ``name`` from the first mirror that serves it with the right MD5.

    The folders made for it are removed again when every mirror fails: an empty folder
    left behind would change where the files are looked for next time (a data root named
    ``mnist`` is MNIST's own folder only while it holds no ``mnist/``).
    """
    target_dir = Path(target_dir)
    made = [folder for folder in (target_dir, *target_dir.parents) if not folder.exists()]
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / name
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        try:
            _fetch(url, target, md5, progress)
            return target
        except (OSError, http.client.HTTPException, DatasetError, ValueError) as error:
            failures.append((url, _why(error)))
    for folder in made:  # innermost first
        try:
            folder.rmdir()
        except OSError:
            break  # not empty (another writer's file), or not ours to remove
    raise DownloadError(name, failures)
