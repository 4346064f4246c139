# SPDX-License-Identifier: GPL-3.0-or-later
"""The probes of ISC's EDNS compliance tester, in CI without it.

ISC's `genreport` (DNS-Compliance-Testing) asks an authoritative server a
fixed set of questions and grades each answer: "all ok" for a compliant
server. runway reaches "all ok" in its default, full (-f) and types (-t)
modes (BIND 9.18 does; Knot DNS 3.2.6 and NSD 4.6 do not). This file sends
the same probes, named as genreport names them, and grades the answers by
the same rules (RFC 1035, 6891, 7873, 7314, 8906), written here from those
rules: a probe passes when the grade has no problem.

How to run genreport itself (not in Debian; built from its source):
    echo "example.net ns1.example.net 127.0.0.1" | genreport -P <port> [-f|-t] [-a]

Each probe: a question for the zone apex (SOA unless said), from a
resolver's point of view (RD clear), with or without EDNS:
  dns          no EDNS                    edns       EDNS 0, 4096
  edns1        EDNS version 1: BADVERS    edns@512   DNSKEY, 512-byte payload, DO
  ednsopt      unknown option 100         edns1opt   version 1 with option 100
  do           DO                         ednsflags  an unknown EDNS flag (0x0080)
  optlist      NSID, ECS, EXPIRE, COOKIE  signed     as do (an RRSIG in it: signed)
  ednstcp      DNSKEY over TCP, payload 512, DO
-f adds header bits (aa ad cd ra rd tc zflag), an unknown opcode without a
question (opcode, opcodeflg: with every flag set), an unknown type
(type666), plain TCP (tcp), and each option alone at versions 0 and 1.
-t asks every type in genreport's list.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass

import pytest

from dnsharness import NSID, TARGET, tcp_exchange, udp_exchange

ZONE = "example.net."
SOA_EXPIRE = 1209600            # example.net's SOA EXPIRE (tests/integration/zones)

SOA, DNSKEY, OPT, RRSIG = 6, 48, 41, 46
NOERROR, FORMERR, NOTIMP, BADVERS, BADCOOKIE = 0, 1, 4, 16, 23
OPT_NSID, OPT_ECS, OPT_EXPIRE, OPT_COOKIE, OPT_ECHO = 3, 8, 9, 10, 100
CLIENT_COOKIE = bytes(range(1, 9))

# Header bits (the 16-bit flags word).
F_AA, F_TC, F_RD, F_RA, F_Z, F_AD, F_CD = 0x0400, 0x0200, 0x0100, 0x0080, 0x0040, 0x0020, 0x0010
DO = 0x8000


def opt(code: int, data: bytes = b"") -> bytes:
    return struct.pack("!HH", code, len(data)) + data


ECHO = opt(OPT_ECHO)
NSID_OPT = opt(OPT_NSID)
ECS_OPT = opt(OPT_ECS, b"\x00\x01\x00\x00")      # IPv4, source 0
EXPIRE_OPT = opt(OPT_EXPIRE)
COOKIE_OPT = opt(OPT_COOKIE, CLIENT_COOKIE)


@dataclass(frozen=True)
class Probe:
    name: str
    mode: str = "edns"        # edns: default mode; full: -f; type: -t
    qtype: int = SOA
    payload: int = 0          # EDNS UDP payload; 0: no OPT
    ednsflags: int = 0
    version: int = 0
    options: bytes = b""
    tcp: bool = False
    flags: int = 0            # header bits set in the query
    opcode: int = 0           # not 0: a header-only message with this opcode
    ignoretc: bool = False    # a truncated answer is graded as is (no TCP retry)

    @property
    def cookie(self):
        return COOKIE_OPT in self.options


EDNS = 4096
PROBES = [
    Probe("dns"),
    Probe("aa", "full", flags=F_AA),
    Probe("ad", "full", flags=F_AD),
    Probe("cd", "full", flags=F_CD),
    Probe("ra", "full", flags=F_RA),
    Probe("rd", "full", flags=F_RD),
    Probe("tc", "full", flags=F_TC),
    Probe("zflag", "full", flags=F_Z),
    Probe("opcode", "full", opcode=15),
    Probe("opcodeflg", "full", opcode=15, flags=F_TC | F_RD | F_RA | F_CD | F_AD | F_AA | F_Z),
    Probe("type666", "full", qtype=666),
    Probe("tcp", "full", tcp=True),
    Probe("edns", payload=EDNS),
    Probe("edns1", payload=EDNS, version=1),
    Probe("edns@512", qtype=DNSKEY, payload=512, ignoretc=True),
    Probe("ednsopt", payload=EDNS, options=ECHO),
    Probe("edns1opt", payload=EDNS, version=1, options=ECHO),
    Probe("do", payload=EDNS, ednsflags=DO),
    Probe("docd", "full", payload=EDNS, ednsflags=DO, flags=F_CD),
    Probe("edns1do", "full", payload=EDNS, ednsflags=DO, version=1),
    Probe("ednsflags", payload=EDNS, ednsflags=0x0080),
    Probe("optlist", payload=EDNS, options=NSID_OPT + ECS_OPT + EXPIRE_OPT + COOKIE_OPT),
    Probe("ednsnsid", "full", payload=EDNS, options=NSID_OPT),
    Probe("ednscookie", "full", payload=EDNS, options=COOKIE_OPT),
    Probe("ednsexpire", "full", payload=EDNS, options=EXPIRE_OPT),
    Probe("ednssubnet", "full", payload=EDNS, options=ECS_OPT),
    Probe("edns1nsid", "full", payload=EDNS, version=1, options=NSID_OPT),
    Probe("edns1cookie", "full", payload=EDNS, version=1, options=COOKIE_OPT),
    Probe("edns1expire", "full", payload=EDNS, version=1, options=EXPIRE_OPT),
    Probe("edns1subnet", "full", payload=EDNS, version=1, options=ECS_OPT),
    Probe("signed", payload=EDNS, ednsflags=DO),     # graded as "do"
    Probe("ednstcp", qtype=DNSKEY, payload=512, ednsflags=DO, tcp=True),
]

# genreport -t: every type it asks (no EDNS), by code.
TYPES = {
    "A": 1, "NS": 2, "MD": 3, "MF": 4, "CNAME": 5, "SOA": 6, "MB": 7, "MG": 8, "MR": 9,
    "NULL": 10, "WKS": 11, "PTR": 12, "HINFO": 13, "MINFO": 14, "MX": 15, "TXT": 16, "RP": 17,
    "AFSDB": 18, "X25": 19, "ISDN": 20, "RT": 21, "NSAP": 22, "NSAP-PTR": 23, "SIG": 24,
    "KEY": 25, "PX": 26, "GPOS": 27, "AAAA": 28, "LOC": 29, "NXT": 30, "SRV": 33, "NAPTR": 35,
    "KX": 36, "CERT": 37, "A6": 38, "DNAME": 39, "APL": 42, "DS": 43, "SSHFP": 44,
    "IPSECKEY": 45, "RRSIG": 46, "NSEC": 47, "DNSKEY": 48, "DHCID": 49, "NSEC3": 50,
    "NSEC3PARAM": 51, "TLSA": 52, "SMIMEA": 53, "HIP": 55, "CDS": 59, "CDNSKEY": 60,
    "OPENPGPKEY": 61, "SPF": 99, "NID": 104, "L32": 105, "L64": 106, "LP": 107, "EUI48": 108,
    "EUI64": 109, "URI": 256, "CAA": 257, "AVC": 258, "DOA": 259, "DLV": 32769, "TYPE1000": 1000,
}
TYPE_PROBES = [Probe(name, "type", qtype=code) for name, code in TYPES.items()]

# Where knotd (RUNWAY_TARGET=knot) answers otherwise, as genreport reports it.
KNOT_DIFFERS = {
    "opcodeflg": "knotd copies RD into its NOTIMP answer to an unknown opcode",
}


# ---------------------------------------------------------------------------
# the query

def qname_wire(name: str) -> bytes:
    return b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"


def build(p: Probe, qid: int) -> bytes:
    qd = 0 if p.opcode else 1
    ar = 1 if p.payload else 0
    flags = (p.opcode << 11) | p.flags
    wire = struct.pack("!HHHHHH", qid, flags, qd, 0, 0, ar)
    if qd:
        wire += qname_wire(ZONE) + struct.pack("!HH", p.qtype, 1)
    if p.payload:
        ttl = (p.version << 16) | p.ednsflags
        wire += b"\0" + struct.pack("!HHIH", OPT, p.payload, ttl, len(p.options)) + p.options
    return wire


# ---------------------------------------------------------------------------
# the answer, read without a DNS library (an unknown opcode is no Message)

class Malformed(Exception):
    pass


def read_name(m: bytes, pos: int) -> tuple[str, int]:
    labels, end, jumps = [], None, 0
    while True:
        if pos >= len(m):
            raise Malformed("name past the end")
        n = m[pos]
        if n & 0xC0 == 0xC0:
            if pos + 2 > len(m) or jumps > 64:
                raise Malformed("bad pointer")
            end = pos + 2 if end is None else end
            pos = ((n & 0x3F) << 8) | m[pos + 1]
            jumps += 1
            continue
        if n & 0xC0:
            raise Malformed("label type")
        if n == 0:
            return ".".join(labels).lower() + ".", (pos + 1 if end is None else end)
        labels.append(m[pos + 1:pos + 1 + n].decode("latin-1"))
        pos += 1 + n


@dataclass
class Reply:
    flags: int
    opcode: int
    rcode: int
    counts: tuple
    answer: list          # (name, type, rdata)
    opt: tuple | None     # (payload, ttl, [(code, data)])
    size: int


def read_reply(m: bytes) -> Reply:
    if len(m) < 12:
        raise Malformed("shorter than a header")
    _, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", m[:12])
    pos, answer, opt_rr = 12, [], None
    for _ in range(qd):
        _, pos = read_name(m, pos)
        pos += 4
    for i in range(an + ns + ar):
        name, pos = read_name(m, pos)
        if pos + 10 > len(m):
            raise Malformed("record header past the end")
        rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", m[pos:pos + 10])
        pos += 10
        rdata = m[pos:pos + rdlen]
        if len(rdata) != rdlen:
            raise Malformed("rdata past the end")
        pos += rdlen
        if i < an:
            answer.append((name, rtype, rdata))
        if rtype == OPT:
            if i < an + ns or opt_rr is not None:
                raise Malformed("OPT out of place")
            options, o = [], 0
            while o < rdlen:
                if o + 4 > rdlen:
                    raise Malformed("option header")
                code, olen = struct.unpack("!HH", rdata[o:o + 4])
                if o + 4 + olen > rdlen:
                    raise Malformed("option length")
                options.append((code, rdata[o + 4:o + 4 + olen]))
                o += 4 + olen
            opt_rr = (rclass, ttl, options)
    if pos != len(m):
        raise Malformed("bytes after the last record")
    rcode = flags & 0xF
    if opt_rr:
        rcode |= (opt_rr[1] >> 24) << 4
    return Reply(flags, (flags >> 11) & 0xF, rcode, (qd, an, ns, ar), answer, opt_rr, len(m))


# ---------------------------------------------------------------------------
# the grade

def grade(p: Probe, r: Reply) -> tuple[list, set]:
    """(problems, what the answer offered: nsid, expire, cookie, subnet)."""
    bad, seen = [], set()
    if r.opcode != p.opcode:
        bad.append(f"opcode {r.opcode}")
    if p.opcode:
        if any(r.counts):
            bad.append(f"sections not empty {r.counts}")      # nothing to answer with
        if r.rcode != NOTIMP:
            bad.append(f"rcode {r.rcode}, not NOTIMP")
    elif p.version:
        if r.rcode != BADVERS:
            bad.append(f"rcode {r.rcode}, not BADVERS")
    elif r.rcode != NOERROR and not (p.cookie and r.rcode == BADCOOKIE):
        bad.append(f"rcode {r.rcode}")
    if r.opt is None:
        if p.payload:
            bad.append("no OPT")
    else:
        payload, ttl, options = r.opt
        if not p.payload:
            bad.append("OPT to a query without one")
        if (ttl >> 16) & 0xFF:
            bad.append("EDNS version not 0")
        if ttl & 0x7FFF:
            bad.append("unknown EDNS flags set (mbz)")
        for code, data in options:
            if code == OPT_ECHO:
                bad.append("unknown option echoed")
            elif code == OPT_NSID and data:
                seen.add("nsid")
            elif code == OPT_ECS:
                seen.add("subnet")
            elif code == OPT_EXPIRE and len(data) == 4:
                seen.add("expire")
            elif code == OPT_COOKIE and 16 <= len(data) <= 40:
                seen.add("cookie")
                if p.cookie and data[:8] != CLIENT_COOKIE:
                    bad.append("client cookie not echoed")
        if p.ednsflags & DO and not ttl & DO and any(t == RRSIG for _, t, _ in r.answer):
            bad.append("DO not echoed")
    soa = any(t == SOA and n == ZONE for n, t, _ in r.answer)
    if p.qtype == SOA and not p.opcode:
        if r.rcode == NOERROR and not p.version and not soa and not p.ignoretc:
            bad.append("no SOA")
        if soa and (p.version or r.rcode != NOERROR):
            bad.append("SOA in an error")
    f = r.flags
    if not p.opcode and not p.version and r.rcode == NOERROR and not f & F_AA:
        bad.append("AA clear")
    if p.opcode and f & F_AA:
        bad.append("AA")
    if f & F_RA:
        bad.append("RA from an authoritative server")
    if f & F_RD and (p.opcode or not p.flags & F_RD):
        bad.append("RD")
    if not f & F_RD and p.flags & F_RD and not p.opcode:
        bad.append("RD not copied")
    if f & F_AD and (p.opcode or not (p.flags & F_AD or p.ednsflags & DO)):
        bad.append("AD")
    if f & F_CD and (p.opcode or not p.flags & F_CD):
        bad.append("CD")
    if f & F_Z:
        bad.append("Z")
    if p.ignoretc and r.size > max(p.payload, 512):
        bad.append(f"{r.size} bytes, more than the {p.payload} asked")
    return bad, seen


def ask(srv, p: Probe, qid: int = 0x5EED) -> Reply:
    wire = build(p, qid)
    if p.tcp:
        raw = tcp_exchange(wire, srv.port)
    else:
        raw = udp_exchange(wire, srv.port)
        assert raw is not None, f"{p.name}: no answer over UDP"
        if struct.unpack("!H", raw[2:4])[0] & F_TC and not p.ignoretc:
            raw = tcp_exchange(wire, srv.port)    # as a resolver (and genreport) would
    assert raw[:2] == wire[:2], f"{p.name}: ID not echoed"
    assert raw[2] & 0x80, f"{p.name}: QR clear"
    return read_reply(raw)


def known_difference(name):
    if TARGET == "knot" and name in KNOT_DIFFERS:
        pytest.xfail(KNOT_DIFFERS[name])


# ---------------------------------------------------------------------------
# the tests

@pytest.mark.parametrize("probe", PROBES + TYPE_PROBES, ids=lambda p: p.name)
def test_probe(srv, probe):
    known_difference(probe.name)
    bad, _ = grade(probe, ask(srv, probe))
    assert bad == [], f"{probe.name}: {', '.join(bad)}"


@pytest.mark.parametrize("mode", ["default", "full", "types"])
def test_all_ok(srv, mode):
    """What genreport -a prints as "all ok", per mode: every probe at once."""
    want = {"default": ("edns",), "full": ("edns", "full"), "types": ("type",)}[mode]
    failed = {}
    for p in PROBES + TYPE_PROBES:
        if p.mode in want and not (TARGET == "knot" and p.name in KNOT_DIFFERS):
            bad, _ = grade(p, ask(srv, p))
            if bad:
                failed[p.name] = bad
    assert failed == {}


@pytest.mark.runway_only
def test_optlist_offers_every_option(srv):
    """genreport's optlist=ok,nsid,expire,cookie,subnet (BIND's line)."""
    p = next(p for p in PROBES if p.name == "optlist")
    r = ask(srv, p)
    bad, seen = grade(p, r)
    assert bad == [] and seen == {"nsid", "expire", "cookie", "subnet"}
    options = dict(r.opt[2])
    assert options[OPT_NSID] == NSID.encode()
    assert options[OPT_EXPIRE] == struct.pack("!I", SOA_EXPIRE)
    assert options[OPT_ECS] == b"\x00\x01\x00\x00"         # scope 0: not tailored


@pytest.mark.parametrize("name,option,tag", [
    ("ednsnsid", NSID_OPT, "nsid"), ("ednscookie", COOKIE_OPT, "cookie"),
    ("ednsexpire", EXPIRE_OPT, "expire"), ("ednssubnet", ECS_OPT, "subnet"),
])
@pytest.mark.runway_only
def test_single_option_answered(srv, name, option, tag):
    p = next(p for p in PROBES if p.name == name)
    bad, seen = grade(p, ask(srv, p))
    assert bad == [] and seen == {tag}
    # At version 1 the server does not read options: BADVERS alone.
    p1 = next(p for p in PROBES if p.name == name.replace("edns", "edns1"))
    bad, seen = grade(p1, ask(srv, p1))
    assert bad == [] and seen == set()


@pytest.mark.parametrize("tcp", [False, True])
def test_expire_for_every_answer_from_the_zone(srv, tcp):
    """RFC 7314: a primary answers EXPIRE with its SOA EXPIRE, over UDP and
    TCP, as knotd: whatever the question in the zone; nothing without a zone."""
    for qname, qtype, rcode in [(ZONE, SOA, NOERROR), ("www." + ZONE, 1, NOERROR),
                                ("nope." + ZONE, 1, 3)]:
        p = Probe("expire", payload=EDNS, options=EXPIRE_OPT, tcp=tcp, qtype=qtype)
        wire = build(p, 7).replace(qname_wire(ZONE), qname_wire(qname), 1)
        r = read_reply(tcp_exchange(wire, srv.port) if tcp else udp_exchange(wire, srv.port))
        assert r.rcode == rcode
        assert dict(r.opt[2]).get(OPT_EXPIRE) == struct.pack("!I", SOA_EXPIRE), qname
    p = Probe("expire", payload=EDNS, options=EXPIRE_OPT, tcp=tcp)
    wire = build(p, 7).replace(qname_wire(ZONE), qname_wire("example.org."), 1)
    r = read_reply(tcp_exchange(wire, srv.port) if tcp else udp_exchange(wire, srv.port))
    assert r.rcode == 5 and OPT_EXPIRE not in dict(r.opt[2])     # REFUSED: no zone


@pytest.mark.parametrize("opcode", [1, 2, 3, 6, 15])
@pytest.mark.parametrize("edns", [False, True])
def test_unknown_opcode_header_only(srv, opcode, edns):
    """RFC 8906 3.1.4 / 6891: NOTIMP whatever the question count, the
    opcode echoed, no RD/CD/AA, and an OPT when the query had one."""
    known_difference("opcodeflg")
    p = Probe("opcode", opcode=opcode, payload=EDNS if edns else 0,
              flags=F_RD | F_CD | F_AD | F_Z | F_AA | F_TC | F_RA)
    r = ask(srv, p)
    bad, _ = grade(p, r)
    if edns:
        bad = [b for b in bad if b != "sections not empty (0, 0, 0, 1)"]
        assert r.counts == (0, 0, 0, 1) and r.opt is not None
    assert bad == []


@pytest.mark.runway_only
# NOTIFY (4) for a zone runway is no secondary of: NOTAUTH (query/notify.c), as knotd.
@pytest.mark.parametrize("opcode,rcode", [(15, NOTIMP), (2, NOTIMP), (4, 9), (5, NOTIMP)])
def test_notimp_with_question_carries_opt(srv, opcode, rcode):
    p = Probe("notimp", payload=EDNS, options=NSID_OPT, flags=F_RD | F_CD)
    wire = bytearray(build(p, 9))
    wire[2] |= opcode << 3
    r = read_reply(tcp_exchange(bytes(wire), srv.port))
    assert (r.opcode, r.rcode, r.counts) == (opcode, rcode, (1, 0, 0, 1))
    assert not r.flags & (F_RD | F_CD | F_AA)
    assert dict(r.opt[2]).get(OPT_NSID) == NSID.encode()       # over TCP: room for it


def header_only(qid: int, options: bytes | None, version: int = 0) -> bytes:
    """A QUERY without a question; options None: without EDNS."""
    if options is None:
        return struct.pack("!HHHHHH", qid, 0, 0, 0, 0, 0)
    return (struct.pack("!HHHHHH", qid, 0, 0, 0, 0, 1) + b"\0" +
            struct.pack("!HHIH", OPT, EDNS, version << 16, len(options)) + options)


@pytest.mark.runway_only
@pytest.mark.parametrize("tcp", [False, True])
def test_header_only_query_for_a_server_cookie(srv, tcp):
    """RFC 7873 5.4: QDCOUNT 0 with a client cookie: NOERROR and our cookie,
    which is then valid."""
    send = (lambda w: tcp_exchange(w, srv.port)) if tcp else (lambda w: udp_exchange(w, srv.port))
    r = read_reply(send(header_only(11, COOKIE_OPT + NSID_OPT)))
    assert (r.rcode, r.counts, r.flags & F_AA) == (NOERROR, (0, 0, 0, 1), 0)
    options = dict(r.opt[2])
    cookie = options[OPT_COOKIE]
    assert cookie[:8] == CLIENT_COOKIE and len(cookie) == 24 and cookie[8] == 1
    # The NSID asked for comes over TCP; over UDP the answer stays within
    # the query plus the server cookie (the client has not proved its address).
    assert (OPT_NSID in options) == tcp
    # Sent back, the cookie is valid: NOERROR again, not BADCOOKIE.
    r = read_reply(send(header_only(12, opt(OPT_COOKIE, cookie))))
    assert r.rcode == NOERROR and dict(r.opt[2])[OPT_COOKIE][:8] == CLIENT_COOKIE
    # A server cookie we did not make: BADCOOKIE over UDP (RFC 7873 5.2.4),
    # NOERROR over TCP (the connection proved the address).
    r = read_reply(send(header_only(13, opt(OPT_COOKIE, CLIENT_COOKIE + bytes(16)))))
    assert r.rcode == (NOERROR if tcp else BADCOOKIE)
    assert dict(r.opt[2])[OPT_COOKIE][:8] == CLIENT_COOKIE


@pytest.mark.parametrize("tcp", [False, True])
def test_header_only_query_without_cookie_formerr(srv, tcp):
    """No question and nothing to ask instead: FORMERR, with an OPT when
    the query had one (as knotd)."""
    send = (lambda w: tcp_exchange(w, srv.port)) if tcp else (lambda w: udp_exchange(w, srv.port))
    r = read_reply(send(header_only(14, b"")))
    assert (r.rcode, r.counts) == (FORMERR, (0, 0, 0, 1)) and r.opt[2] == []
    r = read_reply(send(header_only(15, None)))
    assert (r.rcode, r.counts, r.opt) == (FORMERR, (0, 0, 0, 0), None)


def test_badvers_without_a_question(srv):
    """Version first: a header-only query at EDNS version 1 is BADVERS (knotd too)."""
    r = read_reply(udp_exchange(header_only(16, COOKIE_OPT, version=1), srv.port))
    assert r.rcode == BADVERS and r.counts == (0, 0, 0, 1) and (r.opt[1] >> 16) & 0xFF == 0
    assert r.opt[2] == []


if os.environ.get("GENREPORT"):
    # With GENREPORT=/path/to/genreport: genreport itself, all three modes.
    import subprocess

    @pytest.mark.runway_only
    @pytest.mark.parametrize("flag", ["", "-f", "-t"])
    def test_genreport_itself(srv, flag):
        args = [os.environ["GENREPORT"], "-a", "-P", str(srv.port)] + ([flag] if flag else [])
        out = subprocess.run(args, input=f"{ZONE} ns1.{ZONE} 127.0.0.1\n", text=True,
                             capture_output=True, timeout=120).stdout
        assert out.strip().endswith("all ok"), out
