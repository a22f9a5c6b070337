"""Getro streams against the emulator: every record, once, and incremental runs that ask only for what changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobsources_sandbox import Sandbox
from tests.expected import by_key, getro_records, instant, latest
from tests.helpers import (
    PRIMARY_KEYS,
    assert_no_duplicates,
    discover_in_process,
    only,
    run_in_process,
    select_all,
    streams,
)

KEYS = {stream: PRIMARY_KEYS[stream] for stream in streams("getro")}


def iso_to_dt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def sandbox():
    with Sandbox(scale=3) as sb:  # 30 jobs and 9 talent a network
        yield sb


@pytest.fixture
def full_catalog(tmp_path, getro_config):
    return select_all(discover_in_process(tmp_path / "discover", getro_config))


def test_full_sync_emits_exactly_the_emulators_data(tmp_path, sandbox, getro_config, full_catalog):
    run = run_in_process(tmp_path, getro_config, catalog=full_catalog)
    assert run.returncode == 0, run.stderr
    expected = getro_records(sandbox.getro)
    for stream, fields in KEYS.items():
        got = run.records[stream]
        assert_no_duplicates(got, *fields)
        assert by_key(got, *fields) == by_key(expected[stream], *fields), stream
        assert len(got) == len(expected[stream]), stream
        assert got, stream
    # Talent of the network that hides it was skipped with a warning, not an error.
    hidden = next(iter(sandbox.getro.hidden_talent))
    assert f"talent of network {hidden}" in run.stderr
    assert not [r for r in run.records["talent"] if r["network_id"] == hidden]


def test_job_details_is_off_by_default(tmp_path, sandbox, getro_config):
    run = run_in_process(tmp_path, getro_config)
    assert run.returncode == 0, run.stderr
    assert "job_details" not in run.records
    assert not [
        r
        for r in sandbox.requests_to("getro")
        if r.path.count("/") == 4 and "/jobs/" in r.path and not r.path.endswith("removed")
    ]


def test_paging_makes_no_wasted_request(tmp_path, sandbox, getro_config):
    # 30 jobs per network at 10 a page: 3 full pages, and meta.total says the third is the last.
    config = {**getro_config, "getro_page_size": 10}
    run = run_in_process(
        tmp_path, config, catalog=only(discover_in_process(tmp_path / "d", config), {"jobs", "talent"})
    )
    assert run.returncode == 0, run.stderr
    assert len(run.records["jobs"]) == 90
    for nid in (101, 102, 103):
        assert [r.query["page"] for r in sandbox.requests_to("getro", f"/networks/{nid}/jobs")] == ["1", "2", "3"]
        assert all(r.query["per_page"] == "10" for r in sandbox.requests_to("getro", f"/networks/{nid}/jobs"))
    # talent (9 a network at scale 3 / page size 10 is one page) stops on meta.next_page = null.
    assert [r.query["page"] for r in sandbox.requests_to("getro", "/networks/101/talent")] == ["1"]


def test_talent_pages_follow_next_page(tmp_path, sandbox, getro_config):
    config = {**getro_config, "getro_page_size": 4}  # 9 talent: pages 1..3, the last holding 1
    run = run_in_process(tmp_path, config, catalog=only(discover_in_process(tmp_path / "d", config), {"talent"}))
    assert run.returncode == 0, run.stderr
    assert [r.query["page"] for r in sandbox.requests_to("getro", "/networks/101/talent")] == ["1", "2", "3"]
    assert len(run.records["talent"]) == 18  # two visible networks


def test_removed_jobs_second_run_asks_from_the_bookmark_date(tmp_path, sandbox, getro_config):
    catalog = only(discover_in_process(tmp_path / "d", getro_config), {"removed_jobs"})
    first = run_in_process(tmp_path / "1", getro_config, catalog=catalog)
    assert first.returncode == 0, first.stderr
    partitions = {p["context"]["network_id"]: p for p in first.state["bookmarks"]["removed_jobs"]["partitions"]}
    for nid, jobs in sandbox.getro.removed_jobs.items():
        assert instant(partitions[nid]["replication_key_value"]) == latest(j["deactivated_at"] for j in jobs)
        assert "progress_markers" not in partitions[nid]

    # A job removed later in the day of the bookmark, and one removed earlier that day.
    nid = 101
    bookmark = iso_to_dt(partitions[nid]["replication_key_value"])
    template = dict(sandbox.getro.removed_jobs[nid][0])
    later = {
        **template,
        "id": 9_000_001,
        "deactivated_at": (bookmark + timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
    }
    earlier = {
        **template,
        "id": 9_000_002,
        "deactivated_at": bookmark.replace(hour=0, minute=0, second=1).isoformat().replace("+00:00", "Z"),
    }
    sandbox.getro.removed_jobs[nid] += [later, earlier]
    sandbox.clear_log()

    second = run_in_process(tmp_path / "2", getro_config, catalog=catalog, state=first.state)
    assert second.returncode == 0, second.stderr
    # Asked from the day before the bookmark's date (the docs give deactivated_from no zone), and every
    # row the API returns is emitted (the target upserts): a row that shows up late is never lost.
    for nid in sandbox.getro.removed_jobs:
        asked = {r.query.get("deactivated_from") for r in sandbox.requests_to("getro", f"/networks/{nid}/jobs/removed")}
        day = iso_to_dt(partitions[nid]["replication_key_value"]).date() - timedelta(days=1)
        assert asked == {day.isoformat()}
    emitted = second.records["removed_jobs"]
    for record in emitted:
        day = iso_to_dt(partitions[record["network_id"]]["replication_key_value"]).date() - timedelta(days=1)
        assert iso_to_dt(record["deactivated_at"]).date() >= day
    assert {9_000_001, 9_000_002} <= {r["id"] for r in emitted}
    new_state = {p["context"]["network_id"]: p for p in second.state["bookmarks"]["removed_jobs"]["partitions"]}
    assert instant(new_state[101]["replication_key_value"]) == instant(later["deactivated_at"])


def test_removed_jobs_first_run_starts_at_start_date(tmp_path, sandbox, getro_config):
    config = {**getro_config, "start_date": "2026-05-01T00:00:00Z"}
    run = run_in_process(tmp_path, config, catalog=only(discover_in_process(tmp_path / "d", config), {"removed_jobs"}))
    assert run.returncode == 0, run.stderr
    assert {r.query.get("deactivated_from") for r in sandbox.requests_to("getro", "/networks/101/jobs/removed")} == {
        "2026-04-30"  # the day before: every row the API returns from it is emitted
    }
    expected = [
        j
        for jobs in sandbox.getro.removed_jobs.values()
        for j in jobs
        if instant(j["deactivated_at"]) >= datetime(2026, 4, 30, tzinfo=UTC)
    ]
    assert sorted(r["id"] for r in run.records["removed_jobs"]) == sorted(j["id"] for j in expected)


def test_job_details_second_run_requests_only_changed_jobs(tmp_path, sandbox, getro_config, full_catalog):
    catalog = only(full_catalog, {"job_details"})  # jobs runs as the parent, unselected
    first = run_in_process(tmp_path / "1", getro_config, catalog=catalog)
    assert first.returncode == 0, first.stderr
    assert "jobs" not in first.records
    # A first run reads every job's detail, with or without a description: all are new.
    every = {(nid, j["id"]) for nid, jobs in sandbox.getro.jobs.items() for j in jobs}
    assert {(r["network_id"], r["id"]) for r in first.records["job_details"]} == every
    state = first.state["bookmarks"]["job_details"]
    assert sorted(p["context"]["network_id"] for p in state["partitions"]) == [101, 102, 103]
    assert all(list(p["context"]) == ["network_id"] for p in state["partitions"])
    for p in state["partitions"]:
        assert set(p) == {"context", "replication_key", "replication_key_value"}

    # Change two descriptions in network 102 and add one new described job in 103.
    now = "2026-11-01T00:00:00.000Z"  # newer than any description, not in the future
    changed = [j for j in sandbox.getro.jobs[102] if j["description_last_updated_at"]][:2]
    for job in changed:
        job["description_last_updated_at"] = now
    added = dict(next(j for j in sandbox.getro.jobs[103] if j["description_last_updated_at"]))
    old_id = added["id"]
    added.update(id=103_999_999, description_last_updated_at=now)
    sandbox.getro.jobs[103].append(added)
    sandbox.getro.descriptions[(103, added["id"])] = sandbox.getro.descriptions[(103, old_id)]
    sandbox.clear_log()

    second = run_in_process(tmp_path / "2", getro_config, catalog=catalog, state=first.state)
    assert second.returncode == 0, second.stderr
    detail_requests = {
        r.path for r in sandbox.requests_to("getro") if r.path.split("/")[-1].isdigit() and "/jobs/" in r.path
    }
    # The cut-off per network is Getro's own newest time the first run saw, less the read's length and a
    # margin (README): the jobs stamped inside that margin are asked again (at-least-once), nothing else.
    since = {int(n): instant(v) for n, v in first.state["getro"]["jobs_since"].items()}
    margin = {
        (nid, j["id"])
        for nid, jobs in sandbox.getro.jobs.items()
        for j in jobs
        if any(j[f] and instant(j[f]) > since[nid] for f in ("created_at", "description_last_updated_at"))
    }
    wanted = {(102, j["id"]) for j in changed} | {(103, 103_999_999)} | margin
    assert len(margin) <= 3 * 3  # a few jobs a network, not the list
    assert detail_requests == {f"/networks/{n}/jobs/{j}" for n, j in wanted}
    assert sorted((r["network_id"], r["id"]) for r in second.records["job_details"]) == sorted(wanted)
    partitions = {p["context"]["network_id"]: p for p in second.state["bookmarks"]["job_details"]["partitions"]}
    assert len(partitions) == 3
    assert instant(partitions[102]["replication_key_value"]) == instant(now)
    unchanged = next(p for p in state["partitions"] if p["context"]["network_id"] == 101)
    assert partitions[101]["replication_key_value"] == unchanged["replication_key_value"]


def test_network_ids_setting_reads_only_those_networks(tmp_path, sandbox, getro_config):
    config = {**getro_config, "getro_network_ids": [103]}
    run = run_in_process(
        tmp_path, config, catalog=only(discover_in_process(tmp_path / "d", config), {"networks", "companies"})
    )
    assert run.returncode == 0, run.stderr
    assert [r["id"] for r in run.records["networks"]] == [103]
    assert run.records["networks"][0]["tagline"] == "Tagline of 103"
    assert {r["network_id"] for r in run.records["companies"]} == {103}
    assert not sandbox.requests_to("getro", "/networks/101")
    assert [r.path for r in sandbox.requests_to("getro", "/networks") if r.path == "/networks"] == []


def test_network_detail_falls_back_to_the_singular_route(tmp_path, getro_config):
    with Sandbox(getro_options={"network_detail_routes": ("/network/{id}",)}) as sb:
        config = {**getro_config, **sb.settings("getro")}
        run = run_in_process(tmp_path, config, catalog=only(discover_in_process(tmp_path / "d", config), {"networks"}))
        assert run.returncode == 0, run.stderr
        assert [r["tagline"] for r in run.records["networks"]] == ["Tagline of 101", "Tagline of 102", "Tagline of 103"]
        assert [r.path for r in sb.requests_to("getro", "/network/")] == [
            "/network/101",
            "/network/102",
            "/network/103",
        ]


def test_removed_jobs_ask_the_utc_date_of_a_start_date_with_an_offset(tmp_path, sandbox, getro_config):
    # 2026-05-01T00:00+02:00 is 2026-04-30T22:00Z: a job removed at 23:00Z that day is after it,
    # so the tap must ask from before 2026-04-30 (the UTC date), not from the offset's own date: it asks
    # from the day before, and emits every row returned.
    config = {**getro_config, "start_date": "2026-05-01T00:00:00+02:00", "getro_network_ids": [101]}
    template = dict(sandbox.getro.removed_jobs[101][0])
    sandbox.getro.removed_jobs[101] = [
        {**template, "id": 7_000_001, "deactivated_at": "2026-04-30T23:00:00Z"},
        {**template, "id": 7_000_002, "deactivated_at": "2026-04-30T21:30:00.000Z"},  # before start_date
        {**template, "id": 7_000_003, "deactivated_at": "2026-05-01T00:30:00+02:00"},  # 22:30Z: after
    ]
    run = run_in_process(tmp_path, config, catalog=only(discover_in_process(tmp_path / "d", config), {"removed_jobs"}))
    assert run.returncode == 0, run.stderr
    assert {r.query["deactivated_from"] for r in sandbox.requests_to("getro", "/networks/101/jobs/removed")} == {
        "2026-04-29"
    }
    assert sorted(r["id"] for r in run.records["removed_jobs"]) == [7_000_001, 7_000_002, 7_000_003]


def test_not_visible_profiles_is_asked_only_when_set(tmp_path, sandbox, getro_config):
    catalog = only(discover_in_process(tmp_path / "d", getro_config), {"talent"})
    run = run_in_process(tmp_path / "1", getro_config, catalog=catalog)
    assert run.returncode == 0, run.stderr
    assert all("not_visible_profiles" not in r.query for r in sandbox.requests_to("getro", "/networks/101/talent"))
    sandbox.clear_log()
    run = run_in_process(tmp_path / "2", {**getro_config, "getro_not_visible_profiles": True}, catalog=catalog)
    assert run.returncode == 0, run.stderr
    asked = sandbox.requests_to("getro", "/networks/101/talent")
    assert asked
    assert all(r.query.get("not_visible_profiles") == "true" for r in asked)


def test_job_details_all_asks_every_jobs_details_again(tmp_path, sandbox, getro_config, full_catalog):
    catalog = only(full_catalog, {"job_details"})
    first = run_in_process(tmp_path / "1", getro_config, catalog=catalog)
    assert first.returncode == 0, first.stderr
    sandbox.clear_log()
    second = run_in_process(
        tmp_path / "2", {**getro_config, "getro_job_details": "all"}, catalog=catalog, state=first.state
    )
    assert second.returncode == 0, second.stderr
    every = {(nid, j["id"]) for nid, jobs in sandbox.getro.jobs.items() for j in jobs}
    assert {(r["network_id"], r["id"]) for r in second.records["job_details"]} == every
