"""Which Claude Desktop install the setup tool finds, on each OS and Windows layout, simulated in temporary folders.

The platform is a parameter of `find_claude_desktop`, so nothing here patches `sys.platform`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from kit import apps, checker, edits, project
from tests.conftest import NAME, PROJECT_DIR, REPLY_TIMEOUT, run_python

PACKAGE = "Claude_pzs8sxrjxfjjc"

pytestmark = pytest.mark.usefixtures("prepared")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Windows-like home: APPDATA and LOCALAPPDATA under it, nothing installed yet."""
    home = tmp_path / "José"
    home.mkdir()
    monkeypatch.setattr(Path, "home", lambda: home)
    for variable in ("HOME", "USERPROFILE", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(variable, str(home))
    monkeypatch.setenv("APPDATA", str(home / "AppData" / "Roaming"))
    monkeypatch.setenv("LOCALAPPDATA", str(home / "AppData" / "Local"))
    return home


def package(home: Path, name: str = PACKAGE, started: bool = True) -> Path:
    """A packaged app's folder; the app makes LocalCache\\Roaming the first time it starts."""
    folder = home / "AppData" / "Local" / "Packages" / name
    (folder / "LocalCache" / "Roaming" if started else folder).mkdir(parents=True)
    return folder


def packaged_config(home: Path, name: str = PACKAGE) -> Path:
    return home / "AppData" / "Local" / "Packages" / name / "LocalCache" / "Roaming" / "Claude" / apps.CONFIG_NAME


def classic_config(home: Path) -> Path:
    return home / "AppData" / "Roaming" / "Claude" / apps.CONFIG_NAME


def write(path: Path, servers: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")


def windows(home: Path) -> apps.DesktopInstall:
    return apps.find_claude_desktop("win32", os.environ, home)


def test_the_packaged_app_reads_its_local_cache(home: Path) -> None:
    package(home)
    assert windows(home) == apps.DesktopInstall(
        f"Claude Desktop, Windows, packaged app ({PACKAGE})",
        packaged_config(home),
        home / "AppData" / "Local" / "Claude" / "Logs",
    )


def test_an_earlier_packaged_build_logs_beside_its_config(home: Path) -> None:
    package(home)
    (packaged_config(home).parent / "logs").mkdir(parents=True)
    assert windows(home).logs == packaged_config(home).parent / "logs"


def test_the_classic_install_reads_appdata(home: Path) -> None:
    assert windows(home) == apps.DesktopInstall(
        "Claude Desktop, Windows, classic install",
        classic_config(home),
        classic_config(home).parent / "logs",
        found=False,
    )
    classic_config(home).parent.mkdir(parents=True)
    assert windows(home).found


def test_a_package_never_started_leaves_the_classic_file_in_force(home: Path) -> None:
    package(home, started=False)
    assert windows(home).config == classic_config(home)


def test_with_both_the_packaged_file_is_live_and_the_classic_one_is_named_as_ignored(home: Path) -> None:
    package(home)
    write(classic_config(home), {})
    found = windows(home)
    assert (found.config, found.ignored) == (packaged_config(home), classic_config(home))


def test_two_packages_that_no_config_tells_apart_are_refused_with_both_listed(home: Path) -> None:
    package(home)
    package(home, "Claude_other")
    with pytest.raises(project.SetupError) as refused:
        windows(home)
    message = str(refused.value)
    assert message.startswith("found 2 packaged Claude Desktop apps and cannot tell which one you use: ")
    assert str(packaged_config(home)) in message
    assert str(packaged_config(home, "Claude_other")) in message
    assert message.endswith("Name its config with --config.")


def test_of_two_packages_the_one_with_a_config_is_chosen(home: Path) -> None:
    package(home)
    package(home, "Claude_other")
    write(packaged_config(home, "Claude_other"), {})
    assert windows(home).config == packaged_config(home, "Claude_other")


def test_config_always_wins_and_keeps_the_found_app_s_logs(home: Path, tmp_path: Path) -> None:
    package(home)
    package(home, "Claude_other")
    named = tmp_path / "mine.json"
    assert apps.claude_desktop(named, "win32") == apps.DesktopInstall(
        "Claude Desktop, Windows, packaged app", named, None, named=True
    )
    assert apps.claude_desktop(packaged_config(home), "darwin").config == packaged_config(home)


def test_macos_and_linux(home: Path) -> None:
    support = home / "Library" / "Application Support" / "Claude"
    (home / "Applications" / "Claude.app").mkdir(parents=True)
    assert apps.find_claude_desktop("darwin", os.environ, home) == apps.DesktopInstall(
        "Claude Desktop, macOS", support / apps.CONFIG_NAME, home / "Library" / "Logs" / "Claude"
    )
    linux = home / ".config" / "Claude"
    assert apps.find_claude_desktop("linux", {}, home) == apps.DesktopInstall(
        "Claude Desktop, Linux", linux / apps.CONFIG_NAME, linux / "logs", found=False
    )
    linux.mkdir(parents=True)
    assert apps.find_claude_desktop("linux", {}, home).found


def test_install_writes_the_packaged_file_names_the_other_and_check_names_the_layout(
    home: Path, capsys: pytest.CaptureFixture[str], prepared: list[object], forked_uv: str
) -> None:
    package(home)
    write(classic_config(home), {})
    edits.install(windows(home), NAME, dry_run=False)
    assert NAME in json.loads(packaged_config(home).read_text(encoding="utf-8"))["mcpServers"]
    assert json.loads(classic_config(home).read_text(encoding="utf-8")) == {"mcpServers": {}}
    out = capsys.readouterr().out
    assert (
        f"Claude Desktop here: Claude Desktop, Windows, packaged app ({PACKAGE}); it reads {packaged_config(home)}\n"
        in out
    )
    assert f"Not read by this app, so left as it is: {classic_config(home)}\n" in out
    assert f"Its log: {home / 'AppData' / 'Local' / 'Claude' / 'Logs' / f'mcp-server-{NAME}.log'}\n" in out
    report = anyio.run(checker.check, windows(home), NAME, REPLY_TIMEOUT)
    assert report["ok"] is True, report
    assert (report["app"], report["config"], report["source"]) == (
        f"Claude Desktop, Windows, packaged app ({PACKAGE})",
        str(packaged_config(home)),
        str(packaged_config(home)),
    )


def test_check_fails_an_entry_that_only_a_file_the_app_never_reads_has(home: Path) -> None:
    package(home)
    write(classic_config(home), {NAME: apps.desktop_entry(project.uv_path(), str(PROJECT_DIR))})
    with pytest.raises(project.SetupError) as refused:
        anyio.run(checker.check, windows(home), NAME, REPLY_TIMEOUT)
    assert str(refused.value) == (
        f'the entry "{NAME}" is in {classic_config(home)}, which this app (Claude Desktop, Windows, packaged app '
        f"({PACKAGE})) never reads; it reads {packaged_config(home)}. {edits.REINSTALL}"
    )


def test_uninstall_finds_the_entry_where_install_put_it(home: Path) -> None:
    package(home)
    edits.install(windows(home), NAME, dry_run=False)
    edits.uninstall(windows(home), NAME, dry_run=False)
    assert json.loads(packaged_config(home).read_text(encoding="utf-8")) == {"mcpServers": {}}


@pytest.mark.parametrize("command", [["install"], ["check"], ["hosts"], ["install", "--dry-run"], ["uninstall"]])
def test_a_cp1252_console_gets_every_line_without_a_traceback(
    tmp_path: Path, command: list[str], forked_uv: str
) -> None:
    home = tmp_path / "José Ωmega"  # Ω is not in cp1252.
    config = home / apps.CONFIG_NAME
    arguments = command if command == ["hosts"] else [*command, "--config", str(config)]
    done = run_python(
        [sys.executable, "host_setup.py", *arguments],
        env={**os.environ, "PYTHONIOENCODING": "cp1252", "HOME": str(home), "XDG_CONFIG_HOME": str(home)},
    )
    stdout, stderr = done.stdout.decode("cp1252"), done.stderr.decode("cp1252")
    assert (done.returncode, stderr) == (0, ""), stderr
    assert "Traceback" not in stdout
    assert str(home).replace("Ω", "\\u03a9") in stdout
