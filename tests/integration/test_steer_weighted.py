# SPDX-License-Identifier: GPL-3.0-or-later
"""Weighted policies over many queries: the split follows the weights, a
weight-0 child gets nothing while a weighted one is up and everything when
they are all down.

Run with -s to see the measured split."""
import collections
import socket
import time

import dns.message
import dns.rdatatype
import pytest

import steer_helpers as sh

pytestmark = pytest.mark.runway_only

IP = {"a": "127.0.0.41", "b": "127.0.0.42", "c": "127.0.0.43"}
N_SPLIT = 10_000
N_ZERO = 2_000


def traffic_yaml(port):
    return f"""
health_checks:
  web: {{ type: http, port: {port}, path: /healthz, expect_status: [200], expect_body: ok,
         interval: 100ms, timeout: 90ms, rise: 1, fall: 2 }}
endpoints:
  a: {{ address: [{IP['a']}], health_check: web }}
  b: {{ address: [{IP['b']}], health_check: web }}
  c: {{ address: [{IP['c']}], health_check: web }}
traffic:
  split.example.com.:
    policy: {{ weighted: {{ a: 90, b: 10 }} }}
  zero.example.com.:
    policy:
      weighted:
        - {{ weight: 1, node: a }}
        - {{ weight: 1, node: b }}
        - {{ weight: 0, node: c }}
  up-a.example.com.: {{ fail_open: false, policy: a }}
  up-b.example.com.: {{ fail_open: false, policy: b }}
"""


@pytest.fixture(scope="module")
def wsrv(tmp_path_factory):
    d = tmp_path_factory.mktemp("steer-weighted")
    pool = sh.BackendPool(list(IP.values()))
    s = sh.SteerServer(d / "srv", traffic_yaml(pool.port))
    s.pool = pool
    try:
        s.start()
        for b in pool:
            b.wait_hits(1)
    except BaseException:
        s.stop()
        pool.stop()
        raise
    yield s
    rc = s.stop()
    pool.stop()
    assert rc == 0, f"runwayd exited with {rc}:\n{s.log_tail()}"


def count_answers(srv, name, n, time_limit=30.0, subnet="198.51.100.0/24"):
    """Ask n times (UDP, one socket, one query at a time, bounded by
    time_limit); returns Counter of answer address tuples."""
    counts = collections.Counter()
    opts = [sh.ecs_option(subnet)] if subnet else []
    deadline = time.monotonic() + time_limit
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2.0)
        s.connect(("127.0.0.1", srv.port))
        for i in range(n):
            assert time.monotonic() < deadline, f"only {i} of {n} queries in {time_limit}s"
            q = dns.message.make_query(name, "A")
            q.use_edns(0, 0, 1232, options=opts)
            q.id = i & 0xFFFF
            s.send(q.to_wire())
            while True:
                r = dns.message.from_wire(s.recv(65535))
                if r.id == q.id:
                    break
            counts[tuple(sorted(rd.address for rr in r.answer if rr.rdtype == dns.rdatatype.A
                                for rd in rr))] += 1
    return counts


def test_weighted_90_10_split(wsrv):
    c = count_answers(wsrv, "split.example.com", N_SPLIT)
    a, b = c[(IP["a"],)], c[(IP["b"],)]
    other = N_SPLIT - a - b
    pa, pb = 100.0 * a / N_SPLIT, 100.0 * b / N_SPLIT
    summary = f"weighted 90/10 over {N_SPLIT} queries: a {pa:.2f}% b {pb:.2f}% (other answers: {other})"
    sh.report(summary)
    assert other == 0, summary + f" {c}"
    assert abs(pa - 90.0) <= 2.0 and abs(pb - 10.0) <= 2.0, summary


def test_weight_zero_unused_while_others_up(wsrv):
    c = count_answers(wsrv, "zero.example.com", N_ZERO)
    summary = (f"weight 0 over {N_ZERO} queries: a {c[(IP['a'],)]} b {c[(IP['b'],)]} "
               f"c {c[(IP['c'],)]}")
    sh.report(summary)
    assert c[(IP["c"],)] == 0, summary
    assert c[(IP["a"],)] + c[(IP["b"],)] == N_ZERO, f"{summary} {c}"
    # both weight-1 children are used, about evenly
    assert 0.4 * N_ZERO < c[(IP["a"],)] < 0.6 * N_ZERO, summary


def test_weight_zero_used_when_weighted_all_down(wsrv):
    pool = wsrv.pool
    try:
        pool[IP["a"]].set(status=503)
        pool[IP["b"]].set(status=503)
        for ep in ("a", "b"):
            sh.wait_until(lambda: not sh.ask(wsrv, f"up-{ep}.example.com").answer, 10, f"{ep} down")
        c = count_answers(wsrv, "zero.example.com", 200)
        assert c == {(IP["c"],): 200}, c
        # one weighted child back: c is unused again
        pool[IP["b"]].healthy()
        sh.wait_until(lambda: sh.ask(wsrv, "up-b.example.com").answer, 10, "b up")
        c = count_answers(wsrv, "zero.example.com", 200)
        assert c == {(IP["b"],): 200}, c
    finally:
        pool.all_healthy()
        for ep in ("a", "b"):
            sh.wait_until(lambda: sh.ask(wsrv, f"up-{ep}.example.com").answer, 10, f"{ep} up")
