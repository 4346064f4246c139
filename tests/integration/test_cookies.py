# SPDX-License-Identifier: GPL-3.0-or-later
"""DNS Cookies (cookies:, RFC 7873 with RFC 9018 server cookies) against
the real daemon, with dnspython, dig and, when installed, Knot DNS.

Client cookie -> our server cookie (8 + 16 bytes); sent back, it is valid
and exempts the client from rate limiting (a flood with it is never
limited); a bad one gets BADCOOKIE over UDP, an answer over TCP; a
malformed option is FORMERR; servers sharing the secret accept each
other's cookies, and so does knotd with the same secret.
"""
import re
import shutil
import socket
import struct
import subprocess
import time

import dns.flags
import dns.message
import dns.rcode
import pytest

import dnsharness as h
from abuse_helpers import (BADCOOKIE, ZONES, AbuseServer, ask_from, cookie_query, reply_cookie,
                           rrl_yaml, udp_socket)

pytestmark = pytest.mark.runway_only

SECRET = "0123456789abcdef0123456789abcdef"
CLIENT = bytes.fromhex("0102030405060708")
WWW = "www.example.net. 3600 IN A 192.0.2.80"


def cookies_yaml(secret=SECRET, enabled=None):
    text = "cookies:\n"
    if secret:
        text += f"  secret: {secret}\n"
    if enabled is not None:
        text += f"  enabled: {'true' if enabled else 'false'}\n"
    return text


def learn(s, src="127.0.0.1", client=CLIENT):
    """Ask with a client cookie alone; returns the 16-byte server cookie."""
    r = ask_from(src, s.port, cookie_query("www.example.net", client=client))
    assert r is not None and r.rcode() == dns.rcode.NOERROR
    c = reply_cookie(r)
    assert c is not None and len(c) == 24 and c[:8] == client
    return c[8:]


def test_client_cookie_then_server_cookie(abuse_server):
    s = abuse_server(cookies_yaml())
    r = ask_from("127.0.0.1", s.port, cookie_query("www.example.net"))
    h.check(r, rcode="NOERROR", aa=True, answer=[WWW])
    c = reply_cookie(r)
    assert len(c) == 24, "RFC 9018: 8 bytes of client cookie, 16 of server cookie"
    assert c[:8] == CLIENT
    version, reserved, stamp = c[8], c[9:12], struct.unpack("!I", c[12:16])[0]
    assert version == 1 and reserved == b"\0\0\0"
    assert abs(stamp - time.time()) < 10
    # Sent back: valid; answered, with a cookie again.
    r = ask_from("127.0.0.1", s.port, cookie_query("www.example.net", server=c[8:]))
    h.check(r, rcode="NOERROR", answer=[WWW])
    assert reply_cookie(r)[:8] == CLIENT
    # No cookie: none back.
    r = ask_from("127.0.0.1", s.port, h.make_query("www.example.net"))
    assert reply_cookie(r) is None
    m = s.metrics()
    assert m['runway_cookie_queries_total{server_cookie="none"}'] >= 1
    assert m['runway_cookie_queries_total{server_cookie="valid"}'] >= 1


def test_valid_cookie_exempt_from_rate_limit(abuse_server, capsys):
    s = abuse_server(rrl_yaml(rate=5, slip=2) + cookies_yaml())
    sc = learn(s, "127.0.6.1")
    before = s.metrics()['runway_rrl_exempt_total{reason="cookie"}']
    # 300 queries at once with the valid cookie: every one answered.
    good = cookie_query("www.example.net", server=sc).to_wire()
    with_cookie = burst(s.port, "127.0.6.1", good, 300)
    # The same with a client cookie alone, from the same /24: limited, and
    # the slipped replies are BADCOOKIE with our cookie (not TC=1).
    alone = cookie_query("www.example.net", client=b"\x09" * 8).to_wire()
    without = burst(s.port, "127.0.6.2", alone, 300)
    after = s.metrics()['runway_rrl_exempt_total{reason="cookie"}']
    with capsys.disabled():
        print(f"\n  rate_limit 5/s: 300 queries with a valid server cookie -> {with_cookie}; "
              f"300 with a client cookie only -> {without}")
    assert with_cookie == {"NOERROR": 300}, with_cookie
    assert after - before >= 300
    assert without.get("NOERROR", 0) <= 15, without
    assert without.get("BADCOOKIE", 0) >= 50, without
    assert "TC" not in without


def burst(port, src, wire, n, quiet=0.5):
    """Send n copies of wire at once from src; count the replies by kind."""
    out = {}
    with udp_socket(src, rcvbuf=4 << 20) as s:
        s.settimeout(quiet)
        for _ in range(n):
            s.sendto(wire, ("127.0.0.1", port))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                m = dns.message.from_wire(s.recv(65535))
            except socket.timeout:
                break
            kind = "TC" if m.flags & dns.flags.TC else dns.rcode.to_text(m.rcode())
            if kind == "NOERROR" and not m.answer:
                kind = "NOERROR-EMPTY"
            if kind == "BADCOOKIE":
                assert reply_cookie(m) is not None and not m.answer
            out[kind] = out.get(kind, 0) + 1
    return out


def test_bad_server_cookie(abuse_server):
    s = abuse_server(cookies_yaml())
    forged = bytes.fromhex("01000000") + struct.pack("!I", int(time.time())) + b"\xaa" * 8
    q = cookie_query("www.example.net", server=forged)
    r = ask_from("127.0.0.1", s.port, q)
    assert r.rcode() == BADCOOKIE, dns.rcode.to_text(r.rcode())
    assert not r.answer and not r.authority
    fresh = reply_cookie(r)
    assert len(fresh) == 24 and fresh[:8] == CLIENT and fresh[8:] != forged
    # The client retries with the fresh cookie, as RFC 7873 5.3 says: answered.
    r = ask_from("127.0.0.1", s.port, cookie_query("www.example.net", server=fresh[8:]))
    h.check(r, rcode="NOERROR", answer=[WWW])
    # Over TCP a bad cookie is answered (TCP proves the address).
    r = s.send(q.to_wire(), tcp=True)
    h.check(r, rcode="NOERROR", answer=[WWW])
    assert len(reply_cookie(r)) == 24
    # A cookie is bound to the address it was given to.
    sc = learn(s, "127.0.0.3")
    r = ask_from("127.0.0.4", s.port, cookie_query("www.example.net", server=sc))
    assert r.rcode() == BADCOOKIE
    # Stale: over an hour old.
    stale = bytes.fromhex("01000000") + struct.pack("!I", int(time.time()) - 3700) + b"\xaa" * 8
    r = ask_from("127.0.0.1", s.port, cookie_query("www.example.net", server=stale))
    assert r.rcode() == BADCOOKIE
    assert s.metrics()['runway_cookie_queries_total{server_cookie="invalid"}'] >= 3
    assert s.metrics()['runway_responses_total{rcode="BADCOOKIE"}'] >= 3


@pytest.mark.parametrize("length", [5, 15, 41, 0])
def test_malformed_cookie_formerr(abuse_server, length):
    s = abuse_server(cookies_yaml())
    q = cookie_query("www.example.net", raw=bytes(range(1, length + 1)))
    wire = q.to_wire()
    reply = ask_from("127.0.0.1", s.port, q)
    assert reply is not None and reply.rcode() == dns.rcode.FORMERR
    assert reply.edns == 0 and not reply.options, "an OPT without options, as Knot DNS"
    assert len(reply.to_wire()) <= len(wire)
    assert s.alive()


def test_cookies_disabled(abuse_server):
    s = abuse_server(cookies_yaml(secret=None, enabled=False))
    forged = b"\x01\0\0\0" + b"\xaa" * 12
    r = ask_from("127.0.0.1", s.port, cookie_query("www.example.net", server=forged))
    h.check(r, rcode="NOERROR", answer=[WWW])
    assert reply_cookie(r) is None
    r = ask_from("127.0.0.1", s.port, cookie_query("www.example.net", raw=b"12345"))
    assert r.rcode() == dns.rcode.FORMERR


def test_shared_secret(abuse_server):
    """A fleet sharing the secret: a cookie from one server is valid at the
    others; a server with another secret (or a random one) rejects it."""
    a = abuse_server(cookies_yaml(), name="a")
    b = abuse_server(cookies_yaml(), name="b")
    c = abuse_server(cookies_yaml(secret="ffeeddccbbaa99887766554433221100"), name="c")
    d = abuse_server(cookies_yaml(secret=None), name="d")
    sc = learn(a)
    q = cookie_query("www.example.net", server=sc)
    h.check(ask_from("127.0.0.1", b.port, q), rcode="NOERROR", answer=[WWW])
    assert b.metrics()['runway_cookie_queries_total{server_cookie="valid"}'] == 1
    assert ask_from("127.0.0.1", c.port, q).rcode() == BADCOOKIE
    assert ask_from("127.0.0.1", d.port, q).rcode() == BADCOOKIE
    # And back: b's cookie at a.
    sc = learn(b, client=b"\x42" * 8)
    r = ask_from("127.0.0.1", a.port, cookie_query("www.example.net", client=b"\x42" * 8, server=sc))
    h.check(r, rcode="NOERROR", answer=[WWW])


def test_random_secret_kept_across_reload(abuse_server):
    s = abuse_server(cookies_yaml(secret=None))
    sc = learn(s)
    gen = s.metrics()["runway_snapshot_generation"]
    s.reload()
    s.wait_metrics(lambda m: m["runway_snapshot_generation"] > gen)
    r = ask_from("127.0.0.1", s.port, cookie_query("www.example.net", server=sc))
    h.check(r, rcode="NOERROR", answer=[WWW])


@pytest.mark.parametrize("secret", ["0123", "0123456789abcdef0123456789abcdeg",
                                    "0123456789abcdef0123456789abcdef00"])
def test_bad_secret_is_a_config_error(tmp_path, secret):
    s = AbuseServer(tmp_path / "bad", cookies_yaml(secret=secret), zones=ZONES)
    s.write_config()
    line = s.runway_config().splitlines().index(f"  secret: {secret}") + 1
    p = subprocess.run([str(h.RUNWAYD), "-c", str(s.config_path)], capture_output=True,
                       text=True, timeout=10, cwd=s.workdir)
    assert p.returncode != 0
    assert f"runway.yaml:{line}: cookies.secret: expected 32 hex digits (16 bytes)" in p.stderr


DIG = shutil.which("dig")


@pytest.mark.skipif(DIG is None, reason="dig not installed (bind9-dnsutils)")
def test_dig_cookie(abuse_server):
    s = abuse_server(cookies_yaml())
    out = subprocess.run([DIG, "@127.0.0.1", "-p", str(s.port), "www.example.net", "A",
                          "+cookie", "+norec", "+tries=1", "+time=3"],
                         capture_output=True, text=True, timeout=20).stdout
    assert "status: NOERROR" in out
    m = re.search(r"; COOKIE: ([0-9a-f]{48}) \(good\)", out)
    assert m, out
    # A cookie dig has not seen from us: BADCOOKIE, dig retries with the new one.
    bad = m.group(1)[:16] + "01000000" + "00000000" + "aa" * 8
    out = subprocess.run([DIG, "@127.0.0.1", "-p", str(s.port), "www.example.net", "A",
                          f"+cookie={bad}", "+norec", "+tries=1", "+time=3"],
                         capture_output=True, text=True, timeout=20).stdout
    assert "BADCOOKIE, retrying" in out, out
    assert "status: NOERROR" in out and "(good)" in out


class KnotCookies(h.DnsServer):
    """knotd with mod-cookies and a fixed secret."""

    def knot_config(self) -> str:
        text = super().knot_config()
        text = text.replace("template:\n  - id: default\n",
                            f"mod-cookies:\n  - id: c\n    secret: 0x{SECRET}\n"
                            "template:\n  - id: default\n    global-module: mod-cookies/c\n", 1)
        assert "global-module" in text
        return text


@pytest.mark.needs_knot
def test_knot_interoperability(abuse_server, tmp_path):
    """knotd's mod-cookies with the same secret accepts our cookies and we
    accept its; where the two differ is docs/knot-differences.md."""
    rw = abuse_server(cookies_yaml())
    knot = KnotCookies("knot", tmp_path / "knot", ZONES, listen_v6=False)
    try:
        knot.start()
        # Ours, valid at knotd.
        sc = learn(rw)
        r = ask_from("127.0.0.1", knot.port, cookie_query("www.example.net", server=sc))
        h.check(r, rcode="NOERROR", answer=[WWW])
        # Knot's (it answers a client cookie alone with BADCOOKIE), valid here.
        r = ask_from("127.0.0.1", knot.port, cookie_query("www.example.net", client=b"\x77" * 8))
        assert r.rcode() == BADCOOKIE
        kc = reply_cookie(r)
        r = ask_from("127.0.0.1", rw.port,
                     cookie_query("www.example.net", client=b"\x77" * 8, server=kc[8:]))
        h.check(r, rcode="NOERROR", answer=[WWW])
        assert rw.metrics()['runway_cookie_queries_total{server_cookie="valid"}'] >= 1
        # Both: forged -> BADCOOKIE; malformed -> FORMERR with an OPT.
        forged = b"\x01\0\0\0" + struct.pack("!I", int(time.time())) + b"\xaa" * 8
        for srv in (rw, knot):
            r = ask_from("127.0.0.1", srv.port, cookie_query("www.example.net", server=forged))
            assert r.rcode() == BADCOOKIE, srv
            r = ask_from("127.0.0.1", srv.port, cookie_query("www.example.net", raw=b"12345"))
            assert r.rcode() == dns.rcode.FORMERR and r.edns == 0, srv
    finally:
        assert knot.stop() == 0, knot.log_tail()
