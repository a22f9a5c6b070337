"""What one run shares, built once by the tap and handed to every stream.

- :class:`ProviderServices`: per provider and process, the HTTP session (kept-alive
  connections across streams), the pacer (requests per minute), the adaptive limit on
  requests in flight and the worker threads that fetch ahead.
- :class:`Runtime`: the typed settings, those services, the run's state (``state.RunState``), the
  checkpoint (the one writer of STATE), the stop flag, and what the run learned on the way
  (streams not read whole, records skipped).

A stream holds these as typed objects; nothing here knows a provider by name.
"""

from __future__ import annotations

import typing as t
from collections import Counter
from dataclasses import dataclass, field

import requests

from tap_jobsources import transport
from tap_jobsources.concurrency import AdaptiveLimit, Workers
from tap_jobsources.pacing import Pacer
from tap_jobsources.redaction import Secrets

if t.TYPE_CHECKING:
    from tap_jobsources.checkpoint import Checkpoint
    from tap_jobsources.plugin import Provider, ProviderOptions
    from tap_jobsources.settings import Settings
    from tap_jobsources.signals import StopFlag
    from tap_jobsources.state import RunState


@dataclass(frozen=True)
class ProviderServices:
    """What a provider's streams share in one process."""

    provider: Provider
    options: ProviderOptions
    session: requests.Session
    pacer: Pacer
    limit: AdaptiveLimit
    workers: Workers
    #: What its servers were sent, so all they could echo back (sending.py scans bodies for it).
    secrets: Secrets

    @property
    def concurrency(self) -> int:
        return self.limit.ceiling

    @classmethod
    def build(cls, provider: Provider, options: ProviderOptions) -> ProviderServices:
        concurrency = max(1, options.max_concurrency)
        # Redirects are the Sender's (credentials stay with their origin), and the status line and
        # headers of an answer wait no longer than its deadline (transport.py). One kept-alive
        # connection per request in flight (requests keeps 10 by default).
        session = transport.Session(pool_maxsize=max(10, concurrency))
        # requests looks proxies (and .netrc) up in the environment on every request,
        # which costs more than parsing a page. Look once: a provider is one host.
        session.trust_env = False
        session.proxies.update(requests.utils.get_environ_proxies(options.api_url))
        return cls(
            provider=provider,
            options=options,
            session=session,
            pacer=Pacer(options.requests_per_minute),
            limit=AdaptiveLimit(concurrency),
            workers=Workers(concurrency, f"{provider.key}-worker"),
            secrets=Secrets(options.secrets),
        )


@dataclass
class RunLedger:
    """What the run learned on the way, for its end."""

    #: Streams that must not send ACTIVATE_VERSION, each with why (a partition skipped or unproven).
    incomplete: dict[str, list[str]] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)  # records skipped, by stream
    #: Where each mark is kept too, so that a resumed run knows what the interrupted one skipped.
    keep: t.Callable[[str, str], None] = lambda stream, reason: None

    def mark_incomplete(self, reason: str, *stream_names: str) -> None:
        for name in stream_names:
            self.incomplete.setdefault(name, []).append(reason)
            self.keep(name, reason)

    def note_skipped_record(self, stream_name: str) -> None:
        self.skipped[stream_name] += 1


class Runtime:
    """The run's shared parts (see the module's docstring)."""

    def __init__(self, settings: Settings, *, state: RunState, checkpoint: Checkpoint, stop: StopFlag) -> None:
        self.settings = settings
        self.state = state
        self.checkpoint = checkpoint
        self.stop = stop
        # A resumed run is the interrupted run, continued: what that one left incomplete still is.
        self.ledger = RunLedger(incomplete=state.carried_incomplete(), keep=state.keep_incomplete)
        self._services: dict[str, ProviderServices] = {}

    def services(self, provider: Provider) -> ProviderServices:
        """The one set of services of ``provider`` in this process."""
        if provider.key not in self._services:
            options = self.settings.providers[provider.key]
            self._services[provider.key] = ProviderServices.build(provider, options)
        return self._services[provider.key]
