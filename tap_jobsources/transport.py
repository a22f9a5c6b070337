"""One answer, from the request to its last byte, within three bounds.

- **Origin**: requests follows a redirect to any host and strips only ``Authorization``,
  so the providers' own credential headers (``X-User-Token``, ``x-connector-token``,
  ``key`` ...) would go along. The :class:`~tap_jobsources.sending.Sender` sends with
  ``allow_redirects=False`` from a :class:`Session` that leaves redirects alone, and
  follows one itself, only within the origin its request was for (:func:`origin`:
  scheme, host and port); one to another origin is refused. :func:`redirected` is the
  next request of a redirect it follows.
- **Time**: ``timeout=`` bounds each socket read, not the answer: a server that sends a
  byte a second never times out. :class:`Deadline` is one answer's wall-clock bound.
  While the status line and headers come, the :data:`REAPER` shuts the socket down at
  the deadline (the :class:`Session`'s adapter); the body is read by
  :func:`read_body` in pieces, the socket's timeout set to the time left before each.
- **Size**: ``Content-Encoding: gzip`` is decoded with no limit by requests.
  :func:`read_body` reads at most :data:`READ_CHUNK` decoded bytes at a time (urllib3
  decompresses with a limit on its output, so a small compressed piece cannot expand
  in memory) and stops past ``max_bytes``.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
import typing as t
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import requote_uri
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

#: Decompressed bytes one answer may hold unless the Sender is given another limit.
MAX_BODY_BYTES = 256 * 1024 * 1024
#: Decoded bytes read at a time: what one read may add to memory, however compressed.
READ_CHUNK = 256 * 1024
#: Redirects followed (within the origin) for one request.
MAX_REDIRECTS = 10
#: The statuses that redirect (a 300 or 304 is an answer, not a redirect).
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class AnswerTimeout(requests.exceptions.ReadTimeout):
    """The whole answer did not come within its deadline (retried like any timeout)."""


class UnreadableLocation(ValueError):
    """A redirect's Location that cannot be read as an address (a bracket not closed, a host in
    brackets that is no IP address). Its text is never shown: it may carry anything."""


class BodyTooLarge(Exception):
    """The decompressed body passed its limit (``size`` bytes read when it stopped)."""

    def __init__(self, limit: int, size: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit
        self.size = size


class Deadline:
    """A wall-clock bound: ``seconds`` from now."""

    __slots__ = ("at", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> AnswerTimeout:
        whole = f"{self.seconds:g} s for the whole answer, body included"
        return AnswerTimeout(f"no answer within request_timeout ({whole})")


# Origins and redirects -----------------------------------------------------------------


Origin = tuple[str, str, int | None]


def origin(url: str) -> Origin:
    """(scheme, host, port) of ``url``, the port filled in for http and https."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: no origin matches it
        port = -1
    return scheme, (parts.hostname or "").lower(), port if port is not None else _DEFAULT_PORTS.get(scheme)


def show_origin(value: Origin) -> str:
    """``https://host:443``: an origin for a message (never a path, a query or user info)."""
    scheme, host, port = value
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def redirect_location(response: requests.Response) -> str | None:
    """The absolute URL a redirect points to, or None when it has no Location; raises
    :class:`UnreadableLocation` for a Location that is not an address."""
    location = response.headers.get("location")
    if not location:
        return None
    # http.client decodes headers as Latin-1; servers write UTF-8 (as requests assumes too).
    try:
        location = location.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    url = str(response.url or (response.request.url if response.request else ""))
    # As requests writes a URL it sends (so that a loop is seen as one), without a fragment.
    try:
        return requote_uri(urljoin(url, location.strip()).split("#", 1)[0])
    except ValueError:
        raise UnreadableLocation("the redirect's Location is not an address") from None


def redirected(request: requests.PreparedRequest, status: int, url: str) -> requests.PreparedRequest:
    """The request a redirect to ``url`` (from :func:`redirect_location`) asks for: the same
    headers (the same origin), the method changed as browsers and requests change it (303
    and 302 become a GET but for HEAD, 301 a GET for POST; a GET stays a GET)."""
    new = request.copy()
    new.url = url
    method = new.method
    if (status in (302, 303) and method != "HEAD") or (status == 301 and method == "POST"):
        new.method = "GET"
        new.body = None
        for name in ("Content-Length", "Content-Type", "Transfer-Encoding"):
            new.headers.pop(name, None)
    return new


# Reading a body --------------------------------------------------------------------------


def read_body(response: requests.Response, deadline: Deadline, max_bytes: int) -> bytes:
    """The whole decoded body of a response sent with ``stream=True``, read within
    ``deadline`` and ``max_bytes``; ``response.content`` and ``.text`` work afterwards.

    Raises :class:`AnswerTimeout` past the deadline, :class:`BodyTooLarge` past the
    limit, and the exceptions requests raises for a broken body otherwise (all but
    the limit are retried). The connection goes back to the pool when the body was
    read whole, and is closed otherwise.
    """
    if response._content is not False:  # already read (a response built by hand)
        content = response.content or b""
        if len(content) > max_bytes:
            raise BodyTooLarge(max_bytes, len(content))
        return content
    raw = response.raw
    try:
        declared = int(response.headers.get("content-length") or -1)
    except ValueError:
        declared = -1
    if declared > max_bytes and not response.headers.get("content-encoding"):
        response.close()
        raise BodyTooLarge(max_bytes, 0)
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    chunks: list[bytes] = []
    size = 0
    try:
        # The socket timeout bounds one receive; a body that trickles inside one read of
        # urllib3's chunked decoder (a chunk-size line or trailers byte by byte) is bounded by
        # the reaper, which shuts the socket down at the deadline.
        # urllib3 hands the connection back to the pool inside the read that reaches the body's
        # end: from then on the socket may be another request's, and is neither timed nor shut here.
        with REAPER.watching(sock, deadline.at, lambda: raw.connection is not None):
            while True:
                left = deadline.left()
                if left <= 0:
                    raise deadline.expired()
                if sock is not None and raw.connection is not None:
                    sock.settimeout(left)  # one slow read cannot outlast the answer's deadline
                chunk = _read1(raw, deadline)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise BodyTooLarge(max_bytes, size)
                chunks.append(chunk)
        if deadline.left() <= 0:
            raise deadline.expired()  # the end may be the reaper's shutdown, not the body's
    except BaseException as exc:
        chunks.clear()
        response.close()  # the rest of the body is never read: the connection is not reused
        if deadline.left() <= 0 and isinstance(exc, _BROKEN) and not isinstance(exc, AnswerTimeout):
            raise deadline.expired() from None  # a read broken by the reaper's shutdown
        raise
    body = b"".join(chunks)
    response._content = body
    response._content_consumed = True
    raw.release_conn()
    return body


#: How a read broken off by the reaper's shutdown may surface.
_BROKEN = (OSError, requests.exceptions.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException)


def _read1(raw: urllib3.HTTPResponse, deadline: Deadline) -> bytes:
    """One read of at most READ_CHUNK decoded bytes, with urllib3's errors as requests names them."""
    try:
        return raw.read1(READ_CHUNK, decode_content=True)
    except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as exc:
        if deadline.left() <= 0:
            raise deadline.expired() from None
        raise requests.exceptions.ReadTimeout(str(exc)) from None
    except urllib3.exceptions.SSLError as exc:
        raise requests.exceptions.SSLError(str(exc)) from None
    except urllib3.exceptions.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(str(exc)) from None
    except (urllib3.exceptions.ProtocolError, OSError) as exc:
        raise requests.exceptions.ChunkedEncodingError(str(exc)) from None


# The deadline while the status line and headers come -----------------------------------


class _Reaper:
    """One daemon thread that shuts down the socket of an answer whose status line or
    headers are still coming at its deadline (the read then fails, and the Sender
    reports the deadline). Watching costs a dictionary entry under a lock: the thread is
    woken only for a deadline earlier than the one it already waits for."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watched: dict[int, tuple[float, socket.socket, t.Callable[[], bool] | None]] = {}
        self._next = 0
        self._wake_at = float("inf")  # when the thread looks next (inf: when it is woken)
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def watching(
        self, sock: socket.socket | None, at: float, still_ours: t.Callable[[], bool] | None = None
    ) -> t.Iterator[None]:
        """Shut ``sock`` down at ``at`` unless the block has ended (or ``still_ours`` says the
        socket went back to the pool)."""
        if sock is None:
            yield
            return
        with self._cond:
            self._next += 1
            key = self._next
            self._watched[key] = (at, sock, still_ours)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="answer-deadlines", daemon=True)
                self._thread.start()
            elif at < self._wake_at:
                self._cond.notify()
        try:
            yield
        finally:
            with self._cond:
                self._watched.pop(key, None)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for key in [k for k, (at, _, _) in self._watched.items() if at <= now]:
                    _, sock, still_ours = self._watched.pop(key)
                    if still_ours is None or still_ours():
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_RDWR)
                # A deadline whose answer came in time is gone from the dict: waking for it
                # costs one look, at most once per request_timeout.
                self._wake_at = min((at for at, _, _ in self._watched.values()), default=float("inf"))
                self._cond.wait(None if self._wake_at == float("inf") else self._wake_at - now)


REAPER = _Reaper()
#: The deadline of the answer the current thread waits for (set by the Sender around a send).
_current = threading.local()


@contextlib.contextmanager
def within(deadline: Deadline) -> t.Iterator[None]:
    """Requests this thread sends inside the block wait for their headers until ``deadline``."""
    _current.deadline = deadline
    try:
        yield
    finally:
        _current.deadline = None


# The mixin goes before urllib3's connection classes; to mypy it is one of them, so that its
# ``super().getresponse()`` and ``self.sock`` are typed (no ``type: ignore`` needed).
if t.TYPE_CHECKING:
    _Connection = HTTPConnection
else:
    _Connection = object


class _DeadlineMixin(_Connection):
    def getresponse(self):  # urllib3's own return type, whatever its version
        deadline: Deadline | None = getattr(_current, "deadline", None)
        if deadline is None:
            return super().getresponse()
        with REAPER.watching(self.sock, deadline.at):
            return super().getresponse()


class _HTTPConnection(_DeadlineMixin, HTTPConnection):
    pass


class _HTTPSConnection(_DeadlineMixin, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter, whose connections wait for a status line and headers no longer
    than the deadline of :func:`within`."""

    def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: t.Any):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if urlsplit(proxy).scheme.lower() in ("http", "https"):  # SOCKS has pools of its own
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


class Session(requests.Session):
    """A provider's session: requests through a :class:`DeadlineAdapter`, and no redirect
    handled by requests at all. Even with ``allow_redirects=False``, ``Session.send`` looks
    for the next request of a redirect (``Response.next``) and reads the redirect's whole
    body first, with no deadline and no limit; here it finds none: the Sender follows
    redirects itself (``sending.py``)."""

    def __init__(self, *, pool_maxsize: int = 10) -> None:
        super().__init__()
        adapter = DeadlineAdapter(pool_maxsize=pool_maxsize)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None
