"""The project around the server: versions, layout, docs, host config and CI agree with the code."""

from __future__ import annotations

import ast
import json
import re
import tomllib

import heartbeat
from heartbeat_setup import HOSTS
from tests import probe_server
from tests.conftest import PROJECT_DIR

README = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
SHIPPED = ("heartbeat.py", "stdio_repairs.py", "heartbeat_setup.py")


PYPROJECT = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))["project"]
TOOL_OWN_TESTS = ("test_tool.py", "test_properties.py")


def test_the_identity_is_pyproject_s_and_the_manifest_keeps_a_copy() -> None:
    manifest = json.loads((PROJECT_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert (PYPROJECT["name"], PYPROJECT["version"]) == (heartbeat.NAME, heartbeat.VERSION)
    assert (manifest["name"], manifest["version"]) == (PYPROJECT["name"], PYPROJECT["version"])


# The code of the project, but for the template proof, which holds another server's code as data.
SOURCES = [
    path
    for pattern in ("*.py", "tests/**/*.py", "tests/interop/*.mjs", "bundle/*.mjs")
    for path in PROJECT_DIR.glob(pattern)
    if path.name != "test_template.py" and "make_it_your_own" not in path.parts
]


def test_no_module_writes_the_version_again() -> None:
    assert [path.name for path in SOURCES if f'"{PYPROJECT["version"]}"' in path.read_text(encoding="utf-8")] == []


def test_only_the_server_and_the_tool_s_own_tests_name_its_tools() -> None:
    names = set(heartbeat.TOOLS) - {tool.name for tool in probe_server.TOOLS}  # The probe's are the tests' own.
    knowing = {path.name for path in SOURCES for name in names if name in path.read_text(encoding="utf-8")}
    assert knowing <= {"heartbeat.py", *TOOL_OWN_TESTS}


def test_heartbeat_py_has_no_script_block_that_would_bypass_the_lock() -> None:
    source = (PROJECT_DIR / "heartbeat.py").read_text(encoding="utf-8")
    assert not re.search(r"^# /// script", source, re.MULTILINE)


def imported_modules(file: str) -> set[str]:
    """Every module a file imports, anywhere in it, as written (`mcp.server`, `stdio_repairs`, ...)."""
    tree = ast.parse((PROJECT_DIR / file).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_imports_point_one_way_setup_then_server_then_repairs() -> None:
    server, repairs, setup = (imported_modules(file) for file in SHIPPED)
    assert "stdio_repairs" in server
    assert "heartbeat_setup" not in server
    assert not {"heartbeat", "heartbeat_setup"} & {name.split(".")[0] for name in repairs}
    assert "heartbeat" in setup


def test_the_server_leaves_what_only_check_needs_to_the_setup_module() -> None:
    server = imported_modules("heartbeat.py")
    assert not {"mcp.Client", "mcp.stdio_client", "mcp.StdioServerParameters"} & server


def test_the_shipped_modules_use_no_private_sdk_module() -> None:
    for file in SHIPPED:
        private = [name for name in imported_modules(file) if name.startswith("mcp") and "._" in name]
        assert private == [], file


def test_example_config_is_valid_json_and_matches_the_readme() -> None:
    example = json.loads((PROJECT_DIR / "claude_desktop_config.example.json").read_text(encoding="utf-8"))
    [server] = example["mcpServers"].values()
    assert server["command"].endswith("/uv")
    assert server["args"][0] == "--directory"
    assert server["args"][2:] == ["run", "--no-dev", "--frozen", "heartbeat.py"]
    assert example in [json.loads(block) for block in json_blocks(README)]


def json_blocks(markdown: str) -> list[str]:
    return re.findall(r"```json\n(.*?)```", markdown, re.DOTALL)


def test_every_json_snippet_in_the_readme_parses() -> None:
    blocks = json_blocks(README)
    assert blocks
    for block in blocks:
        json.loads(block)
    for block in re.findall(r"```jsonl\n(.*?)```", README, re.DOTALL):
        for line in block.splitlines():
            assert json.loads(line)["jsonrpc"] == "2.0"


def test_every_host_command_in_the_readme_runs_only_what_serving_needs() -> None:
    host_commands = re.findall(r"--directory[^\n]*?heartbeat\.py", README)
    assert len(host_commands) >= 2
    for command in host_commands:
        assert re.search(r'\brun"?,? "?--no-dev"?,? "?--frozen"?,? "?heartbeat\.py', command), command


def test_the_readme_has_a_line_for_each_host_and_names_only_those_hosts_knows() -> None:
    named = re.findall(r"^\| [^|]+ \| [^|]+ \| `uv run heartbeat_setup\.py hosts ([^`]+)` \|$", README, re.MULTILINE)
    assert named == list(HOSTS)


def test_readme_promises_the_two_commands_and_ci_runs_the_test_one() -> None:
    assert "uv run heartbeat.py" in README
    assert "uv run pytest" in README
    ci = (PROJECT_DIR / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^uv run pytest", ci, re.MULTILINE)
    assert "HEARTBEAT_REQUIRE_INTEROP=1" in ci
