"""Fast, direct tests of the record shaper and of reading settings given as text."""

from __future__ import annotations

import logging

import pytest

from tap_jobsources.settings import config_errors, env_lists, normalize, unknown_settings
from tap_jobsources.shaping import InvalidKeyError, RecordShaper

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": ["string", "null"]},
        "score": {"type": ["number", "null"]},
        "active": {"type": ["boolean", "null"]},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "owner": {"type": ["object", "null"], "properties": {"age": {"type": ["integer", "null"]}}},
    },
}


@pytest.fixture
def shaper(caplog):
    caplog.set_level(logging.WARNING)
    return RecordShaper("things", SCHEMA, logging.getLogger("shaper-test"), keys=("id",))


def test_values_of_the_right_type_pass_untouched(shaper):
    record = {
        "id": 1,
        "name": "a",
        "score": 1.5,
        "active": True,
        "created_at": "2026-01-01T00:00:00Z",
        "tags": ["x"],
        "owner": {"age": 3},
    }
    assert shaper(dict(record)) == record


@pytest.mark.parametrize(
    ("field", "given", "expected"),
    [
        ("id", "42", 42),
        ("id", 42.0, 42),
        ("name", 7, "7"),
        ("name", True, "true"),
        ("score", "2.5", 2.5),
        ("active", "false", False),
        ("tags", "solo", ["solo"]),
        ("created_at", "last tuesday", None),
        ("created_at", "20260101", None),
        ("active", "maybe", None),
        ("owner", "nobody", None),
    ],
)
def test_wrong_types_are_converted_when_plain_and_nulled_otherwise(shaper, field, given, expected):
    assert shaper({"id": 1, field: given})[field] == expected


def test_nested_fields_are_fitted_and_unknown_top_level_fields_dropped(shaper, caplog):
    out = shaper({"id": 1, "owner": {"age": "9", "extra": 1}, "surprise": {"a": 1}})
    assert out == {"id": 1, "owner": {"age": 9, "extra": 1}}
    assert "field surprise is not in the stream's schema: dropped" in caplog.text


def test_each_kind_of_change_is_logged_once_per_field(shaper, caplog):
    for _ in range(5):
        shaper({"id": 1, "score": "1"})
    assert caplog.text.count("field score came as str: converted") == 1


@pytest.mark.parametrize("record", [{"name": "no id"}, {"id": None}, {"id": "abc"}, {"id": [1]}])
def test_a_key_that_is_missing_null_or_of_another_type_is_refused(shaper, record):
    with pytest.raises(InvalidKeyError) as raised:
        shaper(dict(record))
    assert raised.value.field == "id"
    assert ("missing" in str(raised.value)) == ("id" not in record)


def test_settings_given_as_text_are_read_as_their_type():
    config = {
        "getro_page_size": " 50 ",
        "getro_requests_per_minute": "12.5",
        "bindbee_include_raw_data": "TRUE",
        "getro_network_ids": "101, 102,101",
        "trackjobchanges_group_ids": '["a", "b"]',
        "retry_max_attempts": "many",
    }
    notes = normalize(config)
    assert config["getro_page_size"] == 50
    assert config["getro_requests_per_minute"] == 12.5
    assert config["bindbee_include_raw_data"] is True
    assert config["getro_network_ids"] == [101, 102]
    assert notes
    assert "more than once" in notes[0]
    assert config["trackjobchanges_group_ids"] == ["a", "b"]
    assert config["retry_max_attempts"] == "many"  # left for validation to name


def test_environment_lists_are_rewritten_as_json_for_the_sdk():
    fixed = env_lists(
        {
            "TAP_JOBSOURCES_GETRO_NETWORK_IDS": "101,102",
            "TAP_JOBSOURCES_TRACKJOBCHANGES_GROUP_IDS": '["g"]',
            "OTHER": "1,2",
        },
        "TAP_JOBSOURCES_",
    )
    assert fixed == {"TAP_JOBSOURCES_GETRO_NETWORK_IDS": "[101, 102]"}


def test_unknown_settings_get_the_closest_known_name():
    notes = unknown_settings(
        {"getro_netwrok_ids": [1], "zzz": 1, "getro_page_size": 5}, ["getro_network_ids", "getro_page_size"]
    )
    assert notes == [
        "Unknown setting 'getro_netwrok_ids' is ignored. Did you mean getro_network_ids?",
        "Unknown setting 'zzz' is ignored.",
    ]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"start_date": "soon"}, "start_date is not a date-time"),
        ({"getro_api_token": "tok\n"}, "getro_api_token has white space"),
        ({"getro_api_token": " tok"}, "getro_api_token has white space"),
    ],
)
def test_config_errors_name_the_setting_and_never_a_secret(changes, named):
    config = {"getro_email": "me@example.com", "getro_api_token": "tok", **changes}
    errors = config_errors(config)
    assert any(named in e for e in errors), errors
    assert not any("tok" in e.replace("getro_api_token", "") for e in errors)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2025-07-14T02:40:00-05:00", "2025-07-14T07:40:00Z"),
        ("2025-07-14T09:40:00.250+02:00", "2025-07-14T07:40:00.250Z"),
        ("2025-07-14T07:40:00+00:00", "2025-07-14T07:40:00Z"),
        ("2025-07-14T07:40:00", "2025-07-14T07:40:00Z"),
        ("2025-07-14T07:40:00.123Z", "2025-07-14T07:40:00.123Z"),
    ],
)
def test_every_date_time_leaves_in_utc_with_its_instant(shaper, caplog, given, expected):
    assert shaper({"id": 1, "created_at": given})["created_at"] == expected
    assert not caplog.records  # a normal form, not a fault: nothing to warn about


def test_a_nested_date_time_leaves_in_utc_too(caplog):
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "vouches": {
                "type": ["array", "null"],
                "items": {"type": "object", "properties": {"created_at": {"type": "string", "format": "date-time"}}},
            },
        },
    }
    shaper = RecordShaper("talent", schema, logging.getLogger("shaper-test"), keys=("id",))
    record = shaper({"id": 1, "vouches": [{"created_at": "2025-01-01T01:00:00+01:00"}, {"created_at": "x"}]})
    assert record["vouches"] == [{"created_at": "2025-01-01T00:00:00Z"}, {"created_at": None}]
