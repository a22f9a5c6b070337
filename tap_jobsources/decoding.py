"""Reading a JSON body: fast, tolerant where the fast decoder is strict, and storable.

msgspec rejects some bodies that JSON readers accept (an escaped lone surrogate such
as ``"\\ud83d"``, a raw control character in a string): one such job title would make
a page fail on every retry, so the run could never pass it. Those bodies are read
again with Python's own reader. Strings a PostgreSQL target cannot store (lone
surrogates, NUL) are then replaced with U+FFFD, each field warned about once.
"""

from __future__ import annotations

import json
import logging
import re
import typing as t

import msgspec

_fast = msgspec.json.Decoder().decode
_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")
REPLACEMENT = "\ufffd"


class BodyDecodeError(ValueError):
    """No JSON reader accepts this body."""


class TooDeepError(BodyDecodeError):
    """The body nests arrays or objects deeper than a JSON reader recurses (about 1,000 levels
    for msgspec and json alike: both raise RecursionError, which must not escape as one)."""


def decode(content: bytes | bytearray) -> tuple[t.Any, bool]:
    """(payload, whether its strings may need cleaning)."""
    try:
        payload = _fast(content)
    except RecursionError:
        raise TooDeepError("nested deeper than a JSON reader recurses") from None
    except msgspec.DecodeError:
        try:
            return json.loads(content, strict=False), True
        except RecursionError:
            raise TooDeepError("nested deeper than a JSON reader recurses") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise BodyDecodeError(str(exc)) from None
    # A body without a backslash has no escaped NUL (one memchr, not a substring scan).
    return payload, b"\\" in content and b"\\u0000" in content


class StringCleaner:
    """Replaces unstorable characters in a decoded body; one warning per stream and field."""

    def __init__(self, stream_name: str, logger: logging.Logger, records_key: str | None) -> None:
        self.stream_name = stream_name
        self.logger = logger
        self.records_key = records_key
        self._warned: set[str] = set()

    def __call__(self, payload: t.Any) -> t.Any:
        return self._clean(payload, "")

    def _clean(self, value: t.Any, path: str) -> t.Any:
        if isinstance(value, str):
            if _UNSTORABLE.search(value) is None:
                return value
            self._warn(path)
            return _UNSTORABLE.sub(REPLACEMENT, value)
        if isinstance(value, list):
            return [self._clean(v, path) for v in value]
        if isinstance(value, dict):
            return {k: self._clean(v, self._child(path, k)) for k, v in value.items()}
        return value

    def _child(self, path: str, key: str) -> str:
        if not path and key == self.records_key:
            return ""  # name fields as a record has them, not under the page's envelope
        return f"{path}.{key}" if path else key

    def _warn(self, path: str) -> None:
        if path not in self._warned:
            self._warned.add(path)
            self.logger.warning(
                "Stream %s: field %s holds characters a database cannot store (a lone surrogate or NUL): "
                "replaced with U+FFFD (further cases not logged).",
                self.stream_name,
                path or "(value)",
            )
