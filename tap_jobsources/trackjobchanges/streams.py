"""TrackJobChanges streams."""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime, timedelta
from functools import cached_property

from tap_jobsources.dates import iso, parse_datetime
from tap_jobsources.resume import times_by_key
from tap_jobsources.trackjobchanges.client import TrackJobChangesStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_jobsources.resume import PartitionProgress

#: The state's section of TrackJobChanges' own bookkeeping: per group, from when the last
#: complete run of the group read employments (its start, less a margin for clocks).
SECTION = "trackjobchanges"
#: The tap's clock and the API's may differ: a change this close to the start of the last
#: complete run counts as a change (its employments are read again: at-least-once).
CLOCK_MARGIN = timedelta(minutes=10)
#: A connection's fields that move when TrackJobChanges looked at its employment again.
CHANGE_FIELDS = ("employment_checked_at", "new_job_flagged_at")


def group_key(context: t.Mapping | None) -> str:
    """A group's name in the state ("" for the account's default group)."""
    return str((context or {}).get("group_id") or "")


class ChangedConnections:
    """Which connections' employments to read (``trackjobchanges_employments``).

    ``all``: every connection's. ``changed``: a connection's when its group has no complete
    run yet, when it is new since that run (``created_at``), when its ``employment_checked_at``
    or ``new_job_flagged_at`` is later than that run's start, and always when its list entry
    carries neither field (the docs' list example omits them: the list may be terser than the
    detail view, and no employment may be missed for it). A value that is not a date counts as
    a change.
    """

    def __init__(self, mode: str, since: t.Mapping[str, str]) -> None:
        self.mode = mode
        self.since = {group: parse_datetime(when) for group, when in since.items()}

    def wants(self, connection: t.Mapping[str, t.Any], group: str) -> bool:
        since = self.since.get(group)
        if self.mode == "all" or since is None:
            return True
        if not any(field in connection for field in CHANGE_FIELDS):
            return True
        for field in ("created_at", *CHANGE_FIELDS):
            value = connection.get(field)
            if value is None:
                if field == "created_at":
                    return True  # no way to tell it is not new
                continue  # never checked, or never flagged: nothing moved
            try:
                if parse_datetime(str(value)) > since:
                    return True
            except ValueError:
                return True
        return False


class ConnectionsStream(TrackJobChangesStream):
    """One partition per configured group (passed as ``group``); none: the default group."""

    name = "connections"
    path = "/connections"
    primary_keys = ("id",)
    prefetch_partitions = True  # the next groups' first pages, with concurrency above 1
    state_sections = (times_by_key(SECTION, "employments_read"),)

    @property
    def partitions(self) -> list[dict] | None:
        groups = self.config.get("trackjobchanges_group_ids")
        return [{"group_id": g} for g in groups] if groups else None

    def transform(self, row: dict, context) -> dict | None:
        if context and context.get("group_id"):
            row["group_id"] = context["group_id"]
        return row

    def get_child_context(self, record: dict, context) -> dict:
        child = {"connection_id": record["id"]}
        if context and context.get("group_id"):
            child["group_id"] = context["group_id"]
        return child

    # Incremental employments -----------------------------------------------------------

    @cached_property
    def changed(self) -> ChangedConnections:
        # What the last complete runs saw, as the state had it when this run began.
        read = self.runtime.progress.section(SECTION).get("employments_read", {})
        return ChangedConnections(self.config.get("trackjobchanges_employments") or "changed", dict(read))

    @cached_property
    def _skipped(self) -> set[t.Any]:
        return set()

    def generate_child_contexts(self, record: dict, context: Context | None) -> t.Iterable[Context | None]:
        if self.changed.wants(record, group_key(context)):
            return super().generate_child_contexts(record, context)
        # A run that skipped some connections' employments must not retire their rows.
        self._skipped.add(record.get("id"))
        self.runtime.ledger.mark_incomplete("employments")
        return ()

    def read_partition(self, context: Context | None, progress: PartitionProgress) -> t.Iterator[dict]:
        # The run of a group starts with its first page, even when resumed later.
        started = progress.entry.setdefault("started", iso(datetime.now(UTC) - CLOCK_MARGIN))
        yield from super().read_partition(context, progress)
        if not any(c.selected for c in self.child_streams):
            return
        self.runtime.progress.section(SECTION).setdefault("employments_read", {})[group_key(context)] = started
        if self._skipped:
            self.logger.info(
                "employments [%s]: %d connections unchanged since %s, not read again (trackjobchanges_employments "
                "is 'changed').",
                group_key(context) or "default group",
                len(self._skipped),
                self.changed.since.get(group_key(context)),
            )
            self._skipped.clear()


class EmploymentsStream(TrackJobChangesStream):
    """A connection's employment history. State keeps no entry per connection."""

    name = "employments"
    path = "/connections/{connection_id}/employments"
    primary_keys = ("id",)
    parent_stream_type = ConnectionsStream
    state_partitioning_keys: t.ClassVar[list[str]] = []
    # One request per connection: with concurrency above 1, each page of connections has
    # its connections' first employments pages fetched at once while it is emitted.
    prefetched = True

    skip_partition_on = {
        404: "TrackJobChanges connection {connection_id} was deleted before its employments were read: skipped."
    }

    def transform(self, row: dict, context) -> dict | None:
        row["connection_id"] = context["connection_id"]
        return row
