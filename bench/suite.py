"""How long the default `uv run pytest` takes, in units of one `import mcp.server` on the same machine.

Machines differ by 2-3x, so the suite is timed between runs of the import, interleaved, and the
figure is their ratio. Children run without PYTHONDONTWRITEBYTECODE and PYTHONUNBUFFERED.

    uv run python bench/suite.py [--rounds 3]
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
    name: value for name, value in os.environ.items() if name not in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")
}


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=PROJECT_DIR, env=ENVIRONMENT, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description="The default test run, in units of one import of the SDK.")
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    importing = [sys.executable, "-c", "import mcp.server"]
    suite = ["uv", "run", "pytest", "-q", "-p", "no:cacheprovider"]
    imports: list[float] = [seconds(importing) for _ in range(IMPORTS_PER_ROUND)]
    suites: list[float] = []
    for _ in range(rounds):
        suites.append(seconds(suite))
        imports += [seconds(importing) for _ in range(IMPORTS_PER_ROUND)]
    one_import, one_suite = statistics.median(imports), statistics.median(suites)
    print(f"import mcp.server (s): {one_import:.2f} ({min(imports):.2f}-{max(imports):.2f}), {len(imports)} runs")
    print(f"uv run pytest (s): {one_suite:.1f} ({min(suites):.1f}-{max(suites):.1f}), {len(suites)} runs")
    print(f"the suite in imports: {one_suite / one_import:.0f}")


if __name__ == "__main__":
    main()
