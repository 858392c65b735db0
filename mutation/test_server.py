"""A test runner that keeps numpy, hypothesis and pytest imported: one fork per mutant.

    python -m mutation.test_server SOCKET     (run.py starts one in each scratch copy)

Starting Python and importing numpy, hypothesis and pytest costs about a second, more
than most mutants' tests take to fail. This server pays it once: for each request (the
arguments of one pytest run, from ``tests_for_mutant``) it forks, the child runs pytest
on them and exits with pytest's code, and the server answers with that code. The server
never imports the code under test, so each child imports the mutated file afresh. A
child still running after ``TIMEOUT_SECONDS`` is stopped: a hang counts as killed. A
client that is gone when its answer is ready (cosmic-ray stopped it at its own timeout,
which on a loaded machine can come first) is skipped, and the server goes on.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import socket
import sys

TIMEOUT_SECONDS = 300

#: Imported once by the server, so that no child pays for them. Not the code under test.
PRELOADED = ("numpy", "hypothesis", "hypothesis.strategies", "pytest")


def run_in_child(arguments: list[str]) -> int:
    """pytest's exit code for ``arguments``, run in a forked child of this process."""
    child = os.fork()
    if child == 0:
        signal.alarm(TIMEOUT_SECONDS)
        code = 1
        try:
            code = int(importlib.import_module("pytest").main(arguments))
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 1  # killed by a signal (the alarm): the mutant hung


def serve(address: str) -> None:
    """Answer requests on the Unix socket ``address`` until one says ``"stop"``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(address)
        listener.listen()
        while True:
            connection, _ = listener.accept()
            with connection:
                request = json.loads(receive_all(connection))
                if request == "stop":
                    connection.sendall(b"0")
                    return
                code = run_in_child(request)
                # the client may be gone: cosmic-ray's own timeout stopped it (and counted
                # the mutant as killed); serve the next one
                with contextlib.suppress(OSError):
                    connection.sendall(str(code).encode())


def receive_all(connection: socket.socket) -> bytes:
    """Everything the client sends before it shuts its side down."""
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def ask(address: str, request: object) -> int:
    """Send ``request`` to the server at ``address``; its answer (an exit code)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(address)
        connection.sendall(json.dumps(request).encode())
        connection.shutdown(socket.SHUT_WR)
        answer = receive_all(connection)
    if not answer:
        raise ConnectionError(f"the test server at {address} gave no answer")
    return int(answer)


if __name__ == "__main__":
    for module in PRELOADED:
        importlib.import_module(module)
    serve(sys.argv[1])
