# SPDX-License-Identifier: GPL-3.0-or-later
"""A canary rollout under load (issue 4's proof): while dnsperf holds a
bounded query load on a weighted traffic name, the API shifts the canary's
share 1% -> 10% -> 50% -> 100%. Every query dnsperf sent must be answered
with NOERROR (no loss, no error), and after each shift a sample of answers
must follow the new split.

Load is bounded in time (-l) and rate (-Q); it runs against loopback only.
"""
from __future__ import annotations

import math
import re

import pytest

import dnsharness as h
import steer_helpers as sh
from test_api import WRITE, ApiServer, run_cli

pytestmark = pytest.mark.runway_only

NAME = "canary.example.com."
STABLE, CANARY = "192.0.2.30", "192.0.2.31"
TRAFFIC = f"""
endpoints:
  stable: {{ address: [{STABLE}] }}
  canary: {{ address: [{CANARY}] }}
traffic:
  {NAME}:
    ttl: 5
    policy: {{ weighted: {{ stable: 99, canary: 1 }} }}
"""
STEPS = [10, 50, 100]           # canary's percentage after each shift
SAMPLE = 400                    # answers sampled after each shift
LOAD_SECONDS, LOAD_QPS = 12, 2000


def canary_share(srv, n=SAMPLE) -> float:
    hits = 0
    for _ in range(n):
        got = sh.addrs(sh.ask(srv, NAME, "A"), "A")
        assert got in ([STABLE], [CANARY]), got
        hits += got == [CANARY]
    return hits / n


def within(share: float, p: float, n=SAMPLE) -> bool:
    """share is a plausible sample of n draws with probability p (5 sigma)."""
    sigma = math.sqrt(p * (1 - p) / n)
    return abs(share - p) <= 5 * sigma + 1e-9


def test_canary_rollout_under_load(tmp_path):
    srv = ApiServer(tmp_path / "srv", TRAFFIC)
    srv.start()
    try:
        qfile = tmp_path / "queries.txt"
        qfile.write_text(f"{NAME} A\n")
        with h.DnsperfLoad(srv.port, qfile, seconds=LOAD_SECONDS, qps=LOAD_QPS) as load:
            shares = []
            for pct in STEPS:
                if pct == 100:   # the last step through the CLI, one weight at a time
                    for ep, w in (("canary", "100"), ("stable", "0")):
                        r = run_cli(srv, "set-weight", NAME, ep, w, token=WRITE)
                        assert r.returncode == 0, r.stderr
                else:
                    st, body = srv.call("PUT", f"/v1/traffic/{NAME}",
                                        {"ttl": 5, "policy": {"weighted": {
                                            "stable": 100 - pct, "canary": pct}}})
                    assert st == 200, body
                share = canary_share(srv)
                shares.append(share)
                assert within(share, pct / 100), (pct, share)
            stats = load.finish("the last shift")
        out = load.out
        sh.report(f"weight shift under load: dnsperf sent {stats['sent']:.0f} queries at "
                  f"{stats['qps']:.0f} qps, completed {stats['completed']:.0f}, lost "
                  f"{stats['lost']:.0f}, rcodes {stats['rcodes']}; canary share after shifts "
                  + ", ".join(f"{p}%: {s:.1%}" for p, s in zip(STEPS, shares)))
        assert stats["sent"] > LOAD_QPS                    # the load was real
        assert stats["lost"] == 0 and stats["completed"] == stats["sent"], out
        assert re.fullmatch(r"NOERROR \d+ \(100\.00%\)", stats["rcodes"]), stats["rcodes"]
        assert shares[-1] == 1.0
    finally:
        assert srv.stop() == 0
