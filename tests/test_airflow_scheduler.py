"""The DAG as it runs in production: a real Airflow 3 (api-server, dag-processor, scheduler with the
LocalExecutor and parallel workers, metadata in PostgreSQL) runs `tap_jobsources` twice against the
emulator into PostgreSQL through target-postgres. Every task succeeds; the Getro tasks (one pool
slot) never overlap; the tasks of one extractor do; the warehouse holds exactly the emulator's
rows; the second run is incremental where the tap is."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from jobsources_sandbox import Sandbox
from jobsources_sandbox.quickstart import meltano, sandbox_env
from tests.airflow import Scheduler, TaskInstance, dag_settings
from tests.expected import bindbee_records, getro_records, trackjobchanges_records
from tests.helpers import stored_keys, table_keys
from tests.postgres import Cluster, pipeline_env

pytestmark = pytest.mark.e2e

DAG = "tap_jobsources"
SCHEMA = "warehouse"
GETRO_TASKS = ("getro_network", "getro_reference_lists")


@pytest.fixture(scope="module")
def installed():
    result = meltano("install", env=sandbox_env({}), check=False)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture
def postgres():
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


def expected_keys(sandbox: Sandbox) -> dict[str, list[tuple]]:
    """Each table's primary keys, as the emulator holds the data now (job_details is not selected)."""
    groups = list(sandbox.trackjobchanges.connections)
    records = {
        **getro_records(sandbox.getro),
        "ats_jobs": bindbee_records(sandbox.bindbee),
        **trackjobchanges_records(sandbox.trackjobchanges, groups),
    }
    records.pop("job_details")
    return {table: table_keys(table, rows) for table, rows in records.items()}


def assert_warehouse_is_the_emulator(postgres: Cluster, sandbox: Sandbox) -> None:
    for table, keys in expected_keys(sandbox).items():
        assert stored_keys(postgres, SCHEMA, table) == keys, table  # every row, none twice


def overlap(a: TaskInstance, b: TaskInstance) -> bool:
    assert a.start and a.end and b.start and b.end
    return a.start < b.end and b.start < a.end


def assert_ran_as_designed(instances: list[TaskInstance]) -> None:
    by_task: dict[str, list[TaskInstance]] = {}
    for ti in instances:
        by_task.setdefault(ti.task_id, []).append(ti)
    assert {
        t: len(v) for t, v in by_task.items() if t in ("getro_network", "bindbee_connector", "trackjobchanges_group")
    } == {
        "getro_network": 3,
        "bindbee_connector": 3,
        "trackjobchanges_group": 3,
    }
    getro = [ti for ti in instances if ti.task_id in GETRO_TASKS]
    assert not [(a.task_id, b.task_id) for a, b in itertools.combinations(getro, 2) if overlap(a, b)]
    for task in ("bindbee_connector", "trackjobchanges_group"):
        assert any(overlap(a, b) for a, b in itertools.combinations(by_task[task], 2)), f"{task}: never side by side"
    # Tables first: nothing loads before create_tables is done.
    (tables,) = by_task["create_tables"]
    assert tables.end and all(ti.start and ti.start >= tables.end for t in GETRO_TASKS for ti in by_task[t])


def run(airflow: Scheduler, run_id: str) -> list[TaskInstance]:
    airflow.trigger(DAG, run_id)
    state = airflow.wait_for_run(DAG, run_id)
    # No run but the test's own (the scheduler's cron is off: see tests/airflow.py).
    assert {r for (r,) in airflow.query("select run_id from dag_run where dag_id = %s", DAG)} <= {"first", "second"}
    instances = airflow.task_instances(DAG, run_id)
    failed = [(ti.task_id, ti.map_index, ti.state) for ti in instances if ti.state != "success"]
    assert state == "success" and not failed, (failed, airflow.logs()[-6000:])
    return instances


@pytest.mark.timeout(1200)
def test_the_dag_runs_twice_under_a_real_scheduler_with_tasks_side_by_side(tmp_path, installed, postgres):
    with Sandbox() as sandbox:
        state_dir = tmp_path / "state"
        env = pipeline_env(dag_settings(sandbox), postgres, SCHEMA, state_dir)
        (tmp_path / "airflow").mkdir()
        airflow = Scheduler(tmp_path / "airflow", postgres, env, parallelism=8).start()
        try:
            airflow.airflow("pools", "set", "tap_jobsources_getro", "1", "Getro API quota")
            airflow.wait_for_dag(DAG)
            airflow.airflow("dags", "unpause", DAG)

            assert_ran_as_designed(run(airflow, "first"))
            assert_warehouse_is_the_emulator(postgres, sandbox)
            ids = {p.name for p in state_dir.iterdir()}
            # The ids `meltano run` gave these partitions before: their state carries over.
            for state_id in (
                "dev:tap-jobsources-getro-to-target-postgres:getro-101",
                "dev:tap-jobsources-bindbee-to-target-postgres:bindbee-lever",
                "dev:tap-jobsources-trackjobchanges-to-target-postgres:trackjobchanges-grp-sales",
                "dev:tap-jobsources-getro-lists-to-target-postgres:getro-lists",
            ):
                assert state_id in ids, sorted(ids)

            # The sources change between the runs.
            now = datetime.now(UTC) - timedelta(minutes=1)
            stamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            renamed = sandbox.bindbee.jobs["lever"][5]
            renamed.update(name="RENAMED", modified_at=stamp)
            tjc = sandbox.trackjobchanges
            moved = tjc.connections["grp-sales"][2]["id"]
            tjc.change_job(moved, now)
            added = tjc.add_connection("grp-alumni", now)["id"]
            sandbox.getro.removed_jobs[102].append(
                {**sandbox.getro.removed_jobs[102][0], "id": 102_888_888, "deactivated_at": stamp}
            )
            sandbox.clear_log()

            assert_ran_as_designed(run(airflow, "second"))
            assert_warehouse_is_the_emulator(postgres, sandbox)
            assert postgres.query(
                f"select name from {SCHEMA}.ats_jobs where connector = 'lever' and id = %s", renamed["id"]
            ) == [("RENAMED",)]
            current = postgres.query(f"select id from {SCHEMA}.employments where connection_id = %s and current", moved)
            assert current == [(tjc.employments[moved][-1]["id"],)]

            # Incremental where the tap is: Bindbee from its bookmark, Getro's removed jobs from
            # theirs, employments only of the connections that changed or are new.
            jobs = sandbox.requests_to("bindbee", "/jobs")
            assert jobs and all(r.query.get("modified_after") for r in jobs)
            removed = [r for r in sandbox.requests_to("getro") if r.path.endswith("/jobs/removed")]
            assert removed and all(r.query.get("deactivated_from") for r in removed)
            employments = sandbox.requests_to("trackjobchanges", "/connections/")
            read = {int(r.path.split("/")[2]) for r in employments if r.path.endswith("/employments")}
            assert read == {moved, added}

            logs = airflow.logs()
            for secret in (sandbox.getro.token, sandbox.bindbee.api_key, sandbox.trackjobchanges.api_key):
                assert secret not in logs
            assert all(token not in logs for token in sandbox.bindbee.tokens.values())
        finally:
            airflow.stop()
