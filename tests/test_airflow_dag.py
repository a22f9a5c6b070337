"""The Airflow 3 DAG, in a real Airflow (its own virtualenv, .venv-airflow): it loads with its tasks,
pools and order, and under `airflow dags test` a provider with wrong credentials fails its own
tasks only. The scheduler test (test_airflow_scheduler.py) runs it as production does."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from jobsources_sandbox import Sandbox
from jobsources_sandbox.quickstart import meltano, sandbox_env
from tests.airflow import AIRFLOW, AIRFLOW_PYTHON, DAG_FILE, airflow_env, dag_settings
from tests.expected import getro_records, trackjobchanges_records
from tests.helpers import all_records, default_records
from tests.postgres import Cluster, pipeline_env

pytestmark = pytest.mark.e2e

LOAD = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dags": {d: sorted(t.task_id for t in dag.tasks) for d, dag in bag.dags.items()},
    "pools": {t.task_id: t.pool for dag in bag.dags.values() for t in dag.tasks},
    "trigger_rules": {
        d: {t.task_id: getattr(t.trigger_rule, "value", t.trigger_rule) for t in dag.tasks}
        for d, dag in bag.dags.items()
    },
    "upstream": {d: {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks} for d, dag in bag.dags.items()},
}))
"""


def test_the_dag_uses_airflow_3_and_loads_with_its_tasks(tmp_path):
    assert AIRFLOW_PYTHON.exists(), "scripts/test.sh creates .venv-airflow with Apache Airflow 3"
    source = DAG_FILE.read_text()
    assert "from airflow.sdk import" in source
    assert "airflow.providers.standard.operators.bash" in source
    assert "from airflow import DAG" not in source
    assert "airflow.operators." not in source
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
            "create_tables",
            "build_models",
        ]
    )
    assert set(result["dags"]["tap_jobsources_full"]) == {
        "extract_getro",
        "extract_getro_lists",
        "extract_bindbee",
        "extract_trackjobchanges",
        "create_tables",
        "build_models",
    }
    # Every task that loads waits for create_tables: the tables exist before tasks load side by side.
    loaders = {
        "tap_jobsources": ["getro_network", "bindbee_connector", "trackjobchanges_group", "getro_reference_lists"],
        "tap_jobsources_full": [t for t in result["dags"]["tap_jobsources_full"] if t.startswith("extract_")],
    }
    for dag, tasks in loaders.items():
        assert all("create_tables" in result["upstream"][dag][t] for t in tasks), result["upstream"][dag]
        # The warehouse models are built once every task that loads is done.
        assert result["upstream"][dag]["build_models"] == sorted(tasks), result["upstream"][dag]
        assert result["trigger_rules"][dag]["build_models"] == "all_done"
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
    env = pipeline_env(dag_settings(sandbox, **overrides), postgres, schema, home / "state")
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
        assert secret not in stored
        assert secret not in logs
        assert secret not in run.stdout + run.stderr
    return states


def expected_rows(sandbox: Sandbox, groups: list[str] | None = None) -> dict[str, int]:
    groups = groups or list(sandbox.trackjobchanges.connections)
    records = {
        **getro_records(sandbox.getro),
        "ats_jobs": all_records(sandbox)["ats_jobs"],
        **trackjobchanges_records(sandbox.trackjobchanges, groups),
    }
    return {table: len(rows) for table, rows in default_records(records).items()}


def rows(postgres: Cluster, schema: str, table: str) -> int:
    return postgres.query(f'select count(*) from "{schema}"."{table}"')[0][0]


@pytest.mark.timeout(900)
def test_a_provider_with_wrong_credentials_fails_its_tasks_only(tmp_path, installed, postgres):
    # One partition of each provider: `airflow dags test` runs the tasks one after another (the
    # scheduler test runs three of each side by side).
    with Sandbox(networks=1) as sandbox:
        group = next(iter(sandbox.trackjobchanges.connections))
        connector = next(iter(sandbox.bindbee.tokens))
        states = run_dag(
            tmp_path,
            sandbox,
            postgres,
            "dag_some",
            bindbee_api_key="bbk_wrong_0000000000000000",
            getro_network_ids=[101],
            trackjobchanges_group_ids=[group],
            bindbee_connectors=[{"name": connector, "token": sandbox.bindbee.tokens[connector]}],
        )
        assert {s for (t, _), s in states.items() if t == "bindbee_connector"} == {"failed"}
        others = {s for (t, _), s in states.items() if not t.startswith("bindbee")}
        assert others == {"success"}, states
        expected = expected_rows(sandbox, [group])
        for table in ("jobs", "companies", "talent", "connections", "employments", "job_functions"):
            assert rows(postgres, "dag_some", table) == expected[table], table
        # build_models ran after the extract tasks, the failed ones included, on what they loaded.
        assert states[("build_models", -1)] == "success"
        built = postgres.query("select source, count(*) from analytics.jobs group by source")
        assert built == [("getro", len(sandbox.getro.jobs[101]) + len(sandbox.getro.removed_jobs[101]))]
