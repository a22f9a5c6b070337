"""Keep secrets out of logs.

The tap is built so that no secret reaches a URL, a message, a record or a state
(credentials travel in headers only, partitions are named, not keyed, by tokens).
This filter is the second line: whatever a library logs, the values of secret
settings are replaced before a handler writes the line.
"""

from __future__ import annotations

import logging
import typing as t

MASK = "****"


def redact(text: str, secrets: t.Iterable[str]) -> str:
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: t.Iterable[str]):
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is still written
            return True
        clean = redact(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


def install(secrets: t.Iterable[str]) -> RedactingFilter:
    """Attach one filter to every handler now configured (the SDK's stderr handler among them)."""
    flt = RedactingFilter(secrets)
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(flt)
            else:  # a second tap in the same process (tests): extend the secrets it knows
                for f in handler.filters:
                    if isinstance(f, RedactingFilter):
                        f.secrets = sorted(set(f.secrets) | set(flt.secrets), key=len, reverse=True)
    return flt
