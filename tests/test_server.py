"""The server's MCP contract through the SDK's in-memory client, for whatever tools it serves."""

from __future__ import annotations

import dataclasses
import tomllib
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from mcp import Client, MCPError
from mcp_types import INVALID_PARAMS

from tests.conftest import PROJECT_DIR, SAMPLE_ARGUMENTS, SAMPLE_TOOL, TOOLS, only_text, served_tools

pytestmark = pytest.mark.anyio

PROJECT = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))["project"]
AVAILABLE = ", ".join(repr(tool.name) for tool in TOOLS)


async def test_the_server_is_named_and_versioned_as_pyproject_says(client: Client) -> None:
    if client.mode == "legacy":  # The 2026 era carries serverInfo per result, not at connect.
        assert client.server_info is not None
        assert (client.server_info.name, client.server_info.version) == (PROJECT["name"], PROJECT["version"])
    assert client.instructions, "Server(...) has no instructions: give it the INSTRUCTIONS beside the tools"
    assert client.server_capabilities.tools is not None, "Server(...) lists no tools: pass on_list_tools=TOOLS.list"


async def test_each_era_lists_the_same_tools_with_valid_schemas(client: Client) -> None:
    listed = (await client.list_tools()).tools
    assert listed == TOOLS
    names = [tool.name for tool in listed]
    assert len(set(names)) == len(names), f"two tools share a name: {names}"
    for tool in listed:
        Draft202012Validator.check_schema(tool.input_schema)
        assert tool.input_schema["type"] == "object", f"{tool.name}: MCP needs an object inputSchema"
        if tool.output_schema is not None:
            Draft202012Validator.check_schema(tool.output_schema)


async def test_a_read_only_tool_answers_a_call_with_arguments_its_schema_accepts(client: Client) -> None:
    result = await client.call_tool(SAMPLE_TOOL, SAMPLE_ARGUMENTS)
    assert result.is_error is False, result
    assert only_text(result)
    [tool] = [tool for tool in TOOLS if tool.name == SAMPLE_TOOL]
    if tool.output_schema is not None:
        assert result.structured_content is not None, f"{SAMPLE_TOOL} has an outputSchema: its reply must match it"
        Draft202012Validator(tool.output_schema, format_checker=FormatChecker()).validate(result.structured_content)


async def test_an_unknown_tool_is_invalid_params_naming_it_and_the_tools_there_are(client: Client) -> None:
    with pytest.raises(MCPError) as raised:
        await client.call_tool("no_such_tool", {})
    assert raised.value.error.code == INVALID_PARAMS
    assert raised.value.error.message == f"Unknown tool: 'no_such_tool'. Available: {AVAILABLE}"


async def test_an_unknown_tool_s_name_is_repeated_at_most_100_characters(client: Client) -> None:
    with pytest.raises(MCPError) as raised:
        await client.call_tool("x" * 1_000_000, {})
    assert raised.value.error.message == f"Unknown tool: '{'x' * 100}'. Available: {AVAILABLE}"


async def test_an_unexpected_argument_is_a_one_line_tool_error_naming_it(client: Client) -> None:
    result = await client.call_tool(SAMPLE_TOOL, {**SAMPLE_ARGUMENTS, "no_such_argument\n": 1})
    assert result.is_error is True
    assert result.structured_content is None
    text = only_text(result)
    assert text.startswith(f'Invalid arguments for {SAMPLE_TOOL}: unexpected argument "no_such_argument\\n"; ')
    assert "\n" not in text


async def test_a_tool_that_fails_inside_is_a_generic_error_with_the_details_only_in_the_log(
    client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_reply(arguments: Any, ctx: Any) -> dict[str, Any]:
        raise RuntimeError("secret internal detail")

    handlers = served_tools().handlers
    monkeypatch.setitem(handlers, SAMPLE_TOOL, dataclasses.replace(handlers[SAMPLE_TOOL], reply=broken_reply))
    result = await client.call_tool(SAMPLE_TOOL, SAMPLE_ARGUMENTS)
    assert result.is_error is True
    assert only_text(result) == f"{SAMPLE_TOOL} failed inside the server; the details are in the server's log."
    assert "secret internal detail" in caplog.text
    assert "Traceback" in caplog.text
