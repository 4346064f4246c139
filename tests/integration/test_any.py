# SPDX-License-Identifier: GPL-3.0-or-later
"""qtype ANY, answered minimally (RFC 8482). Knot DNS 3.2 returns one
RRset, the node's RRset with the lowest type number, over UDP and TCP;
we match that."""
import pytest

from dnsharness import check, soa_line


@pytest.mark.parametrize("tcp", [False, True])
@pytest.mark.parametrize("qname,expected,additional", [
    ("example.net", ["example.net. 3600 IN A 192.0.2.1"], []),
    ("www.example.net", ["www.example.net. 3600 IN A 192.0.2.80"], []),
    ("child.example.net", ["child.example.net. 3600 IN NS ns1.child.example.net."],
     ["ns1.child.example.net. 3600 IN A 192.0.2.211"]),
    ("ssh.example.net", ["ssh.example.net. 3600 IN SSHFP 4 2 fb1b291ae5bf3c417fe6aa43333512166f4250dede4297c993e135861e00b0bd"], []),
    ("alias.example.net", ["alias.example.net. 3600 IN CNAME www.example.net."], []),
    ("x.wild.example.net", ["x.wild.example.net. 3600 IN A 192.0.2.99"], []),
    ("example.com", ["example.com. 3600 IN A 192.0.2.10"], []),
])
def test_any_returns_one_rrset(srv, qname, expected, additional, tcp):
    r = srv.query(qname, "ANY", tcp=tcp)
    check(r, rcode="NOERROR", aa=True, tc=False, answer=expected, authority=[], additional=additional)
    assert len(r.answer) == 1


def test_any_is_small(srv):
    # The apex has 8 RRsets; a minimal ANY answer must not carry them all.
    r = srv.query("example.net", "ANY", edns=None)
    assert len(r.wire) < 120 and len(r.answer) == 1


def test_any_negative(srv):
    check(srv.query("nothing.example.net", "ANY"), rcode="NXDOMAIN", aa=True, answer=[],
          authority=[soa_line("example.net.", 300)])
    check(srv.query("a.ent.example.net", "ANY"), rcode="NOERROR", aa=True, answer=[],
          authority=[soa_line("example.net.", 300)])


def test_any_at_cut_is_referral(srv):
    r = srv.query("deleg.example.net", "ANY")
    check(r, rcode="NOERROR", aa=False, answer=[])
    assert {x.rdtype for x in r.authority} == {2}
