# SPDX-License-Identifier: GPL-3.0-or-later
"""Response rate limiting (rate_limit:) against the real daemon.

The flood test plays a reflection attack on loopback: queries "from" a
victim network (sockets bound to 127.0.1.x: the whole of 127/8 is local,
so these are the spoofed sources, and what they receive is what the victim
would get), bounded in count (20,000) and time, paced at about 5,000 per
second, while a real client of another network (127.0.2.1) asks at a
modest rate. It prints and checks the bytes the server sent the victim
against the bytes the attacker spent, and the real client's answers.
Run with -s to see the figures.

Other tests: slip (TC=1 replies with no records, then the answer over TCP),
exempt clients, TCP never limited, the counters in /metrics, and a reload
that changes the settings.
"""
import select
import socket
import threading
import time

import dns.flags
import dns.message
import dns.rcode
import pytest

import dnsharness as h
from abuse_helpers import ZONES, ask_from, rrl_yaml, udp_socket
from dnsharness import make_query

pytestmark = pytest.mark.runway_only

FLOOD_QUERIES = 20000
FLOOD_SECONDS = 15.0
VICTIMS = [f"127.0.1.{i}" for i in range(1, 65)]
LEGIT = "127.0.2.1"
# The reflected answer: the apex MX, with the mail servers' addresses.
FLOOD_Q = ("example.net", "MX")


def drain(socks, wait=0.0):
    """Read every reply waiting on socks (waiting up to `wait` for the first);
    returns (replies, bytes, truncated)."""
    n = nbytes = tc = 0
    ready, _, _ = select.select(socks, [], [], wait)
    while ready:
        for s in ready:
            while True:
                try:
                    data = s.recv(65535)
                except BlockingIOError:
                    break
                n += 1
                nbytes += len(data)
                tc += bool(data[2] & 0x02)
        ready, _, _ = select.select(socks, [], [], 0)
    return n, nbytes, tc


def flood(port, count, sources, seconds, wire, burst=100, rate=None):
    """Send count copies of wire from sources (round robin), burst by burst,
    at about `rate` queries a second (None: as fast as possible), reading
    replies in between; stops after `seconds`. Returns figures."""
    socks = [udp_socket(src, rcvbuf=4 << 20) for src in sources]
    for s in socks:
        s.setblocking(False)
    sent = sent_bytes = got = got_bytes = tc = 0
    start = time.monotonic()
    try:
        while sent < count and time.monotonic() - start < seconds:
            for _ in range(min(burst, count - sent)):
                try:
                    socks[sent % len(socks)].sendto(wire, ("127.0.0.1", port))
                except BlockingIOError:
                    continue
                sent += 1
                sent_bytes += len(wire)
            while True:   # read replies until the next burst is due
                wait = start + sent / rate - time.monotonic() if rate else 0
                n, b, t = drain(socks, max(wait, 0))
                got, got_bytes, tc = got + n, got_bytes + b, tc + t
                if n == 0 or wait <= 0:
                    break
        elapsed = time.monotonic() - start
        # The last replies: until the sockets stay quiet for 0.3 s (bounded).
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            n, b, t = drain(socks, 0.3)
            if n == 0:
                break
            got, got_bytes, tc = got + n, got_bytes + b, tc + t
    finally:
        for s in socks:
            s.close()
    return {"sent": sent, "sent_bytes": sent_bytes, "replies": got, "reply_bytes": got_bytes,
            "truncated": tc, "seconds": elapsed, "ratio": got_bytes / max(sent_bytes, 1)}


class LegitClient(threading.Thread):
    """A resolver of another network asking at a modest rate (about 50
    queries a second over five names) until stopped."""

    NAMES = [("www.example.net", "A"), ("mail.example.net", "A"), ("www.example.net", "AAAA"),
             ("ns1.example.net", "A"), ("example.net", "SOA")]

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.asked = self.answered = 0
        self.stop = threading.Event()

    def run(self):
        with udp_socket(LEGIT) as s:
            s.settimeout(1.0)
            i = 0
            while not self.stop.is_set() and self.asked < 2000:
                name, qtype = self.NAMES[i % len(self.NAMES)]
                q = make_query(name, qtype, qid=i % 65536)
                s.sendto(q.to_wire(), ("127.0.0.1", self.port))
                self.asked += 1
                try:
                    while True:   # skip late replies to earlier queries
                        m = dns.message.from_wire(s.recv(65535))
                        if m.id == q.id:
                            break
                    if m.rcode() == dns.rcode.NOERROR and m.answer and not m.flags & dns.flags.TC:
                        self.answered += 1
                except socket.timeout:
                    pass
                i += 1
                time.sleep(0.02)


def test_flood_reflection(abuse_server, make_server, capsys):
    wire = make_query(*FLOOD_Q).to_wire()
    # Without rate limiting the flood is an amplifier: the figure to beat.
    plain = make_server(zones=ZONES, listen_v6=False)
    base = flood(plain.port, 2000, VICTIMS, FLOOD_SECONDS, wire)
    assert base["replies"] >= 0.99 * base["sent"], base
    assert base["ratio"] > 2, base

    s = abuse_server(rrl_yaml(rate=20, slip=2))
    legit = LegitClient(s.port)
    legit.start()
    before = s.metrics()
    try:
        f = flood(s.port, FLOOD_QUERIES, VICTIMS, FLOOD_SECONDS, wire, rate=5000)
        # The flood lasts about 4 s: some 200 questions of the real client.
        deadline = time.monotonic() + 10
        while legit.asked < 100 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        legit.stop.set()
        legit.join(5)
    after = s.metrics()
    dropped = (after['runway_rrl_limited_total{action="dropped"}']
               - before['runway_rrl_limited_total{action="dropped"}'])
    slipped = (after['runway_rrl_limited_total{action="slipped"}']
               - before['runway_rrl_limited_total{action="slipped"}'])
    share = legit.answered / max(legit.asked, 1)
    with capsys.disabled():
        print(f"\n  without rate_limit: {base['sent']} queries ({base['sent_bytes']} B) -> "
              f"{base['replies']} replies ({base['reply_bytes']} B): bytes out/in = "
              f"{base['ratio']:.2f}")
        print(f"  rate_limit 20/s, slip 2: {f['sent']} spoofed queries from {len(VICTIMS)} "
              f"addresses of 127.0.1.0/24 in {f['seconds']:.1f} s ({f['sent_bytes']} B) -> "
              f"{f['replies']} replies ({f['reply_bytes']} B, {f['truncated']} truncated): "
              f"bytes out/in = {f['ratio']:.3f}")
        print(f"  server counters: {dropped} dropped, {slipped} slipped")
        print(f"  real client 127.0.2.1: {legit.answered}/{legit.asked} answered ({share:.1%})")
    assert f["sent"] >= 0.9 * FLOOD_QUERIES, f
    # Every query is accounted for: answered, slipped or dropped by the limit.
    assert f["replies"] + dropped >= 0.99 * f["sent"], (f, dropped)
    assert f["ratio"] <= 1.0, f
    assert f["truncated"] > 0.4 * f["sent"] and slipped >= f["truncated"], (f, slipped)
    # What the victim got beyond slips: about 20 answers a second.
    assert f["replies"] - f["truncated"] <= 20 * (f["seconds"] + 4), f
    assert legit.asked >= 100
    assert share >= 0.99, f"real client answered {legit.answered}/{legit.asked}"


def test_slip_sends_truncated_then_tcp_answers(abuse_server):
    s = abuse_server(rrl_yaml(rate=5, slip=1))
    q = make_query("www.example.net", "A")
    replies = [ask_from("127.0.3.1", s.port, q) for _ in range(30)]
    assert all(r is not None for r in replies), "slip 1 replies to every limited query"
    tc = [r for r in replies if r.flags & dns.flags.TC]
    # 30 queries in well under two seconds: at most 10 answers.
    assert len(tc) >= 20, f"{len(tc)} truncated of 30"
    for r in tc:
        assert not r.answer and not r.authority and not r.additional
        assert r.id == q.id and r.question == q.question
    # A real client retries over TCP: answered, never limited.
    for _ in range(20):
        r = s.query("www.example.net", "A", tcp=True)
        h.check(r, rcode="NOERROR", answer=["www.example.net. 3600 IN A 192.0.2.80"])


def test_slip_zero_drops_all(abuse_server, capsys):
    s = abuse_server(rrl_yaml(rate=5, slip=0))
    wire = make_query(*FLOOD_Q).to_wire()
    f = flood(s.port, 3000, VICTIMS, FLOOD_SECONDS, wire, rate=5000)
    with capsys.disabled():
        print(f"\n  rate_limit 5/s, slip 0: {f['sent']} queries ({f['sent_bytes']} B) -> "
              f"{f['replies']} replies ({f['reply_bytes']} B): bytes out/in = {f['ratio']:.4f}")
    assert f["truncated"] == 0
    assert f["replies"] <= 5 * (f["seconds"] + 4), f
    assert f["ratio"] < 0.1, f


def test_exempt_and_counters(abuse_server):
    s = abuse_server(rrl_yaml(rate=5, slip=2, exempt="[internal]",
                        acls={"internal": '["10.0.0.0/8", "127.0.0.2/32"]'}))
    q = make_query("www.example.net", "A")
    # 127.0.0.2 is exempt: never limited.
    for _ in range(100):
        r = ask_from("127.0.0.2", s.port, q)
        assert r is not None and r.answer and not r.flags & dns.flags.TC
    # Its neighbour in the same /24 is: 40 queries at once, about 5 answered,
    # the rest dropped and slipped in turn.
    f = flood(s.port, 40, ["127.0.0.3"], FLOOD_SECONDS, q.to_wire(), burst=40)
    assert f["replies"] - f["truncated"] <= 10 and f["truncated"] >= 10, f
    m = s.metrics()
    assert m['runway_rrl_exempt_total{reason="acl"}'] >= 100
    assert m['runway_rrl_limited_total{action="dropped"}'] >= 10
    assert m['runway_rrl_limited_total{action="slipped"}'] >= 10
    assert 'runway_rrl_exempt_total{reason="cookie"}' in m


def test_classes_share_buckets(abuse_server):
    """Random names: NXDOMAINs of one zone share a bucket, as do all the
    names one wildcard answers; errors share one per prefix."""
    s = abuse_server(rrl_yaml(rate=5, slip=1))
    for fmt, rcode in (("r{}.example.net", dns.rcode.NXDOMAIN), ("h{}.wild.example.net", 0),
                       ("x{}.example.org", dns.rcode.REFUSED)):
        replies = [ask_from("127.0.4.1", s.port, make_query(fmt.format(i), "A"))
                   for i in range(25)]
        tc = sum(1 for r in replies if r.flags & dns.flags.TC)
        assert tc >= 10, f"{fmt}: {tc} truncated of 25"
        assert all(r.rcode() == rcode for r in replies)


def test_reload_applies_settings(abuse_server):
    s = abuse_server(rrl_yaml(rate=5, slip=1))
    q = make_query("mail.example.net", "A")
    tc = sum(1 for _ in range(30) if ask_from("127.0.5.1", s.port, q).flags & dns.flags.TC)
    assert tc >= 15
    # Without rate_limit: never limited after the reload.
    s.extra = ""
    gen = s.metrics()["runway_snapshot_generation"]
    s.write_config()
    s.reload()
    s.wait_metrics(lambda m: m["runway_snapshot_generation"] > gen)
    for _ in range(100):
        r = ask_from("127.0.5.1", s.port, q)
        assert r is not None and r.answer and not r.flags & dns.flags.TC
