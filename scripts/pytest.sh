#!/usr/bin/env bash
# The test suite on every core, as scripts/test.sh runs it once everything is set up
# (bench/bench_suite.py times this). Extra arguments go to pytest.
#
# One pytest-xdist worker per core, at most 4 (each Spark module runs a local[2] Spark
# of its own); PYTEST_WORKERS=N sets how many, 0 or 1 runs in one process.
# --dist loadgroup with --no-loadscope-reorder: tests/conftest.py keeps the tests that
# share a module fixture (Spark, a browser, the program under mocks) on one worker and
# sends the Spark modules, the longest, first.
set -euo pipefail
cd "$(dirname "$0")/.."
workers="${PYTEST_WORKERS:-$(nproc 2>/dev/null || echo 2)}"
[ "$workers" -le 4 ] || workers=4
parallel=()
[ "$workers" -le 1 ] || parallel=(-n "$workers" --dist loadgroup --no-loadscope-reorder)
exec venv/bin/python -m pytest "${parallel[@]}" "$@"
