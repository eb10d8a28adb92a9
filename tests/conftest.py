"""Shared fixtures: in-memory clients for both protocol eras and a real stdio server process.

Nothing here knows the example tool: a call that a test needs is made from the server's
own tool list (`sample_call`), or served by tests/probe_server.py on the same repairs.
"""

from __future__ import annotations

import array
import atexit
import contextlib
import functools
import importlib
import json
import locale
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, cast

from kit.project import SERVER_MODULE
from tests.forking import CLOSED, Forked, ForkServer, Stdio, write_relay


def started_fork_server(environment: Mapping[str, str]) -> ForkServer:
    server = ForkServer.started(SERVER_MODULE, environment)
    atexit.register(server.stop)
    return server


# The fork server for `python`, which xdist's workers start from too, starts as the first pytest process begins to
# import this module (Linux), so that its import of the SDK runs beside this module's.
FIRST_FORK_SERVER = (
    started_fork_server(os.environ) if sys.platform == "linux" and "PYTEST_XDIST_WORKER" not in os.environ else None
)

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.stdio import get_default_environment
from mcp.server import Server
from mcp_types import CallToolResult, TextContent

from kit import edits, serving
from kit.checker import callable_tool

if sys.platform != "win32":
    import fcntl
    import termios

SERVED = importlib.import_module(SERVER_MODULE)  # The server's module, under whatever name it has.


def served_server() -> Server[Any]:
    """The server module's `server`, which tests import and hosts start."""
    found = getattr(SERVED, "server", None)
    assert isinstance(found, Server), f"{SERVER_MODULE}.py: name its `Server(...)` `server`, at module level"
    return found


server = served_server()
NAME, VERSION = server.name, server.version
SERVER_FILE = f"{SERVER_MODULE}.py"
PROJECT_DIR = Path(__file__).resolve().parent.parent
INTEROP_DIR = PROJECT_DIR / "tests" / "interop"
REPLY_TIMEOUT = 30.0  # Generous: a cold `uv run` on a busy CI machine takes seconds.
HOST_LAUNCH = ["run", "--quiet", "--no-dev", "--frozen", SERVER_FILE]  # After `uv`, as hosts start it.
SERVER = [sys.executable, str(PROJECT_DIR / SERVER_FILE)]
PROBE = [sys.executable, "-m", "tests.probe_server"]  # The test-only server on the same repairs.
collect_ignore = ["make_it_your_own"]  # Data: the tools tests/test_template.py gives a copy.
# What a copy of the project leaves out: environments, caches, kits, git data, built bundles.
LEFT_OUT = (
    ".venv",
    ".venv-newest",
    ".git",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "*.mcpb",
)

SERVER_ONLY = ("tests", "bench", "docs", "bundle")  # What a copy that only runs the server leaves out too.


def under_wine() -> bool:
    """Whether this is a Windows Python under Wine (.ci/windows), whose gaps a few tests step around."""
    if sys.platform != "win32":
        return False
    import ctypes  # noqa: PLC0415 (Windows only)

    return hasattr(ctypes.WinDLL("ntdll"), "wine_get_version")


def copy_project(destination: Path, *left_out: str) -> Path:
    """A copy of the project at `destination`, without LEFT_OUT and `left_out`. Contents only, by copyfile:
    shutil's default asks Windows for CopyFile2, which Wine 8 lacks."""
    ignore = shutil.ignore_patterns(*LEFT_OUT, *left_out)
    return Path(shutil.copytree(PROJECT_DIR, destination, ignore=ignore, copy_function=shutil.copyfile))


@pytest.fixture(scope="session")
def git_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A git repository made of a copy of the project, as a `git+file://` URL: one for the whole run, which
    every pytest worker's tests fetch from (none changes it), so that uv builds from it once."""
    own = tmp_path_factory.getbasetemp()
    shared = (own.parent if os.environ.get("PYTEST_XDIST_WORKER") else own) / "git-clone"
    if not shared.is_dir():
        clone = tmp_path_factory.mktemp("git") / "clone"
        copy_project(clone)
        git = ["git", "-c", "user.name=tests", "-c", "user.email=tests@localhost", "-c", "commit.gpgsign=false"]
        for command in (["init", "--quiet"], ["add", "--all"], ["commit", "--quiet", "--message", "snapshot"]):
            subprocess.run([*git, *command], cwd=clone, check=True, capture_output=True, timeout=REPLY_TIMEOUT)
        with contextlib.suppress(OSError):  # Another worker's was there first: it is everyone's.
            clone.rename(shared)
    return f"git+{shared.as_uri()}"


LEGACY_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODERN_VERSION = "2026-07-28"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["legacy", "auto"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    """An in-memory client, once over the initialize handshake and once over the 2026 envelope."""
    async with Client(server, mode=request.param) as connected:
        yield connected


def only_text(result: CallToolResult) -> str:
    """The text of a result that must hold exactly one text content."""
    assert len(result.content) == 1, f"a reply of one text content was expected: {result.content}"
    content = result.content[0]
    assert isinstance(content, TextContent), f"a reply of one text content was expected: {result.content}"
    return content.text


def initialize_request(request_id: int = 1, version: str = "2025-11-25") -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "tests", "version": "0"}},
    }


def envelope(**params: Any) -> dict[str, Any]:
    """Params carrying the 2026-07-28 per-request `_meta` envelope."""
    return {
        **params,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
            "io.modelcontextprotocol/clientInfo": {"name": "tests", "version": "0"},
            "io.modelcontextprotocol/clientCapabilities": {},
        },
    }


INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def call_request(request_id: types.RequestId, name: str, arguments: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def served_tools() -> serving.Tools:
    """The server module's `Tools`: what its `Server` lists and calls."""
    tools = [value for value in vars(SERVED).values() if isinstance(value, serving.Tools)]
    assert len(tools) == 1, f"{SERVER_FILE}: keep one `serving.Tools(...)` at module level; it has {len(tools)}"
    return tools[0]


def listed_tools() -> list[types.Tool]:
    """The tools the server lists, as a client sees them."""

    async def listing() -> list[types.Tool]:
        async with Client(server) as connected:
            return (await connected.list_tools()).tools

    return anyio.run(listing)


TOOLS = listed_tools()
SAMPLE = callable_tool(TOOLS)
assert SAMPLE is not None, "the server needs a read-only tool that can be called without a model (README)"
SAMPLE_TOOL, SAMPLE_ARGUMENTS = SAMPLE


def skip_unless_served(tool: str) -> None:
    """Atop a tool's own tests: once the server no longer serves `tool`, they skip, saying what to do."""
    if tool not in served_tools().handlers:
        reason = f"the server no longer serves {tool}, which these tests are about: replace them with tests of yours"
        pytest.skip(reason, allow_module_level=True)


def sample_call(request_id: types.RequestId) -> dict[str, Any]:
    """A tools/call of the server's own read-only tool, with arguments its schema accepts."""
    return call_request(request_id, SAMPLE_TOOL, SAMPLE_ARGUMENTS)


def uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")  # `uv run` sets UV to its own binary (no shim).
    assert found, "uv must be on PATH to run these tests (see README)"
    return found


def run_script(
    script: str, *args: str, env: dict[str, str] | None = None, folder: Path = PROJECT_DIR
) -> subprocess.CompletedProcess[str]:
    """`python SCRIPT ARGS` in the project folder (or a copy of it) to completion, with its output captured."""
    done = run_python([sys.executable, script, *args], cwd=folder, env={**os.environ, **(env or {})})
    return subprocess.CompletedProcess(done.args, done.returncode, as_text(done.stdout), as_text(done.stderr))


def as_text(output: bytes) -> str:
    """`output` as subprocess's text mode reads it: in the locale's encoding, with universal newlines."""
    return output.decode(locale.getpreferredencoding(False)).replace("\r\n", "\n").replace("\r", "\n")


SetupCommand = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def setup_command(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> SetupCommand:
    """`python host_setup.py ARGS` run here, through its `main`: what it printed and its exit code, without a
    second start of the SDK. The tests of the process itself (signals, consoles, pipes) start it."""
    import host_setup  # noqa: PLC0415  # The setup tool, only for the tests that run its command line.

    monkeypatch.setattr(sys, "argv", ["host_setup.py"])

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            host_setup.main(list(args))
        stdout, stderr = capsys.readouterr()
        assert isinstance(exited.value.code, int), exited.value.code  # main ends with sys.exit(status).
        return subprocess.CompletedProcess(["host_setup.py", *args], exited.value.code, stdout, stderr)

    return run


def host_launch() -> list[str]:
    """The command hosts run: `uv run --no-dev --frozen` the server (slower to start than the default)."""
    return [uv(), *HOST_LAUNCH]


class StdioServer:
    """The server (or `launch`) in a process of its own, with stdout read on a thread while we write.

    Started with this venv's Python, which is what `uv run` ends up running; tests about
    the launch itself pass `launch=host_launch()`, and transport tests `launch=PROBE`.
    """

    started: ClassVar[list[StdioServer]] = []  # All, so that none outlives its test (below).

    def __init__(self, *args: str, launch: list[str] | None = None, cwd: Path = PROJECT_DIR) -> None:
        pipe = subprocess.PIPE
        self.process = start_python([*(launch or SERVER), *args], stdin=pipe, stdout=pipe, stderr=pipe, cwd=cwd)
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.stderr = b""
        self.readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self.readers:
            reader.start()
        self.started.append(self)

    def _read_stdout(self) -> None:
        assert self.process.stdout
        for line in self.process.stdout:
            self.lines.put(line)

    def _read_stderr(self) -> None:
        assert self.process.stderr
        self.stderr = self.process.stderr.read()

    def write(self, data: bytes) -> None:
        assert self.process.stdin
        try:
            self.process.stdin.write(data)
            self.process.stdin.flush()
        except OSError as error:
            self.kill()
            pytest.fail(f"its stdin refused a write ({error}); its stderr:\n{self.stderr_tail()}")

    def send(self, message: dict[str, Any] | list[Any]) -> None:
        self.write(json.dumps(message).encode() + b"\n")

    def read(self, timeout: float = REPLY_TIMEOUT) -> dict[str, Any]:
        """The next line from stdout, which must be one JSON-RPC message."""
        message = self.read_value(timeout)
        assert isinstance(message, dict), message
        assert message["jsonrpc"] == "2.0", message
        return cast(dict[str, Any], message)

    def read_value(self, timeout: float = REPLY_TIMEOUT) -> object:
        """The next line from stdout, which must be JSON; a failure naming what it logged if none comes."""
        try:
            return json.loads(self.lines.get(timeout=timeout))
        except queue.Empty:
            self.kill()
            pytest.fail(f"no line on stdout within {timeout:g} s; its stderr:\n{self.stderr_tail()}")

    def request(self, message: dict[str, Any], timeout: float = REPLY_TIMEOUT) -> dict[str, Any]:
        self.send(message)
        reply = self.read(timeout)
        assert reply.get("id") == message["id"], reply
        return reply

    def initialize(self, version: str = "2025-11-25", timeout: float = REPLY_TIMEOUT) -> dict[str, Any]:
        reply = self.request(initialize_request(version=version), timeout)
        self.send(INITIALIZED)
        return reply

    def close_stdin(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()

    def wait(self) -> int:
        """The exit code, once the process has ended and all its output is read; a failure naming what it
        logged if it is still running after REPLY_TIMEOUT (then it is killed)."""
        try:
            code = self.process.wait(timeout=REPLY_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"still running {REPLY_TIMEOUT:g} s later; its stderr:\n{self.stderr_tail()}")
        for reader in self.readers:
            reader.join(timeout=REPLY_TIMEOUT)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for reader in self.readers:
            reader.join(timeout=REPLY_TIMEOUT)

    def stderr_tail(self) -> str:
        return self.stderr.decode(errors="replace")[-3000:]

    def remaining_stdout(self) -> list[bytes]:
        lines: list[bytes] = []
        while not self.lines.empty():
            lines.append(self.lines.get_nowait())
        return lines


FORK_SERVERS = "TESTS_FORK_SERVERS"  # Those the first pytest process started, for its xdist workers to share.


def pytest_configure(config: pytest.Config) -> None:
    """The first pytest process (xdist's controller, or the only one) starts the fork servers on Linux, and its
    workers share them: each pays the SDK's import once, not once a worker."""
    if sys.platform != "linux" or hasattr(config, "workerinput"):
        return
    servers = {
        "python": FIRST_FORK_SERVER or started_fork_server(os.environ),
        "sdk": started_fork_server(get_default_environment()),
    }
    os.environ[FORK_SERVERS] = json.dumps({kind: server.handle() for kind, server in servers.items()})


def pytest_xdist_setupnodes(config: pytest.Config, specs: list[Any]) -> None:
    """xdist's workers start as forks too (Linux), without their own import of the SDK: a stand-in for their
    Python forks their `python -u -c CODE`."""
    if sys.platform != "linux":
        return
    folder = Path(tempfile.mkdtemp(prefix="pytest-workers-"))
    config.add_cleanup(functools.partial(shutil.rmtree, folder, ignore_errors=True))
    stand_in = write_relay(folder / "python", sys.executable, fork_servers())
    for spec in specs:
        spec.python = stand_in


@functools.cache
def fork_servers() -> list[ForkServer]:
    """One whose forks start as `python` with this process's variables would, and one as a server the SDK starts
    for the kit (check, manifest), with its few safe variables."""
    shared = json.loads(os.environ[FORK_SERVERS])
    return [ForkServer.shared(shared[kind]) for kind in ("python", "sdk")]


def fork_server_for(environment: Mapping[str, str]) -> ForkServer | None:
    """The fork server whose forks, given `environment`, start as `python` would (Linux); else None."""
    if sys.platform != "linux":
        return None
    return next((server for server in fork_servers() if server.starts_as_python_would(environment)), None)


def start_python(
    command: list[str],
    *,
    stdin: Stdio = None,
    stdout: Stdio = None,
    stderr: Stdio = None,
    env: dict[str, str] | None = None,
    cwd: Path = PROJECT_DIR,
) -> subprocess.Popen[bytes] | Forked:
    """`command` as Popen starts it (`started_for_real`); forked by the fork server where there is one (Linux),
    `command` runs this project's code or a copy's with this Python, and the fork starts as `python` would."""
    environment = os.environ if env is None else env
    forked = project_code(command, cwd)
    server = fork_server_for(environment)
    if forked is None or server is None:
        return started_for_real(command, [stdin, stdout, stderr], env, cwd)
    return server.start(*forked, cwd, environment, [stdin, stdout, stderr])


def started_for_real(
    command: list[str], stdio: list[Stdio], env: Mapping[str, str] | None, cwd: Path
) -> subprocess.Popen[bytes]:
    """`command` started by Popen with `stdio`, whose CLOSED descriptors a POSIX shell closes."""
    if closing := " ".join(f"{number}<&-" for number, given in enumerate(stdio) if given == CLOSED):
        command = ["/bin/sh", "-c", f'exec "$@" {closing}', "sh", *command]
    stdin, stdout, stderr = (None if given == CLOSED else given for given in stdio)
    return subprocess.Popen(command, stdin=stdin, stdout=stdout, stderr=stderr, env=env, cwd=cwd)


def project_code(command: list[str], cwd: Path) -> tuple[str, list[str]] | None:
    """`python FILE ARGS` for a file of the project's folder or a copy's (it holds a kit), or there `python -m
    MODULE ARGS`, as the fork server's target and its arguments; else None (another program)."""
    if command[:1] != [sys.executable] or len(command) < 2:
        return None
    if command[1] == "-m":
        module = cwd.joinpath(*command[2].split(".")).with_suffix(".py")
        return (f"-m {command[2]}", command[3:]) if module.is_file() and (cwd / "kit").is_dir() else None
    script = (cwd / command[1]).resolve()
    return (str(script), command[2:]) if script.suffix == ".py" and (script.parent / "kit").is_dir() else None


def run_python(
    command: list[str],
    *,
    cwd: Path = PROJECT_DIR,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
    timeout: float = REPLY_TIMEOUT,
) -> subprocess.CompletedProcess[bytes]:
    """`command` started as `start_python` starts it, then run to its end with its output captured."""
    pipe = subprocess.PIPE
    stdin = None if input is None else pipe
    with start_python(command, stdin=stdin, stdout=pipe, stderr=pipe, env=env, cwd=cwd) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    return subprocess.CompletedProcess(command, process.wait(), stdout, stderr)


def assert_clean_exit(process: StdioServer, code: int = 0) -> list[str]:
    """The process ended with `code` and no traceback; its stderr lines."""
    assert process.wait() == code, process.stderr_tail()
    assert b"Traceback" not in process.stderr, process.stderr_tail()
    return process.stderr.decode(errors="replace").splitlines()


@pytest.fixture(autouse=True)
def no_server_outlives_its_test() -> Iterator[None]:
    """Kill what a test started and left running (it failed, say): on Windows an orphan would hold the
    pipes of whatever started pytest open, and keep it waiting for ever."""
    before = len(StdioServer.started)
    yield
    for process in StdioServer.started[before:]:
        process.kill()
    del StdioServer.started[before:]


@pytest.fixture(scope="module")
def initialized_server() -> Iterator[StdioServer]:
    """One server, past the handshake, for a module's tests that each send a few lines and read the answers."""
    process = StdioServer()
    process.initialize()
    yield process
    process.close_stdin()
    assert_clean_exit(process)


@pytest.fixture
def stdio_server() -> StdioServer:
    return StdioServer()


BUNDLE_DIR = PROJECT_DIR / "bundle"
NPM_HINT = (
    "the npm test kits are not installed; to run these tests: npm ci --prefix tests/interop && npm ci --prefix bundle"
    " && npm ci --prefix tests/hosts"
)


def skip_or_fail(reason: str) -> None:
    """Skip a test that needs what is not installed, or fail where CI demands everything."""
    if os.environ.get("REQUIRE_TEST_KITS") == "1":
        pytest.fail(f"{reason} (REQUIRE_TEST_KITS=1)")
    pytest.skip(reason)


def node_with(kit: Path) -> str:
    """Node.js, with the npm packages pinned in `kit` installed; never installs them itself."""
    found = shutil.which("node")
    if found is None:
        skip_or_fail("Node.js is not installed; these tests need Node.js 20+ and npm")
    if not (kit / "node_modules" / ".package-lock.json").exists():
        skip_or_fail(NPM_HINT)
    assert found
    return found


@pytest.fixture(scope="session")
def node() -> str:
    """Node.js with the independent MCP clients of tests/interop installed."""
    return node_with(INTEROP_DIR)


@pytest.fixture(scope="session")
def bundle_node() -> str:
    """Node.js with the MCPB CLI of bundle/ installed."""
    return node_with(BUNDLE_DIR)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that wait out a time bound (`waits`) run first, so that their waits pass while other workers'
    tests use the CPUs, not at the end, with nothing left to run beside them."""
    items.sort(key=lambda item: item.get_closest_marker("waits") is None)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers() -> int | None:
    """`-n auto` on Linux: a worker per CPU and one more, which runs while the others' tests wait on their
    processes (drains, signals, uv); elsewhere, and with PYTEST_XDIST_AUTO_NUM_WORKERS set, xdist's own count."""
    if not hasattr(os, "sched_getaffinity") or os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return len(os.sched_getaffinity(0)) + 1


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """After a run that skipped tests for want of a kit or a setting, say how to run them."""
    reasons = {report.longrepr[2] for report in terminalreporter.stats.get("skipped", [])}
    for reason in sorted(reason for reason in reasons if HOW_TO_RUN.search(reason)):
        terminalreporter.write_line(f"Some tests were skipped: {reason}")


HOW_TO_RUN = re.compile(r"; (to )?run (these tests|it) ")  # A skip reason that says how to run what it skipped.


def wait_for(condition: Callable[[], bool], what: str, timeout: float = REPLY_TIMEOUT) -> None:
    """Wait until the process does what `condition` observes; fail, saying `what`, if it never does."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:g} s for {what}"
        pause.wait(0.01)


def pipe_holds(fd: int) -> int:
    """How many bytes the pipe that `fd` is an end of holds (Linux)."""
    held = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, held)
    return held[0]


def pipe_is_full(fd: int) -> bool:
    """Whether a pipe that we write in large pieces holds all it can: its reader has stopped reading (Linux)."""
    return pipe_holds(fd) >= fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)


@pytest.fixture
def prepared(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The entries an in-process install would start once to make their environment, recorded instead of
    started (a second each); the tests through the command line start them, for real, forked (`forked_uv`) or
    not at all (`instant_uv`)."""
    started: list[dict[str, Any]] = []

    def record(entry: dict[str, Any]) -> float:
        started.append(entry)
        return 0.5

    monkeypatch.setattr(edits, "prepare_environment", record)
    return started


@pytest.fixture
def forked_uv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """First on PATH (Linux), a `uv` whose `uv --directory D run ... FILE` forks the server where a fork starts
    as it would (as the SDK starts it for the kit, or install for its first start): for tests of what the kit
    does with the server, not of how uv starts it, which the cold-start and launch tests cover. Its path;
    elsewhere, the real uv's."""
    if sys.platform != "linux":
        return uv()
    stand_in = write_relay(tmp_path / "forked-uv" / "uv", uv(), fork_servers())
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(stand_in).parent), os.environ.get("PATH", "")]))
    return stand_in


@pytest.fixture
def forked_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`sys.executable FILE` forks the project code it runs where a fork starts as it would (Linux)."""
    if sys.platform == "linux":
        relay = write_relay(tmp_path / "forked-python" / "python", sys.executable, fork_servers())
        monkeypatch.setattr(sys, "executable", relay)


@pytest.fixture
def instant_uv(tmp_path: Path) -> dict[str, str]:
    """The environment for a command-line install whose first start is not what its test is about: first on
    PATH, a stand-in `uv` and `uvx` that do nothing at once (POSIX; Windows keeps the real ones, a second a start)."""
    if sys.platform == "win32":
        return dict(os.environ)
    folder = tmp_path / "instant-uv"
    folder.mkdir()
    for name in ("uv", "uvx"):
        (folder / name).write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
        (folder / name).chmod(0o755)
    return {**os.environ, "PATH": os.pathsep.join([str(folder), os.environ.get("PATH", "")])}
