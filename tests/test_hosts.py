"""The setups `host_setup.py hosts` prints, and real hosts from npm (tests/hosts) started as they say.

Each host runs in a HOME of its own, is configured with the printed command or file, word for
word, and must report the server connected and, where it can headless, list its tools. No host
gets an API key: the two that need a model to start are pointed at a loopback port that refuses.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from kit import apps, edits, hosts, project
from tests.conftest import (
    MODERN_VERSION,
    NAME,
    PROJECT_DIR,
    REPLY_TIMEOUT,
    SAMPLE_ARGUMENTS,
    SAMPLE_TOOL,
    TOOLS,
    node_with,
    run_script,
    server,
    skip_or_fail,
)

HOSTS_DIR = PROJECT_DIR / "tests" / "hosts"
FAST_AGENT_HINT = (
    "to run this test: uv venv --python 3.13 tests/hosts/.venv"
    " && uv pip install --python tests/hosts/.venv -r tests/hosts/requirements.txt"
)
TOOL_NAMES = [tool.name for tool in TOOLS]
COLOURS = re.compile(r"\x1b\[[0-9;]*m")


# What `hosts` prints -----------------------------------------------------------------


def printed(*args: str, env: dict[str, str] | None = None) -> str:
    done = run_script("host_setup.py", "hosts", *args, env=env)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    return done.stdout


def test_hosts_prints_every_host_in_order_with_this_folder_and_uv_s_absolute_path() -> None:
    setups = json.loads(printed("--json"))
    assert [each["key"] for each in setups] == list(hosts.HOSTS)
    entry = apps.desktop_entry(project.uv_path(), str(PROJECT_DIR))
    start = [entry["command"], *entry["args"]]
    for each in setups:
        if "command" in each:
            assert any(each["command"][at : at + len(start)] == start for at in range(len(each["command"])))
        else:
            assert all(json.dumps(arg) in each["content"] for arg in start)


def test_the_text_holds_each_setup_word_for_word() -> None:
    text = printed()
    for each in hosts.host_setups(NAME):
        block = project.command_line(each.command) + "\n" if each.command else each.content
        assert f"## {each.host} ({each.key})\n{each.how}\n\n{block}\nTo see it connected: {each.then}\n" in text


def test_a_named_host_and_name_are_all_that_is_printed() -> None:
    [only] = json.loads(printed("codex", "--name", "pulse", "--json"))
    entry = apps.desktop_entry(project.uv_path(), str(PROJECT_DIR))
    assert only["command"] == ["codex", "mcp", "add", "pulse", "--", entry["command"], *entry["args"]]


def test_an_unknown_host_is_refused_naming_the_hosts() -> None:
    done = run_script("host_setup.py", "hosts", "claude")
    assert done.returncode == 2
    assert done.stderr.endswith(f"argument HOST: must be one of {', '.join(hosts.HOSTS)}, not 'claude'\n")


def test_claude_desktop_s_setup_is_what_install_writes(tmp_path: Path, prepared: list[object]) -> None:
    config = tmp_path / "claude_desktop_config.json"
    edits.install(apps.claude_desktop(config), NAME, dry_run=False)
    [desktop] = [each for each in hosts.host_setups(NAME) if each.key == "claude-desktop"]
    assert config.read_text(encoding="utf-8") == desktop.content


def test_the_json_files_hold_the_entry_where_each_host_reads_it() -> None:
    entry = apps.desktop_entry(project.uv_path(), str(PROJECT_DIR))
    files = {
        each.key: json.loads(each.content)
        for each in hosts.host_setups(NAME)
        if each.content and each.key not in ("continue", "fast-agent")  # Those two are YAML.
    }
    assert files["claude-desktop"] == files["cursor"] == {"mcpServers": {NAME: entry}}
    assert files["vscode"] == {"servers": {NAME: {"type": "stdio", **entry}}}
    assert files["amp"] == {"amp.mcpServers": {NAME: entry}}
    assert files["opencode"]["mcp"] == {NAME: {"type": "local", "command": [entry["command"], *entry["args"]]}}


def test_vs_code_s_setup_names_insiders_and_profile_folders_too() -> None:
    [vscode] = [each for each in hosts.host_setups(NAME) if each.key == "vscode"]
    user = hosts.vscode_user_folder("Code")
    assert vscode.file == user / "mcp.json"
    assert str(hosts.vscode_user_folder("Code - Insiders") / "mcp.json") in vscode.how
    assert str(user / "profiles" / "<profile id>" / "mcp.json") in vscode.how


# Real hosts ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kit() -> Path:
    """The hosts' executables, installed from tests/hosts."""
    node_with(HOSTS_DIR)
    return HOSTS_DIR / "node_modules" / ".bin"


@pytest.fixture
def home(tmp_path: Path, kit: Path) -> dict[str, str]:
    """A new user's environment: an empty HOME, the hosts on PATH, no API key, no host's updates or telemetry."""
    folder = tmp_path / "home"
    folder.mkdir()
    theirs = (
        "XDG_",
        "CLAUDE",
        "ANTHROPIC_",
        "GEMINI",
        "GOOGLE_",
        "OPENAI_",
        "CODEX_",
        "OPENCODE",
        "CONTINUE",
        "AMP_",
        "FAST_AGENT",
        "HF_",
    )
    keep = {key: value for key, value in os.environ.items() if not key.startswith(theirs) and "API_KEY" not in key}
    return {
        **keep,
        "HOME": str(folder),
        "USERPROFILE": str(folder),
        "XDG_CONFIG_HOME": str(folder / ".config"),
        "PATH": os.pathsep.join([str(kit), os.environ["PATH"]]),
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "OPENCODE_DISABLE_AUTOUPDATE": "true",
        "NO_COLOR": "1",
    }


def printed_setup(host: str, env: dict[str, str]) -> dict[str, Any]:
    """What `hosts HOST --json` prints for this HOME."""
    [only] = json.loads(printed(host, "--json", env=env))
    return only


def set_up(host: str, env: dict[str, str]) -> dict[str, Any]:
    """Configure `host` in this HOME exactly as `hosts` prints it: run its command, or write its file."""
    given = printed_setup(host, env)
    if "command" in given:
        done = run(given["command"], env)
        assert done.returncode == 0, done.stdout + done.stderr
    else:
        file = Path(given["file"])
        assert file.is_relative_to(env["HOME"])
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(given["content"], encoding="utf-8")
    return given


def run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=cwd or env["HOME"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=REPLY_TIMEOUT * 2,
        check=False,
    )


def line_naming(output: str, name: str) -> str:
    """The one line of a host's server list that is about `name`, without colours."""
    about = re.compile(rf"(^|\s){re.escape(name)}(:|\s|$)")
    [line] = [line for line in COLOURS.sub("", output).splitlines() if about.search(line)]
    return line


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections: a model API that is never there."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


@contextmanager
def host_process(argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """A host that talks on its stdin and stdout; killed at the end, or after a generous deadline."""
    process = subprocess.Popen(
        argv,
        cwd=env["HOME"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    deadline = threading.Timer(REPLY_TIMEOUT * 2, process.kill)  # Then its stdout ends, and the test fails.
    deadline.start()
    try:
        yield process
    finally:
        deadline.cancel()
        process.kill()
        process.wait()


def messages(process: subprocess.Popen[str]) -> Iterator[dict[str, Any]]:
    assert process.stdout
    return (json.loads(line) for line in process.stdout)


def test_claude_code_connects_in_the_2026_07_28_era_and_lists_the_tools(
    home: dict[str, str], refused_port: int
) -> None:
    set_up("claude-code", home)
    listed = run(["claude", "mcp", "list"], home)
    assert listed.returncode == 0, listed.stderr
    assert line_naming(listed.stdout, NAME).endswith("✔ Connected")
    assert "Status: ✔ Connected" in run(["claude", "mcp", "get", NAME], home).stdout
    logs = Path(home["HOME"]).glob(f".cache/claude-cli-nodejs/*/mcp-logs-{NAME}/*.jsonl")
    assert '\\"negotiatedProtocolVersion\\":\\"2026-07-28\\"' in "".join(log.read_text() for log in logs)

    session = {
        **home,
        "ANTHROPIC_API_KEY": "none",
        "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{refused_port}",
        "MCP_CONNECTION_NONBLOCKING": "false",  # Its first message waits for the server: on a busy machine, "pending".
    }
    with host_process(["claude", "-p", "hi", "--output-format", "stream-json", "--verbose"], session) as claude:
        start = next(messages(claude))
    assert start["subtype"] == "init"
    assert {"name": NAME, "status": "connected", "source": "user"} in start["mcp_servers"]
    assert {f"mcp__{NAME}__{tool}" for tool in TOOL_NAMES} <= set(start["tools"])


def test_gemini_cli_connects_in_a_trusted_folder_only(home: dict[str, str]) -> None:
    assert "--" not in set_up("gemini", home)["command"]
    untrusted = run(["gemini", "mcp", "list"], home)
    assert line_naming(untrusted.stdout + untrusted.stderr, NAME).endswith("(stdio) - Disabled")
    trusted = run(["gemini", "mcp", "list"], {**home, "GEMINI_CLI_TRUST_WORKSPACE": "true"})
    assert trusted.returncode == 0, trusted.stderr
    assert line_naming(trusted.stdout + trusted.stderr, NAME).endswith("(stdio) - Connected")


def test_codex_connects_and_lists_the_tools(home: dict[str, str]) -> None:
    set_up("codex", home)
    assert line_naming(run(["codex", "mcp", "list"], home).stdout, NAME).split()[-2] == "enabled"
    with host_process(["codex", "app-server"], home) as app:
        assert app.stdin
        hello = {"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "tests", "version": "1"}}}
        app.stdin.write(json.dumps(hello) + "\n")
        app.stdin.flush()
        replies = messages(app)
        assert "result" in next(reply for reply in replies if reply.get("id") == 1)
        app.stdin.write(json.dumps({"method": "initialized"}) + "\n")
        app.stdin.write(json.dumps({"id": 2, "method": "mcpServerStatus/list", "params": {}}) + "\n")
        app.stdin.flush()
        answer = next(reply for reply in replies if reply.get("id") == 2)
    [status] = [server for server in answer["result"]["data"] if server["name"] == NAME]
    assert status["serverInfo"]["name"] == NAME
    assert sorted(status["tools"]) == sorted(TOOL_NAMES)
    assert status["toolsError"] is None


def test_opencode_connects(home: dict[str, str]) -> None:
    opencode = HOSTS_DIR / "node_modules" / "opencode-linux-x64" / "bin" / "opencode"
    if not opencode.exists():  # Only its Linux x64 build is pinned: the registry lacks the others.
        skip_or_fail("the hosts kit holds opencode for Linux x64 only")
    set_up("opencode", home)
    listed = run([str(opencode), "mcp", "list"], home)
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf"✓ {NAME}\s+connected$", line_naming(listed.stdout, NAME))


def test_continue_loads_the_server_and_its_tools(home: dict[str, str], refused_port: int) -> None:
    given = set_up("continue", home)
    model = (
        "models:\n  - name: none\n    provider: openai\n    model: none\n"
        f"    apiBase: http://127.0.0.1:{refused_port}/v1\n    apiKey: none\n"
    )
    Path(given["file"]).write_text(given["content"] + model, encoding="utf-8")
    done = run(["cn", "-p", "hi", "--verbose"], home)
    assert json.loads(done.stderr.splitlines()[-1])["message"] == "Connection error."  # The model, not the server.
    log = (Path(home["HOME"]) / ".continue" / "logs" / "cn.log").read_text(encoding="utf-8")
    [prepared] = re.findall(r"Tools prepared (\{.*\})", log)
    assert set(TOOL_NAMES) <= set(json.loads(prepared)["toolNames"])


def test_the_inspector_command_runs_as_printed_and_lists_the_tools(home: dict[str, str]) -> None:
    """From the kit's folder, `npx -y` finds the pinned Inspector and needs no network."""
    command = printed_setup("inspector", home)["command"]
    pinned = json.loads((HOSTS_DIR / "package.json").read_text(encoding="utf-8"))["dependencies"]
    assert command[:3] == ["npx", "-y", f"@modelcontextprotocol/inspector@{pinned['@modelcontextprotocol/inspector']}"]
    done = run(command, {**home, "npm_config_offline": "true"}, cwd=HOSTS_DIR)
    assert done.returncode == 0, done.stderr
    assert [tool["name"] for tool in json.loads(done.stdout)["tools"]] == TOOL_NAMES


def test_amp_connects_and_lists_the_tools(home: dict[str, str]) -> None:
    amp = HOSTS_DIR / "node_modules" / "@ampcode" / "cli-linux-x64" / "amp"
    if not amp.exists():  # Only its Linux x64 build is pinned: the registry lacks the others.
        skip_or_fail("the hosts kit holds Amp for Linux x64 only")
    set_up("amp", home)
    done = run([str(amp), "mcp", "doctor"], {**home, "AMP_API_KEY": "none"})
    assert done.returncode == 0, done.stdout + done.stderr
    tools = len(TOOL_NAMES)
    assert line_naming(done.stdout, NAME).endswith(f"connected ({tools} tools: {', '.join(TOOL_NAMES)})")


FAST_AGENT = HOSTS_DIR / ".venv" / ("Scripts" if os.name == "nt" else "bin") / "fast-agent"


def test_fast_agent_calls_the_tool_in_the_2026_07_28_era(home: dict[str, str]) -> None:
    """fast-agent (PyPI, in tests/hosts/.venv) calls the tool with its passthrough model: no API key."""
    if not FAST_AGENT.exists():
        skip_or_fail(f"fast-agent is not installed; {FAST_AGENT_HINT}")
    given = set_up("fast-agent", home)
    call = f"***CALL_TOOL {NAME}__{SAMPLE_TOOL} {json.dumps(SAMPLE_ARGUMENTS)}"
    command = [str(FAST_AGENT), "go", "--config-path", given["file"], "--servers", NAME, "--model", "passthrough"]
    done = run([*command, "--message", call], {**home, "COLUMNS": "200"})
    assert done.returncode == 0, done.stdout + done.stderr
    reply = json.loads(done.stdout.strip().splitlines()[-1])  # The tool's reply, as the model would get it.
    assert "error" not in reply, reply
    expected = asyncio_call()
    assert set(reply) == set(expected), reply
    if "protocol_version" in reply:  # The reply says which protocol carried it (heartbeat's does).
        assert reply["protocol_version"] == MODERN_VERSION


def asyncio_call() -> dict[str, Any]:
    """The sample call's structured reply, in memory: what a host should see the keys of."""

    async def call() -> dict[str, Any]:
        async with Client(server) as client:
            return (await client.call_tool(SAMPLE_TOOL, SAMPLE_ARGUMENTS)).structured_content or {}

    return anyio.run(call)
