"""Claude Desktop's config, read and written losing nothing: strict JSON, its formatting kept, each edit
atomic and kept in a backup, and the servers an app's own save lost found again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

from kit.project import SetupError

T = TypeVar("T")

if sys.platform == "win32":
    import ctypes
else:
    import fcntl

KEEP_BACKUPS = 4  # Backups of the config kept beside it (an edit writes two); older ones are deleted.


MAX_CONFIG_BYTES = 4 * 1024 * 1024  # A real config holds a few kB; a larger file is corrupt or hostile.


EDIT_ATTEMPTS = 3  # Read-modify-write rounds before giving up on a config that keeps changing under us.


def read_config(path: Path) -> tuple[bytes | None, dict[str, Any]]:
    """The file's bytes (None when absent) and its content ({} when absent or empty).

    Refuses, in one line, anything it could not write back whole: a path that is not a
    regular file, text that is not UTF-8 JSON (NaN and Infinity included), and a key that
    appears twice in one object (a reader keeps only one of them; this tool will not guess).
    """
    data = read_bounded(path)
    return data, {} if data is None else parse_config(path, data)


def read_bounded(path: Path) -> bytes | None:
    """A regular file's bytes (None when absent), refused before they are read when there are more than
    any config holds: a file of gigabytes is corrupt or hostile."""
    try:
        # Non-blocking, so that a FIFO is refused below instead of waited on.
        descriptor = while_windows_shares(lambda: os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)))
    except FileNotFoundError:
        return None
    except OSError as error:
        raise SetupError(f"cannot read {path}: {error.strerror}.") from None
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        raise SetupError(f"{path} is not a regular file; this tool edits only a plain JSON file.")
    with os.fdopen(descriptor, "rb") as file:
        data = file.read(MAX_CONFIG_BYTES + 1)  # It may have grown since fstat.
    if (size := max(status.st_size, len(data))) > MAX_CONFIG_BYTES:
        raise SetupError(
            f"{path} holds {size:,} bytes, far more than any config (this tool reads {MAX_CONFIG_BYTES:,} at most); "
            "move it aside."
        )
    return data


@dataclass(frozen=True)
class JsonNumber:
    """A number as the file spells it (2.50, 1e5, 1e400), so that writing the file back keeps it."""

    text: str


class DuplicateKey(ValueError):
    """One object names the same key twice."""


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise DuplicateKey(key)
        seen.add(key)
    return dict(pairs)


def reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


def parse_config(path: Path, data: bytes) -> dict[str, Any]:
    try:
        text = data.decode("utf-8-sig")  # Notepad may add a byte order mark.
        config: Any = (
            json.loads(
                text,
                object_pairs_hook=unique_keys,
                parse_float=JsonNumber,
                parse_int=JsonNumber,
                parse_constant=reject_constant,
            )
            if text.strip()
            else {}
        )
    except UnicodeDecodeError:
        raise SetupError(f"{path} is not UTF-8 text; fix it or move it aside.") from None
    except json.JSONDecodeError as error:
        raise SetupError(f"{path} is not valid JSON ({error}); fix it or move it aside.") from None
    except DuplicateKey as error:
        raise SetupError(
            f"{path} has the key {json.dumps(error.args[0], ensure_ascii=False)} twice in one object. "
            "A program reading it keeps only one of the two; delete the one you do not want."
        ) from None
    except ValueError as error:  # NaN or Infinity.
        raise SetupError(f"{path} is not valid JSON that can be kept exactly ({error}).") from None
    except RecursionError:
        raise SetupError(f"{path} is nested too deeply to edit safely.") from None
    if not isinstance(config, dict):
        raise SetupError(f"{path} must hold a JSON object, not {json_kind(config)}.")
    if not isinstance(cast(dict[str, Any], config).get("mcpServers", {}), dict):
        raise SetupError(f'{path}: "mcpServers" must be an object.')
    return cast(dict[str, Any], config)


JSON_KINDS: dict[type, str] = {
    JsonNumber: "number",
    type(None): "null",
    bool: "boolean",
    str: "string",
    list: "array",
    dict: "object",
}  # Of what json.loads gives here.


def json_kind(value: object) -> str:
    return JSON_KINDS[type(value)]


def to_json(value: object, indent: str = "") -> str:
    """Strict JSON, indented by two spaces; each number keeps the spelling it was read with."""
    inner = indent + "  "
    if isinstance(value, JsonNumber):
        return value.text
    if isinstance(value, dict) and value:
        items = cast(dict[str, Any], value).items()
        members = [f"{inner}{json.dumps(key, ensure_ascii=False)}: {to_json(item, inner)}" for key, item in items]
        return "{\n" + ",\n".join(members) + f"\n{indent}}}"
    if isinstance(value, list) and value:
        elements = [inner + to_json(item, inner) for item in cast(list[Any], value)]
        return "[\n" + ",\n".join(elements) + f"\n{indent}]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)  # Strings, true, false, null, {}, [].


def serialize_config(path: Path, config: dict[str, Any]) -> bytes:
    """The config as strict JSON in UTF-8, or a refusal: never a file Claude Desktop cannot read."""
    try:
        return (to_json(config) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        raise SetupError(f"{path} holds text that is not valid Unicode (a lone surrogate escape).") from None
    except RecursionError:
        raise SetupError(f"{path} is nested too deeply to edit safely.") from None


@contextmanager
def editing(config: Path) -> Generator[bool]:
    """Hold a lock while the config is read, changed and written, so that two runs of this program edit
    it in turn: its folder's (flock), or on Windows, which locks no folder, a mutex named after it.
    Yields False, holding nothing, while the folder does not exist yet."""
    if not config.parent.is_dir():
        yield False
    elif sys.platform == "win32":
        with named_mutex("Local\\host_setup-" + hashlib.sha256(os.path.normcase(config).encode()).hexdigest()):
            yield True
    else:
        descriptor = os.open(config.parent, os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield True
        finally:
            os.close(descriptor)


if sys.platform == "win32":

    @contextmanager
    def named_mutex(name: str) -> Generator[None]:
        """Hold the Windows mutex of this name (the system lets go of it if the process ends)."""
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.CreateMutexW.restype = ctypes.c_void_p
        kernel32.WaitForSingleObject.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        kernel32.ReleaseMutex.argtypes = kernel32.CloseHandle.argtypes = [ctypes.c_void_p]
        handle = kernel32.CreateMutexW(None, False, name)
        if not handle:
            raise ctypes.WinError(ctypes.get_last_error())
        try:
            kernel32.WaitForSingleObject(handle, 0xFFFFFFFF)  # INFINITE; an abandoned mutex is taken over.
            try:
                yield
            finally:
                kernel32.ReleaseMutex(handle)
        finally:
            kernel32.CloseHandle(handle)


SHARING_SECONDS = 2.0


def while_windows_shares(action: Callable[[], T]) -> T:
    """`action`, tried again for up to SHARING_SECONDS while Windows refuses it because another process has
    the file open: a run of this tool reading it, or a virus scanner (Windows opens files without sharing
    their deletion, and replacing one deletes it)."""
    deadline = time.monotonic() + SHARING_SECONDS
    while True:
        try:
            return action()
        except PermissionError:
            if sys.platform != "win32" or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SetupError(f"cannot make the folder {folder}: {error.strerror}.") from None


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
        while_windows_shares(lambda: os.replace(temporary, path))
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class ConfigChanged(Exception):
    """Another program wrote the config while we were editing it."""


def replace_config(path: Path, before: bytes | None, data: bytes) -> Path | None:
    """Write the new config if the file still holds `before`; return the backup that holds the old one.

    Backups are numbered, never dated (a clock set back cannot make the newest look old), and
    written atomically, so each is complete or absent. Each edit keeps the file before it (unless
    the newest backup already holds it) and the file as written: `check` tells a later wipe from
    that one, and `restore` undoes it. Only the newest KEEP_BACKUPS are kept.
    """
    if read_config(path)[0] != before:  # Absent then and now is None == None.
        raise ConfigChanged
    mode = stat.S_IMODE(path.stat().st_mode) if before is not None else None
    numbered = backups(path)
    number = max(numbered, default=0)
    kept = numbered.get(number) if before is not None and read_backup(numbered.get(number)) == before else None
    written: list[Path] = []
    try:
        if before is not None and kept is None:
            number += 1
            kept = backup_path(path, number)
            write_atomically(kept, before, mode)
            written.append(kept)
        written.append(backup_path(path, number + 1))
        write_atomically(written[-1], data, mode)
        write_atomically(path, data, mode)
    except BaseException:
        for backup in written:
            backup.unlink(missing_ok=True)
        raise
    for old in sorted(backups(path))[:-KEEP_BACKUPS]:
        while_windows_shares(partial(backup_path(path, old).unlink, missing_ok=True))
    return kept


def backup_path(path: Path, number: int) -> Path:
    return path.with_name(f"{path.name}.{number}.bak")


def backups(path: Path) -> dict[int, Path]:
    """The config's backups by number, found by their exact names: other files that end in .bak are not ours."""
    name = re.compile(re.escape(path.name) + r"\.([1-9][0-9]{0,17})\.bak")
    if not path.parent.is_dir():
        return {}
    return {int(found[1]): other for other in path.parent.iterdir() if (found := name.fullmatch(other.name))}


def read_backup(backup: Path | None) -> bytes | None:
    try:
        return read_bounded(backup) if backup else None
    except SetupError:  # Not ours to judge: it is left out.
        return None


def loadable_backups(path: Path) -> Generator[tuple[Path, dict[str, Any]]]:
    """The config's backups that Claude Desktop would load, newest first, with their content."""
    for _, backup in sorted(backups(path).items(), reverse=True):
        if (data := read_backup(backup)) is None:
            continue
        try:
            content = parse_config(backup, data)
        except SetupError:
            continue
        if not rejected_entries(content, backup):
            yield backup, content


def lost_servers(path: Path, config: dict[str, Any], name: str) -> tuple[Path, list[str]] | None:
    """When the config looks wiped since this tool last wrote it, the newest backup and the servers it lost.

    Wiped: `name`, or every server, gone since that backup; one server taken out by hand is not a wipe.
    """
    newest = next(loadable_backups(path), None)
    if newest is None:
        return None
    held: dict[str, Any] = newest[1].get("mcpServers", {})
    lost = [server for server in held if server not in config.get("mcpServers", {})]
    return (newest[0], lost) if name in lost or (lost and len(lost) == len(held)) else None


Change = Callable[[dict[str, Any]], str | None]
"""Edits the config in place and says what it did, or returns None when nothing needs changing."""


STALE_KEYS = {"type": "stdio", "url": None, "disabled": False}
"""Keys that stop a host from starting an entry as a local command, with the one harmless value of each."""


def is_stale(key: str, value: object) -> bool:
    return key in STALE_KEYS and value != STALE_KEYS[key]


def stale_keys(entry: dict[str, Any]) -> list[str]:
    """The entry's keys, as written, that would keep it from running: leftovers of a remote server, or a switch."""
    return [
        f"{json.dumps(key)}: {to_json(value)}" if not isinstance(value, dict | list) else json.dumps(key)
        for key, value in entry.items()
        if is_stale(key, value)
    ]


def is_strings(value: object, container: type[list[Any]] | type[dict[str, Any]]) -> bool:
    """Whether `value` is a list, or an object, whose items are all strings."""
    if not isinstance(value, container):
        return False
    items = cast(dict[str, Any], value).values() if isinstance(value, dict) else cast(list[Any], value)
    return all(isinstance(item, str) for item in items)


def stdio_rejection(entry: Any) -> str | None:
    """Why Claude Desktop would not take `entry` as a local command, worded to follow the entry's name; else None."""
    if not isinstance(entry, dict):
        return f" must be an object, not {json_kind(entry)}"
    entry = cast(dict[str, Any], entry)
    command = entry.get("command")
    if not isinstance(command, str) or not command:
        return ' needs "command": the program to start, as a string'
    if not is_strings(entry.get("args", []), list):
        return ': "args" must be a list of strings'
    if not is_strings(entry.get("env", {}), dict):
        return ': "env" must be an object whose values are strings'
    return None


def rejection(entry: Any) -> str | None:
    """Why Claude Desktop's loader would reject this `mcpServers` entry, and with it the whole file; else None."""
    remote = cast(dict[str, Any], entry) if isinstance(entry, dict) else {}
    if "command" in remote or "url" not in remote:
        return stdio_rejection(entry)
    if not isinstance(remote["url"], str) or not remote["url"]:
        return ': "url" must be the server\'s address, as a string'
    if not is_strings(remote.get("headers", {}), dict):
        return ': "headers" must be an object whose values are strings'
    return None


WIPES_ALL = "Claude Desktop would reject it, load the whole file as empty and save that over it, losing every server"


def rejected_entries(config: dict[str, Any], path: Path, ours: str | None = None) -> str | None:
    """The entries but `ours` that Claude Desktop would reject, each with its reason; None when it takes them all."""
    servers: dict[str, Any] = config.get("mcpServers", {})
    found = [
        f"the entry {json.dumps(name, ensure_ascii=False)} in {path}{problem}"
        for name, entry in servers.items()
        if name != ours and (problem := rejection(entry))
    ]
    return "; ".join(found) or None
