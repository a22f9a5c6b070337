"""Timestamps as the three APIs write them (ISO 8601, often with a trailing Z).

A date-time that cannot be moved to UTC (``9999-12-31T23:30:00-05:00`` is past year 9999 in UTC)
is a bad value like any other: the parsers here raise ``ValueError`` for it, never ``OverflowError``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def parse_datetime(value: str) -> datetime:
    """An aware datetime in UTC; one without an offset is taken as UTC. ``ValueError`` when it is
    not a date-time or its instant has no UTC form."""
    parsed = datetime.fromisoformat(value)  # Python 3.11+ reads "Z"
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!r} has no UTC form (out of range)") from None


def instant(value: object) -> datetime | None:
    """A date-time string's instant, in UTC (None: not a string, or not a date-time)."""
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def iso(moment: datetime) -> str:
    """Millisecond precision and a Z, as the APIs write them."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def canonical(value: str) -> str:
    """The same instant in one fixed-width UTC form (``2026-05-01T08:00:00.000000Z``).

    The SDK compares replication-key values as strings: across mixed forms (``Z``,
    ``+02:00``, with or without fractions) the largest string is not the latest time.
    """
    return parse_datetime(value).isoformat(timespec="microseconds").replace("+00:00", "Z")


#: Clocks differ, and an item may change while its list is read: a change stamped this long before the
#: last complete read's newest stamp (less the read's own length) still counts as new (README).
CLOCK_MARGIN = timedelta(minutes=10)


class Watermark:
    """The newest of a server's own times seen in one read, made into the next read's cut-off: the
    cut-off compares with that server's times, so it is made of them, never of the tap's clock."""

    __slots__ = ("newest", "not_after")

    def __init__(self) -> None:
        self.newest: datetime | None = None
        #: Later times are not taken: one row dated in the future (a typo, a bad import) would
        #: lift the cut-off to the run's start, the tap's clock, and changes a server whose clock
        #: runs behind stamps after it would never be read. A server ahead of the tap only makes
        #: the cut-off earlier: more read again, nothing missed.
        self.not_after = datetime.now(UTC)

    def see(self, *values: object) -> None:
        for value in values:
            if not isinstance(value, str):
                continue
            try:
                moment = parse_datetime(value)
            except ValueError:
                continue
            if (self.newest is None or moment > self.newest) and moment <= self.not_after:
                self.newest = moment

    def cutoff(self, *, began: datetime, now: datetime, margin: timedelta = CLOCK_MARGIN) -> datetime | None:
        """The newest time seen, less how long the read took (a change made while it ran, to an item
        already passed, is stamped no earlier than the read's start) and a margin (None: none seen)."""
        if self.newest is None:
            return None
        try:
            return self.newest - max(now - began, timedelta(0)) - margin
        except OverflowError:
            return None
