"""Keep secrets out of logs, messages and records.

The tap is built so that no secret reaches a URL, a message, a record or a state
(credentials travel in headers only, partitions are named, not keyed, by tokens).
This module is the second line. It masks a secret in every form a library or a
server may print it in (as given, stripped, ``repr``-escaped, JSON-escaped,
URL-encoded) and any piece of it of :data:`PIECE` characters or more, so that an
excerpt cut through the middle of a token still shows none of it; and the user
info of any URL (``https://user:password@host``), secret or not, configured or not.
A response body is searched as a JSON parser reads it (:meth:`Secrets.in_answer`):
a server may write a secret with escapes (``\\/``, ``\\u0067``, surrogate pairs).
"""

from __future__ import annotations

import html
import json
import logging
import re
import typing as t
from urllib.parse import quote, quote_plus

import msgspec

MASK = "****"
#: Any run of this many characters of a secret is masked, wherever it stands.
PIECE = 8
#: Shorter values are not masked: "k" would mask every k of every line (and is no secret).
SHORTEST = 4

#: ``scheme://user:password@`` (the user info runs to the last ``@`` before the host's end:
#: a password may hold a raw ``@``); quotes end it, so ``'...'`` in a message stays whole.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#\s'\"<>]*@")


#: A JSON escape a parser turns into another character: ``\\uXXXX`` (a surrogate pair as one)
#: or ``\\/``; ``\\\\`` is matched too, so that the backslash it writes starts no escape.
_ESCAPE = re.compile(r"\\(?:u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|u([0-9a-f]{4})|(/)|\\)", re.IGNORECASE)


#: The escapes that let a JSON string write a character in more than one way.
_OTHER_ESCAPES = re.compile(rb"\\[u/]")


def _unescaped(match: re.Match[str]) -> str:
    high, low, one, solidus = match.groups()
    if high:
        return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))
    if one:
        code = int(one, 16)
        # A control character or a lone surrogate stays written as it was: text for a log line.
        return match.group(0) if code < 0x20 or 0xD800 <= code <= 0xDFFF else chr(code)
    return "/" if solidus else match.group(0)


def unescape_json(text: str) -> str:
    """``text`` (a raw JSON body, or a piece of one) with its ``\\u`` and ``\\/`` escapes
    written as the characters they stand for, so that a secret written with them shows
    as itself, and is masked as itself."""
    if "\\u" not in text and "\\/" not in text:
        return text
    return _ESCAPE.sub(_unescaped, text)


def mask_userinfo(text: str) -> str:
    """``text`` with the user info of every URL in it replaced by :data:`MASK`."""
    if "://" not in text or "@" not in text:  # the common case: two scans, no regex
        return text
    return _USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)


def forms(secret: str) -> set[str]:
    """The ways a secret may be written out: as given, stripped, escaped, URL-encoded (with upper-
    or lower-case hex, '/' kept or not, as encoders differ), HTML-escaped."""
    found = {secret}
    for value in (secret, secret.strip()):
        encoded = {quote(value, safe=""), quote(value), quote_plus(value), quote_plus(value, safe="/")}
        encoded |= {_LOWER_HEX.sub(lambda m: m.group().lower(), e) for e in encoded}
        found |= {value, repr(value)[1:-1], json.dumps(value)[1:-1], html.escape(value), *encoded}
    return {f for f in found if len(f) >= SHORTEST}


_LOWER_HEX = re.compile(r"%[0-9A-F]{2}")


class Secrets:
    """The secrets of one configuration, and how to mask them in text and in bytes."""

    def __init__(self, values: t.Iterable[str] = ()) -> None:
        self.values: set[str] = set()
        self._whole: list[str] = []  # forms too short to cut into pieces, longest first
        self._pieces: set[str] = set()
        self._needles: list[bytes] = []  # what to look for in a raw response body
        self._canonical: list[bytes] = []  # the same, as a body without \\u or \\/ escapes writes them
        self.add(values)

    def add(self, values: t.Iterable[str]) -> None:
        new = {v for v in values if isinstance(v, str) and v} - self.values
        if not new:
            return
        self.values |= new
        whole = set(self._whole)
        for secret in new:
            for form in forms(secret):
                if len(form) >= PIECE:
                    self._pieces.update(form[i : i + PIECE] for i in range(len(form) - PIECE + 1))
                else:
                    whole.add(form)
        self._whole = sorted(whole, key=len, reverse=True)
        self._needles = sorted({f.encode("utf-8", "replace") for s in self.values for f in forms(s)}, key=len)
        # What a JSON writer that escapes only '"', '\\' and control characters (msgspec,
        # json.dumps(ensure_ascii=False)) writes for each form: how it stands in a body with
        # no other escape, and in any body once its parse is encoded again (in_answer).
        self._canonical = sorted(
            {json.dumps(f, ensure_ascii=False)[1:-1].encode("utf-8", "replace") for s in self.values for f in forms(s)},
            key=len,
        )

    def __bool__(self) -> bool:
        return bool(self.values)

    def mask(self, text: str) -> str:
        """``text`` with every secret form and every piece of one replaced by :data:`MASK`,
        and the user info of any URL."""
        if not text:
            return text
        text = mask_userinfo(text)
        if not self.values:
            return text
        text = self._mask_pieces(text)  # first: a short secret inside a long one must not break it up
        for form in self._whole:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def _mask_pieces(self, text: str) -> str:
        pieces = self._pieces
        if not pieces or len(text) < PIECE:
            return text
        hidden = bytearray(len(text))
        hit = False
        for i in range(len(text) - PIECE + 1):
            if text[i : i + PIECE] in pieces:
                hidden[i : i + PIECE] = b"\x01" * PIECE
                hit = True
        if not hit:
            return text
        out, i = [], 0
        while i < len(text):
            if hidden[i]:
                while i < len(text) and hidden[i]:
                    i += 1
                out.append(MASK)
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    def in_body(self, content: bytes) -> bool:
        """Whether a raw body holds a whole secret in any form (cheap: one scan per form)."""
        return any(needle in content for needle in self._needles)

    def in_answer(self, content: bytes | bytearray, payload: t.Any) -> bool:
        """Whether a JSON body holds a whole secret in any form as its parser reads it
        (``payload`` is that parse).

        Without ``\\u`` or ``\\/``, JSON writes each character one way (``"``, ``\\`` and
        control characters by their short escapes), so the raw body is searched, as before.
        With them, a secret may hide behind ``\\/`` for ``/``, ``\\u0067`` for ``g`` or a
        surrogate pair: the parse is encoded again by msgspec, in that one way, and that is
        searched instead. Only such bodies pay for it: one encode, about a third of the decode
        (measured: 42 against 9 us of CPU on a 47 KB Getro jobs page with 1,480 \\u003c escapes).
        """
        if not self._canonical:
            return False
        haystack: bytes | bytearray = content
        # A backslash first (memchr); then one regex scan, quicker than two 2-byte searches.
        if b"\\" in content and _OTHER_ESCAPES.search(content) is not None:
            try:
                haystack = msgspec.json.encode(payload)
            except (TypeError, ValueError, OverflowError):  # not what a JSON reader gives: be thorough
                haystack = json.dumps(payload, ensure_ascii=False).encode("utf-8", "replace")
        return any(needle in haystack for needle in self._canonical)

    def scrub(self, value: t.Any) -> t.Any:
        """``value`` (decoded JSON) with secrets masked in every string, keys included."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, dict):
            return {self.mask(k): self.scrub(v) for k, v in value.items()}
        return value


#: The secrets of the running tap, for code far from its config (error excerpts).
ACTIVE = Secrets()


def redact(text: str) -> str:
    """``text`` with the running tap's secrets masked."""
    return ACTIVE.mask(text)


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Secrets):
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        # Even without secrets: a URL's user info is one (mask_userinfo).
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is still written
            return True
        clean = self.secrets.mask(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.secrets.mask(record.exc_text)
        return True


def install(secrets: t.Iterable[str]) -> Secrets:
    """Know ``secrets`` from now on, and mask them on every handler now configured
    (the SDK's stderr handler among them)."""
    ACTIVE.add(secrets)
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter(ACTIVE))
    return ACTIVE
