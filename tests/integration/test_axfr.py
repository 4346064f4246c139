# SPDX-License-Identifier: GPL-3.0-or-later
"""Zone transfers out (runway as a primary, src/server/query/xfr.c): AXFR
(RFC 5936) and IXFR (RFC 1995) answered by runwayd, read with dnspython.

- AXFR of the zones of tests/integration/zones (delegations, glue,
  wildcards, DNAME, a root zone) equals the zone file, record for record
  and TTL for TTL, with the SOA first and last; a zone of 60k records
  (7 MB) comes in many messages; knotd, serving the same files, sends the same
  records.
- allow_transfer: no rule REFUSED, an address not in the match REFUSED, a
  rule with a key and an unsigned request REFUSED (knotd: NOTAUTH for all);
  not an apex, no zone: NOTAUTH (as knotd).
- IXFR: up to date or ahead, the SOA alone; an unknown serial, the whole
  zone (AXFR form) over TCP and the SOA alone over UDP (as knotd); after an
  API change, exactly that change, over TCP and over UDP when it fits.
- A transfer whose reader pauses goes on across a publication (an API change to
  the same zone in the middle) and sends the version it began on, whole.
- xfr.max_out: one more transfer than allowed is REFUSED while the others
  wait for their readers, answered again once one ends.

Every server listens on loopback only; every wait is bounded.
"""
from __future__ import annotations

import json
import os
import socket
import struct
import time
import urllib.request
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsigkeyring
import dns.zone
import pytest

import dnsharness as h

pytestmark = pytest.mark.runway_only

ZONES = h.ZONES_DIR
# (zone, file, $INCLUDEd files): delegations and glue, wildcards (example.net),
# DNAME (synth.example), a child zone, a zone whose apex owns everything,
# a root zone (delegations, glue, RRSIG, DS).
XFR_ZONES = [
    ("example.net.", ZONES / "example.net.zone", [ZONES / "big.inc"]),
    ("child.example.net.", ZONES / "child.example.net.zone", []),
    ("synth.example.", ZONES / "synth.example.zone", []),
    ("other.example.", ZONES / "other.example.zone", []),
    ("apex.example.", ZONES / "apex.example.zone", []),
    (".", ZONES / "root.zone", []),
]
KEY_NAME, KEY_SECRET = "xfr.", "qzZdqVXpLucCL+NsWFUqZgefyEdKtN2WtJOhkUkmD8k="
WRITE = "change-me"
ALLOWED = "127.0.0.1"        # the address allowed to transfer; 127.0.0.2 is not
OTHER = "127.0.0.2"
BIG_RECORDS = 60_000


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def big_zone_text(n: int, serial: int = 1) -> str:
    """big.example: an SOA, NS, and n records (an A and a TXT of 210
    characters at each name): about 7 MB of AXFR, more than a loopback
    socket's send buffer takes (4 MB at most: net.ipv4.tcp_wmem), so a
    reader that stops makes the stream wait in runwayd."""
    lines = ["$ORIGIN big.example.", "$TTL 300",
             f"@ SOA ns hostmaster {serial} 7200 3600 1209600 300", "@ NS ns", "ns A 192.0.2.1"]
    pad = "x" * 200
    for i in range(n // 2):
        lines.append(f"h{i} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
        lines.append(f'h{i} TXT "record {i:08d} {pad}"')
    return "\n".join(lines) + "\n"


class XfrServer(h.DnsServer):
    """runwayd (or knotd) with allow_transfer rules: 127.0.0.1 may transfer
    every zone but nokey.example (none) and keyed.example (with the key);
    runwayd also has an API, and xfr.max_out."""

    def __init__(self, kind, workdir, zones, *, max_out=None, **kw):
        self.api_port = free_tcp_port()
        self.max_out = max_out
        super().__init__(kind, workdir, zones, listen_v6=False, **kw)

    def rules(self, name):
        if name.startswith("nokey."):
            return None
        if name.startswith("keyed."):
            return f'[{{ match: ["{ALLOWED}"], key: {KEY_NAME} }}]'
        return f'[{{ match: ["{ALLOWED}"] }}]'

    def runway_config(self) -> str:
        lines = [
            "server:",
            f'  listen: ["127.0.0.1:{self.port}"]',
            "  workers: 1",
            f"  edns_udp_size: {self.edns_udp_size}",
            "tcp:", "  idle_timeout: 10s",
            "tsig_keys:",
            f'  {KEY_NAME}: {{ algorithm: hmac-sha256, secret: "{KEY_SECRET}" }}',
        ]
        if self.max_out:
            lines += ["xfr:", f"  max_out: {self.max_out}"]
        lines += ["api:", f'  listen: "127.0.0.1:{self.api_port}"', "  tokens:",
                  f"    - {{ token: {WRITE}, access: write }}", "  data: state/", "zones:"]
        for name, zfile, _ in self.zones:
            lines += [f"  - name: {name}", f"    file: {Path(zfile).name}"]
            if self.rules(name):
                lines.append(f"    allow_transfer: {self.rules(name)}")
        return "\n".join(lines) + "\n"

    def knot_config(self) -> str:
        text = super().knot_config()
        acl = ("key:\n  - id: " + KEY_NAME + "\n    algorithm: hmac-sha256\n    secret: " + KEY_SECRET + "\n"
               "acl:\n  - id: plain\n    address: " + ALLOWED + "\n    action: transfer\n"
               "  - id: keyed\n    address: " + ALLOWED + "\n    key: " + KEY_NAME + "\n    action: transfer\n")
        text = text.replace("template:\n", acl + "template:\n", 1)
        out = []
        for line in text.splitlines():
            out.append(line)
            if line.startswith("  - domain: "):
                name = line.split(": ", 1)[1]
                if not name.startswith("nokey."):
                    out.append("    acl: " + ("keyed" if name.startswith("keyed.") else "plain"))
        return "\n".join(out) + "\n"

    def api(self, method, path, body=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.api_port}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("Authorization", f"Bearer {WRITE}")
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read().decode())

    def change(self, zone, name, rtype, records, ttl=60):
        st, body = self.api("POST", f"/v1/zones/{zone}/changes", {"changes": [
            {"action": "UPSERT", "name": name, "type": rtype, "ttl": ttl, "records": records}]})
        assert st == 200 and body["status"] == "applied", body
        return body["serial"]


@pytest.fixture(scope="module")
def big_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("xfr-zones")
    (d / "big.example.zone").write_text(big_zone_text(BIG_RECORDS))
    for name in ("nokey.example.", "keyed.example."):
        (d / f"{name}zone").write_text(f"$ORIGIN {name}\n$TTL 300\n@ SOA ns hostmaster 5 7200 3600 1209600 300\n"
                                       "@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.80\n")
    return d


@pytest.fixture(scope="module")
def zones(big_dir):
    return XFR_ZONES + [("big.example.", big_dir / "big.example.zone", []),
                        ("nokey.example.", big_dir / "nokey.example.zone", []),
                        ("keyed.example.", big_dir / "keyed.example.zone", [])]


@pytest.fixture(scope="module")
def rw(tmp_path_factory, zones):
    s = XfrServer("runway", tmp_path_factory.mktemp("xfr-runway"), zones)
    try:
        s.start()
    except BaseException:
        s.stop()
        raise
    yield s
    rc = s.stop()
    assert rc == 0, f"runwayd exited with {rc}:\n{s.log_tail()}"


@pytest.fixture(scope="module")
def knot(tmp_path_factory, zones):
    if h.KNOTD is None:
        pytest.skip("knotd not installed")
    s = XfrServer("knot", tmp_path_factory.mktemp("xfr-knot"), zones)
    try:
        s.start(timeout=60)
    except BaseException:
        s.stop()
        raise
    yield s
    s.stop()


# ---- reading transfers -------------------------------------------------------

def query_wire(zone, rdtype, serial=None, payload=None, keyring=None):
    q = dns.message.make_query(zone, rdtype, use_edns=0 if payload else False,
                               payload=payload or 1232)
    if serial is not None:
        q.authority.append(dns.rrset.from_text(zone, 0, "IN", "SOA", f". . {serial} 0 0 0 0"))
    if keyring:
        q.use_tsig(keyring, keyname=KEY_NAME)
    return q


def tcp_messages(port, q, source=ALLOWED, timeout=20.0):
    """Send q over TCP from source and read the answer's messages until it
    is whole (or an error, EOF, the timeout). Returns the raw messages."""
    msgs, rrs = [], []
    ixfr = q.question[0].rdtype == dns.rdatatype.IXFR
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0)) as s:
        s.sendall(h.tcp_frame(q.to_wire()))
        while time.monotonic() < deadline:
            try:
                wire = h.tcp_read_msg(s)
            except (OSError, EOFError):
                break
            msgs.append(wire)
            m = dns.message.from_wire(wire, one_rr_per_rrset=True, xfr=True)
            rrs += m.answer
            if m.rcode() != dns.rcode.NOERROR or whole(rrs, ixfr):
                break
    return msgs


def whole(rrs, ixfr):
    """The answer is complete: an IXFR's SOA alone; SOA ... SOA (AXFR form);
    or, incremental, SOA new, (SOA from, ..., SOA to, ...)*, SOA new: an
    even number of SOAs ending with the new one."""
    if not rrs or rrs[0].rdtype != dns.rdatatype.SOA:
        return False
    new = rrs[0][0].serial
    if len(rrs) == 1:
        return ixfr
    if rrs[-1].rdtype != dns.rdatatype.SOA or rrs[-1][0].serial != new:
        return False
    if not ixfr or rrs[1].rdtype != dns.rdatatype.SOA:
        return True
    return sum(1 for rr in rrs if rr.rdtype == dns.rdatatype.SOA) % 2 == 0


def decode(msgs, q=None, keyring=None):
    """The messages of one answer, parsed; signed ones (keyring) checked,
    each chained to the one before (RFC 8945 5.3.1)."""
    out, ctx = [], None
    for w in msgs:
        m = dns.message.from_wire(w, one_rr_per_rrset=True, xfr=True, keyring=keyring,
                                  request_mac=q.mac if keyring else b"", tsig_ctx=ctx, multi=True)
        ctx = m.tsig_ctx
        out.append(m)
    return out


def records_of(msgs, q=None, keyring=None):
    out = []
    for m in decode(msgs, q, keyring):
        out += m.answer
    return out


def rr_set(rrsets):
    """Records as a set of (owner, ttl, type, rdata text), names lowercased."""
    out = set()
    for rrset in rrsets:
        for rd in rrset:
            out.add((rrset.name.to_text().lower(), rrset.ttl, dns.rdatatype.to_text(rrset.rdtype),
                     rd.to_text().lower()))
    return out


def file_records(zone, path):
    """The zone file's records (the apex SOA aside), read by dnspython."""
    cwd = os.getcwd()
    os.chdir(Path(path).parent)            # $INCLUDE names are relative to it
    try:
        z = dns.zone.from_file(str(path), origin=zone, relativize=False, check_origin=False,
                               allow_include=True)
    finally:
        os.chdir(cwd)
    out = set()
    for name, node in z.nodes.items():
        for rds in node.rdatasets:
            if rds.rdtype == dns.rdatatype.SOA and name == z.origin:
                continue
            for rd in rds:
                out.add((name.to_text().lower(), rds.ttl, dns.rdatatype.to_text(rds.rdtype), rd.to_text().lower()))
    soa = z.find_rdataset(z.origin, dns.rdatatype.SOA)
    return out, soa


def axfr(srv, zone, source=ALLOWED, **kw):
    msgs = tcp_messages(srv.port, query_wire(zone, "AXFR", **kw), source=source)
    assert msgs, f"no answer to AXFR {zone}"
    return msgs, dns.message.from_wire(msgs[0], one_rr_per_rrset=True, xfr=True)


def check_axfr_form(msgs, serial, q=None, keyring=None):
    """SOA first and last (with serial), no SOA of the zone between; each
    message NOERROR with AA, at most 65535 bytes (and signed, with keyring).
    Returns the records between the SOAs."""
    rrs = records_of(msgs, q, keyring)
    assert rrs[0].rdtype == dns.rdatatype.SOA and rrs[-1].rdtype == dns.rdatatype.SOA
    assert rrs[0][0].serial == serial and rrs[-1][0].serial == serial
    apex = rrs[0].name
    assert not any(rr.rdtype == dns.rdatatype.SOA and rr.name == apex for rr in rrs[1:-1])
    for w, m in zip(msgs, decode(msgs, q, keyring)):
        assert len(w) <= 65535 and m.rcode() == dns.rcode.NOERROR
        assert m.had_tsig == bool(keyring)
        assert m.flags & dns.flags.AA           # RFC 5936 2.2.1 (knotd leaves it clear)
        assert len(m.question) == 1
    return rrs[1:-1]


# ---- AXFR ----------------------------------------------------------------------

@pytest.mark.parametrize("zone", [z for z, _, _ in XFR_ZONES])
def test_axfr_equals_zone_file(rw, zone):
    path = rw.zone_path(zone)
    want, soa = file_records(zone, path)
    msgs, first = axfr(rw, zone)
    body = check_axfr_form(msgs, soa[0].serial)
    assert rr_set([first.answer[0]]) == rr_set([dns.rrset.from_rdata_list(zone, soa.ttl, [soa[0]])])
    got = rr_set(body)
    assert len(body) == len(got), "a record was sent twice"
    assert got == want, (f"only sent: {sorted(got - want)[:5]}, only in the file: {sorted(want - got)[:5]}")


def test_axfr_big_zone_many_messages(rw):
    msgs, first = axfr(rw, "big.example.")
    body = check_axfr_form(msgs, 1)
    assert len(body) == BIG_RECORDS + 2             # the records, NS, ns A
    assert len(msgs) >= 100                        # ~7 MB in messages of up to 64 KB
    names = {rr.name.to_text() for rr in body}
    assert "h0.big.example." in names and f"h{BIG_RECORDS // 2 - 1}.big.example." in names


@pytest.mark.needs_knot
@pytest.mark.parametrize("zone", ["example.net.", "synth.example.", "big.example."])
def test_axfr_same_records_as_knot(rw, knot, zone):
    a, _ = axfr(rw, zone)
    b, _ = axfr(knot, zone)
    ra, rb = records_of(a), records_of(b)
    # SOA placement as knotd: first and last
    assert ra[0].rdtype == rb[0].rdtype == dns.rdatatype.SOA == ra[-1].rdtype == rb[-1].rdtype
    assert rr_set(ra) == rr_set(rb)
    assert len(ra) == len(rb)


@pytest.mark.parametrize("qname,rcode", [("www.example.net.", "NOTAUTH"),   # not an apex
                                         ("nothere.org.", "NOTAUTH"),       # no zone
                                         ("nokey.example.", "REFUSED")])    # no rule
def test_axfr_refusals(rw, knot, qname, rcode):
    msgs, first = axfr(rw, qname)
    assert dns.rcode.to_text(first.rcode()) == rcode and not first.answer and len(msgs) == 1
    assert not first.flags & dns.flags.AA
    # knotd: the same, but NOTAUTH where runway says REFUSED
    _, k = axfr(knot, qname)
    assert dns.rcode.to_text(k.rcode()) == ("NOTAUTH" if rcode == "REFUSED" else rcode)


def test_axfr_address_not_allowed(rw, knot):
    _, first = axfr(rw, "example.net.", source=OTHER)
    assert first.rcode() == dns.rcode.REFUSED and not first.answer
    _, k = axfr(knot, "example.net.", source=OTHER)
    assert k.rcode() == dns.rcode.NOTAUTH


def test_axfr_keyed_rule_unsigned(rw, knot):
    _, first = axfr(rw, "keyed.example.")
    assert first.rcode() == dns.rcode.REFUSED and not first.answer
    _, k = axfr(knot, "keyed.example.")
    assert k.rcode() == dns.rcode.NOTAUTH


def test_axfr_keyed_rule_signed(rw):
    keyring = dns.tsigkeyring.from_text({KEY_NAME: ("hmac-sha256", KEY_SECRET)})
    # dnspython checks every message's signature, chained (RFC 8945 5.3.1)
    got = dns.query.xfr("127.0.0.1", "keyed.example.", port=rw.port, source=ALLOWED, keyring=keyring,
                        keyname=KEY_NAME, relativize=False, lifetime=20)
    z = dns.zone.from_xfr(got, relativize=False)
    assert z.find_rdataset("www.keyed.example.", "A")[0].to_text() == "192.0.2.80"
    # signed with the key over a big zone whose rule wants no key: many
    # messages, each signed
    got = dns.query.xfr("127.0.0.1", "big.example.", port=rw.port, source=ALLOWED, keyring=keyring,
                        keyname=KEY_NAME, relativize=False, lifetime=60)
    n = sum(len(rrset) for m in got for rrset in m.answer)
    assert n == BIG_RECORDS + 2 + 2


def test_axfr_over_udp_notimp(rw):
    r = rw.send(query_wire("example.net.", "AXFR").to_wire())
    assert r.rcode() == dns.rcode.NOTIMP


# ---- IXFR ----------------------------------------------------------------------

def ixfr_tcp(srv, zone, serial, **kw):
    msgs = tcp_messages(srv.port, query_wire(zone, "IXFR", serial=serial, **kw))
    return msgs, records_of(msgs)


def ixfr_udp(srv, zone, serial, payload=None):
    wire = srv.send_raw(query_wire(zone, "IXFR", serial=serial, payload=payload).to_wire())
    assert wire is not None
    return dns.message.from_wire(wire, one_rr_per_rrset=True)


@pytest.mark.parametrize("delta", [0, 1, 1000])
def test_ixfr_up_to_date_soa_alone(rw, knot, delta):
    for srv in (rw, knot):
        serial = srv.soa_serial("apex.example.")
        _, rrs = ixfr_tcp(srv, "apex.example.", serial + delta)
        assert len(rrs) == 1 and rrs[0].rdtype == dns.rdatatype.SOA and rrs[0][0].serial == serial, srv.kind
        r = ixfr_udp(srv, "apex.example.", serial + delta)
        assert len(r.answer) == 1 and r.answer[0][0].serial == serial, srv.kind


def test_ixfr_unknown_serial_full_zone(rw, knot):
    for srv in (rw, knot):
        serial = srv.soa_serial("example.net.")
        msgs, rrs = ixfr_tcp(srv, "example.net.", serial - 1000)
        want, _ = file_records("example.net.", srv.zone_path("example.net."))
        assert rrs[0].rdtype == rrs[-1].rdtype == dns.rdatatype.SOA, srv.kind
        assert rr_set(rrs[1:-1]) == want, srv.kind
        # over UDP: the SOA alone, the client goes to TCP (RFC 1995 2)
        r = ixfr_udp(srv, "example.net.", serial - 1000, payload=4096)
        assert r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1
        assert r.answer[0].rdtype == dns.rdatatype.SOA and r.answer[0][0].serial == serial


def test_ixfr_without_soa_formerr(rw, knot):
    for srv in (rw, knot):
        msgs = tcp_messages(srv.port, query_wire("example.net.", "IXFR"))
        assert dns.message.from_wire(msgs[0]).rcode() == dns.rcode.FORMERR, srv.kind


def test_ixfr_after_api_change(rw):
    zone = "other.example."
    old = rw.soa_serial(zone)
    new = rw.change(zone, f"ixfr-test.{zone}", "A", ["192.0.2.77"])
    assert new != old
    msgs, rrs = ixfr_tcp(rw, zone, old)
    assert rrs[0].rdtype == dns.rdatatype.SOA and rrs[0][0].serial == new
    # SOA new, SOA old, (removed: none), SOA new, added, SOA new
    serials = [rr[0].serial if rr.rdtype == dns.rdatatype.SOA else None for rr in rrs]
    assert serials == [new, old, new, None, new]
    assert rr_set([rrs[3]]) == {(f"ixfr-test.{zone}", 60, "A", "192.0.2.77")}
    # over UDP with room: the same; without EDNS too (it is small)
    r = ixfr_udp(rw, zone, old, payload=4096)
    assert [rr.rdtype for rr in r.answer] == [dns.rdatatype.SOA, dns.rdatatype.SOA, dns.rdatatype.SOA,
                                              dns.rdatatype.A, dns.rdatatype.SOA]
    # a change larger than 512 bytes: over UDP without EDNS, the SOA alone
    old2 = new
    new2 = rw.change(zone, f"ixfr-big.{zone}", "TXT", [f'"{"x" * 200} {i}"' for i in range(4)])
    r = ixfr_udp(rw, zone, old2)
    assert len(r.answer) == 1 and r.answer[0][0].serial == new2
    r = ixfr_udp(rw, zone, old2, payload=4096)
    assert [rr.rdtype for rr in r.answer] == [dns.rdatatype.SOA] * 3 + [dns.rdatatype.TXT] * 4 + [dns.rdatatype.SOA]


# ---- streams: publications, limits -------------------------------------------

def last_type(m):
    """The type of a message's last answer record (no TSIG check)."""
    an = struct.unpack("!H", m[6:8])[0]
    pos = 12
    pos = _skip_name(m, pos) + 4
    rtype = None
    for _ in range(an):
        pos = _skip_name(m, pos)
        rtype, rdlen = struct.unpack("!H", m[pos:pos + 2])[0], struct.unpack("!H", m[pos + 8:pos + 10])[0]
        pos += 10 + rdlen
    return rtype


def _skip_name(m, pos):
    while True:
        n = m[pos]
        if n >= 0xC0:
            return pos + 2
        if n == 0:
            return pos + 1
        pos += n + 1


def read_axfr_slowly(sock, first_n):
    """Read the first first_n messages of an AXFR on sock."""
    return [h.tcp_read_msg(sock) for _ in range(first_n)]


@pytest.mark.parametrize("signed", [False, True])
def test_transfer_continues_across_publication(rw, signed):
    zone = "big.example."
    old = rw.soa_serial(zone)
    keyring = dns.tsigkeyring.from_text({KEY_NAME: ("hmac-sha256", KEY_SECRET)}) if signed else None
    q = query_wire(zone, "AXFR", keyring=keyring)
    wire = q.to_wire()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(20)
    s.bind((ALLOWED, 0))
    s.connect(("127.0.0.1", rw.port))
    name = f"added-midway-{int(signed)}.big.example."
    try:
        s.sendall(h.tcp_frame(wire))
        msgs = read_axfr_slowly(s, 2)
        # a publication of the same zone while the stream waits for us (a
        # reload frees the keyring the request was checked with, too)
        new = rw.change(zone, name, "A", ["192.0.2.99"])
        assert rw.soa_serial(zone) == new != old
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msgs.append(h.tcp_read_msg(s))
            # the last message ends with the SOA (a cheap look: its last
            # record's type, before the TSIG RR when signed)
            if len(msgs) > 1 and last_type(msgs[-1]) == dns.rdatatype.SOA:
                break
    finally:
        s.close()
    # the version it began on, whole; signed: every message, chained
    body = check_axfr_form(msgs, old, q, keyring)
    assert len(body) == BIG_RECORDS + 2 + (1 if signed else 0)   # the unsigned run's change
    assert name not in {rr.name.to_text() for rr in body}
    # and a new transfer has the change
    msgs2, _ = axfr(rw, zone)
    assert name in {rr.name.to_text() for rr in check_axfr_form(msgs2, new)}


def test_max_out(tmp_path, big_dir):
    zones = [("big.example.", big_dir / "big.example.zone", []),
             ("apex.example.", ZONES / "apex.example.zone", [])]
    srv = XfrServer("runway", tmp_path / "maxout", zones, max_out=1)
    srv.start()
    try:
        q = query_wire("big.example.", "AXFR")
        held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        held.settimeout(20)
        held.bind((ALLOWED, 0))
        held.connect(("127.0.0.1", srv.port))
        try:
            held.sendall(h.tcp_frame(q.to_wire()))
            first = dns.message.from_wire(h.tcp_read_msg(held), xfr=True)
            assert first.rcode() == dns.rcode.NOERROR
            # the first waits for its reader: a second is one too many
            _, second = axfr(srv, "big.example.")
            assert second.rcode() == dns.rcode.REFUSED
            # an IXFR answered by the SOA alone is no transfer to count
            _, rrs = ixfr_tcp(srv, "big.example.", 1)
            assert len(rrs) == 1
        finally:
            held.close()
        # once it ends (the connection closed), transfers go again
        deadline = time.monotonic() + 10
        while True:
            msgs, m = axfr(srv, "apex.example.")
            if m.rcode() == dns.rcode.NOERROR or time.monotonic() > deadline:
                break
            time.sleep(0.05)   # poll: the server sees the close on its next loop turn
        assert m.rcode() == dns.rcode.NOERROR
    finally:
        assert srv.stop() == 0, srv.log_tail()


# ---- views -------------------------------------------------------------------

class ViewServer(XfrServer):
    """apex.example at the top level (transferable from 127.0.0.0/8) and in
    the view "inside" of 127.0.0.1 (its own file and rule), with a zone of
    its own that has no allow_transfer."""

    def runway_config(self) -> str:
        return "\n".join([
            "server:", f'  listen: ["127.0.0.1:{self.port}"]', "  workers: 1",
            "zones:", "  - name: apex.example.", "    file: apex.example.zone",
            '    allow_transfer: [{ match: ["127.0.0.0/8"] }]',
            "views:", "  - name: inside", '    match: ["127.0.0.1/32"]', "    zones:",
            "      - name: apex.example.", "        file: apex.inside.zone",
            f'        allow_transfer: [{{ match: ["{ALLOWED}"] }}]',
            "      - { name: only.inside., file: only.inside.zone }",
            "  - name: outside", "    match: [any]", ""])


def test_views(tmp_path):
    zones = [("apex.example.", ZONES / "apex.example.zone", [])]
    srv = ViewServer("runway", tmp_path / "views", zones)
    (srv.workdir / "apex.inside.zone").write_text(
        "$ORIGIN apex.example.\n$TTL 300\n@ SOA ns hostmaster 77 7200 3600 1209600 300\n"
        "@ NS ns\nns A 192.0.2.1\ninside-only A 192.0.2.77\n")
    (srv.workdir / "only.inside.zone").write_text(
        "$ORIGIN only.inside.\n$TTL 300\n@ SOA ns hostmaster 1 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.1\n")
    srv.start()
    try:
        top, _ = file_records("apex.example.", ZONES / "apex.example.zone")
        # each client gets its view's version
        msgs, _ = axfr(srv, "apex.example.", source=ALLOWED)
        assert ("inside-only.apex.example.", 300, "A", "192.0.2.77") in rr_set(check_axfr_form(msgs, 77))
        msgs, first = axfr(srv, "apex.example.", source=OTHER)
        assert rr_set(records_of(msgs)[1:-1]) == top
        # the view's own zone has no rule (no fallback to the top level): REFUSED;
        # a client of another view does not see it: NOTAUTH
        assert axfr(srv, "only.inside.", source=ALLOWED)[1].rcode() == dns.rcode.REFUSED
        assert axfr(srv, "only.inside.", source=OTHER)[1].rcode() == dns.rcode.NOTAUTH
    finally:
        assert srv.stop() == 0, srv.log_tail()
