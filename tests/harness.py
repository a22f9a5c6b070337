"""The tap in this process: the real command line, the same ``TapRun`` as a process gives.

``run_in_process`` runs ``tap_jobsources.cli.main`` (the console script's entry: signal
handlers first, then the SDK's click command in standalone mode) with ``sys.argv`` set to
the arguments a process would get, and turns its ``SystemExit`` into a return code as the
interpreter does. Around the run it stands in for what a process has of its own:

- **stdout**: a text stream over an in-memory buffer with no file descriptor, so the
  tap's writer (``output._write_all``) writes its bytes to ``sys.stdout.buffer`` and
  ``print`` (``--discover``, ``--about``) to the same buffer, in order.
- **stderr**: an in-memory stream too. The SDK adds its console handler to the root logger
  while the command is built (``TapJobSources.cli``), with the ``sys.stderr`` of that
  moment, so the log lines go there through the tap's masking filters, exactly as a
  process prints them; a handler set up before the run that writes to the real stderr is
  pointed at the capture for the run too, and the root logger's handlers of the test
  runner (pytest's log capture) are set aside, as a fresh process has none.
- **exit**: ``SystemExit`` codes as a process reports them (None 0, a number modulo 256,
  any other value printed and 1); an uncaught exception goes to ``sys.excepthook`` (the
  SDK's, which logs it) and gives 1; its traceback starts at ``cli.main`` (a process's
  has the frames of runpy and ``__main__.py`` above it). Then, as at interpreter exit, the ``atexit``
  functions the run registered (the writer's last flush) run, and are unregistered.
- **what a process starts fresh with, and put back afterwards**: ``os.environ`` (without
  the caller's ``TAP_JOBSOURCES_*``, plus ``env``), ``sys.argv``, the SIGTERM and SIGINT
  handlers, the stop flag (``signals.STOP``), the known secrets (``redaction.ACTIVE``),
  the logging tree (levels, handlers, filters, ``propagate``, ``disabled``,
  ``logging.disable``, ``captureWarnings``), the warnings filters (the interpreter's
  defaults during the run, the "once" registry emptied) and ``sys.excepthook``.
- **the network after exit**: a process's threads die with it. Here the run's threads
  (read-ahead workers) outlive it, so every ``requests.Session`` made during the run
  refuses to send once the run is over: no request of a finished run reaches the emulator
  while the test reads its log.

Runs are serialised (one lock) and must start on the main thread, where signal handlers
live; the emulator serves from its own thread as usual.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import itertools
import logging
import os
import signal
import sys
import threading
import typing as t
import warnings
from pathlib import Path

import requests

from tests.helpers import TapRun, parse_messages, tap_args

PROG = "tap-jobsources"
_LOCK = threading.Lock()
_RUN_IDS = itertools.count(1)
#: Runs under way (ids): a session made during a run sends only while its run is in here.
_LIVE: set[int] = set()
_CURRENT: list[int] = []


class _Capture(io.BytesIO):
    """A stream's bytes in memory; no file descriptor (``fileno`` raises UnsupportedOperation)."""


def _text_stream(buffer: _Capture, errors: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(buffer, encoding="utf-8", errors=errors, write_through=True)


def _decoded(buffer: _Capture) -> str:
    # As ``subprocess.run(..., text=True)`` reads a pipe: UTF-8, universal newlines.
    return buffer.getvalue().decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


# The network after exit ---------------------------------------------------------------

_session_init = requests.Session.__init__
_session_send = requests.Session.send


def _tagged_init(self: requests.Session, *args: t.Any, **kwargs: t.Any) -> None:
    _session_init(self, *args, **kwargs)
    if _CURRENT:
        self._harness_run = _CURRENT[-1]  # type: ignore[attr-defined]  # the harness tags a Session of its own


def _guarded_send(self: requests.Session, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:
    run = getattr(self, "_harness_run", None)
    if run is not None and run not in _LIVE:
        raise requests.ConnectionError(f"in-process run {run} is over (a process would have exited)")
    return _session_send(self, request, **kwargs)


requests.Session.__init__ = _tagged_init  # type: ignore[method-assign]  # patched on purpose (see above)
requests.Session.send = _guarded_send  # type: ignore[method-assign]  # patched on purpose (see above)


# Global state -------------------------------------------------------------------------


def _reset_tap_globals() -> None:
    """The tap's per-process state as a fresh process has it."""
    from tap_jobsources import redaction
    from tap_jobsources.signals import STOP, StopFlag

    # A fresh flag's values; its locks stay the same objects (no one may hold them between runs).
    lock = type(threading.Lock())
    STOP.__dict__.update({k: v for k, v in StopFlag().__dict__.items() if not isinstance(v, lock)})
    redaction.ACTIVE.__init__()  # type: ignore[misc]  # re-initialised in place: others hold the object


def _all_loggers() -> list[logging.Logger]:
    return [logging.getLogger()] + [
        lg for lg in list(logging.Logger.manager.loggerDict.values()) if isinstance(lg, logging.Logger)
    ]


@contextlib.contextmanager
def _logging_as_fresh(stderr: io.TextIOWrapper) -> t.Iterator[None]:
    """The logging tree put back as it was after the run; a handler that writes to the
    real stderr writes to the capture during it."""
    loggers = {lg: (lg.level, list(lg.handlers), list(lg.filters), lg.propagate, lg.disabled) for lg in _all_loggers()}
    handlers = {h: list(h.filters) for lg in loggers for h in lg.handlers}
    real = {sys.__stderr__, sys.stderr}
    pointed = {
        h: h.stream
        for h in handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler) and h.stream in real
    }
    disable = logging.root.manager.disable
    captured_warnings = logging._warnings_showwarning is not None  # type: ignore[attr-defined]  # private, untyped
    for handler in pointed:
        handler.setStream(stderr)  # type: ignore[type-var]  # a text stream of another type than the handler's
    # A process's root logger starts with no handler: the test runner's own (pytest's log
    # capture) are set aside for the run, so the tap sees, filters and formats only its own.
    logging.getLogger().handlers.clear()
    try:
        yield
    finally:
        logging.captureWarnings(False)
        if captured_warnings:
            logging.captureWarnings(True)
        logging.disable(disable)
        for logger, (level, hs, fs, propagate, disabled) in loggers.items():
            logger.setLevel(level)
            logger.handlers[:] = hs
            logger.filters[:] = fs
            logger.propagate, logger.disabled = propagate, disabled
        for handler, fs in handlers.items():
            handler.filters[:] = fs
        for handler, stream in pointed.items():
            handler.setStream(stream)
        # Loggers first made during the run keep their level; handlers added to them there
        # would hold the run's capture: drop those.
        for logger in _all_loggers():
            if logger not in loggers:
                logger.handlers[:] = [h for h in logger.handlers if getattr(h, "stream", None) is not stderr]


@contextlib.contextmanager
def _warnings_as_fresh() -> t.Iterator[None]:
    """The interpreter's default warning filters for the run (pytest's put back after)."""
    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__", append=True)
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category, append=True)
        once = dict(warnings.onceregistry)  # type: ignore[attr-defined]  # private to warnings, not in its stubs
        warnings.onceregistry.clear()  # type: ignore[attr-defined]  # as above
        try:
            yield
        finally:
            warnings.onceregistry.clear()  # type: ignore[attr-defined]  # as above
            warnings.onceregistry.update(once)  # type: ignore[attr-defined]  # as above


@contextlib.contextmanager
def _environment(env: dict[str, str] | None) -> t.Iterator[None]:
    saved = dict(os.environ)
    for key in [k for k in os.environ if k.startswith("TAP_JOBSOURCES_")]:
        del os.environ[key]
    os.environ.update(env or {})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _exit_functions() -> t.Iterator[list[tuple[t.Callable[..., t.Any], tuple, dict]]]:
    """The ``atexit`` functions registered during the block (run by the caller)."""
    registered: list[tuple[t.Callable[..., t.Any], tuple, dict]] = []
    register = atexit.register

    def recording(fn: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> t.Callable[..., t.Any]:
        registered.append((fn, args, kwargs))
        return register(fn, *args, **kwargs)

    atexit.register = recording  # type: ignore[assignment]  # patched for the run, put back after
    try:
        yield registered
    finally:
        atexit.register = register


def _exit_code(exc: SystemExit) -> int:
    """The status a process exits with for ``exc`` (Python's own rules)."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _main(args: list[str]) -> int:
    from tap_jobsources.cli import main

    try:
        main()
    except SystemExit as exc:
        return _exit_code(exc)
    except BaseException as exc:  # what the interpreter does with an exception nothing caught
        # The traceback from cli.main down (a process's has runpy's and __main__'s frames above).
        sys.excepthook(type(exc), exc, exc.__traceback__.tb_next if exc.__traceback__ else None)
        return 1
    return 0


def run_in_process(
    tmp_path: Path,
    config: dict | None,
    *,
    state: dict | None = None,
    catalog: dict | None = None,
    env: dict | None = None,
    timeout: float = 240,
    extra_args: list[str] | None = None,
) -> TapRun:
    """What ``helpers.run_tap`` returns for the same arguments, without a process.
    (``timeout`` is accepted for the same signature; pytest-timeout bounds a run here.)"""
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("in-process runs start on the main thread (signal handlers live there)")
    args = tap_args(tmp_path, config, state=state, catalog=catalog, extra_args=extra_args)
    out, err = _Capture(), _Capture()
    stdout, stderr = _text_stream(out, "strict"), _text_stream(err, "backslashreplace")
    with _LOCK:
        run = next(_RUN_IDS)
        saved = (sys.stdout, sys.stderr, sys.argv, sys.excepthook)
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        _reset_tap_globals()
        _LIVE.add(run)
        _CURRENT.append(run)
        try:
            with (
                _environment(env),
                _warnings_as_fresh(),
                _logging_as_fresh(stderr),
                _exit_functions() as at_exit,
            ):
                sys.stdout, sys.stderr, sys.argv = stdout, stderr, [PROG, *args]
                code = _main(args)
                for fn, fn_args, fn_kwargs in reversed(at_exit):  # as the interpreter does at exit
                    with contextlib.suppress(Exception):
                        fn(*fn_args, **fn_kwargs)
                    atexit.unregister(fn)
                stdout.flush()
                stderr.flush()
        finally:
            _CURRENT.pop()
            _LIVE.discard(run)
            sys.stdout, sys.stderr, sys.argv, sys.excepthook = saved
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            _reset_tap_globals()
    text = _decoded(out)
    return TapRun(code, text, _decoded(err), parse_messages(text))
