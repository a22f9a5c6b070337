"""The Bindbee base stream: bearer key, a connector token per partition, cursor paging."""

from __future__ import annotations

import typing as t
from functools import cached_property, partial
from importlib import resources

from singer_sdk import SchemaDirectory, StreamSchema
from singer_sdk.authenticators import BearerTokenAuthenticator

from tap_jobsources.bindbee.pagination import BindbeeCursorPaginator
from tap_jobsources.client import JobSourcesStream
from tap_jobsources.concurrency import PageReader
from tap_jobsources.errors import FatalAPIError, api_message
from tap_jobsources.providers import BINDBEE
from tap_jobsources.resume import partition_key

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.streams.rest import HTTPRequest, PageContext

SCHEMAS = SchemaDirectory(resources.files(__package__) / "schemas")
CONNECTOR_HEADER = "x-connector-token"


class BindbeeStream(JobSourcesStream):
    """One partition per entry of bindbee_connectors, named by the connector's ``name``.

    The partition context (which the SDK logs in its metrics and writes to state)
    holds the name only; the token is looked up at request time and travels in a
    header, never in a context, record, URL or message.
    """

    provider = BINDBEE
    records_key = "items"
    schema = StreamSchema(SCHEMAS)

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._readers: dict[str, PageReader] = {}  # connector -> its pages, read ahead

    @property
    def partitions(self) -> list[dict]:
        wanted = self.config.get("bindbee_connector_names")
        return [
            {"connector": c["name"]} for c in self.config["bindbee_connectors"] if not wanted or c["name"] in wanted
        ]

    @property
    def http_headers(self) -> dict:
        return {"Accept": "application/json"}

    @cached_property
    def authenticator(self) -> BearerTokenAuthenticator:
        return BearerTokenAuthenticator(token=self.config["bindbee_api_key"])

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        request = super().get_http_request(page=page)
        context = page.stream_context or {}
        request.headers[CONNECTOR_HEADER] = self._token(context["connector"])
        return request

    def _token(self, name: str) -> str:
        return next(c["token"] for c in self.config["bindbee_connectors"] if c["name"] == name)

    def _connector_of(self, response: requests.Response) -> str:
        token = response.request.headers.get(CONNECTOR_HEADER) if response.request else None
        return next((c["name"] for c in self.config["bindbee_connectors"] if c["token"] == token), "?")

    #: Pages of a connector read ahead while an earlier one is emitted (bounds memory).
    READ_AHEAD_PAGES = 32

    def page_source(self, context, token, items) -> t.Iterator:
        """With bindbee_max_concurrency above 1, the next connectors are read on workers
        while this one is emitted; their records still come connector after connector."""
        read = self.reader.page_source
        if self.services.concurrency <= 1:
            return read(context, token, items)
        workers = self.services.workers
        for upcoming in self.reader.upcoming_partitions(context):
            key = partition_key(upcoming)
            if key not in self._readers:
                self.start_of(upcoming)  # read on this thread, before a worker needs it
                self._readers[key] = PageReader(workers, partial(read, upcoming, None, 0), self.READ_AHEAD_PAGES)
        ahead = self._readers.pop(partition_key(context), None)
        if ahead is None or token is not None:
            ahead = PageReader(workers, partial(read, context, token, items), self.READ_AHEAD_PAGES)
        return iter(ahead)

    def make_paginator(self) -> BindbeeCursorPaginator:
        return BindbeeCursorPaginator(max_pages=self.max_pages)

    def get_url_params(self, context, next_page_token) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {"page_size": int(self.config.get("bindbee_page_size", 100))}
        if next_page_token:
            params["cursor"] = next_page_token
        if self.config.get("bindbee_include_raw_data"):
            params["include_raw_data"] = "true"
        if self.config.get("bindbee_include_custom_fields"):
            params["include_custom_fields"] = "true"
        return params

    def client_error(self, response: requests.Response, endpoint: str) -> Exception:
        connector = self._connector_of(response)
        status = response.status_code
        if status in (401, 403):
            what = "API key" if status == 401 else "connector token"
            return FatalAPIError(
                f"Bindbee rejected the {what} ({status}) for connector '{connector}' on {endpoint}. "
                f"Check bindbee_api_key and the token of connector '{connector}' in bindbee_connectors."
            )
        if status == 422:
            return FatalAPIError(
                f"Bindbee refused the request for connector '{connector}' on {endpoint} (422): "
                f"{api_message(response, 'detail')}"
            )
        return super().client_error(response, endpoint)
