"""Timestamps as the three APIs write them (ISO 8601, often with a trailing Z)."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_datetime(value: str) -> datetime:
    """An aware datetime; one without an offset is taken as UTC."""
    parsed = datetime.fromisoformat(value)  # Python 3.11+ reads "Z"
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    """Millisecond precision and a Z, as the APIs write them."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def canonical(value: str) -> str:
    """The same instant in one fixed-width UTC form (``2026-05-01T08:00:00.000000Z``).

    The SDK compares replication-key values as strings: across mixed forms (``Z``,
    ``+02:00``, with or without fractions) the largest string is not the latest time.
    """
    return parse_datetime(value).astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
