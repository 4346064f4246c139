#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""runway benchmark: runwayd against Knot DNS, NSD, gdnsd and BIND 9.

See bench/README.md. Everything talks to 127.0.0.1 only, and every load run
is bounded (dnsperf -l DURATION, plus a subprocess timeout).

  /usr/bin/python3 bench/run.py [--servers runway,knot,nsd,gdnsd,bind]
      [--zones small,100k,1m] [--rounds 3] [--duration 10] [--port-base 15300]
  /usr/bin/python3 bench/run.py --startup-only [--zones 100k,1m] [--rounds 3]
"""

import argparse
import datetime
import json
import os
import platform
import random
import re
import resource
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
sys.path.insert(0, HERE)

import cpubudget     # noqa: E402
import servers as S  # noqa: E402
import zones as Z     # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


# ---------------------------------------------------------------- DNS probes

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def build_query(qid, name, qtype):
    wire = b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".") if l)
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + wire + b"\0" + \
        struct.pack("!HH", QTYPES[qtype], 1)


def _skip_name(msg, off):
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += n + 1


def parse_response(msg):
    """Return dict(id, qr, aa, tc, rcode, an, ns, ar, size, an_types) or None."""
    if len(msg) < 12:
        return None
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    r = {"id": qid, "qr": bool(flags & 0x8000), "aa": bool(flags & 0x0400),
         "tc": bool(flags & 0x0200), "rcode": flags & 0xF, "an": an, "ns": ns, "ar": ar,
         "size": len(msg), "an_types": []}
    try:
        off = 12
        for _ in range(qd):
            off = _skip_name(msg, off) + 4
        for _ in range(an):
            off = _skip_name(msg, off)
            rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
            r["an_types"].append(rtype)
            off += 10 + rdlen
    except (IndexError, struct.error):
        r["malformed"] = True
    return r


def ask(port, name, qtype, timeout=1.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("127.0.0.1", port))
        qid = random.randrange(65536)
        s.send(build_query(qid, name, qtype))
        s.settimeout(timeout)
        try:
            while True:
                r = parse_response(s.recv(65535))
                if r and r["id"] == qid:
                    return r
        except (socket.timeout, ConnectionRefusedError):
            return None


def soa_ok(r):
    return bool(r and r["qr"] and r["aa"] and r["rcode"] == 0 and r["an"] >= 1
                and QTYPES["SOA"] in r["an_types"])


def wait_first_answer(proc, port, deadline, ok=soa_ok):
    """Tight SOA poll (10 ms reply timeout). Return the time of the first
    correct answer (time.monotonic()), or raise."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    q = random.randrange(65536)
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("exited with status %s before answering" % proc.returncode)
            q = (q + 1) & 0xFFFF
            try:
                s.send(build_query(q, Z.ORIGIN, "SOA"))
            except ConnectionRefusedError:
                time.sleep(0.002)
                continue
            end = time.monotonic() + 0.010
            while True:
                left = end - time.monotonic()
                if left <= 0 or not select.select([s], [], [], left)[0]:
                    break
                try:
                    r = parse_response(s.recv(65535))
                except ConnectionRefusedError:   # nothing bound to the port yet
                    time.sleep(0.002)
                    break
                if r and r["id"] == q:
                    if ok(r):
                        return time.monotonic()
                    time.sleep(0.002)            # e.g. REFUSED while the zone loads
                    break
        raise RuntimeError("no correct SOA answer before the startup timeout")
    finally:
        s.close()


# ---------------------------------------------------------------- /proc

def proc_tree(root):
    """root pid and all its descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(rest[1]), []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_ticks(pids, user_only=False):
    """{pid: utime+stime} (all threads of each process); user_only: utime."""
    t = {}
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                rest = f.read().rsplit(")", 1)[1].split()
            t[p] = int(rest[11]) + (0 if user_only else int(rest[12]))
        except (OSError, IndexError):
            pass
    return t


def ctx_switches(pids):
    """Voluntary context switches (a thread blocked: sleeps, so wake-ups)
    summed over every thread of pids."""
    n = 0
    for p in pids:
        try:
            tids = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for t in tids:
            try:
                with open("/proc/%d/task/%s/status" % (p, t)) as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches:"):
                            n += int(line.split()[1])
            except OSError:
                pass
    return n


def _status_kib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(root):
    """Memory of the server's process tree (NSD runs 4 processes, the rest 1).
    rss_kib: VmRSS summed (a single process: its VmRSS; several: pages they
    share are counted in each); pss_kib: proportional set size summed (shared
    pages split among sharers: the fair total for several processes);
    hwm_kib: peak VmRSS (VmHWM) summed."""
    pids = proc_tree(root)
    return {
        "rss_kib": sum(_status_kib(p, "VmRSS") for p in pids),
        "pss_kib": sum(_pss_kib(p) for p in pids),
        "hwm_kib": sum(_status_kib(p, "VmHWM") for p in pids),
        "rss_root_kib": _status_kib(root, "VmRSS"),
        "processes": len(pids),
    }


# ---------------------------------------------------------------- servers

class Running:
    def __init__(self, srv, proc, port, workdir, log):
        self.srv, self.proc, self.port, self.workdir, self.log = srv, proc, port, workdir, log

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)   # its own session/group
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        # leftover children of a multi-process server (same process group)
        try:
            os.killpg(self.proc.pid, 0)
            time.sleep(0.5)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.log.close()


LIVE = []
BUDGET = None      # cpubudget.CpuBudget in the fixed-CPU-budget mode (--cpu-budget)


def port_free(port):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def log_tail(path, n=8):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(l.rstrip() for l in f.readlines()[-n:])
    except OSError:
        return ""


def start_server(srv, zone, zonefile, port, timeout):
    """Start srv; wait for its first correct SOA answer. Return (Running, info)."""
    workdir = os.path.join(OUT, "run", zone, srv.name)
    subprocess.run(["rm", "-rf", workdir], check=True)
    os.makedirs(workdir)
    if not srv.available(REPO):
        raise RuntimeError("%s not found" % srv.binary_path(REPO))
    if not port_free(port):
        raise RuntimeError("port %d is already in use" % port)
    argv = srv.setup(REPO, workdir, zonefile, port)
    logpath = os.path.join(workdir, "server.log")
    log = open(logpath, "w")
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=BUDGET.preexec(srv.name) if BUDGET else None)
    run = Running(srv, proc, port, workdir, log)
    LIVE.append(run)
    try:
        t1 = wait_first_answer(proc, port, t0 + timeout,
                               ok=(lambda r: bool(r and r["qr"])) if srv.floor else soa_ok)
    except Exception as e:
        stop(run)
        raise RuntimeError("%s (log: %s)" % (e, log_tail(logpath)))
    mem_ready = memory(proc.pid)
    time.sleep(1.0)
    mem = memory(proc.pid)
    info = {"startup_s": t1 - t0, "mem_at_first_answer": mem_ready, "mem": mem, "argv": argv}
    if BUDGET:
        # All its threads, started since, on the server core (a server that
        # pins its own threads is put back).
        info["threads_repinned"] = len(BUDGET.check_pinning(proc_tree(proc.pid)))
    return run, info


def stop(run):
    run.stop()
    if run in LIVE:
        LIVE.remove(run)


def probes(port, info):
    """A few answers per server, to see that all give the same kind of answer."""
    pick = lambda lst: lst[len(lst) // 2] if lst else Z.ORIGIN  # noqa: E731
    cases = [("A", pick(info.a), "A"), ("AAAA", pick(info.aaaa), "AAAA"),
             ("MX", pick(info.mx), "MX"), ("TXT", pick(info.txt), "TXT"),
             ("CNAME", pick(info.cname), "A"), ("NX", "nx-probe-none." + Z.ORIGIN, "A")]
    out = {}
    for label, name, qtype in cases:
        r = ask(port, name, qtype)
        out[label] = None if r is None else {
            "rcode": RCODES.get(r["rcode"], r["rcode"]), "aa": r["aa"], "an": r["an"],
            "ns": r["ns"], "ar": r["ar"], "size": r["size"]}
    return out


def probe_summary(pr):
    """e.g. 'A NOERROR 1/0/0 56B' per probe: rcode, answer/authority/additional counts."""
    out = []
    for k, v in pr.items():
        out.append("%s:-" % k if v is None else "%s:%s %d/%d/%d %dB" % (
            k, str(v["rcode"])[:4], v["an"], v["ns"], v["ar"], v["size"]))
    return ", ".join(out)


def version_of(srv):
    if srv.floor:
        return "bench/echo.c"
    cmds = {"knot": ["/usr/sbin/knotd", "--version"], "nsd": ["/usr/sbin/nsd", "-v"],
            "gdnsd": ["/usr/sbin/gdnsd", "-h"], "bind": ["/usr/sbin/named", "-v"]}
    if S.is_runway(srv.name):
        try:
            v = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        except Exception:
            v = ""
        try:
            built = datetime.datetime.fromtimestamp(os.path.getmtime(srv.binary_path(REPO)))
            v += " (binary built %s)" % built.isoformat(sep=" ", timespec="minutes")
        except OSError:
            pass
        return v
    try:
        p = subprocess.run(cmds[srv.name], capture_output=True, text=True, timeout=10)
    except Exception:
        return ""
    m = re.search(r"version\s+(\S+)|BIND\s+(\S+)|NSD version (\S+)", p.stdout + p.stderr)
    return next((g for g in m.groups() if g), "") if m else ""


# ---------------------------------------------------------------- dnsperf

def dnsperf_argv(args, port, qfile, duration):
    argv = (BUDGET.client_argv([]) if BUDGET else []) + ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l", str(duration),
            "-c", str(args.clients), "-T", str(args.threads), "-q", str(args.outstanding),
            "-t", str(args.timeout)]
    if args.edns:
        argv.append("-e")
    return argv


def parse_dnsperf(text):
    def num(pat, cast=float):
        m = re.search(pat, text)
        return cast(m.group(1)) if m else None
    r = {
        "sent": num(r"Queries sent:\s+(\d+)", int),
        "completed": num(r"Queries completed:\s+(\d+)", int),
        "lost": num(r"Queries lost:\s+(\d+)", int),
        "qps": num(r"Queries per second:\s+([\d.]+)"),
        "runtime_s": num(r"Run time \(s\):\s+([\d.]+)"),
        "lat_avg_s": num(r"Average Latency \(s\):\s+([\d.]+)"),
        "lat_min_s": num(r"Average Latency \(s\):\s+[\d.]+ \(min ([\d.]+)"),
        "lat_max_s": num(r"Average Latency \(s\):.*max ([\d.]+)\)"),
        "lat_sd_s": num(r"Latency StdDev \(s\):\s+([\d.]+)"),
        "resp_bytes": num(r"Average packet size:.*response (\d+)", int),
    }
    m = re.search(r"Response codes:\s+(.*)", text)
    if m:
        r["rcodes"] = {k: int(v) for k, v in re.findall(r"([A-Z]+) (\d+)", m.group(1))}
    return r


def system_ticks():
    """(busy, steal) ticks of all CPUs together, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal


def wait_quiet(max_wait):
    """Wait (at most max_wait s) until the machine has been near idle for 1 s:
    our servers are idle between runs, so busy CPU then is someone else's."""
    t_end = time.monotonic() + max_wait
    waited = False
    while True:
        b0, _ = system_ticks()
        t0 = time.monotonic()
        time.sleep(1.0)
        busy = 100.0 * (system_ticks()[0] - b0) / CLK_TCK / ((time.monotonic() - t0) * (os.cpu_count() or 1))
        if busy <= NOISY_PCT / 2 or time.monotonic() >= t_end:
            if waited:
                print("    (machine %s: %.0f%% busy)" % ("quiet again" if busy <= NOISY_PCT / 2
                                                        else "still busy, going on", busy), flush=True)
            return busy
        if not waited:
            print("    waiting for other processes to finish (%.0f%% busy) ..." % busy, flush=True)
            waited = True
        time.sleep(2.0)


SYSCALL_EVENTS = ["syscalls:sys_enter_recvmmsg", "syscalls:sys_enter_recvmsg",
                  "syscalls:sys_enter_recvfrom", "syscalls:sys_enter_sendmmsg",
                  "syscalls:sys_enter_sendmsg", "syscalls:sys_enter_sendto",
                  "syscalls:sys_enter_epoll_wait", "syscalls:sys_enter_ppoll",
                  "syscalls:sys_enter_poll"]


def start_syscall_count(pids):
    """perf stat counting the server's receive/send/wait system calls
    (--count-syscalls), or None if perf or the tracepoints are missing."""
    tids = []
    for p in pids:
        try:
            tids += os.listdir("/proc/%d/task" % p)
        except OSError:
            pass
    if not tids or not os.access("/usr/bin/perf", os.X_OK):
        return None
    return subprocess.Popen(["perf", "stat", "-x", ",", "-e", ",".join(SYSCALL_EVENTS),
                             "-t", ",".join(tids)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop_syscall_count(proc):
    if proc is None:
        return None
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None
    out = {}
    for line in err.splitlines():
        f = line.split(",")
        if len(f) > 2 and f[2].startswith("syscalls:sys_enter_") and f[0].isdigit():
            out[f[2][len("syscalls:sys_enter_"):]] = int(f[0])
    return out or None


def run_dnsperf(args, run, qfile, duration):
    """One bounded dnsperf run. Besides dnsperf's figures, account CPU time:
    the server's own (its process tree, all threads), dnsperf's, and whatever
    else ran on the machine meanwhile ("other"), which spoils a run."""
    argv = dnsperf_argv(args, run.port, qfile, duration)
    sys0, steal0 = system_ticks()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if BUDGET:
        BUDGET.check_pinning(proc_tree(run.proc.pid))
        thr0 = BUDGET.stat(run.srv.name)
    before = cpu_ticks(proc_tree(run.proc.pid))
    user0 = cpu_ticks(proc_tree(run.proc.pid), user_only=True)
    cs0 = ctx_switches(proc_tree(run.proc.pid))
    counter = start_syscall_count(proc_tree(run.proc.pid)) if args.count_syscalls else None
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=duration + args.timeout + 30)
    wall = time.monotonic() - t0
    sc = stop_syscall_count(counter)
    after = cpu_ticks(proc_tree(run.proc.pid))
    user1 = cpu_ticks(proc_tree(run.proc.pid), user_only=True)
    cs1 = ctx_switches(proc_tree(run.proc.pid))
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    sys1, steal1 = system_ticks()
    r = parse_dnsperf(p.stdout)
    if p.returncode != 0 or not r["completed"]:
        raise RuntimeError("dnsperf failed (%d): %s" % (p.returncode, (p.stderr or p.stdout)[-300:]))
    ticks = sum(v - before.get(pid, 0) for pid, v in after.items())
    r["server_cpu_s"] = ticks / CLK_TCK
    r["cpu_us_per_q"] = r["server_cpu_s"] * 1e6 / r["completed"]
    # user space only: the server's own work, the rest is the kernel's
    r["user_us_per_q"] = (sum(v - user0.get(pid, 0) for pid, v in user1.items())
                          / CLK_TCK * 1e6 / r["completed"])
    r["wakeups_per_kq"] = 1000.0 * (cs1 - cs0) / r["completed"]
    if sc:
        r["syscalls_per_kq"] = {k: round(1000.0 * v / r["completed"], 1) for k, v in sc.items() if v}
    r["dnsperf_cpu_s"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    cap = wall * (os.cpu_count() or 1)
    busy = (sys1 - sys0) / CLK_TCK
    r["wall_s"] = wall
    r["machine_busy_pct"] = 100.0 * busy / cap
    r["other_cpu_pct"] = max(0.0, 100.0 * (busy - r["server_cpu_s"] - r["dnsperf_cpu_s"]) / cap)
    r["steal_pct"] = 100.0 * (steal1 - steal0) / CLK_TCK / cap
    if BUDGET:
        # How much of its budget the server used, and in how many quota
        # periods it hit the cap: near 100% and most periods means the
        # server, not dnsperf, was the bottleneck.
        thr1 = BUDGET.stat(run.srv.name)
        r["budget_used_pct"] = 100.0 * r["server_cpu_s"] / (wall * BUDGET.pct / 100.0)
        periods = thr1.get("periods", 0) - thr0.get("periods", 0)
        r["throttled_periods_pct"] = (100.0 * (thr1.get("throttled", 0) - thr0.get("throttled", 0))
                                      / periods if periods else None)
    return r


# ---------------------------------------------------------------- reporting

def fmt(v, spec, none="-"):
    return none if v is None else format(v, spec)


def mib(kib):
    return None if kib is None else kib / 1024.0


def ratio(a, b):
    return a / b if a is not None and b else None


def summarize(all_runs):
    """Figures over the rounds. Runs still spoiled by other load after the
    retries are left out, as long as at least one clean run remains."""
    if not all_runs:
        return {}
    runs = [r for r in all_runs if r["other_cpu_pct"] <= NOISY_PCT] or all_runs
    done = sum(r["completed"] for r in runs)
    cpu = sum(r["server_cpu_s"] for r in runs)
    return {
        "qps_median": statistics.median(r["qps"] for r in runs),
        "qps_all": [r["qps"] for r in runs],
        "lat_avg_ms": statistics.mean(r["lat_avg_s"] for r in runs) * 1e3,
        "lat_sd_ms": statistics.mean(r["lat_sd_s"] for r in runs) * 1e3,
        "cpu_us_per_q": cpu * 1e6 / done if done else None,
        "cpu_us_per_q_all": [r["cpu_us_per_q"] for r in runs],
        "lost": sum(r["lost"] for r in runs),
        "completed": done,
        "resp_bytes": runs[-1].get("resp_bytes"),
        "other_cpu_pct_max": max(r["other_cpu_pct"] for r in runs),
        "runs_used": len(runs),
        "runs_noisy_left_out": len(all_runs) - len(runs),
        "budget_used_pct": _median_of(runs, "budget_used_pct"),
        "wakeups_per_kq": _median_of(runs, "wakeups_per_kq"),
        "user_us_per_q": _median_of(runs, "user_us_per_q"),
        "throttled_periods_pct": _median_of(runs, "throttled_periods_pct"),
    }


def _median_of(runs, key):
    v = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(v) if v else None


COLS = ["server", "QPS (median)", "latency ms avg (sd)", "CPU µs/query", "RSS MiB",
        "PSS MiB", "startup s", "lost", "resp B", "other load %"]
NOISY_PCT = 10.0   # CPU used by unrelated processes during a run, % of the machine


def table_rows(zres, order):
    rows = []
    for name in order:
        s = zres["servers"].get(name)
        if s is None:
            continue
        if s.get("status") != "ok":
            rows.append([name, "FAILED: " + s.get("error", "?")[:60]] + [""] * (len(COLS) - 2))
            continue
        sm = s.get("summary", {})
        mem = s.get("mem", {})
        rows.append([
            name + (" (floor)" if S.BY_NAME[name].floor else ""), fmt(sm.get("qps_median"), ",.0f"),
            "%s (%s)" % (fmt(sm.get("lat_avg_ms"), ".3f"), fmt(sm.get("lat_sd_ms"), ".3f")),
            fmt(sm.get("cpu_us_per_q"), ".2f"), fmt(mib(mem.get("rss_kib")), ".1f"),
            fmt(mib(mem.get("pss_kib")), ".1f"), fmt(s.get("startup_s"), ".3f"),
            fmt(sm.get("lost"), "d"), fmt(sm.get("resp_bytes"), "d"),
            fmt(sm.get("other_cpu_pct_max"), ".0f")])
    return rows


def ratio_rows(zres, order):
    base = zres["servers"].get("runway")
    if not base or base.get("status") != "ok":
        return []
    rows = []
    for name in order:
        s = zres["servers"].get(name)
        if name == "runway" or S.BY_NAME[name].floor or not s or s.get("status") != "ok":
            continue
        r = zres.setdefault("ratios", {})[name] = {
            "qps": ratio(base.get("summary", {}).get("qps_median"), s.get("summary", {}).get("qps_median")),
            "cpu_per_query": ratio(base.get("summary", {}).get("cpu_us_per_q"),
                                   s.get("summary", {}).get("cpu_us_per_q")),
            "rss": ratio(base["mem"]["rss_kib"], s["mem"]["rss_kib"]),
            "pss": ratio(base["mem"]["pss_kib"], s["mem"]["pss_kib"]),
            "startup": ratio(base.get("startup_s"), s.get("startup_s")),
        }
        rows.append(["runway / " + name, fmt(r["qps"], ".2f"), fmt(r["cpu_per_query"], ".2f"),
                     fmt(r["rss"], ".2f"), fmt(r["pss"], ".2f"), fmt(r["startup"], ".2f")])
    return rows


RATIO_COLS = ["ratio", "QPS", "CPU/query", "RSS", "PSS", "startup"]

BUDGET_COLS = ["server", "q/s at budget (median)", "x echo", "rounds (q/s)", "CPU µs/query",
               "budget ÷ CPU/query", "x echo", "budget used %", "throttled periods %", "lost",
               "resp B", "other load %"]


def budget_rows(zres, order):
    """The fixed-CPU-budget table: q/s each server reaches on its budget,
    against the echo floor, every round, and whether the cap was what
    limited it (budget used, periods throttled)."""
    def qps(name):
        s = zres["servers"].get(name) or {}
        return s.get("summary", {}).get("qps_median") if s.get("status") == "ok" else None
    def per_cpu(name):
        """q/s the budget buys at the server's measured CPU per query: the
        same as q/s at budget when the quota binds, and still meaningful
        when something else (a busy machine) held the server below it."""
        s = zres["servers"].get(name) or {}
        us = s.get("summary", {}).get("cpu_us_per_q") if s.get("status") == "ok" else None
        return BUDGET.pct / 100.0 * 1e6 / us if us else None
    floor = next((qps(n) for n in order if S.BY_NAME[n].floor), None)
    floor_cpu = next((per_cpu(n) for n in order if S.BY_NAME[n].floor), None)
    rows = []
    for name in order:
        s = zres["servers"].get(name)
        if s is None:
            continue
        if s.get("status") != "ok":
            rows.append([name, "FAILED: " + s.get("error", "?")[:60]] + [""] * (len(BUDGET_COLS) - 2))
            continue
        sm = s.get("summary", {})
        rows.append([
            name + (" (floor)" if S.BY_NAME[name].floor else ""), fmt(sm.get("qps_median"), ",.0f"),
            fmt(ratio(sm.get("qps_median"), floor), ".3f"),
            " ".join("%.1fk" % (q / 1000) for q in sm.get("qps_all", [])),
            fmt(sm.get("cpu_us_per_q"), ".2f"), fmt(per_cpu(name), ",.0f"),
            fmt(ratio(per_cpu(name), floor_cpu), ".3f"), fmt(sm.get("budget_used_pct"), ".0f"),
            fmt(sm.get("throttled_periods_pct"), ".0f"), fmt(sm.get("lost"), "d"),
            fmt(sm.get("resp_bytes"), "d"), fmt(sm.get("other_cpu_pct_max"), ".0f")])
    return rows


def budget_ratio_rows(zres, order):
    base = zres["servers"].get("runway")
    if not base or base.get("status") != "ok":
        return []
    rows = []
    for name in order:
        s = zres["servers"].get(name)
        if name == "runway" or not s or s.get("status") != "ok":
            continue
        r = ratio(base.get("summary", {}).get("qps_median"), s.get("summary", {}).get("qps_median"))
        zres.setdefault("ratios", {})[name] = {"qps_at_budget": r}
        rows.append(["runway / " + name, fmt(r, ".3f")])
    return rows


def text_table(cols, rows):
    w = [max(len(str(x)) for x in col) for col in zip(cols, *rows)]
    line = lambda r: "  ".join(str(x).rjust(w[i]) if i else str(x).ljust(w[i])  # noqa: E731
                               for i, x in enumerate(r))
    return "\n".join([line(cols), "  ".join("-" * x for x in w)] + [line(r) for r in rows])


def md_table(cols, rows):
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    out += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(out)


def machine_info():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "python": platform.python_version()}


# ---------------------------------------------------------------- modes

def prepare_zone(zone):
    t = time.monotonic()
    path, info = Z.make_zone(OUT, zone)
    qfile, mix = Z.make_queries(OUT, zone, info)
    with open(path, "rb") as f:          # warm the page cache for every server alike
        while f.read(1 << 22):
            pass
    print("zone %-5s %9d records, %7d names with A; generated in %.2f s; queries: %s"
          % (zone, info.records, len(info.a), time.monotonic() - t, qfile), flush=True)
    return path, info, qfile, mix


def bench_throughput(args, order, results):
    for zone in args.zones:
        path, info, qfile, mix = prepare_zone(zone)
        zres = results["zones"][zone] = {"records": info.records, "query_mix": mix,
                                         "queries_file": os.path.relpath(qfile, REPO),
                                         "servers": {}}
        running = {}
        try:
            for name in order:            # start one at a time: startup is measured alone
                srv = S.BY_NAME[name]
                port = args.port_base + srv.offset
                ent = zres["servers"][name] = {"port": port, "version": results["versions"].get(name)}
                if args.quiet_wait > 0:
                    wait_quiet(args.quiet_wait)
                try:
                    run, st = start_server(srv, zone, path, port, args.startup_timeout)
                except Exception as e:
                    ent.update(status="failed", error=str(e))
                    print("  %-6s FAILED to start: %s" % (name, e), flush=True)
                    continue
                ent.update(status="ok", **st)
                ent["probes"] = {} if srv.floor else probes(port, info)
                running[name] = run
                print("  %-6s up in %.3f s, RSS %.1f MiB (port %d); answers %s"
                      % (name, st["startup_s"], mib(st["mem"]["rss_kib"]), port,
                         probe_summary(ent["probes"])), flush=True)
            if args.warmup > 0:
                for name, run in running.items():
                    try:
                        run_dnsperf(args, run, qfile, args.warmup)
                    except Exception as e:
                        print("  %-6s warm-up failed: %s" % (name, e), flush=True)
            for rnd in range(args.rounds):
                for name in order:        # A B C D E A B C D E ...
                    run = running.get(name)
                    if run is None:
                        continue
                    ent = zres["servers"][name]
                    try:
                        for attempt in range(args.noisy_retries + 1):
                            if args.quiet_wait > 0:
                                wait_quiet(args.quiet_wait)
                            r = run_dnsperf(args, run, qfile, args.duration)
                            if r["other_cpu_pct"] <= NOISY_PCT or attempt == args.noisy_retries:
                                break
                            ent["noisy_discarded"] = ent.get("noisy_discarded", 0) + 1
                            print("  round %d %-6s discarded: other processes used %.0f%% of the "
                                  "machine; again" % (rnd + 1, name, r["other_cpu_pct"]), flush=True)
                            if args.quiet_wait <= 0:
                                time.sleep(5)
                    except Exception as e:
                        ent.setdefault("errors", []).append(str(e))
                        print("  round %d %-6s FAILED: %s" % (rnd + 1, name, e), flush=True)
                        continue
                    ent.setdefault("runs", []).append(r)
                    budget = ("  budget used %.0f%%, throttled %s%% of periods" % (
                        r["budget_used_pct"], fmt(r["throttled_periods_pct"], ".0f"))
                        if "budget_used_pct" in r else "")
                    print("  round %d %-9s %9.0f qps  lat %.3f ms  server %.2f us/q  "
                          "(user %.2f)  %.0f wake-ups/1000 q  lost %d  "
                          "dnsperf %.1f s cpu  other load %.0f%%%s%s  %s"
                          % (rnd + 1, name, r["qps"], r["lat_avg_s"] * 1e3, r["cpu_us_per_q"],
                             r["user_us_per_q"], r["wakeups_per_kq"], r["lost"],
                             r["dnsperf_cpu_s"], r["other_cpu_pct"],
                             " (NOISY)" if r["other_cpu_pct"] > NOISY_PCT else "", budget,
                             r.get("rcodes", {})), flush=True)
                    if "syscalls_per_kq" in r:
                        print("          system calls per 1000 queries: %s" % ", ".join(
                            "%s %s" % kv for kv in sorted(r["syscalls_per_kq"].items())), flush=True)
            for name, run in running.items():
                ent = zres["servers"][name]
                ent["mem_after_load"] = memory(run.proc.pid)
                ent["summary"] = summarize(ent.get("runs", []))
                if not ent.get("runs"):
                    ent["status"], ent["error"] = "failed", "; ".join(ent.get("errors", ["no runs"]))
        finally:
            for run in list(running.values()):
                stop(run)


def bench_startup(args, order, results):
    for zone in args.zones:
        path, info, _qfile, _mix = prepare_zone(zone)
        zres = results["zones"][zone] = {"records": info.records, "servers": {}}
        for name in order:
            srv = S.BY_NAME[name]
            port = args.port_base + srv.offset
            ent = zres["servers"][name] = {"port": port, "version": results["versions"].get(name),
                                           "starts": []}
            for i in range(args.rounds):
                if args.quiet_wait > 0:
                    wait_quiet(args.quiet_wait)
                try:
                    run, st = start_server(srv, zone, path, port, args.startup_timeout)
                except Exception as e:
                    ent.update(status="failed", error=str(e))
                    print("  %-6s FAILED: %s" % (name, e), flush=True)
                    break
                try:
                    r = ask(port, info.a[len(info.a) // 2], "A")
                    st["a_answer_ok"] = bool(r and r["rcode"] == 0 and r["an"] >= 1)
                finally:
                    stop(run)
                ent["starts"].append(st)
                print("  %-6s start %d: %.3f s to first answer, RSS %.1f MiB, PSS %.1f MiB, peak %.1f MiB"
                      % (name, i + 1, st["startup_s"], mib(st["mem"]["rss_kib"]),
                         mib(st["mem"]["pss_kib"]), mib(st["mem"]["hwm_kib"])), flush=True)
            if ent["starts"]:
                best = sorted(ent["starts"], key=lambda s: s["startup_s"])[len(ent["starts"]) // 2]
                ent["status"] = "ok" if "error" not in ent else "failed"
                ent["startup_s"] = statistics.median(s["startup_s"] for s in ent["starts"])
                ent["mem"] = {k: statistics.median(s["mem"][k] for s in ent["starts"])
                              for k in best["mem"]}


STARTUP_COLS = ["server", "startup s (median)", "RSS MiB", "PSS MiB", "peak RSS MiB"]


def startup_rows(zres, order):
    rows = []
    for name in order:
        s = zres["servers"].get(name)
        if s is None:
            continue
        if s.get("status") != "ok":
            rows.append([name, "FAILED: " + s.get("error", "?")[:60], "", "", ""])
            continue
        m = s["mem"]
        rows.append([name, fmt(s["startup_s"], ".3f"), fmt(mib(m["rss_kib"]), ".1f"),
                     fmt(mib(m["pss_kib"]), ".1f"), fmt(mib(m["hwm_kib"]), ".1f")])
    return rows


def startup_ratio_rows(zres, order):
    base = zres["servers"].get("runway")
    if not base or base.get("status") != "ok":
        return []
    rows = []
    for name in order:
        s = zres["servers"].get(name)
        if name == "runway" or S.BY_NAME[name].floor or not s or s.get("status") != "ok":
            continue
        r = zres.setdefault("ratios", {})[name] = {
            "startup": ratio(base["startup_s"], s["startup_s"]),
            "rss": ratio(base["mem"]["rss_kib"], s["mem"]["rss_kib"]),
            "pss": ratio(base["mem"]["pss_kib"], s["mem"]["pss_kib"])}
        rows.append(["runway / " + name, fmt(r["startup"], ".2f"), fmt(r["rss"], ".2f"),
                     fmt(r["pss"], ".2f")])
    return rows


# ---------------------------------------------------------------- main

def _interrupted(signum, frame):
    raise KeyboardInterrupt

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="runway,runway-bp,knot,nsd,gdnsd,bind,echo",
                    help="echo: not a DNS server, the UDP floor (bench/echo.c); runway-bp: "
                         "runwayd with server.busy_poll --runway-bp-us")
    ap.add_argument("--runwayd", default=os.path.join(REPO, "build", "runwayd"),
                    help="runwayd binary (default build/runwayd)")
    ap.add_argument("--zones", default=None, help="default small,100k,1m (startup-only: 100k,1m)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds per dnsperf run")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of unrecorded load per server (0: none)")
    ap.add_argument("--port-base", type=int, default=15300)
    ap.add_argument("--cpu-budget", type=int, default=40, metavar="PCT",
                    help="the headline mode: each server pinned to one core (--server-cpu) and "
                         "held to PCT%%%% of it by a cgroup CPU quota, one UDP worker, dnsperf "
                         "pinned to another core (--client-cpu); 0: off (servers and dnsperf "
                         "share every core, --workers each)")
    ap.add_argument("--server-cpu", type=int, default=None,
                    help="core of the server under test (default: the last one)")
    ap.add_argument("--client-cpu", type=int, default=0, help="core of dnsperf (default 0)")
    ap.add_argument("--workers", type=int, default=None,
                    help="UDP workers for every server (default: 1 with --cpu-budget, else 2 = "
                         "one per core)")
    ap.add_argument("--runway-busy-poll", type=int, default=None, metavar="US",
                    help="runwayd's server.busy_poll in microseconds (default: runwayd's own)")
    ap.add_argument("--runwayd-base", default=None, metavar="PATH",
                    help="the runwayd binary of the runway-base server (not in the default list): "
                         "before/after a change in one alternation")
    ap.add_argument("--runway-bp-us", type=int, default=20, metavar="US",
                    help="server.busy_poll of the runway-bp server (default 20)")
    ap.add_argument("--startup-only", action="store_true",
                    help="only time to first answer and memory (each server started alone, ROUNDS times)")
    ap.add_argument("--startup-timeout", type=float, default=600.0)
    ap.add_argument("--clients", type=int, default=16, help="dnsperf -c")
    ap.add_argument("--threads", type=int, default=1, help="dnsperf -T")
    ap.add_argument("--outstanding", type=int, default=100, help="dnsperf -q")
    ap.add_argument("--timeout", type=int, default=2, help="dnsperf -t")
    ap.add_argument("--edns", action="store_true", help="dnsperf -e (EDNS0 on every query)")
    ap.add_argument("--count-syscalls", action="store_true",
                    help="count each server's receive, send and wait system calls per query "
                         "with perf stat (tracepoints; adds a little overhead to every call)")
    ap.add_argument("--quiet-wait", type=float, default=120.0,
                    help="before each run wait up to this many seconds for the machine to be "
                         "idle (0: don't wait)")
    ap.add_argument("--noisy-retries", type=int, default=2,
                    help="repeat a run (up to N times) when unrelated processes used more than "
                         "%d%%%% of the machine during it" % NOISY_PCT)
    args = ap.parse_args()
    budget_mode = args.cpu_budget > 0 and not args.startup_only
    S.WORKERS = args.workers or (1 if budget_mode else 2)
    S.RUNWAY_BUSY_POLL = args.runway_busy_poll
    S.RUNWAY_BP_VARIANT = args.runway_bp_us

    order = [s.strip() for s in args.servers.split(",") if s.strip()]
    bad = [s for s in order if s not in S.BY_NAME]
    if args.zones is None:
        args.zones = "100k,1m" if args.startup_only else "small,100k,1m"
    args.zones = [z.strip() for z in args.zones.split(",") if z.strip()]
    badz = [z for z in args.zones if z not in Z.ZONE_SIZES]
    if bad or badz:
        ap.error("unknown server(s)/zone(s): %s" % ", ".join(bad + badz))
    if args.startup_only:
        order = [n for n in order if not S.BY_NAME[n].floor]
    if not (1 <= args.rounds <= 50 and 1 <= args.duration <= 600 and 0 <= args.warmup <= 60):
        ap.error("rounds 1..50, duration 1..600 s, warmup 0..60 s")
    if not (1024 <= args.port_base <= 65000):
        ap.error("port base 1024..65000")
    if not args.startup_only and not os.access("/usr/bin/dnsperf", os.X_OK):
        sys.exit("dnsperf is missing: run scripts/deps.sh bench")
    os.makedirs(OUT, exist_ok=True)
    for name in order:
        if S.is_runway(name):
            S.BY_NAME[name].path = os.path.abspath(args.runwayd)
    if "runway-base" in order:
        if not args.runwayd_base:
            ap.error("runway-base needs --runwayd-base PATH")
        S.BY_NAME["runway-base"].path = os.path.abspath(args.runwayd_base)
    global BUDGET
    if budget_mode:
        if args.server_cpu is None:
            args.server_cpu = (os.cpu_count() or 1) - 1
        if args.server_cpu == args.client_cpu:
            ap.error("--server-cpu and --client-cpu must differ")
        if not os.access("/usr/bin/taskset", os.X_OK):
            sys.exit("taskset is missing (util-linux)")
        try:
            BUDGET = cpubudget.CpuBudget(args.cpu_budget, args.server_cpu, args.client_cpu)
        except (ValueError, RuntimeError) as e:
            sys.exit("--cpu-budget: %s" % e)
        # SIGTERM/SIGHUP end the run like ^C: servers stopped, groups removed.
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _interrupted)

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    results = {
        "mode": "startup-only" if args.startup_only else "throughput",
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "args": {k: v for k, v in vars(args).items()},
        "dnsperf": None if args.startup_only else
        " ".join(dnsperf_argv(args, 0, "QUERIES", args.duration)).replace(" -p 0", " -p PORT"),
        "versions": {n: version_of(S.BY_NAME[n]) for n in order},
        "budget": BUDGET.describe() if BUDGET else None,
        "zones": {},
    }
    if BUDGET:
        print("fixed CPU budget: %s" % BUDGET.describe(), flush=True)
    print("runway bench: servers %s, zones %s, %s" % (
        ",".join(order), ",".join(args.zones),
        "startup-only, %d start(s) each" % args.rounds if args.startup_only else
        "%d round(s) x %d s, %s" % (args.rounds, args.duration, results["dnsperf"])), flush=True)

    try:
        if args.startup_only:
            bench_startup(args, order, results)
        else:
            bench_throughput(args, order, results)
    except KeyboardInterrupt:
        print("interrupted; stopping servers", flush=True)
    finally:
        for run in list(LIVE):
            stop(run)
        if BUDGET:
            BUDGET.close()

    # ---- report
    text, md = [], []
    md.append("Measured %s on %s (%d cores), kernel %s." % (
        results["started"], results["machine"]["cpu"] or "?", results["machine"]["cores"],
        results["machine"]["kernel"]))
    md.append("Versions: " + ", ".join("%s %s" % (n, v or "?") for n, v in results["versions"].items()) + ".")
    if args.startup_only:
        md.append("Mode: --startup-only, %d start(s) per server, medians. `%s`" % (
            args.rounds, "make bench BENCH_ARGS=\"" + " ".join(sys.argv[1:]) + "\""))
    else:
        if BUDGET:
            md.append("Fixed CPU budget: %s; one UDP worker per server." % results["budget"])
        md.append("Load: `%s`, %d round(s) x %d s, servers alternated; QPS is the median round. "
                  "Command: `make bench BENCH_ARGS=\"%s\"`" % (
                      results["dnsperf"], args.rounds, args.duration, " ".join(sys.argv[1:])))
    for zone in args.zones:
        zres = results["zones"].get(zone)
        if not zres:
            continue
        head = "zone %s (%d records)" % (zone, zres["records"])
        if args.startup_only:
            rows, rrows = startup_rows(zres, order), startup_ratio_rows(zres, order)
            cols, rcols = STARTUP_COLS, ["ratio", "startup", "RSS", "PSS"]
        elif BUDGET:
            rows, rrows = budget_rows(zres, order), budget_ratio_rows(zres, order)
            cols, rcols = BUDGET_COLS, ["ratio", "q/s at budget"]
        else:
            rows, rrows = table_rows(zres, order), ratio_rows(zres, order)
            cols, rcols = COLS, RATIO_COLS
        text += ["", head, text_table(cols, rows)]
        md += ["", "### " + head, "", md_table(cols, rows)]
        if rrows:
            text += ["", text_table(rcols, rrows)]
            md += ["", md_table(rcols, rrows)]
    print("\n".join(text))

    name = "results-%s%s.json" % ("startup-" if args.startup_only else "", stamp)
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(results, f, indent=1, default=str)
    mdname = "results-startup.md" if args.startup_only else "results.md"
    with open(os.path.join(OUT, mdname), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\nwrote bench/out/%s and bench/out/%s" % (name, mdname))
    failed = [n for z in results["zones"].values() for n, s in z["servers"].items()
              if s.get("status") != "ok"]
    if failed:
        print("failed: %s" % ", ".join(sorted(set(failed))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
