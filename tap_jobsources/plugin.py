"""A provider is one plug-in: everything the tap knows about it, declared in its own folder.

Each provider package (``getro/``, ``bindbee/``, ``trackjobchanges/``) defines ``PROVIDER``, a
:class:`Provider`: its name, settings (JSON Schema properties and a typed view of them), secrets,
config checks, state sections, how a request authenticates, what its errors mean, and the
Meltano extractors and Airflow tasks that run it. Its ``streams`` module lists its streams in
``STREAMS``. :func:`providers` finds them; generic code (the tap, settings, runtime, reader, the
plugin files and the DAG) iterates over them and names none.
"""

from __future__ import annotations

import importlib
import pkgutil
import typing as t
from dataclasses import dataclass, field
from functools import cache

from singer_sdk import typing as th

if t.TYPE_CHECKING:
    import requests
    from singer_sdk import Stream


@dataclass(frozen=True, kw_only=True)
class ProviderOptions:
    """A provider's settings, typed and read once from a validated config (each provider's own
    class adds its fields)."""

    api_url: str
    #: Requests per minute for the whole process (None: no ceiling).
    requests_per_minute: float | None = None
    #: Requests in flight at once (1: serial).
    max_concurrency: int = 1
    #: The values its servers are sent that must never be shown (keys, tokens).
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Extractor:
    """A Meltano extractor of the project (``inherit_from: tap-jobsources``) and its Airflow tasks.

    ``partitions``: the setting a task sets to read one partition, and where the config lists them
    (``bindbee_connectors.name``: the ``name`` of each entry); with none listed, one task reads them
    all (``all_when_none``) or the extractor has no task. ``pool``: an Airflow pool its tasks share.
    """

    name: str
    streams: tuple[str, ...]
    task: str
    partition_setting: str | None = None
    partitions_from: str | None = None
    all_when_none: bool = True
    #: How the one task that reads every partition names its state ("getro-all").
    all_label: str = "all"
    pool: str | None = None
    #: Settings of the weekly full DAG's task (the providers' "read whole" modes).
    full_run: t.Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TimesSection:
    """A provider's section of the state: under ``name``, per ``field``, one date-time per key
    (``numbers``: one whole number per key instead, such as the largest id a complete read saw)."""

    name: str
    field: str
    numbers: bool = False


@dataclass(frozen=True)
class Provider:
    """One provider's plug-in (see the module's docstring)."""

    key: str  # prefix of its settings: "getro"
    name: str  # how messages name it: "Getro"
    rank: int  # its place in settings tables and catalogs
    default_url: str
    credentials: tuple[str, ...]  # settings that enable it, all required together
    secrets: tuple[str, ...]  # settings whose values are never shown
    properties: th.PropertiesList  # its settings
    options: t.Callable[[t.Mapping[str, t.Any]], ProviderOptions]  # typed, from a validated config
    extractors: tuple[Extractor, ...] = ()
    sections: tuple[TimesSection, ...] = ()
    #: Checks JSON Schema cannot express, one message per problem.
    checks: t.Callable[[t.Mapping[str, t.Any]], list[str]] = lambda config: []
    #: Fixes of a raw config before validation, each returned note worth telling.
    normalize: t.Callable[[dict[str, t.Any]], list[str]] = lambda config: []
    #: Secret values in settings other than ``secrets`` (Bindbee's connector tokens).
    more_secrets: t.Callable[[t.Mapping[str, t.Any]], list[tuple[str, t.Any]]] = lambda config: []
    #: How a request to it authenticates: headers for this partition.
    headers: t.Callable[[t.Any, t.Mapping[str, t.Any] | None], dict[str, str]] = lambda options, context: {}
    #: Its own reading of a refused answer (None: the shared one).
    error: t.Callable[[t.Any, requests.Response, str], Exception | None] = lambda options, response, endpoint: None

    def streams(self) -> tuple[type[Stream], ...]:
        """Its streams: ``STREAMS`` of its package's ``streams`` module, loaded when first asked for
        (the streams import this declaration, never the other way round)."""
        return importlib.import_module(f"tap_jobsources.{self.key}.streams").STREAMS

    @property
    def url_setting(self) -> str:
        return f"{self.key}_api_url"

    def enabled(self, config: t.Mapping[str, t.Any]) -> bool:
        return any(config.get(name) for name in self.credentials)

    def credentials_hint(self) -> str:
        return " and ".join(self.credentials)

    def secret_values(self, config: t.Mapping[str, t.Any]) -> list[str]:
        """What it is sent that must never be shown, as text whatever type it came as."""
        values = [config.get(name) for name in self.secrets]
        values += [value for _, value in self.more_secrets(config)]
        return [str(v) for v in values if v is not None and v != ""]

    def named_secrets(self, config: t.Mapping[str, t.Any]) -> list[tuple[str, t.Any]]:
        """(how a message names it, its value) for each secret setting."""
        return [(name, config.get(name)) for name in (*self.credentials, *self.secrets)] + self.more_secrets(config)


@cache
def providers() -> tuple[Provider, ...]:
    """Every provider package's ``PROVIDER``, in rank order."""
    import tap_jobsources

    found = []
    for module in pkgutil.iter_modules(tap_jobsources.__path__):
        if module.ispkg:
            plugin = getattr(importlib.import_module(f"tap_jobsources.{module.name}"), "PROVIDER", None)
            if isinstance(plugin, Provider):
                found.append(plugin)
    return tuple(sorted(found, key=lambda p: (p.rank, p.key)))


def setting(config: t.Mapping[str, t.Any], properties: th.PropertiesList, name: str) -> t.Any:
    """A setting's value, or its default as its own schema states it (defaults are stated once)."""
    value = config.get(name)
    return properties.wrapped[name].default if value is None else value


def api_url_property(key: str, name: str, default: str) -> th.Property:
    return th.Property(
        f"{key}_api_url",
        th.StringType,
        default=default,
        description=f"Base URL of the {name} API (point it at the sandbox to try the tap).",
    )


def page_size_property(key: str, name: str, default: int = 100) -> th.Property:
    return th.Property(
        f"{key}_page_size",
        th.IntegerType(minimum=1, maximum=100),
        default=default,
        description=f"Items per page asked of {name} (1 to 100).",
    )
