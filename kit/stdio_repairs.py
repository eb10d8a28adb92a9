"""Repairs to the MCP Python SDK's stdio transport (mcp 2.3), for any low-level `Server`:
`stdio_repairs.serve(server)`, instead of `anyio.run` around `stdio_server()` and `server.run`.

`Server.run` reads from `Inbox`, which parses each line of stdin once and either hands the SDK
the message or answers it, and writes to `Outbox`, the one writer of stdout, where each request
settles once. The event loop waits on pipes and sockets; Windows, files and terminals get a
worker thread. The repairs, by their issue in github.com/modelcontextprotocol/python-sdk, each
to go once the SDK does the same: #3551 Ctrl-C ignored (`stop_on_signals`); #2678 requests
cancelled at stdin EOF (`Inbox.drain`); #2751 unreadable lines dropped (`Inbox.admit`); #934 no
batches (`Inbox.batch_refusal`). With no issue yet: unbounded lines, requests and echoes; an id
reused in flight (the SDK overwrites the first); a thread handoff per line read, two per reply.
"""

from __future__ import annotations

import json
import logging
import os
import re
import select
import signal
import stat
import sys
import threading
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from types import FrameType
from typing import Any, NoReturn, cast

import anyio
import anyio.to_thread
import mcp_types as types
from anyio.abc import ObjectReceiveStream, ObjectSendStream
from mcp.os.win32.utilities import rebind_std_handle_to_fd
from mcp.server import Server
from mcp.shared.dispatcher import as_request_id, coerce_request_id
from mcp.shared.message import ServerMessageMetadata, SessionMessage
from pydantic import ValidationError

if sys.platform != "win32":
    import fcntl

MAX_LINE_BYTES = 4 * 1024 * 1024  # One message; a longer line is answered with -32600 and skipped.
MAX_IN_FLIGHT = 64  # Requests read but not yet settled: no further request is taken while this many wait...
MAX_IN_FLIGHT_BYTES = 2 * 1024 * 1024  # ...or while their lines add up to this many bytes.
MAX_BATCH = MAX_IN_FLIGHT  # Messages in one JSON-RPC batch.
MAX_ECHO = 100  # Characters of a string a client chose (a method name) that a reply repeats.
DRAIN_SECONDS = 5.0  # How long stdin's EOF waits for replies still being worked on.
STOP_SECONDS = 2.0  # How long a stop signal waits to finish the line being written.
MAX_UNREADABLE_WARNINGS = 20  # Then unreadable lines are answered without a log line each.
READ_SIZE = 64 * 1024
BATCH_VERSIONS = ("2024-11-05", "2025-03-26")  # JSON-RPC batches, until MCP dropped them in 2025-06-18.
JSON_WHITESPACE = b" \t\r\n"
BYTE_ORDER_MARK = b"\xef\xbb\xbf"  # Before the first line, from PowerShell pipes and Notepad files.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # Only where one is written may a line hold a lone one.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads pairs the others into one character.
STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]')
THREADS_VARIABLE = "STDIO_REPAIRS_THREADS"  # "1": worker threads for every descriptor, as on Windows (tests).
STOP_SIGNALS = {  # SIGHUP (a closed terminal) is POSIX's; SIGBREAK (Ctrl-Break) Windows'.
    signum for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK") if (signum := getattr(signal, name, None))
}

log = logging.getLogger(__name__)


class Refusal(types.JSONRPCError):
    """Our answer to a line, or a batch's member, that is not a valid message (not a client's error)."""


def error_reply(message: str, request_id: types.RequestId | None = None, code: int = types.INVALID_REQUEST) -> Refusal:
    return Refusal(jsonrpc="2.0", id=request_id, error=types.ErrorData(code=code, message=message))


TOO_LONG = error_reply(f"Invalid Request: a message may be at most {MAX_LINE_BYTES} bytes long")
NOT_UTF8 = error_reply("Parse error: a line must be UTF-8", code=types.PARSE_ERROR)
NOT_JSON = error_reply("Parse error: each line must be one JSON value", code=types.PARSE_ERROR)
NOT_A_MESSAGE = "Invalid Request: not a JSON-RPC 2.0 message"
TOO_DEEP = "Invalid Request: nested too deeply to be read"
BAD_ID = error_reply('Invalid Request: "id" must be a string or an integer')
IN_USE = "Invalid Request: a request with this id is still in flight; each request needs an id of its own"
EMPTY_BATCH = error_reply("Invalid Request: an empty batch")
BATCH_TOO_LARGE = error_reply(f"Invalid Request: a batch may hold at most {MAX_BATCH} messages")
NO_BATCHES = error_reply("Invalid Request: this protocol version has no JSON-RPC batches; send one message per line")


def serialized(message: types.JSONRPCMessage) -> str:
    """A message as the SDK's own stdio transport serializes it."""
    return message.model_dump_json(by_alias=True, exclude_unset=True)


def reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def judge(value: object, surrogates: bool) -> types.JSONRPCMessage | Refusal:
    """The message a parsed value is, read as the SDK reads it; or why it is none.
    `surrogates`: its line spells a surrogate escape, so a string in it may be unwritable."""
    try:
        message = types.jsonrpc_message_adapter.validate_python(value, by_name=False)
    except ValidationError:
        message = None
    if message is None or (surrogates and not writable(value)):
        return error_reply(NOT_A_MESSAGE, readable_id(value))
    if isinstance(message, types.JSONRPCNotification) and "id" in cast(dict[str, Any], value):
        return BAD_ID  # The SDK would take it for a notification, with no reply.
    if isinstance(message, types.JSONRPCRequest) and len(message.method) > MAX_ECHO:
        return error_reply(f"Method not found: {message.method[:MAX_ECHO]}...", message.id, types.METHOD_NOT_FOUND)
    return message


def writable(value: object) -> bool:
    """Whether a parsed value can be written back as UTF-8: it holds no lone surrogate."""
    return LONE_SURROGATE.search(json.dumps(value, ensure_ascii=False)) is None


def readable_id(value: object) -> types.RequestId | None:
    """The `id` of a JSON object, if JSON-RPC allows it and it can be written back (no lone surrogate)."""
    request_id = as_request_id(cast(dict[str, object], value).get("id")) if isinstance(value, dict) else None
    return request_id if not isinstance(request_id, str) or writable(request_id) else None


def top_level_id(text: str) -> types.RequestId | None:
    """The `id` of an object nested too deeply to parse whole, read from its own members alone."""
    depth = 0
    for found in STRING_OR_BRACKET.finditer(text):
        token = found.group()
        if token in ("{", "["):
            depth += 1
        elif token in ("}", "]"):
            depth -= 1
        elif depth == 1 and (rest := text[found.end() :].lstrip()).startswith(":") and json.loads(token) == "id":
            with suppress(ValueError):
                return readable_id({"id": json.JSONDecoder().raw_decode(rest[1:].lstrip())[0]})
            return None
    return None


@dataclass(slots=True)
class Owed:
    """What one line is owed: the replies to its requests, written together once all are in (a batch's
    as one array). Each request stays in flight, counted at `size` bytes, until then."""

    batch: bool
    size: int = 0
    members: list[types.RequestId] = field(default_factory=list[types.RequestId])
    awaiting: int = 1  # The line's own reading, then one for each request in it.
    replies: list[str] = field(default_factory=list[str])


class Wire:
    """A private copy of fd 0 or fd 1, read and written on the event loop where the loop can wait on it."""

    def __init__(self, fd: int, writes: bool) -> None:
        self.fd = fd
        opened, stderr = os.fstat(fd), stat_of(2)
        waitable = stat.S_ISFIFO(opened.st_mode) or stat.S_ISSOCK(opened.st_mode)
        threads = sys.platform == "win32" or os.environ.get(THREADS_VARIABLE) == "1"
        # The loop can wait to write only with O_NONBLOCK, a flag of the open file, which the parent may
        # share: `restore` clears it on every way out. Never set on the pipe that stderr writes to too.
        shares_stderr = stderr is not None and os.path.samestat(opened, stderr)
        self.on_loop = waitable and not threads and not (writes and shares_stderr)
        self.made_nonblocking = writes and self.on_loop and set_blocking(fd, False)
        self.unwritten = memoryview(b"")  # The rest of the line being written.
        self.after_line: Callable[[], None] | None = None  # What a stop does once that line is out.
        # Its worker thread, one at a time: never waiting for a token behind tools that use anyio's threads.
        self.thread = anyio.CapacityLimiter(1)

    @classmethod
    def claim(cls, fd: int, diversion: str | None) -> Wire:
        """Serve fd from a private copy and point fd at `diversion` (None: stderr), as `stdio_server`
        does: a handler's child process reads EOF from fd 0, and a stray print reaches stderr."""
        wire = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3) if sys.platform != "win32" else os.dup(fd)
        source = 2 if diversion is None else os.open(diversion, os.O_WRONLY if fd else os.O_RDONLY)
        os.dup2(source, fd)
        if source != 2:
            os.close(source)
        with suppress(OSError):  # Best effort, as in `stdio_server`.
            rebind_std_handle_to_fd(fd)  # Windows: child processes inherit the Win32 handle, not the fd.
        return cls(wire, writes=fd == 1)

    async def read(self) -> bytes:
        if not self.on_loop:
            return await anyio.to_thread.run_sync(in_worker, self.fd, None, abandon_on_cancel=True, limiter=self.thread)
        while True:
            await anyio.wait_readable(self.fd)
            with suppress(BlockingIOError):  # A parent may have made it non-blocking; readiness can be stale.
                return os.read(self.fd, READ_SIZE)

    async def write(self, data: bytes) -> None:
        self.unwritten = memoryview(data)
        while self.unwritten:
            if not self.on_loop:
                written = await anyio.to_thread.run_sync(in_worker, self.fd, self.unwritten, limiter=self.thread)
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

    def exit(self, code: int) -> NoReturn:
        """End the process now (`os._exit`: a worker thread may still be reading stdin), stdout restored."""
        self.restore()
        os._exit(code)

    def exit_after(self, seconds: float, code: int) -> None:
        """End the process `seconds` from now, unless it has ended by then: a write in a worker thread to a
        stdout nobody reads cannot be cancelled, and would keep it alive for ever."""
        deadline = threading.Timer(seconds, self.exit, (code,))
        deadline.daemon = True
        deadline.start()

    def end(self, code: int) -> None:
        """End the process once the line being written is out, or after STOP_SECONDS if it never is."""
        if not self.unwritten or self.after_line is not None:
            self.exit(code)
        self.after_line = partial(self.exit, code)
        self.exit_after(STOP_SECONDS, code)


def in_worker(fd: int, data: memoryview | None) -> Any:
    """`os.read` (`data` None) or `os.write` in a worker thread, which leaves stop signals to the loop's
    thread and waits out a descriptor another program made non-blocking (Node.js does it to terminals)."""
    if sys.platform != "win32":
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    while True:
        try:
            return os.read(fd, READ_SIZE) if data is None else os.write(fd, data)
        except BlockingIOError:
            select.select([fd] if data is None else [], [] if data is None else [fd], [])


def set_blocking(fd: int, blocking: bool) -> bool:
    """Set or clear O_NONBLOCK (never on Windows, where the loop does not wait on pipes); whether it changed."""
    if sys.platform == "win32" or os.get_blocking(fd) == blocking:
        return False
    os.set_blocking(fd, blocking)
    return True


# The two streams that Server.run is handed --------------------------------------------------


class Outbox(ObjectSendStream[SessionMessage]):
    """stdout, as the write stream the SDK sends to: its one writer, a line at a time; and the one
    place that counts the requests read and not yet answered (by id, as the SDK coerces it: "7" is 7)."""

    def __init__(self, wire: Wire, logger: logging.Logger) -> None:
        self.wire, self.lock, self.logger = wire, anyio.Lock(fast_acquire=True), logger
        self.in_flight: dict[types.RequestId, Owed] = {}  # Ids taken, until their line has its replies.
        self.held = self.held_bytes = 0  # Requests read, and their bytes, until their replies are written.
        self.changed = anyio.Event()
        self.handshake: types.RequestId | None = None  # The initialize request's id.
        self.protocol_version: str | None = None  # Once the handshake has agreed on one.

    def take(self, message: types.JSONRPCMessage, owed: Owed) -> SessionMessage | Refusal:
        """A message as the SDK is handed it: a request counted in flight, with the SDK's way to say it
        will have no reply; or the refusal of a request whose id is in flight already."""
        if not isinstance(message, types.JSONRPCRequest):
            return SessionMessage(message)
        key = coerce_request_id(message.id)
        if key in self.in_flight:
            return error_reply(IN_USE, message.id)
        self.in_flight[key] = owed
        self.held, self.held_bytes = self.held + 1, self.held_bytes + owed.size
        owed.members.append(key)
        owed.awaiting += 1
        if message.method == "initialize":
            self.handshake = key
        return SessionMessage(message, ServerMessageMetadata(on_request_unanswered=partial(self.unanswered, key)))

    async def wait(self, until: Callable[[], object]) -> None:
        while not until():
            self.changed = anyio.Event()
            await self.changed.wait()

    async def send(self, item: SessionMessage) -> None:
        """Write a message; a reply waits for the rest of what its line is owed."""
        message = item.message
        answered = message.id if isinstance(message, types.JSONRPCResponse | types.JSONRPCError) else None
        if answered is None or (owed := self.in_flight.get(key := coerce_request_id(answered))) is None:
            return await self.write(serialized(message))
        if key == self.handshake and isinstance(message, types.JSONRPCResponse):
            self.protocol_version = message.result.get("protocolVersion")
        await self.answered(owed, serialized(message))

    async def unanswered(self, key: types.RequestId) -> None:
        """The SDK's word that a request will have no reply (it was cancelled; never after a reply)."""
        if (owed := self.in_flight.get(key)) is not None:
            await self.answered(owed)

    async def answered(self, owed: Owed, reply: str | None = None) -> None:
        """The one way requests settle: once a line has all it is owed, free its ids (first: a client that
        has read a reply may reuse its id before a worker thread's write returns), write it, and let go."""
        if reply is not None:
            owed.replies.append(reply)
        owed.awaiting -= 1
        if not owed.awaiting:
            for key in owed.members:
                del self.in_flight[key]
            if owed.replies:
                await self.write("[" + ",".join(owed.replies) + "]" if owed.batch else owed.replies[0])
            self.held, self.held_bytes = self.held - len(owed.members), self.held_bytes - owed.size * len(owed.members)
            self.changed.set()

    async def write(self, line: str) -> None:
        async with self.lock:
            try:
                await self.wire.write(line.encode() + b"\n")
            except OSError as error:
                self.fail(error)

    def fail(self, error: OSError) -> NoReturn:
        """stdin or stdout failed, so no reply can reach anyone: exit 1 at once, with one log line. Here,
        not by raising: the SDK would answer an exception raised as it writes."""
        self.logger.error("stopping: cannot use stdio (%s)", error)
        logging.shutdown()
        self.wire.exit(1)

    async def aclose(self) -> None:
        pass  # The descriptor is its caller's to close.


class Inbox(ObjectReceiveStream[SessionMessage]):
    """stdin, as the read stream the SDK reads from: valid messages only, each line parsed once. No
    request is taken while MAX_IN_FLIGHT requests, or MAX_IN_FLIGHT_BYTES of them, are in flight;
    what is not a request (a cancellation) and EOF are still read."""

    def __init__(self, wire: Wire, outbox: Outbox) -> None:
        self.wire, self.outbox = wire, outbox
        self.ready: deque[SessionMessage] = deque()  # Parsed and counted; next to go to the SDK.
        self.buffer = bytearray()
        self.start = self.scanned = 0  # Where the next line starts in the buffer; how far it has no newline.
        self.skipping = False  # The rest of an over-long line.
        self.at_start = True  # The first line may begin with a byte order mark.
        self.at_eof = False
        self.warnings = 0

    async def aclose(self) -> None:
        pass  # The descriptor is its caller's to close.

    async def receive(self) -> SessionMessage:
        while not self.ready:
            if (line := await self.next_line()) is None:
                await self.drain()
                raise anyio.EndOfStream
            await self.admit(line)
        return self.ready.popleft()

    async def next_line(self) -> bytes | None:
        """The next line, without its newline; None at EOF. One over MAX_LINE_BYTES is answered as soon as
        it passes that, and skipped."""
        while True:
            end = self.buffer.find(b"\n", self.scanned)
            if not self.skipping and (end if end >= 0 else len(self.buffer)) - self.start > MAX_LINE_BYTES:
                await self.refuse(TOO_LONG)  # Whole or not: the rest of it may never come.
                self.skipping = True
            if end >= 0:
                line, skipped, self.skipping = bytes(self.buffer[self.start : end]), self.skipping, False
                self.start = self.scanned = end + 1
                if not skipped:
                    return line
                continue
            del self.buffer[: self.start]
            self.start = 0
            if self.skipping:
                self.buffer.clear()
            self.scanned = len(self.buffer)
            try:
                chunk = b"" if self.at_eof else await self.wire.read()
            except OSError as error:
                self.outbox.fail(error)
            if not chunk:
                self.at_eof = True
                line, self.buffer = bytes(self.buffer), bytearray()
                return line or None
            self.buffer += chunk

    async def admit(self, line: bytes) -> None:
        """Repairs #2751 (unreadable lines dropped): make ready the messages a line holds, and give the rest
        the error JSON-RPC 2.0 asks for, with its id where readable; a request whose id is not a string or an
        integer (the SDK takes it for a notification) or is in flight too. Delete once the SDK answers them."""
        if self.at_start:
            self.at_start, line = False, line.removeprefix(BYTE_ORDER_MARK)
        if not line.strip(JSON_WHITESPACE):
            return
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            return await self.refuse(NOT_UTF8)
        try:
            value: object = json.loads(text, parse_constant=reject_constant)
        except RecursionError:
            return await self.refuse(error_reply(TOO_DEEP, top_level_id(text)))
        except ValueError:
            return await self.refuse(NOT_JSON)
        members = cast(list[Any], value) if isinstance(value, list) else [value]
        if members is value and (refusal := self.batch_refusal(members)):
            return await self.refuse(refusal)
        surrogates = SURROGATE_ESCAPE.search(line) is not None
        messages = [judge(member, surrogates) for member in members]
        if any(isinstance(message, types.JSONRPCRequest) for message in messages):
            await self.outbox.wait(self.has_room)  # Parsed first: what is not a request (a cancel) goes on.
        owed = Owed(batch=members is value, size=len(line) // len(members))
        for message in messages:
            taken = message if isinstance(message, Refusal) else self.outbox.take(message, owed)
            if isinstance(taken, Refusal):
                self.warn(taken)
                owed.replies.append(serialized(taken))
            else:
                self.ready.append(taken)
        await self.outbox.answered(owed)  # Read: nothing in it reached the SDK before this.

    def batch_refusal(self, members: list[Any]) -> Refusal | None:
        """Repairs #934 (no JSON-RPC batches): where the protocol version has batches, a batch's
        messages go on one by one, and their replies go back as one array (`Owed.batch`); this
        refuses the batches that cannot. Delete once the SDK does that, or no client speaks 2025-03-26."""
        if not members:
            return EMPTY_BATCH
        if self.outbox.protocol_version not in BATCH_VERSIONS:
            return NO_BATCHES
        return BATCH_TOO_LARGE if len(members) > MAX_BATCH else None

    def has_room(self) -> bool:
        return self.outbox.held < MAX_IN_FLIGHT and self.outbox.held_bytes < MAX_IN_FLIGHT_BYTES

    async def drain(self) -> None:
        """Repairs #2678 (requests cancelled at stdin EOF): EOF reaches the SDK once every request read has
        settled, for at most DRAIN_SECONDS, so `printf ... | uv run <server>.py` prints every answer; then
        the process ends within STOP_SECONDS. Delete once the SDK's stdio transport waits for them itself."""
        with anyio.move_on_after(DRAIN_SECONDS):
            await self.outbox.wait(lambda: not self.outbox.held)
        if unanswered := self.outbox.held:
            log.warning("stdin closed; %d requests still unanswered after %g s", unanswered, DRAIN_SECONDS)
            self.outbox.wire.exit_after(STOP_SECONDS, 0)  # As a stop does, should the last replies never go out.

    async def refuse(self, reply: types.JSONRPCError) -> None:
        self.warn(reply)
        await self.outbox.write(serialized(reply))

    def warn(self, reply: types.JSONRPCError) -> None:
        """Log the first few unreadable messages: a flood must not fill a stderr that nobody reads."""
        self.warnings += 1
        if self.warnings <= MAX_UNREADABLE_WARNINGS:
            more = "; further ones are answered without a log line" if self.warnings == MAX_UNREADABLE_WARNINGS else ""
            said = reply.error.message.encode("unicode_escape").decode("ascii")  # A client's text forges no line.
            log.warning("answered an unreadable message: %s%s", said, more)


# Serving ---------------------------------------------------------------------------------


def stop_on_signals(logger: logging.Logger, stdout: Wire) -> None:
    """Repairs #3551 (Ctrl-C ignored): exit 0 on a stop signal, with one log line, once the line being
    written is out (for up to STOP_SECONDS; a second signal ends it at once). `os._exit`, for a stop
    waits for nothing a host may never do (read stdout, close stdin that a worker thread may be reading)."""

    def stop(signum: int, frame: FrameType | None) -> None:
        last_words(logger, f"stopping on {signal.Signals(signum).name}")
        stdout.end(0)

    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)


def last_words(logger: logging.Logger, message: str) -> None:
    """Log one line from a signal handler, only if stderr takes it at once: the signal may land while
    logging writes to a stderr nobody reads, and logging again would fail ("reentrant call") or hang."""
    if not logger.isEnabledFor(logging.INFO):
        return
    handlers = logging.getLogger().handlers
    formatter = (handlers[0].formatter if handlers else None) or logging.Formatter()
    line = formatter.format(logger.makeRecord(logger.name, logging.INFO, "", 0, message, (), None)) + "\n"
    with suppress(OSError, ValueError):
        if sys.platform == "win32" or select.select([], [2], [], 0)[1]:
            os.write(2, line.encode(errors="replace"))


async def serve_streams(server: Server[Any], stdin: Wire, stdout: Wire) -> None:
    outbox = Outbox(stdout, logging.getLogger(server.name))
    await server.run(Inbox(stdin, outbox), outbox, server.create_initialization_options())


def serve(server: Server[Any]) -> None:
    """Serve `server` over stdin and stdout until stdin ends (exit 0) or a stop signal arrives. A closed
    stdin is an empty one; a closed or failing stdout ends it at once, with exit code 1 and one log line."""
    logger = logging.getLogger(server.name)
    if stat_of(1) is None:
        logger.error("stdout is closed, so there is nowhere to write replies; exiting")
        sys.exit(1)
    stdout = Wire.claim(1, None if stat_of(2) is not None else os.devnull)
    stop_on_signals(logger, stdout)
    logger.info("%s %s serving MCP over stdio (pid %d)", server.name, server.version, os.getpid())
    if stat_of(0) is not None:
        anyio.run(serve_streams, server, Wire.claim(0, os.devnull), stdout)
    stdout.restore()
    logger.info("stdin closed; exiting")


def stat_of(fd: int) -> os.stat_result | None:
    """What a descriptor is open on; None if it is closed."""
    with suppress(OSError):
        return os.fstat(fd)
    return None
