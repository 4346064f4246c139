# SPDX-License-Identifier: GPL-3.0-or-later
"""DNAME (RFC 6672), answered at query time: the DNAME, a CNAME synthesized
from the question name with the DNAME's TTL, then the chain that CNAME
starts; YXDOMAIN when the synthesized name is too long; chains and loops;
the DNAME asked for itself; a DNAME to a delegation; chains into the other
zone served beside it (RFC 1034 4.3.2, which Knot DNS does not follow:
those tests are runway_only, docs/knot-differences.md). Zones:
tests/integration/zones/synth.example.zone and other.example.zone. The
load-time errors (names below a DNAME, DNAME beside NS) are in
tests/unit/test_zone.c and test_load_rejects_names_below_a_dname below.
"""
import pytest

import dnsharness as h
from dnsharness import check, run_tool
from zonesets import OTHER_SOA, SYNTH_SOA, SYNTH_ZONES, server_fixture

sx = server_fixture(SYNTH_ZONES, "dname")

DI = "di.synth.example. 900 IN DNAME in.synth.example."
D = "d.synth.example. 600 IN DNAME target.other.example."


def test_name_below_dname_gets_dname_cname_and_target(sx):
    check(sx.query("www.di.synth.example", "A"), rcode="NOERROR", aa=True,
          answer=[DI, "www.di.synth.example. 900 IN CNAME www.in.synth.example.",
                  "www.in.synth.example. 3600 IN A 192.0.2.21"], authority=[])


def test_synthesized_cname_owner_is_the_question_as_asked(sx):
    r = sx.query("WwW.dI.synth.example", "A")
    check(r, rcode="NOERROR", answer=[DI, "www.di.synth.example. 900 IN CNAME www.in.synth.example.",
                                      "www.in.synth.example. 3600 IN A 192.0.2.21"])
    cname = [rr for rr in r.answer if rr.rdtype == h.dns.rdatatype.CNAME][0]
    assert cname.name.to_text() == "WwW.dI.synth.example.", r.to_text()


def test_target_additional_addresses(sx):
    # The MX at the end of the chain brings its target's addresses.
    check(sx.query("www.di.synth.example", "MX"), rcode="NOERROR", aa=True,
          answer=[DI, "www.di.synth.example. 900 IN CNAME www.in.synth.example.",
                  "www.in.synth.example. 3600 IN MX 10 www.synth.example."],
          additional=["www.synth.example. 3600 IN A 192.0.2.10",
                      "www.synth.example. 3600 IN AAAA 2001:db8::10"])


def test_chain_continues_through_a_cname(sx):
    check(sx.query("cn.di.synth.example", "A"), rcode="NOERROR", aa=True,
          answer=[DI, "cn.di.synth.example. 900 IN CNAME cn.in.synth.example.",
                  "cn.in.synth.example. 3600 IN CNAME www.synth.example.",
                  "www.synth.example. 3600 IN A 192.0.2.10"])


def test_chain_ends_in_nodata_and_nxdomain(sx):
    check(sx.query("www.di.synth.example", "TXT"), rcode="NOERROR", aa=True,
          answer=[DI, "www.di.synth.example. 900 IN CNAME www.in.synth.example."],
          authority=[SYNTH_SOA])
    check(sx.query("x.dnx.synth.example", "A"), rcode="NXDOMAIN", aa=True,
          answer=["dnx.synth.example. 3600 IN DNAME nothing.synth.example.",
                  "x.dnx.synth.example. 3600 IN CNAME x.nothing.synth.example."],
          authority=[SYNTH_SOA])


def test_dname_chain(sx):
    check(sx.query("www.dchain.synth.example", "A"), rcode="NOERROR", aa=True,
          answer=["dchain.synth.example. 3600 IN DNAME di.synth.example.",
                  "www.dchain.synth.example. 3600 IN CNAME www.di.synth.example.",
                  DI, "www.di.synth.example. 900 IN CNAME www.in.synth.example.",
                  "www.in.synth.example. 3600 IN A 192.0.2.21"])


def test_dname_loop_answers_promptly(sx):
    # Each name once; Knot DNS repeats the CNAMEs up to its chain limit,
    # the same set of records (dnspython merges the duplicates).
    check(sx.query("x.loop1.synth.example", "A"), rcode="NOERROR", aa=True,
          answer=["loop1.synth.example. 3600 IN DNAME loop2.synth.example.",
                  "x.loop1.synth.example. 3600 IN CNAME x.loop2.synth.example.",
                  "loop2.synth.example. 3600 IN DNAME loop1.synth.example.",
                  "x.loop2.synth.example. 3600 IN CNAME x.loop1.synth.example."], authority=[])


@pytest.mark.runway_only
def test_growing_chain_stops_at_the_hop_limit(sx):
    # grow DNAME more.grow: every step one label longer. runway stops after
    # 16 hops (Knot DNS after 5), NOERROR with what it has.
    r = check(sx.query("x.grow.synth.example", "A"), rcode="NOERROR", aa=True, authority=[])
    cnames = [rr for rr in r.answer if rr.rdtype == h.dns.rdatatype.CNAME]
    dnames = [rr for rr in r.answer if rr.rdtype == h.dns.rdatatype.DNAME]
    assert len(dnames) == 1 and len(cnames) == 16, r.to_text()


def test_yxdomain_when_the_synthesized_name_is_too_long(sx):
    # 64 + 64 bytes of labels below long.synth.example: with the 181-byte
    # target the CNAME would exceed 255 bytes (RFC 6672 2.2).
    q = "a" * 63 + "." + "b" * 63 + ".long.synth.example"
    check(sx.query(q, "A"), rcode="YXDOMAIN", aa=True,
          answer=["long.synth.example. 3600 IN DNAME a23456789012345678901234567890123456789012345678901234567890123."
                  "b23456789012345678901234567890123456789012345678901234567890123."
                  "c2345678901234567890123456789012345678901234567890.other.example."],
          authority=[])
    # Shorter names fit: the CNAME is synthesized (and leads to the other
    # zone, which runway follows: NXDOMAIN there; Knot stops: NOERROR).
    r = check(sx.query("a.b.c.long.synth.example", "A"), aa=True)
    assert h.rcode_text(r) in ("NOERROR", "NXDOMAIN"), r.to_text()
    assert any(rr.rdtype == h.dns.rdatatype.CNAME for rr in r.answer), r.to_text()


def test_dname_asked_for_itself(sx):
    check(sx.query("di.synth.example", "DNAME"), rcode="NOERROR", aa=True, answer=[DI], authority=[])
    # Other types at the DNAME's owner are its own data, no synthesis.
    check(sx.query("d.synth.example", "TXT"), rcode="NOERROR", aa=True,
          answer=['d.synth.example. 3600 IN TXT "beside the DNAME"'])
    check(sx.query("di.synth.example", "A"), rcode="NOERROR", aa=True, answer=[], authority=[SYNTH_SOA])


def test_qtype_dname_and_cname_below(sx):
    # qtype CNAME: the synthesized CNAME is the answer, not followed.
    check(sx.query("www.di.synth.example", "CNAME"), rcode="NOERROR", aa=True,
          answer=[DI, "www.di.synth.example. 900 IN CNAME www.in.synth.example."], authority=[])
    # qtype DNAME below the owner: synthesis too, then NODATA at the target.
    check(sx.query("www.di.synth.example", "DNAME"), rcode="NOERROR", aa=True,
          answer=[DI, "www.di.synth.example. 900 IN CNAME www.in.synth.example."],
          authority=[SYNTH_SOA])


def test_dname_to_a_delegation_refers(sx):
    check(sx.query("x.dtodeleg.synth.example", "A"), rcode="NOERROR", aa=True,
          answer=["dtodeleg.synth.example. 3600 IN DNAME deleg.synth.example.",
                  "x.dtodeleg.synth.example. 3600 IN CNAME x.deleg.synth.example."],
          authority=["deleg.synth.example. 3600 IN NS ns.deleg.synth.example."],
          additional=["ns.deleg.synth.example. 3600 IN A 192.0.2.30"])


def test_wildcard_owning_a_dname_is_no_source_of_synthesis(sx):
    # *.wild DNAME: names below y.wild are not synthesized from it (the
    # wildcard matches y.wild only, whose DNAME answers qtype DNAME).
    check(sx.query("x.y.wild.synth.example", "A"), rcode="NOERROR", aa=True, answer=[],
          authority=[SYNTH_SOA])
    check(sx.query("y.wild.synth.example", "DNAME"), rcode="NOERROR", aa=True,
          answer=["y.wild.synth.example. 3600 IN DNAME in.synth.example."])


def test_tcp_same_answer(sx):
    check(sx.query("www.di.synth.example", "A", tcp=True), rcode="NOERROR", aa=True,
          answer=[DI, "www.di.synth.example. 900 IN CNAME www.in.synth.example.",
                  "www.in.synth.example. 3600 IN A 192.0.2.21"])


# ---- into the other zone served here (runway only: Knot stops at the edge) ----

@pytest.mark.runway_only
def test_dname_into_other_zone_is_followed(sx):
    check(sx.query("www.d.synth.example", "A"), rcode="NOERROR", aa=True,
          answer=[D, "www.d.synth.example. 600 IN CNAME www.target.other.example.",
                  "www.target.other.example. 3600 IN A 192.0.2.111"], authority=[])
    # The other zone's NXDOMAIN, with its SOA (RFC 6604: the last name's rcode).
    check(sx.query("x.d.synth.example", "A"), rcode="NXDOMAIN", aa=True,
          answer=[D, "x.d.synth.example. 600 IN CNAME x.target.other.example."],
          authority=[OTHER_SOA])


@pytest.mark.runway_only
def test_dname_chain_across_zones_and_back(sx):
    # x.dback -> x.back.other.example (DNAME there) -> x.in.synth.example
    check(sx.query("www.dback.synth.example", "A"), rcode="NOERROR", aa=True,
          answer=["dback.synth.example. 3600 IN DNAME back.other.example.",
                  "www.dback.synth.example. 3600 IN CNAME www.back.other.example.",
                  "back.other.example. 3600 IN DNAME in.synth.example.",
                  "www.back.other.example. 3600 IN CNAME www.in.synth.example.",
                  "www.in.synth.example. 3600 IN A 192.0.2.21"])


def test_served_dname_record_ttl_is_the_cname_ttl(sx):
    r = check(sx.query("mail.d.synth.example", "CNAME"), rcode="NOERROR", aa=True)
    ttls = {rr.rdtype: rr.ttl for rr in r.answer}
    assert ttls == {h.dns.rdatatype.DNAME: 600, h.dns.rdatatype.CNAME: 600}, r.to_text()


@pytest.mark.runway_only
def test_dname_at_the_apex(sx):
    # Every name below apex.example is synthesized into synth.example.
    check(sx.query("www.apex.example", "A"), rcode="NOERROR", aa=True,
          answer=["apex.example. 300 IN DNAME synth.example.",
                  "www.apex.example. 300 IN CNAME www.synth.example.",
                  "www.synth.example. 3600 IN A 192.0.2.10"])


def test_dname_at_the_apex_own_data(sx):
    check(sx.query("apex.example", "TXT"), rcode="NOERROR", aa=True, answer=['apex.example. 3600 IN TXT "apex"'])
    check(sx.query("x.apex.example", "CNAME"), rcode="NOERROR", aa=True,
          answer=["apex.example. 300 IN DNAME synth.example.",
                  "x.apex.example. 300 IN CNAME x.synth.example."])


# ---- load errors --------------------------------------------------------------

BAD = """$ORIGIN synth.example.
$TTL 3600
@ SOA ns1 hostmaster 1 7200 3600 1209600 300
@ NS ns1
ns1 A 192.0.2.1
d DNAME other.example.
x.d A 192.0.2.2
"""


@pytest.mark.runway_only
def test_check_rejects_names_below_a_dname(tmp_path):
    (tmp_path / "synth.example.zone").write_text(BAD)
    (tmp_path / "runway.yaml").write_text("zones:\n  - name: synth.example.\n    file: synth.example.zone\n")
    p = run_tool(["check", "-c", str(tmp_path / "runway.yaml")])
    out = p.stdout + p.stderr
    assert p.returncode == 1, out
    assert "synth.example.zone:7: x.d.synth.example. is below the DNAME at d.synth.example." in out, out


def test_cname_to_a_name_below_a_dname(sx):
    # The precomputed chain stops at the DNAME; the rest is synthesized.
    check(sx.query("todname.synth.example", "A"), rcode="NOERROR", aa=True,
          answer=["todname.synth.example. 3600 IN CNAME www.di.synth.example.",
                  DI, "www.di.synth.example. 900 IN CNAME www.in.synth.example.",
                  "www.in.synth.example. 3600 IN A 192.0.2.21"], authority=[])
    check(sx.query("todname.synth.example", "TXT"), rcode="NOERROR", aa=True,
          answer=["todname.synth.example. 3600 IN CNAME www.di.synth.example.",
                  DI, "www.di.synth.example. 900 IN CNAME www.in.synth.example."],
          authority=[SYNTH_SOA])


def test_random_long_names_below_dnames_answer_well_formed(sx):
    # Names of every length up to 255 bytes below each DNAME (and the chains
    # they start), random types, with and without EDNS: every reply parses,
    # fits its limit, and is NOERROR, NXDOMAIN or YXDOMAIN (2,000 queries,
    # a fixed seed).
    import random
    rng = random.Random(6672)
    owners = ["d", "di", "dchain", "dback", "loop1", "grow", "long", "dtodeleg", "dnx"]
    types = ["A", "AAAA", "TXT", "CNAME", "DNAME", "MX", "ANY", "DS", "NS", "SVCB"]
    for i in range(2000):
        base = f"{rng.choice(owners)}.synth.example."
        labels = []
        room = 255 - len(base) - 1
        while room > 2 and rng.random() < 0.9:
            n = min(rng.randint(1, 63), room - 1)
            labels.append("".join(rng.choice("abcXYZ019-") for _ in range(n)))
            room -= n + 1
        qname = ".".join(labels + [base]) if labels else "x." + base
        edns = None if rng.random() < 0.4 else 0
        tcp = rng.random() < 0.1
        r = sx.query(qname, rng.choice(types), edns=edns, tcp=tcp)
        assert h.rcode_text(r) in ("NOERROR", "NXDOMAIN", "YXDOMAIN"), (qname, r.to_text())
        assert tcp or len(r.wire) <= (512 if edns is None else h.EDNS_UDP_SIZE), (qname, len(r.wire))
    assert sx.alive(), sx.log_tail()
