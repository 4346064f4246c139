# SPDX-License-Identifier: GPL-3.0-or-later
"""POST /v1/latency (real-user RTT samples feeding the latency policy) and
endpoint leases (PUT /v1/endpoints/{e} with ttl_seconds), against a real
runwayd with an api: section. Loopback only; every wait is a bounded poll.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import time

import pytest

import steer_helpers as sh
from test_api import READ, ApiServer, a_records, run_cli

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


def simulated(srv, name, endpoint):
    st, body = srv.call("GET", f"/v1/simulate?name={name}&client=192.0.2.1", token=READ)
    assert st == 200, body
    return next(e for e in body["endpoints"] if e["endpoint"] == endpoint)


def drain_of(srv, name):
    """(drained_by, drained_since) of an endpoint as GET /v1/endpoints says
    it, checked against GET /v1/health (its endpoint and every address);
    None when it is not drained."""
    st, eps = srv.call("GET", "/v1/endpoints", token=READ)
    assert st == 200, eps
    e = next(e for e in eps if e["name"] == name)
    st, health = srv.call("GET", "/v1/health", token=READ)
    assert st == 200, health
    rows = [h for h in health["endpoints"] if h["name"] == name]
    rows += [s for s in health["slots"] if s["endpoint"] == name]
    assert len(rows) >= 2, health
    fields = ("drained", "drained_by", "drained_since")
    for row in rows:
        assert {k: row.get(k) for k in fields} == {k: e.get(k) for k in fields}, (row, e)
    if not e["drained"]:
        assert "drained_by" not in e and "drained_since" not in e, e
        return None
    return e["drained_by"], e["drained_since"]


def test_simulate_tells_a_lease_expiry_from_an_operator_drain(srv):
    """/v1/simulate says why a drained endpoint is out: its lease ran out
    (and when), or the operator drained it; the store keeps who and when."""
    t0 = int(time.time())
    st, body = srv.call("PUT", "/v1/endpoints/pod-3", {"address": ["192.0.2.79"], "ttl_seconds": 1})
    assert st == 200, body
    srv.call("PUT", "/v1/traffic/pod3.example.com.", {"policy": "pod-3"})
    before = simulated(srv, "pod3.example.com", "pod-3")
    assert before["why"] == "used", before
    sh.wait_until(lambda: simulated(srv, "pod3.example.com", "pod-3")["why"] != "used", 5.0,
                  "pod-3 drained after its lease")
    ep = simulated(srv, "pod3.example.com", "pod-3")
    assert ep["why"] == "lease expired" and ep["drained_by"] == "lease" and not ep["used"], ep
    assert ep["detail"].startswith("lease expired at " + ep["drained_since"]), ep
    r = run_cli(srv, "simulate", "pod3.example.com", "--client", "192.0.2.1", token=READ)
    assert r.returncode == 0, r.stderr
    assert "pod-3            lease expired  lease expired at " + ep["drained_since"] in r.stdout
    changes = {c["key"]: c["value"] for c in srv.call("GET", "/v1/changes", token=READ)[1]["changes"]}
    assert changes["drains/pod-3"]["by"] == "lease", changes
    # The lease ended at the registration's time plus its ttl, not later.
    assert t0 + 1 <= changes["drains/pod-3"]["since"] <= time.time(), changes

    # GET /v1/endpoints and /v1/health say it next to "drained", as simulate does.
    lease_since = ep["drained_since"]
    assert drain_of(srv, "pod-3") == ("lease", lease_since)
    assert drain_of(srv, "near") is None
    # An operator drain of another endpoint says so, and is not a lease.
    st, body = srv.call("POST", "/v1/endpoints/spare/drain")
    assert st == 200, body
    ep = simulated(srv, "unused.example.com", "spare")
    assert ep["why"] == "drained" and ep["drained_by"] == "operator", ep
    assert "drained by the operator at " + ep["drained_since"] in ep["detail"], ep
    assert drain_of(srv, "spare") == ("operator", ep["drained_since"])
    r = run_cli(srv, "status", token=READ)
    assert r.returncode == 0, r.stderr
    assert f"pod-3            drained (lease expired) since {lease_since}\n" in r.stdout, r.stdout
    assert (f"spare            drained (by the operator) since {ep['drained_since']}\n"
            in r.stdout), r.stdout
    # Both survive a restart (read back from the store).
    srv.kill9()
    srv.start()
    assert simulated(srv, "pod3.example.com", "pod-3")["drained_by"] == "lease"
    assert simulated(srv, "unused.example.com", "spare")["drained_by"] == "operator"
    # Draining the lease-drained endpoint makes it the operator's.
    srv.call("POST", "/v1/endpoints/pod-3/drain")
    assert simulated(srv, "pod3.example.com", "pod-3")["why"] == "drained"


def test_registering_again_ends_a_lease_drain_not_an_operator_drain(srv):
    srv.call("PUT", "/v1/endpoints/pod-4", {"address": ["192.0.2.80"], "ttl_seconds": 1})
    srv.call("PUT", "/v1/traffic/pod4.example.com.", {"policy": "pod-4"})
    sh.wait_until(lambda: simulated(srv, "pod4.example.com", "pod-4")["why"] != "used", 5.0,
                  "pod-4 drained after its lease")
    assert a_records(srv, "pod4.example.com") == []
    # The service comes back: its registration ends the lease's drain.
    st, body = srv.call("PUT", "/v1/endpoints/pod-4", {"address": ["192.0.2.80"], "ttl_seconds": 60})
    assert st == 200, body
    assert a_records(srv, "pod4.example.com") == ["192.0.2.80"]
    keys = {c["key"] for c in srv.call("GET", "/v1/changes", token=READ)[1]["changes"]}
    assert "drains/pod-4" not in keys and "expiry/pod-4" in keys, keys
    # An operator's drain outlives a registration (which used to fail with
    # "store drains/pod-4: no endpoint").
    assert srv.call("POST", "/v1/endpoints/pod-4/drain")[0] == 200
    st, body = srv.call("PUT", "/v1/endpoints/pod-4", {"address": ["192.0.2.81"]})
    assert st == 200, body
    ep = simulated(srv, "pod4.example.com", "pod-4")
    assert ep["why"] == "drained" and ep["drained_by"] == "operator", ep
    assert a_records(srv, "pod4.example.com") == []
    assert srv.call("POST", "/v1/endpoints/pod-4/undrain")[0] == 200
    assert a_records(srv, "pod4.example.com") == ["192.0.2.81"]


def store_put(directory, table, key, value):
    """One raw write to a stopped runwayd's store (LMDB, one named database
    per table), as an older runwayd wrote it."""
    lib = ctypes.CDLL(ctypes.util.find_library("lmdb") or "liblmdb.so.0")

    class Val(ctypes.Structure):
        _fields_ = [("size", ctypes.c_size_t), ("data", ctypes.c_char_p)]
    env, txn, dbi = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_uint()
    for f in ("mdb_env_set_maxdbs", "mdb_env_set_mapsize", "mdb_env_open", "mdb_txn_begin",
              "mdb_dbi_open", "mdb_put", "mdb_txn_commit", "mdb_env_close"):
        getattr(lib, f).argtypes = None
    lib.mdb_env_set_mapsize.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    assert lib.mdb_env_create(ctypes.byref(env)) == 0
    try:
        assert lib.mdb_env_set_maxdbs(env, 16) == 0
        assert lib.mdb_env_set_mapsize(env, 1 << 32) == 0
        assert lib.mdb_env_open(env, str(directory).encode(), 0, 0o640) == 0
        assert lib.mdb_txn_begin(env, None, 0, ctypes.byref(txn)) == 0
        assert lib.mdb_dbi_open(txn, table.encode(), 0x40000, ctypes.byref(dbi)) == 0
        k, v = Val(len(key), key.encode()), Val(len(value), value.encode())
        assert lib.mdb_put(txn, dbi, ctypes.byref(k), ctypes.byref(v), 0) == 0
        assert lib.mdb_txn_commit(txn) == 0
    finally:
        lib.mdb_env_close(env)


def test_an_old_stored_drain_reads_as_the_operators(srv):
    """A drain an older runwayd stored ("true") still drains, and reads as
    the operator's, time unknown."""
    assert simulated(srv, "unused.example.com", "spare")["why"] == "used"
    assert srv.stop() == 0
    store_put(srv.workdir / "state", "drains", "spare", "true")
    srv.start()
    ep = simulated(srv, "unused.example.com", "spare")
    assert ep["why"] == "drained" and ep["drained_by"] == "operator", ep
    assert "drained_since" not in ep and ep["detail"].startswith("drained by the operator: "), ep
    assert a_records(srv, "unused.example.com") == []
    changes = {c["key"]: c["value"] for c in srv.call("GET", "/v1/changes", token=READ)[1]["changes"]}
    assert changes["drains/spare"] is True, changes
    # A stored drain that is neither: skipped, named, the rest applies.
    assert srv.stop() == 0
    store_put(srv.workdir / "state", "drains", "spare", '{"by": "cosmic rays", "since": 1}')
    srv.start()
    assert simulated(srv, "unused.example.com", "spare")["why"] == "used"
    st, body = srv.call("GET", "/v1/changes", token=READ)
    bad = next(c for c in body["changes"] if c["key"] == "drains/spare")
    assert bad["status"] == "skipped" and bad["error"].startswith(
        'store drains/spare:1: a drain is {"by": "operator" or "lease"'), bad


def test_lease_of_an_operator_drained_endpoint(srv):
    """An operator's drain does not keep an expired registration alive, nor
    does the lease's expiry take the drain over."""
    def names():
        return {e["name"] for e in srv.call("GET", "/v1/endpoints", token=READ)[1]}

    def keys():
        return {c["key"] for c in srv.call("GET", "/v1/changes", token=READ)[1]["changes"]}
    # Unused: removed with its drain (the drain used to fail the removal,
    # which then drained it as the lease's instead).
    srv.call("PUT", "/v1/endpoints/pod-5", {"address": ["192.0.2.82"], "ttl_seconds": 1})
    assert srv.call("POST", "/v1/endpoints/pod-5/drain")[0] == 200
    # Used by a policy: stays, drained by the operator still.
    srv.call("PUT", "/v1/endpoints/pod-6", {"address": ["192.0.2.83"], "ttl_seconds": 1})
    srv.call("PUT", "/v1/traffic/pod6.example.com.", {"policy": "pod-6"})
    assert srv.call("POST", "/v1/endpoints/pod-6/drain")[0] == 200
    sh.wait_until(lambda: "pod-5" not in names() and "expiry/pod-6" not in keys(), 5.0,
                  "both leases ran out")
    assert not {"endpoints/pod-5", "drains/pod-5", "expiry/pod-5"} & keys(), keys()
    assert "endpoint pod-5: registration expired, removed" in srv.log(), srv.log()
    ep = simulated(srv, "pod6.example.com", "pod-6")
    assert ep["why"] == "drained" and ep["drained_by"] == "operator", ep
    assert "endpoint pod-6: registration expired; still used" in srv.log()
    assert a_records(srv, "pod6.example.com") == []


def test_dropping_a_drained_registration_drops_its_drain(srv):
    """DELETE /v1/changes/endpoints/NAME of a drained endpoint removes the
    registration and its drain together (it used to be a 409: the drain
    named no endpoint); an endpoint the file still defines keeps its drain."""
    def keys():
        return {c["key"] for c in srv.call("GET", "/v1/changes", token=READ)[1]["changes"]}

    def names():
        return {e["name"] for e in srv.call("GET", "/v1/endpoints", token=READ)[1]}
    # Drained by the operator, unused.
    srv.call("PUT", "/v1/endpoints/pod-7", {"address": ["192.0.2.84"]})
    assert srv.call("POST", "/v1/endpoints/pod-7/drain")[0] == 200
    st, body = srv.call("DELETE", "/v1/changes/endpoints/pod-7")
    assert st == 200, body
    assert "pod-7" not in names()
    assert not {"endpoints/pod-7", "drains/pod-7"} & keys(), keys()
    # Drained by its lease while a policy names it: still refused, for that
    # reason; once the name is gone, dropped with its drain.
    srv.call("PUT", "/v1/endpoints/pod-8", {"address": ["192.0.2.85"], "ttl_seconds": 1})
    srv.call("PUT", "/v1/traffic/pod8.example.com.", {"policy": "pod-8"})
    sh.wait_until(lambda: "drains/pod-8" in keys(), 5.0, "pod-8 drained after its lease")
    st, body = srv.call("DELETE", "/v1/changes/endpoints/pod-8")
    assert st == 409 and "pod8.example.com" in body["error"], body
    assert "no endpoint" not in body["error"], body
    assert {"endpoints/pod-8", "drains/pod-8"} <= keys()
    assert srv.call("DELETE", "/v1/traffic/pod8.example.com.")[0] == 200
    st, body = srv.call("DELETE", "/v1/changes/endpoints/pod-8")
    assert st == 200, body
    assert "pod-8" not in names()
    assert not {"endpoints/pod-8", "drains/pod-8"} & keys(), keys()
    # A file endpoint the API redefined: dropping the redefinition serves
    # the file's again, still drained.
    assert srv.call("PUT", "/v1/endpoints/spare", {"address": ["192.0.2.86"]})[0] == 200
    assert srv.call("POST", "/v1/endpoints/spare/drain")[0] == 200
    st, body = srv.call("DELETE", "/v1/changes/endpoints/spare")
    assert st == 200, body
    assert "drains/spare" in keys() and "endpoints/spare" not in keys(), keys()
    spare = next(e for e in srv.call("GET", "/v1/endpoints", token=READ)[1] if e["name"] == "spare")
    assert spare["address"] == ["192.0.2.32"] and spare["drained_by"] == "operator", spare
    # The store says so after a restart too.
    srv.kill9()
    srv.start()
    assert "pod-7" not in names() and "pod-8" not in names()
    assert drain_of(srv, "spare")[0] == "operator"
