# SPDX-License-Identifier: GPL-3.0-or-later
"""Traffic names rendered into transferred zones (control/render.c,
docs/transfers.md "What secondaries that are not runway serve for traffic
names").

A runwayd primary with allow_transfer holds, at each traffic name of the
zone, the records a client with no location gets now: a failover name the
address of its first healthy endpoint, a weighted name that of the heaviest
healthy child. When the primary endpoint's TCP listener closes, its health
check fails and within seconds the serial rises and IXFR from the old
serial replaces the A record by the backup's; a Knot secondary (NOTIFY,
IXFR) answers the rendered record, then the new one. runwayd's own answers
stay steered; other types at a traffic name come from the zone. A zone with
render_traffic: false transfers no rendering; a reload that changes nothing
keeps the serial, and a restart the serial and the change log a rendering
raised (the store)."""
import re
import socket
import time

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

import dnsharness as h
import peers as p
import steer_helpers as sh

pytestmark = pytest.mark.runway_only

PRIMARY, BACKUP = "127.0.0.61", "127.0.0.62"
LIGHT, HEAVY = "127.0.0.63", "127.0.0.64"
ZONE = "render.example."
OTHER = "plain.example."
SERIAL = 2026120701

ZONE_TEXT = f"""$ORIGIN {ZONE}
$TTL 300
@    IN SOA ns1 hostmaster {SERIAL} 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   127.0.0.1
fo   IN TXT "failover name"
fo   IN A   192.0.2.99
host IN A   192.0.2.7
cnx  IN TXT "a CNAME cannot join this"
"""

OTHER_TEXT = f"""$ORIGIN {OTHER}
$TTL 300
@    IN SOA ns1 hostmaster 1 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   127.0.0.1
"""


def traffic_yaml(tcp_port, apex=False):
    apex_alias = f"  {ZONE}: {{ alias: w.{ZONE} }}\n" if apex else ""
    return f"""health_checks:
  port: {{ type: tcp, port: {tcp_port}, interval: 200ms, timeout: 150ms, rise: 2, fall: 2 }}
endpoints:
  primary: {{ address: [{PRIMARY}], target: a.srv.{ZONE}, health_check: port }}
  backup: {{ address: [{BACKUP}], target: b.srv.{ZONE} }}
  light: {{ address: [{LIGHT}] }}
  heavy: {{ address: [{HEAVY}] }}
  cdn: {{ cname: edge.cdn.example.net. }}
traffic:
  fo.{ZONE}:
    ttl: 30
    policy: {{ failover: [primary, backup] }}
  w.{ZONE}:
    ttl: 20
    policy: {{ weighted: {{ light: 10, heavy: 90 }} }}
  cn.{ZONE}: {{ policy: {{ failover: [cdn, backup] }} }}
  cnx.{ZONE}: {{ policy: {{ failover: [cdn, backup] }} }}
  alias.{ZONE}: {{ alias: fo.{ZONE} }}
  static.{ZONE}: {{ alias: host.{ZONE}, ttl: 600 }}
  _sip._tcp.{ZONE}:
    ttl: 40
    srv:
      - {{ endpoint: primary, port: 5060, priority: 10, weight: 5 }}
      - {{ endpoint: backup, port: 5061, priority: 20, weight: 0 }}
  x.{OTHER}:
    policy: {{ failover: [primary, backup] }}
""" + apex_alias


def a_records(rrs, name):
    return sorted(rd for (n, ttl, t, rd) in rrs if n == name and t == dns.rdatatype.A)


def ttl_of(rrs, name, rdtype):
    return {ttl for (n, ttl, t, rd) in rrs if n == name and t == rdtype}


def records(rrs, name, rdtype):
    return sorted(rd for (n, ttl, t, rd) in rrs if n == name and t == rdtype)


def ixfr_steps(recs):
    """An IXFR answer (ixfr()) as its difference sequences:
    [(serial from, serial to, {removed}, {added})], records as (name,
    rdtype, rdata text)."""
    assert recs[0][1] == dns.rdatatype.SOA and recs[-1] == recs[0], recs
    steps, i, body = [], 1, recs[1:-1]
    while body:
        assert body[0][1] == dns.rdatatype.SOA
        old = int(body[0][2].split()[2])
        j = next(k for k in range(1, len(body)) if body[k][1] == dns.rdatatype.SOA)
        removed = set(body[1:j])
        new = int(body[j][2].split()[2])
        k = next((k for k in range(j + 1, len(body)) if body[k][1] == dns.rdatatype.SOA), len(body))
        steps.append((old, new, removed, set(body[j + 1:k])))
        body = body[k:]
    return steps


def ixfr(port, zone, serial, timeout=10.0):
    """IXFR from serial over TCP: the answer's records in order, as
    (name, rdtype, rdata text)."""
    q = dns.message.make_query(zone, "IXFR")
    q.authority.append(dns.rrset.from_text(zone, 0, "IN", "SOA", f". . {serial} 0 0 0 0"))
    out = []
    deadline = time.monotonic() + timeout
    with socket.create_connection((p.HOST, port), timeout=timeout) as s:
        s.sendall(h.tcp_frame(q.to_wire()))
        for _ in range(16):                  # a small IXFR: one message or a few
            m = dns.message.from_wire(h.tcp_read_msg(s), one_rr_per_rrset=True, xfr=True)
            assert m.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(m.rcode())
            for rrset in m.answer:
                for rd in rrset:
                    out.append((rrset.name.to_text().lower(), rrset.rdtype, rd.to_text()))
            soas = [r for r in out if r[1] == dns.rdatatype.SOA]
            first = soas[0][2].split()[2] if soas else None
            # whole: the new SOA opens and closes it (SOA alone: up to date)
            if len(out) > 1 and out[-1][1] == dns.rdatatype.SOA and out[-1][2].split()[2] == first \
                    and len(soas) >= 3:
                break
            if time.monotonic() > deadline:
                break
    return out


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("render")
    tcp = sh.TcpBackend(PRIMARY)
    rw = p.RunwayPeer(d / "rw", api=True, extra=traffic_yaml(tcp.port))   # api.data: a store
    knot = p.KnotPeer(d / "knot")
    rw.add_zone(p.Zone(ZONE, text=ZONE_TEXT, allow_transfer=[p.Acl("any")],
                       notify=[knot.remote()]))
    rw.add_zone(p.Zone(OTHER, text=OTHER_TEXT, allow_transfer=[p.Acl("any")],
                       extra={"runway": {"render_traffic": "false"}}))
    knot.add_zone(p.Zone(ZONE, primaries=[rw.remote()]))
    with p.Peers() as peers:
        try:
            peers.start(rw)
            sh.wait_until(lambda: tcp.accepted >= 2, 10, "TCP probes")
            peers.start(knot)
            yield rw, knot, tcp
        finally:
            tcp.stop()
        bad = peers.stop_all()
        assert not bad, [(str(x), rc, x.log_tail()) for x, rc in bad]


def serial_of(rw, zone=ZONE):
    return rw.soa_serial(zone, timeout=1.0)


def test_axfr_holds_the_rendering(setup):
    rw, knot, tcp = setup
    rrs = rw.axfr(ZONE)
    # failover: the first healthy endpoint; the file's A at the name replaced
    assert a_records(rrs, f"fo.{ZONE}") == [PRIMARY]
    assert ttl_of(rrs, f"fo.{ZONE}", dns.rdatatype.A) == {30}
    # other types at a traffic name stay the zone's
    assert any(n == f"fo.{ZONE}" and t == dns.rdatatype.TXT for (n, _, t, _) in rrs)
    # weighted: the heaviest healthy child, never a random one
    assert a_records(rrs, f"w.{ZONE}") == [HEAVY]
    assert ttl_of(rrs, f"w.{ZONE}", dns.rdatatype.A) == {20}
    # ALIAS: the target's policy, or the records of a zone name (the
    # smaller TTL, as the steer stage answers)
    assert a_records(rrs, f"alias.{ZONE}") == [PRIMARY]
    assert a_records(rrs, f"static.{ZONE}") == ["192.0.2.7"]
    assert ttl_of(rrs, f"static.{ZONE}", dns.rdatatype.A) == {300}
    # SRV pool: the healthy members
    assert records(rrs, f"_sip._tcp.{ZONE}", dns.rdatatype.SRV) == [
        f"10 5 5060 a.srv.{ZONE}", f"20 0 5061 b.srv.{ZONE}"]
    assert ttl_of(rrs, f"_sip._tcp.{ZONE}", dns.rdatatype.SRV) == {40}
    # a CNAME endpoint: the CNAME alone, but not where the name has other
    # records (RFC 1034 3.6.2): nothing there then
    assert records(rrs, f"cn.{ZONE}", dns.rdatatype.CNAME) == ["edge.cdn.example.net."]
    assert [t for (n, _, t, _) in rrs if n == f"cnx.{ZONE}"] == [dns.rdatatype.TXT]
    # all of it in the version loaded at start: the file's serial
    assert rrs[0][3].split()[2] == str(SERIAL)
    # render_traffic: false: nothing at the traffic name
    assert a_records(rw.axfr(OTHER), f"x.{OTHER}") == []


def test_runway_answers_stay_steered(setup):
    rw, knot, tcp = setup
    r = rw.answer(f"fo.{ZONE}", "A")
    assert [x.to_text() for rrset in r.answer for x in rrset] == [PRIMARY]
    r = rw.answer(f"fo.{ZONE}", "TXT")
    assert r.rcode() == dns.rcode.NOERROR and r.answer
    r = rw.answer(f"fo.{ZONE}", "MX")          # NODATA, not NXDOMAIN
    assert r.rcode() == dns.rcode.NOERROR and not r.answer and r.authority
    # a traffic name of a zone without rendering still answers from its policy
    r = rw.answer(f"x.{OTHER}", "A")
    assert [x.to_text() for rrset in r.answer for x in rrset] == [PRIMARY]


def test_reload_keeps_serial(setup):
    rw, knot, tcp = setup
    before = serial_of(rw)
    mark = rw.log_mark()
    rw.reload()
    rw.wait_log(r"reload done", since=mark)
    assert serial_of(rw) == before
    assert "traffic names rendered anew" not in rw.log_since(mark)


def test_health_change_reaches_knot_by_ixfr(setup):
    rw, knot, tcp = setup
    old = serial_of(rw)
    knot.wait_serial(ZONE, old, timeout=15)
    r = knot.answer(f"fo.{ZONE}", "A")
    assert [x.to_text() for rrset in r.answer for x in rrset] == [PRIMARY]

    kmark = knot.log_mark()
    t0 = tcp.stop()                            # the primary's check fails
    deadline = time.monotonic() + 10
    while serial_of(rw) == old and time.monotonic() < deadline:
        time.sleep(0.05)                       # poll while the rendering is due
    new = serial_of(rw)
    took = time.monotonic() - t0
    assert new == old + 1, rw.log_tail()
    sh.report(f"render: listener closed -> new serial on the primary in {took:.2f} s")
    assert took < 5

    # IXFR from the old serial: the primary's A out, the backup's in
    steps = ixfr_steps(ixfr(rw.port, ZONE, old))
    A, SRV = dns.rdatatype.A, dns.rdatatype.SRV
    assert steps == [(old, new,
                      {(f"fo.{ZONE}", A, PRIMARY), (f"alias.{ZONE}", A, PRIMARY),
                       (f"_sip._tcp.{ZONE}", SRV, f"10 5 5060 a.srv.{ZONE}"),
                       (f"_sip._tcp.{ZONE}", SRV, f"20 0 5061 b.srv.{ZONE}")},
                      {(f"fo.{ZONE}", A, BACKUP), (f"alias.{ZONE}", A, BACKUP),
                       (f"_sip._tcp.{ZONE}", SRV, f"20 0 5061 b.srv.{ZONE}")})], steps
    rrs = rw.axfr(ZONE)
    assert a_records(rrs, f"fo.{ZONE}") == [BACKUP]
    assert a_records(rrs, f"w.{ZONE}") == [HEAVY]
    assert records(rrs, f"_sip._tcp.{ZONE}", SRV) == [f"20 0 5061 b.srv.{ZONE}"]

    # Knot: NOTIFY, IXFR, the new record
    knot.wait_serial(ZONE, new, timeout=15)
    r = knot.answer(f"fo.{ZONE}", "A")
    assert [x.to_text() for rrset in r.answer for x in rrset] == [BACKUP]
    kinds = [k for k, _ in knot.wait_transfers("in", 1, kmark)]
    assert kinds and kinds[-1] == "IXFR", knot.log_since(kmark)

    # and back: the listener returns, the rendering follows
    tcp.start()
    knot.wait_serial(ZONE, new + 1, timeout=15)
    r = knot.answer(f"fo.{ZONE}", "A")
    assert [x.to_text() for rrset in r.answer for x in rrset] == [PRIMARY]
    assert len(re.findall(r"traffic names rendered anew", rw.log())) >= 2


def test_restart_keeps_serial_and_log(setup):
    """The renderings' serials and diffs are in the store: a restart with
    the same health serves the same serial (never an older one, which
    secondaries would ignore) and IXFR still answers from before it."""
    rw, knot, tcp = setup
    serial = serial_of(rw)
    recs_before = rw.axfr(ZONE)
    assert a_records(recs_before, f"fo.{ZONE}") == [PRIMARY]
    rw.restart()
    assert serial_of(rw) == serial, rw.log_tail()
    assert a_records(rw.axfr(ZONE), f"fo.{ZONE}") == [PRIMARY]
    steps = ixfr_steps(ixfr(rw.port, ZONE, serial - 2))
    assert [(a, b) for a, b, _, _ in steps] == [(serial - 2, serial - 1), (serial - 1, serial)]
    assert (f"fo.{ZONE}", dns.rdatatype.A, BACKUP) in steps[0][3] & steps[1][2]


def test_drain_and_api_change_rerender(setup):
    """API changes to the model (a drain, a zone change at a traffic name)
    are rendered within about a second, one serial each; a zone change to
    another name keeps the rendering."""
    rw, knot, tcp = setup
    old = serial_of(rw)
    assert a_records(rw.axfr(ZONE), f"w.{ZONE}") == [HEAVY]
    st, body = rw.call("POST", "/v1/endpoints/heavy/drain")
    assert st == 200, body
    t0 = time.monotonic()
    while serial_of(rw) == old and time.monotonic() < t0 + 10:
        time.sleep(0.05)                       # poll while the rendering is due
    assert serial_of(rw) == old + 1, rw.log_tail()
    steps = ixfr_steps(ixfr(rw.port, ZONE, old))
    assert steps == [(old, old + 1, {(f"w.{ZONE}", dns.rdatatype.A, HEAVY)},
                      {(f"w.{ZONE}", dns.rdatatype.A, LIGHT)})], steps
    knot.wait_serial(ZONE, old + 1, timeout=15)
    r = knot.answer(f"w.{ZONE}", "A")
    assert [x.to_text() for rrset in r.answer for x in rrset] == [LIGHT]
    st, body = rw.call("POST", "/v1/endpoints/heavy/undrain")
    assert st == 200, body
    knot.wait_serial(ZONE, old + 2, timeout=15)

    # an API change of another name: its own serial, the rendering stays
    serial = rw.change(ZONE, [{"action": "UPSERT", "name": f"txt.{ZONE}", "type": "TXT",
                               "ttl": 60, "records": ['"hello"']}])
    assert serial == old + 3
    time.sleep(1.5)                            # two ticks: no re-rendering may follow
    assert serial_of(rw) == old + 3
    rrs = rw.axfr(ZONE)
    assert a_records(rrs, f"fo.{ZONE}") == [PRIMARY] and a_records(rrs, f"w.{ZONE}") == [HEAVY]
    # an API change at a traffic name's rendered type: the rendering wins
    # (runwayd answers the policy there anyway)
    serial = rw.change(ZONE, [{"action": "UPSERT", "name": f"w.{ZONE}", "type": "A",
                               "ttl": 60, "records": ["192.0.2.55"]}])
    knot.wait_serial(ZONE, serial + 1, timeout=15)
    assert a_records(rw.axfr(ZONE), f"w.{ZONE}") == [HEAVY]


@pytest.fixture
def big(tmp_path):
    """A primary whose zone has 4200 CNAMEs to one name: a change of that
    name's A rebuilds more nodes than a patch takes (zone.h), so the zone
    is loaded afresh from its file and the store."""
    tcp = sh.TcpBackend(PRIMARY)
    rw = p.RunwayPeer(tmp_path / "rw", api=True, extra=traffic_yaml(tcp.port))
    cnames = "".join(f"c{i} IN CNAME tgt\n" for i in range(4200))
    rw.add_zone(p.Zone(ZONE, text=ZONE_TEXT + "tgt IN A 192.0.2.1\n" + cnames,
                       allow_transfer=[p.Acl("any")]))
    rw.add_zone(p.Zone(OTHER, text=OTHER_TEXT))
    with p.Peers() as peers:
        try:
            peers.start(rw)
            yield rw
        finally:
            tcp.stop()
        bad = peers.stop_all()
        assert not bad, [(str(x), rc, x.log_tail()) for x, rc in bad]


def test_full_load_keeps_rendering_without_a_serial(big):
    """A change loaded afresh (file and store, without the rendering) gets
    the rendering back at the next tick under its own serial: the change
    log never said it went, so no IXFR removes it, no second serial."""
    rw = big
    old = serial_of(rw)
    assert a_records(rw.axfr(ZONE), f"fo.{ZONE}") == [PRIMARY]
    mark = rw.log_mark()
    serial = rw.change(ZONE, [{"action": "UPSERT", "name": f"tgt.{ZONE}", "type": "A", "ttl": 60,
                               "records": ["192.0.2.2"]}])
    assert serial == old + 1
    rw.wait_log(r"1 change\(s\) applied, serial \d+ \(full load\)", since=mark)
    rw.wait_log(r"rendering of its traffic names put back .*serial %d kept" % serial, since=mark)
    rrs = rw.axfr(ZONE)
    assert a_records(rrs, f"fo.{ZONE}") == [PRIMARY] and a_records(rrs, f"w.{ZONE}") == [HEAVY]
    assert a_records(rrs, f"tgt.{ZONE}") == ["192.0.2.2"]
    assert serial_of(rw) == serial
    steps = ixfr_steps(ixfr(rw.port, ZONE, old))
    A = dns.rdatatype.A
    assert steps == [(old, serial, {(f"tgt.{ZONE}", A, "192.0.2.1")},
                      {(f"tgt.{ZONE}", A, "192.0.2.2")})], steps
    assert "rendered anew" not in rw.log_since(mark)


def axfr_from(port, zone, source):
    """AXFR from a given loopback source address: (name, ttl, rdtype, rdata)."""
    out = []
    for m in dns.query.xfr(p.HOST, zone, port=port, timeout=10, lifetime=10, source=source,
                           relativize=False):
        for rrset in m.answer:
            for rd in rrset:
                out.append((rrset.name.to_text().lower(), rrset.ttl, rrset.rdtype, rd.to_text()))
    return out


@pytest.fixture
def viewed(tmp_path):
    """Views: 'inside' (127.0.0.1) has its own copy of the zone and its own
    entry for fo (backup first); everyone else gets the top level's."""
    tcp = sh.TcpBackend(PRIMARY)
    extra = traffic_yaml(tcp.port, apex=True) + f"""views:
  - name: inside
    match: ["127.0.0.1/32"]
    zones:
      - {{ name: {ZONE}, file: inside.zone, allow_transfer: [{{ match: [any] }}] }}
    traffic:
      fo.{ZONE}: {{ ttl: 15, policy: {{ failover: [backup, primary] }} }}
  - name: outside
    match: [any]
"""
    rw = p.RunwayPeer(tmp_path / "rw", extra=extra)
    rw.add_zone(p.Zone(ZONE, text=ZONE_TEXT, allow_transfer=[p.Acl("any")]))
    rw.add_zone(p.Zone(OTHER, text=OTHER_TEXT))
    (tmp_path / "rw" / "inside.zone").write_text(ZONE_TEXT)
    with p.Peers() as peers:
        try:
            peers.start(rw)
            yield rw
        finally:
            tcp.stop()
        bad = peers.stop_all()
        assert not bad, [(str(x), rc, x.log_tail()) for x, rc in bad]


def test_views_render_their_own_entries(viewed):
    rw = viewed
    inside = axfr_from(rw.port, ZONE, "127.0.0.1")
    outside = axfr_from(rw.port, ZONE, "127.0.0.2")
    # the view's own zone: the view's entry for fo, the top level's for w
    assert a_records(inside, f"fo.{ZONE}") == [BACKUP]
    assert ttl_of(inside, f"fo.{ZONE}", dns.rdatatype.A) == {15}
    assert a_records(inside, f"w.{ZONE}") == [HEAVY]
    # the top-level zone: the top-level entries
    assert a_records(outside, f"fo.{ZONE}") == [PRIMARY]
    assert ttl_of(outside, f"fo.{ZONE}", dns.rdatatype.A) == {30}
    # an ALIAS at the apex: A records beside the SOA and NS (never a CNAME)
    for rrs in (inside, outside):
        assert a_records(rrs, ZONE) == [HEAVY]
        assert {t for (n, _, t, _) in rrs if n == ZONE} == {dns.rdatatype.SOA, dns.rdatatype.NS,
                                                             dns.rdatatype.A}
