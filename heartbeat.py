"""heartbeat: a minimal MCP server with one tool, `get_heartbeat`, over stdio.

A host (Claude Desktop, an IDE, the MCP Inspector) starts it with
`uv --directory <this folder> run --no-dev --frozen heartbeat.py` and speaks JSON-RPC on
stdin and stdout, one message per line; logs go to stderr. The SDK's stdio
transport is used with the repairs in stdio_repairs.py. README.md tells how to
install, run, test and copy it: "Make it your own" is the recipe for a server of yours.
"""

# Ctrl-C while it starts (about 1 s) ends the process quietly (python-sdk #3551), from the first line on:
# `_signal` is the interpreter's own, loaded before this file runs, where `import signal` takes milliseconds.
import _signal  # pyright: ignore

if __name__ == "__main__":
    _signal.signal(_signal.SIGINT, _signal.SIG_DFL)  # pyright: ignore

import argparse
import json
import logging
import os
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

import stdio_repairs  # Before the SDK: it makes the SDK's import faster.

# isort: split
import mcp_types as types
from mcp import MCPError
from mcp.server import Server, ServerRequestContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

# The identity: written once, in pyproject.toml, and read from there by everything else.
PROJECT: dict[str, Any] = tomllib.loads(Path(__file__).with_name("pyproject.toml").read_text(encoding="utf-8"))[
    "project"
]
NAME: str = PROJECT["name"]
VERSION: str = PROJECT["version"]
LOG_LEVEL_VARIABLE = f"{NAME.upper().replace('-', '_')}_LOG_LEVEL"
MAX_ECHO = stdio_repairs.MAX_ECHO  # Characters of a client-chosen string that a reply repeats, as in the transport.
logger = logging.getLogger(NAME)

# What every tool is made of ------------------------------------------------------

# Every tool's arguments model takes this config: no coercion (42 is not "42"), no unknown keys, and
# `pattern` read as jsonschema reads it. The model is the one source of the tool's advertised input
# schema and of its validation; its comments are not docstrings, which would become the schema's text.
ARGUMENTS = ConfigDict(extra="forbid", strict=True, regex_engine="python-re")


ArgumentsT = TypeVar("ArgumentsT", bound=BaseModel)


@dataclass(frozen=True)
class Handler(Generic[ArgumentsT]):
    """A tool, the model that validates its arguments, and the function that builds its reply."""

    tool: types.Tool
    arguments: type[ArgumentsT]
    reply: Callable[[ArgumentsT, ServerRequestContext[Any]], dict[str, Any]]


# The contract ---------------------------------------------------------------

MAX_USER_LENGTH = 200


class HeartbeatArguments(BaseModel):
    model_config = ARGUMENTS | ConfigDict(title="get_heartbeat arguments")

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

HEARTBEAT_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "description": "The greeting: 'Hello <user>, my heart beats for you!'"},
        "user": {"type": "string", "description": "The user, exactly as given."},
        "beat": {"type": "integer", "minimum": 1, "description": "Successful calls since this process started."},
        "server_time": {"type": "string", "format": "date-time", "description": "Server clock, UTC, ISO 8601."},
        "uptime_seconds": {"type": "number", "minimum": 0, "description": "Seconds since this process started."},
        "version": {"type": "string", "description": "The server's version."},
        "client": {
            "anyOf": [CLIENT_SCHEMA, {"type": "null"}],
            "description": f"The client as it introduced itself (clientInfo, each at most {MAX_ECHO} characters), "
            "or null if it did not.",
        },
        "protocol_version": {"type": "string", "description": "The MCP protocol version in force for this call."},
    },
    "required": ["text", "user", "beat", "server_time", "uptime_seconds", "version", "client", "protocol_version"],
    "additionalProperties": False,
}

HEARTBEAT_TOOL = types.Tool(
    name="get_heartbeat",
    title="Get heartbeat",
    description=(
        "Check that the heartbeat MCP server is alive. Returns a greeting for `user`, a beat counter, "
        "the server time (UTC), uptime, and which client and protocol version reached it. "
        "Safe to call any time; it changes nothing."
    ),
    input_schema=HeartbeatArguments.model_json_schema(),
    output_schema=HEARTBEAT_OUTPUT_SCHEMA,
    annotations=types.ToolAnnotations(
        read_only_hint=True,
        destructive_hint=False,
        idempotent_hint=True,
        open_world_hint=False,
    ),
)

INSTRUCTIONS = (
    f"{NAME} proves that an MCP connection works end to end. "
    "Call get_heartbeat with a user name to get a greeting and the server's liveness details."
)

# The behaviour --------------------------------------------------------------


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


def greeting(user: str) -> str:
    return f"Hello {user}, my heart beats for you!"


def heartbeat_reply(arguments: HeartbeatArguments, ctx: ServerRequestContext[Any]) -> dict[str, Any]:
    """get_heartbeat's reply, matching HEARTBEAT_OUTPUT_SCHEMA."""
    introduced = ctx.session.client_params
    info = introduced.client_info if introduced else None
    return {
        "text": greeting(arguments.user),
        "user": arguments.user,
        "beat": heart.beat(),
        "server_time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "uptime_seconds": heart.uptime_seconds(),
        "version": VERSION,
        "client": {"name": info.name[:MAX_ECHO], "version": info.version[:MAX_ECHO]} if info else None,
        "protocol_version": ctx.protocol_version,
    }


# The one place that maps a tool's name to what serves it.
TOOLS: dict[str, Handler[Any]] = {
    handler.tool.name: handler for handler in [Handler(HEARTBEAT_TOOL, HeartbeatArguments, heartbeat_reply)]
}


# Serving the tools (the same for any tool) ---------------------------------------------


def validate_arguments(model: type[ArgumentsT], arguments: dict[str, Any] | None) -> ArgumentsT | str:
    """The arguments, validated; or one line naming the argument and the rule it breaks."""
    try:
        return model.model_validate(arguments or {})
    except ValidationError as error:
        return describe_problem(model, error)


JSON_TYPES = {
    "string_type": "string",
    "int_type": "integer",
    "float_type": "number",
    "bool_type": "boolean",
    "list_type": "array",
    "dict_type": "object",
    "model_type": "object",
}
# What each rule says, filled in from the error's context; an unlisted rule gets pydantic's words.
RULES = {
    "missing": "missing required argument {field}",
    "string_too_short": "{field} must be at least {min_length} characters long",
    "string_too_long": "{field} must be at most {max_length} characters long",
    "string_pattern_mismatch": "{field} must match the regular expression {pattern}",
    "greater_than_equal": "{field} must be at least {ge}",
    "greater_than": "{field} must be greater than {gt}",
    "less_than_equal": "{field} must be at most {le}",
    "less_than": "{field} must be less than {lt}",
    "multiple_of": "{field} must be a multiple of {multiple_of}",
    "literal_error": "{field} must be one of {expected}",
    "enum": "{field} must be one of {expected}",
    "too_short": "{field} must have at least {min_length} items",
    "too_long": "{field} must have at most {max_length} items",
}


def describe_problem(model: type[BaseModel], error: ValidationError) -> str:
    """The first problem, in words a model can act on; the value itself is never echoed."""
    errors = error.errors(include_url=False)
    first = errors[0]
    kind, rule = first["type"], first.get("ctx", {})
    field = quoted(".".join(str(part) for part in first["loc"])) if first["loc"] else "arguments"
    if kind == "extra_forbidden":
        extra = ", ".join(quoted(problem["loc"][-1]) for problem in errors if problem["type"] == "extra_forbidden")
        accepted = ", ".join(quoted(name) for name in model.model_fields) or "none"
        return f"unexpected argument {extra}; the accepted arguments are: {accepted}"
    if kind in JSON_TYPES:
        return f"{field} must be of type {JSON_TYPES[kind]}, got {json_type(first['input'])}"
    if kind == "string_too_short" and rule.get("min_length") == 1:
        return f"{field} must not be empty"
    if kind in RULES:
        return RULES[kind].format(field=field, **rule)
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


def tool_error(message: str) -> types.CallToolResult:
    """A tool-level error the model can read and act on."""
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


async def list_tools(
    ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    return types.ListToolsResult(tools=[handler.tool for handler in TOOLS.values()])


async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
    handler = TOOLS.get(params.name)
    if handler is None:
        available = ", ".join(repr(name) for name in TOOLS)
        raise MCPError(
            code=types.INVALID_PARAMS, message=f"Unknown tool: {params.name[:MAX_ECHO]!r}. Available: {available}"
        )
    name = handler.tool.name
    try:
        arguments = validate_arguments(handler.arguments, params.arguments)
        if isinstance(arguments, str):
            return tool_error(f"Invalid arguments for {name}: {arguments}.")
        reply = handler.reply(arguments, ctx)
        text = json.dumps(reply, ensure_ascii=False)
    except Exception:  # An exception would reach the client as JSON-RPC code 0 with its text.
        logger.exception("%s failed", name)
        return tool_error(f"{name} failed inside the server; the details are in the server's log.")
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=reply)


# The server -----------------------------------------------------------------

server = Server(
    NAME,
    version=VERSION,
    title=NAME.replace("-", " ").replace("_", " ").title(),
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
  {{"jsonrpc":"2.0","id":2,"method":"tools/list"}}
Press Ctrl-C (or Ctrl-D) to stop."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="heartbeat.py",
        description=f"{NAME}: an MCP server with the tools {', '.join(TOOLS)}, served over stdio.",
        epilog="An MCP host starts it as: uv --directory <this folder> run --no-dev --frozen heartbeat.py. "
        "To set it up in a host or check it: uv run heartbeat_setup.py --help",
    )
    parser.add_argument("--version", action="version", version=f"{NAME} {VERSION}")
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=os.environ.get(LOG_LEVEL_VARIABLE, "INFO").upper(),
        help=f"log level for stderr (default: ${LOG_LEVEL_VARIABLE} or INFO)",
    )
    args = parser.parse_args(argv)
    if args.log_level not in LOG_LEVELS:
        parser.error(f"{LOG_LEVEL_VARIABLE} must be one of {', '.join(LOG_LEVELS)}, got {args.log_level!r}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if sys.stdin is not None and sys.stdin.isatty():
        print(TTY_HINT, file=sys.stderr)
    stdio_repairs.serve(server)


if __name__ == "__main__":
    main()
