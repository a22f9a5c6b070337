"""The base stream every provider builds on.

A provider's base stream (``getro/client.py`` ...) says where its list is, how it
authenticates and what its errors mean; this class does the rest, the same way for
all three, through collaborators it holds (typed objects, each testable with fakes):

- ``runtime`` (``runtime.py``): the run's shared parts, handed over by the tap;
- ``sender`` (``sending.py``): one request, paced, limited, retried, decoded;
- ``reader`` (``partitions.py``): a partition's pages into records, resume, prefetch;
- the checkpoint (``checkpoint.py``, through the runtime): every STATE.

Here: the hooks a stream refines, the record path (shaping, keys) and the errors.
"""

from __future__ import annotations

import logging
import sys
import typing as t
from datetime import datetime
from functools import cached_property

import requests
from singer_sdk import Stream
from singer_sdk.exceptions import AbortedSyncFailedException, AbortedSyncPausedException
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform

from tap_jobsources.dates import canonical
from tap_jobsources.errors import (
    FatalAPIError,
    InvalidRecordError,
    MalformedResponseError,
    NotFoundError,
    RateLimitedError,
    RetriableAPIError,
    SkipPartition,
    body_excerpt,
    parse_retry_after,
)
from tap_jobsources.pagination import JobSourcesPaginator, Page
from tap_jobsources.partitions import PartitionReader
from tap_jobsources.sdk_compat import CompatStream
from tap_jobsources.sending import Extract, Sender, SendSettings, endpoint_of
from tap_jobsources.shaping import InvalidKeyError, RecordShaper
from tap_jobsources.stats import StreamStats

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context
    from singer_sdk.streams.rest import HTTPRequest

    from tap_jobsources.providers import Provider
    from tap_jobsources.resume import PartitionProgress
    from tap_jobsources.runtime import ProviderServices


def describe_partition(context: Context | None) -> str:
    """`` [network_id=101]`` for a message; contexts hold ids and names, never secrets."""
    if not context:
        return ""
    return " [" + ", ".join(f"{k}={v}" for k, v in context.items()) + "]"


class SinglePage(JobSourcesPaginator):
    """An endpoint that answers in one page."""

    def __init__(self) -> None:
        super().__init__(None)

    def has_more(self, page: Page) -> bool:
        return False


class JobSourcesStream(CompatStream):
    """Base of every stream of the tap (through one base class per provider)."""

    #: The lower bound of the partition being read (bookmark or start_date), or None.
    partition_start: datetime | None = None

    provider: t.ClassVar[Provider]
    # RecordShaper fits each record to the schema once; the SDK's own pass would repeat it.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    #: Key of the record list in a JSON object answer; None when the answer is the list.
    records_key: t.ClassVar[str | None] = None
    #: Statuses on which the contract says to skip a partition, each with its warning
    #: (``{network_id}``-style fields are filled from the partition's context).
    skip_partition_on: t.ClassVar[dict[int, str]] = {}
    #: An endpoint answered in one piece: no paging parameters, one request.
    unpaged: t.ClassVar[bool] = False
    #: A child stream whose first page its parent fetches ahead, record by record.
    prefetched: t.ClassVar[bool] = False
    #: Fetch the first page of the partitions that come next while this one is read.
    prefetch_partitions: t.ClassVar[bool] = False

    # Collaborators --------------------------------------------------------------

    @cached_property
    def services(self) -> ProviderServices:
        return self.runtime.services(self.provider)

    @property
    def requests_session(self) -> requests.Session:
        # One session per provider, shared by its streams: connections are kept alive
        # from one stream to the next.
        return self.services.session

    @cached_property
    def sender(self) -> Sender:
        return Sender(
            services=self.services,
            stream_name=self.name,
            logger=self.logger,
            stats=self.stats,
            check=self.validate_response,
            records_key=self.records_key,
            settings=SendSettings.from_config(self.config),
        )

    @cached_property
    def reader(self) -> PartitionReader:
        return PartitionReader(self, self.runtime, self.services)

    # Reading (the reader calls these hooks) -------------------------------------

    def get_records(self, context: Context | None) -> t.Iterable[dict]:
        return self.reader.records(context)

    def read_partition(self, context: Context | None, progress: PartitionProgress) -> t.Iterable[dict]:
        """The raw items of one partition (a stream wraps it to skip a partition, say)."""
        return self.reader.records_of(self.pages(context, progress), context, progress)

    def pages(self, context: Context | None, progress: PartitionProgress) -> t.Iterator[Page]:
        """A partition's pages (a stream may list them itself: Getro networks)."""
        return self.reader.pages(context, progress)

    def page_source(self, context: Context | None, token: t.Any, items: int) -> t.Iterator[Page]:
        """Pages from ``token`` on (a stream may read them ahead: Bindbee connectors)."""
        return self.reader.page_source(context, token, items)

    def expand(self, item: dict) -> dict:
        """The record of a listed item (a stream may fetch its detail); runs only for
        items that are emitted, never for those a resumed run passes over."""
        return item

    def admit(self, item: dict, context: Context | None) -> bool:
        """Whether to read this item at all (False: neither emitted nor its children read)."""
        return True

    @cached_property
    def emits_items_as_listed(self) -> bool:
        """Neither ``admit`` nor ``expand`` is a stream's own: the reader skips calling them."""
        cls = type(self)
        return cls.admit is JobSourcesStream.admit and cls.expand is JobSourcesStream.expand

    def item_finished(self, item: dict) -> None:
        """The item was emitted and its children were read."""

    def page_total(self, page: Page) -> int | None:
        """How many items the whole partition holds, where the API says."""
        return None

    def start_of(self, context: Context | None) -> datetime | None:
        """The lower bound (bookmark or start_date) of a partition, read once per partition."""
        return self.reader.start_of(context)

    # Sending --------------------------------------------------------------------

    def fetch(self, request: HTTPRequest, extract: Extract | None = None) -> Page:
        """Send one request (paced, retried) and return its parsed page; ``extract`` picks
        the records (default: :meth:`records_from`)."""
        prepared = self.build_prepared_request(
            method=request.method, url=request.url, params=request.encode_params(), headers=request.headers
        )
        return self.sender.send(prepared, extract or self.records_from)

    def fetch_one(self, request: HTTPRequest) -> list[dict]:
        """The record of a detail endpoint (one object), counted in the request metrics."""
        with self.get_http_request_counter() as counter:
            try:
                return self.fetch(request, extract=self.one_object).records
            finally:
                counter.increment()

    @staticmethod
    def _endpoint(request: requests.PreparedRequest | None) -> str:
        return endpoint_of(request)

    @property
    def emit_activate_version_messages(self) -> bool:
        # The SDK would send ACTIVATE_VERSION as each partition starts, so a target would
        # retire the rows of partitions not read yet. The tap sends it once per stream,
        # after the whole run succeeded (TapJobSources.sync_all).
        return False

    @property
    def url_base(self) -> str:
        return self.provider.base_url(self.config)

    @property
    def max_pages(self) -> int:
        return int(self.config.get("max_pages_per_partition", 10_000))

    def make_paginator(self) -> JobSourcesPaginator:
        return SinglePage()

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        return {}

    def log(self, message: str, *args: t.Any, level: int = logging.INFO, **kwargs: t.Any) -> None:
        # `--test` stops each stream at its record limit by raising: that is the test
        # succeeding, not "an unhandled error". Real errors still log as errors.
        if level >= logging.ERROR and isinstance(
            sys.exc_info()[1], (AbortedSyncFailedException, AbortedSyncPausedException)
        ):
            message, args, level = "%s: stopped at the --test record limit.", (self.name,), logging.INFO
        super().log(message, *args, level=level, **kwargs)

    @cached_property
    def stats(self) -> StreamStats:
        return StreamStats(self.name, self.path or "")

    @cached_property
    def shaper(self) -> RecordShaper:
        return RecordShaper(self.name, self.schema, self.logger, keys=self.primary_keys or ())

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        transformed = self.transform(row, context)
        if transformed is None:
            return None
        if self.replication_key:
            self._canonical_replication_value(transformed)
        try:
            shaped = self.shaper(transformed)
        except InvalidKeyError as exc:
            self._invalid_key(exc, context)
            return None
        self.stats.records += 1  # the main thread's alone
        return shaped

    def _canonical_replication_value(self, row: dict) -> None:
        value = row.get(self.replication_key)
        if isinstance(value, str):
            try:
                row[self.replication_key] = canonical(value)
            except ValueError:
                pass  # not a date: the shaper nulls it, with a warning

    def _invalid_key(self, exc: InvalidKeyError, context: Context | None) -> None:
        # A null or wrong-typed key would collide in the warehouse: never emit one.
        where = describe_partition(context)
        text = f"{self.provider.name} sent a {self.name} record{where} whose {exc}, which its schema does not allow"
        if self.config.get("on_invalid_primary_key", "fail") != "skip":
            msg = (
                f"{text}. Stopping (on_invalid_primary_key is 'fail'); set it to 'skip' to load the other "
                "records and end the run with an error instead."
            )
            raise InvalidRecordError(msg)
        self.logger.error("%s: skipped (on_invalid_primary_key is 'skip'; the run will end with an error).", text)
        self.runtime.ledger.note_skipped_record(self.name)

    def transform(self, row: dict, context: Context | None) -> dict | None:
        """A stream's own reshaping of an API item (add keys, rename, filter); None drops it."""
        return row

    def finalize_state_progress_markers(self, state: dict | None = None) -> None:
        # The SDK only recurses into selected children, so a selected grandchild of an
        # unselected child (networks -> jobs -> job_details) would keep its progress
        # markers for ever and its bookmark would never move.
        if not state:
            for child in self.child_streams:
                if not child.selected and child.has_selected_descendents:
                    child.finalize_state_progress_markers()
        super().finalize_state_progress_markers(state)

    @cached_property
    def read_children(self) -> list[Stream]:
        """The child streams this run reads (selected, or with a selected descendant)."""
        return [c for c in self.child_streams if c.selected or c.has_selected_descendents]

    def generate_child_contexts(self, record: dict, context: Context | None) -> t.Iterable[Context | None]:
        if not self.read_children:  # without children, skip the SDK's per-record child plumbing
            return ()
        return super().generate_child_contexts(record, context)

    @cached_property
    def plain_output(self) -> bool:
        """Every field selected, no stream map, no flattening: records go out as shaped."""
        maps = self.stream_maps
        return (
            len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and not maps[0].flattening_enabled
            and maps[0].stream_alias == self.name
            and all(self.mask.values())
        )

    # What a provider may refine --------------------------------------------------

    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        endpoint = self._endpoint(response.request)
        if status == 429:
            msg = f"{self.provider.name} rate limit (429) on {endpoint}"
            raise RateLimitedError(msg, response, parse_retry_after(response.headers.get("Retry-After")))
        if status >= 500:
            raise RetriableAPIError(
                f"{self.provider.name} server error {status} {response.reason} on {endpoint}", response
            )
        raise self.client_error(response, endpoint)

    def client_error(self, response: requests.Response, endpoint: str) -> Exception:
        """The exception for a 4xx answer (other than 429). Providers refine it."""
        name, status = self.provider.name, response.status_code
        if status in self.skip_partition_on:
            return SkipPartition(status)
        if status == 401:
            return FatalAPIError(
                f"{name} rejected the credentials (401 Unauthorized) on {endpoint}. "
                f"Check {self.provider.credentials_hint()}."
            )
        if status == 403:
            return FatalAPIError(
                f"{name} refused access (403 Forbidden) on {endpoint}. "
                f"Check {self.provider.credentials_hint()} and that this account may read it."
            )
        if status == 404:
            return NotFoundError(f"{name} has no {endpoint} (404 Not Found). Check {self.provider.url_setting}.")
        return FatalAPIError(f"{name} answered {status} {response.reason} on {endpoint}: {body_excerpt(response)}")

    def one_object(self, payload: t.Any, response: requests.Response) -> list[dict]:
        """Extractor for a detail endpoint: the answer is the record."""
        if not isinstance(payload, dict):
            msg = (
                f"{self.provider.name} answered {self._endpoint(response.request)} with "
                f"{type(payload).__name__}, not an object: {body_excerpt(response, 120)}"
            )
            raise MalformedResponseError(msg, response)
        return [payload]

    def records_from(self, payload: t.Any, response: requests.Response) -> list[dict]:
        """The records of one page; a page without its list is retried, never taken as empty."""
        items = payload
        if self.records_key is not None:
            items = payload.get(self.records_key) if isinstance(payload, dict) else None
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            where = f"a list of objects under '{self.records_key}'" if self.records_key else "a list of objects"
            msg = (
                f"{self.provider.name} answered {self._endpoint(response.request)} without {where} "
                f"(got {type(items).__name__}): {body_excerpt(response, 120)}"
            )
            raise MalformedResponseError(msg, response)
        return items
