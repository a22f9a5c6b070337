"""Seams where a read could pass for whole while it is not: a resumed page in another order, a
stream selected only in the resumed run, connections moving between groups."""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime

import pytest

from tap_jobsources.trackjobchanges.streams import ChangedConnections
from tests.conftest import FAST
from tests.helpers import discover_in_process, only, run_in_process


def resume_section(streams: dict, **extra) -> dict:
    written = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {"version": 1_700_000_000_000, "written": written, "streams": streams, **extra}


def test_a_resumed_page_in_another_order_reads_the_children_of_every_record_not_finished(tmp_path, sandbox):
    """The interrupted run finished the employments of the first three connections of page 1; the
    resumed answer lists them in another order (equal timestamps sort either way). Every other
    connection's employments are read, whatever its place on the page."""
    connections = sandbox.trackjobchanges.connections["grp-default"]
    finished = [c["id"] for c in connections[:3]]
    connections.reverse()
    config = {**sandbox.settings("trackjobchanges"), **FAST, "trackjobchanges_employments": "all"}
    entry = {"page": 1, "items": 0, "after": finished[-1], "finished": finished}
    state = {"bookmarks": {}, "resume": resume_section({"connections": {"": entry}})}
    run = run_in_process(tmp_path, config, state=state)
    assert run.returncode == 0, run.stderr
    asked = {int(r.path.split("/")[2]) for r in sandbox.requests_to("trackjobchanges", "/connections/")}
    assert asked == {c["id"] for c in connections} - set(finished)


def test_a_stream_selected_only_in_the_resumed_run_is_not_taken_for_read_whole(tmp_path, sandbox):
    """The interrupted run read networks, companies and jobs, finished network 101 and failed in 102;
    talent is selected only in the resumed run, which does not read 101 again: talent misses it, so
    no ACTIVATE_VERSION for talent, and a warning names it."""
    config = {
        **sandbox.settings("getro"),
        **FAST,
        "emit_activate_version_messages": True,
        "retire_after_missed_reads": 1,
        "retry_max_attempts": 2,
    }
    catalog = discover_in_process(tmp_path / "d", config)
    sandbox.faults.inject("503", provider="getro", path="^/networks/102/jobs$", times=2)
    failed = run_in_process(tmp_path / "1", config, catalog=only(catalog, {"networks", "companies", "jobs"}))
    assert failed.returncode != 0
    widened = only(catalog, {"networks", "companies", "jobs", "talent"})
    resumed = run_in_process(tmp_path / "2", config, state=failed.state, catalog=widened)
    assert resumed.returncode == 0, resumed.stderr
    activated = {m["stream"] for m in resumed.messages if m["type"] == "ACTIVATE_VERSION"}
    assert "talent" not in activated
    assert "talent was not selected in the interrupted run this one resumes" in resumed.stderr


def test_streams_selected_in_both_runs_are_read_whole_when_resumed(tmp_path, sandbox):
    config = {
        **sandbox.settings("getro"),
        **FAST,
        "emit_activate_version_messages": True,
        "retire_after_missed_reads": 1,
        "retry_max_attempts": 2,
    }
    selected = only(discover_in_process(tmp_path / "d", config), {"networks", "companies", "jobs"})
    sandbox.faults.inject("503", provider="getro", path="^/networks/102/jobs$", times=2)
    failed = run_in_process(tmp_path / "1", config, catalog=selected)
    resumed = run_in_process(tmp_path / "2", config, state=failed.state, catalog=selected)
    activated = {m["stream"] for m in resumed.messages if m["type"] == "ACTIVATE_VERSION"}
    assert activated == {"networks", "companies", "jobs"}


# TrackJobChanges: groups and signals ----------------------------------------------------------------

GROUPS = ["grp-default", "grp-sales", "grp-alumni"]


def test_a_connection_moving_into_a_group_already_read_stops_activate_version(tmp_path, sandbox):
    """grp-default is read first; while grp-sales is read, a connection moves from grp-alumni (not read
    yet) into grp-default: neither read has it. The run names the group and retires nothing."""
    api = sandbox.trackjobchanges
    config = {
        **sandbox.settings("trackjobchanges"),
        **FAST,
        "trackjobchanges_group_ids": GROUPS,
        "trackjobchanges_max_concurrency": 1,  # one group after another, none fetched ahead
        "emit_activate_version_messages": True,
        "retire_after_missed_reads": 1,
    }
    moved = {"done": False}

    def move(request):
        if not moved["done"] and request.path == "/connections" and request.query.get("group") == "grp-sales":
            api.connections["grp-default"].append(api.connections["grp-alumni"].pop(0))
            moved["done"] = True

    sandbox.intercept(move)
    run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr
    activated = {m["stream"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"}
    assert "connections" not in activated
    assert "TrackJobChanges connections [group grp-default]: group grp-default holds" in run.stderr


def test_groups_that_did_not_move_still_retire(tmp_path, sandbox):
    config = {
        **sandbox.settings("trackjobchanges"),
        **FAST,
        "trackjobchanges_group_ids": GROUPS,
        "emit_activate_version_messages": True,
        "retire_after_missed_reads": 1,
    }
    run = run_in_process(tmp_path, config)
    assert "connections" in {m["stream"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"}


def employments_asked(sandbox) -> set[int]:
    return {
        int(r.path.split("/")[2]) for r in sandbox.requests_to("trackjobchanges") if r.path.endswith("/employments")
    }


def test_a_connection_new_to_a_group_with_an_old_created_at_has_its_employments_read(tmp_path, sandbox):
    """Moved in from another group (its created_at old, nothing flagged): its id is larger than any the
    group's last complete read saw, so it is new to the group."""
    api = sandbox.trackjobchanges
    config = {**sandbox.settings("trackjobchanges"), **FAST, "trackjobchanges_group_ids": GROUPS[:1]}
    first = run_in_process(tmp_path / "1", config)
    assert first.returncode == 0, first.stderr
    newcomer = max(api.connections["grp-sales"], key=lambda c: c["id"])
    newcomer.update(has_new_job=False, has_new_title=False, employment_checked_at=None, new_job_flagged_at=None)
    api.connections["grp-sales"].remove(newcomer)
    api.connections["grp-default"].append(newcomer)
    sandbox.clear_log()
    second = run_in_process(tmp_path / "2", config, state=first.state)
    assert second.returncode == 0, second.stderr
    assert newcomer["id"] in employments_asked(sandbox)


#: A connection of an old group member, not new, flagged with a new title; what the list shows beside.
TITLED = {"id": 7, "created_at": "2025-01-01T00:00:00Z", "has_new_title": True}


def wants_titled(**listed: t.Any) -> bool:
    """Whether ``changed`` reads the employments of TITLED, listed with ``listed``, after 2026-01-01."""
    return ChangedConnections("changed", datetime(2026, 1, 1, tzinfo=UTC), largest=7).wants({**TITLED, **listed})


@pytest.mark.parametrize(
    "listed",
    [
        pytest.param({"has_new_job": False}, id="no check times listed"),
        # A title check moves employment_checked_at only: with just new_job_flagged_at, the flag is the sign.
        pytest.param({"new_job_flagged_at": None}, id="no employment_checked_at listed"),
        pytest.param({"employment_checked_at": None, "new_job_flagged_at": None}, id="employment_checked_at null"),
    ],
)
def test_has_new_title_has_the_employments_read_where_no_check_time_says_when_it_was_set(listed):
    assert wants_titled(**listed)


def test_has_new_title_set_before_the_last_check_time_is_not_read_again():
    """A flag stays set until the account clears it; the check that set it moved employment_checked_at."""
    assert not wants_titled(employment_checked_at="2025-12-31T00:00:00Z", new_job_flagged_at=None)
