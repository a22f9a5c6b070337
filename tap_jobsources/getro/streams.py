"""Getro streams: one small class each."""

from __future__ import annotations

import typing as t
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from functools import cached_property
from importlib import resources

from singer_sdk import SchemaDirectory, StreamSchema

from tap_jobsources.completeness import Proof, identity
from tap_jobsources.dates import Watermark, iso, parse_datetime
from tap_jobsources.errors import MalformedResponseError, NotFoundError, SkipPartition, body_excerpt
from tap_jobsources.getro import PROVIDER, READ_WHOLE, SINCE
from tap_jobsources.getro.paging import list_info, talent_info
from tap_jobsources.getro.settings import GetroOptions
from tap_jobsources.paging import SINGLE, NumberedPages, Page, Paging
from tap_jobsources.reading import ListPages, OneDetail, Partition, Reader
from tap_jobsources.sending import endpoint_of
from tap_jobsources.shaping import InvalidKeyError
from tap_jobsources.stream import JobSourcesStream

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context

SCHEMAS = SchemaDirectory(resources.files(__package__) / "schemas")
#: Getro: "do not make identical requests within this period".
SIX_HOURS = 6
#: Getro network endpoints may answer 403 ("hidden for certain members"): that network's list is skipped.
HIDDEN = "Getro hides the {stream} of network {network_id} from this account (403 Forbidden): skipped."


class GetroStream(JobSourcesStream):
    provider = PROVIDER
    records_key = "items"
    schema = StreamSchema(SCHEMAS)

    @cached_property
    def getro(self) -> GetroOptions:
        return self.settings.of(GetroOptions)

    def paging(self) -> Paging:
        return NumberedPages(list_info, size=self.getro.page_size)


class GetroNetworkChild(GetroStream):
    """A list under one network: records carry ``network_id``, state is kept per network."""

    primary_keys = ("network_id", "id")
    # A full-table list keeps no bookmark: one state entry for the stream, not one per
    # network (the run's page progress lives in the state's "resume" section).
    state_partitioning_keys: t.ClassVar[list[str] | None] = []
    skip_on = {403: HIDDEN}

    def transform(self, row: dict, context: Context | None) -> dict | None:
        row["network_id"] = (context or {})["network_id"]
        return row


# Reference lists -------------------------------------------------------------------------------


class _NameList(GetroStream):
    """A reference list the API returns as a bare JSON array of strings."""

    primary_keys = ("name",)
    proof = Proof.SINGLE

    def paging(self) -> Paging:
        return SINGLE  # one answer

    def item_key(self, item: dict) -> t.Any:
        return item.get("name")

    def extract(self, payload: t.Any, response: requests.Response) -> list[dict]:
        if isinstance(payload, dict):  # tolerate the paged envelope too
            payload = payload.get("items")
        if not isinstance(payload, list) or not all(isinstance(name, str) for name in payload):
            # Another shape (objects, numbers) is not an empty list: it is retried, then stops
            # the run, so no ACTIVATE_VERSION can retire the table's rows after it.
            msg = (
                f"Getro answered {endpoint_of(response.request)} without a list of names "
                f"(got {_shape(payload)}): {body_excerpt(response, 120)}"
            )
            raise MalformedResponseError(msg, response)
        return [{"name": name} for name in payload]


def _shape(payload: t.Any) -> str:
    if isinstance(payload, list):
        kinds = sorted({type(item).__name__ for item in payload})
        return f"a list of {', '.join(kinds)}"
    return type(payload).__name__


class JobFunctionsStream(_NameList):
    name = "job_functions"
    path = "/job_functions"


class ExperienceLevelsStream(_NameList):
    name = "experience_levels"
    path = "/experience_levels"


# Networks ------------------------------------------------------------------------------------------


class NetworksRead(ListPages):
    """The networks of ``getro_network_ids`` (or, without it, every one ``GET /networks`` lists: the ids
    kept in the run's progress, so a resumed run does not list them again), each merged with its detail.

    Getro asks that the same request not be made twice within 6 hours: the state keeps when each
    network was last read whole, a run that reads one sooner says so in one line, and with
    getro_min_hours_between_syncs it skips it instead (its streams then get no ACTIVATE_VERSION)."""

    plain = False

    def pages(self, reader: Reader, part: Partition) -> t.Iterator[Page]:
        stream = t.cast(NetworksStream, reader.stream)
        ids = list(stream.getro.network_ids) or part.progress.entry.get("ids")
        if ids is None:
            ids = [item["id"] for page in reader.list_pages(part) for item in page.records if "id" in item]
            part.progress.entry["ids"] = ids
        yield Page(records=[{"id": nid} for nid in ids], count=len(ids))

    def record(self, reader: Reader, part: Partition, item: dict) -> dict | None:
        stream = t.cast(NetworksStream, reader.stream)
        if not self._due(reader, stream, item["id"]):
            return None
        try:
            return {**item, **stream.detail(reader, part, item["id"])}
        except NotFoundError:
            if stream.getro.network_ids:
                raise  # an id the user gave that Getro does not have: say so
            stream.logger.warning("Getro network %s left the list before its detail was read: skipped.", item["id"])
            reader.ledger.mark_incomplete(f"network {item['id']} gone (404)", stream.name, *reader.descendant_names)
            return None
        except SkipPartition:
            stream.logger.warning(
                "Getro hides network %s from this account (403 Forbidden): skipped, with its companies, jobs, "
                "removed jobs and talent.",
                item["id"],
            )
            reader.ledger.mark_incomplete(f"network {item['id']} hidden (403)", stream.name, *reader.descendant_names)
            return None

    def finished(self, reader: Reader, part: Partition, item: dict) -> None:
        reader.state.set_time(READ_WHOLE, str(item["id"]), datetime.now(UTC))

    def done(self, reader: Reader, part: Partition, proven: bool) -> None:
        stream = t.cast(NetworksStream, reader.stream)
        early, skipped = stream.early, stream.skipped
        if not early:
            return
        if not skipped:
            what = "Read anyway: set getro_min_hours_between_syncs to skip them instead."
        elif len(skipped) == len(early):
            what = "Skipped (getro_min_hours_between_syncs)."
        else:
            what = f"Skipped {', '.join(skipped)} (getro_min_hours_between_syncs); the others read anyway."
        stream.logger.warning(
            "Getro asks that the same request not be made within %d hours; networks read whole less than that "
            "ago: %s. %s",
            SIX_HOURS,
            "; ".join(early),
            what,
        )

    def _due(self, reader: Reader, stream: NetworksStream, network_id: t.Any) -> bool:
        last = reader.state.time_of(READ_WHOLE, str(network_id))
        if last is None:
            return True
        age = datetime.now(UTC) - last
        if age >= timedelta(hours=SIX_HOURS):
            return True
        wait = stream.getro.min_hours_between_syncs
        skip = wait is not None and age < timedelta(hours=wait)
        stream.early.append(f"{network_id} ({age.total_seconds() / 3600:.1f} h ago)")
        if skip:
            stream.skipped.append(str(network_id))
            reader.ledger.mark_incomplete(
                f"network {network_id} skipped (6 hours)", stream.name, *reader.descendant_names
            )
        return not skip


class NetworksStream(GetroStream):
    name = "networks"
    path = "/networks"
    primary_keys = ("id",)
    strategy = NetworksRead()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.early: list[str] = []  # networks read whole less than 6 hours ago, for the run's one line
        self.skipped: list[str] = []  # of those, the ones skipped

    def detail(self, reader: Reader, part: Partition, network_id: int) -> dict:
        # The docs show both /networks/:id and /network/:id; try the documented route first.
        for path in (f"/networks/{network_id}", f"/network/{network_id}"):
            try:
                return reader.fetch(part, path=path, extract=self.extract_one).records[0]
            except NotFoundError:
                continue
        msg = f"Getro has no network {network_id}. Check getro_network_ids against GET /networks."
        raise NotFoundError(msg)

    def check_response(self, response: requests.Response) -> None:
        # A network's detail answering 403 skips that network (NetworksRead.record); the list's stops the run.
        if response.status_code == 403 and endpoint_of(response.request).rstrip("/").rsplit("/", 1)[-1].isdigit():
            raise SkipPartition(403)
        super().check_response(response)

    def get_child_context(self, record: dict, context: Context | None) -> dict:
        return {"network_id": record["id"]}


# Lists under a network -------------------------------------------------------------------------------


class CompaniesStream(GetroNetworkChild):
    name = "companies"
    path = "/networks/{network_id}/companies"
    parent_stream_type = NetworksStream

    def item_key(self, item: dict) -> t.Any:
        return item.get("objectID", item.get("id"))

    def transform(self, row: dict, context: Context | None) -> dict | None:
        # The list calls the company id objectID (an Algolia id: it may come as a string).
        object_id = row.pop("objectID", None)
        if row.get("id") is None and object_id is not None:
            row["id"] = int(object_id) if isinstance(object_id, str) and object_id.isdigit() else object_id
        return super().transform(row, context)

    def get_child_context(self, record: dict, context: Context | None) -> dict:
        # Only company_details is a child: the company it asks for.
        return {"network_id": (context or {})["network_id"], "company_id": record["id"]}


class JobsListed(ListPages):
    """Jobs, with the newest Getro time the list shows kept per network once it is read whole: the
    cut-off job_details asks from in the next run (Getro's own clock, never the tap's)."""

    def done(self, reader: Reader, part: Partition, proven: bool) -> None:
        stream = t.cast(JobsStream, reader.stream)
        network = (part.context or {}).get("network_id")
        if stream.retiring and not part.check.resumed:
            # The ids the list showed, as its check counted them (a resumed read knows only some; an
            # unproven read may miss some: a job that came back and was missed is listed again next run).
            stream.listed[network] = part.check.seen
        seen = stream.newest.pop(str(network), None)
        if proven and stream.read_children:
            reader.state.set_cutoff(SINCE, str(network), seen, part.began)

    def skipped(self, reader: Reader, part: Partition) -> None:
        t.cast(JobsStream, reader.stream).hidden.add((part.context or {}).get("network_id"))


class JobsStream(GetroNetworkChild):
    """Jobs. A job Getro lists among the network's removed jobs is retired here in the same run
    (``retire``): a whole jobs record carrying ``_sdc_deleted_at``, unless this run's list still
    showed it (it may have come back; if not, the next run's removed list names it again)."""

    name = "jobs"
    path = "/networks/{network_id}/jobs"
    parent_stream_type = NetworksStream
    strategy = JobsListed()

    @cached_property
    def retiring(self) -> bool:
        """Whether removed jobs are read this run, to retire jobs rows."""
        removed = self.sibling("removed_jobs")
        return bool(self.selected and removed is not None and removed.selected)

    @cached_property
    def listed(self) -> dict[t.Any, set[t.Any]]:
        """Per network whose jobs this process read from the start, the ids its list showed this run."""
        return {}

    def retire(self, removed: dict, network_id: t.Any) -> bool:
        """Write the jobs record that retires a removed job (False: not retired: this run's list of
        the network showed it, or did not run in this process, a resumed run's finished network)."""
        listed = self.listed.get(network_id)
        if listed is None or identity(removed.get("id")) in listed:
            return False
        record = {key: removed[key] for key in self.schema["properties"] if key in removed}
        record["network_id"] = network_id
        record["_sdc_deleted_at"] = removed.get("deactivated_at") or iso(self.runtime.state.run_start)
        try:
            shaped = self.shaper(record)
        except InvalidKeyError:
            return False  # the removed_jobs record itself says what is wrong with its key
        # Version 0 where records carry one: below every read's, so the next ACTIVATE_VERSION removes
        # the row where the target deletes hard (a soft delete keeps this _sdc_deleted_at).
        self.write_extra_record(shaped, None if self.table_version is None else 0)
        return True

    @cached_property
    def hidden(self) -> set[t.Any]:
        """Networks whose jobs list this run skipped (403): their removed jobs cannot be checked against it."""
        return set()

    def forget_listed(self, network_id: t.Any) -> None:
        self.listed.pop(network_id, None)
        self.hidden.discard(network_id)

    @cached_property
    def newest(self) -> defaultdict[str, Watermark]:
        # A watermark made when its partition's first record comes (its clock is the bound of
        # the times it takes), not one per record.
        return defaultdict(Watermark)

    def generate_child_contexts(self, record: dict, context: Context | None) -> t.Iterable[Context | None]:
        # Only job_details is a child: ask it which jobs it needs, so unchanged jobs
        # cost neither a request nor a child sync.
        details = self.read_children
        if not details:
            return ()
        network = (context or {})["network_id"]
        self.newest[str(network)].see(record.get("created_at"), record.get("description_last_updated_at"))
        if t.cast(JobDetailsStream, details[0]).wants(record, network):
            return ({"network_id": network, "job_id": record["id"]},)
        return ()


class RemovedListed(ListPages):
    """Removed jobs; once a network's list is read, the jobs it retired are said in one line. Where
    this run could not retire them because an interrupted run listed the network's jobs, the
    network's bookmark stays where it was (not where the jobs list was skipped: it may stay hidden)."""

    def done(self, reader: Reader, part: Partition, proven: bool) -> None:
        stream = t.cast(RemovedJobsStream, reader.stream)
        network = (part.context or {}).get("network_id")
        if stream.jobs is None:
            return
        if network in stream.jobs.hidden:
            # Hidden now, maybe for good: holding the bookmark would ask for the whole history each run.
            stream.logger.info(
                "Getro removed jobs of network %s: its jobs list was skipped this run, so none is retired from jobs.",
                network,
            )
        elif network not in stream.jobs.listed:
            # Listed by an interrupted run: the bookmark stays, so the next run, which lists the jobs
            # from the start, asks for these again and retires them.
            part.keep_bookmark = True
            stream.logger.info(
                "Getro removed jobs of network %s: its jobs were listed by the interrupted run, so none is "
                "retired from jobs this run; the next run asks for these removed jobs again and retires them.",
                network,
            )
        elif retired := stream.retired.pop(network, 0):
            stream.logger.info("Getro lists %d jobs of network %s as removed: retired from jobs.", retired, network)
        stream.jobs.forget_listed(network)


class RemovedJobsStream(GetroNetworkChild):
    """Incremental on deactivated_at, through the API's day-granular ``deactivated_from``.

    The docs give the date no zone: it is asked from the day before the bookmark's UTC date, and
    every row that comes back is emitted (the target upserts by key), so a row that shows up late,
    or a day read in another zone, is never lost. The order of the list is not documented: the
    bookmark only moves once a network's list is read whole and proven."""

    name = "removed_jobs"
    path = "/networks/{network_id}/jobs/removed"
    parent_stream_type = NetworksStream
    replication_key = "deactivated_at"
    is_sorted = False
    state_partitioning_keys = None  # a bookmark per network
    strategy = RemovedListed()

    @cached_property
    def jobs(self) -> JobsStream | None:
        """The jobs stream, where this run retires removed jobs from it."""
        jobs = self.sibling("jobs")
        return t.cast(JobsStream, jobs) if isinstance(jobs, JobsStream) and jobs.retiring else None

    def transform(self, row: dict, context: Context | None) -> dict | None:
        row = t.cast(dict, super().transform(row, context))
        if self.jobs is not None:
            network = row["network_id"]
            if self.jobs.retire(row, network):
                self.retired[network] = self.retired.get(network, 0) + 1
        return row

    @cached_property
    def retired(self) -> dict[t.Any, int]:
        """Jobs retired this run, per network."""
        return {}

    def params(self, part: Partition) -> dict[str, t.Any]:
        if part.start is None:
            return {}
        day = part.start.astimezone(UTC).date()
        return {"deactivated_from": (day - timedelta(days=1) if day.toordinal() > 1 else day).isoformat()}


class TalentStream(GetroNetworkChild):
    name = "talent"
    path = "/networks/{network_id}/talent"
    parent_stream_type = NetworksStream

    def paging(self) -> Paging:
        return NumberedPages(talent_info, size=self.getro.page_size)

    def params(self, part: Partition) -> dict[str, t.Any]:
        return {"not_visible_profiles": "true"} if self.getro.not_visible_profiles else {}


class JobDetailsStream(GetroNetworkChild):
    """One request per job, so only jobs that may have changed are asked for: new since the last
    complete read of their network (the list's ``created_at``, with or without a description), or
    whose ``description_last_updated_at`` moved; ``getro_job_details: all`` asks for every job.

    The cut-off is Getro's own time (``JobsListed``); the bookmark is per network, never per job."""

    name = "job_details"
    path = "/networks/{network_id}/jobs/{job_id}"
    parent_stream_type = JobsStream
    replication_key = "description_last_updated_at"
    is_sorted = False
    state_partitioning_keys = ["network_id"]
    selected_by_default = False
    strategy = OneDetail()
    proof = Proof.SINGLE
    skip_on = {
        403: HIDDEN,
        404: "Getro job {job_id} of network {network_id} was taken down before its details were read: skipped.",
    }

    @cached_property
    def since(self) -> dict[t.Any, datetime | None]:
        """Per network, the cut-off as this run began (read once)."""
        return {}

    def wants(self, job: dict, network_id: t.Any) -> bool:
        if self.getro.job_details == "all":
            return True
        since = self.since.get(network_id)
        if network_id not in self.since:
            # A state from before the cut-off was kept: the network's bookmark (or start_date) instead.
            state = self.runtime.state
            since = self.since[network_id] = state.time_of(SINCE, str(network_id)) or state.lower_bound(
                self, {"network_id": network_id}, self.settings.start_date
            )
        if since is None:
            return True
        for field in ("created_at", "description_last_updated_at"):
            value = job.get(field)
            if value is None and field == "description_last_updated_at":
                continue
            try:
                if value is None or parse_datetime(str(value)) > since:
                    return True
            except ValueError:
                return True  # a time that cannot be read counts as new
        return False


class CompanyDetailsStream(GetroNetworkChild):
    """A company's detail (``GET /networks/:id/companies/:id``): what the companies list does not
    carry (``tagline``) with the rest of the company. One request per company, at Getro's 30
    requests a minute (3,000 companies: 100 minutes), so it is not selected by default.

    Read whole each time it is selected (the detail has no time to ask from): a company gone
    between the list and its detail (404) is skipped with a warning, and the stream then gets no
    ACTIVATE_VERSION that run."""

    name = "company_details"
    path = "/networks/{network_id}/companies/{company_id}"
    parent_stream_type = CompaniesStream
    selected_by_default = False
    strategy = OneDetail()
    proof = Proof.SINGLE
    skip_on = {
        403: HIDDEN,
        404: "Getro company {company_id} of network {network_id} left the list before its detail was read: skipped.",
    }


STREAMS: tuple[type[JobSourcesStream], ...] = (
    JobFunctionsStream,
    ExperienceLevelsStream,
    NetworksStream,
    CompaniesStream,
    CompanyDetailsStream,
    JobsStream,
    JobDetailsStream,
    RemovedJobsStream,
    TalentStream,
)

__all__ = ["STREAMS", "iso"]
