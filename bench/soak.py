"""Soak: 100,000 tools/call on one heartbeat process, printing its RSS as it goes.

    uv run python bench/soak.py [--calls 100000]

Calls go out pipelined in batches of 1,000 (read while writing). RSS is printed at the
start and every 10,000 calls; growth is measured from the first checkpoint after warm-up.
"""

from __future__ import annotations

import argparse
import threading

from bench import PYTHON, Peer, call

BATCH = 1000
CHECKPOINT = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description="Soak heartbeat with many calls on one process.")
    parser.add_argument("--calls", type=int, default=100_000, help="how many calls (default: 100000)")
    total = parser.parse_args().calls

    peer = Peer([PYTHON, "heartbeat.py"])
    peer.initialize()
    print(f"{'calls':>8}  {'RSS (MiB)':>9}")
    print(f"{0:>8}  {peer.memory_kib('VmRSS') / 1024:>9.1f}")
    checkpoints: list[float] = []
    for start in range(0, total, BATCH):
        batch = b"".join(call(request_id) for request_id in range(start + 1, start + BATCH + 1))
        writer = threading.Thread(target=peer.send, args=(batch,))
        writer.start()
        replies = [peer.reply() for _ in range(BATCH)]
        writer.join()
        assert all(reply["result"]["isError"] is False for reply in replies)
        done = start + BATCH
        if done % CHECKPOINT == 0:
            checkpoints.append(peer.memory_kib("VmRSS") / 1024)
            print(f"{done:>8}  {checkpoints[-1]:>9.1f}")
    peer.close()
    warm = checkpoints[0]
    growth = (checkpoints[-1] - warm) / warm
    print(f"RSS growth after the first {CHECKPOINT:,} calls: {checkpoints[-1] - warm:+.1f} MiB ({growth:+.1%})")


if __name__ == "__main__":
    main()
