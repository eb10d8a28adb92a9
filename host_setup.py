"""Set this server up in Claude Desktop and other hosts, take it out again, and check that it answers.

    uv run host_setup.py check       # start it as Claude Desktop will and call a tool once
    uv run host_setup.py install     # add it to Claude Desktop's config (quit the app first)
    uv run host_setup.py uninstall   # remove it again
    uv run host_setup.py restore     # put back what the app's own save of the config lost
    uv run host_setup.py hosts       # the exact setup for each host, with this folder's paths
    uv run host_setup.py new PATH    # a server project of your own, made from this one
    uv run host_setup.py manifest    # write the bundle manifest's tools (name, version) as the server has them

Edits to the config lose nothing: a change is refused rather than risk other content (or
while the app runs, which would save its own copy over it), the file before and after is
kept as a backup, and the new one replaces it atomically.
Not shipped in the bundle: a host never runs this.
"""

from __future__ import annotations

import argparse
import errno
import io
import math
import os
import re
import sys
from contextlib import redirect_stdout, suppress
from pathlib import Path

from kit.apps import DESKTOP_START_SECONDS, claude_desktop, launch_entry
from kit.edits import configured_entry, install, restore, uninstall
from kit.hosts import HOSTS, print_hosts
from kit.identity import checkout_project
from kit.new import make_new
from kit.project import NAME, UNSHOWABLE, SetupError, shown, uvx_source

MAX_TIMEOUT = 3600.0


def timeout_seconds(text: str) -> float:
    """--timeout's value: a positive, finite number of seconds, at most MAX_TIMEOUT."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0 and at most {MAX_TIMEOUT:g}")
    return seconds


SERVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def server_name(text: str) -> str:
    """--name's value: what every host accepts as a server's name, and safe in a file name."""
    if not SERVER_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"must be 1 to 64 letters, digits, '_' or '-', starting with a letter or digit, not {text!r}"
        )
    return text


def host_key(text: str) -> str:
    if text not in HOSTS:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(HOSTS)}, not {text!r}")
    return text


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=f"Set {NAME} up in Claude Desktop and other hosts, check it, or take it out.",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="{check,install,uninstall,restore,hosts,new,manifest}"
    )
    name_help = f"the server's name in the host's config (default: {NAME})"
    for command, summary in [
        ("check", "start the server as Claude Desktop would and call a tool once"),
        ("install", f"add or update {NAME} in Claude Desktop's config (quit the app first)"),
        ("uninstall", f"remove {NAME} from Claude Desktop's config (quit the app first)"),
        ("restore", "put back the servers and settings the config lost since its newest backup that has them"),
    ]:
        sub = commands.add_parser(command, help=summary, description=summary)
        sub.add_argument(
            "--config", type=Path, help="the config file (default: the one Claude Desktop reads on this machine)"
        )
        if command != "restore":
            sub.add_argument("--name", type=server_name, default=NAME, help=name_help)
        if command in ("check", "install"):
            add_uvx_option(sub)
        if command == "check":
            sub.add_argument("--json", action="store_true", help="print the report as JSON")
            sub.add_argument(
                "--timeout",
                type=timeout_seconds,
                default=float(DESKTOP_START_SECONDS),
                help=f"seconds to wait (default: {DESKTOP_START_SECONDS}, as Claude Desktop does)",
            )
        else:
            sub.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
        if command == "install":
            sub.add_argument(
                "--system-certs",
                action="store_true",
                help="set UV_SYSTEM_CERTS=1 in the entry: uv then trusts the system's certificates (company proxies)",
            )
            sub.add_argument(
                "--allow-rejected",
                action="store_true",
                help="write even beside an entry Claude Desktop would reject (it then loads the file as empty)",
            )
    summary = "print the exact setup for each host (or those named), with this folder's paths"
    hosts = commands.add_parser("hosts", help=summary, description=summary)
    hosts.add_argument("host", nargs="*", type=host_key, metavar="HOST", help=f"any of: {', '.join(HOSTS)}")
    hosts.add_argument("--name", type=server_name, default=NAME, help=name_help)
    hosts.add_argument("--json", action="store_true", help="print the setups as JSON")
    add_uvx_option(hosts)
    summary = f"make a new server project at PATH from this one: renamed, with {NAME}'s example tool to replace"
    new = commands.add_parser("new", help=summary, description=summary)
    new.add_argument("path", type=Path, metavar="PATH", help="a folder that does not exist yet, or an empty one")
    new.add_argument("--name", help="the new project's name (default: PATH's folder name)")
    new.add_argument("--with-hosts", action="store_true", help="keep the tests under real hosts and their npm kits")
    summary = "write manifest.json's name, version and tools as the server has them (it is started and asked)"
    manifest = commands.add_parser("manifest", help=summary, description=summary)
    manifest.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    args = parser.parse_args(argv)
    if args.command == "hosts" and args.uvx in HOSTS:  # `hosts --uvx codex`: the host, not a source.
        args.host, args.uvx = [*args.host, args.uvx], ""
    if args.command in ("check", "install", "hosts") and (
        args.uvx == "" or (args.uvx is None and not checkout_project(__file__))
    ):
        args.uvx = uvx_source()  # Installed by uvx, it has no checkout to point at, only where uvx fetched it.
    return args


def add_uvx_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--uvx",
        nargs="?",
        const="",
        metavar="SOURCE",
        help="start the server with `uvx --from SOURCE` (a git URL or a folder; default: this one), not this checkout",
    )


def run(args: argparse.Namespace) -> int:
    """Carry out the command; its exit code."""
    if args.command == "hosts":
        print_hosts(args.name, args.host, args.json, args.uvx)
        return 0
    if args.command == "new":
        make_new(args.path, args.name, args.with_hosts)
        return 0
    if args.command == "manifest":
        from kit.manifest import learn_manifest  # noqa: PLC0415  # It asks the server, through the SDK.

        learn_manifest(args.dry_run)
        return 0
    app = claude_desktop(args.config)
    if args.command == "check":
        configured = configured_entry(app, args.name, args.uvx)  # Read, or refused, before the SDK's import: a second.
        from kit.checker import run_check  # noqa: PLC0415  # Only check speaks MCP; the rest start without the SDK.

        return run_check(app, args.name, args.timeout, args.json, configured)
    if args.command == "install":
        install(app, args.name, args.dry_run, launch_entry(args.uvx, args.system_certs), args.allow_rejected)
    elif args.command == "uninstall":
        uninstall(app, args.name, args.dry_run)
    else:
        restore(app, args.dry_run)
    return 0


def main(argv: list[str] | None = None) -> None:
    """Run a command; its output is written at the end, so that a closed or full stdout loses no work."""
    for stream in (sys.stdout, sys.stderr):  # A Windows console's cp1252 shows what it cannot encode as escapes.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    args = parse_args(argv)
    program = f"{Path(sys.argv[0]).stem} {args.command}"  # host_setup, or its console script's name.
    output = io.StringIO()
    problem = ""
    try:
        with redirect_stdout(output):
            status = run(args)
    except SetupError as error:
        unchanged = " Nothing was written." if args.command in ("install", "uninstall", "restore", "manifest") else ""
        status, problem = 1, f"{program}: {shown(str(error))}{unchanged}"
    except KeyboardInterrupt:
        status = 130
    try:
        sys.stdout.write(shown(output.getvalue(), UNSHOWABLE))  # Config text and paths are shown, never obeyed.
        sys.stdout.flush()
    except OSError as error:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Nothing more reaches it, not even at exit.
        gone = isinstance(error, BrokenPipeError) or (sys.platform == "win32" and error.errno == errno.EINVAL)
        if not gone:  # A reader that stopped reading (`| head`) wanted no more; Windows says EINVAL.
            status = status or 1
            problem = problem or f"{program}: finished, but stdout refused its report: {error.strerror}."
    if problem:
        with suppress(OSError):  # A stderr that cannot take it either: the exit code still tells.
            print(problem, file=sys.stderr)
    sys.exit(status)


if __name__ == "__main__":
    main()
