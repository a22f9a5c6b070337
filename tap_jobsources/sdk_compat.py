"""Every use of singer-sdk's private API, in one place.

The SDK has no public hook for these. ``SDK_PRIVATE`` lists each with why, the code beside it says
how, and ``tests/test_sdk_compat.py`` fails when the SDK changes a name, a signature or the
behaviour relied on, so an upgrade is caught in CI rather than by users. Supported: singer-sdk
0.54 and 0.55. Nothing else in the tap names a private SDK attribute.
"""

from __future__ import annotations

import copy
import typing as t
from datetime import UTC, datetime
from functools import cached_property, partial

from singer_sdk import Stream
from singer_sdk.batch import Batcher
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers._catalog import get_selected_schema

from tap_jobsources.dates import instant
from tap_jobsources.signals import STOP

if t.TYPE_CHECKING:
    from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig
    from singer_sdk.helpers.types import Context

    from tap_jobsources.checkpoint import Checkpoint

#: Every private or ``@final`` name of the SDK the tap uses, and why no public hook does
#: (``tests/test_sdk_compat.py`` checks each is still there, and that no other is used).
SDK_PRIVATE: dict[str, str] = {
    "Stream._tap": "a stream reaches its tap's run (Runtime), its other streams and its writer; no public accessor",
    "Stream._stream_version": "the table version RECORD lines carry: one per logical run, kept across a resume",
    "Stream._write_schema_message": "one SCHEMA per stream per run (the SDK sends one per child partition)",
    "Stream._write_record_message": "every RECORD line through one writer, the tap's encoder (output.py)",
    "Stream._generate_record_messages": "the SDK's selection mask, type conformance and stream maps, where set",
    "Stream._write_activate_version_message": "ACTIVATE_VERSION once per stream, after a complete run",
    "Stream._write_batch_message": "BATCH messages for the files the checkpoint writes",
    "Stream._sync_records": "a stream's records without their messages, for BATCH through the checkpoint",
    "Stream._finalize_state": "the SDK would promote bookmarks uncapped and unproven at each partition's end",
    "Stream._write_state_message": "the end of the run's STATE, as the SDK writes it, through the checkpoint",
    "PluginBase._validate_config": "the config fixed up (text as numbers) before validation, checks added after",
    "PluginBase._config": "the SDK's own copy of the config, fixed in place before it is validated",
    "PluginBase._setup_signal_handlers": "the SDK's handlers exit from anywhere; the tap's stop at boundaries",
    "Tap._state_writer": "the checkpoint becomes the one writer of STATE (Tap.sync_all writes through it)",
    "Tap.sync_all": "@final, but the one place a whole run can be wrapped (the CLI calls it directly)",
    "singer_sdk.helpers._catalog.get_selected_schema": "the schema a stream off by default has once selected",
    "singer_sdk.helpers._batch.BatchConfig": "type of the batch settings (type hints only)",
    "singer_sdk.helpers._batch.BaseBatchFileEncoding": "type of a BATCH encoding (type hints only)",
    "singer_sdk.streams._state.StreamStateManager.is_flushed": "a RECORD out means a STATE is due",
}


class RecordWriter(t.Protocol):
    """The tap's message writer (output.py), as far as RECORD lines go."""

    def write_record(self, stream: str, record: dict, version: int | None) -> None: ...


class CompatStream(Stream):
    """The SDK's stream, with the private hooks the tap needs (base of ``JobSourcesStream``)."""

    _schema_sent = False

    @property
    def owning_tap(self) -> object:
        """The tap this stream belongs to (the SDK keeps it private)."""
        return self._tap

    @property
    def checkpoint(self) -> Checkpoint:
        """The run's checkpoint, which owns every BATCH buffer (``JobSourcesStream`` gives it)."""
        raise NotImplementedError

    def sibling(self, name: str) -> Stream | None:
        """Another stream of the same tap, by name (None: not in this run)."""
        return t.cast(t.Any, self._tap).streams.get(name)

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

    # Every RECORD line of the run is written here, by the tap's writer (output.py), which encodes
    # the line itself. The SDK's per-record path (selection mask, type conformance, stream maps)
    # only makes the records where it changes something: with every field selected and no map
    # or flattening set, it would leave an already shaped record as it is.
    def _write_record_message(self, record: dict) -> None:
        self.write_record(record, self._stream_version)

    def write_record(self, record: dict, version: int | None) -> None:
        """The one writer of this stream's RECORD lines (``version``: the table version they carry)."""
        write = self.record_writer
        if self.plain_output:
            write(self.name, record, version)
        else:
            for message in self._generate_record_messages(record):
                write(message.stream, message.record, version)
        self.state_manager.is_flushed = False

    @cached_property
    def record_writer(self) -> t.Callable[[str, dict, int | None], None]:
        """The tap's writer of whole RECORD lines (its ``message_writer``: output.py)."""
        return t.cast(RecordWriter, self._tap.message_writer).write_record

    # ACTIVATE_VERSION once per stream, at the end of a complete run, with the logical
    # run's version (the SDK sends it as each partition starts, with a new version).
    def set_table_version(self, version: int) -> None:
        self._stream_version: int | None = version

    def write_activate_version(self, version: int) -> None:
        self._write_activate_version_message(version)

    # A record of this stream that another stream's read brings (Getro's removed jobs retire their
    # jobs rows): through this stream's own output, as a RECORD line at ``version`` or into its
    # BATCH buffer, so the checkpoint's rule holds for it as for any record.
    def write_extra_record(self, record: dict, version: int | None) -> None:
        batch_config = self.get_batch_config(self.config)
        if batch_config:
            checkpoint = self.checkpoint
            buffer = checkpoint.buffer(self.name, batch_config.batch_size, partial(self._write_files, batch_config))
            checkpoint.gathered(buffer, record)
            return
        self._write_schema_message()
        self.write_record(record, version)

    @property
    def table_version(self) -> int | None:
        """The version this run's RECORD messages carry (None: ACTIVATE_VERSION is off)."""
        return self._stream_version

    # BATCH through the checkpoint (checkpoint.py): every stream, parent or child, gathers
    # its records in a buffer the checkpoint owns, so that no STATE goes out while records
    # wait for a file. The SDK would batch a parent's records where no one can see them
    # (its STATEs then claimed them), and write a file per child partition.
    def get_batches(
        self, batch_config: BatchConfig, context: Context | None = None
    ) -> t.Iterable[tuple[BaseBatchFileEncoding, list[str]]]:
        checkpoint = self.checkpoint
        buffer = checkpoint.buffer(self.name, batch_config.batch_size, partial(self._write_files, batch_config))
        for record in self._sync_records(context, write_messages=False):
            checkpoint.gathered(buffer, record)
        # The checkpoint writes the files and their BATCH messages; the SDK has none to write.
        yield from ()

    def _write_files(self, batch_config: BatchConfig, records: list[dict]) -> None:
        batcher = Batcher(tap_name=self.tap_name, stream_name=self.name, batch_config=batch_config)
        manifest = [uri for part in batcher.get_batches(records=iter(records)) for uri in part]
        self._write_batch_message(encoding=batch_config.encoding, manifest=manifest)

    # Bookmarks are promoted by the tap alone, in one place (``RunState.finish_partition``): once a
    # partition is read whole and proven, capped at the run's start. The SDK's own promotion, at the
    # end of each partition and of the run, would have no cap, and would promote a partition the tap
    # could not prove; by then every partition read was finished or abandoned, so none is left to.
    def _finalize_state(self, state: dict | None = None) -> None:
        self.state_manager.is_flushed = False

    def finalize_state_progress_markers(self, state: dict | None = None) -> None:
        if not state:
            # Into every child that is read, selected or not (a selected grandchild of an unselected
            # child, networks -> jobs -> job_details), as the SDK does for selected ones.
            for child in self.child_streams:
                if child.selected or child.has_selected_descendents:
                    child.finalize_state_progress_markers()
            if not self.selected:
                return
            # What the SDK left beside the bookmarks (a stream-level signpost) goes; no bookmark moves.
            for part in partition_states(self):
                drop_progress(part)
        self._write_state_message()


# The SDK's names inside a stream's (or partition's) state.
_BOOKMARK = "replication_key_value"
_KEY = "replication_key"
_MARKERS = "progress_markers"
_SIGNPOST = "replication_key_signpost"
_STARTING = "starting_replication_value"
_NOTE = "Note"
#: What an input state's bookmark entries may hold as values of the replication key (state_check.py).
MARKERS = _MARKERS
BOOKMARK_FIELDS = (_BOOKMARK, _STARTING)


def bookmark(part_state: dict) -> t.Any:
    """A stream's or partition's bookmark as the state holds it (None: none)."""
    return part_state.get(_BOOKMARK)


def canonical_value(moment: datetime) -> str:
    """A date-time as the tap writes replication values (fixed width, UTC, Z)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def seed_progress(part_state: dict, replication_key: str) -> None:
    """Start a partition's progress markers at its bookmark, so the promoted value never moves
    back (the SDK promotes the largest value emitted). Also spares the SDK's warning that the
    stream is unsorted: the tap's own page progress covers that."""
    if _MARKERS in part_state:
        return
    markers: dict[str, t.Any] = {_NOTE: "Progress is not resumable if interrupted."}
    value = part_state.get(_BOOKMARK)
    if isinstance(value, str):
        markers.update({_KEY: replication_key, _BOOKMARK: value})
    part_state[_MARKERS] = markers


def promote(part_state: dict, cap: str | None) -> None:
    """Make a partition's progress its bookmark: the later of the two, never later than ``cap``."""
    part_state.pop(_SIGNPOST, None)
    part_state.pop(_STARTING, None)
    markers = part_state.pop(_MARKERS, None)
    if isinstance(markers, dict) and _KEY in markers:
        part_state[_KEY] = markers[_KEY]
        part_state[_BOOKMARK] = _later(part_state.get(_BOOKMARK), markers.get(_BOOKMARK))
    value = part_state.get(_BOOKMARK)
    if cap is not None and isinstance(value, str) and _instant(value) > _instant(cap):
        part_state[_BOOKMARK] = cap


def drop_progress(part_state: dict) -> None:
    """Forget a partition's progress: its bookmark stays as it was."""
    for key in (_MARKERS, _SIGNPOST, _STARTING):
        part_state.pop(key, None)


def _instant(value: str) -> datetime:
    """Its instant; a value that is not a date-time sorts before every one."""
    return instant(value) or datetime.min.replace(tzinfo=UTC)


def _later(a: t.Any, b: t.Any) -> t.Any:
    if not isinstance(a, str):
        return b
    if not isinstance(b, str):
        return a
    return b if _instant(b) > _instant(a) else a


def partition_states(stream: Stream) -> list[dict]:
    """A stream's state and each of its partitions' states."""
    whole = stream.stream_state
    parts = whole.get("partitions")
    return [whole, *(p for p in parts if isinstance(p, dict))] if isinstance(parts, list) else [whole]


def state_is_per(stream: Stream, context: t.Mapping | None) -> bool:
    """The stream keeps one state entry per partition of this context (not coarser)."""
    keys = stream.state_partitioning_keys
    return keys is None or set(keys) == set(context or {})


def state_is_coarser(stream: Stream, context: t.Mapping | None) -> bool:
    """A descendant keeps its state per exactly this context's keys (job_details per network)."""
    keys = stream.state_partitioning_keys
    return keys is not None and bool(keys) and set(keys) == set(context or {})


def set_aside(state: dict, known: t.Collection[str]) -> dict:
    """Take the bookmarks of streams this tap does not read out of ``state`` (to be written back once,
    in the final STATE): each would otherwise travel in every STATE of the run."""
    bookmarks = state.get("bookmarks")
    if not isinstance(bookmarks, dict):
        return {}
    foreign = {name: bookmarks.pop(name) for name in list(bookmarks) if name not in known}
    return foreign


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
        errors = super()._validate_config(raise_errors=False)  # type: ignore[misc]  # a mixin: the SDK's Tap is next
        errors = self.check_config(config, errors)
        if errors and raise_errors:
            schema = self.config_jsonschema  # type: ignore[attr-defined]  # the Tap's, which the mixin goes before
            raise ConfigValidationError("Config validation failed", errors=errors, schema=schema)
        return errors

    # A stream that is not selected is known to the stream maps with the schema it has once
    # selected. The SDK selects streams after start-up (`--test`, `--test=schema` and its standard
    # tests set `stream.selected = True`), but the maps keep the schema registered from the
    # catalog's selection: for a stream off by default (job_details) no property at all, so its
    # SCHEMA went out as `properties: {}` with key properties not in it (SDK #1942). The SDK sends
    # nothing of a stream that is not selected, so a run with a catalog is unchanged.
    def setup_mapper(self) -> None:
        super().setup_mapper()  # type: ignore[misc]  # a mixin: the SDK's Tap is next
        for entry in self.catalog.streams:  # type: ignore[attr-defined]  # the Tap's
            if entry.metadata.resolve_selection().get((), True):
                continue
            metadata = copy.deepcopy(entry.metadata)
            metadata.root.selected = True
            name = entry.stream or entry.tap_stream_id
            schema = get_selected_schema(name, entry.schema.to_dict(), metadata.resolve_selection())
            self.mapper.register_raw_stream_schema(name, schema, entry.key_properties)  # type: ignore[attr-defined]  # the Tap's

    # The SDK answers SIGTERM and SIGINT with sys.exit(0) from wherever the main thread is;
    # the tap's handlers (signals.py) stay in place instead.
    def _setup_signal_handlers(self) -> None:
        STOP.install()

    # ``Tap.sync_all`` is marked final, but it is the one place where a whole run can be
    # wrapped (the CLI calls it directly): the tap's own run goes around it.
    def sync_all(self) -> None:
        self.run_sync(super().sync_all)  # type: ignore[misc]  # a mixin: the SDK's Tap is next

    def run_sync(self, sync: t.Callable[[], None]) -> None:
        """The whole run; ``sync`` is the SDK's."""
        sync()

    def prepare_config(self, config: dict) -> None:
        """Fix up the raw config before it is validated."""

    def check_config(self, config: dict, errors: list[str]) -> list[str]:
        """The SDK's validation errors, refined and extended."""
        return errors
