"""tap-jobsources: settings, validation and the stream list of each enabled provider."""

from __future__ import annotations

import copy
import os
import typing as t
from collections import Counter
from pathlib import PurePath

import requests
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import TapCapabilities

from tap_jobsources import redaction, resume
from tap_jobsources.bindbee import streams as bindbee
from tap_jobsources.checkpoint import Checkpoint
from tap_jobsources.client import JobSourcesStream
from tap_jobsources.concurrency import AdaptiveLimit, Workers
from tap_jobsources.errors import RunStopped
from tap_jobsources.getro import streams as getro
from tap_jobsources.output import BufferedMsgSpecWriter
from tap_jobsources.pacing import Pacer
from tap_jobsources.providers import BINDBEE, GETRO, TRACKJOBCHANGES, Provider
from tap_jobsources.resume import RunProgress, StateSection
from tap_jobsources.sdk_compat import CompatTap, install_state_writer
from tap_jobsources.settings import (
    config_errors,
    config_schema,
    env_lists,
    normalize,
    secret_values,
    unknown_settings,
)
from tap_jobsources.signals import STOP
from tap_jobsources.state_check import state_errors
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


class TapJobSources(CompatTap, Tap):  # type: ignore[misc]  # Tap.sync_all is final: see sdk_compat
    """Singer tap for job-market data from Getro, Bindbee (unified ATS) and TrackJobChanges."""

    name = "tap-jobsources"
    config_jsonschema = config_schema()
    # --test reads one record of each stream (and the SDK does not declare it for taps).
    capabilities = [*Tap.capabilities, TapCapabilities.TEST]
    # The streams depend on which providers are configured.
    dynamic_catalog = True
    message_writer_class = BufferedMsgSpecWriter

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self._pacers: dict[str, Pacer] = {}
        self._sessions: dict[str, requests.Session] = {}
        self._limits: dict[str, AdaptiveLimit] = {}
        self._workers: dict[str, Workers] = {}
        self._incomplete: set[str] = set()  # streams that must not send ACTIVATE_VERSION
        self._notes: list[str] = []
        self._skipped: Counter[str] = Counter()
        if kwargs.get("parse_env_config"):
            # The SDK reads a list of numbers from the environment only as JSON.
            os.environ.update(env_lists(os.environ, "TAP_JOBSOURCES_"))
        state = kwargs.get("state")
        if state is not None and not isinstance(state, (dict, str, PurePath)):
            raise ConfigValidationError("State validation failed", errors=state_errors(state))
        super().__init__(*args, **kwargs)
        redaction.install(secret_values(self.config))
        for note in self._notes + unknown_settings(self.config, self.config_jsonschema["properties"]):
            self.logger.warning(note)
        self._warn_unknown_catalog_streams()

    def prepare_config(self, config: dict) -> None:
        self._notes = normalize(config)

    def check_config(self, config: dict, errors: list[str]) -> list[str]:
        errors = errors + config_errors(config)
        # The SDK's messages quote the values they reject: never a secret's.
        secrets = redaction.Secrets(secret_values(config))
        return [secrets.mask(e) for e in errors]

    def load_state(self, state: dict[str, t.Any]) -> None:
        if errors := state_errors(state):
            raise ConfigValidationError("State validation failed", errors=errors)
        super().load_state(state)
        own: dict[str, t.Any] = self.state  # type: ignore[assignment]  # the SDK types it as bookmarks only
        own.setdefault("bookmarks", {})
        # The SDK keeps only "bookmarks": carry the tap's own sections over, each as its
        # owner reads it (a section the tap cannot use is dropped with a warning, never obeyed).
        if resume.SECTION in state:
            own[resume.SECTION] = copy.deepcopy(state[resume.SECTION])
        for section in self._state_sections():
            if section.name in state:
                value = section.usable(copy.deepcopy(state[section.name]), self.logger)
                if value is not None:
                    own[section.name] = value
        self.run_progress = RunProgress(
            own,
            version=self.initialized_at,
            within_hours=float(self.config.get("resume_within_hours", 24)),
            logger=self.logger,
        )
        #: The one writer of every STATE (see checkpoint.py); the SDK writes through it too.
        self.checkpoint = Checkpoint(self.message_writer, own, on_write=self.run_progress.touch)
        install_state_writer(self, self.checkpoint)

    @staticmethod
    def _state_sections() -> list[StateSection]:
        """The state sections the providers' streams keep beside the SDK's bookmarks."""
        return [s for classes in STREAMS.values() for cls in classes for s in getattr(cls, "state_sections", ())]

    def mark_incomplete(self, *stream_names: str) -> None:
        """These streams were not read whole this run: no ACTIVATE_VERSION for them."""
        self._incomplete.update(stream_names)

    def _warn_unknown_catalog_streams(self) -> None:
        if self.input_catalog is None:
            return
        unknown = sorted({entry.tap_stream_id for entry in self.input_catalog.streams} - set(self.streams))
        if unknown:
            self.logger.warning(
                "The catalog names streams this tap does not read (unknown, or their provider is not "
                "configured): %s. They are ignored.",
                ", ".join(unknown),
            )

    def note_skipped_record(self, stream_name: str) -> None:
        """A record was skipped (on_invalid_primary_key 'skip'): the run ends with an error."""
        self._skipped[stream_name] += 1

    def pacer(self, provider: Provider) -> Pacer:
        """The one pacer of a provider in this process, shared by all its streams."""
        if provider.key not in self._pacers:
            self._pacers[provider.key] = Pacer(self.config.get(f"{provider.key}_requests_per_minute"))
        return self._pacers[provider.key]

    def concurrency(self, provider: Provider) -> int:
        """Requests a provider may have in flight at once (Getro: 1, its limit is per account)."""
        return max(1, int(self.config.get(f"{provider.key}_max_concurrency") or 1))

    def limit(self, provider: Provider) -> AdaptiveLimit:
        """The one adaptive cap on a provider's requests in flight, shared by its streams."""
        if provider.key not in self._limits:
            self._limits[provider.key] = AdaptiveLimit(self.concurrency(provider))
        return self._limits[provider.key]

    def workers(self, provider: Provider) -> Workers:
        """The threads that fetch ahead for a provider (as many as its concurrency)."""
        if provider.key not in self._workers:
            self._workers[provider.key] = Workers(self.concurrency(provider), f"{provider.key}-worker")
        return self._workers[provider.key]

    def http_session(self, provider: Provider) -> requests.Session:
        """The one HTTP session of a provider in this process, shared by all its streams."""
        if provider.key not in self._sessions:
            session = requests.Session()
            # requests looks proxies (and .netrc) up in the environment on every request,
            # which costs more than parsing a page. Look once: a provider is one host.
            session.trust_env = False
            session.proxies.update(requests.utils.get_environ_proxies(provider.base_url(self.config)))
            # One kept-alive connection per request in flight (requests keeps 10 by default).
            adapter = requests.adapters.HTTPAdapter(pool_maxsize=max(10, self.concurrency(provider)))
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._sessions[provider.key] = session
        return self._sessions[provider.key]

    def run_sync(self, sync: t.Callable[[], None]) -> None:
        """One run around the SDK's own ``sync``: signals, the final STATE of a stopped
        run, and ACTIVATE_VERSION once the run is complete (see sdk_compat.CompatTap)."""
        versioned = self._versioned_streams()
        for stream in versioned:
            # A resumed run is the same logical run: the same table version.
            stream.set_table_version(self.run_progress.version)  # RECORD messages carry it
        STOP.install()
        try:
            sync()
            if self._skipped:
                counts = ", ".join(f"{n} in {name}" for name, n in sorted(self._skipped.items()))
                raise RunStopped(
                    1, f"Records with an invalid primary key were skipped ({counts}); see the ERROR lines above."
                )
        except BaseException as exc:
            self._log_summaries()
            # Leave a STATE to resume from: completed partitions keep their new bookmarks,
            # the interrupted one keeps its old bookmark (its progress is not promoted).
            self.checkpoint.final()
            if isinstance(exc, RunStopped):
                self.logger.error(exc.message)
            raise
        self._log_summaries()
        # The run is complete: the next one reads everything afresh.
        self.run_progress.complete()
        self.checkpoint.final()
        # Only now is every full-table stream complete, in every partition: a target may
        # retire the rows this run did not see. A run that failed never gets here.
        for stream in versioned:
            if stream.name in self._incomplete:
                self.logger.info("No ACTIVATE_VERSION for %s: some of it was not read this run.", stream.name)
                continue
            stream.write_schema_once()
            stream.write_activate_version(self.run_progress.version)

    def _log_summaries(self) -> None:
        for stream in self.streams.values():
            if isinstance(stream, JobSourcesStream):
                stream.stats.log_summary(self.logger)

    def _versioned_streams(self) -> list[JobSourcesStream]:
        if not self.config.get("emit_activate_version_messages"):
            return []
        streams = [s for s in self.streams.values() if isinstance(s, JobSourcesStream)]
        return [s for s in streams if s.selected and s.replication_method == "FULL_TABLE"]

    def discover_streams(self) -> list[Stream]:
        return [
            stream_class(tap=self)
            for provider, classes in STREAMS.items()
            if provider.enabled(self.config)
            for stream_class in classes
        ]


if __name__ == "__main__":
    TapJobSources.cli()
