"""What one run shares, built once by the tap and handed to every stream.

- :class:`ProviderServices`: per provider and process, the HTTP session (kept-alive
  connections across streams), the pacer (requests per minute), the adaptive limit on
  requests in flight and the worker threads that fetch ahead.
- :class:`Runtime`: those services, the run's page progress, the checkpoint (the one
  writer of STATE), the stop flag, and what the run learned on the way (streams not read
  whole, records skipped).

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
from tap_jobsources.settings import provider_secret_values

if t.TYPE_CHECKING:
    from tap_jobsources.checkpoint import Checkpoint
    from tap_jobsources.providers import Provider
    from tap_jobsources.resume import RunProgress
    from tap_jobsources.signals import StopFlag


@dataclass(frozen=True)
class ProviderServices:
    """What a provider's streams share in one process."""

    provider: Provider
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
    def build(cls, provider: Provider, config: t.Mapping[str, t.Any]) -> ProviderServices:
        # Getro has no such setting: its limit is per account, so it stays at 1.
        concurrency = max(1, int(config.get(f"{provider.key}_max_concurrency") or 1))
        # Redirects are the Sender's (credentials stay with their origin), and the status line and
        # headers of an answer wait no longer than its deadline (transport.py). One kept-alive
        # connection per request in flight (requests keeps 10 by default).
        session = transport.Session(pool_maxsize=max(10, concurrency))
        # requests looks proxies (and .netrc) up in the environment on every request,
        # which costs more than parsing a page. Look once: a provider is one host.
        session.trust_env = False
        session.proxies.update(requests.utils.get_environ_proxies(provider.base_url(config)))
        return cls(
            provider=provider,
            session=session,
            pacer=Pacer(config.get(f"{provider.key}_requests_per_minute")),
            limit=AdaptiveLimit(concurrency),
            workers=Workers(concurrency, f"{provider.key}-worker"),
            secrets=Secrets(provider_secret_values(config, provider)),
        )


@dataclass
class RunLedger:
    """What the run learned on the way, for its end."""

    incomplete: set[str] = field(default_factory=set)  # streams that must not send ACTIVATE_VERSION
    skipped: Counter[str] = field(default_factory=Counter)  # records skipped, by stream

    def mark_incomplete(self, *stream_names: str) -> None:
        self.incomplete.update(stream_names)

    def note_skipped_record(self, stream_name: str) -> None:
        self.skipped[stream_name] += 1


class Runtime:
    """The run's shared parts (see the module's docstring)."""

    def __init__(
        self,
        config: t.Mapping[str, t.Any],
        *,
        progress: RunProgress,
        checkpoint: Checkpoint,
        stop: StopFlag,
    ) -> None:
        self.config = config
        self.progress = progress
        self.checkpoint = checkpoint
        self.stop = stop
        self.ledger = RunLedger()
        self._services: dict[str, ProviderServices] = {}

    def services(self, provider: Provider) -> ProviderServices:
        """The one set of services of ``provider`` in this process."""
        if provider.key not in self._services:
            self._services[provider.key] = ProviderServices.build(provider, self.config)
        return self._services[provider.key]
