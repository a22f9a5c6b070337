"""Small pieces on their own: Retry-After, backoff waits, redaction, paginators."""

from __future__ import annotations

import json
import logging
import time
from email.utils import formatdate
from urllib.parse import quote, quote_plus

import pytest

from tap_jobsources.errors import RateLimitedError, RetriableAPIError, parse_retry_after
from tap_jobsources.redaction import RedactingFilter, Secrets
from tap_jobsources.retry import waits


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0 ") == 0.0
    now = time.time()
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


def test_a_retry_after_date_counts_from_the_answers_date_and_from_the_taps_clock_without_one():
    """An hour between the server's clock and the tap's: the Date header makes it no matter."""
    server = time.time() + 3600
    later = formatdate(server + 30, usegmt=True)
    assert parse_retry_after(later, date=formatdate(server, usegmt=True)) == 30.0
    assert parse_retry_after(later, date="not a date", now=server) == pytest.approx(30, abs=1)


def test_waits_honour_retry_after_and_back_off_exponentially_with_jitter():
    gen = waits(base=1.0, cap=60, rng=lambda: 1.0)
    gen.send(None)
    assert gen.send(RetriableAPIError("503")) == 1.0
    assert gen.send(RetriableAPIError("503")) == 2.0
    assert gen.send(RateLimitedError("429", retry_after=13)) == 13
    assert gen.send(RetriableAPIError("503")) == 8.0
    low = waits(base=1.0, cap=60, rng=lambda: 0.0)
    low.send(None)
    assert low.send(RetriableAPIError("503")) == 0.5  # jitter: between half and all of the wait
    capped = waits(base=1.0, cap=60, rng=lambda: 1.0)
    capped.send(None)
    assert max(capped.send(RetriableAPIError("x")) for _ in range(12)) == 60


def test_redacting_filter_masks_secrets_in_messages_args_and_tracebacks():
    flt = RedactingFilter(Secrets(["s3cret-token", "s3cret"]))
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token %s here", ("s3cret-token",), None)
    flt.filter(record)
    assert record.getMessage() == "token **** here"
    try:
        raise ValueError("boom s3cret")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    flt.filter(record)
    assert "s3cret" not in record.exc_text
    assert "boom ****" in record.exc_text


def test_secrets_are_masked_in_every_form_and_in_any_piece():
    token = "tok-ABCDEFGH/ijklmnop+qrst\n"
    secrets = Secrets([token])
    for text in (
        token,
        token.strip(),
        repr(token),
        json.dumps(token),
        quote(token, safe=""),
        quote_plus(token),
        "x" + token[3:17] + "y",
        token[-12:],
    ):
        masked = secrets.mask(f"before {text} after")
        assert masked.startswith("before "), masked
        assert masked.endswith(" after"), masked
        for piece in pieces(token.strip(), 8):
            assert piece not in masked, (text, masked)
    assert secrets.mask("nothing to hide here") == "nothing to hide here"
    assert secrets.in_body(json.dumps({"echo": token}).encode())
    assert secrets.scrub({"a": [f"x{token}"]}) == {"a": ["x****"]}


def pieces(secret: str, size: int) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


# Paging: tests/test_reading.py (the reader's loop over each paging).


def test_adaptive_limit_halves_once_per_burst_and_climbs_back_slowly():
    from tap_jobsources.concurrency import AdaptiveLimit

    limit = AdaptiveLimit(8)
    burst = [limit.acquire() for _ in range(8)]
    assert limit.in_flight == 8
    assert limit.peak == 8
    for ticket in burst:  # eight 429s of one burst: one cut
        limit.release(ticket, throttled=True)
    assert limit.limit == 4
    assert limit.cuts == 1
    ticket = limit.acquire()
    limit.release(ticket, throttled=True)  # sent under the new limit: cuts again
    assert limit.limit == 2
    for _ in range(3):
        limit.release(limit.acquire(), throttled=True)
    assert limit.limit == 1  # never below one
    successes = 0
    while limit.limit < 2:
        limit.release(limit.acquire(), throttled=False)
        successes += 1
    assert successes == AdaptiveLimit.CALM + 1  # held after a cut, then one step
    while limit.limit < 8:
        limit.release(limit.acquire(), throttled=False)
        successes += 1
    assert 25 <= successes <= 50  # additive: about limit successes per step, 1 -> 8
    for _ in range(100):
        limit.release(limit.acquire(), throttled=False)
    assert limit.limit == 8  # never above the ceiling


def test_a_request_is_crowded_when_another_joined_it_in_flight():
    from tap_jobsources.concurrency import AdaptiveLimit

    limit = AdaptiveLimit(4)
    alone = limit.acquire()
    assert limit.release(alone, throttled=False) is False
    first = limit.acquire()  # alone when sent...
    second = limit.acquire()  # ...then joined: a 429 to either is the server refusing two at once
    assert limit.release(second, throttled=True) is True
    assert limit.release(first, throttled=True) is True


def test_adaptive_limit_blocks_past_its_limit():
    import threading

    from tap_jobsources.concurrency import AdaptiveLimit

    limit = AdaptiveLimit(2)
    first, second = limit.acquire(), limit.acquire()
    got = threading.Event()
    threading.Thread(target=lambda: (limit.acquire(), got.set()), daemon=True).start()
    assert not got.wait(0.2)
    limit.release(first, throttled=False)
    assert got.wait(2)
    assert limit.peak == 2
    assert second[0] == 2  # the second ticket saw two requests in flight


def test_progress_log_reports_totals_pages_and_time_left_at_most_every_interval():
    from tap_jobsources.reporting import ProgressLog

    now = [0.0]
    lines = []
    logger = logging.getLogger("progress-test")
    log = ProgressLog(logger, "jobs [network 99]", every=30, clock=lambda: now[0])
    log.logger = type("L", (), {"info": lambda self, fmt, line: lines.append(line)})()
    for _ in range(122):
        now[0] += 0.2
        log.page(100, 50_000)
    now[0] += 0.2
    assert log.page(100, 50_000) is None  # 24.6 s: not yet
    now[0] = 30.0
    line = log.page(100, 50_000)
    assert line == "jobs [network 99]: 12,400 of 50,000 (24%), 124 of 500 pages, about 2 min left"
    assert log.page(100, 50_000) is None  # the next one 30 s later
    assert lines == [line]
