"""How long the test suite takes, run as scripts/test.sh runs it, serial against parallel.

    venv/bin/python bench/bench_suite.py                     # a fresh clone of HEAD, workers 2
    venv/bin/python bench/bench_suite.py --workers 0,2       # serial, then on two workers
    venv/bin/python bench/bench_suite.py --no-clone          # this checkout, as it is
    venv/bin/python bench/bench_suite.py --end-to-end        # scripts/test.sh in the clone:
                                                             # venv, packages, then the suite
    venv/bin/python bench/bench_suite.py -- -m "not spark"   # extra arguments go to pytest

By default the repository's HEAD is cloned into a temporary folder that borrows this
checkout's virtualenv (and .tools/ and ../shared/, the lab's data, when present), and
scripts/pytest.sh (what scripts/test.sh runs once set up) runs there with PYTEST_WORKERS
set: the figure is the suite's own time from a fresh clone, without the package installs. ``--end-to-end``
runs scripts/test.sh itself in the clone instead (it creates the clone's own venv and
installs everything: that needs the package index). For each run it prints the wall
time, pytest's own time, the workers, the test counts, the sum of the tests' own times
(what one process would spend on them, less its start-up) and how busy the workers
were, and the modules that take longest. Nothing here is a test: the suite does not
time itself.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# pytest's last line: "790 passed, 5 skipped in 301.2s (0:05:01)", framed by "=" without -q.
SUMMARY = re.compile(
    r"^=*\s*(\d+ (?:passed|failed|skipped|errors?|deselected|xfailed|xpassed)\b.*?) in ([0-9.]+)s\b"
)


def clone(into: Path, end_to_end: bool) -> Path:
    repo = into / "repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(repo)], check=True)
    shared = ROOT.parent / "shared"  # the lab's data files beside the checkout (tests/conftest.py)
    if shared.is_dir():
        (into / "shared").symlink_to(shared.resolve())
    if not end_to_end:  # borrow this checkout's environment: the figure is the suite alone
        (repo / "venv").symlink_to((ROOT / "venv").resolve())
        if (ROOT / ".tools").is_dir():
            (repo / ".tools").symlink_to((ROOT / ".tools").resolve())
    return repo


def counts(summary: str) -> dict[str, int]:
    """pytest's last line ("790 passed, 5 skipped") as numbers."""
    found = {}
    for part in summary.split(","):
        words = part.strip().split()
        if len(words) >= 2 and words[0].isdigit():
            found[words[1]] = int(words[0])
    return found


def per_module(junit: Path) -> tuple[float, dict[str, float]]:
    """The sum of the tests' own times (setup and teardown included), and per test module."""
    modules: dict[str, float] = defaultdict(float)
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname") or case.get("file") or "?"
        if module.split(".")[-1][:1].isupper():
            module = module.rsplit(".", 1)[0]  # a test class: count it in its module
        modules[module] += float(case.get("time") or 0)
    return sum(modules.values()), dict(modules)


def run(repo: Path, workers: int, end_to_end: bool, extra: list[str], tmp: Path) -> dict:
    junit = tmp / f"junit-{workers}.xml"
    script = "scripts/test.sh" if end_to_end else "scripts/pytest.sh"
    command = [script, "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *extra]
    env = {**os.environ, "PYTEST_WORKERS": str(workers)}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    tail = [line for line in done.stdout.splitlines() if SUMMARY.search(line)]
    match = SUMMARY.search(tail[-1]) if tail else None
    busy, modules = per_module(junit) if junit.is_file() else (0.0, {})
    slots = max(workers, 1)
    return {
        "workers": workers,
        "exitCode": done.returncode,
        "wallSeconds": round(wall, 1),
        "pytestSeconds": float(match.group(2)) if match else None,
        "tests": counts(match.group(1)) if match else {},
        "testSeconds": round(busy, 1),
        "workersBusy": round(busy / (wall * slots), 2) if wall else None,
        "slowestModules": {
            k: round(v, 1) for k, v in sorted(modules.items(), key=lambda kv: -kv[1])[:8]
        },
        "stderrTail": done.stderr.strip().splitlines()[-3:] if done.returncode else [],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench_suite.py",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument(
        "--workers",
        default="2",
        help="comma-separated worker counts to run in turn; 0 is one process (default: 2)",
    )
    parser.add_argument(
        "--no-clone", action="store_true", help="run in this checkout instead of a fresh clone"
    )
    parser.add_argument(
        "--end-to-end",
        action="store_true",
        help="run scripts/test.sh in the clone: its own venv and packages, then the suite",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("pytest_args", nargs="*", help="after --: arguments for pytest")
    args = parser.parse_args(argv)
    if args.no_clone and args.end_to_end:
        parser.error("--end-to-end needs a fresh clone (it installs packages into its venv)")
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
        repo = ROOT if args.no_clone else clone(Path(tmp), args.end_to_end)
        for n in workers:
            results.append(run(repo, n, args.end_to_end, args.pytest_args, Path(tmp)))
            if not args.json:
                show(results[-1], results[0])
        if not args.no_clone:
            shutil.rmtree(repo, ignore_errors=True)
    if args.json:
        print(json.dumps({"cores": os.cpu_count(), "runs": results}, indent=2))
    return 0 if all(r["exitCode"] == 0 for r in results) else 1


def show(result: dict, first: dict) -> None:
    tests = ", ".join(f"{v} {k}" for k, v in result["tests"].items()) or "no summary"
    speedup = ""
    if result is not first and result["wallSeconds"]:
        speedup = f", x{first['wallSeconds'] / result['wallSeconds']:.2f} against the first run"
    print(
        f"workers {result['workers'] or 'none (one process)'}: wall {result['wallSeconds']:.1f} s, "
        f"pytest {result['pytestSeconds']} s, {tests}{speedup}"
    )
    print(
        f"  the tests' own time {result['testSeconds']:.1f} s; workers busy "
        f"{result['workersBusy']:.0%} of the wall time"
        if result["workersBusy"] is not None
        else "  (no timings)"
    )
    for module, seconds in result["slowestModules"].items():
        print(f"  {seconds:8.1f} s  {module}")
    for line in result["stderrTail"]:
        print(f"  stderr: {line}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
