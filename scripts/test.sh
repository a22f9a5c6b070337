#!/usr/bin/env bash
# The test command, in two tiers.
#
# The fast tier, `scripts/test.sh -m "not e2e"` (any -m selection that says "not e2e"): the project's
# own environment only, .venv (the tap, Meltano, pytest, ruff, mypy and the sandbox: pip install -e
# ".[test]" -e ./sandbox), the gates, then the tests that run the tap in-process against the emulator.
# No Airflow, no second SDK, no Debian package: no e2e test needs them less than every one of them.
#
# The full tier, any other call (`scripts/test.sh`, `-q`, `-k getro` ...; what CI runs): .venv, and
#   .venv-sdk055   the tap on the next singer-sdk (0.55): the core tests run on it too, beside the main run
#   .venv-airflow  Apache Airflow 3 with its [postgres] and [celery] extras and redis, apart (its pins clash with
#                  Meltano's), for the DAG tests
#   PostgreSQL     Debian's package when missing; the tests start a throwaway cluster of it
#   Redis          Debian's redis-server when missing; the production test starts its own
#   valgrind       Debian's package when missing: the benchmark's smoke test counts instructions
# Extra arguments go to the main pytest run (e.g. scripts/test.sh -k getro -x; in the full tier a -m
# selection applies to the singer-sdk 0.55 run too; -n 0: one process instead of two workers).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
PIP=(--quiet --disable-pip-version-check)
AIRFLOW_VERSION="3.3.*"

# The marker selection, and the tier it makes.
MARKS=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    -m) MARKS=(-m "${args[i + 1]:-}") ;;
    -m?*) MARKS=("${args[i]}") ;;
  esac
done
FAST=0
case "${MARKS[*]-}" in *"not e2e"*) FAST=1 ;; esac

# pip runs when what it installs may have changed: the packages' definitions or this script
# (the editable installs follow the code by themselves). A second run starts testing at once.
STAMP="$(cat pyproject.toml sandbox/pyproject.toml "$0" | sha256sum | cut -d' ' -f1)"
current() { [ "$(cat "$1/.installed-by-test-sh" 2>/dev/null)" = "$STAMP" ]; }

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
current .venv || {
  .venv/bin/python -m pip install "${PIP[@]}" -e ".[test]" -e ./sandbox
  echo "$STAMP" >.venv/.installed-by-test-sh
}

# Two workers (pytest-xdist): most tests run the tap in-process and wait on the emulator, the
# rest on Meltano, Airflow or PostgreSQL processes. The tests that share the repository's Meltano
# project run on one worker, one at a time (tests/conftest.py schedules them).
# "-n 0" among the arguments runs everything in this one process instead.
WORKERS=(-n 2)

if [ "$FAST" = 1 ]; then
  # The gates run beside the tests (these wait on the emulator more than they use a core); their
  # output comes after the tests', and either failing fails the command.
  gates_log="$(mktemp)"
  trap 'rm -f "$gates_log"' EXIT
  (.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy) >"$gates_log" 2>&1 &
  gates_pid=$!
  status=0
  .venv/bin/python -m pytest "${WORKERS[@]}" "$@" || status=$?
  gates_status=0
  wait "$gates_pid" || gates_status=$?
  echo "== gates: ruff check, ruff format --check, mypy"
  cat "$gates_log"
  if [ "$gates_status" -ne 0 ]; then
    echo "the gates failed (above)" >&2
    exit "$gates_status"
  fi
  exit "$status"
fi

[ -x .venv-sdk055/bin/python ] || "$PYTHON" -m venv .venv-sdk055
current .venv-sdk055 || {
  .venv-sdk055/bin/python -m pip install "${PIP[@]}" --pre "singer-sdk[msgspec]>=0.55.0a0,<0.56" \
    -e . -e ./sandbox pytest pytest-timeout pytest-xdist PyYAML
  echo "$STAMP" >.venv-sdk055/.installed-by-test-sh
}

# The [postgres] extra: the scheduler test keeps Airflow's metadata in PostgreSQL (psycopg2, asyncpg).
# The [celery] extra and redis: the production test runs the CeleryExecutor with a Redis broker.
# celery<5.7: the Celery provider (3.26) imports celery.backends.database.retry, which 5.7 removed.
if ! current .venv-airflow; then
  if ! .venv-airflow/bin/python -c "import airflow, sys; sys.exit(not airflow.__version__.startswith('3.'))" 2>/dev/null; then
    rm -rf .venv-airflow
    "$PYTHON" -m venv .venv-airflow
  fi
  .venv-airflow/bin/python -c "import psycopg2, asyncpg, redis, airflow.providers.celery.executors.celery_executor" \
    >/dev/null 2>&1 ||
    .venv-airflow/bin/python -m pip install "${PIP[@]}" "apache-airflow[postgres,celery]==${AIRFLOW_VERSION}" \
      "celery[redis]<5.7" redis
  echo "$STAMP" >.venv-airflow/.installed-by-test-sh
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL is needed: install it (Debian: sudo apt-get install postgresql)" >&2
    exit 1
  fi
fi

# Redis: the Celery broker of the production test (it starts its own redis-server, nothing else).
if ! command -v redis-server >/dev/null && [ ! -x /usr/bin/redis-server ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "redis-server is needed: install it (Debian: sudo apt-get install redis-server)" >&2
    exit 1
  fi
fi

# valgrind counts the benchmark's instructions (its smoke test reads the figure).
if ! command -v valgrind >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
  fi
fi

# Gates: lint, format and types.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy

# The core tests on singer-sdk 0.55 too (the whole suite runs on 0.54 below), with the same
# marker selection as that run.
# It runs beside the main run (most tests wait on the emulator, not on a core); its output is
# printed once it is done, and either run failing fails the command.
# Its own process group (setsid), so that an interrupted command ends it too.
core_log="$(mktemp)"
core_pid=""
trap '[ -n "$core_pid" ] && kill -TERM -- "-$core_pid" 2>/dev/null; rm -f "$core_log"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
setsid .venv-sdk055/bin/python -m pytest -q -p no:cacheprovider "${WORKERS[@]}" ${MARKS[@]+"${MARKS[@]}"} \
  tests/test_core.py tests/test_sdk_compat.py tests/test_units.py tests/test_shaping_and_settings.py \
  tests/test_hostile.py tests/test_resume.py tests/test_reading.py tests/test_moving_lists.py \
  tests/test_settings_forms.py >"$core_log" 2>&1 &
core_pid=$!

status=0
.venv/bin/python -m pytest "${WORKERS[@]}" "$@" || status=$?
core_status=0
wait "$core_pid" || core_status=$?
core_pid=""
echo "== core tests on $(.venv-sdk055/bin/python -c 'from importlib.metadata import version; print("singer-sdk", version("singer-sdk"))')"
cat "$core_log"
if [ "$core_status" -ne 0 ]; then
  echo "the core tests failed on singer-sdk 0.55 (above)" >&2
  exit "$core_status"
fi
exit "$status"
