"""`install` into Claude Desktop's config and `check`, against temporary files only."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

import heartbeat
from tests.conftest import PROJECT_DIR, REPLY_TIMEOUT, run_cli, uv

OTHER_CONFIG = {
    "globalShortcut": "Ctrl+Space",
    "mcpServers": {"files": {"command": "npx", "args": ["-y", "files-server"], "env": {"ROOT": "/data"}}},
    "theme": "dark",
}


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
        "command": heartbeat.uv_path(),
        "args": ["--directory", str(PROJECT_DIR), "run", "heartbeat.py"],
    }


def siblings(path: Path) -> list[str]:
    return sorted(entry.name for entry in path.parent.iterdir())


def test_install_adds_the_entry_and_keeps_everything_else_in_order(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    heartbeat.install(config, "heartbeat", dry_run=False)
    written = json.loads(config.read_text(encoding="utf-8"))
    assert list(written) == ["globalShortcut", "mcpServers", "theme"]
    assert written["mcpServers"] == {**OTHER_CONFIG["mcpServers"], "heartbeat": expected_entry()}
    assert list(written["mcpServers"]) == ["files", "heartbeat"]
    assert Path(written["mcpServers"]["heartbeat"]["command"]).is_absolute()
    out = capsys.readouterr().out
    assert f'Added "heartbeat" in {config}.' in out
    assert "Fully quit Claude Desktop" in out
    assert "mcp-server-heartbeat.log" in out


def test_install_backs_up_the_previous_file_byte_for_byte(config: Path) -> None:
    before = config.read_bytes()
    heartbeat.install(config, "heartbeat", dry_run=False)
    backups = list(config.parent.glob("claude_desktop_config.json.*.bak"))
    assert len(backups) == 1
    assert backups[0].read_bytes() == before


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_install_keeps_the_file_permissions(config: Path) -> None:
    config.chmod(0o640)
    heartbeat.install(config, "heartbeat", dry_run=False)
    assert stat.S_IMODE(config.stat().st_mode) == 0o640


def test_a_second_install_writes_nothing(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    heartbeat.install(config, "heartbeat", dry_run=False)
    after_first = (config.read_bytes(), config.stat().st_mtime_ns, siblings(config))
    capsys.readouterr()
    heartbeat.install(config, "heartbeat", dry_run=False)
    assert (config.read_bytes(), config.stat().st_mtime_ns, siblings(config)) == after_first
    assert capsys.readouterr().out == f'"heartbeat" in {config} is already up to date; nothing was written.\n'


def test_install_updates_an_outdated_entry_and_keeps_its_other_keys(config: Path) -> None:
    stale = {"command": "uv", "args": ["run", "heartbeat.py"], "env": {"HEARTBEAT_LOG_LEVEL": "DEBUG"}}
    config.write_text(json.dumps({"mcpServers": {"heartbeat": stale}}), encoding="utf-8")
    heartbeat.install(config, "heartbeat", dry_run=False)
    entry = json.loads(config.read_text(encoding="utf-8"))["mcpServers"]["heartbeat"]
    assert entry == {**expected_entry(), "env": {"HEARTBEAT_LOG_LEVEL": "DEBUG"}}


def test_install_with_another_name(config: Path) -> None:
    heartbeat.install(config, "pulse", dry_run=False)
    servers = json.loads(config.read_text(encoding="utf-8"))["mcpServers"]
    assert servers["pulse"] == expected_entry()
    assert "heartbeat" not in servers


def test_dry_run_prints_target_and_entry_and_writes_nothing(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (config.read_bytes(), siblings(config))
    heartbeat.install(config, "heartbeat", dry_run=True)
    assert (config.read_bytes(), siblings(config)) == before
    out = capsys.readouterr().out
    assert out.startswith(f"Would write to {config}:\n")
    assert json.loads(out.split(":\n", 1)[1]) == {"heartbeat": expected_entry()}


def test_install_creates_the_file_and_its_folder(tmp_path: Path) -> None:
    config = tmp_path / "new" / "Claude" / "claude_desktop_config.json"
    heartbeat.install(config, "heartbeat", dry_run=False)
    assert json.loads(config.read_text(encoding="utf-8")) == {"mcpServers": {"heartbeat": expected_entry()}}
    assert siblings(config) == ["claude_desktop_config.json"]


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
    with pytest.raises(heartbeat.SetupError) as refused:
        heartbeat.install(config, "heartbeat", dry_run=False)
    assert str(config) in str(refused.value)
    assert problem in str(refused.value)
    assert str(refused.value).endswith("Nothing was written.")
    assert (config.read_bytes(), config.stat().st_mtime_ns, siblings(config)) == before


def test_the_cli_refuses_invalid_json_in_one_line_without_a_traceback(config: Path) -> None:
    config.write_text("{oops", encoding="utf-8")
    done = run_cli("install", "--config", str(config))
    assert done.returncode == 1
    assert done.stderr.startswith(f"heartbeat install: {config} is not valid JSON (")
    assert "Traceback" not in done.stderr
    assert config.read_text(encoding="utf-8") == "{oops"


def test_a_byte_order_mark_from_notepad_is_accepted_and_not_written_back(config: Path) -> None:
    config.write_bytes(b"\xef\xbb\xbf" + json.dumps(OTHER_CONFIG).encode())
    heartbeat.install(config, "heartbeat", dry_run=False)
    assert not config.read_bytes().startswith(b"\xef\xbb\xbf")
    assert json.loads(config.read_text(encoding="utf-8"))["theme"] == "dark"


def test_an_empty_config_file_is_treated_as_empty(config: Path) -> None:
    config.write_text("\n", encoding="utf-8")
    heartbeat.install(config, "heartbeat", dry_run=False)
    assert json.loads(config.read_text(encoding="utf-8")) == {"mcpServers": {"heartbeat": expected_entry()}}


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_install_writes_through_a_symlinked_config(config: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(config)
    heartbeat.install(link, "heartbeat", dry_run=False)
    assert link.is_symlink()
    assert json.loads(config.read_text(encoding="utf-8"))["mcpServers"]["heartbeat"] == expected_entry()


def test_windows_paths_survive_a_json_round_trip(tmp_path: Path) -> None:
    entry = heartbeat.desktop_entry(r"C:\Users\Ada Lovelace\.local\bin\uv.exe", r"C:\Users\Ada Lovelace\src\heartbeat")
    config = tmp_path / "claude_desktop_config.json"
    heartbeat.write_config(config, {"mcpServers": {"heartbeat": entry}})
    assert r'"C:\\Users\\Ada Lovelace\\.local\\bin\\uv.exe"' in config.read_text(encoding="utf-8")
    assert heartbeat.read_config(config)["mcpServers"]["heartbeat"] == entry
    assert entry["args"][1] == "C:\\Users\\Ada Lovelace\\src\\heartbeat"


def test_missing_uv_is_a_clear_error_saying_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UV", raising=False)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(heartbeat.SetupError, match=r"^uv not found\. Install it .*pip install uv"):
        heartbeat.uv_path()


@pytest.mark.parametrize(
    ("platform", "parts"),
    [
        ("darwin", ("Library", "Application Support", "Claude")),
        ("win32", ("Claude",)),
        ("linux", ("Claude",)),
    ],
)
def test_the_config_folder_follows_the_platform(
    monkeypatch: pytest.MonkeyPatch, private_home: Path, platform: str, parts: tuple[str, ...]
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setenv("APPDATA", str(private_home / "AppData" / "Roaming"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(private_home / ".config"))
    base = {"darwin": private_home, "win32": private_home / "AppData" / "Roaming", "linux": private_home / ".config"}
    assert heartbeat.claude_folder() == base[platform].joinpath(*parts)


def test_check_passes_against_the_real_server(tmp_path: Path) -> None:
    report = anyio.run(heartbeat.check, tmp_path / "absent.json", "heartbeat", REPLY_TIMEOUT)
    assert report["ok"] is True, report
    assert report["command"] == [expected_entry()["command"], *expected_entry()["args"]]
    assert report["source"] == "the entry install would write"
    assert report["protocol_version"] == "2025-11-25"
    assert report["server"] == f"heartbeat {heartbeat.VERSION}"
    assert report["greeting"] == "Hello check, my heart beats for you!"
    assert report["round_trip_ms"] > 0


def test_check_runs_the_command_the_config_holds_and_fails_cleanly_when_it_exits(config: Path) -> None:
    dies = {"command": sys.executable, "args": ["-c", "import sys; print('no luck', file=sys.stderr); sys.exit(3)"]}
    config.write_text(json.dumps({"mcpServers": {"heartbeat": dies}}), encoding="utf-8")
    done = run_cli("check", "--config", str(config), "--json")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert report["command"] == [dies["command"], *dies["args"]]
    assert report["source"] == str(config)
    assert report["error"] == "the server did not start or answer: Connection closed"
    assert "no luck" in report["server_stderr"]


def test_check_reports_a_command_that_cannot_start(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(config.parent / "no-such-uv")
    config.write_text(json.dumps({"mcpServers": {"heartbeat": {"command": missing}}}), encoding="utf-8")
    assert heartbeat.run_check(config, "heartbeat", REPLY_TIMEOUT, as_json=False) == 1
    out = capsys.readouterr().out
    assert out.startswith("heartbeat check: FAILED\n")
    assert f"  command:    {missing}\n" in out
    assert "  problem:    the server did not start or answer: " in out
    assert "No such file or directory" in out or "cannot find" in out


def test_check_gives_up_on_a_server_that_never_answers(config: Path) -> None:
    silent = {"command": sys.executable, "args": ["-c", "import time; time.sleep(60)"]}
    config.write_text(json.dumps({"mcpServers": {"heartbeat": silent}}), encoding="utf-8")
    report = anyio.run(heartbeat.check, config, "heartbeat", 1.0)
    assert report["ok"] is False
    assert report["error"] == "no complete answer within 1 s"


def test_install_from_the_cli_then_check_it(config: Path) -> None:
    env = {**os.environ, "HEARTBEAT_LOG_LEVEL": "WARNING"}
    for command in (["install"], ["check"]):
        done = subprocess.run(
            [uv(), "run", "--quiet", "heartbeat.py", *command, "--config", str(config)],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=REPLY_TIMEOUT * 2,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("heartbeat check: OK\n")
    assert f"  from:       {config}\n" in done.stdout
