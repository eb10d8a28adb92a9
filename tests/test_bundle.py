"""The MCP Bundle (.mcpb): its manifest agrees with the server, and the packed bundle serves as a host runs it."""

from __future__ import annotations

import json
import subprocess
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.conftest import BUNDLE_DIR, NAME, PROJECT_DIR, SERVER_FILE, StdioServer, sample_call, server, uv

MANIFEST: dict[str, Any] = json.loads((PROJECT_DIR / "manifest.json").read_text(encoding="utf-8"))
BUNDLE_FILES = {
    SERVER_FILE,
    "kit/__init__.py",
    "kit/identity.py",
    "kit/serving.py",
    "kit/stdio_repairs.py",
    "pyproject.toml",
    "uv.lock",
    "manifest.json",
    "README.md",
    "LICENSE",
    "icon.png",
}
MCPB_CLI = BUNDLE_DIR / "node_modules" / "@anthropic-ai" / "mcpb" / "dist" / "cli" / "cli.js"
LEARN = "run `uv run host_setup.py manifest`, which writes what the server says"
DEV_ONLY = ("pytest", "hypothesis", "ruff", "pyright", "nodeenv")  # What only our dev group brings.


@pytest.mark.anyio
async def test_manifest_version_and_tools_are_what_the_server_reports() -> None:
    async with Client(server, mode="legacy") as client:
        assert client.server_info is not None
        assert MANIFEST["version"] == client.server_info.version, f"manifest.json: {LEARN}"
        listed = (await client.list_tools()).tools
    served = [{"name": tool.name, "description": tool.description} for tool in listed]
    assert MANIFEST["tools"] == served, f"manifest.json lists other tools than the server's: {LEARN}"


def test_manifest_name_is_the_server_s() -> None:
    assert MANIFEST["name"] == NAME, f'manifest.json: set "name" to "{NAME}", as pyproject.toml has it'


def test_manifest_python_range_is_pyprojects() -> None:
    pyproject = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))
    python = pyproject["project"]["requires-python"]
    assert MANIFEST["compatibility"]["runtimes"]["python"] == python, (
        f'manifest.json: set runtimes "python": "{python}"'
    )


def test_manifest_runs_the_server_with_uv_and_nothing_but_what_serving_needs() -> None:
    expected = {
        "type": "uv",
        "entry_point": SERVER_FILE,
        "mcp_config": {
            "command": "uv",
            "args": ["run", "--directory", "${__dirname}", "--no-dev", "--frozen", SERVER_FILE],
        },
    }
    assert MANIFEST["manifest_version"] == "0.4", 'manifest.json: "manifest_version" is "0.4", as the bundle kit reads'
    assert MANIFEST["server"] == expected, f'manifest.json: set "server" to {json.dumps(expected)}'
    assert (PROJECT_DIR / MANIFEST["icon"]).is_file(), f'manifest.json: its "icon" {MANIFEST["icon"]} does not exist'


@pytest.fixture(scope="module")
def bundle(bundle_node: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """<name>-<version>.mcpb, built with the README's one command (which also validates)."""
    output = tmp_path_factory.mktemp("bundle") / f"{MANIFEST['name']}-{MANIFEST['version']}.mcpb"
    subprocess.run([bundle_node, "bundle/build.mjs", str(output)], cwd=PROJECT_DIR, check=True, timeout=300)
    return output


def test_bundle_carries_only_what_a_host_needs(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        packed = set(archive.namelist())
    assert packed == BUNDLE_FILES, (
        f".mcpbignore: the bundle adds {packed - BUNDLE_FILES}, lacks {BUNDLE_FILES - packed}"
    )


def test_unpacked_bundle_serves_as_its_manifest_says_with_no_dev_package(
    bundle_node: str, bundle: Path, tmp_path: Path
) -> None:
    unpacked = tmp_path / "unpacked"
    subprocess.run([bundle_node, str(MCPB_CLI), "unpack", str(bundle), str(unpacked)], check=True, timeout=120)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = MANIFEST["server"]["mcp_config"]
    launch = [uv(), *(arg.replace("${__dirname}", str(unpacked)) for arg in config["args"])]
    process = StdioServer(launch=launch, cwd=elsewhere)
    try:
        assert process.initialize()["result"]["serverInfo"]["version"] == MANIFEST["version"]
        assert process.request(sample_call(2))["result"]["isError"] is False
    finally:
        process.close_stdin()
    assert process.wait() == 0
    assert b"Traceback" not in process.stderr
    [site_packages] = {path.resolve() for path in (unpacked / ".venv").glob("lib*/python3*/site-packages")}
    installed = {path.name.split("-")[0].lower() for path in site_packages.glob("*.dist-info")}
    assert {"mcp", "anyio", "pydantic"} <= installed
    assert installed.isdisjoint(DEV_ONLY), installed & set(DEV_ONLY)
