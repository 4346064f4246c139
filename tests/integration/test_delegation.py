# SPDX-License-Identifier: GPL-3.0-or-later
"""Zone cuts: referrals with glue and AA=0 at and below the cut, DS at the
cut answered authoritatively by the parent side."""
import pytest

from dnsharness import check, soa_line

DELEG_NS = ["deleg.example.net. 3600 IN NS ns1.deleg.example.net.",
            "deleg.example.net. 3600 IN NS ns2.deleg.example.net.",
            "deleg.example.net. 3600 IN NS ns.example.org."]
DELEG_GLUE = ["ns1.deleg.example.net. 3600 IN A 192.0.2.201",
              "ns1.deleg.example.net. 3600 IN AAAA 2001:db8::201",
              "ns2.deleg.example.net. 3600 IN A 192.0.2.202"]


@pytest.mark.parametrize("qname,qtype", [
    ("deleg.example.net", "A"), ("deleg.example.net", "NS"), ("deleg.example.net", "SOA"),
    ("deleg.example.net", "TXT"), ("host.deleg.example.net", "A"), ("a.b.c.deleg.example.net", "AAAA"),
    ("ns1.deleg.example.net", "A"),       # glue is not authoritative data
    ("ns2.deleg.example.net", "AAAA"),
    ("a.b.deleg.example.net", "DS"),      # DS below the cut belongs to the child
])
def test_referral(srv, qname, qtype):
    check(srv.query(qname, qtype), rcode="NOERROR", aa=False, answer=[],
          authority=DELEG_NS, additional=DELEG_GLUE)


def test_referral_over_tcp(srv):
    check(srv.query("host.deleg.example.net", "A", tcp=True), rcode="NOERROR", aa=False,
          answer=[], authority=DELEG_NS, additional=DELEG_GLUE)


def test_ds_at_cut_from_parent(srv):
    check(srv.query("deleg.example.net", "DS"), rcode="NOERROR", aa=True, authority=[], additional=[],
          answer=["deleg.example.net. 3600 IN DS 12432 13 2 "
                  "061fc6d4da1789011cc99d3716aab0c59511be17772e3793082d964c68567af4"])


def test_ds_at_cut_from_parent_when_child_also_served(srv):
    check(srv.query("child.example.net", "DS"), rcode="NOERROR", aa=True, authority=[],
          answer=["child.example.net. 3600 IN DS 30631 13 2 "
                  "038e9a3da6ea6626b7f481966ad7739e073c29867573e35907df03e956e5a6a7"])


def test_no_ds_at_insecure_cut_is_parent_nodata(srv):
    check(srv.query("insecure.example.net", "DS"), rcode="NOERROR", aa=True, answer=[],
          authority=[soa_line("example.net.", 300)])


def test_referral_to_in_zone_ns_name_adds_its_addresses(srv):
    check(srv.query("www.insecure.example.net", "A"), rcode="NOERROR", aa=False, answer=[],
          authority=["insecure.example.net. 3600 IN NS ns1.example.net."],
          additional=["ns1.example.net. 3600 IN A 192.0.2.53", "ns1.example.net. 3600 IN AAAA 2001:db8::53"])


def test_referral_with_out_of_zone_ns_only_has_no_glue(srv):
    check(srv.query("cut.wild.example.net", "NS"), rcode="NOERROR", aa=False, answer=[],
          authority=["cut.wild.example.net. 3600 IN NS ns.example.org."], additional=[])


def test_no_ds_in_referral_without_dnssec(srv):
    r = srv.query("host.deleg.example.net", "A", do=True)
    check(r, rcode="NOERROR", aa=False, authority=DELEG_NS)


def test_quickstart_delegation(srv):
    check(srv.query("www.lab.example.com", "A"), rcode="NOERROR", aa=False, answer=[],
          authority=["lab.example.com. 3600 IN NS ns1.lab.example.com.",
                     "lab.example.com. 3600 IN NS ns2.lab.example.com."],
          additional=["ns1.lab.example.com. 3600 IN A 192.0.2.201",
                      "ns2.lab.example.com. 3600 IN A 192.0.2.202",
                      "ns2.lab.example.com. 3600 IN AAAA 2001:db8::202"])
    check(srv.query("lab.example.com", "DS"), rcode="NOERROR", aa=True,
          answer=["lab.example.com. 3600 IN DS 59647 13 2 "
                  "ba42993c125febe429e2bb5dd6b00dedf8d221d7d6c902a018515fddf4f102bc"])
