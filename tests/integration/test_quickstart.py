# SPDX-License-Identifier: GPL-3.0-or-later
"""The quickstart zone (examples/quickstart) loads and serves every
record type it shows, including $INCLUDE, escapes and RFC 3597 data."""
import pytest

from dnsharness import QUICKSTART, check, run_tool

Q = [
    ("example.com", "SOA", ["example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2024061501 7200 3600 1209600 300"]),
    ("example.com", "NS", ["example.com. 3600 IN NS ns1.example.com.", "example.com. 3600 IN NS ns2.example.org."]),
    ("example.com", "A", ["example.com. 3600 IN A 192.0.2.10"]),
    ("example.com", "AAAA", ["example.com. 3600 IN AAAA 2001:db8::10"]),
    ("example.com", "MX", ["example.com. 3600 IN MX 10 mail.example.com.", "example.com. 3600 IN MX 20 mail.backup.example.org."]),
    ("example.com", "TXT", ['example.com. 3600 IN TXT "v=spf1 mx -all"']),
    ("example.com", "CAA", ['example.com. 3600 IN CAA 0 issue "letsencrypt.org"',
                            'example.com. 3600 IN CAA 0 iodef "mailto:security@example.com"']),
    ("example.com", "HTTPS", ['example.com. 3600 IN HTTPS 1 . alpn="h2,h3"']),
    ("example.com", "NAPTR", ['example.com. 3600 IN NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.example.com.']),
    ("example.com", "DNSKEY", ["example.com. 3600 IN DNSKEY 257 3 13 q0obj3paHsJXeSomeuwTFktEY5QVvdlvhrM6/qhGktkOtqNCjdel30W0gCF6vyolDoSxxmI2RQTet/0c0vlzQQ=="]),
    ("example.com", "TYPE65534", [r"example.com. 3600 IN TYPE65534 \# 6 0a0b0c0d0e0f"]),
    ("www.example.com", "HTTPS", ['www.example.com. 3600 IN HTTPS 1 . alpn="h2" ipv4hint="192.0.2.80" ipv6hint="2001:db8::80"']),
    ("_443._tcp.www.example.com", "TLSA", ["_443._tcp.www.example.com. 3600 IN TLSA 3 1 1 67b777536d5e9399cef0d9eb9f0d2602e043eacf4367d9626cd6dcc846f52479"]),
    ("bastion.example.com", "A", ["bastion.example.com. 600 IN A 192.0.2.22"]),
    ("bastion.example.com", "SSHFP", ["bastion.example.com. 3600 IN SSHFP 4 2 fb1b291ae5bf3c417fe6aa43333512166f4250dede4297c993e135861e00b0bd"]),
    ("ftp.example.com", "CNAME", ["ftp.example.com. 3600 IN CNAME www.example.com."]),
    ("_sip._udp.example.com", "SRV", ["_sip._udp.example.com. 3600 IN SRV 10 60 5060 sip.example.com."]),
    ("_dns.example.com", "SVCB", ['_dns.example.com. 3600 IN SVCB 1 doh.example.com. alpn="h2" port="8443"']),
    ("_ipp._tcp.example.com", "PTR", [r"_ipp._tcp.example.com. 3600 IN PTR Office\032Printer._ipp._tcp.example.com."]),
    (r"Office\032Printer._ipp._tcp.example.com", "TXT", [r'Office\032Printer._ipp._tcp.example.com. 3600 IN TXT "txtvers=1" "note=2nd floor, \"by the window\""']),
    # from the $INCLUDEd file, origin office.example.com., $TTL 1800
    ("printer.office.example.com", "A", ["printer.office.example.com. 1800 IN A 192.0.2.150"]),
    ("nas.office.example.com", "AAAA", ["nas.office.example.com. 1800 IN AAAA 2001:db8:0:1::151"]),
    (r"bob\.laptop.office.example.com", "A", [r"bob\.laptop.office.example.com. 1800 IN A 192.0.2.152"]),
    # after the $INCLUDE: origin restored, new $TTL
    ("robots.example.com", "TXT", ['robots.example.com. 86400 IN TXT "this zone is an example; please do not index it"']),
]


@pytest.mark.parametrize("qname,qtype,answer", Q, ids=[f"{n}/{t}" for n, t, _ in Q])
def test_quickstart_record(srv, qname, qtype, answer):
    check(srv.query(qname, qtype), rcode="NOERROR", aa=True, answer=answer)


def test_quickstart_ent_and_nxdomain(srv):
    soa = "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 2024061501 7200 3600 1209600 300"
    check(srv.query("office.example.com", "A"), rcode="NOERROR", aa=True, answer=[], authority=[soa])
    check(srv.query("_udp.example.com", "SRV"), rcode="NOERROR", aa=True, answer=[], authority=[soa])
    check(srv.query("bob.laptop.office.example.com", "A"), rcode="NXDOMAIN", aa=True, authority=[soa])


def test_quickstart_config_listens_on_5353():
    text = (QUICKSTART / "runway.yaml").read_text()
    assert '"127.0.0.1:5353"' in text and '"[::1]:5353"' in text


@pytest.mark.runway_only
def test_runway_check_accepts_quickstart():
    p = run_tool(["check", "-c", QUICKSTART / "runway.yaml"])
    assert p.returncode == 0, p.stdout + p.stderr
