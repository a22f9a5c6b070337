"""How tap-jobsources is pointed at this emulator: the tap's setting names, in one place.

The emulator itself (server and APIs) knows nothing of the tap: this adapter serves the
tests, the quick start and ``tap-jobsources-sandbox --config-out``.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from jobsources_sandbox.server import Sandbox


def tap_settings(sandbox: Sandbox, *providers: str) -> dict[str, t.Any]:
    """Settings for the named providers (default: all three)."""
    settings: dict[str, t.Any] = {}
    for name in providers or ("getro", "bindbee", "trackjobchanges"):
        url = sandbox.base_url(name)
        if name == "getro":
            api = sandbox.getro
            settings.update(getro_email=api.email, getro_api_token=api.token, getro_api_url=url)
        elif name == "bindbee":
            api = sandbox.bindbee
            settings.update(
                bindbee_api_key=api.api_key,
                bindbee_connectors=[{"name": n, "token": tok} for n, tok in api.tokens.items()],
                bindbee_api_url=url,
            )
        else:
            api = sandbox.trackjobchanges
            settings.update(trackjobchanges_api_key=api.api_key, trackjobchanges_api_url=url)
    return settings


def meltano_env(settings: dict[str, t.Any]) -> dict[str, str]:
    """The settings as the TAP_JOBSOURCES_* variables Meltano reads: text as it is, numbers,
    booleans, lists and objects as JSON."""
    import json

    return {
        f"TAP_JOBSOURCES_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
        for name, value in settings.items()
    }


HEADER = "# tap-jobsources settings for the sandbox (tap-jobsources-sandbox --env-out)"


def dotenv(settings: dict[str, t.Any], existing: str = "") -> str:
    """``meltano_env`` as a `.env` file (Meltano reads the project's own), each value in single
    quotes (JSON holds double ones). ``existing``: the file's text before; its lines other than
    TAP_JOBSOURCES_* (the loader's TARGET_POSTGRES_*, say) are kept."""
    kept = [line for line in existing.splitlines() if not line.startswith(("TAP_JOBSOURCES_", HEADER))]
    lines = [*kept, HEADER]
    for name, value in meltano_env(settings).items():
        lines.append(f"{name}='{value}'")
    return "\n".join(lines) + "\n"
