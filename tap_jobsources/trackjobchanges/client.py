"""The TrackJobChanges base stream: the key in a header, the {status, message, data} envelope."""

from __future__ import annotations

import typing as t
from functools import cached_property
from importlib import resources

from singer_sdk import SchemaDirectory, StreamSchema
from singer_sdk.authenticators import APIKeyAuthenticator

from tap_jobsources.client import JobSourcesStream
from tap_jobsources.errors import FatalAPIError, api_message
from tap_jobsources.providers import TRACKJOBCHANGES
from tap_jobsources.trackjobchanges.pagination import LastPagePaginator

if t.TYPE_CHECKING:
    import requests

SCHEMAS = SchemaDirectory(resources.files(__package__) / "schemas")


class TrackJobChangesStream(JobSourcesStream):
    """The docs allow the key in the query string too; it goes in the ``key`` header only,
    because a URL ends up in connection-error messages and access logs."""

    provider = TRACKJOBCHANGES
    records_key = "data"
    schema = StreamSchema(SCHEMAS)

    @property
    def http_headers(self) -> dict:
        return {"Accept": "application/json"}

    @cached_property
    def authenticator(self) -> APIKeyAuthenticator:
        return APIKeyAuthenticator(key="key", value=self.config["trackjobchanges_api_key"], location="header")

    def make_paginator(self) -> LastPagePaginator:
        return LastPagePaginator(max_pages=self.max_pages)

    def get_url_params(self, context, next_page_token) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {"page": next_page_token}
        if context and context.get("group_id"):
            params["group"] = context["group_id"]
        return params

    def page_total(self, page) -> int | None:
        total = page.payload.get("total_count") if isinstance(page.payload, dict) else None
        return total if isinstance(total, int) and not isinstance(total, bool) else None

    def client_error(self, response: requests.Response, endpoint: str) -> Exception:
        message = api_message(response, "message")
        if response.status_code == 401:
            return FatalAPIError(
                f"TrackJobChanges rejected the API key (401) on {endpoint}: {message} Check trackjobchanges_api_key."
            )
        return super().client_error(response, endpoint)

    def records_from(self, payload: t.Any, response: requests.Response) -> list[dict]:
        # Any status but SUCCESS is an error, whatever the HTTP code said.
        status = payload.get("status") if isinstance(payload, dict) else None
        if status is not None and str(status).upper() != "SUCCESS":
            msg = (
                f"TrackJobChanges answered {self._endpoint(response.request)} with status {status}: "
                f"{payload.get('message') or '(no message)'} "
                "(check trackjobchanges_api_key and trackjobchanges_group_ids)"
            )
            raise FatalAPIError(msg)
        return super().records_from(payload, response)
