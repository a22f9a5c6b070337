"""TrackJobChanges streams."""

from __future__ import annotations

import typing as t

from tap_jobsources.trackjobchanges.client import TrackJobChangesStream


class ConnectionsStream(TrackJobChangesStream):
    """One partition per configured group (passed as ``group``); none: the default group."""

    name = "connections"
    path = "/connections"
    primary_keys = ("id",)
    prefetch_partitions = True  # the next groups' first pages, with concurrency above 1

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
