"""Set this server up in Claude Desktop and other hosts, take it out again, and check that it answers.

    uv run host_setup.py check       # start it as Claude Desktop will and call a tool once
    uv run host_setup.py install     # add it to Claude Desktop's config (quit the app first)
    uv run host_setup.py uninstall   # remove it again
    uv run host_setup.py restore     # put back what the app's own save of the config lost
    uv run host_setup.py hosts       # the exact setup for each host, with this folder's paths

Edits to the config lose nothing: a change is refused rather than risk other content (or
while the app runs, which would save its own copy over it), the file before and after is
kept as a backup, and the new one replaces it atomically.
Not shipped in the bundle: a host never runs this.
"""

from __future__ import annotations

import argparse
import difflib
import errno
import hashlib
import io
import json
import logging
import math
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from contextlib import asynccontextmanager, contextmanager, redirect_stdout, suppress
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self, TextIO, cast
from urllib.parse import unquote, urlparse

import anyio
import mcp_types as types
from anyio.abc import ObjectReceiveStream
from mcp import Client, StdioServerParameters, stdio_client
from mcp.shared.message import SessionMessage
from pydantic import ValidationError
from pydantic_core import SchemaError, SchemaValidator, core_schema

import serving
from kit import new
from serving import json_type

if sys.platform == "win32":
    import ctypes
else:
    import fcntl


def server_module() -> str:
    """The server's module: the one script in [project.scripts] besides this tool's own."""
    for module in serving.scripts(__file__).values():
        if module != Path(__file__).stem:
            return module
    raise SystemExit(f'{Path(__file__).name}: name the server in [project.scripts] too (`<name> = "<module>:main"`)')


PROJECT_DIR = Path(__file__).resolve().parent
NAME = serving.identity(__file__)[0]
SERVER_MODULE = server_module()
CHECK_TEXT = "check"  # The string argument `check` fills in, where a tool's schema allows it.
HOST_RUN_FLAGS = ["--no-dev", "--frozen"]  # Only what serving needs; the lock as it is (README: "Runs as locked").
KEEP_BACKUPS = 4  # Backups of the config kept beside it (an edit writes two); older ones are deleted.
MAX_CONFIG_BYTES = 4 * 1024 * 1024  # A real config holds a few kB; a larger file is corrupt or hostile.
EDIT_ATTEMPTS = 3  # Read-modify-write rounds before giving up on a config that keeps changing under us.


class SetupError(Exception):
    """A problem reported in one line, without a traceback."""


# Where Claude Desktop keeps things --------------------------------------------

CONFIG_NAME = "claude_desktop_config.json"


@dataclass(frozen=True)
class DesktopInstall:
    """A Claude Desktop install: what it is, the config file it reads, and where it logs."""

    kind: str  # "Claude Desktop, Windows, packaged app"
    config: Path
    logs: Path | None
    ignored: Path | None = None  # A config file that exists but that this install does not read.
    named: bool = False  # The config is the one --config named.
    found: bool = True  # The app is installed here, or has run here (its data folder exists).

    def log_file(self, name: str) -> str:
        if self.logs is None:
            return f"mcp-server-{name}.log, in the log folder of the app that reads the config"
        return str(self.logs / f"mcp-server-{name}.log")


def find_claude_desktop(platform: str, environ: Mapping[str, str], home: Path) -> DesktopInstall:
    """The Claude Desktop install on this machine; `platform` is a `sys.platform` value."""
    if platform == "darwin":
        support = home / "Library" / "Application Support" / "Claude"
        bundles = (Path("/Applications/Claude.app"), home / "Applications" / "Claude.app")
        found = support.is_dir() or any(bundle.is_dir() for bundle in bundles)
        logs = home / "Library" / "Logs" / "Claude"
        return DesktopInstall("Claude Desktop, macOS", support / CONFIG_NAME, logs, found=found)
    if platform == "win32":
        return find_claude_on_windows(environ, home)
    folder = Path(environ.get("XDG_CONFIG_HOME") or home / ".config") / "Claude"
    found = folder.is_dir() or shutil.which("claude-desktop", path=environ.get("PATH", "")) is not None
    return DesktopInstall("Claude Desktop, Linux", folder / CONFIG_NAME, folder / "logs", found=found)


def find_claude_on_windows(environ: Mapping[str, str], home: Path) -> DesktopInstall:
    """The packaged app (MSIX, since 2026-02) where one has been started, else the classic install.

    The packaged app reads its config under its package's LocalCache, not %APPDATA%\\Claude.
    """
    local = Path(environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    classic = Path(environ.get("APPDATA") or home / "AppData" / "Roaming") / "Claude" / CONFIG_NAME
    packages_folder = local / "Packages"
    packages = (
        sorted(found for found in packages_folder.glob("Claude_*") if (found / "LocalCache" / "Roaming").is_dir())
        if packages_folder.is_dir()
        else []
    )
    if not packages:
        found = classic.parent.is_dir() or (local / "AnthropicClaude").is_dir()  # The classic installer's folder.
        return DesktopInstall("Claude Desktop, Windows, classic install", classic, classic.parent / "logs", found=found)
    configs = {package: package / "LocalCache" / "Roaming" / "Claude" / CONFIG_NAME for package in packages}
    configured = [package for package, config in configs.items() if config.is_file()]
    if len(packages) > 1 and len(configured) != 1:
        listed = "; ".join(str(configs[package]) for package in packages)
        raise SetupError(
            f"found {len(packages)} packaged Claude Desktop apps and cannot tell which one you use: {listed}. "
            "Name its config with --config."
        )
    package = configured[0] if configured else packages[0]
    old_logs = configs[package].parent / "logs"
    logs = old_logs if old_logs.is_dir() and not (local / "Claude" / "Logs").is_dir() else local / "Claude" / "Logs"
    ignored = classic if classic.is_file() else None
    return DesktopInstall(f"Claude Desktop, Windows, packaged app ({package.name})", configs[package], logs, ignored)


def claude_desktop(config: Path | None, platform: str = sys.platform) -> DesktopInstall:
    """The install to work on: the one found here, or the file named with --config, which always wins."""
    if config is None:
        return find_claude_desktop(platform, os.environ, Path.home())
    try:
        found = find_claude_desktop(platform, os.environ, Path.home())
    except SetupError:  # Several packaged apps: which one reads this config is not known.
        return DesktopInstall("Claude Desktop, Windows, packaged app", config, None, named=True)
    if same_path(found.config, config):
        return found
    return DesktopInstall(found.kind, config, found.logs, named=True)


def same_path(one: Path, other: Path) -> bool:
    return os.path.normcase(os.path.abspath(one)) == os.path.normcase(os.path.abspath(other))


def running_app(folder: Path, platform: str = sys.platform) -> str | None:
    """What shows that the Claude Desktop keeping its data in `folder` runs now, or None.

    Electron's single-instance lock: on macOS and Linux the symlink `SingletonLock` names the host
    and process; on Windows the app holds `lockfile` open, unshared, and the system deletes it as the app ends.
    """
    if platform == "win32":
        return held_open(folder / "lockfile")
    lock = folder / "SingletonLock"
    try:
        host, _, pid = os.readlink(lock).rpartition("-")
    except OSError:  # No lock, or not Electron's.
        return None
    if not re.fullmatch(r"[1-9][0-9]{0,8}", pid):
        return None
    if host != socket.gethostname():
        return f"its lock {lock} names another computer, {host}; delete the lock if the app runs nowhere"
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:  # A stale lock: the app crashed or was killed.
        return None
    except PermissionError:  # Another user's process: it runs.
        pass
    return f"process {pid}, as its lock {lock} says"


def held_open(lock: Path) -> str | None:
    try:
        descriptor = os.open(lock, os.O_WRONLY | os.O_APPEND)
    except PermissionError:  # A sharing violation: the app holds it.
        return f"it holds {lock} open"
    except OSError:
        return None
    os.close(descriptor)  # Left behind, not held: a stale lock.
    return None


def how_to_quit(platform: str = sys.platform) -> str:
    if platform == "darwin":
        return "Claude, Quit Claude, or Cmd-Q"
    closing = "closing its window leaves it running"
    if platform == "win32":
        return f"right-click its icon in the notification area by the clock, Quit; {closing}"
    return f"its tray icon, Quit; {closing}"


def refuse_while_running(config: Path) -> None:
    """Claude Desktop saves the config it read at start over the file: a change made while it runs is lost."""
    if holder := running_app(config.parent):
        raise SetupError(
            f"Claude Desktop is running ({holder}); it would overwrite this change with the copy it read at start. "
            f"Quit it fully ({how_to_quit()}), then run this again."
        )


def uv_path() -> str:
    """The absolute path of uv as PATH finds it: GUI apps don't see the shell's PATH, so a bare "uv" fails.

    Not a symlink's target: Homebrew's `bin/uv` points into a versioned folder that the next
    `brew upgrade` deletes. `uv run` sets UV to that target, so it is only the fallback.
    """
    found = shutil.which("uv") or os.environ.get("UV")
    if not found:
        raise SetupError(
            "uv not found. Install it (https://docs.astral.sh/uv/getting-started/installation/, "
            "or: pipx install uv), then run this again."
        )
    return os.path.abspath(found)


def desktop_entry(uv: str, project_dir: str) -> dict[str, Any]:
    """The `mcpServers` entry that starts this checkout the way hosts need it."""
    return {"command": uv, "args": ["--directory", project_dir, "run", *HOST_RUN_FLAGS, f"{SERVER_MODULE}.py"]}


SYSTEM_CERTS = {"UV_SYSTEM_CERTS": "1"}  # uv trusts the system's certificates: a company proxy's included.


def launch_entry(uvx: str | None, system_certs: bool = False) -> dict[str, Any]:
    """The entry that starts the server: this checkout, or (`uvx`: where from) the package uvx fetches."""
    if uvx is None:
        entry = desktop_entry(uv_path(), str(PROJECT_DIR))
    else:
        script = next(name for name, module in serving.scripts(__file__).items() if module == SERVER_MODULE)
        entry = {"command": uvx_path(), "args": ["--from", uvx, script]}
    return {**entry, "env": SYSTEM_CERTS} if system_certs else entry


def uvx_path() -> str:
    """The absolute path of uvx: as PATH finds it, else beside uv."""
    beside = Path(uv_path()).with_name("uvx.exe" if sys.platform == "win32" else "uvx")
    found = shutil.which("uvx") or (str(beside) if beside.is_file() else None)
    if not found:
        raise SetupError(f"uvx not found on PATH or beside {uv_path()}; it comes with uv, so reinstall uv.")
    return os.path.abspath(found)


def uvx_source() -> str:
    """Where uvx fetches the server from by default: this checkout, or the source uvx ran this tool from."""
    if serving.checkout_project(__file__):
        return str(PROJECT_DIR)
    origin = metadata.distribution(NAME).read_text("direct_url.json")  # PEP 610: how it was installed.
    found: dict[str, Any] = json.loads(origin) if origin else {}
    url: str = found.get("url", NAME)
    if "vcs_info" in found:
        revision = found["vcs_info"].get("requested_revision")
        return f"git+{url}" + (f"@{revision}" if revision else "")
    return file_url_path(url) if url.startswith("file://") else url


def file_url_path(url: str) -> str:
    """A file:// URL's path as this OS writes it: file:///C:/my%20server is C:\\my server on Windows."""
    path = unquote(urlparse(url).path)
    return str(Path(path[1:] if sys.platform == "win32" and re.match(r"/[A-Za-z]:", path) else path))


# Ready before the app asks ---------------------------------------------------------

DESKTOP_START_SECONDS = 60  # How long Claude Desktop waits for a server's handshake, a first start included.
PREPARE_SECONDS = 900.0  # A first start that downloads Python and every dependency on a slow line.
CERTIFICATE_ERRORS = re.compile(r"invalid peer certificate|UnknownIssuer|certificate verify failed", re.IGNORECASE)
SYSTEM_CERTS_FIX = (
    "uv could not verify a server's TLS certificate, as happens behind a company proxy that inspects traffic. "
    "Run install with --system-certs: it sets UV_SYSTEM_CERTS=1 in the entry's env, so that uv trusts the "
    "certificates your system trusts"
)


def prepare_environment(entry: dict[str, Any]) -> float:
    """Start the entry's command once, with --version, so that its environment is made now and not in the
    seconds Claude Desktop gives a server to start; how long that took."""
    environment = {**os.environ, **entry.get("env", {})}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)  # Hosts don't set it: compiled modules make a start warm.
    started = time.perf_counter()
    try:
        done = subprocess.run(  # noqa: S603 (the entry this tool writes, as the app will run it)
            [entry["command"], *entry["args"], "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            env=environment,
            timeout=PREPARE_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SetupError(f"its first start had not ended after {PREPARE_SECONDS:g} s.") from None
    except OSError as error:
        raise SetupError(f"cannot run {entry['command']}: {error.strerror}.") from None
    if done.returncode != 0:
        raise SetupError(f"its first start failed: {start_failure(done.stderr)}.")
    return time.perf_counter() - started


def start_failure(stderr: str) -> str:
    """What a failed start's stderr says, in one line: the fix for uv's certificate errors, else its last line."""
    if CERTIFICATE_ERRORS.search(stderr):
        return SYSTEM_CERTS_FIX
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else "it exited without a word on stderr"


def report_prepared(seconds: float) -> None:
    print(f"Its environment is ready: the first start took {seconds:.1f} s, so the app's first start installs nothing.")
    if seconds > DESKTOP_START_SECONDS:
        print(f"That is more than the {DESKTOP_START_SECONDS} s Claude Desktop waits, which only a first start needs.")


# Reading and writing the config, losing nothing --------------------------------


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
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
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


def json_kind(value: object) -> str:
    return "number" if isinstance(value, JsonNumber) else json_type(value)


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
        os.replace(temporary, path)
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
        backup_path(path, old).unlink(missing_ok=True)
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


@dataclass(frozen=True)
class Edit:
    """What an edit of the config did, or would do on a dry run."""

    target: Path
    done: str | None  # None: nothing needed changing.
    before: bytes | None = None  # None: there was no file.
    after: bytes = b""
    backup: Path | None = None


def edit_config(config_path: Path, change: Change, dry_run: bool) -> Edit:
    """Apply `change` to the config safely, or only work out what it would write; never while the app runs."""
    target = Path(os.path.realpath(config_path))  # Write through a symlinked config, not over it.
    if not dry_run:
        refuse_while_running(config_path)
    try:
        for _ in range(EDIT_ATTEMPTS):
            with editing(target) as folder_exists:
                before, config = read_config(target)
                if (done := change(config)) is None:
                    return Edit(target, None)
                data = serialize_config(target, config)
                if before and b"\r\n" in before:  # Windows line ends stay; JSON text holds no raw newline.
                    data = data.replace(b"\n", b"\r\n")
                if dry_run:
                    return Edit(target, done, before, data)
                if not folder_exists:  # Create it, then edit again under its lock.
                    make_folder(target.parent)
                    continue
                if before is not None and not stat.S_IMODE(os.stat(target).st_mode) & stat.S_IWUSR:
                    raise SetupError(f"{target} is read-only; make it writable first if you want it changed.")
                try:
                    return Edit(target, done, before, data, replace_config(target, before, data))
                except ConfigChanged:  # A program that ignores the lock (Claude Desktop) saved it.
                    continue
        raise SetupError(f"{target} kept changing while it was being edited; try again.")
    except OSError as error:
        raise SetupError(f"cannot write {target}: {error.strerror}.") from None


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


def install(
    app: DesktopInstall, name: str, dry_run: bool, entry: dict[str, Any] | None = None, allow_rejected: bool = False
) -> None:
    """Add or update this server's entry (by default, this checkout's) in the config that Claude Desktop reads,
    with the environment it starts in made ahead of the app."""
    if not app.found and not app.named:
        raise SetupError(
            f"found no Claude Desktop here ({app.kind}: no app, and no {app.config.parent}); install and start it "
            f"once, then run this again, or create {app.config} anyway with --config {command_line([str(app.config)])}."
        )
    if not dry_run:
        refuse_while_running(app.config)  # Before the first start, which takes a while; the edit checks again.
    entry = entry or launch_entry(None)
    removed: list[str] = []

    def add(config: dict[str, Any]) -> str | None:
        if (rejected := rejected_entries(config, app.config, name)) and not allow_rejected:
            raise SetupError(f"{rejected}. {WIPES_ALL}. Fix that first, or pass --allow-rejected to write anyway.")
        servers: dict[str, Any] = config.setdefault("mcpServers", {})
        found: Any = servers.get(name)
        current = cast(dict[str, Any], found) if isinstance(found, dict) else {}
        removed[:] = stale_keys(current)
        kept = {key: value for key, value in current.items() if not is_stale(key, value)}
        wanted = {**kept, **entry}
        if "env" in entry and isinstance(kept.get("env"), dict):
            wanted["env"] = {**kept["env"], **entry["env"]}
        if wanted == current:
            return None
        servers[name] = wanted
        return "Updated" if found is not None else "Added"

    edit = edit_config(app.config, add, dry_run=True)
    if not app.named:
        print(f"Claude Desktop here: {app.kind}; it reads {app.config}")
    if app.ignored:
        print(f"Not read by this app, so left as it is: {app.ignored}")
    took_out = f" It takes out {', '.join(removed)}, which would keep it from starting." if removed else ""
    if dry_run and edit.done is not None:
        report_dry_run(edit, f'{"add" if edit.done == "Added" else "update"} "{name}"')
        print(took_out.strip(), end="\n" if took_out else "")
        return
    seconds = None if dry_run else prepare_environment(entry)
    if seconds is not None and edit.done is not None:
        edit = edit_config(app.config, add, dry_run=False)
    if edit.done is None:
        print(f'"{name}" in {edit.target} is already up to date; nothing was written.')
    else:
        print(f'{edit.done} "{name}" in {edit.target}.{took_out}')
        report_written(edit)
        print(f"Its log: {app.log_file(name)}")
    if seconds is not None:
        report_prepared(seconds)


def uninstall(app: DesktopInstall, name: str, dry_run: bool) -> None:
    """Remove this server's entry from the config Claude Desktop reads; everything else stays as it was."""

    def remove(config: dict[str, Any]) -> str | None:
        servers: dict[str, Any] = config.get("mcpServers", {})
        if name not in servers:
            return None
        del servers[name]
        return "Removed"

    edit = edit_config(app.config, remove, dry_run)
    report_edit(
        edit, dry_run, f'"{name}" is not in {edit.target}', f'remove "{name}"', f'Removed "{name}" from {edit.target}'
    )


def restore(app: DesktopInstall, dry_run: bool) -> None:
    """Put back what the config lost since a backup: the newest that Claude Desktop would load and that
    holds a server or setting the file no longer has. What the file holds now stays as it is."""
    restored: list[str] = []

    def put_back(config: dict[str, Any]) -> str | None:
        servers: dict[str, Any] = config.get("mcpServers", {})
        for backup, content in loadable_backups(app.config):
            held: dict[str, Any] = content.get("mcpServers", {})
            restored[:] = [json.dumps(server, ensure_ascii=False) for server in held if server not in servers]
            settings = {key: value for key, value in content.items() if key not in config and key != "mcpServers"}
            if restored or settings:
                config.update(settings)
                if restored:
                    config.setdefault("mcpServers", {}).update({key: held[key] for key in held if key not in servers})
                restored.extend(json.dumps(key, ensure_ascii=False) for key in settings)
                return str(backup)
        return None

    edit = edit_config(app.config, put_back, dry_run)
    report_edit(
        edit,
        dry_run,
        f"{edit.target} holds everything its backups hold",
        f"restore {', '.join(restored)} from {edit.done}",
        f"Restored {', '.join(restored)} in {edit.target}, from {edit.done}",
    )


def report_edit(edit: Edit, dry_run: bool, unchanged: str, action: str, done: str) -> None:
    """Say what an edit did: `unchanged` when it needed none; on a dry run, what `action` would change; or `done`."""
    if edit.done is None:
        print(f"{unchanged}; nothing was written.")
    elif dry_run:
        report_dry_run(edit, action)
    else:
        print(f"{done}.")
        report_written(edit)


def report_dry_run(edit: Edit, action: str) -> None:
    """Show the file a dry run would write: whole when it would be created, else as a diff."""
    after = edit.after.decode("utf-8")
    if edit.before is None:
        print(f"Would {action} by creating {edit.target} with:")
        print(after, end="")
        return
    print(f"Would {action} in {edit.target}, keeping a backup of it; the changes:")
    lines = difflib.unified_diff(
        edit.before.decode("utf-8-sig").splitlines(),
        after.splitlines(),
        fromfile=f"{edit.target} (now)",
        tofile=f"{edit.target} (after)",
        lineterm="",
    )
    print("\n".join(lines))


def report_written(edit: Edit) -> None:
    if edit.backup:
        print(f"The previous file is saved as {edit.backup} (the newest {KEEP_BACKUPS} backups are kept).")
    print("Start Claude Desktop to load the change: it reads the config only as it starts.")


# check: start it as Claude Desktop would ---------------------------------------


REINSTALL = "Run install to update it."


def configured_entry(app: DesktopInstall, name: str, uvx: str | None = None) -> tuple[dict[str, Any], str]:
    """The entry Claude Desktop would run for `name` and where it comes from; refuses one it would not run,
    a file it would not load, and a file that lost servers since this tool last wrote it."""
    config_path = app.config
    before, config = read_config(config_path)
    if rejected := rejected_entries(config, config_path, name):
        raise SetupError(f"{rejected}. {WIPES_ALL}.")
    if wiped := lost_servers(config_path, config, name):
        backup, lost = wiped
        raise SetupError(
            f"{config_path} has lost {', '.join(json.dumps(server, ensure_ascii=False) for server in lost)} since "
            f"{backup}, which holds them: Claude Desktop saved over it. Quit Claude Desktop fully ({how_to_quit()}), "
            f"then run: {own_command('restore', *(['--config', str(config_path)] if app.named else []))}"
        )
    servers: dict[str, Any] = config.get("mcpServers", {})
    if name not in servers:
        if app.ignored and name in read_config(app.ignored)[1].get("mcpServers", {}):
            raise SetupError(
                f'the entry "{name}" is in {app.ignored}, which this app ({app.kind}) never reads; '
                f"it reads {config_path}. {REINSTALL}"
            )
        absent = "does not exist" if before is None else f'has no "{name}" entry'
        return launch_entry(uvx), f"the entry install would write: {config_path} {absent}"
    entry: Any = servers[name]
    where = f'the entry "{name}" in {config_path}'
    if problem := stdio_rejection(entry):
        raise SetupError(f"{where}{problem}.")
    entry = cast(dict[str, Any], entry)
    if stale := stale_keys(entry):
        raise SetupError(f"{where} has {', '.join(stale)}: Claude Desktop would not start it as written. {REINSTALL}")
    if not os.path.isabs(entry["command"]):
        raise SetupError(
            f"{where} starts {json.dumps(entry['command'], ensure_ascii=False)}, not an absolute path: Claude Desktop "
            f"does not see your shell's PATH, so it may not find the program. {REINSTALL}"
        )
    return entry, str(config_path)


def own_command(*args: str) -> str:
    """This tool's command line with `args`, to paste here: from this checkout, or through uvx."""
    if not serving.checkout_project(__file__):
        script = next(name for name, module in serving.scripts(__file__).items() if module != SERVER_MODULE)
        return command_line(["uvx", "--from", uvx_source(), script, *args])
    here = [] if same_path(Path.cwd(), PROJECT_DIR) else ["--directory", str(PROJECT_DIR)]
    return command_line(["uv", *here, "run", Path(__file__).name, *args])


class StderrTail:
    """The server's stderr, read as it comes; only its last TAIL_BYTES are kept, however much it writes."""

    TAIL_BYTES = 2000

    def __init__(self) -> None:
        reader, writer = os.pipe()
        self.file = open(writer, "w", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self._tail = bytearray()
        self._lock = threading.Lock()
        self._reading = threading.Thread(target=self._read, args=(reader,), daemon=True)
        self._reading.start()

    def _read(self, reader: int) -> None:
        with open(reader, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                with self._lock:
                    self._tail += chunk
                    del self._tail[: -self.TAIL_BYTES]

    def close(self) -> str:
        """Stop writing our end, wait briefly for the server's last words, and return the tail."""
        self.file.close()
        self._reading.join(timeout=1.0)  # A child that outlives the server may hold the pipe open.
        with self._lock:
            return self._tail.decode("utf-8", errors="replace")


class NotJsonRpc(Exception):
    """The server wrote a line to stdout that is not a JSON-RPC message."""


class MessageSource(Protocol):
    async def receive(self) -> SessionMessage | Exception: ...
    async def aclose(self) -> None: ...


class MessageSink(Protocol):
    async def send(self, item: SessionMessage, /) -> None: ...
    async def aclose(self) -> None: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc_val: BaseException | None, exc_tb: TracebackType | None
    ) -> bool | None: ...


class WatchedStdout(ObjectReceiveStream[SessionMessage]):
    """The server's stdout as the client reads it; the first line that is not JSON-RPC ends the check."""

    def __init__(self, stream: MessageSource) -> None:
        self.stream = stream

    async def receive(self) -> SessionMessage:
        item = await self.stream.receive()
        if isinstance(item, Exception):
            details = item.errors() if isinstance(item, ValidationError) else []
            line = details[0]["input"] if details and isinstance(details[0]["input"], str) else str(item)
            line = line.removesuffix("\r")  # Windows' text mode ends a printed line with CR LF.
            raise NotJsonRpc(f"the server wrote something that is not JSON-RPC to stdout: {line[:200]!r}")
        return item

    async def aclose(self) -> None:
        await self.stream.aclose()


@asynccontextmanager
async def watched_stdio(
    parameters: StdioServerParameters, errlog: TextIO
) -> AsyncGenerator[tuple[WatchedStdout, MessageSink]]:
    async with stdio_client(parameters, errlog=errlog) as (stdout, stdin):
        yield WatchedStdout(stdout), stdin


async def check(app: DesktopInstall, name: str, seconds: float, uvx: str | None = None) -> dict[str, Any]:
    """Start the server as Claude Desktop would, list its tools, make one call, and report what happened.

    The call is to a read-only tool whose arguments `check` can fill in from its schema.
    The end of the server's stderr is in the report when the check fails.
    """
    report: dict[str, Any] = {
        "ok": False,
        "app": app.kind
        + (" (the config named with --config)" if app.named else "" if app.found else " (not found here)"),
        "config": str(app.config),
        "log": app.log_file(name),
    }
    entry, report["source"] = configured_entry(app, name, uvx)
    server_log = StderrTail()
    try:
        async with anyio.create_task_group() as group:  # A stop signal ends the check, and with it the server.
            group.start_soon(stop_on_signals, group.cancel_scope, report)
            await start_and_call(entry, seconds, server_log.file, report)
            group.cancel_scope.cancel()
    finally:
        stderr = server_log.close()
    if report["ok"] and report["startup_ms"] > DESKTOP_START_SECONDS * 1000:
        report["ok"] = False
        report["error"] = (
            f"it took longer to start than the {DESKTOP_START_SECONDS} s Claude Desktop waits. {SLOW_START}"
        )
    if not report["ok"]:
        report["server_stderr"] = stderr
        if CERTIFICATE_ERRORS.search(stderr):
            report["error"] = SYSTEM_CERTS_FIX
    return report


SLOW_START = "A first start makes its environment: run install, which makes it ahead of the app, then check again"


async def stop_on_signals(scope: anyio.CancelScope, report: dict[str, Any]) -> None:
    """SIGTERM or SIGHUP ends the check, and the server it started with it (POSIX: Windows' loop takes no signals)."""
    if sys.platform == "win32":
        return
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGHUP) as signals:
        async for signum in signals:
            report["error"] = f"stopped by {signal.Signals(signum).name}"
            scope.cancel()


async def start_and_call(entry: dict[str, Any], seconds: float, server_log: TextIO, report: dict[str, Any]) -> None:
    """The check itself, with the server's stderr going to `server_log`; what it finds goes into `report`."""
    command: list[str] = [entry["command"], *entry.get("args", [])]
    report["command"] = command
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
        slow = f". {SLOW_START}" if seconds >= DESKTOP_START_SECONDS else ""
        report["error"] = f"no complete answer within {seconds:g} s{slow}"
    except Exception as error:  # Any way the server fails to start or speak is the finding.
        cause = root_cause(error)
        known = isinstance(cause, SetupError | NotJsonRpc)
        report["error"] = str(cause) if known else f"the server did not start or answer: {cause}"


NO_CALL = "nothing: no tool can be called without a model (none is read-only with arguments check can fill in)"
MAX_SAMPLE_LENGTH = 1000  # Characters of a sample string; a tool that needs more is not called.


def answer(result: types.CallToolResult, tool: str) -> str:
    """The call's first text, for the report; an error result fails the check."""
    text = next((part.text for part in result.content if isinstance(part, types.TextContent)), "")
    if result.is_error:
        raise SetupError(f"{tool} answered with an error: {shortened(text, 300)}")
    return shortened(text, 200)


def shortened(text: str, most: int) -> str:
    return text if len(text) <= most else text[:most] + "..."


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
            if schema.get("minLength", 0) > MAX_SAMPLE_LENGTH:
                return None
            text = CHECK_TEXT.ljust(schema.get("minLength", 0), "!")[: schema.get("maxLength")]
            pattern = schema.get("pattern")
            return None if pattern is not None and not matches(pattern, text) else text
        case "integer" | "number" as kind:
            low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
            value = math.ceil(low) if kind == "integer" else low
            high = schema.get("maximum", math.inf)
            return value if value <= high and value < schema.get("exclusiveMaximum", math.inf) else None
        case "boolean":
            return False
        case _:
            return None


def matches(pattern: str, text: str) -> bool:
    """Whether `text` matches a schema's `pattern`, in linear time: a server's pattern may be written to
    backtrack for hours in Python's `re`. One Rust's regex engine cannot read (a lookaround) is no match."""
    try:
        validator = SchemaValidator(core_schema.str_schema(pattern=pattern, regex_engine="rust-regex"))
        validator.validate_python(text)
    except (SchemaError, ValidationError):
        return False
    return True


def root_cause(error: BaseException) -> BaseException:
    """What explains a failure: our own finding anywhere in nested exception groups, else their only member."""
    inner: tuple[BaseException, ...] = getattr(error, "exceptions", ())
    for member in inner:
        if isinstance(found := root_cause(member), SetupError | NotJsonRpc):
            return found
    return root_cause(inner[0]) if len(inner) == 1 else error


def run_check(app: DesktopInstall, name: str, seconds: float, as_json: bool, uvx: str | None = None) -> int:
    """Print the check's report; the exit code is 0 when the server is healthy."""
    logging.getLogger("mcp").setLevel(logging.CRITICAL)  # The report says what went wrong, once.
    report = anyio.run(check, app, name, seconds, uvx)
    if as_json:
        print(json.dumps(report, indent=2))  # ASCII only: no control character reaches a terminal raw.
    else:
        print_check(report)
    return 0 if report["ok"] else 1


TERMINAL_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
"""Characters a terminal acts on instead of showing (ESC, BEL, CR, C1), and those that reorder text."""
UNSHOWABLE = re.compile(f"[{TERMINAL_CONTROLS}]")  # In all that this program prints.
UNSHOWABLE_ON_A_LINE = re.compile(f"[{TERMINAL_CONTROLS}\t\n]")  # In one field of a report.


def shown(text: str, unshowable: re.Pattern[str] = UNSHOWABLE_ON_A_LINE) -> str:
    """`text` safe to print: each control character is written as its escape, like \\x1b."""
    return unshowable.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


def print_check(report: dict[str, Any]) -> None:
    """The report for a person: every value from the server or the config is shown escaped, one line each."""
    print(f"{NAME} check: {'OK' if report['ok'] else 'FAILED'}")
    print(f"  app:        {shown(report['app'])}")
    print(f"  reads:      {shown(report['config'])}")
    print(f"  command:    {shown(command_line(report['command']))}")
    if sys.platform == "win32" and powershell_line(report["command"]) != command_line(report["command"]):
        print(f"  powershell: {shown(powershell_line(report['command']))}")
    print(f"  from:       {shown(report['source'])}")
    for label, key, unit in [
        ("protocol", "protocol_version", ""),
        ("server", "server", ""),
        ("tools", "tools", ""),
        ("called", "called", ""),
        ("answer", "answer", ""),
        ("start-up", "startup_ms", " ms (spawn to handshake)"),
        ("round trip", "round_trip_ms", " ms"),
        ("log", "log", " (the server's stderr, when Claude Desktop starts it)"),
    ]:
        if report.get(key) is not None:
            value = ", ".join(report[key]) if key == "tools" else report[key]
            print(f"  {label + ':':<11} {shown(str(value))}{unit}")
    if not report["ok"]:
        print(f"  problem:    {shown(report['error'])}")
        if report.get("server_stderr", "").strip():
            print("  the server's stderr ended with:")
            for line in report["server_stderr"].strip().replace("\r\n", "\n").split("\n"):  # Windows: CR LF.
                print(f"    {shown(line)}")


# hosts: the exact setup for each host, for this folder -------------------------------

INSPECTOR = "@modelcontextprotocol/inspector@0.15.0"  # The newest that does not ask for Node.js 22.
HOSTS = (
    "claude-desktop",
    "claude-code",
    "gemini",
    "codex",
    "opencode",
    "continue",
    "cursor",
    "vscode",
    "amp",
    "fast-agent",
    "inspector",
)


@dataclass(frozen=True)
class HostSetup:
    """How one host is told to start this server: a command to run, or text to merge into a file."""

    key: str
    host: str
    how: str
    then: str  # How to see it connected.
    command: list[str] | None = None
    file: Path | None = None
    content: str | None = None


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def vscode_user_folder(edition: str) -> Path:
    """VS Code's user folder for an edition ("Code", "Code - Insiders")."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / edition / "User"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming") / edition / "User"
    return config_home() / edition / "User"


def as_json(content: dict[str, Any]) -> str:
    return json.dumps(content, indent=2, ensure_ascii=False) + "\n"


def merge_into(file: Path) -> str:
    return f"Merge this into {file} (or create the file with it):"


def host_setups(name: str, uvx: str | None = None) -> list[HostSetup]:
    """Every host's setup, in the order of HOSTS, with uv's absolute path and this folder's already in it."""
    entry = launch_entry(uvx)
    run = [entry["command"], *entry["args"]]
    try:
        desktop: Path | None = claude_desktop(None).config
    except SetupError:  # Several packaged apps: install asks for --config.
        desktop = None
    opencode, continue_, cursor, vscode = (
        config_home() / "opencode" / "opencode.json",
        Path.home() / ".continue" / "config.yaml",
        Path.home() / ".cursor" / "mcp.json",
        vscode_user_folder("Code") / "mcp.json",
    )
    insiders = vscode_user_folder("Code - Insiders") / "mcp.json"
    amp, fast_agent = Path.home() / ".config" / "amp" / "settings.json", Path.home() / "fastagent.config.yaml"
    yaml_args = ", ".join(json.dumps(arg, ensure_ascii=False) for arg in entry["args"])  # JSON strings are YAML.
    return [
        HostSetup(
            "claude-desktop",
            "Claude Desktop",
            "Quit Claude Desktop fully; then "
            f"`uv run host_setup.py install{f' --uvx {command_line([uvx])}' if uvx else ''}` merges this into "
            f"{desktop or 'the config Claude Desktop reads'}, keeping all else:",
            "uv run host_setup.py check; then start Claude Desktop",
            file=desktop,
            content=as_json({"mcpServers": {name: entry}}),
        ),
        HostSetup(
            "claude-code",
            "Claude Code",
            "Run this once; the server is then there in every project:",
            "claude mcp list",
            command=["claude", "mcp", "add", "--scope", "user", name, "--", *run],
        ),
        HostSetup(
            "gemini",
            "Gemini CLI",
            "Run this once (with no `--` before uv: Gemini CLI takes the rest as the command):",
            "gemini mcp list, in a folder you trust (Gemini CLI starts no MCP server in an untrusted folder)",
            command=["gemini", "mcp", "add", "--scope", "user", name, *run],
        ),
        HostSetup(
            "codex",
            "Codex",
            "Run this once:",
            "codex mcp list shows it enabled; /mcp in a Codex session shows it connected, with its tools",
            command=["codex", "mcp", "add", name, "--", *run],
        ),
        HostSetup(
            "opencode",
            "opencode",
            merge_into(opencode),
            "opencode mcp list",
            file=opencode,
            content=as_json(
                {"$schema": "https://opencode.ai/config.json", "mcp": {name: {"type": "local", "command": run}}}
            ),
        ),
        HostSetup(
            "continue",
            "Continue",
            f"Create {continue_} with this, or, if it exists, add the item to its mcpServers list:",
            "cn (Continue's CLI); it stops with the reason if a server cannot start",
            file=continue_,
            content=f"name: {name} config\nversion: 1.0.0\nschema: v1\nmcpServers:\n  - name: {json.dumps(name)}\n"
            f"    command: {json.dumps(entry['command'], ensure_ascii=False)}\n    args: [{yaml_args}]\n",
        ),
        HostSetup(
            "cursor",
            "Cursor",
            merge_into(cursor),
            "Cursor Settings, MCP",
            file=cursor,
            content=as_json({"mcpServers": {name: entry}}),
        ),
        HostSetup(
            "vscode",
            "VS Code",
            f"Merge this into {vscode}, the file MCP: Open User Configuration opens (or create it with this). "
            f"VS Code Insiders reads {insiders}; a profile other than the default reads its own, "
            f"{vscode.parent / 'profiles' / '<profile id>' / 'mcp.json'}:",
            "the command MCP: List Servers",
            file=vscode,
            content=as_json({"servers": {name: {"type": "stdio", **entry}}}),
        ),
        HostSetup(
            "amp",
            "Amp",
            merge_into(amp),
            "amp mcp doctor",
            file=amp,
            content=as_json({"amp.mcpServers": {name: entry}}),
        ),
        HostSetup(
            "fast-agent",
            "fast-agent",
            f"Create {fast_agent} with this, or add the server to the mcp.servers of a config you have:",
            f"fast-agent go --config-path {command_line([str(fast_agent)])} --servers {name}",
            file=fast_agent,
            content=f"mcp:\n  servers:\n    {json.dumps(name)}:\n"
            f"      command: {json.dumps(entry['command'], ensure_ascii=False)}\n      args: [{yaml_args}]\n",
        ),
        HostSetup(
            "inspector",
            "MCP Inspector",
            "Run this to list the tools in the terminal (without --cli and --method, it opens a web page):",
            "it prints the tools",
            command=["npx", "-y", INSPECTOR, "--cli", *run, "--method", "tools/list"],
        ),
    ]


WINDOWS_SPECIAL = re.compile(r"""[\s"&|<>^%!()$;,`'{}@#]""")  # What cmd.exe or PowerShell reads as more than text.


def command_line(argv: list[str], platform: str = sys.platform) -> str:
    """`argv` as this platform's shells read it: POSIX quoting; on Windows, double quotes as cmd.exe and
    PowerShell both take them (PowerShell also wants `&` before a quoted program: `powershell_line`)."""
    if platform != "win32":
        return shlex.join(argv)
    return " ".join(windows_quoted(arg) for arg in argv)


def windows_quoted(arg: str) -> str:
    """One argument as Windows programs split their command line (the C runtime's rules)."""
    if arg and not WINDOWS_SPECIAL.search(arg):
        return arg
    escaped = re.sub(r'(\\*)"', r'\1\1\\"', arg)  # Backslashes before a quote doubled, the quote escaped...
    return '"' + re.sub(r"(\\+)$", r"\1\1", escaped) + '"'  # ...and those before the closing quote doubled.


def powershell_line(argv: list[str]) -> str:
    line = command_line(argv, "win32")
    return f"& {line}" if line.startswith('"') else line


def print_hosts(name: str, wanted: list[str], as_json: bool, uvx: str | None = None) -> None:
    """Print the setup of the hosts wanted (all, when none is named), for a person or as JSON."""
    setups = [setup for setup in host_setups(name, uvx) if not wanted or setup.key in wanted]
    if as_json:
        fields = [{key: value for key, value in vars(setup).items() if value is not None} for setup in setups]
        print(json.dumps(fields, indent=2, default=str))
        return
    for number, setup in enumerate(setups):
        if number:
            print()
        print(f"## {setup.host} ({setup.key})")
        print(setup.how)
        print()
        print(command_line(setup.command) + "\n" if setup.command else setup.content, end="")
        if setup.command and sys.platform == "win32" and powershell_line(setup.command) != command_line(setup.command):
            print(f"In PowerShell: {powershell_line(setup.command)}")
        print()
        print(f"To see it connected: {setup.then}")


# new: a server project of your own ----------------------------------------------------


def make_new(path: Path, name: str | None, with_hosts: bool) -> None:
    """Make a server project at `path` from this one (from its clone, or the source uvx fetched)."""
    path = path.resolve()
    origin = str(PROJECT_DIR) if serving.checkout_project(__file__) else uvx_source()
    try:
        name = new.checked_name(name or path.name)
        new.empty_folder(path)
        with new.fetched(origin) as folder:
            written = new.make(new.Template(folder, NAME, SERVER_MODULE, origin), path, name, with_hosts)
    except new.NewError as error:
        raise SetupError(f"{error}. Nothing was made.") from None
    module = new.module_of(name)
    print(f"Made {name} in {path}: {len(written)} files, its server in {module}.py. Next:")
    print(f"  {command_line(['cd', str(path)])}")
    print("  uv run pytest                  # green as it is")
    print(f"  uv run {module}.py --help")
    print(f"Then replace the example tool in {module}.py and tests/test_tool.py (README.md: Make it yours).")


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


SERVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def server_name(text: str) -> str:
    """--name's value: what every host accepts as a server's name, and safe in a file name."""
    if not SERVER_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"must be 1 to 64 letters, digits, '_' or '-', starting with a letter or digit, not {text!r}"
        )
    return text


def host_key(text: str) -> str:
    if text not in HOSTS:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(HOSTS)}, not {text!r}")
    return text


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=f"Set {NAME} up in Claude Desktop and other hosts, check it, or take it out.",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="{check,install,uninstall,restore,hosts,new}"
    )
    name_help = f"the server's name in the host's config (default: {NAME})"
    for command, summary in [
        ("check", "start the server as Claude Desktop would and call a tool once"),
        ("install", f"add or update {NAME} in Claude Desktop's config (quit the app first)"),
        ("uninstall", f"remove {NAME} from Claude Desktop's config (quit the app first)"),
        ("restore", "put back the servers and settings the config lost since its newest backup that has them"),
    ]:
        sub = commands.add_parser(command, help=summary, description=summary)
        sub.add_argument(
            "--config", type=Path, help="the config file (default: the one Claude Desktop reads on this machine)"
        )
        if command != "restore":
            sub.add_argument("--name", type=server_name, default=NAME, help=name_help)
        if command in ("check", "install"):
            add_uvx_option(sub)
        if command == "check":
            sub.add_argument("--json", action="store_true", help="print the report as JSON")
            sub.add_argument(
                "--timeout",
                type=timeout_seconds,
                default=float(DESKTOP_START_SECONDS),
                help=f"seconds to wait (default: {DESKTOP_START_SECONDS}, as Claude Desktop does)",
            )
        else:
            sub.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
        if command == "install":
            sub.add_argument(
                "--system-certs",
                action="store_true",
                help="set UV_SYSTEM_CERTS=1 in the entry: uv then trusts the system's certificates (company proxies)",
            )
            sub.add_argument(
                "--allow-rejected",
                action="store_true",
                help="write even beside an entry Claude Desktop would reject (it then loads the file as empty)",
            )
    summary = "print the exact setup for each host (or those named), with this folder's paths"
    hosts = commands.add_parser("hosts", help=summary, description=summary)
    hosts.add_argument("host", nargs="*", type=host_key, metavar="HOST", help=f"any of: {', '.join(HOSTS)}")
    hosts.add_argument("--name", type=server_name, default=NAME, help=name_help)
    hosts.add_argument("--json", action="store_true", help="print the setups as JSON")
    add_uvx_option(hosts)
    summary = f"make a new server project at PATH from this one: renamed, with {NAME}'s example tool to replace"
    new = commands.add_parser("new", help=summary, description=summary)
    new.add_argument("path", type=Path, metavar="PATH", help="a folder that does not exist yet, or an empty one")
    new.add_argument("--name", help="the new project's name (default: PATH's folder name)")
    new.add_argument("--with-hosts", action="store_true", help="keep the tests under real hosts and their npm kits")
    args = parser.parse_args(argv)
    if args.command == "hosts" and args.uvx in HOSTS:  # `hosts --uvx codex`: the host, not a source.
        args.host, args.uvx = [*args.host, args.uvx], ""
    if args.command in ("check", "install", "hosts") and (
        args.uvx == "" or (args.uvx is None and not serving.checkout_project(__file__))
    ):
        args.uvx = uvx_source()  # Installed by uvx, it has no checkout to point at, only where uvx fetched it.
    return args


def add_uvx_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--uvx",
        nargs="?",
        const="",
        metavar="SOURCE",
        help="start the server with `uvx --from SOURCE` (a git URL or a folder; default: this one), not this checkout",
    )


def run(args: argparse.Namespace) -> int:
    """Carry out the command; its exit code."""
    if args.command == "hosts":
        print_hosts(args.name, args.host, args.json, args.uvx)
        return 0
    if args.command == "new":
        make_new(args.path, args.name, args.with_hosts)
        return 0
    app = claude_desktop(args.config)
    if args.command == "check":
        return run_check(app, args.name, args.timeout, args.json, args.uvx)
    if args.command == "install":
        install(app, args.name, args.dry_run, launch_entry(args.uvx, args.system_certs), args.allow_rejected)
    elif args.command == "uninstall":
        uninstall(app, args.name, args.dry_run)
    else:
        restore(app, args.dry_run)
    return 0


def main(argv: list[str] | None = None) -> None:
    """Run a command; its output is written at the end, so that a closed or full stdout loses no work."""
    for stream in (sys.stdout, sys.stderr):  # A Windows console's cp1252 shows what it cannot encode as escapes.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    args = parse_args(argv)
    program = f"{Path(sys.argv[0]).stem} {args.command}"  # host_setup, or its console script's name.
    output = io.StringIO()
    problem = ""
    try:
        with redirect_stdout(output):
            status = run(args)
    except SetupError as error:
        unchanged = " Nothing was written." if args.command in ("install", "uninstall", "restore") else ""
        status, problem = 1, f"{program}: {shown(str(error))}{unchanged}"
    except KeyboardInterrupt:
        status = 130
    try:
        sys.stdout.write(shown(output.getvalue(), UNSHOWABLE))  # Config text and paths are shown, never obeyed.
        sys.stdout.flush()
    except OSError as error:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Nothing more reaches it, not even at exit.
        gone = isinstance(error, BrokenPipeError) or (sys.platform == "win32" and error.errno == errno.EINVAL)
        if not gone:  # A reader that stopped reading (`| head`) wanted no more; Windows says EINVAL.
            status = status or 1
            problem = problem or f"{program}: finished, but stdout refused its report: {error.strerror}."
    if problem:
        with suppress(OSError):  # A stderr that cannot take it either: the exit code still tells.
            print(problem, file=sys.stderr)
    sys.exit(status)


if __name__ == "__main__":
    main()
