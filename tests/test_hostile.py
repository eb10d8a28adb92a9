"""Hostile input and faults on stdio, through the real process: nothing lost, nothing hangs, no traceback.

Most of these drive tests/probe_server.py, a server on the same repairs whose tools echo,
hold until released (a slow tool that awaits) and write big replies; the rest drive the server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kit.stdio_repairs import (
    DRAIN_SECONDS,
    IN_USE,
    MAX_BATCH,
    MAX_IN_FLIGHT,
    MAX_LINE_BYTES,
    MAX_UNREADABLE_WARNINGS,
    STOP_SECONDS,
    TOO_DEEP,
)
from tests.conftest import (
    INITIALIZED,
    NAME,
    PROBE,
    PROJECT_DIR,
    REPLY_TIMEOUT,
    SAMPLE_ARGUMENTS,
    SAMPLE_TOOL,
    SERVER,
    SERVER_FILE,
    SERVER_MODULE,
    StdioServer,
    assert_clean_exit,
    call_request,
    initialize_request,
    pipe_holds,
    pipe_is_full,
    sample_call,
    start_python,
    wait_for,
)
from tests.forking import CLOSED, Stdio

PING = {"jsonrpc": "2.0", "id": "after", "method": "ping"}
PONG = {"jsonrpc": "2.0", "id": "after", "result": {}}
INVALID = {"code": -32600, "message": "Invalid Request: not a JSON-RPC 2.0 message"}


def frames(*messages: dict[str, Any] | list[Any]) -> bytes:
    return b"".join(json.dumps(message).encode() + b"\n" for message in messages)


def rss_mib(pid: int, measure: str = "VmRSS") -> float:
    """A process's resident memory now, or (`VmHWM`) at its peak so far."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith(f"{measure}:"))) / 1024


def asleep(pid: int) -> bool:
    """Whether every thread of a process is waiting (Linux): with its stdin full, it has chosen not to read."""
    states = [(task / "stat").read_text().rsplit(")", 1)[1].split()[0] for task in Path(f"/proc/{pid}/task").iterdir()]
    return all(state == "S" for state in states)


def cancel(request_id: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": request_id}}


def echo(request_id: Any, text: str) -> dict[str, Any]:
    return call_request(request_id, "echo", {"text": text})


@pytest.fixture(scope="module")
def shared() -> Iterator[StdioServer]:
    """One server for the tests that send a line or two and read the answers; it must end cleanly."""
    process = StdioServer()
    yield process
    process.close_stdin()
    assert_clean_exit(process)


@pytest.fixture
def probe() -> StdioServer:
    """The probe server, initialized at 2025-11-25 (killed with its test, as every StdioServer is)."""
    process = StdioServer(launch=PROBE)
    process.initialize()
    return process


LINUX = sys.platform == "linux"  # Not Path("/proc").exists(): under Wine, a Windows Python sees Z:\proc.
needs_proc = pytest.mark.skipif(not LINUX, reason="reads memory from /proc (Linux)")
POSIX_SIGNALS = "POSIX signals; tests/test_windows.py stops the server as Windows does"


def held_back(command: list[str], preamble: bytes, feed: bytes, replies: int) -> tuple[float, list[Any]]:
    """Send `preamble` and read its one reply, then write `feed` with stdout unread until the server
    stops reading stdin; then read `replies` lines. How far its peak RSS grew over it all, and those lines.
    """
    with start_python(
        command, cwd=PROJECT_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ) as server:
        assert server.stdin
        assert server.stdout
        server.stdin.write(preamble)
        server.stdin.flush()
        server.stdout.readline()
        idle = rss_mib(server.pid)
        writer = threading.Thread(target=server.stdin.write, args=(feed,), daemon=True)
        writer.start()
        stdin_fd = server.stdin.fileno()
        wait_for(lambda: pipe_is_full(stdin_fd) and asleep(server.pid), "the server to stop reading stdin")
        assert writer.is_alive(), "the server read all it was sent although nothing could be answered"
        lines = [json.loads(server.stdout.readline()) for _ in range(replies)]
        grown = rss_mib(server.pid, "VmHWM") - idle
        writer.join(timeout=REPLY_TIMEOUT)
        server.stdin.close()
        assert server.wait(timeout=REPLY_TIMEOUT) == 0
    return grown, lines


# Lines that are not valid messages --------------------------------------------------------


def test_every_request_is_answered_at_eof_and_an_id_still_in_flight_is_refused() -> None:
    process = StdioServer()
    process.write(frames(initialize_request(), INITIALIZED, *[sample_call(1)] * 20))
    process.close_stdin()
    assert_clean_exit(process)
    replies = [json.loads(line) for line in process.remaining_stdout()]
    assert len(replies) == 21
    answered = [reply for reply in replies[1:] if reply.get("result", {}).get("isError") is False]
    refused = [reply for reply in replies[1:] if reply.get("error") == {"code": -32600, "message": IN_USE}]
    assert answered
    assert len(answered) + len(refused) == 20
    assert {reply["id"] for reply in replies[1:]} == {1}


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
    assert shared.read() == {"jsonrpc": "2.0", "id": json.loads(line)["id"], "error": INVALID}
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


@pytest.mark.parametrize(
    ("line", "request_id"),
    [
        (rb'{"jsonrpc":"2.0","id":"x\ud800","method":"ping"}', None),
        (rb'{"jsonrpc":"2.0","id":"x\udfff","method":42}', None),
        (rb'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"k":"\ud800"}}}', 1),
    ],
    ids=["id", "id-and-method", "in-params"],
)
def test_a_lone_surrogate_is_invalid_with_the_id_only_where_it_can_be_written_back(
    shared: StdioServer, line: bytes, request_id: int | None
) -> None:
    shared.write(line + b"\n")
    assert shared.read() == {"jsonrpc": "2.0", "id": request_id, "error": INVALID}
    assert shared.request(PING) == PONG


def test_a_lone_surrogate_in_a_batch_member_is_answered_in_the_array() -> None:
    process = StdioServer()
    process.initialize("2025-03-26")
    process.write(
        rb'[{"jsonrpc":"2.0","id":"x\ud800","method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}]' + b"\n"
    )
    replies = process.read_value()
    assert isinstance(replies, list)
    assert sorted(replies, key=lambda reply: str(reply["id"])) == [
        {"jsonrpc": "2.0", "id": 2, "result": {}},
        {"jsonrpc": "2.0", "id": None, "error": INVALID},
    ]
    assert process.request(PING) == PONG
    process.close_stdin()
    assert_clean_exit(process)


def test_a_huge_method_name_is_not_repeated_in_the_error(shared: StdioServer) -> None:
    shared.send({"jsonrpc": "2.0", "id": 9, "method": "m" * 3_000_000})
    reply = shared.read()
    assert reply["error"]["code"] == -32601
    assert len(json.dumps(reply)) < 300
    assert shared.request(PING) == PONG


def test_blank_lines_are_skipped_without_a_reply() -> None:
    process = StdioServer()
    process.write(b"\n   \n\t\n\r\n \r \n")
    assert process.request(PING) == PONG  # The first line out answers the ping: nothing came before it.
    process.close_stdin()
    assert_clean_exit(process)
    assert process.remaining_stdout() == []


def test_a_flood_of_unreadable_lines_logs_only_the_first_few() -> None:
    process = StdioServer()
    process.write(b"garbage\n" * (MAX_UNREADABLE_WARNINGS * 5))
    replies = [process.read() for _ in range(MAX_UNREADABLE_WARNINGS * 5)]
    assert all(reply["error"]["code"] == -32700 for reply in replies)
    process.close_stdin()
    warnings = [line for line in assert_clean_exit(process) if "unreadable" in line]
    assert len(warnings) == MAX_UNREADABLE_WARNINGS
    assert warnings[-1].endswith("; further ones are answered without a log line")


# Batches ---------------------------------------------------------------------------------

NO_BATCHES = {
    "jsonrpc": "2.0",
    "id": None,
    "error": {
        "code": -32600,
        "message": "Invalid Request: this protocol version has no JSON-RPC batches; send one message per line",
    },
}


@pytest.mark.parametrize(
    "version", ["2025-06-18", "2025-11-25", None], ids=["2025-06-18", "2025-11-25", "no-handshake"]
)
def test_a_batch_is_one_invalid_request_where_mcp_has_no_batches(version: str | None) -> None:
    process = StdioServer()
    if version:
        process.initialize(version)
    process.send([PING])
    assert process.read() == NO_BATCHES
    assert process.request(PING) == PONG


@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26"])
def test_a_batch_is_answered_as_one_array_where_mcp_has_batches(version: str) -> None:
    process = StdioServer()
    process.initialize(version)
    batch: list[Any] = [
        {"jsonrpc": "2.0", "id": "ping", "method": "ping"},
        sample_call(7),
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
    assert by_id[7]["result"]["isError"] is False
    assert by_id["odd"]["error"]["code"] == -32600
    assert by_id[None]["error"] == INVALID
    process.write(b'[{"jsonrpc":"2.0","method":"notifications/initialized"}]\n[]\n')  # No reply; one error.
    assert process.read()["error"] == {"code": -32600, "message": "Invalid Request: an empty batch"}
    assert process.request(PING) == PONG


def test_a_batch_over_the_limit_is_one_invalid_request() -> None:
    process = StdioServer()
    process.initialize("2025-03-26")
    process.send([{"jsonrpc": "2.0", "id": i, "method": "tools/list"} for i in range(MAX_BATCH + 1)])
    assert process.read()["error"] == {
        "code": -32600,
        "message": f"Invalid Request: a batch may hold at most {MAX_BATCH} messages",
    }
    assert process.request(PING) == PONG


def test_a_cancelled_batch_member_leaves_the_rest_of_the_batch_to_be_answered() -> None:
    process = StdioServer(launch=PROBE)
    process.initialize("2025-03-26")
    process.send([call_request("held", "hold", {}), echo("quick", "hi")])
    process.send(cancel("held"))
    assert process.read_value() == [
        {"jsonrpc": "2.0", "id": "quick", "result": {"content": [{"type": "text", "text": "hi"}], "isError": False}}
    ]
    assert process.request(PING) == PONG


@needs_proc
def test_batches_with_stdout_unread_are_held_back_with_memory_bounded() -> None:
    count, size = 40, 50_000  # 40 batches, each of MAX_BATCH replies of 50 kB: 128 MB if nothing held them.
    batches = [
        [call_request(f"{number}-{member}", "big", {"size": size}) for member in range(MAX_BATCH)]
        for number in range(count)
    ]
    preamble = frames(initialize_request(version="2025-03-26"), INITIALIZED)
    grown, replies = held_back(PROBE, preamble, frames(*batches), count)
    assert grown < 64, f"{grown:.0f} MiB with batches held back"
    assert [len(batch) for batch in replies] == [MAX_BATCH] * count


# What is in flight -----------------------------------------------------------------------


def test_a_slow_call_does_not_hold_up_a_ping(probe: StdioServer) -> None:
    probe.send(call_request("held", "hold", {}))
    assert probe.request(PING) == PONG
    probe.send(call_request("release", "release", {}))
    assert {probe.read()["id"], probe.read()["id"]} == {"held", "release"}


def test_cancelled_calls_free_their_slots_and_get_no_reply(probe: StdioServer) -> None:
    for number in range(MAX_IN_FLIGHT * 2):
        probe.send(call_request(number, "hold", {}))
        probe.send(cancel(str(number)))  # A stringified id cancels too, as the SDK correlates it.
    assert probe.request(PING) == PONG  # With every slot still taken, this line would never be read.
    probe.send(call_request("release", "release", {}))
    assert probe.read()["id"] == "release"
    probe.close_stdin()
    stderr = assert_clean_exit(probe)
    assert probe.remaining_stdout() == []
    assert not [line for line in stderr if "unanswered" in line]


def test_tools_that_wait_in_worker_threads_never_starve_the_transport(probe: StdioServer) -> None:
    calls = 50  # More than the 40 threads anyio lends at once, which the tools then hold.
    for number in range(calls):
        probe.send(call_request(number, "hold_in_thread", {}))
    assert probe.request(PING) == PONG
    probe.send(cancel(7))
    probe.send(call_request("release", "release", {}))
    answered = {probe.read()["id"] for _ in range(calls)}
    assert answered == {*range(calls), "release"} - {7}
    probe.close_stdin()
    assert_clean_exit(probe)
    assert probe.remaining_stdout() == []


@pytest.mark.waits
def test_eof_with_stdout_unread_ends_the_server_within_the_drain_and_the_stop_bound() -> None:
    process = start_python(PROBE, cwd=PROJECT_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    replies = [call_request(number, "big", {"size": 4096}) for number in range(60)]  # Far more than a pipe holds.
    assert process.stdin
    process.stdin.write(frames(initialize_request(), INITIALIZED, *replies))
    process.stdin.close()
    assert process.wait(timeout=DRAIN_SECONDS + STOP_SECONDS + REPLY_TIMEOUT) == 0
    assert process.stdout
    process.stdout.close()


@pytest.mark.waits
def test_eof_waits_for_a_slow_call_only_so_long_and_says_so() -> None:
    process = StdioServer(launch=PROBE)
    process.initialize()
    process.send(call_request("held", "hold", {}))
    process.close_stdin()
    stderr = assert_clean_exit(process)
    [reply] = [json.loads(line) for line in process.remaining_stdout()]
    assert reply == {"jsonrpc": "2.0", "id": "held", "error": {"code": -32000, "message": "Connection closed"}}
    assert any(line.endswith(f"stdin closed; 1 requests still unanswered after {DRAIN_SECONDS:g} s") for line in stderr)


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
    process.write(ping + b" " * (MAX_LINE_BYTES - len(ping)) + b"\n")
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
def test_big_requests_with_stdout_unread_are_bounded_by_their_bytes_in_flight() -> None:
    """Lines that parse to 25 times their size: 16 in flight would take 400 MiB more; 2 MiB of them are let in."""
    pad = b",".join([b"[]"] * (1024 * 1024 // 3))
    heavy = b'{"jsonrpc":"2.0","id":"heavy %d","method":"ping","params":{"_meta":{"pad":[' + pad + b"]}}}\n"
    small = frames(*({"jsonrpc": "2.0", "id": i, "method": "ping"} for i in range(3000)))  # They fill stdout.
    grown, replies = held_back(SERVER, frames(PING), small + b"".join(heavy % i for i in range(16)), 3016)
    assert grown < 120, f"{grown:.0f} MiB"
    assert len({reply["id"] for reply in replies}) == 3016


@needs_proc
def test_a_client_that_writes_without_reading_is_held_back_and_then_fully_answered() -> None:
    count = 8_000
    grown, replies = held_back(SERVER, frames(initialize_request()), frames(*map(sample_call, range(count))), count)
    assert grown < 16, f"{grown:.0f} MiB for {MAX_IN_FLIGHT} requests in flight"
    assert sorted(reply["id"] for reply in replies) == list(range(count))


# Faults and signals ----------------------------------------------------------------------


def stopped_by_host(stdout: int) -> subprocess.CompletedProcess[bytes]:
    """The server with `stdout` as its stdout, given one request and then no EOF."""
    feed = frames(initialize_request()) + b'{"jsonrpc":"2.0","id":2,"method":"ping"}\n'
    with start_python(SERVER, stdin=subprocess.PIPE, stdout=stdout, stderr=subprocess.PIPE) as process:
        assert process.stdin
        assert process.stderr
        process.stdin.write(feed)
        process.stdin.flush()
        code = process.wait(timeout=REPLY_TIMEOUT)  # Raises if it waits for stdin to close.
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
    last = done.stderr.decode().splitlines()[-1]
    broken = "[Errno 22] Invalid argument" if sys.platform == "win32" else "[Errno 32] Broken pipe"  # Each OS's words.
    assert last.endswith(f"ERROR {NAME}: stopping: cannot use stdio ({broken})")


@pytest.mark.skipif(not LINUX, reason="needs Linux's /dev/full")
def test_a_full_stdout_ends_the_server_at_once_with_one_line() -> None:
    with open("/dev/full", "wb") as full:
        done = stopped_by_host(full.fileno())
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr
    last = done.stderr.decode().splitlines()[-1]
    assert last.endswith(f"ERROR {NAME}: stopping: cannot use stdio ([Errno 28] No space left on device)")


@pytest.mark.skipif(sys.platform == "win32", reason=POSIX_SIGNALS)
def test_a_stop_signal_finishes_the_reply_being_written() -> None:
    size = 1_000_000  # Far more than the pipe holds: the server is in the middle of writing it.
    feed = frames(initialize_request(), INITIALIZED, call_request(2, "big", {"size": size}))
    with start_python(
        PROBE, cwd=PROJECT_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as server:
        assert server.stdin
        assert server.stdout
        assert server.stderr
        server.stdin.write(feed)
        server.stdin.flush()
        stdout_fd = server.stdout.fileno()
        wait_for(lambda: pipe_holds(stdout_fd) > 4096, "the server to start writing the big reply")
        server.send_signal(signal.SIGTERM)
        lines = server.stdout.read().splitlines()
        stderr = server.stderr.read().decode()
        assert server.wait(timeout=REPLY_TIMEOUT) == 0
    assert [json.loads(line)["id"] for line in lines] == [1, 2]
    assert json.loads(lines[1])["result"]["content"][0]["text"] == "x" * size
    assert stderr.splitlines()[-1].endswith("INFO probe: stopping on SIGTERM")


@pytest.mark.skipif(sys.platform == "win32", reason=POSIX_SIGNALS)
def test_a_stop_signal_ends_the_server_while_nobody_reads_its_full_stderr() -> None:
    with start_python(
        PROBE, cwd=PROJECT_DIR, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as server:
        assert server.stdin
        assert server.stderr
        server.stdin.write(frames(initialize_request(), INITIALIZED, call_request(2, "log", {"size": 1_000_000})))
        server.stdin.flush()
        stderr_fd = server.stderr.fileno()
        wait_for(lambda: pipe_holds(stderr_fd) > 4096, "the server to be writing a log line to stderr")
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=REPLY_TIMEOUT) == 0
        server.stdin.close()


STARTING = [
    "argparse",
    "tomllib",
    "kit.stdio_repairs",
    "anyio",
    "pydantic",
    "mcp_types",
    "mcp.server",
    "mcp.server.stdio",
]


@pytest.mark.skipif(sys.platform == "win32", reason=POSIX_SIGNALS)
@pytest.mark.parametrize(
    ("launch", "module"),
    [*(("script", module) for module in STARTING), ("module", "kit.stdio_repairs"), ("elsewhere", "kit.stdio_repairs")],
)
def test_ctrl_c_at_any_point_of_start_up_ends_the_process_without_a_traceback(
    tmp_path: Path, launch: str, module: str
) -> None:
    """Deterministic: the process sends itself SIGINT as it first imports `module`, however it was started."""
    (tmp_path / "sitecustomize.py").write_text(
        "import os, signal, sys\n"
        "class SigintOnImport:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {module!r}:\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "sys.meta_path.insert(0, SigintOnImport())\n",
        encoding="utf-8",
    )
    command = {
        "script": [*SERVER],
        "module": [sys.executable, "-m", SERVER_MODULE],
        "elsewhere": [sys.executable, os.path.relpath(PROJECT_DIR / SERVER_FILE, tmp_path)],
    }[launch]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(PROJECT_DIR)])}
    done = subprocess.run(
        command,
        cwd=tmp_path if launch == "elsewhere" else PROJECT_DIR,
        env=env,
        stdin=subprocess.PIPE,
        capture_output=True,
        timeout=REPLY_TIMEOUT,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (-signal.SIGINT, b"", b"")


def served_with(stdin: Stdio, stdout: Stdio) -> subprocess.CompletedProcess[bytes]:
    """The server started with `stdin` and `stdout` (CLOSED: a descriptor closed, as by a shell's `<&-`), to its end."""
    with start_python(SERVER, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE) as server:
        output, stderr = server.communicate(timeout=REPLY_TIMEOUT)
    return subprocess.CompletedProcess(SERVER, server.wait(), output, stderr)


def assert_ended_as_stdin_closed(done: subprocess.CompletedProcess[bytes]) -> None:
    assert (done.returncode, done.stdout) == (0, b"")
    assert b"Traceback" not in done.stderr
    assert done.stderr.decode().splitlines()[-1].endswith(f"INFO {NAME}: stdin closed; exiting")


closes_descriptors = pytest.mark.skipif(sys.platform == "win32", reason="starts a process with a descriptor closed")


@closes_descriptors
def test_a_closed_stdin_is_an_empty_one() -> None:
    assert_ended_as_stdin_closed(served_with(CLOSED, subprocess.PIPE))


def test_the_null_device_as_stdin_is_an_empty_one() -> None:
    assert_ended_as_stdin_closed(served_with(subprocess.DEVNULL, subprocess.PIPE))


@closes_descriptors
def test_started_with_stdout_closed_it_says_so_in_one_line() -> None:
    done = served_with(subprocess.DEVNULL, CLOSED)
    assert done.returncode == 1
    [line] = done.stderr.decode().splitlines()
    assert line.endswith(f"ERROR {NAME}: stdout is closed, so there is nowhere to write replies; exiting")


def test_a_regular_file_as_stdin_and_stdout_is_served_and_left_as_it_was(tmp_path: Path) -> None:
    requests, replies = tmp_path / "requests.jsonl", tmp_path / "replies.jsonl"
    requests.write_bytes(frames(initialize_request(), INITIALIZED, sample_call(2), PING))
    with (
        requests.open("rb") as stdin,
        replies.open("wb") as stdout,
        start_python(SERVER, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE) as server,
    ):
        _, stderr = server.communicate(timeout=REPLY_TIMEOUT)
    assert server.wait() == 0, stderr
    assert [json.loads(line)["id"] for line in replies.read_text().splitlines()] == [1, 2, "after"]


# The fourth hostile review's classes ---------------------------------------------------------


def test_a_client_s_error_response_reaches_the_sdk_and_is_never_written_back() -> None:
    process = StdioServer(launch=PROBE)
    hello = initialize_request()
    hello["params"]["capabilities"] = {"roots": {}}
    process.request(hello)
    process.send(INITIALIZED)
    process.send(call_request(2, "roots", {}))
    asked = process.read()
    assert asked["method"] == "roots/list"
    refusal = {"code": -1, "message": "no roots here\nFORGED 2026 ERROR a log line"}
    process.send({"jsonrpc": "2.0", "id": asked["id"], "error": refusal})
    assert process.read() == {
        "jsonrpc": "2.0",
        "id": 2,
        "result": {"content": [{"type": "text", "text": f"refused: {refusal['message']}"}], "isError": False},
    }
    process.send({"jsonrpc": "2.0", "id": 1, "error": {"code": -1, "message": "x" * 100_000 + "\nFORGED"}})
    assert process.request(PING) == PONG  # The next line out: the unsolicited error was not written back.
    process.close_stdin()
    assert not any(line.startswith("FORGED") for line in assert_clean_exit(process))


@needs_proc
def test_a_cancel_after_the_reply_frees_no_second_slot_and_memory_stays_bounded() -> None:
    pad = "p" * 63_000
    pairs = [
        frame
        for index in range(130)  # About 8 MiB of requests, each answered with 100 kB into a stdout nobody reads.
        for frame in (
            call_request(index, "big", {"size": 100_000, "pad": pad}),
            cancel(index),
        )
    ]
    with start_python(
        PROBE, cwd=PROJECT_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ) as server:
        assert server.stdin
        assert server.stdout
        server.stdin.write(frames(initialize_request(), INITIALIZED))
        server.stdin.flush()
        server.stdout.readline()
        idle = rss_mib(server.pid)
        writer = threading.Thread(target=server.stdin.write, args=(frames(*pairs),), daemon=True)
        writer.start()
        stdin_fd = server.stdin.fileno()
        wait_for(lambda: pipe_is_full(stdin_fd), "the server to stop reading stdin")
        grown = rss_mib(server.pid) - idle
        assert writer.is_alive(), "the server read all it was sent although nothing could be answered"
        replies: list[Any] = []
        reader = threading.Thread(target=lambda: replies.extend(json.loads(line) for line in server.stdout or []))
        reader.start()
        writer.join(timeout=REPLY_TIMEOUT)
        server.stdin.close()
        assert server.wait(timeout=REPLY_TIMEOUT) == 0
        reader.join(timeout=REPLY_TIMEOUT)
    assert grown < 64, f"{grown:.0f} MiB"
    ids = [reply["id"] for reply in replies]
    assert len(ids) == len(set(ids)), "a request was answered twice"


def test_a_full_window_still_reads_cancellations_and_eof() -> None:
    process = StdioServer(launch=PROBE)
    process.initialize()
    process.write(frames(*[call_request(f"hold-{n}", "hold", {}) for n in range(MAX_IN_FLIGHT)]))
    process.write(frames(*[cancel(f"hold-{n}") for n in range(MAX_IN_FLIGHT)]))
    assert process.request(PING) == PONG
    process.close_stdin()
    assert not any("unanswered" in line for line in assert_clean_exit(process))
    assert process.remaining_stdout() == []


def test_many_unexpected_argument_names_are_counted_not_listed(initialized_server: StdioServer) -> None:
    extra = {f"extra-{n}": n for n in range(100_000)}
    reply = initialized_server.request(call_request("many", SAMPLE_TOOL, {**SAMPLE_ARGUMENTS, **extra}))
    assert reply["result"]["isError"] is True
    text = reply["result"]["content"][0]["text"]
    assert '"extra-0", "extra-1", "extra-2", "extra-3", "extra-4" and 99995 more; the accepted arguments are' in text
    assert len(text) < 1000


def test_an_id_reused_inside_a_batch_is_refused_and_nothing_unrelated_is_lost() -> None:
    process = StdioServer(launch=PROBE)
    process.initialize("2025-03-26")
    process.send([call_request("dup", "hold", {}), {"jsonrpc": "2.0", "id": "innocent", "method": "ping"}])
    process.send([{"jsonrpc": "2.0", "id": "dup", "method": "ping"}])
    assert process.read_value() == [{"jsonrpc": "2.0", "id": "dup", "error": {"code": -32600, "message": IN_USE}}]
    process.send(call_request("release", "release", {}))
    first, second = process.read_value(), process.read_value()
    batch = first if isinstance(first, list) else second
    assert isinstance(batch, list)
    assert sorted(batch, key=lambda reply: reply["id"]) == [
        {
            "jsonrpc": "2.0",
            "id": "dup",
            "result": {"content": [{"type": "text", "text": "released"}], "isError": False},
        },
        {"jsonrpc": "2.0", "id": "innocent", "result": {}},
    ]
    process.close_stdin()
    assert not any("unanswered" in line for line in assert_clean_exit(process))


def test_a_byte_order_mark_before_the_first_message_is_skipped() -> None:
    process = StdioServer()
    process.write(b"\xef\xbb\xbf" + frames(initialize_request()))
    reply = process.read()
    assert (reply["id"], reply["result"]["serverInfo"]["name"]) == (1, NAME)
    process.close_stdin()
    assert_clean_exit(process)


@pytest.mark.parametrize(("request_id", "expected"), [(1.5, None), (3, 3)], ids=["float", "integer"])
def test_an_escaped_id_key_is_read_as_id(shared: StdioServer, request_id: Any, expected: Any) -> None:
    shared.write(b'{"jsonrpc":"2.0","\\u0069d":' + json.dumps(request_id).encode() + b',"method":"ping"}\n')
    reply = shared.read()
    assert reply["id"] == expected
    assert ("result" in reply) is (expected is not None)


@pytest.mark.skipif(not LINUX, reason="counts threads in /proc (Linux)")
def test_a_non_blocking_stdin_on_the_worker_thread_path_is_waited_on() -> None:
    """Node.js leaves terminals non-blocking; on Windows, files and terminals, a worker thread reads stdin."""
    reader, writer = os.pipe()
    os.set_blocking(reader, False)
    server = start_python(
        SERVER,
        cwd=PROJECT_DIR,
        stdin=reader,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "STDIO_REPAIRS_THREADS": "1"},
    )
    os.close(reader)
    tasks = Path(f"/proc/{server.pid}/task")
    wait_for(lambda: server.poll() is not None or len(list(tasks.glob("*"))) > 1, "the worker thread to read")
    os.write(writer, frames(initialize_request()))
    assert server.stdout
    reply = json.loads(server.stdout.readline() or b"null")
    os.close(writer)
    assert server.wait(timeout=REPLY_TIMEOUT) == 0
    assert reply["id"] == 1, reply


def test_a_line_just_over_the_limit_is_refused_even_when_its_newline_comes_in_the_same_read(
    shared: StdioServer,
) -> None:
    ping = json.dumps({"jsonrpc": "2.0", "id": "long", "method": "ping"}).encode()
    shared.write(ping + b" " * (MAX_LINE_BYTES - len(ping) + 1000) + b"\n")
    assert shared.read()["error"]["code"] == -32600
    assert shared.request(PING) == PONG


def test_a_request_nested_too_deeply_to_read_keeps_its_id(shared: StdioServer) -> None:
    depth = 100_000  # Deeper than json reads on any Python (3.13 reads 5,000 levels; 3.11, some 990).
    shared.write(b'{"jsonrpc":"2.0","id":5,"method":"ping","params":{"x":' + b"[" * depth + b"]" * depth + b"}}\n")
    assert shared.read() == {"jsonrpc": "2.0", "id": 5, "error": {"code": -32600, "message": TOO_DEEP}}
    assert shared.request(PING) == PONG
