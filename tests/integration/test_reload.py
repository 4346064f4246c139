# SPDX-License-Identifier: GPL-3.0-or-later
"""Reload (SIGHUP): a changed zone is picked up, a broken zone keeps the
old data serving (and the reason is logged with file and line), config
changes add zones (one whose file is broken answers SERVFAIL until a fixed
file is reloaded), and reloads under query load lose nothing.

These run against knotd too (it also reloads on SIGHUP); only the exact
log format is runway-specific."""
import threading
import time

import dns.flags
import dns.message
import dns.rcode
import pytest

from dnsharness import TARGET, check, make_query, udp_exchange

ZONE = "example.net."


def small_zone(serial, addr, extra=""):
    return f"""$ORIGIN example.net.
$TTL 3600
@       SOA     ns1 hostmaster {serial} 7200 3600 1209600 300
@       NS      ns1
ns1     A       192.0.2.53
www     A       {addr}
ver     TXT     "v{serial}"
alias   CNAME   www
{extra}
"""


def broken_zone_line(serial):
    text = small_zone(serial, "192.0.2.99")
    lines = text.splitlines()
    lines.insert(5, "bad     A       300.1.2.3")      # line 6: invalid address
    return "\n".join(lines) + "\n", 6


def log_reason_pattern(fname, line):
    if TARGET == "knot":
        return rf"{fname}', line {line}\b"
    return rf"{fname}:{line}: "


@pytest.fixture
def rsrv(make_server, tmp_path):
    z = tmp_path / "src.zone"
    z.write_text(small_zone(1, "192.0.2.80"))
    s = make_server(zones=[(ZONE, z, [])])
    # installed under the zone's own file name in the server's folder
    return s


def test_reload_picks_up_changed_zone(rsrv):
    check(rsrv.query("www.example.net", "A"), answer=["www.example.net. 3600 IN A 192.0.2.80"])
    rsrv.write_zone(ZONE, small_zone(2, "192.0.2.81", 'new     TXT     "added"'))
    rsrv.reload()
    rsrv.wait_serial(ZONE, 2)
    check(rsrv.query("www.example.net", "A"), rcode="NOERROR", aa=True, answer=["www.example.net. 3600 IN A 192.0.2.81"])
    check(rsrv.query("new.example.net", "TXT"), rcode="NOERROR", answer=['new.example.net. 3600 IN TXT "added"'])
    assert rsrv.alive()


def test_reload_removes_deleted_names(rsrv):
    rsrv.write_zone(ZONE, small_zone(3, "192.0.2.80").replace("alias   CNAME   www\n", ""))
    rsrv.reload()
    rsrv.wait_serial(ZONE, 3)
    check(rsrv.query("alias.example.net", "A"), rcode="NXDOMAIN", aa=True, answer=[])


def test_broken_zone_at_reload_keeps_old_data(rsrv):
    fname = rsrv.zone_path(ZONE).name
    text, line = broken_zone_line(5)
    before = rsrv.log_size()
    rsrv.write_zone(ZONE, text)
    rsrv.reload()
    # readiness for "reload finished": the reason appears in the log
    rsrv.wait_log(log_reason_pattern(fname, line), start=before)
    assert rsrv.alive()
    assert rsrv.soa_serial(ZONE) == 1
    check(rsrv.query("www.example.net", "A"), rcode="NOERROR", aa=True, answer=["www.example.net. 3600 IN A 192.0.2.80"])
    check(rsrv.query("bad.example.net", "A"), rcode="NXDOMAIN")
    # fixing the file and reloading again works
    rsrv.write_zone(ZONE, small_zone(6, "192.0.2.82"))
    rsrv.reload()
    rsrv.wait_serial(ZONE, 6)
    check(rsrv.query("www.example.net", "A"), answer=["www.example.net. 3600 IN A 192.0.2.82"])


@pytest.mark.runway_only
def test_broken_zone_reason_names_file_and_line(rsrv):
    fname = rsrv.zone_path(ZONE).name
    text, line = broken_zone_line(7)
    before = rsrv.log_size()
    rsrv.write_zone(ZONE, text)
    rsrv.reload()
    m = rsrv.wait_log(rf"[^\s]*{fname}:{line}: [^\n]+", start=before)
    assert "300.1.2.3" in m.group(0) or "address" in m.group(0).lower() or "invalid" in m.group(0).lower(), m.group(0)


def test_reload_adds_zone_from_config(rsrv, tmp_path):
    z2 = tmp_path / "example.org.zone"
    z2.write_text("$ORIGIN example.org.\n$TTL 60\n@ SOA ns hm 42 1 1 1 1\n@ NS ns\nns A 192.0.2.9\n")
    rsrv.install_file(z2)
    rsrv.zones.append(("example.org.", z2, []))
    check(rsrv.query("ns.example.org", "A"), rcode="REFUSED")
    rsrv.write_config()
    rsrv.reload()
    rsrv.wait_serial("example.org.", 42)
    check(rsrv.query("ns.example.org", "A"), rcode="NOERROR", aa=True, answer=["ns.example.org. 60 IN A 192.0.2.9"])
    check(rsrv.query("www.example.net", "A"), rcode="NOERROR", aa=True)


def test_reload_adds_broken_zone_servfail(rsrv, tmp_path):
    """A zone added at reload whose file is broken is known by name: SERVFAIL
    without AA (not REFUSED), over UDP and TCP, as knotd answers; the other
    zone is untouched, and the next reload after a fix serves it."""
    z2 = tmp_path / "example.org.zone"
    z2.write_text("$ORIGIN example.org.\n$TTL 60\n@ SOA ns hm 42 1 1 1 1\n@ NS ns\nns A 300.1.2.3\n")
    rsrv.install_file(z2)
    rsrv.zones.append(("example.org.", z2, []))
    check(rsrv.query("ns.example.org", "A"), rcode="REFUSED")
    rsrv.write_config()
    rsrv.reload()
    deadline = time.monotonic() + 10.0
    while rsrv.query("ns.example.org", "A").rcode() == dns.rcode.REFUSED:   # until the reload is done
        assert time.monotonic() < deadline, rsrv.log_tail()
        time.sleep(0.05)  # poll interval of a readiness check
    for tcp in (False, True):
        for qname, qtype in [("ns.example.org", "A"), ("example.org", "SOA"), ("x.y.example.org", "TXT")]:
            check(rsrv.query(qname, qtype, tcp=tcp), rcode="SERVFAIL", aa=False, answer=[], authority=[])
    check(rsrv.query("www.example.net", "A"), rcode="NOERROR", aa=True)
    rsrv.write_zone("example.org.", z2.read_text().replace("300.1.2.3", "192.0.2.9"))
    rsrv.reload()
    rsrv.wait_serial("example.org.", 42)
    check(rsrv.query("ns.example.org", "A"), rcode="NOERROR", aa=True, answer=["ns.example.org. 60 IN A 192.0.2.9"])


def test_reload_under_load(rsrv):
    """3 client threads x ~3 s of UDP queries while 5 reloads happen:
    every reply must be a valid answer from one of the zone versions, no
    query may time out."""
    versions = {1: "192.0.2.80"}
    serial = 1
    valid_www = {"192.0.2.80"}
    stop = threading.Event()
    stats = {"ok": 0, "wrong": [], "timeouts": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + 8.0  # hard bound for the client loops

    def client(idx):
        names = [("www.example.net", "A"), ("alias.example.net", "A"), ("ver.example.net", "TXT")]
        n = 0
        while not stop.is_set() and time.monotonic() < deadline and n < 20000:
            qname, qtype = names[n % len(names)]
            q = make_query(qname, qtype, qid=(idx << 12 | n) & 0xFFFF)
            n += 1
            wire = udp_exchange(q.to_wire(), rsrv.port, timeout=1.0)
            if wire is None:
                with lock:
                    stats["timeouts"] += 1
                continue
            m = dns.message.from_wire(wire)
            problem = None
            if m.id != q.id or m.rcode() != dns.rcode.NOERROR or not m.flags & dns.flags.AA:
                problem = m.to_text()
            else:
                addrs = {rd.address for rrset in m.answer if rrset.rdtype == 1 for rd in rrset}
                txts = {rd.strings[0].decode() for rrset in m.answer if rrset.rdtype == 16 for rd in rrset}
                with lock:
                    allowed_a = set(valid_www)
                    allowed_v = {f"v{s}" for s in versions}
                if qtype == "A" and (len(addrs) != 1 or not addrs <= allowed_a):
                    problem = m.to_text()
                if qtype == "TXT" and (len(txts) != 1 or not txts <= allowed_v):
                    problem = m.to_text()
            with lock:
                if problem:
                    stats["wrong"].append(problem)
                else:
                    stats["ok"] += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(3)]
    for t in threads:
        t.start()
    t_start = time.monotonic()
    try:
        for i in range(5):
            serial += 1
            addr = f"192.0.2.{90 + i}"
            with lock:
                versions[serial] = addr
                valid_www.add(addr)
            rsrv.write_zone(ZONE, small_zone(serial, addr))
            rsrv.reload()
            rsrv.wait_serial(ZONE, serial)
        # keep the load going for at least ~3 s in total
        while time.monotonic() - t_start < 3.0 and all(t.is_alive() for t in threads):
            threads[0].join(timeout=0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5)
    assert rsrv.alive(), rsrv.log_tail()
    assert stats["ok"] > 100, f"too few answers: {stats['ok']}"
    assert stats["timeouts"] == 0, f"{stats['timeouts']} timeouts ({stats['ok']} ok)"
    assert not stats["wrong"], f"{len(stats['wrong'])} wrong answers, first:\n{stats['wrong'][0]}"
    check(rsrv.query("www.example.net", "A"), answer=[f"www.example.net. 3600 IN A {versions[serial]}"])
