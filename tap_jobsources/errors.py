"""Errors the tap raises, and the messages that tell a user what to do.

Retriable errors are retried by ``client.JobSourcesStream``; fatal ones stop the run.
Every message names the provider, and never holds a secret.
"""

from __future__ import annotations

import email.utils
import time
from datetime import UTC

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_jobsources import redaction
from tap_jobsources.signals import RunStopped

__all__ = [
    "FatalAPIError",
    "InvalidRecordError",
    "MalformedResponseError",
    "NotFoundError",
    "RateLimitedError",
    "RetriableAPIError",
    "RunStopped",
    "SkipPartition",
    "parse_retry_after",
    "retry_after",
]

#: A Retry-After longer than this is not waited out: the run stops and says so.
MAX_RETRY_AFTER = 600.0


class RateLimitedError(RetriableAPIError):
    """HTTP 429: wait ``retry_after`` seconds (or back off when the server gave none)."""

    def __init__(self, message: str, response=None, retry_after: float | None = None):
        super().__init__(message, response)
        self.retry_after = retry_after


class MalformedResponseError(RetriableAPIError):
    """A 2xx answer whose body is not the JSON the docs promise (truncated, HTML, no list)."""


class NotFoundError(FatalAPIError):
    """HTTP 404: some endpoints have a documented fallback or may skip the item."""


class InvalidRecordError(Exception):
    """A record the tap must not emit (its primary key breaks its schema)."""


class SkipPartition(Exception):
    """This partition cannot be read and the contract says to skip it with a warning
    (see ``skip_partition_on`` on the base stream)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def parse_retry_after(value: str | None, *, now: float | None = None, date: str | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date. An HTTP date is the
    server's clock: it is measured against the answer's own ``date`` (its Date header) when that
    parses, so a server clock ahead of or behind the tap's neither stops the run nor retries at
    once; otherwise against ``now`` (the tap's clock)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    when = _http_date(value)
    if when is None:
        return None
    sent = _http_date(date) if date else None
    base = sent if sent is not None else (time.time() if now is None else now)
    return max(0.0, when - base)


def retry_after(response) -> float | None:
    """The seconds a response's Retry-After asks for (see :func:`parse_retry_after`), or None."""
    headers = response.headers
    return parse_retry_after(headers.get("Retry-After"), date=headers.get("Date"))


def _http_date(value: str) -> float | None:
    """An HTTP date as a POSIX timestamp (None: not one; no zone: GMT, as HTTP dates are)."""
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when.timestamp()
    except (OverflowError, ValueError):
        return None


def body_excerpt(response, limit: int = 300) -> str:
    """The start of a response body, for an error message, on one line.

    Secrets are masked before the body is cut: a cut through a token that a server
    echoed back would otherwise leave a piece the mask no longer recognises. JSON escapes
    are read first (``\\u0067`` shows as ``g``): a secret a server wrote with them is masked.
    """
    try:
        text = response.text
    except Exception:  # noqa: BLE001 - an undecodable body is still an error to report
        return ""
    text = redaction.redact(redaction.unescape_json(" ".join(text.split())))
    return text if len(text) <= limit else text[:limit] + "..."


def api_message(response, key: str) -> str:
    """A provider's own words for an error: ``key`` of a JSON object body (a string, or a list
    of ``{loc, msg}`` as FastAPI writes them), or the start of the body as it came."""
    try:
        body = response.json()
    except (ValueError, RecursionError):  # not JSON, or nested deeper than a reader goes
        return body_excerpt(response)
    detail = body.get(key) if isinstance(body, dict) else body
    if isinstance(detail, list):
        parts = [
            f"{'.'.join(str(p) for p in d.get('loc') or [])}: {d.get('msg')}" if isinstance(d, dict) else str(d)
            for d in detail
        ]
        return redaction.redact("; ".join(parts))[:300] or body_excerpt(response)
    return redaction.redact(str(detail))[:300] if detail else body_excerpt(response)
