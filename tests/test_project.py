"""The project around the server: version, docs, host config and CI agree with the code."""

from __future__ import annotations

import json
import re
import tomllib

import heartbeat
from tests.conftest import PROJECT_DIR

README = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")


def test_version_matches_pyproject() -> None:
    pyproject = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["version"] == heartbeat.VERSION


def test_heartbeat_py_has_no_script_block_that_would_bypass_the_lock() -> None:
    source = (PROJECT_DIR / "heartbeat.py").read_text(encoding="utf-8")
    assert not re.search(r"^# /// script", source, re.MULTILINE)


def test_example_config_is_valid_json_and_matches_the_readme() -> None:
    example = json.loads((PROJECT_DIR / "claude_desktop_config.example.json").read_text(encoding="utf-8"))
    server = example["mcpServers"]["heartbeat"]
    assert server["command"].endswith("/uv")
    assert server["args"][0] == "--directory"
    assert server["args"][2:] == ["run", "heartbeat.py"]
    assert example in [json.loads(block) for block in json_blocks(README)]


def json_blocks(markdown: str) -> list[str]:
    return re.findall(r"```json\n(.*?)```", markdown, re.DOTALL)


def test_every_json_snippet_in_the_readme_parses() -> None:
    blocks = json_blocks(README)
    assert len(blocks) >= 2
    for block in blocks:
        json.loads(block)
    for block in re.findall(r"```jsonl\n(.*?)```", README, re.DOTALL):
        for line in block.splitlines():
            assert json.loads(line)["jsonrpc"] == "2.0"


def test_readme_promises_the_two_commands_and_ci_runs_the_test_one() -> None:
    assert "uv run heartbeat.py" in README
    assert "uv run pytest" in README
    ci = (PROJECT_DIR / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^uv run pytest", ci, re.MULTILINE)
