"""Every use of singer-sdk's private API, in one place.

The SDK has no public hook for these. Each is used for a reason given beside it, and
``tests/test_sdk_compat.py`` fails when the SDK changes a name, a signature or the
behaviour relied on, so an upgrade is caught in CI rather than by users. Supported:
singer-sdk 0.54 and 0.55. Nothing else in the tap names a private SDK attribute.
"""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime

from singer_sdk.batch import Batcher
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.singerlib import RecordMessage

if t.TYPE_CHECKING:
    from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig
    from singer_sdk.helpers.types import Context

    from tap_jobsources.tap import TapJobSources


class CompatStream:
    """Mixin of the base stream (before ``RESTStream`` in its bases)."""

    _schema_sent = False

    @property
    def tap(self) -> TapJobSources:
        """The tap this stream belongs to (its shared session, pacer, state writer)."""
        return self._tap  # type: ignore[attr-defined]

    # One SCHEMA per stream per run. The SDK sends it again for every child partition
    # (each network, each connection), and some targets flush a batch on every SCHEMA.
    def _write_schema_message(self) -> None:
        if not self._schema_sent:
            super()._write_schema_message()  # type: ignore[misc]
            self._schema_sent = True

    def write_schema_once(self) -> None:
        """Send this stream's SCHEMA unless this run already did (a target needs it before
        ACTIVATE_VERSION, even when a resumed run had nothing left to read in the stream)."""
        self._write_schema_message()

    # The plain record path. The SDK's per-record path walks the selection mask, conforms
    # types and applies stream maps; when every field is selected and no map or flattening
    # is set, all of that leaves an already shaped record as it is.
    def _generate_record_messages(self, record: dict) -> t.Generator[RecordMessage, None, None]:
        if not self.plain_output:  # type: ignore[attr-defined]
            yield from super()._generate_record_messages(record)  # type: ignore[misc]
            return
        yield RecordMessage(
            stream=self.name,  # type: ignore[attr-defined]
            record=record,
            version=self._stream_version,
            time_extracted=datetime.now(UTC),
        )

    # ACTIVATE_VERSION once per stream, at the end of a complete run, with the logical
    # run's version (the SDK sends it as each partition starts, with a new version).
    def set_table_version(self, version: int) -> None:
        self._stream_version: int | None = version

    def write_activate_version(self, version: int) -> None:
        self._write_activate_version_message(version)  # type: ignore[attr-defined]

    # BATCH that scales: the SDK writes at least one file per child partition (each
    # connection's employments: 7 files for 16 records). A child stream here gathers the
    # records of many parent records, up to the batch size, into one file; while some are
    # gathered and not yet in a file, STATE messages are held back (see output.py), so a
    # STATE never claims records that no file holds.
    def get_batches(
        self, batch_config: BatchConfig, context: Context | None = None
    ) -> t.Iterable[tuple[BaseBatchFileEncoding, list[str]]]:
        records = self._sync_records(context, write_messages=False)  # type: ignore[attr-defined]
        if not self.parent_stream_type:  # type: ignore[attr-defined]
            for manifest in self._batcher(batch_config).get_batches(records=records):
                yield batch_config.encoding, manifest
            return
        gathered = self._gathered
        for record in records:
            gathered.append(record)
            if len(gathered) >= batch_config.batch_size:
                manifest = self._write_gathered(batch_config)
                yield batch_config.encoding, manifest
        self.tap.hold_states(self.name, bool(gathered))  # type: ignore[attr-defined]

    def flush_batches(self) -> None:
        """Write what a child stream has gathered (at the end of a run, complete or not)."""
        batch_config = self.get_batch_config(self.config)  # type: ignore[attr-defined]
        if batch_config and self._gathered:
            manifest = self._write_gathered(batch_config)
            self._write_batch_message(encoding=batch_config.encoding, manifest=manifest)  # type: ignore[attr-defined]

    @property
    def _gathered(self) -> list[dict]:
        if "_gathered_records" not in self.__dict__:
            self.__dict__["_gathered_records"] = []
        return self.__dict__["_gathered_records"]

    def _batcher(self, batch_config: BatchConfig) -> Batcher:
        return Batcher(tap_name=self.tap_name, stream_name=self.name, batch_config=batch_config)  # type: ignore[attr-defined]

    def _write_gathered(self, batch_config: BatchConfig) -> list[str]:
        manifest = [
            uri for part in self._batcher(batch_config).get_batches(records=iter(self._gathered)) for uri in part
        ]
        self._gathered.clear()
        self.tap.hold_states(self.name, False)  # type: ignore[attr-defined]
        return manifest

    # The SDK writes a partitioned stream's STATE only after its last partition. When a
    # partition begins, the one before it is final: write it now, so that a killed run
    # resumes after the partitions it finished.
    def write_finished_partitions_state(self) -> None:
        manager = self.state_manager  # type: ignore[attr-defined]
        if self.partitions and not manager.is_flushed:  # type: ignore[attr-defined]
            self.tap.state_writer.write_state(self.tap_state)  # type: ignore[attr-defined]
            manager.is_flushed = True


class CompatTap:
    """Mixin of the tap (before ``Tap`` in its bases).

    The SDK validates the config in ``__init__`` through ``_validate_config`` only: the
    tap reads text as numbers and lists before it, adds the checks JSON Schema cannot
    express after it, and keeps secrets out of the messages.
    """

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        config = self._config  # type: ignore[attr-defined]  # the SDK's own copy, fixed in place
        self.prepare_config(config)
        errors = super()._validate_config(raise_errors=False)  # type: ignore[misc]
        errors = self.check_config(config, errors)
        if errors and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=errors, schema=self.config_jsonschema)  # type: ignore[attr-defined]
        return errors

    # ``Tap.sync_all`` is marked final, but it is the one place where a whole run can be
    # wrapped (the CLI calls it directly): the tap's own run goes around it.
    def sync_all(self) -> None:
        self.run_sync(super().sync_all)  # type: ignore[misc]

    def run_sync(self, sync: t.Callable[[], None]) -> None:
        """The whole run; ``sync`` is the SDK's."""
        sync()

    def prepare_config(self, config: dict) -> None:
        """Fix up the raw config before it is validated."""

    def check_config(self, config: dict, errors: list[str]) -> list[str]:
        """The SDK's validation errors, refined and extended."""
        return errors
