"""The template, proven by a copy: renamed and given other tools, the tool-independent tests still pass.

About a minute, so it runs when HEARTBEAT_TEMPLATE_PROOF=1 (CI sets it). The change is
data, in tests/make_it_your_own/, applied as README.md's "Make it your own" says.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import LEFT_OUT, PROJECT_DIR, TEMPLATE_HINT, copy_project, skip_or_fail, uv

CHANGE = PROJECT_DIR / "tests" / "make_it_your_own"
KITS = ("tests/interop/node_modules", "bundle/node_modules", "tests/hosts/node_modules", "tests/hosts/.venv")


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project copied and changed into `dice`, with its lock updated."""
    if os.environ.get("HEARTBEAT_TEMPLATE_PROOF") != "1":
        skip_or_fail(TEMPLATE_HINT)
    copied = tmp_path_factory.mktemp("template") / "dice"
    copy_project(copied)
    for kit in KITS:  # The npm kits as they are, so the copy runs its interop, bundle and hosts tests too.
        if (PROJECT_DIR / kit).is_dir():
            (copied / kit).symlink_to(PROJECT_DIR / kit)
    rename(copied)
    run(copied, uv(), "lock")
    replace_the_tools(copied)
    write_its_own_readme(copied)
    return copied


def rename(copied: Path) -> None:
    pyproject = copied / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^name = "heartbeat"$', 'name = "dice"', text)
    text = text.replace('heartbeat = "heartbeat:main"\nheartbeat-setup =', 'dice = "dice:main"\ndice-setup =')
    pyproject.write_text(re.sub(r'(?m)^version = ".*"$', 'version = "0.1.0"', text), encoding="utf-8")
    (copied / "heartbeat.py").rename(copied / "dice.py")
    manifest_path = copied / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    example = copied / "claude_desktop_config.example.json"
    example.write_text(example.read_text(encoding="utf-8").replace('"heartbeat.py"', '"dice.py"'), encoding="utf-8")
    manifest["server"]["entry_point"] = "dice.py"
    manifest["server"]["mcp_config"]["args"][-1] = "dice.py"
    manifest.update(
        name="dice",
        display_name="Dice",
        version="0.1.0",
        tools=[
            {"name": "roll_dice", "description": "Roll one die with `sides` sides and say which number came up."},
            {"name": "echo", "description": "Say `text` back, unchanged."},
        ],
    )
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def replace_the_tools(copied: Path) -> None:
    server = copied / "dice.py"
    text = server.read_text(encoding="utf-8")
    start, end = text.index("# The tools ---"), text.index("# The server ---")
    text = text[:start] + (CHANGE / "tools.py").read_text(encoding="utf-8") + "\n" + text[end:]
    server.write_text(text.replace("import time\n", "import random\nimport time\n", 1), encoding="utf-8")
    shutil.copy(CHANGE / "test_tool.py", copied / "tests" / "test_tool.py")
    (copied / "tests" / "test_properties.py").unlink()
    shutil.rmtree(copied / "tests" / "make_it_your_own")
    run(copied, uv(), "run", "--frozen", "ruff", "check", "--fix", "--quiet", "dice.py")


def write_its_own_readme(copied: Path) -> None:
    (copied / "README.md").write_text("# dice\n\nRolls dice for a model: `uv run dice.py`.\n", encoding="utf-8")
    shutil.rmtree(copied / "docs")


def run(folder: Path, *command: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    done = subprocess.run(
        command, cwd=folder, capture_output=True, text=True, timeout=600, env=environment, check=False
    )
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    return done


def files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and not {*LEFT_OUT, ".ruff_cache"} & set(path.relative_to(folder).parts)
    }


def test_the_change_touched_only_what_the_readme_names(copy: Path) -> None:
    before, after = files(PROJECT_DIR), files(copy)
    changed = {name for name in after if before.get(name) != after[name]}
    removed = {name for name in before if name not in after and not name.startswith("tests/make_it_your_own/")}
    assert changed == {
        "dice.py",
        "pyproject.toml",
        "uv.lock",
        "manifest.json",
        "claude_desktop_config.example.json",
        "tests/test_tool.py",
        "README.md",
    }
    assert removed == {"heartbeat.py", "tests/test_properties.py"} | {
        name for name in before if name.startswith("docs/")
    }


def test_the_copy_is_lint_clean_and_strictly_typed(copy: Path) -> None:
    run(copy, uv(), "run", "--frozen", "ruff", "check", "dice.py")
    run(copy, uv(), "run", "--frozen", "ruff", "format", "--check", "dice.py")
    run(copy, uv(), "run", "--frozen", "pyright", "dice.py")


def test_every_test_of_the_copy_passes_unchanged(copy: Path) -> None:
    done = run(
        copy, uv(), "run", "--frozen", "pytest", "-q", "-p", "no:cacheprovider", "--ignore=tests/test_template.py"
    )
    assert re.search(r"\d+ passed", done.stdout), done.stdout[-2000:]


def test_the_copy_checks_as_itself(copy: Path) -> None:
    done = run(copy, uv(), "run", "--frozen", "host_setup.py", "check", "--config", str(copy / "absent.json"))
    assert "--frozen dice.py\n" in done.stdout
    assert done.stdout.startswith("dice check: OK\n")
    assert "  server:     dice 0.1.0\n" in done.stdout
    assert '  called:     roll_dice {"sides": 2}\n' in done.stdout
