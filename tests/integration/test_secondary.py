# SPDX-License-Identifier: GPL-3.0-or-later
"""runwayd as a secondary (src/server/xfr/secondary.c): of a knotd primary
and of a runwayd primary; NOTIFY -> IXFR within a second; answers the same
as the primary's; the copy kept in the zone file and served after a
restart while the primary is down; expiry (SERVFAIL); TSIG; failover to
the next primary; EDNS EXPIRE; and a primary that sends out-of-zone
records, too many records or a broken stream (a stub primary below):
the transfer is aborted, the served version kept, the reason logged.

Only loopback; every process is stopped on any exit (peers.Peers, the
stub's own thread joined); every wait a bounded poll.
"""
from __future__ import annotations

import re
import socket
import struct
import threading
import time

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

import dnsharness as h
import peers as P

pytestmark = pytest.mark.skipif(not P.have("knot"), reason="knotd is not installed")

ZONE = """$ORIGIN example.com.
$TTL 3600
@       SOA   ns1 hostmaster {serial} {refresh} {retry} {expire} 300
@       NS    ns1
@       NS    ns2.example.net.
@       MX    10 mail
ns1     A     192.0.2.53
mail    A     192.0.2.25
www     A     192.0.2.80
www     AAAA  2001:db8::80
alias   CNAME www
*.wild  TXT   "wild"
sub     NS    ns.sub
ns.sub  A     192.0.2.99
{extra}
"""

NAMES = [("example.com.", "SOA"), ("example.com.", "NS"), ("example.com.", "MX"),
         ("www.example.com.", "A"), ("www.example.com.", "AAAA"), ("alias.example.com.", "A"),
         ("x.wild.example.com.", "TXT"), ("host.sub.example.com.", "A"),
         ("nothing.example.com.", "A"), ("new.example.com.", "A")]


def zone_text(serial=1, refresh=3600, retry=600, expire=1209600, extra=""):
    return ZONE.format(serial=serial, refresh=refresh, retry=retry, expire=expire, extra=extra)


def rrsets(m):
    def sec(s):
        return sorted((r.name.to_text().lower(), r.ttl, r.rdtype, sorted(x.to_text() for x in r))
                      for r in s)
    return (m.rcode(), sec(m.answer), sec(m.authority))


def same_answers(a: P.Peer, b: P.Peer):
    for name, rtype in NAMES:
        ma, mb = a.answer(name, rtype), b.answer(name, rtype)
        assert ma is not None and mb is not None, (name, rtype)
        assert rrsets(ma) == rrsets(mb), (name, rtype, ma.to_text(), mb.to_text())


def expire_option(peer, zone="example.com."):
    """The EDNS EXPIRE (RFC 7314) value peer answers for zone's SOA, or None."""
    q = dns.message.make_query(zone, "SOA", use_edns=0,
                               options=[dns.edns.GenericOption(dns.edns.EXPIRE, b"")])
    m = h.parse(h.udp_exchange(q.to_wire(), peer.port, P.HOST, 2.0))
    for o in m.options:
        if o.otype == dns.edns.EXPIRE:
            return struct.unpack("!I", o.data)[0] if hasattr(o, "data") else o.expire
    return None


def wait_file(path, needle, timeout=5.0):
    """The text of path once it holds needle (the copy is written by a
    thread of its own, just after the version is served)."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text() if path.exists() else ""
        if needle in text:
            return text
        assert time.monotonic() < deadline, f"{path} does not hold {needle!r}"
        time.sleep(0.02)  # poll interval while the file is due


def knot_primary(tmp, secondary_port, key=None, **zone_kw):
    k = P.KnotPeer(tmp / "knot")
    k.add_zone(P.Zone("example.com.", text=zone_text(**zone_kw),
                      notify=[P.Remote(P.HOST, secondary_port, key)],
                      allow_transfer=[P.Acl("127.0.0.0/8", key)]))
    return k


def runway_secondary(tmp, primaries, *, runway_extra=None, extra="", name="rw"):
    s = P.RunwayPeer(tmp / name, extra=extra)
    z = P.Zone("example.com.", primaries=primaries)
    if runway_extra:
        z.extra["runway"] = runway_extra
    s.add_zone(z)
    return s


@pytest.fixture
def peers():
    with P.Peers() as p:
        yield p


def test_knot_primary_axfr_notify_ixfr_restart(tmp_path, peers):
    s_port = h.free_port()
    k = knot_primary(tmp_path, s_port)
    s = runway_secondary(tmp_path, [k.remote()], name="rw")
    s.port = s_port
    peers.start(k)
    mark = s.log_mark()
    peers.start(s)
    s.wait_serial("example.com.", 1, timeout=10)
    assert s.wait_transfers("in", 1, mark)[0][0] == "AXFR"
    same_answers(k, s)
    # RFC 7314: a secondary answers what is left of its copy's expire.
    left = expire_option(s)
    assert left is not None and 1209600 - 60 <= left <= 1209600

    # A change on the primary: NOTIFY, then IXFR, answered within a second.
    mark = s.log_mark()
    k.zone_set("example.com.", [("set", "new.example.com.", 300, "A", "192.0.2.7"),
                                ("unset", "www.example.com.", None, "AAAA", "2001:db8::80")])
    took = s.wait_serial("example.com.", 2, timeout=5)
    assert took < 1.0, f"{took:.3f}s from the change to the new serial"
    assert s.wait_transfers("in", 1, mark)[0][0] == "IXFR", s.log_since(mark)
    assert "NOTIFY" in s.log_since(mark)
    same_answers(k, s)

    # The copy is kept: a restart while the primary is down serves it.
    text = wait_file(s.workdir / "example.com.zone", "new.example.com.")
    assert "$ORIGIN example.com." in text and " 2 3600 600 1209600 300" in text
    k.stop()
    s.restart()
    assert s.soa_serial("example.com.") == 2
    m = s.answer("new.example.com.", "A")
    assert [r.to_text() for r in m.answer] == ["new.example.com. 300 IN A 192.0.2.7"]
    assert s.answer("www.example.com.", "AAAA").answer == []
    # ... and says the primary is down, keeping the copy.
    s.wait_log(r"SOA query to 127\.0\.0\.1:\d+", timeout=15)
    assert s.soa_serial("example.com.") == 2


def test_ixfr_changing_the_soa(tmp_path, peers):
    """An IXFR whose SOA changes more than its serial (here: refresh) is
    applied by a full, checked build of the served records plus the
    changes; one that changes only the serial is patched (zone.h). Once
    crashed: an IXFR changing nothing but the SOA."""
    s_port = h.free_port()
    k = knot_primary(tmp_path, s_port)
    s = runway_secondary(tmp_path, [k.remote()])
    s.port = s_port
    peers.start(k, s)
    s.wait_serial("example.com.", 1)
    mark = s.log_mark()
    k.zone_set("example.com.", [("set", "@", 3600, "SOA",
                                 "ns1.example.com. hostmaster.example.com. 7 7200 600 1209600 300")])
    s.wait_log(r"IXFR from \S+: serial 1 -> 7, .*, rebuilt", since=mark, timeout=5)
    m = s.answer("example.com.", "SOA")
    assert m.answer[0][0].refresh == 7200
    mark = s.log_mark()
    k.zone_set("example.com.", [("set", "new.example.com.", 300, "A", "192.0.2.7")])
    s.wait_log(r"IXFR from \S+: serial 7 -> 8, .*, patched", since=mark, timeout=5)
    same_answers(k, s)


def test_expire_servfail_then_back(tmp_path, peers):
    s_port = h.free_port()
    k = knot_primary(tmp_path, s_port, serial=10, refresh=1, retry=1, expire=4)
    s = runway_secondary(tmp_path, [k.remote()], runway_extra={
        "refresh_min": 1, "retry_min": 1, "expire_min": 1})
    s.port = s_port
    peers.start(k, s)
    s.wait_serial("example.com.", 10)
    left = expire_option(s)
    assert left is not None and left <= 4
    k.stop()
    t0 = time.monotonic()
    deadline = t0 + 15
    while True:
        m = s.answer("www.example.com.", "A", timeout=0.5)
        if m is not None and m.rcode() == dns.rcode.SERVFAIL:
            break
        assert time.monotonic() < deadline, s.log_tail()
        time.sleep(0.05)  # poll interval while the expiry is due
    assert time.monotonic() - t0 >= 2.0, "expired long before the SOA's expire"
    s.wait_log(r"secondary: example\.com\.: expired")
    # A reload reads the expired copy back from its file: still SERVFAIL.
    mark = s.log_mark()
    s.reload()
    s.wait_log(r"reload done", since=mark)
    assert s.answer("www.example.com.", "A").rcode() == dns.rcode.SERVFAIL
    # The primary back: the next retry transfers it again.
    k.start()
    s.wait_serial("example.com.", 10, timeout=10)


def test_tsig_and_wrong_key(tmp_path, peers):
    key = P.TsigKey.generate("xfr.")
    s_port = h.free_port()
    k = knot_primary(tmp_path, s_port, key=key, refresh=1, retry=1)
    s = runway_secondary(tmp_path, [k.remote(key)],
                         runway_extra={"refresh_min": 1, "retry_min": 1})
    s.port = s_port
    peers.start(k, s)
    s.wait_serial("example.com.", 1)
    mark = s.log_mark()
    k.zone_set("example.com.", [("set", "signed.example.com.", 300, "A", "192.0.2.8")])
    s.wait_serial("example.com.", 2, timeout=5)
    assert s.wait_transfers("in", 1, mark)[0][0] == "IXFR"     # signed, every message checked
    # The same key name with another secret: every transfer refused.
    bad = P.TsigKey(key.name, P.TsigKey.generate().secret, key.algorithm)
    s.zone("example.com.").primaries[:] = [k.remote(bad)]
    s.write_config()
    mark = s.log_mark()
    s.reload()
    s.wait_log(r"reload done", since=mark)
    # (Knot's NOTIFY is refused too now: the refresh timer asks, each second.)
    k.zone_set("example.com.", [("set", "new.example.com.", 300, "A", "192.0.2.7")])
    s.wait_log(r"refresh failed: .*TSIG.*BADSIG", since=mark, timeout=10)
    assert k.soa_serial("example.com.") == 3
    assert s.soa_serial("example.com.") == 2
    assert s.answer("www.example.com.", "A").rcode() == dns.rcode.NOERROR


def test_failover_to_second_primary(tmp_path, peers):
    # The first primary takes the SOA query and never answers (a bound UDP
    # socket nobody reads): after xfr.io_timeout the second one is asked.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind((P.HOST, 0))
        dead = P.Remote(P.HOST, silent.getsockname()[1])
        s_port = h.free_port()
        k = knot_primary(tmp_path, s_port)
        s = runway_secondary(tmp_path, [dead, k.remote()], extra="xfr:\n  io_timeout: 300ms\n")
        s.port = s_port
        peers.start(k, s)
        s.wait_serial("example.com.", 1, timeout=10)
        s.wait_log(re.escape(f"AXFR from {k.remote().addr}"))
        assert f"SOA query to {dead.addr}: SOA query: no answer" in s.log()
        st = silent.recvfrom(512, socket.MSG_DONTWAIT)   # it was asked first
        assert dns.message.from_wire(st[0]).question[0].rdtype == dns.rdatatype.SOA


# --------------------------------------------------------------------------
# A primary that misbehaves: a stub over UDP (SOA) and TCP (transfers).

def soa_rrset(serial, zone="example.com."):
    return dns.rrset.from_text(zone, 3600, "IN", "SOA",
                               f"ns1.{zone} hm.{zone} {serial} 1 1 1209600 300")


def good_records(zone="example.com."):
    return [dns.rrset.from_text(zone, 3600, "IN", "NS", f"ns1.{zone}"),
            dns.rrset.from_text(f"ns1.{zone}", 3600, "IN", "A", "192.0.2.53"),
            dns.rrset.from_text(f"www.{zone}", 3600, "IN", "A", "192.0.2.80")]


class StubPrimary:
    """A primary for any zone: answers SOA with self.serial and every
    transfer (IXFR: NOTIMP) with the SOA, self.body(zone), the SOA, 50
    records a message; one thread per connection. Misbehaviours: tc_udp
    (UDP SOA answers truncated), stall (after the first message, say
    nothing more), delay (seconds before answering a transfer)."""

    def __init__(self):
        self.port = h.free_port()
        self.serial = 1
        self.body = good_records
        self.tc_udp = False
        self.stall = False
        self.delay = 0.0
        self.ixfr = None          # fn(zone, their serial) -> answer records; None: NOTIMP
        self.edns_expire = None   # EDNS EXPIRE (RFC 7314) in SOA answers
        self.stop_ev = threading.Event()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((P.HOST, self.port))
        self.udp.settimeout(0.1)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((P.HOST, self.port))
        self.tcp.listen(16)
        self.tcp.settimeout(0.1)
        self.lock = threading.Lock()
        self.transfers = 0
        self.tcp_soa = 0
        self.active = 0
        self.max_active = 0
        self.threads = [threading.Thread(target=self.serve_udp, daemon=True),
                        threading.Thread(target=self.serve_tcp, daemon=True)]

    def remote(self):
        return P.Remote(P.HOST, self.port)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        for t in list(self.threads):
            t.join(5)
        self.udp.close()
        self.tcp.close()

    def answer(self, q):
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        return r

    def serve_udp(self):
        while not self.stop_ev.is_set():
            try:
                wire, addr = self.udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            q = dns.message.from_wire(wire)
            r = self.answer(q)
            if self.tc_udp:
                r.flags |= dns.flags.TC
            elif q.question[0].rdtype == dns.rdatatype.SOA:
                r.answer.append(soa_rrset(self.serial, q.question[0].name.to_text()))
                if self.edns_expire is not None and q.edns >= 0:
                    r.use_edns(0, options=[dns.edns.GenericOption(
                        dns.edns.EXPIRE, struct.pack("!I", self.edns_expire))])
            self.udp.sendto(r.to_wire(), addr)

    def serve_tcp(self):
        while not self.stop_ev.is_set():
            try:
                c, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self.serve_conn, args=(c,), daemon=True)
            self.threads.append(t)
            t.start()

    def serve_conn(self, c):
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            with c:
                self.serve_one(c)
        finally:
            with self.lock:
                self.active -= 1

    def serve_one(self, c):
        c.settimeout(2)
        try:
            q = dns.message.from_wire(h.tcp_read_msg(c))
        except Exception:  # noqa: BLE001 (a client that went away)
            return
        zone = q.question[0].name.to_text()
        qt = q.question[0].rdtype
        r = self.answer(q)
        if qt == dns.rdatatype.SOA:
            self.tcp_soa += 1
            r.answer.append(soa_rrset(self.serial, zone))
            c.sendall(h.tcp_frame(r.to_wire()))
            return
        with self.lock:
            self.transfers += 1
        if qt == dns.rdatatype.IXFR and self.ixfr is None:
            r.set_rcode(dns.rcode.NOTIMP)
            c.sendall(h.tcp_frame(r.to_wire()))
            return
        if qt == dns.rdatatype.IXFR:
            r.answer = self.ixfr(zone, q.authority[0][0].serial)
            c.sendall(h.tcp_frame(r.to_wire()))
            return
        if self.delay:
            self.stop_ev.wait(self.delay)
        recs = [soa_rrset(self.serial, zone)] + self.body(zone) + [soa_rrset(self.serial, zone)]
        for i in range(0, len(recs), 50):
            r = self.answer(q)
            r.answer = recs[i:i + 50]
            try:
                c.sendall(h.tcp_frame(r.to_wire(max_size=65535)))
            except OSError:
                return
            if self.stall:
                self.stop_ev.wait(3)   # the client gives up first (xfr.io_timeout)
                return


def notify(peer, zone="example.com."):
    q = dns.message.make_query(zone, "SOA")
    q.set_opcode(dns.opcode.NOTIFY)
    q.flags |= dns.flags.AA
    h.udp_exchange(q.to_wire(), peer.port, P.HOST, 2.0)


@pytest.mark.parametrize("bad,reason", [
    ("out_of_zone", r"www\.example\.net\. is outside the zone"),
    ("too_many", r"more than 20 records \(xfr\.max_records\)"),
    ("cname_and_a", r"CNAME"),
])
def test_bad_primary_keeps_old_version(tmp_path, peers, bad, reason):
    import dns.opcode  # noqa: F401 (notify())
    with StubPrimary() as stub:
        s = runway_secondary(tmp_path, [stub.remote()], extra="xfr:\n  max_records: 20\n")
        peers.start(s)
        s.wait_serial("example.com.", 1)
        mark = s.log_mark()

        def body(zone):
            rs = good_records(zone)
            if bad == "out_of_zone":
                rs.append(dns.rrset.from_text("www.example.net.", 60, "IN", "A", "192.0.2.66"))
            elif bad == "too_many":
                rs += [dns.rrset.from_text(f"h{i}.example.com.", 60, "IN", "A", "192.0.2.1")
                       for i in range(30)]
            else:
                rs.append(dns.rrset.from_text("www.example.com.", 60, "IN", "CNAME", "x.example.com."))
            return rs
        stub.body = body
        stub.serial = 2
        notify(s)
        m = s.wait_log(r"refresh failed: (.*)", since=mark, timeout=10)
        assert __import__("re").search(reason, m.group(1)), m.group(0)
        assert s.soa_serial("example.com.") == 1
        assert s.answer("www.example.com.", "A").rcode() == dns.rcode.NOERROR
        # A good version afterwards is taken.
        stub.body = good_records
        stub.serial = 3
        notify(s)
        s.wait_serial("example.com.", 3, timeout=5)


def test_runway_primary(tmp_path, peers):
    p = P.RunwayPeer(tmp_path / "primary", api=True)
    s_port = h.free_port()
    p.add_zone(P.Zone("example.com.", text=zone_text(serial=5),
                      notify=[P.Remote(P.HOST, s_port)], allow_transfer=[P.Acl("127.0.0.0/8")]))
    peers.start(p)
    try:
        p.axfr("example.com.", timeout=3)
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"runwayd does not serve AXFR yet: {e}")
    s = runway_secondary(tmp_path, [p.remote()])
    s.port = s_port
    mark = s.log_mark()
    peers.start(s)
    s.wait_serial("example.com.", 5, timeout=10)
    same_answers(p, s)
    mark = s.log_mark()
    serial = p.change("example.com.", [{"action": "UPSERT", "name": "new.example.com.", "type": "A",
                                        "ttl": 300, "records": ["192.0.2.7"]}])
    took = s.wait_serial("example.com.", serial, timeout=5)
    assert took < 1.0
    assert s.wait_transfers("in", 1, mark)[0][0] == "IXFR", s.log_since(mark)
    same_answers(p, s)


def test_api_status_retransfer_and_reload(tmp_path, peers):
    """The service's status and refresh through the API (api/xfr.c), and a
    reload that adds and removes secondary zones."""
    s_port = h.free_port()
    k = knot_primary(tmp_path, s_port)
    k.add_zone(P.Zone("example.org.", text=zone_text().replace("example.com.", "example.org."),
                      allow_transfer=[P.Acl("127.0.0.0/8")]))
    s = P.RunwayPeer(tmp_path / "rw", api=True)
    s.port = s_port
    s.add_zone(P.Zone("example.com.", primaries=[k.remote()]))
    peers.start(k, s)
    s.wait_serial("example.com.", 1)
    st, body = s.call("GET", "/v1/zones/example.com./transfer")
    assert st == 200, body
    text = str(body)
    assert "AXFR" in text and k.remote().addr in text, body

    mark = s.log_mark()
    st, body = s.call("POST", "/v1/zones/example.com./retransfer")
    assert st in (200, 202), body
    assert s.wait_transfers("in", 1, mark)[0][0] == "AXFR"
    assert s.call("POST", "/v1/zones/example.com./refresh")[0] in (200, 202)

    # Reload: example.org. becomes a secondary too, then example.com. goes.
    s.add_zone(P.Zone("example.org.", primaries=[k.remote()]))
    s.write_config()
    mark = s.log_mark()
    s.reload()
    s.wait_serial("example.org.", 1, timeout=10)
    s.wait_log(r"secondary: example\.org\.: AXFR from", since=mark)
    s.zones = [z for z in s.zones if z.name != "example.com."]
    s.write_config()
    mark = s.log_mark()
    s.reload()
    s.wait_log(r"secondary: example\.com\.: no longer a secondary zone", since=mark)
    assert s.answer("www.example.com.", "A").rcode() == dns.rcode.REFUSED
    assert s.soa_serial("example.org.") == 1


def test_secondary_zone_in_a_view(tmp_path, peers):
    """A view's own secondary zone: transferred into that view, NOTIFY (which
    the notify stage hands over with the view it came in on) acted on."""
    s_port = h.free_port()
    k = knot_primary(tmp_path, s_port)
    s = P.RunwayPeer(tmp_path / "rw")
    s.port = s_port
    s.zones.append(P.Zone("example.com.", primaries=[k.remote()]))   # for wait_ready
    (s.workdir / "top.zone").write_text(zone_text(serial=99))
    s.config_text = lambda: (
        f'server:\n  listen: ["{P.HOST}:{s.port}"]\n  workers: 1\n'
        "zones:\n  - { name: example.com., file: top.zone }\n"
        "views:\n  - name: inside\n    match: [\"127.0.0.0/8\"]\n    zones:\n"
        f'      - name: example.com.\n        file: inside.zone\n'
        f'        primaries: [{{ address: "{k.remote().addr}" }}]\n')
    peers.start(k, s)
    s.wait_serial("example.com.", 1, timeout=10)     # the view's copy, not the top level's 99
    wait_file(s.workdir / "inside.zone", "www.example.com.")
    s.wait_log(r"secondary: example\.com\. in view inside: AXFR from")
    mark = s.log_mark()
    k.zone_set("example.com.", [("set", "new.example.com.", 300, "A", "192.0.2.7")])
    assert s.wait_serial("example.com.", 2, timeout=5) < 1.0
    assert "NOTIFY received" in s.log_since(mark)
    assert (s.workdir / "top.zone").read_text() == zone_text(serial=99)


def test_truncated_soa_answer_over_tcp_and_stalled_transfer(tmp_path, peers):
    with StubPrimary() as stub:
        stub.tc_udp = True
        s = runway_secondary(tmp_path, [stub.remote()], extra="xfr:\n  io_timeout: 500ms\n")
        peers.start(s)
        s.wait_serial("example.com.", 1)
        assert stub.tcp_soa >= 1               # the truncated SOA answer asked again over TCP
        mark = s.log_mark()
        stub.stall = True
        stub.serial = 2
        stub.body = lambda zone: good_records(zone) + [
            dns.rrset.from_text(f"h{i}.{zone}", 60, "IN", "A", "192.0.2.1") for i in range(60)]
        notify(s)
        m = s.wait_log(r"refresh failed: (.*)", since=mark, timeout=10)
        assert "no data for 500 ms (xfr.io_timeout_ms)" in m.group(1), m.group(0)
        assert s.soa_serial("example.com.") == 1


def test_at_most_max_in_transfers_at_once(tmp_path, peers):
    with StubPrimary() as stub:
        stub.delay = 0.3
        s = P.RunwayPeer(tmp_path / "rw", extra="xfr:\n  max_in: 2\n")
        for i in range(5):
            s.add_zone(P.Zone(f"z{i}.example.", primaries=[stub.remote()]))
        t0 = time.monotonic()
        peers.start(s)
        for i in range(5):
            s.wait_serial(f"z{i}.example.", 1, timeout=10)
        assert stub.transfers == 5
        assert stub.max_active == 2, stub.max_active
        assert time.monotonic() - t0 >= 0.8     # three rounds of 0.3 s


def test_ixfr_that_does_not_apply_falls_back_to_axfr(tmp_path, peers):
    """An IXFR removing a record our copy does not hold: our copy is not what
    the primary thinks it is, so AXFR (as Knot does); and the primary's
    EDNS EXPIRE, when lower than the SOA's, is what our copy lives by."""
    with StubPrimary() as stub:
        stub.edns_expire = 3000
        s = runway_secondary(tmp_path, [stub.remote()])
        peers.start(s)
        s.wait_serial("example.com.", 1)
        left = expire_option(s)
        assert left is not None and 2900 <= left <= 3000, left
        mark = s.log_mark()
        stub.serial = 2
        stub.ixfr = lambda zone, theirs: [
            soa_rrset(2), soa_rrset(theirs),
            dns.rrset.from_text("nothere.example.com.", 3600, "IN", "A", "192.0.2.1"),
            soa_rrset(2), soa_rrset(2)]
        notify(s)
        s.wait_log(r"removes a record the zone does not hold \(nothere\.example\.com\. type 1\); "
                   r"trying AXFR", since=mark)
        assert s.wait_transfers("in", 1, mark)[0][0] == "AXFR"
        assert s.soa_serial("example.com.") == 2
        # A good IXFR is taken as one.
        mark = s.log_mark()
        stub.serial = 3
        stub.ixfr = lambda zone, theirs: [
            soa_rrset(3), soa_rrset(theirs),
            dns.rrset.from_text("www.example.com.", 3600, "IN", "A", "192.0.2.80"), soa_rrset(3),
            dns.rrset.from_text("www.example.com.", 3600, "IN", "A", "192.0.2.81"), soa_rrset(3)]
        notify(s)
        assert s.wait_transfers("in", 1, mark)[0][0] == "IXFR", s.log_since(mark)
        m = s.answer("www.example.com.", "A")
        assert [r.to_text() for r in m.answer] == ["www.example.com. 3600 IN A 192.0.2.81"]
        # An IXFR answered AXFR-style (RFC 1995 4: the journal does not reach
        # back): the whole zone, taken as an AXFR.
        mark = s.log_mark()
        stub.serial = 4
        stub.ixfr = lambda zone, theirs: [soa_rrset(4)] + good_records(zone) + [soa_rrset(4)]
        notify(s)
        assert s.wait_transfers("in", 1, mark)[0][0] == "AXFR", s.log_since(mark)
        assert stub.transfers == 5                 # AXFR, IXFR + AXFR, IXFR, IXFR: no AXFR after it
        m = s.answer("www.example.com.", "A")
        assert [r.to_text() for r in m.answer] == ["www.example.com. 3600 IN A 192.0.2.80"]


def test_chain_knot_runway_runway_by_ixfr(tmp_path, peers):
    """What runway transfers in by IXFR continues its history, so its own
    secondaries get IXFR from it too (a two-sequence IXFR by its net effect)."""
    a_port, b_port = h.free_port(), h.free_port()
    k = knot_primary(tmp_path, a_port)
    a = P.RunwayPeer(tmp_path / "a")
    a.port = a_port
    a.add_zone(P.Zone("example.com.", primaries=[k.remote()], notify=[P.Remote(P.HOST, b_port)],
                      allow_transfer=[P.Acl("127.0.0.0/8")]))
    b = runway_secondary(tmp_path, [a.remote()], name="b")
    b.port = b_port
    peers.start(k, a, b)
    b.wait_serial("example.com.", 1, timeout=10)
    for serial in (2, 3):
        mark_a, mark_b = a.log_mark(), b.log_mark()
        k.zone_set("example.com.", [("set", f"n{serial}.example.com.", 300, "A", "192.0.2.7")])
        b.wait_serial("example.com.", serial, timeout=5)
        assert a.wait_transfers("in", 1, mark_a)[0][0] == "IXFR", a.log_since(mark_a)
        assert b.wait_transfers("in", 1, mark_b)[0][0] == "IXFR", b.log_since(mark_b)
    same_answers(k, b)
    # b was away for two changes: one IXFR from serial 3 brings both.
    b.stop()
    for serial in (4, 5):
        k.zone_set("example.com.", [("set", f"n{serial}.example.com.", 300, "A", "192.0.2.7")])
        a.wait_serial("example.com.", serial, timeout=5)
    mark_b = b.log_mark()
    b.start()
    b.wait_serial("example.com.", 5, timeout=10)
    assert b.wait_transfers("in", 1, mark_b)[0][0] == "IXFR", b.log_since(mark_b)
    assert b.answer("n5.example.com.", "A").answer
