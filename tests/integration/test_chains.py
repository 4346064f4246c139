# SPDX-License-Identifier: GPL-3.0-or-later
"""CNAME chains across the zones this server serves (RFC 1034 4.3.2: step 1
finds the zone of each name among all of them), DS through a CNAME (RFC
4035 3.1.4.1: the parent side answers DS), and SVCB/HTTPS additional
processing (RFC 9460 4.2). Zones synth.example and other.example
(zonesets.SYNTH_ZONES). Knot DNS does not follow a chain out of the zone it
started in: those tests are runway_only, and test_differential.py checks
that runway's answer is Knot's plus the other zone's (docs/knot-differences.md).
"""

import pytest

import dnsharness as h
from dnsharness import check
from zonesets import OTHER_SOA, SYNTH_SOA, SYNTH_ZONES, server_fixture

sx = server_fixture(SYNTH_ZONES, "chains")

DELEG_DS = "deleg.synth.example. 3600 IN DS 12345 13 2 3490A6806D47F17A34C29E2CE80E8A999FFBE4BE7C3F1BA1F1A05B9E93A59C4B"
OTHER_DS = "deleg.other.example. 3600 IN DS 54321 13 2 5F1A05B9E93A59C4B3490A6806D47F17A34C29E2CE80E8A999FFBE4BE7C3F1BA"

# ---- chains into the other zone ----

@pytest.mark.runway_only
def test_cname_into_other_zone_is_followed_aa_from_the_first(sx):
    check(sx.query("c2o.synth.example", "A"), rcode="NOERROR", aa=True,
          answer=["c2o.synth.example. 3600 IN CNAME www.other.example.",
                  "www.other.example. 3600 IN A 192.0.2.110"], authority=[], additional=[])

@pytest.mark.runway_only
def test_chain_across_zones_and_back(sx):
    check(sx.query("c2hop.synth.example", "AAAA"), rcode="NOERROR", aa=True,
          answer=["c2hop.synth.example. 3600 IN CNAME hop.other.example.",
                  "hop.other.example. 3600 IN CNAME c2.hop.other.example.",
                  "c2.hop.other.example. 3600 IN CNAME www.synth.example.",
                  "www.synth.example. 3600 IN AAAA 2001:db8::10"])

@pytest.mark.runway_only
def test_chain_ends_in_the_other_zones_nxdomain(sx):
    check(sx.query("c2nx.synth.example", "A"), rcode="NXDOMAIN", aa=True,
          answer=["c2nx.synth.example. 3600 IN CNAME nothing.other.example."], authority=[OTHER_SOA])
    check(sx.query("c2o.synth.example", "TXT"), rcode="NOERROR", aa=True,
          answer=["c2o.synth.example. 3600 IN CNAME www.other.example."], authority=[OTHER_SOA])

@pytest.mark.runway_only
def test_chain_into_the_other_zones_delegation_refers(sx):
    check(sx.query("c2deleg.synth.example", "A"), rcode="NOERROR", aa=True,
          answer=["c2deleg.synth.example. 3600 IN CNAME host.deleg.other.example."],
          authority=["deleg.other.example. 3600 IN NS ns.deleg.other.example."],
          additional=["ns.deleg.other.example. 3600 IN A 192.0.2.130"])

@pytest.mark.runway_only
def test_chain_through_the_other_zones_dname(sx):
    check(sx.query("c2d.synth.example", "A"), rcode="NXDOMAIN", aa=True,
          answer=["c2d.synth.example. 3600 IN CNAME x.back.other.example.",
                  "back.other.example. 3600 IN DNAME in.synth.example.",
                  "x.back.other.example. 3600 IN CNAME x.in.synth.example."],
          authority=[SYNTH_SOA])

@pytest.mark.runway_only
def test_loop_across_zones_stops(sx):
    check(sx.query("c2loop.synth.example", "A"), rcode="NOERROR", aa=True,
          answer=["c2loop.synth.example. 3600 IN CNAME loop.other.example.",
                  "loop.other.example. 3600 IN CNAME c2loop.synth.example."], authority=[])

def test_chain_to_a_zone_not_served_stops(sx):
    check(sx.query("c2out.synth.example", "A"), rcode="NOERROR", aa=True,
          answer=["c2out.synth.example. 3600 IN CNAME www.example.org."], authority=[], additional=[])

def test_qtype_cname_and_any_are_not_followed(sx):
    for t in ("CNAME", "ANY"):
        check(sx.query("c2o.synth.example", t), rcode="NOERROR", aa=True,
              answer=["c2o.synth.example. 3600 IN CNAME www.other.example."], authority=[])

# ---- DS through a CNAME ----

def test_ds_through_cname_to_a_cut_answers_from_the_parent(sx):
    check(sx.query("dsalias.synth.example", "DS"), rcode="NOERROR", aa=True,
          answer=["dsalias.synth.example. 3600 IN CNAME deleg.synth.example.", DELEG_DS], authority=[])
    # A cut without DS: NODATA from the parent, not a referral.
    check(sx.query("dsnods.synth.example", "DS"), rcode="NOERROR", aa=True,
          answer=["dsnods.synth.example. 3600 IN CNAME nods.synth.example."], authority=[SYNTH_SOA])
    # Other types through the same CNAME: the referral.
    check(sx.query("dsalias.synth.example", "A"), rcode="NOERROR", aa=True,
          answer=["dsalias.synth.example. 3600 IN CNAME deleg.synth.example."],
          authority=["deleg.synth.example. 3600 IN NS ns.deleg.synth.example."])

@pytest.mark.runway_only
def test_ds_through_cname_into_the_other_zone(sx):
    check(sx.query("dsother.synth.example", "DS"), rcode="NOERROR", aa=True,
          answer=["dsother.synth.example. 3600 IN CNAME deleg.other.example.", OTHER_DS], authority=[])

# ---- SVCB / HTTPS additional section (RFC 9460 4.2) ----

def test_svcb_alias_mode_brings_the_targets_svcb_and_addresses(sx):
    check(sx.query("_dns.synth.example", "SVCB"), rcode="NOERROR", aa=True,
          answer=["_dns.synth.example. 3600 IN SVCB 0 svc.synth.example."],
          additional=["svc.synth.example. 3600 IN A 192.0.2.40",
                      "svc.synth.example. 3600 IN AAAA 2001:db8::40",
                      'svc.synth.example. 3600 IN SVCB 1 . alpn="dot" port="853"'])
    check(sx.query("alias.synth.example", "HTTPS"), rcode="NOERROR", aa=True,
          answer=["alias.synth.example. 3600 IN HTTPS 0 app.synth.example."],
          additional=["app.synth.example. 3600 IN A 192.0.2.41",
                      "app.synth.example. 3600 IN AAAA 2001:db8::41",
                      'app.synth.example. 3600 IN HTTPS 1 . alpn="h3,h2"'])

def test_svcb_service_mode_target_addresses(sx):
    # Targets in this zone only; www.other.example is another zone's.
    check(sx.query("web.synth.example", "HTTPS"), rcode="NOERROR", aa=True,
          additional=["www.synth.example. 3600 IN A 192.0.2.10",
                      "www.synth.example. 3600 IN AAAA 2001:db8::10"])

@pytest.mark.runway_only
def test_svcb_service_mode_dot_brings_the_owners_addresses(sx):
    # RFC 9460 2.5.2: "." is the owner itself; Knot leaves these out.
    check(sx.query("app.synth.example", "HTTPS"), rcode="NOERROR", aa=True,
          answer=['app.synth.example. 3600 IN HTTPS 1 . alpn="h3,h2"'],
          additional=["app.synth.example. 3600 IN A 192.0.2.41",
                      "app.synth.example. 3600 IN AAAA 2001:db8::41"])
    check(sx.query("multi.synth.example", "SVCB"), rcode="NOERROR", aa=True,
          additional=["svc.synth.example. 3600 IN A 192.0.2.40",
                      "svc.synth.example. 3600 IN AAAA 2001:db8::40",
                      'svc.synth.example. 3600 IN SVCB 1 . alpn="dot" port="853"',
                      "app.synth.example. 3600 IN A 192.0.2.41",
                      "app.synth.example. 3600 IN AAAA 2001:db8::41"])

def test_svcb_additionals_dropped_to_fit_512(sx):
    r = check(sx.query("multi.synth.example", "SVCB", edns=None), rcode="NOERROR", aa=True, tc=False)
    assert len(r.answer[0]) == 3 and len(r.wire) <= 512


def test_additional_addresses_from_glue_below_a_cut(sx):
    # As the root's NS answer carries the root servers' addresses (glue
    # below net.), any answer's target below a cut gets its glue (knotd too).
    check(sx.query("mxglue.synth.example", "MX"), rcode="NOERROR", aa=True,
          answer=["mxglue.synth.example. 3600 IN MX 10 ns.deleg.synth.example."],
          additional=["ns.deleg.synth.example. 3600 IN A 192.0.2.30"])
