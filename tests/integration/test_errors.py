# SPDX-License-Identifier: GPL-3.0-or-later
"""Malformed and unusual queries: FORMERR, NOTIMP, REFUSED for other
classes, meta query types, and random garbage that must never crash the
server nor be answered with more bytes than it sent."""
import random
import select
import socket
import struct
import time

import dns.message
import dns.rcode
import pytest

from dnsharness import NSID, TARGET, check, make_query, tcp_frame, tcp_read_msg

QID = 0x4242


def base_query(edns=None, qname="www.example.net", qtype="A"):
    return make_query(qname, qtype, edns=edns, qid=QID).to_wire()


def header(wire):
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", wire[:12])
    return qid, flags, qd, an, ns, ar


def rcode_of(wire):
    return header(wire)[1] & 0xF


def set_opcode(wire, op):
    b = bytearray(wire)
    b[2] = (b[2] & 0x87) | (op << 3)
    return bytes(b)


def assert_formerr(reply, query):
    assert reply is not None, "no reply; a FORMERR was expected"
    qid, flags, *_ = header(reply)
    assert qid == QID and flags & 0x8000, "reply must echo the id and set QR"
    assert rcode_of(reply) == dns.rcode.FORMERR, f"rcode {rcode_of(reply)}"
    assert len(reply) <= len(query)


def formerr_or_drop(srv, wire):
    """Knot drops these queries; runway answers FORMERR (see
    docs/knot-differences.md, 'Malformed queries')."""
    reply = srv.send_raw(wire, timeout=1.0)
    if TARGET == "knot":
        if reply is not None:
            assert_formerr(reply, wire)
    else:
        assert_formerr(reply, wire)
    return reply


def test_qdcount_two_claimed_one_present(srv, check_alive):
    w = base_query()
    formerr_or_drop(srv, w[:4] + b"\x00\x02" + w[6:])


def test_qdcount_two_present(srv, check_alive):
    w = base_query()
    formerr_or_drop(srv, w[:4] + b"\x00\x02" + w[6:] + w[12:])


def test_truncated_question(srv, check_alive):
    w = base_query()
    formerr_or_drop(srv, w[:-3])
    formerr_or_drop(srv, w[:20])  # name cut inside a label


def test_header_only(srv, check_alive):
    formerr_or_drop(srv, base_query()[:12])


def test_qdcount_zero_formerr(srv, check_alive):
    w = base_query()[:12]
    w = w[:4] + b"\x00\x00" + w[6:]
    reply = srv.send_raw(w)
    assert_formerr(reply, w)
    assert header(reply)[2:] == (0, 0, 0, 0)


@pytest.mark.parametrize("edns", [None, 0])
def test_garbage_after_question_formerr(srv, edns, check_alive):
    w = base_query(edns=edns) + b"\xde\xad\xbe\xef"
    reply = srv.send_raw(w)
    assert_formerr(reply, w)


def test_ancount_without_records_formerr(srv, check_alive):
    w = base_query()
    w = w[:6] + b"\x00\x01" + w[8:]
    assert_formerr(srv.send_raw(w), w)


def test_records_in_answer_section_of_query_ignored(srv):
    rr = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x01\x02\x03\x04"
    w = base_query()
    w = w[:6] + b"\x00\x01" + w[8:] + rr
    r = dns.message.from_wire(srv.send_raw(w))
    check(r, rcode="NOERROR", aa=True, answer=["www.example.net. 3600 IN A 192.0.2.80"])


@pytest.mark.parametrize("payload", [b"", b"\x12", b"\x12\x34\x01", b"\x00" * 11])
def test_shorter_than_header_dropped(srv, payload, check_alive):
    assert srv.send_raw(payload, timeout=0.5) is None


def test_response_not_answered(srv, check_alive):
    b = bytearray(base_query())
    b[2] |= 0x80  # QR=1: this is a response, never answer it (loops)
    assert srv.send_raw(bytes(b), timeout=0.5) is None


@pytest.mark.parametrize("bits", [0x0400, 0x0200, 0x0040, 0x0020, 0x0010, 0x000F])
def test_odd_header_bits_ignored(srv, bits):
    b = bytearray(base_query())
    f = struct.unpack("!H", b[2:4])[0] | bits
    b[2:4] = struct.pack("!H", f)
    r = dns.message.from_wire(srv.send_raw(bytes(b)))
    check(r, rcode="NOERROR", aa=True, tc=False, answer=["www.example.net. 3600 IN A 192.0.2.80"])


@pytest.mark.parametrize("opcode", [1, 2, 3, 6, 7, 15])
def test_unknown_or_obsolete_opcode_notimp(srv, opcode):
    w = set_opcode(base_query(), opcode)
    reply = srv.send_raw(w)
    assert reply is not None
    qid, flags, *_ = header(reply)
    assert qid == QID and flags & 0x8000
    assert (flags >> 11) & 0xF == opcode, "opcode must be echoed"
    assert rcode_of(reply) == dns.rcode.NOTIMP
    assert len(reply) <= len(w)


@pytest.mark.parametrize("opcode,knot_rcode", [(4, dns.rcode.NOTAUTH), (5, dns.rcode.FORMERR)])
def test_notify_update_not_served(srv, opcode, knot_rcode):
    # Knot: NOTIFY -> NOTAUTH (no primary configured), UPDATE with an A
    # question -> FORMERR. runway: NOTIFY for a zone it is no secondary of
    # is NOTAUTH too (query/notify.c); UPDATE it does not implement: NOTIMP,
    # "the name server does not support the requested kind of query"
    # (RFC 1035 section 4.1.1); see docs/knot-differences.md.
    w = set_opcode(base_query(), opcode)
    reply = srv.send_raw(w)
    assert reply is not None
    want = knot_rcode if TARGET == "knot" or opcode == 4 else dns.rcode.NOTIMP
    assert rcode_of(reply) == want, f"rcode {rcode_of(reply)}"
    assert header(reply)[0] == QID and (header(reply)[1] >> 11) & 0xF == opcode


# ---- classes ----------------------------------------------------------------

@pytest.mark.parametrize("rdclass", ["CH", "HS", "NONE", "CLASS42"])
def test_other_class_refused(srv, rdclass):
    r = srv.query("www.example.net", "A", rdclass)
    check(r, rcode="REFUSED", aa=False, answer=[], authority=[], additional=[])
    assert r.question[0].rdclass == dns.rdataclass.from_text(rdclass)


def test_class_any_answered_like_in(srv):
    r = srv.query("www.example.net", "A", "ANY")
    check(r, rcode="NOERROR", aa=True, answer=["www.example.net. 3600 IN A 192.0.2.80"])


@pytest.mark.parametrize("name", ["version.bind", "id.server", "hostname.bind", "version.server"])
def test_chaos_identity_queries(srv, name):
    r = srv.query(name, "TXT", "CH")
    if TARGET == "knot":
        # knotd answers these with its version / hostname (TTL 0, AA=0)
        check(r, rcode="NOERROR", aa=False)
        assert r.answer and r.answer[0].rdclass == dns.rdataclass.CH and r.answer[0].ttl == 0
    else:
        # runway has no version/identity option: REFUSED (documented difference)
        check(r, rcode="REFUSED", aa=False, answer=[])


# ---- query types ------------------------------------------------------------

def test_axfr_over_udp_notimp(srv):
    check(srv.query("example.net", "AXFR"), rcode="NOTIMP", aa=False, answer=[])


# No allow_transfer for the zone: runway REFUSED (as BIND, NSD), knotd
# NOTAUTH (docs/knot-differences.md); test_axfr.py has the transfers.
XFR_REFUSED = "NOTAUTH" if TARGET == "knot" else "REFUSED"


@pytest.mark.parametrize("qtype", ["AXFR", "IXFR"])
def test_zone_transfer_over_tcp_refused(srv, qtype):
    check(srv.query("example.net", qtype, tcp=True), rcode=XFR_REFUSED, aa=False, answer=[])


def test_ixfr_over_udp_refused(srv):
    check(srv.query("example.net", "IXFR"), rcode=XFR_REFUSED, aa=False, answer=[])


def test_qtype_zero_notimp(srv):
    check(srv.query("www.example.net", "TYPE0"), rcode="NOTIMP", aa=False, answer=[])


@pytest.mark.parametrize("qtype", ["OPT", "MAILB", "MAILA", "RRSIG", "NSEC", "TSIG", "TKEY", "TYPE65000"])
def test_meta_and_absent_types_nodata(srv, qtype):
    check(srv.query("www.example.net", qtype), rcode="NOERROR", aa=True, answer=[],
          authority=["example.net. 300 IN SOA ns1.example.net. hostmaster.example.net. 2024010101 7200 3600 1209600 300"])


# ---- garbage ------------------------------------------------------------------

def _garbage(rng: random.Random, valid: bytes) -> bytes:
    kind = rng.random()
    if kind < 0.3:
        return rng.randbytes(rng.randint(0, 40))
    if kind < 0.6:
        return rng.randbytes(rng.randint(12, 600))
    # a real header with random counts and random body
    hdr = struct.pack("!HHHHHH", rng.randrange(65536), rng.randrange(65536) & 0x7FFF,
                      rng.choice([0, 1, 1, 1, 2, 255]), rng.choice([0, 0, 1, 65535]),
                      rng.choice([0, 0, 1]), rng.choice([0, 0, 1, 2]))
    if kind < 0.8:
        return hdr + rng.randbytes(rng.randint(0, 300))
    # a valid query with a few bytes flipped, cut, or extended
    b = bytearray(valid)
    for _ in range(rng.randint(1, 4)):
        b[rng.randrange(len(b))] = rng.randrange(256)
    if rng.random() < 0.3:
        b = b[:rng.randint(0, len(b))]
    if rng.random() < 0.3:
        b += rng.randbytes(rng.randint(1, 30))
    return bytes(b)


def _is_wellformed_query(wire: bytes) -> bool:
    """A mutation can produce a valid query (e.g. for another name), which
    may rightly get an answer longer than itself."""
    try:
        m = dns.message.from_wire(wire)
    except Exception:
        return False
    return not (m.flags & 0x8000) and len(m.question) == 1


def test_random_garbage_never_crashes_nor_amplifies(srv, check_alive):
    rng = random.Random(0x52554E57)  # fixed seed: "RUNW"
    valid = [make_query(n, t, qid=1).to_wire() for n, t in
             [("www.example.net", "A"), ("big.example.net", "TXT"), ("example.net", "ANY"), ("x.wild.example.net", "MX")]]
    total, batch, answered, oversized = 2000, 50, 0, []
    probe = make_query("www.example.net", "SOA", qid=0xBEEF, edns=None).to_wire()
    for start in range(0, total, batch):
        socks, sent = [], []
        for i in range(batch):
            g = _garbage(rng, rng.choice(valid))
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.connect(("127.0.0.1", srv.port))
            s.setblocking(False)
            s.send(g)
            s.send(probe)  # per-socket marker: the server is done with g when this is answered
            socks.append(s)
            sent.append(g)
        pending = {s: g for s, g in zip(socks, sent)}
        t_end = time.monotonic() + 3.0
        while pending and time.monotonic() < t_end:
            ready, _, _ = select.select(list(pending), [], [], 0.2)
            for s in ready:
                try:
                    data = s.recv(65535)
                except BlockingIOError:
                    continue
                g = pending[s]
                if data[:2] == b"\xbe\xef" and len(data) > 12 and data[12:].startswith(probe[12:12 + 17]):
                    del pending[s]  # probe answered
                    continue
                answered += 1
                if len(data) > len(g) and not _is_wellformed_query(g):
                    oversized.append((g.hex(), len(data)))
        assert not pending, f"server stopped answering after {start} garbage packets:\n{srv.log_tail()}"
        # late replies to garbage (another worker) still count
        ready, _, _ = select.select(socks, [], [], 0.05)
        for s in ready:
            try:
                data = s.recv(65535)
                g = sent[socks.index(s)]
                if data[:2] != b"\xbe\xef" and len(data) > len(g) and not _is_wellformed_query(g):
                    oversized.append((sent[socks.index(s)].hex(), len(data)))
            except BlockingIOError:
                pass
        for s in socks:
            s.close()
        assert srv.alive(), f"server died after garbage batch at {start}:\n{srv.log_tail()}"
    assert answered > 0, "no garbage packet was answered at all: is the harness reading replies?"
    assert not oversized, f"{len(oversized)} replies larger than their query, e.g. {oversized[:3]}"
    check(srv.query("www.example.net", "A"), rcode="NOERROR", answer=["www.example.net. 3600 IN A 192.0.2.80"])


def test_tcp_garbage_does_not_kill_server(srv, check_alive):
    """30 connections, each: one random frame, then a valid query. The
    server may close the connection (knotd) or answer (FORMERR) and go on;
    either way it must stay up, and replies must be DNS messages."""
    rng = random.Random(7)
    valid = make_query("www.example.net", "A", qid=0x7777).to_wire()
    for _ in range(30):
        g = rng.randbytes(rng.randint(0, 200))
        with socket.create_connection(("127.0.0.1", srv.port), timeout=2) as c:
            try:
                c.sendall(struct.pack("!H", len(g)) + g + tcp_frame(valid))
                for _ in range(3):  # at most: garbage reply, valid reply
                    m = tcp_read_msg(c)
                    assert len(m) >= 12 and m[2] & 0x80, f"not a DNS response: {m[:16].hex()}"
                    if m[:2] == b"\x77\x77":
                        break
            except (EOFError, ConnectionResetError, BrokenPipeError):
                pass  # closed by the server: allowed
    check(srv.query("www.example.net", "A", tcp=True), rcode="NOERROR")


# ---- error answers do not amplify ------------------------------------------

def _opts(m):
    return {int(o.otype): o for o in m.options}


@pytest.mark.runway_only
@pytest.mark.parametrize("case", ["refused", "notimp", "class"])
def test_error_answer_no_larger_than_query_over_udp(srv, case):
    """An error (REFUSED, NOTIMP, ...) to a client that has not proved its
    address is what a spoofed source would get: over UDP it is no larger
    than the query. NSID, EDE, then the cookie are left out as needed; over
    TCP, or once the client shows a valid server cookie, they are all there
    (REFUSED with NSID, EDE and a cookie reached 1.73x the query before)."""
    cookie = dns.edns.GenericOption(dns.edns.COOKIE, bytes(range(1, 9)))
    name, rdclass = ("www.example.org", "IN") if case == "refused" else ("www.example.net", "IN")
    if case == "class":
        rdclass = "CH"
    q = make_query(name, "A", rdclass, nsid=True, options=[cookie], qid=QID)
    if case == "notimp":
        q = make_query(name, "A", nsid=True, options=[cookie], qid=QID)
        wire = set_opcode(q.to_wire(), 2)
    else:
        wire = q.to_wire()
    udp = srv.send_raw(wire)
    want = {"refused": dns.rcode.REFUSED, "notimp": dns.rcode.NOTIMP, "class": dns.rcode.REFUSED}[case]
    assert rcode_of(udp) == want
    assert len(udp) <= len(wire), f"{len(udp)}-byte answer to a {len(wire)}-byte query"
    tcp = srv.send_raw(wire, tcp=True)
    assert rcode_of(tcp) == want
    assert NSID.encode() in tcp
    if case != "notimp":   # (NOTIMP has no cookie: its NSID fits in the query's size)
        assert NSID.encode() not in udp
    if case != "notimp":   # dnspython cannot read a STATUS answer
        full = dns.message.from_wire(tcp)
        assert dns.edns.NSID in _opts(full) and dns.edns.COOKIE in _opts(full)
        # Back over UDP with the server cookie just given: all options again.
        server_cookie = _opts(full)[dns.edns.COOKIE].to_wire()
        q2 = make_query(name, "A", rdclass, nsid=True, qid=QID,
                        options=[dns.edns.GenericOption(dns.edns.COOKIE, server_cookie)])
        again = dns.message.from_wire(srv.send_raw(q2.to_wire()))
        assert again.rcode() == want
        assert dns.edns.NSID in _opts(again) and dns.edns.COOKIE in _opts(again)
        if case == "refused":
            assert dns.edns.EDE in _opts(again)


@pytest.mark.runway_only
def test_answers_are_not_held_to_query_size(srv):
    # Only errors: a NOERROR answer with NSID is larger than its query, as it should.
    q = make_query("www.example.net", "A", nsid=True, qid=QID).to_wire()
    r = srv.send_raw(q)
    assert rcode_of(r) == dns.rcode.NOERROR and len(r) > len(q)


@pytest.mark.runway_only
def test_metrics_count_the_deciding_stage(abuse_server):
    """runway_queries_decided_total{stage=...}: which pipeline stage decided
    each query (common/stage.h), e.g. zone for a name we do not serve."""
    s = abuse_server("")
    key = 'runway_queries_decided_total{stage="%s"}'
    before = s.metrics()
    for _ in range(3):
        assert rcode_of(s.send_raw(base_query(qname="www.example.org"))) == dns.rcode.REFUSED
    for _ in range(2):
        assert rcode_of(s.send_raw(base_query())) == dns.rcode.NOERROR
    assert rcode_of(s.send_raw(base_query() + b"\x00")) == dns.rcode.FORMERR
    assert rcode_of(s.send_raw(make_query("www.example.net", "A", "CH", qid=QID).to_wire())) == dns.rcode.REFUSED
    want = {"zone": 3, "lookup": 2, "parse": 1, "filter": 1, "view": 0, "limit": 0}
    after = s.wait_metrics(lambda m: all(m[key % k] - before[key % k] >= n for k, n in want.items()))
    assert {k: after[key % k] - before[key % k] for k in want} == want
    assert key % "encode" not in after       # encode never decides
