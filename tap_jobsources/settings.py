"""The tap's settings: their JSON Schema, the checks JSON Schema cannot express, and
:class:`Settings`, the typed view read once after validation (nothing else reads a setting by name).

The settings shared by every provider are declared here; each provider declares its own in its
package (``plugin.Provider.properties``). Every problem found stops the tap before its first
request, with a message that names the setting to fix (never a secret's value).
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import math
import typing as t
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from urllib.parse import urlparse

from singer_sdk import typing as th

from tap_jobsources.dates import parse_datetime
from tap_jobsources.plugin import Provider, ProviderOptions, providers, setting

T = t.TypeVar("T", bound=ProviderOptions)

#: The settings every provider shares (start_date first in tables; the others after the providers').
START = th.PropertiesList(
    th.Property(
        "start_date",
        th.DateTimeType,
        description="Lower bound for incremental streams that have no state yet. Empty: full history.",
    ),
)
SHARED = th.PropertiesList(
    th.Property(
        "request_timeout",
        th.NumberType(exclusive_minimum=0, maximum=86_400),
        default=300,
        description="Seconds one answer may take, body included (a body that trickles in counts too); "
        "then the request is retried like any timeout.",
    ),
    th.Property(
        "retry_max_attempts",
        th.IntegerType(minimum=1, maximum=20),
        default=6,
        description="Attempts per request (429, 5xx, resets, timeouts, bad bodies) before the tap stops.",
    ),
    th.Property(
        "retry_backoff_seconds",
        th.NumberType(minimum=0, maximum=3_600),
        default=1,
        description="First retry wait; it doubles on each retry (with jitter), up to 60 s.",
    ),
    th.Property(
        "max_response_mb",
        th.NumberType(exclusive_minimum=0, maximum=65_536),
        default=256,
        description="Largest answer body, in MB once decompressed, the tap reads; a larger one stops the run "
        "with an error naming the endpoint (a server sending a compressed bomb, say).",
    ),
    th.Property(
        "emit_activate_version_messages",
        th.BooleanType,
        default=False,
        description="Send ACTIVATE_VERSION for full-table streams once a run completes, so targets "
        "can mark rows that vanished from the source as deleted. A stream any of whose partitions was "
        "skipped or could not be proven complete gets none that run.",
    ),
    th.Property(
        "retire_after_missed_reads",
        th.IntegerType(minimum=1, maximum=100),
        default=2,
        description="Consecutive complete reads of a full-table stream that must miss a row before "
        "ACTIVATE_VERSION retires it: the message carries the version of the complete read this many "
        "reads back, so the first complete reads retire nothing. 1: every complete read retires what it "
        "missed (no read of a moving list can prove itself complete against a swap).",
    ),
    th.Property(
        "resume_within_hours",
        th.NumberType(exclusive_minimum=0, maximum=87_600),
        default=24,
        description="A run resumed from an interrupted run's STATE goes on from the page it stopped at, "
        "if that STATE is younger than this; an older one's page progress is ignored (bookmarks still apply).",
    ),
    th.Property(
        "progress_interval_seconds",
        th.NumberType(exclusive_minimum=0, maximum=86_400),
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
        th.IntegerType(minimum=1, maximum=10_000_000),
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


_WORDS = {"api": "API", "url": "URL", "ids": "IDs", "mb": "MB"}


def label(name: str) -> str:
    """A setting's label for people (Meltano, the Hub): ``getro_api_token`` -> ``Getro API token``."""
    spelled = {**_WORDS, **{p.key: p.name for p in providers()}}
    words = [spelled.get(w, w) for w in name.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def config_schema() -> dict:
    """A fresh copy of the settings' JSON Schema (the SDK adds its own settings to the one it gets),
    each setting with a label (``title``)."""
    properties = th.PropertiesList(*START.wrapped.values())
    for provider in providers():
        properties.wrapped.update(provider.properties.wrapped)
    properties.wrapped.update(SHARED.wrapped)
    schema = properties.to_dict()
    for name, spec in schema["properties"].items():
        spec.setdefault("title", label(name))
    return schema


@cache
def _specs() -> dict[str, dict]:
    """setting name -> its JSON schema, for reading values given as text"""
    return config_schema()["properties"]


def _kinds(spec: dict) -> list[str]:
    kinds = spec.get("type", [])
    return [kinds] if isinstance(kinds, str) else list(kinds)


# Reading raw values as their types ---------------------------------------------------------


def normalize(config: dict[str, t.Any]) -> list[str]:
    """Read what arrives as text (environment variables, Meltano's string kind) or as a Decimal (the
    SDK decodes numbers in a JSON config file so) as the setting's type: numbers, booleans, and lists
    as JSON or comma-separated. Returns what it changed worth telling the user."""
    for name, spec in _specs().items():
        if name not in config:
            continue
        kinds = _kinds(spec)
        if config[name] == "" and "array" not in kinds:
            # An empty value (an environment variable set to ""): the setting unset. Only empty: a
            # secret of white space (a file's final newline) is refused, naming it.
            del config[name]
            continue
        if "array" in kinds:
            config[name] = _as_list(config[name], spec.get("items") or {})
        else:
            config[name] = _scalar(config[name], kinds)
    notes: list[str] = []
    for provider in providers():
        notes += provider.normalize(config)
    return notes


def _scalar(value: t.Any, kinds: list[str]) -> t.Any:
    if isinstance(value, Decimal):
        # A number in a JSON config file; float() of a huge one is inf, which the checks refuse.
        if "integer" in kinds and value == value.to_integral_value() and value.is_finite():
            return int(value)
        return float(value)
    if isinstance(value, float) and "integer" in kinds and value.is_integer():
        return int(value)
    if not isinstance(value, str):
        return value
    stripped = value.strip()
    try:
        if "integer" in kinds and stripped.lstrip("-+").isdigit():
            return int(stripped)
        if "number" in kinds or "integer" in kinds:
            number = float(stripped)
            return int(number) if "integer" in kinds and number.is_integer() else number
    except ValueError:
        return value  # left as it is: validation names the setting
    if "boolean" in kinds and stripped.lower() in ("true", "false", "1", "0", "yes", "no"):
        return stripped.lower() in ("true", "1", "yes")
    return value


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
        value = [_scalar(v, _kinds(items)) for v in value]
    return value


def env_lists(environ: t.Mapping[str, str], prefix: str) -> dict[str, str]:
    """Environment variables of list settings rewritten as JSON, for the SDK's reader
    (it takes only JSON for a list of numbers): ``101,102`` becomes ``[101,102]``."""
    fixed = {}
    for name, spec in _specs().items():
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


# Checks --------------------------------------------------------------------------------------


def config_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    """What is wrong with a config beyond its JSON Schema, one message per setting."""
    errors: list[str] = []
    enabled = [p for p in providers() if p.enabled(config)]
    for provider in enabled:
        missing = [name for name in provider.credentials if not config.get(name)]
        if missing:
            errors.append(
                f"{provider.name} is half configured: set {' and '.join(missing)} as well, "
                f"or unset {' and '.join(n for n in provider.credentials if n not in missing)}."
            )
        url = config.get(provider.url_setting)
        if url is not None and not is_http_url(url):
            errors.append(
                f"{provider.url_setting} is not a valid http(s) URL: {hide_userinfo(str(url))[:120]!r}. "
                f"Example: {provider.default_url}"
            )
        elif url is not None and ("?" in url or "#" in url):  # valid: a query or a fragment is all they can be
            errors.append(
                f"{provider.url_setting} has a query or a fragment ('?' or '#'): give the API's base address "
                f"only, like {provider.default_url}"
            )
        errors += provider.checks(config)
    if not enabled:
        hints = " or ".join(" and ".join(p.credentials) for p in providers())
        errors.append(f"No provider is configured. Set {hints}.")
    errors += _secret_errors(config, enabled)
    errors += _number_errors(config)
    start = config.get("start_date")
    if start is not None and not is_datetime(start):
        errors.append(
            f"start_date is not a date-time: {str(start)[:40]!r}. Example: 2026-01-01T00:00:00Z (or leave it unset)."
        )
    return errors


def config_warnings(config: t.Mapping[str, t.Any]) -> list[str]:
    """What is allowed but worth a warning: credentials that would cross a network in clear."""
    notes = []
    for provider in providers():
        url = config.get(provider.url_setting)
        if provider.enabled(config) and isinstance(url, str) and is_http_url(url) and _plain_to_a_remote_host(url):
            notes.append(
                f"{provider.url_setting} is a plain http:// URL to {urlparse(url).hostname}: {provider.name}'s "
                "credentials would cross the network unencrypted. Use https:// unless this is a local test server."
            )
    return notes


def _plain_to_a_remote_host(url: str) -> bool:
    parsed = urlparse(url)
    host = parsed.hostname or ""
    if parsed.scheme != "http" or host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def is_datetime(value: t.Any) -> bool:
    """An ISO 8601 date or date-time in the extended form (2026-01-01, 2026-01-01T00:00:00Z), whose
    instant has a UTC form."""
    if not isinstance(value, str) or value[4:5] != "-" or value[7:8] != "-":
        return False
    try:
        parse_datetime(value)
    except ValueError:
        return False
    return True


def _secret_errors(config: t.Mapping[str, t.Any], enabled: list[Provider]) -> list[str]:
    # A header value cannot hold a line break or a character outside Latin-1, and the HTTP library's
    # complaint about one prints the value whole: refuse it here, naming the setting, never the value.
    errors = []
    for provider in enabled:
        for name, value in provider.named_secrets(config):
            if not isinstance(value, str):
                continue
            if value != value.strip() or any(ch.isspace() or ord(ch) < 32 for ch in value):
                errors.append(
                    f"{name} has white space or a line break in it (a copy-paste or a file's final newline?): "
                    "remove it. The value is not shown."
                )
            elif any(ord(ch) > 255 for ch in value):
                errors.append(
                    f"{name} has a character an HTTP header cannot carry (outside Latin-1: a copy-paste that "
                    "turned a quote or a dash into a typographic one?): check it. The value is not shown."
                )
    return errors


def _number_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    """JSON Schema lets NaN through every bound; infinity only past a maximum. Name them here."""
    errors = []
    for name, spec in _specs().items():
        value = config.get(name)
        if {"number", "integer"} & set(_kinds(spec)) and isinstance(value, float) and not math.isfinite(value):
            errors.append(f"{name} is {value}, not a finite number.")
    return errors


def is_http_url(url: t.Any) -> bool:
    if not isinstance(url, str):
        return False
    parsed = urlparse(url)
    try:
        _ = parsed.port  # raises on a malformed port
    except ValueError:
        return False
    return parsed.scheme in {"http", "https"} and bool(parsed.hostname) and not any(ch.isspace() for ch in url)


def hide_userinfo(url: str) -> str:
    """``https://user:password@host/x`` -> ``https://****@host/x``: a URL as a message may show it."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "****@" + authority.rsplit("@", 1)[1]
    return f"{scheme}{sep}{authority}{slash}{path}"


def secret_values(config: t.Mapping[str, t.Any]) -> list[str]:
    """Every secret in a config: every provider's, and the password of any URL with user info."""
    values = [value for provider in providers() for value in provider.secret_values(config)]
    for provider in providers():
        url = config.get(provider.url_setting)
        if isinstance(url, str):
            parsed = urlparse(url)
            values += [v for v in (parsed.password,) if v]
    return values


# The typed view --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Every setting the tap reads, typed, read once from a validated config."""

    start_date: datetime | None
    request_timeout: float
    retry_max_attempts: int
    retry_backoff_seconds: float
    max_response_bytes: int
    emit_activate_version_messages: bool
    resume_within_hours: float
    progress_interval_seconds: float
    on_invalid_primary_key: str
    max_pages_per_partition: int
    retire_after_missed_reads: int
    schema_only: bool
    user_agent: str | None
    #: The enabled providers' own settings, by provider key.
    providers: t.Mapping[str, ProviderOptions]

    def of(self, kind: type[T]) -> T:
        """The settings of one provider, typed (``settings.of(GetroOptions)``)."""
        return next(o for o in self.providers.values() if isinstance(o, kind))

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> Settings:
        def get(name: str) -> t.Any:
            return setting(config, SHARED, name)

        start = config.get("start_date")
        options = {p.key: p.options(config) for p in providers() if p.enabled(config)}
        return cls(
            start_date=parse_datetime(start) if start else None,
            request_timeout=float(get("request_timeout")),
            retry_max_attempts=int(get("retry_max_attempts")),
            retry_backoff_seconds=float(get("retry_backoff_seconds")),
            max_response_bytes=int(float(get("max_response_mb")) * 1024 * 1024),
            emit_activate_version_messages=bool(get("emit_activate_version_messages")),
            resume_within_hours=float(get("resume_within_hours")),
            progress_interval_seconds=float(get("progress_interval_seconds")),
            on_invalid_primary_key=str(get("on_invalid_primary_key")),
            max_pages_per_partition=int(get("max_pages_per_partition")),
            retire_after_missed_reads=int(get("retire_after_missed_reads")),
            schema_only=bool(get("schema_only")),
            user_agent=config.get("user_agent"),
            providers=options,
        )
