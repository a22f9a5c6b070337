"""Timestamps as the three APIs write them, in every form their docs show.

The emulator's own code: it shares nothing with the tap, so a date bug cannot hide in
both. Data is written in a mix of forms on purpose (``Z`` or ``+00:00`` or another
offset, with milliseconds or without), and filters compare instants, never strings.
"""

from __future__ import annotations

import contextlib
import typing as t
from datetime import UTC, datetime, timedelta, timezone

#: The forms used, in turn: Z with ms, Z, +00:00 with ms, -05:00, +02:00 with ms.
MIXED = (("Z", True, 0), ("Z", False, 0), ("+00:00", True, 0), ("-05:00", False, -5), ("+02:00", True, 2))
#: The one form every example in the three APIs' docs shows: UTC, Z, milliseconds.
DOCS = (("Z", True, 0),)
_FORMS = MIXED


@contextlib.contextmanager
def forms(which: tuple) -> t.Iterator[None]:
    """Write the stamps made inside this block in these forms (data is made when an API is built)."""
    global _FORMS
    before, _FORMS = _FORMS, which
    try:
        yield
    finally:
        _FORMS = before


def stamp(moment: datetime, variant: int = 0) -> str:
    """``moment`` written in form number ``variant`` (any integer; forms repeat)."""
    suffix, millis, hours = _FORMS[variant % len(_FORMS)]
    local = moment.astimezone(timezone(timedelta(hours=hours)))
    text = local.isoformat(timespec="milliseconds" if millis else "seconds")
    if suffix == "Z":
        return text.replace("+00:00", "Z")
    return text


def instant(value: str) -> datetime:
    """An aware datetime from any of the forms (no offset: UTC)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
