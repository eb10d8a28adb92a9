"""The bare SDK: the same low-level Server over the SDK's own stdio transport, with a tool
handler that does no validation and returns no payload; with `--same-reply`, one that
returns heartbeat's exact reply (no validation). The benchmark's references for what
heartbeat and its stdio repairs add, or save."""

import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

TOOL = types.Tool(name="get_heartbeat", input_schema={"type": "object"})


async def list_tools(
    ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    return types.ListToolsResult(tools=[TOOL])


SAME_REPLY = "--same-reply" in sys.argv
STARTED = time.monotonic()
beats = 0


async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
    if not SAME_REPLY:
        return types.CallToolResult(content=[])
    global beats  # noqa: PLW0603  # A benchmark's counter, as heartbeat's.
    beats += 1
    user = (params.arguments or {})["user"]
    info = ctx.session.client_params.client_info if ctx.session.client_params else None
    reply = {
        "text": f"Hello {user}, my heart beats for you!",
        "user": user,
        "beat": beats,
        "server_time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "uptime_seconds": round(time.monotonic() - STARTED, 3),
        "version": "1",
        "client": {"name": info.name, "version": info.version} if info else None,
        "protocol_version": ctx.protocol_version,
    }
    text = json.dumps(reply, ensure_ascii=False)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=reply)


server = Server("bare", version="0", on_list_tools=list_tools, on_call_tool=call_tool)


async def serve() -> None:
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(serve)
