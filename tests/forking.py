"""Server processes forked from one that has imported the server already (Linux), so that a test's
server starts in milliseconds instead of paying the SDK's import, a second, each time.

`python -m tests.forking` is that process: it imports the server module and the probe server, then
for each request on its socket forks a watcher, which forks the server and reports its pid and how it
ended. The server is a real process on real pipes that runs the same `__main__` code as
`python <server file>` would, in a fresh interpreter's state: this interpreter's own start and
imports are all it skips. Everything that is about the start itself runs `python` as hosts do.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import select
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

EXITED = struct.Struct("!i")  # The server's pid, then its Popen-style return code.
ENVIRONMENT_AT_START = ("PYTHON", "LC_", "LANG")  # Read as the interpreter starts: a fork cannot change them.


def read_at_start() -> dict[str, str]:
    """The environment variables that an interpreter reads as it starts."""
    return {name: value for name, value in os.environ.items() if name.startswith(ENVIRONMENT_AT_START)}


class Forked:
    """The part of `subprocess.Popen` that tests use, for a server forked by the fork server."""

    def __init__(
        self, connection: socket.socket, args: list[str], stdin: IO[bytes], stdout: IO[bytes], stderr: IO[bytes]
    ):
        self.args = args
        self.connection = connection
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.pid = self._receive()
        self.returncode: int | None = None

    def _receive(self, timeout: float | None = None) -> int:
        self.connection.settimeout(timeout)
        try:
            data = self.connection.recv(EXITED.size, socket.MSG_WAITALL)
        except (TimeoutError, BlockingIOError):
            raise subprocess.TimeoutExpired(self.args, timeout or 0) from None
        assert len(data) == EXITED.size, "the fork server ended"
        return EXITED.unpack(data)[0]

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.returncode = self._receive(timeout=0)
            except subprocess.TimeoutExpired:
                return None
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self._receive(timeout)
            self.connection.close()
        return self.returncode

    def send_signal(self, number: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, number)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkServer:
    """The fork server for one pytest process, started at its first use."""

    def __init__(self, project_dir: Path, server_module: str) -> None:
        self.environment = read_at_start()
        self.address = f"\0heartbeat-tests-{os.getpid()}-{id(self)}"  # Linux's abstract namespace: no file.
        listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listening.bind(self.address)
        listening.listen()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.forking", str(listening.fileno()), server_module],
            cwd=project_dir,
            stdin=subprocess.PIPE,  # Its end, when this process ends, ends the fork server.
            stdout=subprocess.DEVNULL,
            pass_fds=[listening.fileno()],
        )
        listening.close()

    def serves_as_started(self) -> bool:
        """Whether a fork starts as `python` would now (no variable an interpreter reads at start changed)."""
        return read_at_start() == self.environment

    def start(self, args: list[str], target: str, cwd: Path) -> Forked:
        """`target` (a file, or `-m module`) run with `args` in `cwd`, on fresh pipes."""
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(self.address)
        stdin_read, stdin_write = os.pipe()
        stdout_read, stdout_write = os.pipe()
        stderr_read, stderr_write = os.pipe()
        request = json.dumps({"target": target, "args": args, "cwd": str(cwd), "environment": dict(os.environ)})
        socket.send_fds(connection, [request.encode()], [stdin_read, stdout_write, stderr_write])
        for end in (stdin_read, stdout_write, stderr_write):
            os.close(end)
        pipes = open(stdin_write, "wb"), open(stdout_read, "rb"), open(stderr_read, "rb")  # noqa: SIM115
        return Forked(connection, [target, *args], *pipes)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def serve(listening: socket.socket) -> dict[str, Any]:
    """Fork a watcher for each request, for ever; in the server's process, return its request."""
    while True:
        ready, _, _ = select.select([listening, sys.stdin], [], [])
        if sys.stdin in ready:
            sys.exit(0)
        connection, _ = listening.accept()
        message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
        with_children_reaped()
        if os.fork() == 0:
            listening.close()
            if (pid := os.fork()) == 0:
                connection.close()
                for number, fd in enumerate(fds):
                    os.dup2(fd, number)
                    os.close(fd)
                return json.loads(message)
            for fd in fds:
                os.close(fd)
            connection.sendall(EXITED.pack(pid))
            _, status = os.waitpid(pid, 0)
            connection.sendall(EXITED.pack(-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)))
            os._exit(0)
        connection.close()
        for fd in fds:
            os.close(fd)


def with_children_reaped() -> None:
    """Reap the watchers that have ended (each ends with its server)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run(request: dict[str, Any]) -> None:
    """What `python <target> <args>` would do, in `cwd` with `environment`."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["environment"])
    target: str = request["target"]
    if target.startswith("-m "):
        sys.argv = [target, *request["args"]]
        sys.path[0] = request["cwd"]
        runpy.run_module(target.removeprefix("-m "), run_name="__main__", alter_sys=True)
    else:
        sys.argv = [target, *request["args"]]
        sys.path[0] = str(Path(target).resolve().parent)
        runpy.run_path(target, run_name="__main__")


if __name__ == "__main__":
    listening_fd, server_module = sys.argv[1:]
    importlib.import_module(server_module)  # What it imports stays: the SDK, the kit. It runs as __main__.
    del sys.modules[server_module]
    run(serve(socket.socket(fileno=int(listening_fd))))
