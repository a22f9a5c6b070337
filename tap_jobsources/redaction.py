"""Keep secrets out of logs, messages and records.

The tap is built so that no secret reaches a URL, a message, a record or a state
(credentials travel in headers only, partitions are named, not keyed, by tokens).
This module is the second line. It masks a secret in every form a library or a
server may print it in (as given, stripped, ``repr``-escaped, JSON-escaped,
URL-encoded) and any piece of it of :data:`PIECE` characters or more, so that an
excerpt cut through the middle of a token still shows none of it.
"""

from __future__ import annotations

import json
import logging
import typing as t
from urllib.parse import quote, quote_plus

MASK = "****"
#: Any run of this many characters of a secret is masked, wherever it stands.
PIECE = 8
#: Shorter values are not masked: "k" would mask every k of every line (and is no secret).
SHORTEST = 4


def forms(secret: str) -> set[str]:
    """The ways a secret may be written out: as given, stripped, escaped, URL-encoded."""
    found = {secret}
    for value in (secret, secret.strip()):
        found |= {value, repr(value)[1:-1], json.dumps(value)[1:-1], quote(value, safe=""), quote_plus(value)}
    return {f for f in found if len(f) >= SHORTEST}


class Secrets:
    """The secrets of one configuration, and how to mask them in text and in bytes."""

    def __init__(self, values: t.Iterable[str] = ()) -> None:
        self.values: set[str] = set()
        self._whole: list[str] = []  # forms too short to cut into pieces, longest first
        self._pieces: set[str] = set()
        self._needles: list[bytes] = []  # what to look for in a raw response body
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

    def __bool__(self) -> bool:
        return bool(self.values)

    def mask(self, text: str) -> str:
        """``text`` with every secret form and every piece of one replaced by :data:`MASK`."""
        if not self.values or not text:
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
        if not self.secrets:
            return True
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
