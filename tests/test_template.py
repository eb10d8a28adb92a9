"""The template, proven by a copy: `new` makes one whose own CI passes, untouched and with other tools.

Minutes, so it runs when HEARTBEAT_TEMPLATE_PROOF=1 (CI sets it). The other tools are data, in
tests/make_it_your_own/, put where the copy's README says: its server module's tools section.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR, SAMPLE_TOOL, skip_or_fail, uv

CHANGE = PROJECT_DIR / "tests" / "make_it_your_own"
TEMPLATE_HINT = "the template proof takes minutes; run it with HEARTBEAT_TEMPLATE_PROOF=1"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`unit-converter`, as `new` makes it from this checkout."""
    if os.environ.get("HEARTBEAT_TEMPLATE_PROOF") != "1":
        skip_or_fail(TEMPLATE_HINT)
    folder = tmp_path_factory.mktemp("new") / "unit-converter"
    done = run(PROJECT_DIR, uv(), "run", "--frozen", "host_setup.py", "new", str(folder))
    assert done.stdout.startswith(f"Made unit-converter in {folder}: "), done.stdout
    return folder


def run(folder: Path, *command: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "REQUIRE_TEST_KITS")}
    done = subprocess.run(
        command, cwd=folder, capture_output=True, text=True, timeout=1200, env=environment, check=False
    )
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_copy_s_own_ci_passes_as_it_is_made(made: Path) -> None:
    run(made, str(made / ".ci" / "run"))
    checked = run(made, uv(), "run", "--frozen", "host_setup.py", "check", "--config", str(made / "absent.json"))
    assert checked.stdout.startswith("unit-converter check: OK\n"), checked.stdout
    assert "  server:     unit-converter 0.1.0\n" in checked.stdout


def test_the_copy_s_own_ci_passes_with_other_tools_in_their_place(made: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(made, tmp_path / "unit-converter", ignore=shutil.ignore_patterns(".venv")))
    server = copy / "unit_converter.py"
    text = server.read_text(encoding="utf-8")
    start, end = text.index("# The tools ---"), text.index("# The server ---")
    text = text[:start] + (CHANGE / "tools.py").read_text(encoding="utf-8") + "\n" + text[end:]
    server.write_text(text.replace("import time\n", "import random\nimport time\n", 1), encoding="utf-8")
    run(copy, uv(), "run", "--frozen", "ruff", "check", "--fix", "--quiet", "unit_converter.py")
    ci = run(copy, str(copy / ".ci" / "run"))
    assert f"the server no longer serves {SAMPLE_TOOL}" in ci.stdout, ci.stdout[-2000:]  # Its tests say so.
    checked = run(copy, uv(), "run", "--frozen", "host_setup.py", "check", "--config", str(copy / "absent.json"))
    assert '  called:     roll_dice {"sides": 2}\n' in checked.stdout, checked.stdout
    run(copy, uv(), "run", "--frozen", "host_setup.py", "manifest")
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    assert [tool["name"] for tool in manifest["tools"]] == ["roll_dice", "echo"], manifest["tools"]
