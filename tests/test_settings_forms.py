"""Settings in every form they arrive in (a JSON config file's Decimal, an environment variable's
text, a float), each read once into its type; what a user or a server can put there that would have
been a traceback is one line naming the setting; state of streams the tap does not have travels once."""

from __future__ import annotations

import json
import math
import typing as t
from decimal import Decimal

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_jobsources import pacing
from tap_jobsources.settings import Settings, config_schema, normalize
from tap_jobsources.tap import TapJobSources

BASE = {
    "getro_email": "me@example.com",
    "getro_api_token": "gtk_0123456789abcdef",
    "bindbee_api_key": "bbk_0123456789abcdef",
    "bindbee_connectors": [{"name": "one", "token": "bbct_0123456789abcdef"}],
    "trackjobchanges_api_key": "tjk_0123456789abcdef",
}

NUMBERS = {
    name: spec
    for name, spec in config_schema()["properties"].items()
    if {"number", "integer"} & set(spec["type"] if isinstance(spec["type"], list) else [spec["type"]])
}


def typed(config: dict) -> Settings:
    return TapJobSources(config={**BASE, **config}, validate_config=True).settings


def read_back(settings: Settings, name: str) -> t.Any:
    """A setting's typed value, from the shared settings or its provider's."""
    for options in settings.providers.values():
        field = name.split("_", 1)[1]
        if name.startswith(type(options).__module__.split(".")[1] + "_") and hasattr(options, field):
            return getattr(options, field)
    attribute = {"max_response_mb": "max_response_bytes"}.get(name, name)
    return getattr(settings, attribute)


@pytest.mark.parametrize("name", sorted(NUMBERS))
@pytest.mark.parametrize("form", ["int", "float", "string", "decimal"])
def test_every_number_setting_is_read_as_a_number_in_every_form(name, form):
    spec = NUMBERS[name]
    integer = "integer" in spec["type"]
    value = 3 if integer else 2.5
    given: t.Any = {
        "int": 3,
        "float": float(value),
        "string": f" {value} ",
        "decimal": Decimal(str(value)),  # how the SDK decodes a number in a JSON config file
    }[form]
    if form == "int" and not integer:
        value = 3
    settings = typed({name: given})
    got = read_back(settings, name)
    if name == "max_response_mb":
        assert got == int(value * 1024 * 1024)
    else:
        assert got == value, (name, got)
        assert isinstance(got, (int, float)), (name, got)
        assert not isinstance(got, Decimal), (name, got)


def test_a_fraction_of_a_request_per_minute_from_a_json_file_paces_without_a_type_error():
    settings = typed({"getro_requests_per_minute": Decimal("29.5")})
    from tap_jobsources.pacing import Pacer

    pacer = Pacer(settings.providers["getro"].requests_per_minute)
    assert math.isclose(pacer.interval, 60 / 29.5 * pacing.MARGIN)


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("request_timeout", 1e308, "request_timeout"),
        ("request_timeout", "nan", "request_timeout is nan, not a finite number"),
        ("retry_backoff_seconds", "inf", "retry_backoff_seconds"),
        ("getro_requests_per_minute", 1e308, "getro_requests_per_minute"),
        ("getro_page_size", 10**30, "getro_page_size"),
        ("max_response_mb", -1, "max_response_mb"),
        ("getro_api_token", "gtk_\u201cquoted\u201d", "getro_api_token has a character an HTTP header cannot carry"),
        ("getro_api_url", "https://user:s3cretpassw0rd@api.example.com:99999/v2", "getro_api_url is not a valid"),
        ("start_date", "0001-01-01T00:30:00+01:00", "start_date is not a date-time"),
    ],
)
def test_what_a_user_can_mistype_is_one_clear_message_naming_the_setting(setting, value, message):
    with pytest.raises(ConfigValidationError) as refused:
        TapJobSources(config={**BASE, setting: value}, validate_config=True)
    text = " ".join(refused.value.errors)
    assert message in text, text
    assert "s3cretpassw0rd" not in text
    assert "quoted" not in text


def test_a_start_date_in_year_one_is_a_bound_bindbee_can_be_asked_from():
    from datetime import UTC, datetime

    from tap_jobsources.bindbee.streams import AtsJobsStream
    from tap_jobsources.reading import Partition

    tap = TapJobSources(config={**BASE, "start_date": "0001-01-01T00:00:00Z"}, validate_config=True)
    stream = t.cast(AtsJobsStream, tap.streams["ats_jobs"])
    part = t.cast(Partition, type("P", (), {"start": datetime(1, 1, 1, tzinfo=UTC), "context": None})())
    assert stream.params(part)["modified_after"] == "0001-01-01T00:00:00.000Z"


def test_a_plain_http_url_to_another_host_gets_a_warning(caplog):
    TapJobSources(config={**BASE, "getro_api_url": "http://api.example.com/v2"}, validate_config=True)
    assert "getro_api_url is a plain http:// URL to api.example.com" in caplog.text
    caplog.clear()
    TapJobSources(config={**BASE, "getro_api_url": "http://127.0.0.1:8765/getro/v2"}, validate_config=True)
    assert "plain http://" not in caplog.text


def test_text_and_decimals_are_normalized_before_validation():
    config: dict[str, t.Any] = {
        "request_timeout": Decimal("2.5"),
        "retry_max_attempts": Decimal("4"),
        "getro_network_ids": "101, 102,101",
        "bindbee_include_raw_data": "true",
    }
    notes = normalize(config)
    assert config == {
        "request_timeout": 2.5,
        "retry_max_attempts": 4,
        "getro_network_ids": [101, 102],
        "bindbee_include_raw_data": True,
    }
    assert notes
    assert "once each" in notes[0]


def test_bookmarks_of_streams_the_tap_does_not_have_are_written_once_in_the_final_state(capsys):
    big = {"partitions": [{"context": {"k": i}, "replication_key_value": "x" * 200} for i in range(2000)]}
    state = {"bookmarks": {"a_stream_of_another_release": big}}
    tap = TapJobSources(config=BASE, state=state, validate_config=True)
    runtime = tap.runtime
    assert "a_stream_of_another_release" not in runtime.state.value["bookmarks"]  # not in every STATE
    runtime.checkpoint.due()
    runtime.state.restore_foreign()
    runtime.checkpoint.final()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"type":"STATE"')]
    assert len(lines) == 2
    assert "a_stream_of_another_release" not in lines[0]["value"]["bookmarks"]
    assert lines[-1]["value"]["bookmarks"]["a_stream_of_another_release"] == big


def test_a_start_date_in_year_one_reads_bindbee_end_to_end(tmp_path, sandbox):
    from tests.conftest import FAST
    from tests.helpers import run_in_process

    config = {**sandbox.settings("bindbee"), **FAST, "start_date": "0001-01-01T00:00:00Z"}
    run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr[-2000:]
    assert {r.query["modified_after"] for r in sandbox.requests_to("bindbee")} == {"0001-01-01T00:00:00.000Z"}
    assert len(run.records["ats_jobs"]) == sum(map(len, sandbox.bindbee.jobs.values()))


def test_a_bindbee_cursor_that_is_an_object_is_one_line_naming_provider_and_endpoint(tmp_path, sandbox):
    from jobsources_sandbox.http import Answer
    from tests.conftest import FAST
    from tests.helpers import run_in_process

    sandbox.intercept(lambda r: Answer(200, {"items": [], "cursor": {"offset": 100}, "page_size": 0}))
    run = run_in_process(tmp_path, {**sandbox.settings("bindbee"), **FAST})
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if "| ERROR" in line]
    assert errors
    assert "Bindbee GET /bindbee/api/ats/v1/jobs (stream ats_jobs, connector " in errors[-1]
    assert "cursor that is a dict, not a token" in errors[-1]
    assert "Traceback" not in run.stderr
