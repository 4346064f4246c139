# SPDX-License-Identifier: GPL-3.0-or-later
"""The zones' change log (zone/history.h, kept in src/server/store/journal.h),
which IXFR serves: every change the API commits appends (serial before, serial
after, records removed, records added) in the same store transaction, read back
with GET /v1/zones/{zone}/changes?since=SERIAL (docs/api.md). The unit tests
(tests/unit/test_history.c, test_journal.c) cover condensing, bounds and serial
wrap; test_history.py the reloads, restarts and bounds end to end.
"""
from __future__ import annotations

import pytest

from test_api import READ, ApiServer

pytestmark = pytest.mark.runway_only

TRAFFIC = "endpoints:\n  a: { address: [192.0.2.10] }\n"


def post(srv, *changes):
    st, body = srv.call("POST", "/v1/zones/example.com./changes", {"changes": list(changes)})
    assert st == 200, body
    return body["serial"]


def since(srv, serial, view=None):
    q = f"?since={serial}" + (f"&view={view}" if view else "")
    return srv.call("GET", f"/v1/zones/example.com./changes{q}", token=READ)


def test_change_log(tmp_path):
    srv = ApiServer(tmp_path / "srv", TRAFFIC)
    srv.start()
    try:
        s0 = srv.soa_serial("example.com.")
        s1 = post(srv, {"action": "UPSERT", "name": "static.example.com.", "type": "A",
                        "ttl": 60, "records": ["198.51.100.7", "192.0.2.81"]})
        s2 = post(srv, {"action": "CREATE", "name": "new.example.com.", "type": "TXT",
                        "ttl": 300, "records": ['"hello world"']},
                  {"action": "DELETE", "name": "mail.example.com.", "type": "A", "ttl": 3600,
                   "records": ["192.0.2.25"]})
        s3 = post(srv, {"action": "UPSERT", "name": "static.example.com.", "type": "A",
                        "ttl": 60, "records": ["198.51.100.7"]})
        assert (s1, s2, s3) == (s0 + 1, s0 + 2, s0 + 3)
        st, body = since(srv, s0)
        assert st == 200, body
        assert body["serial"] == s3 and body["since"] == s0
        assert body["changes"] == [
            # the TTL changed: every record goes and comes back
            {"from": s0, "to": s1,
             "removed": ["static.example.com. 3600 IN A 192.0.2.81"],
             "added": ["static.example.com. 60 IN A 198.51.100.7",
                       "static.example.com. 60 IN A 192.0.2.81"]},
            {"from": s1, "to": s2,
             "removed": ["mail.example.com. 3600 IN A 192.0.2.25"],
             "added": ['new.example.com. 300 IN TXT "hello world"']},
            # same TTL: only the record that went
            {"from": s2, "to": s3,
             "removed": ["static.example.com. 60 IN A 192.0.2.81"], "added": []},
        ], body
        st, body = since(srv, s2)
        assert st == 200 and [c["from"] for c in body["changes"]] == [s2], body
        st, body = since(srv, s3)                          # up to date
        assert st == 200 and body["changes"] == [], body
        st, body = since(srv, s0 - 1)                      # before the log
        assert st == 410 and "does not reach back" in body["error"], body
        st, body = srv.call("GET", "/v1/zones/example.com./changes", token=READ)
        assert st == 400 and "since" in body["error"], body
        st, body = srv.call("GET", "/v1/zones/nope.org./changes?since=1", token=READ)
        assert st == 404, body
        # A refused change leaves no entry.
        st, body = srv.call("POST", "/v1/zones/example.com./changes", {"changes": [
            {"action": "CREATE", "name": "new.example.com.", "type": "TXT", "ttl": 300,
             "records": ['"again"']}]})
        assert st == 409, body
        assert len(since(srv, s0)[1]["changes"]) == 3

        # Durable: the same after a restart.
        assert srv.stop() == 0
        srv.start()
        st, body2 = since(srv, s0)
        assert st == 200 and len(body2["changes"]) == 3, body2

        # Dropping a stored change loads the zone afresh: the log restarts.
        st, body = srv.call("DELETE", "/v1/changes/rrsets/example.com.%7Cnew.example.com.%7CTXT")
        assert st == 200, body
        s4 = srv.soa_serial("example.com.")
        assert s4 == s3 + 1
        st, body = since(srv, s0)
        assert st == 410, body
        s5 = post(srv, {"action": "UPSERT", "name": "x.example.com.", "type": "A", "ttl": 60,
                        "records": ["192.0.2.5"]})
        st, body = since(srv, s4)
        assert st == 200 and body["changes"] == [
            {"from": s4, "to": s5, "removed": [], "added": ["x.example.com. 60 IN A 192.0.2.5"]}
        ], body

        # The zone file edited and reloaded: the reload is diffed against the zone
        # served (as Knot's zonefile-load: difference) and logged; the file's serial
        # was not raised, so the serial policy (increment) gives the next one.
        path = srv.zone_path("example.com.")
        srv.write_zone("example.com.", path.read_text() + "edited A 192.0.2.77\n")
        at = srv.log_size()
        srv.reload()
        srv.wait_log("reload done", start=at)
        assert srv.soa_serial("example.com.") == s5 + 1
        st, body = since(srv, s4)
        assert st == 200 and body["changes"][1:] == [
            {"from": s5, "to": s5 + 1, "removed": [],
             "added": ["edited.example.com. 3600 IN A 192.0.2.77"]}], body
        s6 = post(srv, {"action": "UPSERT", "name": "y.example.com.", "type": "A", "ttl": 60,
                        "records": ["192.0.2.6"]})
        st, body = since(srv, s5)
        assert st == 200 and [(c["from"], c["to"]) for c in body["changes"]] == [
            (s5, s5 + 1), (s5 + 1, s6)], body
        # Unchanged across a reload of the same file: same serial, same log.
        at = srv.log_size()
        srv.reload()
        srv.wait_log("reload done", start=at)
        assert srv.soa_serial("example.com.") == s6
        st, body = since(srv, s5)
        assert st == 200 and len(body["changes"]) == 2, body
    finally:
        srv.stop()
