"""Bindbee ats_jobs against the emulator: several connectors, incremental, secrets kept, cursors checked."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from jobsources_sandbox.http import Answer
from tests.conftest import FAST
from tests.expected import bindbee_records, by_key, instant, latest
from tests.helpers import assert_no_duplicates, discover_in_process, run_in_process

#: bindbee_lookback_minutes' default: modified_after is asked this long before the bookmark.
LOOKBACK = timedelta(minutes=60)


@pytest.fixture
def config(sandbox) -> dict:
    return {**sandbox.settings("bindbee"), **FAST, "bindbee_page_size": 7}


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def bookmarks(state: dict) -> dict[str, datetime]:
    """Each connector's bookmark, as an instant."""
    return {
        p["context"]["connector"]: instant(p["replication_key_value"])
        for p in state["bookmarks"]["ats_jobs"]["partitions"]
    }


def test_full_sync_equals_the_emulator_for_every_connector(tmp_path, sandbox, config):
    config.update(bindbee_include_raw_data=True, bindbee_include_custom_fields=True)
    run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr
    got = run.records["ats_jobs"]
    assert_no_duplicates(got, "connector", "id")
    expected = bindbee_records(sandbox.bindbee, raw_data=True, custom_fields=True)
    assert by_key(got, "connector", "id") == by_key(expected, "connector", "id")
    assert {r["connector"] for r in got} == {"greenhouse", "lever", "workday"}
    # Every connector paged through (20 jobs at 7 a page: 3 pages), with the options asked for.
    for token in sandbox.bindbee.tokens.values():
        asked = [r for r in sandbox.requests_to("bindbee") if r.headers["x-connector-token"] == token]
        assert len(asked) == 3
        assert all(r.query["include_raw_data"] == "true" and r.query["include_custom_fields"] == "true" for r in asked)
        assert all(r.query["page_size"] == "7" for r in asked)
    assert bookmarks(run.state) == {
        name: latest(j["modified_at"] for j in jobs) for name, jobs in sandbox.bindbee.jobs.items()
    }


def test_options_off_means_no_raw_data_or_custom_fields(tmp_path, sandbox, config):
    run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr
    assert by_key(run.records["ats_jobs"], "connector", "id") == by_key(
        bindbee_records(sandbox.bindbee), "connector", "id"
    )
    assert all("include_raw_data" not in r.query for r in sandbox.requests_to("bindbee"))


def test_second_run_brings_exactly_the_changes(tmp_path, sandbox, config):
    first = run_in_process(tmp_path / "1", config)
    assert first.returncode == 0, first.stderr
    marks = bookmarks(first.state)

    later = iso(datetime.now(UTC) - timedelta(minutes=5))
    changed = sandbox.bindbee.jobs["lever"][3]
    changed.update(modified_at=later, name="RENAMED")
    template = dict(sandbox.bindbee.jobs["workday"][0])
    added = {**template, "id": "ffffffff-0000-4000-8000-000000000001", "modified_at": later}
    sandbox.bindbee.jobs["workday"].append(added)
    # A job modified exactly at greenhouse's bookmark, after the first run read it.
    at_bookmark = {
        **template,
        "id": "ffffffff-0000-4000-8000-000000000002",
        "modified_at": marks["greenhouse"].isoformat(),
    }  # the same instant, another form
    sandbox.bindbee.jobs["greenhouse"].append(at_bookmark)
    sandbox.clear_log()

    second = run_in_process(tmp_path / "2", config, state=first.state)
    assert second.returncode == 0, second.stderr
    got = {(r["connector"], r["id"]): r for r in second.records["ats_jobs"]}
    assert ("lever", changed["id"]) in got
    assert got[("lever", changed["id"])]["name"] == "RENAMED"
    assert ("workday", added["id"]) in got
    assert ("greenhouse", at_bookmark["id"]) in got  # not lost
    # Nothing else but records within the lookback (bindbee_lookback_minutes, 60) of the old bookmarks.
    for (connector, job_id), record in got.items():
        if job_id not in (changed["id"], added["id"], at_bookmark["id"]):
            assert marks[connector] - LOOKBACK <= instant(record["modified_at"]) <= marks[connector], (
                connector,
                job_id,
            )
    asked = {r.headers["x-connector-token"]: r.query["modified_after"] for r in sandbox.requests_to("bindbee")}
    for name, token in sandbox.bindbee.tokens.items():
        assert asked[token] == iso(marks[name] - LOOKBACK - timedelta(milliseconds=1))
    assert bookmarks(second.state) == {
        "greenhouse": marks["greenhouse"],
        "lever": instant(later),
        "workday": instant(later),
    }


def test_a_row_the_api_returns_is_emitted_even_if_modified_before_the_bookmark(tmp_path, sandbox, config):
    """modified_after filters on when Bindbee synced a job, not on its modified_at: a job synced
    again without a change comes back with an old modified_at, and the tap emits it."""
    first = run_in_process(tmp_path / "1", config)
    assert first.returncode == 0, first.stderr
    marks = bookmarks(first.state)
    old = min(sandbox.bindbee.jobs["lever"], key=lambda j: instant(j["modified_at"]))
    assert instant(old["modified_at"]) < marks["lever"]
    sandbox.bindbee.resync("lever", old["id"], datetime.now(UTC))

    second = run_in_process(tmp_path / "2", config, state=first.state)
    assert second.returncode == 0, second.stderr
    assert ("lever", old["id"]) in {(r["connector"], r["id"]) for r in second.records["ats_jobs"]}
    assert bookmarks(second.state) == marks  # emitted, and the bookmark did not move back


def test_nothing_changed_costs_one_request_per_connector(tmp_path, sandbox, config):
    first = run_in_process(tmp_path / "1", config)
    sandbox.clear_log()
    second = run_in_process(tmp_path / "2", config, state=first.state)
    assert second.returncode == 0, second.stderr
    assert len(sandbox.requests_to("bindbee")) == 3
    assert bookmarks(second.state) == bookmarks(first.state)


def test_first_run_starts_at_start_date(tmp_path, sandbox, config):
    config["start_date"] = "2026-06-01T00:00:00Z"
    run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr
    assert {r.query["modified_after"] for r in sandbox.requests_to("bindbee")} == {"2026-05-31T22:59:59.999Z"}
    expected = {
        (c, j["id"])
        for c, jobs in sandbox.bindbee.jobs.items()
        for j in jobs
        if instant(j["modified_at"]) >= datetime(2026, 6, 1, tzinfo=UTC)
    }
    assert {(r["connector"], r["id"]) for r in run.records["ats_jobs"]} == expected


def test_no_token_in_output_logs_or_state_even_at_debug(tmp_path, sandbox, config):
    sandbox.faults.inject("503", provider="bindbee")
    sandbox.faults.inject("reset", provider="bindbee")
    run = run_in_process(tmp_path, config, env={"TAP_JOBSOURCES_LOGLEVEL": "DEBUG"})
    assert run.returncode == 0, run.stderr
    assert "DEBUG" in run.stderr  # the level really was DEBUG
    secrets = [sandbox.bindbee.api_key, *sandbox.bindbee.tokens.values()]
    for secret in secrets:
        assert secret not in run.stdout
        assert secret not in run.stderr
        assert secret not in json.dumps(run.state)
    assert len(run.records["ats_jobs"]) == 60


def test_cursor_cycle_is_caught(tmp_path, sandbox, config):
    lever = sandbox.bindbee.tokens["lever"]
    cycle = {None: "A", "A": "B", "B": "A"}

    def cycling(request):
        if request.provider == "bindbee" and request.headers.get("x-connector-token") == lever:
            item = dict(sandbox.bindbee.jobs["lever"][0])
            return Answer(200, {"cursor": cycle[request.query.get("cursor")], "page_size": 1, "items": [item]})
        return None

    sandbox.intercept(cycling)
    run = run_in_process(tmp_path, config)
    assert run.returncode != 0
    assert "Bindbee GET /bindbee/api/ats/v1/jobs (stream ats_jobs, connector " in run.stderr
    assert "the API sent a page token it had already sent" in run.stderr
    assert len([r for r in sandbox.requests_to("bindbee") if r.headers["x-connector-token"] == lever]) == 3
    assert lever not in run.stderr


@pytest.mark.parametrize(("status", "what"), [(401, "API key"), (403, "connector token")])
def test_auth_errors_name_bindbee_and_the_connector(tmp_path, sandbox, config, status, what):
    if status == 401:
        config["bindbee_api_key"] = "wrong-api-key-123"
    else:
        config["bindbee_connectors"][1]["token"] = "bbct_0000ffff0000ffff0000"  # random-looking, as real ones
    run = run_in_process(tmp_path, config)
    assert run.returncode != 0
    connector = "greenhouse" if status == 401 else "lever"
    assert f"Bindbee rejected the {what} ({status}) for connector '{connector}'" in run.stderr
    assert "wrong-" not in run.stderr


def test_422_stops_with_the_apis_message(tmp_path, sandbox, config):
    sandbox.intercept(
        lambda r: (
            Answer(422, {"detail": [{"loc": ["query", "modified_after"], "msg": "bad date"}]})
            if r.provider == "bindbee"
            else None
        )
    )
    run = run_in_process(tmp_path, config)
    assert run.returncode != 0
    assert "Bindbee refused the request for connector 'greenhouse'" in run.stderr
    assert "query.modified_after: bad date" in run.stderr
    assert len(sandbox.requests_to("bindbee")) == 1  # not retried


@pytest.mark.parametrize("kind", ["429", "500", "truncated", "reset"])
def test_transient_failures_go_through_the_shared_retries(tmp_path, sandbox, config, kind):
    sandbox.faults.inject(kind, provider="bindbee", times=2)
    run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr
    assert len(run.records["ats_jobs"]) == 60


def test_with_flattening_on_the_schema_and_the_records_agree(tmp_path, sandbox, config):
    """custom_fields and raw_data have no fixed fields: flattened, they go as JSON text, in the
    SCHEMA and in the records alike (they vanished from the SCHEMA while records carried them)."""
    from tests.helpers import assert_records_match_schemas

    config.update(
        bindbee_include_custom_fields=True,
        bindbee_include_raw_data=True,
        flattening_enabled=True,
        flattening_max_depth=3,
    )
    run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr[-2000:]
    schema = next(m["schema"] for m in run.messages if m["type"] == "SCHEMA")
    for record in run.records["ats_jobs"]:
        assert set(record) <= set(schema["properties"]), set(record) - set(schema["properties"])
    assert json.loads(run.records["ats_jobs"][0]["custom_fields"])
    assert_records_match_schemas(run)


def test_read_whole_by_the_catalog_it_asks_no_modified_after_and_may_retire_deleted_jobs(tmp_path, sandbox, config):
    """The weekly full DAG: the catalog's replication method FULL_TABLE (Meltano: the extractor's
    `_metadata`) reads every job, whatever the bookmarks, and sends ACTIVATE_VERSION, so a job deleted
    at the source is retired."""
    config["emit_activate_version_messages"] = True
    config["retire_after_missed_reads"] = 1
    first = run_in_process(tmp_path / "1", config)
    assert first.returncode == 0, first.stderr
    assert "ats_jobs" not in {m["stream"] for m in first.messages if m["type"] == "ACTIVATE_VERSION"}
    deleted = sandbox.bindbee.jobs["lever"].pop(0)
    catalog = discover_in_process(tmp_path / "d", config)
    entry = next(s for s in catalog["streams"] if s["tap_stream_id"] == "ats_jobs")
    entry["replication_method"] = "FULL_TABLE"
    next(m for m in entry["metadata"] if m["breadcrumb"] == [])["metadata"]["replication-method"] = "FULL_TABLE"
    sandbox.clear_log()
    whole = run_in_process(tmp_path / "2", config, catalog=catalog, state=first.state)
    assert whole.returncode == 0, whole.stderr
    assert all("modified_after" not in r.query for r in sandbox.requests_to("bindbee"))
    got = {(r["connector"], r["id"]) for r in whole.records["ats_jobs"]}
    assert got == {(c, j["id"]) for c, jobs in sandbox.bindbee.jobs.items() for j in jobs}
    assert ("lever", deleted["id"]) not in got
    activations = [m for m in whole.messages if m["type"] == "ACTIVATE_VERSION" and m["stream"] == "ats_jobs"]
    assert len(activations) == 1
    assert all(
        m.get("version") == activations[0]["version"]
        for m in whole.messages
        if m.get("stream") == "ats_jobs" and m["type"] == "RECORD"
    )
