"""heartbeat: a minimal MCP server with one tool, `get_heartbeat`, over stdio.

A host (Claude Desktop, an IDE, the MCP Inspector) starts it with
`uv --directory <this folder> run --no-dev --frozen heartbeat.py` and speaks JSON-RPC on
stdin and stdout, one message per line; logs go to stderr. The SDK's stdio
transport is used with the repairs in stdio_repairs.py. README.md tells how to
install, run, test and copy it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import stdio_repairs  # First: it lets Ctrl-C end the process quietly while the SDK imports (about 1 s).

# isort: split
import mcp_types as types
from mcp import MCPError
from mcp.server import Server, ServerRequestContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

# The contract ---------------------------------------------------------------

NAME = "heartbeat"
VERSION = "1.1.0"  # Kept equal to pyproject.toml's and manifest.json's by tests.
TOOL_NAME = "get_heartbeat"
MAX_USER_LENGTH = 200


# The tool's arguments: the one source of its advertised input schema and of its validation.
# (A comment, not a docstring, which would become the schema's description.)
class HeartbeatArguments(BaseModel):
    # strict: no coercion (42 is not "42"); python-re: `pattern` means what it means in jsonschema.
    model_config = ConfigDict(extra="forbid", strict=True, regex_engine="python-re", title="get_heartbeat arguments")

    user: Annotated[
        str,
        Field(
            description=f"Who to greet: a name of 1 to {MAX_USER_LENGTH} characters, not only spaces.",
            min_length=1,
            max_length=MAX_USER_LENGTH,
            pattern=r"\S",
        ),
    ]


CLIENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
    "required": ["name", "version"],
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
        "client": {
            "anyOf": [CLIENT_SCHEMA, {"type": "null"}],
            "description": "The client as it introduced itself (clientInfo), or null if it did not.",
        },
        "protocol_version": {"type": "string", "description": "The MCP protocol version in force for this call."},
    },
    "required": ["text", "user", "beat", "server_time", "uptime_seconds", "version", "client", "protocol_version"],
    "additionalProperties": False,
}

HEARTBEAT_TOOL = types.Tool(
    name=TOOL_NAME,
    title="Get heartbeat",
    description=(
        "Check that the heartbeat MCP server is alive. Returns a greeting for `user`, a beat counter, "
        "the server time (UTC), uptime, and which client and protocol version reached it. "
        "Safe to call any time; it changes nothing."
    ),
    input_schema=HeartbeatArguments.model_json_schema(),
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


def validate_arguments(arguments: dict[str, Any] | None) -> HeartbeatArguments | str:
    """The arguments, validated; or one line naming the argument and the rule it breaks."""
    try:
        return HeartbeatArguments.model_validate(arguments or {})
    except ValidationError as error:
        return describe_problem(error)


def describe_problem(error: ValidationError) -> str:
    """The first problem, in words a model can act on; the value itself is never echoed."""
    errors = error.errors(include_url=False)
    first = errors[0]
    field = quoted(first["loc"][0]) if first["loc"] else "arguments"
    match first["type"]:
        case "missing":
            return f"missing required argument {field}"
        case "extra_forbidden":
            extra = ", ".join(quoted(problem["loc"][0]) for problem in errors if problem["type"] == "extra_forbidden")
            accepted = ", ".join(quoted(name) for name in HeartbeatArguments.model_fields)
            return f"unexpected argument {extra}; the only accepted argument is {accepted}"
        case "string_type":
            return f"{field} must be of type string, got {json_type(first['input'])}"
        case "string_too_short":
            return f"{field} must not be empty"
        case "string_too_long":
            return f"{field} must be at most {first.get('ctx', {})['max_length']} characters, got {len(first['input'])}"
        case "string_pattern_mismatch":
            return f"{field} must contain a character other than whitespace"
        case _:
            return f"{field} is invalid: {first['msg']}"


def quoted(name: str | int) -> str:
    """An argument's name as a JSON string, cut short: a client chooses it, so it may hold anything."""
    return json.dumps(str(name)[:50], ensure_ascii=False)


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


def greeting(user: str) -> str:
    return f"Hello {user}, my heart beats for you!"


def heartbeat_reply(user: str, ctx: ServerRequestContext[Any]) -> dict[str, Any]:
    """The tool's reply object, matching OUTPUT_SCHEMA."""
    introduced = ctx.session.client_params
    client = {"name": introduced.client_info.name, "version": introduced.client_info.version} if introduced else None
    return {
        "text": greeting(user),
        "user": user,
        "beat": heart.beat(),
        "server_time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "uptime_seconds": heart.uptime_seconds(),
        "version": VERSION,
        "client": client,
        "protocol_version": ctx.protocol_version,
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
    try:
        arguments = validate_arguments(params.arguments)
        if isinstance(arguments, str):
            return tool_error(f"Invalid arguments for {TOOL_NAME}: {arguments}.")
        reply = heartbeat_reply(arguments.user, ctx)
        text = json.dumps(reply, ensure_ascii=False)
    except Exception:  # An exception would reach the client as JSON-RPC code 0 with its text.
        logger.exception("%s failed", TOOL_NAME)
        return tool_error(f"{TOOL_NAME} failed inside the server; the details are in the server's log.")
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=reply)


# The server -----------------------------------------------------------------

server = Server(
    NAME,
    version=VERSION,
    title="Heartbeat",
    instructions=INSTRUCTIONS,
    on_list_tools=list_tools,
    on_call_tool=call_tool,
)

# The command line -----------------------------------------------------------

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

TTY_HINT = f"""\
{NAME} {VERSION} is an MCP server: it waits for JSON-RPC messages on stdin, one per line.
An MCP host normally starts it (see README.md). To try it by hand, paste:
  {{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-11-25","capabilities":{{}},"clientInfo":{{"name":"me","version":"0"}}}}}}
  {{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"{TOOL_NAME}","arguments":{{"user":"Ada"}}}}}}
Press Ctrl-C (or Ctrl-D) to stop."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="heartbeat.py",
        description=f"{NAME}: a minimal MCP server with one tool, {TOOL_NAME}, served over stdio.",
        epilog="An MCP host starts it as: uv --directory <this folder> run --no-dev --frozen heartbeat.py. "
        "To add it to Claude Desktop or check it: uv run heartbeat_setup.py --help",
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
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if sys.stdin is not None and sys.stdin.isatty():
        print(TTY_HINT, file=sys.stderr)
    stdio_repairs.serve(server)


if __name__ == "__main__":
    main()
