"""tap-jobsources: settings, validation and the stream list of each enabled provider."""

from __future__ import annotations

import typing as t

import requests
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError

from tap_jobsources import redaction
from tap_jobsources.bindbee import streams as bindbee
from tap_jobsources.getro import streams as getro
from tap_jobsources.output import BufferedMsgSpecWriter
from tap_jobsources.pacing import Pacer
from tap_jobsources.providers import BINDBEE, GETRO, TRACKJOBCHANGES, Provider
from tap_jobsources.settings import coerce_strings, config_errors, config_schema, secret_values
from tap_jobsources.trackjobchanges import streams as trackjobchanges

STREAMS: dict[Provider, list[type[Stream]]] = {
    GETRO: [
        getro.JobFunctionsStream,
        getro.ExperienceLevelsStream,
        getro.NetworksStream,
        getro.CompaniesStream,
        getro.JobsStream,
        getro.JobDetailsStream,
        getro.RemovedJobsStream,
        getro.TalentStream,
    ],
    BINDBEE: [bindbee.AtsJobsStream],
    TRACKJOBCHANGES: [trackjobchanges.ConnectionsStream, trackjobchanges.EmploymentsStream],
}


class TapJobSources(Tap):
    """Singer tap for job-market data from Getro, Bindbee (unified ATS) and TrackJobChanges."""

    name = "tap-jobsources"
    config_jsonschema = config_schema()
    # The streams depend on which providers are configured.
    dynamic_catalog = True
    message_writer_class = BufferedMsgSpecWriter

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self._pacers: dict[str, Pacer] = {}
        self._sessions: dict[str, requests.Session] = {}
        super().__init__(*args, **kwargs)
        redaction.install(secret_values(self.config))

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        coerce_strings(self._config)
        errors = super()._validate_config(raise_errors=False)
        errors += config_errors(self._config)
        if errors and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=errors, schema=self.config_jsonschema)
        return errors

    def pacer(self, provider: Provider) -> Pacer:
        """The one pacer of a provider in this process, shared by all its streams."""
        if provider.key not in self._pacers:
            self._pacers[provider.key] = Pacer(self.config.get(f"{provider.key}_requests_per_minute"))
        return self._pacers[provider.key]

    def http_session(self, provider: Provider) -> requests.Session:
        """The one HTTP session of a provider in this process, shared by all its streams."""
        if provider.key not in self._sessions:
            session = requests.Session()
            # requests looks proxies (and .netrc) up in the environment on every request,
            # which costs more than parsing a page. Look once: a provider is one host.
            session.trust_env = False
            session.proxies.update(requests.utils.get_environ_proxies(provider.base_url(self.config)))
            self._sessions[provider.key] = session
        return self._sessions[provider.key]

    def sync_all(self) -> None:
        versioned = self._versioned_streams()
        for stream in versioned:
            stream._stream_version = self.initialized_at  # noqa: SLF001 - RECORD messages carry it
        try:
            super().sync_all()
        except BaseException:
            # Leave a STATE to resume from: completed partitions keep their new bookmarks,
            # the interrupted one keeps its old bookmark (its progress is not promoted).
            self.state_writer.write_state(self.state)
            raise
        # Only now is every full-table stream complete, in every partition: a target may
        # retire the rows this run did not see. A run that failed never gets here.
        for stream in versioned:
            stream._write_activate_version_message(self.initialized_at)  # noqa: SLF001

    def _versioned_streams(self) -> list[Stream]:
        if not self.config.get("emit_activate_version_messages"):
            return []
        return [s for s in self.streams.values() if s.selected and s.replication_method == "FULL_TABLE"]

    def discover_streams(self) -> list[Stream]:
        return [
            stream_class(tap=self)
            for provider, classes in STREAMS.items()
            if provider.enabled(self.config)
            for stream_class in classes
        ]


if __name__ == "__main__":
    TapJobSources.cli()
