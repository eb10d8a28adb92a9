"""Properties over generated input: valid users round-trip exactly, anything else is a tool error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from heartbeat import MAX_USER_LENGTH, server
from tests.conftest import only_text

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
VALID_USERS = st.text(min_size=1, max_size=MAX_USER_LENGTH).filter(lambda user: not user.isspace())


def is_valid_user(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 1 <= len(value) <= MAX_USER_LENGTH
        and any(not character.isspace() for character in value)
    )


# Objects and null only: the SDK's client refuses to send any other `arguments`
# (test_stdio.py sends those over the wire).
INVALID_ARGUMENTS = (
    st.none()
    | st.dictionaries(st.text(max_size=8).filter(lambda key: key != "user"), JSON_VALUES, min_size=1, max_size=3)
    | st.fixed_dictionaries({"user": JSON_VALUES.filter(lambda value: not is_valid_user(value))})
    | st.fixed_dictionaries({"user": VALID_USERS}, optional={"extra": JSON_VALUES}).filter(
        lambda arguments: "extra" in arguments
    )
    | st.fixed_dictionaries({"user": st.text(min_size=MAX_USER_LENGTH + 1, max_size=MAX_USER_LENGTH + 50)})
)


@pytest.fixture(scope="module", params=["legacy", "auto"])
def connected(request: pytest.FixtureRequest) -> Iterator[tuple[BlockingPortal, Client]]:
    """One client per era for all examples, driven from hypothesis's synchronous tests."""
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(Client(server, mode=request.param)) as client,
    ):
        yield portal, client


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(user=VALID_USERS)
def test_every_valid_user_round_trips_exactly(connected: tuple[BlockingPortal, Client], user: str) -> None:
    portal, client = connected
    result = portal.call(client.call_tool, "get_heartbeat", {"user": user})
    assert result.is_error is False
    assert result.structured_content is not None
    assert result.structured_content["user"] == user
    assert result.structured_content["text"] == f"Hello {user}, my heart beats for you!"
    assert json.loads(only_text(result)) == result.structured_content


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arguments=INVALID_ARGUMENTS)
def test_every_invalid_argument_is_a_tool_error(connected: tuple[BlockingPortal, Client], arguments: Any) -> None:
    portal, client = connected
    result = portal.call(client.call_tool, "get_heartbeat", arguments)
    assert result.is_error is True
    assert result.structured_content is None
    text = only_text(result)
    assert text.startswith("Invalid arguments for get_heartbeat: ")
    assert "\n" not in text
