"""One HTTP server on loopback for all three providers, each under its own prefix."""

from __future__ import annotations

import socket
import struct
import threading
import time
import typing as t
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from jobsources_sandbox.bindbee import BindbeeAPI
from jobsources_sandbox.getro import GetroAPI
from jobsources_sandbox.http import Answer, Faults, LoggedRequest, RateLimit, Request
from jobsources_sandbox.misbehaviour import Misbehaviour
from jobsources_sandbox.timestamps import DOCS, MIXED, forms
from jobsources_sandbox.trackjobchanges import TrackJobChangesAPI

PREFIXES = {"getro": "/getro/v2", "bindbee": "/bindbee/api/ats/v1", "trackjobchanges": "/trackjobchanges/api/v1"}


class Sandbox:
    """The emulator: ``start()``, point the tap at ``settings()``, read ``log``, ``stop()``.

    ``scale`` sizes the data; ``getro_rate_limit`` (requests per minute) makes Getro
    answer 429 with Retry-After past it, in seconds or, with ``retry_after_date``, as an
    HTTP date (by the server's clock, as every answer's Date header: see ``clock``).
    ``faults`` injects failures (see :class:`Faults`). ``latency`` delays every answer by
    that many seconds (a distant server); with ``max_in_flight``, a request that arrives
    while that many are being answered gets a 429 (no Retry-After). ``peak_in_flight`` is
    the most requests it has answered at once.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        scale: int = 1,
        seed: int = 1,
        networks: int = 3,
        getro_rate_limit: int | None = None,
        retry_after_date: bool = False,
        getro_options: dict | None = None,
        latency: float = 0.0,
        max_in_flight: int | None = None,
        trackjobchanges_options: dict | None = None,
        timestamps: str = "mixed",
        misbehaviour: Misbehaviour | None = None,
    ) -> None:
        self.latency = latency
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.peak_in_flight = 0
        self._flight_lock = threading.Lock()
        # "mixed": every form the docs allow, on purpose; "docs": the one form their examples show.
        #: What it does that the documents do not promise against (off by default: see misbehaviour.py).
        self.misbehaviour = misbehaviour or Misbehaviour()
        with forms(DOCS if timestamps == "docs" else MIXED):
            self.getro = GetroAPI(
                networks=networks, scale=scale, seed=seed, misbehaviour=self.misbehaviour, **(getro_options or {})
            )
            self.bindbee = BindbeeAPI(scale=scale, seed=seed + 1, misbehaviour=self.misbehaviour)
            self.trackjobchanges = TrackJobChangesAPI(
                scale=scale, seed=seed + 2, misbehaviour=self.misbehaviour, **(trackjobchanges_options or {})
            )
        self.apis = {"getro": self.getro, "bindbee": self.bindbee, "trackjobchanges": self.trackjobchanges}
        self.routers = {name: api.routes() for name, api in self.apis.items()}
        self.rate_limits = {"getro": RateLimit(getro_rate_limit, date_form=retry_after_date, clock=self.clock)}
        self.faults = Faults(clock=self.clock)
        self.intercepts: list[t.Callable[[Request], Answer | None]] = []
        self.log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.sandbox = self
        self._thread: threading.Thread | None = None

    # Lifecycle ------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Sandbox:
        # stop() waits for the serving loop to see its request: every 20 ms, not the default 0.5 s
        # (the tests start and stop an emulator for each test).
        serve = partial(self._httpd.serve_forever, poll_interval=0.02)
        self._thread = threading.Thread(target=serve, name="sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def clock(self) -> float:
        """The server's time as POSIX seconds (``Misbehaviour.clock_offset`` moves it): what its Date
        headers and HTTP-date Retry-Afters say."""
        return self.misbehaviour.now().timestamp()

    def base_url(self, provider: str) -> str:
        """Where a provider's API is served, as its docs' base URL."""
        return self.url + PREFIXES[provider]

    def settings(self, *providers: str) -> dict[str, t.Any]:
        """tap-jobsources settings that point the named providers (default: all) here."""
        from jobsources_sandbox.tap_config import tap_settings

        return tap_settings(self, *providers)

    def counts(self) -> dict[str, t.Any]:
        """How many items each list holds, per partition (TrackJobChanges: the account's default
        group): what a whole read holds, and so the fewest requests it can cost."""
        getro, tjc = self.getro, self.trackjobchanges
        ids = [n["id"] for n in getro.networks]
        connections = tjc.connections[next(iter(tjc.connections))]
        lists = {name: getattr(getro, name) for name in ("companies", "jobs", "removed_jobs", "talent")}
        return {
            "job_functions": len(getro.job_functions),
            "experience_levels": len(getro.experience_levels),
            "networks": ids,
            **{name: {str(n): len(items[n]) for n in ids} for name, items in lists.items()},
            "talent_hidden": sorted(getro.hidden_talent),
            # Removed jobs the jobs list does not show: a sync reading both retires them in jobs.
            "removed_unlisted": {
                str(n): len({j["id"] for j in getro.removed_jobs[n]} - {j["id"] for j in getro.jobs[n]}) for n in ids
            },
            "ats_jobs": {name: len(jobs) for name, jobs in self.bindbee.jobs.items()},
            "connections": len(connections),
            "employments": {str(c["id"]): len(tjc.employments[c["id"]]) for c in connections},
        }

    def record_count(self) -> int:
        return sum(api.record_count() for api in self.apis.values())

    def requests_to(self, provider: str, path_prefix: str = "") -> list[LoggedRequest]:
        with self._log_lock:
            return [r for r in self.log if r.provider == provider and r.path.startswith(path_prefix)]

    def intercept(self, handler: t.Callable[[Request], Answer | None]) -> None:
        """Let ``handler`` answer a request first (None: the emulator answers as usual)."""
        self.intercepts.append(handler)

    def clear_log(self) -> None:
        with self._log_lock:
            self.log.clear()

    # Answering ------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str]) -> tuple[LoggedRequest, Answer | str]:
        split = urlsplit(target)
        provider, path = next(
            (
                (name, split.path[len(prefix) :])
                for name, prefix in PREFIXES.items()
                if split.path.startswith(prefix + "/") or split.path == prefix
            ),
            (None, split.path),
        )
        entry = LoggedRequest(
            time.monotonic(), provider or "-", method, path, dict(parse_qsl(split.query)), target, headers
        )
        with self._log_lock:
            self.log.append(entry)
        if provider is None:
            return entry, Answer(404, {"error": "Not Found"})
        request = Request(provider, method, path or "/", entry.query, headers, target)
        api = self.apis[provider]
        answer = api.authorize(request)
        if answer is None and (limit := self.rate_limits.get(provider)):
            answer = limit.check(entry.time)
        for intercept in self.intercepts:
            if answer is None:
                answer = intercept(request)
        if answer is None:
            answer = self.routers[provider].dispatch(request)
            if fault := self.faults.draw(request):
                entry.fault = fault
                answer = self.faults.answer(fault, answer)
        return entry, answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: Sandbox

    def handle_error(self, request, client_address) -> None:
        # A client that was killed or hung up mid-answer is part of the tests, not an error.
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real APIs do
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold every answer back by ~40 ms on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802
        self._answer("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._answer("POST")

    def _answer(self, method: str) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        if length := int(headers.get("content-length") or 0):
            self.rfile.read(length)
        sandbox = self.server.sandbox
        with sandbox._flight_lock:
            sandbox.in_flight += 1
            sandbox.peak_in_flight = max(sandbox.peak_in_flight, sandbox.in_flight)
            over = sandbox.max_in_flight is not None and sandbox.in_flight > sandbox.max_in_flight
        try:
            self._respond(method, headers, over)
        finally:
            with sandbox._flight_lock:
                sandbox.in_flight -= 1

    def _respond(self, method: str, headers: dict[str, str], over_cap: bool) -> None:
        sandbox = self.server.sandbox
        entry, answer = sandbox.handle(method, self.path, headers)
        if over_cap:
            entry.fault, answer = "cap", Answer(429, {"error": "Too many concurrent requests"})
        elif sandbox.latency:
            time.sleep(sandbox.latency)
        if answer == "reset":
            entry.status = 0
            # SO_LINGER 0: close with a TCP RST, as a dropped connection does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if answer == "slow":
            time.sleep(self.server.sandbox.faults.slow_seconds)
            answer = Answer(200, raw=b"{}")
        assert isinstance(answer, Answer)
        body = answer.encode()
        entry.status = answer.status
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.headers.pop("Content-Type", "application/json; charset=utf-8"))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.trickle_chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            # The chunk-size line padded with zeros, a byte at a time: all of it inside one
            # read of the client's chunked decoder.
            self._trickle(b"0" * 40 + f"{len(body):x}\r\n".encode(), answer.trickle_chunked)
            self.wfile.write(body + b"\r\n0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(body)))
        if answer.trickle_head:
            head, self._headers_buffer = b"".join(self._headers_buffer) + b"\r\n", []
            self._trickle(head, answer.trickle_head)
        else:
            self.end_headers()
        if answer.trickle:
            self._trickle(body, answer.trickle)
        else:
            self.wfile.write(body)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header, by the server's clock (a clock offset moves it as it moves the data's times)."""
        return super().date_time_string(self.server.sandbox.clock() if timestamp is None else timestamp)

    def _trickle(self, data: bytes, seconds: float) -> None:
        """``data`` a byte at a time, ``seconds`` apart (until the client hangs up)."""
        self.wfile.flush()
        for i in range(len(data)):
            self.wfile.write(data[i : i + 1])
            self.wfile.flush()
            if i + 1 < len(data):
                time.sleep(seconds)

    def log_message(self, format: str, *args: t.Any) -> None:  # noqa: A002
        pass  # the request log is ``Sandbox.log``
