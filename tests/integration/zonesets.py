# SPDX-License-Identifier: GPL-3.0-or-later
"""Zone sets beside the standard one (dnsharness.STANDARD_ZONES), for the
answer tests: answers built at query time and root-zone referrals.

    SYNTH_ZONES  synth.example + other.example + apex.example (a DNAME at
                 its apex), served together: DNAME
                 (RFC 6672), CNAME/DNAME chains across the two zones,
                 SVCB/HTTPS additionals, DS through a CNAME
    ROOT_ZONES   a root-like zone: priming (RFC 8109), large referrals
                 without EDNS (RFC 9471), RRSIG TTLs per covered type
"""
import pytest

import dnsharness as h

SYNTH_ZONES = [
    ("synth.example.", h.ZONES_DIR / "synth.example.zone", []),
    ("other.example.", h.ZONES_DIR / "other.example.zone", []),
    ("apex.example.", h.ZONES_DIR / "apex.example.zone", []),
]
ROOT_ZONES = [(".", h.ZONES_DIR / "root.zone", [])]

SYNTH_SOA = "synth.example. 300 IN SOA ns1.synth.example. hostmaster.synth.example. 1 7200 3600 1209600 300"
OTHER_SOA = "other.example. 300 IN SOA ns1.other.example. hostmaster.other.example. 1 7200 3600 1209600 300"


def server_fixture(zones, name):
    """A module-scoped fixture: one server (RUNWAY_TARGET) with these zones."""
    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory):
        s = h.DnsServer(h.TARGET, tmp_path_factory.mktemp(f"{name}-{h.TARGET}"), zones)
        try:
            s.start()
        except BaseException:
            s.stop()
            raise
        yield s
        rc = s.stop()
        assert rc == 0, f"{s.kind} exited with {rc} after SIGTERM:\n{s.log_tail()}"
    return fixture
