"""The Getro base stream: headers, paging, and the one Getro pacer."""

from __future__ import annotations

import typing as t
from functools import cached_property
from importlib import resources

from singer_sdk import SchemaDirectory, StreamSchema
from singer_sdk.authenticators import APIKeyAuthenticator

from tap_jobsources.client import JobSourcesStream
from tap_jobsources.getro.pagination import GetroPaginator
from tap_jobsources.pagination import JobSourcesPaginator
from tap_jobsources.providers import GETRO

SCHEMAS = SchemaDirectory(resources.files(__package__) / "schemas")


class GetroStream(JobSourcesStream):
    provider = GETRO
    records_key = "items"
    schema = StreamSchema(SCHEMAS)

    @property
    def http_headers(self) -> dict:
        return {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "X-User-Email": self.config["getro_email"],
        }

    @cached_property
    def authenticator(self) -> APIKeyAuthenticator:
        return APIKeyAuthenticator(key="X-User-Token", value=self.config["getro_api_token"], location="header")

    @property
    def page_size(self) -> int:
        return int(self.config.get("getro_page_size", 100))

    def make_paginator(self) -> JobSourcesPaginator:
        if self.unpaged:
            return super().make_paginator()
        return GetroPaginator(self.page_size, max_pages=self.max_pages)

    def get_url_params(self, context, next_page_token) -> dict[str, t.Any]:
        if self.unpaged:
            return {}
        return {"page": next_page_token, "per_page": self.page_size}

    def page_total(self, page) -> int | None:
        meta = page.payload.get("meta") if isinstance(page.payload, dict) else None
        total = meta.get("total") if isinstance(meta, dict) else None
        return total if isinstance(total, int) and not isinstance(total, bool) else None


class GetroNetworkChildStream(GetroStream):
    """A list under one network: records carry ``network_id``, state is kept per network."""

    primary_keys = ("network_id", "id")
    # A full-table list keeps no bookmark: one state entry for the stream, not one per
    # network (the run's page progress lives in the state's "resume" section).
    state_partitioning_keys: t.ClassVar[list[str] | None] = []

    def transform(self, row: dict, context) -> dict | None:
        row["network_id"] = context["network_id"]
        return row
