# SPDX-License-Identifier: GPL-3.0-or-later
"""NOTIFY (RFC 1996) both ways, against a real runwayd (docs/transfers.md#notify).

Out: runwayd as a primary with `notify:` entries pointing at a stub secondary
(a UDP socket of this test): an API change, a zone file reload (SIGHUP) and
the start itself each send a NOTIFY with the new serial in the answer's SOA,
AA set, signed when the entry has a key (dnspython verifies it); an unanswered
NOTIFY is retried notify_retries times with a doubling wait, then given up;
an answer stops the retries; refusals and TSIG failures are logged. Then
with a real peer: knotd as a secondary of runwayd picks up an API change
within seconds although its SOA refresh is two hours (only NOTIFY explains it).

In: runwayd as a secondary (`primaries:`) gets NOTIFYs from allowed and other
addresses, with the right key, none, a wrong one; the same NOTIFYs go to a
knotd configured as the same zone's secondary, and the rcodes are compared
(where runway differs from Knot on purpose, the table says so); an accepted
NOTIFY makes runwayd ask its primary (a stub here) at once.

Only loopback; every wait is a bounded poll; every process is stopped on
any exit (make_server / the fixtures below).
"""
from __future__ import annotations

import base64
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import pytest

import dnsharness as h

pytestmark = pytest.mark.runway_only

KEY = "xfr."
SECRET = base64.b64encode(b"runway notify test key, 32 bytes").decode()
WRONG_SECRET = base64.b64encode(b"another secret of thirty-two b.!").decode()
KEYRING = dns.tsigkeyring.from_text({KEY: ("hmac-sha256", SECRET)})
WRONG_KEYRING = dns.tsigkeyring.from_text({KEY: ("hmac-sha256", WRONG_SECRET)})
UNKNOWN_KEYRING = dns.tsigkeyring.from_text({"nobody.": ("hmac-sha256", SECRET)})
TOKEN = "change-me"
# Linux's SO_TIMESTAMPNS (= SCM_TIMESTAMPNS), which Python's socket module does not name
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)

ZONE = """$ORIGIN {zone}
$TTL 300
@ SOA ns1 hostmaster {serial} 7200 3600 1209600 300
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.80
"""


def zone_text(zone="example.com.", serial=1):
    return ZONE.format(zone=zone, serial=serial)


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# runwayd as a primary, and the stub secondary it notifies

class Primary(h.DnsServer):
    """runwayd serving example.com. from a file, with `notify:` entries,
    allow_transfer for 127.0.0.1 with the key, an xfr: section and an API."""

    def __init__(self, workdir, notify, xfr="", serial=1, port=None):
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "src").mkdir(exist_ok=True)
        src = workdir / "src" / "example.com.zone"
        src.write_text(zone_text(serial=serial))
        super().__init__("runway", workdir, [("example.com.", src, [])], workers=1, port=port)
        self.notify = notify
        self.xfr = xfr
        self.api_port = free_tcp_port()

    def runway_config(self) -> str:
        items = ", ".join(f'{{ address: "{a}"' + (f", key: {k} }}" if k else " }")
                          for a, k in self.notify)
        return (f"server:\n  listen: [\"127.0.0.1:{self.port}\"]\n  workers: 1\n"
                f"tsig_keys:\n  {KEY}: {{ algorithm: hmac-sha256, secret: \"{SECRET}\" }}\n"
                "zones:\n  - name: example.com.\n    file: example.com.zone\n"
                f"    notify: [{items}]\n"
                f"    allow_transfer: [{{ match: [127.0.0.1], key: {KEY} }}]\n"
                + (f"xfr:\n{self.xfr}" if self.xfr else "")
                + f"api:\n  listen: \"127.0.0.1:{self.api_port}\"\n"
                f"  tokens:\n    - {{ token: {TOKEN}, access: write }}\n  data: state/\n")

    def change(self, name="api.example.com.", addr="192.0.2.9"):
        """An API change; returns the serial it published."""
        body = json.dumps({"changes": [{"action": "UPSERT", "name": name, "type": "A",
                                        "ttl": 60, "records": [addr]}]}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.api_port}/v1/zones/example.com/changes",
                                     data=body, method="POST")
        req.add_header("Authorization", f"Bearer {TOKEN}")
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200
            return json.loads(r.read())["serial"]

    def notify_metrics(self):
        """runway_notify_* of /metrics: {"sent": n, "answered": n, "failed": n, "pending": n}."""
        req = urllib.request.Request(f"http://127.0.0.1:{self.api_port}/metrics")
        req.add_header("Authorization", f"Bearer {TOKEN}")
        with urllib.request.urlopen(req, timeout=5) as r:
            text = r.read().decode()
        return {k: int(v) for k, v in
                re.findall(r"^runway_notify_(\w+?)(?:_total)? (\d+)$", text, re.M)}

    def wait_api(self, timeout=h.READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.api_port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise h.ServerFailed(f"API not up; log:\n{self.log_tail()}")
                time.sleep(0.05)  # poll interval of a readiness check


class Got:
    def __init__(self, msg, wire, addr, at, zone):
        self.msg, self.wire, self.addr, self.at, self.zone = msg, wire, addr, at, zone

    @property
    def serial(self):
        assert len(self.msg.answer) == 1, self.msg.to_text()
        rr = self.msg.answer[0]
        assert rr.rdtype == dns.rdatatype.SOA and rr.name == self.zone
        return rr[0].serial


class StubSecondary:
    """A UDP socket that receives NOTIFYs (checked: opcode, AA, question,
    TSIG verified with keyring when given) and answers when told to."""

    def __init__(self, keyring=None, zone="example.com."):
        self.keyring = keyring
        self.zone = dns.name.from_text(zone)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        # the kernel's arrival time: a NOTIFY may wait in the buffer before recv()
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"

    def recv(self, timeout) -> Got | None:
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return None
        wire, anc, _, addr = self.sock.recvmsg(65535, 256)
        at = time.time()
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", data[:16])
                at = sec + nsec / 1e9
        # raises when a keyed NOTIFY is unsigned or does not verify
        msg = dns.message.from_wire(wire, keyring=self.keyring)
        assert msg.opcode() == dns.opcode.NOTIFY, msg.to_text()
        assert msg.flags & dns.flags.AA and not msg.flags & dns.flags.QR, msg.to_text()
        assert len(msg.question) == 1 and msg.question[0].rdtype == dns.rdatatype.SOA
        assert msg.question[0].name == self.zone
        assert msg.had_tsig == (self.keyring is not None)
        return Got(msg, wire, addr, at, self.zone)

    def recv_serial(self, serial, timeout):
        """NOTIFYs until one with serial (answering none); the last one."""
        deadline = time.monotonic() + timeout
        while True:
            g = self.recv(max(0.0, deadline - time.monotonic()))
            assert g is not None, f"no NOTIFY with serial {serial} within {timeout}s"
            if g.serial == serial:
                return g

    def answer(self, got, rcode=dns.rcode.NOERROR, sign=True):
        r = dns.message.make_response(got.msg)     # signed when the NOTIFY was
        r.set_rcode(rcode)
        self.sock.sendto(r.to_wire() if sign or not got.msg.had_tsig else _unsigned(r), got.addr)

    def close(self):
        self.sock.close()


def _unsigned(r):
    """r's wire without a TSIG RR."""
    m = dns.message.Message(r.id)
    m.flags = r.flags
    m.set_opcode(r.opcode())
    m.set_rcode(r.rcode())
    m.question = r.question
    return m.to_wire()


@pytest.fixture
def stubs():
    made = []

    def make(keyring=None, zone="example.com."):
        s = StubSecondary(keyring, zone)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@pytest.fixture
def primary(make_server, tmp_path):
    """primary(notify=[(address, key or None)], xfr=YAML lines): started,
    API up, stopped by make_server's teardown."""
    started = []

    def start(notify, xfr="", serial=1, port=None):
        p = Primary(tmp_path / f"primary{len(started)}", notify, xfr, serial, port)
        started.append(p)
        p.start()
        p.wait_api()
        return p

    yield start
    bad = []
    for p in started:
        alive = p.alive()
        rc = p.stop()
        if alive and rc != 0:
            bad.append(f"runwayd exited with {rc}:\n{p.log_tail()}")
    assert not bad, "\n".join(bad)


# --------------------------------------------------------------------------
# NOTIFY out

@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "tsig"])
def test_api_change_notifies(primary, stubs, signed):
    stub = stubs(KEYRING if signed else None)
    p = primary([(stub.address, KEY if signed else None)])
    # once it serves, runwayd tells its secondaries the serial it starts with
    first = stub.recv(5)
    assert first is not None, f"no NOTIFY at start; log:\n{p.log_tail()}"
    assert first.serial == 1
    stub.answer(first)
    p.wait_log(r"notify: example\.com\. serial 1 to " + re.escape(stub.address) +
               r": answered \(NOERROR\) after 1 try")

    t0 = time.time()
    serial = p.change()
    assert serial != 1
    g = stub.recv(1.0)
    assert g is not None, f"no NOTIFY within 1 s of the API change; log:\n{p.log_tail()}"
    assert g.serial == serial
    # the SOA of the zone, its TTL and fields but the serial as in the file
    soa = g.msg.answer[0]
    assert soa.ttl == 300
    assert (soa[0].mname.to_text(), soa[0].refresh, soa[0].minimum) == \
        ("ns1.example.com.", 7200, 300)
    h_elapsed = g.at - t0
    print(f"NOTIFY {h_elapsed * 1000:.1f} ms after the API change was sent")
    stub.answer(g)
    p.wait_log(rf"notify: example\.com\. serial {serial} to {re.escape(stub.address)}: "
               r"answered \(NOERROR\)")
    assert stub.recv(0.5) is None, "a NOTIFY after the answer"
    assert p.notify_metrics() == {"sent": 2, "answered": 2, "failed": 0, "pending": 0}


def test_retries_with_backoff_then_gives_up(primary, stubs):
    stub = stubs()
    p = primary([(stub.address, None)], xfr="  notify_timeout: 150ms\n  notify_retries: 3\n")
    got = []
    for _ in range(4):                              # the first try and 3 retries
        g = stub.recv(5)
        assert g is not None, f"{len(got)} NOTIFYs only; log:\n{p.log_tail()}"
        assert g.serial == 1
        got.append(g)
    gaps = [b.at - a.at for a, b in zip(got, got[1:])]
    # waits of 150, 300, 600 ms: loosely, each at least 1.5 times the last
    assert gaps[0] >= 0.12, gaps
    assert gaps[1] >= 1.5 * gaps[0] and gaps[2] >= 1.5 * gaps[1], gaps
    assert len({g.wire for g in got}) == 1, "each try must resend the same message"
    p.wait_log(r"notify: example\.com\. serial 1 to " + re.escape(stub.address) +
               r": gave up after 4 tries \(no answer\)", timeout=5)
    assert stub.recv(1.0) is None, "a NOTIFY after giving up"
    assert p.notify_metrics() == {"sent": 4, "answered": 0, "failed": 1, "pending": 0}


def test_answer_stops_retries(primary, stubs):
    stub = stubs()
    p = primary([(stub.address, None)], xfr="  notify_timeout: 300ms\n  notify_retries: 5\n")
    first = stub.recv(5)
    second = stub.recv(2)
    assert first is not None and second is not None
    assert second.wire == first.wire    # resent as it was: an answer to either try counts
    stub.answer(first)
    p.wait_log(r"answered \(NOERROR\) after 2 tries")
    assert stub.recv(1.0) is None, "retried after the answer"
    assert "gave up" not in p.log()


def test_refused_and_tsig_failure_are_logged(primary, stubs):
    refusing, unsigned = stubs(), stubs(KEYRING)
    p = primary([(refusing.address, None), (unsigned.address, KEY)])
    g = refusing.recv(5)
    refusing.answer(g, dns.rcode.REFUSED)
    g2 = unsigned.recv(5)
    unsigned.answer(g2, sign=False)         # a keyed NOTIFY answered without TSIG
    p.wait_log(r"notify: example\.com\. serial 1 to " + re.escape(refusing.address) +
               r": refused \(REFUSED\)")
    p.wait_log(r"notify: example\.com\. serial 1 to " + re.escape(unsigned.address) +
               r": TSIG failure .* with key xfr\.")
    assert refusing.recv(0.5) is None and unsigned.recv(0.1) is None


def test_reload_with_raised_serial_notifies(primary, stubs):
    stub = stubs()
    p = primary([(stub.address, None)])
    stub.answer(stub.recv(5))
    p.write_zone("example.com.", zone_text(serial=7))
    p.reload()
    g = stub.recv_serial(7, timeout=5)
    stub.answer(g)
    p.wait_log(r"serial 7 to .*answered \(NOERROR\)")
    # a reload that changes nothing sends nothing
    mark = p.log_size()
    p.reload()
    p.wait_log(r"reload done", start=mark)
    assert stub.recv(0.5) is None


def test_newer_serial_replaces_pending(primary, stubs):
    stub = stubs()
    p = primary([(stub.address, None)], xfr="  notify_timeout: 2s\n  notify_retries: 2\n")
    stub.answer(stub.recv(5))
    s1 = p.change("a.example.com.")
    g1 = stub.recv_serial(s1, 2)
    s2 = p.change("b.example.com.")
    g2 = stub.recv_serial(s2, 2)
    stub.answer(g1)                          # for the replaced exchange: ignored
    stub.answer(g2)
    p.wait_log(rf"serial {s2} to .*answered \(NOERROR\)")
    assert not re.search(rf"serial {s1} to .*answered", p.log())
    assert stub.recv(2.5) is None, "the replaced exchange was retried"


# --------------------------------------------------------------------------
# Knot DNS as a secondary of runwayd

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"


class Knot:
    """knotd in its own folder: a secondary of example.com. (or other.example.)."""

    def __init__(self, workdir, zone, primary_port, notify_from="127.0.0.1", file_serial=None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = h.free_port()
        self.zone = zone
        self.log_path = self.dir / "knot.log"
        if file_serial is not None:
            (self.dir / f"{zone}zone").write_text(zone_text(zone, file_serial))
        (self.dir / "knot.conf").write_text(f"""server:
    rundir: {self.dir}
    listen: 127.0.0.1@{self.port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: debug
database:
    storage: {self.dir}/db
key:
  - id: {KEY}
    algorithm: hmac-sha256
    secret: {SECRET}
remote:
  - id: primary
    address: 127.0.0.1@{primary_port}
    key: {KEY}
acl:
  - id: notify
    address: {notify_from}
    key: {KEY}
    action: notify
template:
  - id: default
    storage: {self.dir}
    zonefile-sync: -1
zone:
  - domain: {zone}
    file: {zone}zone
    master: primary
    acl: notify
  - domain: primary.example.
    file: primary.example.zone
""")
        (self.dir / "primary.example.zone").write_text(zone_text("primary.example.", 1))
        self.proc = None

    def start(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([KNOTD, "-c", str(self.dir / "knot.conf")], cwd=self.dir,
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + h.READY_TIMEOUT
        while self.serial("primary.example.") is None:
            assert self.proc.poll() is None, f"knotd exited:\n{self.log()}"
            assert time.monotonic() < deadline, f"knotd not up:\n{self.log()}"
            time.sleep(0.05)  # poll interval of a readiness check

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def serial(self, zone):
        try:
            w = h.udp_exchange(h.make_query(zone, "SOA").to_wire(), self.port, timeout=0.3)
        except OSError:                          # not listening yet
            return None
        if w is None:
            return None
        m = dns.message.from_wire(w)
        for rr in m.answer:
            if rr.rdtype == dns.rdatatype.SOA:
                return rr[0].serial
        return None

    def wait_serial(self, zone, serial, timeout):
        deadline = time.monotonic() + timeout
        while self.serial(zone) != serial:
            assert time.monotonic() < deadline, \
                f"knotd serves {zone} serial {self.serial(zone)}, not {serial}:\n{self.log()[-3000:]}"
            time.sleep(0.02)  # poll interval

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc:
            self._log.close()


@pytest.fixture
def knot(tmp_path):
    if not os.access(KNOTD, os.X_OK):
        pytest.skip("knotd not installed")
    made = []

    def make(*a, **kw):
        k = Knot(tmp_path / f"knot{len(made)}", *a, **kw)
        made.append(k)
        return k

    yield make
    for k in made:
        k.stop()


@pytest.mark.needs_knot
def test_knot_secondary_follows_by_notify(primary, knot):
    port = h.free_port()
    k = knot("example.com.", port)
    p = primary([(f"127.0.0.1:{k.port}", KEY)], port=port)
    k.start()
    k.wait_serial("example.com.", 1, 10)        # the first transfer (SOA refresh at start)
    t0 = time.monotonic()
    serial = p.change()
    # the SOA refresh is 7200 s: only the NOTIFY brings the change this fast
    k.wait_serial("example.com.", serial, 5)
    print(f"knotd serves serial {serial} {1000 * (time.monotonic() - t0):.0f} ms "
          "after the API change")
    assert re.search(rf"\[example\.com\.\] notify, incoming, remote 127\.0\.0\.1@\d+, "
                     rf"serial {serial}", k.log()), k.log()[-3000:]
    p.wait_log(rf"notify: example\.com\. serial {serial} to 127\.0\.0\.1:{k.port}: "
               r"answered \(NOERROR\)")


# --------------------------------------------------------------------------
# NOTIFY in: runwayd as a secondary, compared with knotd

class StubPrimary:
    """Answers queries for other.example. over UDP and TCP, signed when
    asked: SOA with self.serial (1 at first), AXFR and IXFR with the whole
    zone at that serial in one message (IXFR in the AXFR form, RFC 1995 4);
    records every query it gets (time, type)."""

    def __init__(self):
        self.port = h.free_port()            # free for UDP and TCP
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(8)
        self.queries = []                  # (monotonic time, qtype text)
        self.serial = 1
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def answer(self, wire):
        q = dns.message.from_wire(wire, keyring=KEYRING)
        with self.lock:
            self.queries.append((time.monotonic(), dns.rdatatype.to_text(q.question[0].rdtype)))
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        soa = dns.rrset.from_text("other.example.", 300, "IN", "SOA",
                                  "ns1.other.example. hostmaster.other.example. "
                                  f"{self.serial} 7200 3600 1209600 300")
        r.answer.append(soa)
        if q.question[0].rdtype in (dns.rdatatype.AXFR, dns.rdatatype.IXFR):
            for name, rdtype, rdata in (("other.example.", "NS", "ns1.other.example."),
                                        ("ns1.other.example.", "A", "192.0.2.1"),
                                        ("www.other.example.", "A", f"192.0.2.{self.serial}")):
                r.answer.append(dns.rrset.from_text(name, 300, "IN", rdtype, rdata))
            r.answer.append(soa)
        return r.to_wire()

    def run(self):
        while not self.stopping:
            r, _, _ = select.select([self.udp, self.tcp], [], [], 0.1)
            for s in r:
                try:
                    if s is self.udp:
                        wire, addr = self.udp.recvfrom(65535)
                        self.udp.sendto(self.answer(wire), addr)
                    else:
                        c, _ = self.tcp.accept()
                        with c:
                            c.settimeout(2)
                            w = h.tcp_read_msg(c)
                            c.sendall(h.tcp_frame(self.answer(w)))
                except Exception:              # a test stub: a bad query is dropped
                    pass

    def count(self):
        with self.lock:
            return len(self.queries)

    def since(self, n):
        with self.lock:
            return list(self.queries[n:])

    def close(self):
        self.stopping = True
        self.thread.join(2)
        self.udp.close()
        self.tcp.close()


class Secondary(h.DnsServer):
    """runwayd: a secondary of other.example. (primary 127.0.0.1:PORT with
    the key; its copy already on disk) and the primary of example.com."""

    def __init__(self, workdir, primary_port, copy=True, notify=None):
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "src").mkdir(exist_ok=True)
        srcs = []
        for zone in ("example.com.", "other.example.") if copy else ("example.com.",):
            f = workdir / "src" / f"{zone}zone"
            f.write_text(zone_text(zone, 1))
            srcs.append((zone, f, []))
        super().__init__("runway", workdir, srcs, workers=1)
        self.primary_port = primary_port
        self.notify = notify

    def runway_config(self) -> str:
        return (f"server:\n  listen: [\"127.0.0.1:{self.port}\"]\n  workers: 1\n"
                f"tsig_keys:\n  {KEY}: {{ algorithm: hmac-sha256, secret: \"{SECRET}\" }}\n"
                "zones:\n  - name: example.com.\n    file: example.com.zone\n"
                "  - name: other.example.\n    file: other.example.zone\n"
                f"    primaries: [{{ address: \"127.0.0.1:{self.primary_port}\", key: {KEY} }}]\n"
                + (f"    notify: [\"{self.notify}\"]\n" if self.notify else ""))


def notify_msg(zone="other.example.", qtype="SOA", keyring=None, keyname=KEY, serial=2):
    q = dns.message.make_query(zone, qtype)
    q.flags = dns.flags.AA                 # no RD; the opcode lives in the flags: set after
    q.set_opcode(dns.opcode.NOTIFY)
    if qtype == "SOA":
        q.answer.append(dns.rrset.from_text(zone, 300, "IN", "SOA",
                                            f"ns1.{zone} hostmaster.{zone} {serial} 7200 3600 "
                                            "1209600 300"))
    if keyring is not None:
        q.use_tsig(keyring, keyname=keyname)
    return q


def send_notify(port, q, source="127.0.0.1", keyring=None):
    """(rcode text, AA, the answer) of q sent from source; the answer's TSIG
    checked with keyring when given (a BADKEY/BADSIG error comes unsigned)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.settimeout(3)
        s.sendto(q.to_wire(), ("127.0.0.1", port))
        wire = s.recv(65535)
    qwire = q.to_wire()
    qlen = len(q.question[0].name.to_wire()) + 4
    opcode, rcode = (wire[2] >> 3) & 15, wire[3] & 15
    assert wire[:2] == qwire[:2] and wire[2] & 0x80 and opcode == dns.opcode.NOTIFY, wire.hex()
    assert wire[4:6] == b"\0\1" and wire[12:12 + qlen] == qwire[12:12 + qlen], wire.hex()
    tsig = "unsigned"
    if keyring is not None and wire[10:12] != b"\0\0":
        try:
            r = dns.message.from_wire(wire, keyring=keyring, request_mac=q.mac)
            tsig = "signed" if r.had_tsig else "unsigned"
        except dns.tsig.PeerError as e:        # BADKEY, BADSIG: an unsigned error record
            tsig = type(e).__name__
    return dns.rcode.to_text(rcode), bool(wire[2] & 0x04), tsig


# (case, NOTIFY builder, source, runway's answer, knotd's answer). runway
# sets AA on NOERROR (as BIND; Knot does not) and answers REFUSED where no
# allow_notify rule admits the sender (as BIND and runway's transfer stage;
# Knot says NOTAUTH) -- docs/transfers.md#notify.
CASES = [
    ("primary, signed", lambda: notify_msg(keyring=KEYRING), "127.0.0.1",
     ("NOERROR", True, "signed"), ("NOERROR", False, "signed")),
    ("primary, unsigned", lambda: notify_msg(), "127.0.0.1",
     ("REFUSED", False, "unsigned"), ("NOTAUTH", False, "unsigned")),
    ("another address, signed", lambda: notify_msg(keyring=KEYRING), "127.0.0.2",
     ("REFUSED", False, "signed"), ("NOTAUTH", False, "PeerBadKey")),
    ("another address, unsigned", lambda: notify_msg(), "127.0.0.2",
     ("REFUSED", False, "unsigned"), ("NOTAUTH", False, "unsigned")),
    ("wrong secret", lambda: notify_msg(keyring=WRONG_KEYRING), "127.0.0.1",
     ("NOTAUTH", False, "PeerBadSignature"), ("NOTAUTH", False, "PeerBadSignature")),
    ("unknown key", lambda: notify_msg(keyring=UNKNOWN_KEYRING, keyname="nobody."), "127.0.0.1",
     ("NOTAUTH", False, "PeerBadKey"), ("NOTAUTH", False, "PeerBadKey")),
    ("a zone it is the primary of", lambda: notify_msg("primary.example.", keyring=KEYRING),
     "127.0.0.1", None, ("NOTAUTH", False, "PeerBadKey")),
    ("not SOA", lambda: notify_msg(qtype="A", keyring=KEYRING), "127.0.0.1",
     ("FORMERR", False, "signed"), ("FORMERR", False, "signed")),
]


@pytest.fixture
def stub_primary():
    p = StubPrimary()
    yield p
    p.close()


@pytest.fixture
def secondary(make_server, tmp_path, stub_primary):
    s = Secondary(tmp_path / "secondary", stub_primary.port)
    try:
        s.start()
    except BaseException:
        s.stop()
        raise
    yield s
    alive = s.alive()
    rc = s.stop()
    assert not alive or rc == 0, s.log_tail()


@pytest.mark.parametrize("case,build,source,want_runway,want_knot", CASES,
                         ids=[c[0] for c in CASES])
def test_notify_in_rcodes(secondary, knot, stub_primary, case, build, source, want_runway,
                          want_knot):
    q = build()
    keyring = q.keyring if q.had_tsig else None
    if want_runway is not None:
        assert send_notify(secondary.port, q, source, keyring) == want_runway
    k = knot("other.example.", stub_primary.port, file_serial=1)
    k.start()
    assert send_notify(k.port, build(), source, keyring) == want_knot
    assert secondary.alive()


def test_notify_in_for_own_zone(secondary):
    """A zone runway is the primary of: NOTAUTH (as Knot), signed."""
    q = notify_msg("example.com.", keyring=KEYRING)
    assert send_notify(secondary.port, q, "127.0.0.1", KEYRING) == ("NOTAUTH", False, "signed")


def test_notify_in_unknown_zone(secondary):
    q = notify_msg("nowhere.example.", keyring=KEYRING)
    assert send_notify(secondary.port, q, "127.0.0.1", KEYRING)[0] == "NOTAUTH"


def test_accepted_notify_starts_a_refresh(secondary, stub_primary):
    """Acted on within milliseconds: runwayd asks its primary right after it
    answers the NOTIFY (the SOA refresh is two hours)."""
    # the refresh at start, answered (serial 1: up to date)
    deadline = time.monotonic() + 10
    while stub_primary.count() == 0:
        assert time.monotonic() < deadline, f"no SOA query at start:\n{secondary.log_tail()}"
        time.sleep(0.02)  # poll interval
    # A NOTIFY that comes while the start-up refresh still runs makes the
    # secondary refresh again when it ends (want_refresh): no wait needed.
    n = stub_primary.count()
    t0 = time.monotonic()
    assert send_notify(secondary.port, notify_msg(keyring=KEYRING), "127.0.0.1", KEYRING) == \
        ("NOERROR", True, "signed")
    deadline = t0 + 1.0
    while not stub_primary.since(n):
        assert time.monotonic() < deadline, \
            f"no query to the primary within 1 s of the NOTIFY:\n{secondary.log_tail()}"
        time.sleep(0.005)  # poll interval
    at, qtype = stub_primary.since(n)[0]
    print(f"secondary asked its primary ({qtype}) {1000 * (at - t0):.1f} ms after the NOTIFY")
    assert qtype in ("SOA", "IXFR", "AXFR")
    secondary.wait_log(r"secondary: other\.example\.: NOTIFY received, refreshing", timeout=2)


def test_notify_in_before_the_first_transfer(make_server, tmp_path):
    """A secondary zone without a copy yet (its primary was down at start):
    a NOTIFY must still be accepted, it is what says the primary is back."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as down:
        down.bind(("127.0.0.1", 0))     # a primary that never answers
        s = Secondary(tmp_path / "fresh", down.getsockname()[1], copy=False)
        try:
            s.start()
            q = notify_msg(keyring=KEYRING)
            assert send_notify(s.port, q, "127.0.0.1", KEYRING)[0] == "NOERROR"
        finally:
            s.stop()


def test_transfer_in_notifies_downstream(make_server, tmp_path, stub_primary, stubs):
    """runwayd as a secondary with its own `notify:` (a chain): the version
    a NOTIFY from its primary brings in is announced downstream."""
    down = stubs(zone="other.example.")
    s = Secondary(tmp_path / "middle", stub_primary.port, notify=down.address)
    try:
        s.start()
        g = down.recv(5)                        # the start-up NOTIFY: serial 1
        assert g is not None and g.serial == 1
        down.answer(g)
        stub_primary.serial = 2
        t0 = time.time()
        assert send_notify(s.port, notify_msg(keyring=KEYRING), "127.0.0.1", KEYRING)[0] == \
            "NOERROR"
        g = down.recv(2)
        assert g is not None, f"nothing downstream within 2 s:\n{s.log_tail()}"
        assert g.serial == 2
        print(f"NOTIFY in -> transfer -> NOTIFY out: {1000 * (g.at - t0):.1f} ms")
        down.answer(g)
        s.wait_serial("other.example.", 2, timeout=2)
        s.wait_log(r"notify: other\.example\. serial 2 to .*answered \(NOERROR\)")
    finally:
        rc = s.stop()
    assert rc == 0, s.log_tail()
