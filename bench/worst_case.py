"""Peak memory under the heaviest input the limits let in, with stdout unread.

    uv run python bench/worst_case.py    (about two minutes; figures in bench/README.md)

Each case fills stdout with unread replies, then sends lines of 4 MiB (the longest
message) that parse to some 25 times their size, and reports the server's peak RSS
(VmHWM) once it has stopped reading stdin.
"""

from __future__ import annotations

import json
import sys
import threading
import time

from bench import Peer

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


def run(lines: list[bytes]) -> float:
    """Peak RSS in MiB of heartbeat sent `lines` after just enough pings to fill its unread stdout."""
    peer = Peer([sys.executable, "heartbeat.py"])
    peer.initialize("2025-03-26")
    pings = b"".join(b'{"jsonrpc":"2.0","id":"p%d","method":"ping"}\n' % i for i in range(1560))
    writer = threading.Thread(target=peer.send, args=(pings + b"".join(lines),), daemon=True)
    writer.start()
    writer.join(timeout=30)  # Still writing after 30 s: the server has long stopped reading.
    time.sleep(5)  # A figure, not a test: let the server settle at its peak.
    peak = peer.memory_kib("VmHWM") / 1024
    peer.process.kill()
    peer.process.wait()
    return peak


def main() -> None:
    for label, make in CASES.items():
        print(f"{label}: peak RSS {run([make(i) for i in range(64)]):.0f} MiB")


if __name__ == "__main__":
    main()
