#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Zone transfers, measured (bench/README.md, "Zone transfers"), on the
fixed CPU budget of bench/run.py: each server under test pinned to one core
and held to --cpu-budget percent of it by a cgroup quota, the client on
another core.

  axfr     AXFR of the 1,000,000-record zone to a client: wall time, server
           CPU time and peak memory (VmHWM, reset before each transfer),
           runwayd vs knotd vs nsd, alternated, medians of --rounds
  notify   the time from an API change on a runwayd primary until each
           secondary (Knot, NSD, BIND, runwayd) answers it, over --changes
           changes (NOTIFY + IXFR, TSIG)
  ixfr     the bytes of an IXFR of a one-record change (runwayd and Knot
           as primaries of the same zone, the same change), beside the AXFR
  qps      runwayd's (and Knot's) UDP q/s under dnsperf with and without an
           AXFR of the 100k zone every second, alternated, same budget

    /usr/bin/python3 bench/xfr.py [--parts axfr,notify,ixfr,qps] [--rounds 3]
        [--runwayd build/runwayd] [--cpu-budget 40] [--duration 8]

Everything on 127.0.0.1; every server is stopped on any exit (peers.py:
PR_SET_PDEATHSIG and a finally); every load bounded (dnsperf -l, timeouts).
The servers' configurations are tests/integration/peers.py's templates, the
ones docs/transfers.md shows and the interoperability tests run.
"""

import argparse
import datetime
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests" / "integration"))

import cpubudget          # noqa: E402
import run as R           # noqa: E402  (proc_tree, cpu_ticks, parse_dnsperf, wait_quiet)
import zones as Z         # noqa: E402
import dnsharness as h    # noqa: E402
import peers as P         # noqa: E402

BUDGET = None
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------- helpers

def axfr_request(zone, qtype=252, serial=None, qid=0x4242):
    """An AXFR (252) or IXFR (251, with our SOA at serial) request, unsigned."""
    name = b"".join(bytes([len(l)]) + l.encode() for l in zone.rstrip(".").split(".")) + b"\0"
    ns = 1 if serial is not None else 0
    msg = struct.pack("!HHHHHH", qid, 0, 1, 0, ns, 0) + name + struct.pack("!HH", qtype, 1)
    if serial is not None:
        rdata = b"\0\0" + struct.pack("!IIIII", serial, 0, 0, 0, 0)
        msg += b"\xc0\x0c" + struct.pack("!HHIH", 6, 1, 0, len(rdata)) + rdata
    return msg


def transfer(port, zone, records, qtype=252, serial=None, timeout=600):
    """Run one transfer over TCP; read until the answer records counted
    reach records (the zone's records + the closing SOA). Returns (seconds,
    messages, bytes of DNS messages)."""
    t0 = time.monotonic()
    n = msgs = nbytes = 0
    with socket.create_connection((P.HOST, port), timeout=timeout) as s:
        s.sendall(h.tcp_frame(axfr_request(zone, qtype, serial)))
        while n < records:
            m = h.tcp_read_msg(s)
            msgs += 1
            nbytes += len(m)
            rcode = m[3] & 0x0F
            if rcode:
                raise RuntimeError(f"transfer answered rcode {rcode}")
            n += struct.unpack("!H", m[6:8])[0]
            if time.monotonic() - t0 > timeout:
                raise RuntimeError("transfer timed out")
    return time.monotonic() - t0, msgs, nbytes


def reset_hwm(pids):
    """Reset the peak RSS (VmHWM) of pids: /proc/PID/clear_refs 5."""
    for p in pids:
        try:
            with open(f"/proc/{p}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


def kib(pids, key):
    return sum(R._status_kib(p, key) for p in pids)


def budgeted(peer, name):
    """peer joins the CPU budget's group for name (and its core) at exec."""
    if BUDGET:
        peer.preexec = BUDGET.preexec(name)
    return peer


def client_core():
    if BUDGET:
        os.sched_setaffinity(0, {BUDGET.client_cpu})


def med(v):
    return statistics.median(v) if v else float("nan")


def make_peer(kind, workdir, args, **kw):
    if kind == "runway":
        p = P.RunwayPeer(workdir, **kw)
        p.exe = args.runwayd
    else:
        p = P.KINDS[kind](workdir, **kw)
    p.ready_timeout = 300     # a 1M zone on 40% of a core
    return p


def try_start(ps, p, what):
    """Start p; False (and the reason logged) when it does not come up, so
    the other servers are still measured."""
    try:
        ps.start(p)
        return True
    except (h.ServerFailed, OSError) as e:
        log(f"  {what}: {p.name} failed to start: {str(e).splitlines()[0]}"
            + (f" ({str(e).splitlines()[-1]})" if len(str(e).splitlines()) > 1 else ""))
        p.stop()
        return False


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# ---------------------------------------------------------------- axfr

def part_axfr(args, results):
    zfile, info = Z.make_zone(str(OUT), args.axfr_zone)
    records = info.records + 1
    log(f"\n== AXFR of the {args.axfr_zone} zone ({info.records:,} records), "
        f"{args.rounds} rounds, servers alternated")
    servers = {}
    rows = {k: [] for k in args.axfr_servers}
    with P.Peers() as ps:
        for kind in args.axfr_servers:
            p = make_peer(kind, fresh(OUT / "xfr" / "axfr" / kind), args)
            p.zones.append(P.Zone(Z.ORIGIN, allow_transfer=[P.Acl("127.0.0.1")]))
            p.install_zone_file(Z.ORIGIN, zfile)
            budgeted(p, f"axfr-{kind}")
            t0 = time.monotonic()
            if not try_start(ps, p, "axfr"):
                del rows[kind]
                continue
            log(f"  {kind}: serving after {time.monotonic() - t0:.1f} s")
            servers[kind] = p
        client_core()
        for rnd in range(args.rounds):
            for kind, p in servers.items():
                R.wait_quiet(args.quiet_wait)
                pids = R.proc_tree(p.pid())
                reset_hwm(pids)
                rss0 = kib(pids, "VmRSS")
                c0 = sum(R.cpu_ticks(pids).values())
                try:
                    secs, msgs, nbytes = transfer(p.port, Z.ORIGIN, records)
                except (OSError, RuntimeError, EOFError) as e:
                    log(f"  round {rnd + 1} {kind}: AXFR failed: {e}")
                    continue
                pids = R.proc_tree(p.pid())
                c1 = sum(R.cpu_ticks(pids).values())
                row = {"s": secs, "messages": msgs, "bytes": nbytes, "rss_before_mib": rss0 / 1024,
                       "peak_mib": kib(pids, "VmHWM") / 1024, "cpu_s": (c1 - c0) / CLK_TCK}
                rows[kind].append(row)
                log(f"  round {rnd + 1} {kind:7} {secs:7.2f} s  {msgs:6} messages {nbytes / 1e6:7.1f} MB  "
                    f"CPU {row['cpu_s']:.2f} s  RSS before {row['rss_before_mib']:.0f} MiB, "
                    f"peak during {row['peak_mib']:.0f} MiB")
    results["axfr"] = {"zone": args.axfr_zone, "records": info.records, "rounds": rows}
    table = ["| server | AXFR s (median) | rounds (s) | server CPU s | MB sent | messages | "
             "RSS before MiB | peak RSS during MiB |", "|---|---:|---|---:|---:|---:|---:|---:|"]
    for kind, rs in rows.items():
        if not rs:
            continue
        table.append(f"| {kind} | {med([r['s'] for r in rs]):.2f} | "
                     + " ".join(f"{r['s']:.2f}" for r in rs)
                     + f" | {med([r['cpu_s'] for r in rs]):.2f} | {med([r['bytes'] for r in rs]) / 1e6:.1f} | "
                     f"{int(med([r['messages'] for r in rs]))} | {med([r['rss_before_mib'] for r in rs]):.0f} | "
                     f"{med([r['peak_mib'] for r in rs]):.0f} |")
    return table


# ---------------------------------------------------------------- notify

def part_notify(args, results):
    zfile, info = Z.make_zone(str(OUT), args.notify_zone)
    log(f"\n== API change on a runwayd primary until each secondary answers it "
        f"(zone {args.notify_zone}, {args.changes} changes, TSIG, NOTIFY + IXFR)")
    key = P.TsigKey.generate()
    base = OUT / "xfr" / "notify"
    fresh(base)
    kinds = [k for k in args.secondaries if P.have(k)]
    with P.Peers() as ps:
        rw = make_peer("runway", base / "primary", args, api=True, name="primary")
        secs = [make_peer(k, base / k, args) for k in kinds]
        rw.zones.append(P.Zone(Z.ORIGIN, notify=[s.remote(key) for s in secs],
                               allow_transfer=[P.Acl("127.0.0.1", key)]))
        rw.install_zone_file(Z.ORIGIN, zfile)
        budgeted(rw, "notify-primary")
        for s in secs:
            s.add_zone(P.Zone(Z.ORIGIN, primaries=[rw.remote(key)]))
            if BUDGET:
                cpu = BUDGET.client_cpu
                s.preexec = lambda cpu=cpu: os.sched_setaffinity(0, {cpu})
        ps.start(rw, *secs)
        serial = rw.soa_serial(Z.ORIGIN)
        for s in secs:
            s.wait_serial(Z.ORIGIN, serial, timeout=300)
        client_core()
        times = {s.name: [] for s in secs}
        for i in range(args.changes):
            R.wait_quiet(args.quiet_wait)
            addr = f"192.0.2.{100 + i}"
            name = f"bench-change-{i}.{Z.ORIGIN}"
            t0 = time.monotonic()
            serial = rw.change(Z.ORIGIN, [{"action": "UPSERT", "name": name, "type": "A", "ttl": 60,
                                           "records": [addr]}])
            api = time.monotonic() - t0
            pending = list(secs)
            while pending and time.monotonic() - t0 < 30:
                for s in list(pending):
                    m = s.answer(name, "A", timeout=0.2)
                    if m is not None and any(rd.to_text() == addr for r in m.answer for rd in r):
                        times[s.name].append(time.monotonic() - t0)
                        pending.remove(s)
                time.sleep(0.001)
            log(f"  change {i + 1} (serial {serial}, API {api * 1000:.0f} ms): " + ", ".join(
                f"{s.name} {times[s.name][-1] * 1000:.0f} ms" if s not in pending else f"{s.name} >30 s"
                for s in secs))
        incoming = {s.name: s.incoming() for s in secs}
    results["notify"] = {"zone": args.notify_zone, "times_s": times, "incoming": incoming}
    table = ["| secondary | median ms | max ms | transfers in (kind, bytes) |", "|---|---:|---:|---|"]
    for s in secs:
        t = times[s.name]
        kinds_seen = ", ".join(f"{k or '?'} {b}" for k, b in incoming[s.name][-3:])
        table.append(f"| {s.kind} | {med(t) * 1000:.0f} | {max(t) * 1000 if t else float('nan'):.0f} | "
                     f"last 3: {kinds_seen} |")
    return table


# ---------------------------------------------------------------- ixfr

def part_ixfr(args, results):
    zfile, info = Z.make_zone(str(OUT), args.notify_zone)
    log(f"\n== bytes of an IXFR of a one-record change (zone {args.notify_zone})")
    base = OUT / "xfr" / "ixfr"
    fresh(base)
    out = {}
    with P.Peers() as ps:
        for kind in ("runway", "knot"):
            p = make_peer(kind, base / kind, args, **({"api": True} if kind == "runway" else {}))
            p.zones.append(P.Zone(Z.ORIGIN, allow_transfer=[P.Acl("127.0.0.1")]))
            p.install_zone_file(Z.ORIGIN, zfile)
            if not try_start(ps, p, "ixfr"):
                continue
            s0 = p.soa_serial(Z.ORIGIN)
            try:
                _, amsgs, abytes = transfer(p.port, Z.ORIGIN, info.records + 1)
            except (OSError, RuntimeError, EOFError) as e:
                log(f"  {kind}: AXFR failed: {e}")
                continue
            if kind == "runway":
                s1 = p.change(Z.ORIGIN, [{"action": "UPSERT", "name": f"ixfr-bench.{Z.ORIGIN}",
                                          "type": "A", "ttl": 3600, "records": ["192.0.2.222"]}])
            else:
                p.zone_set(Z.ORIGIN, [("set", "ixfr-bench", 3600, "A", "192.0.2.222")])
                s1 = p.soa_serial(Z.ORIGIN)
            # an IXFR of one change: old SOA, (removed), new SOA, added, new SOA
            try:
                m = dns_ixfr(p.port, s0)
            except (OSError, RuntimeError, EOFError) as e:
                log(f"  {kind}: IXFR failed: {e}")
                continue
            out[kind] = {"serials": [s0, s1], "axfr_bytes": abytes, "axfr_messages": amsgs, **m}
            log(f"  {kind}: IXFR {s0} -> {s1}: {m['bytes']} bytes in {m['messages']} message(s), "
                f"{m['records']} records; AXFR {abytes:,} bytes")
    results["ixfr"] = out
    table = ["| primary | IXFR bytes (one record added) | records | AXFR bytes |", "|---|---:|---:|---:|"]
    for kind, r in out.items():
        table.append(f"| {kind} | {r['bytes']} | {r['records']} | {r['axfr_bytes']:,} |")
    return table


def dns_ixfr(port, serial):
    """One IXFR from serial: bytes (DNS messages, framing not counted),
    messages, answer records. The stream ends with the third SOA of the
    new serial (first, the last difference's, the closing one), or the
    second in an AXFR-style answer, or with a lone SOA (up to date)."""
    import dns.message
    with socket.create_connection((P.HOST, port), timeout=30) as s:
        s.sendall(h.tcp_frame(axfr_request(Z.ORIGIN, 251, serial)))
        msgs = nbytes = 0
        rrs = []
        while True:
            wire = h.tcp_read_msg(s)
            msgs += 1
            nbytes += len(wire)
            m = dns.message.from_wire(wire, xfr=True, one_rr_per_rrset=True)
            rrs += [(rr.rdtype, rr[0].serial if rr.rdtype == 6 else None) for rr in m.answer]
            if not rrs:
                raise RuntimeError("IXFR answer without records")
            new = rrs[0][1]
            n_new = sum(1 for t, sn in rrs if t == 6 and sn == new)
            incremental = len(rrs) > 1 and rrs[1][0] == 6
            if len(rrs) == 1 and msgs == 1 and len(m.answer) == 1 and not incremental \
                    and new is not None and rrs[-1] == (6, new) and serial == new:
                break                                # up to date
            if rrs[-1] == (6, new) and n_new == (3 if incremental else 2):
                break
        return {"bytes": nbytes, "messages": msgs, "records": len(rrs)}


# ---------------------------------------------------------------- qps

def part_qps(args, results):
    zfile, info = Z.make_zone(str(OUT), args.qps_zone)
    qfile, _ = Z.make_queries(str(OUT), args.qps_zone, info)
    log(f"\n== UDP q/s with and without an AXFR of the {args.qps_zone} zone every second "
        f"({args.rounds} rounds x {args.duration} s, alternated)")
    base = OUT / "xfr" / "qps"
    fresh(base)
    rows = {}
    with P.Peers() as ps:
        servers = {}
        for kind in args.qps_servers:
            p = make_peer(kind, base / kind, args)
            p.zones.append(P.Zone(Z.ORIGIN, allow_transfer=[P.Acl("127.0.0.1")]))
            p.install_zone_file(Z.ORIGIN, zfile)
            budgeted(p, f"qps-{kind}")
            if try_start(ps, p, "qps"):
                servers[kind] = p
                if args.worker_budget and kind == "runway" and BUDGET:
                    moved = BUDGET.worker_only(f"qps-{kind}", R.proc_tree(p.pid()), "rw-udp")
                    if moved is None:
                        log("  --worker-budget: needs cgroup v1 (per-thread groups); whole process budgeted")
                    else:
                        log(f"  runway: only the UDP worker (rw-udp) under the quota; uncapped on the "
                            f"same core: {', '.join(sorted({c for _, c in moved}))}")
        client_core()
        for rnd in range(args.rounds):
            for kind, p in servers.items():
                for mode in ("plain", "axfr/s"):
                    R.wait_quiet(args.quiet_wait)
                    r = qps_run(args, p, qfile, info.records + 1, mode == "axfr/s")
                    rows.setdefault((kind, mode), []).append(r)
                    log(f"  round {rnd + 1} {kind:7} {mode:7} {r['qps']:10,.0f} q/s  lost {r['lost']}  "
                        f"CPU {r['cpu_us_per_q']:.2f} us/query (AXFRs included)"
                        + (f", UDP worker {r['worker_us_per_q']:.2f} us/query" if r.get("worker_us_per_q") else "")
                        + (f", budget used {r['budget_used_pct']:.0f}%" if BUDGET else "")
                        + (f"  {r['axfrs']} AXFRs, median {med(r['axfr_s']):.2f} s" if r["axfrs"] else ""))
    results["qps"] = {f"{k} {m}": v for (k, m), v in rows.items()}
    table = ["| server | load | q/s (median) | rounds | x plain | CPU us/query (median, AXFRs included) | "
             "UDP worker us/query | budget used % | AXFRs done per run | AXFR s (median) |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for (kind, mode), rs in rows.items():
        q = med([r["qps"] for r in rs])
        plain = med([r["qps"] for r in rows[(kind, "plain")]])
        table.append(f"| {kind} | {mode} | {q:,.0f} | " + " ".join(f"{r['qps'] / 1000:.1f}k" for r in rs)
                     + f" | {q / plain:.3f} | {med([r['cpu_us_per_q'] for r in rs]):.2f} | "
                     + (f"{med([r['worker_us_per_q'] for r in rs]):.2f} | "
                        if all(r.get('worker_us_per_q') for r in rs) else "- | ")
                     + (f"{med([r['budget_used_pct'] for r in rs]):.0f}" if BUDGET else "-")
                     + f" | {med([r['axfrs'] for r in rs]):.0f} | "
                     + (f"{med([x for r in rs for x in r['axfr_s']]):.2f}" if mode != "plain" else "-") + " |")
    return table


def worker_ticks(pids, comm="rw-udp"):
    """utime+stime of the threads of pids named comm (runwayd's UDP workers;
    0 for servers that do not name theirs)."""
    total = 0
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                if Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip() != comm:
                    continue
                rest = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(rest[11]) + int(rest[12])
            except (OSError, IndexError):
                pass
    return total


def qps_run(args, p, qfile, records, with_axfr):
    argv = (BUDGET.client_argv([]) if BUDGET else []) + [
        "dnsperf", "-s", "127.0.0.1", "-p", str(p.port), "-d", qfile, "-l", str(args.duration),
        "-c", "16", "-T", "1", "-q", "100", "-t", "2"]
    stop = threading.Event()
    done = []

    def axfr_loop():
        while not stop.is_set():
            t = time.monotonic()
            try:
                done.append(transfer(p.port, Z.ORIGIN, records, timeout=args.duration + 30)[0])
            except (OSError, RuntimeError, EOFError) as e:
                done.append(float("nan"))
                log(f"    AXFR failed: {e}")
            stop.wait(max(0.0, 1.0 - (time.monotonic() - t)))

    th = threading.Thread(target=axfr_loop, daemon=True) if with_axfr else None
    pids = R.proc_tree(p.pid())
    if BUDGET:
        BUDGET.check_pinning(pids)
    c0 = sum(R.cpu_ticks(pids).values())
    w0 = worker_ticks(pids)
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        if th:
            th.start()
        out, _ = proc.communicate(timeout=args.duration + 60)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if th:
            th.join(timeout=args.duration + 60)
    wall = time.monotonic() - t0
    cpu = (sum(R.cpu_ticks(R.proc_tree(p.pid())).values()) - c0) / CLK_TCK
    wcpu = (worker_ticks(pids) - w0) / CLK_TCK
    r = R.parse_dnsperf(out)
    if not r.get("completed"):
        raise RuntimeError(f"dnsperf failed: {out[-500:]}")
    return {"qps": r["qps"], "lost": r["lost"], "axfrs": len(done), "axfr_s": done,
            "cpu_us_per_q": cpu * 1e6 / r["completed"],
            "worker_us_per_q": wcpu * 1e6 / r["completed"] if wcpu else None,
            "budget_used_pct": 100.0 * cpu / (wall * BUDGET.pct / 100) if BUDGET else None}


# ---------------------------------------------------------------- main

def main():
    global BUDGET
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="axfr,notify,ixfr,qps")
    ap.add_argument("--runwayd", default=str(REPO / "build" / "runwayd"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8, help="seconds per dnsperf run (qps)")
    ap.add_argument("--changes", type=int, default=5, help="API changes timed (notify)")
    ap.add_argument("--worker-budget", action="store_true",
                    help="qps: put only runwayd's UDP worker under the quota (cgroup v1), its other "
                         "threads (TCP: the transfers) uncapped on the same core")
    ap.add_argument("--axfr-zone", default="1m")
    ap.add_argument("--axfr-servers", default="runway,knot,nsd")
    ap.add_argument("--notify-zone", default="small")
    ap.add_argument("--secondaries", default="knot,nsd,bind,runway")
    ap.add_argument("--qps-zone", default="100k")
    ap.add_argument("--qps-servers", default="runway,knot")
    ap.add_argument("--cpu-budget", type=int, default=40, help="percent of one core; 0: off")
    ap.add_argument("--server-cpu", type=int, default=(os.cpu_count() or 1) - 1)
    ap.add_argument("--client-cpu", type=int, default=0)
    ap.add_argument("--quiet-wait", type=float, default=30)
    args = ap.parse_args()
    args.runwayd = os.path.abspath(args.runwayd)
    args.axfr_servers = args.axfr_servers.split(",")
    args.secondaries = args.secondaries.split(",")
    args.qps_servers = args.qps_servers.split(",")
    os.environ["RUNWAY_BUILD"] = str(Path(args.runwayd).parent)
    h.RUNWAYD = Path(args.runwayd)
    P.RunwayPeer.exe = args.runwayd
    OUT.mkdir(exist_ok=True)
    if args.cpu_budget:
        BUDGET = cpubudget.CpuBudget(args.cpu_budget, args.server_cpu, args.client_cpu)
        log("fixed CPU budget: " + BUDGET.describe())
    results = {"when": datetime.datetime.now().isoformat(timespec="seconds"),
               "argv": sys.argv, "budget": BUDGET.describe() if BUDGET else None}
    md = []
    try:
        for part in args.parts.split(","):
            fn = {"axfr": part_axfr, "notify": part_notify, "ixfr": part_ixfr, "qps": part_qps}[part]
            try:
                table = fn(args, results)
            except (h.ServerFailed, RuntimeError, OSError) as e:
                log(f"  part {part} failed: {e}")
                results.setdefault("failed", {})[part] = str(e)
                continue
            md += ["", f"#### {part}", ""] + table
    finally:
        if BUDGET:
            BUDGET.close()
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        with open(OUT / f"xfr-{stamp}.json", "w") as f:
            json.dump(results, f, indent=1, default=str)
        with open(OUT / "xfr.md", "w") as f:
            f.write("\n".join(md) + "\n")
        print("\n".join(md))
        print(f"\nwrote bench/out/xfr-{stamp}.json and bench/out/xfr.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
