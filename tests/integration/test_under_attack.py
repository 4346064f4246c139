# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 5's "under load" proof: real users keep their answers while the
server is attacked on two fronts at once.

- Legitimate load: dnsperf, bounded in time (-l) and rate (-Q), asking valid
  names from 127.0.0.1. It is one busy source, as a big resolver is; it
  carries a valid DNS Cookie (learned first, passed with dnsperf -E), which
  is what exempts a real high-volume client from rate limiting (RFC 7873).
  Besides it, a small resolver of another network without cookies
  (LegitClient, 127.0.2.1) asks at a modest rate.
- Attack 1, a spoofed-source reflection flood over UDP "from" 127.0.1.x
  (the victim network), bounded in count and time (test_rrl.flood).
- Attack 2, an idle-connection flood over TCP: hundreds of connections from
  25 addresses that never send a byte, held until the end.

The test prints every figure and requires >= 99% of the legitimate queries
answered with NOERROR, the victim receiving no more bytes than the
attacker sent, and new TCP clients still served during the idle flood.
"""
from __future__ import annotations

import re
import threading

import pytest

import dnsharness as h
import steer_helpers as sh
from abuse_helpers import ZONES, AbuseServer, ask_from, cookie_query, reply_cookie, rrl_yaml
from dnsharness import check, make_query
from test_rrl import FLOOD_Q, VICTIMS, LegitClient, flood
from test_tcp_limits import ask_tcp, connect_from, raise_fd_limit

pytestmark = pytest.mark.runway_only

LOAD_SECONDS, LOAD_QPS = 10, 3000
FLOOD_QUERIES, FLOOD_RATE = 30000, 4000
IDLE_CONNS, IDLE_SOURCES = 500, 25
NAMES = ["www.example.net A", "www.example.net AAAA", "mail.example.net A",
         "ns1.example.net A", "example.net MX", "example.net SOA", "nx.example.net A"]


class AttackedServer(AbuseServer):
    """rate_limit + cookies (default on) + tight tcp limits."""

    TCP = {"max_clients": 64, "max_per_client": 20}

    def runway_config(self) -> str:
        text = super().runway_config()
        extra = "".join(f"  {k}: {v}\n" for k, v in self.TCP.items())
        return re.sub(r"(?m)^(  idle_timeout: .*\n)", lambda m: m.group(1) + extra, text, count=1)


def test_legitimate_traffic_survives_flood_and_idle_connections(tmp_path):
    raise_fd_limit(2 * IDLE_CONNS + 200)
    srv = AttackedServer(tmp_path / "srv", rrl_yaml(rate=20, slip=2), zones=ZONES)
    srv.start()
    idle, tcp_ok, tcp_asked = [], [], []
    try:
        # A cookie for 127.0.0.1: client cookie + the server's (RFC 9018, valid 1 h).
        r = ask_from("127.0.0.1", srv.port, cookie_query("www.example.net"))
        cookie = reply_cookie(r)
        assert cookie is not None and len(cookie) == 24, r

        qfile = tmp_path / "queries.txt"
        qfile.write_text("\n".join(NAMES) + "\n")
        load = h.DnsperfLoad(srv.port, qfile, seconds=LOAD_SECONDS, qps=LOAD_QPS, timeout=2,
                             extra=("-a", "127.0.0.1", "-E", f"10:{cookie.hex()}"))
        small = LegitClient(srv.port)
        small.start()
        flood_result = {}
        flood_wire = make_query(*FLOOD_Q).to_wire()
        flooder = threading.Thread(target=lambda: flood_result.update(flood(
            srv.port, FLOOD_QUERIES, VICTIMS, LOAD_SECONDS - 2, flood_wire, rate=FLOOD_RATE)))
        flooder.start()
        try:
            srcs = [f"127.0.3.{1 + i}" for i in range(IDLE_SOURCES)]
            for i in range(IDLE_CONNS):              # connect and say nothing
                idle.append(connect_from(srcs[i % IDLE_SOURCES], srv.port))
                if i % 100 == 50:                    # a new real TCP client meanwhile
                    tcp_asked.append(i)
                    with connect_from("127.0.0.2", srv.port) as c:
                        r = ask_tcp(c, i)
                    check(r, rcode="NOERROR", answer=["www.example.net. 3600 IN A 192.0.2.80"])
                    tcp_ok.append(i)
            flooder.join(LOAD_SECONDS + 10)
            st = load.finish("the attacks did")
        finally:
            small.stop.set()
            small.join(5)
            load.stop()
        m = srv.metrics()
    finally:
        for c in idle:
            c.close()
        rc = srv.stop()
    assert rc == 0, srv.log_tail()

    out = load.out
    ok = st["rcode_counts"].get("NOERROR", 0) + st["rcode_counts"].get("NXDOMAIN", 0)   # nx.example.net
    rate = ok / st["sent"]
    fl = flood_result
    sh.report(f"under attack: dnsperf (cookie) {st['sent']:.0f} sent at {st['qps']:.0f} qps, "
              f"{ok} answered ({rate:.2%}), lost {st['lost']:.0f}, rcodes {st['rcodes']}; "
              f"small resolver {small.answered}/{small.asked}; "
              f"flood {fl['sent']} queries {fl['sent_bytes']} B -> victim {fl['reply_bytes']} B "
              f"(ratio {fl['ratio']:.3f}); idle connections {len(idle)}, new TCP clients "
              f"{len(tcp_ok)}/{len(tcp_asked)} answered; server counters: "
              + ", ".join(f"{k} {v}" for k, v in sorted(m.items())
                          if re.match(r"runway_(rrl|tcp)_", k)))
    assert st["sent"] >= LOAD_QPS * (LOAD_SECONDS - 1)   # the load was real
    assert rate >= 0.99, out
    # dnsperf's answers passed the limit stage because of the cookie, not by luck
    assert m['runway_rrl_exempt_total{reason="cookie"}'] >= st["completed"], m
    assert m['runway_rrl_limited_total{action="dropped"}'] > 0, m
    assert small.asked > 50 and small.answered >= 0.99 * small.asked
    assert fl["sent"] >= FLOOD_QUERIES / 2 and fl["ratio"] <= 1.0, fl
    assert len(tcp_ok) == len(tcp_asked) == IDLE_CONNS // 100
