"""The emulator's plumbing: answers, routing, faults and the request log."""

from __future__ import annotations

import json
import random
import re
import threading
import time
import typing as t
from dataclasses import dataclass, field
from email.utils import formatdate


@dataclass
class Answer:
    status: int = 200
    body: t.Any = None  # serialised as JSON unless ``raw`` is set
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    #: Seconds between the bytes of the body (0: all at once): a server that trickles.
    trickle: float = 0.0
    #: The same for the status line and headers.
    trickle_head: float = 0.0
    #: The body sent chunked, its chunk-size line a byte at a time, this far apart (a read of
    #: the chunked framing that never waits long enough for a per-read timeout).
    trickle_chunked: float = 0.0

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, separators=(",", ":")).encode()


@dataclass
class Request:
    provider: str
    method: str
    path: str  # below the provider's base URL, e.g. "/networks/1/jobs"
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    url: str  # the request target exactly as received


@dataclass
class LoggedRequest:
    time: float  # time.monotonic() when it arrived
    provider: str
    method: str
    path: str
    query: dict[str, str]
    url: str
    headers: dict[str, str]
    status: int | None = None
    fault: str | None = None


FAULT_KINDS = ("500", "503", "429", "429-date", "reset", "truncated", "html", "slow")
#: Faults a test injects by name, never drawn at random: a body or head sent a byte at a
#: time, ``Faults.trickle_seconds`` apart (the answer is whole, only slow).
TRICKLE_KINDS = ("trickle", "trickle-head", "trickle-chunked")


class Faults:
    """Which requests fail, and how.

    ``queue`` holds one-off faults for tests ("the next request to this path fails
    with a 503"); ``rate`` makes a share of all requests fail at random (seeded).
    """

    def __init__(self, clock: t.Callable[[], float] = time.time) -> None:
        self.clock = clock  # the server's clock (POSIX seconds): what an HTTP-date Retry-After counts from
        self.rate = 0.0
        self.kinds: tuple[str, ...] = FAULT_KINDS
        self.slow_seconds = 3.0
        self.trickle_seconds = 1.0
        self.retry_after = 1
        self._rng = random.Random(7)
        self._queue: list[tuple[str | None, str, re.Pattern | None]] = []
        self._lock = threading.Lock()

    def set_rate(self, rate: float, kinds: t.Iterable[str] = FAULT_KINDS, seed: int = 7) -> None:
        self.rate, self.kinds, self._rng = rate, tuple(kinds), random.Random(seed)

    def inject(self, kind: str, *, provider: str | None = None, path: str | None = None, times: int = 1) -> None:
        """The next ``times`` matching requests fail with ``kind``."""
        if kind not in FAULT_KINDS + TRICKLE_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULT_KINDS + TRICKLE_KINDS}")
        pattern = re.compile(path) if path else None
        with self._lock:
            self._queue.extend([(provider, kind, pattern)] * times)

    def draw(self, request: Request) -> str | None:
        with self._lock:
            for i, (provider, kind, pattern) in enumerate(self._queue):
                if (provider in (None, request.provider)) and (pattern is None or pattern.search(request.path)):
                    del self._queue[i]
                    return kind
            if self.rate and self._rng.random() < self.rate:
                return self._rng.choice(self.kinds)
        return None

    def answer(self, kind: str, good: Answer) -> Answer | str:
        """The faulty answer for ``kind``; "reset" and "slow" are done by the server."""
        if kind in ("500", "503"):
            return Answer(int(kind), {"error": "Internal Server Error" if kind == "500" else "Service Unavailable"})
        if kind == "429":
            return Answer(429, {"error": "Too Many Requests"}, {"Retry-After": str(self.retry_after)})
        if kind == "429-date":
            when = formatdate(self.clock() + self.retry_after, usegmt=True)
            return Answer(429, {"error": "Too Many Requests"}, {"Retry-After": when})
        if kind == "truncated":
            body = good.encode()
            return Answer(good.status, raw=body[: max(1, len(body) // 2)], headers=good.headers)
        if kind == "html":
            return Answer(200, raw=b"<html><body>Bad gateway</body></html>", headers={"Content-Type": "text/html"})
        if kind == "trickle":
            good.trickle = self.trickle_seconds
            return good
        if kind == "trickle-head":
            good.trickle_head = self.trickle_seconds
            return good
        if kind == "trickle-chunked":
            good.trickle_chunked = self.trickle_seconds
            return good
        return kind  # "reset", "slow"


class RateLimit:
    """A sliding 60-second window per provider: past ``per_minute``, a 429 with Retry-After."""

    def __init__(
        self, per_minute: int | None = None, *, date_form: bool = False, clock: t.Callable[[], float] = time.time
    ) -> None:
        self.per_minute = per_minute
        self.date_form = date_form
        self.clock = clock  # the server's clock (POSIX seconds), for the HTTP date
        self._times: list[float] = []
        self._lock = threading.Lock()

    def check(self, now: float) -> Answer | None:
        if not self.per_minute:
            return None
        with self._lock:
            self._times = [x for x in self._times if now - x < 60.0]
            if len(self._times) >= self.per_minute:
                wait = max(1, int(60.0 - (now - self._times[0])) + 1)
                value = formatdate(self.clock() + wait, usegmt=True) if self.date_form else str(wait)
                return Answer(429, {"error": "Rate limit exceeded"}, {"Retry-After": value})
            self._times.append(now)
        return None


class Router:
    """Maps (method, path pattern) to a handler; patterns use ``{name}`` for a segment."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern, t.Callable]] = []

    def add(self, method: str, pattern: str, handler: t.Callable) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self._routes.append((method, re.compile(f"^{regex}/?$"), handler))

    def dispatch(self, request: Request) -> Answer:
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if match and method == request.method:
                return handler(request, **match.groupdict())
        return Answer(404, {"error": "Not Found"})


def page_params(request: Request, *, required: bool) -> tuple[int, int] | Answer:
    """``page`` and ``per_page`` as Getro documents them (both required, per_page at most 100)."""
    try:
        page = int(request.query["page"]) if "page" in request.query else None
        per_page = int(request.query["per_page"]) if "per_page" in request.query else None
    except ValueError:
        return Answer(400, {"error": "page and per_page must be integers"})
    if required and (page is None or per_page is None):
        return Answer(400, {"error": "page and per_page are required"})
    page, per_page = page or 1, per_page or 10
    if page < 1 or not 1 <= per_page <= 100:
        return Answer(400, {"error": "page must be >= 1 and per_page between 1 and 100"})
    return page, per_page
