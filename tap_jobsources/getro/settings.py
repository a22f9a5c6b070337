"""Getro's settings, typed, with the checks JSON Schema cannot express."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from singer_sdk import typing as th

from tap_jobsources.plugin import ProviderOptions, api_url_property, page_size_property, setting

DEFAULT_URL = "https://api.getro.com/v2"

PROPERTIES = th.PropertiesList(
    th.Property("getro_email", th.StringType, description="Getro user email, sent as X-User-Email."),
    th.Property("getro_api_token", th.StringType, secret=True, description="Getro API key, sent as X-User-Token."),
    api_url_property("getro", "Getro", DEFAULT_URL),
    th.Property(
        "getro_network_ids",
        th.ArrayType(th.IntegerType),
        description="Getro networks to extract. Empty: every network GET /networks lists.",
    ),
    th.Property(
        "getro_requests_per_minute",
        th.NumberType(exclusive_minimum=0, maximum=1_000_000_000),
        default=30,
        description="Ceiling for all Getro requests of one tap process, evenly spaced.",
    ),
    page_size_property("getro", "Getro"),
    th.Property(
        "getro_min_hours_between_syncs",
        th.NumberType(minimum=0, maximum=8_760),
        description="Getro asks that the same request not be repeated within 6 hours. The tap always "
        "says when a network was read whole less than 6 hours ago (one line per run); with this set, it skips "
        "a network read whole less than this many hours ago instead (and sends no ACTIVATE_VERSION for its "
        "streams).",
    ),
    th.Property(
        "getro_job_details",
        th.StringType(allowed_values=["changed", "all"]),
        default="changed",
        description="changed: ask job_details only for jobs new since the last complete read of their network "
        "(the list's created_at) or whose description_last_updated_at moved, with or without a description. "
        "all: every job's (the weekly full DAG).",
    ),
    th.Property(
        "getro_not_visible_profiles",
        th.BooleanType,
        default=False,
        description="Ask talent for not_visible_profiles=true: include the members who marked their profile as "
        "not visible in the network.",
    ),
)


@dataclass(frozen=True, kw_only=True)
class GetroOptions(ProviderOptions):
    email: str
    api_token: str
    network_ids: tuple[int, ...]
    page_size: int
    min_hours_between_syncs: float | None
    job_details: str
    not_visible_profiles: bool


def options(config: t.Mapping[str, t.Any]) -> GetroOptions:
    def get(name: str) -> t.Any:
        return setting(config, PROPERTIES, name)

    minimum = get("getro_min_hours_between_syncs")
    return GetroOptions(
        api_url=str(get("getro_api_url")),
        requests_per_minute=float(get("getro_requests_per_minute")),
        max_concurrency=1,  # Getro's limit is per account: one request at a time
        secrets=tuple(str(v) for v in (config.get("getro_api_token"),) if v),
        email=str(get("getro_email")),
        api_token=str(get("getro_api_token")),
        network_ids=tuple(get("getro_network_ids") or ()),
        page_size=int(get("getro_page_size")),
        min_hours_between_syncs=None if minimum is None else float(minimum),
        job_details=str(get("getro_job_details")),
        not_visible_profiles=bool(get("getro_not_visible_profiles")),
    )


def normalize(config: dict[str, t.Any]) -> list[str]:
    """Network ids listed twice are read once."""
    ids = config.get("getro_network_ids")
    if isinstance(ids, list) and len(set(map(repr, ids))) < len(ids):
        unique = list(dict.fromkeys(ids))
        config["getro_network_ids"] = unique
        return [f"getro_network_ids lists some networks more than once: reading {unique} once each."]
    return []


def headers(options: t.Any, context: t.Mapping[str, t.Any] | None) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-User-Email": options.email, "X-User-Token": options.api_token}
