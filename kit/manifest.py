"""manifest: write the bundle manifest's name, version and tools as the server has them, learned by starting
it and asking, so that a bundle lists what it serves and nobody keeps the list by hand."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, cast

import anyio
from mcp import Client, StdioServerParameters, stdio_client

from kit.checker import StderrTail, root_cause
from kit.identity import identity
from kit.project import PROJECT_DIR, SERVER_MODULE, SetupError, shown

MANIFEST_FILE = PROJECT_DIR / "manifest.json"
LIST_SECONDS = 60.0  # A first start may make the environment.


async def served_tools() -> list[dict[str, str]]:
    """The server's tools as the bundle manifest lists them: each one's name and description."""
    server_file = PROJECT_DIR / f"{SERVER_MODULE}.py"
    parameters = StdioServerParameters(command=sys.executable, args=[str(server_file)], cwd=PROJECT_DIR)
    server_log = StderrTail()
    try:
        with anyio.fail_after(LIST_SECONDS):
            async with Client(stdio_client(parameters, errlog=server_log.file), mode="legacy") as client:
                tools = (await client.list_tools()).tools
    except Exception as error:  # However it fails to start or answer, the user reads why in one line.
        said = [line for line in server_log.close().splitlines() if line.strip()]
        cause = root_cause(error)
        if isinstance(cause, TimeoutError):
            reason = f"no answer within {LIST_SECONDS:g} s"
        else:
            reason = said[-1] if said else f"{cause}" or type(error).__name__
        raise SetupError(f"{server_file.name} did not list its tools: {shown(reason).rstrip('.')}.") from None
    server_log.close()
    return [{"name": tool.name, **({"description": tool.description} if tool.description else {})} for tool in tools]


def read_manifest() -> dict[str, Any]:
    try:
        found: object = json.loads(MANIFEST_FILE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SetupError(f"there is no {MANIFEST_FILE.name} beside the server to write: {MANIFEST_FILE}.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SetupError(f"{MANIFEST_FILE} cannot be read as JSON ({error}).") from None
    if not isinstance(found, dict):
        raise SetupError(f"{MANIFEST_FILE} must hold a JSON object.")
    return cast(dict[str, Any], found)


def learn_manifest(dry_run: bool) -> None:
    """Write what the manifest must say of the server (its name, version and tools), keeping all else."""
    manifest = read_manifest()
    name, version = identity(str(PROJECT_DIR / f"{SERVER_MODULE}.py"))
    tools = anyio.run(served_tools)
    learned = {**manifest, "name": name, "version": version, "tools": tools}
    changed = [key for key in ("name", "version", "tools") if manifest.get(key) != learned[key]]
    listed = ", ".join(tool["name"] for tool in tools) or "none"
    if not changed:
        print(f"{MANIFEST_FILE} already says what the server serves ({listed}); nothing was written.")
        return
    if not dry_run:
        write_atomically(MANIFEST_FILE, json.dumps(learned, indent=2, ensure_ascii=False) + "\n")
    done = "Would write" if dry_run else "Wrote"
    print(f"{done} {MANIFEST_FILE}: its {' and '.join(changed)} as the server has them (tools: {listed}).")


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise SetupError(f"{path} cannot be written: {error.strerror}.") from None
