"""The real process over stdio: both protocol eras, errors on the wire, lifecycle and command line.

Only what any server made from the template does: the calls are of its own sample tool.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from typing import Any

import mcp_types as types
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit import serving, stdio_repairs
from kit.stdio_repairs import TOO_DEEP

if sys.platform != "win32":
    import pty

from tests.conftest import (
    INITIALIZED,
    LEGACY_VERSIONS,
    MODERN_VERSION,
    NAME,
    REPLY_TIMEOUT,
    SAMPLE_ARGUMENTS,
    SAMPLE_TOOL,
    SERVER,
    SERVER_FILE,
    TOOLS,
    VERSION,
    StdioServer,
    assert_clean_exit,
    call_request,
    envelope,
    host_launch,
    initialize_request,
    run_python,
    run_script,
    sample_call,
    server,
    start_python,
)

LOG_LEVEL_VARIABLE = serving.log_level_variable(NAME)
TOOL_NAMES = [tool.name for tool in TOOLS]
PARSE_ERROR = {
    "jsonrpc": "2.0",
    "id": None,
    "error": {"code": -32700, "message": "Parse error: each line must be one JSON value"},
}
INVALID_REQUEST = {
    "jsonrpc": "2.0",
    "id": None,
    "error": {"code": -32600, "message": "Invalid Request: not a JSON-RPC 2.0 message"},
}


def assert_sample_answered(reply: dict[str, Any]) -> None:
    """A reply to `sample_call`: a result, not an error, with its text (and structured content as JSON text)."""
    result = reply["result"]
    assert result["isError"] is False, reply
    assert result["content"][0]["type"] == "text"
    if "structuredContent" in result:
        assert json.loads(result["content"][0]["text"]) == result["structuredContent"]


@pytest.mark.parametrize("version", LEGACY_VERSIONS)
def test_handshake_era_versions_are_served(stdio_server: StdioServer, version: str) -> None:
    reply = stdio_server.initialize(version)
    assert reply["result"]["protocolVersion"] == version
    assert reply["result"]["serverInfo"]["name"] == NAME
    assert reply["result"]["serverInfo"]["version"] == VERSION
    assert "tools" in reply["result"]["capabilities"]
    listed = stdio_server.request({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert [tool["name"] for tool in listed["result"]["tools"]] == TOOL_NAMES
    assert_sample_answered(stdio_server.request(sample_call(3)))
    stdio_server.close_stdin()
    assert_clean_exit(stdio_server)
    assert stdio_server.remaining_stdout() == []


def test_launched_as_hosts_launch_it_with_uv() -> None:
    process = StdioServer(launch=host_launch())
    assert process.initialize()["result"]["serverInfo"]["version"] == VERSION
    assert_sample_answered(process.request(sample_call(2)))
    process.close_stdin()
    assert_clean_exit(process)


def test_stateless_2026_era_is_served(stdio_server: StdioServer) -> None:
    discovered = stdio_server.request({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": envelope()})
    assert MODERN_VERSION in discovered["result"]["supportedVersions"]
    listed = stdio_server.request({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": envelope()})
    assert [tool["name"] for tool in listed["result"]["tools"]] == TOOL_NAMES
    call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call"}
    called = stdio_server.request({**call, "params": envelope(name=SAMPLE_TOOL, arguments=SAMPLE_ARGUMENTS)})
    assert_sample_answered(called)
    assert called["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == NAME
    stdio_server.close_stdin()
    assert_clean_exit(stdio_server)


def test_start_logs_one_line_to_stderr_and_nothing_to_stdout(stdio_server: StdioServer) -> None:
    stdio_server.close_stdin()
    assert_clean_exit(stdio_server)
    assert stdio_server.remaining_stdout() == []
    lines = stdio_server.stderr.decode().splitlines()
    served = (
        rf"\S+ \S+ INFO {re.escape(NAME)}: {re.escape(NAME)} {re.escape(VERSION)} serving MCP over stdio \(pid \d+\)"
    )
    assert re.fullmatch(served, lines[0])
    assert len(lines) == 2
    assert lines[1].endswith(f"INFO {NAME}: stdin closed; exiting")


@pytest.mark.parametrize("arguments", ["Ada", ["Ada"], 7, True], ids=["string", "array", "number", "boolean"])
def test_non_object_arguments_are_a_protocol_error(initialized_server: StdioServer, arguments: Any) -> None:
    """A tools/call that fails the CallToolRequest schema is -32602 (spec 2025-11-25, server/tools)."""
    reply = initialized_server.request(call_request(2, SAMPLE_TOOL, arguments))
    assert reply["error"]["code"] == -32602
    assert reply["error"]["message"] == "Invalid request parameters"
    assert "result" not in reply


def test_unknown_tool_is_a_json_rpc_invalid_params_error(initialized_server: StdioServer) -> None:
    reply = initialized_server.request(call_request(2, "no_such_tool", {}))
    assert reply["error"]["code"] == -32602
    assert reply["error"]["message"].startswith("Unknown tool: 'no_such_tool'. Available: ")


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        (b"garbage", PARSE_ERROR),
        (
            b"\xff\xfe\xfd not utf-8",
            {**PARSE_ERROR, "error": {"code": -32700, "message": "Parse error: a line must be UTF-8"}},
        ),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "ping"', PARSE_ERROR),
        (b"[" * 100_000 + b"]" * 100_000, {**INVALID_REQUEST, "error": {"code": -32600, "message": TOO_DEEP}}),
        (b"NaN", PARSE_ERROR),
        (b'{"jsonrpc": "1.0", "method": "ping"}', INVALID_REQUEST),
        (b'"' + b"x" * (3 * 1024 * 1024) + b'"', INVALID_REQUEST),
    ],
    ids=["garbage", "invalid-utf8", "partial", "deep-nesting", "nan", "wrong-version", "3MB"],
)
def test_a_line_that_is_not_json_rpc_gets_an_error_reply_and_the_server_goes_on(
    initialized_server: StdioServer, line: bytes, reply: dict[str, Any]
) -> None:
    initialized_server.write(line + b"\n")
    assert initialized_server.read() == reply
    assert initialized_server.request({"jsonrpc": "2.0", "id": 7, "method": "ping"}) == {
        "jsonrpc": "2.0",
        "id": 7,
        "result": {},
    }
    assert_sample_answered(initialized_server.request(sample_call(8)))


def test_a_multi_megabyte_unexpected_argument_is_a_short_tool_error(initialized_server: StdioServer) -> None:
    reply = initialized_server.request(call_request(2, SAMPLE_TOOL, {**SAMPLE_ARGUMENTS, "x" * 3_000_000: 1}))
    assert reply["result"]["isError"] is True
    assert len(reply["result"]["content"][0]["text"]) < 1000


def test_every_request_written_before_eof_is_answered() -> None:
    process = StdioServer()
    count = 300
    batch = [initialize_request(), INITIALIZED, *(sample_call(i) for i in range(2, count + 2))]
    process.write(b"".join(json.dumps(message).encode() + b"\n" for message in batch))
    process.close_stdin()
    assert_clean_exit(process)
    replies = [json.loads(line) for line in process.remaining_stdout()]
    assert sorted(reply["id"] for reply in replies) == list(range(1, count + 2))
    for reply in replies[1:]:
        assert_sample_answered(reply)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals; tests/test_windows.py sends Windows' own")
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", 0)], ids=str)
def test_stop_signals_exit_zero_without_traceback(stdio_server: StdioServer, stop_signal: signal.Signals) -> None:
    stdio_server.initialize()
    stdio_server.process.send_signal(stop_signal)
    assert_clean_exit(stdio_server)
    assert stdio_server.stderr.decode().splitlines()[-1].endswith(f"INFO {NAME}: stopping on {stop_signal.name}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    arguments=st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(max_size=30),
            lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children),
            max_leaves=10,
        ),
        max_size=3,
    )
)
def test_any_unexpected_argument_is_a_tool_error_on_the_wire(
    initialized_server: StdioServer, arguments: dict[str, Any]
) -> None:
    odd = {f"unexpected {name}": value for name, value in arguments.items()} or {"unexpected": None}
    reply = initialized_server.request(call_request(2, SAMPLE_TOOL, {**SAMPLE_ARGUMENTS, **odd}))
    assert reply["result"]["isError"] is True, reply
    assert reply["result"]["content"][0]["text"].startswith(f"Invalid arguments for {SAMPLE_TOOL}: ")


def test_an_id_is_free_again_as_soon_as_its_reply_is_read(initialized_server: StdioServer) -> None:
    """A client may reuse an id once it has its reply; on the worker-thread path the write returns later."""
    for _ in range(1000):
        reply = initialized_server.request({"jsonrpc": "2.0", "id": 7, "method": "ping"})
        assert reply == {"jsonrpc": "2.0", "id": 7, "result": {}}, reply


def test_version_flag_prints_name_and_version() -> None:
    done = run_script(SERVER_FILE, "--version")
    assert (done.returncode, done.stdout) == (0, f"{NAME} {VERSION}\n")


def test_help_describes_the_server_and_points_to_setup() -> None:
    done = run_script(SERVER_FILE, "--help")
    assert done.returncode == 0
    assert all(name in done.stdout for name in TOOL_NAMES)
    assert "--log-level" in done.stdout
    assert LOG_LEVEL_VARIABLE in done.stdout
    assert "host_setup.py" in done.stdout


def test_a_bad_log_level_is_refused_with_the_rule() -> None:
    done = run_script(SERVER_FILE, env={LOG_LEVEL_VARIABLE: "chatty"})
    assert done.returncode == 2
    assert f"{LOG_LEVEL_VARIABLE} must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'CHATTY'" in done.stderr
    assert done.stdout == ""


def test_debug_log_level_reaches_stderr_only() -> None:
    done = run_python([*SERVER, "--log-level", "debug"], input=json.dumps(initialize_request()).encode() + b"\n")
    assert done.returncode == 0
    assert b" DEBUG " in done.stderr
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == [1]


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX terminal (pty)")
def test_started_in_a_terminal_it_says_what_it_waits_for() -> None:
    controller, terminal = pty.openpty()
    process = start_python(SERVER, stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(terminal)
    os.write(controller, b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n\x04')
    stdout, stderr = process.communicate(timeout=REPLY_TIMEOUT)
    os.close(controller)
    assert process.returncode == 0
    assert b"it waits for JSON-RPC messages on stdin" in stderr
    assert b"Ctrl-C" in stderr
    assert json.loads(stdout.splitlines()[-1]) == {"jsonrpc": "2.0", "id": 1, "result": {}}


@pytest.mark.anyio
async def test_each_line_is_parsed_exactly_once_and_the_sdk_parses_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader parses a line, judges it, and hands the SDK the message it parsed: nothing is read twice."""
    lines = [
        json.dumps(message)
        for message in (
            initialize_request(),
            INITIALIZED,
            sample_call(2),
            {"jsonrpc": "2.0", "id": 3, "method": "ping"},
            {"jsonrpc": "2.0", "id": 4, "method": "no/such/method"},
        )
    ]
    parsed: list[str] = []
    loads, validate_python = json.loads, types.jsonrpc_message_adapter.validate_python
    monkeypatch.setattr(json, "loads", lambda text, **options: parsed.append(text) or loads(text, **options))
    monkeypatch.setattr(types.jsonrpc_message_adapter, "validate_json", None)  # A second parse would fail loudly.
    validated: list[object] = []
    monkeypatch.setattr(
        types.jsonrpc_message_adapter,
        "validate_python",
        lambda value, **options: validated.append(value) or validate_python(value, **options),
    )
    stdin_reader, stdin_writer = os.pipe()
    stdout_reader, stdout_writer = os.pipe()
    os.write(stdin_writer, "".join(line + "\n" for line in lines).encode())
    os.close(stdin_writer)
    stdin, stdout = stdio_repairs.Wire(stdin_reader, writes=False), stdio_repairs.Wire(stdout_writer, writes=True)
    try:
        await stdio_repairs.serve_streams(server, stdin, stdout)
        replies = os.read(stdout_reader, 1 << 20).decode().splitlines()
    finally:
        stdout.restore()
        for fd in (stdin_reader, stdout_reader, stdout_writer):
            os.close(fd)
    assert [json.loads(reply)["id"] for reply in replies] == [1, 2, 3, 4]
    assert [text for text in parsed if text in lines] == lines
    assert len(validated) == len(lines)
