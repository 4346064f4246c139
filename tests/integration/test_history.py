# SPDX-License-Identifier: GPL-3.0-or-later
"""A zone's change history (src/server/zone/history.h), which IXFR serves:

- an API change is logged: GET /v1/zones/{zone}/changes?since=OLD lists it, and
  an IXFR from OLD (dnspython's inbound_xfr) brings a copy of the zone at OLD to
  exactly what AXFR gives now;
- a zone file edited and reloaded (SIGHUP) is diffed against the zone served
  (Knot's zonefile-load: difference): its serial when it was raised (alone, an
  SOA-only change), else the next by serial_policy (increment: +1; unixtime:
  the time), the served serial never going backwards; a reload without a
  change keeps serial and history;
- the history survives a restart (the store's journal), but not a file edited
  while runwayd was stopped (the serial moves on, older serials are "too old");
- journal_max_depth condenses the oldest changes into one: the first serial is
  still answered, coarser, the ones merged away and older ones are "too old".
"""
from __future__ import annotations

import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.xfr
import dns.zone
import pytest

import dnsharness as h
from test_api import READ, ApiServer

pytestmark = pytest.mark.runway_only

ZONE = "example.com."

ZONE_TEXT = """$ORIGIN example.com.
$TTL 3600
@       IN SOA ns1.example.com. hostmaster.example.com. {serial} 7200 3600 1209600 300
@       IN NS  ns1.example.com.
ns1     IN A   192.0.2.53
www     IN A   192.0.2.1
www     IN A   192.0.2.2
mail    IN MX  10 mx.example.com.
old     IN TXT "going"
{extra}"""


class HistoryServer(ApiServer):
    """runwayd with one zone, its transfer allowed from loopback, and extra
    zone settings (serial_policy, journal_max_depth)."""

    def __init__(self, workdir, zone_opts=""):
        self.zone_opts = zone_opts
        zfile = workdir / "example.com.zone"
        workdir.mkdir(parents=True, exist_ok=True)
        zfile.write_text(ZONE_TEXT.format(serial=100, extra=""))
        super().__init__(workdir / "srv", traffic_yaml="# no traffic names\n",
                         zones=[(ZONE, zfile, [])])

    def runway_config(self) -> str:
        opts = '    allow_transfer: [{ match: ["127.0.0.0/8"] }]\n' + self.zone_opts
        return super().runway_config().replace("    file: example.com.zone\n",
                                               "    file: example.com.zone\n" + opts, 1)

    def post(self, *changes):
        st, body = self.call("POST", f"/v1/zones/{ZONE}/changes", {"changes": list(changes)})
        assert st == 200, body
        return body["serial"]

    def since(self, serial):
        return self.call("GET", f"/v1/zones/{ZONE}/changes?since={serial}", token=READ)

    def edit(self, serial, extra):
        """The zone file with another serial and extra records, reloaded."""
        self.write_zone(ZONE, ZONE_TEXT.format(serial=serial, extra=extra))
        at = self.log_size()
        self.reload()
        self.wait_log("reload done", start=at)

    def axfr(self):
        return dns.zone.from_xfr(dns.query.xfr("127.0.0.1", ZONE, port=self.port, timeout=5))

    def ixfr_onto(self, z):
        """Bring z (a copy at some serial) up to date by IXFR; returns the
        kind of transfer dnspython saw."""
        q, serial = dns.xfr.make_query(z)
        assert serial is not None
        dns.query.inbound_xfr("127.0.0.1", z, q, port=self.port, timeout=5)
        return serial


def upsert(name, rtype, ttl, *records):
    return {"action": "UPSERT", "name": name, "type": rtype, "ttl": ttl, "records": list(records)}


def records(z):
    """A zone's records but the SOA, as (name, ttl, type, text)."""
    out = set()
    for name, node in z.nodes.items():
        for rds in node.rdatasets:
            if rds.rdtype == dns.rdatatype.SOA:
                continue
            for rd in rds:
                out.add((name.derelativize(z.origin).to_text(), rds.ttl,
                         dns.rdatatype.to_text(rds.rdtype),
                         rd.to_text(origin=z.origin, relativize=False)))
    return out


def soa_serial_of(z):
    return z.get_soa().serial


def ixfr_soas(srv, serial):
    """The SOA serials of an IXFR from serial, in order (one message: the
    changes here are small): [new, from, to, from, to, ..., new] when it is
    incremental, [new, new] in the AXFR form, [new] when up to date."""
    q = dns.message.make_query(ZONE, "IXFR")
    q.authority.append(dns.rrset.from_text(ZONE, 0, "IN", "SOA", f". . {serial} 0 0 0 0"))
    r = dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=5, one_rr_per_rrset=True)
    assert r.rcode() == dns.rcode.NOERROR
    return [rr[0].serial for rr in r.answer if rr.rdtype == dns.rdatatype.SOA]


def assert_ixfr_reaches(srv, copy, chain):
    """IXFR onto copy (at chain[0]) is incremental through the serials of
    chain and gives what AXFR gives now, serial included."""
    new = srv.soa_serial(ZONE)
    assert chain[-1] == new
    steps = [x for a, b in zip(chain, chain[1:]) for x in (a, b)]
    assert ixfr_soas(srv, chain[0]) == [new] + steps + [new]
    srv.ixfr_onto(copy)
    now = srv.axfr()
    assert soa_serial_of(copy) == soa_serial_of(now) == srv.soa_serial(ZONE)
    assert records(copy) == records(now)


@pytest.fixture
def server(tmp_path, request):
    srv = HistoryServer(tmp_path, getattr(request, "param", ""))
    srv.start()
    yield srv
    was_running = srv.alive()
    rc = srv.stop()
    assert not was_running or rc == 0, f"runwayd exited with {rc}:\n{srv.log_tail()}"


def test_api_change_logged_and_served_by_ixfr(server):
    s0 = server.soa_serial(ZONE)
    assert s0 == 100
    at_s0 = server.axfr()
    s1 = server.post(upsert("www.example.com.", "A", 3600, "192.0.2.1", "192.0.2.3"))
    assert s1 == 101
    st, body = server.since(s0)
    assert st == 200 and body["changes"] == [
        {"from": 100, "to": 101, "removed": ["www.example.com. 3600 IN A 192.0.2.2"],
         "added": ["www.example.com. 3600 IN A 192.0.2.3"]}], body
    assert_ixfr_reaches(server, at_s0, [100, 101])
    assert ("www.example.com.", 3600, "A", "192.0.2.3") in records(at_s0)


def test_reload_raised_serial(server):
    at_100 = server.axfr()
    # www loses a record, mail's TTL changes, old goes, new comes; serial 200
    text = ZONE_TEXT.format(serial=200, extra='new IN TXT "here"\n')
    text = text.replace("www     IN A   192.0.2.2\n", "").replace("mail    IN MX", "mail 60 IN MX")
    text = text.replace('old     IN TXT "going"\n', "")
    server.write_zone(ZONE, text)
    at = server.log_size()
    server.reload()
    server.wait_log("reload done", start=at)
    assert server.soa_serial(ZONE) == 200
    st, body = server.since(100)
    assert st == 200, body
    assert [(c["from"], c["to"]) for c in body["changes"]] == [(100, 200)]
    c = body["changes"][0]
    assert sorted(c["removed"]) == sorted([
        "www.example.com. 3600 IN A 192.0.2.2", "mail.example.com. 3600 IN MX 10 mx.example.com.",
        'old.example.com. 3600 IN TXT "going"'])
    assert sorted(c["added"]) == sorted([
        "mail.example.com. 60 IN MX 10 mx.example.com.", 'new.example.com. 3600 IN TXT "here"'])
    assert_ixfr_reaches(server, at_100, [100, 200])
    # A file whose serial went backwards with another change: the served
    # serial does not; increment gives the next.
    server.edit(150, 'later IN A 192.0.2.9\n')
    assert server.soa_serial(ZONE) == 201
    st, body = server.since(200)
    assert st == 200 and [(c["from"], c["to"]) for c in body["changes"]] == [(200, 201)], body
    c = body["changes"][0]
    assert sorted(c["removed"]) == sorted([
        'new.example.com. 3600 IN TXT "here"', "mail.example.com. 60 IN MX 10 mx.example.com."])
    assert sorted(c["added"]) == sorted([
        "www.example.com. 3600 IN A 192.0.2.2", "mail.example.com. 3600 IN MX 10 mx.example.com.",
        'old.example.com. 3600 IN TXT "going"', "later.example.com. 3600 IN A 192.0.2.9"])
    assert ixfr_soas(server, 100) == [201, 100, 200, 200, 201, 201]
    assert_ixfr_reaches(server, at_100, [200, 201])       # the copy is at 200 now


def test_reload_same_serial_increment(server):
    at_100 = server.axfr()
    s1 = server.post(upsert("api.example.com.", "A", 60, "192.0.2.7"))
    assert s1 == 101
    # the file edited without raising its serial: a difference, so the next serial
    server.edit(100, "added IN A 192.0.2.8\n")
    assert server.soa_serial(ZONE) == 102
    st, body = server.since(100)
    assert st == 200 and body["changes"][1] == {
        "from": 101, "to": 102, "removed": [], "added": ["added.example.com. 3600 IN A 192.0.2.8"]}
    # the stored API change stays on top of the file
    h_api = ("api.example.com.", 60, "A", "192.0.2.7")
    assert h_api in records(server.axfr())
    assert_ixfr_reaches(server, at_100, [100, 101, 102])
    # the same file again, or only the file's serial moved back: nothing changed
    server.edit(100, "added IN A 192.0.2.8\n")
    server.edit(99, "added IN A 192.0.2.8\n")
    assert server.soa_serial(ZONE) == 102
    st, body = server.since(100)
    assert st == 200 and len(body["changes"]) == 2, body
    # only the file's serial raised: taken, a change of the SOA alone (as
    # knotd's zonefile-load: difference)
    server.edit(300, "added IN A 192.0.2.8\n")
    assert server.soa_serial(ZONE) == 300
    st, body = server.since(102)
    assert st == 200 and body["changes"] == [
        {"from": 102, "to": 300, "removed": [], "added": []}], body
    assert ixfr_soas(server, 102) == [300, 102, 300, 300]


@pytest.mark.parametrize("server", ["    serial_policy: unixtime\n"], indirect=True)
def test_reload_same_serial_unixtime(server):
    before = int(time.time())
    server.edit(100, "added IN A 192.0.2.8\n")
    after = int(time.time())
    serial = server.soa_serial(ZONE)
    assert before <= serial <= after
    st, body = server.since(100)
    assert st == 200 and [(c["from"], c["to"]) for c in body["changes"]] == [(100, serial)]
    # an API change: the time, or +1 when the time is not newer (the same second)
    t0 = int(time.time())
    s2 = server.post(upsert("api.example.com.", "A", 60, "192.0.2.7"))
    t1 = int(time.time())
    assert s2 > serial and (s2 == serial + 1 or t0 <= s2 <= t1), (serial, s2, t0, t1)


def test_restart_keeps_history(server):
    at_100 = server.axfr()
    s1 = server.post(upsert("api.example.com.", "A", 60, "192.0.2.7"))
    server.edit(100, "added IN A 192.0.2.8\n")
    s2 = server.soa_serial(ZONE)
    assert (s1, s2) == (101, 102)
    assert server.stop() == 0
    server.start()
    assert server.soa_serial(ZONE) == 102
    st, body = server.since(100)
    assert st == 200 and [(c["from"], c["to"]) for c in body["changes"]] == [(100, 101), (101, 102)]
    assert_ixfr_reaches(server, at_100, [100, 101, 102])
    # Only the serial raised while stopped: taken, the log goes on.
    assert server.stop() == 0
    server.write_zone(ZONE, ZONE_TEXT.format(serial=400, extra="added IN A 192.0.2.8\n"))
    server.start()
    assert server.soa_serial(ZONE) == 400
    st, body = server.since(100)
    assert st == 200 and [(c["from"], c["to"]) for c in body["changes"]] == [
        (100, 101), (101, 102), (102, 400)], body
    # Edited while stopped (serial not raised): the history cannot say how,
    # the serial moves on, older serials are too old.
    assert server.stop() == 0
    server.write_zone(ZONE, ZONE_TEXT.format(serial=100, extra="added IN A 192.0.2.99\n"))
    server.start()
    assert server.soa_serial(ZONE) == 401
    st, body = server.since(400)
    assert st == 410 and "does not reach back" in body["error"], body
    st, body = server.since(401)
    assert st == 200 and body["changes"] == [], body
    # ...and the log goes on from there
    server.post(upsert("api2.example.com.", "A", 60, "192.0.2.70"))
    st, body = server.since(401)
    assert st == 200 and [(c["from"], c["to"]) for c in body["changes"]] == [(401, 402)]


@pytest.mark.parametrize("server", ["    journal_max_depth: 2\n"], indirect=True)
def test_depth_condensed(server):
    at_100 = server.axfr()
    # 101: x added; 102: x changed; 103: x changed back... 104: y added
    server.post(upsert("x.example.com.", "A", 60, "192.0.2.1"))
    server.post(upsert("x.example.com.", "A", 60, "192.0.2.2"))
    server.post(upsert("www.example.com.", "A", 3600, "192.0.2.1"))
    s4 = server.post(upsert("y.example.com.", "A", 60, "192.0.2.4"))
    assert s4 == 104
    # two entries: the oldest condensed (100 -> 103), then 103 -> 104
    st, body = server.since(100)
    assert st == 200 and [(c["from"], c["to"]) for c in body["changes"]] == [(100, 103), (103, 104)]
    first = body["changes"][0]
    # x came as .1 and changed to .2: only .2 is added; www lost .2
    assert first["added"] == ["x.example.com. 60 IN A 192.0.2.2"], first
    assert first["removed"] == ["www.example.com. 3600 IN A 192.0.2.2"], first
    # serials merged away, and older than the first: too old
    for serial in (101, 102, 99):
        st, body = server.since(serial)
        assert st == 410, (serial, body)
    assert ixfr_soas(server, 101) == [104, 104]          # merged away: the AXFR form
    assert_ixfr_reaches(server, at_100, [100, 103, 104])
    # the same after a restart (the store keeps the condensed log)
    assert server.stop() == 0
    server.start()
    st, body = server.since(100)
    assert st == 200 and [(c["from"], c["to"]) for c in body["changes"]] == [(100, 103), (103, 104)]


@pytest.mark.parametrize("server", ["    journal_max_size: 64k\n"], indirect=True)
def test_size_bound(server):
    # small changes fit; one change larger than journal_max_size alone empties
    # the journal (an AXFR costs about as much), and the log goes on after it
    s1 = server.post(upsert("a.example.com.", "A", 60, "192.0.2.1"))
    st, body = server.since(100)
    assert st == 200 and len(body["changes"]) == 1, body
    big = [f'"{i:04d} {"x" * 240}"' for i in range(100)]       # 4 x ~25 KB of TXT
    s2 = server.post(*[upsert(f"big{k}.example.com.", "TXT", 60, *big) for k in range(4)])
    assert s2 == s1 + 1
    for serial in (100, s1):
        st, body = server.since(serial)
        assert st == 410, (serial, body)
    # the AXFR form (in several messages: the first is SOA then the records)
    q = dns.message.make_query(ZONE, "IXFR")
    q.authority.append(dns.rrset.from_text(ZONE, 0, "IN", "SOA", f". . {s1} 0 0 0 0"))
    r = dns.query.tcp(q, "127.0.0.1", port=server.port, timeout=5, one_rr_per_rrset=True)
    assert r.answer[0].rdtype == dns.rdatatype.SOA and r.answer[0][0].serial == s2
    assert r.answer[1].rdtype != dns.rdatatype.SOA
    s3 = server.post(upsert("a.example.com.", "A", 60, "192.0.2.3"))
    st, body = server.since(s2)
    assert st == 200 and [(c["from"], c["to"]) for c in body["changes"]] == [(s2, s3)], body


def test_view_zone_history(tmp_path):
    """A view's own zone has a history of its own (store key @VIEW/zone):
    API changes with ?view=, a reload of its file, a restart; IXFR from a
    client of the view."""
    srv = HistoryServer(tmp_path)
    (srv.workdir / "inside.zone").write_text(ZONE_TEXT.format(serial=500, extra=""))
    srv.traffic_yaml = (
        "views:\n  - name: inside\n    match: 127.0.0.2\n    zones:\n"
        '      - { name: example.com., file: inside.zone, '
        'allow_transfer: [{ match: ["127.0.0.0/8"] }] }\n'
        "  - name: outside\n    match: [any]\n")
    inside = "127.0.0.2"

    def serial_in_view():
        q = dns.message.make_query(ZONE, "SOA")
        r = dns.query.udp(q, "127.0.0.1", port=srv.port, source=inside, timeout=3)
        return r.answer[0][0].serial

    def since_in_view(serial):
        return srv.call("GET", f"/v1/zones/{ZONE}/changes?since={serial}&view=inside", token=READ)

    srv.start()
    try:
        assert serial_in_view() == 500 and srv.soa_serial(ZONE) == 100
        st, body = srv.call("POST", f"/v1/zones/{ZONE}/changes?view=inside", {"changes": [
            upsert("api.example.com.", "A", 60, "192.0.2.7")]})
        assert st == 200 and body["serial"] == 501, body
        path = srv.workdir / "inside.zone"
        path.write_text(ZONE_TEXT.format(serial=500, extra="lab IN A 192.0.2.8\n"))
        at = srv.log_size()
        srv.reload()
        srv.wait_log("reload done", start=at)
        assert serial_in_view() == 502 and srv.soa_serial(ZONE) == 100
        st, body = since_in_view(500)
        assert st == 200 and [(c["from"], c["to"]) for c in body["changes"]] == [
            (500, 501), (501, 502)], body
        assert body["changes"][1]["added"] == ["lab.example.com. 3600 IN A 192.0.2.8"]
        st, body = srv.since(100)                       # the top-level zone: untouched
        assert st == 200 and body["changes"] == [], body
        # IXFR from a client of the view: its own history
        q = dns.message.make_query(ZONE, "IXFR")
        q.authority.append(dns.rrset.from_text(ZONE, 0, "IN", "SOA", ". . 500 0 0 0 0"))
        r = dns.query.tcp(q, "127.0.0.1", port=srv.port, source=inside, timeout=5,
                          one_rr_per_rrset=True)
        assert [rr[0].serial for rr in r.answer if rr.rdtype == dns.rdatatype.SOA] == [
            502, 500, 501, 501, 502, 502]
        assert srv.stop() == 0
        srv.start()
        assert serial_in_view() == 502
        st, body = since_in_view(500)
        assert st == 200 and len(body["changes"]) == 2, body
    finally:
        srv.stop()


def test_reload_without_store(tmp_path):
    """Without api.data the history lives in memory only: a reload's
    difference is still served by IXFR (and a restart starts it again)."""

    class Plain(h.DnsServer):
        def runway_config(self) -> str:
            return super().runway_config().replace(
                "    file: example.com.zone\n",
                '    file: example.com.zone\n    allow_transfer: [{ match: ["127.0.0.1"] }]\n', 1)

    zfile = tmp_path / "example.com.zone"
    zfile.write_text(ZONE_TEXT.format(serial=100, extra=""))
    srv = Plain("runway", tmp_path / "srv", [(ZONE, zfile, [])])
    srv.start()
    try:
        srv.write_zone(ZONE, ZONE_TEXT.format(serial=100, extra="added IN A 192.0.2.8\n"))
        at = srv.log_size()
        srv.reload()
        srv.wait_log("reload done", start=at)
        assert srv.soa_serial(ZONE) == 101
        assert ixfr_soas(srv, 100) == [101, 100, 101, 101]
    finally:
        srv.stop()
