"""Baseline: the SDK's cookiecutter-style RESTStream over the same Getro jobs pages.

Template code on purpose: default writer, default type conformance, JSONPath records,
a page-number paginator that re-reads the response. Not part of tap-jobsources.
"""

from __future__ import annotations

import json
from importlib import resources

from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.pagination import BaseAPIPaginator
from singer_sdk.streams import RESTStream

PER_PAGE = 100


class PagePaginator(BaseAPIPaginator):
    def has_more(self, response) -> bool:
        return len(response.json()["items"]) == PER_PAGE

    def get_next(self, response) -> int:
        return self.current_value + 1


class JobsStream(RESTStream):
    name = "jobs"
    path = "/networks/{network_id}/jobs"
    primary_keys = ("network_id", "id")
    records_jsonpath = "$.items[*]"
    schema = json.loads((resources.files("tap_jobsources.getro") / "schemas" / "jobs.json").read_text())

    @property
    def url_base(self) -> str:
        return self.config["getro_api_url"]

    @property
    def http_headers(self) -> dict:
        return {"X-User-Email": self.config["getro_email"], "X-User-Token": self.config["getro_api_token"]}

    @property
    def partitions(self) -> list[dict]:
        return [{"network_id": n} for n in self.config["network_ids"]]

    def get_new_paginator(self) -> PagePaginator:
        return PagePaginator(1)

    def get_url_params(self, context, next_page_token) -> dict:
        return {"page": next_page_token, "per_page": PER_PAGE}

    def post_process(self, row: dict, context=None) -> dict:
        row["network_id"] = context["network_id"]
        return row


class StockTap(Tap):
    name = "tap-stock"
    config_jsonschema = th.PropertiesList(
        th.Property("getro_api_url", th.StringType),
        th.Property("getro_email", th.StringType),
        th.Property("getro_api_token", th.StringType),
        th.Property("network_ids", th.ArrayType(th.IntegerType)),
    ).to_dict()

    def discover_streams(self):
        return [JobsStream(self)]


if __name__ == "__main__":
    StockTap.cli()
