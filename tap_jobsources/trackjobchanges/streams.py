"""TrackJobChanges streams: the {status, message, data} envelope, pages until ``last_page``."""

from __future__ import annotations

import typing as t
from collections import defaultdict
from datetime import datetime
from functools import cached_property
from importlib import resources

from singer_sdk import SchemaDirectory, StreamSchema

from tap_jobsources.completeness import ListCheck, Proof
from tap_jobsources.dates import Watermark, parse_datetime
from tap_jobsources.errors import FatalAPIError, MalformedResponseError, body_excerpt
from tap_jobsources.paging import SINGLE, NumberedPages, PageInfo, Paging, flag, whole_number
from tap_jobsources.reading import ListPages, Partition, Reader
from tap_jobsources.reporting import partition_label
from tap_jobsources.sending import endpoint_of
from tap_jobsources.state import PartitionProgress
from tap_jobsources.stream import JobSourcesStream
from tap_jobsources.trackjobchanges import EMPLOYMENTS_SINCE, LARGEST_ID, PROVIDER
from tap_jobsources.trackjobchanges.settings import TrackJobChangesOptions

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context

SCHEMAS = SchemaDirectory(resources.files(__package__) / "schemas")
#: A connection's fields that move when TrackJobChanges looked at its employment again (the detail
#: view has them; the documented list does not).
CHANGE_FIELDS = ("employment_checked_at", "new_job_flagged_at")


def list_info(payload: t.Any) -> PageInfo:
    """``{"data": [...], "last_page": false, "total_count": 60}``."""
    if not isinstance(payload, dict):
        return PageInfo()
    return PageInfo(total=whole_number(payload.get("total_count")), last=flag(payload.get("last_page")))


def group_key(context: t.Mapping | None) -> str:
    """A group's name in the state ("" for the account's default group)."""
    return str((context or {}).get("group_id") or "")


class TrackJobChangesStream(JobSourcesStream):
    provider = PROVIDER
    records_key = "data"
    schema = StreamSchema(SCHEMAS)

    @cached_property
    def tjc(self) -> TrackJobChangesOptions:
        return self.settings.of(TrackJobChangesOptions)

    def paging(self) -> Paging:
        return NumberedPages(list_info)  # the server sets the page size

    def params(self, part: Partition) -> dict[str, t.Any]:
        group = (part.context or {}).get("group_id")
        return {"group": group} if group else {}

    def extract(self, payload: t.Any, response: requests.Response) -> list[dict]:
        envelope_ok(payload, response)
        return super().extract(payload, response)


def envelope_ok(payload: t.Any, response: requests.Response) -> None:
    """Any status but SUCCESS is an error, whatever the HTTP code said."""
    status = payload.get("status") if isinstance(payload, dict) else None
    if status is not None and str(status).upper() != "SUCCESS":
        msg = (
            f"TrackJobChanges answered {endpoint_of(response.request)} with status {status}: "
            f"{payload.get('message') or '(no message)'} "
            "(check trackjobchanges_api_key and trackjobchanges_group_ids)"
        )
        raise FatalAPIError(msg)


class ChangedConnections:
    """Which connections' employments to read (``trackjobchanges_employments``).

    ``all``: every connection's. ``changed``: a connection's when its group has no complete run yet,
    when its id is larger than any the group's last complete read saw (ids grow: it is new to the
    group, whatever its ``created_at``: moved in from another group, or restored), or when it may have
    changed since ``since``, the cut-off made of TrackJobChanges' own times by the group's last
    complete run (never the tap's clock):
    - either shape: it is new (``created_at``);
    - the detail shape (``employment_checked_at`` / ``new_job_flagged_at`` in the list): either field
      is later than the cut-off; ``has_new_title`` only where no ``employment_checked_at`` is listed
      (a flag stays set until the account clears it: the check time says when it was set);
    - the documented list shape (neither field): it is flagged (``has_new_job``, or ``has_new_title``
      where the list carries it), or its
      ``current_employment`` started on or after the cut-off's day. What this shape cannot show: a
      change to an older employment, or a new job that was unflagged before the run and started before
      the cut-off; the weekly ``all`` run reads those.
    A value that is not a date counts as a change.
    """

    def __init__(self, mode: str, since: datetime | None, largest: int | None = None) -> None:
        self.mode = mode
        self.since = since
        self.largest = largest

    def wants(self, connection: t.Mapping[str, t.Any]) -> bool:
        since = self.since
        if self.mode == "all" or since is None:
            return True
        ident = connection_number(connection.get("id"))
        if self.largest is not None and ident is not None and ident > self.largest:
            return True
        if _after(connection.get("created_at"), since, missing=True):
            return True
        titled = flag(connection.get("has_new_title")) is True
        if any(field in connection for field in CHANGE_FIELDS):
            if any(_after(connection.get(field), since, missing=False) for field in CHANGE_FIELDS):
                return True
            # A title flag stays set until the account clears it; the check that set it moved
            # employment_checked_at, so with that time listed (not after the cut-off) it is old news.
            return titled and not isinstance(connection.get("employment_checked_at"), str)
        if flag(connection.get("has_new_job")) is True or titled:
            return True
        current = connection.get("current_employment")
        started = current.get("started_at") if isinstance(current, dict) else None
        day = since.replace(hour=0, minute=0, second=0, microsecond=0)
        return isinstance(started, str) and _after(started, day, missing=False, inclusive=True)


def connection_number(value: t.Any) -> int | None:
    """A connection id as a number (None: not a whole number)."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return whole_number(value)


def _after(value: t.Any, since: datetime, *, missing: bool, inclusive: bool = False) -> bool:
    if value is None:
        return missing
    try:
        moment = parse_datetime(str(value))
    except ValueError:
        return True
    return moment >= since if inclusive else moment > since


class ConnectionsRead(ListPages):
    """The list, and per group the cut-off of changed employments once the group is read whole."""

    def done(self, reader: Reader, part: Partition, proven: bool) -> None:
        stream = t.cast(ConnectionsStream, reader.stream)
        group = group_key(part.context)
        seen = stream.newest.pop(group, None)
        largest = stream.largest.pop(group, None)
        if proven and stream.read_children:
            reader.state.set_cutoff(EMPLOYMENTS_SINCE, group, seen, part.began)
        if proven and stream.read_children and largest is not None:
            before = reader.state.number_of(LARGEST_ID, group)
            reader.state.set_number(LARGEST_ID, group, max(largest, before or 0))
        skipped = stream.unchanged.pop(group, 0)
        if skipped:
            stream.logger.info(
                "employments [%s]: %d connections unchanged since %s, not read again (trackjobchanges_employments "
                "is 'changed').",
                group or "default group",
                skipped,
                stream.changed(group).since,
            )
        stream.read_counts[group] = part.check.count
        if not stream.partitions or part.context == stream.partitions[-1]:
            stream.recheck_groups(reader)
            stream.compare_with_account(reader, part)


class ConnectionsStream(TrackJobChangesStream):
    """One partition per configured group (passed as ``group``); none: the default group."""

    name = "connections"
    path = "/connections"
    primary_keys = ("id",)
    prefetch_partitions = True  # the next groups' first pages, with concurrency above 1
    strategy = ConnectionsRead()

    @property
    def partitions(self) -> list[dict] | None:
        groups = self.tjc.group_ids
        return [{"group_id": g} for g in groups] if groups else None

    def transform(self, row: dict, context: Context | None) -> dict | None:
        if context and context.get("group_id"):
            row["group_id"] = context["group_id"]
        return row

    def get_child_context(self, record: dict, context: Context | None) -> dict:
        child = {"connection_id": record["id"]}
        if context and context.get("group_id"):
            child["group_id"] = context["group_id"]
        return child

    # Incremental employments -----------------------------------------------------------

    @cached_property
    def newest(self) -> defaultdict[str, Watermark]:
        # A watermark made when its partition's first record comes (its clock is the bound of
        # the times it takes), not one per record.
        return defaultdict(Watermark)

    @cached_property
    def unchanged(self) -> dict[str, int]:
        return {}

    @cached_property
    def largest(self) -> dict[str, int]:
        """Per group, the largest connection id this run read."""
        return {}

    @cached_property
    def read_counts(self) -> dict[str, int]:
        return {}

    def changed(self, group: str) -> ChangedConnections:
        # What the last complete runs saw, as the state had it when this run began.
        state = self.runtime.state
        return self._changed.setdefault(
            group,
            ChangedConnections(
                self.tjc.employments, state.time_of(EMPLOYMENTS_SINCE, group), state.number_of(LARGEST_ID, group)
            ),
        )

    @cached_property
    def _changed(self) -> dict[str, ChangedConnections]:
        return {}

    def generate_child_contexts(self, record: dict, context: Context | None) -> t.Iterable[Context | None]:
        if not self.read_children:
            return ()
        group = group_key(context)
        self.newest[group].see(record.get("created_at"), *(record.get(field) for field in CHANGE_FIELDS))
        ident = connection_number(record.get("id"))
        if ident is not None and ident > self.largest.get(group, -1):
            self.largest[group] = ident
        if self.changed(group).wants(record):
            return super().generate_child_contexts(record, context)
        # A run that skipped some connections' employments must not retire their rows.
        self.unchanged[group] = self.unchanged.get(group, 0) + 1
        self.runtime.ledger.mark_incomplete("connections unchanged, employments not read", "employments")
        return ()

    def child_contexts(self, record: dict, context: Context | None) -> t.Iterable[Context | None]:
        if self.changed(group_key(context)).wants(record):
            return super().child_contexts(record, context)
        return ()

    def recheck_groups(self, reader: Reader) -> None:
        """Groups are read one after another: a connection that moves into a group already read, from
        one not read yet, is in neither read. Once the last group is read, each earlier group's total
        is asked again (its first page); one that rose since its read names the group, and the run
        sends no ACTIVATE_VERSION for connections (the next run reads them where they are)."""
        groups = [g for g in self.tjc.group_ids[:-1] if g in self.read_counts]
        paging = self.paging()
        for group in groups:
            context = {"group_id": group}
            probe = Partition(context, PartitionProgress({}), ListCheck(), None, partition_label(self.name, context))
            try:
                total = reader.fetch(probe, paging.first, paging).info.total
            except FatalAPIError as exc:
                self.logger.info("TrackJobChanges: group %s's total could not be asked again (%s).", group, exc)
                continue
            read = self.read_counts[group]
            if total is not None and total > read:
                reason = f"group {group} holds {total} connections now, {total - read} more than were read in it"
                self.logger.warning(
                    "TrackJobChanges connections [group %s]: %s (connections moved into it from a group read later, "
                    "or were added, after it was read). No ACTIVATE_VERSION for %s this run; the next run reads "
                    "them.",
                    group,
                    reason,
                    ", ".join([self.name, *(d.name for d in self.descendants)]),
                )
                reader.ledger.mark_incomplete(reason, self.name, *(d.name for d in self.descendants))

    def compare_with_account(self, reader: Reader, part: Partition) -> None:
        """The account's ``connections_count`` against what this run read: groups left unread show.
        The account stream, when this run reads it (before connections: streams go by name), has it."""
        account = self.sibling("account")
        total = account.connections_count if isinstance(account, AccountStream) else None
        if total is None:
            try:
                page = reader.fetch(None, path="/account", extract=account_record)
            except FatalAPIError as exc:
                self.logger.info("TrackJobChanges: the account's connections_count could not be read (%s).", exc)
                return
            total = whole_number(page.records[0].get("connections_count")) if page.records else None
        read = sum(self.read_counts.values())
        if total is None or read >= total:
            return
        if not self.tjc.group_ids:
            self.logger.warning(
                "TrackJobChanges: the account holds %d connections; its default group, the one read without "
                "trackjobchanges_group_ids, holds %d. The others are in groups this run did not read: list every "
                "group in trackjobchanges_group_ids.",
                total,
                read,
            )
        else:
            self.logger.info(
                "TrackJobChanges: read %d connections in groups %s; the account holds %d (groups not listed in "
                "trackjobchanges_group_ids, or read by other tasks, are not in this run).",
                read,
                ", ".join(self.tjc.group_ids),
                total,
            )


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
    skip_on = {404: "TrackJobChanges connection {connection_id} was deleted before its employments were read: skipped."}

    def transform(self, row: dict, context: Context | None) -> dict | None:
        row["connection_id"] = (context or {})["connection_id"]
        return row


def account_record(payload: t.Any, response: requests.Response) -> list[dict]:
    envelope_ok(payload, response)
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        msg = f"TrackJobChanges answered {endpoint_of(response.request)} without its account object: "
        raise MalformedResponseError(msg + body_excerpt(response, 120), response)
    return [data]


class AccountStream(TrackJobChangesStream):
    """The account (``GET /account``): one row per run, with ``connections_count`` (plan usage)."""

    name = "account"
    path = "/account"
    primary_keys = ("email",)
    proof = Proof.SINGLE

    def paging(self) -> Paging:
        return SINGLE

    def params(self, part: Partition) -> dict[str, t.Any]:
        return {}

    def item_key(self, item: dict) -> t.Any:
        return item.get("email")

    def extract(self, payload: t.Any, response: requests.Response) -> list[dict]:
        return account_record(payload, response)

    connections_count: int | None = None  # as this run read it

    def transform(self, row: dict, context: Context | None) -> dict | None:
        self.connections_count = whole_number(row.get("connections_count"))
        return row


STREAMS: tuple[type[JobSourcesStream], ...] = (ConnectionsStream, EmploymentsStream, AccountStream)
