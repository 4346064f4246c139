# SPDX-License-Identifier: GPL-3.0-or-later
"""Basic authoritative answers: AA, positive / NXDOMAIN / NODATA with the
RFC 2308 negative TTL, REFUSED outside our zones, the most specific zone
answering, and the additional section for in-zone targets."""
import dns.name
import pytest

from dnsharness import check, soa_line

SOA_NET = soa_line("example.net.", 300)      # min(3600, MINIMUM 300)
SOA_CHILD = soa_line("child.example.net.", 120)  # min(SOA TTL 120, MINIMUM 600)


def test_positive_answer_is_authoritative(srv):
    r = srv.query("www.example.net", "A")
    check(r, rcode="NOERROR", aa=True, tc=False, answer=["www.example.net. 3600 IN A 192.0.2.80"],
          authority=[], additional=[])
    assert r.id is not None and r.question[0].name.to_text() == "www.example.net."


def test_several_records_one_rrset(srv):
    check(srv.query("www.example.net", "AAAA"), rcode="NOERROR", aa=True,
          answer=["www.example.net. 3600 IN AAAA 2001:db8::80"], authority=[], additional=[])


def test_per_record_ttl_kept(srv):
    check(srv.query("mixed.example.net", "TXT"), rcode="NOERROR", aa=True,
          answer=['mixed.example.net. 600 IN TXT "short ttl"'])


def test_apex_soa(srv):
    check(srv.query("example.net", "SOA"), rcode="NOERROR", aa=True,
          answer=[soa_line("example.net.", 3600)], authority=[], additional=[])


def test_nxdomain_has_soa_with_negative_ttl(srv):
    r = srv.query("nothing.example.net", "A")
    check(r, rcode="NXDOMAIN", aa=True, answer=[], authority=[SOA_NET], additional=[])


def test_nxdomain_deep(srv):
    check(srv.query("a.b.c.nothing.example.net", "TXT"), rcode="NXDOMAIN", aa=True,
          answer=[], authority=[SOA_NET])


def test_nodata_existing_name_other_type(srv):
    check(srv.query("www.example.net", "MX"), rcode="NOERROR", aa=True,
          answer=[], authority=[SOA_NET], additional=[])


@pytest.mark.parametrize("name", ["ent.example.net", "a.ent.example.net", "_tcp.example.net"])
def test_empty_non_terminal_is_nodata(srv, name):
    check(srv.query(name, "A"), rcode="NOERROR", aa=True, answer=[], authority=[SOA_NET])


def test_below_ent_is_nxdomain(srv):
    check(srv.query("other.a.ent.example.net", "A"), rcode="NXDOMAIN", aa=True, authority=[SOA_NET])


def test_negative_ttl_uses_soa_ttl_when_smaller(srv):
    # child.example.net: SOA TTL 120 < MINIMUM 600 -> 120 (RFC 2308 section 5)
    check(srv.query("nope.child.example.net", "A"), rcode="NXDOMAIN", aa=True,
          answer=[], authority=[SOA_CHILD])
    check(srv.query("www.child.example.net", "TXT"), rcode="NOERROR", aa=True,
          answer=[], authority=[SOA_CHILD])


def test_most_specific_zone_answers(srv):
    # example.net delegates child.example.net, but we also serve the child.
    check(srv.query("www.child.example.net", "A"), rcode="NOERROR", aa=True,
          answer=["www.child.example.net. 3600 IN A 192.0.2.212"], authority=[])
    check(srv.query("child.example.net", "NS"), rcode="NOERROR", aa=True,
          answer=["child.example.net. 3600 IN NS ns1.child.example.net."],
          additional=["ns1.child.example.net. 3600 IN A 192.0.2.211"])


@pytest.mark.parametrize("name,qtype", [
    ("www.google.com", "A"), (".", "SOA"), ("net", "NS"), ("example.org", "A"),
    ("com", "SOA"), ("xexample.net", "A"), ("example.net.evil.org", "A"),
])
def test_refused_outside_served_zones(srv, name, qtype):
    r = srv.query(name, qtype)
    check(r, rcode="REFUSED", aa=False, answer=[], authority=[], additional=[])
    assert r.question[0].name == dns.name.from_text(name)


def test_rd_copied_ra_not_set(srv):
    check(srv.query("www.example.net", "A", rd=True), ra=False)
    r = srv.query("www.example.net", "A", rd=False)
    check(r, rcode="NOERROR", aa=True, ra=False)
    assert not (r.flags & 0x0100), "RD must be copied from the query (0 here)"


def test_id_echoed(srv):
    for qid in (0, 1, 0x1234, 0xFFFF):
        r = srv.query("www.example.net", "A", qid=qid)
        assert r.id == qid


# ---- additional section -------------------------------------------------

def test_mx_targets_addresses_in_additional(srv):
    check(srv.query("example.net", "MX"), rcode="NOERROR", aa=True,
          answer=["example.net. 3600 IN MX 10 mail.example.net.",
                  "example.net. 3600 IN MX 20 mx.example.org."],
          authority=[],
          additional=["mail.example.net. 3600 IN A 192.0.2.25",
                      "mail.example.net. 3600 IN AAAA 2001:db8::25"])


def test_ns_targets_addresses_in_additional(srv):
    check(srv.query("example.net", "NS"), rcode="NOERROR", aa=True,
          answer=["example.net. 3600 IN NS ns1.example.net.",
                  "example.net. 3600 IN NS ns2.example.org."],
          authority=[],
          additional=["ns1.example.net. 3600 IN A 192.0.2.53",
                      "ns1.example.net. 3600 IN AAAA 2001:db8::53"])


def test_srv_targets_addresses_in_additional(srv):
    check(srv.query("_sip._tcp.example.net", "SRV"), rcode="NOERROR", aa=True,
          answer=["_sip._tcp.example.net. 3600 IN SRV 10 60 5060 sip.example.net.",
                  "_sip._tcp.example.net. 3600 IN SRV 20 0 5060 sipbackup.example.org."],
          authority=[],
          additional=["sip.example.net. 3600 IN A 192.0.2.60",
                      "sip.example.net. 3600 IN AAAA 2001:db8::60"])


def test_svcb_target_addresses_in_additional(srv):
    check(srv.query("svc.example.net", "SVCB"), rcode="NOERROR", aa=True,
          answer=['svc.example.net. 3600 IN SVCB 1 www.example.net. port="8443"'],
          additional=["www.example.net. 3600 IN A 192.0.2.80",
                      "www.example.net. 3600 IN AAAA 2001:db8::80"])


def test_no_additional_for_ptr_cname_naptr(srv):
    check(srv.query("ptr.example.net", "PTR"), answer=["ptr.example.net. 3600 IN PTR www.example.net."],
          additional=[])
    check(srv.query("example.net", "NAPTR"), additional=[])
    check(srv.query("alias.example.net", "CNAME"), answer=["alias.example.net. 3600 IN CNAME www.example.net."],
          additional=[])


@pytest.mark.runway_only
def test_https_service_mode_dot_target_owner_addresses(srv):
    # RFC 9460 2.5.2: in ServiceMode "." is the owner itself, so its
    # addresses go in additional (4.2). Knot DNS leaves them out
    # (docs/knot-differences.md).
    check(srv.query("example.net", "HTTPS"), rcode="NOERROR", aa=True,
          answer=['example.net. 3600 IN HTTPS 1 . alpn="h2"'],
          additional=["example.net. 3600 IN A 192.0.2.1"])


@pytest.mark.parametrize("qtype,rdata", [
    ("CAA", '0 issue "ca.example.net"'),
    ("DNSKEY", "257 3 13 eSVQWV2wI9qjGHQ3GNCW6uwSaX+ui1TWjpXRYKdvlambCEWQUyvpkW4JlXQEWZCYRq65hmusQHVLnkgPwwKbHw=="),
    ("TYPE65534", r"\# 3 010203"),
    ("NAPTR", '100 10 "S" "SIP+D2T" "" _sip._tcp.example.net.'),
    ("TXT", '"apex"'),
    ("A", "192.0.2.1"),
])
def test_apex_types(srv, qtype, rdata):
    check(srv.query("example.net", qtype), rcode="NOERROR", aa=True,
          answer=[f"example.net. 3600 IN {qtype} {rdata}"], authority=[])


def test_tlsa_sshfp(srv):
    check(srv.query("_25._tcp.mail.example.net", "TLSA"), rcode="NOERROR", aa=True,
          answer=["_25._tcp.mail.example.net. 3600 IN TLSA 3 1 1 "
                  "67b777536d5e9399cef0d9eb9f0d2602e043eacf4367d9626cd6dcc846f52479"])
    check(srv.query("ssh.example.net", "SSHFP"), rcode="NOERROR", aa=True,
          answer=["ssh.example.net. 3600 IN SSHFP 4 2 "
                  "fb1b291ae5bf3c417fe6aa43333512166f4250dede4297c993e135861e00b0bd"])


def test_ipv6_listener(srv):
    from dnsharness import HAVE_V6
    if not HAVE_V6:
        pytest.skip("no ::1 on this machine")
    check(srv.query("www.example.net", "A", v6=True), rcode="NOERROR", aa=True,
          answer=["www.example.net. 3600 IN A 192.0.2.80"])
    check(srv.query("www.example.net", "A", v6=True, tcp=True), rcode="NOERROR", aa=True,
          answer=["www.example.net. 3600 IN A 192.0.2.80"])
