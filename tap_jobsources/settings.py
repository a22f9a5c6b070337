"""The tap's settings: their JSON Schema, and the checks JSON Schema cannot express.

Every problem found here stops the tap before its first request, with a message
that names the setting to fix.
"""

from __future__ import annotations

import difflib
import json
import typing as t
from urllib.parse import urlparse

from singer_sdk import typing as th

from tap_jobsources.dates import parse_datetime
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
    th.Property("getro_api_token", th.StringType, secret=True, description="Getro API key, sent as X-User-Token."),
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
    th.Property(
        "getro_min_hours_between_syncs",
        th.NumberType(minimum=0),
        description="Getro asks that the same request not be repeated within 6 hours. The tap always "
        "says when a network was read whole less than 6 hours ago; with this set, it skips a network "
        "read whole less than this many hours ago instead (and sends no ACTIVATE_VERSION for its streams).",
    ),
    # Bindbee
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
    _api_url(BINDBEE),
    _page_size(BINDBEE),
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
        description="changed: read a connection's employments only when it is new since the last complete run "
        "of its group or its employment_checked_at / new_job_flagged_at moved (always when the list does not "
        "carry them); a run that skipped some sends no ACTIVATE_VERSION for employments. all: every "
        "connection's (the weekly full DAG).",
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
        "resume_within_hours",
        th.NumberType(exclusive_minimum=0),
        default=24,
        description="A run resumed from an interrupted run's STATE goes on from the page it stopped at, "
        "if that STATE is younger than this; an older one's page progress is ignored (bookmarks still apply).",
    ),
    th.Property(
        "progress_interval_seconds",
        th.NumberType(exclusive_minimum=0),
        default=30,
        description="A partition that takes more than a few pages logs its progress at most this often.",
    ),
    th.Property(
        "on_invalid_primary_key",
        th.StringType(allowed_values=["fail", "skip"]),
        default="fail",
        description="A record whose primary key is missing or not of its type is never emitted. "
        "'fail': stop at the first, naming stream, partition and value. 'skip': log an ERROR line for "
        "each, load the rest, and end the run with a non-zero exit.",
    ),
    th.Property(
        "max_pages_per_partition",
        th.IntegerType(minimum=1),
        default=10_000,
        description="Safety cap: more pages than this in one partition stops the run with an error.",
    ),
    th.Property(
        "schema_only",
        th.BooleanType,
        default=False,
        description="Send each selected stream's SCHEMA and nothing else: no request, no record, no STATE. "
        "Run it once before several partitions load at once, so that the target creates (or alters) "
        "each table once instead of in several processes at the same moment (the Airflow DAG does).",
    ),
)


_WORDS = {
    "api": "API",
    "url": "URL",
    "ids": "IDs",
    "getro": "Getro",
    "bindbee": "Bindbee",
    "trackjobchanges": "TrackJobChanges",
}


def label(name: str) -> str:
    """A setting's label for people (Meltano, the Hub): ``getro_api_token`` -> ``Getro API token``."""
    words = [_WORDS.get(w, w) for w in name.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def config_schema() -> dict:
    """A fresh copy of the settings' JSON Schema (the SDK adds its own settings to the one it gets),
    each setting with a label (``title``)."""
    schema = SETTINGS.to_dict()
    for name, spec in schema["properties"].items():
        spec.setdefault("title", label(name))
    return schema


#: setting name -> its JSON schema, for reading values given as text
_SPECS = config_schema()["properties"]


def _kinds(spec: dict) -> list[str]:
    kinds = spec.get("type", [])
    return [kinds] if isinstance(kinds, str) else list(kinds)


def normalize(config: dict[str, t.Any]) -> list[str]:
    """Read what arrives as text (environment variables, Meltano's string kind) as the
    setting's type: numbers, booleans, and lists as JSON or comma-separated. Duplicate
    network ids are dropped. Returns what it changed worth telling the user."""
    notes: list[str] = []
    for name, spec in _SPECS.items():
        value = config.get(name)
        kinds = _kinds(spec)
        if "array" in kinds:
            value = config[name] = _as_list(value, spec.get("items") or {})
        elif isinstance(value, str):
            config[name] = _scalar(value, kinds)
    ids = config.get("getro_network_ids")
    if isinstance(ids, list) and len(set(map(repr, ids))) < len(ids):
        unique = list(dict.fromkeys(ids))
        notes.append(f"getro_network_ids lists some networks more than once: reading {unique} once each.")
        config["getro_network_ids"] = unique
    return notes


def _scalar(text: str, kinds: list[str]) -> t.Any:
    stripped = text.strip()
    try:
        if "integer" in kinds and stripped.lstrip("-").isdigit():
            return int(stripped)
        if "number" in kinds:
            return float(stripped)
    except ValueError:
        return text  # left as it is: validation names the setting
    if "boolean" in kinds and stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    return text


def _as_list(value: t.Any, items: dict) -> t.Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                return value  # validation names the setting
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(value, list) and "object" not in _kinds(items):
        value = [_scalar(v, _kinds(items)) if isinstance(v, str) else v for v in value]
    return value


def env_lists(environ: t.Mapping[str, str], prefix: str) -> dict[str, str]:
    """Environment variables of list settings rewritten as JSON, for the SDK's reader
    (it takes only JSON for a list of numbers): ``101,102`` becomes ``[101,102]``."""
    fixed = {}
    for name, spec in _SPECS.items():
        var = prefix + name.upper()
        raw = environ.get(var)
        if "array" in _kinds(spec) and raw is not None and not raw.strip().startswith("["):
            fixed[var] = json.dumps(_as_list(raw, spec.get("items") or {}))
    return fixed


def unknown_settings(config: t.Mapping[str, t.Any], known: t.Iterable[str]) -> list[str]:
    """A warning for each setting name the tap does not know, with the closest known one."""
    known = list(known)
    notes = []
    for name in sorted(set(config) - set(known)):
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]}?" if close else ""
        notes.append(f"Unknown setting {name!r} is ignored.{hint}")
    return notes


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
                f"{provider.url_setting} is not a valid http(s) URL: {url!r}. Example: {provider.default_url}"
            )
    if not enabled:
        errors.append(
            "No provider is configured. Set getro_email and getro_api_token, "
            "or bindbee_api_key and bindbee_connectors, or trackjobchanges_api_key."
        )
    errors.extend(_connector_errors(config.get("bindbee_connectors") or []))
    wanted = config.get("bindbee_connector_names") or []
    named = {c.get("name") for c in config.get("bindbee_connectors") or [] if isinstance(c, dict)}
    if unknown := [n for n in wanted if n not in named]:
        errors.append(
            f"bindbee_connector_names names connectors that bindbee_connectors lacks: {', '.join(map(str, unknown))}."
        )
    errors.extend(_secret_errors(config))
    start = config.get("start_date")
    if start is not None and not is_datetime(start):
        errors.append(
            f"start_date is not a date-time: {str(start)[:40]!r}. Example: 2026-01-01T00:00:00Z (or leave it unset)."
        )
    return errors


def is_datetime(value: t.Any) -> bool:
    """An ISO 8601 date or date-time in the extended form (2026-01-01, 2026-01-01T00:00:00Z)."""
    if not isinstance(value, str) or value[4:5] != "-" or value[7:8] != "-":
        return False
    try:
        parse_datetime(value)
    except ValueError:
        return False
    return True


def _secret_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    # A header value cannot hold a line break, and the HTTP library's complaint about one
    # prints the value whole: refuse it here, naming the setting and never the value.
    errors = []
    named = [(name, config.get(name)) for p in PROVIDERS for name in (*p.credentials, *p.secrets)]
    named += [
        (f"the token of bindbee_connectors[{i}]", c.get("token"))
        for i, c in enumerate(config.get("bindbee_connectors") or [])
        if isinstance(c, dict)
    ]
    for name, value in dict(named).items():
        if isinstance(value, str) and (value != value.strip() or any(ch.isspace() or ord(ch) < 32 for ch in value)):
            errors.append(
                f"{name} has white space or a line break in it (a copy-paste or a file's final newline?): "
                "remove it. The value is not shown."
            )
    return errors


def _is_http_url(url: t.Any) -> bool:
    if not isinstance(url, str):
        return False
    parsed = urlparse(url)
    try:
        _ = parsed.port  # raises on a malformed port
    except ValueError:
        return False
    return parsed.scheme in {"http", "https"} and bool(parsed.hostname) and not any(ch.isspace() for ch in url)


def _connector_errors(connectors: list) -> list[str]:
    errors = []
    names = [c.get("name") for c in connectors if isinstance(c, dict)]
    for i, connector in enumerate(connectors):
        if not isinstance(connector, dict) or not connector.get("name") or not connector.get("token"):
            errors.append(f"bindbee_connectors[{i}] needs both a non-empty name and a token.")
    duplicates = sorted({n for n in names if n and names.count(n) > 1})
    if duplicates:
        errors.append(f"bindbee_connectors names must be unique (they key records and state): {', '.join(duplicates)}.")
    return errors


def provider_secret_values(config: t.Mapping[str, t.Any], provider) -> list[str]:
    """The secrets one provider is sent: its key, and for Bindbee its connectors' tokens, as text
    whatever type they came as (a validation error may print a number)."""
    values = [config.get(name) for name in provider.secrets]
    if provider is BINDBEE:
        values += [c.get("token") for c in config.get("bindbee_connectors") or [] if isinstance(c, dict)]
    return [str(v) for v in values if v is not None and v != ""]


def secret_values(config: t.Mapping[str, t.Any]) -> list[str]:
    """Every secret in a config: every provider's (see ``provider_secret_values``)."""
    return [value for provider in PROVIDERS for value in provider_secret_values(config, provider)]
