"""Timestamps as the three APIs write them (ISO 8601, often with a trailing Z)."""

from __future__ import annotations

from datetime import datetime, timezone


def parse_datetime(value: str) -> datetime:
    """An aware datetime; one without an offset is taken as UTC."""
    parsed = datetime.fromisoformat(value)  # Python 3.11+ reads "Z"
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def iso(moment: datetime) -> str:
    """Millisecond precision and a Z, as the APIs write them."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
