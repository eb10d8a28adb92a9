# The tools ------------------------------------------------------------------


class RollArguments(BaseModel):
    model_config = ARGUMENTS | ConfigDict(title="roll_dice arguments")

    sides: Annotated[int, Field(description="How many sides the die has: 2 to 1000.", ge=2, le=1000)]


class EchoArguments(BaseModel):
    model_config = ARGUMENTS | ConfigDict(title="echo arguments")

    text: Annotated[str, Field(description="What to say back, at most 1000 characters.", max_length=1000)]


ROLL_TOOL = types.Tool(
    name="roll_dice",
    title="Roll a die",
    description="Roll one die with `sides` sides and say which number came up.",
    input_schema=RollArguments.model_json_schema(),
    output_schema={
        "type": "object",
        "properties": {"rolled": {"type": "integer", "minimum": 1}},
        "required": ["rolled"],
        "additionalProperties": False,
    },
    annotations=types.ToolAnnotations(read_only_hint=True, idempotent_hint=False, open_world_hint=False),
)

ECHO_TOOL = types.Tool(
    name="echo",
    title="Echo",
    description="Say `text` back, unchanged.",
    input_schema=EchoArguments.model_json_schema(),
    annotations=types.ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
)


def roll(arguments: RollArguments, ctx: ServerRequestContext[Any]) -> dict[str, Any]:
    return {"rolled": random.randint(1, arguments.sides)}  # noqa: S311  # Dice, not secrets.


def echo(arguments: EchoArguments, ctx: ServerRequestContext[Any]) -> dict[str, Any]:
    return {"text": arguments.text}


TOOLS = serving.Tools(
    Handler(ROLL_TOOL, RollArguments, roll),
    Handler(ECHO_TOOL, EchoArguments, echo),
    instructions=f"{NAME} rolls dice (roll_dice) and says text back (echo).",
)
