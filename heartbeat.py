"""An MCP server over stdio: its tools, one low-level `Server`, and `main()`.

A host (Claude Desktop, an IDE, the MCP Inspector) starts it with
`uv --directory <this folder> run --no-dev --frozen <this file>` and speaks JSON-RPC on
stdin and stdout, one message per line; logs go to stderr. This file is what a server of
yours changes: its tools, between the two rulers below (README.md). kit/serving.py serves any
tool and kit/stdio_repairs.py repairs the SDK's stdio transport; neither needs editing.
"""

# Ctrl-C while it starts (about 1 s) ends the process quietly (python-sdk #3551), from the first line on:
# `_signal` is the interpreter's own, loaded before this file runs, where `import signal` takes milliseconds.
import _signal  # pyright: ignore

if __name__ == "__main__":
    _signal.signal(_signal.SIGINT, _signal.SIG_DFL)  # pyright: ignore

from kit import serving  # Before the SDK: it makes the SDK's import faster.

# isort: split
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext
from pydantic import BaseModel, ConfigDict, Field

from kit.identity import identity, title
from kit.serving import ARGUMENTS, MAX_ECHO, Handler

NAME, VERSION = identity(__file__)  # Written once, in pyproject.toml.

# The tools ------------------------------------------------------------------

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
        f"Check that the {NAME} MCP server is alive. Returns a greeting for `user`, a beat counter, "
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


TOOLS = serving.Tools(
    Handler(HEARTBEAT_TOOL, HeartbeatArguments, heartbeat_reply),
    instructions=f"{NAME} proves that an MCP connection works end to end. "
    "Call get_heartbeat with a user name to get a greeting and the server's liveness details.",
)

# The server -----------------------------------------------------------------

server = Server(
    NAME,
    version=VERSION,
    title=title(NAME),
    instructions=TOOLS.instructions,
    on_list_tools=TOOLS.list,
    on_call_tool=TOOLS.call,
)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line (--version, --log-level), then serve over stdio."""
    serving.main(server, TOOLS, argv)


if __name__ == "__main__":
    main()
