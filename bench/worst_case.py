"""Peak memory under the heaviest input the limits let in, with stdout unread.

    uv run python bench/worst_case.py    (about a minute; figures in bench/README.md)

Each case fills stdout with unread replies, then sends lines of 4 MiB (the longest
message) that parse to some 25 times their size, and reports the server's peak RSS
(VmHWM) once it has stopped reading stdin.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
MAX_LINE = 4 * 1024 * 1024


def heavy(number: int, padding: bytes) -> bytes:
    pad = b",".join([padding] * ((MAX_LINE - 200) // (len(padding) + 1)))
    return b'{"jsonrpc":"2.0","id":%d,"method":"ping","params":{"_meta":{"pad":[%s]}}}\n' % (number, pad)


def batch(number: int) -> bytes:
    return (
        json.dumps([{"jsonrpc": "2.0", "id": f"{number}-{i}", "method": "tools/list"} for i in range(64)]).encode()
        + b"\n"
    )


CASES = {
    "requests with 4 MiB of [] in _meta": lambda i: heavy(i, b"[]"),
    "requests with 4 MiB of {} in _meta": lambda i: heavy(i, b"{}"),
    "batches of 64 tools/list (2025-03-26)": batch,
}


def peak_rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024


def run(lines: list[bytes]) -> float:
    server = subprocess.Popen(
        [sys.executable, "heartbeat.py"],
        cwd=PROJECT_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert server.stdin
    assert server.stdout
    handshake = {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}
    server.stdin.write(
        json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": handshake}).encode() + b"\n"
    )
    server.stdin.flush()
    server.stdout.readline()
    pings = b"".join(b'{"jsonrpc":"2.0","id":"p%d","method":"ping"}\n' % i for i in range(1560))  # Just fills stdout.
    writer = threading.Thread(target=server.stdin.write, args=(pings + b"".join(lines),), daemon=True)
    writer.start()
    writer.join(timeout=30)  # Still writing after 30 s: the server has long stopped reading.
    time.sleep(5)  # A figure, not a test: let the server settle at its peak.
    peak = peak_rss_mib(server.pid)
    server.kill()
    server.wait()
    return peak


def main() -> None:
    for label, make in CASES.items():
        print(f"{label}: peak RSS {run([make(i) for i in range(64)]):.0f} MiB")


if __name__ == "__main__":
    main()
