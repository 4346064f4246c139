# SPDX-License-Identifier: GPL-3.0-or-later
"""A root-like zone (tests/integration/zones/root.zone): priming (RFC 8109:
`. NS` carries the root servers' addresses, glue below the `net.` cut),
referrals that do not fit 512 bytes without EDNS (RFC 9471: the NS RRset
and as much glue as fits; TC only when glue below the cut, needed to reach
the child, is left out), RRSIGs with the TTL of the RRset they cover (RFC
4034 3). Each behaviour as knotd answers it (RUNWAY_TARGET=knot).
"""
import dns.flags
import dns.rdatatype

import dnsharness as h
from dnsharness import check
from zonesets import ROOT_ZONES, server_fixture

root = server_fixture(ROOT_ZONES, "root")

LETTERS = "abcdefghijklm"
ROOT_NS = [f". 518400 IN NS {c}.root-servers.net." for c in LETTERS]


def glue(r):
    return [rr for rr in r.additional if rr.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)]


def test_priming_carries_the_root_servers_addresses(root):
    # RFC 8109 4.2: the addresses are glue below net., still sent.
    r = check(root.query(".", "NS"), rcode="NOERROR", aa=True, tc=False, answer=ROOT_NS, authority=[])
    names = {rr.name.to_text() for rr in glue(r)}
    assert names == {f"{c}.root-servers.net." for c in LETTERS}, r.to_text()
    assert sum(len(rr) for rr in glue(r)) == 26, r.to_text()


def test_priming_without_edns_fits_512_bytes_no_tc(root):
    r = check(root.query(".", "NS", edns=None), rcode="NOERROR", aa=True, tc=False, answer=ROOT_NS)
    assert len(r.wire) <= 512
    assert glue(r), "some root server addresses must fit: " + r.to_text()


def test_com_referral_without_edns_fills_512_bytes(root):
    # com.'s servers are in net.: sibling glue, optional. The referral
    # carries what fits (Knot: 509 bytes), TC clear.
    r = check(root.query("com", "NS", edns=None), rcode="NOERROR", aa=False, tc=False, answer=[])
    assert len(r.authority) == 1 and len(r.authority[0]) == 13, r.to_text()
    assert 480 < len(r.wire) <= 512, len(r.wire)
    assert sum(len(rr) for rr in glue(r)) == 12, r.to_text()
    # Names below the cut get the same referral.
    r2 = check(root.query("www.example.com", "A", edns=None), rcode="NOERROR", aa=False, tc=False)
    assert sum(len(rr) for rr in glue(r2)) >= 10, r2.to_text()


def test_in_domain_glue_that_does_not_fit_sets_tc(root):
    # net.'s servers are below net.: the resolver needs that glue (RFC
    # 9471 2.1). What fits is sent, with TC.
    for zone in ("net", "test"):
        r = root.query(zone, "NS", edns=None)
        check(r, rcode="NOERROR", aa=False, tc=True)
        assert len(r.wire) <= 512
        assert len(r.authority) == 1 and len(r.authority[0]) == 13, r.to_text()
        assert 0 < sum(len(rr) for rr in glue(r)) < 26, r.to_text()


def test_referrals_that_fit_are_whole(root):
    r = check(root.query("com", "NS"), rcode="NOERROR", aa=False, tc=False)
    assert sum(len(rr) for rr in glue(r)) == 26
    check(root.query("example", "NS", edns=None), rcode="NOERROR", aa=False, tc=False,
          authority=[f"example. 172800 IN NS ns{i}.example." for i in range(1, 5)],
          additional=[f"ns{i}.example. 172800 IN A 192.0.2.{100 + i}" for i in range(1, 5)])
    check(root.query("www.org", "A", edns=None), rcode="NOERROR", aa=False, tc=False,
          additional=["a0.org.afilias-nst.info. 172800 IN A 199.19.56.1",
                      "a0.org.afilias-nst.info. 172800 IN AAAA 2001:500:e::1",
                      "b0.org.afilias-nst.org. 172800 IN A 199.19.54.1",
                      "c0.org.afilias-nst.info. 172800 IN A 199.19.53.1",
                      "d0.org.afilias-nst.org. 172800 IN A 199.19.57.1"])


def test_tcp_referral_has_all_glue(root):
    r = check(root.query("net", "NS", tcp=True, edns=None), rcode="NOERROR", aa=False, tc=False)
    assert sum(len(rr) for rr in glue(r)) == 26


def test_ds_at_the_cut_is_answered(root):
    check(root.query("com", "DS"), rcode="NOERROR", aa=True,
          answer=["com. 86400 IN DS 19718 8 2 " + __import__("hashlib").sha256(b"com").hexdigest()])


def test_rrsig_keeps_the_ttl_of_what_it_covers(root):
    # The apex holds RRSIGs over SOA (86400), NS (518400) and DNSKEY
    # (172800). qtype RRSIG gets those of one covered type, the lowest
    # (as Knot), with that RRset's TTL, not the first RRSIG's.
    r = check(root.query(".", "RRSIG"), rcode="NOERROR", aa=True)
    sigs = [rd for rr in r.answer for rd in rr]
    assert [s.type_covered for s in sigs] == [dns.rdatatype.NS], r.to_text()
    assert r.answer[0].ttl == 518400, r.to_text()
    r = check(root.query(".", "RRSIG", tcp=True, edns=None), rcode="NOERROR", aa=True)
    assert r.answer[0].ttl == 518400


def test_rrsig_at_the_cut_is_a_referral(root):
    r = check(root.query("com", "RRSIG"), rcode="NOERROR", aa=False, answer=[])
    assert len(r.authority[0]) == 13
