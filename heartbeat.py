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
import signal
import sys
import time
from contextvars import ContextVar
from dataclasses import replace
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import anyio
import mcp_types as types
from jsonschema import Draft202012Validator, ValidationError
from mcp import MCPError
from mcp.server import Server, ServerRequestContext
from mcp.server.context import CallNext, HandlerResult
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage

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


def heartbeat_reply(user: str) -> dict[str, Any]:
    """The tool's reply object, matching OUTPUT_SCHEMA."""
    return {
        "text": f"Hello {user}, my heart beats for you!",
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

PARSE_ERROR_REPLY = types.JSONRPCError(
    jsonrpc="2.0",
    id=None,
    error=types.ErrorData(code=types.PARSE_ERROR, message="Parse error: each line must be one JSON-RPC message"),
)


class Unanswered:
    """The ids of requests read from stdin that have no reply on stdout yet."""

    def __init__(self) -> None:
        self.ids: set[types.RequestId] = set()
        self.none_left = anyio.Event()

    def read(self, message: types.JSONRPCMessage) -> None:
        if isinstance(message, types.JSONRPCRequest):
            self.ids.add(message.id)

    def written(self, message: types.JSONRPCMessage) -> None:
        if isinstance(message, types.JSONRPCResponse | types.JSONRPCError) and message.id is not None:
            self.ids.discard(message.id)
            if not self.ids:
                self.none_left.set()

    async def wait(self) -> None:
        self.none_left = anyio.Event()
        if self.ids:
            await self.none_left.wait()


async def serve_stdio() -> None:
    """Serve MCP over stdin/stdout until stdin closes.

    Between the SDK's stdio transport and the server sit two relays for what the
    SDK leaves undone: a line that is not JSON-RPC gets the parse error JSON-RPC 2.0
    asks for (the SDK drops it silently), and stdin's EOF reaches the server only
    once every request read has its reply (the SDK would cancel them, so
    `printf ... | uv run heartbeat.py` would print nothing).
    """
    unanswered = Unanswered()
    to_server, server_input = anyio.create_memory_object_stream[SessionMessage | Exception]()
    server_output, from_server = anyio.create_memory_object_stream[SessionMessage]()

    async with stdio_server() as (stdin, stdout), anyio.create_task_group() as relays:

        async def relay_stdin() -> None:
            async with to_server:
                async for item in stdin:
                    if isinstance(item, Exception):
                        logger.warning("answered a line that is not a JSON-RPC message with a parse error")
                        await stdout.send(SessionMessage(PARSE_ERROR_REPLY))
                        continue
                    unanswered.read(item.message)
                    await to_server.send(item)
                with anyio.move_on_after(DRAIN_SECONDS):
                    await unanswered.wait()

        async def relay_stdout() -> None:
            async with from_server, stdout:
                async for item in from_server:
                    await stdout.send(item)
                    unanswered.written(item.message)

        relays.start_soon(relay_stdin)
        relays.start_soon(relay_stdout)
        await server.run(server_input, server_output, server.create_initialization_options())


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


# The command line -----------------------------------------------------------

TTY_HINT = f"""\
{NAME} {VERSION} is an MCP server: it is waiting for JSON-RPC messages on stdin, one per line.
An MCP host (Claude Desktop, the MCP Inspector) normally starts it; see README.md.
To try it by hand, paste:
  {{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-11-25","capabilities":{{}},"clientInfo":{{"name":"me","version":"0"}}}}}}
  {{"jsonrpc":"2.0","method":"notifications/initialized"}}
  {{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"{TOOL_NAME}","arguments":{{"user":"Ada"}}}}}}
Press Ctrl-C (or Ctrl-D) to stop."""

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="heartbeat.py",
        description=f"{NAME}: a minimal MCP server with one tool, {TOOL_NAME}, served over stdio.",
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
    args = parser.parse_args(argv)
    if args.log_level not in LOG_LEVELS:
        parser.error(f"HEARTBEAT_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {args.log_level!r}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    serve()


if __name__ == "__main__":
    main()
