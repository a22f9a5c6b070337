"""TrackJobChanges' settings, typed."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from singer_sdk import typing as th

from tap_jobsources.plugin import ProviderOptions, api_url_property, setting

DEFAULT_URL = "https://www.trackjobchanges.com/api/v1"

PROPERTIES = th.PropertiesList(
    th.Property(
        "trackjobchanges_api_key",
        th.StringType,
        secret=True,
        description="TrackJobChanges API key, sent in the `key` header (never in the URL).",
    ),
    api_url_property("trackjobchanges", "TrackJobChanges", DEFAULT_URL),
    th.Property(
        "trackjobchanges_group_ids",
        th.ArrayType(th.StringType),
        description="TrackJobChanges groups, one partition each. Empty: the account's default group (the tap "
        "warns when the account holds connections the default group does not).",
    ),
    th.Property(
        "trackjobchanges_max_concurrency",
        th.IntegerType(minimum=1, maximum=32),
        default=4,
        description="TrackJobChanges requests in flight at once (1: one after another): each connection's "
        "employments, and the next groups' first pages. Halved on a 429, then raised slowly again.",
    ),
    th.Property(
        "trackjobchanges_employments",
        th.StringType(allowed_values=["changed", "all"]),
        default="changed",
        description="changed: read a connection's employments only when it may have changed since the last "
        "complete run of its group, judged from TrackJobChanges' own times (created_at, employment_checked_at, "
        "new_job_flagged_at; with the documented list, which has no employment_checked_at: created_at, "
        "has_new_job and current_employment.started_at); a run that skipped some sends no ACTIVATE_VERSION for "
        "employments. all: every connection's (the weekly full DAG).",
    ),
)


@dataclass(frozen=True, kw_only=True)
class TrackJobChangesOptions(ProviderOptions):
    api_key: str
    group_ids: tuple[str, ...]
    employments: str


def options(config: t.Mapping[str, t.Any]) -> TrackJobChangesOptions:
    def get(name: str) -> t.Any:
        return setting(config, PROPERTIES, name)

    key = str(get("trackjobchanges_api_key"))
    return TrackJobChangesOptions(
        api_url=str(get("trackjobchanges_api_url")),
        max_concurrency=int(get("trackjobchanges_max_concurrency")),
        secrets=(key,) if key else (),
        api_key=key,
        group_ids=tuple(str(g) for g in get("trackjobchanges_group_ids") or ()),
        employments=str(get("trackjobchanges_employments")),
    )


def headers(options: t.Any, context: t.Mapping[str, t.Any] | None) -> dict[str, str]:
    # The docs allow the key in the query string too; it goes in a header only, because a URL ends
    # up in connection-error messages and access logs.
    return {"key": options.api_key}
