"""hosts: the exact setup for each host, with this folder's paths in it."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.apps import claude_desktop, launch_entry
from kit.project import SetupError, command_line, powershell_line

INSPECTOR = "@modelcontextprotocol/inspector@0.15.0"  # The newest that does not ask for Node.js 22.


HOSTS = (
    "claude-desktop",
    "claude-code",
    "gemini",
    "codex",
    "opencode",
    "continue",
    "cursor",
    "vscode",
    "amp",
    "fast-agent",
    "inspector",
)


@dataclass(frozen=True)
class HostSetup:
    """How one host is told to start this server: a command to run, or text to merge into a file."""

    key: str
    host: str
    how: str
    then: str  # How to see it connected.
    command: list[str] | None = None
    file: Path | None = None
    content: str | None = None


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def vscode_user_folder(edition: str) -> Path:
    """VS Code's user folder for an edition ("Code", "Code - Insiders")."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / edition / "User"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming") / edition / "User"
    return config_home() / edition / "User"


def as_json(content: dict[str, Any]) -> str:
    return json.dumps(content, indent=2, ensure_ascii=False) + "\n"


def merge_into(file: Path) -> str:
    return f"Merge this into {file} (or create the file with it):"


def host_setups(name: str, uvx: str | None = None) -> list[HostSetup]:
    """Every host's setup, in the order of HOSTS, with uv's absolute path and this folder's already in it."""
    entry = launch_entry(uvx)
    run = [entry["command"], *entry["args"]]
    try:
        desktop: Path | None = claude_desktop(None).config
    except SetupError:  # Several packaged apps: install asks for --config.
        desktop = None
    opencode, continue_, cursor, vscode = (
        config_home() / "opencode" / "opencode.json",
        Path.home() / ".continue" / "config.yaml",
        Path.home() / ".cursor" / "mcp.json",
        vscode_user_folder("Code") / "mcp.json",
    )
    insiders = vscode_user_folder("Code - Insiders") / "mcp.json"
    amp, fast_agent = Path.home() / ".config" / "amp" / "settings.json", Path.home() / "fastagent.config.yaml"
    yaml_args = ", ".join(json.dumps(arg, ensure_ascii=False) for arg in entry["args"])  # JSON strings are YAML.
    return [
        HostSetup(
            "claude-desktop",
            "Claude Desktop",
            "Quit Claude Desktop fully; then "
            f"`uv run host_setup.py install{f' --uvx {command_line([uvx])}' if uvx else ''}` merges this into "
            f"{desktop or 'the config Claude Desktop reads'}, keeping all else:",
            "uv run host_setup.py check; then start Claude Desktop",
            file=desktop,
            content=as_json({"mcpServers": {name: entry}}),
        ),
        HostSetup(
            "claude-code",
            "Claude Code",
            "Run this once; the server is then there in every project:",
            "claude mcp list",
            command=["claude", "mcp", "add", "--scope", "user", name, "--", *run],
        ),
        HostSetup(
            "gemini",
            "Gemini CLI",
            "Run this once (with no `--` before uv: Gemini CLI takes the rest as the command):",
            "gemini mcp list, in a folder you trust (Gemini CLI starts no MCP server in an untrusted folder)",
            command=["gemini", "mcp", "add", "--scope", "user", name, *run],
        ),
        HostSetup(
            "codex",
            "Codex",
            "Run this once:",
            "codex mcp list shows it enabled; /mcp in a Codex session shows it connected, with its tools",
            command=["codex", "mcp", "add", name, "--", *run],
        ),
        HostSetup(
            "opencode",
            "opencode",
            merge_into(opencode),
            "opencode mcp list",
            file=opencode,
            content=as_json(
                {"$schema": "https://opencode.ai/config.json", "mcp": {name: {"type": "local", "command": run}}}
            ),
        ),
        HostSetup(
            "continue",
            "Continue",
            f"Create {continue_} with this, or, if it exists, add the item to its mcpServers list:",
            "cn (Continue's CLI); it stops with the reason if a server cannot start",
            file=continue_,
            content=f"name: {name} config\nversion: 1.0.0\nschema: v1\nmcpServers:\n  - name: {json.dumps(name)}\n"
            f"    command: {json.dumps(entry['command'], ensure_ascii=False)}\n    args: [{yaml_args}]\n",
        ),
        HostSetup(
            "cursor",
            "Cursor",
            merge_into(cursor),
            "Cursor Settings, MCP",
            file=cursor,
            content=as_json({"mcpServers": {name: entry}}),
        ),
        HostSetup(
            "vscode",
            "VS Code",
            f"Merge this into {vscode}, the file MCP: Open User Configuration opens (or create it with this). "
            f"VS Code Insiders reads {insiders}; a profile other than the default reads its own, "
            f"{vscode.parent / 'profiles' / '<profile id>' / 'mcp.json'}:",
            "the command MCP: List Servers",
            file=vscode,
            content=as_json({"servers": {name: {"type": "stdio", **entry}}}),
        ),
        HostSetup(
            "amp",
            "Amp",
            merge_into(amp),
            "amp mcp doctor",
            file=amp,
            content=as_json({"amp.mcpServers": {name: entry}}),
        ),
        HostSetup(
            "fast-agent",
            "fast-agent",
            f"Create {fast_agent} with this, or add the server to the mcp.servers of a config you have:",
            f"fast-agent go --config-path {command_line([str(fast_agent)])} --servers {name}",
            file=fast_agent,
            content=f"mcp:\n  servers:\n    {json.dumps(name)}:\n"
            f"      command: {json.dumps(entry['command'], ensure_ascii=False)}\n      args: [{yaml_args}]\n",
        ),
        HostSetup(
            "inspector",
            "MCP Inspector",
            "Run this to list the tools in the terminal (without --cli and --method, it opens a web page):",
            "it prints the tools",
            command=["npx", "-y", INSPECTOR, "--cli", *run, "--method", "tools/list"],
        ),
    ]


def print_hosts(name: str, wanted: list[str], as_json: bool, uvx: str | None = None) -> None:
    """Print the setup of the hosts wanted (all, when none is named), for a person or as JSON."""
    setups = [setup for setup in host_setups(name, uvx) if not wanted or setup.key in wanted]
    if as_json:
        fields = [{key: value for key, value in vars(setup).items() if value is not None} for setup in setups]
        print(json.dumps(fields, indent=2, default=str))
        return
    for number, setup in enumerate(setups):
        if number:
            print()
        print(f"## {setup.host} ({setup.key})")
        print(setup.how)
        print()
        print(command_line(setup.command) + "\n" if setup.command else setup.content, end="")
        if setup.command and sys.platform == "win32" and powershell_line(setup.command) != command_line(setup.command):
            print(f"In PowerShell: {powershell_line(setup.command)}")
        print()
        print(f"To see it connected: {setup.then}")
