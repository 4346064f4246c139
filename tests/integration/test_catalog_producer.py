# SPDX-License-Identifier: GPL-3.0-or-later
"""Catalog zones, producer side (RFC 9432; docs/transfers.md, "Catalog
zones"): runwayd generates a catalog zone from the zones of its
configuration that name it (`catalog: {member_of: ..., group: ...}`).

- The catalog answers as Knot 3.2 generates one: SOA invalid. invalid.
  with TTL 0, NS invalid., version TXT "2", a PTR per member at
  <id>.zones.<catalog>, the member's group at group.<id>.zones.<catalog>.
- A reload that changes no member keeps the serial; a member added by a
  reload appears with a newer serial; a member removed goes.
- A change through the API to the catalog (a custom property, RFC 9432
  4.4.3) stays on top of the generated records across reloads and restarts.
- runway producer -> Knot 3.2 consumer: the members appear on Knot (it
  creates the zones and transfers them from runway), and a member added
  to runway's configuration follows by NOTIFY, without touching Knot's.
"""
import hashlib
import time

import dns.flags
import dns.rcode
import dns.rdatatype
import pytest

import dnsharness as h
import peers as P

pytestmark = pytest.mark.runway_only

CATALOG = "catalog.example."
WAIT = 10.0          # seconds: a bound for what takes milliseconds


def member_id(name: str) -> str:
    """The unique id runwayd gives a member: 8 bytes of SHA-1 of its wire name."""
    wire = b"".join(bytes([len(l)]) + l.encode().lower() for l in name.rstrip(".").split(".")) + b"\0"
    return hashlib.sha1(wire).hexdigest()[:16]


def member_zone(name: str, serial: int = 1) -> str:
    return f"""$ORIGIN {name}
$TTL 3600
@   SOA ns1 hostmaster {serial} 7200 3600 1209600 300
@   NS  ns1
ns1 A   192.0.2.53
www A   192.0.2.80
"""


class CatalogRunway(P.RunwayPeer):
    """runwayd producing CATALOG from members {name: group or None}, each
    transferable by key from loopback; NOTIFY of every zone to notify."""

    def __init__(self, workdir, key, members, notify=None, **kw):
        super().__init__(workdir, **kw)
        self.key = key
        self.members = dict(members)
        self.notify = notify
        # readiness: the catalog's SOA (peers.Peer.wait_ready)
        self.zones = [P.Zone(CATALOG)]

    def config_text(self):
        acl = f"[{{ match: [127.0.0.0/8], key: {self.key.name} }}]"
        notify = f'[{{ address: "{self.notify.addr}", key: {self.key.name} }}]' if self.notify else "[]"
        out = [
            "server:", f'  listen: ["{P.HOST}:{self.port}"]', "  workers: 1",
            "tsig_keys:",
            f'  {self.key.name}: {{ algorithm: {self.key.algorithm}, secret: "{self.key.secret}" }}',
            "zones:",
            f"  - name: {CATALOG}",
            "    catalog: { role: producer }",
            f"    allow_transfer: {acl}",
            f"    notify: {notify}",
        ]
        for name, group in self.members.items():
            if not (self.workdir / P.Zone(name).file).exists():
                self.write_zone_file(name, member_zone(name))
            cat = f"{{ member_of: {CATALOG}" + (f", group: {group} }}" if group else " }")
            out += [f"  - name: {name}", f"    file: {P.Zone(name).file}", f"    catalog: {cat}",
                    f"    allow_transfer: {acl}", f"    notify: {notify}"]
        if self.api_port:
            out += ["api:", f'  listen: "{P.HOST}:{self.api_port}"',
                    f"  tokens: [{{ token: {self.API_TOKEN}, access: write }}]", "  data: state/"]
        return "\n".join(out) + "\n"

    def reconfigure(self, members):
        """New members, written and reloaded (SIGHUP)."""
        self.members = dict(members)
        self.write_config()
        self.reload()


def catalog_rrs(peer) -> dict:
    """{(owner, type): set of rdata texts} of the catalog, by queries."""
    out = {}
    for owner, rtype in [(CATALOG, "SOA"), (CATALOG, "NS"), ("version." + CATALOG, "TXT")] + \
            [(f"{member_id(m)}.zones.{CATALOG}", "PTR") for m in peer.members] + \
            [(f"group.{member_id(m)}.zones.{CATALOG}", "TXT") for m in peer.members]:
        r = peer.answer(owner, rtype)
        assert r is not None, f"no answer for {owner} {rtype}"
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.from_text(rtype):
                out[(owner, rtype)] = ({rd.to_text() for rd in rrset}, rrset.ttl)
    return out


@pytest.fixture
def peers():
    with P.Peers() as ps:
        yield ps
        bad = ps.stop_all()
    assert not bad, "\n".join(f"{p.name} exited with {rc}:\n{p.log_tail()}" for p, rc in bad)


def test_catalog_records(peers, tmp_path):
    key = P.TsigKey.generate()
    rw = CatalogRunway(tmp_path / "rw", key, {"member1.example.": "eu", "member2.example.": None})
    peers.start(rw)
    rrs = catalog_rrs(rw)
    soa, ttl = rrs[(CATALOG, "SOA")]
    assert ttl == 0
    mname, rname, serial, refresh, retry, expire, minimum = next(iter(soa)).split()
    assert (mname, rname, refresh, retry, expire, minimum) == \
        ("invalid.", "invalid.", "3600", "600", "2147483646", "0")
    assert abs(int(serial) - time.time()) < 60          # the time of the build
    assert rrs[(CATALOG, "NS")] == ({"invalid."}, 0)
    assert rrs[("version." + CATALOG, "TXT")] == ({'"2"'}, 0)
    assert rrs[(f"{member_id('member1.example.')}.zones.{CATALOG}", "PTR")] == ({"member1.example."}, 0)
    assert rrs[(f"{member_id('member2.example.')}.zones.{CATALOG}", "PTR")] == ({"member2.example."}, 0)
    assert rrs[(f"group.{member_id('member1.example.')}.zones.{CATALOG}", "TXT")] == ({'"eu"'}, 0)
    assert (f"group.{member_id('member2.example.')}.zones.{CATALOG}", "TXT") not in rrs
    # the whole zone by AXFR: exactly those records, the SOA first and last
    records = rw.axfr(CATALOG, key)
    assert records[0][2] == records[-1][2] == dns.rdatatype.SOA
    m1, m2 = member_id("member1.example."), member_id("member2.example.")
    assert sorted((o, t, r) for o, t, r_type, r in records[1:-1]
                  for t in [dns.rdatatype.to_text(r_type)]) == sorted([
        (CATALOG, "NS", "invalid."),
        ("version." + CATALOG, "TXT", '"2"'),
        (f"{m1}.zones.{CATALOG}", "PTR", "member1.example."),
        (f"group.{m1}.zones.{CATALOG}", "TXT", '"eu"'),
        (f"{m2}.zones.{CATALOG}", "PTR", "member2.example."),
    ]), records
    # the members are ordinary zones
    assert rw.soa_serial("member1.example.") == 1


def test_catalog_follows_reloads(peers, tmp_path):
    key = P.TsigKey.generate()
    rw = CatalogRunway(tmp_path / "rw", key, {"member1.example.": "eu"})
    peers.start(rw)
    first = rw.soa_serial(CATALOG)
    assert first is not None
    # nothing changed: the same serial (no needless transfer to consumers)
    mark = rw.log_mark()
    rw.reload()
    rw.wait_log(r"reload done", since=mark, timeout=WAIT)
    assert rw.soa_serial(CATALOG) == first
    # a member more: a newer serial, its PTR and group
    mark = rw.log_mark()
    rw.reconfigure({"member1.example.": "eu", "member3.example.": "us"})
    rw.wait_log(r"reload done", since=mark, timeout=WAIT)
    second = rw.soa_serial(CATALOG)
    assert second is not None and (second - first) % 2**32 < 2**31 and second != first
    ptr = rw.answer(f"{member_id('member3.example.')}.zones.{CATALOG}", "PTR")
    assert ptr.rcode() == dns.rcode.NOERROR and ptr.answer[0][0].to_text() == "member3.example."
    grp = rw.answer(f"group.{member_id('member3.example.')}.zones.{CATALOG}", "TXT")
    assert grp.answer[0][0].to_text() == '"us"'
    # a member less: gone, serial newer again
    mark = rw.log_mark()
    rw.reconfigure({"member3.example.": "us"})
    rw.wait_log(r"reload done", since=mark, timeout=WAIT)
    third = rw.soa_serial(CATALOG)
    assert third != second and (third - second) % 2**32 < 2**31
    gone = rw.answer(f"{member_id('member1.example.')}.zones.{CATALOG}", "PTR")
    assert gone.rcode() == dns.rcode.NXDOMAIN


def test_catalog_api_change_kept(peers, tmp_path):
    """A custom property added through the API stays across a reload (that
    leaves the serial alone) and a restart."""
    key = P.TsigKey.generate()
    rw = CatalogRunway(tmp_path / "rw", key, {"member1.example.": "eu"}, api=True)
    peers.start(rw)
    prop = "owner.ext." + CATALOG
    serial = rw.change(CATALOG, [{"action": "UPSERT", "name": prop, "type": "TXT", "ttl": 0,
                                  "records": ['"ops team"']}])
    assert rw.soa_serial(CATALOG) == serial

    def check():
        r = rw.answer(prop, "TXT")
        assert r is not None and r.rcode() == dns.rcode.NOERROR, r
        assert r.answer[0][0].to_text() == '"ops team"'
        assert rw.soa_serial(CATALOG) == serial
        ptr = rw.answer(f"{member_id('member1.example.')}.zones.{CATALOG}", "PTR")
        assert ptr.answer[0][0].to_text() == "member1.example."

    check()
    mark = rw.log_mark()
    rw.reload()
    rw.wait_log(r"reload done", since=mark, timeout=WAIT)
    check()
    rw.restart()
    check()


def knot_consumer(workdir, key, producer_port) -> P.KnotPeer:
    """Knot interpreting CATALOG from runway: its member zones from the
    template "members", transferred from runway with key."""
    knot = P.KnotPeer(workdir)
    producer = P.Remote(P.HOST, producer_port, key)
    knot.add_zone(P.Zone(CATALOG, primaries=[producer],
                         extra={"ready": "any",
                                "knot": {"catalog-role": "interpret", "catalog-template": "members"}}))
    bare = CATALOG.rstrip(".")
    knot.templates = "\n".join([
        "  - id: members",
        f"    storage: {workdir}",
        f"    master: {bare}_primary1",
        f"    acl: {bare}_notify1",
        "    zonefile-sync: -1",
    ])
    return knot


def test_runway_producer_to_knot_consumer(peers, tmp_path):
    """runway producer -> Knot 3.2 consumer: Knot serves the members, and one
    added to runway's configuration only follows by NOTIFY."""
    if not P.have("knot"):
        pytest.skip("knotd is not installed")
    key = P.TsigKey.generate()
    knot_port = h.free_port()
    rw = CatalogRunway(tmp_path / "rw", key, {"member1.example.": "eu", "member2.example.": None},
                       notify=P.Remote(P.HOST, knot_port, key))
    knot = knot_consumer(tmp_path / "knot", key, rw.port)
    knot.port = knot_port
    peers.start(rw, knot)
    P.wait_all([knot], lambda p: p.soa_serial("member1.example.", timeout=0.2) == 1 and
               p.soa_serial("member2.example.", timeout=0.2) == 1, timeout=WAIT)
    mark = knot.log_mark()
    t0 = time.monotonic()
    rw.reconfigure({"member1.example.": "eu", "member2.example.": None, "member3.example.": "us"})
    P.wait_all([knot], lambda p: p.soa_serial("member3.example.", timeout=0.2) == 1, timeout=WAIT)
    print(f"\ncatalog runway -> knot: a new member served by Knot {time.monotonic() - t0:.2f} s "
          "after runway's reload")
    assert "member3.example." in knot.log_since(mark)
    # and a member removed from runway's configuration goes from Knot
    rw.reconfigure({"member1.example.": "eu", "member3.example.": "us"})
    deadline = time.monotonic() + WAIT
    while knot.soa_serial("member2.example.", timeout=0.2) is not None:
        assert time.monotonic() < deadline, f"Knot still serves member2.example.:\n{knot.log_tail()}"
        time.sleep(0.05)  # poll interval: Knot removes the zone asynchronously
