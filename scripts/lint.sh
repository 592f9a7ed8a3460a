#!/usr/bin/env bash
# The checks every change keeps: ruff's lint rules, ruff's format and pyright (basic) on
# lab/ and providers/ (settings in pyproject.toml). Uses ./venv; creates it if missing.
# Exits non-zero when any check fails, after running all of them.
set -uo pipefail
cd "$(dirname "$0")/.."
[ -x venv/bin/ruff ] && [ -x venv/bin/pyright ] || scripts/setup-venv.sh requirements-dev.txt || exit 1
failed=0
echo "== ruff check"; venv/bin/ruff check . || failed=1
echo "== ruff format --check"; venv/bin/ruff format --check . || failed=1
echo "== pyright (lab/, providers/)"; venv/bin/pyright || failed=1
if [ "$failed" != 0 ]; then
  echo "lint: failed (fix with 'venv/bin/ruff check --fix .' and 'venv/bin/ruff format .', then rerun)" >&2
fi
exit "$failed"
