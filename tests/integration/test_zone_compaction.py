# SPDX-License-Identifier: GPL-3.0-or-later
"""Background zone compaction when the zone file is broken (issue 9: "a
broken zone file makes background compaction retry a full load in a loop,
108 tries a minute, a core busy").

Changes to an RRset whose address many answers carry (the MX target of
every name) leave replaced data behind until the zone wants compacting
(loaded afresh in the background). With the zone file broken meanwhile,
that load fails: it must then wait (5 s, doubling) instead of running
again on every change, log the reason once, and show in /metrics; the
changes themselves go on. Once the file is fixed, compaction works again.

Every wait is a bounded poll; the server listens on loopback.
"""
from __future__ import annotations

import re
import time

import pytest

import dnsharness as h
from test_api import READ, ApiServer

pytestmark = pytest.mark.runway_only

N_HOSTS = 3000
TRAFFIC = "endpoints:\n  a: { address: [192.0.2.10] }\n"


def zone_text():
    lines = ["$ORIGIN example.com.", "$TTL 3600",
             "@ SOA ns1 hostmaster 1 7200 3600 1209600 300", "@ NS ns1", "ns1 A 192.0.2.53",
             "mail A 192.0.2.25"]
    for i in range(N_HOSTS):
        lines += [f"h{i} A 10.0.{i >> 8 & 255}.{i & 255}", f"h{i} MX 10 mail"]
    return "\n".join(lines) + "\n"


def metrics(srv) -> str:
    st, text = srv.call("GET", "/metrics", token=READ)
    assert st == 200, text
    return text


def metric(text, name) -> float:
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert m, f"{name} not in /metrics"
    return float(m.group(1))


class Changer:
    def __init__(self, srv):
        self.srv, self.i = srv, 0

    def change(self):
        """One change of the MX target's address: served at once."""
        self.i += 1
        addr = f"192.0.2.{100 + self.i % 100}"
        st, body = self.srv.call("POST", "/v1/zones/example.com./changes", {"changes": [
            {"action": "UPSERT", "name": "mail.example.com.", "type": "A", "ttl": 60,
             "records": [addr]}]})
        assert st == 200, body
        h.check(self.srv.query("mail.example.com", "A"), rcode="NOERROR",
                answer=[f"mail.example.com. 60 IN A {addr}"])

    def until(self, what, limit=200, seconds=60):
        deadline = time.monotonic() + seconds
        for _ in range(limit):
            if what():
                return
            assert time.monotonic() < deadline, self.srv.log_tail()
            self.change()
        raise AssertionError(f"not reached after {limit} changes:\n{self.srv.log_tail()}")


def test_a_broken_zone_file_backs_compaction_off(tmp_path):
    zone = tmp_path / "mx.zone"
    zone.write_text(zone_text())
    srv = ApiServer(tmp_path / "srv", TRAFFIC, zones=[("example.com.", zone, [])])
    srv.start()
    try:
        ch = Changer(srv)
        # Compaction works with the file intact.
        ch.until(lambda: "compacted in" in srv.log())
        assert metric(metrics(srv), "runway_zone_compactions_total") >= 1

        # Broken file: the next compaction fails...
        srv.write_zone("example.com.", zone_text() + "broken line with no type\n")
        ch.until(lambda: metric(metrics(srv), "runway_zone_compaction_failures_total") >= 1)
        t_fail = time.monotonic()
        text = metrics(srv)
        assert re.search(r'^runway_zone_compaction_backoff_seconds\{zone="example.com."\} [1-5]$',
                         text, re.M), text
        # ...and the changes after it, each of which wants compacting, do not
        # start another load while the zone waits (5 s after one failure).
        n = 0
        while time.monotonic() - t_fail < 3 and n < 50:
            ch.change()
            n += 1
        text = metrics(srv)
        assert metric(text, "runway_zone_compaction_failures_total") == 1, (n, srv.log_tail())
        assert srv.log().count("compaction failed") == 1, srv.log_tail()
        assert re.search(r"zone example\.com\.: compaction failed: the zone would not load: "
                         r".*mx\.zone:\d+: .*tried again in 5 s", srv.log()), srv.log_tail()
        print(f"\n{n} changes in 3 s after the failure, no new compaction load")

        # Fixed: once the wait is over, the next change compacts again.
        srv.write_zone("example.com.", zone_text())
        deadline = time.monotonic() + 30
        while "compaction works again" not in srv.log():
            assert time.monotonic() < deadline, srv.log_tail()
            ch.change()
            time.sleep(0.2)    # pacing the changes while the 5 s wait runs out
        text = metrics(srv)
        assert 'runway_zone_compaction_backoff_seconds{zone="example.com."}' not in text, text
        assert srv.alive()
    finally:
        assert srv.stop() == 0
