"""What a stream did, for people: the SDK's http_request_duration METRIC per request, and
one summary line per stream at the end of a run (records, requests, retries, seconds)."""

from __future__ import annotations

import logging
import threading
import time

import requests
from singer_sdk import metrics


class StreamStats:
    """Counts of one stream, safe to bump from the provider's worker threads."""

    def __init__(self, stream_name: str, endpoint: str) -> None:
        self.stream_name = stream_name
        self.endpoint = endpoint
        self.records = 0
        self.requests = 0
        self.retries = 0
        self.first: float | None = None
        self.last: float | None = None
        self._lock = threading.Lock()
        self._metrics = metrics.get_metrics_logger()

    def request(self, response: requests.Response, elapsed: float | None = None) -> None:
        """One answer: counted, and logged as the SDK logs its own requests. ``elapsed``: seconds
        from the request to the answer's last byte (requests' own ``elapsed`` stops at the headers)."""
        now = time.monotonic()
        if elapsed is None:
            elapsed = response.elapsed.total_seconds()
        with self._lock:
            self.requests += 1
            self.first = now - elapsed if self.first is None else self.first
            self.last = now
        ok = response.status_code < 400
        point = metrics.Point(
            "timer",
            metric=metrics.Metric.HTTP_REQUEST_DURATION,
            value=elapsed,
            tags={
                metrics.Tag.STREAM: self.stream_name,
                metrics.Tag.ENDPOINT: self.endpoint,
                metrics.Tag.HTTP_STATUS_CODE: response.status_code,
                metrics.Tag.STATUS: metrics.Status.SUCCEEDED if ok else metrics.Status.FAILED,
            },
        )
        metrics.log(self._metrics, point)

    def retry(self) -> None:
        with self._lock:
            self.retries += 1

    def summary(self) -> str | None:
        if not self.requests and not self.records:
            return None
        seconds = (self.last - self.first) if self.first is not None and self.last is not None else 0.0
        return (
            f"Stream {self.stream_name}: {self.records:,} records, {self.requests:,} requests, "
            f"{self.retries:,} retries, {seconds:.1f} s from first request to last answer"
        )

    def log_summary(self, logger: logging.Logger) -> None:
        if line := self.summary():
            logger.info("%s", line)
