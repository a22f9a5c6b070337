"""Getro company_details (GET /networks/:id/companies/:id): off by default, one request per company,
each company's detail under its network, read whole."""

from __future__ import annotations

import re

import pytest

from jobsources_sandbox.http import Answer
from tests.conftest import FAST
from tests.expected import by_key, getro_records
from tests.helpers import discover_in_process, only, run_in_process

DETAIL = re.compile(r"^/networks/\d+/companies/\d+$")


@pytest.fixture
def catalog(tmp_path, getro_config) -> dict:
    return only(discover_in_process(tmp_path / "d", getro_config), {"networks", "companies", "company_details"})


def detail_requests(sandbox) -> list[str]:
    return [r.path for r in sandbox.requests_to("getro") if DETAIL.match(r.path)]


def test_every_company_detail_comes_once_under_its_network(tmp_path, sandbox, getro_config, catalog):
    run = run_in_process(tmp_path, getro_config, catalog=catalog)
    assert run.returncode == 0, run.stderr
    expected = getro_records(sandbox.getro)["company_details"]
    got = run.records["company_details"]
    assert by_key(got, "network_id", "id") == by_key(expected, "network_id", "id")


def test_a_company_detail_holds_what_the_list_does_not(tmp_path, sandbox, getro_config, catalog):
    run = run_in_process(tmp_path, getro_config, catalog=catalog)
    assert run.returncode == 0, run.stderr
    listed = set().union(*(r.keys() for r in run.records["companies"]))
    detailed = set().union(*(r.keys() for r in run.records["company_details"]))
    assert detailed - listed == {"tagline"}


def test_it_asks_once_per_company(tmp_path, sandbox, getro_config, catalog):
    run = run_in_process(tmp_path, getro_config, catalog=catalog)
    assert run.returncode == 0, run.stderr
    companies = sandbox.getro.companies
    wanted = [f"/networks/{nid}/companies/{c['objectID']}" for nid, items in companies.items() for c in items]
    assert sorted(detail_requests(sandbox)) == sorted(wanted)


def test_it_is_off_by_default(tmp_path, sandbox, getro_config):
    run = run_in_process(tmp_path, getro_config)
    assert run.returncode == 0, run.stderr
    assert detail_requests(sandbox) == []


def activated(run) -> set[str]:
    return {m["stream"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"}


def test_a_second_whole_read_retires_rows(tmp_path, sandbox, getro_config, catalog):
    """Retirement needs two complete reads in a row (tests/test_retirement.py): the second sends it."""
    config = {**getro_config, **FAST, "emit_activate_version_messages": True}
    first = run_in_process(tmp_path / "1", config, catalog=catalog)
    assert first.returncode == 0, first.stderr
    second = run_in_process(tmp_path / "2", config, catalog=catalog, state=first.state)
    assert second.returncode == 0, second.stderr
    assert "company_details" in activated(second)


def test_a_company_gone_before_its_detail_is_skipped_and_retires_nothing(tmp_path, sandbox, getro_config, catalog):
    config = {**getro_config, **FAST, "emit_activate_version_messages": True}
    first = run_in_process(tmp_path / "1", config, catalog=catalog)
    assert first.returncode == 0, first.stderr
    gone = sandbox.getro.companies[101][0]["objectID"]
    path = f"/networks/101/companies/{gone}"
    sandbox.intercept(lambda r: Answer(404, {"error": "Not Found"}) if r.path == path else None)
    second = run_in_process(tmp_path / "2", config, catalog=catalog, state=first.state)
    assert second.returncode == 0, second.stderr
    assert f"Getro company {gone} of network 101 left the list before its detail was read: skipped." in second.stderr
    assert "company_details" not in activated(second)
    assert "companies" in activated(second)
