# SPDX-License-Identifier: GPL-3.0-or-later
"""/v1/simulate runs the real query pipeline, so it answers what the wire
answers: for every client and name of the view tests (test_views.py) and the
steering tests (test_steer_*.py, the same configurations), the simulated
answer records (and rcode, and ECS scope) equal those of a real query from
that source address with that ECS option. Then the trace: the entry and view
used, and why each endpoint is or is not in the answer (drained, down with
its check's reason and since when, weight 0, no address of the family,
failing open).

Random policies (weighted, multivalue) are compared both ways: each side's
answer must come up on the other side within a bounded number of tries.
Every wait is a bounded poll; everything listens on loopback.
"""
from __future__ import annotations

import datetime
import ipaddress
import itertools
import json
import urllib.parse

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

import steer_helpers as sh
import test_steer_failover as tf
import test_steer_policies as tp
import test_steer_weighted as tw
import test_views as tv
from test_api import READ, WRITE, ApiServer, run_cli

pytestmark = pytest.mark.runway_only

TRIES = 300          # bound of the random-policy comparison, per side


# --------------------------------------------------------------------------
# the two sides

def wire(srv, source, name, qtype, ecs):
    """A UDP query from source (loopback) with an ECS option for ecs (a
    prefix) or none: (rcode, sorted records, ECS scope or None)."""
    opts = []
    if ecs:
        net = ipaddress.ip_network(ecs, strict=False)
        opts = [dns.edns.ECSOption(str(net.network_address), net.prefixlen)]
    q = dns.message.make_query(name, qtype, use_edns=0, payload=1232, options=opts)
    q.flags &= ~dns.flags.RD
    r = dns.query.udp(q, "::1" if ":" in source else "127.0.0.1", port=srv.port, source=source,
                      timeout=3.0)
    assert not r.flags & dns.flags.TC, r.to_text()
    recs = sorted((rr.name.to_text(), dns.rdatatype.to_text(rr.rdtype), rr.ttl, rd.to_text())
                  for rr in r.answer for rd in rr)
    scope = next((o.scopelen for o in (r.options or []) if o.otype == dns.edns.ECS), None)
    return dns.rcode.to_text(r.rcode()), recs, scope


def simulate(srv, source, name, qtype, ecs):
    """The same question to /v1/simulate: (rcode, sorted records, scope, body)."""
    qs = urllib.parse.urlencode({"name": name, "type": qtype, "source": source,
                                 "ecs": ecs or "none"})
    st, body = srv.call("GET", f"/v1/simulate?{qs}", token=READ)
    assert st == 200, body
    recs = sorted((a["name"], a["type"], a["ttl"], a["data"]) for a in body["answer"])
    return body["rcode"], recs, body["scope"], body


def same(srv, source, name, qtype, ecs):
    """Assert simulate equals the wire for one question; returns the
    simulate body."""
    where = f"{name} {qtype} from {source} ecs {ecs}"
    w = wire(srv, source, name, qtype, ecs)
    s = simulate(srv, source, name, qtype, ecs)
    if w[:2] != s[:2]:
        # A random policy: each side's answer must turn up on the other.
        for _ in range(TRIES):
            if wire(srv, source, name, qtype, ecs)[:2] == s[:2]:
                break
        else:
            raise AssertionError(f"{where}: simulate {s[:2]} never seen on the wire "
                                 f"(wire {w[:2]})\n{s[3]}")
        for _ in range(TRIES):
            s = simulate(srv, source, name, qtype, ecs)
            if s[:2] == w[:2]:
                break
        else:
            raise AssertionError(f"{where}: wire {w[:2]} never given by simulate\n{s[3]}")
    if ecs and w[2] is not None:
        assert s[2] == w[2], f"{where}: scope simulate {s[2]}, wire {w[2]}\n{s[3]}"
    return s[3]


def compare_all(srv, sources, ecs_list, names, qtypes):
    n = 0
    for source, ecs, name, qtype in itertools.product(sources, ecs_list, names, qtypes):
        same(srv, source, name, qtype, ecs)
        n += 1
    return n


# --------------------------------------------------------------------------
# views (test_views.py)

def view_server(tmp_path, extra, top_zones, files, ready_from=None):
    """An ApiServer with these zone files; ready_from: the source address
    the readiness check asks from (when 127.0.0.1 is in no view)."""
    src = tmp_path / "src"
    src.mkdir()
    for name, text in files.items():
        (src / name).write_text(text)
    top = [(z, src / f, []) for z, f in top_zones]
    s = ApiServer(tmp_path / "srv", extra, zones=top,
                  files={f: src / f for f in files if f not in dict(top_zones).values()})
    if ready_from is None:
        s.start()
        return s
    s.start(wait=False)
    try:
        for z, _ in top_zones:
            tv.ViewServer.wait_soa(s, ready_from, z, None)
        s.wait_api()
    except BaseException:
        s.stop()
        raise
    return s


VIEW_NAMES = ["lb.example.com.", "svc.example.com.", "app.corp.example.", "www.corp.example.",
              "www.example.com.", "example.com.", "corp.example.", "nothere.corp.example.",
              "web.example.", "app.example.", "www.example."]
VIEW_SOURCES = [tv.INSIDE, tv.OUTSIDE, tv.LAB]


def test_views_view_traffic(tmp_path):
    """test_views.test_view_traffic: a view's own traffic entries."""
    s = view_server(tmp_path, tv.VIEW_TRAFFIC, [("example.com.", "example.com.zone")],
                    {"corp.example.zone": tv.zone("corp.example.", 1, "10.0.0.80"),
                     "example.com.zone": tv.zone("example.com.", 1, "192.0.2.80")})
    try:
        # The divergence the review reproduced: inside, lb.example.com is
        # the view's entry (10.9.9.9), not the top-level one (192.0.2.99).
        body = same(s, tv.INSIDE, "lb.example.com.", "A", None)
        assert [a["data"] for a in body["answer"]] == ["10.9.9.9"], body
        assert body["view"] == "inside" and body["source"] == "policy", body
        assert body["stage"] == "steer", body
        assert body["entry"] == {"name": "lb.example.com.", "kind": "policy", "view": "inside",
                                 "line": body["entry"]["line"]}, body
        out = cli(s, "lb.example.com", "--source", tv.INSIDE)
        assert f"query from {tv.INSIDE}, ECS none, view inside\n" in out, out
        assert "policy entry lb.example.com. (line " in out and "view inside's own traffic" in out
        assert "10.9.9.9" in out, out
        body = same(s, tv.OUTSIDE, "lb.example.com.", "A", None)
        assert [a["data"] for a in body["answer"]] == ["192.0.2.99"], body
        assert body["view"] == "outside" and body["entry"]["view"] is None, body
        n = compare_all(s, VIEW_SOURCES, [None, "192.0.2.0/24"], VIEW_NAMES,
                        ["A", "AAAA", "SOA", "TXT"])
        assert n == 3 * 2 * len(VIEW_NAMES) * 4
        # After an API change of the top-level entry, as the test does.
        st, body = s.call("PUT", "/v1/traffic/lb.example.com.", {"policy": "only-in"}, token=WRITE)
        assert st in (200, 201), body
        compare_all(s, VIEW_SOURCES, [None], VIEW_NAMES, ["A"])
        body = same(s, tv.OUTSIDE, "lb.example.com.", "A", None)
        assert [a["data"] for a in body["answer"]] == ["10.7.7.7"], body
    finally:
        assert s.stop() == 0, s.log_tail()


def test_views_standard_and_traffic(tmp_path):
    """test_views.standard + TRAFFIC (test_traffic_names_follow_their_zone):
    views with their own zones, traffic names under a view's zone."""
    s = view_server(tmp_path, tv.STANDARD_VIEWS + tv.TRAFFIC, [("example.", "example.zone")],
                    {"example.zone": tv.zone("example.", 1, "192.0.2.9"),
                     "corp.example.zone": tv.zone("corp.example.", 1, "10.0.0.80"),
                     "example.com.inside.zone": tv.zone("example.com.", 2, "10.1.1.1")})
    try:
        body = same(s, tv.OUTSIDE, "app.corp.example.", "A", None)
        assert body["rcode"] == "NXDOMAIN" and body["traffic"] is None, body
        assert body["stage"] == "lookup" and body["source"] == "zone", body
        body = same(s, tv.INSIDE, "app.corp.example.", "A", None)
        assert [a["data"] for a in body["answer"]] == ["192.0.2.55"], body
        compare_all(s, VIEW_SOURCES, [None], VIEW_NAMES, ["A", "AAAA", "SOA"])
    finally:
        assert s.stop() == 0, s.log_tail()


def test_views_no_view_matches(tmp_path):
    """test_views.test_no_view_matches_refused: a source in no view."""
    views = """
views:
  - name: inside
    match: 127.0.0.2
    zones: [{ name: corp.example., file: corp.example.zone }]
  - name: lab
    match: 127.0.0.3
"""
    s = view_server(tmp_path, views, [("example.com.", "example.com.zone")],
                    {"corp.example.zone": tv.zone("corp.example.", 1, "10.0.0.80"),
                     "example.com.zone": tv.zone("example.com.", 1, "192.0.2.80")},
                    ready_from=tv.LAB)
    try:
        body = same(s, tv.OUTSIDE, "www.example.com.", "A", None)
        assert body["rcode"] == "REFUSED" and body["view"] is None and "note" in body, body
        assert body["stage"] == "view", body
        compare_all(s, VIEW_SOURCES, [None], VIEW_NAMES, ["A", "SOA"])
    finally:
        assert s.stop() == 0, s.log_tail()


# --------------------------------------------------------------------------
# steering (test_steer_policies.py, test_steer_failover.py, test_steer_weighted.py)

POLICY_NAMES = ["www.example.com", "example.com", "alias-static.example.com", "pair.example.com",
                "w.example.com", "wl.example.com", "f.example.com", "geo.example.com",
                "prox.example.com", "proxbias.example.com", "proxneg.example.com",
                "lat.example.com", "mv.example.com", "mv2.example.com", "cidr.example.com",
                "cn.example.com", "fam.example.com", "v6.example.com", "fo.example.com",
                "nofo.example.com", "deep.example.com", "static.example.com", "ns1.example.com",
                "up-eu-west.example.com", "nothere.example.com"]
# Every named client as ECS, and none (the source address 127.0.0.1 then).
POLICY_ECS = [None] + list(sh.CLIENT.values()) + ["0.0.0.0/0"]


@pytest.fixture(scope="module")
def psrv(tmp_path_factory):
    """test_steer_policies' configuration, with the API."""
    d = tmp_path_factory.mktemp("simulate-policies")
    pool = sh.BackendPool(list(tp.IP.values()) + tp.PAIR)
    sh.make_mmdb(d / "test.mmdb")
    sh.write_networks(d / "networks.yaml", tp.NETWORKS)
    sh.write_latency(d / "latency.csv", tp.LATENCY)
    s = ApiServer(d / "srv", tp.traffic_yaml(pool.port),
                  files={"test.mmdb": d / "test.mmdb", "networks.yaml": d / "networks.yaml",
                         "latency.csv": d / "latency.csv"})
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


@pytest.fixture
def phealth(psrv):
    hl = tp.Health(psrv)
    drained = []

    def drain(ep):
        st, body = psrv.call("POST", f"/v1/endpoints/{ep}/drain", token=WRITE)
        assert st == 200, body
        drained.append(ep)
    hl.drain = drain
    yield hl
    for ep in drained:
        st, body = psrv.call("POST", f"/v1/endpoints/{ep}/undrain", token=WRITE)
        assert st == 200, body
    hl.restore()


def test_policies_all_up(psrv):
    n = compare_all(psrv, ["127.0.0.1"], POLICY_ECS, POLICY_NAMES, ["A", "AAAA"])
    # From an IPv6 source without ECS: located by the source address.
    n += compare_all(psrv, ["::1"], [None], POLICY_NAMES, ["A", "AAAA"])
    n += compare_all(psrv, ["127.0.0.1"], [None, sh.CLIENT["DE"]],
                     ["_http._tcp.example.com", "example.com", "www.example.com"],
                     ["SRV", "MX", "TXT", "ANY"])
    assert n > 900


def test_policies_degraded(psrv, phealth):
    """Some endpoints down, one drained: still the same answers."""
    phealth.down("eu-west", "us-east", "srv-b")
    phealth.drain("ap-ne")
    sh.wait_until(lambda: not psrv.query("up-ap-ne.example.com", "A", timeout=1.0).answer, 10,
                  "ap-ne drained")
    compare_all(psrv, ["127.0.0.1"], POLICY_ECS, POLICY_NAMES, ["A", "AAAA"])
    compare_all(psrv, ["127.0.0.1"], [None], ["_http._tcp.example.com"], ["SRV"])


def by_endpoint(body):
    return {e["endpoint"]: e for e in body["endpoints"]}


def test_trace_down_with_reason_and_since(psrv, phealth):
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    phealth.down("eu-west")
    body = same(psrv, "127.0.0.1", "f.example.com", "A", sh.CLIENT["DE"])
    assert [a["data"] for a in body["answer"]] == [tp.IP["us-east"]], body
    eps = by_endpoint(body)
    assert eps["us-east"]["used"] and eps["us-east"]["why"] == "used", eps
    ew = eps["eu-west"]
    assert not ew["used"] and ew["why"] == "down", ew
    assert ew["address"] == tp.IP["eu-west"], ew
    assert "HTTP 503" in ew["check"] and "HTTP 503" in ew["detail"], ew
    since = datetime.datetime.strptime(ew["down_since"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    assert before <= since <= datetime.datetime.now(datetime.timezone.utc), ew
    assert body["failed_open"] is False
    # The failover step shows eu-west down (read from the same trace).
    step = next(p for p in body["path"] if p["node"] == "failover")
    assert step["children"] == [{"node": "eu-west", "up": False}, {"node": "us-east", "up": True}]


def test_trace_fail_open(psrv, phealth):
    phealth.down("eu-west", "us-east")
    body = same(psrv, "127.0.0.1", "f.example.com", "A", sh.CLIENT["DE"])
    assert body["failed_open"] is True, body
    assert body["path"][0]["node"] == "fail_open", body["path"]
    eps = by_endpoint(body)
    assert eps["eu-west"]["used"] and "failing open" in eps["eu-west"]["detail"], eps
    assert "HTTP 503" in eps["eu-west"]["check"], eps
    assert eps["us-east"]["why"] == "down", eps
    # fail_open: false gives nothing (NODATA), says so, and does not fail open.
    body = same(psrv, "127.0.0.1", "nofo.example.com", "A", sh.CLIENT["DE"])
    assert body["answer"] == [] and body["failed_open"] is False and "NODATA" in body["note"]
    assert {e["why"] for e in body["endpoints"]} == {"down"}, body


def test_trace_drained_weight_zero_family(psrv, phealth):
    phealth.drain("eu-central")
    sh.wait_until(lambda: not psrv.query("up-eu-central.example.com", "A", timeout=1.0).answer,
                  10, "eu-central drained")
    # deep: EU -> weighted [100: failover [eu-west, multivalue [eu-central, us-east]], 0: ap-ne]
    body = same(psrv, "127.0.0.1", "deep.example.com", "A", sh.CLIENT["DE"])
    eps = by_endpoint(body)
    assert eps["eu-west"]["why"] == "used", eps
    assert eps["eu-central"]["why"] == "drained" and "drained" in eps["eu-central"]["detail"]
    # By the operator (POST .../drain), and since when: not a lease's expiry
    # (test_api_latency.py has that one).
    assert eps["eu-central"]["drained_by"] == "operator", eps
    assert "drained by the operator at " + eps["eu-central"]["drained_since"] in \
        eps["eu-central"]["detail"], eps
    assert eps["us-east"]["why"] == "not chosen", eps
    assert eps["ap-ne"]["why"] == "weight 0", eps
    # A drained endpoint stays out even when everything else is down.
    phealth.down("eu-west", "us-east")
    body = same(psrv, "127.0.0.1", "deep.example.com", "A", sh.CLIENT["DE"])
    eps = by_endpoint(body)
    assert eps["eu-central"]["why"] == "drained" and not eps["eu-central"]["used"], eps
    # No address of the family: fam = failover [v4only, dual], AAAA.
    body = same(psrv, "127.0.0.1", "fam.example.com", "AAAA", None)
    eps = by_endpoint(body)
    assert eps["v4only"]["why"] == "no address of the family", eps
    assert eps["dual"]["why"] == "used", eps
    assert [a["data"] for a in body["answer"]] == ["2001:db8::50"], body


def test_trace_srv_members(psrv, phealth):
    phealth.down("srv-b")
    body = same(psrv, "127.0.0.1", "_http._tcp.example.com", "SRV", None)
    assert body["source"] == "traffic" and body["path"][0]["node"] == "srv", body
    eps = by_endpoint(body)
    assert eps["srv-a"]["used"] and eps["srv-c"]["used"], eps
    assert eps["srv-b"]["why"] == "down" and "HTTP 503" in eps["srv-b"]["check"], eps


def test_trace_alias(psrv):
    body = same(psrv, "127.0.0.1", "example.com", "A", sh.CLIENT["DE"])
    assert body["source"] == "policy" and body["entry"]["kind"] == "alias", body
    assert body["path"][0]["node"] == "alias" and body["path"][0]["to"] == "www.example.com."
    assert body["path"][1]["node"] == "geolocation", body["path"]
    body = same(psrv, "127.0.0.1", "alias-static.example.com", "A", None)
    assert body["source"] == "traffic" and "endpoints" not in body, body


def test_simulate_compatible_client_parameter(psrv):
    """client= alone: the source address and the ECS network at once (the
    documented form); a bad source or ecs is a 400 with a message."""
    st, body = psrv.call("GET", f"/v1/simulate?name=geo.example.com&client={sh.CLIENT['US-CA']}",
                         token=READ)
    assert st == 200 and body["client"]["subdivision"] == "CA", body
    assert body["ecs"] == sh.CLIENT["US-CA"] and body["source_address"] == "198.51.100.0", body
    assert [a["data"] for a in body["answer"]] == [tp.IP["us-west"]], body
    for q, msg in [("source=300.1.1.1", "source '300.1.1.1' is not an address"),
                   ("source=127.0.0.0/8", "is not an address"),
                   ("client=127.0.0.1&ecs=x", "ecs 'x' is neither a prefix"),
                   ("type=A", "name and client (or source) are required")]:
        st, body = psrv.call("GET", f"/v1/simulate?name=geo.example.com&{q}", token=READ)
        assert st == 400 and msg in body["error"], (q, body)


# --------------------------------------------------------------------------
# runway simulate (the CLI): the same trace, as text, and --json as it is

def cli(srv, *args):
    r = run_cli(srv, "simulate", *args, token=READ)
    assert r.returncode == 0, r.stderr
    return r.stdout


def endpoint_line(out, endpoint):
    """The endpoints: line of one endpoint: (why and detail)."""
    part = out.split("\nendpoints:\n", 1)[1]
    return next(line.split(None, 1)[1] for line in part.splitlines()
                if line.split()[0] == endpoint)


def test_cli_simulate_trace(psrv, phealth):
    phealth.down("eu-west")
    phealth.drain("eu-central")
    sh.wait_until(lambda: not psrv.query("up-eu-central.example.com", "A", timeout=1.0).answer,
                  10, "eu-central drained")
    out = cli(psrv, "f.example.com", "--client", sh.CLIENT["DE"])
    assert "decided by stage steer: policy entry f.example.com. (line " in out, out
    assert "top-level traffic; answered from the policy" in out, out
    assert endpoint_line(out, "us-east").startswith("used"), out
    ew = endpoint_line(out, "eu-west")
    assert ew.startswith("down") and "HTTP 503" in ew and "fails since 20" in ew, out
    assert "FAILING OPEN" not in out, out
    out = cli(psrv, "deep.example.com", "--client", sh.CLIENT["DE"])
    assert endpoint_line(out, "eu-central").startswith("drained") and \
        "drained by the operator at 20" in endpoint_line(out, "eu-central"), out
    assert endpoint_line(out, "ap-ne").startswith("weight 0"), out
    out = cli(psrv, "fam.example.com", "AAAA", "--client", "127.0.0.1")
    assert endpoint_line(out, "v4only").startswith("no address of the family"), out
    # Failing open: said once at the top, and for each endpoint used anyway.
    phealth.down("us-east")
    out = cli(psrv, "f.example.com", "--client", sh.CLIENT["DE"])
    assert "FAILING OPEN: no endpoint is up" in out, out
    assert "failing open" in endpoint_line(out, "eu-west"), out
    # A zone name: no entry, the zone's records.
    out = cli(psrv, "static.example.com", "--client", "127.0.0.1")
    assert "decided by stage lookup: not a traffic name for this client" in out, out
    assert "endpoints:" not in out, out


def test_cli_simulate_source_ecs_json(psrv):
    # --source alone: no ECS; the client is the source address.
    out = cli(psrv, "geo.example.com", "--source", "127.0.0.1")
    assert "query from 127.0.0.1, ECS none" in out, out
    # --ecs beside --client: the network steering places, from that source.
    out = cli(psrv, "geo.example.com", "--client", "127.0.0.1", "--ecs", sh.CLIENT["US-CA"])
    assert f"query from 127.0.0.1, ECS {sh.CLIENT['US-CA']}" in out, out
    assert tp.IP["us-west"] in out, out
    out = cli(psrv, "geo.example.com", "--client", sh.CLIENT["US-CA"], "--ecs", "none")
    assert "ECS none" in out, out
    # --json: the API's answer, as it is.
    out = cli(psrv, "geo.example.com", "--source", "127.0.0.1", "--ecs", sh.CLIENT["US-CA"],
              "--json")
    body = json.loads(out)
    st, api = psrv.call("GET", "/v1/simulate?name=geo.example.com&source=127.0.0.1&ecs="
                        + urllib.parse.quote(sh.CLIENT["US-CA"], safe=""), token=READ)
    assert st == 200 and body["answer"] == api["answer"] == [
        {"name": "geo.example.com.", "type": "A", "ttl": body["answer"][0]["ttl"],
         "data": tp.IP["us-west"]}], (body, api)
    assert body["entry"] == api["entry"] and body["ecs"] == sh.CLIENT["US-CA"], body
    # Errors: the API's message (1), a usage error (2).
    r = run_cli(psrv, "simulate", "geo.example.com", "--client", "127.0.0.1", "--ecs", "x",
                token=READ)
    assert r.returncode == 1 and "runway simulate: 400: ecs 'x' is neither a prefix" in r.stderr
    r = run_cli(psrv, "simulate", "geo.example.com", "--ecs", "none", token=READ)
    assert r.returncode == 2 and "--client ADDRESS (or --source ADDRESS) is required" in r.stderr


@pytest.fixture(scope="module")
def fwsrv(tmp_path_factory):
    """test_steer_failover's and test_steer_weighted's configurations in one
    server (their names and endpoints do not overlap), with the API."""
    d = tmp_path_factory.mktemp("simulate-fw")
    pool = sh.BackendPool([tf.PRIMARY, tf.SECONDARY])
    wpool = sh.BackendPool(list(tw.IP.values()))
    tcp = sh.TcpBackend(tf.TCP_PRIMARY)
    w = (tw.traffic_yaml(wpool.port).replace("health_checks:\n", "").replace("endpoints:\n", "")
         .replace("  web:", "  wweb:").replace("health_check: web", "health_check: wweb"))
    hc, rest = w.split("\n  a:", 1)
    eps, traffic = ("  a:" + rest).split("traffic:\n", 1)
    yaml = tf.traffic_yaml(pool.port, tcp.port)
    yaml = yaml.replace("endpoints:\n", hc.strip("\n") + "\nendpoints:\n" + eps, 1) + traffic
    s = ApiServer(d / "srv", yaml)
    try:
        s.start()
        for b in list(pool) + list(wpool):
            b.wait_hits(1)
    except BaseException:
        s.stop()
        pool.stop()
        wpool.stop()
        tcp.stop()
        raise
    s.pool, s.wpool, s.tcp = pool, wpool, tcp
    yield s
    rc = s.stop()
    pool.stop()
    wpool.stop()
    tcp.stop()
    assert rc == 0, f"runwayd exited with {rc}:\n{s.log_tail()}"


FW_NAMES = ["fo.example.com", "tfo.example.com", "split.example.com", "zero.example.com",
            "up-a.example.com", "up-b.example.com"]


def test_failover_and_weighted(fwsrv):
    compare_all(fwsrv, ["127.0.0.1"], [None, sh.CLIENT["DE"]], FW_NAMES, ["A", "AAAA"])
    body = same(fwsrv, "127.0.0.1", "zero.example.com", "A", None)
    assert by_endpoint(body)["c"]["why"] == "weight 0", body
    # Every weighted child down: weight 0 answers, and the trace says why.
    fwsrv.wpool[tw.IP["a"]].set(status=503)
    fwsrv.wpool[tw.IP["b"]].set(status=503)
    try:
        sh.wait_answer(fwsrv, "zero.example.com", [tw.IP["c"]], timeout=10)
        body = same(fwsrv, "127.0.0.1", "zero.example.com", "A", None)
        eps = by_endpoint(body)
        assert eps["c"]["used"] and eps["a"]["why"] == "down" and eps["b"]["why"] == "down", eps
        compare_all(fwsrv, ["127.0.0.1"], [None], FW_NAMES, ["A"])
    finally:
        fwsrv.wpool.all_healthy()
        sh.wait_answer(fwsrv, "up-a.example.com", [tw.IP["a"]], timeout=10)
        sh.wait_answer(fwsrv, "up-b.example.com", [tw.IP["b"]], timeout=10)


def test_trace_flapping(tmp_path):
    """A slot held down by flap dampening is down in the trace, flagged
    flapping, even while its latest probes pass (docs/health-checks.md)."""
    pool = sh.BackendPool(["127.0.0.51"])
    yaml = f"""
health_checks:
  web: {{ type: http, port: {pool.port}, path: /healthz, interval: 100ms, timeout: 90ms,
         rise: 1, fall: 1, flap_changes: 1, flap_window: 60s, flap_hold: 60s }}
endpoints:
  flaky: {{ address: [127.0.0.51], health_check: web }}
  spare: {{ address: [127.0.0.52] }}
traffic:
  fl.example.com.: {{ policy: {{ failover: [flaky, spare] }} }}
"""
    s = ApiServer(tmp_path / "srv", yaml)
    try:
        s.start()
        pool["127.0.0.51"].wait_hits(1)
        pool["127.0.0.51"].set(status=503)
        sh.wait_answer(s, "fl.example.com", ["127.0.0.52"])
        pool["127.0.0.51"].healthy()
        pool["127.0.0.51"].wait_hits(3)          # passing again, but held for flap_hold
        body = same(s, "127.0.0.1", "fl.example.com", "A", None)
        assert [a["data"] for a in body["answer"]] == ["127.0.0.52"], body
        flaky = by_endpoint(body)["flaky"]
        assert flaky["why"] == "down" and flaky.get("flapping") is True, flaky
        assert "held down for flapping" in flaky["detail"], flaky
    finally:
        rc = s.stop()
        pool.stop()
        assert rc == 0, s.log_tail()
