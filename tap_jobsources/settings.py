"""The tap's settings: their JSON Schema, and the checks JSON Schema cannot express.

Every problem found here stops the tap before its first request, with a message
that names the setting to fix.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlparse

from singer_sdk import typing as th

from tap_jobsources.providers import BINDBEE, GETRO, PROVIDERS, TRACKJOBCHANGES


def _page_size(provider) -> th.Property:
    return th.Property(
        provider.page_size_setting,
        th.IntegerType(minimum=1, maximum=100),
        default=100,
        description=f"Items per page asked of {provider.name} (1 to 100).",
    )


def _api_url(provider) -> th.Property:
    return th.Property(
        provider.url_setting,
        th.StringType,
        default=provider.default_url,
        description=f"Base URL of the {provider.name} API (point it at the sandbox to try the tap).",
    )


SETTINGS = th.PropertiesList(
    th.Property(
        "start_date",
        th.DateTimeType,
        description="Lower bound for incremental streams that have no state yet. Empty: full history.",
    ),
    # Getro
    th.Property("getro_email", th.StringType, description="Getro user email, sent as X-User-Email."),
    th.Property(
        "getro_api_token", th.StringType, secret=True, description="Getro API key, sent as X-User-Token."
    ),
    _api_url(GETRO),
    th.Property(
        "getro_network_ids",
        th.ArrayType(th.IntegerType),
        description="Getro networks to extract. Empty: every network GET /networks lists.",
    ),
    th.Property(
        "getro_requests_per_minute",
        th.NumberType(exclusive_minimum=0),
        default=30,
        description="Ceiling for all Getro requests of one tap process, evenly spaced.",
    ),
    _page_size(GETRO),
    # Bindbee
    th.Property(
        "bindbee_api_key", th.StringType, secret=True, description="Bindbee API key (Authorization: Bearer)."
    ),
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
    _api_url(BINDBEE),
    _page_size(BINDBEE),
    th.Property("bindbee_include_raw_data", th.BooleanType, default=False, description="Ask Bindbee for raw_data."),
    th.Property(
        "bindbee_include_custom_fields", th.BooleanType, default=False, description="Ask Bindbee for custom_fields."
    ),
    # TrackJobChanges
    th.Property(
        "trackjobchanges_api_key",
        th.StringType,
        secret=True,
        description="TrackJobChanges API key, sent in the `key` header (never in the URL).",
    ),
    _api_url(TRACKJOBCHANGES),
    th.Property(
        "trackjobchanges_group_ids",
        th.ArrayType(th.StringType),
        description="TrackJobChanges groups, one partition each. Empty: the account's default group.",
    ),
    # Shared HTTP behaviour
    th.Property(
        "request_timeout",
        th.NumberType(exclusive_minimum=0),
        default=300,
        description="Seconds to wait for an answer before the request is retried.",
    ),
    th.Property(
        "retry_max_attempts",
        th.IntegerType(minimum=1, maximum=20),
        default=6,
        description="Attempts per request (429, 5xx, resets, timeouts, bad bodies) before the tap stops.",
    ),
    th.Property(
        "retry_backoff_seconds",
        th.NumberType(minimum=0),
        default=1,
        description="First retry wait; it doubles on each retry (with jitter), up to 60 s.",
    ),
    th.Property(
        "emit_activate_version_messages",
        th.BooleanType,
        default=False,
        description="Send ACTIVATE_VERSION for full-table streams once a run completes, so targets "
        "can mark rows that vanished from the source as deleted.",
    ),
    th.Property(
        "max_pages_per_partition",
        th.IntegerType(minimum=1),
        default=10_000,
        description="Safety cap: more pages than this in one partition stops the run with an error.",
    ),
)


def config_schema() -> dict:
    """A fresh copy of the settings' JSON Schema (the SDK adds its own settings to the one it gets)."""
    return SETTINGS.to_dict()


#: setting name -> its JSON types, for reading numbers and booleans given as text
_TYPES = {name: spec.get("type", []) for name, spec in config_schema()["properties"].items()}


def coerce_strings(config: dict[str, t.Any]) -> None:
    """Numbers and booleans that arrive as text (environment variables, Meltano's string kind)."""
    for name, kinds in _TYPES.items():
        value = config.get(name)
        if not isinstance(value, str):
            continue
        text = value.strip()
        try:
            if "integer" in kinds and text.lstrip("-").isdigit():
                config[name] = int(text)
            elif "number" in kinds:
                config[name] = float(text)
            elif "boolean" in kinds and text.lower() in ("true", "false"):
                config[name] = text.lower() == "true"
        except ValueError:
            pass  # left as it is: validation names the setting


def config_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    """What is wrong with a config beyond its JSON Schema, one message per setting."""
    errors: list[str] = []
    enabled = []
    for provider in PROVIDERS:
        if not provider.enabled(config):
            continue
        enabled.append(provider)
        missing = [name for name in provider.credentials if not config.get(name)]
        if missing:
            errors.append(
                f"{provider.name} is half configured: set {' and '.join(missing)} as well, "
                f"or unset {' and '.join(n for n in provider.credentials if n not in missing)}."
            )
        url = config.get(provider.url_setting)
        if url is not None and not _is_http_url(url):
            errors.append(
                f"{provider.url_setting} is not a valid http(s) URL: {url!r}. "
                f"Example: {provider.default_url}"
            )
    if not enabled:
        errors.append(
            "No provider is configured. Set getro_email and getro_api_token, "
            "or bindbee_api_key and bindbee_connectors, or trackjobchanges_api_key."
        )
    errors.extend(_connector_errors(config.get("bindbee_connectors") or []))
    return errors


def _is_http_url(url: t.Any) -> bool:
    if not isinstance(url, str):
        return False
    parsed = urlparse(url)
    try:
        parsed.port  # raises on a malformed port
    except ValueError:
        return False
    return parsed.scheme in {"http", "https"} and bool(parsed.hostname) and not any(
        ch.isspace() for ch in url
    )


def _connector_errors(connectors: list) -> list[str]:
    errors = []
    names = [c.get("name") for c in connectors if isinstance(c, dict)]
    for i, connector in enumerate(connectors):
        if not isinstance(connector, dict) or not connector.get("name") or not connector.get("token"):
            errors.append(f"bindbee_connectors[{i}] needs both a non-empty name and a token.")
    duplicates = sorted({n for n in names if n and names.count(n) > 1})
    if duplicates:
        errors.append(
            f"bindbee_connectors names must be unique (they key records and state): {', '.join(duplicates)}."
        )
    return errors


def secret_values(config: t.Mapping[str, t.Any]) -> list[str]:
    """Every secret in a config: provider keys and Bindbee connector tokens."""
    values = [config.get(name) for provider in PROVIDERS for name in provider.secrets]
    values += [c.get("token") for c in config.get("bindbee_connectors") or [] if isinstance(c, dict)]
    return [v for v in values if isinstance(v, str) and v]
