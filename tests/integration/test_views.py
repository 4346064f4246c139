# SPDX-License-Identifier: GPL-3.0-or-later
"""Split-horizon views (docs/configuration.md#views): the view of a query is
the first whose `match` holds the address the query comes from. Clients pick
their loopback source address (127.0.0.x) to be inside or outside a view,
over UDP and over TCP.

Every wait is a bounded poll on an observable answer (SOA serials, the log).
"""
from __future__ import annotations

import time
from pathlib import Path

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

import dnsharness as h

pytestmark = pytest.mark.runway_only

INSIDE, OUTSIDE, LAB = "127.0.0.2", "127.0.0.1", "127.0.0.3"


def zone(origin: str, serial: int, www: str, extra: str = "") -> str:
    return (f"$ORIGIN {origin}\n$TTL 300\n"
            f"@ SOA ns hostmaster {serial} 3600 600 86400 300\n"
            f"@ NS ns\nns A 192.0.2.1\nwww A {www}\n{extra}")


STANDARD_VIEWS = """
acls:
  internal: ["10.0.0.0/8", "127.0.0.2/32"]
views:
  - name: inside
    match: [internal]
    zones:
      - { name: corp.example., file: corp.example.zone }
      - { name: example.com., file: example.com.inside.zone }
  - name: outside
    match: [any]
"""


class ViewServer(h.DnsServer):
    """runwayd with files written into its folder, top-level zones, and
    extra YAML (acls, views, traffic ...) appended to the config. Ready when
    each (source, zone) of `ready` answers its SOA."""

    def __init__(self, workdir, files: dict, zones, extra_yaml: str, ready, **kw):
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (workdir / name).write_text(text)
        self.extra_yaml = extra_yaml
        self.ready = ready
        super().__init__("runway", workdir, [(z, workdir / f, []) for z, f in zones], **kw)

    def install_file(self, src, name=None):     # the files are in place already
        return Path(src)

    def runway_config(self) -> str:
        return super().runway_config() + self.extra_yaml.strip("\n") + "\n"

    def write(self, name: str, text: str):
        """Replace a file atomically (a reload never sees half of it)."""
        tmp = self.workdir / (name + ".tmp")
        tmp.write_text(text)
        tmp.replace(self.workdir / name)

    def wait_ready(self, timeout=h.READY_TIMEOUT):
        for source, z in self.ready:
            self.wait_soa(source, z, None, timeout)

    def wait_soa(self, source, z, serial, timeout=h.READY_TIMEOUT):
        """Until z's SOA from source has serial (None: any)."""
        deadline = time.monotonic() + timeout
        got = None
        while True:
            if not self.alive():
                raise h.ServerFailed(f"runwayd exited; log:\n{self.log_tail()}")
            try:
                r = ask(self, source, z, "SOA", timeout=0.3)
                if r.rcode() == dns.rcode.NOERROR and r.answer:
                    got = r.answer[0][0].serial
                    if serial is None or got == serial:
                        return
            except (dns.exception.Timeout, OSError):
                pass
            if time.monotonic() > deadline:
                raise h.ServerFailed(f"{z} from {source}: serial {got}, not {serial}, after "
                                     f"{timeout}s; log:\n{self.log_tail()}")
            time.sleep(0.05)  # poll interval of a readiness check


def ask(srv, source, name, qtype="A", *, tcp=False, timeout=3.0):
    """One query from source (a loopback address); the reply."""
    q = dns.message.make_query(name, qtype, use_edns=0, payload=1232)
    q.flags &= ~dns.flags.RD
    if tcp:
        return dns.query.tcp(q, "127.0.0.1", port=srv.port, source=source, timeout=timeout)
    return dns.query.udp(q, "127.0.0.1", port=srv.port, source=source, timeout=timeout)


def addresses(r):
    return sorted(rd.address for rrset in r.answer if rrset.rdtype == dns.rdatatype.A
                  for rd in rrset)


def expect(srv, source, name, rcode, addrs=(), qtype="A"):
    for tcp in (False, True):
        r = ask(srv, source, name, qtype, tcp=tcp)
        where = f"{name} {qtype} from {source} over {'TCP' if tcp else 'UDP'}"
        assert r.rcode() == rcode, f"{where}: {dns.rcode.to_text(r.rcode())}"
        assert addresses(r) == sorted(addrs), f"{where}: {addresses(r)}"
        if rcode == dns.rcode.NOERROR and addrs:
            assert r.flags & dns.flags.AA, where
        if rcode == dns.rcode.REFUSED:
            assert not r.answer and not r.authority, where


def ede_codes(r):
    return [o.code for o in (r.options or []) if o.otype == dns.edns.EDE]


def standard(tmp_path, extra="", files=None):
    f = {
        "corp.example.zone": zone("corp.example.", 1, "10.0.0.80"),
        "example.com.inside.zone": zone("example.com.", 2, "10.1.1.1"),
        "example.com.zone": zone("example.com.", 1, "192.0.2.80"),
    }
    f.update(files or {})
    s = ViewServer(tmp_path / "srv", f, [("example.com.", "example.com.zone")],
                   STANDARD_VIEWS + extra,
                   ready=[(OUTSIDE, "example.com."), (INSIDE, "corp.example.")])
    s.start()
    return s


@pytest.fixture
def srv(tmp_path):
    s = standard(tmp_path)
    yield s
    assert s.stop() == 0, s.log_tail()


def test_inside_only_zone(srv):
    expect(srv, INSIDE, "www.corp.example.", dns.rcode.NOERROR, ["10.0.0.80"])
    # An internal-only name never answers to an outside client.
    expect(srv, OUTSIDE, "www.corp.example.", dns.rcode.REFUSED)
    expect(srv, OUTSIDE, "corp.example.", dns.rcode.REFUSED, qtype="SOA")
    expect(srv, OUTSIDE, "nothere.corp.example.", dns.rcode.REFUSED)


def test_same_apex_different_answers(srv):
    expect(srv, INSIDE, "www.example.com.", dns.rcode.NOERROR, ["10.1.1.1"])
    expect(srv, OUTSIDE, "www.example.com.", dns.rcode.NOERROR, ["192.0.2.80"])
    assert ask(srv, INSIDE, "example.com.", "SOA").answer[0][0].serial == 2
    assert ask(srv, OUTSIDE, "example.com.", "SOA", tcp=True).answer[0][0].serial == 1


def test_no_view_matches_refused(tmp_path):
    files = {"corp.example.zone": zone("corp.example.", 1, "10.0.0.80"),
             "example.com.zone": zone("example.com.", 1, "192.0.2.80")}
    views = """
views:
  - name: inside
    match: 127.0.0.2
    zones: [{ name: corp.example., file: corp.example.zone }]
  - name: lab
    match: 127.0.0.3
"""
    s = ViewServer(tmp_path / "srv", files, [("example.com.", "example.com.zone")], views,
                   ready=[(LAB, "example.com."), (INSIDE, "corp.example.")])
    s.start()
    try:
        expect(s, LAB, "www.example.com.", dns.rcode.NOERROR, ["192.0.2.80"])
        expect(s, INSIDE, "www.example.com.", dns.rcode.NOERROR, ["192.0.2.80"])
        expect(s, LAB, "www.corp.example.", dns.rcode.REFUSED)
        # 127.0.0.1 is in no view: even the top-level zone is refused (as BIND does).
        expect(s, OUTSIDE, "www.example.com.", dns.rcode.REFUSED)
        # (over TCP: over UDP an error carries no more than the query did)
        assert ede_codes(ask(s, OUTSIDE, "www.example.com.", tcp=True)) == [18]  # Prohibited
        assert ede_codes(ask(s, LAB, "www.corp.example.", tcp=True)) == [20]  # Not Authoritative
    finally:
        assert s.stop() == 0, s.log_tail()


def test_reload_switches_views_together(srv):
    # The view's zone and the top-level zone change in one reload: whenever
    # the inside client sees the new version, the outside one does too.
    srv.write("example.com.inside.zone", zone("example.com.", 3, "10.1.1.2"))
    srv.write("example.com.zone", zone("example.com.", 4, "192.0.2.81"))
    srv.reload()
    srv.wait_soa(INSIDE, "example.com.", 3)
    expect(srv, OUTSIDE, "www.example.com.", dns.rcode.NOERROR, ["192.0.2.81"])
    expect(srv, INSIDE, "www.example.com.", dns.rcode.NOERROR, ["10.1.1.2"])
    expect(srv, OUTSIDE, "www.corp.example.", dns.rcode.REFUSED)

    # A view's zone that breaks keeps serving its previous version, in that
    # view; the rest of the reload goes through.
    start = srv.log_size()
    srv.write("example.com.inside.zone", "$ORIGIN example.com.\n@ SOA broken\n")
    srv.write("corp.example.zone", zone("corp.example.", 2, "10.0.0.81"))
    srv.reload()
    srv.wait_soa(INSIDE, "corp.example.", 2)
    srv.wait_log(r"zone example\.com\. \(view inside\): keeping the previous version \(serial 3\)",
                 start=start)
    expect(srv, INSIDE, "www.example.com.", dns.rcode.NOERROR, ["10.1.1.2"])
    expect(srv, INSIDE, "www.corp.example.", dns.rcode.NOERROR, ["10.0.0.81"])
    expect(srv, OUTSIDE, "www.example.com.", dns.rcode.NOERROR, ["192.0.2.81"])

    # Views themselves change at reload: corp.example. opens to everyone.
    cfg = srv.config_path.read_text()
    srv.extra_yaml = STANDARD_VIEWS.replace(
        "  - name: outside\n    match: [any]\n",
        "  - name: outside\n    match: [any]\n"
        "    zones: [{ name: corp.example., file: corp.example.zone }]\n")
    srv.write_config()
    assert srv.config_path.read_text() != cfg
    srv.reload()
    srv.wait_soa(OUTSIDE, "corp.example.", 2)
    expect(srv, OUTSIDE, "www.corp.example.", dns.rcode.NOERROR, ["10.0.0.81"])


TRAFFIC = """
endpoints:
  app-in: { address: [192.0.2.55] }
  web: { address: [192.0.2.66] }
traffic:
  app.corp.example.: { policy: app-in }
  web.example.: { policy: web }
"""


def test_traffic_names_follow_their_zone(tmp_path):
    # A traffic name under an inside-only zone answers inside only, even
    # where an outside zone (example.) encloses it.
    files = {"example.zone": zone("example.", 1, "192.0.2.9")}
    s = ViewServer(tmp_path / "srv", {**files, "corp.example.zone": zone("corp.example.", 1, "10.0.0.80"),
                                      "example.com.inside.zone": zone("example.com.", 2, "10.1.1.1")},
                   [("example.", "example.zone")], STANDARD_VIEWS + TRAFFIC,
                   ready=[(OUTSIDE, "example."), (INSIDE, "corp.example.")])
    s.start()
    try:
        expect(s, INSIDE, "app.corp.example.", dns.rcode.NOERROR, ["192.0.2.55"])
        expect(s, OUTSIDE, "app.corp.example.", dns.rcode.NXDOMAIN)
        r = ask(s, OUTSIDE, "app.corp.example.", tcp=True)
        assert [rr.rdtype for rr in r.authority] == [dns.rdatatype.SOA]
        assert str(r.authority[0].name) == "example."
        # A traffic name of a top-level zone answers in every view.
        expect(s, INSIDE, "web.example.", dns.rcode.NOERROR, ["192.0.2.66"])
        expect(s, OUTSIDE, "web.example.", dns.rcode.NOERROR, ["192.0.2.66"])
    finally:
        assert s.stop() == 0, s.log_tail()


def test_check_validates_views(tmp_path):
    d = tmp_path / "cfg"
    d.mkdir()
    (d / "corp.example.zone").write_text(zone("corp.example.", 1, "10.0.0.80"))
    (d / "bad.zone").write_text("$ORIGIN example.com.\n$TTL 300\n@ SOA ns hostmaster 1 1 1 1 1\n"
                                "@ NS ns\nwww A not-an-address\n")
    base = ("views:\n  - name: inside\n    match: [internal]\n    zones:\n"
            "      - { name: corp.example., file: corp.example.zone }\n")
    (d / "a.yaml").write_text(base)
    r = h.run_tool(["check", "-c", d / "a.yaml"])
    assert r.returncode == 1
    assert "a.yaml:3: views.match: 'internal' is neither an address, a prefix nor an ACL name" \
        in r.stderr
    (d / "b.yaml").write_text("acls:\n  internal: 127.0.0.2\n" + base +
                              "      - { name: example.com., file: bad.zone }\n")
    r = h.run_tool(["check", "-c", d / "b.yaml"])
    assert r.returncode == 1, r.stdout + r.stderr
    assert "bad.zone:5:" in r.stderr
    (d / "c.yaml").write_text("acls:\n  internal: 127.0.0.2\n" + base)
    r = h.run_tool(["check", "-c", d / "c.yaml"])
    assert r.returncode == 0, r.stderr
    assert "ok (1 zone, 4 records, 1 view)" in r.stdout


def test_api_views(tmp_path):
    from test_api import READ, WRITE, ApiServer
    src = tmp_path / "src"
    src.mkdir()
    for name, text in {"corp.example.zone": zone("corp.example.", 1, "10.0.0.80"),
                       "example.com.inside.zone": zone("example.com.", 2, "10.1.1.1"),
                       "example.com.zone": zone("example.com.", 1, "192.0.2.80")}.items():
        (src / name).write_text(text)
    s = ApiServer(tmp_path / "srv", STANDARD_VIEWS + "endpoints:\n  x: { address: 192.0.2.7 }\n",
                  zones=[("example.com.", src / "example.com.zone", [])],
                  files={"corp.example.zone": src / "corp.example.zone",
                         "example.com.inside.zone": src / "example.com.inside.zone"})
    s.start()
    try:
        st, zones = s.call("GET", "/v1/zones", token=READ)
        assert st == 200
        assert [(z["name"], z["view"], z["views"], z["serial"]) for z in zones] == [
            ("example.com.", None, ["outside"], 1),
            ("corp.example.", "inside", ["inside"], 1),
            ("example.com.", "inside", ["inside"], 2)]

        def upsert(ip, view=None):
            q = f"?view={view}" if view else ""
            return s.call("POST", f"/v1/zones/example.com./changes{q}", {"changes": [
                {"action": "UPSERT", "name": "www.example.com.", "type": "A", "ttl": 60,
                 "records": [ip]}]}, token=WRITE)

        st, body = upsert("10.1.1.9", "inside")
        assert st == 200 and body["serial"] == 3, body
        expect(s, INSIDE, "www.example.com.", dns.rcode.NOERROR, ["10.1.1.9"])
        expect(s, OUTSIDE, "www.example.com.", dns.rcode.NOERROR, ["192.0.2.80"])
        st, body = upsert("192.0.2.99")
        assert st == 200 and body["serial"] == 2, body
        expect(s, OUTSIDE, "www.example.com.", dns.rcode.NOERROR, ["192.0.2.99"])
        expect(s, INSIDE, "www.example.com.", dns.rcode.NOERROR, ["10.1.1.9"])
        expect(s, INSIDE, "www.corp.example.", dns.rcode.NOERROR, ["10.0.0.80"])

        st, body = upsert("192.0.2.1", "nope")
        assert st == 404 and body["error"] == "no view 'nope'", body
        st, body = s.call("POST", "/v1/zones/corp.example./changes", {"changes": []}, token=WRITE)
        assert st == 404 and body["error"] == "no zone 'corp.example.'", body
        st, body = s.call("POST", "/v1/zones/example.org./changes?view=inside",
                          {"changes": []}, token=WRITE)
        assert st == 404 and body["error"] == "no zone 'example.org.' in view 'inside'", body

        st, rrsets = s.call("GET", "/v1/zones/example.com./rrsets?view=inside", token=READ)
        assert st == 200
        assert {"name": "www.example.com.", "type": "A", "ttl": 60,
                "records": ["10.1.1.9"]} in rrsets

        # simulate: the client address chooses the view
        st, r = s.call("GET", "/v1/simulate?name=www.corp.example.&client=127.0.0.2", token=READ)
        assert st == 200 and r["view"] == "inside" and r["rcode"] == "NOERROR", r
        assert [a["data"] for a in r["answer"]] == ["10.0.0.80"]
        st, r = s.call("GET", "/v1/simulate?name=www.corp.example.&client=127.0.0.1", token=READ)
        assert st == 200 and r["view"] == "outside" and r["rcode"] == "REFUSED", r

        # The changes are stored per view: a reload and a restart keep them apart.
        s.reload()
        s.wait_log(r"reload done")
        expect(s, INSIDE, "www.example.com.", dns.rcode.NOERROR, ["10.1.1.9"])
        expect(s, OUTSIDE, "www.example.com.", dns.rcode.NOERROR, ["192.0.2.99"])
        assert s.stop() == 0, s.log_tail()
        s.start()
        expect(s, INSIDE, "www.example.com.", dns.rcode.NOERROR, ["10.1.1.9"])
        expect(s, OUTSIDE, "www.example.com.", dns.rcode.NOERROR, ["192.0.2.99"])
        assert ask(s, INSIDE, "example.com.", "SOA").answer[0][0].serial == 3
    finally:
        assert s.stop() == 0, s.log_tail()


VIEW_TRAFFIC = """
acls:
  internal: ["127.0.0.2/32"]
endpoints:
  lb-in: { address: [10.9.9.9] }
  lb-out: { address: [192.0.2.99] }
  only-in: { address: [10.7.7.7] }
traffic:
  lb.example.com.: { policy: lb-out }
views:
  - name: inside
    match: [internal]
    zones: [{ name: corp.example., file: corp.example.zone }]
    traffic:
      lb.example.com.: { ttl: 30, policy: lb-in }
      svc.example.com.: { policy: only-in }
      app.corp.example.: { policy: { failover: [only-in, lb-in] } }
  - name: outside
    match: [any]
"""


def test_view_traffic(tmp_path):
    # A view's own traffic entry replaces the top-level one for its clients;
    # a name only in the view answers only there. The API changes top-level
    # traffic only: the view's entry stays, also across a reload.
    from test_api import WRITE, ApiServer
    src = tmp_path / "src"
    src.mkdir()
    for name, text in {"corp.example.zone": zone("corp.example.", 1, "10.0.0.80"),
                       "example.com.zone": zone("example.com.", 1, "192.0.2.80")}.items():
        (src / name).write_text(text)
    s = ApiServer(tmp_path / "srv", VIEW_TRAFFIC,
                  zones=[("example.com.", src / "example.com.zone", [])],
                  files={"corp.example.zone": src / "corp.example.zone"})
    s.start()
    try:
        def check(outside_lb):
            expect(s, INSIDE, "lb.example.com.", dns.rcode.NOERROR, ["10.9.9.9"])
            expect(s, OUTSIDE, "lb.example.com.", dns.rcode.NOERROR, [outside_lb])
            assert ask(s, INSIDE, "lb.example.com.").answer[0].ttl == 30
            assert ask(s, OUTSIDE, "lb.example.com.").answer[0].ttl == 60
            expect(s, INSIDE, "svc.example.com.", dns.rcode.NOERROR, ["10.7.7.7"])
            expect(s, OUTSIDE, "svc.example.com.", dns.rcode.NXDOMAIN)
            expect(s, INSIDE, "app.corp.example.", dns.rcode.NOERROR, ["10.7.7.7"])
            expect(s, OUTSIDE, "app.corp.example.", dns.rcode.REFUSED)
            # The zone's own names are untouched.
            expect(s, INSIDE, "www.example.com.", dns.rcode.NOERROR, ["192.0.2.80"])

        check("192.0.2.99")
        st, body = s.call("PUT", "/v1/traffic/lb.example.com.", {"policy": "only-in"},
                          token=WRITE)
        assert st in (200, 201), body
        check("10.7.7.7")
        s.reload()
        s.wait_log(r"reload done")
        check("10.7.7.7")
    finally:
        assert s.stop() == 0, s.log_tail()
