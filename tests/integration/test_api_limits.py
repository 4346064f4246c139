# SPDX-License-Identifier: GPL-3.0-or-later
"""Bounds on the work one API request may cause (issue 9, "quadratic work"
and the API items of "attacks that got through"), each with a clear 4xx:

- two CREATEs of one RRset in one batch: 409, nothing changed;
- an RRset past the per-RRset record limit: refused at once, with the limit
  in the message (a 60,000-record RRset held the API thread 20 s before);
- latency samples: the merge into the model is linear and the pairs kept
  are capped (100k rows made every write take 4.8 s before);
- GET .../rrsets pages through a large zone (it built the whole zone as
  one JSON text before).

Timings are printed (pytest -s, and the measurements section), with
generous bounds only: these are not benchmarks.
"""
from __future__ import annotations

import time

import pytest

import dnsharness as h
import steer_helpers as sh
from test_api import READ, ApiServer

pytestmark = pytest.mark.runway_only

TRAFFIC = """
endpoints:
  a: { address: [192.0.2.10] }
  b: { address: [192.0.2.20] }
traffic:
  fo.example.com.:
    policy: { failover: [a, b] }
"""


@pytest.fixture
def api(tmp_path):
    srv = ApiServer(tmp_path / "srv", TRAFFIC)
    srv.start()
    yield srv
    assert srv.stop() == 0


def post(srv, changes):
    return srv.call("POST", "/v1/zones/example.com./changes", {"changes": changes}, timeout=60)


def soa(srv):
    return srv.soa_serial("example.com.")


def test_two_creates_of_one_rrset_in_a_batch(api):
    before = soa(api)
    st, body = post(api, [
        {"action": "CREATE", "name": "dup.example.com.", "type": "A", "ttl": 60,
         "records": ["192.0.2.1"]},
        {"action": "CREATE", "name": "DUP.example.com.", "type": "A", "ttl": 60,
         "records": ["192.0.2.2"]}])
    assert st == 409, body
    assert body["error"].startswith("change 2: ") and "change 1 of this batch" in body["error"], body
    h.check(api.query("dup.example.com", "A"), rcode="NXDOMAIN")
    assert soa(api) == before
    # CREATE after an UPSERT of the same RRset: it exists by then.
    st, body = post(api, [
        {"action": "UPSERT", "name": "dup.example.com.", "type": "A", "ttl": 60,
         "records": ["192.0.2.1"]},
        {"action": "CREATE", "name": "dup.example.com.", "type": "A", "ttl": 60,
         "records": ["192.0.2.2"]}])
    assert st == 409 and body["error"].startswith("change 2: "), body
    assert soa(api) == before
    # In order, against what the batch did so far: create, delete, create again.
    st, body = post(api, [
        {"action": "CREATE", "name": "dup.example.com.", "type": "A", "ttl": 60,
         "records": ["192.0.2.1"]},
        {"action": "DELETE", "name": "dup.example.com.", "type": "A", "ttl": 60,
         "records": ["192.0.2.1"]},
        {"action": "CREATE", "name": "dup.example.com.", "type": "A", "ttl": 60,
         "records": ["192.0.2.3"]}])
    assert st == 200, body
    h.check(api.query("dup.example.com", "A"), rcode="NOERROR",
            answer=["dup.example.com. 60 IN A 192.0.2.3"])
    # A DELETE must match the batch's state, not only the zone's.
    st, body = post(api, [
        {"action": "UPSERT", "name": "dup.example.com.", "type": "A", "ttl": 60,
         "records": ["192.0.2.4"]},
        {"action": "DELETE", "name": "dup.example.com.", "type": "A", "ttl": 60,
         "records": ["192.0.2.3"]}])
    assert st == 400 and body["error"].startswith("change 2: "), body
    h.check(api.query("dup.example.com", "A"), rcode="NOERROR",
            answer=["dup.example.com. 60 IN A 192.0.2.3"])
    # Records compare as sets: a repeated record does not stand for another.
    st, body = post(api, [
        {"action": "UPSERT", "name": "dup.example.com.", "type": "A", "ttl": 60,
         "records": ["192.0.2.4", "192.0.2.5"]},
        {"action": "DELETE", "name": "dup.example.com.", "type": "A", "ttl": 60,
         "records": ["192.0.2.4", "192.0.2.4"]}])
    assert st == 400 and body["error"].startswith("change 2: "), body
    st, body = post(api, [
        {"action": "UPSERT", "name": "dup.example.com.", "type": "A", "ttl": 60,
         "records": ["192.0.2.4", "192.0.2.5"]},
        {"action": "DELETE", "name": "dup.example.com.", "type": "A", "ttl": 60,
         "records": ["192.0.2.5", "192.0.2.4"]}])
    assert st == 200, body
    h.check(api.query("dup.example.com", "A"), rcode="NXDOMAIN")


def test_an_rrset_past_the_record_limit_is_refused_at_once(api):
    before = soa(api)
    huge = [f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(60_000)]
    t0 = time.monotonic()
    st, body = post(api, [{"action": "UPSERT", "name": "big.example.com.", "type": "A",
                           "ttl": 60, "records": huge}])
    refused = time.monotonic() - t0
    assert st == 400, body
    assert body["error"] == ("change 1: 60000 records for big.example.com. A: at most 1000 "
                             "records in one RRset (zone_limits.max_rrset_records)"), body
    assert soa(api) == before
    # The limit itself is fine, and quick.
    t0 = time.monotonic()
    st, body = post(api, [{"action": "UPSERT", "name": "big.example.com.", "type": "A",
                           "ttl": 60, "records": huge[:1000]}])
    accepted = time.monotonic() - t0
    assert st == 200, body
    r = api.query("big.example.com", "A", tcp=True, timeout=10)
    assert sum(len(s) for s in r.answer) == 1000
    # DELETE of all 1000 must match them all (each compared, set against set).
    t0 = time.monotonic()
    st, body = post(api, [{"action": "DELETE", "name": "big.example.com.", "type": "A",
                           "ttl": 60, "records": list(reversed(huge[:1000]))}])
    deleted = time.monotonic() - t0
    assert st == 200, body
    sh.report(f"RRset limit: 60,000 records refused in {refused * 1000:.0f} ms; 1,000 records "
              f"applied in {accepted * 1000:.0f} ms, deleted in {deleted * 1000:.0f} ms")
    assert refused < 5 and accepted < 10 and deleted < 10


def test_the_record_limit_is_the_configured_one(tmp_path):
    srv = ApiServer(tmp_path / "srv", TRAFFIC + "zone_limits:\n  max_rrset_records: 50\n")
    srv.start()
    try:
        recs = [f"10.0.0.{i}" for i in range(51)]
        st, body = post(srv, [{"action": "UPSERT", "name": "big.example.com.", "type": "A",
                               "ttl": 60, "records": recs}])
        assert st == 400 and "at most 50 records in one RRset" in body["error"], body
        st, body = post(srv, [{"action": "UPSERT", "name": "big.example.com.", "type": "A",
                               "ttl": 60, "records": recs[:50]}])
        assert st == 200, body
    finally:
        assert srv.stop() == 0


def test_latency_pairs_are_merged_linearly_and_capped(api):
    # 10,000 pairs: the cap, in one batch.
    samples = [{"client": f"10.{i >> 8 & 255}.{i & 255}.0/24", "endpoint": "a" if i % 2 else "b",
                "rtt_ms": i % 300} for i in range(10_000)]
    t0 = time.monotonic()
    st, body = api.call("POST", "/v1/latency", samples, timeout=60)
    first = time.monotonic() - t0
    assert st == 200 and body["samples"] == 10_000, body
    # Every control change merges them into the model: it stays quick.
    times = []
    for i in range(5):
        t0 = time.monotonic()
        st, body = api.call("PUT", "/v1/traffic/x.example.com.", {"ttl": 30, "policy": "a"})
        times.append(time.monotonic() - t0)
        assert st == 200, body
    # Known pairs may be updated; one new pair past the cap is refused.
    st, body = api.call("POST", "/v1/latency", samples[:100])
    assert st == 200, body
    st, body = api.call("POST", "/v1/latency", [{"client": "JP", "endpoint": "a", "rtt_ms": 5}])
    assert st == 400, body
    assert body["error"].startswith("at most 10000 (client, endpoint) latency pairs"), body
    assert "10000 are stored and this batch adds 1 new" in body["error"], body
    sh.report(f"latency: 10,000 pairs posted in {first * 1000:.0f} ms; a traffic change with "
              f"them stored takes {max(times) * 1000:.0f} ms at most (5 changes)")
    assert max(times) < 2.0, times


def write_zone(path, n):
    lines = ["$ORIGIN example.com.", "$TTL 3600",
             "@ SOA ns1 hostmaster 1 7200 3600 1209600 300", "@ NS ns1", "ns1 A 192.0.2.53",
             "@ TXT \"apex\""]
    lines += [f"h{i} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(n)]
    path.write_text("\n".join(lines) + "\n")


def test_rrsets_page_through_a_large_zone(tmp_path):
    n = 20_000
    zone = tmp_path / "big.zone"
    write_zone(zone, n)
    srv = ApiServer(tmp_path / "srv", TRAFFIC, zones=[("example.com.", zone, [])])
    srv.start()
    try:
        # A name the API adds comes last; one it deletes disappears.
        st, body = post(srv, [
            {"action": "UPSERT", "name": "zz-new.example.com.", "type": "A", "ttl": 60,
             "records": ["192.0.2.99"]},
            {"action": "DELETE", "name": "h5.example.com.", "type": "A", "ttl": 3600,
             "records": ["10.0.0.5"]}])
        assert st == 200, body
        st, body = srv.call("GET", "/v1/zones/example.com./rrsets", token=READ)
        assert st == 413 and "?limit=" in body["error"], body
        seen, pages, cursor = [], 0, None
        t0 = time.monotonic()
        while True:
            path = "/v1/zones/example.com./rrsets?limit=1000" + (f"&cursor={cursor}" if cursor else "")
            st, body = srv.call("GET", path, token=READ)
            assert st == 200, body
            assert len(body["rrsets"]) <= 1000
            seen += [(r["name"], r["type"]) for r in body["rrsets"]]
            pages += 1
            cursor = body["next"]
            if cursor is None:
                break
            assert pages < 100
        elapsed = time.monotonic() - t0
        assert seen[0] == ("example.com.", "SOA")
        assert len(seen) == len(set(seen)) == 3 + 1 + n - 1 + 1  # SOA NS TXT, ns1, h*, -h5, +zz-new
        assert ("h5.example.com.", "A") not in seen
        assert seen[-1] == ("zz-new.example.com.", "A")
        assert [x for x in seen if x[0] == "h19999.example.com."]
        # The default page, and bad parameters.
        st, body = srv.call("GET", "/v1/zones/example.com./rrsets?cursor=", token=READ)
        assert st == 200 and len(body["rrsets"]) == 1000 and body["next"], body
        for bad in ("limit=0", "limit=10001", "limit=x", "cursor=abc", "cursor=-1"):
            st, body = srv.call("GET", f"/v1/zones/example.com./rrsets?{bad}", token=READ)
            assert st == 400, (bad, body)
        sh.report(f"rrsets paging: {len(seen)} RRsets in {pages} pages of 1000 in "
                  f"{elapsed * 1000:.0f} ms")
    finally:
        assert srv.stop() == 0


def test_runway_check_holds_zone_files_to_the_configured_limit(tmp_path):
    """runway check loads zones with the configuration's zone_limits, as
    runwayd does (it used the defaults: a file runwayd refuses passed)."""
    zone = ["$ORIGIN limits.test.", "$TTL 300",
            "@ SOA ns hostmaster 1 3600 600 86400 300", "@ NS ns", "ns A 192.0.2.1"]
    zone += [f"many A 10.0.1.{i}" for i in range(60)]
    (tmp_path / "limits.zone").write_text("\n".join(zone) + "\n")
    cfg = tmp_path / "runway.yaml"
    base = "zones:\n  - name: limits.test.\n    file: limits.zone\n"
    cfg.write_text(base)
    r = h.run_tool(["check", "-c", cfg])
    assert r.returncode == 0, r.stderr
    cfg.write_text(base + "zone_limits:\n  max_rrset_records: 50\n")
    r = h.run_tool(["check", "-c", cfg])
    assert r.returncode != 0, r.stdout
    assert "more than 50 records (zone_limits.max_rrset_records)" in r.stderr + r.stdout, r.stderr
