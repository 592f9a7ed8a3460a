"""The benchmark scripts still start: their imports follow the code when it moves.

They print figures and are not run by the suite (no timed tests); `--help` loads each
one's imports, which is what a layout change breaks.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

SCRIPTS = sorted(p.name for p in (ROOT / "bench").glob("bench_*.py"))


def test_every_benchmark_is_listed():
    assert SCRIPTS == [
        "bench_deploy.py",
        "bench_plan.py",
        "bench_progress.py",
        "bench_state.py",
        "bench_status.py",
        "bench_suite.py",
    ]


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_benchmark_loads(script):
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {script}")
