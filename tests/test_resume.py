"""Resumable runs: a run killed part-way and resumed from its last STATE repeats at most the
page each interrupted partition was reading, loses nothing, and counts as the same run."""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from jobsources_sandbox import Sandbox
from tests.conftest import FAST
from tests.expected import by_key
from tests.helpers import (
    PRIMARY_KEYS,
    all_records,
    discover_in_process,
    run_in_process,
    run_until_killed,
    select,
    selected,
)


@pytest.fixture
def sandbox():
    with Sandbox(scale=3, latency=0.002) as sb:
        yield sb


@pytest.fixture
def config(sandbox) -> dict:
    return {
        **sandbox.settings(),
        **FAST,
        "getro_page_size": 5,
        "bindbee_page_size": 7,
        "emit_activate_version_messages": True,
        "retire_after_missed_reads": 1,
    }


@pytest.fixture
def catalog(tmp_path, config) -> dict:
    return select(discover_in_process(tmp_path / "discover", config), {"job_details": True})


def request_key(r) -> tuple:
    """What makes two requests the same request (headers name the Bindbee connector)."""
    return (r.path, tuple(sorted(r.query.items())), r.headers.get("x-connector-token"))


def partition_of(r, tokens: dict[str, str]) -> str:
    """The partition a request reads: Getro lists per network, a network's detail belongs to
    the networks partition, Bindbee per connector, TrackJobChanges per group or connection."""
    if r.provider == "getro" and r.path.count("/") == 2 and r.path.startswith("/networks/"):
        return "getro /networks"
    if r.provider == "bindbee":
        return f"bindbee {tokens[r.headers['x-connector-token']]}"
    return f"{r.provider} {r.path} {r.query.get('group', '')}"


def repeats_per_partition(sandbox, killed_log, resumed_log) -> Counter:
    tokens = {v: k for k, v in sandbox.bindbee.tokens.items()}
    made = Counter(request_key(r) for r in killed_log if r.status == 200)
    repeated = Counter()
    for r in resumed_log:
        key = request_key(r)
        if made[key]:
            made[key] -= 1
            repeated[partition_of(r, tokens)] += 1
    return repeated


def nth_record_of(stream: str, n: int, **fields):
    seen = {"count": 0}

    def check(message: dict) -> bool:
        if message["type"] != "RECORD" or message["stream"] != stream:
            return False
        if any(message["record"].get(k) != v for k, v in fields.items()):
            return False
        seen["count"] += 1
        return seen["count"] >= n

    return check


KILL_POINTS = {
    "getro companies": nth_record_of("companies", 7, network_id=102),
    "getro jobs and details": nth_record_of("job_details", 8, network_id=101),
    "getro talent": nth_record_of("talent", 4, network_id=103),
    "bindbee second connector": nth_record_of("ats_jobs", 10, connector="lever"),
    "trackjobchanges connections": nth_record_of("connections", 14),
    "trackjobchanges employments": nth_record_of("employments", 25),
}


@pytest.mark.e2e  # a SIGKILL to a process (the runs around it are in-process)
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_killed_run_resumes_repeating_at_most_one_request_per_interrupted_partition(
    tmp_path, sandbox, config, catalog, point
):
    clean = run_in_process(tmp_path / "clean", config, catalog=catalog)  # only to count the requests a sync makes
    assert clean.returncode == 0, clean.stderr
    clean_requests = len(sandbox.log)
    sandbox.clear_log()

    # The repeats are counted from the last STATE the tap wrote, as a target reading it all has it.
    killed = run_until_killed(tmp_path / "killed", config, catalog, KILL_POINTS[point], drain=True)
    killed_log = list(sandbox.log)
    sandbox.clear_log()
    state = killed.states[-1]
    assert "resume" in state
    resumed = run_in_process(tmp_path / "resumed", config, catalog=catalog, state=state)
    assert resumed.returncode == 0, resumed.stderr

    # Nothing lost: the two parts together are the emulator's data.
    expected = all_records(sandbox)
    for stream, fields in ((s, PRIMARY_KEYS[s]) for s in sorted(selected(catalog))):
        together = {**by_key(killed.records[stream], *fields), **by_key(resumed.records[stream], *fields)}
        # A record that retires a removed job may be missing: the resumed run retires nothing of a
        # network whose jobs the killed run listed (the next run does).
        want = {
            k: v for k, v in by_key(expected[stream], *fields).items() if k in together or not v.get("_sdc_deleted_at")
        }
        assert together == want, stream

    # A connection goes out once its employments are all read: none of those is asked again.
    finished = {c["id"] for c in killed.records["connections"]}
    assert not [r for r in sandbox.log if r.path.endswith("/employments") and int(r.path.split("/")[2]) in finished]
    # At most one request again per interrupted partition; finished partitions not at all.
    repeated = repeats_per_partition(sandbox, killed_log, sandbox.log)
    assert max(repeated.values(), default=0) <= 1, repeated
    assert sandbox.log  # the kill left the resumed run something to read
    answered = [r for r in killed_log if r.status == 200]
    assert len(sandbox.log) <= clean_requests - len(answered) + sum(repeated.values())
    for stream in ("job_functions", "experience_levels", "connections"):
        if len(killed.records[stream]) == len(expected[stream]):  # finished before the kill
            assert not resumed.records[stream], stream

    # One logical run: the same table version, one ACTIVATE_VERSION per stream at the very end.
    versions = {
        m["version"]
        for m in killed.messages + resumed.messages
        if m["type"] == "RECORD" and "version" in m and "_sdc_deleted_at" not in m["record"]  # retired: version 0
    }
    assert len(versions) == 1, versions
    activations = [m for m in resumed.messages if m["type"] == "ACTIVATE_VERSION"]
    assert activations
    assert {m["version"] for m in activations} == versions
    assert not [m for m in killed.messages if m["type"] == "ACTIVATE_VERSION"]
    # The run completed: its progress is gone, the next run reads afresh.
    assert "resume" not in resumed.state


def test_the_resume_state_is_small_and_grows_with_partitions_not_records(tmp_path):
    with Sandbox(networks=100, scale=1) as sandbox:  # 500 partitions (five streams per network)
        config = {**sandbox.settings("getro"), **FAST, "getro_page_size": 2}
        run = run_in_process(tmp_path, config, timeout=600)
        assert run.returncode == 0, run.stderr
        sizes = [len(json.dumps(s)) for s in run.states]
        assert max(sizes) < 20_000, max(sizes)
        assert len(run.records["jobs"]) > 500  # more records than the state has bytes per record
        assert "resume" not in run.state


def test_a_state_of_the_previous_release_is_read(tmp_path, sandbox, config):
    old = {
        "bookmarks": {
            "ats_jobs": {
                "partitions": [
                    {
                        "context": {"connector": "lever"},
                        "replication_key": "modified_at",
                        "replication_key_value": "2026-06-01T00:00:00.000Z",
                    }
                ]
            },
            "removed_jobs": {
                "partitions": [
                    {
                        "context": {"network_id": 101},
                        "replication_key": "deactivated_at",
                        "replication_key_value": "2026-06-01T00:00:00Z",
                    }
                ]
            },
            "connections": {},
            "employments": {},
        }
    }
    run = run_in_process(tmp_path, config, state=old)
    assert run.returncode == 0, run.stderr
    assert run.records["jobs"]
    assert "resume" not in run.state


@pytest.mark.e2e  # a SIGKILL to a process (the runs around it are in-process)
def test_progress_older_than_resume_within_hours_is_ignored(tmp_path, sandbox, config, catalog):
    killed = run_until_killed(tmp_path / "killed", config, catalog, nth_record_of("connections", 14))
    state = json.loads(json.dumps(killed.states[-1]))
    written = datetime.now(UTC) - timedelta(hours=30)
    state["resume"]["written"] = written.isoformat().replace("+00:00", "Z")
    sandbox.clear_log()
    run = run_in_process(tmp_path / "again", config, catalog=catalog, state=state)
    assert run.returncode == 0, run.stderr
    assert "more than resume_within_hours (24): ignored" in run.stderr
    assert len(run.records["job_functions"]) == len(sandbox.getro.job_functions)  # read again
    versions = {m["version"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"}
    assert versions
    assert versions != {state["resume"]["version"]}  # a new logical run


@pytest.mark.e2e  # a SIGKILL to a process (the runs around it are in-process)
def test_a_bindbee_cursor_the_api_no_longer_accepts_falls_back_to_the_bookmark(tmp_path, sandbox):
    config = {**sandbox.settings("bindbee"), **FAST, "bindbee_page_size": 7}
    killed = run_until_killed(
        tmp_path / "killed",
        config,
        discover_in_process(tmp_path / "d", config),
        nth_record_of("ats_jobs", 10, connector="lever"),
    )
    state = json.loads(json.dumps(killed.states[-1]))
    entries = state["resume"]["streams"]["ats_jobs"]
    lever = next(e for k, e in entries.items() if "lever" in k)
    assert lever.get("page")  # a saved cursor
    lever["page"] = base64.b64encode(b"expired").decode()
    run = run_in_process(tmp_path / "resumed", config, state=state)
    assert run.returncode == 0, run.stderr
    assert "the saved page was refused" in run.stderr
    together = {
        **by_key(killed.records["ats_jobs"], "connector", "id"),
        **by_key(run.records["ats_jobs"], "connector", "id"),
    }
    assert together == by_key(all_records(sandbox)["ats_jobs"], "connector", "id")


def test_getro_six_hour_rule_is_told_and_with_a_minimum_networks_are_skipped(tmp_path, sandbox):
    config = {
        **sandbox.settings("getro"),
        **FAST,
        "emit_activate_version_messages": True,
        "retire_after_missed_reads": 1,
    }
    first = run_in_process(tmp_path / "1", config)
    assert first.returncode == 0, first.stderr
    read = first.state["getro"]["networks_read_whole"]
    assert set(read) == {"101", "102", "103"}

    second = run_in_process(tmp_path / "2", config, state=first.state)
    assert second.returncode == 0, second.stderr
    told = [line for line in second.stderr.splitlines() if "networks read whole less than that ago" in line]
    assert len(told) == 1
    assert "Read anyway" in told[0]  # one line a run, naming the networks
    assert all(f"{n} (0.0 h ago)" in told[0] for n in (101, 102, 103))
    assert second.records["jobs"]

    sandbox.clear_log()
    third = run_in_process(tmp_path / "3", {**config, "getro_min_hours_between_syncs": 4}, state=first.state)
    assert third.returncode == 0, third.stderr
    assert "Skipped (getro_min_hours_between_syncs)" in third.stderr
    assert not third.records.get("jobs")
    assert not third.records.get("networks")
    assert not [r for r in sandbox.log if r.path.startswith("/networks/")]
    activated = {m["stream"] for m in third.messages if m["type"] == "ACTIVATE_VERSION"}
    assert activated == {"job_functions", "experience_levels"}  # nothing for the skipped networks' streams


def test_long_partitions_log_their_progress_with_totals_and_time_left(tmp_path, sandbox):
    config = {
        **sandbox.settings("getro", "trackjobchanges"),
        **FAST,
        "getro_page_size": 2,
        "progress_interval_seconds": 0.001,
        "getro_network_ids": [101],
    }
    run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr
    lines = [line.split("| ")[-1] for line in run.stderr.splitlines() if " pages" in line]
    jobs = [line for line in lines if line.startswith("jobs [network 101]: ")]
    total = len(sandbox.getro.jobs[101])
    assert jobs, lines
    assert f"of {total} (" in jobs[-1], jobs[-1]
    assert "left" in jobs[-1], jobs[-1]
    assert any(line.startswith("connections: ") and " of " in line for line in lines), lines
