# SPDX-License-Identifier: GPL-3.0-or-later
"""A fixed CPU budget for a server under test: pinned to one core and held
to a share of it by a cgroup CPU quota (bench/run.py --cpu-budget).

The quota is a cgroup v2 `cpu.max` where the unified hierarchy has the cpu
controller, else a cgroup v1 `cpu.cfs_quota_us` (hybrid hosts: the cpu
controller mounted at /sys/fs/cgroup/cpu). The bench makes one group of its
own, `runway-bench-<pid>`, with one child per server; `close()` removes them
(run.py calls it on every exit, signals included), and groups left by a run
that was killed with SIGKILL are removed by the next one (`sweep_stale`).

Pinning is sched_setaffinity() on the process before it execs (threads
inherit it), checked on every thread once the server answers, and re-applied
to any thread the server moved itself.
"""

import os
import time

PREFIX = "runway-bench-"


def _read(path):
    with open(path) as f:
        return f.read()


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _find_hierarchy():
    """(version, directory where our groups go) or raise RuntimeError."""
    v2 = "/sys/fs/cgroup"
    try:
        if "cpu" in _read(os.path.join(v2, "cgroup.controllers")).split():
            return 2, v2
    except OSError:
        pass
    for v1 in ("/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"):
        if os.path.exists(os.path.join(v1, "cpu.cfs_quota_us")):
            return 1, v1
    raise RuntimeError("no cgroup with the cpu controller (v2 /sys/fs/cgroup/cgroup.controllers "
                       "or v1 /sys/fs/cgroup/cpu/cpu.cfs_quota_us)")


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _rmtree_groups(top):
    """Remove a group and its children (cgroups are removed with rmdir, leaves
    first); a group still holding processes stays. Returns what is left."""
    left = []
    for name in sorted(os.listdir(top)) if os.path.isdir(top) else []:
        sub = os.path.join(top, name)
        if os.path.isdir(sub):
            left += _rmtree_groups(sub)
    try:
        os.rmdir(top)
    except FileNotFoundError:
        pass
    except OSError:
        left.append(top)
    return left


def sweep_stale(base):
    """Groups of earlier bench runs whose process is gone (killed with -9)."""
    for name in os.listdir(base):
        if name.startswith(PREFIX) and name[len(PREFIX):].isdigit():
            if not _pid_alive(int(name[len(PREFIX):])):
                _rmtree_groups(os.path.join(base, name))


class CpuBudget:
    """pct: percent of one core (1..100); server_cpu, client_cpu: core numbers."""

    def __init__(self, pct, server_cpu, client_cpu, period_us=100000):
        if not 1 <= pct <= 100:
            raise ValueError("CPU budget must be 1..100 percent of a core")
        ncpu = os.cpu_count() or 1
        if not (0 <= server_cpu < ncpu and 0 <= client_cpu < ncpu):
            raise ValueError("cores are 0..%d" % (ncpu - 1))
        self.pct, self.server_cpu, self.client_cpu = pct, server_cpu, client_cpu
        self.period_us = period_us
        self.quota_us = period_us * pct // 100
        self.version, base = _find_hierarchy()
        sweep_stale(base)
        self.top = os.path.join(base, PREFIX + str(os.getpid()))
        try:
            os.mkdir(self.top)
            if self.version == 2:
                # children may only get cpu.max if their parent delegates cpu
                root_ctl = os.path.join(base, "cgroup.subtree_control")
                if "cpu" not in _read(root_ctl).split():
                    _write(root_ctl, "+cpu")
                _write(os.path.join(self.top, "cgroup.subtree_control"), "+cpu")
        except OSError as e:
            self.close()
            raise RuntimeError("cannot create a cgroup under %s (%s): run as root, or "
                               "--cpu-budget 0" % (base, e))
        self.groups = {}

    def describe(self):
        how = ("cgroup v2 cpu.max %d %d" % (self.quota_us, self.period_us) if self.version == 2
               else "cgroup v1 cpu.cfs_quota_us %d / cpu.cfs_period_us %d"
               % (self.quota_us, self.period_us))
        return ("server pinned to core %d, %d%% of it (%s); dnsperf pinned to core %d"
                % (self.server_cpu, self.pct, how, self.client_cpu))

    def group(self, name):
        """The child group for a server (made once), with the quota set."""
        if name not in self.groups:
            g = os.path.join(self.top, name)
            os.mkdir(g)
            if self.version == 2:
                _write(os.path.join(g, "cpu.max"), "%d %d" % (self.quota_us, self.period_us))
            else:
                _write(os.path.join(g, "cpu.cfs_period_us"), str(self.period_us))
                _write(os.path.join(g, "cpu.cfs_quota_us"), str(self.quota_us))
            self.groups[name] = g
        return self.groups[name]

    def worker_only(self, name, pids, worker_comm):
        """Leave only the threads named worker_comm (the UDP workers) under the
        quota of group name: every other thread of pids goes to an uncapped
        sibling group, still pinned to the server core. So the budget is the
        query workers' and nothing else's (a transfer on the TCP thread then
        cannot take it). cgroup v1 only (v2 moves whole processes); returns
        the threads moved, or None when it cannot."""
        if self.version != 1:
            return None
        free = os.path.join(self.top, name + "-other")
        if not os.path.isdir(free):
            os.mkdir(free)
        moved = []
        for pid in pids:
            try:
                tids = os.listdir("/proc/%d/task" % pid)
            except OSError:
                continue
            for tid in tids:
                try:
                    comm = _read("/proc/%d/task/%s/comm" % (pid, tid)).strip()
                except OSError:
                    continue
                if comm != worker_comm:
                    _write(os.path.join(free, "tasks"), tid)
                    moved.append((int(tid), comm))
        return moved

    def preexec(self, name):
        """For subprocess.Popen(preexec_fn=...): the child joins the group and
        the server core before it execs."""
        procs = os.path.join(self.group(name), "cgroup.procs")
        cpu = self.server_cpu

        def enter():
            _write(procs, "0")          # "0": the writing process itself
            os.sched_setaffinity(0, {cpu})
        return enter

    def client_argv(self, argv):
        return ["taskset", "-c", str(self.client_cpu)] + list(argv)

    def check_pinning(self, pids):
        """Every thread of pids on the server core; re-pin those that are not
        (a server that sets its own affinity). Returns the threads re-pinned."""
        moved = []
        for pid in pids:
            try:
                tids = [int(t) for t in os.listdir("/proc/%d/task" % pid)]
            except OSError:
                continue
            for tid in tids:
                try:
                    if os.sched_getaffinity(tid) != {self.server_cpu}:
                        os.sched_setaffinity(tid, {self.server_cpu})
                        moved.append(tid)
                except OSError:
                    pass
        return moved

    def stat(self, name):
        """Throttling counters of a server's group: {'periods', 'throttled',
        'throttled_s'} (v2 and v1 name them differently)."""
        out = {}
        try:
            for line in _read(os.path.join(self.group(name), "cpu.stat")).splitlines():
                k, v = line.split()
                out[k] = int(v)
        except (OSError, ValueError):
            return {}
        if self.version == 2:
            return {"periods": out.get("nr_periods", 0), "throttled": out.get("nr_throttled", 0),
                    "throttled_s": out.get("throttled_usec", 0) / 1e6}
        return {"periods": out.get("nr_periods", 0), "throttled": out.get("nr_throttled", 0),
                "throttled_s": out.get("throttled_time", 0) / 1e9}

    def close(self):
        """Remove our groups; waits a little for exiting processes."""
        for _ in range(20):
            if not _rmtree_groups(self.top):
                return
            time.sleep(0.1)
