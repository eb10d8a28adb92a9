"""Repairs to the MCP Python SDK's stdio transport (mcp 2.3), for any low-level `Server`.

    stdio_repairs.serve(server)  # instead of anyio.run(...) around stdio_server() and server.run(...)

The server still runs on `mcp.server.stdio.stdio_server`: this module hands it a stdin
of its own (bounded, cancellable lines) and stands in front of the two streams it
yields. The repairs, each naming its issue in github.com/modelcontextprotocol/python-sdk
and when it can be deleted:

- #3551, Ctrl-C ignored: the start-up lines below, and `stop_on_signals`.
- The SDK's slow import, made slower by garbage collection: the start-up lines below.
- #2678, replies lost at stdin EOF: the drain in `ServerStdin`.
- #2751, unreadable lines dropped silently: the answers in `ServerStdin`.
- #934, no JSON-RPC batches: `StdinLines` and `ServerStdout`.
- Unbounded lines, requests in flight, and a read that cannot be cancelled (so a failing
  stdout hung the process): `StdinLines`, `ServerStdin` and `serve`.

The limits below are written in README.md's contract.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from pathlib import Path

# Start-up, for a process that runs a script from this folder (any other importer, such as
# pytest or a REPL, is left alone), before the SDK is imported:
# - Repair for #3551 (Ctrl-C ignored): a Ctrl-C while the SDK imports would print a
#   KeyboardInterrupt traceback, so SIGINT simply ends the process, as SIGTERM does, until
#   `serve` installs the stop handlers.
# - The SDK's import builds some 120,000 objects, and the garbage collector, running as they
#   pile up, walks them again and again (8% of the import here). So it waits for the import,
#   and what the import built is then frozen, left out of every later pass.
# Delete both once the SDK imports lazily (python-sdk PR #3242) and handles Ctrl-C itself.
STARTING_AS_A_SCRIPT_HERE = (
    sys.argv[0].endswith(".py") and Path(sys.argv[0]).resolve().parent == Path(__file__).resolve().parent
)
if STARTING_AS_A_SCRIPT_HERE:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    gc.disable()

import io
import json
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar, cast

import anyio
import anyio.to_thread
import mcp_types as types
from mcp.os.win32.utilities import rebind_std_handle_to_fd
from mcp.server import Server
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage

if STARTING_AS_A_SCRIPT_HERE:
    gc.freeze()
    gc.enable()

MAX_LINE_BYTES = 4 * 1024 * 1024  # One message; a longer line is answered with -32600 and skipped.
MAX_IN_FLIGHT = 64  # Requests read but not yet answered; stdin is not read while this many wait.
DRAIN_SECONDS = 5.0  # How long stdin's EOF waits for replies still being worked on.
BATCH_VERSIONS = ("2024-11-05", "2025-03-26")  # JSON-RPC batches, until MCP dropped them in 2025-06-18.
JSON_WHITESPACE = b" \t\r\n"

Reply = types.JSONRPCResponse | types.JSONRPCError


def error_reply(code: int, message: str, request_id: types.RequestId | None = None) -> types.JSONRPCError:
    return types.JSONRPCError(jsonrpc="2.0", id=request_id, error=types.ErrorData(code=code, message=message))


TOO_LONG = error_reply(types.INVALID_REQUEST, f"Invalid Request: a message may be at most {MAX_LINE_BYTES} bytes long")
NOT_UTF8 = error_reply(types.PARSE_ERROR, "Parse error: a line must be UTF-8")
NOT_JSON = error_reply(types.PARSE_ERROR, "Parse error: each line must be one JSON value")
NOT_A_MESSAGE = error_reply(types.INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message")
BAD_ID = error_reply(types.INVALID_REQUEST, 'Invalid Request: "id" must be a string or an integer')
EMPTY_BATCH = error_reply(types.INVALID_REQUEST, "Invalid Request: an empty batch")
NO_BATCHES = error_reply(
    types.INVALID_REQUEST,
    "Invalid Request: JSON-RPC batches are not part of this protocol version; send one message per line",
)


class Pending:
    """Requests read from stdin that have no reply on stdout yet, counted by id, since ids may repeat."""

    def __init__(self) -> None:
        self.by_id: Counter[types.RequestId] = Counter()
        self.changed = anyio.Event()

    def read(self, message: types.JSONRPCMessage) -> None:
        if isinstance(message, types.JSONRPCRequest):
            self.by_id[message.id] += 1

    def settled(self, request_id: types.RequestId) -> None:
        """One request with this id needs no reply any more: answered, or cancelled by the client."""
        if self.by_id[request_id] > 0:
            self.by_id[request_id] -= 1
            if not self.by_id[request_id]:
                del self.by_id[request_id]
            self.changed.set()

    async def wait_below(self, limit: int) -> None:
        while self.by_id.total() >= limit:
            self.changed = anyio.Event()
            await self.changed.wait()


class BatchReply:
    """Stands in for one message on the SDK's stdout writer, which calls only `model_dump_json`."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies

    def model_dump_json(self, **options: Any) -> str:
        return "[" + ",".join(reply.model_dump_json(**options) for reply in self.replies) + "]"


class Batch:
    """A JSON-RPC batch being answered: its replies go out together, as one array, once all are in."""

    def __init__(self, size: int) -> None:
        self.unread = size  # Its messages the server has yet to take in.
        self.awaiting: Counter[types.RequestId] = Counter()
        self.replies: list[Reply] = []

    def add(self, reply: Reply) -> SessionMessage | None:
        """Take one reply; once it was the last one, the batch's replies as one message."""
        self.replies.append(reply)
        return self.finished()

    def finished(self) -> SessionMessage | None:
        """The batch's replies as one message, once all are in; None before, and for a batch of notifications."""
        if self.unread or self.awaiting or not self.replies:
            return None
        return SessionMessage(cast(types.JSONRPCMessage, BatchReply(self.replies)))  # See BatchReply.


@dataclass
class Line:
    """A line as read from stdin, the reply it gets when the transport knows it is unreadable, and its batch."""

    raw: bytes
    known_error: types.JSONRPCError | None = None
    batch: Batch | None = None


@dataclass
class Traffic:
    """What stdin's reader and the two stream proxies share about the messages in transit."""

    seen: deque[Line] = field(default_factory=deque[Line])  # Lines handed to the SDK's parser, in order.
    pending: Pending = field(default_factory=Pending)
    batch_of: dict[types.RequestId, Batch] = field(default_factory=dict[types.RequestId, Batch])
    protocol_version: str | None = None  # Once the initialize handshake has agreed on one.


class StdinLines(anyio.AsyncFile[str]):
    """stdin as the SDK's transport reads it, one line at a time, but bounded and cancellable.

    Repairs two gaps in the SDK's reader (no upstream issue yet): a line without a newline
    grows without limit (`< /dev/zero` took 690 MiB in 20 s), and its read runs in a
    worker thread that cancellation cannot stop, so a failing stdout left the process
    waiting for stdin. Lines over MAX_LINE_BYTES, and lines that are not UTF-8, reach the
    SDK as "" with their reply noted in `traffic.seen`; blank lines are skipped, since they
    carry no message. Delete once `stdio_server` bounds its lines and its read is cancellable.

    Repairs #934 (no JSON-RPC batches): where the protocol version has batches, a batch
    reaches the SDK as its messages, one by one, and ServerStdout sends their replies back
    as one array. Delete once the SDK does that, or once no client speaks 2025-03-26.
    """

    def __init__(self, wire: io.BufferedReader, traffic: Traffic) -> None:
        super().__init__(io.TextIOWrapper(wire, encoding="utf-8"))
        self.wire, self.traffic = wire, traffic

    async def read_line(self, limit: int) -> bytes:
        return await anyio.to_thread.run_sync(self.wire.readline, limit, abandon_on_cancel=True)

    async def __aiter__(self) -> AsyncIterator[str]:  # pyright: ignore[reportIncompatibleMethodOverride]  # AsyncFile's is an async generator too
        seen = self.traffic.seen
        while line := await self.read_line(MAX_LINE_BYTES + 1):
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                seen.append(Line(line[:80], TOO_LONG))
                yield ""
                while (rest := await self.read_line(64 * 1024)) and not rest.endswith(b"\n"):
                    pass  # The rest of the over-long line.
            elif not line.strip(JSON_WHITESPACE):
                continue
            elif (messages := self.batch_messages(line)) is not None:
                batch = Batch(len(messages))
                for message in messages:
                    raw = json.dumps(message).encode()
                    seen.append(Line(raw, None if isinstance(message, dict) else NOT_A_MESSAGE, batch))
                    yield raw.decode() if isinstance(message, dict) else ""
            else:
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError:
                    seen.append(Line(line, NOT_UTF8))
                    yield ""
                else:
                    seen.append(Line(line))
                    yield text

    def batch_messages(self, line: bytes) -> list[object] | None:
        """The messages of a batch this connection takes; None for any other line (it is read as it is)."""
        if not line.lstrip(JSON_WHITESPACE).startswith(b"[") or self.traffic.protocol_version not in BATCH_VERSIONS:
            return None
        try:
            value: object = json.loads(line)
        except (ValueError, RecursionError):
            return None
        return cast(list[object], value) if isinstance(value, list) and value else None


def unreadable_line_reply(line: Line) -> types.JSONRPCError:
    """The JSON-RPC 2.0 answer to a line that is not a valid message, carrying its id when one is readable."""
    if line.known_error is not None:
        return line.known_error
    try:
        value: object = json.loads(line.raw)
    except (ValueError, RecursionError):
        return NOT_JSON
    if isinstance(value, list):
        return NO_BATCHES if value else EMPTY_BATCH
    return error_reply(types.INVALID_REQUEST, NOT_A_MESSAGE.error.message, readable_id(value))


def readable_id(value: object) -> types.RequestId | None:
    """The `id` of a JSON object, if it is one JSON-RPC allows (a string or an integer)."""
    request_id = cast(dict[str, object], value).get("id") if isinstance(value, dict) else None
    if isinstance(request_id, str) or (isinstance(request_id, int) and not isinstance(request_id, bool)):
        return request_id
    return None


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

    def __init__(self, stdin: MessageSource, stdout: MessageSink, traffic: Traffic) -> None:
        super().__init__(stdin)
        self.stdout, self.traffic = stdout, traffic

    async def receive(self) -> SessionMessage | Exception:
        pending = self.traffic.pending
        while True:
            await pending.wait_below(MAX_IN_FLIGHT)
            try:
                item = await self.stream.receive()
            except anyio.EndOfStream:
                with anyio.move_on_after(DRAIN_SECONDS):
                    await pending.wait_below(1)
                raise
            line = self.traffic.seen.popleft()  # The SDK turns each line into exactly one item, in order.
            if line.batch:
                line.batch.unread -= 1
            if isinstance(item, Exception):
                await self.answer(unreadable_line_reply(line), line.batch)
                continue
            message = item.message
            if isinstance(message, types.JSONRPCNotification) and has_id_member(line.raw):
                await self.answer(BAD_ID, line.batch)
                continue
            if isinstance(message, types.JSONRPCNotification) and message.method == "notifications/cancelled":
                cancelled = readable_id(message.params)
                if cancelled is not None:
                    pending.settled(cancelled)  # The SDK never answers a request its client cancelled.
            pending.read(message)
            if line.batch and isinstance(message, types.JSONRPCRequest):
                line.batch.awaiting[message.id] += 1
                self.traffic.batch_of[message.id] = line.batch
            elif line.batch and (replies := line.batch.finished()):
                await self.stdout.send(replies)
            return item

    async def answer(self, reply: types.JSONRPCError, batch: Batch | None) -> None:
        logging.getLogger(__name__).warning("answered an unreadable message: %s", reply.error.message)
        if batch is None:
            await self.stdout.send(SessionMessage(reply))
            return
        if replies := batch.add(reply):
            await self.stdout.send(replies)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None


class ServerStdout(StreamProxy[MessageSink]):
    """The server's side of stdout: notes each reply as it is written, and gathers the replies to a batch."""

    def __init__(self, stdout: MessageSink, traffic: Traffic) -> None:
        super().__init__(stdout)
        self.traffic = traffic

    async def send(self, item: SessionMessage, /) -> None:
        message = item.message
        if not isinstance(message, Reply) or message.id is None:
            await self.stream.send(item)
            return
        if isinstance(message, types.JSONRPCResponse) and "serverInfo" in message.result:
            self.traffic.protocol_version = message.result.get("protocolVersion")  # The handshake's outcome.
        batch = self.traffic.batch_of.get(message.id)
        if batch is None:
            await self.stream.send(item)
        else:
            batch.awaiting[message.id] -= 1
            if not batch.awaiting[message.id]:
                del batch.awaiting[message.id], self.traffic.batch_of[message.id]
            if replies := batch.add(message):
                await self.stream.send(replies)
        self.traffic.pending.settled(message.id)


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
    with suppress(OSError):  # Best effort, as in `stdio_server`.
        rebind_std_handle_to_fd(0)  # Windows: child processes inherit the Win32 handle, not fd 0.
    return StdinLines(io.BufferedReader(io.FileIO(wire, "rb")), Traffic())


async def serve_streams(server: Server[Any], stdin: StdinLines) -> None:
    async with stdio_server(stdin=stdin) as (read_stream, write_stream):
        await server.run(
            ServerStdin(read_stream, write_stream, stdin.traffic),
            ServerStdout(write_stream, stdin.traffic),
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

    A closed stdin is an empty one. A closed or failing stdout (the host went away, or a
    full disk) ends the process at once with exit code 1 and one log line: no reply could
    reach anyone.
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
