"""Every use of singer-sdk's private API, in one place.

The SDK has no public hook for these. Each is used for a reason given beside it, and
``tests/test_sdk_compat.py`` fails when the SDK changes a name, a signature or the
behaviour relied on, so an upgrade is caught in CI rather than by users. Supported:
singer-sdk 0.54 and 0.55. Nothing else in the tap names a private SDK attribute.
"""

from __future__ import annotations

import copy
import typing as t
from datetime import UTC, datetime
from functools import cached_property, partial

from singer_sdk import RESTStream
from singer_sdk.batch import Batcher
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers._catalog import get_selected_schema
from singer_sdk.singerlib import RecordMessage

from tap_jobsources.signals import STOP

if t.TYPE_CHECKING:
    from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig
    from singer_sdk.helpers.types import Context

    from tap_jobsources.runtime import Runtime


class RunHolder(t.Protocol):
    """What a stream needs of its tap: the run's shared parts."""

    runtime: Runtime


class CompatStream(RESTStream):
    """The SDK's REST stream, with the private hooks the tap needs (base of ``JobSourcesStream``)."""

    _schema_sent = False

    @property
    def runtime(self) -> Runtime:
        """The run's shared parts (services, progress, checkpoint, stop flag), from the tap."""
        return t.cast(RunHolder, self._tap).runtime

    @property
    def plain_output(self) -> bool:
        """Records go out as they are (see ``JobSourcesStream``)."""
        return False

    # One SCHEMA per stream per run. The SDK sends it again for every child partition
    # (each network, each connection), and some targets flush a batch on every SCHEMA.
    def _write_schema_message(self) -> None:
        if not self._schema_sent:
            super()._write_schema_message()
            self._schema_sent = True

    def write_schema_once(self) -> None:
        """Send this stream's SCHEMA unless this run already did (a target needs it before
        ACTIVATE_VERSION, even when a resumed run had nothing left to read in the stream)."""
        self._write_schema_message()

    # The plain record path. The SDK's per-record path walks the selection mask, conforms
    # types and applies stream maps; when every field is selected and no map or flattening
    # is set, all of that leaves an already shaped record as it is.
    def _generate_record_messages(self, record: dict) -> t.Generator[RecordMessage, None, None]:
        if not self.plain_output:
            yield from super()._generate_record_messages(record)
            return
        yield RecordMessage(
            stream=self.name,
            record=record,
            version=self._stream_version,
            time_extracted=datetime.now(UTC),
        )

    # The same path, cheaper still: the tap's writer encodes the line itself (output.py).
    def _write_record_message(self, record: dict) -> None:
        write = self.record_writer
        if write is None or not self.plain_output:
            super()._write_record_message(record)
            return
        write(self.name, record, self._stream_version)
        self.state_manager.is_flushed = False

    @cached_property
    def record_writer(self) -> t.Callable[[str, dict, int | None], None] | None:
        """The tap's writer of whole RECORD lines, where it has one."""
        return getattr(self._tap.message_writer, "write_record", None)

    # ACTIVATE_VERSION once per stream, at the end of a complete run, with the logical
    # run's version (the SDK sends it as each partition starts, with a new version).
    def set_table_version(self, version: int) -> None:
        self._stream_version: int | None = version

    def write_activate_version(self, version: int) -> None:
        self._write_activate_version_message(version)

    # BATCH through the checkpoint (checkpoint.py): every stream, parent or child, gathers
    # its records in a buffer the checkpoint owns, so that no STATE goes out while records
    # wait for a file. The SDK would batch a parent's records where no one can see them
    # (its STATEs then claimed them), and write a file per child partition.
    def get_batches(
        self, batch_config: BatchConfig, context: Context | None = None
    ) -> t.Iterable[tuple[BaseBatchFileEncoding, list[str]]]:
        checkpoint = self.runtime.checkpoint
        buffer = checkpoint.buffer(self.name, batch_config.batch_size, partial(self._write_files, batch_config))
        for record in self._sync_records(context, write_messages=False):
            checkpoint.gathered(buffer, record)
        # The checkpoint writes the files and their BATCH messages; the SDK has none to write.
        yield from ()

    def _write_files(self, batch_config: BatchConfig, records: list[dict]) -> None:
        batcher = Batcher(tap_name=self.tap_name, stream_name=self.name, batch_config=batch_config)
        manifest = [uri for part in batcher.get_batches(records=iter(records)) for uri in part]
        self._write_batch_message(encoding=batch_config.encoding, manifest=manifest)


def install_state_writer(tap: t.Any, writer: t.Any) -> None:
    """Make ``writer`` the tap's state writer: ``Tap.sync_all`` writes through the private
    ``_state_writer``, streams through the public ``state_writer`` property that returns it."""
    tap._state_writer = writer


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

    # A stream that is not selected is known to the stream maps with the schema it has once
    # selected. The SDK selects streams after start-up (`--test`, `--test=schema` and its standard
    # tests set `stream.selected = True`), but the maps keep the schema registered from the
    # catalog's selection: for a stream off by default (job_details) no property at all, so its
    # SCHEMA went out as `properties: {}` with key properties not in it (SDK #1942). The SDK sends
    # nothing of a stream that is not selected, so a run with a catalog is unchanged.
    def setup_mapper(self) -> None:
        super().setup_mapper()  # type: ignore[misc]
        for entry in self.catalog.streams:  # type: ignore[attr-defined]
            if entry.metadata.resolve_selection().get((), True):
                continue
            metadata = copy.deepcopy(entry.metadata)
            metadata.root.selected = True
            name = entry.stream or entry.tap_stream_id
            schema = get_selected_schema(name, entry.schema.to_dict(), metadata.resolve_selection())
            self.mapper.register_raw_stream_schema(name, schema, entry.key_properties)  # type: ignore[attr-defined]

    # The SDK answers SIGTERM and SIGINT with sys.exit(0) from wherever the main thread is;
    # the tap's handlers (signals.py) stay in place instead.
    def _setup_signal_handlers(self) -> None:
        STOP.install()

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
