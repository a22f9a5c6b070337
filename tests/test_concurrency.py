"""Requests in flight at once (TrackJobChanges, Bindbee): the same records in the same order
and the same state as one request at a time, under a server that caps concurrency, under
faults, and across a kill."""

from __future__ import annotations

from collections import defaultdict

import pytest

from jobsources_sandbox import Sandbox
from tests.conftest import FAST
from tests.expected import by_key
from tests.helpers import all_records, discover_in_process, run_in_process, run_until_killed
from tests.tap_side import pacer, record_services

GROUPS = ["grp-default", "grp-sales", "grp-alumni"]


def settings(sandbox: Sandbox, concurrency: int) -> dict:
    return {
        **sandbox.settings("bindbee", "trackjobchanges"),
        **FAST,
        "bindbee_page_size": 7,
        "trackjobchanges_group_ids": GROUPS,
        "trackjobchanges_max_concurrency": concurrency,
        "bindbee_max_concurrency": concurrency,
    }


def sequences(run) -> dict[tuple, list]:
    """Each partition's records, in the order they were emitted."""
    found: dict[tuple, list] = defaultdict(list)
    for r in run.records["ats_jobs"]:
        found[("ats_jobs", r["connector"])].append(r)
    for r in run.records["connections"]:
        found[("connections", r["group_id"])].append(r)
    for r in run.records["employments"]:
        found[("employments", r["connection_id"])].append(r)
    return dict(found)


def expected(sandbox: Sandbox) -> dict[str, list[dict]]:
    """What a sync of every group must emit (the groups are all of the sandbox's)."""
    records = all_records(sandbox)
    tjc = sandbox.trackjobchanges
    records["connections"] = [dict(tjc.listed(c), group_id=g) for g in GROUPS for c in tjc.connections[g]]
    records["employments"] = [dict(e, connection_id=cid) for cid, items in tjc.employments.items() for e in items]
    return records


@pytest.fixture
def sandbox():
    with Sandbox(scale=3, latency=0.01) as sb:
        yield sb


def without_run_times(state: dict) -> dict:
    """The state less when each group's employments were read (the time of each run)."""
    read = state.get("trackjobchanges", {}).get("employments_read", {})
    return {**state, "trackjobchanges": {"employments_read": sorted(read)}}


def test_concurrent_runs_give_the_serial_runs_records_order_and_state(tmp_path, sandbox, monkeypatch):
    serial = run_in_process(tmp_path / "serial", settings(sandbox, 1))
    assert serial.returncode == 0, serial.stderr
    assert sandbox.peak_in_flight == 1
    sandbox.peak_in_flight = 0
    services = record_services(monkeypatch)
    concurrent = run_in_process(tmp_path / "concurrent", settings(sandbox, 8))
    assert concurrent.returncode == 0, concurrent.stderr
    # Requests at once, counted where the tap sends them (the emulator's count needs its threads on time).
    assert max(s.limit.peak for s in services.values()) >= 2
    assert sandbox.peak_in_flight <= 8
    assert sequences(concurrent) == sequences(serial)
    assert without_run_times(concurrent.state) == without_run_times(serial.state)
    assert max(len(str(s)) for s in concurrent.states) == max(len(str(s)) for s in serial.states)
    # A STATE never claims a partition whose records are not all out yet.
    seen = set()
    for message in concurrent.messages:
        if message["type"] == "RECORD" and message["stream"] == "ats_jobs":
            seen.add(message["record"]["connector"])
        if message["type"] == "STATE":
            for part in message["value"]["bookmarks"].get("ats_jobs", {}).get("partitions", []):
                if part.get("replication_key_value"):
                    assert part["context"]["connector"] in seen


def test_a_pages_connections_have_their_employments_asked_at_once(tmp_path, monkeypatch):
    """One group (nothing else to read ahead): while a page of connections is emitted, its
    connections' first employments pages are already being fetched, several in flight. Counted where
    the tap sends them, not by the emulator's arrival stamps (a busy machine spreads those)."""
    services = record_services(monkeypatch)
    with Sandbox(scale=2, latency=0.05) as sandbox:
        config = {**sandbox.settings("trackjobchanges"), **FAST, "trackjobchanges_max_concurrency": 4}
        run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr[-2000:]
    assert services["trackjobchanges"].limit.peak >= 3  # one at a time, it would be 1


@pytest.mark.parametrize("cap", [2, 1])
def test_a_server_that_caps_requests_in_flight_slows_the_tap_but_never_fails_it(tmp_path, cap):
    """Even a server that takes one request at a time: a 429 to a request that others joined in
    flight is the cap, not a failed attempt (two attempts are enough)."""
    with Sandbox(scale=3, latency=0.01, max_in_flight=cap) as sandbox:
        run = run_in_process(tmp_path, {**settings(sandbox, 8), "retry_max_attempts": 2})
        assert run.returncode == 0, run.stderr
        capped = [r for r in sandbox.log if r.fault == "cap"]
        assert capped, "the cap was never reached"
        # Additive increase, multiplicative decrease: the tap settles under the cap instead of
        # hammering it (each refusal halves the requests in flight).
        assert len(capped) < 0.2 * len(sandbox.log), (len(capped), len(sandbox.log))
        want = expected(sandbox)
        assert by_key(run.records["employments"], "id") == by_key(want["employments"], "id")
        assert by_key(run.records["ats_jobs"], "connector", "id") == by_key(want["ats_jobs"], "connector", "id")


def test_fifteen_percent_faults_under_concurrency_lose_nothing(tmp_path, sandbox):
    clean = run_in_process(tmp_path / "clean", settings(sandbox, 1))
    sandbox.clear_log()
    sandbox.faults.set_rate(0.15, kinds=("500", "503", "429", "reset", "truncated", "html"), seed=3)
    sandbox.faults.retry_after = 0
    faulty = run_in_process(tmp_path / "faulty", {**settings(sandbox, 8), "retry_max_attempts": 10})
    assert faulty.returncode == 0, faulty.stderr
    assert len([r for r in sandbox.log if r.fault]) >= 0.1 * len(sandbox.log)
    assert sequences(faulty) == sequences(clean)


@pytest.mark.e2e  # a SIGKILL to a process (the resumed run is in-process)
@pytest.mark.parametrize("stream", ["employments", "ats_jobs"])
def test_a_kill_under_concurrency_resumes_without_loss(tmp_path, sandbox, stream):
    config = settings(sandbox, 8)
    catalog = discover_in_process(tmp_path / "d", config)
    count = {"n": 0}

    def kill_when(message):
        count["n"] += message["type"] == "RECORD" and message["stream"] == stream
        return count["n"] >= 30

    killed = run_until_killed(tmp_path / "killed", config, catalog, kill_when)
    resumed = run_in_process(tmp_path / "resumed", config, catalog=catalog, state=killed.states[-1])
    assert resumed.returncode == 0, resumed.stderr
    want = expected(sandbox)
    for name, fields in (("ats_jobs", ("connector", "id")), ("connections", ("id",)), ("employments", ("id",))):
        together = {**by_key(killed.records[name], *fields), **by_key(resumed.records[name], *fields)}
        assert together == by_key(want[name], *fields), name


def test_a_retry_after_holds_every_thread_of_the_provider(tmp_path, monkeypatch):
    """Bindbee, three connectors read at once: one 429 with Retry-After 2 on one connector, and
    no Bindbee request from the others' threads goes out until the 2 s have passed. Read where the
    pacer lets requests go (the emulator's arrival stamps need its thread on time)."""
    services = record_services(monkeypatch)
    with Sandbox(scale=5, latency=0.02) as sandbox:
        sandbox.faults.retry_after = 2
        sandbox.faults.inject("429", provider="bindbee", path="^/jobs$", times=1)
        config = {**settings(sandbox, 3), "trackjobchanges_api_key": None}
        run = run_in_process(tmp_path, {k: v for k, v in config.items() if v is not None})
        sent = len(sandbox.requests_to("bindbee"))
        want = expected(sandbox)
    assert run.returncode == 0, run.stderr[-2000:]
    bindbee = pacer(services["bindbee"])
    assert len(bindbee.releases) == sent  # every request went through the pacer
    assert [seconds for _, seconds in bindbee.holds] == [2.0]
    held = bindbee.holds[0][0]
    # Requests let go before the 429 was answered were on their way; none asking later went sooner.
    after = sorted(r.at - held for r in bindbee.releases if r.asked > held)
    assert len(after) > 3, after  # the others' threads did go on, after the wait
    assert after[0] >= 2.0 - 1e-6, after[:5]
    assert by_key(run.records["ats_jobs"], "connector", "id") == by_key(want["ats_jobs"], "connector", "id")
