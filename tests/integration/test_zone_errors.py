# SPDX-License-Identifier: GPL-3.0-or-later
"""One bad zone does not take the server down (docs/configuration.md, "Zones
that fail to load"): the other zones are served, every query in the broken
zone gets SERVFAIL over UDP and TCP (as knotd answers, compared below), the
zone shows in /metrics, GET /v1/zones and `runway status`, and a reload
that finds the file fixed serves it. server.strict_zones refuses to start.

Every wait is a bounded poll on something observable (an answer, /metrics).
"""
from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

import dnsharness as h
import abuse_helpers as ah
from abuse_helpers import free_tcp_port

TOKEN = "zone-errors-read"
WRITE = "zone-errors-write"
INSIDE, OUTSIDE = "127.0.0.2", "127.0.0.1"


def zone(origin: str, serial: int, www: str = "192.0.2.80", extra: str = "") -> str:
    return (f"$ORIGIN {origin}\n$TTL 300\n"
            f"@ SOA ns hostmaster {serial} 3600 600 86400 300\n"
            f"@ NS ns\nns A 192.0.2.1\nwww A {www}\n{extra}")


# Line 6: an address zscanner rejects.
BROKEN = zone("bad.example.", 1, "999.0.2.80")
BROKEN_LINE = 6
VIEWS = """
views:
  - name: inside
    match: ["127.0.0.2/32"]
    zones:
      - { name: good.example., file: good.inside.zone }
  - name: outside
    match: [any]
"""


class ZoneServer(h.DnsServer):
    """runwayd (or knotd) serving the files written into its folder, with a
    read-only API (runwayd); ready when each zone of `ready` answers SOA."""

    def __init__(self, kind, workdir, files: dict, zones, ready, extra_yaml="", strict=False,
                 writable=False, **kw):
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (workdir / name).write_text(text)
        self.ready, self.extra_yaml, self.strict = ready, extra_yaml, strict
        self.writable = writable
        self.api_port = free_tcp_port()
        kw.setdefault("listen_v6", False)
        super().__init__(kind, workdir, [(z, workdir / f, []) for z, f in zones], **kw)

    def install_file(self, src, name=None):      # the files are in place already
        return Path(src)

    def runway_config(self) -> str:
        base = super().runway_config()
        if self.strict:
            base = base.replace("server:\n", "server:\n  strict_zones: true\n", 1)
        api = (f'api:\n  listen: "127.0.0.1:{self.api_port}"\n'
               f"  tokens: [{{ token: {TOKEN}, access: read }}"
               + (f", {{ token: {WRITE}, access: write }}]\n  data: {self.workdir / 'data'}\n"
                  if self.writable else "]\n"))
        return base + self.extra_yaml.strip("\n") + "\n" + api

    def write(self, name: str, text: str):
        tmp = self.workdir / (name + ".tmp")
        tmp.write_text(text)
        tmp.replace(self.workdir / name)

    def wait_ready(self, timeout=h.READY_TIMEOUT):
        for z in self.ready:
            self.wait_rcode(z, "SOA", dns.rcode.NOERROR, timeout)
        if self.kind == "runway":
            self.wait_metrics(lambda m: True, timeout)

    def wait_rcode(self, qname, qtype, rcode, timeout=h.READY_TIMEOUT, source=OUTSIDE):
        deadline = time.monotonic() + timeout
        got = None
        while True:
            if not self.alive():
                raise h.ServerFailed(f"{self.kind} exited; log:\n{self.log_tail()}")
            r = ask(self, qname, qtype, source=source, timeout=0.3)
            got = r and r.rcode()
            if got == rcode:
                return r
            if time.monotonic() > deadline:
                raise h.ServerFailed(f"{qname} {qtype}: rcode {got}, not {rcode}, after "
                                     f"{timeout}s; log:\n{self.log_tail()}")
            time.sleep(0.05)  # poll interval of a readiness check

    def api(self, path):
        req = urllib.request.Request(f"http://127.0.0.1:{self.api_port}{path}")
        req.add_header("Authorization", f"Bearer {TOKEN}")
        with urllib.request.urlopen(req, timeout=5) as r:
            body = r.read().decode()
        return json.loads(body) if path.startswith("/v1/") else body

    def metrics(self) -> dict:
        return ah.parse_metrics(self.api("/metrics"))

    def wait_metrics(self, pred, timeout=h.READY_TIMEOUT):
        return ah.wait_metrics(self, pred, timeout)


def ask(s, qname, qtype="A", *, tcp=False, source=OUTSIDE, timeout=2.0):
    """One query from a chosen loopback source address; the reply or None."""
    q = h.make_query(qname, qtype, edns=0)
    try:
        if tcp:
            r = dns.query.tcp(q, "127.0.0.1", port=s.port, timeout=timeout, source=source)
        else:
            r = dns.query.udp(q, "127.0.0.1", port=s.port, timeout=timeout, source=source)
    except (dns.exception.Timeout, OSError):
        return None
    return r

FILES = {
    "good.zone": zone("good.example.", 7),
    "bad.zone": BROKEN,
    "good.inside.zone": zone("good.example.", 8, "10.0.0.80"),
}
ZONES = [("good.example.", "good.zone"), ("bad.example.", "bad.zone")]


@pytest.fixture
def started(tmp_path):
    servers = []

    def start(kind="runway", files=None, zones=ZONES, extra="", ready=("good.example.",),
              name=None, wait=True, strict=False, writable=False):
        s = ZoneServer(kind, tmp_path / (name or f"{kind}{len(servers)}"), files or FILES, zones,
                       ready, extra, strict, writable)
        servers.append(s)
        return s.start(wait=wait)

    yield start
    bad = []
    for s in servers:
        was_running = s.alive()
        rc = s.stop()
        if was_running and rc != 0:
            bad.append(f"{s.kind} exited with {rc}:\n{s.log_tail()}")
    assert not bad, "\n".join(bad)


def ede_codes(r):
    return [o.code for o in r.options if o.otype == dns.edns.EDE]


def assert_servfail(r, tcp=True):
    """SERVFAIL, no AA, no records; EDE 24 "Invalid Data" (RFC 8914) as
    knotd, over TCP: over UDP an error answer to a client without a server
    cookie is kept no larger than its query, which leaves the EDE out."""
    assert r is not None
    assert r.rcode() == dns.rcode.SERVFAIL, dns.rcode.to_text(r.rcode())
    assert not (r.flags & dns.flags.AA)
    assert not r.answer and not r.authority
    assert ede_codes(r) == ([24] if tcp else []), ede_codes(r)


# ---- serving around a broken zone

@pytest.mark.runway_only
@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_broken_zone_servfail_others_served(started, tcp):
    s = started()
    r = ask(s, "www.good.example.", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert [rr.to_text() for rr in r.answer[0]] == ["192.0.2.80"]
    for qname, qtype in [("bad.example.", "SOA"), ("www.bad.example.", "A"),
                         ("no.such.name.bad.example.", "TXT"), ("bad.example.", "NS"),
                         ("bad.example.", "ANY")]:
        assert_servfail(ask(s, qname, qtype, tcp=tcp), tcp)
    # A name in no zone at all is still REFUSED: the broken zone is known by name only.
    assert ask(s, "www.elsewhere.example.", tcp=tcp).rcode() == dns.rcode.REFUSED
    assert re.search(rf"bad\.zone:{BROKEN_LINE}: invalid IPv4 address", s.log())
    assert "zone bad.example.: not loaded (1 error): queries get SERVFAIL" in s.log()


@pytest.mark.runway_only
@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_traffic_name_in_a_broken_zone(started, tcp):
    """A traffic name inside a zone that failed gets SERVFAIL like every
    other name there (its zone's SOA and NS are what failed); one in a good
    zone still steers."""
    extra = ("endpoints:\n  a: { address: [192.0.2.10] }\n"
             "traffic:\n  lb.bad.example.:\n    policy: { failover: [a] }\n"
             "  lb.good.example.:\n    policy: { failover: [a] }\n")
    s = started(extra=extra)
    for qtype in ("A", "AAAA", "TXT"):
        assert_servfail(ask(s, "lb.bad.example.", qtype, tcp=tcp), tcp)
    r = ask(s, "lb.good.example.", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR and [rr.to_text() for rr in r.answer[0]] == ["192.0.2.10"]


@pytest.mark.needs_knot
def test_broken_zone_answers_as_knot(started):
    """Same question, same rcode, flags, sections and EDE as knotd for a
    zone that failed to load."""
    rw = started("runway", name="rw")
    kn = started("knot", name="kn")
    for tcp in (False, True):
        for qname, qtype in [("www.bad.example.", "A"), ("bad.example.", "SOA"),
                             ("x.y.bad.example.", "AAAA"), ("www.good.example.", "A"),
                             ("nowhere.example.", "A")]:
            a, b = ask(rw, qname, qtype, tcp=tcp), ask(kn, qname, qtype, tcp=tcp)
            assert a.rcode() == b.rcode(), (qname, qtype, tcp)
            assert bool(a.flags & dns.flags.AA) == bool(b.flags & dns.flags.AA), (qname, qtype)
            assert len(a.answer) == len(b.answer) and len(a.authority) == len(b.authority)
            if tcp:      # over UDP runwayd keeps error answers no larger than the query
                assert ede_codes(a) == ede_codes(b), (qname, qtype)


@pytest.mark.runway_only
@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_broken_view_zone(started, tcp):
    """A view's own zone that fails: SERVFAIL for that view's clients (not
    the top-level data meant for others); other clients are unaffected."""
    files = dict(FILES, **{"good.inside.zone": BROKEN.replace("bad.example.", "good.example.")})
    s = started(files=files, extra=VIEWS)
    assert_servfail(ask(s, "www.good.example.", source=INSIDE, tcp=tcp), tcp)
    r = ask(s, "www.good.example.", source=OUTSIDE, tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR and [rr.to_text() for rr in r.answer[0]] == ["192.0.2.80"]
    assert_servfail(ask(s, "www.bad.example.", source=INSIDE, tcp=tcp), tcp)
    m = s.metrics()
    assert m['runway_zone_loaded{zone="good.example.",view="inside"}'] == 0
    assert m['runway_zone_loaded{zone="good.example.",view=""}'] == 1
    assert m['runway_zone_loaded{zone="bad.example.",view=""}'] == 0
    assert m["runway_zone_load_failures_total"] == 2
    zones = {(z["name"], z["view"]): z for z in s.api("/v1/zones")}
    assert zones[("good.example.", "inside")]["loaded"] is False
    assert re.fullmatch(rf".*good\.inside\.zone:{BROKEN_LINE}: invalid IPv4 address",
                        zones[("good.example.", "inside")]["error"])


# ---- where it shows

@pytest.mark.runway_only
def test_metrics_api_and_status(started):
    s = started()
    m = s.metrics()
    assert m['runway_zone_loaded{zone="good.example.",view=""}'] == 1
    assert m['runway_zone_loaded{zone="bad.example.",view=""}'] == 0
    assert m['runway_zone_load_failed{zone="good.example.",view=""}'] == 0
    assert m['runway_zone_load_failed{zone="bad.example.",view=""}'] == 1
    assert m["runway_zone_load_failures_total"] == 1
    zones = {z["name"]: z for z in s.api("/v1/zones")}
    assert zones["good.example."]["loaded"] is True and zones["good.example."]["error"] is None
    assert zones["bad.example."]["loaded"] is False
    assert zones["bad.example."]["error"] == f"{s.workdir / 'bad.zone'}:{BROKEN_LINE}: invalid IPv4 address"
    r = h.run_tool(["status", "--api", f"http://127.0.0.1:{s.api_port}", "--token", TOKEN])
    assert r.returncode == 0, r.stderr
    assert re.search(rf"^bad\.example\.\s+-\s+not loaded: SERVFAIL\s+\S*bad\.zone:{BROKEN_LINE}: "
                     r"invalid IPv4 address$", r.stdout, re.M), r.stdout
    assert "good.example." not in r.stdout.split("ZONE")[-1]


# ---- reload

@pytest.mark.runway_only
def test_reload_loads_fixed_zone_and_keeps_stale(started):
    s = started()
    assert_servfail(ask(s, "www.bad.example."), tcp=False)
    # Still broken at a reload (another error): still SERVFAIL, the new reason shown.
    s.write("bad.zone", zone("bad.example.", 1, extra="x CNAME www\nx TXT \"clash\"\n"))
    s.reload()
    m = s.wait_metrics(lambda m: m["runway_zone_load_failures_total"] == 2)
    assert m['runway_zone_loaded{zone="bad.example.",view=""}'] == 0
    zones = {z["name"]: z for z in s.api("/v1/zones")}
    assert zones["bad.example."]["error"].endswith(":8: CNAME and other data at x.bad.example.")
    # Fixed: the reload serves it, over UDP and TCP.
    s.write("bad.zone", zone("bad.example.", 2, "192.0.2.44"))
    s.reload()
    r = s.wait_rcode("www.bad.example.", "A", dns.rcode.NOERROR)
    assert [rr.to_text() for rr in r.answer[0]] == ["192.0.2.44"]
    r = ask(s, "www.bad.example.", tcp=True)
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    m = s.wait_metrics(lambda m: m['runway_zone_loaded{zone="bad.example.",view=""}'] == 1)
    assert m['runway_zone_load_failed{zone="bad.example.",view=""}'] == 0
    assert m["runway_zone_load_failures_total"] == 2
    zones = {z["name"]: z for z in s.api("/v1/zones")}
    assert zones["bad.example."] == dict(zones["bad.example."], loaded=True, error=None, serial=2)
    # Broken again: the served version stays (as knotd), and status says so.
    s.write("bad.zone", BROKEN)
    s.reload()
    m = s.wait_metrics(lambda m: m["runway_zone_load_failures_total"] == 3)
    assert m['runway_zone_loaded{zone="bad.example.",view=""}'] == 1
    assert m['runway_zone_load_failed{zone="bad.example.",view=""}'] == 1
    r = ask(s, "www.bad.example.")
    assert r.rcode() == dns.rcode.NOERROR and [rr.to_text() for rr in r.answer[0]] == ["192.0.2.44"]
    r = h.run_tool(["status", "--api", f"http://127.0.0.1:{s.api_port}", "--token", TOKEN])
    assert re.search(r"^bad\.example\.\s+-\s+serving serial 2\s+\S*bad\.zone:6: invalid IPv4",
                     r.stdout, re.M), r.stdout


@pytest.mark.runway_only
def test_zone_added_broken_at_reload_is_servfail(started):
    files = dict(FILES, **{"bad.zone": zone("bad.example.", 1)})
    s = started(files=files, zones=[("good.example.", "good.zone")])
    assert ask(s, "www.bad.example.").rcode() == dns.rcode.REFUSED
    s.write("bad.zone", BROKEN)
    s.zones.append(("bad.example.", s.workdir / "bad.zone", []))
    s.write_config()
    s.reload()
    s.wait_rcode("www.bad.example.", "A", dns.rcode.SERVFAIL)
    assert s.metrics()['runway_zone_loaded{zone="bad.example.",view=""}'] == 0


# ---- the strict start

@pytest.mark.runway_only
def test_strict_zones_refuses_to_start(started):
    s = started(strict=True, wait=False)
    rc = s.proc.wait(h.READY_TIMEOUT)
    assert rc == 1
    log = s.log()
    assert re.search(rf"\S*bad\.zone:{BROKEN_LINE}: invalid IPv4 address", log), log
    assert "1 zone failed to load and server.strict_zones is set" in log
    assert "cannot start: 1 error(s)" in log and "ready" not in log
    # Without the option the same files start, serving the good zone.
    ok = started(name="lenient")
    assert ask(ok, "www.good.example.").rcode() == dns.rcode.NOERROR


@pytest.mark.runway_only
def test_check_still_fails(tmp_path):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "runway.yaml").write_text(
        "zones:\n  - {name: good.example., file: good.zone}\n"
        "  - {name: bad.example., file: bad.zone}\n")
    r = h.run_tool(["check", "-c", tmp_path / "runway.yaml"])
    assert r.returncode == 1
    assert f"bad.zone:{BROKEN_LINE}: invalid IPv4 address" in r.stderr


# ---- API changes to a zone that failed


@pytest.mark.runway_only
def test_api_change_to_broken_zone(started):
    """A change to a zone whose file is broken is refused with the file's
    error (nothing changes); once the file is fixed, a change loads it."""
    s = started(writable=True)

    def post(zone_name, changes):
        req = urllib.request.Request(
            f"http://127.0.0.1:{s.api_port}/v1/zones/{zone_name}/changes", method="POST",
            data=json.dumps({"changes": changes}).encode())
        req.add_header("Authorization", f"Bearer {WRITE}")
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    change = [{"action": "UPSERT", "name": "api.bad.example.", "type": "A", "ttl": 60,
               "records": ["192.0.2.9"]}]
    st, body = post("bad.example.", change)
    assert 400 <= st < 500, (st, body)
    assert f"bad.zone:{BROKEN_LINE}: invalid IPv4 address" in body["error"], body
    assert_servfail(ask(s, "api.bad.example."), tcp=False)
    assert s.metrics()['runway_zone_loaded{zone="bad.example.",view=""}'] == 0
    s.write("bad.zone", zone("bad.example.", 5))
    st, body = post("bad.example.", change)
    assert st == 200, body
    r = ask(s, "api.bad.example.")
    assert r.rcode() == dns.rcode.NOERROR and [rr.to_text() for rr in r.answer[0]] == ["192.0.2.9"]
    m = s.metrics()
    assert m['runway_zone_loaded{zone="bad.example.",view=""}'] == 1
    assert m['runway_zone_load_failed{zone="bad.example.",view=""}'] == 0
    zones = {z["name"]: z for z in s.api("/v1/zones")}
    assert zones["bad.example."]["loaded"] is True and zones["bad.example."]["error"] is None
