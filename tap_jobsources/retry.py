"""Retries for every provider: what is retried, how long to wait, when to give up.

Built on the ``backoff`` module the SDK already uses. Unlike the SDK's default,
the wait honours Retry-After (seconds or HTTP date), and the retried call covers
parsing too, so a truncated or non-JSON body is retried like a 503.
"""

from __future__ import annotations

import random
import typing as t

import backoff
import requests

from tap_jobsources.errors import MAX_RETRY_AFTER, RateLimitedError, RetriableAPIError
from tap_jobsources.transport import AnswerTimeout

#: What a retry may cure. Anything else (401, 404, a bad config) stops at once.
RETRIABLE = (
    RetriableAPIError,
    ConnectionResetError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)

#: No single backoff wait is longer than this.
MAX_BACKOFF = 60.0


def waits(base: float, cap: float = MAX_BACKOFF, rng: t.Callable[[], float] = random.random):
    """Backoff wait generator; ``backoff`` sends it each failure's exception.

    A 429 with Retry-After waits exactly that long. Anything else waits
    ``base * 2**n`` capped at ``cap``, with "equal jitter": between half and all of it,
    so many taps that failed together do not retry together.
    """
    exc = yield  # primed by backoff with send(None)
    attempt = 0
    while True:
        if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
            wait = exc.retry_after
        else:
            full = min(cap, base * 2**attempt)
            wait = full / 2 + rng() * full / 2
        attempt += 1
        exc = yield wait


def _retry_after_too_long(exc: Exception) -> bool:
    return isinstance(exc, RateLimitedError) and (exc.retry_after or 0) > MAX_RETRY_AFTER


def with_retries(func, *, max_tries: int, base: float, on_backoff) -> t.Callable:
    """``func`` retried on :data:`RETRIABLE` failures, at most ``max_tries`` attempts in all."""
    return backoff.on_exception(
        waits,
        RETRIABLE,
        max_tries=max_tries,
        jitter=None,  # jitter is applied in ``waits``, never to a server's Retry-After
        giveup=_retry_after_too_long,
        on_backoff=on_backoff,
        logger=None,  # on_backoff logs one clean line; backoff's own would repeat it
        base=base,
    )(func)


def describe(exc: BaseException) -> str:
    """A short, secret-free description of a failure for a log line or an error."""
    if isinstance(exc, (RetriableAPIError, AnswerTimeout)):
        return str(exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return "no answer within request_timeout"
    if isinstance(exc, (requests.exceptions.ConnectionError, ConnectionResetError)):
        text = " ".join(str(exc).split())
        return f"connection failed ({type(exc).__name__}: {text[:240]})"
    return f"{type(exc).__name__}: {exc}"
