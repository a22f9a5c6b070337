"""Sending one request: paced, within the provider's limit on requests in flight,
retried, decoded, and, when it keeps failing, stopped with a message that names the
provider, the stream, the endpoint and what to do.

Each answer is read within the bounds of ``transport.py``: redirects are followed by the
Sender itself and only within the request's origin (one to another origin stops the run,
so that no credential goes there), the whole answer has ``request_timeout`` as its
deadline, and its decompressed body ``max_body_bytes`` as its limit.

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

from tap_jobsources import decoding, redaction, retry, transport
from tap_jobsources.errors import (
    FatalAPIError,
    MalformedResponseError,
    RateLimitedError,
    body_excerpt,
    retry_after,
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
    """What the Sender takes of the settings (``settings.Settings``)."""

    max_attempts: int = 6
    backoff: float = 1.0
    timeout: float = 300.0


class Sender:
    """Sends a stream's requests through its provider's services (see the module's docstring).

    ``check(response)`` raises the provider's error for an answer that is not a success
    (``JobSourcesStream.check_response``). ``echoes``: the stream's answers may carry its credential
    by design (``JobSourcesStream.echoes_credentials``): masked, said once, not warned of per answer."""

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
        echoes: bool = False,
        stop: StopFlag = STOP,
        max_body_bytes: int = transport.MAX_BODY_BYTES,
    ) -> None:
        self.services = services
        self.provider = services.provider
        self.stream_name = stream_name
        self.logger = logger
        self.stats = stats
        self.check = check
        self.settings = settings
        self.stop = stop
        self.max_body_bytes = max_body_bytes
        self.echoes = echoes
        self._echo_told = False
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
        try:
            payload = self.decode(response)
            return Page(extract(payload, response), response=response, payload=payload)
        except RecursionError:
            # A body that decodes yet nests near the interpreter's limit fails in the walks
            # over it (cleaning, masking): the same answer as one too deep to decode.
            raise self._too_deep(response) from None

    def _send_within_limit(self, prepared: requests.PreparedRequest) -> requests.Response:
        """Send within the provider's adaptive limit on requests in flight. A 429 to a request
        that was not alone in flight (at any time while it was) is the server refusing
        concurrency: the limit is cut and the request waits and goes again, without counting as
        a failed attempt."""
        limit = self.services.limit
        for _ in range(self.MAX_CONCURRENCY_429):
            self.services.pacer.wait()
            ticket = limit.acquire()
            throttled = crowded = False
            try:
                response = self._exchange(prepared)
                throttled = response.status_code == 429
            finally:
                crowded = limit.release(ticket, throttled=throttled)
            wait = retry_after(response) if throttled else None  # by the server's clock
            if wait is not None:  # the whole provider waits, not only this request
                self.services.pacer.hold(min(wait, retry.MAX_RETRY_AFTER))
            if not throttled or not crowded:  # alone in flight all along: the server means this request
                return response
            if wait is None:  # with a Retry-After, the pacer's hold makes the wait at the loop's top
                time.sleep(random.uniform(0.05, 0.25))
        return response

    def _exchange(self, prepared: requests.PreparedRequest) -> requests.Response:
        """The answer to ``prepared``, read whole, after the redirects within its origin;
        all of it within one deadline (``request_timeout``)."""
        deadline = transport.Deadline(self.settings.timeout)
        home = transport.origin(str(prepared.url))
        seen = {str(prepared.url)}
        request = prepared
        for hop in range(transport.MAX_REDIRECTS + 1):
            if hop:
                self.services.pacer.wait()  # a redirect is one more request to the provider
            response = self._answer(request, deadline)
            if response.status_code not in transport.REDIRECTS:
                return response
            try:
                location = transport.redirect_location(response)
            except transport.UnreadableLocation:
                raise FatalAPIError(
                    f"{self.provider.name} redirected {endpoint_of(prepared)} (HTTP {response.status_code}), but its "
                    f"Location could not be read as an address: not followed. Check {self.provider.url_setting}."
                ) from None
            if location is None:
                return response  # a 3xx without a Location is an answer: the page check says what it lacks
            there = transport.origin(location)
            if there != home:
                raise FatalAPIError(self._other_origin_message(prepared, response.status_code, there))
            if location in seen:
                raise FatalAPIError(
                    f"{self.provider.name} redirected {endpoint_of(prepared)} in a loop (HTTP {response.status_code} "
                    f"back to an address it had already sent the tap to, after {hop + 1} redirects). Check "
                    f"{self.provider.url_setting}."
                )
            seen.add(location)
            request = transport.redirected(request, response.status_code, location)
        raise FatalAPIError(
            f"{self.provider.name} redirected {endpoint_of(prepared)} more than {transport.MAX_REDIRECTS} times. "
            f"Check {self.provider.url_setting}."
        )

    def _answer(self, request: requests.PreparedRequest, deadline: transport.Deadline) -> requests.Response:
        """One request and its whole answer (a redirect's body is not read), counted in the
        stats when its last byte is in."""
        started = time.monotonic()
        left = deadline.left()
        if left <= 0:
            raise deadline.expired()
        try:
            with transport.within(deadline):
                response = self.services.session.send(request, timeout=left, stream=True, allow_redirects=False)
        except requests.exceptions.RequestException:
            if deadline.left() <= 0:  # the headers did not come in time: the reaper cut them off
                raise deadline.expired() from None
            raise
        if response.status_code in transport.REDIRECTS and response.headers.get("location"):
            response.close()  # its body is not read: followed or refused by its headers alone
        else:
            try:
                transport.read_body(response, deadline, self.max_body_bytes)
            except transport.BodyTooLarge as exc:
                raise FatalAPIError(self._too_large_message(request, exc)) from None
        self.stats.request(response, time.monotonic() - started)
        return response

    def decode(self, response: requests.Response) -> t.Any:
        content = response.content
        try:
            payload, tolerant = decoding.decode(content)
        except decoding.TooDeepError:
            raise self._too_deep(response) from None
        except decoding.BodyDecodeError:
            msg = (
                f"{self.provider.name} sent a body that is not valid JSON on {endpoint_of(response.request)} "
                f"(HTTP {response.status_code}, {len(content)} bytes): {body_excerpt(response, 120)}"
            )
            raise MalformedResponseError(msg, response) from None
        if tolerant:
            payload = self._cleaner(payload)
        # A server can echo only what it was sent: its provider's secrets, not every one,
        # and however it escapes them (in_answer reads them as the parser did).
        if self.services.secrets.in_answer(content, payload):
            # A server that echoes the request's headers into its data: mask, never emit.
            self._tell_echo(response)
            payload = redaction.ACTIVE.scrub(self.services.secrets.scrub(payload))
        return payload

    # Messages ------------------------------------------------------------------

    def _tell_echo(self, response: requests.Response) -> None:
        endpoint = endpoint_of(response.request)
        if not self.echoes:  # unexpected: each one is worth a look
            self.logger.warning(
                "%s echoed a credential in its answer on %s: masked in the records.", self.provider.name, endpoint
            )
        elif not self._echo_told:  # the stream says its answers carry it: once is enough
            self._echo_told = True
            self.logger.info(
                "%s answers on %s carry the credential, as the stream %s declares they may: masked in the records.",
                self.provider.name,
                endpoint,
                self.stream_name,
            )

    def _too_deep(self, response: requests.Response) -> MalformedResponseError:
        msg = (
            f"{self.provider.name} sent a body nested deeper than a JSON reader goes (about 1,000 levels) on "
            f"{endpoint_of(response.request)} (HTTP {response.status_code}, {len(response.content)} bytes)"
        )
        return MalformedResponseError(msg, response)

    def _other_origin_message(self, prepared: requests.PreparedRequest, status: int, there: transport.Origin) -> str:
        # The other origin as scheme://host:port only: its path or query may carry anything.
        return (
            f"{self.provider.name} redirected {endpoint_of(prepared)} (HTTP {status}) to another origin, "
            f"{transport.show_origin(there)}: not followed, so that the credentials go nowhere but "
            f"{transport.show_origin(transport.origin(str(prepared.url)))}. If the API has moved there, set "
            f"{self.provider.url_setting} to its new address."
        )

    def _too_large_message(self, request: requests.PreparedRequest, exc: transport.BodyTooLarge) -> str:
        mb = exc.limit / (1024 * 1024)
        return (
            f"{self.provider.name} sent a body larger than {mb:g} MB (decompressed) on {endpoint_of(request)}: "
            f"stopped reading it. If the API's pages are really this large, raise max_response_mb."
        )

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
