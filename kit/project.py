"""The project the setup tool serves, and how it speaks: its name, folder and server module, where
uv and uvx are, and the command lines and text it prints, safe to paste and to show.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlparse

from kit.identity import checkout_project, identity, read_pyproject, scripts

PROJECT_DIR = Path(__file__).resolve().parent.parent  # kit/ sits in the project (or, installed, in site-packages).
SETUP_SUFFIX = "-setup"  # The setup tool's script is the server's name and this: `my-server-setup`.


def script_modules() -> dict[str, str]:
    """[project.scripts], each script's module: of the checkout kit/ sits in, or of the package uvx installed."""
    pyproject = PROJECT_DIR / "pyproject.toml"
    if pyproject.is_file():
        project: object = read_pyproject(pyproject).get("project")
        scripts: object = cast(dict[str, object], project).get("scripts") if isinstance(project, dict) else None
        targets = cast(dict[str, object], scripts) if isinstance(scripts, dict) else {}
        return {name: str(target).split(":")[0] for name, target in targets.items()}
    for distribution in metadata.packages_distributions().get("kit", []):
        points = metadata.distribution(distribution).entry_points
        return {point.name: point.module for point in points if point.group == "console_scripts"}
    return {}


def setup_file() -> Path:
    """The setup tool's module: the one [project.scripts] runs as `<name>-setup`."""
    for script, module in script_modules().items():
        if script.endswith(SETUP_SUFFIX) and (PROJECT_DIR / f"{module}.py").is_file():
            return PROJECT_DIR / f"{module}.py"
    raise SystemExit(
        f"{PROJECT_DIR / 'pyproject.toml'}: name this setup tool in [project.scripts] (`<name>{SETUP_SUFFIX} = "
        '"host_setup:main"`)'
    )


def server_module() -> str:
    """The server's module: the one script in [project.scripts] besides the setup tool's."""
    for module in script_modules().values():
        if module != SETUP_FILE.stem:
            return module
    raise SystemExit(f'{SETUP_FILE.name}: name the server in [project.scripts] too (`<name> = "<module>:main"`)')


SETUP_FILE = setup_file()
NAME = identity(str(SETUP_FILE))[0]
SERVER_MODULE = server_module()
HOST_RUN_FLAGS = ["--no-dev", "--frozen"]  # Only what serving needs; the lock as it is (README: "Runs as locked").


class SetupError(Exception):
    """A problem reported in one line, without a traceback."""


def same_path(one: Path, other: Path) -> bool:
    return os.path.normcase(os.path.abspath(one)) == os.path.normcase(os.path.abspath(other))


def uv_path() -> str:
    """The absolute path of uv as PATH finds it: GUI apps don't see the shell's PATH, so a bare "uv" fails.

    Not a symlink's target: Homebrew's `bin/uv` points into a versioned folder that the next
    `brew upgrade` deletes. `uv run` sets UV to that target, so it is only the fallback.
    """
    found = shutil.which("uv") or os.environ.get("UV")
    if not found:
        raise SetupError(
            "uv not found. Install it (https://docs.astral.sh/uv/getting-started/installation/, "
            "or: pipx install uv), then run this again."
        )
    return os.path.abspath(found)


def uvx_path() -> str:
    """The absolute path of uvx: as PATH finds it, else beside uv."""
    beside = Path(uv_path()).with_name("uvx.exe" if sys.platform == "win32" else "uvx")
    found = shutil.which("uvx") or (str(beside) if beside.is_file() else None)
    if not found:
        raise SetupError(f"uvx not found on PATH or beside {uv_path()}; it comes with uv, so reinstall uv.")
    return os.path.abspath(found)


def uvx_source() -> str:
    """Where uvx fetches the server from by default: this checkout, or the source uvx ran this tool from."""
    if checkout_project(str(SETUP_FILE)):
        return str(PROJECT_DIR)
    origin = metadata.distribution(NAME).read_text("direct_url.json")  # PEP 610: how it was installed.
    found: dict[str, Any] = json.loads(origin) if origin else {}
    url: str = found.get("url", NAME)
    if "vcs_info" in found:
        revision = found["vcs_info"].get("requested_revision")
        return f"git+{url}" + (f"@{revision}" if revision else "")
    return file_url_path(url) if url.startswith("file://") else url


def file_url_path(url: str) -> str:
    """A file:// URL's path as this OS writes it: file:///C:/my%20server is C:\\my server on Windows."""
    path = unquote(urlparse(url).path)
    return str(Path(path[1:] if sys.platform == "win32" and re.match(r"/[A-Za-z]:", path) else path))


def own_command(*args: str) -> str:
    """This tool's command line with `args`, to paste here: from this checkout, or through uvx."""
    if not checkout_project(str(SETUP_FILE)):
        script = next(name for name, module in scripts(str(SETUP_FILE)).items() if module != SERVER_MODULE)
        return command_line(["uvx", "--from", uvx_source(), script, *args])
    here = [] if same_path(Path.cwd(), PROJECT_DIR) else ["--directory", str(PROJECT_DIR)]
    return command_line(["uv", *here, "run", SETUP_FILE.name, *args])


TERMINAL_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
"""Characters a terminal acts on instead of showing (ESC, BEL, CR, C1), and those that reorder text."""


UNSHOWABLE = re.compile(f"[{TERMINAL_CONTROLS}]")  # In all that this program prints.


UNSHOWABLE_ON_A_LINE = re.compile(f"[{TERMINAL_CONTROLS}\t\n]")  # In one field of a report.


def shown(text: str, unshowable: re.Pattern[str] = UNSHOWABLE_ON_A_LINE) -> str:
    """`text` safe to print: each control character is written as its escape, like \\x1b."""
    return unshowable.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


WINDOWS_SPECIAL = re.compile(r"""[\s"&|<>^%!()$;,`'{}@#]""")  # What cmd.exe or PowerShell reads as more than text.


def command_line(argv: list[str], platform: str = sys.platform) -> str:
    """`argv` as this platform's shells read it: POSIX quoting; on Windows, double quotes as cmd.exe and
    PowerShell both take them (PowerShell also wants `&` before a quoted program: `powershell_line`)."""
    if platform != "win32":
        return shlex.join(argv)
    return " ".join(windows_quoted(arg) for arg in argv)


def windows_quoted(arg: str) -> str:
    """One argument as Windows programs split their command line (the C runtime's rules)."""
    if arg and not WINDOWS_SPECIAL.search(arg):
        return arg
    escaped = re.sub(r'(\\*)"', r'\1\1\\"', arg)  # Backslashes before a quote doubled, the quote escaped...
    return '"' + re.sub(r"(\\+)$", r"\1\1", escaped) + '"'  # ...and those before the closing quote doubled.


def powershell_line(argv: list[str]) -> str:
    line = command_line(argv, "win32")
    return f"& {line}" if line.startswith('"') else line
