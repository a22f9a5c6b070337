"""The one object in front of the tap's state: :class:`RunState`.

The state dict holds three kinds of entries, each read and written only through RunState:

- the SDK's ``bookmarks`` (one per stream, or per partition): read with :meth:`RunState.lower_bound`,
  moved with :meth:`RunState.finish_partition` (the SDK's own key names live in ``sdk_compat``);
- the run's page progress, ``resume``: per partition the page to ask for next (a page number or a
  cursor), how many items came before it, the total the list had then, and, in a stream with
  children, the last record whose children finished (``after``); ``done`` once it is finished. A
  resumed run reads no finished partition again and asks again at most for the page each
  unfinished one was reading. It also holds the run's ``version`` (a resumed run is the same
  logical run) and when it was written; a run that completes removes it;
- the providers' own sections (``getro``, ``trackjobchanges``): one time per key (a network, a
  group), declared by the provider as a :class:`TimesSection`;
- ``complete_reads``: per full-table stream, the table versions of its last complete reads (a few
  numbers a stream). ACTIVATE_VERSION carries one of them, not this run's version, so a row is
  retired only once ``retire_after_missed_reads`` complete reads in a row missed it.

The order that makes a STATE safe at the end of a partition, "the bookmark promoted, then the
partition marked done", is one method: :meth:`RunState.finish_partition`. No bookmark and no
section time is ever later than the run's start; one read from an input state that is later (a
host whose clock runs ahead) is not obeyed, with a warning.
"""

from __future__ import annotations

import json
import logging
import typing as t
from datetime import UTC, datetime, timedelta

from tap_jobsources import sdk_compat
from tap_jobsources.dates import Watermark, instant, iso, parse_datetime
from tap_jobsources.plugin import TimesSection

if t.TYPE_CHECKING:
    from singer_sdk import Stream
    from singer_sdk.helpers.types import Context

RESUME = "resume"
#: The versions of each full-table stream's last complete reads, oldest first.
COMPLETE_READS = "complete_reads"
#: The resume section's record of streams left incomplete, and how many reasons it keeps of each.
INCOMPLETE = "incomplete"
#: The resume section's record of the streams the run selected.
SELECTED = "selected"
KEPT_REASONS = 3


def partition_key(context: t.Mapping | None) -> str:
    """A partition's name in the state: its context as compact JSON ("" for none)."""
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":")) if context else ""


class PartitionProgress:
    """One partition's entry in the ``resume`` section (a dict inside the state, changed in place)."""

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
    def total(self) -> int | None:
        """The list's total when the page before ``page`` was read."""
        return self.entry.get("total")

    @property
    def after(self) -> t.Any:
        return self.entry.get("after")

    @property
    def finished(self) -> list | None:
        """The ids of the records on the page being read whose children finished (None: not kept)."""
        return self.entry.get("finished")

    @property
    def last_ids(self) -> list | None:
        """The ids of the page read last (a numbered list), so a resumed read knows them again."""
        return self.entry.get("last_ids")

    def record_done(self, key: t.Any) -> None:
        # By id, not by position: a list whose order differs from one answer to the next (equal
        # timestamps) gives the page again in another order.
        self.entry["after"] = key
        self.entry.setdefault("finished", []).append(key)

    def page_done(self, next_page: t.Any, items: int, total: int | None, ids: list[t.Any] | None = None) -> None:
        """A page was read whole: a resumed run would start at ``next_page``."""
        self.entry["page"] = next_page
        self.entry["items"] = self.items + items
        if total is None:
            self.entry.pop("total", None)
        else:
            self.entry["total"] = total
        if ids is None:
            self.entry.pop("last_ids", None)
        else:
            self.entry["last_ids"] = ids
        self.entry.pop("after", None)
        self.entry.pop("finished", None)

    def restart(self) -> None:
        self.entry.clear()


class RunState:
    """The tap's state for one run (see the module's docstring)."""

    def __init__(
        self,
        state: dict,
        *,
        version: int,
        run_start: datetime,
        within_hours: float,
        sections: t.Iterable[TimesSection],
        logger: logging.Logger,
    ) -> None:
        self._state = state
        self._logger = logger
        self.run_start = run_start
        state.setdefault("bookmarks", {})
        for section in sections:
            self._check_section(section)
        resume = state.get(RESUME)
        if resume is not None and self._usable(resume, within_hours):
            self.version = int(resume["version"])
            resume["streams"] = _usable_streams(resume["streams"], logger)
        else:
            self.version = version
            resume = {"version": version, "streams": {}}
        resume["written"] = iso(run_start)
        state[RESUME] = resume
        self._resume = resume
        #: Streams a partition of which was skipped or unproven in this logical run (an interrupted
        #: run included), with a few of the reasons: no ACTIVATE_VERSION for them when it ends.
        self._incomplete: dict[str, list[str]] = resume.setdefault(INCOMPLETE, {})
        self._streams: dict[str, dict[str, dict]] = resume["streams"]
        self._warned_future: set[tuple[str, str]] = set()
        self._foreign: dict[str, t.Any] = {}
        self._reads = self._check_reads()

    @property
    def value(self) -> dict:
        """The state as a STATE message carries it."""
        return self._state

    # Page progress ----------------------------------------------------------------------

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

    def note_selected(self, names: t.Collection[str]) -> list[str]:
        """This run's selected streams, kept in the resume section: those the interrupted run this one
        resumes did not select (none for a fresh run, or a section that did not say)."""
        before = self._resume.get(SELECTED)
        self._resume[SELECTED] = sorted(names)
        if not isinstance(before, list) or not all(isinstance(n, str) for n in before):
            return []
        return sorted(set(names) - set(before))

    def has_progress(self, stream: str) -> bool:
        """Whether the interrupted run made progress in ``stream`` (a partition begun or finished)."""
        return any(self._streams.get(stream, {}).values())

    def carried_incomplete(self) -> dict[str, list[str]]:
        """What the interrupted run this one resumes left incomplete, stream by stream."""
        return {
            name: [f"{reason} (in the interrupted run)" for reason in reasons]
            for name, reasons in self._incomplete.items()
        }

    def keep_incomplete(self, stream: str, reason: str) -> None:
        """A partition of ``stream`` was skipped or unproven: kept for a resumed run (a few reasons a
        stream, so that the state grows with streams, not with partitions)."""
        reasons = self._incomplete.setdefault(stream, [])
        if len(reasons) < KEPT_REASONS and reason not in reasons:
            reasons.append(reason)

    def touch(self, now: datetime | None = None) -> None:
        self._resume["written"] = iso(now or datetime.now(UTC))

    def complete(self) -> None:
        """The run finished: the next run reads everything afresh."""
        self._state.pop(RESUME, None)

    # Complete reads -------------------------------------------------------------------------

    def read_complete(self, stream: str, misses: int) -> int | None:
        """``stream`` was read whole and proven this run: the version its ACTIVATE_VERSION carries,
        so that a target retires (``version < v``) only rows that ``misses`` complete reads in a row
        missed: this run's version for 1, else the complete read ``misses - 1`` reads back (None:
        too few complete reads yet, nothing to retire). This run is kept as the newest of them."""
        versions = self._reads.get(stream, [])
        retire = self.version if misses <= 1 else (versions[-(misses - 1)] if len(versions) >= misses - 1 else None)
        kept = [v for v in versions if v != self.version] + [self.version]
        self._reads[stream] = kept[-max(1, misses - 1) :]
        self._state[COMPLETE_READS] = self._reads
        return retire

    def _check_reads(self) -> dict[str, list[int]]:
        """The input state's complete reads that can be used: lists of versions older than this run's
        (a version from a clock that ran ahead would retire rows this run read; never obeyed)."""
        value = self._state.get(COMPLETE_READS)
        if value is None:
            return {}
        reads: dict[str, list[int]] = {}
        if not isinstance(value, dict):
            self._logger.warning(
                "The state's '%s' section is not of a shape this tap writes: ignored (nothing is retired "
                "until complete reads are counted again).",
                COMPLETE_READS,
            )
            value = {}
        for stream, versions in value.items():
            if not isinstance(versions, list) or not all(_is_int(v) and 0 < v < self.version for v in versions):
                self._logger.warning(
                    "The state's %s.%s is %s, not a list of versions older than this run's (%d): ignored; "
                    "nothing of %s is retired until it has been read whole again.",
                    COMPLETE_READS,
                    stream,
                    json.dumps(versions, default=str)[:60],
                    self.version,
                    stream,
                )
                continue
            reads[str(stream)] = sorted(versions)
        self._state[COMPLETE_READS] = reads  # never written back as it came
        return reads

    # Bookmarks ----------------------------------------------------------------------------

    def lower_bound(self, stream: Stream, context: Context | None, start_date: datetime | None) -> datetime | None:
        """Where an incremental partition starts: its bookmark, else ``start_date``. A bookmark later
        than the run's start (written by a clock that ran ahead) says nothing of when the partition was
        last read: it is read as if absent, from ``start_date`` (the whole history without one), so
        nothing between the real last read and now is skipped."""
        value = sdk_compat.bookmark(stream.get_context_state(context))
        bookmark = instant(value)
        if bookmark is not None and bookmark > self.run_start:
            where = (stream.name, partition_key(context))
            if where not in self._warned_future:
                self._warned_future.add(where)
                self._logger.warning(
                    "The state's bookmark of %s%s is %s, later than this run's start (%s): a clock ran ahead, so it "
                    "cannot say when this was last read. Reading it as if it had no bookmark (from %s); the "
                    "bookmark written will not be later than the run's start.",
                    stream.name,
                    f" [{where[1]}]" if where[1] else "",
                    value,
                    iso(self.run_start),
                    f"start_date {iso(start_date)}" if start_date else "the start of its history",
                )
            bookmark = None
        if bookmark is None:
            return start_date
        return bookmark if start_date is None else max(bookmark, start_date)

    def keep_bookmark(self, stream: Stream, context: Context | None) -> None:
        """Start the partition's progress at its bookmark: the SDK promotes the largest value emitted,
        which may be older than the bookmark when the API filters on another clock."""
        if stream.replication_key:
            sdk_compat.seed_progress(stream.get_context_state(context), stream.replication_key)

    def finish_partition(
        self,
        stream: Stream,
        context: Context | None,
        progress: PartitionProgress,
        descendants: t.Iterable[Stream] = (),
    ) -> None:
        """The partition was read whole: first its bookmark (and those of descendants whose state is
        kept per this partition) promoted, capped at the run's start; only then marked done. A STATE
        between the two would claim a finished partition whose bookmark had not moved."""
        cap = self.bookmark_cap
        for state in _bookmarks_of(stream, context, descendants):
            sdk_compat.promote(state, cap)
        progress.entry.clear()
        progress.entry["done"] = True

    def abandon_partition(
        self,
        stream: Stream,
        context: Context | None,
        progress: PartitionProgress,
        descendants: t.Iterable[Stream] = (),
    ) -> None:
        """The partition was skipped or its read could not be proven: its bookmark (and those kept per
        it below) stays where it was, so the next run reads it again; this run does not."""
        for state in _bookmarks_of(stream, context, descendants):
            sdk_compat.drop_progress(state)
        progress.entry.clear()
        progress.entry["done"] = True

    @property
    def bookmark_cap(self) -> str:
        """The latest value a bookmark may take: the run's start."""
        return sdk_compat.canonical_value(self.run_start)

    def set_aside_foreign(self, known: t.Collection[str]) -> None:
        """Bookmarks of streams this tap does not have are kept, but written once, in the final STATE."""
        self._foreign = sdk_compat.set_aside(self._state, known)

    def restore_foreign(self) -> None:
        """Put the set-aside bookmarks back (just before the final STATE)."""
        self._state.setdefault("bookmarks", {}).update(self._foreign)

    # Provider sections --------------------------------------------------------------------

    def times(self, section: TimesSection) -> dict[str, str]:
        """A section's times by key, changed in place."""
        value = self._state.setdefault(section.name, {})
        if not isinstance(value, dict):
            value = self._state[section.name] = {}
        times = value.setdefault(section.field, {})
        if not isinstance(times, dict):
            times = value[section.field] = {}
        return times

    def time_of(self, section: TimesSection, key: str) -> datetime | None:
        value = self._state.get(section.name)
        times = value.get(section.field) if isinstance(value, dict) else None
        return instant(times.get(key)) if isinstance(times, dict) else None

    def number_of(self, section: TimesSection, key: str) -> int | None:
        value = self._state.get(section.name)
        numbers = value.get(section.field) if isinstance(value, dict) else None
        number = numbers.get(key) if isinstance(numbers, dict) else None
        return number if _is_int(number) else None

    def set_number(self, section: TimesSection, key: str, number: int) -> None:
        numbers: dict[str, t.Any] = self.times(section)
        numbers[key] = number

    def set_time(self, section: TimesSection, key: str, when: datetime) -> None:
        """Keep ``when`` for ``key``, never later than the run's start."""
        self.times(section)[key] = iso(min(when, self.run_start))

    def set_cutoff(self, section: TimesSection, key: str, seen: Watermark | None, began: datetime) -> None:
        """Keep for ``key`` the next read's cut-off, made of the server's own times ``seen`` by a read
        that ``began`` then and was proven whole (nothing kept when it saw none)."""
        cutoff = seen.cutoff(began=began, now=datetime.now(UTC)) if seen is not None else None
        if cutoff is not None:
            self.set_time(section, key, cutoff)

    def _check_section(self, section: TimesSection) -> None:
        """What of an input state's section can be used; a WARNING for what is dropped (never obeyed,
        never written back)."""
        if section.name not in self._state:
            return
        value = self._state[section.name]
        times = value.get(section.field) if isinstance(value, dict) else None
        if times is None and isinstance(value, dict):
            return
        if not isinstance(times, dict):
            self._logger.warning("The state's '%s' section is not of a shape this tap writes: ignored.", section.name)
            self._state[section.name] = {}
            return
        kept = {}
        for key, when in times.items():
            if section.numbers:
                if _is_int(when) and when >= 0:
                    kept[key] = when
                else:
                    self._logger.warning(
                        "The state's %s.%s.%s is %r, not a whole number: ignored.",
                        section.name,
                        section.field,
                        key,
                        str(when)[:40],
                    )
                continue
            moment = instant(when)
            if moment is None:
                self._logger.warning(
                    "The state's %s.%s.%s is %r, not a date-time: ignored.",
                    section.name,
                    section.field,
                    key,
                    str(when)[:40],
                )
            elif moment > self.run_start:
                self._logger.warning(
                    "The state's %s.%s.%s is %s, later than this run's start (%s): a clock ran ahead; ignored.",
                    section.name,
                    section.field,
                    key,
                    when,
                    iso(self.run_start),
                )
            else:
                kept[key] = when
        value[section.field] = kept

    def _usable(self, section: t.Any, within_hours: float) -> bool:
        try:
            written = parse_datetime(section["written"])
            if not _is_int(section["version"]) or not isinstance(section["streams"], dict):
                raise TypeError
            incomplete = section.get(INCOMPLETE, {})
            if not isinstance(incomplete, dict) or not all(
                isinstance(v, list) and all(isinstance(r, str) for r in v) for v in incomplete.values()
            ):
                raise TypeError  # not knowing what was skipped, the run reads every partition again
        except (KeyError, TypeError, ValueError, AttributeError):
            self._logger.warning(
                "The state's '%s' section (page progress) is not of a shape this tap writes: ignored, "
                "every partition is read from its bookmark.",
                RESUME,
            )
            return False
        age = self.run_start - written
        if age < -timedelta(hours=1):  # written by a clock far ahead: its age cannot be known
            self._logger.warning(
                "The state's page progress was written at %s, later than this run's start (%s): a clock ran "
                "ahead. Ignored: every partition is read afresh (bookmarks still apply).",
                written.isoformat(),
                iso(self.run_start),
            )
            return False
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


def _bookmarks_of(stream: Stream, context: Context | None, descendants: t.Iterable[Stream]) -> list[dict]:
    """The bookmarks a partition's end moves: its stream's, and those of descendants kept per it."""
    states = (
        [stream.get_context_state(context)]
        if stream.replication_key and sdk_compat.state_is_per(stream, context)
        else []
    )
    return states + [
        child.get_context_state(context)
        for child in descendants
        if child.replication_key and sdk_compat.state_is_coarser(child, context)
    ]


#: What an entry of a partition may hold, and of which types (``ids``: a listed partition's ids).
_ENTRY_FIELDS: dict[str, tuple[type, ...]] = {
    "done": (bool,),
    "page": (int, str, type(None)),
    "items": (int,),
    "total": (int,),  # the list's total when the page before was read
    "after": (int, str),
    "finished": (list,),  # ids of the page being read whose children finished
    "last_ids": (list,),  # ids of the page read last
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
            return f"'{key}' is {json.dumps(value, default=str)[:40]}"  # a Decimal from the JSON reader too
    for key in ("items", "total"):
        if key in entry and entry[key] < 0:
            return f"'{key}' is negative"
    for key in ("ids", "finished", "last_ids"):
        if key in entry and not all(_is_int(i) or isinstance(i, str) for i in entry[key]):
            return f"'{key}' holds something other than ids"
    if "started" in entry and instant(entry["started"]) is None:
        return "'started' is not a date-time"
    return None


def _usable_streams(streams: dict, logger: logging.Logger) -> dict:
    """The entries of the section that can be used; one WARNING for each that cannot."""
    usable: dict[str, dict] = {}
    for name, entries in streams.items():
        if not isinstance(entries, dict):
            logger.warning(
                "The state's %s.streams.%s is a %s, not an object: ignored, read from its bookmark.",
                RESUME,
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
