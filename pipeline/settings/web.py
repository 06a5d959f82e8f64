"""``[web]`` in pipeline.toml: how the web desk serves and whom it trusts.

Its own module because config.py reads every other table; this one is read by the call in
config.py's reader, which hands over its ``fail`` so that every error names the file and the
key the way the rest of the config does (and so that this module needs nothing of config.py).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_IDLE_MINUTES = 24 * 60  # a session idle for longer than a day is no one's desk


@dataclass(frozen=True)
class WebSettings:
    """What ``pipeline serve`` and the desk's sign-in read."""

    # every account that can sign (the director's, the publisher's with a key) needs TOTP
    require_2fa_for_signing: bool = False
    session_idle_minutes: int = 30
    base_url: str = ""  # the address people open, when the desk is behind a proxy
    # the reverse proxies whose X-Forwarded-For is believed; nobody else's is
    trusted_proxies: tuple[IPNetwork, ...] = ()
    host: str = "127.0.0.1"  # `pipeline serve`'s defaults
    port: int = 8080

    @property
    def session_idle(self) -> timedelta:
        return timedelta(minutes=self.session_idle_minutes)

    def trusts(self, address: str) -> bool:
        """Whether a connection from ``address`` comes from one of the trusted proxies (an
        address that is no address is trusted by no one)."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted_proxies)


def read(table: dict, fail: Callable[[str], Exception]) -> WebSettings:
    """``[web]`` read into :class:`WebSettings`; ``fail(message)`` makes the error to raise."""
    d = WebSettings()
    flag = table.get("require_2fa_for_signing", d.require_2fa_for_signing)
    if not isinstance(flag, bool):
        raise fail("web.require_2fa_for_signing must be true or false")
    idle = table.get("session_idle_minutes", d.session_idle_minutes)
    if isinstance(idle, bool) or not isinstance(idle, int) or not 1 <= idle <= MAX_IDLE_MINUTES:
        raise fail(f"web.session_idle_minutes must be a whole number of minutes, 1 to "
                   f"{MAX_IDLE_MINUTES}")
    base_url = table.get("base_url", d.base_url)
    if not isinstance(base_url, str) or (
            base_url and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", base_url)):
        raise fail("web.base_url must be the desk's address, e.g. \"https://desk.example.go.th\""
                   " (or left out)")
    host = table.get("host", d.host)
    if not isinstance(host, str) or not host.strip() or any(c.isspace() for c in host):
        raise fail("web.host must be the address to listen on, e.g. \"127.0.0.1\"")
    port = table.get("port", d.port)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise fail("web.port must be a port number, 1 to 65535")
    return WebSettings(require_2fa_for_signing=flag, session_idle_minutes=idle,
                       base_url=base_url.rstrip("/"), trusted_proxies=_networks(table, fail),
                       host=host, port=port)


def _networks(table: dict, fail: Callable[[str], Exception]) -> tuple[IPNetwork, ...]:
    entries = table.get("trusted_proxies", [])
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise fail("web.trusted_proxies must be a list of addresses or networks, e.g. "
                   "[\"127.0.0.1\", \"10.0.0.0/24\"]")
    networks = []
    for i, entry in enumerate(entries):
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise fail(f"web.trusted_proxies[{i}]: {entry!r} is not an address or network "
                       f"(e.g. \"10.0.0.5\" or \"10.0.0.0/24\")") from None
    return tuple(networks)
