"""The fork server's processes start and end as `python` would: the tests that fork a server rely on it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import fork_server_for, fork_servers, started_for_real
from tests.forking import CLOSED, Stdio, write_relay

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the fork server runs on Linux only")

ENDINGS = {
    "normally": 'print("out")',
    "with a message": 'import sys; sys.exit("bye")',
    "with a code over 255": "import sys; sys.exit(300)",
    "with an error": 'raise ValueError("boom")',
    "with Ctrl-C": "raise KeyboardInterrupt",
    "by a SIGINT": "import os, signal\nos.kill(os.getpid(), signal.SIGINT)",
    "after atexit": 'import atexit; atexit.register(print, "at exit")',
    "after a thread": 'import threading; threading.Timer(0.2, print, ["late"]).start()',
    "after a finalizer": 'class Cycle:\n    def __del__(self): raise RuntimeError("late")\nc = Cycle(); c.c = c; del c',
    "unable to flush": 'import os, sys\nsys.stdout = open(os.dup(1), "w")\nprint("x")\nos.close(sys.stdout.fileno())',
}


NONE_STREAMS = (  # Which streams are None, said where it can be.
    "import sys\nprint([s is None for s in (sys.stdin, sys.stdout, sys.__stderr__)], file=sys.stderr or sys.stdout)"
)
STDIO = 'import sys\nfor stream in sys.stdin, sys.stdout, sys.stderr: print(stream.encoding, stream.errors)\nprint("Ω")'
CODE = "import sys\nprint(sys.argv, repr(sys.path[0]), sorted(vars()), __loader__, __spec__, sys.stdout.write_through)"


def real_and_forked(
    tmp_path: Path, code: str, environment: dict[str, str], stdio: list[Stdio] | None = None
) -> list[tuple[int, bytes, list[bytes]]]:
    """How `code` ended as `python` runs it, and as a fork, with `stdio` (by default, stdin the null device and
    stdout and stderr pipes): its status, stdout and last line of stderr."""
    script = tmp_path / "script.py"
    script.write_text(code, encoding="utf-8")
    stdio = stdio or [subprocess.DEVNULL, subprocess.PIPE, subprocess.PIPE]
    server = fork_server_for(environment)
    assert server, "no fork server starts as python would with these variables"
    ended: list[tuple[int, bytes, list[bytes]]] = []
    for started in (
        started_for_real([sys.executable, str(script)], stdio, environment, tmp_path),
        server.start(str(script), [], tmp_path, environment, stdio),
    ):
        with started:
            stdout, stderr = started.communicate(timeout=30)
        ended.append((started.wait(), stdout or b"", (stderr or b"").splitlines()[-1:]))
    return ended


@pytest.mark.parametrize("code", ENDINGS.values(), ids=ENDINGS.keys())
def test_a_fork_ends_with_the_status_output_and_last_words_of_python(tmp_path: Path, code: str) -> None:
    real, forked = real_and_forked(tmp_path, code, dict(os.environ))
    assert forked == real


@pytest.mark.parametrize("io_encoding", ["cp1252", "cp1252:replace", ":ignore", "ascii:", "latin-1:strict", ""])
def test_a_fork_makes_its_stdio_as_its_pythonioencoding_says(tmp_path: Path, io_encoding: str) -> None:
    real, forked = real_and_forked(tmp_path, STDIO, {**os.environ, "PYTHONIOENCODING": io_encoding})
    assert forked == real


@pytest.mark.parametrize("closed", [0, 1, 2], ids=["stdin", "stdout", "stderr"])
def test_a_fork_started_with_a_descriptor_closed_has_no_stream_for_it(tmp_path: Path, closed: int) -> None:
    stdio: list[Stdio] = [subprocess.DEVNULL, subprocess.PIPE, subprocess.PIPE]
    stdio[closed] = CLOSED
    real, forked = real_and_forked(tmp_path, NONE_STREAMS, dict(os.environ), stdio)
    assert forked == real


def test_a_relay_forks_python_u_c_as_xdist_starts_a_worker_and_it_runs_as_python_would(tmp_path: Path) -> None:
    stand_in = write_relay(tmp_path / "relay" / "python", sys.executable, fork_servers())
    code = f'{CODE}\nprint("mcp" in sys.modules, file=sys.stderr)'
    real, forked = (
        subprocess.run(
            [python, "-u", "-c", code, "an argument"], cwd=tmp_path, capture_output=True, timeout=30, check=True
        )
        for python in (sys.executable, stand_in)
    )
    assert forked.stdout == real.stdout
    assert (real.stderr, forked.stderr) == (b"False\n", b"True\n")  # Forked: it started with the SDK imported.
