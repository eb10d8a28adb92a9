"""`new`: a server project of your own in one command, from a checkout or through uvx from a git URL;
what it will not make, and what the copy holds. The copy's own CI runs in tests/test_template.py."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from kit.new import INITIAL_VERSION
from tests.conftest import NAME, PROJECT_DIR, SERVER_FILE, SERVER_MODULE, TOOLS, run_script, uv
from tests.test_uvx import run_installed_setup_tool


def example_tool_names() -> re.Pattern[str]:
    """What a copy keeps of the template's example tool: its names, titles, and the server module's own names."""
    tree = ast.parse((PROJECT_DIR / SERVER_FILE).read_text(encoding="utf-8"))
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}
    assigned = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    tools = [text for tool in TOOLS for text in (tool.name, tool.title) if text]
    longest_first = sorted({*tools, *defined, *assigned}, key=len, reverse=True)
    return re.compile("|".join(re.escape(name) for name in longest_first))


EXAMPLE_TOOL = example_tool_names()
EXAMPLE_TOOL_NAMES = re.compile("|".join(re.escape(text) for tool in TOOLS for text in (tool.name, tool.title) if text))
OTHER = next(name for name in ("unit-converter", "weather-desk") if name != NAME)  # A copy's tests make another.
OTHER_MODULE = OTHER.replace("-", "_")
OTHER_FILE = f"{OTHER_MODULE}.py"
MADE_AS = ("LICENSE", "README.md")  # They say where the copy came from, as MIT asks and a reader wants.
EXAMPLE_TESTS = ("tests/test_tool.py", "tests/test_properties.py")  # The example tool's own, which a copy replaces.
NAMING_OTHERS = ("tests/test_new.py",)  # It names the projects it makes.


def new(*args: str) -> subprocess.CompletedProcess[str]:
    return run_script("host_setup.py", "new", *args)


def all_files(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("new") / OTHER
    done = new(str(folder))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Made {OTHER} in {folder}: {len(all_files(folder))} files"), done.stdout
    return folder


def test_the_copy_holds_its_own_server_and_the_kit_and_nothing_of_ours(made: Path) -> None:
    files = all_files(made)
    assert {OTHER_FILE, "kit/serving.py", "kit/stdio_repairs.py", "host_setup.py", "kit/new.py"} <= set(files)
    assert {"README.md", "LICENSE", "pyproject.toml", "uv.lock", "manifest.json", ".ci/run"} <= set(files)
    assert {"tests/conftest.py", "tests/test_tool.py", "tests/test_stdio.py", "tests/test_new.py"} <= set(files)
    ours = ("bench/", "docs/", "bundle/", "tests/interop/", "tests/hosts/", "tests/make_it_your_own/", ".ci/windows")
    assert [file for file in files if file.startswith(ours)] == []
    assert not {"tests/test_template.py", "tests/test_docs.py", "tests/test_hosts.py"} & set(files)
    assert f"{SERVER_MODULE}.py" not in files


def test_every_identity_in_the_copy_is_its_own(made: Path) -> None:
    for file in all_files(made):
        if file not in (*MADE_AS, *EXAMPLE_TESTS, *NAMING_OTHERS) and not file.endswith(".png"):
            kept = EXAMPLE_TOOL if file == OTHER_FILE else EXAMPLE_TOOL_NAMES  # The module keeps its own names.
            text = kept.sub("", (made / file).read_text(encoding="utf-8"))
            assert NAME not in text.lower(), f"{file} names {NAME}: {text[text.lower().index(NAME) - 80 :][:200]!r}"
    project = tomllib.loads((made / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert (project["name"], project["version"]) == (OTHER, INITIAL_VERSION)
    assert project["scripts"] == {OTHER: f"{OTHER_MODULE}:main", f"{OTHER}-setup": "host_setup:main"}
    manifest = json.loads((made / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["name"], manifest["version"], manifest["server"]["entry_point"]) == (
        OTHER,
        INITIAL_VERSION,
        OTHER_FILE,
    )


def test_the_copy_s_lock_is_its_own_and_in_sync(made: Path) -> None:
    done = subprocess.run(
        [uv(), "lock", "--check", "--offline"], cwd=made, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    project = f'name = "{OTHER}"\nversion = "{INITIAL_VERSION}"\nsource = {{ virtual = "." }}'
    assert project in (made / "uv.lock").read_text(encoding="utf-8")


def test_the_copy_serves_and_says_its_name(made: Path) -> None:
    done = run_script(OTHER_FILE, "--version", folder=made)
    assert (done.returncode, done.stdout) == (0, f"{OTHER} {INITIAL_VERSION}\n"), done.stderr
    assert f"{OTHER_MODULE.upper()}_LOG_LEVEL" in run_script(OTHER_FILE, "--help", folder=made).stdout


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("2fast", "is not a project name"),
        ("unit--converter", "is not a project name"),
        ("x" * 65, "is not a project name"),
        ("my.server", "is not a project name"),
        ("class", "is a Python keyword"),
        ("json", "would hide the module 'json'"),
        ("mcp", "would hide the module 'mcp'"),
        ("pytest", "would hide the module 'pytest'"),
        ("JSON", "would hide the module 'JSON'"),
        ("conftest", "would hide the module 'conftest'"),
        ("Kit", "would hide the module 'Kit'"),
        ("tests", "would hide the module 'tests'"),
    ],
)
def test_a_name_that_cannot_be_a_project_s_is_refused_in_one_line_and_nothing_is_made(
    tmp_path: Path, name: str, problem: str
) -> None:
    folder = tmp_path / "made"
    done = new(str(folder), "--name", name)
    assert (done.returncode, done.stdout) == (1, ""), done.stdout
    assert done.stderr.startswith("host_setup new: "), done.stderr
    assert problem in done.stderr
    assert done.stderr.endswith("Nothing was made.\n")
    assert done.stderr.count("\n") == 1, done.stderr
    assert not folder.exists()


def test_a_folder_that_is_not_empty_or_a_file_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine\n", encoding="utf-8")
    a_file = tmp_path / "a-file"
    a_file.write_text("mine\n", encoding="utf-8")
    for path, problem in [(full, "is a folder that is not empty"), (a_file, "is a file")]:
        done = new(str(path))
        assert (done.returncode, done.stderr.count("\n")) == (1, 1), done.stderr
        assert problem in done.stderr
    assert [path.name for path in full.iterdir()] == ["notes.txt"]
    assert a_file.read_text(encoding="utf-8") == "mine\n"


def test_an_empty_folder_is_made_into_the_project_named_after_it(tmp_path: Path) -> None:
    folder = tmp_path / "Weather_Desk"
    folder.mkdir()
    done = new(str(folder))
    assert done.returncode == 0, done.stderr
    assert (folder / "Weather_Desk.py").is_file()
    assert 'name = "Weather_Desk"' in (folder / "pyproject.toml").read_text(encoding="utf-8")
    locked = subprocess.run(
        [uv(), "lock", "--check", "--offline"], cwd=folder, capture_output=True, text=True, timeout=120, check=False
    )
    assert locked.returncode == 0, locked.stderr  # uv.lock writes the name as PEP 503 has it: weather-desk.


def test_uvx_makes_a_copy_from_the_git_url_it_fetched(tmp_path: Path, git_url: str) -> None:
    done = run_installed_setup_tool(git_url, "new", OTHER, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    made = tmp_path / OTHER
    assert (made / OTHER_FILE).read_bytes() == (PROJECT_DIR / f"{SERVER_MODULE}.py").read_bytes()
    assert git_url in (made / "README.md").read_text(encoding="utf-8")  # Where it came from.
