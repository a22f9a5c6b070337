"""The transport against servers that misbehave: credentials stay with their origin, every
answer has a deadline, a body has a size limit, and what a server causes ends in one line.

The tap runs as a process against the emulator, and another origin is a second server on
another port of 127.0.0.1 that records whatever reaches it."""

from __future__ import annotations

import gzip
import json
import logging
import os
import subprocess
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from jobsources_sandbox.http import Answer
from jobsources_sandbox.server import PREFIXES
from tap_jobsources import transport
from tap_jobsources.errors import FatalAPIError
from tap_jobsources.getro.settings import options as getro_options
from tap_jobsources.plugin import providers
from tap_jobsources.runtime import ProviderServices
from tap_jobsources.sending import Sender, SendSettings
from tap_jobsources.signals import StopFlag
from tap_jobsources.stats import StreamStats
from tests.conftest import FAST
from tests.expected import bindbee_records, getro_records, trackjobchanges_records
from tests.helpers import TAP, only, run_in_process

PROVIDERS = ("getro", "bindbee", "trackjobchanges")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
#: Every header that carries a credential of one of the providers.
CREDENTIAL_HEADERS = ("x-user-token", "x-user-email", "x-connector-token", "authorization", "key")
CREDENTIALS = {
    "getro": ("x-user-token", "x-user-email"),
    "bindbee": ("authorization", "x-connector-token"),
    "trackjobchanges": ("key",),
}
SECRET_SETTINGS = ("getro_api_token", "bindbee_api_key", "trackjobchanges_api_key")
CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"
#: One small stream per provider, for the runs that must complete.
SMALL = {"getro": "job_functions", "bindbee": "ats_jobs", "trackjobchanges": "connections"}


class Recorder:
    """Another origin: records every request that reaches it (path and headers), answers 200."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                recorder.requests.append({":path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
                body = b'{"items": [], "data": [], "meta": {"total": 0}, "status": "SUCCESS", "last_page": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> Recorder:
        # A short poll: shutdown() waits up to one poll interval (0.5 s by default).
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def secrets_of(config: dict) -> list[str]:
    values = [config[k] for k in SECRET_SETTINGS if k in config]
    return values + [c["token"] for c in config.get("bindbee_connectors", [])] + [config.get("getro_email", "")]


def assert_no_piece_of(secrets: list[str], *texts: str, size: int = 8) -> None:
    for secret in filter(None, secrets):
        for i in range(len(secret) - size + 1):
            for text in texts:
                assert secret[i : i + size] not in text, f"a piece of a secret leaked: {secret[i : i + size]!r}"


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "| ERROR" in line]


def assert_one_line_failure(run, *named: str, debug: bool = False) -> str:
    """The run failed, without a traceback (but at DEBUG), and its last ERROR line names all of ``named``."""
    assert run.returncode != 0
    assert debug or "Traceback" not in run.stderr, run.stderr[-3000:]
    last = next(line for line in reversed(error_lines(run.stderr)) if "Error: " in line)
    for part in named:
        assert part in last, (part, last)
    return last


def small_catalog(provider: str) -> dict:
    return only(json.loads((CATALOGS / f"{provider}.json").read_text()), {SMALL[provider]})


def expected_small(sandbox, provider: str) -> int:
    if provider == "getro":
        return len(getro_records(sandbox.getro)["job_functions"])
    if provider == "bindbee":
        return len(bindbee_records(sandbox.bindbee))
    return len(trackjobchanges_records(sandbox.trackjobchanges, None)["connections"])


# 1. Credentials reach only the origin they were configured for -------------------------------


@pytest.mark.parametrize("status", REDIRECT_STATUSES)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_redirect_to_another_origin_is_refused_and_the_other_origin_gets_nothing(tmp_path, sandbox, provider, status):
    config = {**sandbox.settings(provider), **FAST, "retry_max_attempts": 3}
    with Recorder() as other:
        target = f"{other.url}/elsewhere/v9/page?session=LOCATION-MARKER"

        def moved(request):
            return Answer(status, {"moved": True}, {"Location": target}) if request.provider == provider else None

        sandbox.intercept(moved)
        run = run_in_process(tmp_path, config, env={"TAP_JOBSOURCES_LOGLEVEL": "DEBUG"})
    assert other.requests == [], "a request reached the other origin"
    line = assert_one_line_failure(
        run,
        f"redirected GET {PREFIXES[provider]}/",
        f"(HTTP {status}) to another origin, {other.url}:",
        f"set {provider}_api_url to its new address",
        debug=True,  # a traceback at DEBUG, but no secret in any line
    )
    assert line.count("FatalAPIError") == 1
    # The other origin as scheme://host:port only; never the rest of the Location.
    assert "LOCATION-MARKER" not in run.stderr
    assert "/elsewhere" not in run.stderr
    assert len(sandbox.requests_to(provider)) == 1, "a refused redirect is not retried"
    assert_no_piece_of(secrets_of(config), run.stdout, run.stderr)


@pytest.mark.parametrize("where", ["https-same-host-and-port", "another-host-name", "default-port"])
def test_another_scheme_host_or_port_is_another_origin(tmp_path, sandbox, where):
    config = {**sandbox.settings("getro"), **FAST}
    port = sandbox.port
    target, shown = {
        "https-same-host-and-port": (f"https://127.0.0.1:{port}/getro/v2/x", f"https://127.0.0.1:{port}"),
        "another-host-name": (f"http://localhost:{port}/getro/v2/x", f"http://localhost:{port}"),
        "default-port": ("http://127.0.0.1/getro/v2/x", "http://127.0.0.1:80"),
    }[where]
    sandbox.intercept(lambda r: Answer(302, {}, {"Location": target}))
    run = run_in_process(tmp_path, config)
    assert_one_line_failure(run, f"to another origin, {shown}:", "getro_api_url")
    assert len(sandbox.log) == 1


@pytest.mark.parametrize("status", REDIRECT_STATUSES)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_redirect_within_the_origin_is_followed_as_a_get_with_the_credentials(tmp_path, sandbox, provider, status):
    config = {**sandbox.settings(provider), **FAST}

    def moved(request):
        if request.provider != provider or "moved" in request.query:
            return None
        # A relative Location for the odd statuses, an absolute one for the others.
        there = request.url + ("&" if "?" in request.url else "?") + "moved=1"
        return Answer(status, {}, {"Location": there if status % 2 else sandbox.url + there})

    sandbox.intercept(moved)
    run = run_in_process(tmp_path, config, catalog=small_catalog(provider))
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(run.records[SMALL[provider]]) == expected_small(sandbox, provider)
    asked = sandbox.requests_to(provider)
    followed = [r for r in asked if "moved" in r.query]
    assert followed
    assert len(followed) * 2 == len(asked)
    assert {r.method for r in asked} == {"GET"}

    def sent(request) -> tuple:
        return request.path, tuple(request.headers.get(h) for h in CREDENTIAL_HEADERS)

    # The same origin: each redirect went on with its request's credentials (and path).
    originals = {sent(r) for r in asked if "moved" not in r.query}
    assert all(sent(r) in originals for r in followed)
    assert all(r.headers.get(h) for r in followed for h in CREDENTIALS[provider])
    assert "Traceback" not in run.stderr


def test_a_redirect_loop_within_the_origin_is_one_clear_line(tmp_path, sandbox):
    config = {**sandbox.settings("trackjobchanges"), **FAST}
    base = PREFIXES["trackjobchanges"]

    def loop(request):
        return Answer(302, {}, {"Location": f"{base}/b" if request.path != "/b" else f"{base}/a"})

    sandbox.intercept(loop)
    run = run_in_process(tmp_path, config)
    # The first request of a TrackJobChanges run is the account's (streams run by name).
    assert_one_line_failure(run, "TrackJobChanges redirected GET /trackjobchanges/api/v1/account in a loop")
    assert len(sandbox.log) == 3  # the request, /a, /b: and no more


@pytest.mark.parametrize(
    "location",
    ["http://[::1/getro/v2/x?token=LOCATION-MARKER", "//[not-an-address]/getro/v2/x?token=LOCATION-MARKER"],
    ids=["bracket-not-closed", "bracketed-host-not-an-ip"],
)
def test_a_redirect_whose_location_cannot_be_read_is_one_clear_line(tmp_path, sandbox, location):
    config = {**sandbox.settings("getro"), **FAST}
    sandbox.intercept(lambda r: Answer(302, {}, {"Location": location}))
    run = run_in_process(tmp_path, config)
    assert_one_line_failure(
        run, "Getro redirected GET /getro/v2/", "(HTTP 302)", "its Location could not be read", "getro_api_url"
    )
    assert "LOCATION-MARKER" not in run.stderr  # nothing of the Location, which may carry anything
    assert len(sandbox.log) == 1  # not retried
    assert_no_piece_of(secrets_of(config), run.stdout, run.stderr)


def test_an_endless_chain_of_redirects_within_the_origin_stops(tmp_path, sandbox):
    config = {**sandbox.settings("getro"), **FAST}

    def chain(request):
        hop = int(request.query.get("hop", 0))
        return Answer(307, {}, {"Location": f"{PREFIXES['getro']}/x?hop={hop + 1}"})

    sandbox.intercept(chain)
    run = run_in_process(tmp_path, config)
    assert_one_line_failure(run, "Getro redirected GET /getro/v2/", "more than 10 times", "getro_api_url")
    assert len(sandbox.log) == 11


# 3. Every wait has a deadline; a body has a size limit ----------------------------------------


@pytest.mark.parametrize("kind", ["trickle", "trickle-head", "trickle-chunked"])
def test_an_answer_that_trickles_ends_at_its_deadline_and_is_retried(tmp_path, sandbox, kind):
    """A byte a second never trips a per-read timeout; the answer's deadline ends it all the same,
    also inside one read of the chunked framing (a chunk-size line that trickles)."""
    config = {**sandbox.settings("getro"), **FAST, "request_timeout": 0.8}
    sandbox.faults.trickle_seconds = 0.5
    sandbox.faults.inject(kind, provider="getro", path="^/job_functions$")
    started = time.monotonic()
    run = run_in_process(tmp_path, config, catalog=small_catalog("getro"), timeout=60)
    assert run.returncode == 0, run.stderr[-3000:]
    assert time.monotonic() - started < 20
    assert len(run.records["job_functions"]) == len(sandbox.getro.job_functions)
    assert [r.fault for r in sandbox.requests_to("getro")] == [kind, None]
    assert "job_functions: no answer within request_timeout (0.8 s for the whole answer, body included)" in run.stderr


def test_an_answer_that_always_trickles_stops_the_run_with_one_line(tmp_path, sandbox):
    config = {**sandbox.settings("trackjobchanges"), **FAST, "request_timeout": 0.75, "retry_max_attempts": 2}
    sandbox.faults.trickle_seconds = 0.25
    sandbox.faults.inject("trickle", provider="trackjobchanges", times=5)
    started = time.monotonic()
    run = run_in_process(tmp_path, config, timeout=60)
    assert time.monotonic() - started < 20
    assert_one_line_failure(
        run, "TrackJobChanges GET /trackjobchanges/api/v1/account", "still failing after 2 attempts", "0.75 s"
    )


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """1 GiB of JSON-looking zeros, gzipped to about 1 MB: gzip members one after another (a
    decoder reads them as one stream), the megabyte of zeros compressed once and repeated."""
    zeros = gzip.compress(b"0" * (1 << 20), 9)
    return gzip.compress(b'{"items": ["') + zeros * 1024 + gzip.compress(b'"]}')


def run_measured(tmp_path: Path, config: dict) -> tuple[int, str, int]:
    """The tap as a process: its exit status, stderr, and its own peak RSS in MB (wait4)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "config.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_JOBSOURCES_")}
    with (tmp_path / "err").open("w") as err:
        proc = subprocess.Popen(
            [*TAP, "--config", str(tmp_path / "config.json")], stdout=subprocess.DEVNULL, stderr=err, env=env
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, (tmp_path / "err").read_text(), usage.ru_maxrss // 1024


@pytest.mark.e2e  # its own peak memory: a process
def test_a_gzip_bomb_stops_at_the_size_limit_with_bounded_memory(tmp_path, sandbox, gzip_bomb):
    config = {**sandbox.settings("getro"), **FAST}
    sandbox.intercept(lambda r: Answer(200, raw=gzip_bomb, headers={"Content-Encoding": "gzip"}))
    code, stderr, peak_mb = run_measured(tmp_path, config)
    assert code == 1
    limit_mb = transport.MAX_BODY_BYTES // (1 << 20)
    assert f"Getro sent a body larger than {limit_mb} MB (decompressed) on GET /getro/v2/" in stderr
    assert "raise max_response_mb" in stderr
    assert "Traceback" not in stderr
    assert "MemoryError" not in stderr
    assert peak_mb < limit_mb + 200, f"peak RSS {peak_mb} MB"  # the body up to the limit, and the tap
    assert len(sandbox.log) == 1  # not retried


def test_the_sender_holds_no_more_than_its_limit_of_a_bomb(sandbox, gzip_bomb):
    limit = 8 << 20
    sandbox.intercept(lambda r: Answer(200, raw=gzip_bomb, headers={"Content-Encoding": "gzip"}))
    sender = real_sender(sandbox, max_body_bytes=limit)
    tracemalloc.start()
    try:
        with pytest.raises(FatalAPIError, match=r"Getro sent a body larger than 8 MB \(decompressed\)"):
            sender.send(getro_request(sandbox, "/jobs"), lambda payload, response: payload["items"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < limit + 4 * transport.READ_CHUNK + (2 << 20), peak


def test_a_body_declared_larger_than_the_limit_is_not_read(sandbox):
    big = b'{"items": [], "pad": "' + b"x" * (3 << 20) + b'"}'
    sandbox.intercept(lambda r: Answer(200, raw=big))
    sender = real_sender(sandbox, max_body_bytes=1 << 20)
    with pytest.raises(FatalAPIError, match=r"larger than 1 MB \(decompressed\) on GET /getro/v2/jobs"):
        sender.send(getro_request(sandbox, "/jobs"), lambda payload, response: payload["items"])


def real_sender(sandbox, **kwargs) -> Sender:
    getro = next(p for p in providers() if p.key == "getro")
    services = ProviderServices.build(getro, getro_options({**sandbox.settings("getro"), **FAST}))
    return Sender(
        services=services,
        stream_name="jobs",
        logger=logging.getLogger("test"),
        stats=StreamStats("jobs", "/jobs"),
        check=lambda response: None,
        records_key="items",
        settings=SendSettings(max_attempts=2, backoff=0.01, timeout=10),
        stop=StopFlag(),
        **kwargs,
    )


def getro_request(sandbox, path: str) -> requests.PreparedRequest:
    headers = {"X-User-Email": sandbox.getro.email, "X-User-Token": sandbox.getro.token}
    return requests.Request("GET", sandbox.base_url("getro") + path, headers=headers).prepare()


# 4. One line, never a traceback ---------------------------------------------------------------


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_json_nested_too_deep_is_one_line_naming_provider_and_endpoint(tmp_path, sandbox, depth):
    config = {**sandbox.settings("bindbee"), **FAST, "retry_max_attempts": 2}
    body = b'{"items": ' + b"[" * depth + b"]" * depth + b', "cursor": null}'
    sandbox.intercept(lambda r: Answer(200, raw=body))
    run = run_in_process(tmp_path, config)
    assert_one_line_failure(
        run,
        "Bindbee sent a body nested deeper than a JSON reader goes (about 1,000 levels) on GET "
        "/bindbee/api/ats/v1/jobs",
        "still failing after 2 attempts",
    )
    assert "RecursionError" not in run.stderr


def test_a_deep_body_that_decodes_but_cannot_be_walked_is_the_same_line(sandbox):
    """msgspec reads 990 levels; the walks over a tolerant body (cleaning, masking) cannot."""
    depth = 990
    body = b'{"items": [{"id": 1, "x": "\\ud83d", "deep": ' + b"[" * depth + b"]" * depth + b"}]}"
    sandbox.intercept(lambda r: Answer(200, raw=body))
    sender = real_sender(sandbox)
    with pytest.raises(FatalAPIError, match="Getro sent a body nested deeper than a JSON reader goes"):
        sender.send(getro_request(sandbox, "/jobs"), lambda payload, response: payload["items"])


# 5. The summary and the metric time an answer to its last byte ---------------------------------


def test_the_summary_and_the_metric_count_to_the_last_byte(tmp_path, sandbox):
    config = {**sandbox.settings("getro"), **FAST, "request_timeout": 60}
    body_size = len(json.dumps(sandbox.getro.job_functions, separators=(",", ":")))
    sandbox.faults.trickle_seconds = 1.0 / body_size  # the body takes about 1 s
    sandbox.faults.inject("trickle", provider="getro", path="^/job_functions$")
    run = run_in_process(tmp_path, config, catalog=small_catalog("getro"))
    assert run.returncode == 0, run.stderr[-3000:]
    summary = next(line for line in run.stderr.splitlines() if "Stream job_functions:" in line)
    seconds = float(summary.split(" retries, ")[1].split(" s ")[0])
    assert seconds >= 0.9, summary
    metric = next(
        json.loads(line.split("METRIC: ", 1)[1])
        for line in run.stderr.splitlines()
        if '"http_request_duration"' in line and '"job_functions"' in line
    )
    assert metric["value"] >= 0.9, metric


def test_a_followed_redirect_changes_the_method_as_browsers_do():
    post = requests.Request("POST", "http://127.0.0.1:9/a", data={"x": "1"}, headers={"key": "k"}).prepare()
    for status, method, body in [(301, "GET", None), (302, "GET", None), (303, "GET", None), (307, "POST", "x=1")]:
        new = transport.redirected(post, status, "http://127.0.0.1:9/b")
        assert (new.method, new.body, new.url, new.headers["key"]) == (method, body, "http://127.0.0.1:9/b", "k")
    head = requests.Request("HEAD", "http://127.0.0.1:9/a").prepare()
    assert {transport.redirected(head, s, "http://127.0.0.1:9/b").method for s in (301, 302, 303, 308)} == {"HEAD"}


def test_an_error_body_nested_too_deep_is_still_the_providers_error_in_one_line(tmp_path, sandbox):
    config = {**sandbox.settings("bindbee"), **FAST}
    body = b'{"detail": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
    sandbox.intercept(lambda r: Answer(422, raw=body))
    run = run_in_process(tmp_path, config)
    assert_one_line_failure(run, "Bindbee refused the request for connector 'greenhouse'", "(422)")
    assert "RecursionError" not in run.stderr
