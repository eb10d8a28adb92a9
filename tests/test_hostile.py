"""Hostile input and faults on stdio, through the real process: nothing lost, nothing hangs, no traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stdio_repairs import MAX_IN_FLIGHT, MAX_LINE_BYTES
from tests.conftest import (
    INITIALIZED,
    PROJECT_DIR,
    REPLY_TIMEOUT,
    StdioServer,
    assert_clean_exit,
    call_request,
    initialize_request,
)

SERVER = [sys.executable, str(PROJECT_DIR / "heartbeat.py")]
PING = {"jsonrpc": "2.0", "id": "after", "method": "ping"}
PONG = {"jsonrpc": "2.0", "id": "after", "result": {}}


def frames(*messages: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(message).encode() + b"\n" for message in messages)


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) / 1024


@pytest.fixture(scope="module")
def shared() -> Iterator[StdioServer]:
    """One server for the tests that send a line or two and read the answers; it must end cleanly."""
    process = StdioServer()
    yield process
    process.close_stdin()
    assert_clean_exit(process)


needs_proc = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads memory from /proc (Linux)")


def test_every_request_is_answered_at_eof_even_when_ids_repeat() -> None:
    process = StdioServer()
    process.write(frames(initialize_request(), INITIALIZED, *[call_request(1, {"user": "Ada"})] * 20))
    process.close_stdin()
    assert_clean_exit(process)
    replies = [json.loads(line) for line in process.remaining_stdout()]
    assert len(replies) == 21
    assert sum("structuredContent" in reply.get("result", {}) for reply in replies) == 20


@pytest.mark.parametrize(
    "line",
    [
        b'{"jsonrpc":"2.0","id":7,"method":"ping","params":[1]}',
        b'{"jsonrpc":"2.0","id":7,"method":42}',
        b'{"jsonrpc":"1.0","id":7,"method":"ping"}',
        b'{"id":"seven","method":"ping"}',
    ],
    ids=["params-array", "method-number", "wrong-version", "no-jsonrpc"],
)
def test_an_invalid_request_whose_id_is_readable_is_answered_with_that_id(shared: StdioServer, line: bytes) -> None:
    shared.write(line + b"\n")
    reply = shared.read()
    assert reply == {
        "jsonrpc": "2.0",
        "id": json.loads(line)["id"],
        "error": {"code": -32600, "message": "Invalid Request: not a JSON-RPC 2.0 message"},
    }
    assert shared.request(PING) == PONG


@pytest.mark.parametrize("bad_id", [True, 1.5, {"n": 1}, None, [1]], ids=["true", "float", "object", "null", "array"])
def test_a_request_whose_id_json_rpc_does_not_allow_gets_invalid_request_with_null_id(
    shared: StdioServer, bad_id: Any
) -> None:
    shared.send({"jsonrpc": "2.0", "id": bad_id, "method": "ping"})
    assert shared.read() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": 'Invalid Request: "id" must be a string or an integer'},
    }
    assert shared.request(PING) == PONG


def test_blank_lines_are_skipped_without_a_reply() -> None:
    process = StdioServer()
    process.write(b"\n   \n\t\n\r\n \r \n")
    assert process.request(PING) == PONG  # The first line out answers the ping: nothing came before it.
    process.close_stdin()
    assert_clean_exit(process)
    assert process.remaining_stdout() == []


NO_BATCHES = {
    "jsonrpc": "2.0",
    "id": None,
    "error": {
        "code": -32600,
        "message": "Invalid Request: JSON-RPC batches are not part of this protocol version; send one message per line",
    },
}


@pytest.mark.parametrize(
    "version", ["2025-06-18", "2025-11-25", None], ids=["2025-06-18", "2025-11-25", "no-handshake"]
)
def test_a_batch_is_one_invalid_request_where_mcp_has_no_batches(version: str | None) -> None:
    process = StdioServer()
    if version:
        process.initialize(version)
    process.write(frames(PING)[:-1].join((b"[", b"]\n")))
    assert process.read() == NO_BATCHES
    assert process.request(PING) == PONG


@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26"])
def test_a_batch_is_answered_as_one_array_where_mcp_has_batches(version: str) -> None:
    process = StdioServer()
    process.initialize(version)
    batch: list[Any] = [
        {"jsonrpc": "2.0", "id": "ping", "method": "ping"},
        call_request(7, {"user": "Ada"}),
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "gone"}},
        42,
        {"jsonrpc": "2.0", "id": "odd", "method": "ping", "params": [1]},
    ]
    process.send(batch)
    replies = process.read_value()
    assert isinstance(replies, list)
    by_id = {reply["id"]: reply for reply in replies}
    assert len(replies) == 4
    assert by_id["ping"]["result"] == {}
    assert by_id[7]["result"]["structuredContent"]["protocol_version"] == version
    assert by_id["odd"]["error"]["code"] == -32600
    assert by_id[None]["error"] == {"code": -32600, "message": "Invalid Request: not a JSON-RPC 2.0 message"}
    process.write(b'[{"jsonrpc":"2.0","method":"notifications/initialized"}]\n[]\n')  # No reply; one error.
    assert process.read()["error"] == {"code": -32600, "message": "Invalid Request: an empty batch"}
    assert process.request(PING) == PONG


def test_an_over_long_line_is_answered_at_once_and_the_server_carries_on() -> None:
    process = StdioServer()
    process.write(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"' + b"x" * MAX_LINE_BYTES)
    assert process.read() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": f"Invalid Request: a message may be at most {MAX_LINE_BYTES} bytes long"},
    }
    process.write(b"x" * MAX_LINE_BYTES + b'"}}\n')  # The rest of the same line: skipped, not answered.
    assert process.request(PING) == PONG


def test_a_line_of_exactly_the_limit_is_read() -> None:
    process = StdioServer()
    ping = json.dumps(PING).encode()
    process.write(ping + b" " * (MAX_LINE_BYTES - len(ping) - 1) + b"\n")
    assert process.read() == PONG


@needs_proc
def test_a_stream_without_newlines_is_answered_once_and_memory_stays_bounded() -> None:
    process = StdioServer()
    process.request(PING)
    idle = rss_mib(process.process.pid)
    chunk = b"\0" * (1024 * 1024)
    for _ in range(64):
        process.write(chunk)
    assert process.read()["error"]["code"] == -32600
    assert rss_mib(process.process.pid) - idle < 4 * MAX_LINE_BYTES / 2**20 + 20
    process.write(b"\n")
    assert process.request(PING) == PONG


@needs_proc
def test_a_client_that_writes_without_reading_is_held_back_and_then_fully_answered() -> None:
    count = 8_000
    with subprocess.Popen(SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as server:
        assert server.stdin
        assert server.stdout
        server.stdin.write(frames(initialize_request(), PING))
        server.stdin.flush()
        replies = [json.loads(server.stdout.readline()) for _ in range(2)]
        idle = rss_mib(server.pid)
        calls = frames(*(call_request(i, {"user": f"user {i}"}) for i in range(count)))
        writer = threading.Thread(target=server.stdin.write, args=(calls,), daemon=True)
        writer.start()
        time.sleep(2)  # Nobody reads stdout: its pipe fills, MAX_IN_FLIGHT requests wait, stdin is left unread.
        grown = rss_mib(server.pid) - idle
        assert writer.is_alive(), "the server read every request although none could be answered"
        replies += [json.loads(server.stdout.readline()) for _ in range(count)]
        writer.join(timeout=REPLY_TIMEOUT)
        server.stdin.close()
        assert server.wait(timeout=REPLY_TIMEOUT) == 0
    assert grown < 16, f"{grown:.0f} MiB for {MAX_IN_FLIGHT} requests in flight"
    assert sorted(reply["id"] for reply in replies[2:]) == list(range(count))


def stopped_by_host(stdout: int) -> subprocess.CompletedProcess[bytes]:
    """heartbeat.py with `stdout` as its stdout, given one request and then no EOF for 20 s."""
    feed = frames(initialize_request()) + b'{"jsonrpc":"2.0","id":2,"method":"ping"}\n'
    with subprocess.Popen(SERVER, stdin=subprocess.PIPE, stdout=stdout, stderr=subprocess.PIPE) as process:
        assert process.stdin
        assert process.stderr
        process.stdin.write(feed)
        process.stdin.flush()
        code = process.wait(timeout=20)  # Raises if it waits for stdin to close.
        stderr = process.stderr.read()
        process.stdin.close()
    return subprocess.CompletedProcess(SERVER, code, b"", stderr)


def test_a_stdout_the_host_closed_ends_the_server_at_once_with_one_line() -> None:
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = stopped_by_host(writer)
    finally:
        os.close(writer)
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr
    assert (
        done.stderr.decode()
        .splitlines()[-1]
        .endswith("ERROR heartbeat: stopping: cannot use stdio ([Errno 32] Broken pipe)")
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_stdout_ends_the_server_at_once_with_one_line() -> None:
    with open("/dev/full", "wb") as full:
        done = stopped_by_host(full.fileno())
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr
    last = done.stderr.decode().splitlines()[-1]
    assert last.endswith("ERROR heartbeat: stopping: cannot use stdio ([Errno 28] No space left on device)")


def run_in_shell(redirection: str) -> subprocess.CompletedProcess[bytes]:
    """heartbeat.py started by a POSIX shell with `redirection` (such as `0<&-`, which closes stdin)."""
    command = f"exec {sys.executable} {PROJECT_DIR / 'heartbeat.py'} {redirection}"
    return subprocess.run(["/bin/sh", "-c", command], capture_output=True, timeout=REPLY_TIMEOUT, check=False)


posix_shell = pytest.mark.skipif(not Path("/bin/sh").exists(), reason="needs a POSIX shell")


@posix_shell
@pytest.mark.parametrize("redirection", ["0<&-", "</dev/null"], ids=["closed", "empty"])
def test_a_closed_stdin_is_an_empty_one(redirection: str) -> None:
    done = run_in_shell(redirection)
    assert (done.returncode, done.stdout) == (0, b"")
    assert b"Traceback" not in done.stderr
    assert done.stderr.decode().splitlines()[-1].endswith("INFO heartbeat: stdin closed; exiting")


@posix_shell
def test_started_with_stdout_closed_it_says_so_in_one_line() -> None:
    done = run_in_shell(">&- </dev/null")
    assert done.returncode == 1
    [line] = done.stderr.decode().splitlines()
    assert line.endswith("ERROR heartbeat: stdout is closed, so there is nowhere to write replies; exiting")


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.6])
def test_ctrl_c_during_start_up_ends_the_process_without_a_traceback(delay: float) -> None:
    process = subprocess.Popen(SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=REPLY_TIMEOUT)
    assert process.returncode in (0, -signal.SIGINT), stderr.decode()
    assert b"Traceback" not in stderr
    assert b"KeyboardInterrupt" not in stderr
