"""Python processes forked from one that has imported the server already (Linux), so that a test's
server, setup tool or copy starts in milliseconds instead of paying the SDK's import, a second, each time.

`python -m tests.forking` is that process: it imports the server module (and with it the SDK and
the kit, which the probe server uses too), then for each request on its socket forks a watcher,
which forks the process and reports its pid and how it ended. That process is real, on real pipes
or files (or with one closed), with stdio made for them as Python makes it (PYTHONIOENCODING too),
and runs the same `__main__` code as `python <file>` would; for a copy's file, it first forgets the
project's own modules, so the copy imports its own. This interpreter's own start and its imports of
packages are all it skips, and at its end the teardown of those modules (`exit_without_teardown`).
Everything else about the start itself (another variable read at start, Ctrl-C while importing)
starts `python`, as hosts do.

`python tests/forking.py relay [SERVERS, REAL] ARGS` stands in for a program the kit starts (uv, or
this Python) where a test is about what the kit does with the server, not how uv starts it: `REAL
--directory D run ... FILE ARGS` or `REAL FILE ARGS` of project code is forked, with this process's
stdio, by the first of SERVERS ([ADDRESS, VARIABLES] each) whose fork starts as `python` would with
this process's variables; it ends as the fork ends. Anything else, or a start none matches, runs REAL.
It stands in for the Python of xdist's workers too, whose `python -u -c CODE` it forks the same way:
each worker then starts with the SDK imported.
"""

from __future__ import annotations

import atexit
import codecs
import contextlib
import gc
import importlib
import io
import itertools
import json
import os
import runpy
import select
import shlex
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from importlib.machinery import BuiltinImporter
from pathlib import Path
from types import ModuleType
from typing import IO, Any, ClassVar, NoReturn

PROJECT_DIR = Path(__file__).resolve().parent.parent
EXITED = struct.Struct("!i")  # The server's pid, then its Popen-style return code.
ENVIRONMENT_AT_START = ("PYTHON", "LC_", "LANG")  # Read as the interpreter starts: a fork cannot change them...
IO_ENCODING = "PYTHONIOENCODING"  # ...but for this one: a fork makes its stdio again, as Python would (`fresh_stdio`).
UV_RUN_OPTIONS = ("--quiet", "--no-dev", "--frozen")
FORWARDED_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP")
FINALIZATION_FAILED = 120  # Python's status when stdout or stderr cannot be flushed as it ends.
run_ended_by: list[BaseException | None] = []  # In a fork, how its run ended: with nothing raised, or with what.


def read_at_start(environment: Mapping[str, str]) -> dict[str, str]:
    """The variables of `environment` that an interpreter reads as it starts."""
    return {name: value for name, value in environment.items() if name.startswith(ENVIRONMENT_AT_START)}


def starts_alike(environment: Mapping[str, str], started_with: Mapping[str, str]) -> bool:
    """Whether a fork given `environment`, by a fork server that started with `started_with` (its `read_at_start`),
    starts as `python` would: no variable read at start differs, but PYTHONIOENCODING where the server had none."""
    given = read_at_start(environment)
    if IO_ENCODING not in started_with:
        given.pop(IO_ENCODING, None)
    return given == started_with


Stdio = int | IO[Any] | None  # As Popen takes them: PIPE, DEVNULL, a file descriptor or file, or None (inherit)...
CLOSED = -10  # ...or, not Popen's, this: the process starts with that descriptor closed, as by a shell's `<&-`.


class Forked:
    """The part of `subprocess.Popen` that tests use, for a server forked by the fork server."""

    def __init__(self, connection: socket.socket, args: list[str], pipes: list[IO[bytes] | None]) -> None:
        self.args = args
        self.connection = connection
        self.stdin, self.stdout, self.stderr = pipes
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

    def communicate(self, input: bytes | None = None, timeout: float | None = None) -> tuple[bytes, bytes]:
        """As Popen's: `input` written and stdin closed, stdout and stderr read to their end, the process waited
        for. What was not a pipe reads as b""."""
        deadline = None if timeout is None else time.monotonic() + timeout
        read: list[bytes] = [b"", b""]

        def drain(index: int, pipe: IO[bytes]) -> None:
            with pipe:
                read[index] = pipe.read()

        drains: list[threading.Thread] = []
        for index, pipe in enumerate((self.stdout, self.stderr)):
            if pipe and not pipe.closed:
                drains.append(threading.Thread(target=drain, args=(index, pipe)))
                drains[-1].start()
        if self.stdin and not self.stdin.closed:
            try:
                with self.stdin:
                    self.stdin.write(input or b"")
            except BrokenPipeError:
                pass  # As Popen: a process that ended without reading all of its input.
        for thread in drains:
            thread.join(None if deadline is None else max(deadline - time.monotonic(), 0))
            if thread.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
        self.wait(None if deadline is None else max(deadline - time.monotonic(), 0))
        return read[0], read[1]

    def send_signal(self, number: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, number)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def __enter__(self) -> Forked:
        return self

    def __exit__(self, *_: object) -> None:
        for pipe in (self.stdout, self.stderr, self.stdin):
            if pipe:
                pipe.close()
        self.wait()


class ForkServer:
    """A fork server: started here (`started`), or one that another process started, shared (`shared`)."""

    numbers: ClassVar[Iterator[int]] = itertools.count()

    def __init__(self, address: str, environment: dict[str, str], process: subprocess.Popen[bytes] | None = None):
        self.address = address
        self.environment = environment  # Read at start, as its Python has them: a C locale adds LC_CTYPE (PEP 538).
        self.process = process

    @classmethod
    def started(cls, server_module: str, environment: Mapping[str, str]) -> ForkServer:
        """One that imports `server_module`, started with `environment`; it ends when this process does."""
        address = f"\0fork-server-{os.getpid()}-{next(cls.numbers)}"  # Linux's abstract namespace: no file.
        listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listening.bind(address)
        listening.listen()
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.forking", str(listening.fileno()), server_module],
            cwd=PROJECT_DIR,
            stdin=subprocess.PIPE,  # Its end, when this process ends, ends the fork server.
            stdout=subprocess.PIPE,  # One line, at once: the variables it started with.
            env=environment,
            pass_fds=[listening.fileno()],
        )
        listening.close()
        assert process.stdout
        said: dict[str, str] | None = json.loads(process.stdout.readline() or "null")
        assert said is not None, "the fork server ended as it started"
        return cls(address, said, process)

    @classmethod
    def shared(cls, handle: str) -> ForkServer:
        """The fork server whose `handle()` this is."""
        address, environment = json.loads(handle)
        return cls(address, environment)

    def handle(self) -> str:
        """What another process (xdist's worker) needs to use this fork server."""
        return json.dumps([self.address, self.environment])

    def starts_as_python_would(self, environment: Mapping[str, str]) -> bool:
        """Whether a fork started with `environment` starts as `python` would."""
        return starts_alike(environment, self.environment)

    def start(
        self, target: str, args: list[str], cwd: Path, environment: Mapping[str, str], stdio: list[Stdio]
    ) -> Forked:
        """`target` (a file, or `-m module`) run with `args` in `cwd`, its stdin, stdout and stderr as Popen's."""
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(self.address)
        theirs: list[int] = []
        ours: list[IO[bytes] | None] = []
        to_close: list[int] = []
        closed: list[int] = []
        for number, given in enumerate(stdio):
            if given == CLOSED:
                closed.append(number)
                ours.append(None)
            elif given == subprocess.PIPE:
                read, write = os.pipe()
                theirs.append(read if number == 0 else write)
                ours.append(open(write, "wb") if number == 0 else open(read, "rb"))  # noqa: SIM115
                to_close.append(theirs[-1])
            elif given == subprocess.DEVNULL:
                theirs.append(os.open(os.devnull, os.O_RDWR))
                ours.append(None)
                to_close.append(theirs[-1])
            else:
                theirs.append(number if given is None else given if isinstance(given, int) else given.fileno())
                ours.append(None)
        request = {
            "target": target,
            "args": args,
            "cwd": str(cwd),
            "environment": dict(environment),
            "closed": closed,
            "unbuffered": False,
        }
        socket.send_fds(connection, [json.dumps(request).encode()], theirs)
        for fd in to_close:
            os.close(fd)
        return Forked(connection, [target, *args], ours)

    def stop(self) -> None:
        if self.process:
            self.process.kill()
            self.process.communicate()


def serve(listening: socket.socket) -> dict[str, Any]:
    """Fork a watcher for each request, for ever; in the server's process, return its request."""
    while True:
        ready, _, _ = select.select([listening, sys.stdin], [], [])
        if sys.stdin in ready:
            sys.exit(0)
        connection, _ = listening.accept()
        message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
        with_children_reaped()
        if os.fork() == 0:  # The watcher.
            listening.close()
            if (pid := os.fork()) == 0:  # The server.
                connection.close()
                signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own, as it starts.
                request = json.loads(message)
                given = iter(fds)
                for number in range(3):
                    if number in request["closed"]:
                        os.close(number)
                    else:
                        os.dup2(fd := next(given), number)
                        os.close(fd)
                return request
            watch(connection, pid, fds)
        connection.close()
        for fd in fds:
            os.close(fd)


def watch(connection: socket.socket, pid: int, fds: list[int]) -> NoReturn:
    """Report the server's pid and, once it has ended, its Popen-style return code; then end, whatever happens."""
    try:
        for fd in fds:
            os.close(fd)
        connection.sendall(EXITED.pack(pid))
        connection.sendall(EXITED.pack(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])))
    finally:
        os._exit(0)


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
    """What `python [-u] <target> <args>` would do, in `cwd` with `environment`."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["environment"])
    fresh_stdio(unbuffered=request["unbuffered"])
    target: str = request["target"]
    if target == "-c":
        code, *args = request["args"]
        sys.argv = [target, *args]
        sys.path[0] = ""
        main = sys.modules["__main__"] = ModuleType("__main__")  # A new one: this one is the fork server's.
        main.__loader__ = BuiltinImporter
        main.__annotations__ = {}
        exec(compile(code, "<string>", "exec"), vars(main))  # noqa: S102 (the code it was asked to run)
        return
    if (Path(request["cwd"]) if target.startswith("-m ") else Path(target).resolve().parent) != PROJECT_DIR:
        forget_project_modules()
    if target.startswith("-m "):
        sys.argv = [target, *request["args"]]
        sys.path[0] = request["cwd"]
        runpy.run_module(target.removeprefix("-m "), run_name="__main__", alter_sys=True)
    else:
        sys.argv = [target, *request["args"]]
        sys.path[0] = str(Path(target).resolve().parent)
        runpy.run_path(target, run_name="__main__")


def run_to_its_end(request: dict[str, Any]) -> None:
    """`run`, noting how it ended for `exit_without_teardown`."""
    try:
        run(request)
    except BaseException as raised:
        run_ended_by.append(raised)
        raise
    run_ended_by.append(None)


def exit_without_teardown() -> None:
    """End a fork as Python ends (its threads joined and atexit functions run already, by Python): garbage
    collected, stdout and stderr flushed, with Python's status; but without tearing its modules down. That
    teardown writes to most pages the fork shares with the fork server: 50 ms of copying, most of a fork's CPU."""
    if not run_ended_by:
        return  # The fork server itself.
    gc.collect()
    raised = run_ended_by[0]
    status = 0 if raised is None else 1
    if isinstance(raised, SystemExit):
        code = raised.code
        status = 0 if code is None else code & 0xFF if isinstance(code, int) else 1
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and not stream.closed:
                stream.flush()
        except Exception as failed:
            status = FINALIZATION_FAILED
            if stream is sys.stdout:
                said = "".join(traceback.format_exception_only(failed))
                sys.stderr.write(f"Exception ignored in: {stream!r}\n{said}")
    if isinstance(raised, KeyboardInterrupt):  # As Python ends on one: by SIGINT.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(status)


def forget_project_modules() -> None:
    """Forget the modules imported from the project's folder, so that a copy's code, run from its own folder,
    imports its own; the SDK and every other package stay imported, though the environment may be in the folder."""
    environment = Path(sys.prefix).resolve()
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if name == "__main__" or not file:
            continue
        path = Path(file).resolve()
        if path.is_relative_to(PROJECT_DIR) and not path.is_relative_to(environment):
            del sys.modules[name]


def fresh_stdio(*, unbuffered: bool) -> None:
    """sys.stdin, stdout and stderr made again for the descriptors the fork was given, as Python makes them at
    start (None for a closed one): the fork server's were made for its own (a pipe, /dev/null), whose kind decides
    their buffering (as does -u: `unbuffered`), and without the fork's PYTHONIOENCODING, which sets their encoding
    and, but for stderr's, their errors."""
    encoding, _, errors = os.environ.get(IO_ENCODING, "").partition(":")
    encoding = encoding and codecs.lookup(encoding).name  # As Python names it: latin-1 is iso8859-1.
    for number, name in enumerate(("stdin", "stdout", "stderr")):
        made_at_start: io.TextIOWrapper = getattr(sys, name)
        try:
            os.fstat(number)
        except OSError:  # Closed: Python makes no stream for it.
            setattr(sys, name, None)
            setattr(sys, f"__{name}__", None)
            continue
        buffered = not (unbuffered or made_at_start.write_through)  # -u, or PYTHONUNBUFFERED, writes through.
        mode = "rb" if number == 0 else "wb"
        stream = open(number, mode, buffering=-1 if buffered or number == 0 else 0, closefd=False)  # noqa: SIM115
        text = io.TextIOWrapper(
            stream,
            encoding=encoding or made_at_start.encoding,
            errors=made_at_start.errors if number == 2 else errors or ("strict" if encoding else made_at_start.errors),
            newline="\n",
            line_buffering=buffered and (os.isatty(number) or number == 2),
            write_through=not buffered,
        )
        setattr(sys, name, text)
        setattr(sys, f"__{name}__", text)


def write_relay(path: Path, real: str, servers: list[ForkServer]) -> str:
    """A program at `path` that stands in for `real`, forking by one of `servers` the project code it would run.
    Its path."""
    forking = json.dumps([[[server.address, server.environment] for server in servers], real])
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -I -S {shlex.quote(__file__)} relay {shlex.quote(forking)} "
        '"$@"\n',
        encoding="utf-8",
    )
    path.chmod(0o755)
    return str(path)


def relay(forking: str, argv: list[str]) -> NoReturn:
    """Run `REAL argv` as a fork when it runs project code (or `-c CODE`) and a fork server's fork would start as it
    would; else exec it. Signals that stop a process are passed on; the exit is the fork's."""
    servers, real = json.loads(forking)
    forked = relayed_target(argv)
    address = next((address for address, started_with in servers if starts_alike(os.environ, started_with)), None)
    if forked is None or address is None:
        os.execv(real, [real, *argv])  # noqa: S606 (the program it stands in for, as it was asked to run)
    target, args, cwd, unbuffered = forked
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(address)
    request = {
        "target": target,
        "args": args,
        "cwd": cwd,
        "environment": dict(os.environ),
        "closed": [],
        "unbuffered": unbuffered,
    }
    socket.send_fds(connection, [json.dumps(request).encode()], [0, 1, 2])
    pid = EXITED.unpack(connection.recv(EXITED.size, socket.MSG_WAITALL))[0]

    def pass_on(number: int, _: object) -> None:
        with contextlib.suppress(ProcessLookupError):  # It has just ended.
            os.kill(pid, number)

    for name in FORWARDED_SIGNALS:
        signal.signal(getattr(signal, name), pass_on)
    code = EXITED.unpack(connection.recv(EXITED.size, socket.MSG_WAITALL))[0]
    if code < 0:  # Ended by a signal: so does the relay.
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


def relayed_target(argv: list[str]) -> tuple[str, list[str], str, bool] | None:
    """The fork server's target, arguments, folder and -u for `uv --directory D run [OPTIONS] FILE ARGS`,
    `python FILE ARGS` of project code (a file with a kit beside it), or `python [-u] -c CODE ARGS` (how xdist
    starts a worker); None for anything else."""
    cwd = os.getcwd()
    unbuffered = argv[:1] == ["-u"]
    options_done = argv[1:] if unbuffered else argv
    if options_done[:1] == ["-c"] and options_done[1:]:
        return "-c", options_done[1:], cwd, unbuffered
    if argv[:1] == ["--directory"] and argv[2:3] == ["run"]:
        cwd, argv = os.path.abspath(argv[1]), argv[3:]
        while argv[:1] and argv[0] in UV_RUN_OPTIONS:
            argv = argv[1:]
    if not argv or not argv[0].endswith(".py"):
        return None
    script = Path(cwd, argv[0]).resolve()
    return (str(script), argv[1:], cwd, False) if (script.parent / "kit").is_dir() else None


if __name__ == "__main__" and sys.argv[1:2] == ["relay"]:
    relay(sys.argv[2], sys.argv[3:])
elif __name__ == "__main__":
    atexit.register(exit_without_teardown)  # The first registered runs last: after those of the fork's modules.
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the test run's, whose end closes this one's stdin.
    listening_fd, server_module = sys.argv[1:]
    print(json.dumps(read_at_start(os.environ)), flush=True)
    importlib.import_module(server_module)  # What it imports stays: the SDK, the kit. It runs as __main__.
    del sys.modules[server_module]
    import anyio  # Not at the top: a relay runs without site-packages.

    anyio.run(anyio.sleep, 0)  # So does what anyio imports as it first runs a loop, as each server does: 11 ms a fork.
    run_to_its_end(serve(socket.socket(fileno=int(listening_fd))))
