# SPDX-License-Identifier: GPL-3.0-or-later
"""File descriptors: runwayd under a small open-file limit, flooded with TCP
connections, keeps its health checks, its API and UDP working.

runwayd runs under `prlimit --nofile=N:N` (soft and hard: nothing to
raise) with a health-checked primary (rise 1, fall 1: a single probe that
cannot open its socket would take it down) and a read-only API. Idle TCP
connections come from many loopback addresses (20 each, within
tcp.max_per_client), more than the process has descriptors: 400 from 20
addresses under 256, and about the flood of the report (1000 from 50
addresses) under 1024: 1100 from 55. tcp.max_clients
(default 1000) must have been lowered to what the descriptors allow, so the
flood only costs the longest-idle connections their place; the primary stays
up (no probe counted as a failure), /metrics answers, UDP answers, and the
log stays small (no line per refused accept or per probe).

Before the fix the flood took every descriptor: probes failed with
EMFILE and marked the primary down, the API stopped answering, and
libmicrohttpd logged a line per accept() retry.
"""
import re
import resource
import socket
import time

import pytest

import steer_helpers as sh
from abuse_helpers import TOKEN, free_tcp_port
from steer_helpers import addrs, ask

pytestmark = pytest.mark.runway_only

PRIMARY, SECONDARY = "127.0.0.51", "127.0.0.52"


class LimitedServer(sh.SteerServer):
    """SteerServer with a read-only API, started under prlimit --nofile."""

    def __init__(self, workdir, traffic, nofile, **kw):
        self.nofile = nofile
        self.api_port = free_tcp_port()
        super().__init__(workdir, traffic, listen_v6=False, **kw)

    def runway_config(self):
        return (super().runway_config()
                + f'api:\n  listen: "127.0.0.1:{self.api_port}"\n'
                  f"  tokens: [{{ token: {TOKEN}, access: read }}]\n")

    def command(self):
        return ["prlimit", f"--nofile={self.nofile}", "--"] + super().command()

    def metrics_text(self, timeout=5):
        import urllib.request
        req = urllib.request.Request(f"http://127.0.0.1:{self.api_port}/metrics")
        req.add_header("Authorization", f"Bearer {TOKEN}")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read().decode()


def traffic_yaml(port):
    return f"""
health_checks:
  web: {{ type: http, port: {port}, path: /healthz, interval: 200ms, timeout: 150ms,
         rise: 1, fall: 1 }}
endpoints:
  primary: {{ address: [{PRIMARY}], health_check: web }}
  secondary: {{ address: [{SECONDARY}] }}
traffic:
  fo.example.com.:
    ttl: 5
    policy: {{ failover: [primary, secondary] }}
"""


def raise_own_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(hard, need)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    if soft < need:
        pytest.skip(f"the test needs {need} file descriptors, its limit is {soft}")


@pytest.fixture
def limited(tmp_path):
    started = []

    def start(nofile):
        pool = sh.BackendPool([PRIMARY])
        s = LimitedServer(tmp_path / f"srv{len(started)}", traffic_yaml(pool.port), nofile)
        started.append((s, pool))
        s.start()
        pool[PRIMARY].wait_hits(2)
        sh.wait_answer(s, "fo.example.com", [PRIMARY])
        return s, pool

    yield start
    for s, pool in started:
        rc = s.stop()
        pool.stop()
        assert rc == 0, f"runwayd exited with {rc}:\n{s.log_tail()}"


def metric(text, name):
    m = re.search(rf"^{name} (\d+)$", text, re.M)
    assert m, f"{name} missing from /metrics"
    return int(m.group(1))


# (open-file limit, flood sources, connections per source): 256 with more
# connections than descriptors; 1024 with about the flood of the report
# (1000 connections from 50 addresses, the default tcp.max_clients 1000;
# 1100 here, as this server has fewer descriptors of its own open).
@pytest.mark.parametrize("nofile,sources,per_source", [(256, 20, 20), (1024, 55, 20)])
def test_tcp_flood_under_a_small_fd_limit(limited, nofile, sources, per_source):
    raise_own_fd_limit(sources * per_source + 200)
    srv, pool = limited(f"{nofile}:{nofile}")
    m = re.search(rf"tcp: max_clients lowered from 1000 to (\d+): of {nofile} file descriptors",
                  srv.log())
    assert m, f"max_clients not lowered:\n{srv.log_tail()}"
    max_clients = int(m.group(1))
    assert 8 <= max_clients < nofile - 150, max_clients
    log0 = srv.log_size()
    hits0 = pool[PRIMARY].hits

    flood, refused, api_ms, udp_ok = [], 0, [], 0
    t_end = time.monotonic() + 30
    try:
        for i in range(sources * per_source):
            if time.monotonic() > t_end:
                break
            src = f"127.0.1.{1 + i % sources}"
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.settimeout(2)
            try:
                c.bind((src, 0))
                c.connect(("127.0.0.1", srv.port))
                flood.append(c)
            except OSError:
                refused += 1
                c.close()
            if i % 100 == 99:                      # the other services, amid the flood
                t0 = time.monotonic()
                srv.metrics_text(timeout=3)
                api_ms.append((time.monotonic() - t0) * 1000)
                r = ask(srv, "fo.example.com", "A", timeout=2)
                assert addrs(r) == [PRIMARY], f"after {i + 1} connections: {addrs(r)}\n{srv.log_tail()}"
                udp_ok += 1
        # Hold the flood for several check intervals: probes keep running.
        pool[PRIMARY].wait_hits(10)
        for _ in range(10):
            r = ask(srv, "fo.example.com", "A", timeout=2)
            assert addrs(r) == [PRIMARY], f"{addrs(r)}\n{srv.log_tail()}"
            udp_ok += 1
        text = srv.metrics_text(timeout=3)
    finally:
        for c in flood:
            c.close()

    open_now = metric(text, "runway_tcp_connections")
    assert open_now <= max_clients + 1, (open_now, max_clients)
    assert metric(text, "runway_health_probes_unstarted_total") == 0
    log = srv.log()[log0:]
    assert " down: " not in log, log[-2000:]
    lines = log.count("\n")
    assert lines < 60 and len(log) < 20000, f"{lines} log lines during the flood:\n{log[-3000:]}"
    api_ms.sort()
    sh.report(f"fd limit {nofile}: max_clients lowered to {max_clients}; {len(flood)} flood connections "
              f"made ({refused} failed), server holds {open_now}; primary stayed up through "
              f"{pool[PRIMARY].hits - hits0} probes; /metrics max {api_ms[-1]:.0f} ms; "
              f"{udp_ok} UDP answers; {lines} log lines")


def test_soft_limit_raised_to_hard(limited):
    srv, _ = limited("256:4096")
    log = srv.log()
    assert "open file limit raised from 256 to 4096 (the hard limit)" in log, log
    assert "max_clients lowered" not in log


def test_health_targets_added_later_take_their_descriptors_from_tcp(limited):
    """Checks on 40 more addresses (a reload here; the API alike) keep a
    descriptor each out of TCP's share, and give it back when removed."""
    srv, _ = limited("256:256")
    first = int(re.search(r"max_clients lowered from 1000 to (\d+)", srv.log()).group(1))
    base = srv.traffic_yaml
    many = ", ".join(f"127.0.2.{i}" for i in range(1, 41))
    srv.traffic_yaml = base.replace("endpoints:\n", f"endpoints:\n  many: {{ address: [{many}], health_check: web }}\n")
    srv.write_config()
    at = srv.log_size()
    srv.reload()
    m = srv.wait_log(r"tcp: max_clients lowered from (\d+) to (\d+): health checks on 41 address\(es\) now",
                     start=at)
    assert (int(m.group(1)), int(m.group(2))) == (first, first - 40), m.group(0)
    srv.traffic_yaml = base
    srv.write_config()
    at = srv.log_size()
    srv.reload()
    m = srv.wait_log(r"tcp: max_clients raised from (\d+) to (\d+): health checks on 1 address\(es\) now",
                     start=at)
    assert (int(m.group(1)), int(m.group(2))) == (first - 40, first), m.group(0)
