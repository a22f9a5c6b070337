#!/usr/bin/env bash
# The test command: installs everything the tests need, then runs them all.
#   .venv          the tap, Meltano, pytest, and the sandbox (pip install -e ".[test]" -e ./sandbox)
#   .venv-airflow  Apache Airflow, apart (its pins clash with Meltano's), for the DAG test
#   PostgreSQL     Debian's package when missing; the tests start a throwaway cluster of it
# Extra arguments go to pytest (e.g. scripts/test.sh -k getro -x).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
PIP=(--quiet --disable-pip-version-check)

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install "${PIP[@]}" -e ".[test]" -e ./sandbox

if [ ! -x .venv-airflow/bin/airflow ]; then
  "$PYTHON" -m venv .venv-airflow
  .venv-airflow/bin/python -m pip install "${PIP[@]}" "apache-airflow==2.11.*"
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL is needed: install it (Debian: sudo apt-get install postgresql)" >&2
    exit 1
  fi
fi

exec .venv/bin/python -m pytest "$@"
