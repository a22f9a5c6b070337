#!/usr/bin/env bash
# The test command: installs everything the tests need into .venv, then runs them all.
# Extra arguments go to pytest (e.g. scripts/test.sh -k getro -x).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
exec .venv/bin/python -m pytest "$@"
