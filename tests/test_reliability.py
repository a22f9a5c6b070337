"""Faults, crashes and bad input: nothing lost, nothing leaked, nothing looping."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from jobsources_sandbox import Sandbox
from jobsources_sandbox.http import Answer
from tests.conftest import FAST
from tests.expected import by_key, instant, latest
from tests.helpers import (
    PRIMARY_KEYS,
    all_records,
    assert_no_duplicates,
    assert_records_match_schemas,
    discover_in_process,
    run_in_process,
    run_until_killed,
    select,
    selected,
)

SECRETS_OF = ("getro_api_token", "bindbee_api_key", "trackjobchanges_api_key")


def secrets(config: dict) -> list[str]:
    return [config[k] for k in SECRETS_OF] + [c["token"] for c in config["bindbee_connectors"]]


@pytest.fixture
def sandbox():
    with Sandbox(scale=2) as sb:
        yield sb


@pytest.fixture
def config(sandbox) -> dict:
    return {**sandbox.settings(), **FAST, "bindbee_page_size": 10}


@pytest.fixture
def catalog(tmp_path, config) -> dict:
    return select(discover_in_process(tmp_path / "discover", config), {"job_details": True})


def test_fifteen_percent_faulty_requests_give_exactly_the_emulators_data(tmp_path, sandbox, config, catalog):
    clean = run_in_process(tmp_path / "clean", config, catalog=catalog)  # only to count the requests a sync makes
    assert clean.returncode == 0, clean.stderr
    clean_requests = len(sandbox.log)
    sandbox.clear_log()

    sandbox.faults.set_rate(0.15, seed=11)
    sandbox.faults.slow_seconds = 1.5
    sandbox.faults.retry_after = 1
    faulty = run_in_process(
        tmp_path / "faulty", {**config, "request_timeout": 1, "retry_max_attempts": 8}, catalog=catalog
    )
    assert faulty.returncode == 0, faulty.stderr
    faults = [r.fault for r in sandbox.log if r.fault]
    assert len(faults) >= 0.1 * clean_requests
    assert set(faults) >= {"500", "503", "429", "429-date", "reset", "truncated", "html", "slow"}
    expected = all_records(sandbox)
    for stream, fields in ((s, PRIMARY_KEYS[s]) for s in sorted(selected(catalog))):
        assert by_key(faulty.records[stream], *fields) == by_key(expected[stream], *fields), stream
        assert_no_duplicates(faulty.records[stream], *fields)
    assert_records_match_schemas(faulty)


def test_a_provider_that_keeps_failing_ends_the_run_within_its_bound(tmp_path, sandbox, config, catalog):
    # Streams run by name: ats_jobs before connections, which keeps failing.
    sandbox.faults.inject("503", provider="trackjobchanges", path="^/connections$", times=1000)
    config.update(retry_max_attempts=3, retry_backoff_seconds=0.2)
    started = time.monotonic()
    run = run_in_process(tmp_path / "1", config, catalog=catalog)
    elapsed = time.monotonic() - started
    assert run.returncode != 0
    assert len(sandbox.requests_to("trackjobchanges", "/connections")) == 3
    assert (
        "TrackJobChanges GET /trackjobchanges/api/v1/connections (stream connections) still failing after 3 attempts"
    ) in run.stderr
    assert "503" in run.stderr
    assert elapsed < 60  # 3 attempts, waits of at most 0.2 + 0.4 s, plus the rest of the run
    # The final STATE holds the bookmarks of what finished; a rerun resumes from it.
    marks = {
        p["context"]["connector"]: instant(p["replication_key_value"])
        for p in run.state["bookmarks"]["ats_jobs"]["partitions"]
    }
    assert marks == {c: latest(j["modified_at"] for j in jobs) for c, jobs in sandbox.bindbee.jobs.items()}
    sandbox.faults = type(sandbox.faults)()
    sandbox.clear_log()
    rerun = run_in_process(tmp_path / "2", config, catalog=catalog, state=run.state)
    assert rerun.returncode == 0, rerun.stderr
    assert sandbox.requests_to("bindbee") == []  # finished by the failed run: not read again
    assert not rerun.records.get("ats_jobs")
    expected = all_records(sandbox)
    for stream in ("connections", "employments"):
        assert by_key(rerun.records[stream], "id") == by_key(expected[stream], "id")


def removed_bookmark_of(network_id: int):
    def check(message: dict) -> bool:
        if message["type"] != "STATE":
            return False
        parts = message["value"]["bookmarks"].get("removed_jobs", {}).get("partitions", [])
        return any(p["context"]["network_id"] == network_id and "replication_key_value" in p for p in parts)

    return check


@pytest.mark.e2e  # a SIGKILL to a process (the resumed run is in-process)
@pytest.mark.parametrize("kill_point", ["mid-getro", "mid-bindbee"])
def test_sigkill_then_resume_from_the_last_state_loses_nothing(tmp_path, sandbox, config, catalog, kill_point):
    config["getro_requests_per_minute"] = 1200  # slow enough to be caught mid-run
    kill_when = (
        removed_bookmark_of(101)
        if kill_point == "mid-getro"
        else lambda m: m["type"] == "RECORD" and m["record"].get("connector") == "lever"
    )
    killed = run_until_killed(tmp_path / "1", config, catalog, kill_when)
    state = killed.states[-1]
    resumed = run_in_process(tmp_path / "2", config, catalog=catalog, state=state)
    assert resumed.returncode == 0, resumed.stderr

    expected = all_records(sandbox)
    for stream, fields in ((s, PRIMARY_KEYS[s]) for s in sorted(selected(catalog))):
        together = {**by_key(killed.records[stream], *fields), **by_key(resumed.records[stream], *fields)}
        assert together == by_key(expected[stream], *fields), stream
    # Incremental streams re-emit nothing older than the bookmarks they resumed from.
    marks = {
        p["context"]["network_id"]: p.get("replication_key_value")
        for p in state["bookmarks"].get("removed_jobs", {}).get("partitions", [])
    }
    connectors = {
        p["context"]["connector"]: p.get("replication_key_value")
        for p in state["bookmarks"].get("ats_jobs", {}).get("partitions", [])
    }
    if kill_point == "mid-getro":
        assert marks.get(101)
    else:  # killed in the second connector: the first one's bookmark was already written
        assert connectors.get("greenhouse")
        assert not connectors.get("lever")
    for record in resumed.records["removed_jobs"]:
        if marks.get(record["network_id"]):
            assert instant(record["deactivated_at"]) >= instant(marks[record["network_id"]])
    for record in resumed.records["ats_jobs"]:
        if connectors.get(record["connector"]):
            assert instant(record["modified_at"]) >= instant(connectors[record["connector"]])


def test_bookmarks_in_the_future_are_read_as_absent_and_none_is_written_later(tmp_path, sandbox, config, catalog):
    """A state written by a clock that runs ahead (or an API's future date, before bookmarks were capped):
    such a bookmark cannot say when the partition was last read, so it is read as absent (the whole
    history here: no start_date), with a warning, and the bookmark written back is never later than
    the run's start."""
    future = "2099-01-01T00:00:00.000Z"
    state = {
        "bookmarks": {
            "removed_jobs": {
                "partitions": [
                    {"context": {"network_id": n}, "replication_key": "deactivated_at", "replication_key_value": future}
                    for n in (101, 102, 103)
                ]
            },
            "job_details": {
                "partitions": [
                    {
                        "context": {"network_id": n},
                        "replication_key": "description_last_updated_at",
                        "replication_key_value": future,
                    }
                    for n in (101, 102, 103)
                ]
            },
            "ats_jobs": {
                "partitions": [
                    {"context": {"connector": c}, "replication_key": "modified_at", "replication_key_value": future}
                    for c in ("greenhouse", "lever", "workday")
                ]
            },
        }
    }
    before = datetime.now(UTC)
    run = run_in_process(tmp_path, config, catalog=catalog, state=state)
    assert run.returncode == 0, run.stderr
    whole = {
        "removed_jobs": sum(map(len, sandbox.getro.removed_jobs.values())),
        "job_details": sum(map(len, sandbox.getro.jobs.values())),
        "ats_jobs": sum(map(len, sandbox.bindbee.jobs.values())),
    }
    for stream in ("removed_jobs", "job_details", "ats_jobs"):
        assert len(run.records.get(stream, [])) == whole[stream], stream  # nothing skipped
        parts = run.state["bookmarks"][stream]["partitions"]
        written = {instant(p["replication_key_value"]) for p in parts}
        assert all(before - timedelta(minutes=5) <= w <= datetime.now(UTC) for w in written), (stream, written)
        assert f"The state's bookmark of {stream}" in run.stderr
        assert "later than this run's start" in run.stderr
    assert len(run.listed["jobs"]) == 60  # the full-table streams still ran


def test_no_secret_anywhere_at_debug_through_faults(tmp_path, sandbox, config, catalog):
    sandbox.faults.set_rate(0.2, kinds=("500", "429", "reset", "truncated", "html"), seed=5)
    sandbox.faults.retry_after = 0  # the waits are tested elsewhere; here what the logs say
    run = run_in_process(
        tmp_path, {**config, "retry_max_attempts": 8}, catalog=catalog, env={"TAP_JOBSOURCES_LOGLEVEL": "DEBUG"}
    )
    assert run.returncode == 0, run.stderr
    assert "DEBUG" in run.stderr
    assert "urllib3" in run.stderr
    for secret in secrets(config):
        assert secret not in run.stdout, secret
        assert secret not in run.stderr, secret


@pytest.mark.parametrize("provider", ["getro", "bindbee", "trackjobchanges"])
def test_no_secret_when_the_api_is_unreachable(tmp_path, sandbox, config, provider):
    config = {
        **sandbox.settings(provider),
        **FAST,
        "retry_max_attempts": 2,
        f"{provider}_api_url": "http://127.0.0.1:9/unreachable",
    }
    run = run_in_process(tmp_path, config, env={"TAP_JOBSOURCES_LOGLEVEL": "DEBUG"})
    assert run.returncode != 0
    assert "still failing after 2 attempts: connection failed" in run.stderr
    for key, value in config.items():
        if key in SECRETS_OF:
            assert value not in run.stderr
            assert value not in run.stdout
    for connector in config.get("bindbee_connectors", []):
        assert connector["token"] not in run.stderr


def test_a_list_that_never_ends_hits_the_page_cap(tmp_path, sandbox, config):
    config = {**sandbox.settings("trackjobchanges"), **FAST, "max_pages_per_partition": 5}
    sandbox.intercept(
        lambda r: (
            Answer(
                200,
                {
                    "status": "SUCCESS",
                    "message": "ok",
                    "last_page": False,
                    "data": [{"id": 10_000 + int(r.query.get("page", 1))}],
                },
            )
            if r.path == "/connections"
            else None
        )
    )
    run = run_in_process(tmp_path, config)
    assert run.returncode != 0
    assert (
        "TrackJobChanges GET /trackjobchanges/api/v1/connections (stream connections): more than 5 pages" in run.stderr
    )
    assert len([r for r in sandbox.requests_to("trackjobchanges") if r.path == "/connections"]) == 5


@pytest.mark.parametrize(
    "body",
    [{"meta": {"total": 3}}, {"items": {"id": 1}, "meta": {}}, {"items": "none"}],
    ids=["missing", "object", "string"],
)
def test_a_page_without_its_list_is_an_error_not_an_empty_page(tmp_path, sandbox, config, body):
    config = {**sandbox.settings("getro"), **FAST, "retry_max_attempts": 2}
    sandbox.intercept(lambda r: Answer(200, body) if r.path == "/networks/101/jobs" else None)
    run = run_in_process(tmp_path, config)
    assert run.returncode != 0
    assert "Getro GET /getro/v2/networks/101/jobs (stream jobs) still failing after 2 attempts" in run.stderr
    assert "without a list of objects under 'items'" in run.stderr


def test_schema_drift_does_not_break_the_sync_and_output_stays_valid(tmp_path, sandbox, config, catalog):
    job = sandbox.getro.jobs[101][0]
    job.update(brand_new_field={"x": 1}, featured="yes", created_at="last tuesday", id=str(job["id"]))
    sandbox.getro.companies[101][0]["topics"] = "Energy"
    sandbox.bindbee.jobs["lever"][0]["confidential"] = "false"
    sandbox.trackjobchanges.connections["grp-default"][0]["in_eu"] = 1
    sandbox.trackjobchanges.connections["grp-default"][0]["current_employment"]["email_confidence"] = "85"
    run = run_in_process(tmp_path, config, catalog=catalog)
    assert run.returncode == 0, run.stderr
    assert_records_match_schemas(run)
    emitted = next(r for r in run.records["jobs"] if r["id"] == int(job["id"]))
    assert "brand_new_field" not in emitted
    assert emitted["featured"] is None
    assert emitted["created_at"] is None
    company = next(r for r in run.records["companies"] if r["id"] == sandbox.getro.companies[101][0]["objectID"])
    assert company["topics"] == ["Energy"]
    lever = next(
        r
        for r in run.records["ats_jobs"]
        if r["connector"] == "lever" and r["id"] == sandbox.bindbee.jobs["lever"][0]["id"]
    )
    assert lever["confidential"] is False
    conn = next(
        r for r in run.records["connections"] if r["id"] == sandbox.trackjobchanges.connections["grp-default"][0]["id"]
    )
    assert conn["in_eu"] is None
    assert conn["current_employment"]["email_confidence"] == 85
    assert "field brand_new_field is not in the stream's schema: dropped" in run.stderr
