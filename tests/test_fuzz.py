"""Fuzzing the real process over stdio: generated frames and byte garbage never break it."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PROBE, SAMPLE_TOOL, StdioServer, call_request, sample_call

JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=15,
)
ODD_IDS = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.text(max_size=30).filter(lambda text: not text.startswith("probe-"))
    | st.floats(allow_nan=False)
    | st.none()
    | st.booleans()
    | st.lists(st.integers(), max_size=2)
)
METHODS = st.sampled_from(
    ["ping", "tools/list", "tools/call", "initialize", "server/discover", "resources/list", "notifications/cancelled"]
) | st.text(max_size=30)
HUGE_STRINGS = st.integers(min_value=100_000, max_value=2_000_000).map(lambda size: "x" * size)

REQUESTS = st.fixed_dictionaries(
    {"jsonrpc": st.just("2.0"), "id": ODD_IDS, "method": METHODS},
    optional={"params": JSON_VALUES | st.fixed_dictionaries({"name": st.text(max_size=20), "arguments": JSON_VALUES})},
)
NOTIFICATIONS = st.fixed_dictionaries({"jsonrpc": st.just("2.0"), "method": METHODS}, optional={"params": JSON_VALUES})
CALLS = st.builds(
    call_request,
    ODD_IDS,
    st.just(SAMPLE_TOOL) | st.text(max_size=20),
    JSON_VALUES | st.dictionaries(st.text(max_size=8), JSON_VALUES | HUGE_STRINGS, max_size=3),
)
WRONG_SHAPES = st.dictionaries(
    st.sampled_from(["jsonrpc", "id", "method", "params", "result", "error"]) | st.text(max_size=8),
    JSON_VALUES,
    max_size=6,
)
FRAMES = (REQUESTS | NOTIFICATIONS | CALLS | WRONG_SHAPES | JSON_VALUES).map(lambda frame: json.dumps(frame).encode())
GARBAGE = (
    st.binary(max_size=300)
    | st.just(b"")
    | st.just(b"\xff\xfe\xc0\xaf invalid utf-8")
    | FRAMES.map(lambda line: line[: len(line) // 2])  # a partial line
    | st.integers(min_value=1, max_value=5000).map(lambda depth: b"[" * depth + b"]" * depth)
)
BATCHES = st.lists(FRAMES | GARBAGE, min_size=1, max_size=15)

probe_ids = itertools.count()


def read_until(process: StdioServer, request_id: str) -> dict[str, Any]:
    """Read replies (each must be JSON-RPC) until the one for `request_id`."""
    while True:
        reply = process.read()
        if reply.get("id") == request_id:
            return reply


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=BATCHES)
def test_after_any_batch_the_server_still_answers_ping_and_a_real_call(
    initialized_server: StdioServer, batch: list[bytes]
) -> None:
    initialized_server.write(b"".join(line + b"\n" for line in batch))
    probe = next(probe_ids)
    initialized_server.send({"jsonrpc": "2.0", "id": f"probe-ping-{probe}", "method": "ping"})
    assert read_until(initialized_server, f"probe-ping-{probe}")["result"] == {}
    initialized_server.send(sample_call(f"probe-call-{probe}"))
    reply = read_until(initialized_server, f"probe-call-{probe}")
    assert reply["result"]["isError"] is False


def test_a_burst_of_pipelined_calls_is_answered_once_each_and_matched_to_its_request() -> None:
    process = StdioServer(launch=PROBE)
    process.initialize()
    count = 2000
    process.write(
        b"".join(json.dumps(call_request(i, "echo", {"text": f"call {i}"})).encode() + b"\n" for i in range(count))
    )
    replies = [process.read() for _ in range(count)]
    process.send({"jsonrpc": "2.0", "id": "last", "method": "ping"})
    assert process.read() == {"jsonrpc": "2.0", "id": "last", "result": {}}
    process.close_stdin()
    assert process.wait() == 0
    assert process.remaining_stdout() == []
    assert sorted(reply["id"] for reply in replies) == list(range(count))
    assert all(reply["result"]["content"][0]["text"] == f"call {reply['id']}" for reply in replies)
