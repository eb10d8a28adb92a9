"""host_setup.py: install, uninstall and check, against temporary files only."""

from __future__ import annotations

import difflib
import errno
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

import host_setup as setup
from kit import apps, checker, config_file, edits, manifest, project, serving
from tests.conftest import (
    NAME,
    PROJECT_DIR,
    REPLY_TIMEOUT,
    SAMPLE_ARGUMENTS,
    SAMPLE_TOOL,
    SERVER_FILE,
    SERVER_ONLY,
    TOOLS,
    VERSION,
    SetupCommand,
    copy_project,
    listed_tools,
    run_script,
    start_python,
    uv,
    wait_for,
)
from tests.forking import Forked, Stdio

LOG_LEVEL_VARIABLE = serving.log_level_variable(NAME)

OTHER_CONFIG = {
    "globalShortcut": "Ctrl+Space",
    "mcpServers": {"files": {"command": "npx", "args": ["-y", "files-server"], "env": {"ROOT": "/data"}}},
    "theme": "dark",
}


pytestmark = pytest.mark.usefixtures("prepared")


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every test away from the real home directory and its Claude config."""
    home = tmp_path / "home"
    home.mkdir()
    for variable in ("HOME", "USERPROFILE", "APPDATA", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(variable, str(home))
    monkeypatch.setattr(Path, "home", lambda: home)
    return home


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "Claude" / "claude_desktop_config.json"
    path.parent.mkdir()
    path.write_text(json.dumps(OTHER_CONFIG, indent=4), encoding="utf-8")
    return path


def expected_entry() -> dict[str, Any]:
    return {
        "command": project.uv_path(),
        "args": ["--directory", str(PROJECT_DIR), "run", "--no-dev", "--frozen", SERVER_FILE],
    }


def install(config: Path, name: str, dry_run: bool) -> None:
    """install, with the file given as --config gives it."""
    edits.install(apps.claude_desktop(config), name, dry_run)


def uninstall(config: Path, name: str, dry_run: bool) -> None:
    edits.uninstall(apps.claude_desktop(config), name, dry_run)


def configured_entry(config: Path, name: str) -> tuple[dict[str, Any], str]:
    return edits.configured_entry(apps.claude_desktop(config), name)


def run_check(config: Path, name: str, seconds: float, as_json: bool) -> int:
    return checker.run_check(apps.claude_desktop(config), name, seconds, as_json)


def siblings(path: Path) -> list[str]:
    return sorted(entry.name for entry in path.parent.iterdir())


def test_install_adds_the_entry_and_keeps_everything_else_in_order(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install(config, NAME, dry_run=False)
    written = json.loads(config.read_text(encoding="utf-8"))
    assert list(written) == ["globalShortcut", "mcpServers", "theme"]
    assert written["mcpServers"] == {**OTHER_CONFIG["mcpServers"], NAME: expected_entry()}
    assert list(written["mcpServers"]) == ["files", NAME]
    assert Path(written["mcpServers"][NAME]["command"]).is_absolute()
    out = capsys.readouterr().out
    assert f'Added "{NAME}" in {config}.' in out
    assert "Start Claude Desktop to load the change" in out
    assert f"mcp-server-{NAME}.log" in out


def test_install_backs_up_the_previous_file_byte_for_byte_and_keeps_a_copy_of_what_it_wrote(config: Path) -> None:
    before = config.read_bytes()
    install(config, NAME, dry_run=False)
    backups = sorted(config.parent.glob("claude_desktop_config.json.*.bak"))
    assert [backup.read_bytes() for backup in backups] == [before, config.read_bytes()]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_install_keeps_the_file_permissions(config: Path) -> None:
    config.chmod(0o640)
    install(config, NAME, dry_run=False)
    assert stat.S_IMODE(config.stat().st_mode) == 0o640


def test_a_second_install_writes_nothing(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install(config, NAME, dry_run=False)
    after_first = (config.read_bytes(), config.stat().st_mtime_ns, siblings(config))
    capsys.readouterr()
    install(config, NAME, dry_run=False)
    assert (config.read_bytes(), config.stat().st_mtime_ns, siblings(config)) == after_first
    assert capsys.readouterr().out.startswith(f'"{NAME}" in {config} is already up to date; nothing was written.\n')


def test_install_updates_an_outdated_entry_and_keeps_its_other_keys(config: Path) -> None:
    stale = {"command": "uv", "args": ["run", SERVER_FILE], "env": {LOG_LEVEL_VARIABLE: "DEBUG"}}
    config.write_text(json.dumps({"mcpServers": {NAME: stale}}), encoding="utf-8")
    install(config, NAME, dry_run=False)
    entry = json.loads(config.read_text(encoding="utf-8"))["mcpServers"][NAME]
    assert entry == {**expected_entry(), "env": {LOG_LEVEL_VARIABLE: "DEBUG"}}


def test_install_with_another_name(config: Path) -> None:
    install(config, "pulse", dry_run=False)
    servers = json.loads(config.read_text(encoding="utf-8"))["mcpServers"]
    assert servers["pulse"] == expected_entry()
    assert NAME not in servers


def test_dry_run_shows_the_changes_as_a_diff_and_writes_nothing(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (config.read_bytes(), siblings(config))
    install(config, NAME, dry_run=True)
    assert (config.read_bytes(), siblings(config)) == before
    shown = capsys.readouterr().out
    install(config, NAME, dry_run=False)
    diff = difflib.unified_diff(
        before[0].decode().splitlines(),
        config.read_text(encoding="utf-8").splitlines(),
        f"{config} (now)",
        f"{config} (after)",
        lineterm="",
    )
    assert shown == f'Would add "{NAME}" in {config}, keeping a backup of it; the changes:\n' + "\n".join(diff) + "\n"


def test_dry_run_on_a_missing_file_shows_the_whole_file_it_would_create(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "Claude" / "claude_desktop_config.json"
    install(config, NAME, dry_run=True)
    assert not config.parent.exists()
    shown = capsys.readouterr().out
    install(config, NAME, dry_run=False)
    assert shown == f'Would add "{NAME}" by creating {config} with:\n' + config.read_text(encoding="utf-8")


def test_install_creates_the_file_and_its_folder(tmp_path: Path) -> None:
    config = tmp_path / "new" / "Claude" / "claude_desktop_config.json"
    install(config, NAME, dry_run=False)
    assert json.loads(config.read_text(encoding="utf-8")) == {"mcpServers": {NAME: expected_entry()}}
    assert siblings(config) == ["claude_desktop_config.json", "claude_desktop_config.json.1.bak"]
    assert config.with_name("claude_desktop_config.json.1.bak").read_bytes() == config.read_bytes()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"mcpServers": {"files": {}},', "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object, not array"),
        ('{"mcpServers": ["files"]}', '"mcpServers" must be an object'),
        ("null", "must hold a JSON object, not null"),
    ],
    ids=["truncated", "array", "servers-array", "null"],
)
def test_a_config_it_cannot_merge_into_is_refused_and_left_untouched(config: Path, content: str, problem: str) -> None:
    config.write_text(content, encoding="utf-8")
    before = (config.read_bytes(), config.stat().st_mtime_ns, siblings(config))
    with pytest.raises(project.SetupError) as refused:
        install(config, NAME, dry_run=False)
    assert str(config) in str(refused.value)
    assert problem in str(refused.value)
    assert (config.read_bytes(), config.stat().st_mtime_ns, siblings(config)) == before


def test_the_cli_refuses_invalid_json_in_one_line_without_a_traceback(config: Path) -> None:
    config.write_text("{oops", encoding="utf-8")
    done = run_script("host_setup.py", "install", "--config", str(config))
    assert done.returncode == 1
    assert done.stderr.startswith(f"host_setup install: {config} is not valid JSON (")
    assert "Traceback" not in done.stderr
    assert config.read_text(encoding="utf-8") == "{oops"


@pytest.mark.skipif(sys.platform == "win32", reason="an address-space limit is POSIX's (resource)")
@pytest.mark.parametrize("command", ["install", "check", "uninstall", "restore"])
def test_a_huge_config_is_refused_before_it_is_read(config: Path, command: str) -> None:
    import resource  # noqa: PLC0415 (POSIX only)

    with config.open("r+b") as file:
        file.truncate(4 * 1024**3)  # Sparse: 4 GiB on no disk.
    limit = 3 * 1024**3

    def in_3_gib() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    done = subprocess.run(
        [sys.executable, "host_setup.py", command, "--config", str(config)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=REPLY_TIMEOUT,
        preexec_fn=in_3_gib,
        check=False,
    )
    assert (done.returncode, done.stdout) == (1, "")
    unchanged = " Nothing was written." if command != "check" else ""
    assert done.stderr == (
        f"host_setup {command}: {config} holds 4,294,967,296 bytes, far more than any config "
        f"(this tool reads {config_file.MAX_CONFIG_BYTES:,} at most); move it aside.{unchanged}\n"
    )
    assert config.stat().st_size == 4 * 1024**3
    assert siblings(config) == [config.name]


def test_a_byte_order_mark_from_notepad_is_accepted_and_not_written_back(config: Path) -> None:
    config.write_bytes(b"\xef\xbb\xbf" + json.dumps(OTHER_CONFIG).encode())
    install(config, NAME, dry_run=False)
    assert not config.read_bytes().startswith(b"\xef\xbb\xbf")
    assert json.loads(config.read_text(encoding="utf-8"))["theme"] == "dark"


def test_an_empty_config_file_is_treated_as_empty(config: Path) -> None:
    config.write_text("\n", encoding="utf-8")
    install(config, NAME, dry_run=False)
    assert json.loads(config.read_text(encoding="utf-8")) == {"mcpServers": {NAME: expected_entry()}}


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_install_writes_through_a_symlinked_config(config: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(config)
    install(link, NAME, dry_run=False)
    assert link.is_symlink()
    assert json.loads(config.read_text(encoding="utf-8"))["mcpServers"][NAME] == expected_entry()


def test_windows_paths_survive_a_json_round_trip(tmp_path: Path) -> None:
    entry = apps.desktop_entry(r"C:\Users\Ada Lovelace\.local\bin\uv.exe", r"C:\Users\Ada Lovelace\src\my-server")
    config = tmp_path / "claude_desktop_config.json"
    config.write_bytes(config_file.serialize_config(config, {"mcpServers": {NAME: entry}}))
    assert r'"C:\\Users\\Ada Lovelace\\.local\\bin\\uv.exe"' in config.read_text(encoding="utf-8")
    assert config_file.read_config(config)[1]["mcpServers"][NAME] == entry
    assert entry["args"][1] == "C:\\Users\\Ada Lovelace\\src\\my-server"


def test_missing_uv_is_a_clear_error_saying_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UV", raising=False)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(project.SetupError, match=r"^uv not found\. Install it .*pipx install uv"):
        project.uv_path()


# uninstall ----------------------------------------------------------------------


def test_uninstall_removes_only_the_entry_and_keeps_a_backup(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install(config, NAME, dry_run=False)
    installed = config.read_bytes()
    capsys.readouterr()
    uninstall(config, NAME, dry_run=False)
    assert json.loads(config.read_text(encoding="utf-8")) == OTHER_CONFIG
    out = capsys.readouterr().out
    assert f'Removed "{NAME}" from {config}.' in out
    *_, previous, newest = sorted(config.parent.glob("claude_desktop_config.json.*.bak"))
    assert (previous.read_bytes(), newest.read_bytes()) == (installed, config.read_bytes())
    assert f"The previous file is saved as {previous} " in out


def test_uninstall_twice_writes_nothing_the_second_time(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install(config, NAME, dry_run=False)
    uninstall(config, NAME, dry_run=False)
    after_first = (config.read_bytes(), siblings(config))
    capsys.readouterr()
    uninstall(config, NAME, dry_run=False)
    assert (config.read_bytes(), siblings(config)) == after_first
    assert capsys.readouterr().out == f'"{NAME}" is not in {config}; nothing was written.\n'


def test_uninstall_dry_run_and_an_absent_file_write_nothing(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install(config, NAME, dry_run=False)
    before = (config.read_bytes(), siblings(config))
    capsys.readouterr()
    uninstall(config, NAME, dry_run=True)
    assert (config.read_bytes(), siblings(config)) == before
    absent = tmp_path / "absent" / "claude_desktop_config.json"
    uninstall(absent, NAME, dry_run=False)
    assert not absent.parent.exists()
    out = capsys.readouterr().out
    assert out.startswith(f'Would remove "{NAME}" in {config}, keeping a backup of it; the changes:\n')
    assert f'-    "{NAME}": {{' in out
    assert out.endswith(f'"{NAME}" is not in {absent}; nothing was written.\n')


def test_uninstall_says_to_restart_and_nothing_of_a_log(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install(config, NAME, dry_run=False)
    capsys.readouterr()
    uninstall(config, NAME, dry_run=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f'Removed "{NAME}" from {config}.'
    assert lines[-1] == "Start Claude Desktop to load the change: it reads the config only as it starts."
    assert "log" not in " ".join(lines)


# Never lose or corrupt a byte ----------------------------------------------------


def test_concurrent_installs_lose_no_entry(config: Path, instant_uv: dict[str, str]) -> None:
    names = [f"s{number}" for number in range(8)]
    runs = [
        start_python(
            [sys.executable, "host_setup.py", "install", "--config", str(config), "--name", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=instant_uv,
        )
        for name in names
    ]
    for run in runs:
        _, stderr = run.communicate(timeout=REPLY_TIMEOUT * 2)
        assert run.returncode == 0, stderr
    servers = json.loads(config.read_text(encoding="utf-8"))["mcpServers"]
    assert set(servers) == {"files", *names}


def test_a_write_by_another_program_during_install_is_kept(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Claude Desktop saving its config while install runs: install starts over on the new content."""
    original = config_file.serialize_config
    calls: list[int] = []

    def serialize_while_the_app_saves(path: Path, content: dict[str, Any]) -> bytes:
        if not calls:
            path.write_text(json.dumps({**OTHER_CONFIG, "theme": "light"}), encoding="utf-8")
        calls.append(1)
        return original(path, content)

    monkeypatch.setattr(edits, "serialize_config", serialize_while_the_app_saves)
    install(config, NAME, dry_run=False)
    written = json.loads(config.read_text(encoding="utf-8"))
    assert written["theme"] == "light"
    assert written["mcpServers"][NAME] == expected_entry()
    assert len(calls) == 2


UNWRITABLE_JSON = [
    ('{"mcpServers": {}, "x": NaN}', "is not valid JSON that can be kept exactly (NaN is not a JSON value)"),
    ('{"mcpServers": {}, "x": -Infinity}', "is not valid JSON that can be kept exactly (-Infinity is not"),
    ('{"mcpServers": {}, "x": "\\ud800"}', "holds text that is not valid Unicode (a lone surrogate escape)"),
    ('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}", "is nested too deeply to edit safely"),
]


@pytest.mark.parametrize(("content", "problem"), UNWRITABLE_JSON, ids=["nan", "infinity", "surrogate", "deep"])
def test_json_it_could_not_write_back_exactly_is_refused(config: Path, content: str, problem: str) -> None:
    config.write_text(content, encoding="utf-8")
    before = (config.read_bytes(), siblings(config))
    with pytest.raises(project.SetupError) as refused:
        install(config, NAME, dry_run=False)
    assert str(refused.value).startswith(f"{config} ")
    assert problem in str(refused.value)
    assert (config.read_bytes(), siblings(config)) == before


def test_the_cli_refuses_in_one_line_without_a_traceback(config: Path) -> None:
    content, problem = UNWRITABLE_JSON[0]
    config.write_text(content, encoding="utf-8")
    done = run_script("host_setup.py", "install", "--config", str(config))
    assert done.returncode == 1
    assert done.stderr == f"host_setup install: {config} {problem}. Nothing was written.\n"


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, devices and symlink loops are POSIX")
@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "symlink-loop"])
def test_anything_but_a_regular_file_is_refused_without_waiting(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "claude_desktop_config.json"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to(os.devnull)
    elif kind == "folder":
        path.mkdir()
    else:
        path.symlink_to(tmp_path / "loop")
        (tmp_path / "loop").symlink_to(path)
    before = sorted(entry.name for entry in tmp_path.iterdir())
    with pytest.raises(project.SetupError) as refused:
        install(path, NAME, dry_run=False)
    assert "not a regular file" in str(refused.value) or "Too many levels of symbolic links" in str(refused.value)
    assert sorted(entry.name for entry in tmp_path.iterdir()) == before
    assert Path(os.devnull).is_char_device()


def test_a_read_only_config_is_left_for_the_user_to_decide(config: Path) -> None:
    config.chmod(0o444)
    before = (config.read_bytes(), siblings(config))
    with pytest.raises(project.SetupError, match="is read-only; make it writable first"):
        install(config, NAME, dry_run=False)
    assert (config.read_bytes(), siblings(config)) == before


@pytest.mark.parametrize("denied", ["read", "write"])
def test_permission_denied_is_one_line_and_changes_nothing(
    config: Path, monkeypatch: pytest.MonkeyPatch, denied: str
) -> None:
    """Permission faults, simulated: this project's tests may run as root, which file modes do not stop."""
    before = (config.read_bytes(), siblings(config))
    target = config_file.os.open if denied == "read" else config_file.tempfile.mkstemp

    def refuse(*args: Any, **kwargs: Any) -> Any:
        if denied == "read" and args[0] != config:  # The folder's lock opens the folder.
            return target(*args, **kwargs)
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(config_file.os if denied == "read" else config_file.tempfile, target.__name__, refuse)
    with pytest.raises(project.SetupError) as refused:
        install(config, NAME, dry_run=False)
    assert str(refused.value) == f"cannot {denied} {config}: Permission denied."
    monkeypatch.undo()
    assert (config.read_bytes(), siblings(config)) == before


def test_a_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    config = tmp_path / "file" / "Claude" / "claude_desktop_config.json"
    done = run_script("host_setup.py", "install", "--config", str(config))
    assert done.returncode == 1
    problem = (  # POSIX cannot open a path through a file; Windows takes it for absent, then cannot make it.
        f"cannot make the folder {config.parent}: File already exists"
        if sys.platform == "win32"
        else f"cannot read {config}: Not a directory"
    )
    assert done.stderr == f"host_setup install: {problem}. Nothing was written.\n"


@pytest.mark.parametrize("failing", ["backup", "config"])
def test_a_full_disk_leaves_the_config_whole_and_no_partial_backup(
    config: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    before = config.read_bytes()
    real_fsync = os.fsync
    fsyncs: list[int] = []

    def fsync_on_a_full_disk(descriptor: int) -> None:
        fsyncs.append(descriptor)
        if failing == "backup" or len(fsyncs) == 2:  # The backup is written first, then the config.
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync_on_a_full_disk)
    with pytest.raises(project.SetupError) as refused:
        install(config, NAME, dry_run=False)
    assert str(refused.value) == f"cannot write {config}: No space left on device."
    assert config.read_bytes() == before
    assert siblings(config) == ["claude_desktop_config.json"]


# check ------------------------------------------------------------------------------


def check(config: Path, seconds: float = REPLY_TIMEOUT) -> dict[str, Any]:
    return anyio.run(checker.check, apps.claude_desktop(config), NAME, seconds)


def test_check_passes_against_the_real_server(tmp_path: Path, forked_uv: str) -> None:
    report = check(tmp_path / "absent.json")
    assert report["ok"] is True, report
    assert report["command"] == [expected_entry()["command"], *expected_entry()["args"]]
    assert report["source"] == f"the entry install would write: {tmp_path / 'absent.json'} does not exist"
    assert report["protocol_version"] == "2025-11-25"
    assert report["server"] == f"{NAME} {VERSION}"
    assert report["tools"] == [tool.name for tool in TOOLS]
    assert report["called"] == f"{SAMPLE_TOOL} {json.dumps(SAMPLE_ARGUMENTS)}"
    assert report["answer"]
    assert len(report["answer"]) < 200 or (len(report["answer"]), report["answer"][-3:]) == (203, "...")
    assert report["round_trip_ms"] > 0


def test_a_long_answer_is_cut_with_an_ellipsis() -> None:
    assert (checker.shortened("a" * 200, 200), checker.shortened("a" * 201, 200)) == ("a" * 200, "a" * 200 + "...")


def entry_in(config: Path, entry: Any) -> None:
    config.write_text(json.dumps({"mcpServers": {NAME: entry}}), encoding="utf-8")


def test_check_runs_the_command_the_config_holds_and_fails_cleanly_when_it_exits(
    config: Path, setup_command: SetupCommand
) -> None:
    dies = {"command": sys.executable, "args": ["-c", "import sys; print('no luck', file=sys.stderr); sys.exit(3)"]}
    entry_in(config, dies)
    done = setup_command("check", "--config", str(config), "--json")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert report["command"] == [dies["command"], *dies["args"]]
    assert report["source"] == str(config)
    assert report["error"] == "the server did not start or answer: Connection closed"
    assert "no luck" in report["server_stderr"]


def test_check_reports_at_once_a_server_that_writes_non_json_to_stdout(
    config: Path, setup_command: SetupCommand
) -> None:
    chatty = (
        "import sys; print('Server starting on stdio...', flush=True); "
        "print('oops', file=sys.stderr, flush=True); sys.stdin.read()"
    )
    entry_in(config, {"command": sys.executable, "args": ["-c", chatty]})
    # The server never exits: had check waited for its answer, the problem would be the timeout.
    done = setup_command("check", "--config", str(config), f"--timeout={REPLY_TIMEOUT / 2}")
    assert done.returncode == 1
    assert (
        "  problem:    the server wrote something that is not JSON-RPC to stdout: 'Server starting on stdio...'\n"
        in done.stdout
    )
    assert "oops" in done.stdout
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"command": "uv", "env": ["A=1"]}, '"env" must be an object whose values are strings'),
        ({"command": "uv", "env": {"A": 1}}, '"env" must be an object whose values are strings'),
        ({"command": "uv", "args": "run my_server.py"}, '"args" must be a list of strings'),
        ({"command": "uv", "args": ["run", 3]}, '"args" must be a list of strings'),
        ({"args": ["run"]}, 'needs "command": the program to start, as a string'),
        ({"command": ""}, 'needs "command": the program to start, as a string'),
        ("uv run my_server.py", "must be an object, not string"),
    ],
)
def test_check_refuses_a_malformed_entry_saying_what_is_wrong(config: Path, entry: Any, problem: str) -> None:
    entry_in(config, entry)
    with pytest.raises(project.SetupError) as refused:
        configured_entry(config, NAME)
    separator = " " if problem.startswith(("needs", "must")) else ": "
    assert str(refused.value) == f'the entry "{NAME}" in {config}{separator}{problem}.'


def test_the_cli_reports_a_malformed_entry_in_one_line(config: Path, setup_command: SetupCommand) -> None:
    entry_in(config, {"command": "uv", "env": ["A=1"]})
    done = setup_command("check", "--config", str(config))
    assert done.returncode == 1
    problem = '"env" must be an object whose values are strings'
    assert done.stderr == f'host_setup check: the entry "{NAME}" in {config}: {problem}.\n'


@pytest.mark.parametrize("value", ["inf", "1e308", "-1", "0", "nan", "soon", "3601"])
def test_check_refuses_a_timeout_that_is_not_a_sensible_number_of_seconds(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        setup.parse_args(["check", f"--timeout={value}"])
    assert refused.value.code == 2
    assert "argument --timeout: must be a number of seconds above 0 and at most 3600" in capsys.readouterr().err


def test_a_sensible_timeout_is_taken() -> None:
    assert setup.parse_args(["check", "--timeout", "2.5"]).timeout == 2.5


def test_check_reports_a_command_that_cannot_start(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(config.parent / "no-such-uv")
    entry_in(config, {"command": missing})
    assert run_check(config, NAME, REPLY_TIMEOUT, as_json=False) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{NAME} check: FAILED\n")
    assert f"  command:    {missing}\n" in out
    assert "  problem:    the server did not start or answer: " in out
    assert any(said in out for said in ("No such file or directory", "cannot find", "File not found"))  # Wine's.


@pytest.mark.waits
def test_check_gives_up_on_a_server_that_never_answers(config: Path) -> None:
    entry_in(config, {"command": sys.executable, "args": ["-c", "import sys; sys.stdin.read()"]})  # Never answers.
    report = check(config, 1.0)
    assert report["ok"] is False
    assert report["error"] == "no complete answer within 1 s"


def test_install_check_and_uninstall_from_the_cli(config: Path, forked_uv: str) -> None:
    env = {**os.environ, LOG_LEVEL_VARIABLE: "WARNING"}
    outputs: list[str] = []
    for command in ("install", "check", "uninstall"):
        done = subprocess.run(
            [uv(), "run", "--quiet", "host_setup.py", command, "--config", str(config)],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=REPLY_TIMEOUT * 2,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append(done.stdout)
    assert outputs[1].startswith(f"{NAME} check: OK\n")
    assert f"  from:       {config}\n" in outputs[1]
    assert json.loads(config.read_text(encoding="utf-8")) == OTHER_CONFIG


# Nothing lost, nothing misleading --------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_uv_is_written_as_path_finds_it_not_as_its_symlink_target(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Homebrew's bin/uv points into Cellar/uv/<version>, which the next `brew upgrade uv` deletes."""
    versioned = tmp_path / "Cellar" / "uv" / "0.9.1" / "bin" / "uv"
    versioned.parent.mkdir(parents=True)
    versioned.write_text("#!/bin/sh\n", encoding="utf-8")
    versioned.chmod(0o755)
    stable = tmp_path / "bin" / "uv"
    stable.parent.mkdir()
    stable.symlink_to(versioned)
    monkeypatch.setenv("PATH", str(stable.parent))
    monkeypatch.setenv("UV", str(versioned))  # What `uv run` sets: the resolved binary.
    install(config, NAME, dry_run=False)
    assert json.loads(config.read_text(encoding="utf-8"))["mcpServers"][NAME]["command"] == str(stable)


def test_uv_from_the_uv_variable_is_the_fallback_when_path_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("UV", str(tmp_path / "uv"))
    assert project.uv_path() == str(tmp_path / "uv")


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ('{"mcpServers": {"mine": {}}, "mcpServers": {"other": {}}, "theme": "dark"}', "mcpServers"),
        ('{"theme": "dark", "theme": "light"}', "theme"),
        ('{"mcpServers": {"files": {"command": "npx", "env": {"A": "1", "A": "2"}}}}', "A"),
    ],
    ids=["servers", "top-level", "nested"],
)
def test_a_key_written_twice_is_refused_not_dropped(config: Path, content: str, key: str) -> None:
    config.write_text(content, encoding="utf-8")
    before = (config.read_bytes(), siblings(config))
    for action in (install, uninstall):
        with pytest.raises(project.SetupError) as refused:
            action(config, NAME, dry_run=False)
        assert str(refused.value) == (
            f'{config} has the key "{key}" twice in one object. '
            "A program reading it keeps only one of the two; delete the one you do not want."
        )
    assert (config.read_bytes(), siblings(config)) == before


NUMBERS = ["2.50", "1e5", "1E+400", "-0", "-0.0", "0.1000000000000000055511151231257827", "9" * 5000]


def test_every_number_keeps_its_spelling(config: Path) -> None:
    numbers = ",\n    ".join(NUMBERS)
    config.write_text(f'{{\n  "mcpServers": {{}},\n  "sizes": [\n    {numbers}\n  ]\n}}\n', encoding="utf-8")
    before = config.read_bytes()
    install(config, NAME, dry_run=False)
    installed = config.read_text(encoding="utf-8")
    assert all(re.search(rf"^    {re.escape(number)},?$", installed, re.MULTILINE) for number in NUMBERS)
    uninstall(config, NAME, dry_run=False)
    assert config.read_bytes() == before


def test_the_only_changes_to_other_content_are_layout_and_escapes(config: Path) -> None:
    """What README says changes: the indent, and a string's escapes written as the characters they stand for."""
    config.write_text('{"theme":"caf\\u00e9 \\/ \\t", "n": [1.50]}', encoding="utf-8")
    install(config, NAME, dry_run=False)
    written = config.read_text(encoding="utf-8")
    assert written.startswith('{\n  "theme": "café / \\t",\n  "n": [\n    1.50\n  ],\n  "mcpServers": {\n')


STALE = {"type": "sse", "url": "http://127.0.0.1:9/sse", "disabled": True}


def test_install_takes_out_the_keys_that_would_keep_the_entry_from_starting(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = {**expected_entry(), **STALE, "env": {LOG_LEVEL_VARIABLE: "DEBUG"}}
    config.write_text(json.dumps({"mcpServers": {NAME: old}}), encoding="utf-8")
    install(config, NAME, dry_run=False)
    entry = json.loads(config.read_text(encoding="utf-8"))["mcpServers"][NAME]
    assert entry == {**expected_entry(), "env": {LOG_LEVEL_VARIABLE: "DEBUG"}}
    assert capsys.readouterr().out.startswith(
        f'Updated "{NAME}" in {config}. It takes out "type": "sse", "url": "http://127.0.0.1:9/sse", '
        '"disabled": true, which would keep it from starting.\n'
    )


def test_an_entry_marked_stdio_and_enabled_is_up_to_date(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config.write_text(
        json.dumps({"mcpServers": {NAME: {"type": "stdio", **expected_entry(), "disabled": False}}}), encoding="utf-8"
    )
    install(config, NAME, dry_run=False)
    assert capsys.readouterr().out.startswith(f'"{NAME}" in {config} is already up to date; nothing was written.\n')


@pytest.mark.parametrize(
    ("key", "shown"),
    [("type", '"type": "sse"'), ("url", '"url": "http://127.0.0.1:9/sse"'), ("disabled", '"disabled": true')],
)
def test_check_refuses_an_entry_with_a_key_that_keeps_it_from_starting(config: Path, key: str, shown: str) -> None:
    entry_in(config, {**expected_entry(), key: STALE[key]})
    with pytest.raises(project.SetupError) as refused:
        check(config)
    assert str(refused.value) == (
        f'the entry "{NAME}" in {config} has {shown}: Claude Desktop would not start it as written. '
        "Run install to update it."
    )


@pytest.mark.parametrize("command", ["uv", "uv.exe", "bin/uv"])
def test_check_fails_a_command_that_only_the_shell_s_path_finds(
    config: Path, command: str, setup_command: SetupCommand
) -> None:
    entry_in(config, {**expected_entry(), "command": command})
    done = setup_command("check", "--config", str(config))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f'host_setup check: the entry "{NAME}" in {config} starts "{command}", not an absolute path: '
        "Claude Desktop does not see your shell's PATH, so it may not find the program. Run install to update it.\n"
    )


def test_check_after_uninstall_says_the_entry_is_gone(
    config: Path, setup_command: SetupCommand, forked_uv: str
) -> None:
    install(config, NAME, dry_run=False)
    uninstall(config, NAME, dry_run=False)
    done = setup_command("check", "--config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f'  from:       the entry install would write: {config} has no "{NAME}" entry\n' in done.stdout


# A fake server that answers the handshake with control characters in its name, says more on stderr, then dies.
FORGER = """
import json, sys
request = json.loads(sys.stdin.readline())
name = "\\x1b]0;owned\\x07\\x1b[2J"
result = {"protocolVersion": "2025-11-25", "capabilities": {}, "serverInfo": {"name": name, "version": "\\x9b1m"}}
print(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}), flush=True)
sys.stdin.readline()
sys.stderr.write("fine\\r%s check: OK\\x1b[A\\u202e\\n" % sys.argv[1])
"""


def test_check_shows_control_characters_escaped_and_cannot_be_forged(config: Path, setup_command: SetupCommand) -> None:
    entry_in(config, {"command": sys.executable, "args": ["-c", FORGER, NAME]})
    done = setup_command("check", "--config", str(config))
    assert done.returncode == 1
    assert not project.UNSHOWABLE.search(done.stdout.replace("\n", ""))
    lines = done.stdout.splitlines()
    assert lines[0] == f"{NAME} check: FAILED"
    assert [line for line in lines if line.startswith(f"{NAME} check")] == [lines[0]]
    assert "  server:     \\x1b]0;owned\\x07\\x1b[2J \\x9b1m" in lines
    assert f"    fine\\r{NAME} check: OK\\x1b[A\\u202e" in lines
    as_json = setup_command("check", "--config", str(config), "--json")
    assert as_json.stdout.isascii()
    assert json.loads(as_json.stdout)["server"] == "\x1b]0;owned\x07\x1b[2J \x9b1m"


def test_check_keeps_only_the_end_of_a_flood_on_stderr(config: Path) -> None:
    flood = "import sys; [sys.stderr.write('x' * 1023 + '\\n') for _ in range(64 * 1024)]; sys.stderr.write('last')"
    entry_in(config, {"command": sys.executable, "args": ["-c", flood]})  # 64 MiB, then it exits.
    report = check(config)
    assert report["ok"] is False
    assert len(report["server_stderr"]) == checker.StderrTail.TAIL_BYTES
    assert report["server_stderr"].replace("\r\n", "\n").endswith("x\nlast")  # Windows' text mode writes CR LF.


def install_with_stdout(config: Path, stdout: Stdio, env: dict[str, str]) -> subprocess.Popen[bytes] | Forked:
    command = [sys.executable, "host_setup.py", "install", "--config", str(config)]
    return start_python(command, stdout=stdout, stderr=subprocess.PIPE, env=env)


def test_a_reader_that_stops_reading_gets_no_traceback(config: Path, instant_uv: dict[str, str]) -> None:
    """`install | head -0`: the config is written, and the closed pipe is no failure."""
    run = install_with_stdout(config, subprocess.PIPE, instant_uv)
    assert run.stdout
    run.stdout.close()
    run.stdout = None  # Gone, as `head -0` leaves it: communicate reads stderr only (on Windows, in a thread).
    _, stderr = run.communicate(timeout=REPLY_TIMEOUT)
    assert (run.returncode, stderr) == (0, b"")
    assert NAME in json.loads(config.read_text(encoding="utf-8"))["mcpServers"]


@pytest.mark.skipif(sys.platform != "linux", reason="/dev/full is Linux's")
def test_a_full_stdout_is_one_line_saying_the_work_was_done(config: Path, instant_uv: dict[str, str]) -> None:
    with open("/dev/full", "wb") as full:
        run = install_with_stdout(config, full, instant_uv)
        _, stderr = run.communicate(timeout=REPLY_TIMEOUT)
    assert run.returncode == 1
    assert stderr.decode() == "host_setup install: finished, but stdout refused its report: No space left on device.\n"
    assert NAME in json.loads(config.read_text(encoding="utf-8"))["mcpServers"]


def test_only_the_newest_backups_are_kept(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before_uninstall = b""
    for _ in range(10):
        install(config, NAME, dry_run=False)
        before_uninstall = config.read_bytes()
        uninstall(config, NAME, dry_run=False)
    backups = [backup for _, backup in sorted(config_file.backups(config).items())]
    assert len(backups) == config_file.KEEP_BACKUPS
    assert [backup.read_bytes() for backup in backups[-2:]] == [before_uninstall, config.read_bytes()]
    assert f"(the newest {config_file.KEEP_BACKUPS} backups are kept)" in capsys.readouterr().out


def test_backups_are_told_apart_from_other_files_by_their_exact_name(config: Path) -> None:
    mine = [config.with_name(f"{config.name}.{suffix}") for suffix in ("bak", "old.bak", "20200101-000000.bak")]
    for path in mine:
        path.write_text("{}", encoding="utf-8")
    for _ in range(config_file.KEEP_BACKUPS + 2):
        install(config, NAME, dry_run=False)
        uninstall(config, NAME, dry_run=False)
    assert all(path.exists() for path in mine)


@pytest.mark.parametrize(
    "name", ["", "../../etc/x", "a/b", "a\\b", "two\nlines", "\x1b[2J", "a b", "-dash", "é", "x" * 65]
)
@pytest.mark.parametrize("command", ["install", "uninstall", "check", "hosts"])
def test_a_name_no_host_would_take_is_refused(command: str, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        setup.parse_args([command, f"--name={name}"])
    assert refused.value.code == 2
    assert (
        "argument --name: must be 1 to 64 letters, digits, '_' or '-', starting with a letter or digit, "
        f"not {name!r}" in capsys.readouterr().err
    )


def test_a_name_every_host_takes_is_accepted() -> None:
    assert setup.parse_args(["install", "--name", "My_server-2"]).name == "My_server-2"


def test_nothing_it_prints_reaches_the_terminal_raw(config: Path) -> None:
    """A config's text and a path are shown, not obeyed: C1 and DEL are valid raw in a JSON string."""
    config.write_text('{"theme": "\u009b2J\u007f\u202e", "mcpServers": {}}', encoding="utf-8")
    done = run_script("host_setup.py", "install", "--dry-run", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert '+  "theme": "\\x9b2J\\x7f\\u202e",' in done.stdout.splitlines()
    assert not project.UNSHOWABLE.search(done.stdout)


def test_windows_line_ends_stay_windows_line_ends(config: Path) -> None:
    config.write_bytes(json.dumps(OTHER_CONFIG, indent=2).replace("\n", "\r\n").encode())
    install(config, NAME, dry_run=False)
    written = config.read_bytes()
    assert written.count(b"\n") == written.count(b"\r\n") > 10
    assert json.loads(written)["theme"] == "dark"


# The fourth hostile review's classes ---------------------------------------------------------

FAKE_SERVER = """
import json, sys, threading
tools = json.loads(sys.argv[1])
for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message:
        continue
    result = {"tools": tools} if message["method"] == "tools/list" else {
        "protocolVersion": message["params"]["protocolVersion"], "capabilities": {"tools": {}},
        "serverInfo": {"name": "fake", "version": "0"},
    } if message["method"] == "initialize" else {"content": []}
    print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}), flush=True)
"""


@pytest.mark.parametrize(
    ("user", "called"),
    [
        ({"type": "string", "minLength": 300_000_000}, checker.NO_CALL),
        ({"type": "string", "minLength": 40, "pattern": "(!+)+z"}, checker.NO_CALL),
        ({"type": "string", "pattern": "^(?=check)"}, checker.NO_CALL),
    ],
    ids=["huge-min-length", "backtracking-pattern", "lookahead"],
)
def test_check_makes_small_arguments_in_bounded_time_or_calls_nothing(
    config: Path, user: dict[str, Any], called: str, setup_command: SetupCommand
) -> None:
    schema = {"type": "object", "properties": {"user": user}, "required": ["user"]}
    tools = [{"name": "greet", "inputSchema": schema, "annotations": {"readOnlyHint": True}}]
    entry_in(config, {"command": sys.executable, "args": ["-c", FAKE_SERVER, json.dumps(tools)]})
    done = setup_command("check", "--config", str(config), "--json")
    report = json.loads(done.stdout)
    assert (done.returncode, report["ok"], report["called"]) == (0, True, called), report


@pytest.mark.waits
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("stop", [signal.SIGTERM, getattr(signal, "SIGHUP", 0)], ids=["SIGTERM", "SIGHUP"])
def test_a_check_stopped_by_a_signal_ends_the_server_it_started(
    config: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    pid_file = tmp_path / "server.pid"
    never_answers = (
        "import os, sys, threading; open(sys.argv[1], 'w').write(str(os.getpid()));"
        " sys.stdin.read(); threading.Event().wait()"  # Not even EOF ends it: only a signal.
    )
    entry_in(config, {"command": sys.executable, "args": ["-c", never_answers, str(pid_file)]})
    check = start_python(
        [sys.executable, "host_setup.py", "check", "--config", str(config), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    wait_for(lambda: pid_file.exists() and pid_file.read_text() != "", "the server to start")
    server_pid = int(pid_file.read_text())
    check.send_signal(stop)
    stdout, stderr = check.communicate(timeout=REPLY_TIMEOUT)
    assert check.returncode == 1, stderr
    assert json.loads(stdout)["error"] == f"stopped by {stop.name}"
    wait_for(lambda: not running(server_pid), "the server to end")


def running(pid: int) -> bool:
    """Whether a process exists and is not a zombie (Linux's /proc; elsewhere, whether it exists)."""
    status = Path(f"/proc/{pid}/stat")
    if status.parent.parent.is_dir() and Path("/proc/self/stat").exists():
        return status.exists() and status.read_text().split(")")[-1].split()[0] != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_backups_are_numbered_and_the_one_just_written_is_never_deleted(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in (7, 8, 9):  # Backups from before a clock was set back, or from a zone further east.
        config.with_name(f"{config.name}.{number}.bak").write_text("{}", encoding="utf-8")
    monkeypatch.setattr(checker.time, "time", lambda: 0.0)
    install(config, NAME, dry_run=False)
    out = capsys.readouterr().out
    previous, written = (config.with_name(f"{config.name}.{number}.bak") for number in (10, 11))
    assert f"The previous file is saved as {previous} (the newest 4 backups are kept)." in out
    assert previous.read_text(encoding="utf-8") == json.dumps(OTHER_CONFIG, indent=4)
    assert written.read_bytes() == config.read_bytes()
    assert sorted(config_file.backups(config)) == [8, 9, 10, 11]


# The bundle manifest -----------------------------------------------------------------------


def test_manifest_learns_the_name_version_and_tools_from_the_server_and_keeps_the_rest(
    tmp_path: Path, setup_command: SetupCommand, monkeypatch: pytest.MonkeyPatch, forked_python: None
) -> None:
    """Each run starts the server and asks it; the manifest it writes is a stale copy of the project's."""
    written = tmp_path / "manifest.json"
    monkeypatch.setattr(manifest, "MANIFEST_FILE", written)
    stale = {
        **json.loads((PROJECT_DIR / "manifest.json").read_text("utf-8")),
        "version": "0.0.1",
        "tools": [{"name": "gone"}],
    }
    written.write_text(json.dumps(stale, indent=2), encoding="utf-8")
    dry = setup_command("manifest", "--dry-run")
    assert (dry.returncode, dry.stderr, json.loads(written.read_text(encoding="utf-8"))) == (0, "", stale)
    assert dry.stdout.startswith(f"Would write {written}: its version and tools as the server has them"), dry.stdout
    done = setup_command("manifest")
    assert (done.returncode, done.stderr) == (0, ""), done.stdout
    learned = json.loads(written.read_text(encoding="utf-8"))
    served = [{"name": tool.name, "description": tool.description} for tool in listed_tools()]
    assert learned == {**stale, "version": VERSION, "tools": served}
    assert list(learned) == list(stale)  # The keys keep their order: the diff shows only what changed.
    again = setup_command("manifest")
    names = ", ".join(tool["name"] for tool in served)
    assert again.stdout == f"{written} already says what the server serves ({names}); nothing was written.\n"


def test_manifest_from_a_server_that_cannot_start_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    copy = copy_project(tmp_path / "copy", *SERVER_ONLY)
    server = copy / SERVER_FILE
    server.write_text('raise SystemExit("it cannot start: on purpose")\n' + server.read_text(encoding="utf-8"), "utf-8")
    before = (copy / "manifest.json").read_bytes()
    done = run_script("host_setup.py", "manifest", folder=copy)
    assert (done.returncode, done.stdout) == (1, "")
    said = f"{SERVER_FILE} did not list its tools: it cannot start: on purpose"
    assert done.stderr == f"host_setup manifest: {said}. Nothing was written.\n"
    assert (copy / "manifest.json").read_bytes() == before


def test_manifest_from_a_server_that_never_answers_says_how_long_it_waited(
    tmp_path: Path, setup_command: SetupCommand, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(PROJECT_DIR / "pyproject.toml", tmp_path)
    (tmp_path / SERVER_FILE).write_text("import sys\nsys.stdin.read()\n", encoding="utf-8")
    written = tmp_path / "manifest.json"
    written.write_text("{}", encoding="utf-8")
    for name, value in (("PROJECT_DIR", tmp_path), ("MANIFEST_FILE", written), ("LIST_SECONDS", 0.5)):
        monkeypatch.setattr(manifest, name, value)
    done = setup_command("manifest")
    said = f"{SERVER_FILE} did not list its tools: no answer within 0.5 s"
    assert (done.returncode, done.stderr) == (1, f"host_setup manifest: {said}. Nothing was written.\n")
    assert written.read_text(encoding="utf-8") == "{}"


FOREVER = 10**6


@pytest.mark.parametrize(
    ("platform", "refusals", "attempts"), [("win32", 2, 3), ("linux", 1, 1), ("win32", FOREVER, "several")]
)
def test_windows_refusing_a_file_another_process_holds_is_waited_out_for_a_moment_only(
    monkeypatch: pytest.MonkeyPatch, platform: str, refusals: int, attempts: int | str
) -> None:
    """Windows refuses to replace or open a file that another process holds open (a reader, a virus scan)."""
    monkeypatch.setattr(config_file.sys, "platform", platform)
    monkeypatch.setattr(config_file, "SHARING_SECONDS", 0.2)
    tried: list[int] = []

    def replace() -> str:
        tried.append(1)
        if len(tried) <= refusals:
            raise PermissionError(13, "Access denied")
        return "replaced"

    if attempts == 3:
        assert config_file.while_windows_shares(replace) == "replaced"
    else:
        with pytest.raises(PermissionError):
            config_file.while_windows_shares(replace)
    assert len(tried) == attempts if isinstance(attempts, int) else len(tried) > 3  # Given up at the deadline.
