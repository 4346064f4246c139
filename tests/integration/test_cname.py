# SPDX-License-Identifier: GPL-3.0-or-later
"""CNAME handling: chains followed inside the zone, loops cut, chains to
missing names (RFC 6604 rcode), out-of-zone and into-delegation targets."""
import time

from dnsharness import check, soa_line

SOA_NET = soa_line("example.net.", 300)
WWW_A = "www.example.net. 3600 IN A 192.0.2.80"
DELEG_NS = ["deleg.example.net. 3600 IN NS ns1.deleg.example.net.",
            "deleg.example.net. 3600 IN NS ns2.deleg.example.net.",
            "deleg.example.net. 3600 IN NS ns.example.org."]
DELEG_GLUE = ["ns1.deleg.example.net. 3600 IN A 192.0.2.201",
              "ns1.deleg.example.net. 3600 IN AAAA 2001:db8::201",
              "ns2.deleg.example.net. 3600 IN A 192.0.2.202"]


def test_single_cname_followed(srv):
    check(srv.query("alias.example.net", "A"), rcode="NOERROR", aa=True,
          answer=["alias.example.net. 3600 IN CNAME www.example.net.", WWW_A], authority=[], additional=[])


def test_chain_followed_in_order(srv):
    r = srv.query("chain1.example.net", "A")
    check(r, rcode="NOERROR", aa=True, authority=[], additional=[],
          answer=["chain1.example.net. 3600 IN CNAME chain2.example.net.",
                  "chain2.example.net. 3600 IN CNAME chain3.example.net.",
                  "chain3.example.net. 3600 IN CNAME www.example.net.", WWW_A])
    # The chain is in resolution order: each owner is the previous target.
    owners = [rrset.name.to_text().lower() for rrset in r.answer]
    assert owners == ["chain1.example.net.", "chain2.example.net.", "chain3.example.net.", "www.example.net."]


def test_qtype_cname_not_followed(srv):
    check(srv.query("chain1.example.net", "CNAME"), rcode="NOERROR", aa=True,
          answer=["chain1.example.net. 3600 IN CNAME chain2.example.net."], authority=[])


def test_cname_loop_answers_promptly(srv):
    t0 = time.monotonic()
    r = srv.query("loop1.example.net", "A", timeout=2.0)
    assert time.monotonic() - t0 < 2.0
    check(r, rcode="NOERROR", aa=True, authority=[],
          answer=["loop1.example.net. 3600 IN CNAME loop2.example.net.",
                  "loop2.example.net. 3600 IN CNAME loop3.example.net.",
                  "loop3.example.net. 3600 IN CNAME loop1.example.net."])
    # TCP too, and the server keeps answering afterwards.
    check(srv.query("loop2.example.net", "TXT", tcp=True), rcode="NOERROR", aa=True)
    check(srv.query("www.example.net", "A"), answer=[WWW_A])


def test_self_loop(srv):
    check(srv.query("self.example.net", "A"), rcode="NOERROR", aa=True, authority=[],
          answer=["self.example.net. 3600 IN CNAME self.example.net."])


def test_chain_to_nxdomain_keeps_cnames_and_says_nxdomain(srv):
    # RFC 6604: the rcode is that of the last name in the chain.
    check(srv.query("dangling.example.net", "A"), rcode="NXDOMAIN", aa=True,
          answer=["dangling.example.net. 3600 IN CNAME nothere.example.net."], authority=[SOA_NET])
    check(srv.query("dangling2.example.net", "A"), rcode="NXDOMAIN", aa=True,
          answer=["dangling2.example.net. 3600 IN CNAME alias-to-nothing.example.net.",
                  "alias-to-nothing.example.net. 3600 IN CNAME nothere2.example.net."],
          authority=[SOA_NET])


def test_chain_to_nodata(srv):
    check(srv.query("to-mail.example.net", "MX"), rcode="NOERROR", aa=True,
          answer=["to-mail.example.net. 3600 IN CNAME mail.example.net."], authority=[SOA_NET])
    check(srv.query("to-ent.example.net", "A"), rcode="NOERROR", aa=True,
          answer=["to-ent.example.net. 3600 IN CNAME a.ent.example.net."], authority=[SOA_NET])


def test_chain_target_types_follow_qtype(srv):
    check(srv.query("to-mail.example.net", "AAAA"), rcode="NOERROR", aa=True,
          answer=["to-mail.example.net. 3600 IN CNAME mail.example.net.",
                  "mail.example.net. 3600 IN AAAA 2001:db8::25"], authority=[], additional=[])


def test_out_of_zone_target_not_followed(srv):
    check(srv.query("outside.example.net", "A"), rcode="NOERROR", aa=True,
          answer=["outside.example.net. 3600 IN CNAME www.example.org."], authority=[], additional=[])


def test_cname_into_delegation_gives_referral_after_cname(srv):
    check(srv.query("to-deleg.example.net", "A"), rcode="NOERROR", aa=True,
          answer=["to-deleg.example.net. 3600 IN CNAME host.deleg.example.net."],
          authority=DELEG_NS, additional=DELEG_GLUE)


def test_cname_into_served_child_zone(srv, target):
    # child.example.net is delegated from example.net and served here too:
    # RFC 1034 4.3.2 step 1 finds the child zone for www.child, whose A
    # runway adds (AA from the first zone). knotd resolves the chain in
    # example.net only: the referral (docs/knot-differences.md 12).
    r = srv.query("to-child.example.net", "A")
    if target == "knot":
        check(r, rcode="NOERROR", aa=True,
              answer=["to-child.example.net. 3600 IN CNAME www.child.example.net."],
              authority=["child.example.net. 3600 IN NS ns1.child.example.net."],
              additional=["ns1.child.example.net. 3600 IN A 192.0.2.211"])
    else:
        check(r, rcode="NOERROR", aa=True,
              answer=["to-child.example.net. 3600 IN CNAME www.child.example.net.",
                      "www.child.example.net. 3600 IN A 192.0.2.212"], authority=[], additional=[])


def test_cname_to_wildcard(srv):
    check(srv.query("to-wild.example.net", "A"), rcode="NOERROR", aa=True,
          answer=["to-wild.example.net. 3600 IN CNAME foo.wild.example.net.",
                  "foo.wild.example.net. 3600 IN A 192.0.2.99"], authority=[])


def test_quickstart_chain(srv):
    check(srv.query("static.example.com", "A"), rcode="NOERROR", aa=True,
          answer=["static.example.com. 3600 IN CNAME cdn.example.com.",
                  "cdn.example.com. 3600 IN CNAME www.example.com.",
                  "www.example.com. 3600 IN A 192.0.2.80"])
