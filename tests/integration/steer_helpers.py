# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the traffic-steering tests (test_steer_*.py).

    pool = BackendPool(["127.0.0.11", "127.0.0.12"])   # HTTP backends, one port
    pool["127.0.0.11"].set(status=503)                   # the check fails now
    pool["127.0.0.11"].stop(); ...; .start()             # killed and restarted
    tcp = TcpBackend("127.0.0.33")                       # for `type: tcp` checks
    make_mmdb(path, GEO_ROWS)                            # tests/geo/make_mmdb.pl
    write_networks(path, [...]); write_latency(path, [...])
    s = SteerServer(workdir, traffic_yaml, files={...}) # DnsServer + traffic config
    r = ask(s, "www.example.com", "A", subnet="198.51.100.0/24")
    addrs(r), ecs_scope(r)

Everything listens on and talks to loopback only (127.0.0.0/8, ::1). Every
wait is a bounded poll with a deadline; backends run as threads in the test
process (http.server), so a test can flip their answer or kill them.
"""
from __future__ import annotations

import http.server
import ipaddress
import random
import select
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import dns.edns
import dns.rdatatype

import dnsharness as h

GEO_SCRIPT = h.REPO / "tests" / "geo" / "make_mmdb.pl"
STEER_ZONE = h.ZONES_DIR / "steer.example.com.zone"
STEER_ZONES = [("example.com.", STEER_ZONE, [])]

# Ports for backends: below Linux's ephemeral range (32768-60999), so that
# the server's own outgoing connections never sit on them.
PORT_RANGE = (20000, 32000)


# Measurements worth keeping in the CI log: conftest.py prints them in a
# "traffic steering measurements" section at the end of every pytest run
# (captured output of passing tests is not shown without -s).
REPORT: list = []


def report(line: str):
    print("\n" + line)
    REPORT.append(line)


# --------------------------------------------------------------------------
# backends

class _Handler(http.server.BaseHTTPRequestHandler):
    backend = None  # set per server subclass

    def do_GET(self):  # noqa: N802 (http.server's naming)
        b = self.backend
        with b.lock:
            b.hits += 1
            status, body = b.status, b.body
            if self.path.split("?")[0] != b.path:
                status, body = 404, b"not found"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):  # quiet
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class Backend:
    """One HTTP backend on addr:port, answering `path` with `status` and
    `body` (200 "ok" at first). stop() closes the listening socket (new
    connections are refused: the backend is "killed"); start() listens again
    on the same address and port."""

    def __init__(self, addr: str, port: int, path: str = "/healthz", start: bool = True):
        self.addr, self.port, self.path = addr, port, path
        self.status, self.body = 200, b"ok"
        self.hits = 0
        self.lock = threading.Lock()
        self._srv = None
        self._thread = None
        if start:
            self.start()

    def set(self, status: int | None = None, body: str | bytes | None = None):
        with self.lock:
            if status is not None:
                self.status = status
            if body is not None:
                self.body = body.encode() if isinstance(body, str) else body

    def healthy(self):
        self.set(status=200, body="ok")

    @property
    def running(self) -> bool:
        return self._srv is not None

    def start(self):
        if self._srv is not None:
            return self
        handler = type("Handler", (_Handler,), {"backend": self})
        fam = socket.AF_INET6 if ":" in self.addr else socket.AF_INET
        srv_cls = type("Srv", (_Server,), {"address_family": fam})
        self._srv = srv_cls((self.addr, self.port), handler)
        self._thread = threading.Thread(target=self._srv.serve_forever, kwargs={"poll_interval": 0.02},
                                        name=f"backend-{self.addr}:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Close the listening socket; returns time.monotonic() right after."""
        if self._srv is None:
            return time.monotonic()
        srv, self._srv = self._srv, None
        srv.shutdown()          # serve_forever returns within its poll interval
        srv.server_close()
        t = time.monotonic()
        self._thread.join(timeout=5)
        return t

    def wait_hits(self, n: int, timeout: float = 10.0):
        """Wait until the backend has been asked at least n more times than
        now (readiness: the server's checks reach it)."""
        target = self.hits + n
        wait_until(lambda: self.hits >= target, timeout, f"{n} health probes at {self.addr}:{self.port}")

    def __repr__(self):
        return f"<http backend {self.addr}:{self.port} {self.status}{'' if self.running else ' stopped'}>"


class BackendPool:
    """HTTP backends on several loopback addresses, all on one port (a
    health check has one port for every address it probes)."""

    def __init__(self, addrs, path="/healthz", port=None, tries=60):
        self.addrs = list(addrs)
        last = None
        for _ in range(tries):
            p = port or random.randrange(*PORT_RANGE)
            made = []
            try:
                for a in self.addrs:
                    made.append(Backend(a, p, path))
            except OSError as e:
                last = e
                for b in made:
                    b.stop()
                if port:
                    break
                continue
            self.port = p
            self.by_addr = {b.addr: b for b in made}
            return
        raise RuntimeError(f"no common free port on {self.addrs}: {last}")

    def __getitem__(self, addr) -> Backend:
        return self.by_addr[addr]

    def __iter__(self):
        return iter(self.by_addr.values())

    def all_healthy(self):
        for b in self:
            b.healthy()
            b.start()

    def stop(self):
        for b in self:
            b.stop()


class TcpBackend:
    """A listener that accepts TCP connections and closes them (for
    `type: tcp` checks). stop()/start() like Backend."""

    def __init__(self, addr: str, port: int | None = None, tries=60):
        self.addr = addr
        self.port = port
        self.accepted = 0
        self._sock = None
        self._stop = threading.Event()
        self._thread = None
        for _ in range(tries):
            if port is None:
                self.port = random.randrange(*PORT_RANGE)
            try:
                self.start()
                return
            except OSError:
                if port is not None:
                    raise
        raise RuntimeError(f"no free TCP port on {addr}")

    @property
    def running(self):
        return self._sock is not None

    def start(self):
        if self._sock is not None:
            return self
        fam = socket.AF_INET6 if ":" in self.addr else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((self.addr, self.port))
            s.listen(64)
        except OSError:
            s.close()
            raise
        self._sock = s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(s, self._stop), daemon=True,
                                        name=f"tcp-backend-{self.addr}:{self.port}")
        self._thread.start()
        return self

    def _loop(self, s, stop):
        while not stop.is_set():
            try:
                r, _, _ = select.select([s], [], [], 0.02)
            except (OSError, ValueError):
                return
            if r:
                try:
                    c, _ = s.accept()
                except OSError:
                    continue
                self.accepted += 1
                c.close()

    def stop(self):
        if self._sock is None:
            return time.monotonic()
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
        self._sock = None
        return time.monotonic()


# --------------------------------------------------------------------------
# geo data, latency table

# The clients of the tests and where the test database puts them. Columns as
# tests/geo/make_mmdb.pl reads them: PREFIX CONTINENT COUNTRY SUBDIVISION LAT LON [CITY]
GEO_ROWS = [
    ("198.51.100.0/24", "NA", "US", "CA", 37.40, -122.10, "Mountain View"),
    ("100.64.3.0/24", "NA", "US", "VA", 39.04, -77.49, "Ashburn"),
    ("100.64.16.0/20", "NA", "US", "-", 37.751, -97.822, ""),   # country only, a /20
    ("100.64.9.0/24", "NA", "CA", "QC", 45.50, -73.57, "Montreal"),
    ("192.0.2.0/24", "EU", "DE", "HE", 50.11, 8.68, "Frankfurt am Main"),
    ("100.64.2.0/24", "EU", "IE", "L", 53.35, -6.26, "Dublin"),
    ("100.64.7.0/24", "EU", "GB", "ENG", 51.51, -0.13, "London"),
    ("100.64.12.0/24", "EU", "-", "-", "-", "-", ""),            # continent only
    ("100.64.1.0/24", "AS", "JP", "13", 35.68, 139.69, "Tokyo"),
    ("100.64.6.0/24", "AS", "SG", "-", 1.29, 103.85, "Singapore"),
    ("203.0.113.0/24", "OC", "AU", "NSW", -33.87, 151.21, "Sydney"),
    ("100.64.4.0/24", "SA", "BR", "SP", -23.55, -46.63, "Sao Paulo"),
    ("2001:db8:1::/48", "EU", "FR", "IDF", 48.86, 2.35, "Paris"),
    ("2001:db8:2::/48", "NA", "US", "OR", 45.84, -119.70, "Boardman"),
]

# Named clients (ECS networks) used by the tests.
CLIENT = {
    "US-CA": "198.51.100.0/24",
    "US-VA": "100.64.3.0/24",
    "US": "100.64.20.0/24",        # inside 100.64.16.0/20, no subdivision
    "CA-QC": "100.64.9.0/24",
    "DE": "192.0.2.0/24",
    "IE": "100.64.2.0/24",
    "GB": "100.64.7.0/24",
    "EU-only": "100.64.12.0/24",
    "JP": "100.64.1.0/24",
    "SG": "100.64.6.0/24",
    "AU": "203.0.113.0/24",
    "BR": "100.64.4.0/24",
    "FR6": "2001:db8:1::/48",
    "US-OR6": "2001:db8:2::/48",
    "NL-own": "100.65.5.0/24",     # in the own network 100.65.0.0/16 (networks.yaml)
    "unknown": "100.66.7.0/24",    # nowhere
}


def make_mmdb(out: Path, rows=GEO_ROWS) -> Path:
    """Write a test MaxMind database with tests/geo/make_mmdb.pl."""
    out = Path(out)
    text = "\n".join(" ".join(str(f) for f in row).rstrip() for row in rows) + "\n"
    src = out.with_suffix(".txt")
    src.write_text(text)
    r = subprocess.run(["perl", str(GEO_SCRIPT), str(out), str(src)], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise RuntimeError(f"make_mmdb.pl failed ({r.returncode}): {r.stderr}")
    return out


def write_networks(path: Path, entries) -> Path:
    """geoip.networks: a YAML list of {network, continent, country,
    subdivision, lat, lon} (keys left out when None)."""
    lines = []
    for e in entries:
        first = True
        for k in ("network", "continent", "country", "subdivision", "lat", "lon"):
            if e.get(k) is None:
                continue
            v = e[k]
            v = f'"{v}"' if isinstance(v, str) else v
            lines.append(f"{'- ' if first else '  '}{k}: {v}")
            first = False
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


def write_latency(path: Path, rows) -> Path:
    """latency.file: CSV rows client,endpoint,rtt_ms (client: CIDR or country)."""
    Path(path).write_text("".join(f"{c},{e},{rtt}\n" for c, e, rtt in rows))
    return Path(path)


def distance_km(lat1, lon1, lat2, lon2):
    """Great-circle distance (haversine, mean Earth radius)."""
    import math
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


# --------------------------------------------------------------------------
# the server

class SteerServer(h.DnsServer):
    """runwayd with the steering zone and extra top-level YAML (health_checks,
    endpoints, geoip, latency, traffic) appended to the generated config.
    files: {name: source path} copied into the server's folder."""

    def __init__(self, workdir, traffic_yaml: str, *, zones=None, files=None, **kw):
        self.traffic_yaml = traffic_yaml
        super().__init__("runway", workdir, STEER_ZONES if zones is None else zones, **kw)
        for name, src in (files or {}).items():
            if Path(src).resolve() != (self.workdir / name).resolve():
                shutil.copyfile(src, self.workdir / name)

    def runway_config(self) -> str:
        return super().runway_config() + self.traffic_yaml.strip("\n") + "\n"

    def start(self, wait=True, timeout=h.READY_TIMEOUT):
        if not h.RUNWAYD.exists():
            raise h.ServerFailed(f"{h.RUNWAYD} not found; build it with `make`")
        return super().start(wait, timeout)


# --------------------------------------------------------------------------
# queries

def ecs_option(subnet: str) -> dns.edns.ECSOption:
    net = ipaddress.ip_network(subnet, strict=False)
    return dns.edns.ECSOption(str(net.network_address), net.prefixlen)


def ask(srv, name, qtype="A", subnet=None, *, tcp=False, v6=False, timeout=3.0):
    """One query, with an ECS option for subnet ("198.51.100.0/24") when
    given. Returns the reply (asserting there is one)."""
    opts = [ecs_option(subnet)] if subnet else []
    r = srv.query(name, qtype, options=opts, tcp=tcp, v6=v6, timeout=timeout)
    assert r is not None, f"no reply to {name} {qtype} (subnet {subnet})"
    return r


def ecs_of(r):
    for o in (r.options or []):
        if o.otype == dns.edns.ECS:
            return o
    return None


def ecs_scope(r):
    o = ecs_of(r)
    assert o is not None, "reply has no ECS option:\n" + r.to_text()
    return o.scopelen


def addrs(r, rdtype=None) -> list:
    """Addresses in the answer section (A and AAAA, or rdtype only), sorted."""
    types = {dns.rdatatype.A, dns.rdatatype.AAAA} if rdtype is None else {dns.rdatatype.from_text(rdtype)}
    return sorted(rd.address for rrset in r.answer if rrset.rdtype in types for rd in rrset)


def answer_types(r) -> list:
    return [dns.rdatatype.to_text(rrset.rdtype) for rrset in r.answer]


def wait_until(pred, timeout=10.0, what="condition", interval=0.02):
    """Poll pred() until true (returns its value) or fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)  # poll interval, bounded by the deadline


def wait_answer(srv, name, want, qtype="A", subnet=None, timeout=10.0):
    """Poll until the sorted answer addresses equal `want` (a list)."""
    last = []

    def ok():
        r = srv.query(name, qtype, options=[ecs_option(subnet)] if subnet else [], timeout=1.0)
        last[:] = [None if r is None else addrs(r)]
        return r is not None and addrs(r) == sorted(want)

    try:
        wait_until(ok, timeout, f"{name} {qtype} ({subnet}) -> {want}")
    except AssertionError as e:
        raise AssertionError(f"{e}; last answer {last[0] if last else None}\n"
                             f"server log:\n{srv.log_tail(15)}") from None
