"""The DAG under a real Airflow 3 scheduler, as production runs it (docs/production.md): the DAG
as shipped, the project's `prod` environment, Meltano's system database and state in PostgreSQL,
Airflow's api-server, dag-processor and scheduler (metadata in PostgreSQL), and the CeleryExecutor
with a Redis broker and two Celery workers, each a machine of its own: its own copy of the Meltano
project (a clone of the repository), its own installed plugins, its own DAG folder and task logs.
The machines share only PostgreSQL (Airflow's metadata, Meltano's system database, the warehouse)
and Redis.

Two runs against the emulator, which changes between them (a renamed Bindbee job, a job change and
a new connection, a newly removed Getro job): every task succeeds, and both machines run tasks;
one task per partition; the Getro tasks (one pool slot, across machines) never overlap; the tasks
of one extractor do; nothing loads before create_tables is done; the warehouse (target-postgres)
holds exactly the emulator's rows, none twice, the changes included; each partition keeps the state
id `meltano run` gave it; each partition's second run, on whichever machine, starts from the
bookmark its first run saved (Bindbee asks `modified_after` from the connector's bookmark, Getro's
removed jobs `deactivated_from` the network's, TrackJobChanges reads only the employments of the
connections that changed or are new); no machine keeps state of its own; no secret (the APIs',
Meltano's database password, Redis', the warehouse's) is in any log, XCom or rendered field.

Number settings with fractions reach the tap from the machines' variables through Meltano (they
are of Meltano's string kind). One deployment for all of it: the LocalExecutor test this replaces
made the same checks on one machine, and two Airflow deployments would double the minutes."""

from __future__ import annotations

import json
import secrets
import subprocess
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from jobsources_sandbox import Sandbox
from jobsources_sandbox.quickstart import sandbox_env
from tests.airflow import (
    DAG,
    ENVIRONMENT,
    MELTANO,
    Redis,
    Scheduler,
    assert_incremental,
    assert_ran_as_designed,
    assert_the_changes_loaded,
    assert_warehouse_is_the_emulator,
    change_the_sources,
    dag_settings,
    project_copy,
    run_dag,
    sandbox_secrets,
)
from tests.expected import instant
from tests.postgres import Cluster

pytestmark = pytest.mark.e2e

SCHEMA = "warehouse"
MACHINES = ("machine-a", "machine-b")


@pytest.fixture
def postgres():
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


def machine_env(settings: dict, postgres: Cluster, project: Path, db_password: str) -> dict[str, str]:
    """What one machine's processes (its Celery worker, and so its tasks) run with."""
    return sandbox_env(
        settings,
        MELTANO_ENVIRONMENT=ENVIRONMENT,
        # Meltano's system database: its runs and, with the systemdb backend, every state.
        MELTANO_DATABASE_URI=f"postgresql+psycopg://postgres:{db_password}@127.0.0.1:{postgres.port}/meltano",
        MELTANO_STATE_BACKEND_URI="systemdb",
        **{f"TARGET_POSTGRES_{k.upper()}": v for k, v in postgres.settings.items()},
        TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA=SCHEMA,
        TAP_JOBSOURCES_PROJECT=str(project),
        AIRFLOW__CORE__DAGS_FOLDER=str(project / "orchestrate" / "dags"),
        MELTANO_BIN=str(MELTANO),
    )


def install(project: Path, env: dict[str, str]) -> None:
    """`meltano install` on the machine: the plugins into its own `.meltano`."""
    done = subprocess.run([str(MELTANO), "install"], cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def saved_states(postgres: Cluster) -> dict[str, dict]:
    """Every state Meltano keeps, by state id, from its system database."""
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=postgres.port, user="postgres", dbname="meltano") as con:
        rows = con.execute("select state_id, completed_state from state").fetchall()
    values = {state_id: json.loads(value) if isinstance(value, str) else value for state_id, value in rows}
    return {state_id: (value or {}).get("singer_state", {}) for state_id, value in values.items()}


def bookmarks(state: dict, stream: str) -> dict[str, str]:
    """A stream's replication values by partition (its context's one value, as text)."""
    found = {}
    for entry in state.get("bookmarks", {}).get(stream, {}).get("partitions", []):
        if "replication_key_value" in entry:
            (value,) = entry["context"].values()
            found[str(value)] = entry["replication_key_value"]
    return found


def header(request, name: str) -> str | None:
    return next((v for k, v in request.headers.items() if k.lower() == name), None)


def assert_each_partition_went_on_from_its_bookmark(sandbox: Sandbox, states: dict[str, dict]) -> None:
    """Each Bindbee connector's and each Getro network's second run asked from the bookmark its
    first run saved in Meltano's system database."""
    for name, token in sandbox.bindbee.tokens.items():
        state = states[f"{ENVIRONMENT}:tap-jobsources-bindbee-to-target-postgres:bindbee-{name}"]
        saved = instant(bookmarks(state, "ats_jobs")[name])
        asked = {
            instant(r.query["modified_after"])
            for r in sandbox.requests_to("bindbee", "/jobs")
            if header(r, "x-connector-token") == token
        }
        # The tap asks from bindbee_lookback_minutes (60) and 1 ms before the bookmark (modified_after
        # is on Bindbee's sync clock, and may be exclusive): exactly that, from this bookmark.
        back = saved - timedelta(minutes=60)
        assert asked, (name, saved, asked)
        assert all(back - timedelta(milliseconds=2) <= a < back for a in asked), (name, saved, asked)
    for network in (101, 102, 103):
        state = states[f"{ENVIRONMENT}:tap-jobsources-getro-to-target-postgres:getro-{network}"]
        saved = instant(bookmarks(state, "removed_jobs")[str(network)])
        asked = {r.query["deactivated_from"] for r in sandbox.requests_to("getro", f"/networks/{network}/jobs/removed")}
        # From the day before the bookmark's UTC date (the docs give deactivated_from no zone).
        assert asked == {(saved.astimezone(UTC).date() - timedelta(days=1)).isoformat()}, (network, saved, asked)


def assert_no_machine_keeps_state(projects: list[Path]) -> None:
    """No SQLite system database, no state folder on either machine: a bookmark can only have
    come from PostgreSQL."""
    for project in projects:
        local = [p for p in (project / ".meltano").rglob("*") if p.name in ("meltano.db", "state") or p.suffix == ".db"]
        assert not local, local


@pytest.mark.timeout(1500)
def test_production_two_celery_workers_with_their_own_projects_share_state_in_postgresql(tmp_path, postgres):
    db_password = secrets.token_hex(10)  # trust auth ignores it: it only has to stay out of the logs
    postgres.create_database("meltano")
    redis = Redis(tmp_path / "redis").start()
    airflow: Scheduler | None = None
    try:
        with Sandbox() as sandbox:
            # Fractions through the machines' variables, as Meltano's string kind passes them on.
            settings = dag_settings(
                sandbox,
                request_timeout=30.5,
                resume_within_hours=0.5,
                progress_interval_seconds=0.5,
                getro_min_hours_between_syncs=0.001,  # 3.6 s: the second run is not skipped
            )
            projects, envs = [], []
            for machine in MACHINES:
                project = project_copy(tmp_path / machine / "project")
                env = machine_env(settings, postgres, project, db_password)
                install(project, env)  # one machine after the other: the first migrates the database
                projects.append(project)
                envs.append(env)

            # Airflow's own processes on a machine of their own; the DAG's partitions run on the workers.
            own = ("TAP_JOBSOURCES_", "TARGET_POSTGRES_", "MELTANO_")
            scheduler_env = {k: v for k, v in envs[0].items() if not k.startswith(own)}
            scheduler_env["MELTANO_ENVIRONMENT"] = ENVIRONMENT
            airflow = Scheduler(
                tmp_path / "airflow", postgres, scheduler_env, parallelism=8, database="airflow", broker=redis
            ).start()
            for machine, env in zip(MACHINES, envs, strict=True):
                airflow.start_worker(machine, tmp_path / machine / "airflow", env, concurrency=3)
            airflow.airflow("pools", "set", "tap_jobsources_getro", "1", "Getro API quota")
            airflow.wait_for_dag(DAG)
            airflow.airflow("dags", "unpause", DAG)

            runs = {"first", "second"}
            assert_ran_as_designed(run_dag(airflow, "first", runs))
            assert_warehouse_is_the_emulator(postgres, SCHEMA, sandbox)
            first_on = airflow.ran_on(DAG, "first")
            assert {home.parent.name for home in first_on.values()} == set(MACHINES), first_on
            states = saved_states(postgres)
            for state_id in (
                "prod:tap-jobsources-getro-to-target-postgres:getro-101",
                "prod:tap-jobsources-bindbee-to-target-postgres:bindbee-lever",
                "prod:tap-jobsources-trackjobchanges-to-target-postgres:trackjobchanges-grp-sales",
                "prod:tap-jobsources-getro-lists-to-target-postgres:getro-lists",
            ):
                assert state_id in states, sorted(states)

            changed = change_the_sources(sandbox)
            sandbox.clear_log()

            assert_ran_as_designed(run_dag(airflow, "second", runs))
            assert_warehouse_is_the_emulator(postgres, SCHEMA, sandbox)
            assert_the_changes_loaded(postgres, SCHEMA, sandbox, changed)
            assert_incremental(sandbox, changed)
            assert_each_partition_went_on_from_its_bookmark(sandbox, states)
            assert_no_machine_keeps_state(projects)
            second_on = airflow.ran_on(DAG, "second")
            assert {home.parent.name for home in second_on.values()} == set(MACHINES), second_on
            moved = sorted(f"{t}[{i}]" for (t, i), home in second_on.items() if first_on.get((t, i)) != home)
            print(f"\nTask instances that ran on the other machine the second time: {len(moved)}: {moved}")

            logs = airflow.logs() + (tmp_path / "redis" / "redis.log").read_text(errors="replace")
            stored = json.dumps(
                airflow.query("select * from xcom") + airflow.query("select * from rendered_task_instance_fields"),
                default=str,
            )
            for secret in [*sandbox_secrets(sandbox), db_password, redis.password, postgres.settings["password"]]:
                assert secret not in logs, "a secret is in a log"
                assert secret not in stored, "a secret is in Airflow's database"
    finally:
        if airflow:
            airflow.stop()
        redis.stop()
