"""What only a Windows Python shows: uv.exe starting the server as the hosts do, Ctrl-C and Ctrl-Break,
and a command `check` prints, pasted into cmd.exe. `.ci/windows` runs these, with the transport and
setup suites, on Windows CPythons under Wine (docs/development.md)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kit import apps
from tests.conftest import (
    INITIALIZED,
    MODERN_VERSION,
    NAME,
    PROBE,
    PROJECT_DIR,
    REPLY_TIMEOUT,
    SERVER_FILE,
    SERVER_ONLY,
    StdioServer,
    assert_clean_exit,
    call_request,
    copy_project,
    envelope,
    host_launch,
    initialize_request,
    sample_call,
    uv,
)

pytestmark = pytest.mark.skipif(
    sys.platform != "win32", reason="a Windows Python's tests: .ci/windows runs them under Wine"
)


def test_uv_exe_starts_it_as_the_hosts_do_in_both_protocol_eras() -> None:
    legacy, modern = StdioServer(launch=host_launch()), StdioServer(launch=host_launch())
    assert legacy.initialize()["result"]["serverInfo"]["name"] == NAME
    discovered = modern.request({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": envelope()})
    assert MODERN_VERSION in discovered["result"]["supportedVersions"]
    for number in (2, 3):  # Left owed at EOF: both are answered.
        legacy.send(sample_call(number))
    legacy.close_stdin()
    assert_clean_exit(legacy)
    assert [json.loads(line)["result"]["isError"] for line in legacy.remaining_stdout()] == [False, False]
    modern.close_stdin()
    assert_clean_exit(modern)


CONSOLE_HELPER = """
import json, os, signal, subprocess, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the whole console: this helper is in it too.
server = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
server.stdin.write(sys.stdin.buffer.readline())
server.stdin.flush()
first = server.stdout.readline()
os.kill(0, signal.CTRL_C_EVENT)
server.wait(timeout=30)  # Ended by Ctrl-C alone: communicate closes stdin, and its EOF would end it too.
stdout, stderr = server.communicate(timeout=30)
print(json.dumps({"code": server.returncode, "first": json.loads(first), "stderr": stderr.decode(errors="replace")}))
"""


def test_ctrl_c_in_its_console_ends_it_with_one_line() -> None:
    """Ctrl-C reaches every process of a console: a helper in a console of its own starts the server,
    presses it, and reports."""
    done = subprocess.run(
        [sys.executable, "-c", CONSOLE_HELPER, sys.executable, str(PROJECT_DIR / SERVER_FILE)],
        input=json.dumps(initialize_request()) + "\n",
        capture_output=True,
        text=True,
        timeout=REPLY_TIMEOUT * 2,
        creationflags=subprocess.CREATE_NEW_CONSOLE if sys.platform == "win32" else 0,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["code"], report["first"]["id"]) == (0, 1)
    assert "Traceback" not in report["stderr"]
    assert report["stderr"].splitlines()[-1].endswith(f"INFO {NAME}: stopping on SIGINT")


def test_ctrl_break_as_windows_delivers_it_ends_it_with_one_line() -> None:
    """Wine cannot press Ctrl-Break; Windows delivers it to Python as SIGBREAK, raised here in the server."""
    probe = StdioServer(launch=PROBE)
    probe.initialize()
    probe.send(call_request(2, "signal", {"which": "SIGBREAK"}))
    stderr = assert_clean_exit(probe)
    assert stderr[-1].endswith("INFO probe: stopping on SIGBREAK")


def test_what_check_prints_runs_when_pasted_into_cmd(tmp_path: Path) -> None:
    """From a folder and with a uv whose paths have spaces, as under C:\\Users\\Ada Lovelace."""
    project, tools = tmp_path / "my server", tmp_path / "my tools"
    copy_project(project, *SERVER_ONLY)
    tools.mkdir()
    shutil.copyfile(uv(), tools / "uv.exe")
    config = tmp_path / "Claude" / "claude_desktop_config.json"
    environment = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}", "UV": ""}
    for command in ("install", "check"):
        done = subprocess.run(
            [sys.executable, "host_setup.py", command, "--config", str(config)],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=REPLY_TIMEOUT * 8,
            env=environment,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    [line] = [line.removeprefix("  command:    ") for line in done.stdout.splitlines() if "command:" in line]
    assert line.startswith(f'"{tools / "uv.exe"}" --directory "{project}" run ')
    pasted = subprocess.run(
        f'cmd.exe /d /s /c "{line}"',
        input=json.dumps(initialize_request()) + "\n" + json.dumps(INITIALIZED) + "\n",
        capture_output=True,
        text=True,
        timeout=REPLY_TIMEOUT * 2,
        check=False,
    )
    assert pasted.returncode == 0, pasted.stderr
    assert json.loads(pasted.stdout.splitlines()[0])["result"]["serverInfo"]["name"] == NAME


def test_hosts_prints_commands_that_windows_splits_back_into_their_arguments(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "my server", *SERVER_ONLY)
    printed, listed = (
        subprocess.run(
            [sys.executable, "host_setup.py", "hosts", "claude-code", *json_flag],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=REPLY_TIMEOUT,
            check=True,
        ).stdout
        for json_flag in ([], ["--json"])
    )
    [setup] = json.loads(listed)
    [line] = [line for line in printed.splitlines() if line.startswith("claude mcp add")]
    assert split_as_windows_does(line) == setup["command"]
    assert f'"{project}"' in line


def split_as_windows_does(line: str) -> list[str]:
    """The arguments a Windows program sees in `line` (CommandLineToArgvW), after its program name."""
    import ctypes  # noqa: PLC0415 (Windows' own)

    shell32 = ctypes.CDLL("shell32")  # On x64 the WinDLL and CDLL conventions are one.
    shell32.CommandLineToArgvW.restype = ctypes.POINTER(ctypes.c_wchar_p)
    count = ctypes.c_int()
    arguments = shell32.CommandLineToArgvW("program " + line, ctypes.byref(count))
    return [arguments[index] for index in range(1, count.value)]


def test_a_lockfile_the_app_holds_open_means_it_runs_and_one_left_behind_does_not(tmp_path: Path) -> None:
    """Electron's single-instance lock on Windows: `lockfile`, open for writing and shared for reading only,
    deleted by the system as the app ends."""
    import ctypes  # noqa: PLC0415 (Windows' own)

    lock = tmp_path / "lockfile"
    kernel32 = ctypes.CDLL("kernel32")
    kernel32.CreateFileW.restype = ctypes.c_void_p
    word, pointer = ctypes.c_uint32, ctypes.c_void_p
    kernel32.CreateFileW.argtypes = [ctypes.c_wchar_p, word, word, pointer, word, word, pointer]
    kernel32.CloseHandle.argtypes = [pointer]
    generic_write, share_read, create_always, delete_on_close = 0x40000000, 1, 2, 0x04000000
    handle = kernel32.CreateFileW(str(lock), generic_write, share_read, None, create_always, delete_on_close, None)
    assert handle not in (None, ctypes.c_void_p(-1).value)
    try:
        assert apps.running_app(tmp_path) == f"it holds {lock} open"
    finally:
        kernel32.CloseHandle(handle)
    assert not lock.exists()
    lock.write_bytes(b"")
    assert apps.running_app(tmp_path) is None
