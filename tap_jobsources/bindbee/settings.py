"""Bindbee's settings, typed, with the checks JSON Schema cannot express."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from singer_sdk import typing as th

from tap_jobsources.plugin import ProviderOptions, api_url_property, page_size_property, setting

DEFAULT_URL = "https://api.bindbee.dev/api/ats/v1"
CONNECTOR_HEADER = "x-connector-token"

PROPERTIES = th.PropertiesList(
    th.Property("bindbee_api_key", th.StringType, secret=True, description="Bindbee API key (Authorization: Bearer)."),
    th.Property(
        "bindbee_connectors",
        th.ArrayType(
            th.ObjectType(
                th.Property("name", th.StringType, required=True, description="Your label for the connector."),
                th.Property("token", th.StringType, required=True, secret=True, description="x-connector-token."),
            )
        ),
        description="Bindbee connectors, one partition each: {name, token}. Only the name reaches records and state.",
    ),
    th.Property(
        "bindbee_connector_names",
        th.ArrayType(th.StringType),
        description="Read only these connectors of bindbee_connectors, by name (one orchestrator task per "
        "connector, say). Empty: all of them.",
    ),
    api_url_property("bindbee", "Bindbee", DEFAULT_URL),
    page_size_property("bindbee", "Bindbee"),
    th.Property("bindbee_include_raw_data", th.BooleanType, default=False, description="Ask Bindbee for raw_data."),
    th.Property(
        "bindbee_include_custom_fields", th.BooleanType, default=False, description="Ask Bindbee for custom_fields."
    ),
    th.Property(
        "bindbee_max_concurrency",
        th.IntegerType(minimum=1, maximum=16),
        default=1,
        description="Connectors read at once (1: one after another). Above 1, the next connectors are "
        "read ahead while one is emitted; a killed run then also repeats the pages read ahead.",
    ),
    th.Property(
        "bindbee_lookback_minutes",
        th.NumberType(minimum=0, maximum=525_600),
        default=60,
        description="modified_after is asked this many minutes before the connector's bookmark. Bindbee filters "
        "on when it synced a job, the bookmark is the jobs' modified_at (the ATS's time): the two clocks differ, "
        "and a job synced late would fall before the bookmark. The cost: the jobs synced in that window are read "
        "again each run (the target upserts them).",
    ),
)


@dataclass(frozen=True)
class Connector:
    name: str
    token: str


@dataclass(frozen=True, kw_only=True)
class BindbeeOptions(ProviderOptions):
    api_key: str
    connectors: tuple[Connector, ...]  # the ones this run reads
    page_size: int
    include_raw_data: bool
    include_custom_fields: bool
    lookback_minutes: float

    def token(self, name: str) -> str:
        return next(c.token for c in self.connectors if c.name == name)

    def connector_of(self, token: str | None) -> str:
        return next((c.name for c in self.connectors if c.token == token), "?")


def options(config: t.Mapping[str, t.Any]) -> BindbeeOptions:
    def get(name: str) -> t.Any:
        return setting(config, PROPERTIES, name)

    wanted = get("bindbee_connector_names")
    connectors = tuple(Connector(str(c["name"]), str(c["token"])) for c in get("bindbee_connectors") or ())
    return BindbeeOptions(
        api_url=str(get("bindbee_api_url")),
        max_concurrency=int(get("bindbee_max_concurrency")),
        secrets=tuple(str(v) for v in (config.get("bindbee_api_key"), *(v for _, v in connector_tokens(config))) if v),
        api_key=str(get("bindbee_api_key")),
        connectors=tuple(c for c in connectors if not wanted or c.name in wanted),
        page_size=int(get("bindbee_page_size")),
        include_raw_data=bool(get("bindbee_include_raw_data")),
        include_custom_fields=bool(get("bindbee_include_custom_fields")),
        lookback_minutes=float(get("bindbee_lookback_minutes")),
    )


def connector_tokens(config: t.Mapping[str, t.Any]) -> list[tuple[str, t.Any]]:
    """Every connector's token, named as a message may name it (never by value)."""
    return [
        (f"the token of bindbee_connectors[{i}]", c.get("token"))
        for i, c in enumerate(config.get("bindbee_connectors") or [])
        if isinstance(c, dict)
    ]


def checks(config: t.Mapping[str, t.Any]) -> list[str]:
    connectors = config.get("bindbee_connectors") or []
    errors = []
    names = [c.get("name") for c in connectors if isinstance(c, dict)]
    for i, connector in enumerate(connectors):
        if not isinstance(connector, dict) or not connector.get("name") or not connector.get("token"):
            errors.append(f"bindbee_connectors[{i}] needs both a non-empty name and a token.")
    tokens = [c.get("token") if isinstance(c, dict) else None for c in connectors]
    for i, token in enumerate(tokens):
        if token and token in tokens[:i]:
            errors.append(
                f"bindbee_connectors[{i}] has the token of bindbee_connectors[{tokens.index(token)}]: one connector "
                "under two names would load its jobs twice. Keep one of them. The token is not shown."
            )
    duplicates = sorted({n for n in names if n and names.count(n) > 1})
    if duplicates:
        errors.append(f"bindbee_connectors names must be unique (they key records and state): {', '.join(duplicates)}.")
    wanted = config.get("bindbee_connector_names") or []
    if unknown := [n for n in wanted if n not in set(names)]:
        errors.append(
            f"bindbee_connector_names names connectors that bindbee_connectors lacks: {', '.join(map(str, unknown))}."
        )
    return errors


def headers(options: t.Any, context: t.Mapping[str, t.Any] | None) -> dict[str, str]:
    found = {"Authorization": f"Bearer {options.api_key}"}
    if context and "connector" in context:
        found[CONNECTOR_HEADER] = options.token(context["connector"])
    return found
