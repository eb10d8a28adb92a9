"""Shared fixtures: in-memory clients for both protocol eras and a real stdio server process."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent

from heartbeat import server

PROJECT_DIR = Path(__file__).resolve().parent.parent
INTEROP_DIR = PROJECT_DIR / "tests" / "interop"
REPLY_TIMEOUT = 30.0  # Generous: a cold `uv run` on a busy CI machine takes seconds.

LEGACY_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODERN_VERSION = "2026-07-28"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["legacy", "auto"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    """An in-memory client, once over the initialize handshake and once over the 2026 envelope."""
    async with Client(server, mode=request.param) as connected:
        yield connected


def only_text(result: CallToolResult) -> str:
    """The text of a result that must hold exactly one text content."""
    assert len(result.content) == 1
    content = result.content[0]
    assert isinstance(content, TextContent)
    return content.text


def initialize_request(request_id: int = 1, version: str = "2025-11-25") -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "tests", "version": "0"}},
    }


INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def call_request(request_id: int, arguments: Any, name: str = "get_heartbeat") -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def uv() -> str:
    found = shutil.which("uv")
    assert found, "uv must be on PATH to run these tests (see README)"
    return found


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python heartbeat.py ARGS` to completion, with its output captured."""
    return subprocess.run(
        [sys.executable, "heartbeat.py", *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=REPLY_TIMEOUT,
        env={**os.environ, **(env or {})},
        check=False,
    )


class StdioServer:
    """`uv run heartbeat.py` as a host starts it, with stdout read on a thread while we write."""

    def __init__(self, *args: str, launch: list[str] | None = None, cwd: Path = PROJECT_DIR) -> None:
        self.process = subprocess.Popen(
            [*(launch or [uv(), "run", "--quiet", "heartbeat.py"]), *args],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.stderr = b""
        self.readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout
        for line in self.process.stdout:
            self.lines.put(line)

    def _read_stderr(self) -> None:
        assert self.process.stderr
        self.stderr = self.process.stderr.read()

    def write(self, data: bytes) -> None:
        assert self.process.stdin
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.write(json.dumps(message).encode() + b"\n")

    def read(self) -> dict[str, Any]:
        """The next line from stdout, which must be one JSON-RPC message."""
        line = self.lines.get(timeout=REPLY_TIMEOUT)
        message = json.loads(line)
        assert message["jsonrpc"] == "2.0", line
        return message

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        self.send(message)
        reply = self.read()
        assert reply.get("id") == message["id"], reply
        return reply

    def initialize(self, version: str = "2025-11-25") -> dict[str, Any]:
        reply = self.request(initialize_request(version=version))
        self.send(INITIALIZED)
        return reply

    def close_stdin(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()

    def wait(self) -> int:
        """The exit code, once the process has ended and all its output is read."""
        code = self.process.wait(timeout=REPLY_TIMEOUT)
        for reader in self.readers:
            reader.join(timeout=REPLY_TIMEOUT)
        return code

    def remaining_stdout(self) -> list[bytes]:
        lines: list[bytes] = []
        while not self.lines.empty():
            lines.append(self.lines.get_nowait())
        return lines


@pytest.fixture
def stdio_server() -> Iterator[StdioServer]:
    started = StdioServer()
    yield started
    if started.process.poll() is None:
        started.process.kill()
        started.process.wait()


def tool_or_skip(name: str) -> str:
    """A tool the npm-based tests need; missing, they skip, or fail where CI demands them."""
    found = shutil.which(name)
    if found is None:
        reason = f"{name} is not installed; these tests need Node.js 20+ and npm"
        if os.environ.get("HEARTBEAT_REQUIRE_INTEROP") == "1":
            pytest.fail(f"{reason} (HEARTBEAT_REQUIRE_INTEROP=1)")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="session")
def node() -> str:
    """Node.js, with the pinned npm packages installed under tests/interop/node_modules."""
    node = tool_or_skip("node")
    if not (INTEROP_DIR / "node_modules" / ".package-lock.json").exists():
        npm = tool_or_skip("npm")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=INTEROP_DIR, check=True, timeout=600)
    return node
