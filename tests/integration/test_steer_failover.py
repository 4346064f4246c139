# SPDX-License-Identifier: GPL-3.0-or-later
"""Health checks driving failover, timed: interval 250 ms, fall 2, rise 2.

A backend is killed (its listening socket closed), answers 503, or answers
without the expected body; a TCP check loses its listener. The time from
the event until the answers switch is measured by polling every ~20 ms
(bounded) and must be at most 1.0 s; the figures are printed (pytest -s)
and listed in the "traffic steering measurements" section at the end of
every pytest run. Each change must be logged with its reason, and a SIGHUP
reload must keep the health state (no flap back to a dead endpoint)."""
import re
import time

import pytest

import steer_helpers as sh
from steer_helpers import addrs, ask

pytestmark = pytest.mark.runway_only

PRIMARY, SECONDARY = "127.0.0.31", "127.0.0.32"
TCP_PRIMARY, TCP_BACKUP = "127.0.0.33", "127.0.0.34"
LIMIT = 1.0          # seconds: the requirement for a switch
POLL = 0.02          # seconds between two polling queries


def traffic_yaml(http_port, tcp_port, extra=""):
    return f"""
health_checks:
  web: {{ type: http, port: {http_port}, path: /healthz, expect_status: [200], expect_body: ok,
         interval: 250ms, timeout: 200ms, rise: 2, fall: 2 }}
  port: {{ type: tcp, port: {tcp_port}, interval: 250ms, timeout: 200ms, rise: 2, fall: 2 }}
endpoints:
  primary: {{ address: [{PRIMARY}], health_check: web }}
  secondary: {{ address: [{SECONDARY}], health_check: web }}
  tcp-primary: {{ address: [{TCP_PRIMARY}], health_check: port }}
  tcp-backup: {{ address: [{TCP_BACKUP}] }}
traffic:
  fo.example.com.:
    ttl: 5
    policy: {{ failover: [primary, secondary] }}
  tfo.example.com.:
    policy: {{ failover: [tcp-primary, tcp-backup] }}
{extra}"""


@pytest.fixture(scope="module")
def fsrv(tmp_path_factory):
    d = tmp_path_factory.mktemp("steer-failover")
    pool = sh.BackendPool([PRIMARY, SECONDARY])
    tcp = sh.TcpBackend(TCP_PRIMARY)
    s = sh.SteerServer(d / "srv", traffic_yaml(pool.port, tcp.port))
    s.pool, s.tcp = pool, tcp
    try:
        s.start()
        for b in pool:
            b.wait_hits(2)
        sh.wait_until(lambda: tcp.accepted >= 2, 10, "TCP probes")
    except BaseException:
        s.stop()
        pool.stop()
        tcp.stop()
        raise
    yield s
    rc = s.stop()
    pool.stop()
    tcp.stop()
    assert rc == 0, f"runwayd exited with {rc}:\n{s.log_tail()}"


@pytest.fixture
def fo(fsrv):
    """Every backend healthy and the answers on the primaries, before and
    after each test."""
    def settle():
        fsrv.pool.all_healthy()
        fsrv.tcp.start()
        sh.wait_answer(fsrv, "fo.example.com", [PRIMARY], timeout=10)
        sh.wait_answer(fsrv, "tfo.example.com", [TCP_PRIMARY], timeout=10)
    settle()
    yield fsrv
    settle()


def time_switch(srv, name, want, t0, allowed, limit=3.0):
    """Poll name every POLL s from now until the answer is [want]; returns
    seconds since t0. Any answer outside `allowed` fails at once."""
    deadline = t0 + limit
    polls = 0
    while True:
        r = ask(srv, name, "A", timeout=1.0)
        now = time.monotonic()
        got = addrs(r)
        polls += 1
        if got == [want]:
            return now - t0
        assert len(got) == 1 and got[0] in allowed, f"unexpected answer {got} while switching:\n{r}"
        if now > deadline:
            raise AssertionError(f"{name} still answers {got} {now - t0:.3f}s after the event "
                                 f"({polls} polls); log:\n{srv.log_tail(15)}")
        time.sleep(POLL)  # the polling period of the measurement


def measured(what, secs):
    line = f"{what}: {secs * 1000:.0f} ms (limit {LIMIT * 1000:.0f} ms; interval 250 ms, fall 2, rise 2)"
    sh.report(line)
    return line


def log_line(srv, ep, addr, port, state, start):
    m = srv.wait_log(rf"health: {re.escape(ep)} {re.escape(addr)}:{port} {state}: ([^\n]*)",
                     timeout=5, start=start)
    return m.group(0), m.group(1)


def test_killed_backend_fails_over_and_back(fo):
    b = fo.pool[PRIMARY]
    log0 = fo.log_size()
    t0 = b.stop()                                  # killed
    dt = time_switch(fo, "fo.example.com", SECONDARY, t0, {PRIMARY, SECONDARY})
    line = measured("failover after the backend was killed", dt)
    assert dt <= LIMIT, line
    text, reason = log_line(fo, "primary", PRIMARY, fo.pool.port, "down", log0)
    assert re.search(r"connect|refused", reason, re.I), f"no reason in: {text}"
    assert "consecutive" in reason, text

    log1 = fo.log_size()
    b.start()                                      # restarted
    t1 = time.monotonic()
    dt = time_switch(fo, "fo.example.com", PRIMARY, t1, {PRIMARY, SECONDARY})
    line = measured("switch back after the backend was restarted", dt)
    assert dt <= LIMIT, line
    text, reason = log_line(fo, "primary", PRIMARY, fo.pool.port, "up", log1)
    assert "200" in reason, text


def test_http_503_takes_endpoint_down(fo):
    log0 = fo.log_size()
    fo.pool[PRIMARY].set(status=503)
    t0 = time.monotonic()
    dt = time_switch(fo, "fo.example.com", SECONDARY, t0, {PRIMARY, SECONDARY})
    line = measured("failover after HTTP 503", dt)
    assert dt <= LIMIT, line
    text, reason = log_line(fo, "primary", PRIMARY, fo.pool.port, "down", log0)
    assert "503" in reason, text
    # back
    fo.pool[PRIMARY].healthy()
    dt = time_switch(fo, "fo.example.com", PRIMARY, time.monotonic(), {PRIMARY, SECONDARY})
    assert dt <= LIMIT, measured("switch back after HTTP 200 again", dt)


def test_body_mismatch_takes_endpoint_down(fo):
    log0 = fo.log_size()
    fo.pool[PRIMARY].set(body="fail")              # 200, but no "ok" in the body
    t0 = time.monotonic()
    dt = time_switch(fo, "fo.example.com", SECONDARY, t0, {PRIMARY, SECONDARY})
    line = measured("failover after a body mismatch", dt)
    assert dt <= LIMIT, line
    text, reason = log_line(fo, "primary", PRIMARY, fo.pool.port, "down", log0)
    assert "body" in reason.lower() and "ok" in reason, text


def test_wrong_status_other_than_503(fo):
    fo.pool[PRIMARY].set(status=302)               # only 200 is expected
    dt = time_switch(fo, "fo.example.com", SECONDARY, time.monotonic(), {PRIMARY, SECONDARY})
    assert dt <= LIMIT


def test_tcp_check(fo):
    log0 = fo.log_size()
    t0 = fo.tcp.stop()
    dt = time_switch(fo, "tfo.example.com", TCP_BACKUP, t0, {TCP_PRIMARY, TCP_BACKUP})
    line = measured("TCP check: failover after the listener closed", dt)
    assert dt <= LIMIT, line
    text, reason = log_line(fo, "tcp-primary", TCP_PRIMARY, fo.tcp.port, "down", log0)
    assert reason, text
    log1 = fo.log_size()
    fo.tcp.start()
    dt = time_switch(fo, "tfo.example.com", TCP_PRIMARY, time.monotonic(), {TCP_PRIMARY, TCP_BACKUP})
    line = measured("TCP check: switch back after the listener returned", dt)
    assert dt <= LIMIT, line
    log_line(fo, "tcp-primary", TCP_PRIMARY, fo.tcp.port, "up", log1)


def test_secondary_down_does_not_change_answers(fo):
    """Only the first up child answers: the secondary's state is irrelevant
    while the primary is up (and its change is still logged)."""
    log0 = fo.log_size()
    fo.pool[SECONDARY].set(status=503)
    log_line(fo, "secondary", SECONDARY, fo.pool.port, "down", log0)
    for _ in range(20):
        assert addrs(ask(fo, "fo.example.com")) == [PRIMARY]


def test_reload_keeps_health_state(fo):
    """primary down (503); SIGHUP with a changed zone and a changed config
    (one more traffic name): primary must stay down, with no answer of it
    during 1.2 s (~5 check intervals) after the reload, and no 'up' log."""
    fo.pool[PRIMARY].set(status=503)
    sh.wait_answer(fo, "fo.example.com", [SECONDARY], timeout=5)
    serial = 2 + int(time.time()) % 1000
    zone = sh.STEER_ZONE.read_text().replace(" 1 7200 3600", f" {serial} 7200 3600")
    fo.write_zone("example.com.", zone)
    extra = "  added.example.com.:\n    policy: primary\n"
    fo.traffic_yaml = traffic_yaml(fo.pool.port, fo.tcp.port, extra)
    try:
        fo.write_config()
        log0 = fo.log_size()
        fo.reload()
        fo.wait_serial("example.com.", serial)
        # the new config is in use: the new name answers
        sh.wait_until(lambda: ask(fo, "added.example.com").answer, 5, "added.example.com answers")
        t_end = time.monotonic() + 1.2
        n = 0
        while time.monotonic() < t_end:
            got = addrs(ask(fo, "fo.example.com", "A", timeout=1.0))
            n += 1
            assert got == [SECONDARY], f"flap after reload: answer {got} (poll {n})\n{fo.log_tail(10)}"
            time.sleep(POLL)
        after = fo.log()[log0:]
        assert not re.search(rf"health: primary {re.escape(PRIMARY)}:\d+ up", after), after
        # the kept state is still live: the primary comes back when healthy
        fo.pool[PRIMARY].healthy()
        dt = time_switch(fo, "fo.example.com", PRIMARY, time.monotonic(), {PRIMARY, SECONDARY})
        assert dt <= LIMIT
    finally:
        fo.traffic_yaml = traffic_yaml(fo.pool.port, fo.tcp.port)
        fo.write_config()
        fo.reload()
        sh.wait_until(lambda: not ask(fo, "added.example.com").answer, 5, "config restored")


def test_endpoints_up_before_first_check(tmp_path):
    """A server started while the primary's backend is dead answers with the
    primary until the checks have failed `fall` times (no blackout, no
    premature failover at start), then fails over."""
    pool = sh.BackendPool([PRIMARY, SECONDARY])
    tcp = sh.TcpBackend(TCP_PRIMARY)
    pool[PRIMARY].stop()
    yaml = traffic_yaml(pool.port, tcp.port).replace("interval: 250ms, timeout: 200ms",
                                                     "interval: 1s, timeout: 500ms")
    s = sh.SteerServer(tmp_path / "late", yaml)
    try:
        t0 = time.monotonic()
        s.start()
        r = ask(s, "fo.example.com")
        elapsed = time.monotonic() - t0
        if elapsed < 0.9:   # only meaningful while no second check can have run
            assert addrs(r) == [PRIMARY], f"{elapsed:.2f}s after start: {addrs(r)}"
        sh.wait_answer(s, "fo.example.com", [SECONDARY], timeout=8)
    finally:
        s.stop()
        pool.stop()
        tcp.stop()
