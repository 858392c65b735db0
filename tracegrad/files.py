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
  such leftover whose process is gone, so they never pile up. On Windows, where a
  process cannot be asked whether it is alive without signalling it, a leftover is
  removed once it has not been written to for ``STALE_AFTER_SECONDS`` (see ``_stale``).

It runs wherever Python does: where ``os.fchmod`` is missing (Windows before Python
3.13) the temporary file's mode is set through its path instead.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

#: Where a leftover's writer cannot be looked up (Windows), how long a leftover must have
#: gone unwritten before it counts as abandoned: far longer than this library's writers
#: pause between one write and the next (a download's reads time out much sooner).
STALE_AFTER_SECONDS = 60 * 60


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for reading in binary, if it is a regular file; else an OSError.

    A FIFO (named pipe) would make a plain ``open`` wait for a writer forever, and a
    device (``/dev/zero``, a terminal) would read without end or wait for input; a
    folder is no file either. So the path is opened without waiting (``O_NONBLOCK``,
    which changes nothing for a regular file) and the file then opened is asked what it
    is (``fstat``): asking the path first would leave a moment in which it could be
    swapped for a FIFO.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    handle = os.open(path, flags)
    try:
        mode = os.fstat(handle).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", os.fspath(path))
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"{_file_kind(mode)}, not a regular file", os.fspath(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(handle, True)
        return open(handle, "rb")  # takes the descriptor over: closing the file closes it
    except BaseException:
        os.close(handle)
        raise


def _file_kind(mode: int) -> str:
    """What a file that is not a regular one is, in words."""
    kinds = [
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((name for test, name in kinds if test(mode)), "a special file")


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
    try:
        info: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as error:
        if error.errno != errno.ELOOP:
            info = None  # a file where a folder goes: making the folder says so, below
        else:  # a loop of symbolic links: a rename would replace the link
            raise OSError(
                error.errno, f"it cannot be written ({error.strerror})", os.fspath(path)
            ) from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(f"{os.fspath(path)} is a folder, not a file")
        # Renamed over, a FIFO or a device (/dev/null) would be replaced by a plain file.
        raise OSError(
            errno.EINVAL,
            f"{_file_kind(info.st_mode)}, not a regular file: write to a file",
            os.fspath(path),
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o644
    if info is not None:
        existing = stat.S_IMODE(info.st_mode)
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
        _set_mode(handle, temporary, mode)
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _set_mode(handle: int, temporary: str, mode: int) -> None:
    """Give the new temporary file ``mode`` (``mkstemp`` makes it private to its owner).

    Through the open file where the platform can (``os.fchmod``); Windows before Python
    3.13 has no ``fchmod``, so there it goes through the path, which ``mkstemp`` has just
    created in the target's own folder. On Windows a mode only sets or clears the
    read-only flag, and ``mode`` always lets its owner write.
    """
    if hasattr(os, "fchmod"):
        os.fchmod(handle, mode)
    else:
        os.chmod(temporary, mode)


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
        if not pid_text.isdigit() or not _stale(candidate, int(pid_text)):
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


def _stale(leftover: Path, pid: int) -> bool:
    """Whether ``leftover``, a temporary file made by process ``pid``, was abandoned.

    Where processes can be probed (POSIX), it is abandoned when its writer is gone:
    ``os.kill(pid, 0)`` asks the kernel without sending anything.

    On Windows ``os.kill(pid, 0)`` is no probe: signal 0 is ``CTRL_C_EVENT`` there, so the
    call sends Ctrl-C to a console (reported to reach every process sharing it, this one
    included) or fails with an ``OSError`` for an id that names no console group; it
    never says whether the process exists. A probe through the Windows API
    (``OpenProcess``) would answer, but could not be tested off Windows, and Windows soon
    reuses process ids, so it could still take another program for the writer. So there
    (and wherever ``os.kill`` is missing) a leftover counts as abandoned once it has gone
    unwritten for ``STALE_AFTER_SECONDS``: this library's writers (model files, pictures,
    downloads) write from start to rename without such a pause. A writer that does pause
    longer still holds its file open, and Windows refuses to delete a file that another
    process holds open (Python opens files without ``FILE_SHARE_DELETE``), so
    ``remove_leftovers`` leaves it in place.
    """
    if pid == os.getpid():
        return False  # ours: another write in this process, still under way
    if sys.platform == "win32" or not hasattr(os, "kill"):
        try:
            written = leftover.stat().st_mtime
        except OSError:
            return False  # gone already, or not ours to look at
        return time.time() - written > STALE_AFTER_SECONDS
    return not _alive(pid)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (POSIX only: see ``_stale``)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True
