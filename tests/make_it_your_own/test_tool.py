"""roll_dice and echo, the copy's own tools, through the SDK's in-memory client over both eras."""

from __future__ import annotations

import pytest
from mcp import Client

from tests.conftest import only_text

pytestmark = pytest.mark.anyio


async def test_lists_both_tools(client: Client) -> None:
    assert [tool.name for tool in (await client.list_tools()).tools] == ["roll_dice", "echo"]


async def test_a_roll_is_between_one_and_the_number_of_sides(client: Client) -> None:
    result = await client.call_tool("roll_dice", {"sides": 6})
    assert result.structured_content is not None
    assert 1 <= result.structured_content["rolled"] <= 6


@pytest.mark.parametrize(
    ("sides", "problem"),
    [
        (1, '"sides" must be at least 2'),
        (1001, '"sides" must be at most 1000'),
        ("6", '"sides" must be of type integer, got string'),
    ],
)
async def test_a_die_it_cannot_roll_is_a_tool_error(client: Client, sides: object, problem: str) -> None:
    result = await client.call_tool("roll_dice", {"sides": sides})
    assert result.is_error is True
    assert only_text(result) == f"Invalid arguments for roll_dice: {problem}."


async def test_echo_says_the_text_back(client: Client) -> None:
    result = await client.call_tool("echo", {"text": "hello"})
    assert result.structured_content == {"text": "hello"}
