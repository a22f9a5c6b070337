"""A secret is caught as a JSON parser reads it, however a server escapes it, and a URL's
user info never reaches a message or a log line."""

from __future__ import annotations

import html
import json
import logging
import re
from urllib.parse import quote, quote_plus

import pytest
import requests

from jobsources_sandbox.http import Answer
from tap_jobsources.concurrency import AdaptiveLimit, Workers
from tap_jobsources.errors import body_excerpt
from tap_jobsources.pacing import Pacer
from tap_jobsources.plugin import ProviderOptions, providers
from tap_jobsources.redaction import MASK, RedactingFilter, Secrets, mask_userinfo, unescape_json
from tap_jobsources.runtime import ProviderServices
from tap_jobsources.sending import Sender, SendSettings
from tap_jobsources.signals import StopFlag
from tap_jobsources.stats import StreamStats
from tap_jobsources.transport import Session
from tests.conftest import FAST
from tests.helpers import run_in_process

#: A token with a '/', a '"' and a '\\' in it: each has an escape of its own.
TOKEN = 'gtk/8c41"f0\\7be2d94a6a13c5'
#: One with a character outside the Basic Multilingual Plane (a surrogate pair in JSON).
WIDE = "wtk-\U0001f600-a1b2c3d4e5f6"


def u(ch: str, upper: bool = False) -> str:
    """``ch`` as \\uXXXX escapes (a surrogate pair past U+FFFF)."""
    code = ord(ch)
    units = [code] if code < 0x10000 else [0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)]
    return "".join(f"\\u{x:04X}" if upper else f"\\u{x:04x}" for x in units)


def plain(secret: str) -> str:
    return json.dumps(secret, ensure_ascii=False)[1:-1]


#: Every way a JSON writer may put a secret in a string (without the quotes).
FORMS = {
    "every-char-lower-hex": lambda s: "".join(u(c) for c in s),
    "every-char-upper-hex": lambda s: "".join(u(c, upper=True) for c in s),
    "one-letter": lambda s: plain(s[:-1]) + u(s[-1]),
    "solidus": lambda s: plain(s).replace("/", "\\/"),
    "quote-as-u": lambda s: plain(s).replace('\\"', u('"')),
    "backslash-as-u": lambda s: plain(s).replace("\\\\", u("\\")),
    "ascii-only": lambda s: json.dumps(s)[1:-1],  # non-ASCII as \\u, past U+FFFF as a surrogate pair
    "mixed": lambda s: "".join(u(c) if i % 2 else plain(c).replace("/", "\\/") for i, c in enumerate(s)),
}


def new_forms(secret: str) -> list[str]:
    """The forms of ``secret`` other than the two the raw scan always knew (json.dumps with and
    without ensure_ascii): the ones a server could hide a secret behind."""
    known = {plain(secret), json.dumps(secret)[1:-1]}
    return [name for name, form in FORMS.items() if form(secret) not in known]


#: Forms that leave no 8 characters of a secret in a row as they were.
HIDING = ["every-char-lower-hex", "every-char-upper-hex", "mixed"]


def test_every_form_is_what_a_parser_reads_as_the_secret():
    for secret in (TOKEN, WIDE):
        for name, form in FORMS.items():
            assert json.loads(f'"{form(secret)}"') == secret, name


def as_a_parser_reads(text: str) -> str:
    """``text`` with JSON's \\u and \\/ escapes read (what a person decoding a log line sees)."""
    return re.sub(r"(?:\\u[0-9a-fA-F]{4})+|\\/", lambda m: json.loads(f'"{m.group(0)}"'), text)


def assert_no_piece_of(secret: str, *texts: str, size: int = 8) -> None:
    for text in texts:
        for seen in (text, as_a_parser_reads(text)):
            for i in range(len(secret) - size + 1):
                assert secret[i : i + size] not in seen, f"a piece of a secret leaked: {secret[i : i + size]!r}"


# Units ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "form"), [(s, f) for s in (TOKEN, WIDE) for f in new_forms(s)], ids=lambda v: v[:8] if "tk" in v else v
)
def test_the_answer_scan_finds_a_secret_in_every_escape_form(secret, form):
    secrets = Secrets([secret])
    body = f'{{"items": [{{"id": 1, "note": "echo {FORMS[form](secret)} end", "html": "\\u003cb\\u003e"}}]}}'.encode()
    payload = json.loads(body)
    assert secrets.in_answer(body, payload), form
    assert secret not in json.dumps(secrets.scrub(payload), ensure_ascii=False)
    clean = b'{"items": [{"id": 1, "note": "nothing \\u003cb\\u003e \\/ here"}]}'
    assert not secrets.in_answer(clean, json.loads(clean))


@pytest.mark.parametrize("form", HIDING)
def test_an_error_excerpt_reads_escapes_before_it_masks(form, monkeypatch):
    from tap_jobsources import redaction

    monkeypatch.setattr(redaction, "ACTIVE", Secrets([TOKEN]))  # what the tap installs at start
    response = requests.Response()
    response._content = f'{{"error": "bad token {FORMS[form](TOKEN)}", "pad": "{"x" * 40}"}}'.encode()
    response.encoding = "utf-8"
    excerpt = body_excerpt(response)
    assert MASK in excerpt
    assert_no_piece_of(TOKEN, excerpt)


def test_unescaping_reads_pairs_and_leaves_escaped_backslashes_alone():
    assert unescape_json("a\\u0067\\/b \\\\u0067 \\ud83d\\ude00 \\u0000") == "ag/b \\\\u0067 \U0001f600 \\u0000"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("see https://user:hunter2pass@example.com/api/v1", "see https://****@example.com/api/v1"),
        ("'http://me:p@ss@127.0.0.1:9/x' refused", "'http://****@127.0.0.1:9/x' refused"),
        ("HTP://only-a-user@host", "HTP://****@host"),
    ],
)
def test_the_user_info_of_any_url_is_masked(text, masked):
    assert mask_userinfo(text) == masked
    assert Secrets().mask(text) == masked  # with no secret configured too
    # and nothing that is not user info
    innocent = "no user info: https://example.com/a@b and me@example.com"
    assert mask_userinfo(f"{text} {innocent}") == f"{masked} {innocent}"


def test_the_log_filter_masks_user_info_without_any_secret():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "GET %s failed", ("https://u:hunter2pass@h/x",), None)
    RedactingFilter(Secrets()).filter(record)
    assert record.getMessage() == "GET https://****@h/x failed"


# The Sender, against a real server --------------------------------------------------------------


@pytest.mark.parametrize("form", new_forms(WIDE))
def test_the_sender_masks_a_wide_secret_in_every_form(sandbox, form, caplog):
    """A secret with a character past U+FFFF (no header can carry it, so the Sender is given it)."""
    body = f'{{"items": [{{"id": 1, "note": "{FORMS[form](WIDE)}"}}], "meta": {{"total": 1}}}}'.encode()
    sandbox.intercept(lambda r: Answer(200, raw=body))
    services = ProviderServices(
        provider=providers()[0],
        options=ProviderOptions(api_url=sandbox.base_url("getro")),
        session=Session(),
        pacer=Pacer(None),
        limit=AdaptiveLimit(1),
        workers=Workers(1, "test"),
        secrets=Secrets([WIDE]),
    )
    sender = Sender(
        services=services,
        stream_name="jobs",
        logger=logging.getLogger("test"),
        stats=StreamStats("jobs", "/jobs"),
        check=lambda response: None,
        records_key="items",
        settings=SendSettings(max_attempts=1, timeout=5),
        stop=StopFlag(),
    )
    headers = {"X-User-Email": sandbox.getro.email, "X-User-Token": sandbox.getro.token}
    prepared = requests.Request("GET", sandbox.base_url("getro") + "/job_functions", headers=headers).prepare()
    page = sender.send(prepared, lambda payload, response: payload["items"])
    assert page.records == [{"id": 1, "note": MASK}]
    assert "echoed a credential" in caplog.text


# The tap ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", new_forms(TOKEN))
def test_a_token_echoed_into_records_with_escapes_never_reaches_stdout(tmp_path, sandbox, form):
    sandbox.getro.token = TOKEN
    config = {**sandbox.settings("getro"), **FAST}
    body = f'["Design", "echo {FORMS[form](TOKEN)}", "IT"]'.encode()
    sandbox.intercept(lambda r: Answer(200, raw=body) if r.path == "/job_functions" else None)
    run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(r["name"] for r in run.records["job_functions"]) == sorted(["Design", f"echo {MASK}", "IT"])
    assert "Getro echoed a credential in its answer on GET /getro/v2/job_functions" in run.stderr
    assert_no_piece_of(TOKEN, run.stdout, run.stderr)


@pytest.mark.parametrize("form", HIDING)
def test_a_token_echoed_into_an_error_body_with_escapes_never_reaches_stderr(tmp_path, sandbox, form):
    sandbox.getro.token = TOKEN
    config = {**sandbox.settings("getro"), **FAST}
    body = f'{{"error": "bad request", "you_sent": "{FORMS[form](TOKEN)}"}}'.encode()
    sandbox.intercept(lambda r: Answer(400, raw=body))
    run = run_in_process(tmp_path, config)
    assert run.returncode != 0
    assert "Getro answered 400" in run.stderr
    assert MASK in run.stderr
    assert_no_piece_of(TOKEN, run.stdout, run.stderr)


def test_a_password_in_an_invalid_api_url_never_reaches_a_message(tmp_path):
    url = "htp://user:hunter2pass@127.0.0.1:9/api"
    config = {"trackjobchanges_api_key": "tjk_0123456789abcdef", "trackjobchanges_api_url": url, **FAST}
    run = run_in_process(tmp_path, config)
    assert run.returncode != 0
    assert "trackjobchanges_api_url is not a valid http(s) URL: 'htp://****@127.0.0.1:9/api'" in run.stderr
    assert "hunter2pass" not in run.stderr
    assert "hunter2pass" not in run.stdout
    assert "Traceback" not in run.stderr


#: URL encoders differ: upper- or lower-case hex (.NET writes %2f), '/' kept or not, '+' for a space.
URL_FORMS = {
    "lower-hex": lambda s: re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(s, safe="")),
    "slash-kept": lambda s: quote(s),
    "plus-lower-hex": lambda s: re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote_plus(s)),
    "html": lambda s: html.escape(s),
}
URL_TOKEN = "gtk/Q7zX+9vLp=2Wm&4Rt8"


@pytest.mark.parametrize("form", sorted(URL_FORMS))
def test_a_token_echoed_url_encoded_in_any_case_never_reaches_stdout_or_stderr(tmp_path, sandbox, form):
    sandbox.getro.token = URL_TOKEN
    config = {**sandbox.settings("getro"), **FAST}
    echoed = URL_FORMS[form](URL_TOKEN)
    assert echoed != URL_TOKEN
    assert json.dumps(echoed)[1:-1] == echoed  # no JSON escape in the way
    body = json.dumps(["Design", f"https://jobs.example.com/apply?t={echoed}"]).encode()
    sandbox.intercept(lambda r: Answer(200, raw=body) if r.path == "/job_functions" else None)
    run = run_in_process(tmp_path, config)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"https://jobs.example.com/apply?t={MASK}" in [r["name"] for r in run.records["job_functions"]]
    assert echoed not in run.stdout + run.stderr
    assert_no_piece_of(echoed, run.stdout, run.stderr)
