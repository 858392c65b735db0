"""The playground's speed and memory, measured through its own server, as a tab sees it.

    python benchmarks/playground.py                 # updates per second, both engines
    python benchmarks/playground.py --minutes 10    # and memory over a long session

Starts ``tracegrad playground --no-browser`` as a process of its own, opens a stream as
a tab does (``GET /api/stream``), sends the settings and presses play, then counts the
updates (frames) and the epochs that arrive for ``--seconds``. The network is 2-8-8-1 on
200 points of two moons (the issue's setting); the target is at least 5 updates a second
for both engines. Updates are capped by the server (``MAX_FRAMES_PER_SECOND``); a fast
engine trains several epochs per update, which the epochs column shows.

With ``--minutes``, one tab per engine then trains side by side for that long, and the
server's resident memory is read every ``--every`` seconds from /proc (Linux): it should
stay flat.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {"dataset": "moons", "points": "200", "hidden": "8, 8", "train_percent": "50"}


class Tab:
    """A stream opened as the page opens it, read in a thread: counts updates and epochs."""

    def __init__(self, port: int, engine: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.connection.request("GET", "/api/stream")
        self.response = self.connection.getresponse()
        self.port, self.frames, self.epochs, self.session = port, 0, 0, ""
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.ready.wait(30)
        self.post({"action": "settings", "form": {**SETTINGS, "engine": engine}})

    def _read(self) -> None:
        event = ""
        while not self.stop.is_set():
            line = self.response.readline()
            if not line:
                return
            text = line.decode().rstrip("\n")
            if text.startswith("event: "):
                event = text[7:]
            elif text.startswith("data: "):
                data = json.loads(text[6:])
                if event == "session":
                    self.session = data["id"]
                    self.ready.set()
                elif event == "frame":
                    self.frames += 1
                    self.epochs += len(data["records"])

    def post(self, command: dict[str, Any]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = json.dumps(command)
        connection.request(
            "POST", f"/api/sessions/{self.session}", body, {"Content-Type": "application/json"}
        )
        answer = connection.getresponse()
        if answer.status != 200:
            raise RuntimeError(f"{command['action']}: {answer.status} {answer.read()!r}")
        connection.close()

    def close(self) -> None:
        self.stop.set()
        self.connection.close()


def resident_mib(pid: int) -> float:
    """The process's resident memory (VmRSS) in MiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/PID/status")


def start_server() -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "tracegrad", "playground", "--no-browser"],
        stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    line = server.stdout.readline() if server.stdout else ""
    port = int(line.split("127.0.0.1:")[1].split("/")[0])
    return server, port


def measure_rate(port: int, engine: str, seconds: float) -> tuple[float, float]:
    """(updates per second, epochs per second) of one tab playing for ``seconds``."""
    tab = Tab(port, engine)
    time.sleep(0.5)  # the settings' reset arrives before play
    tab.post({"action": "play"})
    time.sleep(1.0)  # warm up: imports, first epochs
    frames, epochs, start = tab.frames, tab.epochs, time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - start
    rate = ((tab.frames - frames) / elapsed, (tab.epochs - epochs) / elapsed)
    tab.post({"action": "pause"})
    tab.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per engine")
    parser.add_argument("--minutes", type=float, default=0.0, help="then a long run (memory)")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between readings")
    args = parser.parse_args()
    server, port = start_server()
    try:
        print(
            f"The playground's updates through its server, 2-8-8-1 tanh on 200 points of "
            f"two moons (100 training), batch 10, {args.seconds:g} s per engine:\n"
        )
        print("| engine | updates per second | epochs per second | target |")
        print("|---|---:|---:|---|")
        for engine in ("value", "tensor"):
            updates, epochs = measure_rate(port, engine, args.seconds)
            print(f"| {engine.capitalize()} | {updates:.1f} | {epochs:.1f} | ≥ 5 updates/s |")
        if args.minutes > 0:
            long_run(server.pid, port, args.minutes, args.every)
    finally:
        server.terminate()
        server.wait(30)


def long_run(pid: int, port: int, minutes: float, every: float) -> None:
    """Two tabs (one per engine) train side by side; the server's memory, read as it goes."""
    tabs = [Tab(port, engine) for engine in ("value", "tensor")]
    time.sleep(0.5)
    for tab in tabs:
        tab.post({"action": "play"})
    start = time.monotonic()
    readings = [(0.0, resident_mib(pid), 0, 0)]
    while (elapsed := time.monotonic() - start) < minutes * 60:
        time.sleep(min(every, minutes * 60 - elapsed))
        readings.append(
            (time.monotonic() - start, resident_mib(pid), tabs[0].epochs, tabs[1].epochs)
        )
    for tab in tabs:
        tab.close()
    print(f"\nMemory over {minutes:g} minutes, one tab per engine training side by side:\n")
    print("| minute | server's resident memory, MiB | Value epochs | Tensor epochs |")
    print("|---:|---:|---:|---:|")
    for seconds, mib, value_epochs, tensor_epochs in readings:
        print(f"| {seconds / 60:.1f} | {mib:.1f} | {value_epochs:,} | {tensor_epochs:,} |")
    settled = [mib for seconds, mib, *_ in readings if seconds >= 60] or [readings[-1][1]]
    print(
        f"\nafter the first minute: lowest {min(settled):.1f} MiB, highest {max(settled):.1f} "
        f"MiB (growth {max(settled) - settled[0]:+.1f} MiB)"
    )


if __name__ == "__main__":
    main()
