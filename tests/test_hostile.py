"""Hostile servers and inputs: no secret in any form, no silent loss, no false success."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import UTC, datetime

import pytest

from jobsources_sandbox.http import Answer
from tests.conftest import FAST
from tests.helpers import TAP, default_records, discover_in_process, only, run_in_process

SECRET_SETTINGS = ("getro_api_token", "bindbee_api_key", "trackjobchanges_api_key")


def secrets_of(config: dict) -> list[str]:
    values = [config[k] for k in SECRET_SETTINGS if k in config]
    return values + [c["token"] for c in config.get("bindbee_connectors", [])]


def assert_no_piece_of(secrets: list[str], *texts: str, size: int = 8) -> None:
    """No run of ``size`` characters of any secret (stripped) appears in any text."""
    for secret in secrets:
        secret = secret.strip()
        for i in range(len(secret) - size + 1):
            piece = secret[i : i + size]
            for text in texts:
                assert piece not in text, f"a piece of a secret leaked: {piece!r}"


@pytest.fixture
def config(sandbox) -> dict:
    return {**sandbox.settings(), **FAST, "retry_max_attempts": 2}


# 2. Secrets in every form -------------------------------------------------------------


def _with_line_break(config: dict, setting: str) -> dict:
    config = json.loads(json.dumps(config))
    if setting == "connector token":
        config["bindbee_connectors"][0]["token"] += "\n"
    else:
        config[setting] = config[setting] + "\n"
    return config


@pytest.mark.parametrize("setting", [*SECRET_SETTINGS, "connector token"])
def test_a_secret_with_a_line_break_is_refused_before_any_request_and_never_shown(tmp_path, sandbox, config, setting):
    bad = _with_line_break(config, setting)
    run = run_in_process(tmp_path, bad, env={"TAP_JOBSOURCES_LOGLEVEL": "DEBUG"})
    assert run.returncode != 0
    name = "the token of bindbee_connectors[0]" if setting == "connector token" else setting
    assert f"{name} has white space or a line break in it" in run.stderr
    assert sandbox.log == []
    assert_no_piece_of(secrets_of(bad), run.stdout, run.stderr)


def echo_headers(request) -> Answer:
    """A server that quotes the request back, headers first, padded so that an excerpt
    cut lands inside the credentials."""
    return Answer(400, {"error": "bad request", "you_sent": request.headers, "padding": "x" * 40})


@pytest.mark.parametrize("provider", ["getro", "bindbee", "trackjobchanges"])
@pytest.mark.parametrize("cut", range(0, 60, 7))
def test_an_error_body_that_echoes_the_headers_leaks_no_piece_of_a_secret(tmp_path, sandbox, provider, cut):
    config = {**sandbox.settings(provider), **FAST, "retry_max_attempts": 1}

    def hostile(request):
        if request.provider != provider:
            return None
        # Shift the credentials along the body so that the 300-character excerpt ends
        # inside them for some value of ``cut``.
        answer = echo_headers(request)
        answer.body = {"pad": "p" * (250 - 4 * cut), **answer.body}
        return answer

    sandbox.intercept(hostile)
    run = run_in_process(tmp_path, config, env={"TAP_JOBSOURCES_LOGLEVEL": "DEBUG"})
    assert run.returncode != 0
    assert "400" in run.stderr
    assert_no_piece_of(secrets_of(config), run.stdout, run.stderr)


def test_a_server_that_echoes_credentials_into_records_gets_them_masked(tmp_path, sandbox, config):
    config = {**sandbox.settings("trackjobchanges"), **FAST}
    key = config["trackjobchanges_api_key"]
    first = sandbox.trackjobchanges.connections["grp-default"][0]
    first["full_name"] = f"echo {key}"
    first["headline"] = json.dumps({"key": key})[:-6]  # a piece of it too
    run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr
    assert_no_piece_of([key], run.stdout, run.stderr)
    assert "echoed a credential" in run.stderr


# 3. No silent loss ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [[{"name": "Design"}, {"name": "IT"}], [1, 2], {"items": [{"name": "IT"}]}],
    ids=["objects", "numbers", "envelope-of-objects"],
)
def test_a_reference_list_in_another_shape_fails_the_run_and_retires_nothing(tmp_path, sandbox, body):
    config = {
        **sandbox.settings("getro"),
        **FAST,
        "retry_max_attempts": 2,
        "emit_activate_version_messages": True,
        "retire_after_missed_reads": 1,
    }
    sandbox.intercept(lambda r: Answer(200, body) if r.path == "/job_functions" else None)
    run = run_in_process(tmp_path, config)
    assert run.returncode != 0
    assert "Getro answered GET /getro/v2/job_functions without a list of names" in run.stderr
    assert "still failing after 2 attempts" in run.stderr
    assert len(sandbox.requests_to("getro", "/job_functions")) == 2
    assert not run.records.get("job_functions")
    assert not [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"]


# 4. Keys are sacred -----------------------------------------------------------------------


def _bad_keys(sandbox) -> None:
    jobs = sandbox.getro.jobs[102]
    jobs[0]["id"] = "abc"
    jobs[1]["id"] = "abc"
    del jobs[2]["id"]
    jobs[3]["id"] = {"x": 1}  # an object for an id: no key, like the others (it cannot even be counted)


def test_a_record_with_an_invalid_key_stops_the_run_by_default(tmp_path, sandbox):
    config = {**sandbox.settings("getro"), **FAST}
    _bad_keys(sandbox)
    run = run_in_process(tmp_path, config)
    assert run.returncode != 0
    assert (
        "Getro sent a jobs record [network_id=102] whose primary key field id is 'abc', which its schema does not allow"
    ) in run.stderr
    assert all(r.get("id") is not None for r in run.records["jobs"])
    assert run.state  # a final STATE to resume from


def test_skip_loads_the_rest_logs_each_and_ends_with_an_error(tmp_path, sandbox):
    config = {
        **sandbox.settings("getro"),
        **FAST,
        "on_invalid_primary_key": "skip",
        "emit_activate_version_messages": True,
        "retire_after_missed_reads": 1,
    }
    _bad_keys(sandbox)
    run = run_in_process(tmp_path, config)
    assert run.returncode == 1
    jobs = run.listed["jobs"]
    assert all(isinstance(r["id"], int) for r in jobs)
    assert len(jobs) == sum(len(v) for v in sandbox.getro.jobs.values()) - 4
    errors = [line for line in run.stderr.splitlines() if "| ERROR" in line and ": skipped (" in line]
    assert len(errors) == 4, errors
    assert any("is missing" in line for line in errors)
    assert any("id is {'x': 1}" in line for line in errors)
    assert "Records with an invalid primary key were skipped (4 in jobs)" in run.stderr
    assert not [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"]


# 5. Bodies any JSON reader accepts ----------------------------------------------------------


def test_lone_surrogates_and_nul_are_read_and_replaced(tmp_path, sandbox):
    config = {**sandbox.settings("getro"), **FAST}
    jobs = sandbox.getro.jobs[101]
    jobs[0]["title"] = "Engineer \ud83d"
    jobs[1]["title"] = "Nul\x00 here"
    jobs[2]["title"] = "Fine \U0001f600"
    jobs[3]["locations"] = ["\udc00 Remote"]
    run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr
    titles = {r["id"]: r["title"] for r in run.records["jobs"] if r["network_id"] == 101}
    assert titles[jobs[0]["id"]] == "Engineer \ufffd"
    assert titles[jobs[1]["id"]] == "Nul\ufffd here"
    assert titles[jobs[2]["id"]] == "Fine \U0001f600"
    located = next(r for r in run.records["jobs"] if r["id"] == jobs[3]["id"])
    assert located["locations"] == ["\ufffd Remote"]
    warnings = [line for line in run.stderr.splitlines() if "cannot store" in line]
    assert len(warnings) == 2, warnings  # one per field: title, locations
    assert "field title" in warnings[0] or "field title" in warnings[1]


# 6. Honest exits ---------------------------------------------------------------------------


def _start(tmp_path, config: dict) -> subprocess.Popen:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "config.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_JOBSOURCES_")}
    return subprocess.Popen(
        [*TAP, "--config", str(tmp_path / "config.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.e2e  # a signal to a process
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_ends_the_run_promptly_with_a_final_state_and_a_failure_code(tmp_path, sandbox, sig, code):
    config = {**sandbox.settings("getro"), **FAST, "getro_requests_per_minute": 120}  # 0.5 s a request
    proc = _start(tmp_path, config)
    first = proc.stdout.readline()
    assert first.startswith('{"type"')
    time.sleep(1.2)
    sent = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 5
    assert proc.returncode == code, err[-2000:]
    messages = [json.loads(line) for line in [first, *out.splitlines()] if line.startswith('{"type"')]
    assert messages[-1]["type"] == "STATE"
    assert "Interrupted by" in err
    assert "Traceback" not in err


@pytest.mark.e2e  # a process whose stdout the target closed
def test_a_closed_stdout_ends_the_run_at_once_with_one_clear_line(tmp_path, sandbox):
    config = {**sandbox.settings("getro"), **FAST, "getro_requests_per_minute": 600}
    proc = _start(tmp_path, config)
    proc.stdout.readline()
    proc.stdout.close()  # the target died
    proc.wait(timeout=30)
    err = proc.stderr.read()
    assert proc.returncode == 141
    assert "The target stopped reading" in err
    assert "Traceback" not in err
    assert "Exception ignored" not in err
    assert "BrokenPipeError" not in err
    total = sum(len(v) for v in sandbox.getro.jobs.values())
    assert len(sandbox.requests_to("getro")) < total  # it did not read on for nothing


# 7. Everything a user can get wrong is checked before the first request ----------------------


@pytest.mark.parametrize("start", ["yesterday", "2026-13-01T00:00:00Z", "20260101"])
def test_a_start_date_that_is_not_a_date_stops_before_any_request(tmp_path, sandbox, start):
    run = run_in_process(tmp_path, {**sandbox.settings("getro"), **FAST, "start_date": start})
    assert run.returncode != 0
    assert "start_date is not a date-time" in run.stderr
    assert sandbox.log == []
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("state", "named"),
    [
        ([1, 2], "The state is a JSON list"),
        ({"bookmarks": []}, "The state's bookmarks are a list"),
        (
            {
                "bookmarks": {
                    "ats_jobs": {
                        "partitions": [
                            {
                                "context": {"connector": "lever"},
                                "replication_key": "modified_at",
                                "replication_key_value": "last week",
                            }
                        ]
                    }
                }
            },
            "bookmarks.ats_jobs.partitions[0].replication_key_value is 'last week', not a date-time",
        ),
        ({"bookmarks": {"removed_jobs": "x"}}, "bookmarks.removed_jobs is a str"),
        (
            {
                "bookmarks": {
                    "ats_jobs": {
                        "partitions": [
                            {"context": {"connector": "lever"}, "progress_markers": {"replication_key_value": 5}}
                        ]
                    }
                }
            },
            "progress_markers.replication_key_value is '5'",
        ),
        (
            {"bookmarks": {"ats_jobs": {"partitions": [{"replication_key_value": "2026-12-01T00:00:00Z"}]}}},
            "bookmarks.ats_jobs.partitions[0] is not an object with a context object",
        ),
        (
            {
                "bookmarks": {
                    "ats_jobs": {
                        "partitions": [
                            {"context": {"connector": "lever"}, "replication_key_value": "2026-12-01T00:00:00Z"},
                            {"context": {"connector": "lever"}, "replication_key_value": "2020-01-01T00:00:00Z"},
                        ]
                    }
                }
            },
            "bookmarks.ats_jobs.partitions[1] has the context of a partition before it",
        ),
    ],
    ids=[
        "list",
        "bookmarks-list",
        "bookmark-not-date",
        "entry-not-object",
        "marker-not-date",
        "no-context",
        "same-context",
    ],
)
def test_a_state_of_the_wrong_shape_stops_before_any_request(tmp_path, sandbox, config, state, named):
    run = run_in_process(tmp_path, config, state=state)
    assert run.returncode != 0
    assert named in run.stderr, run.stderr[-2000:]
    assert "meltano state clear" in run.stderr
    assert sandbox.log == []
    assert "Traceback" not in run.stderr
    assert not run.states  # the bad value is not written back


def test_an_unknown_setting_is_warned_about_with_the_closest_name(tmp_path, sandbox):
    config = {**sandbox.settings("trackjobchanges"), **FAST, "getro_netwrok_ids": [101]}
    run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr
    assert "Unknown setting 'getro_netwrok_ids' is ignored. Did you mean getro_network_ids?" in run.stderr


def test_unknown_streams_in_the_catalog_are_warned_about(tmp_path, sandbox):
    config = {**sandbox.settings("trackjobchanges"), **FAST}
    full = discover_in_process(tmp_path / "all", sandbox.settings())
    run = run_in_process(tmp_path / "run", config, catalog=only(full, {"connections", "jobs"}))
    assert run.returncode == 0, run.stderr
    line = next(line for line in run.stderr.splitlines() if "The catalog names streams" in line)
    assert "jobs" in line
    assert "connections" not in line
    assert run.records["connections"]


def test_duplicate_network_ids_are_read_once(tmp_path, sandbox):
    config = {**sandbox.settings("getro"), **FAST, "getro_network_ids": [101, 101, 103]}
    run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr
    assert sorted(r["id"] for r in run.records["networks"]) == [101, 103]
    assert len([r for r in sandbox.requests_to("getro") if r.path == "/networks/101/jobs"]) == 1
    assert "getro_network_ids lists some networks more than once" in run.stderr


@pytest.mark.parametrize("value", ["101,103", "101, 103", "[101, 103]"])
def test_a_comma_separated_list_in_the_environment_is_accepted(tmp_path, sandbox, value):
    settings = sandbox.settings("getro")
    env = {f"TAP_JOBSOURCES_{k.upper()}": str(v) for k, v in {**settings, **FAST}.items()}
    env["TAP_JOBSOURCES_GETRO_NETWORK_IDS"] = value
    run = run_in_process(tmp_path, {}, env=env, extra_args=["--config", "ENV"])
    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(r["id"] for r in run.records["networks"]) == [101, 103]


def test_connection_test_succeeds_without_error_lines(tmp_path, sandbox, config):
    run = run_in_process(tmp_path, config, extra_args=["--test"])
    assert run.returncode == 0, run.stderr
    assert "| ERROR" not in run.stderr, run.stderr
    assert run.records  # it did read each provider


def test_connection_test_still_fails_on_wrong_credentials(tmp_path, sandbox, config):
    run = run_in_process(tmp_path, {**config, "trackjobchanges_api_key": "wrong-key-0000"}, extra_args=["--test"])
    assert run.returncode != 0
    assert "TrackJobChanges rejected the API key (401)" in run.stderr


@pytest.mark.parametrize("body", [["field required"], [{"loc": ["query", "page_size"], "msg": "too large"}], "nope"])
def test_a_bindbee_422_of_any_shape_is_a_clear_message(tmp_path, sandbox, body):
    config = {**sandbox.settings("bindbee"), **FAST}
    sandbox.intercept(lambda r: Answer(422, body) if r.provider == "bindbee" else None)
    run = run_in_process(tmp_path, config)
    assert run.returncode != 0
    assert "Bindbee refused the request for connector 'greenhouse' on GET /bindbee/api/ats/v1/jobs (422)" in run.stderr
    assert "AttributeError" not in run.stderr


# A state the tap cannot use is ignored, not obeyed -------------------------------------

NOW = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")  # "written" now: not too old to resume
BAD_RESUME = {
    "section-a-list": ([{"page": 2}], "The state's 'resume' section"),
    "streams-a-list": ({"version": 1, "written": NOW, "streams": []}, "The state's 'resume' section"),
    "stream-a-list": ({"version": 1, "written": NOW, "streams": {"jobs": [1]}}, "resume.streams.jobs is a list"),
    "page-a-list": (
        {"version": 1, "written": NOW, "streams": {"jobs": {'{"network_id":101}': {"page": [2], "items": 4}}}},
        "page progress of jobs",
    ),
    "items-text": (
        {"version": 1, "written": NOW, "streams": {"ats_jobs": {'{"connector":"lever"}': {"page": "x", "items": "4"}}}},
        "page progress of ats_jobs",
    ),
    "entry-text": (
        {"version": 1, "written": NOW, "streams": {"connections": {"": "page 3"}}},
        "page progress of connections",
    ),
    "version-text": ({"version": "one", "written": NOW, "streams": {}}, "The state's 'resume' section"),
}


@pytest.mark.parametrize("shape", list(BAD_RESUME))
def test_page_progress_the_tap_cannot_use_is_ignored_with_a_warning(tmp_path, sandbox, shape):
    """Each partition is read from its bookmark, the run is whole, nothing malformed is written back."""
    from tests.expected import bindbee_records, getro_records, trackjobchanges_records

    section, named = BAD_RESUME[shape]
    config = {**sandbox.settings(), **FAST, "getro_page_size": 5}
    state = {"bookmarks": {}, "resume": section, "getro": {"networks_read_whole": ["101"]}}
    run = run_in_process(tmp_path, config, state=state)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert named in run.stderr, run.stderr[-3000:]
    assert "The state's 'getro' section is not of a shape this tap writes: ignored." in run.stderr
    expected = {
        **default_records(getro_records(sandbox.getro)),
        "ats_jobs": bindbee_records(sandbox.bindbee),
        **trackjobchanges_records(sandbox.trackjobchanges, None),
    }
    for stream, records in expected.items():
        assert len(run.records[stream]) == len(records), stream
    for written in run.states:
        text = json.dumps(written)
        assert "[2]" not in text
        assert '"4"' not in text
        assert "page 3" not in text
        assert '"one"' not in text
        assert written.get("getro", {}).get("networks_read_whole", {}) != ["101"]


def test_a_bookmark_of_a_stream_the_tap_does_not_have_is_carried_whatever_its_shape(tmp_path, sandbox, config):
    state = {"bookmarks": {"some_other_stream": 5, "another": {"partitions": "x"}}}
    run = run_in_process(tmp_path, config, state=state)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.state["bookmarks"]["some_other_stream"] == 5
    assert run.state["bookmarks"]["another"] == {"partitions": "x"}


def test_page_progress_with_a_fraction_for_a_count_is_ignored_with_a_warning(tmp_path, sandbox, config):
    """A state file is read with its numbers as Decimal: 7.0 for a count is named, not a crash."""
    written = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    key = '{"connector":"lever"}'
    state = {
        "bookmarks": {},
        "resume": {"version": 1, "written": written, "streams": {"ats_jobs": {key: {"items": 7.0}}}},
    }
    run = run_in_process(tmp_path, config, state=state)
    assert run.returncode == 0, run.stderr[-2000:]
    assert """is not of a shape this tap writes ('items' is "7.0")""" in run.stderr


def test_page_progress_written_in_the_future_is_not_trusted(tmp_path, sandbox, config):
    """A resume section's age decides whether it is used (resume_within_hours): one dated 9999 would
    never expire, and its finished partitions would be skipped forever."""
    done = {'{"connector":"lever"}': {"done": True}, '{"connector":"greenhouse"}': {"done": True}}
    state = {
        "bookmarks": {},
        "resume": {"version": 1, "written": "9999-01-01T00:00:00Z", "streams": {"ats_jobs": done}},
    }
    run = run_in_process(tmp_path, config, state=state)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "later than this run's start" in run.stderr
    assert "finished by the interrupted run" not in run.stderr
    assert {r["connector"] for r in run.records["ats_jobs"]} >= {"lever", "greenhouse"}


@pytest.mark.parametrize("setting", SECRET_SETTINGS)
def test_a_secret_that_is_only_a_line_break_is_refused_not_taken_for_unset(tmp_path, sandbox, config, setting):
    """An empty secret file with its final newline: refused, naming the setting. (Only "" is unset:
    an empty environment variable.)"""
    run = run_in_process(tmp_path, {**config, setting: "\n"})
    assert run.returncode != 0
    assert f"{setting} has white space or a line break in it" in run.stderr
    assert sandbox.log == []
