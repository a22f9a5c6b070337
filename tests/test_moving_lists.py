"""Completeness against APIs that do not hold still or play fair (the emulator's misbehaviours): lists
that change while read, empty and short pages, totals that lie, 403s, cursor lists that lead back to
their start, clocks that differ, dates out of range. Each compares what the tap emitted with the
emulator's own data, never with another run."""

from __future__ import annotations

import time
import typing as t
from datetime import UTC, datetime, timedelta

import pytest

from jobsources_sandbox import Sandbox
from jobsources_sandbox.misbehaviour import Misbehaviour
from tests.conftest import FAST
from tests.expected import instant
from tests.helpers import PRIMARY_KEYS, discover_in_process, only, run_in_process, select

#: Lists of several pages: Getro 10 items a page, TrackJobChanges 10 (the emulator's).
PAGED = {"getro_page_size": 10, "emit_activate_version_messages": True, "retire_after_missed_reads": 1}
LISTS = ("companies", "jobs", "talent", "connections")


def keys(run, stream: str) -> set[tuple]:
    return {tuple(r[f] for f in PRIMARY_KEYS[stream]) for r in run.listed.get(stream, [])}


def listed_now(sandbox: Sandbox) -> dict[str, set[tuple]]:
    """What each list holds at the end of the read: what stayed listed the whole read, at least."""
    getro, tjc = sandbox.getro, sandbox.trackjobchanges
    group = next(iter(tjc.connections))
    return {
        "companies": {(n, c["objectID"]) for n, items in getro.companies.items() for c in items},
        "jobs": {(n, j["id"]) for n, items in getro.jobs.items() for j in items},
        "talent": {(n, p["id"]) for n, items in getro.talent.items() for p in items if n not in getro.hidden_talent},
        "connections": {(c["id"],) for c in tjc.connections[group]},
    }


def activated(run) -> set[str]:
    return {m["stream"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"}


def sync(tmp_path, misbehaviour: Misbehaviour, scale: int = 3, **settings: t.Any):
    sandbox = Sandbox(scale=scale, misbehaviour=misbehaviour).start()
    before = listed_now(sandbox)
    config = {**sandbox.settings("getro", "trackjobchanges"), **FAST, **PAGED, **settings}
    run = run_in_process(tmp_path, config)
    sandbox.stop()
    return sandbox, before, run


def test_lists_losing_their_first_item_after_each_page_lose_no_row_that_stayed_listed(tmp_path):
    sandbox, before, run = sync(tmp_path, Misbehaviour(drop_first=5))
    assert run.returncode == 0, run.stderr[-3000:]
    after = listed_now(sandbox)
    for stream in LISTS:
        stayed = before[stream] & after[stream]
        assert len(stayed) < len(before[stream]), stream  # the lists did move
        assert stayed <= keys(run, stream), (stream, sorted(stayed - keys(run, stream))[:5])
    # Each shrink was read again, so every list is proven: deletes may go ahead (talent: one network hides it).
    assert {"companies", "jobs", "connections"} <= activated(run)
    assert "could not prove" not in run.stderr


def test_lists_growing_at_their_head_while_read_lose_no_row(tmp_path):
    sandbox, before, run = sync(tmp_path, Misbehaviour(add_first=3))
    assert run.returncode == 0, run.stderr[-3000:]
    for stream in LISTS:
        assert before[stream] <= keys(run, stream), stream
    assert {"companies", "jobs", "connections"} <= activated(run)


@pytest.mark.parametrize(
    "misbehaviour", [Misbehaviour(empty_once=(2,)), Misbehaviour(short_once=(2,))], ids=["empty", "short"]
)
def test_an_empty_or_short_page_does_not_end_a_list(tmp_path, misbehaviour):
    sandbox, before, run = sync(tmp_path, misbehaviour)
    assert run.returncode == 0, run.stderr[-3000:]
    for stream in LISTS:
        assert before[stream] <= keys(run, stream), stream
    assert {"companies", "jobs", "connections"} <= activated(run)


def test_totals_that_say_fewer_than_the_pages_hold_do_not_end_a_list(tmp_path):
    sandbox, before, run = sync(tmp_path, Misbehaviour(total_offset=-7))
    assert run.returncode == 0, run.stderr[-3000:]
    for stream in LISTS:
        assert before[stream] <= keys(run, stream), stream


def test_totals_that_say_more_than_the_list_holds_are_named_and_retire_nothing(tmp_path):
    sandbox, before, run = sync(tmp_path, Misbehaviour(total_offset=5))
    assert run.returncode == 0, run.stderr[-3000:]
    for stream in LISTS:
        assert before[stream] <= keys(run, stream), stream  # everything there is, and...
    # ...no list can be proven whole: each says so, naming the partition and the counts, and retires nothing.
    warned = [line for line in run.stderr.splitlines() if "could not prove the read complete" in line]
    assert any("jobs [network 101]" in line and "where the list's total says" in line for line in warned), warned
    assert not {"companies", "jobs", "connections"} & activated(run)
    assert "No ACTIVATE_VERSION for jobs" in run.stderr


def test_a_getro_403_on_any_network_endpoint_skips_that_partition_and_retires_nothing_of_it(tmp_path):
    sandbox, before, run = sync(
        tmp_path, Misbehaviour(forbidden=(r"^/networks/101/jobs$", r"^/networks/103/companies$")), scale=1
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Getro hides the jobs of network 101 from this account (403 Forbidden): skipped." in run.stderr
    assert "Getro hides the companies of network 103 from this account (403 Forbidden): skipped." in run.stderr
    assert {k for k in keys(run, "jobs")} == {k for k in before["jobs"] if k[0] != 101}
    assert {k for k in keys(run, "companies")} == {k for k in before["companies"] if k[0] != 103}
    assert not {"jobs", "companies", "talent"} & activated(run)
    assert {"networks", "connections"} <= activated(run)


def test_a_date_that_cannot_move_to_utc_costs_a_warning_not_the_run(tmp_path):
    sandbox = Sandbox(misbehaviour=Misbehaviour(dates_out_of_range=True)).start()
    config = {**sandbox.settings("getro", "bindbee"), **FAST}
    run = run_in_process(tmp_path, config)
    sandbox.stop()
    assert run.returncode == 0, run.stderr[-3000:]
    by_connector = {r["connector"] for r in run.records["ats_jobs"]}
    assert by_connector == set(sandbox.bindbee.jobs)  # every connector read, the first one's bad date or not
    assert len(run.records["ats_jobs"]) == sum(map(len, sandbox.bindbee.jobs.values()))
    assert len(run.listed["jobs"]) == sum(map(len, sandbox.getro.jobs.values()))
    bad = next(r for r in run.records["ats_jobs"] if r["id"] == sandbox.bindbee.jobs["greenhouse"][0]["id"])
    assert bad["modified_at"] is None
    assert "Stream ats_jobs: field modified_at is not a valid date-time: emitted as null" in run.stderr
    assert "Stream jobs: field created_at is not a valid date-time: emitted as null" in run.stderr


# Loops ----------------------------------------------------------------------------------------


def test_a_cursor_list_that_leads_back_to_its_first_page_stops_within_a_round(tmp_path):
    """Bindbee's last page gives a fresh cursor to its first: no cursor repeats, so only the items
    tell. The run stops, naming the provider and the stream, a few pages into the second round
    (not at max_pages_per_partition: lowered here so that the read without the stop ends too)."""
    with Sandbox(misbehaviour=Misbehaviour(cursor_loops=True)) as sandbox:
        config = {**sandbox.settings("bindbee"), **FAST, "bindbee_page_size": 7, "max_pages_per_partition": 40}
        run = run_in_process(tmp_path, config)
        token = sandbox.bindbee.tokens["greenhouse"]
        asked = [r for r in sandbox.requests_to("bindbee") if r.headers["x-connector-token"] == token]
    assert run.returncode != 0
    assert "Bindbee GET /bindbee/api/ats/v1/jobs (stream ats_jobs, connector greenhouse): " in run.stderr
    assert "pages 4 to 6 held only items already read" in run.stderr
    assert len(asked) == 6  # 20 jobs at 7 a page: one round of 3 pages, then 3 pages of it again
    assert token not in run.stderr


# Clocks ---------------------------------------------------------------------------------------


def test_a_bindbee_row_dated_a_year_ahead_does_not_move_the_bookmark_past_the_runs_start(tmp_path):
    with Sandbox() as sandbox:
        config = {**sandbox.settings("bindbee"), **FAST}
        ahead = (datetime.now(UTC) + timedelta(days=365)).isoformat().replace("+00:00", "Z")
        sandbox.bindbee.jobs["lever"][0]["modified_at"] = ahead
        started = datetime.now(UTC)
        first = run_in_process(tmp_path / "1", config)
        assert first.returncode == 0, first.stderr
        marks = {
            p["context"]["connector"]: instant(p["replication_key_value"])
            for p in first.state["bookmarks"]["ats_jobs"]["partitions"]
        }
        assert marks["lever"] <= datetime.now(UTC)
        assert marks["lever"] >= started - timedelta(seconds=5)
        # A change after that run is read by the next one.
        changed = sandbox.bindbee.jobs["lever"][5]
        changed.update(name="CHANGED LATER", modified_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"))
        second = run_in_process(tmp_path / "2", config, state=first.state)
        assert second.returncode == 0, second.stderr
        assert "CHANGED LATER" in {r["name"] for r in second.records["ats_jobs"]}


@pytest.mark.parametrize("offset", [timedelta(minutes=-60), timedelta(days=2)], ids=["behind", "ahead"])
def test_trackjobchanges_changes_stamped_by_its_own_clock_are_read(tmp_path, offset):
    """The cut-off of changed employments is made of TrackJobChanges' own times: a server clock behind
    or ahead of the tap's loses no change."""
    misbehaviour = Misbehaviour(clock_offset=offset)
    with Sandbox(scale=2, misbehaviour=misbehaviour, trackjobchanges_options={"list_shape": "detail"}) as sandbox:
        config = {**sandbox.settings("trackjobchanges"), **FAST}
        api = sandbox.trackjobchanges
        group = next(iter(api.connections))
        # The server's "now" stamps the data's latest changes too.
        api.recheck(api.connections[group][0]["id"], misbehaviour.now() - timedelta(minutes=1))
        first = run_in_process(tmp_path / "1", config)
        assert first.returncode == 0, first.stderr
        moved = api.connections[group][3]["id"]
        api.change_job(moved, misbehaviour.now())
        new = api.add_connection(group, misbehaviour.now())["id"]
        sandbox.clear_log()
        second = run_in_process(tmp_path / "2", config, state=first.state)
        assert second.returncode == 0, second.stderr
        asked = {
            int(r.path.split("/")[2]) for r in sandbox.requests_to("trackjobchanges") if r.path.endswith("/employments")
        }
        assert {moved, new} <= asked
        got = {e["id"] for e in second.records["employments"]}
        assert {e["id"] for e in api.employments[moved] + api.employments[new]} <= got
        assert len(asked) < len(api.connections[group])  # still incremental


@pytest.mark.parametrize("offset", [timedelta(hours=-1), timedelta(hours=1)], ids=["behind", "ahead"])
def test_a_retry_after_date_is_measured_against_the_servers_own_date(tmp_path, offset):
    """Getro's rate limit answers 429 with Retry-After as an HTTP date, and a Date header, both by its
    clock an hour off the tap's: the tap waits what the server asked (not an hour more, which stops
    the run; nor nothing, which spends every attempt on 429s), then reads on."""
    misbehaviour = Misbehaviour(clock_offset=offset)
    with Sandbox(getro_rate_limit=5, retry_after_date=True, misbehaviour=misbehaviour) as sandbox:
        config = {**sandbox.settings("getro"), **FAST}
        catalog = only(discover_in_process(tmp_path / "d", config), {"job_functions", "experience_levels"})
        # Four requests 58.5 s ago: the fifth fits, the sixth is told to wait 2 s.
        sandbox.rate_limits["getro"]._times = [time.monotonic() - 58.5] * 4  # noqa: SLF001
        run = run_in_process(tmp_path, config, catalog=catalog)
        asked = sandbox.requests_to("getro")
    assert run.returncode == 0, run.stderr[-2000:]
    assert [r.status for r in asked].count(429) == 1
    refused = next(i for i, r in enumerate(asked) if r.status == 429)
    # Both dates have one-second resolution: the wait is at least Retry-After less that.
    assert asked[refused + 1].time - asked[refused].time >= 1.0
    assert len(run.records["experience_levels"]) == len(sandbox.getro.experience_levels)


def test_a_state_time_later_than_the_runs_start_is_ignored_with_a_warning(tmp_path):
    with Sandbox(trackjobchanges_options={"list_shape": "detail"}) as sandbox:
        config = {**sandbox.settings("trackjobchanges"), **FAST}
        ahead = (datetime.now(UTC) + timedelta(days=2)).isoformat().replace("+00:00", "Z")
        state = {"bookmarks": {}, "trackjobchanges": {"employments_read": {"": ahead}}}
        run = run_in_process(tmp_path, config, state=state)
        assert run.returncode == 0, run.stderr
        assert "later than this run's start" in run.stderr
        assert "ignored" in run.stderr
        group = next(iter(sandbox.trackjobchanges.connections))
        asked = {r.path for r in sandbox.requests_to("trackjobchanges") if r.path.endswith("/employments")}
        assert len(asked) == len(sandbox.trackjobchanges.connections[group])  # every connection, as a first run
        written = instant(run.state["trackjobchanges"]["employments_read"][""])
        assert written <= datetime.now(UTC)


def test_one_job_dated_in_the_future_does_not_lift_the_job_details_cut_off_to_the_taps_clock(tmp_path):
    """A Getro clock 5 minutes behind the tap's, and one job whose created_at is a year ahead (bad
    data): the cut-off stays made of Getro's real times, so an edit after the run is read next time."""
    misbehaviour = Misbehaviour(clock_offset=timedelta(minutes=-5))
    with Sandbox(networks=1, misbehaviour=misbehaviour) as sandbox:
        config = {**sandbox.settings("getro"), **FAST}
        catalog = select(discover_in_process(tmp_path / "discover", config), {"job_details": True})
        jobs = next(iter(sandbox.getro.jobs.values()))
        stamp = lambda moment: moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")  # noqa: E731
        jobs[0]["created_at"] = stamp(datetime.now(UTC) + timedelta(days=365))
        first = run_in_process(tmp_path / "1", config, catalog=catalog)
        assert first.returncode == 0, first.stderr
        edited = jobs[5]
        edited["description_last_updated_at"] = stamp(misbehaviour.now())  # Getro's clock, after the run
        second = run_in_process(tmp_path / "2", config, catalog=catalog, state=first.state)
        assert second.returncode == 0, second.stderr
        assert edited["id"] in {r["id"] for r in second.records.get("job_details", [])}
