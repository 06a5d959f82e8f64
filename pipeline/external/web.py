"""Fetching a published page or file, bounded: the one place the pipeline reads a web site
(``bundles/proof.py`` checks what it gets).

What a site sends is not trusted: the whole fetch, redirects included, ends at ``timeout``
seconds whatever the server does (a watchdog shuts the socket down at the deadline, so a
server dripping a byte at a time cannot stretch it); the body is streamed and at most
``max_bytes`` are kept (one byte more says the rest was cut); at most ``max_redirects``
redirects are followed, each checked like the first address: only http and https, never
``file:``, ``ftp:`` or anything else. Certificates are verified for https (the system's
roots). Nothing is decompressed: the request asks for the file as it is.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

MB = 1 << 20
REDIRECTS = (301, 302, 303, 307, 308)
CHUNK = 64 * 1024
USER_AGENT = "pipeline-check-published/1"
SHOWN = 200  # characters of what a server said kept in a message


@dataclass(frozen=True)
class Limits:
    timeout: float = 10.0  # seconds for the whole fetch, redirects included
    max_bytes: int = 50 * MB
    max_redirects: int = 5


DEFAULT = Limits()


@dataclass(frozen=True)
class Fetched:
    """What the address gave: an answer (``status``) or why none (``error``)."""

    url: str  # the last address asked (after redirects)
    status: int | None = None
    content_type: str = ""  # the media type, lower case, without parameters
    charset: str = ""  # from Content-Type, "" when it names none
    body: bytes = b""  # at most Limits.max_bytes
    truncated: bool = False  # the server offered more than max_bytes
    error: str = ""  # English, for the event and the log; "" when answered
    redirects: int = 0

    @property
    def answered(self) -> bool:
        return self.status is not None and not self.error


class _Refused(Exception):
    """The address (or a redirect) is not one to fetch; the message says why."""


def fetch(url: str, limits: Limits = DEFAULT) -> Fetched:
    """GET ``url`` within ``limits``; never raises for what the network or the server does."""
    deadline = time.monotonic() + limits.timeout
    current = url
    for redirects in range(limits.max_redirects + 1):
        try:
            status, headers, body, truncated = _get(current, deadline, limits.max_bytes)
        except _Refused as exc:
            return Fetched(current, error=str(exc), redirects=redirects)
        except TimeoutError:
            return Fetched(current, error=f"no answer within {limits.timeout:g} s",
                           redirects=redirects)
        except ssl.SSLError as exc:
            return Fetched(current, error=f"TLS: {exc.reason or exc}", redirects=redirects)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if time.monotonic() >= deadline:  # the watchdog shut the socket down
                return Fetched(current, error=f"no answer within {limits.timeout:g} s",
                               redirects=redirects)
            # the server's own bytes may be in it (a bad status line): cut short
            return Fetched(current, error=f"{type(exc).__name__}: {exc}"[:SHOWN],
                           redirects=redirects)
        location = headers.get("location")
        if status in REDIRECTS and location:
            current = urljoin(current, location.strip())
            continue
        media, _, params = headers.get("content-type", "").partition(";")
        return Fetched(current, status, media.strip().lower()[:SHOWN], _charset(params), body,
                       truncated, redirects=redirects)
    return Fetched(current, error=f"more than {limits.max_redirects} redirects",
                   redirects=limits.max_redirects)


def _charset(params: str) -> str:
    for part in params.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'").lower()
    return ""


def _connection(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _Refused(f"refused: only http and https are fetched, not {scheme or '?'}:")
    if not parts.hostname:
        raise _Refused("refused: the address names no host")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if scheme == "https":
        return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                           context=ssl.create_default_context()), target
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout), target


def _get(url: str, deadline: float, max_bytes: int
         ) -> tuple[int, dict[str, str], bytes, bool]:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    conn, target = _connection(url, remaining)
    sock: list[socket.socket] = []  # the connection lets go of it once a response ends it
    fired = threading.Event()
    watchdog = threading.Timer(remaining, _shut, args=(sock, fired))
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.connect()
        assert conn.sock is not None
        sock.append(conn.sock)
        conn.request("GET", target, headers={"User-Agent": USER_AGENT, "Accept": "*/*",
                                             "Accept-Encoding": "identity"})
        response = conn.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        if response.status in REDIRECTS:
            return response.status, headers, b"", False
        chunks, size = [], 0
        while size <= max_bytes:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            sock[0].settimeout(left)
            chunk = response.read1(min(CHUNK, max_bytes + 1 - size))  # what has arrived
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if fired.is_set():  # the end of the body was the watchdog's, not the server's
            raise TimeoutError
        body = b"".join(chunks)
        return response.status, headers, body[:max_bytes], size > max_bytes
    finally:
        watchdog.cancel()
        conn.close()


def _shut(sock: list[socket.socket], fired: threading.Event) -> None:
    """At the deadline: wake whatever read is blocked on the socket."""
    fired.set()
    for s in sock:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
