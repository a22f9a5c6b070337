"""Getro streams: one small class each."""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime, timedelta

from singer_sdk.streams.rest import HTTPRequest, PageContext

from tap_jobsources.dates import iso, parse_datetime
from tap_jobsources.errors import MalformedResponseError, NotFoundError, body_excerpt
from tap_jobsources.getro.client import GetroNetworkChildStream, GetroStream
from tap_jobsources.getro.pagination import GetroTalentPaginator
from tap_jobsources.pagination import Page
from tap_jobsources.resume import times_by_key

#: The state's section of Getro's own bookkeeping (when each network was last read whole).
GETRO_SECTION = "getro"
#: Getro: "do not make identical requests within this period".
SIX_HOURS = 6


if t.TYPE_CHECKING:
    import requests


class _NameListStream(GetroStream):
    """A reference list the API returns as a bare JSON array of strings."""

    primary_keys = ("name",)
    unpaged = True

    def records_from(self, payload: t.Any, response: requests.Response) -> list[dict]:
        if isinstance(payload, dict):  # tolerate the paged envelope too
            payload = payload.get("items")
        if not isinstance(payload, list) or not all(isinstance(name, str) for name in payload):
            # Another shape (objects, numbers) is not an empty list: it is retried, then stops
            # the run, so no ACTIVATE_VERSION can retire the table's rows after it.
            msg = (
                f"Getro answered {self._endpoint(response.request)} without a list of names "
                f"(got {_shape(payload)}): {body_excerpt(response, 120)}"
            )
            raise MalformedResponseError(msg, response)
        return [{"name": name} for name in payload]


def _shape(payload: t.Any) -> str:
    if isinstance(payload, list):
        kinds = sorted({type(item).__name__ for item in payload})
        return f"a list of {', '.join(kinds)}"
    return type(payload).__name__


class JobFunctionsStream(_NameListStream):
    name = "job_functions"
    path = "/job_functions"


class ExperienceLevelsStream(_NameListStream):
    name = "experience_levels"
    path = "/experience_levels"


class NetworksStream(GetroStream):
    """The list gives id, name and logo; each network's detail adds the rest.

    With getro_network_ids set, the list is not read at all: one request per
    network instead of paging through networks the user did not ask for. The ids
    are kept in the run's progress, so a resumed run does not list them again.

    Getro asks that the same request not be made twice within 6 hours: the state
    keeps when each network was last read whole (``"getro"`` section), a run that
    reads one sooner says so, and with getro_min_hours_between_syncs it skips it.
    """

    name = "networks"
    path = "/networks"
    primary_keys = ("id",)
    state_sections = (times_by_key(GETRO_SECTION, "networks_read_whole"),)

    def pages(self, context, progress) -> t.Iterator[Page]:
        ids = self.config.get("getro_network_ids") or progress.entry.get("ids")
        if ids is None:
            ids = [item["id"] for page in self.reader.pages(context, progress) for item in page.records]
            progress.entry["ids"] = ids
        yield Page(response=None, payload=None, records=[{"id": nid} for nid in ids])

    def expand(self, item: dict) -> dict:
        return {**item, **self._detail(item["id"])}

    def _detail(self, network_id: int) -> dict:
        # The docs show both /networks/:id and /network/:id; try the documented route first.
        for path in (f"/networks/{network_id}", f"/network/{network_id}"):
            try:
                request = HTTPRequest(url=self.url_base + path, headers=self.http_headers)
                return self.fetch_one(request)[0]
            except NotFoundError:
                continue
        msg = f"Getro has no network {network_id}. Check getro_network_ids against GET /networks."
        raise NotFoundError(msg)

    def admit(self, item: dict, context) -> bool:
        last = self._read_whole().get(str(item["id"]))
        if not last:
            return True
        age = datetime.now(UTC) - parse_datetime(last)
        if age >= timedelta(hours=SIX_HOURS):
            return True
        setting = self.config.get("getro_min_hours_between_syncs")
        wait_hours = float(setting) if setting is not None else None
        skip = wait_hours is not None and age < timedelta(hours=wait_hours)
        allowed = parse_datetime(last) + timedelta(hours=wait_hours if skip and wait_hours else SIX_HOURS)
        self.logger.warning(
            "Getro network %s was read whole %.1f h ago; Getro asks that the same request not be made "
            "within %d hours (from %s on). %s",
            item["id"],
            age.total_seconds() / 3600,
            SIX_HOURS,
            allowed.isoformat(timespec="minutes"),
            "Skipped (getro_min_hours_between_syncs)."
            if skip
            else "Reading it anyway: set getro_min_hours_between_syncs to skip it instead.",
        )
        if skip:
            self.runtime.ledger.mark_incomplete(self.name, *self.reader.descendants)
        return not skip

    def item_finished(self, item: dict) -> None:
        self._read_whole()[str(item["id"])] = iso(datetime.now(UTC))

    def _read_whole(self) -> dict:
        return self.runtime.progress.section(GETRO_SECTION).setdefault("networks_read_whole", {})

    def get_child_context(self, record: dict, context) -> dict:
        return {"network_id": record["id"]}


class CompaniesStream(GetroNetworkChildStream):
    name = "companies"
    path = "/networks/{network_id}/companies"
    parent_stream_type = NetworksStream

    def transform(self, row: dict, context) -> dict | None:
        # The list calls the company id objectID (an Algolia id: it may come as a string).
        object_id = row.pop("objectID", None)
        if row.get("id") is None and object_id is not None:
            row["id"] = int(object_id) if isinstance(object_id, str) and object_id.isdigit() else object_id
        return super().transform(row, context)


class JobsStream(GetroNetworkChildStream):
    name = "jobs"
    path = "/networks/{network_id}/jobs"
    parent_stream_type = NetworksStream

    def generate_child_contexts(self, record: dict, context) -> t.Iterable[dict]:
        # Only job_details is a child: ask it which jobs it needs, so unchanged jobs
        # cost neither a request nor a child sync.
        details = self.read_children
        if details and t.cast(JobDetailsStream, details[0]).wants(record, context):
            return ({"network_id": context["network_id"], "job_id": record["id"]},)
        return ()


class RemovedJobsStream(GetroNetworkChildStream):
    """Incremental on deactivated_at, through the API's day-granular deactivated_from.

    The order of the list is not documented, so the SDK keeps progress markers and
    only promotes them to the network's bookmark once the network is complete.
    """

    name = "removed_jobs"
    path = "/networks/{network_id}/jobs/removed"
    parent_stream_type = NetworksStream
    replication_key = "deactivated_at"
    is_sorted = False
    state_partitioning_keys = None  # a bookmark per network

    def get_url_params(self, context, next_page_token) -> dict:
        params = super().get_url_params(context, next_page_token)
        start = self.start_of(context)
        if start is not None:
            # The UTC date: an offset's own date would be a day late for times before its midnight.
            params["deactivated_from"] = start.astimezone(UTC).date().isoformat()
        return params

    def transform(self, row: dict, context) -> dict | None:
        # deactivated_from is a date: drop what the day brings from before the bookmark.
        start = self.partition_start
        deactivated = row.get("deactivated_at")
        if start is not None and deactivated and parse_datetime(deactivated) < start:
            return None
        return super().transform(row, context)


class TalentStream(GetroNetworkChildStream):
    name = "talent"
    path = "/networks/{network_id}/talent"
    parent_stream_type = NetworksStream

    def make_paginator(self) -> GetroTalentPaginator:
        return GetroTalentPaginator(self.page_size, max_pages=self.max_pages)

    skip_partition_on = {
        403: "Getro hides the talent of network {network_id} from this account (403 Forbidden): skipped."
    }


class JobDetailsStream(GetroNetworkChildStream):
    """One request per job, so only jobs whose description changed are asked for.

    The bookmark is per network (state_partitioning_keys), never per job, and is
    read as it was when the run began: the SDK only promotes progress at the end of
    the run, so an interrupted run asks again for what it may not have emitted.
    """

    name = "job_details"
    path = "/networks/{network_id}/jobs/{job_id}"
    unpaged = True
    parent_stream_type = JobsStream
    replication_key = "description_last_updated_at"
    is_sorted = False
    state_partitioning_keys = ["network_id"]
    selected_by_default = False

    def wants(self, job: dict, context) -> bool:
        updated = job.get("description_last_updated_at")
        if not updated:
            return False  # no description to fetch
        bookmark = self._bookmark(context["network_id"])
        return bookmark is None or parse_datetime(updated) > bookmark

    def _bookmark(self, network_id: int) -> datetime | None:
        state = self.get_context_state({"network_id": network_id})
        values = [state.get("replication_key_value"), self.config.get("start_date")]
        parsed = [parse_datetime(v) for v in values if v]
        return max(parsed) if parsed else None

    skip_partition_on = {
        404: "Getro job {job_id} of network {network_id} was taken down before its details were read: skipped."
    }

    def read_partition(self, context, progress) -> t.Iterable[dict]:
        request = self.get_http_request(page=PageContext(stream_context=context, next_page_token=None))
        return self.fetch_one(request)
