"""No clone needed: uvx builds the server from a folder or a git URL and serves it from anywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import host_setup as setup
from kit import apps, edits, hosts, project
from kit.identity import scripts
from tests.conftest import (
    NAME,
    PROJECT_DIR,
    SERVER_MODULE,
    SERVER_ONLY,
    StdioServer,
    assert_clean_exit,
    copy_project,
    run_python,
    sample_call,
)

SCRIPT = next(name for name, module in scripts(setup.__file__).items() if module == SERVER_MODULE)
SETUP_SCRIPT = next(name for name, module in scripts(setup.__file__).items() if module != SERVER_MODULE)


def serves_a_call(source: str, where: Path) -> None:
    """`uvx --from source <the server's script>`, started in `where`, answers the handshake and a tool call."""
    process = StdioServer(launch=[project.uvx_path(), "--python", sys.executable, "--from", source, SCRIPT], cwd=where)
    assert process.initialize()["result"]["serverInfo"]["name"] == NAME
    answer = process.request(sample_call(2))
    assert answer["result"]["isError"] is False, answer
    process.close_stdin()
    assert_clean_exit(process)


def test_uvx_builds_the_server_from_a_folder_and_serves_it_from_another(tmp_path: Path) -> None:
    serves_a_call(str(PROJECT_DIR), tmp_path)


def test_uvx_builds_the_server_from_a_git_url(tmp_path: Path, git_url: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    serves_a_call(git_url, elsewhere)


def run_installed_setup_tool(
    source: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The setup tool as uvx installs it from `source`: a package in uv's cache, with no checkout beside it."""
    return subprocess.run(
        [project.uvx_path(), "--python", sys.executable, "--from", source, SETUP_SCRIPT, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_setup_tool_run_by_uvx_sets_hosts_up_from_where_uvx_fetched_it(
    tmp_path: Path, git_url: str, instant_uv: dict[str, str]
) -> None:
    """Its first start, through uvx, is `test_uvx_builds_the_server_from_a_git_url`'s subject: a stand-in's here."""
    config = tmp_path / "claude_desktop_config.json"
    printed, installed = (
        run_installed_setup_tool(git_url, *arguments, cwd=tmp_path, env=instant_uv)
        for arguments in (["hosts", "claude-code", "--json"], ["install", "--config", str(config)])
    )
    assert (printed.returncode, installed.returncode) == (0, 0), printed.stderr + installed.stderr
    [claude_code] = json.loads(printed.stdout)
    *_, uvx, source_flag, source, script = claude_code["command"]
    assert (Path(uvx).is_absolute(), Path(uvx).stem, source_flag, source, script) == (
        True,
        "uvx",
        "--from",
        git_url,
        SCRIPT,
    )
    entry = json.loads(config.read_text(encoding="utf-8"))["mcpServers"][NAME]
    assert entry == {"command": uvx, "args": ["--from", git_url, SCRIPT]}  # Never a folder in uv's cache.
    refused = run_installed_setup_tool(git_url, "uninstall", "--config", str(tmp_path), cwd=tmp_path)
    last = refused.stderr.splitlines()[-1]  # After uvx's own lines.
    assert (refused.returncode, last.partition(":")[0]) == (1, f"{SETUP_SCRIPT} uninstall"), refused.stderr


def test_installed_from_a_folder_whose_name_has_a_space_it_names_that_folder(tmp_path: Path) -> None:
    folder = tmp_path / "my server"
    copy_project(folder, *SERVER_ONLY)
    done = run_installed_setup_tool(str(folder), "hosts", "claude-desktop", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [desktop] = json.loads(done.stdout)
    assert json.loads(desktop["content"])["mcpServers"][NAME]["args"] == ["--from", str(folder), SCRIPT]


def test_every_host_setup_can_start_it_with_uvx() -> None:
    source = "git+https://github.com/OWNER/my-server"
    uvx = project.uvx_path()
    assert Path(uvx).is_absolute()
    for host in hosts.host_setups(NAME, source):
        written = " ".join(host.command) if host.command else str(host.content)
        assert uvx in written, host.key
        assert "--from" in written, host.key
        assert source in written, host.key
        assert str(PROJECT_DIR) not in written, host.key


def test_install_writes_the_uvx_entry_with_uvx_s_absolute_path(tmp_path: Path, prepared: list[object]) -> None:
    config = tmp_path / "claude_desktop_config.json"
    entry = apps.launch_entry("git+https://github.com/OWNER/my-server")
    edits.install(apps.claude_desktop(config), NAME, dry_run=False, entry=entry)
    written = json.loads(config.read_text(encoding="utf-8"))["mcpServers"][NAME]
    assert written == {
        "command": project.uvx_path(),
        "args": ["--from", "git+https://github.com/OWNER/my-server", SCRIPT],
    }
    assert prepared == [written]


@pytest.mark.parametrize("arguments", [["hosts", "--uvx", "claude-code"], ["hosts", "claude-code", "--uvx"]])
def test_uvx_with_no_source_means_this_folder(arguments: list[str]) -> None:
    done = run_python([sys.executable, "host_setup.py", *arguments, "--json"])
    assert done.returncode == 0, done.stderr
    [claude_code] = json.loads(done.stdout)
    assert claude_code["command"][-4:] == [project.uvx_path(), "--from", str(PROJECT_DIR), SCRIPT]
