"""Write files so that a reader never sees half of one: a temporary file, then a rename.

``atomic_file(path)`` gives a file to write to; its bytes reach ``path`` only when the
block ends without an error (a download checks its checksum inside the block, so a bad
one never lands). ``write_atomically(path, content)`` writes bytes in one call.

- A path that is a symbolic link is written through: the link's target is replaced and
  the link stays a link.
- A file without write permission is refused (``PermissionError``), never replaced, even
  for root; a file that is replaced keeps its permission bits.
- The temporary file's name carries the writer's process id. A writer killed before its
  rename (``kill -9``) leaves one behind; the next write to the same path removes every
  such leftover whose process is gone, so they never pile up.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: str | os.PathLike[str], content: bytes) -> None:
    """Write ``content`` to ``path`` so that a reader never sees a half-written file."""
    with atomic_file(path) as file:
        file.write(content)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content into, replacing ``path`` at the end.

    The bytes go to a temporary file in the same folder, which is flushed to disk and
    renamed over ``path`` when the block ends (a rename within one file system is
    atomic). If the block raises, the temporary file is removed and ``path`` is left as
    it was.
    """
    target = Path(os.path.realpath(path))  # through symbolic links, to the file they name
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o644
    if target.exists():
        if target.is_dir():
            raise IsADirectoryError(f"{os.fspath(path)} is a folder, not a file")
        existing = stat.S_IMODE(target.stat().st_mode)
        if not existing & stat.S_IWUSR:
            raise PermissionError(
                f"{os.fspath(path)} is read-only; make it writable (chmod u+w) or write elsewhere"
            )
        mode = existing
    remove_leftovers(target)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f"{_leftover_prefix(target)}{os.getpid()}.", suffix=".tmp"
    )
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _leftover_prefix(target: Path) -> str:
    return f".{target.name}."


def remove_leftovers(target: Path) -> list[Path]:
    """Remove the temporary files of earlier writes to ``target`` whose writer is gone."""
    removed: list[Path] = []
    prefix = _leftover_prefix(target)
    try:
        candidates = list(target.parent.glob(f"{glob_escape(prefix)}*.tmp"))
    except OSError:
        return removed
    for candidate in candidates:
        pid_text = candidate.name[len(prefix) :].split(".", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        try:
            candidate.unlink()
            removed.append(candidate)
        except OSError:
            pass  # another writer removed it first, or we may not: leave it
    return removed


def glob_escape(text: str) -> str:
    """``text`` with glob's special characters taken literally."""
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True
