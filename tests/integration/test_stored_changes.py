# SPDX-License-Identifier: GPL-3.0-or-later
"""Stored API changes that no longer apply to the files (issue 9: "stored API
changes can brick the server"), and listing and dropping stored changes
(GET/DELETE /v1/changes, `runway changes`, docs/api.md, docs/cli.md).

The scenario: a traffic name added through the API uses an endpoint of the
configuration file; the endpoint is then removed from the file. `runway
check` must say so (exit 1, naming the stored change), a reload and a
restart must keep serving everything else with the change skipped (an
error in the log, a metric, "skipped" in GET /v1/changes), and dropping
the change must clear it all.

Every server listens on loopback; every wait is a bounded poll.
"""
from __future__ import annotations

import re
import time

import pytest

import dnsharness as h
from test_api import READ, WRITE, ApiServer

pytestmark = pytest.mark.runway_only

TRAFFIC = """
endpoints:
  a: {{ address: [192.0.2.10] }}
{extra}traffic:
  fo.example.com.:
    policy: {{ failover: [a] }}
"""
WITH_B = "  b: { address: [192.0.2.20] }\n"


def traffic(with_b: bool) -> str:
    return TRAFFIC.format(extra=WITH_B if with_b else "")


def metric(srv, name) -> float:
    st, text = srv.call("GET", "/metrics", token=READ)
    assert st == 200, text
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert m, f"{name} not in /metrics:\n{text}"
    return float(m.group(1))


def changes(srv) -> dict:
    st, body = srv.call("GET", "/v1/changes", token=READ)
    assert st == 200, body
    return {c["key"]: c for c in body["changes"]}


def addrs(r):
    return sorted(rr.address for rrset in r.answer for rr in rrset if hasattr(rr, "address"))


def reload_and_wait(srv):
    at = srv.log_size()
    srv.reload()
    srv.wait_log("reload (done|failed)", start=at)
    return srv.log()[at:]


def check(srv):
    return h.run_tool(["check", "-c", srv.config_path])


def test_a_stored_change_that_no_longer_applies_is_skipped_not_fatal(tmp_path):
    srv = ApiServer(tmp_path / "srv", traffic(True))
    srv.start()
    try:
        st, body = srv.call("PUT", "/v1/traffic/lb.example.com.", {"ttl": 30, "policy": "b"})
        assert st == 200, body
        assert addrs(srv.query("lb.example.com", "A")) == ["192.0.2.20"]
        st, body = srv.call("PUT", "/v1/traffic/keep.example.com.", {"ttl": 30, "policy": "a"})
        assert st == 200, body
        assert changes(srv)["traffic/lb.example.com."]["status"] == "applied"
        ok = check(srv)
        assert ok.returncode == 0, ok.stderr

        # The file loses endpoint b, which the stored lb.example.com. uses.
        srv.traffic_yaml = traffic(False)
        srv.write_config()
        bad = check(srv)
        assert bad.returncode == 1, bad.stdout + bad.stderr
        assert "store traffic/lb.example.com." in bad.stderr, bad.stderr
        assert "runway changes drop traffic/lb.example.com." in bad.stderr, bad.stderr
        assert "1 stored change" in bad.stderr, bad.stderr

        # Reload: applied, with that one change left out (and said so).
        log = reload_and_wait(srv)
        assert "reload done" in log, log
        assert "stored change traffic/lb.example.com. skipped" in log, log
        assert srv.alive()
        assert addrs(srv.query("lb.example.com", "A")) == []           # not steered any more
        assert addrs(srv.query("keep.example.com", "A")) == ["192.0.2.10"]   # the others stay
        assert addrs(srv.query("fo.example.com", "A")) == ["192.0.2.10"]
        assert metric(srv, "runway_stored_changes_skipped") == 1
        assert metric(srv, "runway_stored_changes_skipped_total") == 1
        listed = changes(srv)
        assert listed["traffic/lb.example.com."]["status"] == "skipped", listed
        assert "'b'" in listed["traffic/lb.example.com."]["error"], listed
        assert listed["traffic/keep.example.com."]["status"] == "applied", listed
        # Other changes still work beside the skipped one.
        st, body = srv.call("PUT", "/v1/traffic/more.example.com.", {"ttl": 30, "policy": "a"})
        assert st == 200, body

        # Restart: starts, the same way.
        assert srv.stop() == 0
        srv.start()
        assert "stored change traffic/lb.example.com. skipped" in srv.log(), srv.log_tail()
        assert addrs(srv.query("more.example.com", "A")) == ["192.0.2.10"]
        assert metric(srv, "runway_stored_changes_skipped") == 1

        # runway changes: the list says which one, and exits 1 while one is skipped.
        env_api = ["--api", srv.api_url, "--token", WRITE]
        out = h.run_tool(["changes", "list"] + env_api)
        assert out.returncode == 1, out.stdout + out.stderr
        assert re.search(r"^SKIPPED +traffic/lb\.example\.com\.$", out.stdout, re.M), out.stdout
        assert re.search(r"^applied +traffic/keep\.example\.com\. ", out.stdout, re.M), out.stdout
        assert "1 skipped" in out.stdout, out.stdout

        # Drop it: gone from the store, the metric and the check.
        out = h.run_tool(["changes", "drop", "traffic/lb.example.com."] + env_api)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "traffic/lb.example.com." not in changes(srv)
        assert metric(srv, "runway_stored_changes_skipped") == 0
        ok = check(srv)
        assert ok.returncode == 0, ok.stderr
        out = h.run_tool(["changes"] + env_api)
        assert out.returncode == 0 and "0 skipped" in out.stdout, out.stdout + out.stderr
        st, body = srv.call("DELETE", "/v1/changes/traffic/lb.example.com.")
        assert st == 404 and "no stored change" in body["error"], body
    finally:
        srv.stop()


def test_dropping_a_change_others_need_is_refused(tmp_path):
    srv = ApiServer(tmp_path / "srv", traffic(False))
    srv.start()
    try:
        st, body = srv.call("PUT", "/v1/endpoints/c", {"address": ["192.0.2.30"]})
        assert st == 200, body
        st, body = srv.call("PUT", "/v1/traffic/c.example.com.", {"ttl": 30, "policy": "c"})
        assert st == 200, body
        st, body = srv.call("DELETE", "/v1/changes/endpoints/c")
        assert st == 409 and "'c'" in body["error"], body          # c.example.com. uses it
        assert addrs(srv.query("c.example.com", "A")) == ["192.0.2.30"]
        st, body = srv.call("DELETE", "/v1/changes/traffic/c.example.com.")
        assert st == 200, body
        st, body = srv.call("DELETE", "/v1/changes/endpoints/c")
        assert st == 200, body
        assert changes(srv) == {}
        st, body = srv.call("DELETE", "/v1/changes/nonsense")
        assert st == 404 and "TABLE/KEY" in body["error"], body
        st, body = srv.call("DELETE", "/v1/changes/traffic/x", token=READ)
        assert st == 403, body
    finally:
        srv.stop()


def test_dropping_a_record_change_serves_the_file_again(tmp_path):
    srv = ApiServer(tmp_path / "srv", traffic(False))
    srv.start()
    try:
        st, body = srv.call("POST", "/v1/zones/example.com./changes", {"changes": [
            {"action": "UPSERT", "name": "static.example.com.", "type": "A", "ttl": 60,
             "records": ["198.51.100.7"]}]})
        assert st == 200, body
        serial = body["serial"]
        h.check(srv.query("static.example.com", "A"), rcode="NOERROR",
                answer=["static.example.com. 60 IN A 198.51.100.7"])
        key = "rrsets/example.com.|static.example.com.|A"
        assert changes(srv)[key]["value"] == {"ttl": 60, "records": ["198.51.100.7"]}
        st, body = srv.call("DELETE", "/v1/changes/rrsets/example.com.%7Cstatic.example.com.%7CA")
        assert st == 200, body
        h.check(srv.query("static.example.com", "A"), rcode="NOERROR",
                answer=["static.example.com. 3600 IN A 192.0.2.81"])      # the file's again
        assert srv.soa_serial("example.com.") == serial + 1
        assert key not in changes(srv)
        # And after a restart.
        assert srv.stop() == 0
        srv.start()
        h.check(srv.query("static.example.com", "A"), rcode="NOERROR",
                answer=["static.example.com. 3600 IN A 192.0.2.81"])
    finally:
        srv.stop()


def test_runway_changes_on_the_store_directly(tmp_path):
    """runway changes -c FILE: for a runwayd that does not run (or start)."""
    srv = ApiServer(tmp_path / "srv", traffic(True))
    srv.start()
    try:
        st, body = srv.call("PUT", "/v1/traffic/lb.example.com.", {"ttl": 30, "policy": "b"})
        assert st == 200, body
    finally:
        assert srv.stop() == 0
    srv.traffic_yaml = traffic(False)
    srv.write_config()
    out = h.run_tool(["changes", "-c", srv.config_path])
    assert out.returncode == 1, out.stdout + out.stderr
    assert re.search(r"^SKIPPED +traffic/lb\.example\.com\.$", out.stdout, re.M), out.stdout
    out = h.run_tool(["changes", "-c", srv.config_path, "drop", "traffic/lb.example.com."])
    assert out.returncode == 0, out.stdout + out.stderr
    out = h.run_tool(["changes", "-c", srv.config_path])
    assert out.returncode == 0 and "0 stored changes" in out.stdout, out.stdout + out.stderr
    out = h.run_tool(["changes", "-c", srv.config_path, "drop", "traffic/lb.example.com."])
    assert out.returncode == 1 and "no stored change" in out.stderr, out.stdout + out.stderr
    out = h.run_tool(["changes", "bogus"])
    assert out.returncode == 2 and "unknown action" in out.stderr, out.stderr
    assert check(srv).returncode == 0
    srv.start()
    try:
        assert metric(srv, "runway_stored_changes_skipped") == 0
    finally:
        srv.stop()


def test_changes_page(tmp_path):
    srv = ApiServer(tmp_path / "srv", traffic(False))
    srv.start()
    try:
        names = [f"n{i}.example.com." for i in range(5)]
        for n in names:
            st, body = srv.call("PUT", f"/v1/traffic/{n}", {"ttl": 30, "policy": "a"})
            assert st == 200, body
        st, body = srv.call("PUT", "/v1/endpoints/c", {"address": ["192.0.2.30"]})
        assert st == 200, body
        st, page1 = srv.call("GET", "/v1/changes?limit=2", token=READ)
        assert st == 200, page1
        assert [c["key"] for c in page1["changes"]] == ["endpoints/c", "traffic/n0.example.com."]
        assert page1["next"] == "traffic/n0.example.com."
        # The change a cursor names goes: the next page still starts after it.
        st, body = srv.call("DELETE", "/v1/changes/traffic/n0.example.com.")
        assert st == 200, body
        st, page2 = srv.call("GET", f"/v1/changes?limit=2&cursor={page1['next']}", token=READ)
        assert st == 200, page2
        assert [c["key"] for c in page2["changes"]] == ["traffic/n1.example.com.",
                                                        "traffic/n2.example.com."]
        st, page3 = srv.call("GET", f"/v1/changes?limit=2&cursor={page2['next']}", token=READ)
        assert [c["key"] for c in page3["changes"]] == ["traffic/n3.example.com.",
                                                        "traffic/n4.example.com."], page3
        assert page3["next"] is None, page3
        st, body = srv.call("GET", "/v1/changes?limit=0", token=READ)
        assert st == 400, body
    finally:
        srv.stop()


def test_a_stored_record_change_that_breaks_its_zone_is_skipped(tmp_path):
    """The zone file gains a CNAME where the API stored an A: the zone would
    not load with both. The A is left out (logged, counted, listed), the
    zone and the other stored records are served."""
    srv = ApiServer(tmp_path / "srv", traffic(False))
    srv.start()
    try:
        for name, addr in (("alias", "192.0.2.99"), ("keep", "192.0.2.98")):
            st, body = srv.call("POST", "/v1/zones/example.com./changes", {"changes": [
                {"action": "UPSERT", "name": f"{name}.example.com.", "type": "A", "ttl": 60,
                 "records": [addr]}]})
            assert st == 200, body
        assert check(srv).returncode == 0
        zone = srv.zone_path("example.com.")
        srv.write_zone("example.com.", zone.read_text() + "alias CNAME www\n")
        key = "rrsets/example.com.|alias.example.com.|A"
        bad = check(srv)
        assert bad.returncode == 1, bad.stdout + bad.stderr
        assert f"stored change {key} skipped" in bad.stderr, bad.stderr
        assert "and 1 stored change\n" in bad.stderr, bad.stderr

        log = reload_and_wait(srv)
        assert "reload done" in log and f"stored change {key} skipped" in log, log
        r = srv.query("alias.example.com", "A")
        h.check(r, rcode="NOERROR")
        assert "alias.example.com. 3600 IN CNAME www.example.com." in r.to_text(), r.to_text()
        h.check(srv.query("keep.example.com", "A"), rcode="NOERROR",
                answer=["keep.example.com. 60 IN A 192.0.2.98"])
        assert metric(srv, "runway_stored_changes_skipped") == 1
        listed = changes(srv)
        assert listed[key]["status"] == "skipped" and "CNAME" in listed[key]["error"], listed
        assert listed["rrsets/example.com.|keep.example.com.|A"]["status"] == "applied"
        # A change to another name goes on (the full load leaves it out too).
        st, body = srv.call("POST", "/v1/zones/example.com./changes", {"changes": [
            {"action": "UPSERT", "name": "more.example.com.", "type": "A", "ttl": 60,
             "records": ["192.0.2.97"]}]})
        assert st == 200, body
        # A second reload finds it again (the file could have been fixed).
        log = reload_and_wait(srv)
        assert "reload done" in log and f"stored change {key} skipped" in log, log
        h.check(srv.query("more.example.com", "A"), rcode="NOERROR",
                answer=["more.example.com. 60 IN A 192.0.2.97"])
        assert metric(srv, "runway_stored_changes_skipped") == 1
        st, zones = srv.call("GET", "/v1/zones", token=READ)
        assert st == 200 and zones[0]["error"] is None, zones     # loaded, not stale

        # And at start.
        assert srv.stop() == 0
        srv.start()
        assert f"stored change {key} skipped" in srv.log(), srv.log_tail()
        h.check(srv.query("more.example.com", "A"), rcode="NOERROR",
                answer=["more.example.com. 60 IN A 192.0.2.97"])
        assert metric(srv, "runway_stored_changes_skipped") == 1
        st, body = srv.call("DELETE", "/v1/changes/" + key.replace("|", "%7C"))
        assert st == 200, body
        assert metric(srv, "runway_stored_changes_skipped") == 0
        assert check(srv).returncode == 0
    finally:
        srv.stop()


def test_a_change_that_cannot_be_served_is_not_stored(tmp_path):
    """The error contract (control.h): built, then stored, then published.
    A corrupt geo database makes every rebuild fail: a change is then
    refused with nothing stored (before, it was stored and answered 200
    while the old state went on being served)."""
    from test_api import TRAFFIC as GEO_TRAFFIC, closed_port
    srv = ApiServer(tmp_path / "srv", GEO_TRAFFIC.format(closed_port=closed_port()))
    srv.start()
    try:
        mmdb = srv.workdir / "geo.mmdb"
        saved = mmdb.read_bytes()
        mmdb.write_bytes(b"not a MaxMind database\n" * 10)
        st, body = srv.call("PUT", "/v1/traffic/new.example.com.", {"ttl": 30, "policy": "us-east"})
        assert st == 500, body
        assert "nothing was changed" in body["error"] and "geo data" in body["error"], body
        assert "traffic/new.example.com." not in changes(srv)
        assert srv.query("new.example.com", "A").answer == []
        assert metric(srv, "runway_control_publish_failures_total") == 1
        mmdb.write_bytes(saved)
        st, body = srv.call("PUT", "/v1/traffic/new.example.com.", {"ttl": 30, "policy": "us-east"})
        assert st == 200, body
        assert "traffic/new.example.com." in changes(srv)
    finally:
        srv.stop()
