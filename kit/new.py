"""`new`: a server project of your own, made from this one, renamed throughout and green as it is.

What a copy holds: its server module (this one's, with its example tool and that tool's tests),
the parts it keeps as they are (the kit: what serves any tool, the setup tool; the tests that
know no tool), its own pyproject.toml, uv.lock, README, CI and bundle manifest. Not our
docs, benchmarks or template proof; the npm test kits only with `with_hosts`.
"""

from __future__ import annotations

import importlib.util
import json
import keyword
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kit.identity import checkout_project, title
from kit.project import (
    NAME,
    PROJECT_DIR,
    SERVER_MODULE,
    SETUP_FILE,
    SETUP_SUFFIX,
    SetupError,
    command_line,
    uvx_source,
)

PROJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*")
MAX_NAME_LENGTH = 64
KEPT = ("LICENSE", "icon.png", ".gitignore", ".mcpbignore")  # And the setup tool.
KIT_FOLDER = "kit"
OURS_ONLY_TESTS = ("test_template.py", "test_docs.py")  # About this project's own docs and copies.
HOST_TESTS = ("test_interop.py", "test_hosts.py", "test_bundle.py")  # They need the npm kits.
HOST_KITS = ("tests/interop", "tests/hosts", "bundle")
LEFT_OUT = ("node_modules", ".venv", "__pycache__", "*.mcpb")
INITIAL_VERSION = "0.1.0"


class NewError(Exception):
    """A reason to make nothing, in one line."""


@dataclass(frozen=True)
class Template:
    """The project a copy is made from: its folder, name and server module, and where it came from."""

    folder: Path
    name: str
    module: str
    origin: str


@contextmanager
def fetched(origin: str) -> Generator[Path]:
    """The files of `origin`: a folder, or a git URL (`git+URL[@revision]`, as uvx takes it) cloned for now."""
    if Path(origin).is_dir():
        yield Path(origin)
        return
    if not origin.startswith("git+"):
        raise NewError(
            f"cannot fetch the template's files from {origin!r}: run new from a clone, or through uvx --from a git URL"
        )
    url, _, revision = origin.removeprefix("git+").partition("@")
    with tempfile.TemporaryDirectory(prefix="new-template-") as folder:
        clone = ["git", "clone", "--quiet", *([] if revision else ["--depth", "1"]), url, folder]
        for command in (clone, *([["git", "-C", folder, "checkout", "--quiet", revision]] if revision else [])):
            try:
                done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (git, on a URL uvx used)
            except OSError as error:
                raise NewError(f"cannot run git to fetch {url}: {error}") from None
            if done.returncode:
                said = (done.stderr.strip().splitlines() or ["no reason given"])[-1]
                raise NewError(f"git could not fetch {origin}: {said}")
        yield Path(folder)


def make_new(path: Path, name: str | None, with_hosts: bool) -> None:
    """The `new` command: a server project at `path` from this one (its clone, or the source uvx fetched)."""
    path = path.resolve()
    origin = str(PROJECT_DIR) if checkout_project(str(SETUP_FILE)) else uvx_source()
    try:
        name = checked_name(name or path.name)
        empty_folder(path)
        with fetched(origin) as folder:
            written = make(Template(folder, NAME, SERVER_MODULE, origin), path, name, with_hosts)
    except NewError as error:
        raise SetupError(f"{error}. Nothing was made.") from None
    module = module_of(name)
    print(f"Made {name} in {path}: {len(written)} files, its server in {module}.py. Next:")
    print(f"  {command_line(['cd', str(path)])}")
    print("  uv run pytest                  # green as it is")
    print(f"  uv run {module}.py --help")
    print(f"Then replace the tools in {module}.py: its README.md says how.")


def module_of(name: str) -> str:
    return name.replace("-", "_")


def checked_name(name: str, taken: frozenset[str] = frozenset()) -> str:
    """`name` if a project can be called that, and its module hides nothing the server or its tests import:
    the standard library, what is installed here, the project's own modules and the packages in `taken`."""
    if len(name) > MAX_NAME_LENGTH or not PROJECT_NAME.fullmatch(name):
        raise NewError(
            f"{name!r} is not a project name: use letters and digits, with single - or _ between them, "
            f"at most {MAX_NAME_LENGTH} characters, starting with a letter (give one with --name)"
        )
    module = module_of(name)
    if keyword.iskeyword(module):
        raise NewError(f"{name!r} cannot name a module: {module!r} is a Python keyword (give another with --name)")
    ours = {*(Path(kept).stem for kept in KEPT), SETUP_FILE.stem, KIT_FOLDER, "tests", "conftest"}
    if module.lower() in {known.lower() for known in (*ours, *sys.stdlib_module_names, *taken)} or (
        importlib.util.find_spec(module)
    ):
        raise NewError(
            f"{name!r} would name the server's module {module}.py, which would hide the module {module!r} that "
            "the server or its tests import (give another name with --name)"
        )
    return name


def locked_modules(source: Path) -> frozenset[str]:
    """The modules of the packages the template's uv.lock pins, as their names say (`pydantic-core`: pydantic_core)."""
    text = (source / "uv.lock").read_text(encoding="utf-8")
    return frozenset(module_of(found) for found in re.findall(r'(?m)^\[\[package\]\]\nname = "([^"]+)"', text))


def normalized(name: str) -> str:
    """A project name as uv.lock writes it (PEP 503): lower case, `_` as `-`."""
    return name.lower().replace("_", "-")


def empty_folder(path: Path) -> Path:
    """`path`, which must not exist yet or be an empty folder."""
    if path.is_dir() and any(path.iterdir()):
        raise NewError(f"{path} is a folder that is not empty: give a new one")
    if path.exists() and not path.is_dir():
        raise NewError(f"{path} is a file: give a folder that does not exist yet")
    return path


def make(template: Template, path: Path, name: str, with_hosts: bool) -> list[str]:
    """Write the new project at `path`; the files written, relative to it. On failure, nothing stays."""
    checked_name(name, locked_modules(template.folder))
    made = not empty_folder(path).exists()
    path.mkdir(parents=True, exist_ok=True)
    try:
        copy_files(template, path, name, with_hosts)
    except BaseException:
        for entry in [path] if made else list(path.iterdir()):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        raise
    return sorted(file.relative_to(path).as_posix() for file in path.rglob("*") if file.is_file())


def copy_files(template: Template, to: Path, name: str, with_hosts: bool) -> None:
    source = template.folder
    for kept in (*KEPT, SETUP_FILE.name):
        shutil.copyfile(source / kept, to / kept)
    shutil.copytree(source / KIT_FOLDER, to / KIT_FOLDER, ignore=shutil.ignore_patterns(*LEFT_OUT))
    shutil.copyfile(source / f"{template.module}.py", to / f"{module_of(name)}.py")
    (to / "tests").mkdir()
    left_out = {*OURS_ONLY_TESTS, *(() if with_hosts else HOST_TESTS)}
    for test in sorted((source / "tests").glob("*.py")):
        if test.name not in left_out:
            shutil.copyfile(test, to / "tests" / test.name)
    if with_hosts:
        for kit in HOST_KITS:
            shutil.copytree(source / kit, to / kit, ignore=shutil.ignore_patterns(*LEFT_OUT))
    write(to / "pyproject.toml", pyproject(source, template, name))
    write(to / "uv.lock", lock(source, normalized(template.name), normalized(name)))
    write(to / "manifest.json", manifest(source, template, name))
    write(to / "claude_desktop_config.example.json", example_config(source, template, name))
    write(to / "README.md", readme(template, name, with_hosts))
    (to / ".ci").mkdir()
    write(to / ".ci" / "run", ci_script(with_hosts))
    (to / ".ci" / "run").chmod(0o755)


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")


def pyproject(source: Path, template: Template, name: str) -> str:
    """The template's pyproject.toml with the new name, version and scripts, and nothing of what stays behind."""
    text = (source / "pyproject.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^name = ".*"$', f'name = "{name}"', text, count=1)
    text = re.sub(r'(?m)^version = ".*"$', f'version = "{INITIAL_VERSION}"', text, count=1)
    text = re.sub(r'(?m)^description = ".*"$', f'description = "{name}: an MCP server over stdio."', text, count=1)
    text = re.sub(
        r"(?ms)^\[project\.scripts\]\n.*?\n\n",
        f'[project.scripts]\n{name} = "{module_of(name)}:main"\n{name}{SETUP_SUFFIX} = "{SETUP_FILE.stem}:main"\n\n',
        text,
    )
    kept = [line for line in text.splitlines() if not re.search(r"\bbench\b|make_it_your_own", line)]
    text = "\n".join(kept) + "\n"
    return text.replace(', "bench"]', "]")


def lock(source: Path, old: str, new: str) -> str:
    """The template's uv.lock with its project renamed and at 0.1.0, where uv keeps it (packages by name)."""
    head, *packages = (source / "uv.lock").read_text(encoding="utf-8").split(PACKAGE)
    ours = f'name = "{old}"\n'
    packages = [
        re.sub(
            r'(?m)^version = ".*"$',
            f'version = "{INITIAL_VERSION}"',
            f'name = "{new}"\n' + package[len(ours) :],
            count=1,
        )
        if package.startswith(ours)
        else package
        for package in packages
    ]
    return PACKAGE.join([head, *sorted(packages, key=lambda package: package.split('"', 2)[1])])


def manifest(source: Path, template: Template, name: str) -> str:
    """The bundle manifest, renamed: its tools are the example tool's until tests/test_bundle.py says otherwise."""
    found = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    module = f"{module_of(name)}.py"
    found.update(
        name=name,
        display_name=title(name),
        version=INITIAL_VERSION,
        description=f"{title(name)}: an MCP server over stdio.",
        long_description=f"{name} is an MCP server in Python (official SDK, mcp 2.x), served over stdio.",
        keywords=["mcp", "python", "uv"],
        author={"name": f"The {name} developers"},
    )
    found["server"]["entry_point"] = module
    found["server"]["mcp_config"]["args"][-1] = module
    for tool in found["tools"]:
        tool["description"] = tool["description"].replace(template.name, name)
    return json.dumps(found, indent=2, ensure_ascii=False) + "\n"


def example_config(source: Path, template: Template, name: str) -> str:
    text = (source / "claude_desktop_config.example.json").read_text(encoding="utf-8")
    return re.sub(rf"\b{template.name}\b", name, text.replace(f"{template.module}.py", f"{module_of(name)}.py"))


def readme(template: Template, name: str, with_hosts: bool) -> str:
    module, setup = module_of(name), SETUP_FILE.name
    kits = (
        "\nThe tests under real hosts and independent clients need the npm kits: "
        "`npm ci --prefix tests/interop && npm ci --prefix bundle && npm ci --prefix tests/hosts`.\n"
        if with_hosts
        else ""
    )
    return f"""# {name}

An MCP server over stdio, in Python (the official SDK, mcp 2.x). Made with the `new` command
of {template.name} ({template.origin}).

## Run it, test it

With [uv](https://docs.astral.sh/uv/) installed:

```sh
uv run {module}.py      # serve MCP on stdin and stdout (a host starts it; Ctrl-C stops it)
uv run pytest           # the tests
```
{kits}
## Add it to Claude Desktop, check it answers

Quit Claude Desktop first (it saves its own copy of the config over any edit made while it runs):

```sh
uv run {setup} install    # then start Claude Desktop
uv run {setup} check      # start it as Claude Desktop will and call a tool once
uv run {setup} hosts      # the setup for other hosts
```

## Make it yours

Your server is `{module}.py`: replace its example tool, everything between
`# The tools ---` and `# The server ---`, with your tools (arguments models, `types.Tool`s,
reply functions, and `TOOLS` with the instructions a model reads), then
`uv run ruff check --fix {module}.py`. The example tool's tests, `tests/test_tool.py` and
`tests/test_properties.py`, then skip, saying so: write tests of your tools in their place.
`uv run {setup} manifest` then writes your tools into `manifest.json`, the bundle's manifest.
The rest (`kit/`, which serves any tool and holds the setup tool's rooms, `{setup}` and the other
tests) needs no edit.
`.ci/run` is the CI: locks, lint, types and the tests.
"""


def ci_script(with_hosts: bool) -> str:
    kits = (
        """npm ci --prefix tests/interop --no-audit --no-fund --loglevel=error
npm ci --prefix bundle --no-audit --no-fund --loglevel=error
npm ci --prefix tests/hosts --no-audit --no-fund --loglevel=error
newest_python=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.*/bin/python3 2>/dev/null | sort -V | tail -n 1)
newest_python=${newest_python:-$(command -v python3)}
UV_PYTHON_DOWNLOADS=never uv venv --quiet --allow-existing --python "$newest_python" tests/hosts/.venv
uv pip install --quiet --python tests/hosts/.venv -r tests/hosts/requirements.txt
export REQUIRE_TEST_KITS=1
"""
        if with_hosts
        else ""
    )
    return f"""#!/usr/bin/env bash
# CI: on a fresh machine with Python and pip, install uv if needed, then check and test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet uv
  uv_bin=$(python3 -c 'import uv; print(uv.find_uv_bin())')
  export PATH="$(dirname "$uv_bin"):$PATH"
fi
uv lock --check
uv sync --locked
{kits}uv run --locked ruff check .
uv run --locked ruff format --check .
uv run --locked pyright
# Claude Desktop runs on macOS and Windows: type-check the modules as there too.
for platform in Windows Darwin; do
  uv run --locked pyright --pythonplatform "$platform" ./*.py kit
done
uv run pytest
"""


PACKAGE = "\n[[package]]\n"
