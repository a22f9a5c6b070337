"""The warehouse models (transform/), built by Meltano after the real pipeline, on DuckDB and on
PostgreSQL, and checked against what the emulator holds (tests/warehouse.py): the sandbox loaded,
then changed (a job renamed and moved, a job taken down, a job missed by a complete read, an ATS job
closed, a connection's new job), loaded and built again."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import typing as t
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobsources_sandbox import Sandbox
from jobsources_sandbox.cli import readable_records, records_by_stream
from jobsources_sandbox.quickstart import PROJECT, meltano, sandbox_env
from jobsources_sandbox.timestamps import stamp
from tests.postgres import Cluster, pipeline_env
from tests.test_pipelines import expected_counts
from tests.warehouse import (
    BINDBEE_STATUS,
    COMPANIES_SQL,
    HISTORY_SQL,
    JOBS_SQL,
    MOVES_SQL,
    dbt_env,
    expected_companies,
    expected_jobs,
    expected_moves,
    getro_job_key,
    history,
    manifest_models,
    mart_companies,
    mart_jobs,
)

pytestmark = pytest.mark.e2e

SETTINGS = {
    "getro_requests_per_minute": 60000,
    "retry_backoff_seconds": 0.05,
    "retry_max_attempts": 2,
    "emit_activate_version_messages": True,
    "trackjobchanges_employments": "all",  # every connection's employments, as the weekly full run
}
MARTS = {"jobs", "job_history", "companies", "connection_job_changes", "job_locations", "job_job_functions"}


def tap_keeps_a_row_missed_once() -> bool:
    """Whether a row one complete read missed stays live in target-postgres: the tap's
    ACTIVATE_VERSION carries the previous complete read's version (the retirement change, which
    also adds `_sdc_deleted_at` to the jobs schema), so a row is retired after two misses; before
    that change, after one."""
    import json

    import tap_jobsources

    schema = Path(tap_jobsources.__file__).with_name("getro") / "schemas" / "jobs.json"
    return "_sdc_deleted_at" in json.loads(schema.read_text()).get("properties", {})


@pytest.fixture(scope="module")
def installed():
    result = meltano("install", env=sandbox_env({}), check=False)
    assert result.returncode == 0, result.stderr[-3000:]


class Changes(t.NamedTuple):
    renamed: str
    removed: str
    missed: str
    missed_job: dict
    closed: str
    moved_to: int


def change_the_sources(sandbox: Sandbox) -> Changes:
    """Between two runs: a Getro job renamed and moved, one taken down (listed in removed_jobs),
    one gone from the list without being listed as removed (a complete read misses it), a Bindbee
    job's status changed, a connection's new job."""
    getro = sandbox.getro
    now = datetime.now(UTC) - timedelta(minutes=1)
    renamed = getro.jobs[101][0]
    renamed.update(title="Renamed job", locations=["Remote", "Boulder, CO, USA"])
    taken_down = getro.jobs[102].pop(1)
    getro.removed_jobs[102].append(
        {
            **{k: taken_down[k] for k in ("created_at", "id", "job_functions", "locations", "company", "title", "url")},
            "deactivated_at": stamp(now),
        }
    )
    missed = getro.jobs[103].pop(2)
    ats = sandbox.bindbee.jobs["lever"][5]
    ats.update(
        status="OPEN" if BINDBEE_STATUS[ats["status"]] == "closed" else "CLOSED",
        modified_at=stamp(now),
        remote_updated_at=stamp(now),
    )
    tjc = sandbox.trackjobchanges
    connection = tjc.connections[next(iter(tjc.connections))][0]
    new = tjc.change_job(connection["id"], now)
    new["company"] = "Brand New Co"
    return Changes(
        getro_job_key(101, renamed["id"]),
        getro_job_key(102, taken_down["id"]),
        getro_job_key(103, missed["id"]),
        {"network_id": 103, "job": missed},
        f"bindbee:lever:{ats['id']}",
        new["id"],
    )


def check_marts(query: t.Callable[[str], list[tuple]], sandbox: Sandbox, kept: dict | None = None) -> dict:
    """Every mart against the emulator's data; returns job_history by job."""
    jobs = mart_jobs(query(JOBS_SQL))
    expected = expected_jobs(sandbox, kept)
    assert set(jobs) == set(expected)
    different = {
        (key, field): (getattr(jobs[key], field), getattr(job, field))
        for key, job in expected.items()
        for field in job._fields
        if getattr(jobs[key], field) != getattr(job, field)
    }
    assert not different, list(different.items())[:5]
    assert mart_companies(query(COMPANIES_SQL)) == expected_companies(sandbox, expected)
    assert set(query(MOVES_SQL)) == expected_moves(sandbox)
    return history(query(HISTORY_SQL))


def check_history_after_the_changes(found: dict, changes: Changes, missed_kept: bool) -> None:
    assert found[changes.renamed][-1][:5] == ("changed", "Renamed job", "open", found[changes.renamed][0][1], "open")
    assert [v[0] for v in found[changes.renamed]] == ["added", "changed"]
    assert [(v[0], v[2], v[4]) for v in found[changes.removed]] == [
        ("added", "open", None),
        ("changed", "removed", "open"),
    ]
    assert [v[0] for v in found[changes.closed]] == ["added", "changed"]
    assert [v[0] for v in found[changes.missed]] == (["added"] if missed_kept else ["added", "deleted"])
    # Nothing else changed: every other job has its one first version.
    others = set(found) - {changes.renamed, changes.removed, changes.closed, changes.missed}
    assert {tuple(v[0] for v in versions) for key, versions in found.items() if key in others} == {("added",)}


def quick_start(*args: str) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "jobsources_sandbox.quickstart", *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def test_quick_start_on_duckdb_loads_builds_the_models_and_answers(installed):
    """The README's run command, twice: `meltano run tap-jobsources target-duckdb dbt-duckdb:build`
    into output/warehouse.duckdb, every table loaded, the marts as the emulator's data says, the
    answers printed; the second run's sandbox is a day later (quickstart.move_on: a job renamed, one
    taken down, one left out of the list, one posted, an ATS job's status, a connection's new job),
    and its changes are the changes since the last run. target-duckdb 0.8 ignores ACTIVATE_VERSION,
    so the job left out stays live there, and open."""
    from jobsources_sandbox.quickstart import DUCKDB_FILE, RUNS_FILE, move_on

    def query(sql: str) -> list[tuple]:
        import duckdb

        with duckdb.connect(str(DUCKDB_FILE), read_only=True) as con:
            return con.execute(sql.format(schema="analytics")).fetchall()

    printed = quick_start("--fresh")
    counts = dict(re.findall(r"^  (\w+)\s+(\d+)$", printed, flags=re.M))
    with Sandbox() as reference:  # the quick start's sandbox: same seed, same data
        assert {t: int(n) for t, n in counts.items()} == expected_counts(
            reference, live=False
        )  # target-duckdb keeps retiring rows too
        # The banner's count is what the sync loads.
        reads = readable_records(reference.counts())
        assert f"a sync reads {reads} of its" in printed
        assert f": {reads} in all, {reads} loaded by this run\n" in printed
        first = check_marts(query, reference)
        assert {tuple(v[0] for v in versions) for versions in first.values()} == {("added",)}
        # job_details is not selected by default: no table, and no description, yet the model builds.
        assert query("select count(*) from {schema}_staging.stg_getro__job_details") == [(0,)]
        getro_jobs = sum(map(len, reference.getro.jobs.values()))
        removed = sum(map(len, reference.getro.removed_jobs.values()))
        ats = [j for jobs in reference.bindbee.jobs.values() for j in jobs]
        opened = sum(j["status"] == "OPEN" for j in ats)
        assert f"  getro: {getro_jobs} open of {getro_jobs + removed}\n" in printed
        assert f"  bindbee: {opened} open of {len(ats)}\n" in printed
        assert f"first run, {getro_jobs + removed + len(ats)} jobs seen" in printed

        printed = quick_start()
        missed = reference.getro.jobs[103][0]
        second_run = json.loads(RUNS_FILE.read_text())[1]
        moved = move_on(reference, 2, datetime.fromisoformat(second_run) - timedelta(minutes=1))
        assert all(f"  since the last run: {line}" in printed for line in moved)
        # A day later the banner still counts what the sync loads; the job left out of the list
        # stays in the table from the day before, and is said to.
        reads = readable_records(reference.counts())
        assert f"a sync reads {reads} of its" in printed
        assert f": {reads + 1} in all, {reads} loaded by this run (and 1 an earlier run loaded" in printed
        jobs = records_by_stream(reference.counts())["jobs"]
        assert re.search(rf"^  jobs\s+{jobs + 1}  \({jobs} by this run\)$", printed, flags=re.M)
        kept = {getro_job_key(103, missed["id"]): {"network_id": 103, "job": missed}}
        found = check_marts(query, reference, kept=kept)
    changes = re.findall(r"^  (added|changed|deleted) (\S+): (.*)$", printed, flags=re.M)
    posted, renamed = reference.getro.jobs[103][-1], reference.getro.jobs[101][2]
    taken_down = reference.getro.removed_jobs[102][-1]
    closed = f"bindbee:greenhouse:{reference.bindbee.jobs['greenhouse'][2]['id']}"
    expected = {
        ("added", f"getro:103:{posted['id']}"),
        ("changed", getro_job_key(101, renamed["id"])),
        ("changed", getro_job_key(102, taken_down["id"])),
        ("changed", closed),
    }
    assert {(change, key) for change, key, _ in changes} == expected
    assert {
        (versions[-1][0], key) for key, versions in found.items() if len(versions) > 1 or versions[0][0] != "added"
    } == (expected - {("added", f"getro:103:{posted['id']}")})
    assert f"Changes since the last run (analytics.job_history): {len(changes)}\n" in printed
    assert f"title 'Job {renamed['id']}' -> 'Senior Job {renamed['id']}'" in printed
    assert "status open -> removed" in printed
    assert found[getro_job_key(102, taken_down["id"])][-1][1:5] == (
        taken_down["title"],
        "removed",
        taken_down["title"],
        "open",
    )


def test_models_on_postgres_after_meltano_run(installed, tmp_path):
    """`meltano run tap-jobsources target-postgres dbt-postgres:build`, three times: loaded, the
    sources changed, then the same again. job_details selected (descriptions in `jobs`). A job
    missed by one complete read stays open while its row is live, and leaves `jobs` (a `deleted`
    version in job_history) once a second complete read missed it too."""
    cluster = Cluster().start()
    try:
        with Sandbox() as sandbox:
            settings = {**sandbox.settings(), **SETTINGS, "_select": ["*.*"]}
            env = {
                **pipeline_env(settings, cluster, "raw", tmp_path / "state"),
                **dbt_env(tmp_path),
                "DBT_SCHEMA": "marts",
            }

            def run_and_build():
                run = meltano(
                    "--environment", "sandbox", "run", "tap-jobsources", "target-postgres", "dbt-postgres:build",
                    env=env, check=False,
                )  # fmt: skip
                assert run.returncode == 0, run.stderr[-5000:]
                assert "Completed successfully" in run.stderr

            def query(sql: str) -> list[tuple]:
                return cluster.query(sql.format(schema="marts"))

            run_and_build()
            check_marts(query, sandbox)
            described = query("select count(*) from {schema}.jobs where source = 'getro' and description is not null")
            assert described[0][0] == sum(
                1
                for (nid, jid), d in sandbox.getro.descriptions.items()
                if d["description"] and any(j["id"] == jid for j in sandbox.getro.jobs[nid])
            )

            changes = change_the_sources(sandbox)
            missed_kept = tap_keeps_a_row_missed_once()
            run_and_build()
            found = check_marts(query, sandbox, kept={changes.missed: changes.missed_job} if missed_kept else None)
            check_history_after_the_changes(found, changes, missed_kept)
            assert query(
                f"select to_company from {{schema}}.connection_job_changes where to_employment_id = {changes.moved_to}"
            ) == [("Brand New Co",)]

            run_and_build()  # a second complete read misses the job too
            found = check_marts(query, sandbox)
            assert [v[0] for v in found[changes.missed]] == ["added", "deleted"]
            assert found[changes.missed][-1][-1] is True  # its deleted version is the current one

            docs = meltano("invoke", "dbt-postgres:docs-generate", env=env, check=False)
            assert docs.returncode == 0, docs.stderr[-3000:]
            assert MARTS <= manifest_models(tmp_path)
            assert (tmp_path / "dbt-target" / "catalog.json").exists()

            fresh = meltano("invoke", "dbt-postgres:freshness", env=env, check=False)
            assert fresh.returncode == 0, fresh.stderr[-3000:]
            assert "PASS freshness of jobsources.jobs" in fresh.stdout, fresh.stdout[-3000:]
    finally:
        cluster.stop()
