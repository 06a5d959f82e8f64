"""``[web]`` in pipeline.toml: its defaults, its values, and errors that name the key."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest

from pipeline.settings import config as config_mod
from pipeline.settings.web import WebSettings


def _load(demo_ws, web: str) -> config_mod.Config:
    path = demo_ws.workspace.config_file
    path.write_text(path.read_text(encoding="utf-8") + "\n[web]\n" + web, encoding="utf-8")
    return config_mod.load(demo_ws.workspace.root)


def test_without_a_web_table_the_desk_listens_on_loopback_only(demo_ws):
    assert demo_ws.web == WebSettings()
    assert (demo_ws.web.host, demo_ws.web.port) == ("127.0.0.1", 8080)
    assert demo_ws.web.session_idle == timedelta(minutes=30)
    assert not demo_ws.web.require_2fa_for_signing and not demo_ws.web.trusts("127.0.0.1")


def test_the_web_table_read(demo_ws):
    web = _load(demo_ws, 'require_2fa_for_signing = true\nsession_idle_minutes = 15\n'
                         'base_url = "https://desk.example.go.th/"\n'
                         'trusted_proxies = ["127.0.0.1", "10.1.0.0/16", "::1"]\n'
                         'host = "0.0.0.0"\nport = 8443\n').web
    assert web.require_2fa_for_signing and web.session_idle == timedelta(minutes=15)
    assert web.base_url == "https://desk.example.go.th"
    assert web.trusted_proxies[1] == ipaddress.ip_network("10.1.0.0/16")
    assert (web.host, web.port) == ("0.0.0.0", 8443)
    assert web.trusts("10.1.200.3") and web.trusts("::1")
    assert not web.trusts("10.2.0.1") and not web.trusts("not an address")


@pytest.mark.parametrize(("line", "key"), [
    ('require_2fa_for_signing = "yes"', "web.require_2fa_for_signing"),
    ("session_idle_minutes = 0", "web.session_idle_minutes"),
    ("session_idle_minutes = 1.5", "web.session_idle_minutes"),
    ("session_idle_minutes = true", "web.session_idle_minutes"),
    ('base_url = "desk.example.go.th"', "web.base_url"),
    ('base_url = "javascript:alert(1)"', "web.base_url"),
    ('trusted_proxies = "10.0.0.1"', "web.trusted_proxies"),
    ('trusted_proxies = ["10.0.0.1", "proxy.local"]', r"web.trusted_proxies\[1\]"),
    ('host = ""', "web.host"),
    ("port = 70000", "web.port"),
    ('port = "8080"', "web.port"),
])
def test_a_wrong_value_names_its_key(demo_ws, line, key):
    with pytest.raises(config_mod.ConfigError, match=rf"pipeline.toml: {key}"):
        _load(demo_ws, line + "\n")
