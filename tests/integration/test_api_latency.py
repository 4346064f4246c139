"""POST /v1/latency (real-user RTT samples feeding the latency policy) and
endpoint leases (PUT /v1/endpoints/{e} with ttl_seconds), against a real
runwayd with an api: section. Loopback only; every wait is a bounded poll.
"""
from __future__ import annotations

import pytest

import steer_helpers as sh
from test_api import READ, ApiServer, a_records

pytestmark = pytest.mark.runway_only

TRAFFIC = """
endpoints:
  near: {{ address: [192.0.2.30] }}
  far: {{ address: [192.0.2.31] }}
  spare: {{ address: [192.0.2.32] }}
geoip:
  mmdb: geo.mmdb
traffic:
  lat.example.com.:
    policy: {{ latency: [near, far] }}
  unused.example.com.:
    policy: spare
"""
CLIENT = "198.51.100.0/24"


@pytest.fixture
def srv(tmp_path):
    s = ApiServer(tmp_path / "srv", traffic_yaml=TRAFFIC.format())
    s.start()
    yield s
    assert s.stop() == 0


def post(srv, samples):
    return srv.call("POST", "/v1/latency", samples)


def test_samples_steer_the_latency_policy(srv):
    # No table row yet: the first up child (no locations to measure from).
    assert a_records(srv, "lat.example.com", subnet=CLIENT) == ["192.0.2.30"]
    st, body = post(srv, [{"client": CLIENT, "endpoint": "near", "rtt_ms": 200},
                          {"client": CLIENT, "endpoint": "far", "rtt_ms": 20}])
    assert st == 200 and body["samples"] == 2, body
    # Live at once, and the ECS scope is the row's prefix.
    r = sh.ask(srv, "lat.example.com", "A", subnet=CLIENT)
    assert sh.addrs(r, "A") == ["192.0.2.31"]
    assert sh.ecs_scope(r) == 24
    # Another network has no row: unchanged.
    assert a_records(srv, "lat.example.com", subnet="203.0.113.0/24") == ["192.0.2.30"]
    # A moving average: one slow sample does not flip it, several do.
    post(srv, [{"client": CLIENT, "endpoint": "far", "rtt_ms": 400}])   # 20 -> 134
    assert a_records(srv, "lat.example.com", subnet=CLIENT) == ["192.0.2.31"]
    for _ in range(3):
        post(srv, [{"client": CLIENT, "endpoint": "far", "rtt_ms": 400}])
    assert a_records(srv, "lat.example.com", subnet=CLIENT) == ["192.0.2.30"]


def test_samples_are_durable(srv):
    post(srv, [{"client": CLIENT, "endpoint": "near", "rtt_ms": 90},
               {"client": CLIENT, "endpoint": "far", "rtt_ms": 10}])
    srv.kill9()
    srv.start()
    assert a_records(srv, "lat.example.com", subnet=CLIENT) == ["192.0.2.31"]


@pytest.mark.parametrize("sample, message", [
    ({"client": "nowhere", "endpoint": "near", "rtt_ms": 5}, "neither a prefix"),
    ({"client": CLIENT, "endpoint": "nope", "rtt_ms": 5}, "no endpoint 'nope'"),
    ({"client": CLIENT, "endpoint": "near", "rtt_ms": -1}, "rtt_ms"),
    ({"client": CLIENT, "endpoint": "near"}, "rtt_ms"),
])
def test_bad_samples_400_change_nothing(srv, sample, message):
    good = {"client": CLIENT, "endpoint": "far", "rtt_ms": 1}
    st, body = post(srv, [good, sample])
    assert st == 400 and message in body["error"], body
    assert a_records(srv, "lat.example.com", subnet=CLIENT) == ["192.0.2.30"]
    st, body = srv.call("POST", "/v1/latency", raw=b"{not json")
    assert st == 400


def test_lease_expires(srv):
    st, body = srv.call("PUT", "/v1/endpoints/pod-1",
                        {"address": ["192.0.2.77"], "ttl_seconds": 1})
    assert st == 200, body

    def names():
        st, eps = srv.call("GET", "/v1/endpoints", token=READ)
        assert st == 200
        return {e["name"]: e for e in eps}

    assert "pod-1" in names()
    sh.wait_until(lambda: "pod-1" not in names(), 5.0, "pod-1 removed after its lease")
    assert "expired, removed" in srv.log()
    # The registration and its expiry went in one transaction.
    keys = {c["key"] for c in srv.call("GET", "/v1/changes", token=READ)[1]["changes"]}
    assert "endpoints/pod-1" not in keys and "expiry/pod-1" not in keys, keys


def test_lease_of_an_endpoint_in_use_drains_it(srv):
    srv.call("PUT", "/v1/endpoints/pod-2", {"address": ["192.0.2.78"], "ttl_seconds": 1})
    st, body = srv.call("PUT", "/v1/traffic/pod.example.com.", {"policy": "pod-2"})
    assert st == 200, body
    assert a_records(srv, "pod.example.com") == ["192.0.2.78"]

    def drained():
        st, eps = srv.call("GET", "/v1/endpoints", token=READ)
        return any(e["name"] == "pod-2" and e.get("drained") for e in eps)

    sh.wait_until(drained, 5.0, "pod-2 drained after its lease")
    assert a_records(srv, "pod.example.com") == []   # drained: never answered
    # Drained with the expiry key gone (in one transaction): not tried again
    # every second, and the log says why once.
    keys = {c["key"] for c in srv.call("GET", "/v1/changes", token=READ)[1]["changes"]}
    assert "drains/pod-2" in keys and "expiry/pod-2" not in keys, keys
    assert srv.log().count("endpoint pod-2: registration expired; still used") == 1, srv.log()
