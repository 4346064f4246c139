# SPDX-License-Identifier: GPL-3.0-or-later
"""A CNAME chain goes on only in the zones of the client's own view (RFC
1034 4.3.2 step 1 searches the zones the server has *for this client*):
example.com points at www.corp.example, which only the inside view serves.
"""
import dns.rcode
import pytest

from test_views import INSIDE, OUTSIDE, ask, standard, zone

pytestmark = pytest.mark.runway_only


def test_chain_follows_into_zones_of_the_clients_view_only(tmp_path):
    files = {
        "example.com.inside.zone": zone("example.com.", 2, "10.1.1.1", "out CNAME www.corp.example.\n"),
        "example.com.zone": zone("example.com.", 1, "192.0.2.80", "out CNAME www.corp.example.\n"),
    }
    s = standard(tmp_path, files=files)
    try:
        for tcp in (False, True):
            r = ask(s, INSIDE, "out.example.com", "A", tcp=tcp)
            assert r.rcode() == dns.rcode.NOERROR, r.to_text()
            assert [rr.to_text() for rr in r.answer] == [
                "out.example.com. 300 IN CNAME www.corp.example.",
                "www.corp.example. 300 IN A 10.0.0.80"], r.to_text()
            r = ask(s, OUTSIDE, "out.example.com", "A", tcp=tcp)
            assert r.rcode() == dns.rcode.NOERROR, r.to_text()
            assert [rr.to_text() for rr in r.answer] == [
                "out.example.com. 300 IN CNAME www.corp.example."], r.to_text()
            assert not r.authority, r.to_text()
    finally:
        assert s.stop() == 0, s.log_tail()
