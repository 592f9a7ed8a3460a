#!/usr/bin/env bash
# Create (or reuse) the project's virtualenv at ./venv and install a requirements file.
# Usage: scripts/setup-venv.sh requirements.txt [more requirement files...]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: Python 3.11 or newer is required ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x venv/bin/python ]; then
  echo "== creating virtualenv ./venv"
  "$PYTHON" -m venv venv
fi
# A fresh venv's pip (23.x) cannot resolve this dependency set: upgrade it first.
venv/bin/python -m pip install --quiet --upgrade pip
# --no-compile: pip would byte-compile every installed module, most of the install's time
# (pulumi_azure_native alone ships thousands of modules, of which the program imports a
# handful); Python compiles what is imported on first use and caches it in __pycache__.
for req in "$@"; do
  echo "== installing $req"
  venv/bin/python -m pip install --quiet --no-compile -r "$req"
done
