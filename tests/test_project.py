"""The project around the server: identity, layout, docs, host config and CI agree with the code.

The docs are checked where they make a claim (a snippet, a command, a host), never for
their prose: a copy of the template writes its own README and keeps these tests.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from kit.hosts import HOSTS
from tests import probe_server
from tests.conftest import NAME, PROJECT_DIR, SERVER_FILE, SERVER_MODULE, VERSION, run_script, served_tools

PYPROJECT = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))["project"]
SERVER_PARTS = ("kit/serving.py", "kit/stdio_repairs.py", "kit/identity.py")  # What the server imports of the kit.
SHIPPED = (SERVER_FILE, *SERVER_PARTS, "host_setup.py")
DOCS = [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]
TOOL_OWN_TESTS = ("test_tool.py", "test_properties.py")


def docs_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in DOCS if path.is_file())


def test_the_identity_is_pyproject_s_and_the_manifest_keeps_a_copy() -> None:
    manifest = json.loads((PROJECT_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert (PYPROJECT["name"], PYPROJECT["version"]) == (NAME, VERSION)
    assert (manifest["name"], manifest["version"]) == (NAME, VERSION), "manifest.json: set the name and version"


# The code of the project, but for the template proof, which holds another server's code as data.
SOURCES = [
    path
    for pattern in ("*.py", "kit/*.py", "tests/**/*.py", "tests/interop/*.mjs", "bundle/*.mjs")
    for path in PROJECT_DIR.glob(pattern)
    if path.name != "test_template.py"
    and not {"make_it_your_own", ".venv", "node_modules"} & set(path.relative_to(PROJECT_DIR).parts)
]


def test_no_module_writes_the_version_again() -> None:
    others = [path for path in SOURCES if path != PROJECT_DIR / "kit" / "new.py"]  # It writes a new one's first.
    writing = [path.name for path in others if f'"{VERSION}"' in path.read_text(encoding="utf-8")]
    assert writing == [], f'{writing} write the version "{VERSION}" again: read it from pyproject.toml instead'


def test_only_the_server_and_the_tool_s_own_tests_name_its_tools() -> None:
    names = set(served_tools().handlers) - {tool.name for tool in probe_server.TOOLS}  # The probe's are the tests'.
    knowing = {path.name for path in SOURCES for name in names if name in path.read_text(encoding="utf-8")}
    assert knowing <= {SERVER_FILE, *TOOL_OWN_TESTS}, "only the server and its tool's own tests may name its tools"


@pytest.mark.parametrize(("left_out", "run"), [(SERVER_MODULE, SERVER_FILE), ("host_setup", "host_setup.py")])
def test_a_module_that_project_scripts_leaves_out_says_so_in_one_line(tmp_path: Path, left_out: str, run: str) -> None:
    copy_shipped(tmp_path)
    pyproject = (PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8")
    kept = [line for line in pyproject.splitlines() if not re.match(rf'\S+ = "{left_out}:', line)]
    (tmp_path / "pyproject.toml").write_text("\n".join(kept) + "\n", encoding="utf-8")
    done = run_script(run, "--help", folder=tmp_path)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.count("\n") == 1, done.stderr
    assert "[project.scripts]" in done.stderr, done.stderr


def copy_shipped(folder: Path) -> None:
    for file in (SERVER_FILE, "host_setup.py"):
        shutil.copy(PROJECT_DIR / file, folder)
    shutil.copytree(PROJECT_DIR / "kit", folder / "kit", ignore=shutil.ignore_patterns("__pycache__"))


def copy_with_pyproject(folder: Path, edit: Callable[[str], str]) -> None:
    """The shipped modules in `folder`, beside this project's pyproject.toml as `edit` changes it."""
    copy_shipped(folder)
    pyproject = (PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8")
    (folder / "pyproject.toml").write_text(edit(pyproject), encoding="utf-8")


DYNAMIC = (f'version = "{VERSION}"', 'dynamic = ["version"]')


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda text: text.replace(*DYNAMIC), "the version is dynamic, and no installed metadata or "),
        (lambda text: text.replace("[project]\n", "[project\n"), "not valid TOML: "),
        (lambda text: text.replace(f'version = "{VERSION}"\n', ""), "[project] needs a `version`"),
        (lambda text: re.sub(r"^name = .*$", "name = 3", text, count=1, flags=re.MULTILINE), "needs a name"),
    ],
    ids=["dynamic", "syntax", "no-version", "no-name"],
)
@pytest.mark.parametrize("run", [[SERVER_FILE, "--version"], ["host_setup.py", "--help"]], ids=["server", "setup"])
def test_a_pyproject_the_identity_cannot_come_from_is_one_line_naming_it(
    tmp_path: Path, edit: Callable[[str], str], problem: str, run: list[str]
) -> None:
    copy_with_pyproject(tmp_path, edit)
    done = run_script(*run, folder=tmp_path)
    assert (done.returncode, done.stdout) == (1, ""), done.stderr
    assert done.stderr.startswith(f"{tmp_path / 'pyproject.toml'}: "), done.stderr
    assert problem in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr


def test_a_dynamic_version_is_read_where_hatchling_reads_it(tmp_path: Path) -> None:
    hatch = '\n[tool.hatch.version]\npath = "about.py"\n'
    copy_with_pyproject(tmp_path, lambda text: text.replace(*DYNAMIC) + hatch)
    (tmp_path / "about.py").write_text('__version__ = "2.7.1"\n', encoding="utf-8")
    server = run_script(SERVER_FILE, "--version", folder=tmp_path)
    setup = run_script("host_setup.py", "--help", folder=tmp_path)
    assert (server.returncode, setup.returncode) == (0, 0), server.stderr + setup.stderr
    assert server.stdout == f"{NAME} 2.7.1\n"


def test_the_server_has_no_script_block_that_would_bypass_the_lock() -> None:
    source = (PROJECT_DIR / SERVER_FILE).read_text(encoding="utf-8")
    assert not re.search(r"^# /// script", source, re.MULTILINE), (
        f"{SERVER_FILE}: a PEP 723 block makes uv ignore uv.lock"
    )


def imported_modules(file: str) -> set[str]:
    """Every module a file imports, anywhere in it, as written (`mcp.server`, `stdio_repairs`, ...)."""
    tree = ast.parse((PROJECT_DIR / file).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_imports_point_one_way_server_then_serving_then_repairs_and_the_setup_tool_beside_them() -> None:
    server, serving, repairs, identity, setup = (imported_modules(file) for file in SHIPPED)
    assert "kit.serving" in server, f"{SERVER_FILE} serves through kit/serving.py: keep its `from kit import serving`"
    assert "kit.stdio_repairs" in serving, "kit/serving.py serves over stdio through kit/stdio_repairs.py"
    assert "kit.serving" not in repairs, "kit/stdio_repairs.py serves any Server: it must not import kit/serving.py"
    assert {name.split(".")[0] for name in identity} <= set(sys.stdlib_module_names), "kit/identity.py: stdlib only"
    server_parts = {part.removesuffix(".py").replace("/", ".") for part in SERVER_PARTS}
    for file, imported in ((SERVER_FILE, server), *zip(SERVER_PARTS, (serving, repairs, identity), strict=True)):
        rooms = kit_modules(imported) - server_parts
        assert rooms == set(), f"{file} imports {rooms}: the server imports no room of the setup tool"
    rooms = [path.relative_to(PROJECT_DIR).as_posix() for path in sorted((PROJECT_DIR / "kit").glob("*.py"))]
    for room in (room for room in rooms if room not in SERVER_PARTS):
        setup |= imported_modules(room)
        assert "host_setup" not in imported_modules(room), f"{room} is a room of the setup tool: it must not import it"
    assert SERVER_MODULE not in setup, f"the setup tool must not import {SERVER_FILE}, the file a copy rewrites"
    assert not {"kit.serving", "kit.stdio_repairs"} & kit_modules(setup), "the setup tool must not import what serves"


def kit_modules(imported: set[str]) -> set[str]:
    """The kit's modules among `imported` names (`kit.identity` for `kit.identity.title`)."""
    return {".".join(name.split(".")[:2]) for name in imported if name.startswith("kit.")}


def test_the_setup_tool_starts_without_the_sdk_which_only_check_and_manifest_import() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys, host_setup; print(sorted({m.split('.')[0] for m in sys.modules}))"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert not {"mcp", "mcp_types", "pydantic", "anyio"} & set(ast.literal_eval(done.stdout)), done.stdout


def test_a_check_its_config_refuses_is_refused_before_the_sdk_is_imported(tmp_path: Path) -> None:
    config = tmp_path / "claude_desktop_config.json"
    config.write_text("{oops", encoding="utf-8")
    checking = (
        "import sys, host_setup\nsys.argv = ['host_setup.py']\n"
        f"try: host_setup.main(['check', '--config', {str(config)!r}])\nexcept SystemExit: pass"
    )
    done = subprocess.run(
        [sys.executable, "-c", f"{checking}\nprint(sorted({{m.split('.')[0] for m in sys.modules}}))"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stderr.startswith(f"host_setup check: {config} is not valid JSON ("), done.stderr
    assert not {"mcp", "mcp_types", "pydantic", "anyio"} & set(ast.literal_eval(done.stdout)), done.stdout


def test_the_server_leaves_what_only_check_needs_to_the_setup_module() -> None:
    server = imported_modules(SERVER_FILE)
    assert not {"mcp.Client", "mcp.stdio_client", "mcp.StdioServerParameters"} & server


def test_the_shipped_modules_use_no_private_sdk_module() -> None:
    for file in SHIPPED:
        private = [name for name in imported_modules(file) if name.startswith("mcp") and "._" in name]
        assert private == [], f"{file} imports private SDK modules {private}: use the SDK's public API"


def test_the_example_config_runs_the_server_as_hosts_do() -> None:
    example = json.loads((PROJECT_DIR / "claude_desktop_config.example.json").read_text(encoding="utf-8"))
    [server] = example["mcpServers"].values()
    expected = ["--directory", server["args"][1], "run", "--no-dev", "--frozen", SERVER_FILE]
    assert (server["command"].endswith("/uv"), server["args"]) == (True, expected), (
        f"claude_desktop_config.example.json: run /path/to/uv with {expected}"
    )


def test_every_json_snippet_in_the_docs_parses() -> None:
    text = docs_text()
    for block in re.findall(r"```json\n(.*?)```", text, re.DOTALL):
        json.loads(block)
    for block in re.findall(r"```jsonl\n(.*?)```", text, re.DOTALL):
        for line in block.splitlines():
            assert json.loads(line)["jsonrpc"] == "2.0", line


def test_every_host_command_in_the_docs_runs_only_what_serving_needs() -> None:
    for command in re.findall(rf"--directory[^\n]*?{re.escape(SERVER_FILE)}", docs_text()):
        assert re.search(rf'\brun"?,? "?--no-dev"?,? "?--frozen"?,? "?{re.escape(SERVER_FILE)}', command), command


def test_every_host_the_docs_name_is_one_the_setup_tool_knows() -> None:
    named = set(re.findall(r"host_setup\.py hosts ([a-z][a-z-]*)", docs_text()))
    assert named <= set(HOSTS), f"the docs name hosts that `host_setup.py hosts` does not know: {named - set(HOSTS)}"


def test_every_doc_link_points_at_a_file_that_exists() -> None:
    for path in DOCS:
        for target in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
            assert (path.parent / target).exists(), f"{path.name} links to {target}, which does not exist"


def test_ci_runs_the_test_command_the_readme_gives() -> None:
    ci = (PROJECT_DIR / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^uv run pytest$", ci, re.MULTILINE), ".ci/run must run `uv run pytest`, the README's command"
    if (PROJECT_DIR / "tests" / "interop").is_dir():
        assert "REQUIRE_TEST_KITS=1" in ci, ".ci/run must require the npm test kits: REQUIRE_TEST_KITS=1"
    for command in re.findall(r"^(uv run pytest\b[^#\n]*?)\s*(?:#.*)?$", docs_text(), re.MULTILINE):
        assert command == "uv run pytest", f"the docs' test command {command!r} is not the one CI runs"
