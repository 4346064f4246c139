# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for runway's integration tests: start a DNS server (runwayd or,
as the reference, Knot DNS's knotd) on loopback ports, ask it questions
and check the answers.

    srv = DnsServer("runway", workdir, ZONES)   # or "knot"
    srv.start()                                 # returns once SOA answers
    r = srv.query("www.example.net", "A")
    check(r, rcode="NOERROR", aa=True, answer=["www.example.net. 3600 IN A 192.0.2.80"])
    srv.stop()

Only loopback addresses are ever used. Every wait is bounded.
"""
from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BUILD = Path(os.environ.get("RUNWAY_BUILD") or REPO / "build")
TARGET = os.environ.get("RUNWAY_TARGET", "runway").strip().lower() or "runway"
RUNWAYD = BUILD / "runwayd"
RUNWAY = BUILD / "runway"
KNOTD = shutil.which("knotd") or ("/usr/sbin/knotd" if os.path.exists("/usr/sbin/knotd") else None)
ZONES_DIR = HERE / "zones"
QUICKSTART = REPO / "examples" / "quickstart"

# The standard zone set: (zone name, zone file, extra files it $INCLUDEs).
STANDARD_ZONES = [
    ("example.net.", ZONES_DIR / "example.net.zone", [ZONES_DIR / "big.inc"]),
    ("child.example.net.", ZONES_DIR / "child.example.net.zone", []),
    ("example.com.", QUICKSTART / "example.com.zone", [QUICKSTART / "example.com.office.inc"]),
]

NSID = "runway-test"
EDNS_UDP_SIZE = 1232
IDLE_TIMEOUT = 2  # seconds, tcp idle timeout given to the server
READY_TIMEOUT = 10.0


def have_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


HAVE_V6 = have_ipv6_loopback()


def free_port(tries: int = 50) -> int:
    """A port free for TCP and UDP on 127.0.0.1 (and ::1 when present)."""
    for _ in range(tries):
        socks = []
        try:
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(t)
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(u)
            u.bind(("127.0.0.1", port))
            if HAVE_V6:
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    s6 = socket.socket(socket.AF_INET6, kind)
                    socks.append(s6)
                    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    s6.bind(("::1", port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port found on loopback")


# --------------------------------------------------------------------------
# wire helpers

def make_query(qname, qtype="A", rdclass="IN", *, edns=0, payload=None, nsid=False,
               options=(), rd=True, qid=None, opcode=None, do=False):
    """A dns.message query. edns=None: no OPT record."""
    q = dns.message.make_query(qname, qtype, rdclass)
    if qid is not None:
        q.id = qid
    if not rd:
        q.flags &= ~dns.flags.RD
    if opcode is not None:
        q.set_opcode(dns.opcode.make(opcode) if isinstance(opcode, str) else opcode)
    if edns is not None:
        opts = list(options)
        if nsid:
            opts.append(dns.edns.GenericOption(dns.edns.NSID, b""))
        q.use_edns(edns, dns.flags.DO if do else 0,
                   payload if payload is not None else EDNS_UDP_SIZE, options=opts)
    return q


def udp_exchange(wire: bytes, port: int, host="127.0.0.1", timeout=3.0):
    """Send one datagram, return the reply bytes or None on timeout."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        s.send(wire)
        try:
            return s.recv(65535)
        except socket.timeout:
            return None


def recv_exact(sock, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def tcp_read_msg(sock) -> bytes:
    (n,) = struct.unpack("!H", recv_exact(sock, 2))
    return recv_exact(sock, n)


def tcp_frame(wire: bytes) -> bytes:
    return struct.pack("!H", len(wire)) + wire


def tcp_exchange(wire: bytes, port: int, host="127.0.0.1", timeout=3.0) -> bytes:
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(tcp_frame(wire))
        return tcp_read_msg(s)


def parse(wire: bytes) -> dns.message.Message:
    m = dns.message.from_wire(wire)
    m.wire = wire  # keep the bytes for wire-level assertions
    return m


# --------------------------------------------------------------------------
# answer checks

def _rr_key(name, ttl, rdclass, rdtype, rdata):
    return (name, ttl, rdclass, rdtype, rdata)


def section_rrs(section, with_ttl=True):
    """A Counter of (owner, ttl, class, type, rdata) for a message section.
    Names compare case-insensitively (dns.name), rdata by canonical form."""
    c = collections.Counter()
    for rrset in section:
        for rd in rrset:
            c[_rr_key(rrset.name, rrset.ttl if with_ttl else None, rrset.rdclass, rrset.rdtype, rd)] += 1
    return c


def expected_rrs(lines, with_ttl=True):
    c = collections.Counter()
    for line in lines:
        owner, ttl, cls, typ, rest = (line.split(None, 4) + [""])[:5]
        name = dns.name.from_text(owner)
        rdclass = dns.rdataclass.from_text(cls)
        rdtype = dns.rdatatype.from_text(typ)
        rd = dns.rdata.from_text(rdclass, rdtype, rest, origin=dns.name.root, relativize=False)
        c[_rr_key(name, int(ttl) if with_ttl else None, rdclass, rdtype, rd)] += 1
    return c


def rcode_text(m) -> str:
    return dns.rcode.to_text(m.rcode())


def check(r, *, rcode=None, aa=None, tc=None, ra=None, answer=None, authority=None,
          additional=None, ttl=True):
    """Assert facts about response r. Sections are compared as multisets of
    records written as zone-file lines "owner ttl class type rdata"; None
    means 'not checked', [] means 'must be empty'. OPT is not part of
    additional here (use r.opt / r.edns)."""
    __tracebackhide__ = True
    assert r is not None, "no response (timeout)"
    where = "\n--- response ---\n" + r.to_text()
    if rcode is not None:
        assert rcode_text(r) == rcode, f"rcode {rcode_text(r)} != {rcode}{where}"
    if aa is not None:
        assert bool(r.flags & dns.flags.AA) == aa, f"AA should be {aa}{where}"
    if tc is not None:
        assert bool(r.flags & dns.flags.TC) == tc, f"TC should be {tc}{where}"
    if ra is not None:
        assert bool(r.flags & dns.flags.RA) == ra, f"RA should be {ra}{where}"
    for sname, want in (("answer", answer), ("authority", authority), ("additional", additional)):
        if want is None:
            continue
        got = section_rrs(getattr(r, sname), ttl)
        exp = expected_rrs(want, ttl)
        if got != exp:
            missing = exp - got
            extra = got - exp
            fmt = lambda c: "\n".join(f"  {k[0]} {k[1]} {dns.rdataclass.to_text(k[2])} "
                                      f"{dns.rdatatype.to_text(k[3])} {k[4]}" for k in c.elements()) or "  (none)"
            raise AssertionError(f"{sname} section differs\nmissing:\n{fmt(missing)}\nunexpected:\n{fmt(extra)}{where}")
    return r


def soa_line(zone="example.net.", ttl=300):
    """The SOA record lines of the test zones, for negative answers."""
    soas = {
        "example.net.": "example.net. {ttl} IN SOA ns1.example.net. hostmaster.example.net. 2024010101 7200 3600 1209600 300",
        "child.example.net.": "child.example.net. {ttl} IN SOA ns1.child.example.net. hostmaster.child.example.net. 7 7200 3600 1209600 600",
        "example.com.": "example.com. {ttl} IN SOA ns1.example.com. hostmaster.example.com. 2024061501 7200 3600 1209600 300",
    }
    return soas[zone].format(ttl=ttl)


# --------------------------------------------------------------------------
# servers

def terminate(proc, timeout):
    """SIGTERM proc if it still runs, SIGKILL it after timeout; waits for it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


class ServerFailed(Exception):
    pass


class DnsServer:
    """One runwayd or knotd process serving zones from its own folder."""

    def __init__(self, kind: str, workdir: Path, zones=None, *, port=None, nsid=NSID,
                 edns_udp_size=EDNS_UDP_SIZE, idle_timeout=IDLE_TIMEOUT, workers=2,
                 listen_v6=None, extra_files=()):
        assert kind in ("runway", "knot"), kind
        self.kind = kind
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.zones = list(STANDARD_ZONES if zones is None else zones)
        self.port = port or free_port()
        self.nsid = nsid
        self.edns_udp_size = edns_udp_size
        self.idle_timeout = idle_timeout
        self.workers = workers
        self.listen_v6 = HAVE_V6 if listen_v6 is None else listen_v6
        self.proc = None
        self.log_path = self.workdir / "server.log"
        self.config_path = self.workdir / ("runway.yaml" if kind == "runway" else "knot.conf")
        self._log_file = None
        for _, zfile, extra in self.zones:
            self.install_file(zfile)
            for f in extra:
                self.install_file(f)
        for f in extra_files:
            self.install_file(f)

    # ---- files
    def install_file(self, src, name=None):
        src = Path(src)
        dst = self.workdir / (name or src.name)
        shutil.copyfile(src, dst)
        return dst

    def zone_path(self, zone: str) -> Path:
        for name, zfile, _ in self.zones:
            if name == zone:
                return self.workdir / Path(zfile).name
        raise KeyError(zone)

    def write_config(self):
        if self.kind == "runway":
            self.config_path.write_text(self.runway_config())
        else:
            self.config_path.write_text(self.knot_config())

    def runway_config(self) -> str:
        listen = [f'"127.0.0.1:{self.port}"'] + ([f'"[::1]:{self.port}"'] if self.listen_v6 else [])
        lines = [
            "server:",
            f"  listen: [{', '.join(listen)}]",
            f"  workers: {self.workers}",
            f"  edns_udp_size: {self.edns_udp_size}",
        ]
        if self.nsid:
            lines.append(f'  nsid: "{self.nsid}"')
        lines += ["tcp:", f"  idle_timeout: {self.idle_timeout}s", "zones:"]
        for name, zfile, _ in self.zones:
            lines += [f"  - name: {name}", f"    file: {Path(zfile).name}"]
        return "\n".join(lines) + "\n"

    def knot_config(self) -> str:
        d = self.workdir
        (d / "knot-db").mkdir(exist_ok=True)
        lines = [
            "server:",
            f"    rundir: {d}",
            f"    listen: 127.0.0.1@{self.port}",
        ]
        if self.listen_v6:
            lines.append(f"    listen: ::1@{self.port}")
        lines += [
            "    udp-workers: 1",
            "    tcp-workers: 1",
            "    background-workers: 1",
            f"    tcp-idle-timeout: {self.idle_timeout}",
            f"    udp-max-payload: {self.edns_udp_size}",
        ]
        # knotd sends its hostname as NSID when the option is absent;
        # an empty value disables it, like an absent nsid in runway.yaml.
        lines.append(f'    nsid: "{self.nsid or ""}"')
        lines += [
            "database:",
            f"    storage: {d / 'knot-db'}",
            "log:",
            "  - target: stderr",
            "    any: info",
            "template:",
            "  - id: default",
            f"    storage: {d}",
            "    zonefile-sync: -1",       # never write the zone file back
            "    zonefile-load: whole",    # always read the whole file
            "    journal-content: none",   # no journal: the file is the truth
            "    semantic-checks: off",
            "zone:",
        ]
        for name, zfile, _ in self.zones:
            lines += [f"  - domain: {name}", f"    file: {Path(zfile).name}"]
        return "\n".join(lines) + "\n"

    # ---- process
    def command(self):
        if self.kind == "runway":
            return [str(RUNWAYD), "-c", str(self.config_path)]
        return [KNOTD, "-c", str(self.config_path)]

    def start(self, wait=True, timeout=READY_TIMEOUT):
        exe = RUNWAYD if self.kind == "runway" else KNOTD
        if exe is None or not os.path.exists(exe):
            raise ServerFailed(f"{self.kind} binary not found ({exe}); "
                               + ("build it with `make`" if self.kind == "runway" else "apt-get install knot"))
        self.write_config()
        self._log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), cwd=self.workdir, stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready(timeout)
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=40) -> str:
        return "\n".join(self.log().splitlines()[-n:])

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def soa_serial(self, zone, timeout=0.5):
        """The SOA serial the server gives for zone, or None."""
        try:
            wire = udp_exchange(make_query(zone, "SOA").to_wire(), self.port, timeout=timeout)
        except OSError:
            return None
        if wire is None:
            return None
        try:
            m = dns.message.from_wire(wire)
        except Exception:
            return None
        if m.rcode() != dns.rcode.NOERROR or not (m.flags & dns.flags.AA):
            return None
        for rrset in m.answer:
            if rrset.rdtype == dns.rdatatype.SOA:
                return rrset[0].serial
        return None

    def wait_ready(self, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        pending = [z for z, _, _ in self.zones]
        while pending:
            if not self.alive():
                raise ServerFailed(f"{self.kind} exited with {self.proc.returncode} before answering;"
                                   f" log:\n{self.log_tail()}")
            if self.soa_serial(pending[0], timeout=0.2) is not None:
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise ServerFailed(f"{self.kind} did not answer SOA {pending[0]} within {timeout}s;"
                                   f" log:\n{self.log_tail()}")
            time.sleep(0.05)  # poll interval of a readiness check, not synchronisation

    def wait_serial(self, zone, serial, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            got = self.soa_serial(zone, timeout=0.2)
            if got == serial:
                return
            if not self.alive():
                raise ServerFailed(f"{self.kind} died; log:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise ServerFailed(f"{zone} serial is {got}, not {serial}, after {timeout}s; "
                                   f"log:\n{self.log_tail()}")
            time.sleep(0.05)

    def wait_log(self, pattern, timeout=READY_TIMEOUT, start=0):
        """Wait until the log (from byte offset start) matches regex
        pattern; returns the match. Polls the log file (bounded)."""
        import re
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            text = self.log()[start:]
            m = rx.search(text)
            if m:
                return m
            if not self.alive():
                raise ServerFailed(f"{self.kind} died; log:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise ServerFailed(f"log did not match {pattern!r} within {timeout}s; log:\n{self.log_tail()}")
            time.sleep(0.05)

    def log_size(self) -> int:
        return len(self.log())

    def write_zone(self, zone, text):
        """Replace a zone file atomically, with an mtime later than before
        (servers may look at mtime to decide what to reload)."""
        path = self.zone_path(zone)
        old = path.stat().st_mtime if path.exists() else time.time()
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        mtime = max(time.time(), old + 1.0)
        os.utime(tmp, (mtime, mtime))
        os.replace(tmp, path)
        return path

    def reload(self):
        """Reload config and zones: SIGHUP (runwayd and knotd both reload on it)."""
        self.proc.send_signal(signal.SIGHUP)

    def stop(self, timeout=5.0):
        if self.proc is None:
            return None
        terminate(self.proc, timeout)
        if self._log_file:
            self._log_file.close()
            self._log_file = None
        return self.proc.returncode

    # ---- queries
    def host(self, v6=False):
        return "::1" if v6 else "127.0.0.1"

    def query(self, qname, qtype="A", rdclass="IN", *, tcp=False, v6=False, timeout=3.0, **kw):
        """Ask one question; returns the parsed reply (with .wire) or None on
        a UDP timeout. Keywords go to make_query (edns, payload, nsid, ...)."""
        q = make_query(qname, qtype, rdclass, **kw)
        return self.send(q.to_wire(), tcp=tcp, v6=v6, timeout=timeout)

    def send(self, wire: bytes, *, tcp=False, v6=False, timeout=3.0):
        if tcp:
            reply = tcp_exchange(wire, self.port, self.host(v6), timeout)
        else:
            reply = udp_exchange(wire, self.port, self.host(v6), timeout)
        return None if reply is None else parse(reply)

    def send_raw(self, wire: bytes, *, tcp=False, timeout=3.0):
        """Send bytes, return reply bytes (None on UDP timeout)."""
        if tcp:
            return tcp_exchange(wire, self.port, self.host(), timeout)
        return udp_exchange(wire, self.port, self.host(), timeout)

    def __repr__(self):
        return f"<{self.kind} on port {self.port}>"


def run_tool(args, timeout=20, cwd=None):
    """Run build/runway with args; returns CompletedProcess (text)."""
    if not RUNWAY.exists():
        raise ServerFailed(f"{RUNWAY} not found; build it with `make`")
    return subprocess.run([str(RUNWAY)] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, stdin=subprocess.DEVNULL)


def dnsperf_stats(out: str) -> dict:
    """dnsperf's summary as numbers: sent, completed, lost, qps, rcodes (the
    "Response codes:" line as text) and rcode_counts ({"NOERROR": n, ...})."""
    stats = {}
    for key, pat in (("sent", r"Queries sent:\s+(\d+)"),
                     ("completed", r"Queries completed:\s+(\d+)"),
                     ("lost", r"Queries lost:\s+(\d+)"),
                     ("qps", r"Queries per second:\s+([\d.]+)")):
        m = re.search(pat, out)
        assert m, f"dnsperf output lacks {key}:\n{out}"
        stats[key] = float(m.group(1))
    m = re.search(r"Response codes:\s+(.*)", out)
    assert m, out
    stats["rcodes"] = m.group(1).strip()
    stats["rcode_counts"] = {k: int(v) for k, v in re.findall(r"([A-Z]+) (\d+)", stats["rcodes"])}
    return stats


class DnsperfLoad:
    """A bounded dnsperf load in the background (-l seconds, -Q queries/s) on
    loopback, as a context manager that kills it if the test fails first:

        with DnsperfLoad(port, qfile, seconds=10, qps=2000) as load:
            ...                         # act while the load runs
            stats = load.finish("the last change")
    """

    def __init__(self, port, qfile, *, seconds, qps, clients=4, timeout=5, extra=()):
        self.seconds = seconds
        self.proc = subprocess.Popen(
            ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(qfile),
             "-l", str(seconds), "-Q", str(qps), "-c", str(clients), "-t", str(timeout),
             *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.out = ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        """Kill dnsperf if it still runs (a test that failed half-way)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def finish(self, what: str) -> dict:
        """Check that the load still ran after `what` (else the test proves
        nothing), wait for dnsperf's end and return its dnsperf_stats()."""
        assert self.proc.poll() is None, f"dnsperf finished before {what}: raise its duration"
        self.out, _ = self.proc.communicate(timeout=self.seconds + 30)
        assert self.proc.returncode == 0, self.out
        return dnsperf_stats(self.out)
