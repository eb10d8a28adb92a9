"""Benchmark heartbeat over raw stdio pipes against three references, and print a table.

    uv run python bench/bench.py [--rounds 5]    (figures and what they say: bench/README.md)

Rows are measured in interleaved rounds (every target once per round, in an order that
rotates, since the first start after the heavier rows runs slower) and shown as the
median with min-max. The targets: heartbeat, the bare SDK (bench/bare_sdk.py: the same
low-level Server on the SDK's own stdio, a handler with no validation and no payload), the
same-reply SDK (the same, returning heartbeat's exact reply) and the floor
(bench/floor.py: a dependency-free JSON-RPC loop). No SDK client is used, so the
client's cost is the same for every target. Children run without PYTHONDONTWRITEBYTECODE
and PYTHONUNBUFFERED, as a desktop host starts them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GIT = shutil.which("git") or "git"
UV = os.environ.get("UV") or shutil.which("uv") or "uv"  # `uv run` sets UV to its real binary, not a shim.
HOST_RUN = [UV, "run", "--quiet", "--no-dev", "--frozen", "heartbeat.py"]  # As hosts start heartbeat.
CHILD_ENV = {
    key: value for key, value in os.environ.items() if key not in {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"}
}

TARGETS: dict[str, list[str]] = {
    "heartbeat": [PYTHON, "heartbeat.py"],
    "bare SDK": [PYTHON, "bench/bare_sdk.py"],
    "same-reply SDK": [PYTHON, "bench/bare_sdk.py", "--same-reply"],
    "floor": [PYTHON, "bench/floor.py"],
}
STARTS_PER_ROUND = 5
SEQUENTIAL_CALLS = 1000
PIPELINED_CALLS = 5000

INITIALIZE_CLIENT = {"name": "bench", "version": "0"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": INITIALIZE_CLIENT},
}


def frame(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def call(request_id: int) -> bytes:
    params = {"name": "get_heartbeat", "arguments": {"user": "Ada"}}
    return frame({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params})


class Peer:
    """One server process, spoken to over its stdin and stdout."""

    def __init__(self, command: list[str], cwd: Path = PROJECT_DIR) -> None:
        self.spawned = time.perf_counter()
        self.process = subprocess.Popen(
            command, cwd=cwd, env=CHILD_ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert self.process.stdin
        assert self.process.stdout
        self.stdin, self.stdout = self.process.stdin, self.process.stdout

    def send(self, data: bytes) -> None:
        self.stdin.write(data)
        self.stdin.flush()

    def reply(self) -> dict[str, Any]:
        line = self.stdout.readline()
        assert line, "the server closed stdout"
        return json.loads(line)

    def initialize(self, version: str = "2025-11-25") -> float:
        """Seconds from spawn to the initialize reply."""
        self.send(frame({**INITIALIZE, "params": {**INITIALIZE["params"], "protocolVersion": version}}))
        assert "result" in self.reply()
        elapsed = time.perf_counter() - self.spawned
        self.send(frame({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        return elapsed

    def memory_kib(self, field: str) -> float:
        """VmRSS (resident now) or VmHWM (peak) from /proc; NaN where there is no /proc."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return float("nan")
        return float(next(line.split()[1] for line in status.splitlines() if line.startswith(field + ":")))

    def close(self) -> float:
        """Seconds from closing stdin to the process's exit."""
        closed = time.perf_counter()
        self.stdin.close()
        self.process.wait(timeout=30)
        return time.perf_counter() - closed


def sequential_round_trips(peer: Peer) -> list[float]:
    times = []
    for request_id in range(1, SEQUENTIAL_CALLS + 1):
        sent = time.perf_counter()
        peer.send(call(request_id))
        assert peer.reply()["id"] == request_id
        times.append(time.perf_counter() - sent)
    return times


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from /proc; NaN where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pipelined_calls_per_second(peer: Peer) -> float:
    batch = b"".join(call(request_id) for request_id in range(10_000, 10_000 + PIPELINED_CALLS))
    started = time.perf_counter()
    writer = threading.Thread(target=peer.send, args=(batch,))  # Read while writing, or both pipes fill.
    writer.start()
    ids = {peer.reply()["id"] for _ in range(PIPELINED_CALLS)}
    writer.join()
    assert len(ids) == PIPELINED_CALLS
    return PIPELINED_CALLS / (time.perf_counter() - started)


def start_times(starts: int) -> dict[str, list[float]]:
    """Spawn to initialize, in ms, `starts` times per target, interleaved: the row most sensitive to noise."""
    times: dict[str, list[float]] = {name: [] for name in TARGETS}
    for _ in range(starts):
        for name, command in TARGETS.items():
            peer = Peer(command)
            times[name].append(peer.initialize() * 1000)
            peer.close()
    return times


def measure(command: list[str]) -> dict[str, float]:
    peer = Peer(command)
    peer.initialize()
    row = {"idle RSS (MiB)": peer.memory_kib("VmRSS") / 1024}
    round_trips = sorted(sequential_round_trips(peer))
    row["tools/call p50 (us)"] = round_trips[len(round_trips) // 2] * 1e6
    row["tools/call p99 (us)"] = round_trips[int(len(round_trips) * 0.99)] * 1e6
    cpu_before = cpu_seconds(peer.process.pid)
    row["pipelined calls/s"] = pipelined_calls_per_second(peer)
    row["server CPU per call (us)"] = (cpu_seconds(peer.process.pid) - cpu_before) / PIPELINED_CALLS * 1e6
    row["peak RSS (MiB)"] = peer.memory_kib("VmHWM") / 1024
    row["stdin EOF to exit (ms)"] = peer.close() * 1000
    return row


def uv_run_start() -> float:
    """`uv run --no-dev --frozen heartbeat.py`, as a host runs it: spawn to initialize, in ms."""
    peer = Peer(HOST_RUN)
    elapsed = peer.initialize()
    peer.close()
    return elapsed * 1000


def first_launch(command: list[str], compile_bytecode: bool = False) -> float:
    """A fresh clone (no .venv; uv's cache warm): spawn of `command` to initialize, in ms."""
    with tempfile.TemporaryDirectory() as folder:
        clone = Path(folder) / "heartbeat"
        subprocess.run([GIT, "clone", "--quiet", str(PROJECT_DIR), str(clone)], check=True)
        env = {**CHILD_ENV, "UV_COMPILE_BYTECODE": "1" if compile_bytecode else "0"}
        spawned = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=clone,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert process.stdin
        assert process.stdout
        process.stdin.write(frame(INITIALIZE))
        process.stdin.flush()
        assert b"result" in process.stdout.readline()
        elapsed = time.perf_counter() - spawned
        process.stdin.close()
        process.wait(timeout=30)
        return elapsed * 1000


def handler_microseconds() -> dict[str, float]:
    """In-process time of each tool handler per call: heartbeat's own work, free of pipe and SDK noise."""
    for folder in (str(PROJECT_DIR), str(PROJECT_DIR / "bench")):
        if folder not in sys.path:
            sys.path.append(folder)
    import anyio  # noqa: PLC0415
    import bare_sdk  # noqa: PLC0415  (importable once sys.path has the project)
    import mcp_types as types  # noqa: PLC0415

    import heartbeat  # noqa: PLC0415

    params = types.CallToolRequestParams(name="get_heartbeat", arguments={"user": "Ada"})
    client = types.InitializeRequestParams(
        protocol_version="2025-11-25",
        capabilities=types.ClientCapabilities(),
        client_info=types.Implementation(name=INITIALIZE_CLIENT["name"], version=INITIALIZE_CLIENT["version"]),
    )
    # What the handlers read of their context: the client's handshake and the protocol version.
    ctx = SimpleNamespace(session=SimpleNamespace(client_params=client), protocol_version="2025-11-25")
    calls = 20_000

    async def time_handler(handler: Callable[[Any, Any], Any]) -> float:
        assert not (await handler(ctx, params)).is_error, "the timing must cover a successful call"
        started = time.perf_counter()
        for _ in range(calls):
            await handler(ctx, params)
        return (time.perf_counter() - started) / calls * 1e6

    return {
        "heartbeat": anyio.run(time_handler, heartbeat.TOOLS.call),
        "bare SDK": anyio.run(time_handler, bare_sdk.call_tool),
    }


def summary(values: list[float], digits: int) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark heartbeat over raw stdio pipes.")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default: 5)")
    rounds = parser.parse_args().rounds

    results: dict[str, dict[str, list[float]]] = {name: {} for name in TARGETS}
    extra: dict[str, list[float]] = {}
    extra_rows: dict[str, Callable[[], float]] = {
        "uv run --no-dev --frozen heartbeat.py: start to initialize (ms)": uv_run_start,
        "fresh clone, first launch as hosts run it (ms)": lambda: first_launch(HOST_RUN),
        "  the same with UV_COMPILE_BYTECODE=1 (ms)": lambda: first_launch(HOST_RUN, compile_bytecode=True),
        "  the same without --no-dev (installs the dev group) (ms)": lambda: first_launch(
            [UV, "run", "--quiet", "--frozen", "heartbeat.py"]
        ),
    }
    handlers: dict[str, list[float]] = {}
    for command in TARGETS.values():  # Warm-up: the first start writes bytecode caches.
        measure(command)
    for number in range(1, rounds + 1):
        print(f"round {number}/{rounds}", file=sys.stderr)
        for name, values in start_times(STARTS_PER_ROUND).items():
            results[name].setdefault("start to initialize (ms)", []).extend(values)
        names = list(TARGETS)
        for name in names[number % len(names) :] + names[: number % len(names)]:  # No target always goes first.
            for key, value in measure(TARGETS[name]).items():
                results[name].setdefault(key, []).append(value)
        for label, run in extra_rows.items():
            extra.setdefault(label, []).append(run())
        for name, value in handler_microseconds().items():
            handlers.setdefault(name, []).append(value)

    print(f"heartbeat benchmark: {rounds} interleaved rounds, median (min-max)")
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(
        f"{STARTS_PER_ROUND} starts, {SEQUENTIAL_CALLS} sequential calls and {PIPELINED_CALLS} pipelined calls"
        " per round and target"
    )
    print()
    names = list(TARGETS)
    print("| measure | " + " | ".join(names) + " |")
    print("| --- | " + " | ".join("---" for _ in names) + " |")
    for key in results["heartbeat"]:
        digits = 0 if "calls/s" in key or "(us)" in key else 1
        print(f"| {key} | " + " | ".join(summary(results[name][key], digits) for name in names) + " |")
    print()
    for label, values in extra.items():
        print(f"{label}: {summary(values, 0)}")
    for name, values in handlers.items():
        print(f"tool handler in-process, {name}: {summary(values, 1)} us per call")
    print()
    ours, bare = results["heartbeat"], results["bare SDK"]

    def median_of(row: dict[str, list[float]], key: str) -> float:
        return statistics.median(row[key])

    own = statistics.median(handlers["heartbeat"]) - statistics.median(handlers["bare SDK"])
    round_trip = median_of(bare, "tools/call p50 (us)")
    start = median_of(ours, "start to initialize (ms)") / median_of(bare, "start to initialize (ms)") - 1
    print(f"heartbeat's own per-call work: {own:.1f} us (target: at most 15 us)", end="")
    print(f" = {own / round_trip:.1%} of the bare SDK's p50 round trip")
    print(f"heartbeat vs bare SDK, start to initialize: {start:+.1%} (target: no slower)")
    for key in ("tools/call p50 (us)", "server CPU per call (us)", "pipelined calls/s"):
        print(f"heartbeat vs bare SDK, {key}: {median_of(ours, key) / median_of(bare, key) - 1:+.1%}")
    same = results["same-reply SDK"]
    for key, target in (("server CPU per call (us)", 0.45), ("tools/call p50 (us)", 0.75)):
        ratio = median_of(ours, key) / median_of(same, key)
        print(f"heartbeat / same-reply SDK, {key}: {ratio:.2f}x (target: at most {target}x)")


if __name__ == "__main__":
    main()
