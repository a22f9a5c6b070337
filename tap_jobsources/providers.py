"""What the tap knows about each provider: its name, settings and base URL.

Settings validation, error messages and pacing all read from here, so a provider's
setting names are written once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    key: str  # prefix of its settings, e.g. "getro"
    name: str  # how messages name it, e.g. "Getro"
    credentials: tuple[str, ...]  # settings that enable it, all required together
    secrets: tuple[str, ...]  # settings whose values must never be shown
    default_url: str

    @property
    def url_setting(self) -> str:
        return f"{self.key}_api_url"

    @property
    def page_size_setting(self) -> str:
        return f"{self.key}_page_size"

    def base_url(self, config) -> str:
        return (config.get(self.url_setting) or self.default_url).rstrip("/")

    def enabled(self, config) -> bool:
        return any(config.get(name) for name in self.credentials)

    def credentials_hint(self) -> str:
        return " and ".join(self.credentials)


GETRO = Provider(
    key="getro",
    name="Getro",
    credentials=("getro_email", "getro_api_token"),
    secrets=("getro_api_token",),
    default_url="https://api.getro.com/v2",
)
BINDBEE = Provider(
    key="bindbee",
    name="Bindbee",
    credentials=("bindbee_api_key", "bindbee_connectors"),
    secrets=("bindbee_api_key",),  # connector tokens are collected separately
    default_url="https://api.bindbee.dev/api/ats/v1",
)
TRACKJOBCHANGES = Provider(
    key="trackjobchanges",
    name="TrackJobChanges",
    credentials=("trackjobchanges_api_key",),
    secrets=("trackjobchanges_api_key",),
    default_url="https://www.trackjobchanges.com/api/v1",
)

PROVIDERS = (GETRO, BINDBEE, TRACKJOBCHANGES)
