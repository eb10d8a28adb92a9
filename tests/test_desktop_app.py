"""Claude Desktop as it behaves, simulated in a temporary home: it saves the config it read at start
over the file, loads a file it cannot take as empty, starts servers in parallel and waits 60 s for them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from kit import apps, checker, config_file, edits
from tests.conftest import (
    MODERN_VERSION,
    NAME,
    PROJECT_DIR,
    REPLY_TIMEOUT,
    SERVER_FILE,
    SERVER_ONLY,
    SetupCommand,
    StdioServer,
    as_text,
    assert_clean_exit,
    copy_project,
    envelope,
    run_python,
    sample_call,
    under_wine,
    uv,
)

OTHERS = {"files": {"command": "npx", "args": ["-y", "files-server"]}, "remote": {"url": "https://127.0.0.1:9/mcp"}}
CONFIG = {"globalShortcut": "Ctrl+Space", "mcpServers": OTHERS}
POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="Electron's lock is a symlink on macOS and Linux")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture(autouse=True)
def home_for_in_process_calls(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Path, "home", lambda: home)
    for key, value in environment(home).items():
        monkeypatch.setenv(key, value)
    for variable in ("XDG_CONFIG_HOME", "VIRTUAL_ENV"):  # The app starts servers outside any environment.
        monkeypatch.delenv(variable, raising=False)


def environment(home: Path, **more: str) -> dict[str, str]:
    """The setup tool's environment with `home` as the user's home, outside any virtual environment."""
    kept = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "XDG_CONFIG_HOME")}
    return {**kept, "HOME": str(home), "USERPROFILE": str(home), "APPDATA": str(home), **more}


def app_config(home: Path) -> Path:
    """The config the app would read in `home`, with the app's folder made, as its first start makes it."""
    config = apps.find_claude_desktop(sys.platform, environment(home), home).config
    config.parent.mkdir(parents=True, exist_ok=True)
    return config


def setup_tool(home: Path, *args: str, project: Path = PROJECT_DIR, **more: str) -> subprocess.CompletedProcess[str]:
    """The setup tool of `project`, run as a user runs it there."""
    command = [sys.executable, str(project / "host_setup.py"), *args]
    done = run_python(command, cwd=project, env=environment(home, **more), timeout=REPLY_TIMEOUT * 4)
    return subprocess.CompletedProcess(command, done.returncode, as_text(done.stdout), as_text(done.stderr))


def folder_state(config: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in config.parent.iterdir() if path.is_file()}


def lock(config: Path, target: str) -> Path:
    singleton = config.parent / "SingletonLock"
    singleton.symlink_to(target)
    return singleton


# Never edit under a running app ---------------------------------------------------


@POSIX_ONLY
def test_nothing_is_written_while_the_app_runs_and_the_user_is_told_to_quit_it(home: Path) -> None:
    config = app_config(home)
    config.write_text(json.dumps(CONFIG), encoding="utf-8")
    singleton = lock(config, f"{socket.gethostname()}-{os.getpid()}")  # This test's own process: alive.
    before = folder_state(config)
    for command in ("install", "uninstall", "restore"):
        done = setup_tool(home, command)
        assert (done.returncode, done.stdout) == (1, ""), done.stderr
        assert done.stderr == (
            f"host_setup {command}: Claude Desktop is running (process {os.getpid()}, as its lock {singleton} says); "
            "it would overwrite this change with the copy it read at start. "
            f"Quit it fully ({apps.how_to_quit()}), then run this again. Nothing was written.\n"
        )
    assert folder_state(config) == before
    assert setup_tool(home, "install", "--dry-run").returncode == 0
    assert folder_state(config) == before


@POSIX_ONLY
def test_a_lock_whose_process_is_gone_does_not_count(
    home: Path, setup_command: SetupCommand, prepared: list[object]
) -> None:
    config = app_config(home)
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    lock(config, f"{socket.gethostname()}-{int(ended.stdout)}")
    done = setup_command("install")
    assert done.returncode == 0, done.stderr
    assert NAME in json.loads(config.read_text(encoding="utf-8"))["mcpServers"]


@POSIX_ONLY
def test_a_lock_from_another_computer_is_named_for_the_user_to_judge(home: Path) -> None:
    config = app_config(home)
    singleton = lock(config, "elsewhere.example-4242")
    done = setup_tool(home, "uninstall")
    assert done.returncode == 1
    assert (
        f"Claude Desktop is running (its lock {singleton} names another computer, elsewhere.example; "
        "delete the lock if the app runs nowhere)" in done.stderr
    )


def test_with_no_app_install_says_so_and_creates_nothing(home: Path) -> None:
    config = apps.find_claude_desktop(sys.platform, environment(home), home).config
    done = setup_tool(home, "install", PATH=os.path.dirname(uv()))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("host_setup install: found no Claude Desktop here (")
    assert f"create {config} anyway with --config " in done.stderr
    assert done.stderr.count("\n") == 1
    assert not config.parent.exists()


# A config the app will load ---------------------------------------------------------

REJECTED = [
    ({"command": "npx", "args": "-y files-server"}, ': "args" must be a list of strings'),
    ({"command": "npx", "env": {"PORT": 8080}}, ': "env" must be an object whose values are strings'),
    ({"command": ["npx"]}, ' needs "command": the program to start, as a string'),
    ({"url": 42}, ': "url" must be the server\'s address, as a string'),
    ({"url": "https://127.0.0.1:9/mcp", "headers": {"Retry": 3}}, ': "headers" must be an object whose values are'),
    ("npx files-server", " must be an object, not string"),
]


@pytest.mark.parametrize(("entry", "problem"), REJECTED)
def test_an_entry_the_app_would_reject_is_named_with_its_reason(entry: Any, problem: str) -> None:
    config = {"mcpServers": {**OTHERS, "odd one": entry}}
    found = config_file.rejected_entries(config, Path("claude_desktop_config.json"))
    assert found is not None
    assert found.startswith(f'the entry "odd one" in claude_desktop_config.json{problem}')
    assert config_file.rejected_entries({"mcpServers": OTHERS}, Path("claude_desktop_config.json")) is None


def test_install_will_not_write_beside_an_entry_the_app_would_reject_unless_told_to(
    home: Path, setup_command: SetupCommand, prepared: list[object]
) -> None:
    config = app_config(home)
    config.write_text(json.dumps({"mcpServers": {**OTHERS, "broken": {"command": "npx", "args": "-y x"}}}), "utf-8")
    before = folder_state(config)
    refused = setup_command("install")
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == (
        f'host_setup install: the entry "broken" in {config}: "args" must be a list of strings. '
        f"{config_file.WIPES_ALL}. Fix that first, or pass --allow-rejected to write anyway. Nothing was written.\n"
    )
    assert folder_state(config) == before
    checked = setup_command("check")
    assert checked.returncode == 1
    assert checked.stderr.startswith(f'host_setup check: the entry "broken" in {config}: "args" must be a list')
    written = setup_command("install", "--allow-rejected")
    assert written.returncode == 0, written.stderr
    assert NAME in json.loads(config.read_text(encoding="utf-8"))["mcpServers"]


# A wipe is noticed and undone -----------------------------------------------------------


def test_check_names_the_backup_that_holds_what_a_wipe_lost_and_restore_loses_nothing(
    home: Path, setup_command: SetupCommand, prepared: list[object], forked_uv: str
) -> None:
    config = app_config(home)
    config.write_text(json.dumps(CONFIG), encoding="utf-8")
    assert setup_command("install").returncode == 0
    installed = json.loads(config.read_text(encoding="utf-8"))
    newest = max(config_file.backups(config).items())[1]
    # The app loaded the file as empty, saved that, and then the user added a server in its settings.
    later = {"later": {"command": "/usr/bin/later"}}
    config.write_text(json.dumps({"mcpServers": later, "preferences": {"sidebarMode": "chat"}}), encoding="utf-8")
    checked = setup_command("check")
    assert (checked.returncode, checked.stdout) == (1, "")
    assert checked.stderr == (
        f'host_setup check: {config} has lost "files", "remote", "{NAME}" since {newest}, which holds them: '
        f"Claude Desktop saved over it. Quit Claude Desktop fully ({apps.how_to_quit()}), "
        "then run: uv run host_setup.py restore\n"
    )
    restored = setup_command("restore")
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith(f'Restored "files", "remote", "{NAME}", "globalShortcut" in {config}, from ')
    assert json.loads(config.read_text(encoding="utf-8")) == {
        "mcpServers": {**later, **installed["mcpServers"]},
        "preferences": {"sidebarMode": "chat"},
        "globalShortcut": "Ctrl+Space",
    }
    assert setup_command("check").returncode == 0
    again = setup_command("restore")
    assert (again.returncode, again.stdout) == (
        0,
        f"{config} holds everything its backups hold; nothing was written.\n",
    )


def test_an_uninstall_or_one_server_taken_out_by_hand_is_no_wipe(home: Path, prepared: list[object]) -> None:
    config = app_config(home)
    config.write_text(json.dumps(CONFIG), encoding="utf-8")
    app = apps.claude_desktop(None)
    edits.install(app, NAME, dry_run=False)
    by_hand = json.loads(config.read_text(encoding="utf-8"))
    del by_hand["mcpServers"]["files"]
    config.write_text(json.dumps(by_hand), encoding="utf-8")
    assert edits.configured_entry(app, NAME)[1] == str(config)
    edits.uninstall(app, NAME, dry_run=False)
    assert edits.configured_entry(app, NAME)[1].startswith("the entry install would write")


# Ready before the app asks -------------------------------------------------------------


@pytest.fixture
def cold_copy(tmp_path: Path) -> Path:
    """A copy of the project with no environment yet, in a folder whose name has a space."""
    copy = tmp_path / "my server"
    return copy_project(copy, *SERVER_ONLY)


def test_install_makes_the_environment_so_that_the_app_s_first_start_installs_nothing(
    home: Path, cold_copy: Path
) -> None:
    config = app_config(home)
    installed = setup_tool(home, "install", project=cold_copy)
    assert installed.returncode == 0, installed.stderr
    assert "Its environment is ready: the first start took " in installed.stdout
    assert (cold_copy / ".venv").is_dir()
    entry = json.loads(config.read_text(encoding="utf-8"))["mcpServers"][NAME]
    assert entry["args"][:2] == ["--directory", str(cold_copy)]
    started = StdioServer(launch=[entry["command"], *entry["args"]], cwd=home)
    started.initialize()
    started.close_stdin()
    uv_said = [line for line in assert_clean_exit(started) if f" {NAME}: " not in line]
    assert uv_said == [], uv_said  # No "Creating virtual environment", no "Installed N packages".


@pytest.mark.skipif(under_wine(), reason="Wine 8 refuses uv's unlock (os error 33): one uv run at a time")
def test_three_copies_started_at_once_from_a_cold_folder_all_answer(cold_copy: Path) -> None:
    launch = [uv(), "--directory", str(cold_copy), "run", "--no-dev", "--frozen", SERVER_FILE]
    throw_away, chat, code = (StdioServer(launch=launch, cwd=cold_copy.parent) for _ in range(3))
    discover = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": envelope()}
    discovered = throw_away.request(discover, timeout=apps.DESKTOP_START_SECONDS)  # The app's bound, cold or not.
    assert MODERN_VERSION in discovered["result"]["supportedVersions"]
    throw_away.process.send_signal(signal.SIGKILL if sys.platform != "win32" else signal.SIGTERM)
    throw_away.close_stdin()  # uv is gone; the server it started must end with its stdin.
    throw_away.wait()
    assert throw_away.remaining_stdout() == []
    for started in (chat, code):
        started.initialize(timeout=apps.DESKTOP_START_SECONDS)
        assert started.request(sample_call(2))["result"]["isError"] is False
        started.close_stdin()
        assert_clean_exit(started)


# Proxies, and slow starts -----------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in uv is a shell script")
def test_a_proxy_s_certificate_is_named_with_its_fix_and_system_certs_writes_it(
    home: Path, tmp_path: Path, setup_command: SetupCommand, monkeypatch: pytest.MonkeyPatch, forked_uv: str
) -> None:
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    stand_in = bin_folder / "uv"
    stand_in.write_text(
        "#!/bin/sh\n"
        f'[ "$UV_SYSTEM_CERTS" = 1 ] && exec "{forked_uv}" "$@"\n'
        "echo 'error: Request failed after 3 retries' >&2\n"
        "echo '  Caused by: invalid peer certificate: UnknownIssuer' >&2\n"
        "exit 2\n",
        encoding="utf-8",
    )
    stand_in.chmod(0o755)
    config = app_config(home)
    monkeypatch.setenv("PATH", f"{bin_folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("UV", "")
    refused = setup_command("install")
    assert refused.returncode == 1
    assert (
        refused.stderr == f"host_setup install: its first start failed: {apps.SYSTEM_CERTS_FIX}. Nothing was written.\n"
    )
    assert not config.exists()
    checked = setup_command("check", "--json")
    assert json.loads(checked.stdout)["error"] == apps.SYSTEM_CERTS_FIX
    written = setup_command("install", "--system-certs")
    assert written.returncode == 0, written.stderr
    assert json.loads(config.read_text(encoding="utf-8"))["mcpServers"][NAME]["env"] == {"UV_SYSTEM_CERTS": "1"}
    assert setup_command("check").returncode == 0


def test_check_fails_a_start_slower_than_the_app_waits_and_names_the_fix(
    monkeypatch: pytest.MonkeyPatch, forked_uv: str
) -> None:
    monkeypatch.setattr(checker, "DESKTOP_START_SECONDS", 0)
    report = anyio.run(checker.check, apps.claude_desktop(None), NAME, REPLY_TIMEOUT)
    assert report["ok"] is False
    assert report["error"] == f"it took longer to start than the 0 s Claude Desktop waits. {checker.SLOW_START}"
