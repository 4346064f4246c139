"""Differential test: the same zones served by runwayd and by knotd (the
reference), the same queries sent to both, the replies compared: rcode,
opcode, flags, the question byte for byte, every section as a multiset of
records (owner names case-insensitive, TTLs included), and the OPT record.

Known, justified differences are listed in ALLOWED below (each also in
docs/knot-differences.md with its RFC); for those cases runwayd's reply
must be the documented alternative, not just anything.

With RUNWAY_TARGET=knot this compares two knotd instances: a self-check of
the harness (no difference may appear, the allowlist is not used).
Skipped when knotd is not installed.
"""
import os
import random
import socket
import struct
from dataclasses import dataclass, field

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest

import dnsharness as h
from dnsharness import make_query, section_rrs, tcp_frame, tcp_read_msg, udp_exchange

pytestmark = pytest.mark.needs_knot

TYPES = ["A", "AAAA", "NS", "SOA", "MX", "TXT", "CNAME", "SRV", "CAA", "PTR", "NAPTR", "TLSA",
         "SSHFP", "DS", "DNSKEY", "SVCB", "HTTPS", "TYPE65534", "ANY"]
FEW_TYPES = ["A", "AAAA", "MX", "TXT", "NS", "DS", "ANY", "SRV"]


# ---------------------------------------------------------------------------
# query cases

@dataclass
class Case:
    tag: str                 # what kind of query (keys ALLOWED)
    desc: str                # readable: "www.example.net A udp+edns"
    wire: bytes
    tcp: bool = False
    may_drop: bool = False   # short timeout: one of the servers may not answer
    extra: dict = field(default_factory=dict)


def zone_names():
    """Owner names of every served zone (with $INCLUDEs), as dns.name."""
    names = set()
    cuts = set()
    wild = set()
    for origin, path, _ in h.STANDARD_ZONES:
        cwd = os.getcwd()
        os.chdir(path.parent)  # $INCLUDE is relative to the zone's folder
        try:
            z = dns.zone.from_file(path.name, origin=origin, relativize=False, allow_include=True,
                                   check_origin=True)
        finally:
            os.chdir(cwd)
        for name, node in z.nodes.items():
            names.add(name)
            if name != z.origin and node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NS):
                cuts.add(name)
            if name.labels[0] == b"*":
                wild.add(name)
            # empty non-terminals: every ancestor down to the apex
            n = name
            while n != z.origin and len(n) > len(z.origin):
                n = n.parent()
                names.add(n)
    return sorted(names), sorted(cuts), sorted(wild)


def mixed_case(name: dns.name.Name, rng: random.Random) -> str:
    text = name.to_text()
    return "".join(c.upper() if c.isalpha() and rng.random() < 0.5 else c for c in text)


def build_cases():
    rng = random.Random(1034)
    names, cuts, wild = zone_names()
    qnames = [n.to_text() for n in names]
    extra = []
    for w in wild:
        parent = w.parent()
        extra += [f"hit.{parent}", f"a.b.{parent}", f"HiT.{parent}"]
    for c in cuts:
        extra += [f"host.{c}", f"a.b.{c}"]
    extra += ["nothing.example.net.", "a.b.nothing.example.net.", "nothing.example.com.",
              "nothing.child.example.net.", "other.a.ent.example.net.", "x.exists.wild.example.net.",
              "x.ent.wild.example.net.", "www.example.org.", "example.org.", "net.", ".",
              "xexample.net.", "www.google.com."]
    cases = []
    idn = 0

    def add(tag, qname, qtype, rdclass="IN", tcp=False, desc_extra="", **kw):
        nonlocal idn
        idn = (idn + 1) & 0xFFFF
        q = make_query(qname, qtype, rdclass, qid=idn, **kw)
        mode = ("tcp" if tcp else "udp") + ("+edns" if kw.get("edns", 0) is not None else "")
        cases.append(Case(tag, f"{qname} {rdclass} {qtype} {mode}{desc_extra}", q.to_wire(), tcp=tcp))

    for qn in qnames + extra:
        for t in TYPES:
            add("std", qn, t)
        for t in FEW_TYPES:
            add("std", qn, t, edns=None)
            add("std", qn, t, tcp=True)
    # mixed case (0x20)
    for n in names[::3]:
        add("std", mixed_case(n, rng), "A")
        add("std", mixed_case(n, rng), "MX", tcp=True)
    # EDNS variants
    for qn in ["www.example.net.", "big.example.net.", "many.example.net.", "manymx.example.net.",
               "nothing.example.net.", "host.deleg.example.net."]:
        for t in ["A", "TXT", "MX"]:
            add("std", qn, t, payload=512, desc_extra=" payload=512")
            add("std", qn, t, payload=4096, desc_extra=" payload=4096")
            add("std", qn, t, do=True, desc_extra=" DO")
            add("std", qn, t, nsid=True, desc_extra=" NSID")
            add("std", qn, t, edns=1, desc_extra=" edns1")
            add("std", qn, t, options=[dns.edns.GenericOption(65001, b"x")], desc_extra=" opt65001")
    # classes
    for qn in ["www.example.net.", "example.net.", "nothing.example.net."]:
        for cls in ["CH", "HS", "NONE", "ANY", "CLASS42"]:
            add("std", qn, "A", cls)
    for qn in ["version.bind.", "version.server.", "id.server.", "hostname.bind."]:
        add("chaos-identity", qn, "TXT", "CH")
        add("chaos-identity", qn, "TXT", "CH", edns=None)
    add("std", "authors.bind.", "TXT", "CH")
    # meta and transfer types
    for t in ["AXFR", "IXFR", "TYPE0", "OPT", "MAILB", "MAILA", "RRSIG", "NSEC", "TSIG", "TKEY", "TYPE65000"]:
        add("std", "example.net.", t)
        add("std", "www.example.net.", t)
    add("std", "example.net.", "AXFR", tcp=True)
    add("std", "example.net.", "IXFR", tcp=True)

    # raw: opcodes and malformed
    base = make_query("www.example.net", "A", edns=None, qid=0x5151).to_wire()
    base_e = make_query("www.example.net", "A", qid=0x5152).to_wire()

    def raw(tag, desc, wire, may_drop=False):
        cases.append(Case(tag, desc, wire, may_drop=may_drop))

    for op in (1, 2, 3, 6, 7, 15):
        b = bytearray(base)
        b[2] = (b[2] & 0x87) | (op << 3)
        raw("std", f"opcode {op}", bytes(b))
    for op in (4, 5):
        b = bytearray(base)
        b[2] = (b[2] & 0x87) | (op << 3)
        raw("notify-update", f"opcode {op}", bytes(b))
    raw("std", "qdcount=0", base[:4] + b"\x00\x00" + base[6:12])
    raw("std", "trailing garbage", base + b"\xde\xad")
    raw("std", "trailing garbage after OPT", base_e + b"\xde\xad")
    raw("std", "ancount=1 no record", base[:6] + b"\x00\x01" + base[8:])
    rr = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x01\x02\x03\x04"
    raw("std", "ancount=1 with record", base[:6] + b"\x00\x01" + base[8:] + rr)
    raw("std", "QR=1", bytes([base[0], base[1], base[2] | 0x80]) + base[3:], may_drop=True)
    raw("std", "11 bytes", base[:11], may_drop=True)
    raw("malformed-drop", "qdcount=2 one question", base[:4] + b"\x00\x02" + base[6:], may_drop=True)
    raw("malformed-drop", "qdcount=2 two questions", base[:4] + b"\x00\x02" + base[6:] + base[12:], may_drop=True)
    raw("malformed-drop", "question cut", base[:-3], may_drop=True)
    raw("malformed-drop", "header only", base[:12], may_drop=True)
    for bits in (0x0400, 0x0200, 0x0040, 0x0030, 0x000F):
        b = bytearray(base)
        b[2:4] = struct.pack("!H", struct.unpack("!H", b[2:4])[0] | bits)
        raw("std", f"flag bits {bits:#06x}", bytes(b))
    return cases


# ---------------------------------------------------------------------------
# comparison

def summary(wire):
    """A comparable summary of a reply (None for no reply)."""
    if wire is None:
        return None
    try:
        m = dns.message.from_wire(wire)
    except Exception:  # noqa: BLE001 - e.g. UPDATE replies: compare header + bytes
        if len(wire) < 12:
            return {"short": wire.hex()}
        qid, fl = struct.unpack("!HH", wire[:4])
        return {"id": qid, "opcode": (fl >> 11) & 0xF, "rcode": dns.rcode.to_text(fl & 0xF),
                "flags": dns.flags.to_text(fl & ~0x780F), "counts": wire[4:12].hex(), "body": wire[12:].hex()}
    qlen = 12
    if m.question:
        qlen += len(m.question[0].name.to_wire()) + 4
    s = {
        "id": m.id,
        "opcode": (m.flags >> 11) & 0xF,
        "rcode": dns.rcode.to_text(m.rcode()),
        "flags": dns.flags.to_text(m.flags & ~0x7800),
        "question": wire[12:qlen].hex() if m.question else "",
        "answer": section_rrs(m.answer),
        "authority": section_rrs(m.authority),
        "additional": section_rrs(m.additional),
        "edns": m.edns,
    }
    if m.edns >= 0:
        s["payload"] = m.payload
        s["ednsflags"] = dns.flags.edns_to_text(m.ednsflags)
        s["options"] = sorted((int(o.otype), o.to_wire() if hasattr(o, "to_wire") else b"") for o in m.options)
    return s


def differences(a, b):
    if a is None or b is None:
        return [] if a == b else [("reply", a, b)]
    out = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            out.append((k, a.get(k), b.get(k)))
    return out


def fmt_diff(d):
    k, x, y = d
    if hasattr(x, "elements") and hasattr(y, "elements"):
        only_a = list((x - y).elements())
        only_b = list((y - x).elements())
        show = lambda rrs: "; ".join(f"{r[0]} {r[1]} {dns.rdatatype.to_text(r[3])} {r[4]}" for r in rrs) or "-"
        return f"{k}: only in tested: {show(only_a)} | only in knot: {show(only_b)}"
    return f"{k}: tested={x!r} knot={y!r}"


# ---- the allowlist: documented differences (docs/knot-differences.md) -------

def _opt_without(s, code):
    s = dict(s)
    if "options" in s:
        s["options"] = [o for o in s["options"] if o[0] != code]
    return s


def allow_chaos_identity(case, a, b):
    # knotd answers version.bind/id.server/...; runway has no such option
    # and refuses class CH altogether (RFC 4892 describes these names as a
    # convention, nothing requires them; runway offers NSID, RFC 5001).
    return a is not None and a.get("rcode") == "REFUSED" and not a["answer"] and "AA" not in a["flags"]


def allow_notify_update(case, a, b):
    # runway implements neither NOTIFY nor UPDATE: NOTIMP (RFC 1035 4.1.1).
    return a is not None and a.get("rcode") == "NOTIMP"


def allow_malformed_formerr(case, a, b):
    # knotd drops these; runway answers FORMERR (RFC 1035 4.1.1; RFC 9619
    # limits QDCOUNT to 1 for QUERY). The reply must be no larger than the query.
    return b is None and a is not None and a.get("rcode") == "FORMERR"


def allow_no_ede(case, a, b):
    # EDE (RFC 8914) is optional: runway may leave out knotd's EDE 20
    # ("Not Authoritative") on REFUSED; everything else must be equal.
    if a is None or b is None:
        return False
    return not differences(_opt_without(a, 15), _opt_without(b, 15))


def allow_cd_copied(case, a, b):
    # runway copies CD from the query, knotd clears it: RFC 4035 section
    # 3.1.6 says the name server side must copy the CD bit to the response.
    if a is None or b is None or len(case.wire) < 4 or not case.wire[3] & 0x10:
        return False
    fa = set(a.get("flags", "").split())
    fb = set(b.get("flags", "").split())
    if fa != fb | {"CD"}:
        return False
    a2 = dict(a, flags=b.get("flags"))
    return not differences(_opt_without(a2, 15), _opt_without(b, 15))


ALLOWED = {
    "chaos-identity": [allow_chaos_identity],
    "notify-update": [allow_notify_update],
    "malformed-drop": [allow_malformed_formerr],
    "*": [allow_no_ede, allow_cd_copied],
}


# ---------------------------------------------------------------------------
# running

class Client:
    """Sends cases to one server; one reused TCP connection."""

    def __init__(self, srv):
        self.srv = srv
        self.tcp = None

    def ask(self, case):
        if not case.tcp:
            return udp_exchange(case.wire, self.srv.port, timeout=0.4 if case.may_drop else 2.0)
        for attempt in range(2):
            try:
                if self.tcp is None:
                    self.tcp = socket.create_connection(("127.0.0.1", self.srv.port), timeout=3)
                self.tcp.sendall(tcp_frame(case.wire))
                return tcp_read_msg(self.tcp)
            except (OSError, EOFError):
                self.close()
                if attempt:
                    raise
        return None

    def close(self):
        if self.tcp is not None:
            self.tcp.close()
            self.tcp = None


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    tested = h.DnsServer(h.TARGET, tmp_path_factory.mktemp("diff-tested"))
    ref = h.DnsServer("knot", tmp_path_factory.mktemp("diff-knot"))
    try:
        ref.start()
        tested.start()
        yield tested, ref
    finally:
        rc = tested.stop()
        ref.stop()
    assert rc == 0, f"{tested.kind} exited with {rc} after SIGTERM:\n{tested.log_tail()}"


def test_differential(pair):
    tested, ref = pair
    cases = build_cases()
    assert len(cases) > 2000, len(cases)
    ca, cb = Client(tested), Client(ref)
    unexpected, allowed_hits = [], {}
    try:
        silent = 0  # bound the run: a server that stops answering fails fast
        for case in cases:
            ra, rb = ca.ask(case), cb.ask(case)
            if ra is None and rb is not None and not case.may_drop:
                silent += 1
                if silent > 20 or not tested.alive():
                    pytest.fail(f"{tested.kind} stopped answering (last: {case.desc}); "
                                f"log:\n{tested.log_tail()}", pytrace=False)
            a, b = summary(ra), summary(rb)
            diffs = differences(a, b)
            if not diffs:
                continue
            if h.TARGET == "runway":
                acceptors = ALLOWED.get(case.tag, []) + ALLOWED["*"]
                ok = next((f.__name__ for f in acceptors if f(case, a, b)), None)
                if ok and not (ra is not None and case.may_drop and len(ra) > len(case.wire)):
                    allowed_hits[ok] = allowed_hits.get(ok, 0) + 1
                    continue
            unexpected.append((case, diffs))
    finally:
        ca.close()
        cb.close()
    assert tested.alive(), tested.log_tail()
    if unexpected:
        # One line per (query name, kind of difference), with a count.
        groups = {}
        for case, diffs in unexpected:
            key = (case.desc.split()[0].lower(), tuple(d[0] for d in diffs))
            groups.setdefault(key, []).append((case, diffs))
        lines = [f"{len(unexpected)} of {len(cases)} queries differ from knotd in {len(groups)} groups "
                 f"(allowed differences seen: {allowed_hits}):"]
        for (_, _), members in list(groups.items())[:40]:
            case, diffs = members[0]
            more = f"  (+{len(members) - 1} similar)" if len(members) > 1 else ""
            lines.append(f"- {case.desc}{more}")
            lines += [f"    {fmt_diff(d)}" for d in diffs]
        pytest.fail("\n".join(lines), pytrace=False)
