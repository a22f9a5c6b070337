"""Retirement: a row goes only when two complete reads in a row missed it, or when the API says it is gone.

ACTIVATE_VERSION carries the version of the previous complete read of its stream (kept in the state's
``complete_reads``), so a target that retires ``version < v`` keeps every row the last complete read
saw. Getro's removed jobs retire their jobs rows in the same run, as whole jobs records carrying
``_sdc_deleted_at``. The rows themselves are checked in a real warehouse in tests/test_pipelines.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from jobsources_sandbox.http import Answer
from tests.conftest import FAST
from tests.expected import instant
from tests.helpers import discover_in_process, only, run_in_process

DELETES = {"emit_activate_version_messages": True}


def activations(run) -> dict[str, int]:
    return {m["stream"]: m["version"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"}


def record_versions(run, stream: str) -> set:
    return {m.get("version") for m in run.messages if m["type"] == "RECORD" and m["stream"] == stream}


def run_version(run) -> int:
    (version,) = record_versions(run, "connections")
    return version


def test_the_first_complete_read_retires_nothing(tmp_path, sandbox):
    run = run_in_process(tmp_path, {**sandbox.settings("trackjobchanges"), **FAST, **DELETES})
    assert run.returncode == 0, run.stderr
    assert activations(run) == {}


def test_the_first_complete_read_is_counted_in_the_state(tmp_path, sandbox):
    run = run_in_process(tmp_path, {**sandbox.settings("trackjobchanges"), **FAST, **DELETES})
    assert run.state["complete_reads"] == {
        name: [run_version(run)] for name in ("connections", "employments", "account")
    }


def test_the_first_complete_read_says_why_it_sends_no_activate_version(tmp_path, sandbox):
    run = run_in_process(tmp_path, {**sandbox.settings("trackjobchanges"), **FAST, **DELETES})
    assert "connections was read whole: a complete read counted, but no ACTIVATE_VERSION yet" in run.stderr


def test_the_second_complete_read_retires_what_both_missed(tmp_path, sandbox):
    # Every connection's employments: in 'changed' mode a run that reads only some is not complete.
    config = {**sandbox.settings("trackjobchanges"), **FAST, **DELETES, "trackjobchanges_employments": "all"}
    first = run_in_process(tmp_path / "1", config)
    second = run_in_process(tmp_path / "2", config, state=first.state)
    assert second.returncode == 0, second.stderr
    previous = run_version(first)
    assert activations(second) == {"connections": previous, "employments": previous, "account": previous}


def test_the_second_complete_reads_records_carry_its_own_newer_version(tmp_path, sandbox):
    config = {**sandbox.settings("trackjobchanges"), **FAST, **DELETES}
    first = run_in_process(tmp_path / "1", config)
    second = run_in_process(tmp_path / "2", config, state=first.state)
    assert run_version(second) > run_version(first)


def test_only_the_last_complete_read_is_kept(tmp_path, sandbox):
    config = {**sandbox.settings("trackjobchanges"), **FAST, **DELETES}
    first = run_in_process(tmp_path / "1", config)
    second = run_in_process(tmp_path / "2", config, state=first.state)
    assert second.state["complete_reads"]["connections"] == [run_version(second)]


def test_a_failed_run_is_not_a_complete_read(tmp_path, sandbox):
    """Between two complete reads, a run that fails part way counts for nothing: the next complete
    read retires up to the last complete one, not up to the failed one."""
    config = {**sandbox.settings("trackjobchanges"), **FAST, **DELETES, "retry_max_attempts": 2}
    first = run_in_process(tmp_path / "1", config)
    sandbox.faults.inject("503", provider="trackjobchanges", path="^/connections$", times=2)
    failed = run_in_process(tmp_path / "2", config, state=first.state)
    assert failed.returncode != 0
    third = run_in_process(tmp_path / "3", config, state=failed.state)
    assert activations(third)["connections"] == run_version(first)


def test_a_stream_not_read_whole_is_not_a_complete_read(tmp_path, sandbox):
    """Network 102 hides its talent (403): talent is skipped there, so no run counts as talent's
    complete read, and the second run sends it no ACTIVATE_VERSION either."""
    config = {**sandbox.settings("getro"), **FAST, **DELETES}
    first = run_in_process(tmp_path / "1", config)
    assert "talent" not in first.state["complete_reads"]
    second = run_in_process(tmp_path / "2", config, state=first.state)
    assert "talent" not in activations(second)


def test_one_missed_read_retires_with_the_runs_own_version(tmp_path, sandbox):
    config = {**sandbox.settings("trackjobchanges"), **FAST, **DELETES, "retire_after_missed_reads": 1}
    run = run_in_process(tmp_path, config)
    assert activations(run)["connections"] == run_version(run)


def test_three_missed_reads_wait_for_two_complete_reads_before(tmp_path, sandbox):
    config = {**sandbox.settings("trackjobchanges"), **FAST, **DELETES, "retire_after_missed_reads": 3}
    first = run_in_process(tmp_path / "1", config)
    second = run_in_process(tmp_path / "2", config, state=first.state)
    third = run_in_process(tmp_path / "3", config, state=second.state)
    assert [activations(r).get("connections") for r in (first, second, third)] == [None, None, run_version(first)]


def test_a_complete_read_from_a_clock_ahead_is_not_obeyed(tmp_path, sandbox):
    """A version later than the run's would retire every row this run wrote: ignored, with a warning."""
    config = {**sandbox.settings("trackjobchanges"), **FAST, **DELETES}
    state = {"complete_reads": {"connections": [99_999_999_999_999]}}
    run = run_in_process(tmp_path, config, state=state)
    assert run.returncode == 0, run.stderr
    assert "connections" not in activations(run)
    assert "The state's complete_reads.connections is [99999999999999]" in run.stderr


def test_a_complete_reads_section_of_another_shape_is_ignored_with_a_warning(tmp_path, sandbox):
    config = {**sandbox.settings("trackjobchanges"), **FAST, **DELETES}
    run = run_in_process(tmp_path, config, state={"complete_reads": ["connections"]})
    assert run.returncode == 0, run.stderr
    assert "The state's 'complete_reads' section is not of a shape this tap writes: ignored" in run.stderr


def test_a_state_wrapped_as_meltano_stores_it_is_read(tmp_path, sandbox):
    config = {**sandbox.settings("trackjobchanges"), **FAST, **DELETES}
    first = run_in_process(tmp_path / "1", config)
    second = run_in_process(tmp_path / "2", config, state={"singer_state": first.state})
    assert activations(second)["connections"] == run_version(first)


def test_a_wrapped_state_is_said_in_one_line(tmp_path, sandbox):
    config = {**sandbox.settings("trackjobchanges"), **FAST}
    run = run_in_process(tmp_path, config, state={"singer_state": {"bookmarks": {}}})
    assert "The state is wrapped as Meltano stores it ('singer_state')" in run.stderr


# The API's word: Getro's removed jobs ------------------------------------------------------------


def removed_unlisted(sandbox, network: int) -> list[dict]:
    listed = {j["id"] for j in sandbox.getro.jobs[network]}
    return [j for j in sandbox.getro.removed_jobs[network] if j["id"] not in listed]


def test_a_removed_job_is_retired_from_jobs_in_the_same_run(tmp_path, sandbox):
    run = run_in_process(tmp_path, {**sandbox.settings("getro"), **FAST})
    assert run.returncode == 0, run.stderr
    retired = {(r["network_id"], r["id"]) for r in run.retired["jobs"]}
    expected = {(n, j["id"]) for n in sandbox.getro.jobs for j in removed_unlisted(sandbox, n)}
    assert retired == expected


def test_a_retired_job_is_deleted_at_its_deactivation(tmp_path, sandbox):
    run = run_in_process(tmp_path, {**sandbox.settings("getro"), **FAST})
    removed = removed_unlisted(sandbox, 101)[0]
    (record,) = [r for r in run.retired["jobs"] if r["id"] == removed["id"]]
    assert instant(record["_sdc_deleted_at"]) == instant(removed["deactivated_at"])


def test_a_retired_job_carries_the_fields_the_removed_list_gives(tmp_path, sandbox):
    run = run_in_process(tmp_path, {**sandbox.settings("getro"), **FAST})
    removed = removed_unlisted(sandbox, 101)[0]
    (record,) = [r for r in run.retired["jobs"] if r["id"] == removed["id"]]
    assert (record["title"], record["url"]) == (removed["title"], removed["url"])


def test_a_removed_job_the_list_still_shows_is_not_retired(tmp_path, sandbox):
    """Listed and removed at once: it may have come back. Its row stays; if it is gone, the next
    run's removed list (read from the day before the bookmark) names it again."""
    listed = sandbox.getro.jobs[101][0]
    sandbox.getro.removed_jobs[101].append({**sandbox.getro.removed_jobs[101][0], "id": listed["id"]})
    run = run_in_process(tmp_path, {**sandbox.settings("getro"), **FAST})
    assert listed["id"] not in {r["id"] for r in run.retired["jobs"]}


def test_retired_jobs_carry_version_zero_so_the_next_activate_version_removes_them(tmp_path, sandbox):
    run = run_in_process(tmp_path, {**sandbox.settings("getro"), **FAST, **DELETES})
    versions = {
        m.get("version")
        for m in run.messages
        if m["type"] == "RECORD" and m["stream"] == "jobs" and "_sdc_deleted_at" in m["record"]
    }
    assert versions == {0}


def test_without_removed_jobs_nothing_is_retired_from_jobs(tmp_path, sandbox):
    catalog = only(discover_in_process(tmp_path / "d", sandbox.settings("getro")), {"networks", "jobs"})
    run = run_in_process(tmp_path, {**sandbox.settings("getro"), **FAST}, catalog=catalog)
    assert run.returncode == 0, run.stderr
    assert run.retired.get("jobs", []) == []


def hide_jobs_of(sandbox, network: int) -> None:
    path = f"/networks/{network}/jobs"
    sandbox.intercept(lambda r: Answer(403, {"error": "Forbidden"}) if r.path == path else None)


def removed_bookmarks(run) -> dict:
    partitions = run.state["bookmarks"]["removed_jobs"]["partitions"]
    return {p["context"]["network_id"]: p.get("replication_key_value") for p in partitions}


def interrupted_after_listing_jobs_of(network: int) -> dict:
    """The state of a run killed after it had listed the jobs of ``network`` (that partition done)."""
    written = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    done = {json.dumps({"network_id": network}, separators=(",", ":")): {"done": True}}
    return {"bookmarks": {}, "resume": {"version": 1_700_000_000_000, "written": written, "streams": {"jobs": done}}}


def test_removed_jobs_of_a_network_an_interrupted_run_listed_are_not_retired(tmp_path, sandbox):
    state = interrupted_after_listing_jobs_of(101)
    run = run_in_process(tmp_path, {**sandbox.settings("getro"), **FAST}, state=state)
    assert run.returncode == 0, run.stderr
    retired = {r["network_id"] for r in run.retired["jobs"]}
    assert retired == {n for n in sandbox.getro.jobs if n != 101 and removed_unlisted(sandbox, n)}


def test_removed_jobs_not_retired_keep_their_bookmark_for_the_next_run(tmp_path, sandbox):
    """Their bookmark stays, so the next run, which lists the jobs from the start, asks for them again."""
    state = interrupted_after_listing_jobs_of(101)
    run = run_in_process(tmp_path, {**sandbox.settings("getro"), **FAST}, state=state)
    assert removed_bookmarks(run).get(101) is None


def test_removed_jobs_not_retired_are_retired_by_the_next_run(tmp_path, sandbox):
    config = {**sandbox.settings("getro"), **FAST}
    first = run_in_process(tmp_path / "1", config, state=interrupted_after_listing_jobs_of(101))
    second = run_in_process(tmp_path / "2", config, state=first.state)
    assert {r["id"] for r in second.retired["jobs"] if r["network_id"] == 101} == {
        j["id"] for j in removed_unlisted(sandbox, 101)
    }


def test_removed_jobs_of_a_network_whose_jobs_list_is_hidden_are_not_retired(tmp_path, sandbox):
    hide_jobs_of(sandbox, 101)
    run = run_in_process(tmp_path, {**sandbox.settings("getro"), **FAST})
    assert 101 not in {r["network_id"] for r in run.retired["jobs"]}


def test_removed_jobs_of_a_network_whose_jobs_stay_hidden_move_their_bookmark(tmp_path, sandbox):
    """A jobs list hidden (403) may stay hidden: its removed jobs' bookmark moves, not asked whole each run."""
    hide_jobs_of(sandbox, 101)
    run = run_in_process(tmp_path, {**sandbox.settings("getro"), **FAST})
    assert removed_bookmarks(run).get(101) is not None
