# SPDX-License-Identifier: GPL-3.0-or-later
"""Zone-transfer peers for the interoperability tests (test_xfr_interop.py)
and bench/xfr.py: Knot DNS (knotd), NSD, BIND 9 (named) and runwayd, each
started as a plain process on a loopback high port, in a folder of its own
(config, zone files, journal, log), as a primary of a zone or as a
secondary of a given primary, with TSIG.

    key = TsigKey.generate("xfr.")
    p = RunwayPeer(tmp / "rw")                       # or KnotPeer, BindPeer
    p.add_zone(Zone("example.com.", text=ZONE, notify=[...], allow_transfer=[Acl("127.0.0.0/8", key)]))
    s = KnotPeer(tmp / "knot")                       # or NsdPeer, BindPeer, RunwayPeer
    s.add_zone(Zone("example.com.", primaries=[p.remote(key)]))
    p.notify_to(s, key)   # before start: adds s to p's notify list for every zone
    with Peers() as peers:                           # stops all of them on any exit
        peers.start(p, s)                            # each returns once it answers
        s.wait_serial("example.com.", 2024010101, timeout=10)
        s.log_since(mark)                            # "IXFR" lines, etc.

The configuration text of each server comes from one template function per
server and role (knot_conf(), nsd_conf(), named_conf(), runway_conf()):
docs/transfers.md shows the same templates rendered with its example
values, and test_xfr_interop.py checks that the docs and these agree.

Only loopback is used; every wait is a bounded poll; every process gets
PR_SET_PDEATHSIG (it dies with the test process even on SIGKILL) and is
stopped by Peers / the fixtures on any exit.
"""
from __future__ import annotations

import base64
import ctypes
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring

import dnsharness as h

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
KNOTC = shutil.which("knotc") or "/usr/sbin/knotc"
NSD = shutil.which("nsd") or "/usr/sbin/nsd"
NSD_CONTROL = shutil.which("nsd-control") or "/usr/sbin/nsd-control"
NAMED = shutil.which("named") or "/usr/sbin/named"
NSUPDATE = shutil.which("nsupdate") or "/usr/bin/nsupdate"
HOST = "127.0.0.1"
READY_TIMEOUT = 15.0


def have(kind: str) -> bool:
    exe = {"knot": KNOTD, "nsd": NSD, "bind": NAMED, "runway": str(h.RUNWAYD)}[kind]
    return os.access(exe, os.X_OK)


# --------------------------------------------------------------------------
# configuration objects

@dataclass(frozen=True)
class TsigKey:
    name: str                  # absolute: "xfr."
    secret: str                # base64
    algorithm: str = "hmac-sha256"

    @staticmethod
    def generate(name="xfr.", algorithm="hmac-sha256", nbytes=32) -> "TsigKey":
        return TsigKey(name, base64.b64encode(os.urandom(nbytes)).decode(), algorithm)

    @property
    def bare(self) -> str:
        """The name without the final dot (BIND and NSD configs)."""
        return self.name.rstrip(".") or "."

    def keyring(self):
        return dns.tsigkeyring.from_text({self.name: (self.algorithm, self.secret)})

    def dns_key(self) -> dns.tsig.Key:
        return dns.tsig.Key(self.name, self.secret, self.algorithm)


@dataclass(frozen=True)
class Remote:
    """Another server: where it listens and the key that signs what goes to
    it (None: unsigned)."""
    host: str
    port: int
    key: TsigKey | None = None

    @property
    def addr(self) -> str:                  # runway's "127.0.0.1:53"
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Acl:
    """Who may transfer (allow_transfer): an address or prefix, and the key
    its requests must be signed with (None: any, signed or not)."""
    prefix: str
    key: TsigKey | None = None


@dataclass
class Zone:
    name: str                                   # absolute, "example.com."
    text: str | None = None                     # zone file content (a primary)
    primaries: list = field(default_factory=list)       # [Remote]: a secondary of these
    notify: list = field(default_factory=list)          # [Remote]: NOTIFY these
    allow_transfer: list = field(default_factory=list)  # [Acl]
    extra: dict = field(default_factory=dict)           # server-specific extra settings

    @property
    def bare(self) -> str:
        return self.name.rstrip(".") or "."

    @property
    def file(self) -> str:
        return f"{self.bare}.zone"

    @property
    def secondary(self) -> bool:
        return bool(self.primaries)


def keys_of(zones) -> list:
    """Every distinct key the zones use, in first-use order."""
    seen = []
    for z in zones:
        for k in [r.key for r in z.primaries + z.notify] + [a.key for a in z.allow_transfer]:
            if k is not None and k not in seen:
                seen.append(k)
    return seen


# --------------------------------------------------------------------------
# configuration templates (docs/transfers.md shows these, rendered)

def knot_conf(zones, *, listen, workdir=None, control=None, log="stderr", templates="") -> str:
    """knot.conf for zones (primary or secondary each). workdir None: the
    server-wide lines are left out (the doc's snippet)."""
    out = []
    if workdir is not None:
        out += ["server:",
                f"    rundir: {workdir}",
                f"    listen: {listen}",
                "    udp-workers: 1",
                "    tcp-workers: 2",
                "    background-workers: 1",
                "log:",
                f"  - target: {log}",
                "    any: info",
                "database:",
                f"    storage: {workdir}/db"]
        if control:
            out += ["control:", f"    listen: {control}"]
    keys = keys_of(zones)
    if keys:
        out.append("key:")
        for k in keys:
            out += [f"  - id: {k.name}", f"    algorithm: {k.algorithm}", f"    secret: {k.secret}"]
    remotes, acls = [], []
    zlines = []
    for z in zones:
        zl = [f"  - domain: {z.name}"]
        if not z.extra.get("nofile"):
            zl.append(f"    file: {z.file}")
        settings = {}
        if z.secondary:
            ids = []
            for i, r in enumerate(z.primaries):
                rid = f"{z.bare}_primary{i + 1}"
                remotes.append((rid, r))
                ids.append(rid)
                acls.append((f"{z.bare}_notify{i + 1}", r.host, r.key, "notify"))
            zl.append(f"    master: [{', '.join(ids)}]")
            zl.append(f"    acl: [{', '.join(a[0] for a in acls if a[0].startswith(z.bare + '_notify'))}]")
            settings["zonefile-sync"] = 0       # keep the copy in its file at once
        else:
            if z.notify:
                ids = []
                for i, r in enumerate(z.notify):
                    rid = f"{z.bare}_secondary{i + 1}"
                    remotes.append((rid, r))
                    ids.append(rid)
                zl.append(f"    notify: [{', '.join(ids)}]")
            ids = []
            for i, a in enumerate(z.allow_transfer):
                aid = f"{z.bare}_transfer{i + 1}"
                acls.append((aid, a.prefix, a.key, "transfer"))
                ids.append(aid)
            if ids:
                zl.append(f"    acl: [{', '.join(ids)}]")
            settings.update({"zonefile-load": "difference", "serial-policy": "increment"})
        settings.update(z.extra.get("knot", {}))
        for k, v in settings.items():
            zl.append(f"    {k}: {v}")
        zlines += zl
    if remotes:
        out.append("remote:")
        for rid, r in remotes:
            out += [f"  - id: {rid}", f"    address: {r.host}@{r.port}"]
            if r.key:
                out.append(f"    key: {r.key.name}")
    if acls:
        out.append("acl:")
        for aid, addr, key, action in acls:
            out += [f"  - id: {aid}", f"    address: {addr}"]
            if key:
                out.append(f"    key: {key.name}")
            out.append(f"    action: {action}")
    if workdir is not None:
        out += ["template:", "  - id: default", f"    storage: {workdir}",
                "    zonefile-sync: -1", "    journal-content: changes"]
        out += templates.splitlines()
    out.append("zone:")
    out += zlines
    return "\n".join(out) + "\n"


def nsd_conf(zones, *, listen_port, workdir=None, control=None) -> str:
    """nsd.conf (NSD serves secondaries here; primaries with provide-xfr)."""
    out = []
    if workdir is not None:
        out += ["server:",
                f"    ip-address: {HOST}@{listen_port}",
                "    do-ip6: no",
                "    server-count: 1",
                '    username: ""',
                '    chroot: ""',
                f'    zonesdir: "{workdir}"',
                '    database: ""',
                f'    zonelistfile: "{workdir}/zone.list"',
                f'    xfrdfile: "{workdir}/xfrd.state"',
                f'    xfrdir: "{workdir}"',
                f'    pidfile: "{workdir}/nsd.pid"',
                f'    logfile: "{workdir}/server.log"',
                f'    cookie-secret-file: "{workdir}/cookiesecrets.txt"',
                "    verbosity: 3",
                "    zonefiles-write: 1",
                "    rrl-ratelimit: 0",
                "    rrl-size: 1",
                "    tcp-count: 20",
                "    xfrd-reload-timeout: 0",      # apply a transfer at once (default: 1 s)
                "remote-control:"]
        if control:
            out += ["    control-enable: yes", f'    control-interface: "{control}"']
        else:
            out.append("    control-enable: no")
    for k in keys_of(zones):
        out += ["key:", f"    name: {k.name}", f"    algorithm: {k.algorithm}", f'    secret: "{k.secret}"']
    for z in zones:
        out += ["zone:", f"    name: {z.name}", f'    zonefile: "{z.file}"']
        for r in z.primaries:
            out.append(f"    request-xfr: {r.host}@{r.port} {r.key.name if r.key else 'NOKEY'}")
            out.append(f"    allow-notify: {r.host} {r.key.name if r.key else 'NOKEY'}")
        for r in z.notify:
            out.append(f"    notify: {r.host}@{r.port} {r.key.name if r.key else 'NOKEY'}")
        for a in z.allow_transfer:
            out.append(f"    provide-xfr: {a.prefix} {a.key.name if a.key else 'NOKEY'}")
    return "\n".join(out) + "\n"


def named_conf(zones, *, listen_port, workdir=None) -> str:
    """named.conf (BIND 9.18) for zones, primary or secondary each."""
    out = []
    if workdir is not None:
        out += ["options {",
                f'    directory "{workdir}";',
                f'    pid-file "{workdir}/named.pid";',
                f'    session-keyfile "{workdir}/session.key";',
                f'    managed-keys-directory "{workdir}";',
                f"    listen-on port {listen_port} {{ {HOST}; }};",
                "    listen-on-v6 { none; };",
                "    recursion no;",
                "    dnssec-validation no;",
                "    notify explicit;",          # only also-notify: never the NS names
                "    allow-transfer { none; };",
                "    min-refresh-time 2;",
                "    min-retry-time 2;",
                "};",
                "controls { };"]
    for k in keys_of(zones):
        out += [f'key "{k.name}" {{', f"    algorithm {k.algorithm};", f'    secret "{k.secret}";', "};"]
    for z in zones:
        out.append(f'zone "{z.name}" {{')
        if z.secondary:
            prim = " ".join(f"{r.host} port {r.port}" + (f' key "{r.key.name}"' if r.key else "") + ";"
                            for r in z.primaries)
            out += ["    type secondary;",
                    f'    file "{z.file}";',
                    "    masterfile-format text;",
                    f"    primaries {{ {prim} }};"]
        else:
            out += ["    type primary;", f'    file "{z.file}";', "    ixfr-from-differences yes;",
                    "    notify-delay 0;"]
            if z.notify:
                nt = " ".join(f"{r.host} port {r.port}" + (f' key "{r.key.name}"' if r.key else "") + ";"
                              for r in z.notify)
                out.append(f"    also-notify {{ {nt} }};")
            if z.allow_transfer:
                at = " ".join((f'key "{a.key.name}";' if a.key else f"{a.prefix};") for a in z.allow_transfer)
                out.append(f"    allow-transfer {{ {at} }};")
        for line in z.extra.get("bind", []):
            out.append(f"    {line}")
        out.append("};")
    return "\n".join(out) + "\n"


def _remote_yaml(r: Remote) -> str:
    return f'{{ address: "{r.addr}"' + (f", key: {r.key.name} }}" if r.key else " }")


def runway_conf(zones, *, listen=None, extra="") -> str:
    """runway.yaml for zones (issue #10's shape: tsig_keys, zones with
    notify, allow_transfer, primaries). listen None: the doc's snippet."""
    out = []
    if listen is not None:
        out += ["server:", f'  listen: ["{listen}"]', "  workers: 1"]
    keys = keys_of(zones)
    if keys:
        out.append("tsig_keys:")
        for k in keys:
            out.append(f'  {k.name}: {{ algorithm: {k.algorithm}, secret: "{k.secret}" }}')
    out.append("zones:")
    for z in zones:
        out += [f"  - name: {z.name}", f"    file: {z.file}"]
        if z.primaries:
            out.append("    primaries:")
            out += [f"      - {_remote_yaml(r)}" for r in z.primaries]
        if z.notify:
            out.append("    notify:")
            out += [f"      - {_remote_yaml(r)}" for r in z.notify]
        if z.allow_transfer:
            out.append("    allow_transfer:")
            for a in z.allow_transfer:
                m = "any" if a.prefix in ("any", "0.0.0.0/0") else f'"{a.prefix}"'
                out.append(f"      - {{ match: [{m}]" + (f", key: {a.key.name} }}" if a.key else " }"))
        for k, v in z.extra.get("runway", {}).items():
            out.append(f"    {k}: {v}")
    text = "\n".join(out) + "\n"
    return text + extra


# --------------------------------------------------------------------------
# processes

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when the test process dies, so no
    server outlives a killed pytest."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Peer:
    """One DNS server process in its own folder, serving zones as primary or
    secondary. Subclasses write the config and give the command line."""
    kind = "?"
    exe = "?"

    def __init__(self, workdir, *, port=None, name=None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or h.free_port()
        self.name = name or self.kind
        self.zones: list[Zone] = []
        self.proc = None
        self.log_path = self.workdir / "server.log"
        self._log_file = None
        self.preexec = None      # also run in the child before exec (bench: CPU budget)
        self.ready_timeout = READY_TIMEOUT

    # ---- set-up
    def add_zone(self, zone: Zone) -> Zone:
        self.zones.append(zone)
        if zone.text is not None:
            self.write_zone_file(zone.name, zone.text)
        return zone

    def zone(self, name) -> Zone:
        for z in self.zones:
            if z.name == name:
                return z
        raise KeyError(name)

    def remote(self, key=None, host=HOST) -> Remote:
        """This server as a remote of another's config."""
        return Remote(host, self.port, key)

    def zone_path(self, name) -> Path:
        return self.workdir / self.zone(name).file

    def write_zone_file(self, name, text):
        """Replace the zone file atomically, with an mtime later than the
        last (servers compare mtimes at reload)."""
        path = self.workdir / Zone(name).file
        old = path.stat().st_mtime if path.exists() else time.time() - 10
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        mtime = max(time.time(), old + 1.0)
        os.utime(tmp, (mtime, mtime))
        os.replace(tmp, path)
        return path

    def config_text(self) -> str:
        raise NotImplementedError

    def command(self) -> list:
        raise NotImplementedError

    def write_config(self):
        self.config_path.write_text(self.config_text())

    # ---- process
    def start(self, wait=True, timeout=READY_TIMEOUT):
        if not have(self.kind):
            raise h.ServerFailed(f"{self.kind}: {self.exe} is not installed")
        self.write_config()
        self._log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), cwd=self.workdir, stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=subprocess.STDOUT,
                                     preexec_fn=self._preexec)
        if wait:
            self.wait_ready(max(timeout, self.ready_timeout))
        return self

    def _preexec(self):
        _die_with_parent()
        if self.preexec:
            self.preexec()

    def install_zone_file(self, name, src):
        """Serve zone name from a copy of file src (a hard link when it can:
        the bench's large zones)."""
        dst = self.workdir / Zone(name).file
        if dst.exists():
            dst.unlink()
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
        return dst

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after timeout. Returns the exit status."""
        if self.proc is None:
            return None
        h.terminate(self.proc, timeout)
        if self._log_file:
            self._log_file.close()
            self._log_file = None
        return self.proc.returncode

    def restart(self, timeout=READY_TIMEOUT):
        self.stop()
        return self.start(timeout=timeout)

    def reload(self):
        """Re-read the configuration and the zone files (SIGHUP everywhere;
        subclasses may use their control tool instead)."""
        self.proc.send_signal(signal.SIGHUP)

    def pid(self) -> int:
        return self.proc.pid

    def flush(self):
        """Write transferred zones to their files now (before a stop that
        must keep them); servers that write at once do nothing."""

    def wait_ready(self, timeout=READY_TIMEOUT):
        """Returns once the server answers: primaries their zones' SOA with
        AA, and every server some answer for each secondary zone (whatever
        the rcode: the zone may not be transferred yet; Knot refuses
        queries to catalog zones: extra["ready"] = "any")."""
        deadline = time.monotonic() + timeout
        for z in self.zones:
            while True:
                if not self.alive():
                    raise h.ServerFailed(f"{self.name} exited with {self.proc.returncode}; "
                                         f"log:\n{self.log_tail()}")
                if z.secondary or z.extra.get("ready") == "any":
                    if self.answer(z.name, "SOA", timeout=0.2) is not None:
                        break
                elif self.soa_serial(z.name, timeout=0.2) is not None:
                    break
                if time.monotonic() > deadline:
                    raise h.ServerFailed(f"{self.name} did not answer {z.name} SOA within {timeout}s; "
                                         f"log:\n{self.log_tail()}")
                time.sleep(0.05)  # poll interval of a readiness check

    # ---- DNS
    def answer(self, qname, qtype="A", *, tcp=False, timeout=1.0, **kw):
        """The parsed reply to one question, or None (timeout, no listener)."""
        q = h.make_query(qname, qtype, **kw)
        try:
            if tcp:
                wire = h.tcp_exchange(q.to_wire(), self.port, HOST, timeout)
            else:
                wire = h.udp_exchange(q.to_wire(), self.port, HOST, timeout)
        except OSError:
            return None
        return None if wire is None else h.parse(wire)

    def soa_serial(self, zone, timeout=0.5):
        """The serial of zone's SOA as answered (NOERROR, AA), or None."""
        m = self.answer(zone, "SOA", timeout=timeout)
        if m is None or m.rcode() != dns.rcode.NOERROR or not m.flags & dns.flags.AA:
            return None
        for rrset in m.answer:
            if rrset.rdtype == dns.rdatatype.SOA:
                return rrset[0].serial
        return None

    def wait_serial(self, zone, serial, timeout=10.0) -> float:
        """Wait until zone's SOA serial is serial; returns the seconds it took."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        while True:
            got = self.soa_serial(zone, timeout=0.2)
            if got == serial:
                return time.monotonic() - t0
            if not self.alive():
                raise h.ServerFailed(f"{self.name} died; log:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise h.ServerFailed(f"{self.name}: {zone} serial is {got}, not {serial}, after "
                                     f"{timeout}s; log:\n{self.log_tail()}")
            time.sleep(0.01)

    def axfr(self, zone, key: TsigKey | None = None, timeout=10.0):
        """The zone's records by AXFR over TCP (dnspython), as a list of
        (name, ttl, rdtype, rdata text), SOA first."""
        q = dns.message.make_query(zone, "AXFR")
        if key:
            q.use_tsig(key.keyring(), key.name, algorithm=key.algorithm)
        out = []
        for m in dns.query.xfr(HOST, zone, port=self.port, timeout=timeout, lifetime=timeout,
                               keyring=key.keyring() if key else None,
                               keyname=key.name if key else None,
                               keyalgorithm=key.algorithm if key else dns.tsig.default_algorithm,
                               relativize=False):
            for rrset in m.answer:
                for rd in rrset:
                    out.append((rrset.name.to_text().lower(), rrset.ttl, rrset.rdtype, rd.to_text()))
        return out

    # ---- log
    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_mark(self) -> int:
        """A position in the log; log_since(mark) is what came after."""
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, mark: int) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=40) -> str:
        return "\n".join(self.log().splitlines()[-n:])

    def wait_log(self, pattern, *, since=0, timeout=10.0):
        """Wait until the log after since matches regex pattern; the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log_since(since))
            if m:
                return m
            if not self.alive():
                raise h.ServerFailed(f"{self.name} died; log:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise h.ServerFailed(f"{self.name}: log did not match {pattern!r} within {timeout}s;"
                                     f" log:\n{self.log_tail()}")
            time.sleep(0.02)

    # Transfers in, from this server's log: regex with the named groups
    # kind ("IXFR"/"AXFR", or what tells them apart) and bytes (optional).
    INCOMING = r"(?!)"

    def incoming(self, mark: int = 0) -> list:
        """The transfers in logged since mark: [("IXFR"|"AXFR", bytes or
        None)], in order."""
        out = []
        for m in re.finditer(self.INCOMING, self.log_since(mark)):
            d = m.groupdict()
            kind = self.transfer_kind(d.get("kind"))
            out.append((kind, int(d["bytes"]) if d.get("bytes") else None))
        return out

    def transfer_kind(self, text):
        return text

    def wait_transfers(self, direction: str, n: int, mark: int = 0, timeout=10.0) -> list:
        """incoming(mark) or outgoing(mark) once it lists at least n
        transfers (a server logs a transfer just after it serves the new
        version); what it lists after timeout otherwise."""
        fn = self.incoming if direction == "in" else self.outgoing
        deadline = time.monotonic() + timeout
        while True:
            got = fn(mark)
            if len(got) >= n or time.monotonic() > deadline:
                return got
            time.sleep(0.02)  # poll interval while a log line is due

    # Transfers out (this server as a primary), the same way.
    OUTGOING = r"(?!)"

    def outgoing(self, mark: int = 0) -> list:
        """The transfers out logged since mark: [("IXFR"|"AXFR", bytes)]."""
        return [(m.group("kind"), int(m.group("bytes")) if m.group("bytes") else None)
                for m in re.finditer(self.OUTGOING, self.log_since(mark))]

    def __repr__(self):
        return f"<{self.name} on {HOST}:{self.port}>"


class KnotPeer(Peer):
    kind, exe = "knot", KNOTD
    # "[example.com.] IXFR, incoming, remote 127.0.0.1@5300, finished,
    # 0.00 seconds, 1 messages, 253 bytes"
    INCOMING = (r"(?P<kind>[AI]XFR), incoming, remote [^,]+, finished, [\d.]+ seconds, "
                r"\d+ messages, (?P<bytes>\d+) bytes")
    OUTGOING = (r"(?P<kind>[AI]XFR), outgoing, remote [^,]+, finished, [\d.]+ seconds, "
                r"\d+ messages, (?P<bytes>\d+) bytes")

    def __init__(self, workdir, **kw):
        super().__init__(workdir, **kw)
        self.config_path = self.workdir / "knot.conf"
        self.control = self.workdir / "knot.sock"
        self.templates = ""      # more entries of template: (catalog members)

    def config_text(self):
        (self.workdir / "db").mkdir(exist_ok=True)
        return knot_conf(self.zones, listen=f"{HOST}@{self.port}", workdir=self.workdir,
                         control=self.control, templates=self.templates)

    def command(self):
        return [KNOTD, "-c", str(self.config_path)]

    def knotc(self, *args, timeout=20, check=True):
        r = subprocess.run([KNOTC, "-c", str(self.config_path), "-s", str(self.control), "-t", "10",
                            *[str(a) for a in args]],
                           capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise h.ServerFailed(f"knotc {' '.join(map(str, args))}: {r.stdout}{r.stderr}")
        return r.stdout

    def zone_set(self, zone, changes):
        """One transaction of knotc zone-set/zone-unset: changes is a list of
        ("set"|"unset", owner, ttl, type, rdata); the serial goes up by
        the zone's serial-policy."""
        self.knotc("zone-begin", zone)
        try:
            for op, owner, ttl, rtype, rdata in changes:
                if op == "set":
                    self.knotc("zone-set", zone, owner, ttl, rtype, *rdata.split())
                else:
                    self.knotc("zone-unset", zone, owner, rtype, *rdata.split())
            self.knotc("zone-commit", zone)
        except BaseException:
            self.knotc("zone-abort", zone, check=False)
            raise

    def reload(self):
        self.knotc("reload")


class NsdPeer(Peer):
    kind, exe = "nsd", NSD
    # NSD 4.6 does not log whether a transfer was incremental; it logs its
    # size when it applies it: "zone example.com. received update to serial
    # 2 at ... from 127.0.0.1@5300 TSIG verified with key xfr. of 253 bytes
    # in 3.6e-05 seconds". kind is None: tests compare the bytes with the
    # AXFR's (an IXFR of a small change is much smaller).
    INCOMING = r"zone \S+ received update to serial \d+ at .* of (?P<bytes>\d+) bytes"

    def __init__(self, workdir, **kw):
        super().__init__(workdir, **kw)
        self.config_path = self.workdir / "nsd.conf"
        self.control = self.workdir / "nsd.ctl"

    def config_text(self):
        return nsd_conf(self.zones, listen_port=self.port, workdir=self.workdir, control=self.control)

    def command(self):
        return [NSD, "-d", "-c", str(self.config_path)]

    def flush(self):
        # NSD writes transferred zones on a timer (zonefiles-write)
        self.nsd_control("write")

    def nsd_control(self, *args, timeout=20, check=True):
        r = subprocess.run([NSD_CONTROL, "-c", str(self.config_path), *map(str, args)],
                           capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise h.ServerFailed(f"nsd-control {' '.join(map(str, args))}: {r.stdout}{r.stderr}")
        return r.stdout


class BindPeer(Peer):
    kind, exe = "bind", NAMED
    # With -d 3 BIND says "transfer of 'example.com/IN' from 127.0.0.1#5300:
    # got incremental response" (or "nonincremental"), then "Transfer
    # completed: 1 messages, 5 records, 329 bytes, ...".
    INCOMING = (r"got (?P<kind>(?:non)?incremental) response(?:.*\n)*?.*Transfer completed: "
                r"\d+ messages, \d+ records, (?P<bytes>\d+) bytes")

    def transfer_kind(self, text):
        return "AXFR" if text == "nonincremental" else "IXFR"

    # "transfer of 'example.com/IN': IXFR ended: 1 messages, 5 records, 284 bytes"
    OUTGOING = r"transfer of '[^']+': (?P<kind>[AI]XFR) ended: \d+ messages, \d+ records, (?P<bytes>\d+) bytes"

    def __init__(self, workdir, **kw):
        super().__init__(workdir, **kw)
        self.config_path = self.workdir / "named.conf"

    def config_text(self):
        return named_conf(self.zones, listen_port=self.port, workdir=self.workdir)

    def command(self):
        # -g: foreground, every log line to stderr (our log file)
        return [NAMED, "-g", "-d", "3", "-4", "-n", "1", "-c", str(self.config_path)]

    def nsupdate(self, zone, key: TsigKey, lines, timeout=20):
        """A dynamic update (RFC 2136) through nsupdate, signed with key;
        lines like "update add x.example.com. 60 A 192.0.2.1"."""
        script = "\n".join([f"server {HOST} {self.port}", f"zone {zone}", *lines, "send", ""])
        r = subprocess.run([NSUPDATE, "-y", f"{key.algorithm}:{key.name}:{key.secret}"],
                           input=script, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise h.ServerFailed(f"nsupdate: {r.stdout}{r.stderr}")


class RunwayPeer(Peer):
    kind, exe = "runway", str(h.RUNWAYD)
    # xfr/secondary.c: "secondary: example.com.: IXFR from 127.0.0.1:5300:
    # serial 1 -> 2, 5 records, 1 messages, 373 bytes, 0 ms"
    INCOMING = (r"secondary: \S+: (?P<kind>[AI]XFR) from \S+: serial [^,]*, \d+ records, \d+ messages, "
                r"(?P<bytes>\d+) bytes")

    def __init__(self, workdir, *, api=False, extra="", **kw):
        super().__init__(workdir, **kw)
        self.config_path = self.workdir / "runway.yaml"
        self.extra = extra
        self.api_port = h.free_port() if api else None

    API_TOKEN = "xfr-test-token"

    def config_text(self):
        extra = self.extra
        if self.api_port:
            extra += ("api:\n"
                      f'  listen: "{HOST}:{self.api_port}"\n'
                      f"  tokens:\n    - {{ token: {self.API_TOKEN}, access: write }}\n"
                      "  data: state/\n")
        return runway_conf(self.zones, listen=f"{HOST}:{self.port}", extra=extra)

    def command(self):
        return [str(h.RUNWAYD), "-c", str(self.config_path)]

    def start(self, wait=True, timeout=READY_TIMEOUT):
        super().start(wait, timeout)
        if wait and self.api_port:
            deadline = time.monotonic() + timeout
            while self.call("GET", "/v1/zones", timeout=0.5)[0] != 200:
                if not self.alive() or time.monotonic() > deadline:
                    raise h.ServerFailed(f"runwayd API not up; log:\n{self.log_tail()}")
                time.sleep(0.05)  # poll interval of a readiness check
        return self

    def call(self, method, path, body=None, timeout=5.0):
        """One API request: (status, parsed JSON or text); (0, error) when
        nothing answers."""
        import json
        import urllib.error
        import urllib.request
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://{HOST}:{self.api_port}{path}", data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.API_TOKEN}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, text, ctype = r.status, r.read().decode(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            status, text, ctype = e.code, e.read().decode(), e.headers.get("Content-Type", "")
        except OSError as e:
            return 0, str(e)
        return status, (json.loads(text) if ctype.startswith("application/json") else text)

    def change(self, zone, changes):
        """POST /v1/zones/<zone>/changes; returns the new serial."""
        st, body = self.call("POST", f"/v1/zones/{zone}/changes", {"changes": changes})
        if st != 200:
            raise h.ServerFailed(f"API change {changes}: {st} {body}")
        return body["serial"]


KINDS = {"knot": KnotPeer, "nsd": NsdPeer, "bind": BindPeer, "runway": RunwayPeer}


class Peers:
    """Starts peers and stops every one of them on any exit (a context
    manager; the fixture `peers` in test_xfr_interop.py wraps it)."""

    def __init__(self):
        self.started: list[Peer] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()

    def start(self, *peers, wait=True):
        for p in peers:
            if p not in self.started:
                self.started.append(p)
            p.start(wait=wait)
        return peers[0] if len(peers) == 1 else peers

    def stop_all(self) -> list:
        """Stop everything; returns [(peer, status)] of those that were
        running and did not exit with 0."""
        bad = []
        for p in reversed(self.started):
            was = p.alive()
            rc = p.stop()
            if was and rc not in (0, None):
                bad.append((p, rc))
        return bad


def wait_all(peers, probe, *, timeout=10.0, interval=0.005) -> dict:
    """Poll every peer with probe(peer) -> bool until each is true; returns
    {peer.name: seconds until it first was}. Raises with the ones that
    never were."""
    t0 = time.monotonic()
    done = {}
    while len(done) < len(peers):
        for p in peers:
            if p.name not in done and probe(p):
                done[p.name] = time.monotonic() - t0
        if len(done) == len(peers):
            break
        if time.monotonic() - t0 > timeout:
            missing = [p for p in peers if p.name not in done]
            raise h.ServerFailed("not within %.1fs: %s\n%s" % (
                timeout, ", ".join(p.name for p in missing),
                "\n".join(f"--- {p.name}:\n{p.log_tail(15)}" for p in missing)))
        time.sleep(interval)
    return done
