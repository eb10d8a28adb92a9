"""heartbeat: a minimal MCP server with one tool, `get_heartbeat`, over stdio.

A host (Claude Desktop, an IDE, the MCP Inspector) starts it with
`uv --directory <this folder> run heartbeat.py` and speaks JSON-RPC on stdin and
stdout; logs go to stderr. README.md tells how to install, run and test it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from contextvars import Context, ContextVar
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Generic, Self, TypeVar, cast

import anyio
import mcp_types as types
from jsonschema import Draft202012Validator, ValidationError
from mcp import Client, MCPError, StdioServerParameters, stdio_client
from mcp.server import Server, ServerRequestContext
from mcp.server.context import CallNext, HandlerResult
from mcp.server.stdio import stdio_server
from mcp.shared._stream_protocols import ReadStream, WriteStream
from mcp.shared.message import SessionMessage
from pydantic import ValidationError as PydanticError

# The contract ---------------------------------------------------------------

NAME = "heartbeat"
VERSION = "1.0.0"  # Kept equal to pyproject.toml's version by a test.
TOOL_NAME = "get_heartbeat"
MAX_USER_LENGTH = 200

INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "user": {
            "type": "string",
            "description": f"Who to greet: a name of 1 to {MAX_USER_LENGTH} characters, not only spaces.",
            "minLength": 1,
            "maxLength": MAX_USER_LENGTH,
            "pattern": r"\S",
        },
    },
    "required": ["user"],
    "additionalProperties": False,
}

OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "description": "The greeting: 'Hello <user>, my heart beats for you!'"},
        "user": {"type": "string", "description": "The user, exactly as given."},
        "beat": {"type": "integer", "minimum": 1, "description": "Successful calls since this process started."},
        "server_time": {"type": "string", "format": "date-time", "description": "Server clock, UTC, ISO 8601."},
        "uptime_seconds": {"type": "number", "minimum": 0, "description": "Seconds since this process started."},
        "version": {"type": "string", "description": "The heartbeat server's version."},
    },
    "required": ["text", "user", "beat", "server_time", "uptime_seconds", "version"],
    "additionalProperties": False,
}

HEARTBEAT_TOOL = types.Tool(
    name=TOOL_NAME,
    title="Get heartbeat",
    description=(
        "Check that the heartbeat MCP server is alive. Returns a greeting for `user`, "
        "a beat counter, the server time (UTC) and uptime. Safe to call any time; it changes nothing."
    ),
    input_schema=INPUT_SCHEMA,
    output_schema=OUTPUT_SCHEMA,
    annotations=types.ToolAnnotations(
        read_only_hint=True,
        destructive_hint=False,
        idempotent_hint=True,
        open_world_hint=False,
    ),
)

INSTRUCTIONS = (
    "heartbeat proves that an MCP connection works end to end. "
    f"Call {TOOL_NAME} with a user name to get a greeting and the server's liveness details."
)

# The behaviour --------------------------------------------------------------

logger = logging.getLogger(NAME)
arguments_validator = Draft202012Validator(INPUT_SCHEMA)


class Heart:
    """The process's state: when it started and how many beats it has given."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.beats = 0

    def beat(self) -> int:
        self.beats += 1
        return self.beats

    def uptime_seconds(self) -> float:
        return round(time.monotonic() - self.started, 3)


heart = Heart()
arguments_as_sent: ContextVar[Any] = ContextVar("arguments_as_sent")


def describe_problem(error: ValidationError) -> str:
    """One line naming the argument and the rule it breaks, never echoing the value."""
    field = f'"{error.path[-1]}"' if error.path else "arguments"
    rule: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    given: Any = error.instance
    match error.validator:
        case "type" if not error.path:
            return f'arguments must be an object like {{"user": "Ada"}}, got {json_type(given)}'
        case "type":
            return f"{field} must be of type {rule['type']}, got {json_type(given)}"
        case "required":
            missing = ", ".join(f'"{name}"' for name in rule["required"] if name not in given)
            return f"missing required argument {missing}"
        case "additionalProperties":
            allowed = ", ".join(f'"{name}"' for name in rule["properties"])
            extra = ", ".join(f'"{name}"' for name in given if name not in rule["properties"])
            return f"unexpected argument {extra}; the only accepted argument is {allowed}"
        case "minLength":
            return f"{field} must not be empty"
        case "maxLength":
            return f"{field} must be at most {rule['maxLength']} characters, got {len(given)}"
        case "pattern":
            return f"{field} must contain a character other than whitespace"
        case _:
            return f"{field} breaks the input schema's {error.validator!r} rule"


def json_type(value: object) -> str:
    """The JSON name of a Python value's type, for messages."""
    match value:
        case None:
            return "null"
        case bool():
            return "boolean"
        case int() | float():
            return "number"
        case str():
            return "string"
        case list():
            return "array"
        case _:
            return "object"


def validate_arguments(arguments: Any) -> str | None:
    """Check arguments against INPUT_SCHEMA; return the problem, or None when valid."""
    errors = arguments_validator.iter_errors(arguments)  # pyright: ignore[reportUnknownMemberType]  # an untyped deprecated overload
    error: ValidationError | None = next(errors, None)
    return None if error is None else describe_problem(error)


def greeting(user: str) -> str:
    return f"Hello {user}, my heart beats for you!"


def heartbeat_reply(user: str) -> dict[str, Any]:
    """The tool's reply object, matching OUTPUT_SCHEMA."""
    return {
        "text": greeting(user),
        "user": user,
        "beat": heart.beat(),
        "server_time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "uptime_seconds": heart.uptime_seconds(),
        "version": VERSION,
    }


def tool_error(message: str) -> types.CallToolResult:
    """A tool-level error the model can read and act on."""
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


async def list_tools(
    ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    return types.ListToolsResult(tools=[HEARTBEAT_TOOL])


async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
    if params.name != TOOL_NAME:
        raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown tool: {params.name!r}. Available: {TOOL_NAME!r}")
    arguments = arguments_as_sent.get(params.arguments)
    if problem := validate_arguments(arguments):
        return tool_error(f"Invalid arguments for {TOOL_NAME}: {problem}.")
    try:
        reply = heartbeat_reply(arguments["user"])
        text = json.dumps(reply, ensure_ascii=False)
    except Exception:
        logger.exception("%s failed", TOOL_NAME)
        return tool_error(f"{TOOL_NAME} failed inside the server; the details are in the server's log.")
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=reply)


async def pass_non_object_arguments(ctx: ServerRequestContext[Any], call_next: CallNext) -> HandlerResult:
    """Let a `tools/call` whose `arguments` is not an object reach `call_tool`.

    The SDK checks each request's shape before any handler runs and would answer
    this one with a bare JSON-RPC -32602; `call_tool`'s tool error tells a model what
    to fix. The value travels in `arguments_as_sent`, scoped to this request.
    """
    params = ctx.params or {}
    if ctx.method != "tools/call" or isinstance(params.get("arguments"), dict | None):
        return await call_next(ctx)
    token = arguments_as_sent.set(params["arguments"])
    try:
        return await call_next(replace(ctx, params={**params, "arguments": None}))
    finally:
        arguments_as_sent.reset(token)


# The server -----------------------------------------------------------------

server = Server(
    NAME,
    version=VERSION,
    title="Heartbeat",
    instructions=INSTRUCTIONS,
    on_list_tools=list_tools,
    on_call_tool=call_tool,
)
server.middleware.append(pass_non_object_arguments)

# Serving over stdio ---------------------------------------------------------

DRAIN_SECONDS = 5.0  # How long stdin's EOF waits for replies still being worked on.


def unreadable_line_reply(error: Exception) -> types.JSONRPCError:
    """The JSON-RPC 2.0 answer to a line that is not a JSON-RPC message (its id is unknown, so null)."""
    if isinstance(error, PydanticError) and all(detail["type"] != "json_invalid" for detail in error.errors()):
        problem = types.ErrorData(code=types.INVALID_REQUEST, message="Invalid Request: not a JSON-RPC 2.0 message")
    else:
        problem = types.ErrorData(code=types.PARSE_ERROR, message="Parse error: each line must be one JSON value")
    return types.JSONRPCError(jsonrpc="2.0", id=None, error=problem)


class Unanswered:
    """The ids of requests read from stdin that have no reply on stdout yet."""

    def __init__(self) -> None:
        self.ids: set[types.RequestId] = set()
        self.reply_written = anyio.Event()

    def read(self, message: types.JSONRPCMessage) -> None:
        if isinstance(message, types.JSONRPCRequest):
            self.ids.add(message.id)

    def written(self, message: types.JSONRPCMessage) -> None:
        if isinstance(message, types.JSONRPCResponse | types.JSONRPCError) and message.id is not None:
            self.ids.discard(message.id)
            self.reply_written.set()

    async def wait(self) -> None:
        """Return once every request read so far has its reply."""
        while self.ids:
            self.reply_written = anyio.Event()
            await self.reply_written.wait()


StreamT = TypeVar("StreamT", bound=ReadStream[Any] | WriteStream[Any])


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


class ServerStdin(StreamProxy[ReadStream[SessionMessage | Exception]]):
    """The server's side of stdin, for what the SDK's stdio transport leaves undone.

    A line that is not a JSON-RPC message gets the error reply JSON-RPC 2.0 asks for
    (the SDK drops it silently). EOF reaches the server only once every request read
    has its reply: the SDK would cancel them, so `printf ... | uv run heartbeat.py`
    would print nothing.
    """

    def __init__(
        self, stdin: ReadStream[SessionMessage | Exception], stdout: WriteStream[SessionMessage], unanswered: Unanswered
    ) -> None:
        super().__init__(stdin)
        self.stdout, self.unanswered = stdout, unanswered

    @property
    def last_context(self) -> Context | None:
        """The sender's context, which the SDK runs each request's handler in."""
        return getattr(self.stream, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        while True:
            try:
                item = await self.stream.receive()
            except anyio.EndOfStream:
                with anyio.move_on_after(DRAIN_SECONDS):
                    await self.unanswered.wait()
                raise
            if not isinstance(item, Exception):
                self.unanswered.read(item.message)
                return item
            reply = unreadable_line_reply(item)
            logger.warning("answered a line that is not a JSON-RPC message: %s", reply.error.message)
            await self.stdout.send(SessionMessage(reply))

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None


class ServerStdout(StreamProxy[WriteStream[SessionMessage]]):
    """The server's side of stdout: notes each reply as it is written."""

    def __init__(self, stdout: WriteStream[SessionMessage], unanswered: Unanswered) -> None:
        super().__init__(stdout)
        self.unanswered = unanswered

    async def send(self, item: SessionMessage) -> None:
        await self.stream.send(item)
        self.unanswered.written(item.message)


async def serve_stdio() -> None:
    """Serve MCP over stdin/stdout until stdin closes."""
    unanswered = Unanswered()
    async with stdio_server() as (stdin, stdout):
        await server.run(
            ServerStdin(stdin, stdout, unanswered),
            ServerStdout(stdout, unanswered),
            server.create_initialization_options(),
        )


TTY_HINT = f"""\
{NAME} {VERSION} is an MCP server: it is waiting for JSON-RPC messages on stdin, one per line.
An MCP host (Claude Desktop, the MCP Inspector) normally starts it; see README.md.
To try it by hand, paste:
  {{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-11-25","capabilities":{{}},"clientInfo":{{"name":"me","version":"0"}}}}}}
  {{"jsonrpc":"2.0","method":"notifications/initialized"}}
  {{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"{TOOL_NAME}","arguments":{{"user":"Ada"}}}}}}
Press Ctrl-C (or Ctrl-D) to stop."""


def stop(signum: int, frame: FrameType | None) -> None:
    """Exit at once on SIGINT or SIGTERM.

    The SDK reads stdin in a worker thread that cancellation cannot interrupt and
    that Python waits for at exit, so a graceful stop would hang until stdin closed.
    Replies already written are flushed; a host that signals has stopped reading.
    """
    logger.info("stopping on %s", signal.Signals(signum).name)
    logging.shutdown()
    os._exit(0)


def serve() -> None:
    """Serve MCP over stdio until stdin closes or a stop signal arrives."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    logger.info("%s %s serving MCP over stdio (pid %d)", NAME, VERSION, os.getpid())
    if sys.stdin.isatty():
        print(TTY_HINT, file=sys.stderr)
    anyio.run(serve_stdio)
    logger.info("stdin closed; exiting")


# Claude Desktop: install and check ------------------------------------------

PROJECT_DIR = Path(__file__).resolve().parent
CHECK_USER = "check"


class SetupError(Exception):
    """A problem `install` or `check` reports in one line, without a traceback."""


def claude_folder() -> Path:
    """Where Claude Desktop keeps its config on this OS."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Claude"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming") / "Claude"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "Claude"


def claude_logs() -> Path:
    """Where Claude Desktop writes each server's log (mcp-server-<name>.log)."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Logs" / "Claude"
    return claude_folder() / "logs"


def uv_path() -> str:
    """The absolute path of uv: GUI apps don't see the shell's PATH, so a bare "uv" fails."""
    found = os.environ.get("UV") or shutil.which("uv")  # `uv run` sets UV to its own binary.
    if not found:
        raise SetupError(
            "uv not found. Install it (https://docs.astral.sh/uv/getting-started/installation/, "
            "or: python3 -m pip install uv), then run this again."
        )
    return str(Path(found).resolve())


def desktop_entry(uv: str, project_dir: str) -> dict[str, Any]:
    """The `mcpServers` entry that starts this checkout the way hosts need it."""
    return {"command": uv, "args": ["--directory", project_dir, "run", "heartbeat.py"]}


def read_config(path: Path) -> dict[str, Any]:
    """The config's content ({} when absent or empty); refuses anything it could not merge into."""
    try:
        text = path.read_text(encoding="utf-8-sig") if path.exists() else ""  # Notepad may add a BOM.
        config: Any = json.loads(text) if text.strip() else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SetupError(f"{path} is not valid JSON ({error}); fix it or move it aside.") from None
    if not isinstance(config, dict):
        raise SetupError(f"{path} must hold a JSON object, not {json_type(config)}.")
    if not isinstance(cast(dict[str, Any], config).get("mcpServers", {}), dict):
        raise SetupError(f'{path}: "mcpServers" must be an object.')
    return cast(dict[str, Any], config)


def write_config(path: Path, config: dict[str, Any]) -> Path | None:
    """Replace the file atomically, keeping its permissions; return the backup of the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    if path.exists():
        backup = path.with_name(f"{path.name}.{datetime.now().strftime('%Y%m%d-%H%M%S-%f')}.bak")
        shutil.copy2(path, backup)
    descriptor, new = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(config, file, indent=2, ensure_ascii=False)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        if backup:
            shutil.copymode(backup, new)
        os.replace(new, path)
    except BaseException:
        Path(new).unlink(missing_ok=True)
        raise
    return backup


def install(config_path: Path, name: str, dry_run: bool) -> None:
    """Add or update this server's entry in Claude Desktop's config, losing nothing."""
    target = Path(os.path.realpath(config_path))  # Write through a symlinked config, not over it.
    try:
        config = read_config(target)
        entry = desktop_entry(uv_path(), str(PROJECT_DIR))
    except SetupError as error:
        raise SetupError(f"{error} Nothing was written.") from None
    servers: dict[str, Any] = config.setdefault("mcpServers", {})
    found: Any = servers.get(name)
    current = cast(dict[str, Any], found) if isinstance(found, dict) else None
    if current is not None and {key: current.get(key) for key in entry} == entry:
        print(f'"{name}" in {target} is already up to date; nothing was written.')
        return
    if dry_run:
        print(f"Would write to {target}:")
        print(json.dumps({name: entry}, indent=2, ensure_ascii=False))
        return
    servers[name] = {**(current or {}), **entry}
    backup = write_config(target, config)
    print(f'{"Updated" if found is not None else "Added"} "{name}" in {target}.')
    if backup:
        print(f"The previous file is saved as {backup}.")
    print("Fully quit Claude Desktop (not just its window) and start it again to load it.")
    print(f"Its log for this server: {claude_logs() / f'mcp-server-{name}.log'}")


def configured_entry(config_path: Path, name: str) -> tuple[dict[str, Any], str]:
    """The entry Claude Desktop would run for `name`, and where it comes from."""
    servers: dict[str, Any] = read_config(config_path).get("mcpServers", {})
    entry: Any = servers.get(name)
    if isinstance(entry, dict) and isinstance(cast(dict[str, Any], entry).get("command"), str):
        return cast(dict[str, Any], entry), str(config_path)
    return desktop_entry(uv_path(), str(PROJECT_DIR)), "the entry install would write"


async def check(config_path: Path, name: str, seconds: float) -> dict[str, Any]:
    """Start the server as Claude Desktop would, call the tool once, and report what happened."""
    entry, source = configured_entry(config_path, name)
    command: list[str] = [entry["command"], *entry.get("args", [])]
    report: dict[str, Any] = {"ok": False, "command": command, "source": source}
    parameters = StdioServerParameters(command=command[0], args=command[1:], env=entry.get("env"))
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as server_log:
        started = time.perf_counter()
        try:
            with anyio.fail_after(seconds):
                async with Client(stdio_client(parameters, errlog=server_log), mode="legacy") as client:
                    report["protocol_version"] = client.protocol_version
                    info = client.server_info
                    report["server"] = f"{info.name} {info.version}" if info else None
                    report["startup_ms"] = round((time.perf_counter() - started) * 1000, 1)
                    tools = [tool.name for tool in (await client.list_tools()).tools]
                    if TOOL_NAME not in tools:
                        raise SetupError(f"the server lists {tools}, not {TOOL_NAME}")
                    sent = time.perf_counter()
                    result = await client.call_tool(TOOL_NAME, {"user": CHECK_USER})
                    report["round_trip_ms"] = round((time.perf_counter() - sent) * 1000, 2)
            reply: dict[str, Any] = result.structured_content or {}
            report["greeting"] = reply.get("text")
            if result.is_error or reply.get("text") != greeting(CHECK_USER):
                raise SetupError(f"wrong reply to {TOOL_NAME}: {result.model_dump_json(exclude_none=True)[:300]}")
            report["ok"] = True
        except TimeoutError:
            report["error"] = f"no complete answer within {seconds:g} s"
        except SetupError as error:
            report["error"] = str(error)
        except Exception as error:  # Any way the server fails to start or speak is the finding.
            report["error"] = f"the server did not start or answer: {root_cause(error)}"
        if not report["ok"]:
            server_log.seek(0)
            report["server_stderr"] = server_log.read()[-2000:]
    return report


def root_cause(error: BaseException) -> BaseException:
    """The one exception inside nested single-member exception groups."""
    inner: tuple[BaseException, ...] = getattr(error, "exceptions", ())
    return root_cause(inner[0]) if len(inner) == 1 else error


def run_check(config_path: Path, name: str, seconds: float, as_json: bool) -> int:
    """Print the check's report; the exit code is 0 when the server is healthy."""
    report = anyio.run(check, config_path, name, seconds)
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_check(report)
    return 0 if report["ok"] else 1


def print_check(report: dict[str, Any]) -> None:
    print(f"heartbeat check: {'OK' if report['ok'] else 'FAILED'}")
    print(f"  command:    {shlex.join(report['command'])}")
    print(f"  from:       {report['source']}")
    for label, key, unit in [
        ("protocol", "protocol_version", ""),
        ("server", "server", ""),
        ("greeting", "greeting", ""),
        ("start-up", "startup_ms", " ms (spawn to handshake)"),
        ("round trip", "round_trip_ms", f" ms ({TOOL_NAME})"),
    ]:
        if report.get(key) is not None:
            print(f"  {label + ':':<11} {report[key]}{unit}")
    if not report["ok"]:
        print(f"  problem:    {report['error']}")
        if report.get("server_stderr"):
            print("  the server's stderr ended with:")
            print("    " + report["server_stderr"].strip().replace("\n", "\n    "))


# The command line -----------------------------------------------------------

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="heartbeat.py",
        description=f"{NAME}: a minimal MCP server with one tool, {TOOL_NAME}. With no command, serve MCP over stdio.",
        epilog="An MCP host starts it as: uv --directory <this folder> run heartbeat.py",
    )
    parser.add_argument("--version", action="version", version=f"{NAME} {VERSION}")
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=os.environ.get("HEARTBEAT_LOG_LEVEL", "INFO").upper(),
        help="log level for stderr (default: $HEARTBEAT_LOG_LEVEL or INFO)",
    )
    commands = parser.add_subparsers(dest="command", metavar="{install,check}")
    default_config = claude_folder() / "claude_desktop_config.json"
    for command, summary in [
        ("install", "add or update this server in Claude Desktop's config"),
        ("check", "start the server as Claude Desktop would and call its tool once"),
    ]:
        sub = commands.add_parser(command, help=summary, description=summary)
        sub.add_argument("--config", type=Path, default=default_config, help=f"config file (default: {default_config})")
        sub.add_argument("--name", default=NAME, help=f"the entry's name under mcpServers (default: {NAME})")
        if command == "install":
            sub.add_argument("--dry-run", action="store_true", help="print the entry and the file; write nothing")
        else:
            sub.add_argument("--json", action="store_true", help="print the report as JSON")
            sub.add_argument("--timeout", type=float, default=60.0, help="seconds to wait (default: 60)")
    args = parser.parse_args(argv)
    if args.log_level not in LOG_LEVELS:
        parser.error(f"HEARTBEAT_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {args.log_level!r}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command == "install":
            install(args.config, args.name, args.dry_run)
        elif args.command == "check":
            sys.exit(run_check(args.config, args.name, args.timeout, args.json))
        else:
            serve()
    except SetupError as error:
        sys.exit(f"heartbeat {args.command}: {error}")


if __name__ == "__main__":
    main()
