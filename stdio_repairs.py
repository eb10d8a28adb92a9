"""Repairs to the MCP Python SDK's stdio transport (mcp 2.3), for any low-level `Server`.

    stdio_repairs.serve(server)  # instead of anyio.run(...) around stdio_server() and server.run(...)

The server still runs on `mcp.server.stdio.stdio_server`: this module hands it a stdin
of its own (bounded, cancellable lines) and stands in front of the two streams it
yields. Each repair names its issue in github.com/modelcontextprotocol/python-sdk and
when it can be deleted. The limits below are written in README.md's contract.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

# Repair for #3551 (Ctrl-C ignored), start-up part: a Ctrl-C while the SDK imports (about
# a second) would print a KeyboardInterrupt traceback. So, before the SDK is imported,
# SIGINT simply ends a process that runs a script from this folder, as SIGTERM does, until
# `serve` installs the stop handlers. Any other importer (pytest, a REPL) is left alone.
if sys.argv[0].endswith(".py") and Path(sys.argv[0]).resolve().parent == Path(__file__).resolve().parent:
    signal.signal(signal.SIGINT, signal.SIG_DFL)

import io
import json
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator
from types import FrameType, TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar, cast

import anyio
import anyio.to_thread
import mcp_types as types
from mcp.os.win32.utilities import rebind_std_handle_to_fd
from mcp.server import Server
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage

MAX_LINE_BYTES = 4 * 1024 * 1024  # One message; a longer line is answered with -32600 and skipped.
MAX_IN_FLIGHT = 64  # Requests read but not yet answered; stdin is not read while this many wait.
DRAIN_SECONDS = 5.0  # How long stdin's EOF waits for replies still being worked on.
JSON_WHITESPACE = b" \t\r\n"

Line = tuple[bytes, types.ErrorData | None]
"""A line as read from stdin, and the error it gets when the transport already knows it is unreadable."""


class Pending:
    """Requests read from stdin that have no reply on stdout yet, counted by id, since ids may repeat."""

    def __init__(self) -> None:
        self.by_id: Counter[types.RequestId] = Counter()
        self.total = 0
        self.changed = anyio.Event()

    def read(self, message: types.JSONRPCMessage) -> None:
        if isinstance(message, types.JSONRPCRequest):
            self.by_id[message.id] += 1
            self.total += 1

    def written(self, message: types.JSONRPCMessage) -> None:
        if isinstance(message, types.JSONRPCResponse | types.JSONRPCError) and message.id is not None:
            self.settled(message.id)

    def settled(self, request_id: types.RequestId) -> None:
        """One request with this id needs no reply any more: answered, or cancelled by the client."""
        if self.by_id[request_id] > 0:
            self.by_id[request_id] -= 1
            if not self.by_id[request_id]:
                del self.by_id[request_id]
            self.total -= 1
            self.changed.set()

    async def wait_below(self, limit: int) -> None:
        while self.total >= limit:
            self.changed = anyio.Event()
            await self.changed.wait()


class StdinLines(anyio.AsyncFile[str]):
    """stdin as the SDK's transport reads it, one line at a time, but bounded and cancellable.

    Repairs two gaps in the SDK's reader (no upstream issue yet): a line without a newline
    grows without limit (`< /dev/zero` took 690 MiB in 20 s), and its read runs in a
    worker thread that cancellation cannot stop, so a failing stdout left the process
    waiting for stdin. Lines over MAX_LINE_BYTES, and lines that are not UTF-8, reach the
    SDK as "" with their error noted in `seen`; blank lines are skipped, since they carry
    no message. Delete once `stdio_server` bounds its lines and its read is cancellable.
    """

    def __init__(self, wire: io.BufferedReader) -> None:
        super().__init__(io.TextIOWrapper(wire, encoding="utf-8"))
        self.wire = wire
        self.seen: deque[Line] = deque()

    async def read_line(self, limit: int) -> bytes:
        return await anyio.to_thread.run_sync(self.wire.readline, limit, abandon_on_cancel=True)

    async def __aiter__(self) -> AsyncIterator[str]:  # pyright: ignore[reportIncompatibleMethodOverride]  # AsyncFile's is an async generator too
        while line := await self.read_line(MAX_LINE_BYTES + 1):
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                self.seen.append((line[:80], TOO_LONG))
                yield ""
                while (rest := await self.read_line(64 * 1024)) and not rest.endswith(b"\n"):
                    pass  # The rest of the over-long line.
            elif line.strip(JSON_WHITESPACE):
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError:
                    self.seen.append((line, NOT_UTF8))
                    yield ""
                else:
                    self.seen.append((line, None))
                    yield text


TOO_LONG = types.ErrorData(
    code=types.INVALID_REQUEST, message=f"Invalid Request: a message may be at most {MAX_LINE_BYTES} bytes long"
)
NOT_UTF8 = types.ErrorData(code=types.PARSE_ERROR, message="Parse error: a line must be UTF-8")


def unreadable_line_reply(line: Line) -> types.JSONRPCError:
    """The JSON-RPC 2.0 answer to a line that is not a valid message, carrying its id when one is readable."""
    raw, known = line
    if known is not None:
        return types.JSONRPCError(jsonrpc="2.0", id=None, error=known)
    try:
        value: object = json.loads(raw)
    except (ValueError, RecursionError):
        problem = types.ErrorData(code=types.PARSE_ERROR, message="Parse error: each line must be one JSON value")
        return types.JSONRPCError(jsonrpc="2.0", id=None, error=problem)
    request_id = readable_id(value)
    if isinstance(value, list):
        message = "Invalid Request: JSON-RPC batches are not supported; send one message per line"
    else:
        message = "Invalid Request: not a JSON-RPC 2.0 message"
    problem = types.ErrorData(code=types.INVALID_REQUEST, message=message)
    return types.JSONRPCError(jsonrpc="2.0", id=request_id, error=problem)


def readable_id(value: object) -> types.RequestId | None:
    """The `id` of a JSON object, if it is one JSON-RPC allows (a string or an integer)."""
    request_id = cast(dict[str, object], value).get("id") if isinstance(value, dict) else None
    if isinstance(request_id, str) or (isinstance(request_id, int) and not isinstance(request_id, bool)):
        return request_id
    return None


BAD_ID = types.ErrorData(code=types.INVALID_REQUEST, message='Invalid Request: "id" must be a string or an integer')


def has_id_member(raw: bytes) -> bool:
    """Whether a line the SDK read as a notification has an `id` (the SDK drops one that is not str or int)."""
    if b'"id"' not in raw:
        return False
    value: object = json.loads(raw)
    return isinstance(value, dict) and "id" in value


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


StreamT = TypeVar("StreamT", MessageSource, MessageSink)


class StreamProxy(Generic[StreamT]):
    """Stands in front of one of the SDK's stdio streams; closing it closes that stream."""

    def __init__(self, stream: StreamT) -> None:
        self.stream = stream

    async def aclose(self) -> None:
        await self.stream.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc_val: BaseException | None, exc_tb: TracebackType | None
    ) -> None:
        await self.aclose()


class ServerStdin(StreamProxy[MessageSource]):
    """The server's side of stdin: answers what the SDK drops, drains at EOF, and bounds what is in flight.

    Repairs #2751 (unreadable lines dropped silently): a line that is not a valid message
    gets the error JSON-RPC 2.0 asks for, with its id when that is readable, and so does a
    request whose id is neither a string nor an integer (the SDK reads it as a notification).
    Delete once the SDK's stdio transport answers them itself.

    Repairs #2678 (in-flight requests cancelled at stdin EOF): EOF reaches the server only
    once every request read has its reply, for at most DRAIN_SECONDS, so that
    `printf ... | uv run heartbeat.py` prints every answer. Delete once the SDK drains.

    Bounds memory: while MAX_IN_FLIGHT requests wait for their replies (a client that
    writes but does not read), no more are read. Delete with the drain, if the SDK bounds it.
    """

    def __init__(self, stdin: MessageSource, stdout: MessageSink, pending: Pending, seen: deque[Line]) -> None:
        super().__init__(stdin)
        self.stdout, self.pending, self.seen = stdout, pending, seen

    async def receive(self) -> SessionMessage | Exception:
        while True:
            await self.pending.wait_below(MAX_IN_FLIGHT)
            try:
                item = await self.stream.receive()
            except anyio.EndOfStream:
                with anyio.move_on_after(DRAIN_SECONDS):
                    await self.pending.wait_below(1)
                raise
            line = self.seen.popleft()  # The SDK turns each line into exactly one item, in order.
            if isinstance(item, Exception):
                await self.answer(unreadable_line_reply(line))
                continue
            message = item.message
            if isinstance(message, types.JSONRPCNotification) and has_id_member(line[0]):
                await self.answer(types.JSONRPCError(jsonrpc="2.0", id=None, error=BAD_ID))
                continue
            if isinstance(message, types.JSONRPCNotification) and message.method == "notifications/cancelled":
                cancelled = readable_id(message.params)
                if cancelled is not None:
                    self.pending.settled(cancelled)  # The SDK never answers a request its client cancelled.
            self.pending.read(message)
            return item

    async def answer(self, reply: types.JSONRPCError) -> None:
        logging.getLogger(__name__).warning("answered an unreadable line: %s", reply.error.message)
        await self.stdout.send(SessionMessage(reply))

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None


class ServerStdout(StreamProxy[MessageSink]):
    """The server's side of stdout: notes each reply as it is written (for ServerStdin's counts)."""

    def __init__(self, stdout: MessageSink, pending: Pending) -> None:
        super().__init__(stdout)
        self.pending = pending

    async def send(self, item: SessionMessage, /) -> None:
        await self.stream.send(item)
        self.pending.written(item.message)


def claim_stdin() -> StdinLines | None:
    """Read the protocol from a private copy of fd 0, and point fd 0 at the null device; None if fd 0 is closed.

    What `stdio_server` does for a stdin it opens itself, so that a handler's child
    process reads EOF instead of protocol bytes.
    """
    try:
        wire = os.dup(0)
    except OSError:
        return None
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    rebind_std_handle_to_fd(0)  # Windows: child processes inherit the Win32 handle, not fd 0.
    return StdinLines(io.BufferedReader(io.FileIO(wire, "rb")))


async def serve_streams(server: Server[Any], stdin: StdinLines) -> None:
    pending = Pending()
    async with stdio_server(stdin=stdin) as (read_stream, write_stream):
        await server.run(
            ServerStdin(read_stream, write_stream, pending, stdin.seen),
            ServerStdout(write_stream, pending),
            server.create_initialization_options(),
        )


def stop_on_signals(log: logging.Logger) -> None:
    """Exit 0 at once on SIGINT, SIGTERM or SIGHUP (a closed terminal), with one log line.

    Repairs #3551 (Ctrl-C ignored): the SDK's stdin read cannot be interrupted, and Python
    waits for it at exit, so a graceful stop would hang until stdin closed. Replies already
    written are flushed; a host that signals has stopped reading. Delete once Ctrl-C stops
    an SDK stdio server at once.
    """

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("stopping on %s", signal.Signals(signum).name)
        logging.shutdown()
        os._exit(0)

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signum: int | None = getattr(signal, name, None)  # SIGHUP does not exist on Windows.
        if signum is not None:
            signal.signal(signum, stop)


def serve(server: Server[Any]) -> None:
    """Serve `server` over stdin and stdout until stdin ends (exit 0) or a stop signal arrives.

    A closed stdin is an empty one. A closed or failing stdout ends the process with exit
    code 1 and one log line, at once: the SDK's writer raises, and nothing is left to read.
    """
    log = logging.getLogger(server.name)
    if sys.stdout is None:
        log.error("stdout is closed, so there is nowhere to write replies; exiting")
        sys.exit(1)
    stop_on_signals(log)
    log.info("%s %s serving MCP over stdio (pid %d)", server.name, server.version, os.getpid())
    if stdin := claim_stdin():
        try:
            anyio.run(serve_streams, server, stdin)
        except* OSError as failure:
            log.error("stopping: cannot use stdio (%s)", failure.exceptions[0])
            logging.shutdown()
            os._exit(1)  # Exiting normally would wait for the stdin read and flush a broken stdout.
    log.info("stdin closed; exiting")
