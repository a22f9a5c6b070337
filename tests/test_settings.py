"""Configuration: every mistake stops the tap before its first request, naming the setting."""

from __future__ import annotations

import json

import pytest

from tests.helpers import discover_in_process, run_in_process, streams

BAD_CONFIGS = {
    "email without token": ({"getro_api_token": None}, ["getro_api_token"]),
    "token without email": ({"getro_email": None}, ["getro_email"]),
    "no provider at all": ({"getro_email": None, "getro_api_token": None}, ["No provider is configured"]),
    "page size 0": ({"getro_page_size": 0}, ["getro_page_size"]),
    "page size 101": ({"getro_page_size": 101}, ["getro_page_size"]),
    "url without scheme": ({"getro_api_url": "api.getro.com/v2"}, ["getro_api_url"]),
    "url with a bad port": ({"getro_api_url": "http://127.0.0.1:99999/v2"}, ["getro_api_url"]),
    "ceiling of zero": ({"getro_requests_per_minute": 0}, ["getro_requests_per_minute"]),
    "bindbee key without connectors": ({"bindbee_api_key": "bb-key-123456"}, ["bindbee_connectors"]),
    "bindbee page size 200": (
        {"bindbee_api_key": "k", "bindbee_connectors": [{"name": "a", "token": "t"}], "bindbee_page_size": 200},
        ["bindbee_page_size"],
    ),
    "connector without token": (
        {"bindbee_api_key": "k", "bindbee_connectors": [{"name": "a"}]},
        ["bindbee_connectors"],
    ),
    "duplicate connector names": (
        {"bindbee_api_key": "k", "bindbee_connectors": [{"name": "a", "token": "t1"}, {"name": "a", "token": "t2"}]},
        ["bindbee_connectors names must be unique"],
    ),
    "one connector under two names": (
        {
            "bindbee_api_key": "k",
            "bindbee_connectors": [{"name": "a", "token": "tok-1234"}, {"name": "b", "token": "tok-1234"}],
        },
        ["bindbee_connectors[1] has the token of bindbee_connectors[0]"],
    ),
    "url with a query": ({"getro_api_url": "http://127.0.0.1:9/v2?tenant=1"}, ["getro_api_url has a query"]),
    "url with a fragment": ({"getro_api_url": "http://127.0.0.1:9/v2#top"}, ["getro_api_url has a query"]),
    "trackjobchanges url malformed": (
        {"trackjobchanges_api_key": "k", "trackjobchanges_api_url": "ftp://x"},
        ["trackjobchanges_api_url"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
@pytest.mark.parametrize("mode", ["sync", "discover"])
def test_bad_config_stops_before_any_request(tmp_path, sandbox, getro_config, case, mode):
    changes, expected = BAD_CONFIGS[case]
    config = {k: v for k, v in {**getro_config, **changes}.items() if v is not None}
    run = run_in_process(tmp_path, config, extra_args=["--discover"] if mode == "discover" else [])
    assert run.returncode != 0
    for text in expected:
        assert text in run.stderr, run.stderr[-2000:]
    assert sandbox.log == []
    assert not run.messages


def test_about_needs_no_config(tmp_path):
    out = run_in_process(tmp_path, None, extra_args=["--about", "--format=json"])
    assert out.returncode == 0, out.stderr
    about = json.loads(out.stdout)
    settings = about["settings"]["properties"]
    for name in ("getro_api_token", "bindbee_api_key", "trackjobchanges_api_key"):
        assert settings[name].get("secret") is True, name
    token = settings["bindbee_connectors"]["items"]["properties"]["token"]
    assert token.get("secret") is True


@pytest.mark.parametrize(
    "providers", [("getro",), ("bindbee",), ("trackjobchanges",), ("getro", "bindbee", "trackjobchanges")]
)
def test_only_enabled_providers_are_discovered(tmp_path, sandbox, providers):
    catalog = discover_in_process(tmp_path, sandbox.settings(*providers))
    assert {s["tap_stream_id"] for s in catalog["streams"]} == streams(*providers)


@pytest.mark.parametrize("providers", [("getro",), ("getro", "bindbee", "trackjobchanges")])
def test_discovery_asks_no_api(tmp_path, sandbox, providers):
    discover_in_process(tmp_path, sandbox.settings(*providers))
    assert sandbox.log == []


def test_discovery_says_which_streams_a_catalog_selects_by_default(tmp_path, sandbox):
    """Those that cost a request per item (job_details, company_details) are off; the rest on."""
    catalog = discover_in_process(tmp_path, sandbox.settings())
    roots = {s["tap_stream_id"]: next(m for m in s["metadata"] if m["breadcrumb"] == []) for s in catalog["streams"]}
    shown = {name: root["metadata"].get("selected-by-default") for name, root in roots.items()}
    assert shown == {name: name in streams(default=True) for name in streams()}


def test_schema_only_sends_every_selected_schema_and_nothing_else(tmp_path, sandbox):
    """What the DAG's create_tables runs: the target creates each table once, from SCHEMA alone,
    children included (the SDK sends a child's SCHEMA only once its parent has records)."""
    from tests.helpers import select

    config = {**sandbox.settings(), "schema_only": True}
    catalog = select(discover_in_process(tmp_path / "d", config), {"job_details": True, "talent": False})
    run = run_in_process(tmp_path, config, catalog=catalog, state={"bookmarks": {}})
    assert run.returncode == 0, run.stderr[-2000:]
    assert [m["type"] for m in run.messages] == ["SCHEMA"] * len(run.messages)  # no RECORD, no STATE
    expected = (streams(default=True) | {"job_details"}) - {"talent"}
    assert sorted(m["stream"] for m in run.messages) == sorted(expected)
    assert sandbox.log == []


@pytest.mark.parametrize("name", ["start_date", "getro_min_hours_between_syncs", "user_agent", "request_timeout"])
def test_an_empty_value_is_the_setting_unset(tmp_path, sandbox, getro_config, name):
    """An environment variable set to "" (TAP_JOBSOURCES_START_DATE=) means no value, as Meltano's
    own settings do: the default applies (start_date: the full history)."""
    run = run_in_process(tmp_path, {**getro_config, name: ""})
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.records["jobs"]
