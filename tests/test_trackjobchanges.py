"""TrackJobChanges connections and employments against the emulator."""

from __future__ import annotations

import json

import pytest

from jobsources_sandbox import Sandbox
from jobsources_sandbox.http import Answer
from tests.conftest import FAST
from tests.expected import by_key, trackjobchanges_records
from tests.helpers import assert_no_duplicates, run_in_process

GROUPS = ["grp-default", "grp-sales", "grp-alumni"]


@pytest.fixture
def config(sandbox) -> dict:
    return {**sandbox.settings("trackjobchanges"), **FAST}


@pytest.mark.parametrize("groups", [GROUPS, None], ids=["groups", "default-group"])
def test_full_sync_equals_the_emulator(tmp_path, sandbox, config, groups):
    if groups:
        config["trackjobchanges_group_ids"] = groups
    run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr
    expected = trackjobchanges_records(sandbox.trackjobchanges, groups)
    for stream in ("connections", "employments"):
        assert_no_duplicates(run.records[stream], "id")
        assert by_key(run.records[stream], "id") == by_key(expected[stream], "id"), stream
    # Employments were asked for every connection, even those with none.
    asked = {r.path for r in sandbox.requests_to("trackjobchanges") if r.path.endswith("/employments")}
    assert asked == {f"/connections/{c['id']}/employments" for c in expected["connections"]}
    list_requests = [r for r in sandbox.requests_to("trackjobchanges") if r.path == "/connections"]
    if groups:
        assert {r.query["group"] for r in list_requests} == set(groups)
        # Every request of a group's partition (its connections and their employments) names the group;
        # the account's endpoints (GET /account ...) belong to no group.
        grouped = sandbox.requests_to("trackjobchanges", "/connections")
        assert {r.query.get("group") for r in grouped} == set(groups)
    else:
        assert all("group" not in r.query for r in list_requests)


def test_key_travels_in_the_header_only_and_never_reaches_a_log(tmp_path, sandbox, config):
    sandbox.faults.inject("503", provider="trackjobchanges")
    sandbox.faults.inject("reset", provider="trackjobchanges")
    key = sandbox.trackjobchanges.api_key
    run = run_in_process(tmp_path, config, env={"TAP_JOBSOURCES_LOGLEVEL": "DEBUG"})
    assert run.returncode == 0, run.stderr
    logged = sandbox.requests_to("trackjobchanges")
    assert logged
    assert all(r.headers.get("key") == key for r in logged)
    assert not [r.url for r in logged if key in r.url or "key=" in r.url]
    assert key not in run.stderr
    assert key not in run.stdout
    assert "GET /trackjobchanges/api/v1/connections?page=1" in run.stderr  # urllib3's DEBUG lines were there


def test_unreachable_url_error_holds_no_key(tmp_path, config):
    config.update(trackjobchanges_api_url="http://127.0.0.1:9/api/v1", retry_max_attempts=2)
    run = run_in_process(tmp_path, config, env={"TAP_JOBSOURCES_LOGLEVEL": "DEBUG"})
    assert run.returncode != 0
    # Streams go by name: the account (GET /account) is the first request of the run.
    assert "TrackJobChanges GET /api/v1/account (stream account) still failing after 2 attempts" in run.stderr
    assert config["trackjobchanges_api_key"] not in run.stderr


def test_last_page_ends_paging_without_an_extra_request(tmp_path, config):
    with Sandbox() as sb:
        sb.trackjobchanges.per_page = 4  # 8 connections a group: pages 1 and 2, the second says last_page
        config.update(sb.settings("trackjobchanges"))
        run = run_in_process(tmp_path, config)
        assert run.returncode == 0, run.stderr
        assert [r.query["page"] for r in sb.requests_to("trackjobchanges") if r.path == "/connections"] == ["1", "2"]
        for connection in run.records["connections"]:
            pages = [r.query["page"] for r in sb.requests_to("trackjobchanges", f"/connections/{connection['id']}/")]
            count = len(sb.trackjobchanges.employments[connection["id"]])
            assert pages == (["1", "2"] if count > 4 else ["1"])


def test_status_error_in_a_200_stops_the_tap_with_its_message(tmp_path, sandbox, config):
    sandbox.intercept(
        lambda r: (
            Answer(200, {"status": "ERROR", "message": "Your plan does not include API access."})
            if r.path == "/connections"
            else None
        )
    )
    run = run_in_process(tmp_path, config)
    assert run.returncode != 0
    assert (
        "TrackJobChanges answered GET /trackjobchanges/api/v1/connections with status ERROR: "
        "Your plan does not include API access." in run.stderr
    )
    # Nothing after the refused answer (what was read before it, the account, was fine).
    paths = [r.path for r in sandbox.requests_to("trackjobchanges")]
    assert paths[paths.index("/connections") :] == ["/connections"]


def test_401_names_trackjobchanges_and_the_key_setting(tmp_path, sandbox, config):
    config["trackjobchanges_api_key"] = "not-the-right-key-xyz"
    run = run_in_process(tmp_path, config)
    assert run.returncode != 0
    assert "TrackJobChanges rejected the API key (401)" in run.stderr
    assert "Check trackjobchanges_api_key" in run.stderr
    assert "You must provide a valid API key." in run.stderr
    assert "not-the-right-key-xyz" not in run.stderr


def test_state_does_not_grow_with_connections(tmp_path):
    sizes = {}
    for scale in (1, 5):
        with Sandbox(scale=scale) as sb:
            config = {**sb.settings("trackjobchanges"), **FAST, "trackjobchanges_group_ids": GROUPS}
            run = run_in_process(tmp_path / str(scale), config)
            assert run.returncode == 0, run.stderr
            assert len(run.records["connections"]) == 24 * scale
            sizes[scale] = len(json.dumps(run.state))
            assert "partitions" not in run.state["bookmarks"].get("employments", {})
    assert sizes[1] == sizes[5]


def test_a_stream_map_can_call_fake_with_faker_config(tmp_path, sandbox, config):
    """faker_config is advertised: the [faker] extra makes `fake` work in a map expression."""
    config.update(
        faker_config={"seed": 7, "locale": "en_US"},
        stream_maps={"connections": {"first_name": "fake.first_name()"}},
    )
    run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr[-3000:]
    names = [r["first_name"] for r in run.records["connections"]]
    assert names, names
    assert not any(n.startswith("first") for n in names), names  # the emulator's are "first<id>"


def test_connections_in_groups_left_unread_are_warned_about(tmp_path, sandbox, config):
    """The account's connections_count (GET /account, the account stream) against what was read."""
    run = run_in_process(tmp_path / "1", config)
    assert run.returncode == 0, run.stderr
    total = sum(map(len, sandbox.trackjobchanges.connections.values()))
    default = len(next(iter(sandbox.trackjobchanges.connections.values())))
    assert (
        f"TrackJobChanges: the account holds {total} connections; its default group, the one read without "
        f"trackjobchanges_group_ids, holds {default}." in run.stderr
    )
    assert run.records["account"] == [{"email": "sandbox@example.com", "connections_count": total}]
    every = list(sandbox.trackjobchanges.connections)
    run = run_in_process(tmp_path / "2", {**config, "trackjobchanges_group_ids": every})
    assert run.returncode == 0, run.stderr
    assert "the account holds" not in run.stderr
