# SPDX-License-Identifier: GPL-3.0-or-later
"""Wildcards per RFC 4592."""
import pytest

from dnsharness import check, soa_line

SOA_NET = soa_line("example.net.", 300)


@pytest.mark.parametrize("qname", ["foo.wild.example.net", "a.b.wild.example.net", "x-y.wild.example.net"])
def test_wildcard_synthesises_with_qname_owner(srv, qname):
    r = srv.query(qname, "A")
    check(r, rcode="NOERROR", aa=True, answer=[f"{qname}. 3600 IN A 192.0.2.99"], authority=[], additional=[])
    assert r.answer[0].name.to_text() == qname + "."  # never "*.wild"


def test_wildcard_other_types(srv):
    check(srv.query("foo.wild.example.net", "TXT"), rcode="NOERROR", aa=True,
          answer=['foo.wild.example.net. 3600 IN TXT "wildcard"'])
    check(srv.query("foo.wild.example.net", "MX"), rcode="NOERROR", aa=True,
          answer=["foo.wild.example.net. 3600 IN MX 10 mail.example.net."],
          additional=["mail.example.net. 3600 IN A 192.0.2.25", "mail.example.net. 3600 IN AAAA 2001:db8::25"])


def test_wildcard_nodata(srv):
    check(srv.query("foo.wild.example.net", "AAAA"), rcode="NOERROR", aa=True, answer=[], authority=[SOA_NET])


def test_existing_name_blocks_wildcard(srv):
    check(srv.query("exists.wild.example.net", "A"), rcode="NOERROR", aa=True,
          answer=["exists.wild.example.net. 3600 IN A 192.0.2.98"])
    # exists.wild has no TXT: NODATA, not the wildcard's TXT
    check(srv.query("exists.wild.example.net", "TXT"), rcode="NOERROR", aa=True, answer=[], authority=[SOA_NET])
    # below an existing name the wildcard does not apply either
    check(srv.query("x.exists.wild.example.net", "A"), rcode="NXDOMAIN", aa=True, answer=[], authority=[SOA_NET])


def test_empty_non_terminal_blocks_wildcard(srv):
    check(srv.query("ent.wild.example.net", "A"), rcode="NOERROR", aa=True, answer=[], authority=[SOA_NET])
    check(srv.query("x.ent.wild.example.net", "A"), rcode="NXDOMAIN", aa=True, answer=[], authority=[SOA_NET])


def test_wildcard_parent_not_matched(srv):
    check(srv.query("wild.example.net", "A"), rcode="NOERROR", aa=True, answer=[], authority=[SOA_NET])


def test_asterisk_label_queried_directly(srv):
    check(srv.query("*.wild.example.net", "A"), rcode="NOERROR", aa=True,
          answer=["*.wild.example.net. 3600 IN A 192.0.2.99"])


def test_wildcard_cname_followed(srv):
    r = srv.query("z.cwild.example.net", "A")
    check(r, rcode="NOERROR", aa=True,
          answer=["z.cwild.example.net. 3600 IN CNAME www.example.net.",
                  "www.example.net. 3600 IN A 192.0.2.80"], authority=[])
    assert r.answer[0].name.to_text() == "z.cwild.example.net."


def test_wildcard_cname_to_missing_name(srv):
    check(srv.query("y.cwild2.example.net", "A"), rcode="NXDOMAIN", aa=True,
          answer=["y.cwild2.example.net. 3600 IN CNAME nothere3.example.net."], authority=[SOA_NET])


def test_wildcard_cname_loop_cut(srv):
    check(srv.query("x.loopwild.example.net", "A", timeout=2.0), rcode="NOERROR", aa=True,
          answer=["x.loopwild.example.net. 3600 IN CNAME x.loopwild.example.net."])


def test_wildcard_does_not_apply_below_cut(srv):
    # cut.wild is delegated: names under it get a referral, not the wildcard
    for q in ("cut.wild.example.net", "x.cut.wild.example.net"):
        check(srv.query(q, "A"), rcode="NOERROR", aa=False, answer=[],
              authority=["cut.wild.example.net. 3600 IN NS ns.example.org."], additional=[])


def test_quickstart_wildcards(srv):
    check(srv.query("alice.users.example.com", "A"), rcode="NOERROR", aa=True,
          answer=["alice.users.example.com. 3600 IN A 192.0.2.100"])
    check(srv.query("admin.users.example.com", "A"), rcode="NOERROR", aa=True,
          answer=["admin.users.example.com. 3600 IN A 192.0.2.101"])
    check(srv.query("admin.users.example.com", "TXT"), rcode="NOERROR", aa=True, answer=[])
    check(srv.query("pr-42.preview.example.com", "AAAA"), rcode="NOERROR", aa=True,
          answer=["pr-42.preview.example.com. 3600 IN CNAME www.example.com.",
                  "www.example.com. 3600 IN AAAA 2001:db8::80"])


def test_wildcard_cname_loop_through_synthesised_name(srv):
    # hit.loopwild -> x.loopwild (synthesised from *.loopwild) -> x.loopwild:
    # the synthesised CNAME at x.loopwild is part of the answer, then the loop is cut.
    check(srv.query("hit.loopwild.example.net", "A", timeout=2.0), rcode="NOERROR", aa=True, authority=[],
          answer=["hit.loopwild.example.net. 3600 IN CNAME x.loopwild.example.net.",
                  "x.loopwild.example.net. 3600 IN CNAME x.loopwild.example.net."])
