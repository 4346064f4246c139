# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared by test_rrl.py and test_cookies.py: a runwayd with extra YAML
(rate_limit:, cookies:, acls:) and a read-only API whose /metrics serves
as a readiness check and as the server's own witness; UDP sockets bound to
chosen loopback sources (the whole of 127/8 is local, so a test can play
clients of many networks); DNS Cookie helpers.
"""
from __future__ import annotations

import re
import socket
import time
import urllib.request

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import pytest

import dnsharness as h

TOKEN = "abuse-read"
BADCOOKIE = 23


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AbuseServer(h.DnsServer):
    """runwayd with `extra` appended to its configuration and an api: section."""

    def __init__(self, workdir, extra="", **kw):
        self.extra = extra
        self.api_port = free_tcp_port()
        kw.setdefault("listen_v6", False)
        super().__init__("runway", workdir, **kw)

    def runway_config(self) -> str:
        return (super().runway_config() + self.extra
                + f'api:\n  listen: "127.0.0.1:{self.api_port}"\n'
                  f"  tokens: [{{ token: {TOKEN}, access: read }}]\n")

    def start(self, wait=True, timeout=h.READY_TIMEOUT):
        super().start(wait, timeout)
        if wait:
            self.wait_metrics(lambda m: True, timeout)
        return self

    def metrics_text(self) -> str:
        req = urllib.request.Request(f"http://127.0.0.1:{self.api_port}/metrics")
        req.add_header("Authorization", f"Bearer {TOKEN}")
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.read().decode()

    def metrics(self) -> dict:
        """Every sample of /metrics as {'name{labels}': value}."""
        return parse_metrics(self.metrics_text())

    def wait_metrics(self, pred, timeout=10.0):
        """Poll /metrics until pred(figures) holds (a readiness check)."""
        return wait_metrics(self, pred, timeout)


def parse_metrics(text: str) -> dict:
    """Every integer sample of a /metrics text as {'name{labels}': value}."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-z_]+(?:\{[^}]*\})?) (\d+)$", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def wait_metrics(srv, pred, timeout):
    """Poll srv.metrics() until pred(figures) holds, bounded by timeout;
    fails at once if the server died."""
    deadline = time.monotonic() + timeout
    m = None
    while True:
        try:
            m = srv.metrics()
            if pred(m):
                return m
        except OSError:
            pass
        if not srv.alive():
            raise h.ServerFailed(f"runwayd died; log:\n{srv.log_tail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"metrics never satisfied the condition within {timeout}s: {m}")
        time.sleep(0.05)  # poll interval of a readiness check


ZONES = [z for z in h.STANDARD_ZONES if z[0] == "example.net."]


def rrl_yaml(rate=20, slip=2, exempt=None, acls=None, extra="") -> str:
    text = f"rate_limit:\n  responses_per_second: {rate}\n  slip: {slip}\n"
    if exempt is not None:
        text += f"  exempt: {exempt}\n"
    if acls:
        text += "acls:\n" + "".join(f"  {k}: {v}\n" for k, v in acls.items())
    return text + extra


def udp_socket(src: str, rcvbuf=1 << 20) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((src, 0))
    return s


def ask_from(src, port, q, timeout=1.0):
    """One query from source address src; the parsed reply or None."""
    with udp_socket(src) as s:
        s.settimeout(timeout)
        s.sendto(q.to_wire(), ("127.0.0.1", port))
        try:
            return dns.message.from_wire(s.recv(65535))
        except socket.timeout:
            return None


# ---- DNS Cookies

def cookie_query(qname, qtype="A", client=b"\x01\x02\x03\x04\x05\x06\x07\x08", server=b"",
                 raw=None):
    """A query with a COOKIE option: client + server cookie, or raw bytes."""
    data = raw if raw is not None else client + server
    return h.make_query(qname, qtype, options=[dns.edns.GenericOption(dns.edns.COOKIE, data)])


def reply_cookie(m):
    """The COOKIE option's bytes in a reply, or None."""
    for o in m.options:
        if o.otype == dns.edns.COOKIE:
            return o.to_wire()
    return None
