"""The fork server's processes end as `python` would: the tests that fork a server rely on it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import fork_server_for
from tests.forking import Stdio

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the fork server runs on Linux only")

ENDINGS = {
    "normally": 'print("out")',
    "with a message": 'import sys; sys.exit("bye")',
    "with a code over 255": "import sys; sys.exit(300)",
    "with an error": 'raise ValueError("boom")',
    "with Ctrl-C": "raise KeyboardInterrupt",
    "after atexit": 'import atexit; atexit.register(print, "at exit")',
    "after a thread": 'import threading; threading.Timer(0.2, print, ["late"]).start()',
    "after a finalizer": 'class Cycle:\n    def __del__(self): raise RuntimeError("late")\nc = Cycle(); c.c = c; del c',
    "unable to flush": 'import os, sys\nsys.stdout = open(os.dup(1), "w")\nprint("x")\nos.close(sys.stdout.fileno())',
}


STDIO = 'import sys\nfor stream in sys.stdin, sys.stdout, sys.stderr: print(stream.encoding, stream.errors)\nprint("Ω")'


def real_and_forked(tmp_path: Path, code: str, environment: dict[str, str]) -> list[tuple[int, bytes, list[bytes]]]:
    """How `code` ended as `python` runs it, and as a fork: its status, stdout and last line of stderr."""
    script = tmp_path / "script.py"
    script.write_text(code, encoding="utf-8")
    real = subprocess.run([sys.executable, script], capture_output=True, cwd=tmp_path, env=environment, check=False)
    server = fork_server_for(environment)
    assert server, "no fork server starts as python would with these variables"
    stdio: list[Stdio] = [subprocess.DEVNULL, subprocess.PIPE, subprocess.PIPE]
    with server.start(str(script), [], tmp_path, environment, stdio) as forked:
        stdout, stderr = forked.communicate(timeout=30)
    return [
        (real.returncode, real.stdout, real.stderr.splitlines()[-1:]),
        (forked.wait(), stdout, stderr.splitlines()[-1:]),
    ]


@pytest.mark.parametrize("code", ENDINGS.values(), ids=ENDINGS.keys())
def test_a_fork_ends_with_the_status_output_and_last_words_of_python(tmp_path: Path, code: str) -> None:
    real, forked = real_and_forked(tmp_path, code, dict(os.environ))
    assert forked == real


@pytest.mark.parametrize("io_encoding", ["cp1252", "cp1252:replace", ":ignore", "ascii:", "latin-1:strict", ""])
def test_a_fork_makes_its_stdio_as_its_pythonioencoding_says(tmp_path: Path, io_encoding: str) -> None:
    real, forked = real_and_forked(tmp_path, STDIO, {**os.environ, "PYTHONIOENCODING": io_encoding})
    assert forked == real
