# SPDX-License-Identifier: GPL-3.0-or-later
"""EDNS(0) (RFC 6891): OPT echoed, our UDP payload advertised and
enforced, truncation, BADVERS, NSID (RFC 5001), unknown options."""
import dns.edns
import dns.flags
import dns.rcode
import pytest

from dnsharness import EDNS_UDP_SIZE, NSID, check

BIG_LEN = 2000  # big.example.net TXT is ~2.2 KB


def test_opt_echoed_with_our_payload(srv):
    r = srv.query("www.example.net", "A", payload=4096)
    check(r, rcode="NOERROR", aa=True)
    assert r.edns == 0, "OPT missing or wrong version"
    assert r.payload == EDNS_UDP_SIZE, f"advertised payload {r.payload}"
    assert r.options == [] or all(o.otype != dns.edns.NSID for o in r.options)


def test_no_opt_without_edns(srv):
    r = srv.query("www.example.net", "A", edns=None)
    check(r, rcode="NOERROR", aa=True, answer=["www.example.net. 3600 IN A 192.0.2.80"])
    assert r.edns == -1 and r.opt is None


def test_do_bit_echoed(srv):
    r = srv.query("www.example.net", "A", do=True)
    assert r.ednsflags & dns.flags.DO
    r = srv.query("www.example.net", "A", do=False)
    assert not r.ednsflags & dns.flags.DO


@pytest.mark.parametrize("payload", [1232, 4096, 65535])
def test_large_answer_truncated_over_udp_whatever_client_payload(srv, payload):
    r = srv.query("big.example.net", "TXT", payload=payload)
    check(r, rcode="NOERROR", tc=True)
    assert len(r.wire) <= EDNS_UDP_SIZE
    # Whole RRsets only: a truncated answer never carries a partial RRset.
    assert r.answer == [] or len(r.answer[0]) == 20
    assert r.edns == 0 and r.payload == EDNS_UDP_SIZE


def test_truncated_reply_shape(srv):
    # Knot's shape: header + question (+ OPT), sections empty, AA kept.
    r = srv.query("big.example.net", "TXT")
    check(r, rcode="NOERROR", aa=True, tc=True, answer=[], authority=[], additional=[])
    assert r.question[0].name.to_text() == "big.example.net."


def test_large_answer_complete_over_tcp(srv):
    r = srv.query("big.example.net", "TXT", tcp=True)
    check(r, rcode="NOERROR", aa=True, tc=False)
    assert len(r.answer) == 1 and len(r.answer[0]) == 20
    assert len(r.wire) > BIG_LEN
    texts = sorted(rd.strings[0].decode()[:6] for rd in r.answer[0])
    assert texts == [f"big-{i:02d}" for i in range(20)]


def test_no_edns_limit_is_512(srv):
    r = srv.query("many.example.net", "A", edns=None)
    check(r, rcode="NOERROR", aa=True, tc=True, answer=[])
    assert len(r.wire) <= 512
    # The same answer fits with EDNS (685 bytes < 1232).
    r = srv.query("many.example.net", "A")
    check(r, rcode="NOERROR", aa=True, tc=False)
    assert len(r.answer[0]) == 40 and 512 < len(r.wire) <= EDNS_UDP_SIZE


def test_small_client_payload_means_512(srv):
    r = srv.query("many.example.net", "A", payload=100)
    check(r, rcode="NOERROR", tc=True)
    assert len(r.wire) <= 512
    r = srv.query("www.example.net", "A", payload=100)
    check(r, rcode="NOERROR", tc=False, answer=["www.example.net. 3600 IN A 192.0.2.80"])


def test_client_payload_between_512_and_ours(srv):
    r = srv.query("many.example.net", "A", payload=600)
    check(r, rcode="NOERROR", tc=True)
    assert len(r.wire) <= 600


def test_additional_dropped_without_tc(srv):
    # manymx: answer fits in 512, the addresses of its 12 targets do not.
    r = srv.query("manymx.example.net", "MX", edns=None)
    check(r, rcode="NOERROR", aa=True, tc=False)
    assert len(r.answer) == 1 and len(r.answer[0]) == 12
    assert len(r.wire) <= 512
    assert 0 < sum(len(x) for x in r.additional) < 24
    # Only whole RRsets, only addresses of the MX targets.
    for rrset in r.additional:
        assert rrset.name.labels[0].startswith(b"mx")
    r = srv.query("manymx.example.net", "MX")  # EDNS 1232: everything fits
    check(r, tc=False)
    assert sum(len(x) for x in r.additional) == 24


def test_badvers(srv):
    r = srv.query("www.example.net", "A", edns=1)
    assert r.rcode() == dns.rcode.BADVERS, dns.rcode.to_text(r.rcode())
    assert r.edns == 0, "BADVERS reply must carry OPT version 0"
    check(r, aa=False, answer=[], authority=[], additional=[])


def test_nsid_returned_when_requested(srv):
    r = srv.query("www.example.net", "A", nsid=True)
    check(r, rcode="NOERROR", aa=True, answer=["www.example.net. 3600 IN A 192.0.2.80"])
    nsids = [o for o in r.options if o.otype == dns.edns.NSID]
    assert len(nsids) == 1, r.options
    payload = nsids[0].to_wire() if hasattr(nsids[0], "to_wire") else nsids[0].data
    assert payload == NSID.encode()


def test_nsid_on_negative_answers_and_tcp(srv):
    for r in (srv.query("nothing.example.net", "A", nsid=True), srv.query("www.example.net", "A", nsid=True, tcp=True)):
        assert [o.otype for o in r.options] == [dns.edns.NSID], r.to_text()


def test_nsid_not_sent_unasked(srv):
    r = srv.query("www.example.net", "A")
    assert all(o.otype != dns.edns.NSID for o in r.options)


def test_nsid_absent_when_not_configured(make_server):
    s = make_server(nsid=None)
    r = s.query("www.example.net", "A", nsid=True)
    check(r, rcode="NOERROR", aa=True)
    assert all(o.otype != dns.edns.NSID for o in r.options)


def test_unknown_option_ignored(srv):
    opt = dns.edns.GenericOption(65001, b"hello")
    r = srv.query("www.example.net", "A", options=[opt])
    check(r, rcode="NOERROR", aa=True, answer=["www.example.net. 3600 IN A 192.0.2.80"])
    assert all(o.otype != 65001 for o in r.options), "unknown option must not be echoed"


def test_opt_on_referral_and_nxdomain(srv):
    for name in ("host.deleg.example.net", "nothing.example.net"):
        r = srv.query(name, "A", payload=4096)
        assert r.edns == 0 and r.payload == EDNS_UDP_SIZE
