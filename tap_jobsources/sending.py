"""Sending one request: paced, within the provider's limit on requests in flight,
retried, decoded, and, when it keeps failing, stopped with a message that names the
provider, the stream, the endpoint and what to do.

:class:`Sender` is an object a stream holds (one per stream, sharing its provider's
services), built from what it needs and nothing more, so a test builds it with a fake
session and a fake check.
"""

from __future__ import annotations

import logging
import random
import time
import typing as t
from dataclasses import dataclass
from urllib.parse import urlparse

import requests

from tap_jobsources import decoding, redaction, retry
from tap_jobsources.errors import (
    FatalAPIError,
    MalformedResponseError,
    RateLimitedError,
    body_excerpt,
    parse_retry_after,
)
from tap_jobsources.paging import Page
from tap_jobsources.signals import STOP, StopFlag

if t.TYPE_CHECKING:
    from tap_jobsources.runtime import ProviderServices
    from tap_jobsources.stats import StreamStats

#: Picks a page's records from its decoded body (it runs inside the retried call, so a
#: malformed body is retried).
Extract = t.Callable[[t.Any, requests.Response], list[dict]]


def endpoint_of(request: requests.PreparedRequest | None) -> str:
    """``GET /networks/101/jobs``: a request as messages name it (never its query string)."""
    if request is None:
        return "(unknown endpoint)"
    return f"{request.method} {urlparse(str(request.url)).path}"


@dataclass(frozen=True)
class SendSettings:
    max_attempts: int = 6
    backoff: float = 1.0
    timeout: float = 300.0

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> SendSettings:
        return cls(
            max_attempts=int(config.get("retry_max_attempts", 6)),
            backoff=float(config.get("retry_backoff_seconds", 1)),
            timeout=float(config.get("request_timeout", 300)),
        )


class Sender:
    """Sends a stream's requests through its provider's services (see the module's docstring).

    ``check(response)`` raises the provider's error for an answer that is not a success
    (``JobSourcesStream.validate_response``)."""

    #: 429s answered to a request sent beside others, waited out before one counts as a failure.
    MAX_CONCURRENCY_429 = 20

    def __init__(
        self,
        *,
        services: ProviderServices,
        stream_name: str,
        logger: logging.Logger,
        stats: StreamStats,
        check: t.Callable[[requests.Response], None],
        records_key: str | None,
        settings: SendSettings,
        stop: StopFlag = STOP,
    ) -> None:
        self.services = services
        self.provider = services.provider
        self.stream_name = stream_name
        self.logger = logger
        self.stats = stats
        self.check = check
        self.settings = settings
        self.stop = stop
        self._cleaner = decoding.StringCleaner(stream_name, logger, records_key)
        # Built once; each call starts its own count of attempts and waits.
        self._send_with_retries = retry.with_retries(
            self._send_once,
            max_tries=settings.max_attempts,
            base=settings.backoff,
            on_backoff=self._log_retry,
        )

    def send(self, prepared: requests.PreparedRequest, extract: Extract) -> Page:
        """Send one request (paced, retried) and return its parsed page."""
        try:
            with self.stop.waiting():  # nothing is half done while a request is under way
                return self._send_with_retries(prepared, extract)
        except retry.RETRIABLE as exc:
            raise FatalAPIError(self._gave_up_message(prepared, exc)) from None

    def _send_once(self, prepared: requests.PreparedRequest, extract: Extract) -> Page:
        response = self._send_within_limit(prepared)
        self.check(response)
        payload = self.decode(response)
        return Page(extract(payload, response), response=response, payload=payload)

    def _send_within_limit(self, prepared: requests.PreparedRequest) -> requests.Response:
        """Send within the provider's adaptive limit on requests in flight. A 429 to a request
        that was not alone in flight is the server refusing concurrency: the limit is cut and
        the request waits and goes again, without counting as a failed attempt."""
        limit = self.services.limit
        for _ in range(self.MAX_CONCURRENCY_429):
            self.services.pacer.wait()
            ticket = limit.acquire()
            throttled = False
            try:
                response = self.services.session.send(prepared, timeout=self.settings.timeout)
                throttled = response.status_code == 429
            finally:
                limit.release(ticket, throttled=throttled)
            self.stats.request(response)
            if not throttled or ticket[0] <= 1:
                return response
            wait = parse_retry_after(response.headers.get("Retry-After"))
            time.sleep(min(wait, 60.0) if wait is not None else random.uniform(0.05, 0.25))
        return response

    def decode(self, response: requests.Response) -> t.Any:
        content = response.content
        try:
            payload, tolerant = decoding.decode(content)
        except decoding.BodyDecodeError:
            msg = (
                f"{self.provider.name} sent a body that is not valid JSON on {endpoint_of(response.request)} "
                f"(HTTP {response.status_code}, {len(content)} bytes): {body_excerpt(response, 120)}"
            )
            raise MalformedResponseError(msg, response) from None
        if tolerant:
            payload = self._cleaner(payload)
        # A server can echo only what it was sent: its provider's secrets, not every one.
        if self.services.secrets.in_body(content):
            # A server that echoes the request's headers into its data: mask, never emit.
            self.logger.warning(
                "%s echoed a credential in its answer on %s: masked in the records.",
                self.provider.name,
                endpoint_of(response.request),
            )
            payload = redaction.ACTIVE.scrub(self.services.secrets.scrub(payload))
        return payload

    # Messages ------------------------------------------------------------------

    def _log_retry(self, details: dict) -> None:
        self.stats.retry()
        exc = details.get("exception")
        self.logger.warning(
            "%s: %s; attempt %d failed, retrying in %.1f s",
            self.stream_name,
            retry.describe(exc) if exc else "failed",
            details.get("tries", 0),
            details.get("wait", 0.0),
        )

    def _gave_up_message(self, prepared: requests.PreparedRequest, exc: BaseException) -> str:
        name = self.provider.name
        endpoint = endpoint_of(prepared)
        if isinstance(exc, RateLimitedError) and (exc.retry_after or 0) > retry.MAX_RETRY_AFTER:
            return (
                f"{name} asked the tap to wait {exc.retry_after:.0f} s (Retry-After) on {endpoint}, "
                f"longer than the {retry.MAX_RETRY_AFTER:.0f} s the tap waits. Rerun later: the run "
                "resumes from its last STATE."
            )
        return (
            f"{name} {endpoint} (stream {self.stream_name}) still failing after {self.settings.max_attempts} "
            f"attempts: {retry.describe(exc)}. The API may be down or overloaded: rerun later (the run resumes "
            "from its last STATE), or raise retry_max_attempts."
        )
