"""Repairs to the MCP Python SDK's stdio transport (mcp 2.3), for any low-level `Server`.

    stdio_repairs.serve(server)  # instead of anyio.run(...) around stdio_server() and server.run(...)

The server still runs on `mcp.server.stdio.stdio_server`, handed a stdin and a stdout of
this module's. `Stdin` is the one reader: it reads each line once and decides what
becomes of it. A valid message goes to the SDK; an unreadable one is answered at once;
a batch's members are registered before any of them reaches the SDK. `Traffic` is the
one place that counts what is in flight, and replies and cancellations settle it.
`Stdout` writes each line whole. Both wait on the event loop where it can wait on the
descriptor (pipes and sockets on macOS and Linux); elsewhere (Windows, files, `/dev/null`,
terminals) a worker thread reads and writes, as the SDK's own stdio does.

The repairs, each naming its issue in github.com/modelcontextprotocol/python-sdk and when
it can be deleted:

- #3551, Ctrl-C ignored: `stop_on_signals` (and the first lines of heartbeat.py).
- #2678, requests in flight cancelled at stdin EOF: the drain at the end of `Stdin`.
- #2751, unreadable lines dropped silently: `judge` and `Stdin`.
- #934, no JSON-RPC batches: `Stdin.admit_batch` and `Replies`.
- No issue yet: lines, requests in flight and echoed names without bounds, a read that
  cannot be cancelled, and a thread handoff per line read and two per reply written
  (half of a call's cost): `Wire`, `Stdin`, `Traffic`.

The limits below are written in README.md's contract.
"""

from __future__ import annotations

import gc

# The SDK's import builds some 120,000 objects, and the garbage collector, running as they pile
# up, walks them again and again (8% of the import). So it waits, and what the import built is
# frozen, left out of every later pass. Delete once the SDK imports lazily (python-sdk PR #3242).
gc.disable()

import json
import logging
import os
import select
import signal
import stat
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
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
from mcp.shared.dispatcher import as_request_id, coerce_request_id
from mcp.shared.jsonrpc_dispatcher import cancelled_request_id_from_params
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

if sys.platform != "win32":
    import fcntl

gc.freeze()
gc.enable()

MAX_LINE_BYTES = 4 * 1024 * 1024  # One message; a longer line is answered with -32600 and skipped.
MAX_IN_FLIGHT = 64  # Requests read but not yet answered: stdin is not read while this many wait...
MAX_IN_FLIGHT_BYTES = 2 * 1024 * 1024  # ...or while their lines add up to this many bytes.
MAX_BATCH = MAX_IN_FLIGHT  # Messages in one JSON-RPC batch.
MAX_ECHO = 100  # Characters of a string a client chose (a method name) that a reply repeats.
DRAIN_SECONDS = 5.0  # How long stdin's EOF waits for replies still being worked on.
STOP_SECONDS = 2.0  # How long a stop signal waits to finish the line being written.
MAX_UNREADABLE_WARNINGS = 20  # Then unreadable lines are answered without a log line each.
READ_SIZE = 64 * 1024
BATCH_VERSIONS = ("2024-11-05", "2025-03-26")  # JSON-RPC batches, until MCP dropped them in 2025-06-18.
JSON_WHITESPACE = b" \t\r\n"

log = logging.getLogger(__name__)

Reply = types.JSONRPCResponse | types.JSONRPCError


def error_reply(code: int, message: str, request_id: types.RequestId | None = None) -> types.JSONRPCError:
    return types.JSONRPCError(jsonrpc="2.0", id=request_id, error=types.ErrorData(code=code, message=message))


TOO_LONG = error_reply(types.INVALID_REQUEST, f"Invalid Request: a message may be at most {MAX_LINE_BYTES} bytes long")
NOT_UTF8 = error_reply(types.PARSE_ERROR, "Parse error: a line must be UTF-8")
NOT_JSON = error_reply(types.PARSE_ERROR, "Parse error: each line must be one JSON value")
NOT_A_MESSAGE = error_reply(types.INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message")
BAD_ID = error_reply(types.INVALID_REQUEST, 'Invalid Request: "id" must be a string or an integer')
EMPTY_BATCH = error_reply(types.INVALID_REQUEST, "Invalid Request: an empty batch")
BATCH_TOO_LARGE = error_reply(types.INVALID_REQUEST, f"Invalid Request: a batch may hold at most {MAX_BATCH} messages")
NO_BATCHES = error_reply(
    types.INVALID_REQUEST,
    "Invalid Request: JSON-RPC batches are not part of this protocol version; send one message per line",
)


def serialized(message: types.JSONRPCMessage) -> str:
    """A message as the SDK's writer serializes it."""
    return message.model_dump_json(by_alias=True, exclude_unset=True)


# Judging one message --------------------------------------------------------------------


def judge(text: str) -> types.JSONRPCMessage | types.JSONRPCError:
    """The message a line holds, read exactly as the SDK will read it; or the error that answers it."""
    try:
        message = types.jsonrpc_message_adapter.validate_json(text, by_name=False)
    except ValidationError:
        return unreadable_reply(text)
    if isinstance(message, types.JSONRPCNotification) and '"id"' in text and has_id_member(text):
        return BAD_ID  # The SDK would take it for a notification, with no reply.
    if isinstance(message, types.JSONRPCRequest) and len(message.method) > MAX_ECHO:
        return error_reply(types.METHOD_NOT_FOUND, f"Method not found: {message.method[:MAX_ECHO]}...", message.id)
    return message


def unreadable_reply(text: str) -> types.JSONRPCError:
    """The JSON-RPC 2.0 answer to a message that is not valid, carrying its id when one is readable.

    Batches never reach it: `Stdin.admit_batch` answers those."""
    try:
        value: object = json.loads(text)
    except (ValueError, RecursionError):
        return NOT_JSON
    return error_reply(types.INVALID_REQUEST, NOT_A_MESSAGE.error.message, readable_id(value))


def readable_id(value: object) -> types.RequestId | None:
    """The `id` of a JSON object, if JSON-RPC allows it and it can be written back (no lone surrogate)."""
    request_id = as_request_id(cast(dict[str, object], value).get("id")) if isinstance(value, dict) else None
    if isinstance(request_id, str) and not request_id.isascii():
        try:
            request_id.encode("utf-8")
        except UnicodeEncodeError:
            return None
    return request_id


def has_id_member(text: str) -> bool:
    """Whether a line the SDK read as a notification has an `id` (the SDK drops one that is not str or int)."""
    value: object = json.loads(text)
    return isinstance(value, dict) and "id" in value


# What is in flight ----------------------------------------------------------------------


@dataclass
class Batch:
    """A JSON-RPC batch being answered: its replies go out together, as one array, once all are in."""

    awaiting: Counter[types.RequestId] = field(default_factory=Counter[types.RequestId])
    answered: list[types.RequestId] = field(default_factory=list[types.RequestId])  # In flight until sent.
    replies: list[Reply] = field(default_factory=list[Reply])
    sealed: bool = False  # Every member has been read.

    def complete(self) -> bool:
        return self.sealed and not self.awaiting

    def line(self) -> str:
        return "[" + ",".join(serialized(reply) for reply in self.replies) + "]\n"


class Traffic:
    """Requests read from stdin that have no reply on stdout yet, with their sizes (ids may repeat)."""

    def __init__(self) -> None:
        self.sizes: defaultdict[types.RequestId, list[int]] = defaultdict(list)
        self.count = 0
        self.bytes = 0
        self.changed = anyio.Event()
        self.batch_of: dict[types.RequestId, Batch] = {}
        self.protocol_version: str | None = None  # Once the initialize handshake has agreed on one.

    def read(self, request_id: types.RequestId, size: int, batch: Batch | None) -> None:
        key = coerce_request_id(request_id)  # "7" and 7 are one id to the SDK too.
        self.sizes[key].append(size)
        self.count += 1
        self.bytes += size
        if batch is not None:
            batch.awaiting[key] += 1
            self.batch_of[key] = batch

    def settled(self, request_id: types.RequestId) -> None:
        """One request with this id needs no reply on the wire any more: it has one, or was cancelled."""
        key = coerce_request_id(request_id)
        if sizes := self.sizes.get(key):
            self.count -= 1
            self.bytes -= sizes.pop()
            if not sizes:
                del self.sizes[key]
            self.changed.set()

    def answered_in_batch(self, request_id: types.RequestId, reply: Reply | None) -> Batch | None:
        """Note a batch member's reply (None: cancelled, no reply); its batch, if this was one's member."""
        key = coerce_request_id(request_id)
        batch = self.batch_of.get(key)
        if batch is None:
            return None
        batch.awaiting[key] -= 1
        if not batch.awaiting[key]:
            del batch.awaiting[key], self.batch_of[key]
        if reply is None:
            self.settled(key)
        else:
            batch.replies.append(reply)
            batch.answered.append(key)
        return batch

    async def wait_for_room(self) -> None:
        """Wait until another request may be read."""
        while self.count >= MAX_IN_FLIGHT or self.bytes >= MAX_IN_FLIGHT_BYTES:
            await self.wait_for_change()

    async def wait_until_settled(self) -> None:
        while self.count:
            await self.wait_for_change()

    async def wait_for_change(self) -> None:
        self.changed = anyio.Event()
        await self.changed.wait()


# The descriptors ------------------------------------------------------------------------


class Wire:
    """A private copy of fd 0 or fd 1, read and written on the event loop where the loop can wait on it."""

    def __init__(self, fd: int, writes: bool) -> None:
        self.fd = fd
        mode = os.fstat(fd).st_mode
        self.on_loop = sys.platform != "win32" and (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode))
        # The loop can wait to write only with O_NONBLOCK, a flag of the open file, which the parent may
        # share: `restore` clears it on every way out. Never set on the pipe that stderr writes to too.
        self.made_nonblocking = False
        if writes and self.on_loop:
            if same_file(fd, 2):
                self.on_loop = False
            else:
                self.made_nonblocking = set_blocking(fd, False)
        self.unwritten = memoryview(b"")  # The rest of the line being written.
        self.after_line: Callable[[], None] | None = None  # What a stop does once that line is out.

    @classmethod
    def claim(cls, fd: int, diversion: str | None) -> Wire:
        """Serve fd from a private copy and point fd at the file `diversion` (None: at stderr), as
        `stdio_server` does for a stream it opens itself. A handler's child process then reads EOF
        from fd 0, and a stray print reaches stderr, not the wire.
        """
        wire = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3) if sys.platform != "win32" else os.dup(fd)
        if diversion is None:
            os.dup2(2, fd)
        else:
            opened = os.open(diversion, os.O_WRONLY if fd else os.O_RDONLY)
            os.dup2(opened, fd)
            os.close(opened)
        with suppress(OSError):  # Best effort, as in `stdio_server`.
            rebind_std_handle_to_fd(fd)  # Windows: child processes inherit the Win32 handle, not the fd.
        return cls(wire, writes=fd == 1)

    async def read(self) -> bytes:
        if not self.on_loop:
            return await anyio.to_thread.run_sync(os.read, self.fd, READ_SIZE, abandon_on_cancel=True)
        while True:
            await anyio.wait_readable(self.fd)
            with suppress(BlockingIOError):  # A parent may have made it non-blocking; readiness can be stale.
                return os.read(self.fd, READ_SIZE)

    async def write(self, data: bytes) -> None:
        self.unwritten = memoryview(data)
        while self.unwritten:
            if not self.on_loop:
                written = await anyio.to_thread.run_sync(os.write, self.fd, self.unwritten)
            else:
                try:
                    written = os.write(self.fd, self.unwritten)
                except BlockingIOError:
                    await anyio.wait_writable(self.fd)
                    continue
            self.unwritten = self.unwritten[written:]
        if self.after_line is not None:
            self.after_line()

    def restore(self) -> None:
        if self.made_nonblocking:
            set_blocking(self.fd, True)


def set_blocking(fd: int, blocking: bool) -> bool:
    """Set or clear O_NONBLOCK (never on Windows, where the loop does not wait on pipes); whether it changed."""
    if sys.platform == "win32" or os.get_blocking(fd) == blocking:
        return False
    os.set_blocking(fd, blocking)
    return True


def same_file(first: int, second: int) -> bool:
    try:
        one, other = os.fstat(first), os.fstat(second)
    except OSError:
        return False
    return (one.st_dev, one.st_ino) == (other.st_dev, other.st_ino)


# The two streams the SDK's stdio_server is handed -----------------------------------------


class Stdout(anyio.AsyncFile[str]):
    """stdout as the SDK's transport writes it, and as this module answers: one whole line at a time."""

    def __init__(self, wire: Wire) -> None:
        super().__init__(os.fdopen(wire.fd, "w", encoding="utf-8", closefd=False))  # Only for the type.
        self.wire = wire
        self.lock = anyio.Lock()

    async def write(self, b: str) -> int:
        async with self.lock:
            await self.wire.write(b.encode())
        return len(b)

    async def flush(self) -> None:
        pass  # Each line is written whole, unbuffered.

    async def answer(self, reply: types.JSONRPCError) -> None:
        await self.write(serialized(reply) + "\n")


class Stdin(anyio.AsyncFile[str]):
    """stdin as the SDK's transport reads it: only valid messages, one a line, and bounded.

    Repairs #2751 (unreadable lines dropped silently): a line that is not a valid message
    gets the error JSON-RPC 2.0 asks for, with its id when that is readable, and so does a
    request whose id is neither a string nor an integer (the SDK reads it as a notification).
    Lines over MAX_LINE_BYTES are answered as soon as they pass it, and skipped; blank lines
    carry no message. Delete once the SDK's stdio transport does these itself.

    Repairs #2678 (in-flight requests cancelled at stdin EOF): EOF reaches the SDK only once
    every request read has its reply, for at most DRAIN_SECONDS, so that
    `printf ... | uv run heartbeat.py` prints every answer. Delete once the SDK drains.

    Bounds memory: no line is read while MAX_IN_FLIGHT requests, or MAX_IN_FLIGHT_BYTES of
    them, wait for replies (a client that writes but does not read). Delete with the drain.
    """

    def __init__(self, wire: Wire, stdout: Stdout, traffic: Traffic) -> None:
        super().__init__(os.fdopen(wire.fd, encoding="utf-8", closefd=False))  # Only for the type.
        self.wire, self.stdout, self.traffic = wire, stdout, traffic
        self.warnings = 0

    async def __aiter__(self) -> AsyncIterator[str]:  # pyright: ignore[reportIncompatibleMethodOverride]  # AsyncFile's is an async generator too
        async for line in self.lines():
            if line is None:
                await self.refuse(TOO_LONG)
            elif line.strip(JSON_WHITESPACE):
                for text in await self.admit(line):
                    yield text
        with anyio.move_on_after(DRAIN_SECONDS):
            await self.traffic.wait_until_settled()
        if self.traffic.count:
            log.warning("stdin closed; %d requests still unanswered after %g s", self.traffic.count, DRAIN_SECONDS)

    async def lines(self) -> AsyncIterator[bytes | None]:
        """stdin's lines without their newlines; None once for a line that passes MAX_LINE_BYTES."""
        pending = bytearray()
        skipping = False  # The rest of an over-long line.
        while chunk := await self.wire.read():
            start = 0
            while (end := chunk.find(b"\n", start)) >= 0:
                if not skipping:
                    pending += chunk[start:end]
                    yield bytes(pending)
                pending.clear()
                skipping, start = False, end + 1
            if not skipping:
                pending += chunk[start:]
                if len(pending) > MAX_LINE_BYTES:
                    pending.clear()
                    skipping = True
                    yield None
        if pending and not skipping:
            yield bytes(pending)

    async def admit(self, line: bytes) -> list[str]:
        """The texts that go on to the SDK for one line (none when it is answered here)."""
        await self.traffic.wait_for_room()  # Before the line is parsed: it may parse to 25 times its size.
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            await self.refuse(NOT_UTF8)
            return []
        if text.lstrip()[:1] == "[":
            return await self.admit_batch(text)
        message = judge(text)
        if isinstance(message, types.JSONRPCError):
            await self.refuse(message)
            return []
        await self.enter(message, len(line), None)
        return [text]

    async def enter(self, message: types.JSONRPCMessage, size: int, batch: Batch | None) -> None:
        """Count a message that goes on to the SDK."""
        if isinstance(message, types.JSONRPCRequest):
            self.traffic.read(message.id, size, batch)
        elif isinstance(message, types.JSONRPCNotification) and message.method == "notifications/cancelled":
            cancelled = cancelled_request_id_from_params(message.params)
            if cancelled is not None:  # The SDK never answers a request its client cancelled.
                cut_short = self.traffic.answered_in_batch(cancelled, None)
                if cut_short is None:
                    self.traffic.settled(cancelled)
                else:
                    await self.send_if_complete(cut_short)

    async def admit_batch(self, text: str) -> list[str]:
        """Repairs #934 (no JSON-RPC batches): where the protocol version has batches, a batch's
        messages go on one by one, and `Replies` sends their replies back as one array.
        Delete once the SDK does that, or once no client speaks 2025-03-26.
        """
        try:
            value: object = json.loads(text)
        except (ValueError, RecursionError):
            await self.refuse(NOT_JSON)
            return []
        members = value if isinstance(value, list) else []  # pyright: ignore[reportUnknownVariableType]
        refusal = (
            EMPTY_BATCH
            if not members
            else NO_BATCHES
            if self.traffic.protocol_version not in BATCH_VERSIONS
            else BATCH_TOO_LARGE
            if len(members) > MAX_BATCH  # pyright: ignore[reportUnknownArgumentType]
            else None
        )
        if refusal is not None:
            await self.refuse(refusal)
            return []
        batch = Batch()
        texts: list[str] = []
        judged: list[tuple[str, types.JSONRPCMessage]] = []
        for member in members:  # pyright: ignore[reportUnknownVariableType]
            member_text = json.dumps(member)
            message = judge(member_text) if isinstance(member, dict) else NOT_A_MESSAGE
            if isinstance(message, types.JSONRPCError):
                self.warn(message)
                batch.replies.append(message)
            else:
                judged.append((member_text, message))
        for member_text, message in judged:  # All ids are registered before any member reaches the SDK.
            await self.enter(message, len(member_text), batch)
            texts.append(member_text)
        batch.sealed = True
        await self.send_if_complete(batch)  # When nothing in it awaits the SDK.
        return texts

    async def send_if_complete(self, batch: Batch) -> None:
        await send_if_complete(batch, self.stdout, self.traffic)

    async def refuse(self, reply: types.JSONRPCError) -> None:
        self.warn(reply)
        await self.stdout.answer(reply)

    def warn(self, reply: types.JSONRPCError) -> None:
        """Log the first few unreadable messages: a flood must not fill a stderr that nobody reads."""
        self.warnings += 1
        if self.warnings <= MAX_UNREADABLE_WARNINGS:
            more = "; further ones are answered without a log line" if self.warnings == MAX_UNREADABLE_WARNINGS else ""
            log.warning("answered an unreadable message: %s%s", reply.error.message, more)


async def send_if_complete(batch: Batch, stdout: Stdout, traffic: Traffic) -> None:
    """Write a batch's replies as one array once all are in (none for a batch of notifications)."""
    if not batch.complete():
        return
    if batch.replies:
        await stdout.write(batch.line())
    for key in batch.answered:
        traffic.settled(key)


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
    """Stands in front of one of the SDK's message streams; closing it closes that stream."""

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


class Replies(StreamProxy[MessageSink]):
    """Stands in front of the SDK's write stream: settles what each reply answers, and gathers a batch's."""

    def __init__(self, stream: MessageSink, stdout: Stdout, traffic: Traffic) -> None:
        super().__init__(stream)
        self.stdout, self.traffic = stdout, traffic

    async def send(self, item: SessionMessage, /) -> None:
        message = item.message
        if not isinstance(message, Reply) or message.id is None:
            await self.stream.send(item)
            return
        if isinstance(message, types.JSONRPCResponse) and "serverInfo" in message.result:
            self.traffic.protocol_version = message.result.get("protocolVersion")  # The handshake's outcome.
        batch = self.traffic.answered_in_batch(message.id, message)
        if batch is None:
            await self.stream.send(item)
            self.traffic.settled(message.id)
        else:
            await send_if_complete(batch, self.stdout, self.traffic)


# Serving --------------------------------------------------------------------------------


def stop_on_signals(logger: logging.Logger, stdout: Wire) -> None:
    """Exit 0 on SIGINT, SIGTERM, SIGHUP (a closed terminal) or SIGBREAK (Ctrl-Break), with one log line.

    Repairs #3551 (Ctrl-C ignored). The line being written is finished first, for up to
    STOP_SECONDS; a second signal ends the process at once. It ends with `os._exit`, since
    a stop must wait for nothing the host may never do: read stdout or stderr, or close
    stdin, which on Windows and for files and terminals a worker thread may be reading,
    and Python would wait for that thread at exit. Delete once Ctrl-C stops an SDK stdio
    server at once.
    """

    def exit_now() -> None:
        stdout.restore()
        os._exit(0)

    def stop(signum: int, frame: FrameType | None) -> None:
        last_words(logger, f"stopping on {signal.Signals(signum).name}")
        if not stdout.unwritten or stdout.after_line is not None:
            exit_now()
        stdout.after_line = exit_now
        threading.Timer(STOP_SECONDS, exit_now).start()

    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"):
        signum: int | None = getattr(signal, name, None)  # SIGHUP is POSIX's, SIGBREAK (Ctrl-Break) Windows'.
        if signum is not None:
            signal.signal(signum, stop)


def last_words(logger: logging.Logger, message: str) -> None:
    """Log one line from a signal handler: bypassing logging, and only if stderr takes it at once.

    The signal can land while a log call is writing to a stderr that nobody reads; logging
    again would then fail ("reentrant call") or wait forever.
    """
    if not logger.isEnabledFor(logging.INFO):
        return
    handlers = logging.getLogger().handlers
    formatter = (handlers[0].formatter if handlers else None) or logging.Formatter()
    line = formatter.format(logger.makeRecord(logger.name, logging.INFO, "", 0, message, (), None)) + "\n"
    with suppress(OSError, ValueError):
        if sys.platform == "win32" or select.select([], [2], [], 0)[1]:
            os.write(2, line.encode(errors="replace"))


async def serve_streams(server: Server[Any], stdin: Wire, stdout: Wire) -> None:
    writer = Stdout(stdout)
    traffic = Traffic()
    async with stdio_server(stdin=Stdin(stdin, writer, traffic), stdout=writer) as (read_stream, write_stream):
        await server.run(read_stream, Replies(write_stream, writer, traffic), server.create_initialization_options())


def serve(server: Server[Any]) -> None:
    """Serve `server` over stdin and stdout until stdin ends (exit 0) or a stop signal arrives.

    A closed stdin is an empty one. A closed or failing stdout (the host went away, or a
    full disk) ends the process at once with exit code 1 and one log line: no reply could
    reach anyone.
    """
    logger = logging.getLogger(server.name)
    if not is_open(1):
        logger.error("stdout is closed, so there is nowhere to write replies; exiting")
        sys.exit(1)
    stdin = Wire.claim(0, os.devnull) if is_open(0) else None
    stdout = Wire.claim(1, None if is_open(2) else os.devnull)
    stop_on_signals(logger, stdout)
    logger.info("%s %s serving MCP over stdio (pid %d)", server.name, server.version, os.getpid())
    try:
        if stdin is not None:
            anyio.run(serve_streams, server, stdin, stdout)
    except* OSError as failure:
        logger.error("stopping: cannot use stdio (%s)", failure.exceptions[0])
        stdout.restore()
        logging.shutdown()
        os._exit(1)  # As in `stop_on_signals`: a worker thread may still be reading stdin.
    stdout.restore()
    logger.info("stdin closed; exiting")


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True
