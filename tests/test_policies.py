"""The policies a stream declares (``JobSourcesStream.proof``, ``echoes_credentials``): what proves
a read of its list complete, and whether its answers may carry its credential. The reader with an
in-memory list (as tests/test_reading.py), the sender with canned answers (tests/test_collaborators.py)."""

from __future__ import annotations

import json
import logging
import typing as t

import pytest

from tap_jobsources.completeness import Proof
from tap_jobsources.paging import NumberedPages, PageInfo
from tap_jobsources.sending import Sender, SendSettings
from tap_jobsources.signals import StopFlag
from tap_jobsources.stats import StreamStats
from tests.test_collaborators import KEY, FakeSession, check, extract, prepared, services
from tests.test_reading import reader_for

LOG = logging.getLogger("test-policies")


def log_pages(pages: int, *, last_said: bool = True) -> t.Callable[[t.Any], dict]:
    """An append-only log as TrackJobChanges' pings list: ``last_page``, and no total. Page
    ``pages`` is the last (without saying so when ``last_said`` is False: it is only short)."""

    def answer(page: t.Any) -> dict:
        items = [{"id": page * 10 + i} for i in range(10 if page < pages else 3)]
        last = page >= pages if last_said else (False if page < pages else None)
        return {"items": items, "last_page": last}

    return answer


def last_page_info(payload: t.Any) -> PageInfo:
    return PageInfo(last=payload.get("last_page"))


def read(answer: t.Callable[[t.Any], dict], proof: Proof) -> list[str]:
    """The reasons the read was left unproven (none: proven)."""
    reader, stream, runtime, _ = reader_for(answer, NumberedPages(last_page_info, size=10))
    stream.proof = proof  # the declaration, as a stream class would make it
    list(reader.records(None))
    return runtime.ledger.incomplete.get("jobs", [])


def test_a_list_without_a_total_is_not_proven_by_default():
    assert "gave no total" in read(log_pages(3), Proof.TOTAL)[0]


def test_a_list_declared_proven_by_its_last_page_is_proven_when_its_last_page_says_so():
    assert read(log_pages(3), Proof.LAST_PAGE) == []


def test_a_list_declared_proven_by_its_last_page_is_not_proven_by_a_short_page_alone():
    assert "no answer said it was the last page" in read(log_pages(3, last_said=False), Proof.LAST_PAGE)[0]


def test_a_list_declared_one_answer_but_read_in_pages_is_not_proven():
    assert "declared one answer, yet was read in 3 numbered pages" in read(log_pages(3), Proof.SINGLE)[0]


# Answers that carry the credential ----------------------------------------------------------------


def sender(*, echoes: bool, pages: int) -> tuple[Sender, FakeSession]:
    body = json.dumps({"data": [{"id": 1, "query_params": {"key": KEY}}]}).encode()
    session = FakeSession(*[(200, body)] * pages)
    built = Sender(
        services=services(session),
        stream_name="pings",
        logger=LOG,
        stats=StreamStats("pings", "/account/pings"),
        check=check,
        records_key="data",
        settings=SendSettings(max_attempts=1, backoff=0.001, timeout=1),
        stop=StopFlag(),
        echoes=echoes,
    )
    return built, session


@pytest.mark.parametrize("echoes", [True, False])
def test_an_echoed_credential_is_masked_whatever_the_stream_declares(echoes):
    built, _ = sender(echoes=echoes, pages=1)
    page = built.send(prepared(), extract)
    assert KEY not in json.dumps(page.records)


def test_answers_declared_to_carry_the_credential_are_not_warned_of(caplog):
    built, _ = sender(echoes=True, pages=3)
    for _ in range(3):
        built.send(prepared(), extract)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_answers_declared_to_carry_the_credential_are_said_to_once(caplog):
    caplog.set_level(logging.INFO, logger=LOG.name)
    built, _ = sender(echoes=True, pages=3)
    for _ in range(3):
        built.send(prepared(), extract)
    assert len([r for r in caplog.records if "as the stream pings declares" in r.getMessage()]) == 1


def test_an_echo_the_stream_does_not_declare_is_warned_of_on_every_answer(caplog):
    built, _ = sender(echoes=False, pages=2)
    for _ in range(2):
        built.send(prepared(), extract)
    assert len([r for r in caplog.records if "echoed a credential" in r.getMessage()]) == 2
