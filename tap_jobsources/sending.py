"""Sending one request: paced, within the provider's limit on requests in flight,
retried, decoded, and, when it keeps failing, stopped with a message that names the
provider, the stream, the endpoint and what to do."""

from __future__ import annotations

import random
import time
import typing as t
from functools import cached_property
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
from tap_jobsources.pagination import Page
from tap_jobsources.signals import STOP

if t.TYPE_CHECKING:
    from singer_sdk.streams.rest import HTTPRequest

# A mixin of the base stream: to the type checker, anything the stream has.
_Stream: t.Any = t.Any if t.TYPE_CHECKING else object


class RequestSender(_Stream):
    """Mixin of ``JobSourcesStream``: see the module's docstring."""

    def fetch_one(self, request: HTTPRequest) -> list[dict]:
        """The record of a detail endpoint (one object), counted in the request metrics."""
        with self.get_http_request_counter() as counter:
            try:
                return self.fetch(request, extract=self.one_object).records
            finally:
                counter.increment()

    def fetch(self, request: HTTPRequest, extract: t.Callable | None = None) -> Page:
        """Send one request (paced, retried) and return its parsed page.

        ``extract(payload, response)`` picks the records (default: :meth:`records_from`);
        it runs inside the retried call, so a malformed body is retried.
        """
        prepared = self.build_prepared_request(
            method=request.method,
            url=request.url,
            params=request.encode_params(),
            headers=request.headers,
        )
        try:
            with STOP.waiting():  # nothing is half done while a request is under way
                return self._send_with_retries(prepared, extract or self.records_from)
        except retry.RETRIABLE as exc:
            raise FatalAPIError(self._gave_up_message(prepared, exc, self._max_attempts)) from None

    @cached_property
    def _max_attempts(self) -> int:
        return int(self.config.get("retry_max_attempts", 6))

    @cached_property
    def _send_with_retries(self) -> t.Callable[..., Page]:
        # Built once per stream; each call starts its own count of attempts and waits.
        return retry.with_retries(
            self._send_once,
            max_tries=self._max_attempts,
            base=float(self.config.get("retry_backoff_seconds", 1)),
            on_backoff=self._log_retry,
        )

    def _send_once(self, prepared: requests.PreparedRequest, extract: t.Callable) -> Page:
        response = self._send_within_limit(prepared)
        self.validate_response(response)
        payload = self.decode(response)
        return Page(response, payload, extract(payload, response))

    #: 429s answered to a request sent beside others, waited out before one counts as a failure.
    MAX_CONCURRENCY_429 = 20

    def _send_within_limit(self, prepared: requests.PreparedRequest) -> requests.Response:
        """Send within the provider's adaptive limit on requests in flight. A 429 to a request
        that was not alone in flight is the server refusing concurrency: the limit is cut and
        the request waits and goes again, without counting as a failed attempt."""
        limit = self.tap.limit(self.provider)
        for _ in range(self.MAX_CONCURRENCY_429):
            self.pacer.wait()
            ticket = limit.acquire()
            throttled = False
            try:
                response = self.requests_session.send(prepared, timeout=self.timeout)
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
                f"{self.provider.name} sent a body that is not valid JSON on {self._endpoint(response.request)} "
                f"(HTTP {response.status_code}, {len(content)} bytes): {body_excerpt(response, 120)}"
            )
            raise MalformedResponseError(msg, response) from None
        if tolerant:
            payload = self._string_cleaner(payload)
        if redaction.ACTIVE.in_body(content):
            # A server that echoes the request's headers into its data: mask, never emit.
            self.logger.warning(
                "%s echoed a credential in its answer on %s: masked in the records.",
                self.provider.name,
                self._endpoint(response.request),
            )
            payload = redaction.ACTIVE.scrub(payload)
        return payload

    @cached_property
    def _string_cleaner(self) -> decoding.StringCleaner:
        return decoding.StringCleaner(self.name, self.logger, self.records_key)

    # Messages ------------------------------------------------------------------

    @staticmethod
    def _endpoint(request: requests.PreparedRequest | None) -> str:
        if request is None:
            return "(unknown endpoint)"
        return f"{request.method} {urlparse(str(request.url)).path}"

    def _log_retry(self, details: dict) -> None:
        self.stats.retry()
        exc = details.get("exception")
        self.logger.warning(
            "%s: %s; attempt %d failed, retrying in %.1f s",
            self.name,
            retry.describe(exc) if exc else "failed",
            details.get("tries", 0),
            details.get("wait", 0.0),
        )

    def _gave_up_message(self, prepared: requests.PreparedRequest, exc: BaseException, attempts: int) -> str:
        name = self.provider.name
        endpoint = self._endpoint(prepared)
        if isinstance(exc, RateLimitedError) and (exc.retry_after or 0) > retry.MAX_RETRY_AFTER:
            return (
                f"{name} asked the tap to wait {exc.retry_after:.0f} s (Retry-After) on {endpoint}, "
                f"longer than the {retry.MAX_RETRY_AFTER:.0f} s the tap waits. Rerun later: the run "
                "resumes from its last STATE."
            )
        return (
            f"{name} {endpoint} (stream {self.name}) still failing after {attempts} attempts: "
            f"{retry.describe(exc)}. The API may be down or overloaded: rerun later (the run resumes "
            "from its last STATE), or raise retry_max_attempts."
        )
