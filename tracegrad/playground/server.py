"""The playground's web server: the standard library's ``http.server``, one thread per
connection, bound to 127.0.0.1 only.

Routes:

- ``GET /`` and ``GET /static/NAME``: the page, from the package's ``static`` folder;
- ``GET /api/stream``: a new session, and its updates as server-sent events for as long
  as the tab keeps the connection (see ``session.py``);
- ``POST /api/sessions/ID``: a command for that session, as JSON ``{"action": ...}``.

The standard library suffices: server-sent events are plain HTTP, the commands are small
JSON posts, and the work is the training, not the serving. It is local only three ways:
the socket listens on 127.0.0.1 (nothing else on the network can reach it), a request
from any other address is refused anyway, and so is one whose Host header names another
site (a web page elsewhere cannot rebind a name of its own to this machine and drive the
server through the browser). Commands must be JSON, which a page elsewhere cannot post
without the browser asking this server first.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from .session import Session
from .settings import Settings, SettingsError

HOST = "127.0.0.1"
#: At most this many tabs train at once; the 2 cores they share would not keep more live.
MAX_SESSIONS = 8
#: The largest command body accepted (the settings form is well under a kilobyte).
MAX_BODY = 64 * 1024
ACTIONS = ("play", "pause", "step", "reset", "settings", "gradients", "neuron")

STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


def static_files() -> dict[str, bytes]:
    """The page's files, read once from the package (they ship in the wheel)."""
    folder = resources.files(__package__) / "static"
    files = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in STATIC_TYPES:
            files[entry.name] = entry.read_bytes()
    return files


class Playground:
    """The sessions of one server, and the event that stops them all."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.files = static_files()

    def open_session(self) -> Session | None:
        """A new session with the default settings; None when too many are open."""
        with self.lock:
            if len(self.sessions) >= MAX_SESSIONS:
                return None
            session = Session(secrets.token_urlsafe(12), Settings())
            self.sessions[session.id] = session
            return session

    def close_session(self, session: Session) -> None:
        session.closed.set()
        with self.lock:
            self.sessions.pop(session.id, None)

    def find(self, session_id: str) -> Session | None:
        with self.lock:
            return self.sessions.get(session_id)

    def stop(self) -> None:
        """Stop every session: each stream's loop ends within one pass."""
        self.stopping.set()
        with self.lock:
            for session in self.sessions.values():
                session.closed.set()


class PlaygroundServer(ThreadingHTTPServer):
    """A threading HTTP server whose handler threads are joined when it closes, so that
    Ctrl-C ends every session's training before the process exits."""

    daemon_threads = False
    allow_reuse_address = False  # a port in use by another program is an error, not shared

    def __init__(self, port: int, playground: Playground) -> None:
        self.playground = playground
        super().__init__((HOST, port), Handler)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"


def is_local(address: str) -> bool:
    """Whether a client address is this machine's loopback (127.0.0.0/8 or ::1)."""
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def host_allowed(host: str | None, port: int) -> bool:
    """Whether the Host header names this server by a local name: the address it is bound
    to, or localhost, with its port."""
    if not host:
        return False
    return host.lower() in (f"{HOST}:{port}", f"localhost:{port}")


class Handler(BaseHTTPRequestHandler):
    """Serves the page, the streams and the commands; every answer to the API is JSON."""

    server: PlaygroundServer
    server_version = "tracegrad-playground"
    #: A client that sends nothing for this long is dropped (a thread is not held forever).
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a request per update would bury the address line and any real error."""

    # -- the checks every request passes ------------------------------------------------

    def _allowed(self) -> bool:
        if not is_local(self.client_address[0]):
            self._json(HTTPStatus.FORBIDDEN, {"error": "the playground serves this machine only"})
            return False
        if not host_allowed(self.headers.get("Host"), self.server.server_address[1]):
            self._json(
                HTTPStatus.FORBIDDEN,
                {"error": f"the playground answers to {self.server.url} only"},
            )
            return False
        return True

    def _json(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    # -- GET: the page and the streams --------------------------------------------------

    def do_GET(self) -> None:
        if not self._allowed():
            return
        path = self.path.split("?", 1)[0]
        if path == "/api/stream":
            self._stream()
            return
        name = "index.html" if path == "/" else path.removeprefix("/static/")
        content = self.server.playground.files.get(name) if name != path else None
        if path != "/" and not path.startswith("/static/"):
            content = None
        if content is None:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {path[:100]}"})
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", STATIC_TYPES["." + name.rsplit(".", 1)[-1]])
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
        self.end_headers()
        self.wfile.write(content)

    def _stream(self) -> None:
        playground = self.server.playground
        session = playground.open_session()
        if session is None:
            self._json(
                HTTPStatus.SERVICE_UNAVAILABLE,
                {"error": f"{MAX_SESSIONS} tabs are training already: close one"},
            )
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

        def write(text: str) -> None:
            try:
                self.wfile.write(text.encode())
                self.wfile.flush()
            except OSError:  # the tab closed: its connection is gone
                session.closed.set()

        def send(event: str, data: Any) -> None:
            write(f"event: {event}\ndata: {json.dumps(data, allow_nan=False)}\n\n")

        try:
            session.serve(send, lambda: write(": alive\n\n"), playground.stopping)
        except Exception as error:  # a bug of ours: one line on the console, the tab told
            print(
                f"tracegrad playground: a session stopped on an error: "
                f"{type(error).__name__}: {error}",
                file=sys.stderr,
            )
            send("message", {"level": "error", "text": f"the server failed: {error}"})
        finally:
            playground.close_session(session)

    # -- POST: commands -----------------------------------------------------------------

    def do_POST(self) -> None:
        if not self._allowed():
            return
        path = self.path.split("?", 1)[0]
        if not path.startswith("/api/sessions/"):
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such address: {path[:100]}"})
            return
        session = self.server.playground.find(path.removeprefix("/api/sessions/"))
        if session is None:
            self._json(
                HTTPStatus.NOT_FOUND,
                {"error": "this session has ended (its tab closed or the server restarted)"},
            )
            return
        command, problem = self._command()
        if command is None:
            self._json(HTTPStatus.BAD_REQUEST, {"error": problem})
            return
        if command["action"] == "settings":
            try:
                command["settings"] = Settings.from_form(command.get("form"))  # type: ignore[arg-type]
            except SettingsError as error:
                self._json(HTTPStatus.BAD_REQUEST, {"errors": error.errors})
                return
        if not session.post(command):
            self._json(HTTPStatus.TOO_MANY_REQUESTS, {"error": "too many commands waiting"})
            return
        self._json(HTTPStatus.OK, {"ok": True})

    def _command(self) -> tuple[dict[str, Any] | None, str]:
        """The posted command, or None and what is wrong with it."""
        if self.headers.get_content_type() != "application/json":
            return None, "commands are JSON (Content-Type: application/json)"
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return None, "a command needs its Content-Length"
        if not 0 <= length <= MAX_BODY:
            return None, f"a command is at most {MAX_BODY} bytes, got {length}"
        try:
            command = json.loads(self.rfile.read(length))
        except (ValueError, UnicodeDecodeError) as error:
            return None, f"a command is a JSON object: {error}"
        if not isinstance(command, dict) or command.get("action") not in ACTIONS:
            action = command.get("action") if isinstance(command, dict) else command
            return None, f"action: choose one of {', '.join(ACTIONS)}, got {action!r}"[:200]
        if command["action"] == "neuron":
            for key in ("layer", "index", "point"):
                value = command.get(key)
                if isinstance(value, bool) or not isinstance(value, int):
                    return None, f"neuron: {key} must be a whole number, got {value!r}"[:200]
        return command, ""


def serve(port: int = 0, *, open_browser: bool = True, out: Any = None) -> int:
    """Serve the playground on 127.0.0.1 (a free port when ``port`` is 0) until Ctrl-C.

    Prints the address; opens it in the browser unless told not to. Returns 0 once
    stopped. Raises OSError when the port cannot be had.
    """
    out = out or sys.stdout
    playground = Playground()
    server = PlaygroundServer(port, playground)
    print(f"tracegrad playground: {server.url} (Ctrl-C stops it)", file=out, flush=True)
    if open_browser:
        import webbrowser

        threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        playground.stop()
        server.server_close()  # joins the handler threads: every session has ended
    print("tracegrad playground: stopped", file=out, flush=True)
    return 0
