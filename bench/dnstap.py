#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""What dnstap logging costs: runwayd serving the quickstart zone with
dnstap off, to a file (queries and responses), and to a file with responses
only, under the same dnsperf load, in alternation. Reports queries/s,
server CPU per query (utime + stime of runwayd over the run / queries) and
that of the UDP worker thread alone (the query path; the rest is mostly
libfstrm's writer thread).

    /usr/bin/python3 bench/dnstap.py [--runwayd build/runwayd] [--rounds 3] [--duration 8]

Loopback only; every run is bounded (dnsperf -l, subprocess timeouts).
Needs dnsperf (scripts/deps.sh bench)."""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZONE = ROOT / "examples/quickstart/example.com.zone"
NAMES = ["www.example.com A", "example.com SOA", "example.com MX", "example.com NS",
         "mail.example.com A", "nothing.example.com A", "www.example.com AAAA", "example.com TXT"]
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(stat_path):
    fields = Path(stat_path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def thread_cpu(pid):
    """CPU seconds of each thread of pid, by thread id."""
    out = {}
    for t in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[t.name] = cpu_seconds(t / "stat")
        except OSError:
            pass
    return out


def wait_ready(port, proc, timeout=10):
    q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x06\x00\x01"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "runwayd exited"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            s.sendto(q, ("127.0.0.1", port))
            try:
                s.recv(512)
                return
            except socket.timeout:
                pass
    sys.exit("runwayd did not answer")


def run(args, mode, work):
    port = free_port()
    conf = work / f"{mode}.yaml"
    text = (f'server:\n  listen: ["127.0.0.1:{port}"]\n  workers: {args.workers}\n'
            f"zones:\n  - name: example.com.\n    file: {ZONE}\n")
    if mode not in ("off", "baseline"):
        text += f"dnstap:\n  file: {work}/{mode}.dnstap\n"
        if mode == "responses":
            text += "  log_queries: false\n"
    conf.write_text(text)
    log = open(work / f"{mode}.log", "ab")
    exe = args.baseline if mode == "baseline" else args.runwayd
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=log, stderr=log)
    try:
        wait_ready(port, proc)
        c0 = cpu_seconds(f"/proc/{proc.pid}/stat")
        t0 = thread_cpu(proc.pid)
        out = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d",
                              str(work / "queries"), "-c", "16", "-q", "100",
                              "-l", str(args.duration)],
                             capture_output=True, text=True, timeout=args.duration + 30).stdout
        cpu = cpu_seconds(f"/proc/{proc.pid}/stat") - c0
        t1 = thread_cpu(proc.pid)
        # With one UDP worker on one address, the busiest thread is the worker.
        worker = max(t1[t] - t0.get(t, 0) for t in t1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        log.close()
    done = int(re.search(r"Queries completed:\s+(\d+)", out).group(1))
    qps = float(re.search(r"Queries per second:\s+([\d.]+)", out).group(1))
    size = (work / f"{mode}.dnstap").stat().st_size if mode not in ("off", "baseline") else 0
    m = re.findall(r"dnstap: (\d+) frames queued for .*, (\d+) dropped", (work / f"{mode}.log").read_text())
    frames = (int(m[-1][0]), int(m[-1][1])) if m and size else (0, 0)
    return qps, cpu / done * 1e6, worker / done * 1e6, size, frames


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runwayd", default=str(ROOT / "build/runwayd"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--baseline", help="also run this runwayd (built without dnstap) as 'baseline'")
    args = ap.parse_args()
    if not shutil.which("dnsperf"):
        sys.exit("dnsperf missing: scripts/deps.sh bench")
    modes = (["baseline"] if args.baseline else []) + ["off", "queries+responses", "responses"]
    results = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "queries").write_text("\n".join(NAMES) + "\n")
        for r in range(args.rounds):
            for m in modes:
                qps, us, wus, size, (frames, dropped) = run(args, m, work)
                results[m].append((qps, us, wus))
                print(f"round {r + 1} {m:18} {qps:10.0f} q/s {us:6.2f} us CPU/query "
                      f"(worker {wus:5.2f})"
                      + (f"  ({size / 1e6:.0f} MB, {frames} frames, {dropped} dropped)"
                         if size else ""), flush=True)
    print(f"\nmedians of {args.rounds} (dnsperf -c 16 -q 100 -l {args.duration}, "
          f"{args.workers} UDP worker(s)):")
    base = sorted(results["off"])[len(results["off"]) // 2]
    for m in modes:
        qps = sorted(x[0] for x in results[m])[args.rounds // 2]
        us = sorted(x[1] for x in results[m])[args.rounds // 2]
        wus = sorted(x[2] for x in results[m])[args.rounds // 2]
        print(f"| {m:18} | {qps:9.0f} q/s | {us:5.2f} us CPU/query | worker {wus:5.2f} us | "
              f"{qps / base[0]:.2f}x q/s |")


if __name__ == "__main__":
    main()
