"""check: start the server as Claude Desktop would, shake hands, list the tools and call one, and say
what happened, one escaped line per field.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Protocol, Self, TextIO

import anyio
import mcp_types as types
from anyio.abc import ObjectReceiveStream
from mcp import Client, StdioServerParameters, stdio_client
from mcp.shared.message import SessionMessage
from pydantic import ValidationError
from pydantic_core import SchemaError, SchemaValidator, core_schema

from kit.apps import (
    CERTIFICATE_ERRORS,
    DESKTOP_START_SECONDS,
    SYSTEM_CERTS_FIX,
    DesktopInstall,
)
from kit.edits import configured_entry
from kit.project import NAME, SetupError, command_line, powershell_line, shown

CHECK_TEXT = "check"  # The string argument `check` fills in, where a tool's schema allows it.


class StderrTail:
    """The server's stderr, read as it comes; only its last TAIL_BYTES are kept, however much it writes."""

    TAIL_BYTES = 2000

    def __init__(self) -> None:
        reader, writer = os.pipe()
        self.file = open(writer, "w", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self._tail = bytearray()
        self._lock = threading.Lock()
        self._reading = threading.Thread(target=self._read, args=(reader,), daemon=True)
        self._reading.start()

    def _read(self, reader: int) -> None:
        with open(reader, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                with self._lock:
                    self._tail += chunk
                    del self._tail[: -self.TAIL_BYTES]

    def close(self) -> str:
        """Stop writing our end, wait briefly for the server's last words, and return the tail."""
        self.file.close()
        self._reading.join(timeout=1.0)  # A child that outlives the server may hold the pipe open.
        with self._lock:
            return self._tail.decode("utf-8", errors="replace")


class NotJsonRpc(Exception):
    """The server wrote a line to stdout that is not a JSON-RPC message."""


class MessageSource(Protocol):
    async def receive(self) -> SessionMessage | Exception: ...
    async def aclose(self) -> None: ...


class MessageSink(Protocol):
    async def send(self, item: SessionMessage, /) -> None: ...
    async def aclose(self) -> None: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc_val: BaseException | None, exc_tb: TracebackType | None
    ) -> bool | None: ...


class WatchedStdout(ObjectReceiveStream[SessionMessage]):
    """The server's stdout as the client reads it; the first line that is not JSON-RPC ends the check."""

    def __init__(self, stream: MessageSource) -> None:
        self.stream = stream

    async def receive(self) -> SessionMessage:
        item = await self.stream.receive()
        if isinstance(item, Exception):
            details = item.errors() if isinstance(item, ValidationError) else []
            line = details[0]["input"] if details and isinstance(details[0]["input"], str) else str(item)
            line = line.removesuffix("\r")  # Windows' text mode ends a printed line with CR LF.
            raise NotJsonRpc(f"the server wrote something that is not JSON-RPC to stdout: {line[:200]!r}")
        return item

    async def aclose(self) -> None:
        await self.stream.aclose()


@asynccontextmanager
async def watched_stdio(
    parameters: StdioServerParameters, errlog: TextIO
) -> AsyncGenerator[tuple[WatchedStdout, MessageSink]]:
    async with stdio_client(parameters, errlog=errlog) as (stdout, stdin):
        yield WatchedStdout(stdout), stdin


Configured = tuple[dict[str, Any], str]  # The entry Claude Desktop would run, and where it comes from.


async def check(app: DesktopInstall, name: str, seconds: float, configured: Configured | None = None) -> dict[str, Any]:
    """Start the server as Claude Desktop would, list its tools, make one call, and report what happened.

    The call is to a read-only tool whose arguments `check` can fill in from its schema.
    The end of the server's stderr is in the report when the check fails.
    `configured` is `configured_entry`'s answer, when the caller has read it already.
    """
    report: dict[str, Any] = {
        "ok": False,
        "app": app.kind
        + (" (the config named with --config)" if app.named else "" if app.found else " (not found here)"),
        "config": str(app.config),
        "log": app.log_file(name),
    }
    entry, report["source"] = configured or configured_entry(app, name)
    server_log = StderrTail()
    try:
        async with anyio.create_task_group() as group:  # A stop signal ends the check, and with it the server.
            group.start_soon(stop_on_signals, group.cancel_scope, report)
            await start_and_call(entry, seconds, server_log.file, report)
            group.cancel_scope.cancel()
    finally:
        stderr = server_log.close()
    if report["ok"] and report["startup_ms"] > DESKTOP_START_SECONDS * 1000:
        report["ok"] = False
        report["error"] = (
            f"it took longer to start than the {DESKTOP_START_SECONDS} s Claude Desktop waits. {SLOW_START}"
        )
    if not report["ok"]:
        report["server_stderr"] = stderr
        if CERTIFICATE_ERRORS.search(stderr):
            report["error"] = SYSTEM_CERTS_FIX
    return report


SLOW_START = "A first start makes its environment: run install, which makes it ahead of the app, then check again"


async def stop_on_signals(scope: anyio.CancelScope, report: dict[str, Any]) -> None:
    """SIGTERM or SIGHUP ends the check, and the server it started with it (POSIX: Windows' loop takes no signals)."""
    if sys.platform == "win32":
        return
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGHUP) as signals:
        async for signum in signals:
            report["error"] = f"stopped by {signal.Signals(signum).name}"
            scope.cancel()


async def start_and_call(entry: dict[str, Any], seconds: float, server_log: TextIO, report: dict[str, Any]) -> None:
    """The check itself, with the server's stderr going to `server_log`; what it finds goes into `report`."""
    command: list[str] = [entry["command"], *entry.get("args", [])]
    report["command"] = command
    parameters = StdioServerParameters(command=command[0], args=command[1:], env=entry.get("env"))
    started = time.perf_counter()
    try:
        with anyio.fail_after(seconds):
            async with Client(watched_stdio(parameters, server_log), mode="legacy") as client:
                report["protocol_version"] = client.protocol_version
                info = client.server_info
                report["server"] = f"{info.name} {info.version}" if info else None
                report["startup_ms"] = round((time.perf_counter() - started) * 1000, 1)
                sent = time.perf_counter()
                tools = (await client.list_tools()).tools
                report["tools"] = [tool.name for tool in tools]
                sample = callable_tool(tools)
                if sample is None:
                    report["called"] = NO_CALL
                else:
                    report["called"] = f"{sample[0]} {json.dumps(sample[1], ensure_ascii=False)}"
                    sent = time.perf_counter()
                    report["answer"] = answer(await client.call_tool(*sample), sample[0])
                report["round_trip_ms"] = round((time.perf_counter() - sent) * 1000, 2)
        report["ok"] = True
    except TimeoutError:
        slow = f". {SLOW_START}" if seconds >= DESKTOP_START_SECONDS else ""
        report["error"] = f"no complete answer within {seconds:g} s{slow}"
    except Exception as error:  # Any way the server fails to start or speak is the finding.
        cause = root_cause(error)
        known = isinstance(cause, SetupError | NotJsonRpc)
        report["error"] = str(cause) if known else f"the server did not start or answer: {cause}"


NO_CALL = "nothing: no tool can be called without a model (none is read-only with arguments check can fill in)"


MAX_SAMPLE_LENGTH = 1000  # Characters of a sample string; a tool that needs more is not called.


def answer(result: types.CallToolResult, tool: str) -> str:
    """The call's first text, for the report; an error result fails the check."""
    text = next((part.text for part in result.content if isinstance(part, types.TextContent)), "")
    if result.is_error:
        raise SetupError(f"{tool} answered with an error: {shortened(text, 300)}")
    return shortened(text, 200)


def shortened(text: str, most: int) -> str:
    return text if len(text) <= most else text[:most] + "..."


def callable_tool(tools: list[types.Tool]) -> tuple[str, dict[str, Any]] | None:
    """The first read-only tool whose arguments can be made from its schema alone, with those arguments."""
    for tool in tools:
        hints = tool.annotations
        if hints is None or not hints.read_only_hint:
            continue
        arguments = sample_arguments(tool.input_schema)
        if arguments is not None:
            return tool.name, arguments
    return None


def sample_arguments(schema: dict[str, Any]) -> dict[str, Any] | None:
    """Values for an object schema's required properties that it accepts; None where this cannot tell."""
    properties: dict[str, Any] = schema.get("properties", {})
    arguments: dict[str, Any] = {}
    for name in schema.get("required", []):
        value = sample_value(properties.get(name, {}))
        if value is None:
            return None
        arguments[name] = value
    return arguments


def sample_value(schema: dict[str, Any]) -> object | None:
    """A value the schema accepts, for the simple schemas of tool arguments; None for any other."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    match schema.get("type"):
        case "string":
            if schema.get("minLength", 0) > MAX_SAMPLE_LENGTH:
                return None
            text = CHECK_TEXT.ljust(schema.get("minLength", 0), "!")[: schema.get("maxLength")]
            pattern = schema.get("pattern")
            return None if pattern is not None and not matches(pattern, text) else text
        case "integer" | "number" as kind:
            low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
            value = math.ceil(low) if kind == "integer" else low
            high = schema.get("maximum", math.inf)
            return value if value <= high and value < schema.get("exclusiveMaximum", math.inf) else None
        case "boolean":
            return False
        case _:
            return None


def matches(pattern: str, text: str) -> bool:
    """Whether `text` matches a schema's `pattern`, in linear time: a server's pattern may be written to
    backtrack for hours in Python's `re`. One Rust's regex engine cannot read (a lookaround) is no match."""
    try:
        validator = SchemaValidator(core_schema.str_schema(pattern=pattern, regex_engine="rust-regex"))
        validator.validate_python(text)
    except (SchemaError, ValidationError):
        return False
    return True


def root_cause(error: BaseException) -> BaseException:
    """What explains a failure: our own finding anywhere in nested exception groups, else their only member."""
    inner: tuple[BaseException, ...] = getattr(error, "exceptions", ())
    for member in inner:
        if isinstance(found := root_cause(member), SetupError | NotJsonRpc):
            return found
    return root_cause(inner[0]) if len(inner) == 1 else error


def run_check(
    app: DesktopInstall, name: str, seconds: float, as_json: bool, configured: Configured | None = None
) -> int:
    """Print the check's report; the exit code is 0 when the server is healthy."""
    logging.getLogger("mcp").setLevel(logging.CRITICAL)  # The report says what went wrong, once.
    report = anyio.run(check, app, name, seconds, configured)
    if as_json:
        print(json.dumps(report, indent=2))  # ASCII only: no control character reaches a terminal raw.
    else:
        print_check(report)
    return 0 if report["ok"] else 1


def print_check(report: dict[str, Any]) -> None:
    """The report for a person: every value from the server or the config is shown escaped, one line each."""
    print(f"{NAME} check: {'OK' if report['ok'] else 'FAILED'}")
    print(f"  app:        {shown(report['app'])}")
    print(f"  reads:      {shown(report['config'])}")
    print(f"  command:    {shown(command_line(report['command']))}")
    if sys.platform == "win32" and powershell_line(report["command"]) != command_line(report["command"]):
        print(f"  powershell: {shown(powershell_line(report['command']))}")
    print(f"  from:       {shown(report['source'])}")
    for label, key, unit in [
        ("protocol", "protocol_version", ""),
        ("server", "server", ""),
        ("tools", "tools", ""),
        ("called", "called", ""),
        ("answer", "answer", ""),
        ("start-up", "startup_ms", " ms (spawn to handshake)"),
        ("round trip", "round_trip_ms", " ms"),
        ("log", "log", " (the server's stderr, when Claude Desktop starts it)"),
    ]:
        if report.get(key) is not None:
            value = ", ".join(report[key]) if key == "tools" else report[key]
            print(f"  {label + ':':<11} {shown(str(value))}{unit}")
    if not report["ok"]:
        print(f"  problem:    {shown(report['error'])}")
        if report.get("server_stderr", "").strip():
            print("  the server's stderr ended with:")
            for line in report["server_stderr"].strip().replace("\r\n", "\n").split("\n"):  # Windows: CR LF.
                print(f"    {shown(line)}")
