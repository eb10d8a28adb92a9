"""The floor: a dependency-free JSON-RPC loop on stdio answering what the benchmark sends.

Not an MCP server anyone should use; it shows what Python itself costs per message.
"""

import json
import sys

SERVER_INFO = {"name": "floor", "version": "0"}
TOOL = {"name": "get_heartbeat", "inputSchema": {"type": "object"}}


def result_for(method: str, params: dict) -> dict:
    if method == "initialize":
        return {"protocolVersion": params["protocolVersion"], "capabilities": {"tools": {}}, "serverInfo": SERVER_INFO}
    if method == "tools/list":
        return {"tools": [TOOL]}
    if method == "tools/call":
        reply = {"text": f"Hello {params['arguments']['user']}, my heart beats for you!"}
        return {"content": [{"type": "text", "text": json.dumps(reply)}], "structuredContent": reply, "isError": False}
    return {}


def main() -> None:
    for line in sys.stdin.buffer:
        message = json.loads(line)
        if "id" in message:
            answer = {
                "jsonrpc": "2.0",
                "id": message["id"],
                "result": result_for(message["method"], message.get("params")),
            }
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
