# SPDX-License-Identifier: GPL-3.0-or-later
"""Deleting a name's last RRset through the API removes the name (RFC 1034
3.1, RFC 4592, RFC 8020): it is NXDOMAIN with the SOA (and the bumped
serial) in authority, as Knot DNS and Route 53 answer, not NODATA; a name
with names below it becomes an empty non-terminal (NODATA); empty
non-terminals left with nothing below go too; a wildcard matches a deleted
name again. The same state must come back after a restart (the zone file
plus the changes replayed from the store, a full load) and after SIGHUP,
and it must match what knotd answers for the equivalent zone file.
"""
from __future__ import annotations

import pytest

import dnsharness as h
from test_api import READ, ApiServer

pytestmark = pytest.mark.runway_only

ZONE = """$ORIGIN example.com.
$TTL 3600
@            SOA   ns1 hostmaster 1 7200 3600 1209600 300
@            NS    ns1
@            MX    10 mail
ns1          A     192.0.2.53
mail         A     192.0.2.25
tomail       CNAME mail
parent       A     192.0.2.2
child.parent A     192.0.2.3
only.a.ent   TXT   "only"
*.wild       A     192.0.2.99
name.wild    A     192.0.2.5
"""

# The zone after the deletions below, for knotd (serial filled in).
ZONE_AFTER = """$ORIGIN example.com.
$TTL 3600
@            SOA   ns1 hostmaster {serial} 7200 3600 1209600 300
@            NS    ns1
@            MX    10 mail
ns1          A     192.0.2.53
tomail       CNAME mail
child.parent A     192.0.2.3
*.wild       A     192.0.2.99
"""

# Names and types whose answers the deletions change (and a few around them).
QUESTIONS = [
    ("new.example.com.", "A"), ("new.example.com.", "AAAA"), ("x.new.example.com.", "A"),
    ("mail.example.com.", "A"), ("example.com.", "MX"), ("tomail.example.com.", "A"),
    ("parent.example.com.", "A"), ("child.parent.example.com.", "A"),
    ("only.a.ent.example.com.", "TXT"), ("a.ent.example.com.", "TXT"), ("ent.example.com.", "A"),
    ("name.wild.example.com.", "A"), ("x.name.wild.example.com.", "A"),
]


def soa_line(serial):
    return (f"example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. "
            f"{serial} 7200 3600 1209600 300")


def change(srv, *changes):
    st, body = srv.call("POST", "/v1/zones/example.com./changes", {"changes": list(changes)})
    assert st == 200, body
    return body["serial"]


def rr(action, name, rtype, ttl, *records):
    return {"action": action, "name": name, "type": rtype, "ttl": ttl, "records": list(records)}


def nxdomain(srv, name, qtype, serial):
    h.check(srv.query(name, qtype), rcode="NXDOMAIN", aa=True, answer=[],
            authority=[soa_line(serial)])


def nodata(srv, name, qtype, serial):
    h.check(srv.query(name, qtype), rcode="NOERROR", aa=True, answer=[],
            authority=[soa_line(serial)])


def check_after(srv, serial):
    """The state every deletion below leaves, however it was built."""
    assert srv.soa_serial("example.com.", timeout=1.0) == serial
    # Created then deleted over the API: gone, names below it too.
    for qtype in ("A", "AAAA", "TXT"):
        nxdomain(srv, "new.example.com", qtype, serial)
    nxdomain(srv, "x.new.example.com", "A", serial)
    # A name of the zone file, MX and CNAME target: gone from both answers.
    nxdomain(srv, "mail.example.com", "A", serial)
    h.check(srv.query("example.com", "MX"), rcode="NOERROR",
            answer=["example.com. 3600 IN MX 10 mail.example.com."], additional=[])
    h.check(srv.query("tomail.example.com", "A"), rcode="NXDOMAIN",
            answer=["tomail.example.com. 3600 IN CNAME mail.example.com."],
            authority=[soa_line(serial)])
    # A name with a child: an empty non-terminal.
    nodata(srv, "parent.example.com", "A", serial)
    h.check(srv.query("child.parent.example.com", "A"),
            answer=["child.parent.example.com. 3600 IN A 192.0.2.3"])
    # The only name below empty non-terminals: all of them gone.
    nxdomain(srv, "only.a.ent.example.com", "TXT", serial)
    nxdomain(srv, "a.ent.example.com", "TXT", serial)
    nxdomain(srv, "ent.example.com", "A", serial)
    # Below a wildcard: the wildcard answers the name again.
    h.check(srv.query("name.wild.example.com", "A"), rcode="NOERROR",
            answer=["name.wild.example.com. 3600 IN A 192.0.2.99"])
    h.check(srv.query("x.name.wild.example.com", "A"), rcode="NOERROR",
            answer=["x.name.wild.example.com. 3600 IN A 192.0.2.99"])


def delete_all(srv):
    """CREATE then DELETE a new name, then delete names of the file; returns
    the serial after the last change."""
    s1 = change(srv, rr("CREATE", "new.example.com.", "A", 60, "192.0.2.9"))
    h.check(srv.query("new.example.com", "A"), answer=["new.example.com. 60 IN A 192.0.2.9"])
    nodata(srv, "new.example.com", "AAAA", s1)
    s2 = change(srv, rr("DELETE", "new.example.com.", "A", 60, "192.0.2.9"))
    assert s2 == s1 + 1
    nxdomain(srv, "new.example.com", "A", s2)
    # The name before: answers, NODATA, ENTs.
    h.check(srv.query("name.wild.example.com", "A"),
            answer=["name.wild.example.com. 3600 IN A 192.0.2.5"])
    nodata(srv, "ent.example.com", "A", s2)
    return change(srv,
                  rr("DELETE", "mail.example.com.", "A", 3600, "192.0.2.25"),
                  rr("DELETE", "parent.example.com.", "A", 3600, "192.0.2.2"),
                  rr("DELETE", "only.a.ent.example.com.", "TXT", 3600, '"only"'),
                  rr("DELETE", "name.wild.example.com.", "A", 3600, "192.0.2.5"))


@pytest.fixture
def dsrv(tmp_path):
    zone = tmp_path / "example.com.zone"
    zone.write_text(ZONE)
    s = ApiServer(tmp_path / "srv", traffic_yaml="# no traffic names\n",
                  zones=[("example.com.", zone, [])])
    s.start()
    yield s
    was_running = s.alive()
    rc = s.stop()
    assert not was_running or rc == 0, f"runwayd exited with {rc} after SIGTERM:\n{s.log_tail()}"


def test_delete_makes_nxdomain_after_change_restart_and_reload(dsrv):
    serial = delete_all(dsrv)
    check_after(dsrv, serial)
    # All three changes took the incremental path (rwd_zone_patch).
    log = dsrv.log()
    assert log.count("change(s) applied") == 3 and "(full load)" not in log, dsrv.log_tail()

    # Restart: the file loaded with the stored changes (no node for them).
    dsrv.stop()
    dsrv.start()
    check_after(dsrv, serial)

    # SIGHUP: the file is read again (a name added to it shows up), the
    # stored changes are applied again.
    text = ZONE + 'added        TXT   "after reload"\n'
    dsrv.write_zone("example.com.", text)
    before = dsrv.log_size()
    dsrv.reload()
    dsrv.wait_log(r"reload done", start=before)
    h.check(dsrv.query("added.example.com", "TXT"),
            answer=['added.example.com. 3600 IN TXT "after reload"'])
    # The reload changed the zone (diffed against the served one) and the
    # file's serial was not raised: serial_policy increment gives the next.
    serial += 1
    check_after(dsrv, serial)

    # Created again: the name is back, and the API lists it.
    s = change(dsrv, rr("CREATE", "new.example.com.", "A", 60, "192.0.2.10"))
    h.check(dsrv.query("new.example.com", "A"), answer=["new.example.com. 60 IN A 192.0.2.10"])
    nodata(dsrv, "new.example.com", "TXT", s)
    st, sets = dsrv.call("GET", "/v1/zones/example.com./rrsets", token=READ)
    assert st == 200
    names = {x["name"] for x in sets}
    assert "new.example.com." in names and "mail.example.com." not in names


@pytest.mark.needs_knot
def test_delete_answers_as_knot(dsrv, tmp_path):
    """knotd serving the zone file as the deletions leave it answers every
    question the same way (rcode, AA, every section with TTLs)."""
    serial = delete_all(dsrv)
    zone = tmp_path / "after.zone"
    zone.write_text(ZONE_AFTER.format(serial=serial))
    knot = h.DnsServer("knot", tmp_path / "knot", zones=[("example.com.", zone, [])])
    try:
        knot.start()
        for name, qtype in QUESTIONS:
            a, b = dsrv.query(name, qtype), knot.query(name, qtype)
            assert a is not None and b is not None, (name, qtype)
            where = f"{name} {qtype}\n--- runwayd ---\n{a.to_text()}\n--- knotd ---\n{b.to_text()}"
            assert h.rcode_text(a) == h.rcode_text(b), where
            assert (a.flags & 0x0400) == (b.flags & 0x0400), where     # AA
            for sec in ("answer", "authority", "additional"):
                assert h.section_rrs(getattr(a, sec)) == h.section_rrs(getattr(b, sec)), where
    finally:
        knot.stop()
