"""The generic path from a pydantic arguments model to its advertised schema and one-line messages."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict, Field

from kit.serving import ARGUMENTS, validate_arguments


class EveryRule(BaseModel):
    """Arguments with each rule a tool's arguments use (a test model: its docstring is not a schema concern)."""

    model_config = ARGUMENTS | ConfigDict(title="every rule")

    word: Annotated[str, Field(min_length=2, max_length=5, pattern="^[a-z]+$")]
    sides: Annotated[int, Field(ge=2, le=1000)]
    ratio: Annotated[float, Field(gt=0, lt=1)]
    colour: Literal["red", "green"]
    loud: bool = False
    tags: Annotated[list[str], Field(max_length=2)] = []


class NoArguments(BaseModel):
    model_config = ARGUMENTS


VALID = {"word": "dice", "sides": 6, "ratio": 0.5, "colour": "red"}

PROBLEMS: list[tuple[dict[str, Any], str]] = [
    ({}, 'missing required argument "word"'),
    (
        {**VALID, "extra": 1},
        'unexpected argument "extra"; the accepted arguments are: "word", "sides", "ratio", "colour", "loud", "tags"',
    ),
    ({**VALID, "word": 5}, '"word" must be of type string, got number'),
    ({**VALID, "word": "a"}, '"word" must be at least 2 characters long'),
    ({**VALID, "word": "abcdef"}, '"word" must be at most 5 characters long'),
    ({**VALID, "word": "ABC"}, '"word" must match the regular expression ^[a-z]+$'),
    ({**VALID, "sides": "6"}, '"sides" must be of type integer, got string'),
    ({**VALID, "sides": True}, '"sides" must be of type integer, got boolean'),
    ({**VALID, "sides": 1}, '"sides" must be at least 2'),
    ({**VALID, "sides": 1001}, '"sides" must be at most 1000'),
    ({**VALID, "ratio": 0}, '"ratio" must be greater than 0.0'),
    ({**VALID, "ratio": 1}, '"ratio" must be less than 1.0'),
    ({**VALID, "ratio": None}, '"ratio" must be of type number, got null'),
    ({**VALID, "colour": "blue"}, "\"colour\" must be one of 'red' or 'green'"),
    ({**VALID, "loud": 1}, '"loud" must be of type boolean, got number'),
    ({**VALID, "tags": "a"}, '"tags" must be of type array, got string'),
    ({**VALID, "tags": ["a", "b", "c"]}, '"tags" must have at most 2 items'),
    ({**VALID, "tags": [1]}, '"tags.0" must be of type string, got number'),
]


@pytest.mark.parametrize(("arguments", "problem"), PROBLEMS)
def test_each_rule_is_one_line_naming_the_argument_and_the_rule(arguments: dict[str, Any], problem: str) -> None:
    assert validate_arguments(EveryRule, arguments) == problem


def test_valid_arguments_come_back_as_the_model() -> None:
    assert validate_arguments(EveryRule, VALID) == EveryRule(word="dice", sides=6, ratio=0.5, colour="red")


def test_a_tool_without_arguments_takes_none_and_refuses_any() -> None:
    assert validate_arguments(NoArguments, None) == NoArguments()
    assert validate_arguments(NoArguments, {"a": 1}) == 'unexpected argument "a"; the accepted arguments are: none'


ADVERTISED = Draft202012Validator(EveryRule.model_json_schema())
# Integral floats (2.0) included: JSON Schema calls them integers, and so does the validation.
NUMBERS = st.integers(min_value=-5, max_value=1005) | st.floats(allow_nan=False) | st.sampled_from([2.0, 6.0, -0.0])
VALUES = st.none() | st.booleans() | NUMBERS | st.text(max_size=7) | st.lists(st.text(max_size=3), max_size=3)
ARGUMENT_SETS = st.fixed_dictionaries(
    {},
    optional={
        "word": VALUES | st.text("abcXYZ ", max_size=7),
        "sides": VALUES,
        "ratio": VALUES | st.floats(min_value=0, max_value=1),
        "colour": VALUES | st.sampled_from(["red", "green", "Red"]),
        "loud": VALUES,
        "tags": VALUES,
        "other": VALUES,
    },
)


@settings(max_examples=500, deadline=None)
@given(arguments=ARGUMENT_SETS)
def test_validation_accepts_exactly_what_the_advertised_schema_accepts(arguments: dict[str, Any]) -> None:
    verdict = validate_arguments(EveryRule, arguments)
    assert isinstance(verdict, EveryRule) == ADVERTISED.is_valid(arguments), verdict
    if isinstance(verdict, str):
        assert "\n" not in verdict
