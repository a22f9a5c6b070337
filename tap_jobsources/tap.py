"""tap-jobsources: the providers' settings and streams, wired together, and the run around the SDK's."""

from __future__ import annotations

import copy
import os
import typing as t
from datetime import UTC, datetime
from functools import cached_property
from pathlib import PurePath

from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import TapCapabilities

from tap_jobsources import redaction
from tap_jobsources.checkpoint import Checkpoint
from tap_jobsources.errors import RunStopped
from tap_jobsources.output import BufferedMsgSpecWriter
from tap_jobsources.plugin import providers
from tap_jobsources.runtime import Runtime
from tap_jobsources.sdk_compat import CompatTap, install_state_writer
from tap_jobsources.settings import (
    Settings,
    config_errors,
    config_schema,
    config_warnings,
    env_lists,
    normalize,
    secret_values,
    unknown_settings,
)
from tap_jobsources.signals import STOP
from tap_jobsources.state import COMPLETE_READS, RESUME, RunState
from tap_jobsources.state_check import state_errors
from tap_jobsources.stream import JobSourcesStream

#: The key under which Meltano's state backends keep a tap's state.
WRAPPED = "singer_state"


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
        self._notes: list[str] = []
        if kwargs.get("parse_env_config"):
            # The SDK reads a list of numbers from the environment only as JSON.
            os.environ.update(env_lists(os.environ, "TAP_JOBSOURCES_"))
        state = kwargs.get("state")
        if state is not None and not isinstance(state, (dict, str, PurePath)):
            raise ConfigValidationError("State validation failed", errors=state_errors(state))
        super().__init__(*args, **kwargs)
        redaction.install(secret_values(self.config))
        notes = self._notes + unknown_settings(self.config, self.config_jsonschema["properties"])
        for note in notes + config_warnings(self.config):
            self.logger.warning(note)
        self._warn_unknown_catalog_streams()

    def prepare_config(self, config: dict) -> None:
        self._notes = normalize(config)

    def check_config(self, config: dict, errors: list[str]) -> list[str]:
        errors = errors + config_errors(config)
        # The SDK's messages quote the values they reject: never a secret's.
        secrets = redaction.Secrets(secret_values(config))
        return [secrets.mask(e) for e in errors]

    @cached_property
    def settings(self) -> Settings:
        """Every setting, typed, read once (after validation)."""
        return Settings.from_config(self.config)

    def load_state(self, state: dict[str, t.Any]) -> None:
        if set(state) == {WRAPPED}:  # a state as Meltano stores it (`meltano state get`): what it wraps
            self.logger.info("The state is wrapped as Meltano stores it ('%s'): reading what it wraps.", WRAPPED)
            state = state[WRAPPED] if isinstance(state[WRAPPED], dict) else state
        if errors := state_errors(state, set(self.streams)):
            raise ConfigValidationError("State validation failed", errors=errors)
        # Another tap's bookmark is carried whatever its shape; the SDK reads only objects.
        bookmarks = state.get("bookmarks") or {}
        odd = {k: v for k, v in bookmarks.items() if k not in self.streams and not isinstance(v, dict)}
        super().load_state({**state, "bookmarks": {k: v for k, v in bookmarks.items() if k not in odd}})
        own: dict[str, t.Any] = self.state  # type: ignore[assignment]  # the SDK types it as bookmarks only
        own.setdefault("bookmarks", {}).update(odd)
        # The SDK keeps only "bookmarks": carry the tap's own sections over (RunState checks them).
        sections = [s for p in providers() if p.key in self.settings.providers for s in p.sections]
        for name in {RESUME, COMPLETE_READS, *(s.name for s in sections)}:
            if name in state:
                own[name] = copy.deepcopy(state[name])
        run_state = RunState(
            own,
            version=self.initialized_at,
            run_start=datetime.fromtimestamp(self.initialized_at / 1000, UTC),
            within_hours=self.settings.resume_within_hours,
            sections=sections,
            logger=self.logger,
        )
        run_state.set_aside_foreign(set(self.streams))
        #: The one writer of every STATE (see checkpoint.py); the SDK writes through it too.
        checkpoint = Checkpoint(self.message_writer, own, on_write=run_state.touch)
        install_state_writer(self, checkpoint)
        #: What the streams share for the run (settings, providers' services, state, checkpoint, stop).
        self.runtime = Runtime(self.settings, state=run_state, checkpoint=checkpoint, stop=STOP)

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

    def run_sync(self, sync: t.Callable[[], None]) -> None:
        """One run around the SDK's own ``sync``: signals, the final STATE of a stopped run, and
        ACTIVATE_VERSION once the run is complete, for the streams read whole (see sdk_compat)."""
        if self.settings.schema_only:
            self._write_schemas_only()
            return
        runtime = self.runtime
        self._note_newly_selected()
        versioned = self._versioned_streams()
        for stream in versioned:
            # A resumed run is the same logical run: the same table version.
            stream.set_table_version(runtime.state.version)  # RECORD messages carry it
        try:
            sync()
            if skipped := runtime.ledger.skipped:
                counts = ", ".join(f"{n} in {name}" for name, n in sorted(skipped.items()))
                raise RunStopped(
                    1, f"Records with an invalid primary key were skipped ({counts}); see the ERROR lines above."
                )
        except BaseException as exc:
            self._log_summaries()
            # Leave a STATE to resume from: completed partitions keep their new bookmarks,
            # the interrupted one keeps its old bookmark (its progress is not promoted).
            runtime.state.restore_foreign()
            runtime.checkpoint.final()
            if isinstance(exc, RunStopped):
                self.logger.error(exc.message)
            raise
        self._log_summaries()
        # Every full-table stream read whole and proven is now a complete read: counted in the
        # state, and retired up to the read `retire_after_missed_reads` back (see state.RunState).
        retiring = [(stream, self._complete_read(stream)) for stream in versioned]
        # The run is complete: the next one reads everything afresh.
        runtime.state.complete()
        runtime.state.restore_foreign()
        runtime.checkpoint.final()
        # Only now is every full-table stream complete, in every partition: a target may
        # retire the rows the last complete reads did not see. A run that failed never gets here.
        for stream, version in retiring:
            if version is not None:
                stream.write_schema_once()
                stream.write_activate_version(version)

    def _note_newly_selected(self) -> None:
        """A stream selected now but not in the interrupted run this one resumes misses the partitions
        of its parents that run finished (they are not read again): it is not read whole this run."""
        own = self._own_streams()
        state, ledger = self.runtime.state, self.runtime.ledger
        new = set(state.note_selected([s.name for s in own if s.selected]))
        by_name = {s.name: s for s in own}
        by_class: dict[type[Stream], JobSourcesStream] = {type(s): s for s in own}
        for name in sorted(new):
            stream = by_name[name]
            parents, parent = [], by_class.get(stream.parent_stream_type) if stream.parent_stream_type else None
            while parent is not None:
                parents.append(parent.name)
                parent = by_class.get(parent.parent_stream_type) if parent.parent_stream_type else None
            begun = [p for p in parents if state.has_progress(p)]
            if not begun:
                continue
            self.logger.warning(
                "%s was not selected in the interrupted run this one resumes: what that run finished of %s is not "
                "read again, so %s is not read whole this run (no ACTIVATE_VERSION; the next run reads it all).",
                name,
                ", ".join(begun),
                name,
            )
            ledger.mark_incomplete(
                f"{name} selected since the interrupted run", name, *(d.name for d in stream.descendants)
            )

    def _complete_read(self, stream: JobSourcesStream) -> int | None:
        """The version the stream's ACTIVATE_VERSION carries (None: none is sent)."""
        runtime = self.runtime
        if reasons := runtime.ledger.incomplete.get(stream.name):
            self.logger.warning(
                "No ACTIVATE_VERSION for %s: not all of it was read, or proven read, this run (%d partitions: "
                "%s%s). Nothing is retired on it.",
                stream.name,
                len(reasons),
                "; ".join(reasons[:3]),
                "; ..." if len(reasons) > 3 else "",
            )
            return None
        misses = self.settings.retire_after_missed_reads
        version = runtime.state.read_complete(stream.name, misses)
        if version is None:
            self.logger.info(
                "%s was read whole: a complete read counted, but no ACTIVATE_VERSION yet (a row is retired "
                "once %d complete reads in a row missed it; retire_after_missed_reads).",
                stream.name,
                misses,
            )
        return version

    def _write_schemas_only(self) -> None:
        # Children too (the SDK sends a child's SCHEMA only once its parent has records).
        selected = [s for s in self._own_streams() if s.selected]
        for stream in selected:
            stream.write_schema_once()
        self.logger.info(
            "schema_only: sent the SCHEMA of %d streams (%s); nothing was read and no STATE written.",
            len(selected),
            ", ".join(s.name for s in selected),
        )

    def _log_summaries(self) -> None:
        for stream in self._own_streams():
            stream.stats.log_summary(self.logger)

    def _versioned_streams(self) -> list[JobSourcesStream]:
        if not self.settings.emit_activate_version_messages:
            return []
        return [s for s in self._own_streams() if s.selected and s.replication_method == "FULL_TABLE"]

    def _own_streams(self) -> list[JobSourcesStream]:
        return [s for s in self.streams.values() if isinstance(s, JobSourcesStream)]

    def discover_streams(self) -> list[Stream]:
        return [
            stream_class(tap=self)
            for provider in providers()
            if provider.key in self.settings.providers
            for stream_class in provider.streams()
        ]


if __name__ == "__main__":
    TapJobSources.cli()
