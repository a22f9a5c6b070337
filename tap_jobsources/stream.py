"""The base of every stream: a stream is a declaration, one small class per stream.

A stream says what it is (class attributes and a few small methods):

- ``name``, ``path``, ``primary_keys``, ``replication_key``, ``parent_stream_type`` (the SDK's);
- ``records_key``: where the list is in an answer (``extract`` for another shape);
- ``paging()``: how its list pages (``paging.py``); ``params(part)``: its own query parameters;
- ``transform(row, context)``: what it adds to a record; ``get_child_context``: its children;
- ``skip_on``: the statuses that skip a partition with a warning instead of stopping the run;
- ``strategy``: how a partition is read, when it is not "page through the list" (``reading.py``);
- its policies: ``proof``, what proves a read of it complete (its answers' total, an answer that
  says it is the last page, or one answer that is the whole list: ``completeness.Proof``), and
  ``echoes_credentials``, whether its answers may carry the request's credential by design.

Everything else is done once, here and in the collaborators a stream holds (typed objects, none a
base class): ``runtime`` (the run's shared parts), ``reader`` (the page loop, completeness,
resume, prefetch: ``reading.py`` and the modules it names), ``sender`` (one request, paced, retried, decoded:
``sending.py``), the shaper (``shaping.py``) and, through the runtime, the checkpoint.
"""

from __future__ import annotations

import logging
import sys
import typing as t
from functools import cached_property
from importlib.metadata import version
from urllib.parse import quote

import requests
from singer_sdk import metrics
from singer_sdk.exceptions import AbortedSyncFailedException, AbortedSyncPausedException
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform

from tap_jobsources.completeness import Proof
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
    retry_after,
)
from tap_jobsources.paging import SINGLE, Paging
from tap_jobsources.reading import LIST, Partition, Reader, Strategy
from tap_jobsources.sdk_compat import CompatStream
from tap_jobsources.sending import Sender, SendSettings, endpoint_of
from tap_jobsources.shaping import InvalidKeyError, RecordShaper
from tap_jobsources.stats import StreamStats

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_jobsources.checkpoint import Checkpoint
    from tap_jobsources.plugin import Provider, ProviderOptions
    from tap_jobsources.runtime import ProviderServices, Runtime
    from tap_jobsources.settings import Settings

_USER_AGENT = f"tap-jobsources/{version('tap-jobsources')}"


def describe_partition(context: Context | None) -> str:
    """`` [network_id=101]`` for a message; contexts hold ids and names, never secrets."""
    if not context:
        return ""
    return " [" + ", ".join(f"{k}={v}" for k, v in context.items()) + "]"


class RunHolder(t.Protocol):
    """What a stream needs of its tap: the run's shared parts."""

    runtime: Runtime


class JobSourcesStream(CompatStream):
    """Base of every stream of the tap (through one base class per provider)."""

    provider: t.ClassVar[Provider]
    # RecordShaper fits each record to the schema once; the SDK's own pass would repeat it.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    # The declaration (see the module's docstring) ----------------------------------------

    path: t.ClassVar[str] = ""
    #: Key of the record list in a JSON object answer; None when the answer is the list.
    records_key: t.ClassVar[str | None] = None
    #: Statuses that skip a partition, each with its warning (``{network_id}``-style fields are
    #: filled from the partition's context). A skipped partition leaves its stream incomplete.
    skip_on: t.ClassVar[t.Mapping[int, str]] = {}
    #: How a partition is read (default: page through the list).
    strategy: t.ClassVar[Strategy] = LIST
    #: What proves a read of its list complete (default: the answers' total). A read not proven
    #: sends no ACTIVATE_VERSION and leaves the bookmark where it was.
    proof: t.ClassVar[Proof] = Proof.TOTAL
    #: Its answers may carry the credential the request was sent with (an account endpoint that
    #: shows its key): masked in the records as always, without a warning on every answer.
    echoes_credentials: t.ClassVar[bool] = False
    #: A child whose first page its parent's pages fetch ahead (with concurrency above 1).
    prefetched: t.ClassVar[bool] = False
    #: Fetch the first page of the partitions that come next while one is read.
    prefetch_partitions: t.ClassVar[bool] = False
    #: Pages of the next partitions read on workers while one is emitted (0: none).
    read_ahead: t.ClassVar[int] = 0

    def paging(self) -> Paging:
        """How the list pages (default: one answer is the whole list)."""
        return SINGLE

    def params(self, part: Partition) -> dict[str, t.Any]:
        """The stream's own query parameters for a partition (besides paging)."""
        return {}

    def transform(self, row: dict, context: Context | None) -> dict | None:
        """What the stream adds to (or changes in) an item; None drops it."""
        return row

    def item_key(self, item: dict) -> t.Any:
        """An item's id in its list, to spot one that comes twice (None: it has none)."""
        return item.get("id")

    def extract(self, payload: t.Any, response: requests.Response) -> list[dict]:
        """The records of one answer; an answer without its list is retried, never taken as empty."""
        items = payload
        if self.records_key is not None:
            items = payload.get(self.records_key) if isinstance(payload, dict) else None
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            where = f"a list of objects under '{self.records_key}'" if self.records_key else "a list of objects"
            msg = (
                f"{self.provider.name} answered {endpoint_of(response.request)} without {where} "
                f"(got {type(items).__name__}): {body_excerpt(response, 120)}"
            )
            raise MalformedResponseError(msg, response)
        return items

    def extract_one(self, payload: t.Any, response: requests.Response) -> list[dict]:
        """A detail endpoint: the answer is the record."""
        if not isinstance(payload, dict):
            msg = (
                f"{self.provider.name} answered {endpoint_of(response.request)} with "
                f"{type(payload).__name__}, not an object: {body_excerpt(response, 120)}"
            )
            raise MalformedResponseError(msg, response)
        return [payload]

    # Collaborators ------------------------------------------------------------------------

    @property
    def runtime(self) -> Runtime:
        """The run's shared parts (services, progress, checkpoint, stop flag), from the tap."""
        return t.cast(RunHolder, self.owning_tap).runtime

    @property
    def checkpoint(self) -> Checkpoint:
        return self.runtime.checkpoint

    @property
    def provider_name(self) -> str:
        return self.provider.name

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @cached_property
    def options(self) -> ProviderOptions:
        """This provider's settings (each provider's base stream narrows the type)."""
        return self.services.options

    @cached_property
    def services(self) -> ProviderServices:
        return self.runtime.services(self.provider)

    @cached_property
    def sender(self) -> Sender:
        settings = self.settings
        return Sender(
            services=self.services,
            stream_name=self.name,
            logger=self.logger,
            stats=self.stats,
            check=self.check_response,
            records_key=self.records_key,
            echoes=self.echoes_credentials,
            settings=SendSettings(
                max_attempts=settings.retry_max_attempts,
                backoff=settings.retry_backoff_seconds,
                timeout=settings.request_timeout,
            ),
            max_body_bytes=settings.max_response_bytes,
        )

    @cached_property
    def reader(self) -> Reader:
        return Reader(self, self.runtime, self.services)

    @cached_property
    def stats(self) -> StreamStats:
        return StreamStats(self.name, self.path)

    @cached_property
    def shaper(self) -> RecordShaper:
        return RecordShaper(self.name, self.schema, self.logger, keys=self.primary_keys or ())

    @cached_property
    def read_children(self) -> list[JobSourcesStream]:
        """The child streams this run reads (selected, or with a selected descendant)."""
        return [t.cast(JobSourcesStream, c) for c in self.child_streams if c.selected or c.has_selected_descendents]

    @cached_property
    def descendants(self) -> tuple[JobSourcesStream, ...]:
        """The streams below this one that this run reads: their progress goes with each record."""
        found: list[JobSourcesStream] = []
        stack = list(self.read_children)
        while stack:
            child = stack.pop()
            found.append(child)
            stack.extend(child.read_children)
        return tuple(found)

    # What the SDK calls -------------------------------------------------------------------

    def get_records(self, context: Context | None) -> t.Iterable[dict]:
        return self.reader.records(context)

    def generate_child_contexts(self, record: dict, context: Context | None) -> t.Iterable[Context | None]:
        if not self.read_children:  # without children, skip the SDK's per-record child plumbing
            return ()
        return super().generate_child_contexts(record, context)

    def child_contexts(self, record: dict, context: Context | None) -> t.Iterable[Context | None]:
        """The contexts of the children a record will have, without side effects (pages fetched
        ahead ask it, maybe on a worker): the SDK's, unless a stream says which records need them."""
        return super().generate_child_contexts(record, context) if self.read_children else ()

    @property
    def emit_activate_version_messages(self) -> bool:
        # The SDK would send ACTIVATE_VERSION as each partition starts, so a target would retire the
        # rows of partitions not read yet. The tap sends it once per stream, after the whole run
        # succeeded and only for a stream read whole (TapJobSources.run_sync).
        return False

    def log(self, message: str, *args: t.Any, level: int = logging.INFO, **kwargs: t.Any) -> None:
        # `--test` stops each stream at its record limit by raising: that is the test
        # succeeding, not "an unhandled error". Real errors still log as errors.
        if level >= logging.ERROR and isinstance(
            sys.exc_info()[1], (AbortedSyncFailedException, AbortedSyncPausedException)
        ):
            message, args, level = "%s: stopped at the --test record limit.", (self.name,), logging.INFO
        super().log(message, *args, level=level, **kwargs)

    # Requests -----------------------------------------------------------------------------

    def request(self, part: Partition | None, token: t.Any = None, path: str | None = None) -> requests.PreparedRequest:
        """The request for one page of a partition (``path``: another endpoint of the partition)."""
        context = part.context if part is not None else None
        values = {k: quote(str(v), safe="") for k, v in (context or {}).items()}
        url = self.options.api_url.rstrip("/") + (path or self.path).format(**values)
        params = {**self.paging().params(token), **(self.params(part) if part is not None else {})}
        headers = {
            "Accept": "application/json",
            "User-Agent": self.settings.user_agent or _USER_AGENT,
            **self.provider.headers(self.options, context),
        }
        return requests.Request("GET", url, params=params, headers=headers).prepare()

    def request_counter(self, context: Context | None) -> metrics.Counter:
        counter = metrics.http_request_counter(self.name, endpoint=self.path)
        counter.with_context(context)
        return counter

    def check_response(self, response: requests.Response) -> None:
        """Raise what an answer that is not a success means (429, 5xx: retried; 4xx: the provider's
        error table, or a skip of the partition where the stream declares one)."""
        status = response.status_code
        if status < 400:
            return
        endpoint = endpoint_of(response.request)
        name = self.provider.name
        if status == 429:
            msg = f"{name} rate limit (429) on {endpoint}"
            raise RateLimitedError(msg, response, retry_after(response))
        if status >= 500:
            raise RetriableAPIError(f"{name} server error {status} {response.reason} on {endpoint}", response)
        if status in self.skip_on:
            raise SkipPartition(status)
        raise self.provider.error(self.options, response, endpoint) or self.client_error(response, endpoint)

    def client_error(self, response: requests.Response, endpoint: str) -> Exception:
        """The shared reading of a 4xx answer."""
        name, status = self.provider.name, response.status_code
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

    # The record path ----------------------------------------------------------------------

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
        except RecursionError:
            msg = (
                f"{self.provider.name} sent a {self.name} record{describe_partition(context)} nested deeper than "
                "the tap can read (about 1,000 levels). Check with the provider what that record holds."
            )
            raise InvalidRecordError(msg) from None
        self.stats.records += 1  # the main thread's alone
        return shaped

    def _canonical_replication_value(self, row: dict) -> None:
        key = t.cast(str, self.replication_key)
        value = row.get(key)
        if isinstance(value, str):
            try:
                row[key] = canonical(value)
            except ValueError:
                pass  # not a date, or one with no UTC form: the shaper nulls it, with a warning

    def _invalid_key(self, exc: InvalidKeyError, context: Context | None) -> None:
        # A null or wrong-typed key would collide in the warehouse: never emit one.
        where = describe_partition(context)
        text = f"{self.provider.name} sent a {self.name} record{where} whose {exc}, which its schema does not allow"
        if self.settings.on_invalid_primary_key != "skip":
            msg = (
                f"{text}. Stopping (on_invalid_primary_key is 'fail'); set it to 'skip' to load the other "
                "records and end the run with an error instead."
            )
            raise InvalidRecordError(msg)
        self.logger.error("%s: skipped (on_invalid_primary_key is 'skip'; the run will end with an error).", text)
        self.runtime.ledger.note_skipped_record(self.name)

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
