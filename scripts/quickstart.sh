#!/usr/bin/env bash
# The quick start: installs everything into .venv, serves the sandbox on 127.0.0.1, runs
# `meltano run tap-jobsources target-duckdb` into output/warehouse.duckdb, stops the sandbox and
# prints each table's row count. No credentials needed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[pipelines]" -e ./sandbox
exec .venv/bin/python -m jobsources_sandbox.quickstart "$@"
