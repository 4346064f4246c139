# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for runway's integration suite.

Target: env RUNWAY_TARGET=runway (default) runs every test against
$RUNWAY_BUILD/runwayd; RUNWAY_TARGET=knot runs the behaviour tests against
Knot DNS (knotd) instead, which is how the tests themselves are validated.
Tests marked `runway_only` (runway check / runway query / runway's log
lines) are skipped for knot.

Fixtures:
  srv          one server for the whole session, standard zones
               (tests/integration/zones + examples/quickstart), nsid
               "runway-test", edns_udp_size 1232, tcp idle_timeout 2s.
  make_server  factory for a private server (own folder, own zones, own
               config), stopped at teardown: make_server(zones=..., kind=...)
  abuse_server factory for runwayd with extra YAML (rate_limit:, cookies:)
               and a read-only API: abuse_server(extra, name=None, ...)
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import abuse_helpers as ah  # noqa: E402
import dnsharness as h  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "runway_only: needs runwayd/runway itself; skipped with RUNWAY_TARGET=knot")
    config.addinivalue_line("markers", "needs_knot: needs knotd installed")


def pytest_report_header(config):
    exe = h.RUNWAYD if h.TARGET == "runway" else h.KNOTD
    return f"runway integration: target={h.TARGET} ({exe}), knotd={h.KNOTD}"


def pytest_collection_modifyitems(config, items):
    if h.TARGET not in ("runway", "knot"):
        raise pytest.UsageError(f"RUNWAY_TARGET must be runway or knot, not {h.TARGET!r}")
    skip_rw = pytest.mark.skip(reason="runway-only test (RUNWAY_TARGET=knot)")
    skip_knot = pytest.mark.skip(reason="knotd not installed")
    for item in items:
        if h.TARGET == "knot" and "runway_only" in item.keywords:
            item.add_marker(skip_rw)
        if h.KNOTD is None and ("needs_knot" in item.keywords or h.TARGET == "knot"):
            item.add_marker(skip_knot)


@pytest.fixture(scope="session")
def target():
    return h.TARGET


@pytest.fixture(scope="session")
def srv(tmp_path_factory):
    s = h.DnsServer(h.TARGET, tmp_path_factory.mktemp(f"srv-{h.TARGET}"))
    try:
        s.start()
    except BaseException:
        s.stop()
        raise
    yield s
    rc = s.stop()
    # A server that crashed during the session, or exits badly on SIGTERM
    # (e.g. a sanitizer report at exit), must not pass silently.
    assert rc == 0, f"{s.kind} exited with {rc} after SIGTERM:\n{s.log_tail()}"


@pytest.fixture
def make_server(tmp_path):
    started = []

    def factory(zones=None, kind=None, start=True, name=None, **kw):
        kind = kind or h.TARGET
        s = h.DnsServer(kind, tmp_path / (name or f"{kind}{len(started)}"), zones, **kw)
        started.append(s)
        if start:
            s.start()
        return s

    yield factory
    bad = []
    for s in started:
        was_running = s.alive()
        rc = s.stop()
        if was_running and rc != 0:
            bad.append(f"{s.kind} in {s.workdir.name} exited with {rc} after SIGTERM:\n{s.log_tail()}")
    assert not bad, "\n".join(bad)


@pytest.fixture
def check_alive(srv):
    """Use in tests that throw odd packets: the server must still be up after."""
    yield srv
    assert srv.alive(), f"{srv.kind} died:\n{srv.log_tail()}"


def pytest_terminal_summary(terminalreporter):
    """Figures measured by the traffic-steering tests (failover times,
    weighted splits), shown even without -s so the CI log keeps them."""
    helpers = sys.modules.get("steer_helpers")
    if helpers and helpers.REPORT:
        terminalreporter.section("traffic steering measurements")
        for line in helpers.REPORT:
            terminalreporter.write_line(line)


@pytest.fixture
def abuse_server(tmp_path):
    """Factory: server(extra_yaml, name=None, **kw) starts an AbuseServer with
    example.net in its own folder; every one is stopped at teardown and must
    exit cleanly. For the rate limiting and cookie tests (abuse_helpers.py)."""
    started = []

    def start(extra, name=None, **kw):
        s = ah.AbuseServer(tmp_path / (name or f"srv{len(started)}"), extra, zones=ah.ZONES, **kw)
        started.append(s)
        return s.start()

    yield start
    for s in started:
        was_running = s.alive()
        rc = s.stop()
        assert not was_running or rc == 0, f"runwayd exited with {rc}:\n{s.log_tail()}"
