"""Set this server up in Claude Desktop, take it out again, and check that it answers.

    uv run heartbeat_setup.py check       # start it as Claude Desktop will and call a tool once
    uv run heartbeat_setup.py install     # add it to Claude Desktop's config
    uv run heartbeat_setup.py uninstall   # remove it again

Edits to the config lose nothing: a change is refused rather than risk other content,
the previous file is kept as a backup, and the new one replaces it atomically.
Not shipped in the bundle: a host never runs this.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import shlex
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import AsyncGenerator, Callable, Generator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO, cast

import anyio
import mcp_types as types
from mcp import Client, StdioServerParameters, stdio_client
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from heartbeat import NAME, json_type
from stdio_repairs import MessageSink, MessageSource, StreamProxy

if sys.platform != "win32":
    import fcntl

PROJECT_DIR = Path(__file__).resolve().parent
CHECK_TEXT = "check"  # The string argument `check` fills in, where a tool's schema allows it.
HOST_RUN_FLAGS = ["--no-dev", "--frozen"]  # Only what serving needs; the lock as it is (README: "Runs as locked").
EDIT_ATTEMPTS = 3  # Read-modify-write rounds before giving up on a config that keeps changing under us.


class SetupError(Exception):
    """A problem reported in one line, without a traceback."""


# Where Claude Desktop keeps things --------------------------------------------


def claude_folder() -> Path:
    """Where Claude Desktop keeps its config on this OS."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Claude"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming") / "Claude"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "Claude"


def claude_logs() -> Path:
    """Where Claude Desktop writes each server's log (mcp-server-<name>.log)."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Logs" / "Claude"
    return claude_folder() / "logs"


def uv_path() -> str:
    """The absolute path of uv: GUI apps don't see the shell's PATH, so a bare "uv" fails."""
    found = os.environ.get("UV") or shutil.which("uv")  # `uv run` sets UV to its own binary.
    if not found:
        raise SetupError(
            "uv not found. Install it (https://docs.astral.sh/uv/getting-started/installation/, "
            "or: pipx install uv), then run this again."
        )
    return str(Path(found).resolve())


def desktop_entry(uv: str, project_dir: str) -> dict[str, Any]:
    """The `mcpServers` entry that starts this checkout the way hosts need it."""
    return {"command": uv, "args": ["--directory", project_dir, "run", *HOST_RUN_FLAGS, "heartbeat.py"]}


# Reading and writing the config, losing nothing --------------------------------


def read_config(path: Path) -> tuple[bytes | None, dict[str, Any]]:
    """The file's bytes (None when absent) and its content ({} when absent or empty).

    Refuses, in one line, anything it could not write back exactly: a path that is not a
    regular file, text that is not UTF-8 JSON (NaN and Infinity included), and JSON that
    Python cannot round-trip.
    """
    try:
        # Non-blocking, so that a FIFO is refused below instead of waited on.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None, {}
    except OSError as error:
        raise SetupError(f"cannot read {path}: {error.strerror}.") from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise SetupError(f"{path} is not a regular file; this tool edits only a plain JSON file.")
    with os.fdopen(descriptor, "rb") as file:
        data = file.read()
    return data, parse_config(path, data)


def reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


def parse_config(path: Path, data: bytes) -> dict[str, Any]:
    try:
        text = data.decode("utf-8-sig")  # Notepad may add a byte order mark.
        config: Any = json.loads(text, parse_constant=reject_constant) if text.strip() else {}
    except UnicodeDecodeError:
        raise SetupError(f"{path} is not UTF-8 text; fix it or move it aside.") from None
    except json.JSONDecodeError as error:
        raise SetupError(f"{path} is not valid JSON ({error}); fix it or move it aside.") from None
    except ValueError as error:  # NaN or Infinity, or an integer too long for Python to read.
        raise SetupError(f"{path} is not valid JSON that can be kept exactly ({error}).") from None
    except RecursionError:
        raise SetupError(f"{path} is nested too deeply to edit safely.") from None
    if not isinstance(config, dict):
        raise SetupError(f"{path} must hold a JSON object, not {json_type(config)}.")
    if not isinstance(cast(dict[str, Any], config).get("mcpServers", {}), dict):
        raise SetupError(f'{path}: "mcpServers" must be an object.')
    return cast(dict[str, Any], config)


def serialize_config(path: Path, config: dict[str, Any]) -> bytes:
    """The config as strict JSON in UTF-8, or a refusal: never a file Claude Desktop cannot read."""
    try:
        return (json.dumps(config, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        raise SetupError(f"{path} holds text that is not valid Unicode (a lone surrogate escape).") from None
    except ValueError:
        raise SetupError(f"{path} holds a number too large to write back exactly (like 1e400).") from None
    except RecursionError:
        raise SetupError(f"{path} is nested too deeply to edit safely.") from None


@contextmanager
def editing(folder: Path) -> Generator[bool]:
    """Hold the folder's lock while the config is read, changed and written (POSIX only).

    Two runs of this program then edit one config in turn. Yields False, holding nothing,
    while the folder does not exist yet.
    """
    if not folder.is_dir():
        yield False
    elif sys.platform == "win32":
        yield True
    else:
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield True
        finally:
            os.close(descriptor)


def write_atomically(path: Path, data: bytes, mode: int | None) -> None:
    """Replace `path` with `data` at once: a reader sees the old file or the new one, never a part."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class ConfigChanged(Exception):
    """Another program wrote the config while we were editing it."""


def replace_config(path: Path, before: bytes | None, data: bytes) -> Path | None:
    """Write the new config if the file still holds `before`; return the backup of the old one.

    The backup is written atomically too, so it is complete or absent, and it is removed
    again if the new config could not be written.
    """
    if read_config(path)[0] != before:  # Absent then and now is None == None.
        raise ConfigChanged
    if before is None:
        write_atomically(path, data, None)
        return None
    mode = stat.S_IMODE(path.stat().st_mode)
    backup = path.with_name(f"{path.name}.{datetime.now().strftime('%Y%m%d-%H%M%S-%f')}.bak")
    write_atomically(backup, before, mode)
    try:
        write_atomically(path, data, mode)
    except BaseException:
        backup.unlink(missing_ok=True)
        raise
    return backup


Change = Callable[[dict[str, Any]], str | None]
"""Edits the config in place and says what it did, or returns None when nothing needs changing."""


def edit_config(config_path: Path, change: Change, dry_run: bool) -> tuple[Path, str | None, Path | None]:
    """Apply `change` to the config safely: the file, what changed (None: nothing), and the backup."""
    target = Path(os.path.realpath(config_path))  # Write through a symlinked config, not over it.
    try:
        for _ in range(EDIT_ATTEMPTS):
            with editing(target.parent) as folder_exists:
                before, config = read_config(target)
                if (done := change(config)) is None or dry_run:
                    return target, done, None
                if not folder_exists:  # Create it, then edit again under its lock.
                    target.parent.mkdir(parents=True, exist_ok=True)
                    continue
                data = serialize_config(target, config)
                if before is not None and not stat.S_IMODE(os.stat(target).st_mode) & stat.S_IWUSR:
                    raise SetupError(f"{target} is read-only; make it writable first if you want it changed.")
                try:
                    return target, done, replace_config(target, before, data)
                except ConfigChanged:  # A program that ignores the lock (Claude Desktop) saved it.
                    continue
        raise SetupError(f"{target} kept changing while it was being edited; try again.")
    except OSError as error:
        raise SetupError(f"cannot write {target}: {error.strerror}.") from None


def install(config_path: Path, name: str, dry_run: bool) -> None:
    """Add or update this server's entry in Claude Desktop's config."""
    entry = desktop_entry(uv_path(), str(PROJECT_DIR))

    def add(config: dict[str, Any]) -> str | None:
        servers: dict[str, Any] = config.setdefault("mcpServers", {})
        found: Any = servers.get(name)
        current = cast(dict[str, Any], found) if isinstance(found, dict) else {}
        if {key: current.get(key) for key in entry} == entry:
            return None
        servers[name] = {**current, **entry}
        return "Updated" if found is not None else "Added"

    target, done, backup = edit_config(config_path, add, dry_run)
    if done is None:
        print(f'"{name}" in {target} is already up to date; nothing was written.')
    elif dry_run:
        print(f"Would write to {target}:")
        print(json.dumps({name: entry}, indent=2, ensure_ascii=False))
    else:
        print(f'{done} "{name}" in {target}.')
        report_written(backup, name)


def uninstall(config_path: Path, name: str, dry_run: bool) -> None:
    """Remove this server's entry from Claude Desktop's config; everything else stays as it was."""

    def remove(config: dict[str, Any]) -> str | None:
        servers: dict[str, Any] = config.get("mcpServers", {})
        if name not in servers:
            return None
        del servers[name]
        return "Removed"

    target, done, backup = edit_config(config_path, remove, dry_run)
    if done is None:
        print(f'"{name}" is not in {target}; nothing was written.')
    elif dry_run:
        print(f'Would remove "{name}" from {target}.')
    else:
        print(f'Removed "{name}" from {target}.')
        report_written(backup, name)


def report_written(backup: Path | None, name: str) -> None:
    if backup:
        print(f"The previous file is saved as {backup}.")
    print("Fully quit Claude Desktop (not just its window) and start it again to load the change.")
    print(f"Its log for this server: {claude_logs() / f'mcp-server-{name}.log'}")


# check: start it as Claude Desktop would ---------------------------------------


def configured_entry(config_path: Path, name: str) -> tuple[dict[str, Any], str]:
    """The entry Claude Desktop would run for `name` and where it comes from; refuses a malformed one."""
    servers: dict[str, Any] = read_config(config_path)[1].get("mcpServers", {})
    if name not in servers:
        return desktop_entry(uv_path(), str(PROJECT_DIR)), "the entry install would write"
    entry: Any = servers[name]
    where = f'the entry "{name}" in {config_path}'
    if not isinstance(entry, dict):
        raise SetupError(f"{where} must be an object, not {json_type(entry)}.")
    entry = cast(dict[str, Any], entry)
    command, args, env = entry.get("command"), entry.get("args", []), entry.get("env", {})
    if not isinstance(command, str) or not command:
        raise SetupError(f'{where} needs "command": the program to start, as a string.')
    if not isinstance(args, list) or not all(isinstance(arg, str) for arg in cast(list[Any], args)):
        raise SetupError(f'{where}: "args" must be a list of strings.')
    if not isinstance(env, dict) or not all(isinstance(value, str) for value in cast(dict[str, Any], env).values()):
        raise SetupError(f'{where}: "env" must be an object whose values are strings.')
    return entry, str(config_path)


class NotJsonRpc(Exception):
    """The server wrote a line to stdout that is not a JSON-RPC message."""


class WatchedStdout(StreamProxy[MessageSource]):
    """The server's stdout as the client reads it; the first line that is not JSON-RPC ends the check."""

    async def receive(self) -> SessionMessage:
        item = await self.stream.receive()
        if isinstance(item, Exception):
            details = item.errors() if isinstance(item, ValidationError) else []
            line = details[0]["input"] if details and isinstance(details[0]["input"], str) else str(item)
            raise NotJsonRpc(f"the server wrote something that is not JSON-RPC to stdout: {line[:200]!r}")
        return item

    def __aiter__(self) -> WatchedStdout:
        return self

    async def __anext__(self) -> SessionMessage:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None


@asynccontextmanager
async def watched_stdio(
    parameters: StdioServerParameters, errlog: TextIO
) -> AsyncGenerator[tuple[WatchedStdout, MessageSink]]:
    async with stdio_client(parameters, errlog=errlog) as (stdout, stdin):
        yield WatchedStdout(stdout), stdin


async def check(config_path: Path, name: str, seconds: float, server_log: TextIO) -> dict[str, Any]:
    """Start the server as Claude Desktop would, list its tools, make one call, and report what happened.

    The call is to a read-only tool whose arguments `check` can fill in from its schema,
    or a ping where the server has none. The server's stderr goes to `server_log`; its end
    is in the report when the check fails.
    """
    entry, source = configured_entry(config_path, name)
    command: list[str] = [entry["command"], *entry.get("args", [])]
    report: dict[str, Any] = {"ok": False, "command": command, "source": source}
    parameters = StdioServerParameters(command=command[0], args=command[1:], env=entry.get("env"))
    started = time.perf_counter()
    try:
        with anyio.fail_after(seconds):
            async with Client(watched_stdio(parameters, server_log), mode="legacy") as client:
                report["protocol_version"] = client.protocol_version
                info = client.server_info
                report["server"] = f"{info.name} {info.version}" if info else None
                report["startup_ms"] = round((time.perf_counter() - started) * 1000, 1)
                sent = time.perf_counter()
                tools = (await client.list_tools()).tools
                report["tools"] = [tool.name for tool in tools]
                sample = callable_tool(tools)
                if sample is None:
                    report["called"] = NO_CALL
                else:
                    report["called"] = f"{sample[0]} {json.dumps(sample[1], ensure_ascii=False)}"
                    sent = time.perf_counter()
                    report["answer"] = answer(await client.call_tool(*sample), sample[0])
                report["round_trip_ms"] = round((time.perf_counter() - sent) * 1000, 2)
        report["ok"] = True
    except TimeoutError:
        report["error"] = f"no complete answer within {seconds:g} s"
    except Exception as error:  # Any way the server fails to start or speak is the finding.
        cause = root_cause(error)
        known = isinstance(cause, SetupError | NotJsonRpc)
        report["error"] = str(cause) if known else f"the server did not start or answer: {cause}"
    if not report["ok"]:
        server_log.seek(0)
        report["server_stderr"] = server_log.read()[-2000:]
    return report


NO_CALL = "nothing: no tool can be called without a model (none is read-only with arguments check can fill in)"


def answer(result: types.CallToolResult, tool: str) -> str:
    """The call's first text, for the report; an error result fails the check."""
    text = next((part.text for part in result.content if isinstance(part, types.TextContent)), "")
    if result.is_error:
        raise SetupError(f"{tool} answered with an error: {text[:300]}")
    return text[:200]


def callable_tool(tools: list[types.Tool]) -> tuple[str, dict[str, Any]] | None:
    """The first read-only tool whose arguments can be made from its schema alone, with those arguments."""
    for tool in tools:
        hints = tool.annotations
        if hints is None or not hints.read_only_hint:
            continue
        arguments = sample_arguments(tool.input_schema)
        if arguments is not None:
            return tool.name, arguments
    return None


def sample_arguments(schema: dict[str, Any]) -> dict[str, Any] | None:
    """Values for an object schema's required properties that it accepts; None where this cannot tell."""
    properties: dict[str, Any] = schema.get("properties", {})
    arguments: dict[str, Any] = {}
    for name in schema.get("required", []):
        value = sample_value(properties.get(name, {}))
        if value is None:
            return None
        arguments[name] = value
    return arguments


def sample_value(schema: dict[str, Any]) -> object | None:
    """A value the schema accepts, for the simple schemas of tool arguments; None for any other."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    match schema.get("type"):
        case "string":
            text = CHECK_TEXT.ljust(schema.get("minLength", 0), "!")[: schema.get("maxLength")]
            pattern = schema.get("pattern")
            return None if pattern is not None and not re.search(pattern, text) else text
        case "integer" | "number" as kind:
            low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
            value = math.ceil(low) if kind == "integer" else low
            high = schema.get("maximum", math.inf)
            return value if value <= high and value < schema.get("exclusiveMaximum", math.inf) else None
        case "boolean":
            return False
        case _:
            return None


def root_cause(error: BaseException) -> BaseException:
    """What explains a failure: our own finding anywhere in nested exception groups, else their only member."""
    inner: tuple[BaseException, ...] = getattr(error, "exceptions", ())
    for member in inner:
        if isinstance(found := root_cause(member), SetupError | NotJsonRpc):
            return found
    return root_cause(inner[0]) if len(inner) == 1 else error


def run_check(config_path: Path, name: str, seconds: float, as_json: bool) -> int:
    """Print the check's report; the exit code is 0 when the server is healthy."""
    logging.getLogger("mcp").setLevel(logging.CRITICAL)  # The report says what went wrong, once.
    with tempfile.TemporaryDirectory() as folder, open(Path(folder) / "stderr", "w+", encoding="utf-8") as server_log:
        report = anyio.run(check, config_path, name, seconds, server_log)
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_check(report)
    return 0 if report["ok"] else 1


def print_check(report: dict[str, Any]) -> None:
    print(f"{NAME} check: {'OK' if report['ok'] else 'FAILED'}")
    print(f"  command:    {shlex.join(report['command'])}")
    print(f"  from:       {report['source']}")
    for label, key, unit in [
        ("protocol", "protocol_version", ""),
        ("server", "server", ""),
        ("tools", "tools", ""),
        ("called", "called", ""),
        ("answer", "answer", ""),
        ("start-up", "startup_ms", " ms (spawn to handshake)"),
        ("round trip", "round_trip_ms", " ms"),
    ]:
        if report.get(key) is not None:
            value = ", ".join(report[key]) if key == "tools" else report[key]
            print(f"  {label + ':':<11} {value}{unit}")
    if not report["ok"]:
        print(f"  problem:    {report['error']}")
        if report.get("server_stderr"):
            print("  the server's stderr ended with:")
            print("    " + report["server_stderr"].strip().replace("\n", "\n    "))


# The command line --------------------------------------------------------------

MAX_TIMEOUT = 3600.0


def timeout_seconds(text: str) -> float:
    """--timeout's value: a positive, finite number of seconds, at most MAX_TIMEOUT."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0 and at most {MAX_TIMEOUT:g}")
    return seconds


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="heartbeat_setup.py", description=f"Set {NAME} up in Claude Desktop, check it, or take it out."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{check,install,uninstall}")
    default_config = claude_folder() / "claude_desktop_config.json"
    for command, summary in [
        ("check", "start the server as Claude Desktop would and call a tool once"),
        ("install", f"add or update {NAME} in Claude Desktop's config"),
        ("uninstall", f"remove {NAME} from Claude Desktop's config"),
    ]:
        sub = commands.add_parser(command, help=summary, description=summary)
        sub.add_argument("--config", type=Path, default=default_config, help=f"config file (default: {default_config})")
        sub.add_argument("--name", default=NAME, help=f"the entry's name under mcpServers (default: {NAME})")
        if command == "check":
            sub.add_argument("--json", action="store_true", help="print the report as JSON")
            sub.add_argument("--timeout", type=timeout_seconds, default=60.0, help="seconds to wait (default: 60)")
        else:
            sub.add_argument("--dry-run", action="store_true", help="say what would change; write nothing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        if args.command == "check":
            sys.exit(run_check(args.config, args.name, args.timeout, args.json))
        action = install if args.command == "install" else uninstall
        action(args.config, args.name, args.dry_run)
    except SetupError as error:
        unchanged = "" if args.command == "check" else " Nothing was written."
        sys.exit(f"heartbeat_setup {args.command}: {error}{unchanged}")
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
