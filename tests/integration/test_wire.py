# SPDX-License-Identifier: GPL-3.0-or-later
"""Wire-level properties: the question echoed byte for byte (0x20 mixed
case), the answer owner spelled like the question, name compression."""
import io

import dns.name
import pytest

from dnsharness import check, make_query


def question_bytes(wire: bytes) -> bytes:
    """The question section (one question) of a wire message."""
    end = 12
    while wire[end] != 0:
        assert wire[end] < 64, "compressed qname in question"
        end += wire[end] + 1
    return wire[12:end + 5]


@pytest.mark.parametrize("qname,qtype,rcode", [
    ("wWw.ExAmPlE.nEt", "A", "NOERROR"),
    ("FoO.WiLd.ExAmPlE.NeT", "A", "NOERROR"),           # wildcard
    ("ChAiN1.eXaMpLe.NeT", "A", "NOERROR"),             # CNAME chain
    ("NoThInG.ExAmPlE.NeT", "A", "NXDOMAIN"),
    ("HoSt.DeLeG.eXaMpLe.NeT", "A", "NOERROR"),         # referral
    ("WWW.EXAMPLE.COM", "AAAA", "NOERROR"),
    ("wWw.GoOgLe.CoM", "A", "REFUSED"),
])
@pytest.mark.parametrize("tcp", [False, True])
def test_question_case_preserved(srv, qname, qtype, rcode, tcp):
    q = make_query(qname, qtype, qid=0x2020)
    r = srv.send(q.to_wire(), tcp=tcp)
    check(r, rcode=rcode)
    assert question_bytes(r.wire) == question_bytes(q.to_wire()), "question not echoed byte for byte"
    assert r.question[0].name.to_text() == qname + "."


@pytest.mark.parametrize("qname", ["wWw.ExAmPlE.nEt", "FoO.WiLd.ExAmPlE.NeT", "ChAiN1.eXaMpLe.NeT", "CHILD.example.NET"])
def test_answer_owner_spelled_like_question(srv, qname):
    qtype = "DS" if qname.lower().startswith("child") else "A"
    r = srv.query(qname, qtype)
    check(r, rcode="NOERROR", aa=True)
    assert r.answer, r.to_text()
    # dns.name keeps the case found on the wire; compare exactly.
    assert r.answer[0].name.to_text() == qname + ".", r.to_text()


def test_mixed_case_answers_equal_lowercase_answers(srv):
    for qname, qtype in [("MaNy.ExAmPlE.NeT", "A"), ("eXaMpLe.NeT", "MX"), ("_SIP._TCP.example.net", "SRV")]:
        a = srv.query(qname, qtype)
        b = srv.query(qname.lower(), qtype)
        for sec in ("answer", "authority", "additional"):
            ta = sorted(x.to_text().lower() for x in getattr(a, sec))
            tb = sorted(x.to_text().lower() for x in getattr(b, sec))
            assert ta == tb, f"{qname} {qtype} {sec}"
        assert a.rcode() == b.rcode() and a.flags == b.flags


def uncompressed_length(r) -> int:
    n = 12
    for q in r.question:
        n += len(q.name.to_wire()) + 4
    for sec in (r.answer, r.authority, r.additional):
        for rrset in sec:
            f = io.BytesIO()
            rrset.to_wire(f, compress=None)
            n += len(f.getvalue())
    if r.opt is not None:
        f = io.BytesIO()
        r.opt.to_wire(f, compress=None)
        n += len(f.getvalue())
    return n


@pytest.mark.parametrize("qname,qtype,min_saving", [
    ("example.net", "MX", 40),              # owner names + MX targets + additional owners
    ("many.example.net", "A", 40 * 14),     # 40 owners become 2-byte pointers
    ("chain1.example.net", "A", 30),
    ("host.deleg.example.net", "A", 40),    # referral: NS owners, NS targets, glue owners
    ("nothing.example.net", "A", 20),       # SOA owner and rdata names
])
def test_name_compression(srv, qname, qtype, min_saving):
    r = srv.query(qname, qtype)
    assert not r.flags & 0x0200, "unexpected TC"
    full = uncompressed_length(r)
    assert len(r.wire) <= full - min_saving, f"wire {len(r.wire)} bytes vs uncompressed {full}"


def test_compression_pointers_only_backwards(srv):
    r = srv.query("example.net", "MX")
    w = r.wire
    # Parse names by hand: every pointer must point before itself.
    pos = 12

    def skip_name(p):
        while True:
            b = w[p]
            if b >= 0xC0:
                target = ((b & 0x3F) << 8) | w[p + 1]
                assert target < p, f"forward pointer at {p}"
                return p + 2
            if b == 0:
                return p + 1
            p += b + 1

    pos = skip_name(pos) + 4
    for _ in range(len(r.answer[0]) + sum(len(x) for x in r.additional)):
        pos = skip_name(pos)
        rdlen = int.from_bytes(w[pos + 8:pos + 10], "big")
        pos += 10 + rdlen
    assert pos <= len(w)
    assert dns.name.from_text("example.net") == r.answer[0].name
