"""Real pipelines: Meltano runs the tap into a real PostgreSQL (target-postgres) and DuckDB (target-duckdb)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobsources_sandbox import Sandbox
from jobsources_sandbox.http import Answer
from jobsources_sandbox.quickstart import PROJECT, meltano, sandbox_env
from tests.helpers import PRIMARY_KEYS, all_records, stored_keys, table_keys
from tests.postgres import Cluster, pipeline_env

pytestmark = pytest.mark.e2e

TABLES = sorted(set(PRIMARY_KEYS) - {"job_details"})  # what a default catalog loads


def getro_keys(sandbox: Sandbox) -> dict[str, list[tuple]]:
    """The primary keys of what tap-jobsources-getro loads (networks and what lies under them)."""
    from tests.expected import getro_records

    records = getro_records(sandbox.getro)
    return {
        table: table_keys(table, records[table])
        for table in ("networks", "companies", "jobs", "removed_jobs", "talent")
    }


def expected_counts(sandbox: Sandbox) -> dict[str, int]:
    records = all_records(sandbox)
    return {table: len(records[table]) for table in TABLES}


@pytest.fixture(scope="module")
def installed():
    result = meltano("install", env=sandbox_env({}), check=False)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def postgres():
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


class Warehouse:
    def __init__(self, cluster: Cluster, schema: str) -> None:
        self.cluster, self.schema = cluster, schema

    def live(self, table: str) -> int:
        return self.cluster.query(f'select count(*) from "{self.schema}"."{table}" where _sdc_deleted_at is null')[0][0]

    def deleted(self, table: str, where: str = "true") -> list[tuple]:
        return self.cluster.query(
            f'select * from "{self.schema}"."{table}" where _sdc_deleted_at is not null and {where}'
        )

    def value(self, sql: str):
        return self.cluster.query(sql.replace("{s}", f'"{self.schema}"'))


def test_postgres_pipeline_brings_every_row_then_exactly_the_changes_and_deletes(installed, postgres, tmp_path):
    with Sandbox() as sandbox:
        settings = {
            **sandbox.settings(),
            "getro_requests_per_minute": 60000,
            "retry_backoff_seconds": 0.05,
            "retry_max_attempts": 2,
            "emit_activate_version_messages": True,
            # Every connection's employments, as the weekly full run reads them: only such a run
            # may retire the employments of a connection that is gone.
            "trackjobchanges_employments": "all",
        }
        env = pipeline_env(settings, postgres, "e2e", tmp_path / "state")
        wh = Warehouse(postgres, "e2e")

        def run_pipeline():
            return meltano("--environment", "sandbox", "run", "tap-jobsources", "target-postgres", env=env, check=False)

        first = run_pipeline()
        assert first.returncode == 0, first.stderr[-3000:]
        for table, count in expected_counts(sandbox).items():
            assert wh.live(table) == count, table
            assert not wh.deleted(table), table

        # The sources change: rows vanish, appear and change.
        gone_company = sandbox.getro.companies[101].pop(0)
        gone_job = sandbox.getro.jobs[102].pop(3)
        gone_connection = sandbox.trackjobchanges.connections["grp-default"].pop(0)
        gone_employments = sandbox.trackjobchanges.employments.pop(gone_connection["id"])
        new_job = {**sandbox.getro.jobs[103][0], "id": 103_777_777, "title": "Brand new"}
        sandbox.getro.jobs[103].append(new_job)
        now = datetime.now(UTC) - timedelta(minutes=1)
        stamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        sandbox.getro.removed_jobs[101].append(
            {**sandbox.getro.removed_jobs[101][0], "id": 101_888_888, "deactivated_at": stamp}
        )
        changed = sandbox.bindbee.jobs["lever"][5]
        changed.update(name="RENAMED", modified_at=stamp)

        second = run_pipeline()
        assert second.returncode == 0, second.stderr[-3000:]
        for table, count in expected_counts(sandbox).items():
            assert wh.live(table) == count, table
        assert [r[0] for r in wh.value("select id from {s}.companies where _sdc_deleted_at is not null")] == [
            gone_company["objectID"]
        ]
        assert wh.value("select network_id, id from {s}.jobs where _sdc_deleted_at is not null") == [
            (102, gone_job["id"])
        ]
        assert [r[0] for r in wh.value("select id from {s}.connections where _sdc_deleted_at is not null")] == [
            gone_connection["id"]
        ]
        assert sorted(
            r[0] for r in wh.value("select id from {s}.employments where _sdc_deleted_at is not null")
        ) == sorted(e["id"] for e in gone_employments)
        assert wh.value("select title from {s}.jobs where id = 103777777") == [("Brand new",)]
        assert wh.value("select count(*) from {s}.removed_jobs where id = 101888888") == [(1,)]
        assert wh.value(f"select name from {{s}}.ats_jobs where connector = 'lever' and id = '{changed['id']}'") == [
            ("RENAMED",)
        ]
        assert wh.value("select count(*) from {s}.ats_jobs")[0][0] == 60  # updated in place, not duplicated

        # A run that fails part-way (talent of the last network keeps failing) deletes nothing.
        sandbox.getro.jobs[101].pop(0)
        sandbox.faults.inject("503", provider="getro", path="^/networks/103/talent$", times=100)
        third = run_pipeline()
        assert third.returncode != 0
        assert "still failing after 2 attempts" in third.stderr
        assert len(wh.deleted("jobs")) == 1  # still only the job of the second run


def test_a_provider_extractor_runs_only_its_provider(installed, tmp_path):
    with Sandbox() as sandbox:
        env = sandbox_env(
            {**sandbox.settings(), "getro_requests_per_minute": 60000},
            TARGET_DUCKDB_FILEPATH=str(tmp_path / "one.duckdb"),
            MELTANO_STATE_BACKEND_URI=f"file://{tmp_path / 'state'}",
        )
        run = meltano(
            "--environment",
            "sandbox",
            "run",
            "--state-id-suffix",
            "trackjobchanges",
            "tap-jobsources-trackjobchanges",
            "target-duckdb",
            env=env,
            check=False,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        assert {r.provider for r in sandbox.log} == {"trackjobchanges"}
    from jobsources_sandbox.quickstart import duckdb_row_counts

    assert set(duckdb_row_counts(tmp_path / "one.duckdb")) == {"account", "connections", "employments"}
    # Its own state id, so it shares no bookmark with the other providers' runs.
    assert [p.name for p in (tmp_path / "state").iterdir()] == [
        "sandbox:tap-jobsources-trackjobchanges-to-target-duckdb:trackjobchanges"
    ]


def test_a_failed_run_resumed_through_meltano_ends_as_one_clean_run(installed, postgres, tmp_path):
    """Deletes on; the first run fails part-way through a Getro list, the second resumes it.
    The table ends as after one clean run: every row live, none retired, and the resumed run
    asked again only for the page that failed."""
    with Sandbox(scale=2) as sandbox:
        settings = {
            **sandbox.settings(),
            "getro_requests_per_minute": 60000,
            "retry_backoff_seconds": 0.05,
            "retry_max_attempts": 2,
            "emit_activate_version_messages": True,
            "getro_page_size": 5,
        }
        env = pipeline_env(settings, postgres, "resumed", tmp_path / "state")
        wh = Warehouse(postgres, "resumed")
        failing = {"on": True}
        sandbox.intercept(
            lambda r: (
                Answer(503, {"error": "down"})
                if failing["on"] and r.path == "/networks/102/jobs" and r.query.get("page") == "3"
                else None
            )
        )

        def run_pipeline():
            return meltano("--environment", "sandbox", "run", "tap-jobsources", "target-postgres", env=env, check=False)

        first = run_pipeline()
        assert first.returncode != 0
        assert "still failing after 2 attempts" in first.stderr
        pages_before = [r.query["page"] for r in sandbox.log if r.path == "/networks/102/jobs"]
        assert pages_before == ["1", "2", "3", "3"]

        failing["on"] = False
        sandbox.clear_log()
        second = run_pipeline()
        assert second.returncode == 0, second.stderr[-3000:]
        assert [r.query["page"] for r in sandbox.log if r.path == "/networks/102/jobs"][0] == "3"
        assert not [r for r in sandbox.log if r.path in ("/job_functions", "/networks/101/jobs")]
        for table, count in expected_counts(sandbox).items():
            assert wh.live(table) == count, table
            assert not wh.deleted(table), table


@pytest.mark.parametrize("batch", [False, True], ids=["records", "batch-files"])
def test_a_time_with_an_offset_is_stored_at_its_instant_in_postgres(installed, postgres, tmp_path, batch):
    """target-postgres keeps a timestamp without its zone: the tap sends every date-time in UTC,
    so 02:40-05:00 is stored as 07:40 (from BATCH files too, which the target reads as text)."""
    with Sandbox() as sandbox:
        connections = sandbox.trackjobchanges.connections[next(iter(sandbox.trackjobchanges.connections))]
        connection = connections[0]
        connection["created_at"] = "2025-07-14T02:40:00-05:00"
        settings = sandbox.settings("trackjobchanges")
        if batch:
            (tmp_path / "files").mkdir()
            settings["batch_config"] = {
                "encoding": {"format": "jsonl", "compression": "gzip"},
                "storage": {"root": f"file://{tmp_path / 'files'}"},
                "batch_size": 5,
            }
        schema = f"instants_{'batch' if batch else 'records'}"
        env = pipeline_env(settings, postgres, schema, tmp_path / "state")
        run = meltano(
            "--environment", "sandbox", "run", "tap-jobsources-trackjobchanges", "target-postgres", env=env, check=False
        )
        assert run.returncode == 0, run.stderr[-3000:]
    stored = postgres.query(f'select created_at from "{schema}"."connections" where id = %s', connection["id"])
    assert stored[0][0] == datetime(2025, 7, 14, 7, 40), stored


def test_sigterm_to_the_tap_under_meltano_run_keeps_its_state_and_the_next_run_resumes(installed, postgres, tmp_path):
    """What the README says a stopped run keeps: the tap signalled alone ends with a final STATE
    that the target emits and Meltano saves; the next run resumes from that page and the tables
    end equal to the emulator's data."""
    import os
    import signal
    import time

    with Sandbox(scale=2) as sandbox:
        settings = {**sandbox.settings("getro"), "getro_requests_per_minute": 240, "getro_page_size": 5}
        env = pipeline_env(settings, postgres, "stopped", tmp_path / "state")
        executable = str(Path(sys.executable).with_name("meltano"))
        run = subprocess.Popen(
            [executable, "run", "tap-jobsources-getro", "target-postgres"],
            cwd=PROJECT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while len(sandbox.requests_to("getro", "/networks/102/")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        children = subprocess.run(["pgrep", "-P", str(run.pid)], capture_output=True, text=True).stdout.split()
        (tap,) = [p for p in children if "tap-jobsources" in Path(f"/proc/{p}/cmdline").read_text()]
        os.kill(int(tap), signal.SIGTERM)
        _, stderr = run.communicate(timeout=120)
        assert run.returncode != 0 and "Interrupted by SIGTERM" in stderr, stderr[-3000:]
        saved = meltano("state", "get", "dev:tap-jobsources-getro-to-target-postgres", env=env)
        assert '"resume"' in saved.stdout, saved.stdout  # the tap's final STATE, page progress included
        before = len(sandbox.log)

        second = meltano("run", "tap-jobsources-getro", "target-postgres", env=env, check=False)
        assert second.returncode == 0, second.stderr[-3000:]
        # Resumed, not started over: the network finished before the signal is not read again.
        assert not [r for r in sandbox.log[before:] if r.path.startswith("/networks/101/")]
        for table, keys in getro_keys(sandbox).items():
            assert stored_keys(postgres, "stopped", table) == keys, table
