# SPDX-License-Identifier: GPL-3.0-or-later
"""Flap dampening (docs/health-checks.md#flap-dampening): a backend that
flaps at every probe, checked with rise 1 / fall 1, must not change the
answer at every probe; once it is stable it comes back after flap_hold.

The backend answers 200 and 503 in turn, one per request, so every probe
sees the opposite of the last one. The answer is polled every ~20 ms
(bounded) and every change of it is counted. Without dampening the answer
changes at every probe (about 50 times in 5 s); with the defaults
(flap_changes 6 within 12 intervals) at most 6 times (5 when it starts
up: the 6th change is up, and the hold keeps it down). While the hold
lasts, GET /v1/health says `"flapping": true` for the address and
`runway status` shows it `down,flapping`; once released, neither does."""
import random
import re
import time

import pytest

import steer_helpers as sh
from steer_helpers import addrs, ask
from test_api import READ, ApiServer, run_cli

pytestmark = pytest.mark.runway_only

PRIMARY, SECONDARY = "127.0.0.41", "127.0.0.42"
INTERVAL = 0.1       # seconds, the check's interval
HOLD = 12 * INTERVAL # the default flap_hold: 12 intervals


class FlappingBackend(sh.Backend):
    """An HTTP backend that, while flapping, answers 200 and 503 in turn."""

    flapping = False
    _next_ok = True

    @property
    def status(self):
        if not self.flapping:
            return self._status
        ok, self._next_ok = self._next_ok, not self._next_ok
        return 200 if ok else 503

    @status.setter
    def status(self, v):
        self._status = v


def traffic_yaml(port, extra=""):
    return f"""
health_checks:
  web: {{ type: http, port: {port}, path: /healthz, interval: {int(INTERVAL * 1000)}ms,
         timeout: 80ms, rise: 1, fall: 1{extra} }}
endpoints:
  primary: {{ address: [{PRIMARY}], health_check: web }}
  secondary: {{ address: [{SECONDARY}] }}
traffic:
  fo.example.com.:
    ttl: 5
    policy: {{ failover: [primary, secondary] }}
"""


def answers_for(srv, seconds, poll=0.02):
    """The sequence of answers over `seconds`, one query every ~poll s."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen.append(tuple(addrs(ask(srv, "fo.example.com", "A", timeout=1.0))))
        time.sleep(poll)  # paces the polling; bounded by the deadline
    return seen


def changes(seq):
    return sum(1 for a, b in zip(seq, seq[1:]) if a != b)


def primary_slot(srv):
    """The primary address's entry in GET /v1/health."""
    st, body = srv.call("GET", "/v1/health", token=READ)
    assert st == 200, body
    [slot] = [s for s in body["slots"] if s["address"] == PRIMARY]
    return slot


def wait_primary(srv, state, flapping, timeout=3.0):
    """Poll /v1/health until the primary has state and flapping (bounded)."""
    last = {}

    def ok():
        last.update(primary_slot(srv))
        return last["state"] == state and last["flapping"] is flapping

    try:
        sh.wait_until(ok, timeout, f"primary {state}, flapping {flapping}")
    except AssertionError as e:
        raise AssertionError(f"{e}; last /v1/health slot: {last}") from None
    return last


@pytest.fixture
def flapper(tmp_path):
    started = []

    def start(extra=""):
        for _ in range(60):                     # a free port below the ephemeral range
            port = random.randrange(*sh.PORT_RANGE)
            try:
                b = FlappingBackend(PRIMARY, port)
                break
            except OSError:
                continue
        else:
            pytest.fail(f"no free port on {PRIMARY}")
        s = ApiServer(tmp_path / f"srv{len(started)}", traffic_yaml(b.port, extra))
        started.append((s, b))
        s.start()
        b.wait_hits(2)
        sh.wait_answer(s, "fo.example.com", [PRIMARY])
        return s, b

    yield start
    for s, b in started:
        rc = s.stop()
        b.stop()
        assert rc == 0, f"runwayd exited with {rc}:\n{s.log_tail()}"


def test_flapping_backend_is_held_down_then_comes_back(flapper):
    srv, backend = flapper()
    log0 = srv.log_size()
    backend.flapping = True
    seen = answers_for(srv, 5.0)
    n = changes(seen)
    hits = backend.hits
    sh.report(f"flap dampening: backend flapping at every probe ({INTERVAL * 1000:.0f} ms, rise 1, "
              f"fall 1) for 5 s: the answer changed {n} times in {len(seen)} queries")
    assert len(seen) >= 100, "too few polls to see the flapping"
    assert n <= 6, f"the answer changed {n} times: not dampened"
    assert seen[-1] == (SECONDARY,), "a flapping primary is still given out"
    m = srv.wait_log(r"health: primary 127\.0\.0\.41:\d+ flapping: (\d+) changes within 1200 ms; "
                     r"held down until it passes for 1200 ms", start=log0)
    assert int(m.group(1)) == 6

    # Still flapping, so still held: the API and `runway status` say why it is down.
    slot = wait_primary(srv, "down", True)
    assert slot["transitions"][0]["state"] == "down", slot
    r = run_cli(srv, "status", token=READ)
    assert r.returncode == 0, r.stderr
    assert re.search(rf"^primary\s+{re.escape(PRIMARY)}\s+web\s+down,flapping\s", r.stdout,
                     re.M), r.stdout
    # /v1/simulate reads the published state: the hold began on a change to
    # up (the 6th), which changes no state, and must still be published.
    st, body = srv.call("GET", "/v1/simulate?name=fo.example.com&type=A&source=127.0.0.1&ecs=none",
                        token=READ)
    assert st == 200, body
    [ep] = [e for e in body["endpoints"] if e["endpoint"] == "primary"]
    assert ep["why"] == "down" and ep.get("flapping") is True, ep

    # Stable again: back after passing for flap_hold, not at the first pass.
    backend.flapping = False
    backend.healthy()
    t0 = time.monotonic()
    sh.wait_answer(srv, "fo.example.com", [PRIMARY], timeout=HOLD + 3)
    back = time.monotonic() - t0
    sh.report(f"flap dampening: stable again, primary back after {back * 1000:.0f} ms "
              f"(flap_hold {HOLD * 1000:.0f} ms)")
    assert HOLD - 2 * INTERVAL <= back <= HOLD + 1.0, back
    srv.wait_log(r"health: primary 127\.0\.0\.41:\d+ up: HTTP 200, stable for 1200 ms after flapping",
                 start=log0)
    wait_primary(srv, "up", False)
    r = run_cli(srv, "status", token=READ)
    assert re.search(rf"^primary\s+{re.escape(PRIMARY)}\s+web\s+up\s", r.stdout, re.M), r.stdout
    assert changes(answers_for(srv, 1.0)) == 0
    assert hits > 40, f"only {hits} probes reached the backend"


def test_flap_changes_0_turns_dampening_off(flapper):
    srv, backend = flapper(extra=", flap_changes: 0")
    backend.flapping = True
    seen = answers_for(srv, 2.0)
    backend.flapping = False
    n = changes(seen)
    sh.report(f"flap dampening off: the answer changed {n} times in 2 s")
    assert n >= 8, f"only {n} changes with flap_changes 0"
    assert "flapping" not in srv.log()
    assert primary_slot(srv)["flapping"] is False


def test_configured_hold_and_window(flapper):
    # 3 changes within 5 s hold it; flap_hold 400ms brings it back sooner.
    srv, backend = flapper(extra=", flap_changes: 3, flap_window: 5s, flap_hold: 400ms")
    backend.flapping = True
    seen = answers_for(srv, 2.0)
    assert changes(seen) <= 3, seen
    assert seen[-1] == (SECONDARY,)
    backend.flapping = False
    backend.healthy()
    t0 = time.monotonic()
    sh.wait_answer(srv, "fo.example.com", [PRIMARY], timeout=3)
    back = time.monotonic() - t0
    assert 0.4 - 2 * INTERVAL <= back <= 0.4 + 1.0, back
    srv.wait_log(r"flapping: 3 changes within 5000 ms; held down until it passes for 400 ms")
