#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""runway steering benchmark: a static name against a steered one.

One runwayd serves example.com with a static name (static.example.com A)
and a traffic name (www.example.com) whose policy is three levels deep:
geolocation -> weighted -> failover, over endpoints with TCP health checks
(a listener in this process on 127.0.0.2..7, all up). Every query carries
an EDNS Client Subnet option (RFC 7871), from clients spread over several
countries and continents (test MaxMind database from
tests/geo/make_mmdb.pl). dnsperf runs alternate static and steered
(rounds x duration, each bounded); the script prints queries/s of each,
the ratio steered/static (target >= 0.90) and runwayd's CPU µs/query.

    /usr/bin/python3 bench/steer.py [--rounds 3] [--duration 5] [--port 15390]

Everything stays on 127.0.0.1. Per-query ECS options: dnsperf's -E sends
one fixed option per run, so the query files are written in dnsperf's
binary format (-B: each query as wire bytes with a 2-byte length), which
lets every query carry its own client subnet. See bench/README.md.
"""

import argparse
import ipaddress
import json
import os
import random
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out", "steer")
sys.path.insert(0, HERE)

import run as R  # noqa: E402  (bench/run.py: /proc accounting, dnsperf output, quiet wait)

ZONE = """$ORIGIN example.com.
$TTL 3600
@       SOA     ns1 hostmaster 1 7200 3600 1209600 300
@       NS      ns1
ns1     A       192.0.2.53
static  A       192.0.2.80
www     A       192.0.2.81
"""

# endpoint -> (address: a TCP-checked listener of this script, lat, lon)
ENDPOINTS = {
    "us-east": ("127.0.0.2", 39.04, -77.49),
    "us-west": ("127.0.0.3", 37.77, -122.42),
    "eu-west": ("127.0.0.4", 53.35, -6.26),
    "eu-central": ("127.0.0.5", 50.11, 8.68),
    "ap-ne": ("127.0.0.6", 35.68, 139.69),
    "ap-se": ("127.0.0.7", 1.29, 103.85),
}

# geolocation -> weighted -> failover: 3 levels above the endpoints
POLICY = """
      geolocation:
        US-CA:
          weighted:
            - { weight: 90, node: { failover: [us-west, us-east] } }
            - { weight: 10, node: { failover: [us-east, us-west] } }
        NA:
          weighted:
            - { weight: 80, node: { failover: [us-east, us-west] } }
            - { weight: 20, node: { failover: [us-west, us-east] } }
        DE:
          weighted:
            - { weight: 50, node: { failover: [eu-central, eu-west] } }
            - { weight: 50, node: { failover: [eu-west, eu-central] } }
        EU:
          weighted:
            - { weight: 70, node: { failover: [eu-west, eu-central] } }
            - { weight: 30, node: { failover: [eu-central, eu-west] } }
        AS:
          weighted:
            - { weight: 60, node: { failover: [ap-ne, ap-se] } }
            - { weight: 40, node: { failover: [ap-se, ap-ne] } }
        default:
          weighted:
            - { weight: 50, node: { failover: [us-east, eu-west] } }
            - { weight: 50, node: { failover: [eu-west, us-east] } }
"""

# Client networks the queries come from (ECS), by where the test database
# (make_mmdb.pl's built-in table) puts them. Wider networks are split into
# /24s so the per-worker location cache sees ~190 distinct clients.
CLIENT_NETS = [
    ("198.51.100.0/24", "US-CA"), ("100.64.3.0/24", "US-VA"), ("100.64.16.0/20", "US"),
    ("100.64.9.0/24", "CA-QC"), ("192.0.2.0/24", "DE"), ("100.64.2.0/24", "IE"),
    ("100.64.7.0/24", "GB"), ("100.64.10.0/24", "NL"), ("46.19.32.0/21", "CH"),
    ("100.64.1.0/24", "JP"), ("100.64.6.0/24", "SG"), ("100.64.8.0/24", "IN"),
    ("1.0.128.0/17", "TH"), ("203.0.113.0/24", "AU"), ("100.64.4.0/24", "BR"),
    ("100.64.5.0/24", "ZA"), ("41.203.64.0/20", "NG"), ("100.66.0.0/20", "unknown"),
    ("2001:db8:1::/48", "FR6"), ("2001:db8:2::/48", "US-OR6"), ("2001:db8:3::/48", "JP6"),
]


def client_subnets():
    """(address, source prefix length, label) per ECS client: /24 (IPv4), /56 (IPv6)."""
    out = []
    for net, label in CLIENT_NETS:
        n = ipaddress.ip_network(net)
        if n.version == 4:
            for sub in (n.subnets(new_prefix=24) if n.prefixlen < 24 else [n]):
                out.append((sub.network_address, 24, label))
        else:
            for i in range(4):   # a few /56s of the /48
                sub = ipaddress.ip_network((int(n.network_address) + (i << 72), 56))
                out.append((sub.network_address, 56, label))
    return out


# ---------------------------------------------------------------- wire

def qname_wire(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".") if l) + b"\0"


def ecs_option(addr, srclen):
    family = 1 if addr.version == 4 else 2
    nbytes = (srclen + 7) // 8
    data = struct.pack("!HBB", family, srclen, 0) + addr.packed[:nbytes]
    return struct.pack("!HH", 8, len(data)) + data


def query_wire(qid, name, qtype, addr, srclen):
    """A query with RD off and an OPT record (payload 1232) carrying ECS."""
    opt_rdata = ecs_option(addr, srclen)
    opt = b"\0" + struct.pack("!HHIH", 41, 1232, 0, len(opt_rdata)) + opt_rdata
    return (struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 1) + qname_wire(name)
            + struct.pack("!HH", R.QTYPES[qtype], 1) + opt)


def write_queries(path, name, clients, n, seed):
    """n queries for name, dnsperf -B format: each from a random network of
    CLIENT_NETS (equally often), and a random client subnet in it."""
    rnd = random.Random(seed)
    by_net = {}
    for c in clients:
        by_net.setdefault(c[2], []).append(c)
    nets = sorted(by_net)
    with open(path, "wb") as f:
        for i in range(n):
            group = by_net[nets[rnd.randrange(len(nets))]]
            addr, srclen, _ = group[rnd.randrange(len(group))]
            w = query_wire(i & 0xFFFF, name, "A", addr, srclen)
            f.write(struct.pack("!H", len(w)) + w)
    return path


def exchange(port, wire, timeout=1.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect(("127.0.0.1", port))
        s.send(wire)
        try:
            return s.recv(65535)
        except socket.timeout:
            return None


def answer_summary(msg):
    """(rcode, [A addresses], ECS scope or None) of a reply."""
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        off = R._skip_name(msg, off) + 4
    addrs, scope = [], None
    for i in range(an + ns + ar):
        off = R._skip_name(msg, off)
        rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        rd = msg[off + 10:off + 10 + rdlen]
        if i < an and rtype == 1:
            addrs.append(socket.inet_ntoa(rd))
        if rtype == 41:
            p = 0
            while p + 4 <= len(rd):
                code, olen = struct.unpack("!HH", rd[p:p + 4])
                if code == 8 and olen >= 4:
                    scope = rd[p + 7]
                p += 4 + olen
        off += 10 + rdlen
    return flags & 0xF, addrs, scope


# ---------------------------------------------------------------- health-check targets

class Listeners:
    """TCP listeners on each endpoint address (one port): the TCP health
    checks pass. Accept and close, in one thread, until stopped."""

    def __init__(self, addrs):
        self.stop_ev = threading.Event()
        self.accepted = {}
        for _ in range(50):
            port = random.randrange(20000, 32000)
            socks = []
            try:
                for a in addrs:
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    socks.append(s)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((a, port))
                    s.listen(64)
                    s.setblocking(False)
            except OSError:
                for s in socks:
                    s.close()
                continue
            self.port, self.socks = port, socks
            break
        else:
            raise RuntimeError("no free port for the health-check listeners")
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        import select
        while not self.stop_ev.is_set():
            r, _, _ = select.select(self.socks, [], [], 0.1)
            for s in r:
                try:
                    c, _ = s.accept()
                    c.close()
                except OSError:
                    continue
                a = s.getsockname()[0]
                self.accepted[a] = self.accepted.get(a, 0) + 1

    def close(self):
        self.stop_ev.set()
        self.thread.join(timeout=5)
        for s in self.socks:
            s.close()


# ---------------------------------------------------------------- setup

def write_config(d, port, hc_port):
    eps = "\n".join("  %s: { address: [%s], health_check: port, location: { lat: %s, lon: %s } }"
                    % (n, a, la, lo) for n, (a, la, lo) in ENDPOINTS.items())
    cfg = """server:
  listen: ["127.0.0.1:%d"]
  workers: 2
zones:
  - name: example.com.
    file: example.com.zone
health_checks:
  port: { type: tcp, port: %d, interval: 1s, timeout: 500ms }
endpoints:
%s
geoip:
  mmdb: test.mmdb
traffic:
  www.example.com.:
    ttl: 60
    policy:%s""" % (port, hc_port, eps, POLICY)
    with open(os.path.join(d, "runway.yaml"), "w") as f:
        f.write(cfg)
    with open(os.path.join(d, "example.com.zone"), "w") as f:
        f.write(ZONE)


def start_runwayd(binary, d, port, timeout=30):
    log = open(os.path.join(d, "server.log"), "w")
    proc = subprocess.Popen([binary, "-c", "runway.yaml"], cwd=d, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        R.wait_first_answer(proc, port, time.monotonic() + timeout)
    except Exception as e:
        stop_runwayd(proc, log)
        raise RuntimeError("runwayd did not answer: %s (log: %s)"
                           % (e, R.log_tail(os.path.join(d, "server.log"))))
    return proc, log


def stop_runwayd(proc, log):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    log.close()
    return proc.returncode


def check_answers(port, clients):
    """Before the load: every client gets NOERROR with one endpoint address
    for www (and an ECS scope > 0 where it is located), the static answer
    with scope 0."""
    valid = {a for a, _, _ in ENDPOINTS.values()}
    seen = {}
    for addr, srclen, label in clients[::7] + clients[-4:]:
        for name in ("www.example.com", "static.example.com"):
            msg = exchange(port, query_wire(1, name, "A", addr, srclen))
            if msg is None:
                raise RuntimeError("no answer to %s from %s/%d" % (name, addr, srclen))
            rcode, addrs, scope = answer_summary(msg)
            if rcode != 0 or len(addrs) != 1:
                raise RuntimeError("%s from %s/%d: rcode %d, answer %s" % (name, addr, srclen, rcode, addrs))
            if name == "static.example.com" and (addrs != ["192.0.2.80"] or scope != 0):
                raise RuntimeError("static answer %s scope %s" % (addrs, scope))
            if name == "www.example.com":
                if addrs[0] not in valid:
                    raise RuntimeError("www from %s/%d: %s is no endpoint" % (addr, srclen, addrs))
                seen.setdefault(label, set()).add((addrs[0], scope))
    return {k: sorted(v) for k, v in seen.items()}


# ---------------------------------------------------------------- load

def run_dnsperf(args, proc, qfile, duration):
    argv = ["dnsperf", "-B", "-s", "127.0.0.1", "-p", str(args.port), "-d", qfile,
            "-l", str(duration), "-c", str(args.clients), "-T", str(args.threads),
            "-q", str(args.outstanding), "-t", "2"]
    sys0, _ = R.system_ticks()
    before = R.cpu_ticks(R.proc_tree(proc.pid))
    ru0 = os.times()
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 40)
    wall = time.monotonic() - t0
    ru1 = os.times()
    after = R.cpu_ticks(R.proc_tree(proc.pid))
    sys1, _ = R.system_ticks()
    r = R.parse_dnsperf(p.stdout)
    if p.returncode != 0 or not r["completed"]:
        raise RuntimeError("dnsperf failed (%d): %s" % (p.returncode, (p.stderr or p.stdout)[-400:]))
    ticks = sum(v - before.get(pid, 0) for pid, v in after.items())
    r["server_cpu_s"] = ticks / R.CLK_TCK
    r["cpu_us_per_q"] = r["server_cpu_s"] * 1e6 / r["completed"]
    dnsperf_cpu = (ru1.children_user - ru0.children_user) + (ru1.children_system - ru0.children_system)
    cap = wall * (os.cpu_count() or 1)
    busy = (sys1 - sys0) / R.CLK_TCK
    r["other_cpu_pct"] = max(0.0, 100.0 * (busy - r["server_cpu_s"] - dnsperf_cpu) / cap)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="static+steered run pairs (default 3)")
    ap.add_argument("--duration", type=int, default=5, help="seconds per dnsperf run (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="unrecorded seconds of each before round 1")
    ap.add_argument("--port", type=int, default=15390, help="runwayd's port on 127.0.0.1")
    ap.add_argument("--runwayd", default=os.path.join(REPO, "build", "runwayd"))
    ap.add_argument("--queries", type=int, default=20000, help="queries per file (dnsperf loops)")
    ap.add_argument("--clients", type=int, default=16, help="dnsperf -c")
    ap.add_argument("--threads", type=int, default=1, help="dnsperf -T")
    ap.add_argument("--outstanding", type=int, default=100, help="dnsperf -q")
    ap.add_argument("--quiet-wait", type=float, default=60,
                    help="before each run wait up to this many s for an idle machine (0: don't)")
    ap.add_argument("--noisy-retries", type=int, default=2, help="repeat a run spoiled by other load")
    args = ap.parse_args()
    if args.rounds < 1 or args.duration < 1 or args.rounds * args.duration > 600:
        ap.error("need 1 <= rounds, 1 <= duration and rounds x duration <= 600 s")
    if not os.access(args.runwayd, os.X_OK):
        print("runwayd not found: %s (make)" % args.runwayd)
        return 2
    if not R.port_free(args.port):
        print("port %d is in use (--port)" % args.port)
        return 2

    os.makedirs(OUT, exist_ok=True)
    srvdir = os.path.join(OUT, "run")
    subprocess.run(["rm", "-rf", srvdir], check=True)
    os.makedirs(srvdir)
    mmdb = os.path.join(srvdir, "test.mmdb")
    subprocess.run(["perl", os.path.join(REPO, "tests", "geo", "make_mmdb.pl"), "--full", mmdb],
                   check=True, timeout=120)
    clients = client_subnets()
    qfiles = {
        "static": write_queries(os.path.join(OUT, "queries-static.bin"), "static.example.com",
                                clients, args.queries, 1),
        "steered": write_queries(os.path.join(OUT, "queries-steered.bin"), "www.example.com",
                                 clients, args.queries, 2),
    }
    print("%d client subnets (ECS on every query) from %d networks; %d queries per file"
          % (len(clients), len(CLIENT_NETS), args.queries), flush=True)

    listeners = Listeners([a for a, _, _ in ENDPOINTS.values()])
    write_config(srvdir, args.port, listeners.port)
    proc, log = start_runwayd(args.runwayd, srvdir, args.port)
    results = {"args": vars(args), "machine": R.machine_info(), "runs": {"static": [], "steered": []}}
    try:
        # readiness: the TCP checks have reached every endpoint (they count
        # as up before that too, so this only makes the runs alike)
        deadline = time.monotonic() + 10
        while len(listeners.accepted) < len(ENDPOINTS) and time.monotonic() < deadline:
            time.sleep(0.05)
        seen = check_answers(args.port, clients)
        print("answers check: " + "; ".join("%s %s" % (k, ",".join("%s/%s" % x for x in v))
                                            for k, v in sorted(seen.items())), flush=True)
        results["answers"] = seen
        if args.warmup > 0:
            for kind in ("static", "steered"):
                run_dnsperf(args, proc, qfiles[kind], args.warmup)
        for rnd in range(args.rounds):
            for kind in ("static", "steered"):
                for attempt in range(args.noisy_retries + 1):
                    if args.quiet_wait > 0:
                        R.wait_quiet(args.quiet_wait)
                    r = run_dnsperf(args, proc, qfiles[kind], args.duration)
                    if r["other_cpu_pct"] <= R.NOISY_PCT or attempt == args.noisy_retries:
                        break
                    print("  round %d %-7s discarded: other load %.0f%%; again"
                          % (rnd + 1, kind, r["other_cpu_pct"]), flush=True)
                results["runs"][kind].append(r)
                print("  round %d %-7s %9.0f qps  lat %.3f ms  runwayd %.2f us/q  lost %d  other load %.0f%%  %s"
                      % (rnd + 1, kind, r["qps"], r["lat_avg_s"] * 1e3, r["cpu_us_per_q"], r["lost"],
                         r["other_cpu_pct"], r.get("rcodes", {})), flush=True)
    finally:
        rc = stop_runwayd(proc, log)
        listeners.close()
    if rc != 0:
        print("runwayd exited with %s; log: %s" % (rc, R.log_tail(os.path.join(srvdir, "server.log"))))

    summ = {}
    for kind, runs in results["runs"].items():
        done = sum(r["completed"] for r in runs)
        summ[kind] = {"qps_median": statistics.median(r["qps"] for r in runs),
                      "cpu_us_per_q": sum(r["server_cpu_s"] for r in runs) * 1e6 / done,
                      "lost": sum(r["lost"] for r in runs),
                      "rcodes": runs[-1].get("rcodes", {})}
    ratio = summ["steered"]["qps_median"] / summ["static"]["qps_median"]
    cpu_ratio = summ["steered"]["cpu_us_per_q"] / summ["static"]["cpu_us_per_q"]
    # each round's steered run against the static run just before it: slow
    # drifts of the machine cancel out
    pairs = [b["qps"] / a["qps"] for a, b in zip(results["runs"]["static"], results["runs"]["steered"])]
    noisy = sum(r["other_cpu_pct"] > R.NOISY_PCT for k in results["runs"] for r in results["runs"][k])
    results["summary"] = dict(summ, qps_ratio=ratio, cpu_ratio=cpu_ratio, round_ratios=pairs,
                              noisy_runs_kept=noisy)
    print()
    print("%-8s %12s %16s %6s" % ("", "QPS (median)", "runwayd µs/query", "lost"))
    for kind in ("static", "steered"):
        s = summ[kind]
        print("%-8s %12.0f %16.2f %6d" % (kind, s["qps_median"], s["cpu_us_per_q"], s["lost"]))
    print("steered/static: QPS %.3f (target >= 0.90: %s), CPU per query %.3f"
          % (ratio, "met" if ratio >= 0.90 else "NOT met", cpu_ratio))
    print("per round (steered QPS / static QPS of the same round): %s; median %.3f"
          % (" ".join("%.3f" % x for x in pairs), statistics.median(pairs)))
    if noisy:
        print("caution: %d run(s) kept despite other load > %.0f%% (busy machine): figures unreliable"
              % (noisy, R.NOISY_PCT))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = os.path.join(OUT, "results-%s.json" % stamp)
    with open(path, "w") as f:
        json.dump(results, f, indent=1, default=str)
    print("wrote %s" % os.path.relpath(path, REPO))
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
