"""Where each Claude Desktop keeps its config, whether it runs, and the entry that starts this server,
with its environment made before the app first asks.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.identity import scripts
from kit.project import HOST_RUN_FLAGS, PROJECT_DIR, SERVER_MODULE, SETUP_FILE, SetupError, same_path, uv_path, uvx_path

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


def desktop_entry(uv: str, project_dir: str) -> dict[str, Any]:
    """The `mcpServers` entry that starts this checkout the way hosts need it."""
    return {"command": uv, "args": ["--directory", project_dir, "run", *HOST_RUN_FLAGS, f"{SERVER_MODULE}.py"]}


SYSTEM_CERTS = {"UV_SYSTEM_CERTS": "1"}  # uv trusts the system's certificates: a company proxy's included.


def launch_entry(uvx: str | None, system_certs: bool = False) -> dict[str, Any]:
    """The entry that starts the server: this checkout, or (`uvx`: where from) the package uvx fetches."""
    if uvx is None:
        entry = desktop_entry(uv_path(), str(PROJECT_DIR))
    else:
        script = next(name for name, module in scripts(str(SETUP_FILE)).items() if module == SERVER_MODULE)
        entry = {"command": uvx_path(), "args": ["--from", uvx, script]}
    return {**entry, "env": SYSTEM_CERTS} if system_certs else entry


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
