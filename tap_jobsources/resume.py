"""Resumable runs: page-level progress in the state, so a failure costs one page.

The SDK resumes a run from its bookmarks, but a full-table partition starts again
from page 1, and so does a partition that had not finished. Here each partition's
progress lives in the state under ``"resume"``, beside the SDK's ``"bookmarks"``:

- ``page``: the page to ask for next (a page number or a cursor), written once the
  page before it was read whole; ``items``: how many items came before it;
- ``after``: in a stream with children, the id of the last record whose children
  finished too, so that a resumed run neither emits it nor reads its children again;
- ``done``: the partition is finished; a resumed run does not read it again.

Entries of a child partition go once its parent record is finished, so the state
grows with partitions (networks, connectors, groups), never with records. The section
also holds the run's ``version`` (the table version of ACTIVATE_VERSION: a resumed run
is the same logical run) and when it was last written; a run that completes removes it,
so the next run reads everything afresh.
"""

from __future__ import annotations

import json
import logging
import typing as t
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tap_jobsources.dates import iso, parse_datetime

SECTION = "resume"


@dataclass(frozen=True)
class StateSection:
    """A section a provider keeps in the state beside the SDK's bookmarks.

    ``usable(value, logger)`` returns what of an input state's section can be used (None:
    none of it), with a WARNING for what is dropped: a section the tap cannot use is never
    obeyed, and what is dropped is never written back."""

    name: str
    usable: t.Callable[[t.Any, logging.Logger], dict | None]


def times_by_key(name: str, field: str) -> StateSection:
    """A section that keeps one date-time per key (a network, a group) under ``field``."""

    def usable(value: t.Any, logger: logging.Logger) -> dict | None:
        times = value.get(field) if isinstance(value, dict) else None
        if not isinstance(times, dict):
            logger.warning("The state's '%s' section is not of a shape this tap writes: ignored.", name)
            return None
        kept = {}
        for key, when in times.items():
            try:
                parse_datetime(when)
                kept[key] = when
            except (TypeError, ValueError):
                logger.warning(
                    "The state's %s.%s.%s is %r, not a date-time: ignored.", name, field, key, str(when)[:40]
                )
        return {field: kept}

    return StateSection(name, usable)


def partition_key(context: t.Mapping | None) -> str:
    """A partition's name in the state: its context as compact JSON ("" for none)."""
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":")) if context else ""


class PartitionProgress:
    """One partition's entry in the state (a dict inside it, changed in place)."""

    __slots__ = ("entry",)

    def __init__(self, entry: dict) -> None:
        self.entry = entry

    @property
    def done(self) -> bool:
        return bool(self.entry.get("done"))

    @property
    def page(self) -> t.Any:
        return self.entry.get("page")

    @property
    def items(self) -> int:
        return int(self.entry.get("items", 0))

    @property
    def after(self) -> t.Any:
        return self.entry.get("after")

    def record_done(self, key: t.Any) -> None:
        self.entry["after"] = key

    def page_done(self, next_page: t.Any, items: int) -> None:
        """The page was read whole: the next run would start at ``next_page``."""
        self.entry["page"] = next_page
        self.entry["items"] = self.items + items
        self.entry.pop("after", None)

    def restart(self) -> None:
        self.entry.clear()

    def finish(self) -> None:
        self.entry.clear()
        self.entry["done"] = True


class RunProgress:
    """The logical run's progress, kept in (and read from) the tap's state."""

    def __init__(
        self, state: dict, *, version: int, within_hours: float, logger: logging.Logger, now: datetime | None = None
    ) -> None:
        self._state = state
        self._logger = logger
        now = now or datetime.now(UTC)
        section = state.get(SECTION)
        if section is not None and self._usable(section, now, within_hours):
            self.version = int(section["version"])
            section["streams"] = _usable_streams(section["streams"], logger)
        else:
            self.version = version
            section = {"version": version, "streams": {}}
        section["written"] = iso(now)
        state[SECTION] = section
        self._section = section
        self._streams: dict[str, dict[str, dict]] = section["streams"]

    def _usable(self, section: t.Any, now: datetime, within_hours: float) -> bool:
        try:
            written = parse_datetime(section["written"])
            if not _is_int(section["version"]) or not isinstance(section["streams"], dict):
                raise TypeError
        except (KeyError, TypeError, ValueError, AttributeError):
            self._logger.warning(
                "The state's '%s' section (page progress) is not of a shape this tap writes: ignored, "
                "every partition is read from its bookmark.",
                SECTION,
            )
            return False
        age = now - written
        if age > timedelta(hours=within_hours):
            self._logger.info(
                "The interrupted run's page progress is %.1f h old, more than resume_within_hours (%g): "
                "ignored, every partition is read afresh (bookmarks still apply).",
                age.total_seconds() / 3600,
                within_hours,
            )
            return False
        self._logger.info(
            "Resuming the interrupted run of %s: finished partitions are not read again.", written.isoformat()
        )
        return True

    def partition(self, stream: str, context: t.Mapping | None) -> PartitionProgress:
        entries = self._streams.setdefault(stream, {})
        return PartitionProgress(entries.setdefault(partition_key(context), {}))

    def peek(self, stream: str, context: t.Mapping | None) -> dict:
        """A partition's entry, without making one ({} when it has none)."""
        return self._streams.get(stream, {}).get(partition_key(context)) or {}

    def forget(self, streams: t.Iterable[str]) -> None:
        """Drop the entries of these streams (children of a record that is finished)."""
        for name in streams:
            entries = self._streams.get(name)
            if entries:
                entries.clear()

    def section(self, name: str) -> dict:
        """A provider's own section of the state (made when missing): the state stays the
        run's, and a provider keeps its bookkeeping there through this, not by reaching in."""
        value = self._state.setdefault(name, {})
        if not isinstance(value, dict):  # the tap dropped an unusable one when it loaded the state
            value = self._state[name] = {}
        return value

    def touch(self, now: datetime | None = None) -> None:
        self._section["written"] = iso(now or datetime.now(UTC))

    def complete(self) -> None:
        """The run finished: the next run reads everything afresh."""
        self._state.pop(SECTION, None)


#: What an entry of a partition may hold, and of which types (``ids``: a listed partition's ids).
_ENTRY_FIELDS: dict[str, tuple[type, ...]] = {
    "done": (bool,),
    "page": (int, str, type(None)),
    "items": (int,),
    "after": (int, str),
    "ids": (list,),
    "started": (str,),  # when the interrupted run began reading the partition
}


def _is_int(value: t.Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def entry_problem(entry: t.Any) -> str | None:
    """Why a partition's entry cannot be used (None: it can)."""
    if not isinstance(entry, dict):
        return f"a {type(entry).__name__}, not an object"
    for key, value in entry.items():
        kinds = _ENTRY_FIELDS.get(key)
        if kinds is None:
            return f"an unknown field '{key}'"
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            return f"'{key}' is {json.dumps(value)[:40]}"
    if "items" in entry and entry["items"] < 0:
        return "'items' is negative"
    if "ids" in entry and not all(_is_int(i) or isinstance(i, str) for i in entry["ids"]):
        return "'ids' holds something other than ids"
    return None


def _usable_streams(streams: dict, logger: logging.Logger) -> dict:
    """The entries of the section that can be used; one WARNING for each that cannot."""
    usable: dict[str, dict] = {}
    for name, entries in streams.items():
        if not isinstance(entries, dict):
            logger.warning(
                "The state's %s.streams.%s is a %s, not an object: ignored, read from its bookmark.",
                SECTION,
                name,
                type(entries).__name__,
            )
            continue
        usable[name] = {}
        for key, entry in entries.items():
            problem = entry_problem(entry)
            if problem is None:
                usable[name][key] = entry
                continue
            logger.warning(
                "The state's page progress of %s [%s] is not of a shape this tap writes (%s): ignored, "
                "that partition is read from its bookmark.",
                name,
                key or "whole stream",
                problem,
            )
    return usable
