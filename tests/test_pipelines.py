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
from tap_jobsources.plugin import providers
from tests.helpers import all_records, stored_keys, streams, table_keys
from tests.postgres import Cluster, pipeline_env

pytestmark = pytest.mark.e2e

TABLES = sorted(streams(default=True))  # what a default catalog loads


def getro_keys(sandbox: Sandbox) -> dict[str, list[tuple]]:
    """The primary keys of what tap-jobsources-getro loads (networks and what lies under them)."""
    from tests.expected import getro_records

    records = getro_records(sandbox.getro)
    (extractor,) = [e for p in providers() for e in p.extractors if e.name == "tap-jobsources-getro"]
    return {table: table_keys(table, records[table]) for table in extractor.streams}


def expected_counts(sandbox: Sandbox, *, live: bool = True) -> dict[str, int]:
    """Rows per table after a complete run: the rows the sources list (``live``), or every row,
    those that retire a removed job too."""
    records = all_records(sandbox)
    return {table: len([r for r in records[table] if not (live and r.get("_sdc_deleted_at"))]) for table in TABLES}


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


@pytest.mark.parametrize("hard", [False, True], ids=["soft-delete", "hard-delete"])
def test_postgres_pipeline_retires_a_row_after_two_missed_reads_and_a_removed_job_at_once(
    installed, postgres, tmp_path, hard
):
    """target-postgres with ACTIVATE_VERSION, soft and hard delete: a row missed by one complete read
    stays; missed by two, it is retired; a job Getro lists as removed is retired the run it is
    listed; nothing else changes, and a run that fails part way retires nothing."""
    schema = "retire_hard" if hard else "retire_soft"
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
        env = pipeline_env(settings, postgres, schema, tmp_path / "state")
        env["TARGET_POSTGRES_HARD_DELETE"] = "true" if hard else "false"
        wh = Warehouse(postgres, schema)

        def run_pipeline():
            return meltano("--environment", "sandbox", "run", "tap-jobsources", "target-postgres", env=env, check=False)

        def row(sql: str) -> list[tuple]:
            return wh.value(sql)

        first = run_pipeline()
        assert first.returncode == 0, first.stderr[-3000:]
        for table, count in expected_counts(sandbox).items():
            assert wh.live(table) == count, table

        # The sources change: rows vanish, appear and change; Getro lists one job as removed.
        gone_company = sandbox.getro.companies[101].pop(0)
        gone_job = sandbox.getro.jobs[102].pop(3)
        gone_connection = sandbox.trackjobchanges.connections["grp-default"].pop(0)
        gone_employments = sandbox.trackjobchanges.employments.pop(gone_connection["id"])
        new_job = {**sandbox.getro.jobs[103][0], "id": 103_777_777, "title": "Brand new"}
        sandbox.getro.jobs[103].append(new_job)
        stamp = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        removed = sandbox.getro.jobs[103].pop(1)
        sandbox.getro.removed_jobs[103].append({**removed, "deactivated_at": stamp})
        changed = sandbox.bindbee.jobs["lever"][5]
        changed.update(name="RENAMED", modified_at=stamp)

        second = run_pipeline()
        assert second.returncode == 0, second.stderr[-3000:]
        # Missed once: still live.
        assert row(f"select _sdc_deleted_at from {{s}}.companies where id = {gone_company['objectID']}") == [(None,)]
        assert row(f"select _sdc_deleted_at from {{s}}.jobs where id = {gone_job['id']}") == [(None,)]
        assert row(f"select _sdc_deleted_at from {{s}}.connections where id = {gone_connection['id']}") == [(None,)]
        # The API's word: retired now (hard: removed at this run's ACTIVATE_VERSION).
        retired = row(f"select _sdc_deleted_at from {{s}}.jobs where id = {removed['id']}")
        assert retired == ([] if hard else [(datetime.fromisoformat(stamp.replace("Z", "")),)])
        assert row("select title from {s}.jobs where id = 103777777 and _sdc_deleted_at is null") == [("Brand new",)]
        assert row(f"select name from {{s}}.ats_jobs where connector = 'lever' and id = '{changed['id']}'") == [
            ("RENAMED",)
        ]
        assert row("select count(*) from {s}.ats_jobs")[0][0] == 60  # updated in place, not duplicated

        third = run_pipeline()
        assert third.returncode == 0, third.stderr[-3000:]
        # Missed by two complete reads: retired.
        for table, count in expected_counts(sandbox).items():
            assert wh.live(table) == count, table
        gone = {
            "companies": f"id = {gone_company['objectID']}",
            "jobs": f"id = {gone_job['id']}",
            "connections": f"id = {gone_connection['id']}",
            "employments": f"id in ({', '.join(str(e['id']) for e in gone_employments)})",
        }
        for table, where in gone.items():
            flags = [r[0] for r in row(f"select _sdc_deleted_at is not null from {{s}}.{table} where {where}")]
            expected_rows = len(gone_employments) if table == "employments" else 1
            assert flags == ([] if hard else [True] * expected_rows), table

        # A run that fails part-way (talent of the last network keeps failing) retires nothing.
        sandbox.getro.jobs[101].pop(0)
        sandbox.getro.jobs[101].pop(0)
        sandbox.faults.inject("503", provider="getro", path="^/networks/103/talent$", times=100)
        before = {table: wh.live(table) for table in TABLES}
        fourth = run_pipeline()
        assert fourth.returncode != 0
        assert "still failing after 2 attempts" in fourth.stderr
        assert {table: wh.live(table) for table in TABLES} == before


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

    assert set(duckdb_row_counts(tmp_path / "one.duckdb")) == streams("trackjobchanges", default=True)
    # Its own state id, so it shares no bookmark with the other providers' runs.
    assert [p.name for p in (tmp_path / "state").iterdir()] == [
        "sandbox:tap-jobsources-trackjobchanges-to-target-duckdb:trackjobchanges"
    ]


def test_a_failed_run_resumed_through_meltano_ends_as_one_clean_run(installed, postgres, tmp_path):
    """Deletes on; the first run fails part-way through a Getro list, the second resumes it.
    The table ends as after one clean run: every listed row live, and the resumed run asked again
    only for the page that failed; the jobs Getro lists as removed are all retired by the run after."""
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
        retired = {(r["network_id"], r["id"]) for r in all_records(sandbox)["jobs"] if r.get("_sdc_deleted_at")}
        for table, count in expected_counts(sandbox).items():
            assert wh.live(table) == count, table
        # The removed jobs of the network whose jobs the failed run was listing are retired a run late:
        # their bookmark stayed, so the next run asks for them again (101's went in the failed run).
        late = {key for key in retired if key[0] == 102}
        assert late
        assert {(r[0], r[1]) for r in wh.deleted("jobs")} == retired - late
        third = run_pipeline()
        assert third.returncode == 0, third.stderr[-3000:]
        for table, count in expected_counts(sandbox).items():
            assert wh.live(table) == count, table
            assert len(wh.deleted(table)) == (len(retired) if table == "jobs" else 0), table


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
        assert run.returncode != 0, stderr[-3000:]
        assert "Interrupted by SIGTERM" in stderr, stderr[-3000:]
        saved = meltano("state", "get", "dev:tap-jobsources-getro-to-target-postgres", env=env)
        assert '"resume"' in saved.stdout, saved.stdout  # the tap's final STATE, page progress included
        before = len(sandbox.log)

        second = meltano("run", "tap-jobsources-getro", "target-postgres", env=env, check=False)
        assert second.returncode == 0, second.stderr[-3000:]
        # Resumed, not started over: the network finished before the signal is not read again.
        assert not [r for r in sandbox.log[before:] if r.path.startswith("/networks/101/")]
        for table, keys in getro_keys(sandbox).items():
            assert stored_keys(postgres, "stopped", table) == keys, table
