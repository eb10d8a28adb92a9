"""get_heartbeat, the example tool: its contract through the SDK's in-memory client over both
protocol eras, and what its reply repeats of the client over real stdio. With tests/test_properties.py,
the only tests that know it: a server made from this one replaces these two files, which skip,
saying so, once it serves other tools."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from mcp import Client, MCPError
from mcp.client.session import DEFAULT_CLIENT_INFO
from mcp_types import INVALID_PARAMS

from tests.conftest import (
    INITIALIZED,
    MODERN_VERSION,
    REPLY_TIMEOUT,
    StdioServer,
    assert_clean_exit,
    call_request,
    initialize_request,
    only_text,
    skip_unless_served,
)
from tests.conftest import SERVED as served

skip_unless_served("get_heartbeat")
pytestmark = pytest.mark.anyio

LONGEST_REPLY_BYTES = 8_704  # The most a get_heartbeat reply can be, in bytes, however long its user and client are.


async def test_each_mode_speaks_its_era(client: Client) -> None:
    expected = "2025-11-25" if client.mode == "legacy" else MODERN_VERSION
    assert client.protocol_version == expected


async def test_server_identifies_itself(client: Client) -> None:
    if client.mode == "legacy":  # The 2026 era carries serverInfo per result, not at connect.
        assert client.server_info is not None
        assert (client.server_info.name, client.server_info.version) == (served.NAME, served.VERSION)
        assert client.server_info.title == re.sub("[-_]", " ", served.NAME).title()  # "my-server": "My Server".
    assert client.instructions is not None
    assert "get_heartbeat" in client.instructions
    assert client.server_capabilities.tools is not None


async def test_lists_exactly_the_heartbeat_tool(client: Client) -> None:
    listed = await client.list_tools()
    assert [tool.name for tool in listed.tools] == ["get_heartbeat"]
    tool = listed.tools[0]
    assert tool.title == "Get heartbeat"
    assert tool.description
    assert tool.input_schema == {
        "type": "object",
        "title": "get_heartbeat arguments",
        "properties": {
            "user": {
                "type": "string",
                "title": "User",
                "description": "Who to greet: a name of 1 to 200 characters, not only spaces.",
                "minLength": 1,
                "maxLength": 200,
                "pattern": r"\S",
            },
        },
        "required": ["user"],
        "additionalProperties": False,
    }
    assert tool.output_schema == served.HEARTBEAT_OUTPUT_SCHEMA
    assert tool.output_schema is not None
    assert set(tool.output_schema["required"]) == set(tool.output_schema["properties"])
    assert tool.annotations is not None
    assert tool.annotations.model_dump(exclude_none=True) == {
        "read_only_hint": True,
        "destructive_hint": False,
        "idempotent_hint": True,
        "open_world_hint": False,
    }


async def test_call_returns_the_greeting_as_structured_content_and_json_text(client: Client) -> None:
    before = datetime.now(UTC)
    result = await client.call_tool("get_heartbeat", {"user": "Ada"})
    assert result.is_error is False
    reply = result.structured_content
    assert reply is not None
    assert json.loads(only_text(result)) == reply
    Draft202012Validator(served.HEARTBEAT_OUTPUT_SCHEMA, format_checker=FormatChecker()).validate(reply)
    assert reply["text"] == "Hello Ada, my heart beats for you!"
    assert reply["user"] == "Ada"
    assert reply["version"] == served.VERSION
    assert reply["uptime_seconds"] >= 0
    assert reply["server_time"].endswith("Z")
    server_time = datetime.fromisoformat(reply["server_time"])
    assert before - timedelta(seconds=1) <= server_time <= datetime.now(UTC) + timedelta(seconds=1)


async def test_the_reply_names_the_client_and_the_protocol_version_in_force(client: Client) -> None:
    result = await client.call_tool("get_heartbeat", {"user": "Ada"})
    assert result.structured_content is not None
    assert result.structured_content["client"] == DEFAULT_CLIENT_INFO.model_dump(include={"name", "version"})
    assert result.structured_content["protocol_version"] == client.protocol_version


async def test_beat_counts_successful_calls_only(client: Client) -> None:
    first = await client.call_tool("get_heartbeat", {"user": "Ada"})
    failed = await client.call_tool("get_heartbeat", {"user": ""})
    second = await client.call_tool("get_heartbeat", {"user": "Ada"})
    assert failed.is_error
    assert first.structured_content is not None
    assert second.structured_content is not None
    assert second.structured_content["beat"] == first.structured_content["beat"] + 1


BAD_ARGUMENTS: list[tuple[Any, str]] = [
    (None, 'missing required argument "user"'),
    ({}, 'missing required argument "user"'),
    ({"name": "Ada"}, 'missing required argument "user"'),
    ({"user": 42}, '"user" must be of type string, got number'),
    ({"user": None}, '"user" must be of type string, got null'),
    ({"user": ["Ada"]}, '"user" must be of type string, got array'),
    ({"user": {"first": "Ada"}}, '"user" must be of type string, got object'),
    ({"user": True}, '"user" must be of type string, got boolean'),
    ({"user": ""}, '"user" must not be empty'),
    ({"user": " \t\n"}, '"user" must match the regular expression \\S'),
    ({"user": "x" * 201}, '"user" must be at most 200 characters long'),
    ({"user": "Ada", "mood": "happy"}, 'unexpected argument "mood"; the accepted arguments are: "user"'),
    ({"user": "Ada", "a": 1, "b": 2}, 'unexpected argument "a", "b"; the accepted arguments are: "user"'),
    ({"user": "Ada", "a\nb": 1}, 'unexpected argument "a\\nb"; the accepted arguments are: "user"'),
]


@pytest.mark.parametrize(("arguments", "problem"), BAD_ARGUMENTS)
async def test_bad_arguments_are_tool_errors_naming_field_and_rule(
    client: Client, arguments: Any, problem: str
) -> None:
    result = await client.call_tool("get_heartbeat", arguments)
    assert result.is_error is True
    assert result.structured_content is None
    assert only_text(result) == f"Invalid arguments for get_heartbeat: {problem}."


async def test_longest_allowed_user_is_accepted(client: Client) -> None:
    result = await client.call_tool("get_heartbeat", {"user": "x" * 200})
    assert result.is_error is False


async def test_unknown_tool_is_invalid_params_naming_the_tool(client: Client) -> None:
    with pytest.raises(MCPError) as raised:
        await client.call_tool("get_heartbeats", {"user": "Ada"})
    assert raised.value.error.code == INVALID_PARAMS
    assert raised.value.error.message == "Unknown tool: 'get_heartbeats'. Available: 'get_heartbeat'"


async def test_unexpected_failure_is_a_generic_tool_error_with_details_only_in_the_log(
    client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_reply(arguments: Any, ctx: Any) -> dict[str, Any]:
        raise RuntimeError("secret internal detail")

    handler = served.TOOLS.handlers["get_heartbeat"]
    monkeypatch.setitem(served.TOOLS.handlers, "get_heartbeat", dataclasses.replace(handler, reply=broken_reply))
    result = await client.call_tool("get_heartbeat", {"user": "Ada"})
    assert result.is_error is True
    assert only_text(result) == "get_heartbeat failed inside the server; the details are in the server's log."
    assert "secret internal detail" in caplog.text
    assert "Traceback" not in only_text(result)
    assert "Traceback" in caplog.text


def test_the_reply_repeats_at_most_100_characters_of_the_client_s_name_and_version() -> None:
    introduce = initialize_request()
    introduce["params"]["clientInfo"] = {"name": "n" * 1_000_000, "version": "v" * 1_000_000}
    process = StdioServer()
    process.request(introduce)
    process.send(INITIALIZED)
    called = process.request(call_request(2, "get_heartbeat", {"user": "Ada"}))
    assert called["result"]["structuredContent"]["client"] == {"name": "n" * 100, "version": "v" * 100}
    assert len(json.dumps(called)) < 4096
    process.close_stdin()
    assert_clean_exit(process)


def test_the_longest_reply_the_documented_limits_allow_is_within_the_contract_s_bound() -> None:
    """The longest user and client name and version, of each kind of character that JSON writes longest."""
    characters = ("\x01", '"', "\\", "\U0001f600", "é")
    processes = [StdioServer() for _ in characters]
    longest = 0
    for character, process in zip(characters, processes, strict=True):
        introduce = initialize_request()
        introduce["params"]["clientInfo"] = {"name": character * 100, "version": character * 100}
        process.request(introduce)
        process.send(INITIALIZED)
        process.send(call_request(2, "get_heartbeat", {"user": character * served.MAX_USER_LENGTH}))
        line = process.lines.get(timeout=REPLY_TIMEOUT).rstrip(b"\n")
        assert json.loads(line)["result"]["isError"] is False, line[:300]
        longest = max(longest, len(line))
        process.close_stdin()
        assert_clean_exit(process)
    assert longest <= LONGEST_REPLY_BYTES <= longest + 512, longest


def test_a_2026_client_is_named_in_the_reply_and_one_that_does_not_introduce_itself_is_null() -> None:
    process = StdioServer()
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN_VERSION, "io.modelcontextprotocol/clientCapabilities": {}}
    for request_id, info in [(1, {"name": "tests", "version": "0"}), (2, None)]:
        params = {"name": "get_heartbeat", "arguments": {"user": "Ada"}, "_meta": dict(meta)}
        if info:
            params["_meta"]["io.modelcontextprotocol/clientInfo"] = info
        called = process.request({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params})
        reply = called["result"]["structuredContent"]
        assert (reply["client"], reply["protocol_version"]) == (info, MODERN_VERSION)
    process.close_stdin()
    assert_clean_exit(process)
