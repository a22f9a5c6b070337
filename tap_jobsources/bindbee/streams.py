"""Bindbee streams."""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime, timedelta
from functools import cached_property
from importlib import resources

from singer_sdk import SchemaDirectory, StreamSchema

from tap_jobsources.bindbee import PROVIDER
from tap_jobsources.bindbee.settings import BindbeeOptions
from tap_jobsources.dates import iso
from tap_jobsources.paging import CursorPages, PageInfo, Paging
from tap_jobsources.stream import JobSourcesStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_jobsources.reading import Partition

SCHEMAS = SchemaDirectory(resources.files(__package__) / "schemas")

#: Fields the docs show as a string in one place and an array in another.
LIST_FIELDS = ("departments", "offices", "hiring_managers", "recruiters", "job_posting_urls")
#: The earliest moment ``modified_after`` can be written as.
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)


def cursor_info(payload: t.Any) -> PageInfo:
    """``{"cursor": "...", "items": [...]}``: the next page's cursor, null or empty at the end. The
    docs make the field required: an answer without it ends the read unproven."""
    given = isinstance(payload, dict) and "cursor" in payload
    return PageInfo(cursor=payload["cursor"] if given else None, cursor_given=given)


class AtsJobsStream(JobSourcesStream):
    """Jobs of every connector (one partition each, named by the connector's ``name``: the token is
    looked up at request time and travels in a header, never in a context, record, URL or message),
    incremental on ``modified_at`` through ``modified_after``.

    The API promises no order, so a connector's bookmark moves only once its partition is complete,
    never past the run's start, and never back. Read whole (the catalog's replication method
    FULL_TABLE: the weekly full DAG), it asks no ``modified_after`` and may send ACTIVATE_VERSION."""

    provider = PROVIDER
    records_key = "items"
    schema = StreamSchema(SCHEMAS)
    name = "ats_jobs"
    path = "/jobs"
    primary_keys = ("connector", "id")
    replication_key = "modified_at"
    is_sorted = False
    #: Pages of a connector read ahead while an earlier one is emitted (bounds memory).
    read_ahead = 32

    @cached_property
    def bindbee(self) -> BindbeeOptions:
        return self.settings.of(BindbeeOptions)

    @property
    def partitions(self) -> list[dict]:
        return [{"connector": c.name} for c in self.bindbee.connectors]

    def paging(self) -> Paging:
        return CursorPages(cursor_info, size=self.bindbee.page_size)

    def params(self, part: Partition) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {}
        if self.bindbee.include_raw_data:
            params["include_raw_data"] = "true"
        if self.bindbee.include_custom_fields:
            params["include_custom_fields"] = "true"
        if part.start is not None:
            # modified_after may be exclusive: a job modified at the bound itself is asked for too.
            back = timedelta(minutes=self.bindbee.lookback_minutes, milliseconds=1)
            params["modified_after"] = iso(part.start - back if part.start - EARLIEST > back else EARLIEST)
        return params

    def transform(self, row: dict, context: Context | None) -> dict | None:
        # Every row the API returns is emitted, even one modified before the bookmark:
        # modified_after filters on when Bindbee synced it, another clock (at-least-once;
        # the target upserts by key).
        for field in LIST_FIELDS:
            value = row.get(field)
            if isinstance(value, str):
                row[field] = [value] if value else []
        row["connector"] = (context or {})["connector"]
        return row


STREAMS: tuple[type[JobSourcesStream], ...] = (AtsJobsStream,)
