"""How long the default `uv run pytest` takes, in units of one `import mcp.server` on the same machine.

Machines differ by 2-3x, so the suite is timed between runs of the import, interleaved, and the
figure is their ratio. `--against FOLDER` (repeatable) times another checkout's suite in the same
rounds (a git worktree of an earlier commit, a copy made by `new`; each with its environment synced),
so that they compare on one machine at one time. Children run without PYTHONDONTWRITEBYTECODE and
PYTHONUNBUFFERED.

    uv run python bench/suite.py [--rounds 3] [--against FOLDER ...]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
IMPORTS_PER_ROUND = 5
ENVIRONMENT = {
    name: value
    for name, value in os.environ.items()
    if name not in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "VIRTUAL_ENV")
}


def seconds(command: list[str], folder: Path = PROJECT_DIR) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=folder, env=ENVIRONMENT, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description="The default test run, in units of one import of the SDK.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", type=Path, action="append", default=[], help="another checkout to time too")
    arguments = parser.parse_args()
    folders = [PROJECT_DIR, *(folder.resolve() for folder in arguments.against)]
    importing = [sys.executable, "-c", "import mcp.server"]
    suite = ["uv", "run", "pytest", "-q", "-p", "no:cacheprovider"]
    imports: list[float] = [seconds(importing) for _ in range(IMPORTS_PER_ROUND)]
    suites: dict[Path, list[float]] = {folder: [] for folder in folders}
    for _ in range(arguments.rounds):
        for folder in folders:
            suites[folder].append(seconds(suite, folder))
            imports += [seconds(importing) for _ in range(IMPORTS_PER_ROUND)]
    one_import = statistics.median(imports)
    print(f"import mcp.server (s): {one_import:.2f} ({min(imports):.2f}-{max(imports):.2f}), {len(imports)} runs")
    for folder, timed in suites.items():
        one_suite = statistics.median(timed)
        print(f"uv run pytest in {folder} (s): {one_suite:.1f} ({min(timed):.1f}-{max(timed):.1f}), {len(timed)} runs")
        print(f"  the suite in imports: {one_suite / one_import:.0f}")
    ours = statistics.median(suites[PROJECT_DIR])
    for folder in folders[1:]:
        print(f"this checkout's suite takes {ours / statistics.median(suites[folder]):.2f}x the time of {folder}'s")


if __name__ == "__main__":
    main()
