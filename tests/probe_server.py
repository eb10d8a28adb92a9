"""A test-only MCP server on the same stdio repairs, with tools that the transport tests need.

`echo` answers its text; `hold` awaits until a `release` call (a slow tool that awaits,
without any timing), and `hold_in_thread` waits for it in one of anyio's worker threads (a
tool that calls a blocking library); `big` answers `size` bytes of text; `log` writes one log line of `size`
bytes to stderr; `signal` raises the signal `which` names in the server (as Windows delivers
Ctrl-Break); `roots` asks the client for its roots (a request of the server's) and answers
what came back. Run as `python -m tests.probe_server` from the project folder.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from typing import Any

import anyio
import anyio.to_thread
import mcp_types as types
from mcp import MCPError
from mcp.server import Server, ServerRequestContext

from kit import stdio_repairs


def tool(name: str, **properties: str) -> types.Tool:
    schema = {name: {"type": kind} for name, kind in properties.items()}
    return types.Tool(name=name, input_schema={"type": "object", "properties": schema, "required": list(properties)})


TOOLS = [
    tool("echo", text="string"),
    tool("hold"),
    tool("hold_in_thread"),
    tool("release"),
    tool("big", size="integer"),
    tool("log", size="integer"),
    tool("signal", which="string"),
    tool("roots"),
]
logger = logging.getLogger("probe")


class Gate:
    """What `hold` calls wait for and `release` opens: every call held until then goes on."""

    def __init__(self) -> None:
        self.opened = anyio.Event()
        self.opened_for_threads = threading.Event()

    def release(self) -> None:
        self.opened.set()
        self.opened_for_threads.set()
        self.opened = anyio.Event()
        self.opened_for_threads = threading.Event()


gate = Gate()


async def list_tools(
    ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    return types.ListToolsResult(tools=TOOLS)


async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
    arguments = params.arguments or {}
    match params.name:
        case "echo":
            text = str(arguments["text"])
        case "hold":
            await gate.opened.wait()
            text = "released"
        case "hold_in_thread":
            await anyio.to_thread.run_sync(gate.opened_for_threads.wait, abandon_on_cancel=True)
            text = "released"
        case "release":
            gate.release()
            text = "released"
        case "roots":
            try:
                text = json.dumps([str(root.uri) for root in (await ctx.session.list_roots()).roots])
            except MCPError as refused:
                text = f"refused: {refused.error.message}"
        case "signal":
            signal.raise_signal(getattr(signal, str(arguments["which"])))
            text = "raised"
        case "log":
            logger.warning("x" * int(arguments["size"]))
            text = "logged"
        case _:
            text = "x" * int(arguments["size"])
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)])


server = Server("probe", version="0", on_list_tools=list_tools, on_call_tool=call_tool)

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stdio_repairs.serve(server)
