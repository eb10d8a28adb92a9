"""get_heartbeat's properties over generated input: its advertised schema and its validation agree,
and every valid user round-trips. The example tool's own, like tests/test_tool.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from mcp import Client

from kit.serving import validate_arguments
from tests.conftest import SERVED as served
from tests.conftest import only_text, skip_unless_served

skip_unless_served("get_heartbeat")

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
# Near the edges of every rule: lengths around 1 and 200, whitespace of every kind, odd keys.
WHITESPACE = st.sampled_from(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u2029\u3000\ufeff")
USERS = (
    st.text(max_size=served.MAX_USER_LENGTH + 2)
    | st.text(WHITESPACE, min_size=1, max_size=5)
    | st.text(min_size=served.MAX_USER_LENGTH - 1, max_size=served.MAX_USER_LENGTH + 1)
)
ARGUMENTS = st.fixed_dictionaries({"user": USERS | JSON_VALUES}, optional={"extra": JSON_VALUES}) | st.dictionaries(
    st.text(max_size=8), JSON_VALUES, max_size=3
)
VALID_USERS = st.text(min_size=1, max_size=served.MAX_USER_LENGTH).filter(lambda user: not user.isspace())
ADVERTISED = Draft202012Validator(served.HEARTBEAT_TOOL.input_schema)


@settings(max_examples=1000, deadline=None)
@given(arguments=ARGUMENTS)
def test_the_validator_accepts_exactly_what_the_advertised_schema_accepts(arguments: dict[str, Any]) -> None:
    """One source of truth: jsonschema, reading the schema clients see, is the independent oracle."""
    verdict = validate_arguments(served.HeartbeatArguments, arguments)
    assert isinstance(verdict, served.HeartbeatArguments) == ADVERTISED.is_valid(arguments), verdict
    if isinstance(verdict, str):
        assert "\n" not in verdict


@pytest.fixture(scope="module", params=["legacy", "auto"])
def connected(request: pytest.FixtureRequest) -> Iterator[tuple[BlockingPortal, Client]]:
    """One client per era for all examples, driven from hypothesis's synchronous tests."""
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(Client(served.server, mode=request.param)) as client,
    ):
        yield portal, client


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(user=VALID_USERS)
def test_every_valid_user_round_trips_exactly(connected: tuple[BlockingPortal, Client], user: str) -> None:
    portal, client = connected
    result = portal.call(client.call_tool, "get_heartbeat", {"user": user})
    assert result.is_error is False
    assert result.structured_content is not None
    assert result.structured_content["user"] == user
    assert result.structured_content["text"] == f"Hello {user}, my heart beats for you!"
    assert json.loads(only_text(result)) == result.structured_content


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arguments=ARGUMENTS.filter(lambda arguments: not ADVERTISED.is_valid(arguments)))
def test_every_invalid_argument_is_a_one_line_tool_error(
    connected: tuple[BlockingPortal, Client], arguments: dict[str, Any]
) -> None:
    portal, client = connected
    result = portal.call(client.call_tool, "get_heartbeat", arguments)
    assert result.is_error is True
    assert result.structured_content is None
    text = only_text(result)
    assert text.startswith("Invalid arguments for get_heartbeat: ")
    assert "\n" not in text
