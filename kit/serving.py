"""What serves any tool: validated arguments and their messages, dispatch, tool errors, `main`.

The server module defines its tools as `Handler`s and hands them to one low-level
`mcp.server.Server` through `Tools`; this module does the rest and serves over stdio with
stdio_repairs. A copy of the template does not edit it.
"""

from __future__ import annotations

import gc

# The SDK's import builds some 120,000 objects, and the garbage collector, running as they pile
# up, walks them again and again (8% of the import). So it waits, and what the import built is
# frozen, left out of every later pass. Delete once the SDK imports lazily (python-sdk PR #3242).
gc.disable()

import argparse
import inspect
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import mcp_types as types
from mcp import MCPError
from mcp.server import Server, ServerRequestContext
from pydantic import BaseModel, ConfigDict, ValidationError

from kit import stdio_repairs

gc.freeze()
gc.enable()

MAX_ECHO = stdio_repairs.MAX_ECHO  # Characters of a client-chosen string that a reply repeats.
MAX_NAMED = 5  # Unexpected argument names that a message lists; the rest are counted.

# Every tool's arguments model takes this config: no coercion (42 is not "42"), no unknown keys, and
# `pattern` read as JSON Schema reads it. The model is the one source of the tool's advertised input
# schema and of its validation; its comments are not docstrings, which would become the schema's text.
ARGUMENTS = ConfigDict(extra="forbid", strict=True, regex_engine="python-re")

logger = logging.getLogger(__name__)


# A tool -------------------------------------------------------------------------------

ArgumentsT = TypeVar("ArgumentsT", bound=BaseModel)
Reply = dict[str, Any]


@dataclass(frozen=True)
class Handler(Generic[ArgumentsT]):
    """A tool, the model that validates its arguments, and the function (plain or async) that builds its reply."""

    tool: types.Tool
    arguments: type[ArgumentsT]
    reply: Callable[[ArgumentsT, ServerRequestContext[Any]], Reply | Awaitable[Reply]]


class Tools:
    """A server's tools, as the `on_list_tools` and `on_call_tool` handlers of its `Server`, and the
    instructions that tell a model what they are for."""

    def __init__(self, *handlers: Handler[Any], instructions: str | None = None) -> None:
        self.handlers = {handler.tool.name: handler for handler in handlers}
        self.instructions = instructions

    async def list(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[handler.tool for handler in self.handlers.values()])

    async def call(self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        """The reply as structured content and as JSON text; bad arguments and failures as tool errors."""
        handler = self.handlers.get(params.name)
        if handler is None:
            available = ", ".join(repr(name) for name in self.handlers)
            raise MCPError(
                code=types.INVALID_PARAMS, message=f"Unknown tool: {params.name[:MAX_ECHO]!r}. Available: {available}"
            )
        name = handler.tool.name
        try:
            arguments = validate_arguments(handler.arguments, params.arguments)
            if isinstance(arguments, str):
                return tool_error(f"Invalid arguments for {name}: {arguments}.")
            reply = handler.reply(arguments, ctx)
            if inspect.isawaitable(reply):
                reply = await reply
            text = json.dumps(reply, ensure_ascii=False)
        except Exception:  # It would reach the client as JSON-RPC code 0, with its text.
            logger.exception("%s failed", name)
            return tool_error(f"{name} failed inside the server; the details are in the server's log.")
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=reply)


def tool_error(message: str) -> types.CallToolResult:
    """A tool-level error that the model can read and act on."""
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


# Validation ----------------------------------------------------------------------------


def validate_arguments(model: type[ArgumentsT], arguments: dict[str, Any] | None) -> ArgumentsT | str:
    """The arguments, validated; or one line naming the argument and the rule it breaks."""
    arguments = arguments or {}
    accepted = [field.alias or name for name, field in model.model_fields.items()]
    known = {key: value for key, value in arguments.items() if key in accepted}
    forbidden = model.model_config.get("extra") == "forbid"
    unexpected = [key for key in arguments if key not in known] if forbidden else []
    try:  # Without the unexpected ones, of which pydantic would make an error each (a client may send 100,000).
        valid = model.model_validate(integral(known if forbidden else arguments))
    except ValidationError as error:
        return describe_problem(error)
    except RecursionError:
        return "the arguments are nested too deeply"
    return unexpected_arguments(unexpected, accepted) if unexpected else valid


def integral(value: Any) -> Any:
    """Integral numbers as integers: JSON Schema's "integer" takes 6.0, as it takes 6."""
    match value:
        case float() if value.is_integer():
            return int(value)
        case dict():
            return {key: integral(item) for key, item in value.items()}  # pyright: ignore[reportUnknownVariableType]
        case list():
            return [integral(item) for item in value]  # pyright: ignore[reportUnknownVariableType]
        case _:
            return value


def unexpected_arguments(names: list[str], accepted: list[str]) -> str:
    listed = ", ".join(quoted(name) for name in names[:MAX_NAMED])
    more = f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else ""
    return (
        f"unexpected argument {listed}{more}; the accepted arguments are: {', '.join(map(quoted, accepted)) or 'none'}"
    )


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


def describe_problem(error: ValidationError) -> str:
    """The first problem, in words a model can act on; the value itself is never echoed."""
    first = error.errors(include_url=False)[0]
    kind, rule = first["type"], first.get("ctx", {})
    field = quoted(".".join(str(part) for part in first["loc"])) if first["loc"] else "arguments"
    if kind == "extra_forbidden":  # In a nested object.
        return f"unexpected argument {field}"
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


# The command line ----------------------------------------------------------------------

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level_variable(name: str) -> str:
    """The environment variable that sets the server's log level: MY_SERVER_LOG_LEVEL for my-server."""
    return f"{name.upper().replace('-', '_')}_LOG_LEVEL"


def main(server: Server[Any], tools: Tools, argv: list[str] | None = None) -> None:
    """Parse the command line, then serve over stdin and stdout until stdin ends or a stop signal comes."""
    variable = log_level_variable(server.name)
    program = Path(sys.argv[0]).name
    parser = argparse.ArgumentParser(
        description=f"{server.name}: an MCP server with the tool{'s' if len(tools.handlers) > 1 else ''} "
        f"{', '.join(tools.handlers)}, served over stdio.",
        epilog=f"An MCP host starts it as: uv --directory <this folder> run --no-dev --frozen {program}. "
        "To set it up in a host or check it: uv run host_setup.py --help",
    )
    parser.add_argument("--version", action="version", version=f"{server.name} {server.version}")
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=os.environ.get(variable, "INFO").upper(),
        help=f"log level for stderr (default: ${variable} or INFO)",
    )
    args = parser.parse_args(argv)
    if args.log_level not in LOG_LEVELS:
        parser.error(f"{variable} must be one of {', '.join(LOG_LEVELS)}, got {args.log_level!r}")
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if sys.stdin is not None and sys.stdin.isatty():
        print(
            f"{server.name} {server.version} is an MCP server: it waits for JSON-RPC messages on stdin, one per line.\n"
            "An MCP host normally starts it (see README.md). To try it by hand, paste:\n"
            '  {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
            '"capabilities":{},"clientInfo":{"name":"me","version":"0"}}}\n'
            '  {"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'
            "Press Ctrl-C (or Ctrl-D) to stop.",
            file=sys.stderr,
        )
    stdio_repairs.serve(server)
