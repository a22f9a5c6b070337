"""Incremental employments (trackjobchanges_employments): a second run asks only for the
employments of connections that changed or are new, in both list shapes the API may give,
and what the warehouse ends with equals the emulator's data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobsources_sandbox import Sandbox
from tests.conftest import FAST
from tests.expected import by_key, trackjobchanges_records
from tests.helpers import run_in_process

GROUPS = ["grp-default", "grp-sales"]


def employments_asked(sandbox) -> set[int]:
    return {
        int(r.path.split("/")[2]) for r in sandbox.requests_to("trackjobchanges") if r.path.endswith("/employments")
    }


def change_some(sandbox) -> tuple[set[int], set[int], set[int]]:
    """A job change, a re-check without change, and a new connection per group."""
    api, when = sandbox.trackjobchanges, datetime.now(UTC) + timedelta(minutes=1)
    moved, rechecked, new = set(), set(), set()
    for group in GROUPS:
        first, second = api.connections[group][1], api.connections[group][4]
        api.change_job(first["id"], when)
        api.recheck(second["id"], when)
        moved.add(first["id"])
        rechecked.add(second["id"])
        new.add(api.add_connection(group, when)["id"])
    return moved, rechecked, new


def after(value, since) -> bool:
    return value is not None and datetime.fromisoformat(value.replace("Z", "+00:00")) > since


def warehouse(*runs) -> dict[str, dict]:
    """What a target that upserts by key ends with after these runs."""
    out: dict[str, dict] = {"connections": {}, "employments": {}}
    for run in runs:
        for stream in out:
            out[stream].update(by_key(run.records[stream], "id"))
    return out


@pytest.mark.parametrize("shape", ["detail", "docs"])
def test_a_second_run_reads_only_what_changed_and_ends_whole(tmp_path, shape):
    with Sandbox(scale=2, trackjobchanges_options={"list_shape": shape}) as sandbox:
        config = {
            **sandbox.settings("trackjobchanges"),
            **FAST,
            "trackjobchanges_group_ids": GROUPS,
            "emit_activate_version_messages": True,
            "retire_after_missed_reads": 1,
        }
        first = run_in_process(tmp_path / "1", config)
        assert first.returncode == 0, first.stderr[-2000:]
        everyone = {c["id"] for g in GROUPS for c in sandbox.trackjobchanges.connections[g]}
        assert employments_asked(sandbox) == everyone
        assert {m["stream"] for m in first.messages if m["type"] == "ACTIVATE_VERSION"} == {
            "account",
            "connections",
            "employments",
        }
        # Per group, the cut-off is TrackJobChanges' own newest time the first run saw (less the run's
        # length and a margin): never the tap's clock.
        since = {
            g: datetime.fromisoformat(v.replace("Z", "+00:00"))
            for g, v in first.state["trackjobchanges"]["employments_read"].items()
        }
        assert set(since) == set(GROUPS)

        moved, rechecked, new = change_some(sandbox)
        sandbox.clear_log()
        second = run_in_process(tmp_path / "2", config, state=first.state)
        assert second.returncode == 0, second.stderr[-2000:]
        asked = employments_asked(sandbox)
        connections = {c["id"]: (g, c) for g in GROUPS for c in sandbox.trackjobchanges.connections[g]}
        if shape == "detail":
            assert moved | rechecked | new <= asked  # the list tells what moved
            # Beside them, only connections stamped inside the margin of the newest time (at-least-once).
            fields = ("created_at", "employment_checked_at", "new_job_flagged_at")
            for cid in asked - (moved | rechecked | new):
                group, connection = connections[cid]
                stamped = any(after(connection.get(f), since[group]) for f in fields)
                # A title flag with no check time listed says nothing of when it was set: read again.
                titled = connection.get("has_new_title") is True and connection.get("employment_checked_at") is None
                assert stamped or titled, cid
        else:
            # The docs' list has no employment_checked_at: new, flagged (has_new_job) and newly started
            # current employments are read; a re-check that changed nothing is not (nothing to miss).
            assert moved | new <= asked
            for cid in asked - (moved | new):
                group, connection = connections[cid]
                started = (connection.get("current_employment") or {}).get("started_at")
                assert (
                    connection.get("has_new_job") is True
                    or after(connection.get("created_at"), since[group])
                    or (started and started >= since[group].date().isoformat())
                ), cid
        assert len(asked) < len(connections) / 2  # it pays off, in both shapes
        # Skipped connections keep their rows: no ACTIVATE_VERSION for employments.
        activated = {m["stream"] for m in second.messages if m["type"] == "ACTIVATE_VERSION"}
        assert activated == {"account", "connections"}

        expected = trackjobchanges_records(sandbox.trackjobchanges, GROUPS)
        ended = warehouse(first, second)
        for stream in ("connections", "employments"):
            assert ended[stream] == by_key(expected[stream], "id"), stream


def test_all_reads_every_connection_and_may_retire_rows(tmp_path):
    with Sandbox(scale=1) as sandbox:
        config = {
            **sandbox.settings("trackjobchanges"),
            **FAST,
            "emit_activate_version_messages": True,
            "retire_after_missed_reads": 1,
        }
        first = run_in_process(tmp_path / "1", config)
        assert first.returncode == 0, first.stderr[-2000:]
        sandbox.clear_log()
        second = run_in_process(tmp_path / "2", {**config, "trackjobchanges_employments": "all"}, state=first.state)
        assert second.returncode == 0, second.stderr[-2000:]
        group = next(iter(sandbox.trackjobchanges.connections))
        assert employments_asked(sandbox) == {c["id"] for c in sandbox.trackjobchanges.connections[group]}
        assert "employments" in {m["stream"] for m in second.messages if m["type"] == "ACTIVATE_VERSION"}


def test_an_interrupted_first_run_does_not_count_as_complete(tmp_path):
    """Until a group's connections were read whole once, every connection's employments are read."""
    with Sandbox(scale=2) as sandbox:  # two pages of connections
        config = {**sandbox.settings("trackjobchanges"), **FAST, "retry_max_attempts": 1}
        calls = {"n": 0}

        def fail_late(request):
            from jobsources_sandbox.http import Answer

            if request.path == "/connections" and request.query.get("page") == "2":
                calls["n"] += 1
                return Answer(500, {"status": "ERROR", "message": "down"})
            return None

        sandbox.intercept(fail_late)
        failed = run_in_process(tmp_path / "1", config)
        assert failed.returncode != 0
        assert calls["n"]
        assert "employments_read" not in failed.state.get("trackjobchanges", {})
        sandbox.intercepts.clear()
        sandbox.clear_log()
        resumed = run_in_process(tmp_path / "2", config, state=failed.state)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        group = next(iter(sandbox.trackjobchanges.connections))
        state = resumed.state["trackjobchanges"]["employments_read"]
        assert list(state) == [""]  # the default group, read whole now
        expected = trackjobchanges_records(sandbox.trackjobchanges, None)
        ended = warehouse(failed, resumed)
        assert ended["employments"] == by_key(expected["employments"], "id")
        assert len(sandbox.trackjobchanges.connections[group]) > 10
