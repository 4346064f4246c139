# SPDX-License-Identifier: GPL-3.0-or-later
"""How each server under test is configured, started and stopped.

Every server serves the same zone file (hard-linked into its own run dir)
on 127.0.0.1:<port>, runs as root in the foreground, with two UDP worker
threads (or processes), quiet logging, no rate limiting and minimal
responses. Each class writes its config into `workdir` and returns the
command line that starts it.
"""

import os
import shutil
import subprocess


def _link(src, dst):
    if os.path.lexists(dst):
        os.unlink(dst)
    try:
        os.link(src, dst)           # gdnsd refuses symlinks; a hard link is free
    except OSError:
        shutil.copyfile(src, dst)


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


# UDP workers (threads or processes) every server gets: the same for all, so
# the comparison is fair. run.py --workers sets it. 2 = one per core; on a
# 2-core machine shared with dnsperf, 1 leaves dnsperf a core of its own.
WORKERS = 2
# runwayd's server.busy_poll in microseconds (bench/run.py --runway-busy-poll);
# None: runwayd's default.
RUNWAY_BUSY_POLL = None
# server.busy_poll of the "runway-bp" variant (bench/run.py --runway-bp-us).
RUNWAY_BP_VARIANT = 20


class Server:
    floor = False         # a reference point, not a DNS server (no ratios, no SOA check)
    name = "?"
    binary = "?"
    offset = 0            # port = port_base + offset
    label = "?"

    def available(self, repo):
        return os.access(self.binary_path(repo), os.X_OK)

    def binary_path(self, repo):
        return self.binary

    def version(self, repo):
        return ""

    def setup(self, repo, workdir, zonefile, port):
        """Write config into workdir; return argv."""
        raise NotImplementedError


class Runway(Server):
    name, offset, label = "runway", 0, "runwayd"

    path = None           # set from --runwayd

    def binary_path(self, repo):
        return self.path or os.path.join(repo, "build", "runwayd")

    def busy_poll(self):
        return RUNWAY_BUSY_POLL

    def setup(self, repo, workdir, zonefile, port):
        _link(zonefile, os.path.join(workdir, "example.com.zone"))
        cfg = os.path.join(workdir, "runway.yaml")
        bp = self.busy_poll()
        _write(cfg, "server:\n"
                    '  listen: ["127.0.0.1:%d"]\n'
                    "  workers: %d\n"
                    "%s"
                    "zones:\n"
                    "  - name: example.com.\n"
                    "    file: example.com.zone\n"
                    % (port, WORKERS, "" if bp is None else "  busy_poll: %d\n" % bp))
        return [self.binary_path(repo), "-c", cfg]


class RunwayBusyPoll(Runway):
    """The same runwayd with server.busy_poll set (--runway-bp-us, default 20):
    the polling worker beside the default one."""
    name, offset, label = "runway-bp", 6, "runwayd busy_poll"

    def busy_poll(self):
        return RUNWAY_BP_VARIANT


class Knot(Server):
    name, offset, label, binary = "knot", 1, "Knot DNS", "/usr/sbin/knotd"

    def setup(self, repo, workdir, zonefile, port):
        _link(zonefile, os.path.join(workdir, "example.com.zone"))
        os.makedirs(os.path.join(workdir, "db"), exist_ok=True)
        cfg = os.path.join(workdir, "knot.conf")
        # udp-workers 2 = one per core. tcp-workers 1 (TCP is not measured;
        # Knot's default is >= 10 threads). No modules, so no RRL.
        # journal-content none / zonefile-sync -1: load the file, write nothing.
        _write(cfg, """server:
    rundir: "{w}"
    pidfile: "{w}/knot.pid"
    listen: 127.0.0.1@{port}
    udp-workers: {workers}
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "{w}/db"
template:
  - id: default
    storage: "{w}"
    zonefile-load: whole
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: example.com.
    file: "{w}/example.com.zone"
""".format(w=workdir, port=port, workers=WORKERS))
        return [self.binary, "-c", cfg]


class NSD(Server):
    name, offset, label, binary = "nsd", 2, "NSD", "/usr/sbin/nsd"

    def setup(self, repo, workdir, zonefile, port):
        _link(zonefile, os.path.join(workdir, "example.com.zone"))
        cfg = os.path.join(workdir, "nsd.conf")
        # server-count 2 = two server processes (one per core), each with its
        # own SO_REUSEPORT socket. RRL off (Debian enables it by default),
        # minimal-responses so no NS/glue is added to positive answers.
        # rrl-size 1: with RRL off NSD still allocates its (unused) RRL table,
        # 1M buckets = 62 MiB of shared memory by default.
        _write(cfg, """server:
    ip-address: 127.0.0.1@{port}
    do-ip6: no
    server-count: {workers}
    reuseport: yes
    username: ""
    chroot: ""
    zonesdir: "{w}"
    database: ""
    zonefiles-write: 0
    zonelistfile: "{w}/zone.list"
    xfrdfile: "{w}/xfrd.state"
    pidfile: "{w}/nsd.pid"
    cookie-secret-file: "{w}/cookiesecrets.txt"
    verbosity: 0
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    rrl-size: 1
    minimal-responses: yes
    tcp-count: 10
remote-control:
    control-enable: no
zone:
    name: example.com.
    zonefile: "{w}/example.com.zone"
""".format(w=workdir, port=port, workers=WORKERS))
        return [self.binary, "-d", "-c", cfg]


class Gdnsd(Server):
    name, offset, label, binary = "gdnsd", 3, "gdnsd", "/usr/sbin/gdnsd"

    def setup(self, repo, workdir, zonefile, port):
        etc = os.path.join(workdir, "etc")
        zones = os.path.join(etc, "zones")
        os.makedirs(zones, exist_ok=True)
        _link(zonefile, os.path.join(zones, "example.com"))
        # gdnsd 3: config dir holds `config` and zones/ (file name = zone name).
        # udp_threads 2 (one SO_REUSEPORT socket + thread each), tcp_threads 1.
        # gdnsd has no RRL and sends no authority/additional for answers.
        _write(os.path.join(etc, "config"), """options => {{
  listen => [ 127.0.0.1:{port} ]
  udp_threads => {workers}
  tcp_threads => 1
  run_dir => "{w}/run"
  state_dir => "{w}/state"
}}
""".format(w=workdir, port=port, workers=WORKERS))
        return [self.binary, "-c", etc, "start"]


class Bind(Server):
    name, offset, label, binary = "bind", 4, "BIND 9", "/usr/sbin/named"

    def setup(self, repo, workdir, zonefile, port):
        _link(zonefile, os.path.join(workdir, "example.com.zone"))
        cfg = os.path.join(workdir, "named.conf")
        # -n 2: two worker threads (BIND 9.18 gives each its own UDP
        # listener). No rate-limit clause = no RRL. Logging: warnings only.
        _write(cfg, """options {{
    directory "{w}";
    pid-file "{w}/named.pid";
    session-keyfile "{w}/session.key";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    minimal-responses yes;
    dnssec-validation no;
    allow-transfer {{ none; }};
    notify no;
    querylog no;
}};
controls {{ }};
logging {{
    channel quiet {{ stderr; severity warning; }};
    category default {{ quiet; }};
    category lame-servers {{ null; }};
}};
zone "example.com" {{
    type primary;
    file "{w}/example.com.zone";
}};
""".format(w=workdir, port=port, workers=WORKERS))
        return [self.binary, "-f", "-4", "-n", str(WORKERS), "-c", cfg]


class Echo(Server):
    """Not a DNS server: bench/echo.c returns each query with QR set. The
    floor of the per-query cost (kernel UDP path + syscalls) on this machine."""
    name, offset, label = "echo", 5, "UDP echo (floor)"
    floor = True

    def binary_path(self, repo):
        return os.path.join(repo, "bench", "out", "echo")

    def available(self, repo):
        src = os.path.join(repo, "bench", "echo.c")
        out = self.binary_path(repo)
        if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
            os.makedirs(os.path.dirname(out), exist_ok=True)
            subprocess.run(["cc", "-O2", "-Wall", "-o", out, src, "-lpthread"], check=False)
        return os.access(out, os.X_OK)

    def setup(self, repo, workdir, zonefile, port):
        return [self.binary_path(repo), str(port), str(WORKERS)]


class RunwayBase(Runway):
    """Another runwayd binary (--runwayd-base, e.g. a build of the previous
    commit), with its own defaults: before and after a change, measured in
    the same alternation."""
    name, offset, label = "runway-base", 7, "runwayd (base)"

    def busy_poll(self):
        return None


ALL = [Runway(), RunwayBusyPoll(), RunwayBase(), Knot(), NSD(), Gdnsd(), Bind(), Echo()]
BY_NAME = {s.name: s for s in ALL}


def is_runway(name):
    return isinstance(BY_NAME[name], Runway)
