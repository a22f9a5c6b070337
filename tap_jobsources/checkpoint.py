"""The one owner of STATE.

Every STATE the tap writes goes through :class:`Checkpoint`: page progress, a finished
partition, the SDK's own bookmarks (the tap hands the SDK this object as its state
writer), BATCH, the end of a run and a stop on a signal.

The invariant, which the crash-point tests check for every STATE of a run:

    A STATE is written only when every record it covers is already out: as a
    flushed RECORD line, or inside a file whose BATCH message is already written,
    for parent and child streams alike.

How it holds:

- RECORD lines wait in the message writer's buffer; a STATE is written into the same
  buffer after them and the buffer is flushed with it, so the target never sees a STATE
  before the records it covers.
- With BATCH, records wait in a :class:`BatchBuffer` per stream until a file is worth
  writing. A STATE that falls due while any buffer holds records is *held*; it goes out
  (as the state is then, which covers at least as much) once the buffers are empty. A
  buffer that reaches ``batch_size`` closes the files of *every* buffer, writes their
  BATCH messages, then the held STATE. So a crash repeats at most one batch of work
  per stream, and a stream read alongside a busier one gets smaller files: files
  versus repeated work, as the README says.
- The state is changed only after the records it covers were handed to the writer or a
  buffer (the partition reader's rule), so the state as it is when no buffer holds
  anything is always safe.

Identical STATEs in a row are written once (the SDK writes the whole state after every
child partition); the last STATE of a run is written even when unchanged, so that a
stopped run's last line is the STATE it resumes from.
"""

from __future__ import annotations

import typing as t

import msgspec
from singer_sdk.singerlib import StateMessage

if t.TYPE_CHECKING:
    from singer_sdk.singerlib import Message


class MessageSink(t.Protocol):
    """Where messages go (the tap's message writer)."""

    def write_message(self, message: Message) -> None: ...


class FileWriter(t.Protocol):
    """Writes a list of records into BATCH files and their BATCH message (see sdk_compat)."""

    def __call__(self, records: list[dict]) -> None: ...


class BatchBuffer:
    """Records of one stream gathered for a BATCH file; the checkpoint writes the files."""

    __slots__ = ("records", "size", "write_files")

    def __init__(self, size: int, write_files: FileWriter) -> None:
        self.size = max(1, size)
        self.records: list[dict] = []
        self.write_files = write_files

    @property
    def full(self) -> bool:
        return len(self.records) >= self.size

    def close(self) -> None:
        """Write what is gathered into files (and their BATCH message)."""
        if self.records:
            records, self.records = self.records, []
            self.write_files(records)


class Checkpoint:
    """Writes every STATE of a run; see the module's docstring for the rule it keeps.

    ``state`` is the tap's live state (a dict changed in place by the SDK and by the run's
    progress); ``on_write`` runs just before each STATE is serialised (it stamps the
    progress section with the time)."""

    def __init__(self, sink: MessageSink, state: dict, *, on_write: t.Callable[[], None] | None = None) -> None:
        self._sink = sink
        # The tap's writer encodes a STATE as it is (``write_state``); any other sink gets a message.
        self._write_state: t.Callable[[dict], None] | None = getattr(sink, "write_state", None)
        self._state = state
        self._on_write = on_write
        self._buffers: dict[str, BatchBuffer] = {}
        self._held = False
        self._last: bytes | None = None
        self.held = 0  # STATEs that fell due while records waited for a file

    # What the SDK calls (``Tap.state_writer``) -------------------------------------

    def write_state(self, state: t.Any = None) -> None:
        """The SDK's state writer entry: a STATE falls due (the SDK passes the same live state)."""
        self.due()

    # The tap's own ------------------------------------------------------------------

    def buffer(self, name: str, size: int, write_files: FileWriter) -> BatchBuffer:
        """The BATCH buffer of stream ``name`` (made once, then the same one)."""
        if name not in self._buffers:
            self._buffers[name] = BatchBuffer(size, write_files)
        return self._buffers[name]

    def gathered(self, buffer: BatchBuffer, record: dict) -> None:
        """A record went into ``buffer``; a full buffer closes every buffer's files."""
        buffer.records.append(record)
        if buffer.full:
            self.close_files()

    @property
    def waiting(self) -> int:
        """Records gathered for BATCH files that no file holds yet."""
        return sum(len(b.records) for b in self._buffers.values())

    def due(self) -> None:
        """Progress changed: write the STATE now, or hold it while records wait for a file."""
        if self.waiting:
            self._held = True
            self.held += 1
            return
        self._write(force=False)

    def close_files(self) -> None:
        """Write every buffer's records into files, then the STATE held for them."""
        for buffer in self._buffers.values():
            buffer.close()
        if self._held:
            self._write(force=False)

    def final(self) -> None:
        """The last STATE of a run, complete or stopped: files first, then the STATE,
        written even when it repeats the one before (a stopped run's last line)."""
        self.close_files()
        self._write(force=True)

    def _write(self, *, force: bool) -> None:
        self._held = False
        seen = msgspec.json.encode(self._state)  # before on_write's time stamp, to spot repeats
        if seen == self._last and not force:
            return
        self._last = seen
        if self._on_write is not None:
            self._on_write()
        if self._write_state is not None:
            self._write_state(self._state)
        else:
            self._sink.write_message(StateMessage(value=self._state))
