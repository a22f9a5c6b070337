"""The Airflow 3 DAG, in a real Airflow (its own virtualenv, .venv-airflow): it loads, and it runs
with `airflow dags test` against the sandbox into a throwaway PostgreSQL, one mapped task per
configured partition."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from jobsources_sandbox import Sandbox
from jobsources_sandbox.quickstart import meltano, sandbox_env
from tests.expected import getro_records, trackjobchanges_records
from tests.helpers import all_records
from tests.postgres import Cluster, pipeline_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW = ROOT / ".venv-airflow" / "bin" / "airflow"
AIRFLOW_PYTHON = ROOT / ".venv-airflow" / "bin" / "python"
DAG_FILE = ROOT / "orchestrate" / "dags" / "tap_jobsources.py"

LOAD = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dags": {d: sorted(t.task_id for t in dag.tasks) for d, dag in bag.dags.items()},
    "pools": {t.task_id: t.pool for dag in bag.dags.values() for t in dag.tasks},
}))
"""


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FILE.parent),
        "TAP_JOBSOURCES_PROJECT": str(ROOT),
        "MELTANO_BIN": str(ROOT / ".venv" / "bin" / "meltano"),
        "PATH": "/usr/bin:/bin",
        "TAP_JOBSOURCES_TASK_RETRIES": "0",  # a failed task fails the test run at once
        **extra,
    }


def test_the_dag_uses_airflow_3_and_loads_with_its_tasks(tmp_path):
    assert AIRFLOW_PYTHON.exists(), "scripts/test.sh creates .venv-airflow with Apache Airflow 3"
    source = DAG_FILE.read_text()
    assert "from airflow.sdk import" in source and "airflow.providers.standard.operators.bash" in source
    assert "from airflow import DAG" not in source and "airflow.operators." not in source
    out = subprocess.run(
        [str(AIRFLOW_PYTHON), "-c", LOAD, str(DAG_FILE.parent)],
        env=airflow_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["errors"] == {}
    assert result["dags"]["tap_jobsources"] == sorted(
        [
            "partitions",
            "getro_networks",
            "bindbee_connectors",
            "trackjobchanges_groups",
            "getro_network",
            "bindbee_connector",
            "trackjobchanges_group",
            "getro_reference_lists",
        ]
    )
    assert set(result["dags"]["tap_jobsources_full"]) == {
        "extract_getro",
        "extract_getro_lists",
        "extract_bindbee",
        "extract_trackjobchanges",
    }
    # Every task that reads Getro shares one account quota.
    readers = {"getro_network", "getro_reference_lists", "extract_getro", "extract_getro_lists"}
    assert {t: p for t, p in result["pools"].items() if t in readers} == dict.fromkeys(readers, "tap_jobsources_getro")


@pytest.fixture(scope="module")
def postgres():
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def installed():
    result = meltano("install", env=sandbox_env({}), check=False)
    assert result.returncode == 0, result.stderr[-3000:]


def run_dag(home: Path, sandbox: Sandbox, postgres: Cluster, schema: str, **overrides) -> dict[tuple[str, int], str]:
    """`airflow dags test tap_jobsources` with the sandbox's settings; the state of each task instance."""
    settings = {
        **sandbox.settings(),
        "getro_requests_per_minute": 60000,
        "retry_backoff_seconds": 0.05,
        "retry_max_attempts": 2,
        "getro_network_ids": [101, 102, 103],
        "trackjobchanges_group_ids": list(sandbox.trackjobchanges.connections),
        **overrides,
    }
    env = pipeline_env(settings, postgres, schema, home / "state")
    env.update(airflow_env(home, PATH=env.get("PATH", "/usr/bin:/bin")))
    subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    subprocess.run(
        [str(AIRFLOW), "pools", "set", "tap_jobsources_getro", "1", "Getro API quota"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    run = subprocess.run(
        [str(AIRFLOW), "dags", "test", "tap_jobsources"], env=env, capture_output=True, text=True, timeout=900
    )
    (home / "dags-test.log").write_text(run.stdout + run.stderr)
    with sqlite3.connect(home / "airflow.db") as con:
        states = {
            (task, index): state
            for task, index, state in con.execute("select task_id, map_index, state from task_instance")
        }
        stored = json.dumps(con.execute("select * from xcom").fetchall(), default=str)
        stored += json.dumps(con.execute("select * from rendered_task_instance_fields").fetchall(), default=str)
    logs = "".join(p.read_text(errors="replace") for p in (home / "logs").rglob("*") if p.is_file())
    for secret in (
        sandbox.getro.token,
        sandbox.bindbee.api_key,
        sandbox.trackjobchanges.api_key,
        *sandbox.bindbee.tokens.values(),
    ):
        assert secret not in stored and secret not in logs and secret not in run.stdout + run.stderr
    return states


def expected_rows(sandbox: Sandbox) -> dict[str, int]:
    groups = list(sandbox.trackjobchanges.connections)
    records = {
        **getro_records(sandbox.getro),
        "ats_jobs": all_records(sandbox)["ats_jobs"],
        **trackjobchanges_records(sandbox.trackjobchanges, groups),
    }
    records.pop("job_details")
    return {table: len(rows) for table, rows in records.items()}


def rows(postgres: Cluster, schema: str, table: str) -> int:
    return postgres.query(f'select count(*) from "{schema}"."{table}"')[0][0]


@pytest.mark.timeout(900)
def test_dags_test_runs_one_task_per_partition_into_postgres(tmp_path, installed, postgres):
    with Sandbox() as sandbox:
        states = run_dag(tmp_path, sandbox, postgres, "dag_all")
        mapped = {
            task: sum(1 for (t, i) in states if t == task and i >= 0)
            for task in ("getro_network", "bindbee_connector", "trackjobchanges_group")
        }
        assert mapped == {"getro_network": 3, "bindbee_connector": 3, "trackjobchanges_group": 3}
        assert set(states.values()) == {"success"}, states
        for table, count in expected_rows(sandbox).items():
            assert rows(postgres, "dag_all", table) == count, table
        # Each partition has a state id of its own.
        ids = sorted(p.name for p in (tmp_path / "state").iterdir())
        assert "dev:tap-jobsources-getro-to-target-postgres:getro-101" in ids
        assert "dev:tap-jobsources-bindbee-to-target-postgres:bindbee-lever" in ids


@pytest.mark.timeout(900)
def test_a_provider_with_wrong_credentials_fails_its_tasks_only(tmp_path, installed, postgres):
    with Sandbox() as sandbox:
        states = run_dag(tmp_path, sandbox, postgres, "dag_some", bindbee_api_key="bbk_wrong_0000000000000000")
        assert {s for (t, _), s in states.items() if t == "bindbee_connector"} == {"failed"}
        others = {s for (t, _), s in states.items() if not t.startswith("bindbee")}
        assert others == {"success"}, states
        expected = expected_rows(sandbox)
        for table in ("jobs", "companies", "talent", "connections", "employments", "job_functions"):
            assert rows(postgres, "dag_some", table) == expected[table], table
