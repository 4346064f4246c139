# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTTP API (docs/api.md) and the CLI commands that use it (docs/cli.md),
against a real runwayd with an `api:` section.

Every server here listens on loopback only; every wait is a bounded poll.
A 200 from a change means validated, durable and published: the tests
query DNS right after it without waiting.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import dnsharness as h
import steer_helpers as sh

pytestmark = pytest.mark.runway_only

WRITE, READ = "change-me", "viewer"

# Where the test mmdb puts the clients used below.
GEO = [
    ("192.0.2.0/24", "EU", "DE", "HE", 50.11, 8.68, "Frankfurt am Main"),
    ("198.51.100.0/24", "NA", "US", "CA", 37.40, -122.10, "Mountain View"),
]
EU_CLIENT, US_CA_CLIENT = "192.0.2.0/24", "198.51.100.0/24"

# eu-west is checked on a loopback port nobody listens on: it goes down
# after its first probe. The others have no check: always up.
TRAFFIC = """
health_checks:
  closed: {{ type: tcp, port: {closed_port}, interval: 200ms, timeout: 100ms, rise: 1, fall: 1 }}
endpoints:
  eu-west: {{ address: [127.0.0.21], health_check: closed }}
  us-east: {{ address: [192.0.2.10, "2001:db8::10"] }}
  us-west: {{ address: [192.0.2.20] }}
  canary: {{ address: [192.0.2.21] }}
geoip:
  mmdb: geo.mmdb
traffic:
  www.example.com.:
    ttl: 30
    policy:
      geolocation:
        EU: {{ failover: [eu-west, us-east] }}
        US-CA: {{ weighted: {{ us-west: 90, canary: 10 }} }}
        default: us-east
  fo.example.com.:
    policy: {{ failover: [us-east, us-west] }}
"""


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port() -> int:
    """A loopback TCP port with no listener (connect: refused)."""
    return free_tcp_port()


class ApiServer(sh.SteerServer):
    """runwayd with the steering zone, the traffic model above and an api:
    section on its own loopback port."""

    def __init__(self, workdir, traffic_yaml=None, **kw):
        self.api_port = free_tcp_port()
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        sh.make_mmdb(workdir / "geo.mmdb", GEO)
        super().__init__(workdir, traffic_yaml or TRAFFIC.format(closed_port=closed_port()), **kw)

    def runway_config(self) -> str:
        return super().runway_config() + (
            "api:\n"
            f'  listen: "127.0.0.1:{self.api_port}"\n'
            "  tokens:\n"
            f"    - {{ token: {WRITE}, access: write }}\n"
            f"    - {{ token: {READ}, access: read }}\n"
            "  data: state/\n")

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self, wait=True, timeout=h.READY_TIMEOUT):
        super().start(wait, timeout)
        if wait:
            self.wait_api(timeout)
        return self

    def wait_api(self, timeout=h.READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            try:
                st, _ = self.call("GET", "/v1/zones", token=READ, timeout=0.5)
                if st == 200:
                    return
            except OSError:
                pass
            if not self.alive():
                raise h.ServerFailed(f"runwayd exited; log:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise h.ServerFailed(f"API on port {self.api_port} not up within {timeout}s;"
                                     f" log:\n{self.log_tail()}")
            time.sleep(0.05)  # poll interval of a readiness check

    def call(self, method, path, body=None, token=WRITE, timeout=5.0, raw=None, headers=None):
        """One request; returns (status, parsed JSON or text)."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.api_url + path, data=data, method=method)
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, text, ctype = r.status, r.read().decode(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            status, text, ctype = e.code, e.read().decode(), e.headers.get("Content-Type", "")
        if ctype.startswith("application/json"):
            return status, json.loads(text)
        return status, text

    def kill9(self):
        self.proc.kill()
        self.proc.wait(5)
        self.stop()


@pytest.fixture
def api(tmp_path):
    s = ApiServer(tmp_path / "srv")
    try:
        s.start()
    except h.ServerFailed as e:
        s.stop()
        if "unknown key 'api'" in str(e) or "unknown key 'api'" in s.log():
            pytest.skip("this runwayd does not have the api: section yet")
        raise
    yield s
    was_running = s.alive()
    rc = s.stop()
    assert not was_running or rc == 0, f"runwayd exited with {rc} after SIGTERM:\n{s.log_tail()}"


def a_records(srv, name, subnet=None):
    return sh.addrs(sh.ask(srv, name, "A", subnet=subnet), "A")


def soa(srv):
    return srv.soa_serial("example.com.", timeout=1.0)


def rrsets(srv):
    st, body = srv.call("GET", "/v1/zones/example.com./rrsets", token=READ)
    assert st == 200, body
    return body


def run_cli(srv, *args, token=WRITE, timeout=30):
    env = dict(os.environ, RUNWAY_API=srv.api_url)
    env.pop("RUNWAY_TOKEN", None)
    if token is not None:
        env["RUNWAY_TOKEN"] = token
    return subprocess.run([str(h.RUNWAY), *args], capture_output=True, text=True, timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL)


def wait_health(srv, endpoint, state, timeout=10.0):
    def ok():
        st, body = srv.call("GET", "/v1/health", token=READ)
        return st == 200 and any(s["endpoint"] == endpoint and s["state"] == state
                                 for s in body["slots"])
    sh.wait_until(ok, timeout, f"{endpoint} {state} in /v1/health")


# --------------------------------------------------------------------------
# authentication

def test_auth_401_403(api):
    st, body = api.call("GET", "/v1/zones", token=None)
    assert st == 401 and "error" in body
    st, body = api.call("GET", "/v1/zones", token="not-a-token")
    assert st == 401 and "error" in body
    st, body = api.call("GET", "/v1/zones", token=READ)
    assert st == 200 and [z["name"] for z in body] == ["example.com."]
    st, body = api.call("POST", "/v1/endpoints/us-east/drain", token=READ)
    assert st == 403 and "error" in body
    st, body = api.call("PUT", "/v1/traffic/fo.example.com.", {"policy": "us-west"}, token=READ)
    assert st == 403
    st, body = api.call("DELETE", "/v1/traffic/fo.example.com.", token=None)
    assert st == 401
    st, _ = api.call("GET", "/metrics", token=None)
    assert st == 401
    # refused requests changed nothing
    assert a_records(api, "fo.example.com") == ["192.0.2.10"]
    st, body = api.call("GET", "/v1/zones", token=WRITE)
    assert st == 200


def test_unknown_route_and_method(api):
    st, body = api.call("GET", "/v1/nothing", token=READ)
    assert st == 404 and "error" in body
    st, body = api.call("DELETE", "/v1/zones", token=WRITE)
    assert st == 405 and "error" in body


def test_body_too_large_413(api):
    """Refused on the headers alone: the body (2 MiB announced) is never sent."""
    serial = soa(api)
    with socket.create_connection(("127.0.0.1", api.api_port), timeout=5) as s:
        s.sendall(b"POST /v1/zones/example.com./changes HTTP/1.1\r\nHost: localhost\r\n"
                  b"Authorization: Bearer " + WRITE.encode() + b"\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 2097152\r\n\r\n")
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413"), reply
    assert soa(api) == serial


# --------------------------------------------------------------------------
# zones

def test_zones_and_rrsets(api):
    st, zones = api.call("GET", "/v1/zones", token=READ)
    assert st == 200
    assert zones[0]["name"] == "example.com." and zones[0]["serial"] == 1 and zones[0]["records"] > 5
    sets = rrsets(api)
    by = {(r["name"], r["type"]): r for r in sets}
    assert by[("www.example.com.", "A")]["records"] == ["192.0.2.80"]
    assert by[("example.com.", "MX")]["records"] == ["10 mail.example.com."]
    assert by[("example.com.", "SOA")]["ttl"] == 3600
    assert sets[0]["type"] == "SOA"
    st, body = api.call("GET", "/v1/zones/nope.org./rrsets", token=READ)
    assert st == 404 and "nope.org" in body["error"]


def test_upsert_then_dns_sees_it_and_serial_bumped(api):
    before = soa(api)
    st, body = api.call("POST", "/v1/zones/example.com./changes", {"changes": [
        {"action": "UPSERT", "name": "api.example.com.", "type": "A", "ttl": 60,
         "records": ["192.0.2.9"]}]})
    assert st == 200, body
    assert body["status"] == "applied" and body["serial"] > before
    # acknowledged = published: no waiting
    r = api.query("api.example.com", "A")
    h.check(r, rcode="NOERROR", answer=["api.example.com. 60 IN A 192.0.2.9"])
    assert soa(api) == body["serial"]
    assert any(x["name"] == "api.example.com." and x["records"] == ["192.0.2.9"] for x in rrsets(api))


def test_bad_json_400_changes_nothing(api):
    before_serial, before_sets = soa(api), rrsets(api)
    st, body = api.call("POST", "/v1/zones/example.com./changes",
                        raw=b'{"changes": [{"action": "UPSERT", "name": ')
    assert st == 400
    assert re.search(r"line \d+, column \d+", body["error"]), body
    st, body = api.call("POST", "/v1/zones/example.com./changes", raw=b"[1, 2]")
    assert st == 400
    st, body = api.call("POST", "/v1/zones/example.com./changes", {"changes": [
        {"action": "REPLACE", "name": "x.example.com.", "type": "A", "ttl": 1, "records": ["192.0.2.1"]}]})
    assert st == 400 and "change 1" in body["error"]
    assert soa(api) == before_serial and rrsets(api) == before_sets


def test_unknown_zone_404_changes_nothing(api):
    before = soa(api)
    st, body = api.call("POST", "/v1/zones/nope.org./changes", {"changes": [
        {"action": "UPSERT", "name": "a.nope.org.", "type": "A", "ttl": 60, "records": ["192.0.2.1"]}]})
    assert st == 404 and "error" in body
    assert soa(api) == before


def test_all_or_nothing(api):
    before_serial, before_sets = soa(api), rrsets(api)
    st, body = api.call("POST", "/v1/zones/example.com./changes", {"changes": [
        {"action": "UPSERT", "name": "first.example.com.", "type": "A", "ttl": 60,
         "records": ["192.0.2.31"]},
        {"action": "UPSERT", "name": "second.example.com.", "type": "A", "ttl": 60,
         "records": ["not-an-address"]}]})
    assert st == 400, body
    assert body["error"].startswith("change 2"), body
    h.check(api.query("first.example.com", "A"), rcode="NXDOMAIN")
    assert soa(api) == before_serial and rrsets(api) == before_sets


def test_create_and_delete_like_route53(api):
    ch = {"action": "CREATE", "name": "www.example.com.", "type": "A", "ttl": 60, "records": ["192.0.2.1"]}
    st, body = api.call("POST", "/v1/zones/example.com./changes", {"changes": [ch]})
    assert st == 409 and "change 1" in body["error"], body    # www A exists
    assert "already exists" in body["error"], body
    st, body = api.call("POST", "/v1/zones/example.com./changes", {"changes": [
        {"action": "DELETE", "name": "mail.example.com.", "type": "A", "ttl": 3600,
         "records": ["192.0.2.25"]}]})
    assert st == 200, body
    # mail had only that RRset: the name is gone (tests/integration/test_zone_delete.py)
    h.check(api.query("mail.example.com", "A"), rcode="NXDOMAIN", answer=[])
    st, body = api.call("POST", "/v1/zones/example.com./changes", {"changes": [
        {"action": "DELETE", "name": "mail.example.com.", "type": "A", "ttl": 3600,
         "records": ["192.0.2.25"]}]})
    assert st == 400 and "change 1" in body["error"]           # nothing left to delete


# --------------------------------------------------------------------------
# traffic and endpoints

def test_traffic_get_put_delete(api):
    st, body = api.call("GET", "/v1/traffic/www.example.com.", token=READ)
    assert st == 200, body
    assert body["ttl"] == 30 and "geolocation" in body["policy"]
    st, names = api.call("GET", "/v1/traffic", token=READ)
    assert st == 200 and {n["name"] for n in names} == {"www.example.com.", "fo.example.com."}

    st, body = api.call("PUT", "/v1/traffic/new.example.com.", {"ttl": 20, "policy": "us-west"})
    assert st == 200, body
    r = sh.ask(api, "new.example.com")
    h.check(r, answer=["new.example.com. 20 IN A 192.0.2.20"])
    st, body = api.call("GET", "/v1/traffic/new.example.com.", token=READ)
    assert st == 200 and body["policy"] == "us-west"

    st, body = api.call("DELETE", "/v1/traffic/new.example.com.")
    assert st == 200, body
    h.check(api.query("new.example.com", "A"), rcode="NXDOMAIN")
    st, body = api.call("GET", "/v1/traffic/new.example.com.", token=READ)
    assert st == 404


def test_traffic_bad_put_400_unknown_404_nothing_changes(api):
    before = api.call("GET", "/v1/traffic/fo.example.com.", token=READ)
    st, body = api.call("PUT", "/v1/traffic/fo.example.com.", {"policy": {"failover": ["us-eats"]}})
    assert st == 400 and "us-eats" in body["error"]
    st, body = api.call("PUT", "/v1/traffic/fo.example.com.", raw=b'{"policy": ')
    assert st == 400
    st, body = api.call("PUT", "/v1/traffic/www.example.org.", {"policy": "us-east"})
    assert st == 400                                          # not inside any zone
    st, body = api.call("DELETE", "/v1/traffic/nothing.example.com.")
    assert st == 404 and "error" in body
    st, body = api.call("POST", "/v1/endpoints/nope/drain")
    assert st == 404 and "nope" in body["error"]
    assert api.call("GET", "/v1/traffic/fo.example.com.", token=READ) == before
    assert a_records(api, "fo.example.com") == ["192.0.2.10"]


def test_endpoint_put(api):
    st, body = api.call("PUT", "/v1/endpoints/extra", {"address": ["192.0.2.77"]})
    assert st == 200, body
    st, body = api.call("PUT", "/v1/traffic/extra.example.com.", {"policy": "extra"})
    assert st == 200, body
    assert a_records(api, "extra.example.com") == ["192.0.2.77"]
    st, eps = api.call("GET", "/v1/endpoints", token=READ)
    assert st == 200 and any(e["name"] == "extra" for e in eps)
    st, body = api.call("PUT", "/v1/endpoints/bad", {"address": ["not-an-ip"]})
    assert st == 400


def test_drain_takes_effect_within_100ms(api):
    assert a_records(api, "fo.example.com") == ["192.0.2.10"]
    t0 = time.monotonic()
    st, body = api.call("POST", "/v1/endpoints/us-east/drain")
    acked = time.monotonic()
    assert st == 200, body
    # The first query after the 200 already sees it (published before the ack).
    first = a_records(api, "fo.example.com")
    seen = time.monotonic()
    assert first == ["192.0.2.20"], first
    sh.report(f"api drain: 200 after {(acked - t0) * 1000:.1f} ms, "
              f"first answer without the endpoint {(seen - t0) * 1000:.1f} ms after the request")
    assert seen - t0 < 0.1
    st, body = api.call("GET", "/v1/health", token=READ)
    assert any(e["name"] == "us-east" and e["drained"] for e in body["endpoints"])

    st, body = api.call("POST", "/v1/endpoints/us-east/undrain")
    assert st == 200
    assert a_records(api, "fo.example.com") == ["192.0.2.10"]


def test_kill9_after_200_keeps_changes(api):
    st, body = api.call("POST", "/v1/zones/example.com./changes", {"changes": [
        {"action": "UPSERT", "name": "durable.example.com.", "type": "TXT", "ttl": 60,
         "records": ['"kept"']}]})
    assert st == 200, body
    serial = body["serial"]
    st, _ = api.call("POST", "/v1/endpoints/us-east/drain")
    assert st == 200
    st, _ = api.call("PUT", "/v1/traffic/kept.example.com.", {"ttl": 15, "policy": "canary"})
    assert st == 200
    api.kill9()                        # right after the last 200
    api.start()
    h.check(api.query("durable.example.com", "TXT"),
            answer=['durable.example.com. 60 IN TXT "kept"'])
    assert soa(api) == serial
    assert a_records(api, "fo.example.com") == ["192.0.2.20"]        # still drained
    h.check(sh.ask(api, "kept.example.com"), answer=["kept.example.com. 15 IN A 192.0.2.21"])


# --------------------------------------------------------------------------
# health, simulate, metrics

def test_health(api):
    wait_health(api, "eu-west", "down")
    st, body = api.call("GET", "/v1/health", token=READ)
    assert st == 200
    eu = next(s for s in body["slots"] if s["endpoint"] == "eu-west")
    assert eu["address"] == "127.0.0.21" and eu["check"] == "closed"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", eu["since"])
    assert eu["last_result"] and eu["transitions"][0]["state"] == "down"
    assert eu["transitions"][0]["reason"]
    us = next(s for s in body["slots"] if s["endpoint"] == "us-east")
    assert us["state"] == "up" and us["check"] is None


def test_simulate_explains_geolocation_failover(api):
    wait_health(api, "eu-west", "down")
    st, body = api.call("GET", "/v1/simulate?name=www.example.com&type=A&client=192.0.2.7",
                        token=READ)
    assert st == 200, body
    assert [r["data"] for r in body["answer"]] == ["192.0.2.10"]
    assert body["client"]["continent"] == "EU" and body["client"]["country"] == "DE"
    path = body["path"]
    assert path[0]["node"] == "geolocation" and path[0]["rule"] == "EU"
    assert path[1]["node"] == "failover" and path[1]["chosen"] == 1
    assert {c["node"]: c["up"] for c in path[1]["children"]} == {"eu-west": False, "us-east": True}
    assert path[-1]["node"] == "endpoint" and path[-1]["endpoint"] == "us-east"
    assert body["scope"] == 24

    # a prefix works too; US-CA goes to the weighted node
    st, body = api.call("GET", f"/v1/simulate?name=www.example.com&client={US_CA_CLIENT}", token=READ)
    assert st == 200 and body["path"][0]["rule"] == "US-CA"
    assert body["answer"][0]["data"] in ("192.0.2.20", "192.0.2.21")

    # a static name: the zone's answer
    st, body = api.call("GET", "/v1/simulate?name=example.com&type=MX&client=192.0.2.7", token=READ)
    assert st == 200 and body["answer"][0]["data"] == "10 mail.example.com." and body["path"] == []
    st, body = api.call("GET", "/v1/simulate?name=www.example.com&client=nonsense", token=READ)
    assert st == 400


def test_metrics(api):
    wait_health(api, "eu-west", "down")
    st, text = api.call("GET", "/metrics", token=READ)
    assert st == 200 and isinstance(text, str)
    assert re.search(r"^runway_up 1$", text, re.M)
    assert re.search(r"^runway_snapshot_generation \d+$", text, re.M)
    assert re.search(r"^runway_zones 1$", text, re.M)
    assert re.search(r"^runway_traffic_names 2$", text, re.M)
    assert 'runway_endpoint_up{endpoint="eu-west",address="127.0.0.21"} 0' in text
    assert 'runway_endpoint_up{endpoint="us-east",address="192.0.2.10"} 1' in text
    assert re.search(r"^runway_health_probes_total [1-9]\d*$", text, re.M)


# --------------------------------------------------------------------------
# the CLI

def test_cli_status(api):
    wait_health(api, "eu-west", "down")
    r = run_cli(api, "status", token=READ)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^eu-west\s+127\.0\.0\.21\s+closed\s+down", r.stdout, re.M), r.stdout
    assert re.search(r"^www\.example\.com\.\s+policy\s+30\s+geolocation", r.stdout, re.M), r.stdout


def test_cli_drain_undrain(api):
    r = run_cli(api, "drain", "us-east")
    assert r.returncode == 0, r.stderr
    assert a_records(api, "fo.example.com") == ["192.0.2.20"]
    r = run_cli(api, "undrain", "us-east")
    assert r.returncode == 0, r.stderr
    assert a_records(api, "fo.example.com") == ["192.0.2.10"]
    r = run_cli(api, "drain", "nope")
    assert r.returncode == 1
    assert r.stderr.startswith("runway drain: 404: ") and r.stderr.count("\n") == 1, r.stderr
    r = run_cli(api, "drain", "us-east", token=READ)
    assert r.returncode == 1 and r.stderr.startswith("runway drain: 403: ")
    r = run_cli(api, "drain", "us-east", token=None)
    assert r.returncode == 1 and r.stderr.startswith("runway drain: 401: ")


def test_cli_set_weight(api):
    r = run_cli(api, "set-weight", "www.example.com", "canary", "0")
    assert r.returncode == 0, r.stderr
    st, body = api.call("GET", "/v1/traffic/www.example.com.", token=READ)
    weighted = body["policy"]["geolocation"]["US-CA"]["weighted"]
    assert weighted == {"us-west": 90, "canary": 0}
    # every US-CA answer is us-west now
    for _ in range(20):
        assert a_records(api, "www.example.com", subnet=US_CA_CLIENT) == ["192.0.2.20"]
    r = run_cli(api, "set-weight", "www.example.com", "eu-west", "5")
    assert r.returncode == 1 and "eu-west" in r.stderr
    r = run_cli(api, "set-weight", "www.example.com", "canary", "300")
    assert r.returncode == 2


def test_cli_simulate(api):
    wait_health(api, "eu-west", "down")
    r = run_cli(api, "simulate", "www.example.com", "--client", "192.0.2.7", token=READ)
    assert r.returncode == 0, r.stderr
    assert "192.0.2.10" in r.stdout and "failover" in r.stdout and "eu-west down" in r.stdout
    assert "EU DE" in r.stdout
    r = run_cli(api, "simulate", "www.example.com", token=READ)
    assert r.returncode == 2


def test_cli_export_roundtrip(api, tmp_path):
    st, _ = api.call("POST", "/v1/zones/example.com./changes", {"changes": [
        {"action": "UPSERT", "name": "exported.example.com.", "type": "A", "ttl": 60,
         "records": ["192.0.2.99"]}]})
    assert st == 200
    out = tmp_path / "export"
    r = run_cli(api, "export", str(out), token=READ)
    assert r.returncode == 0, r.stderr
    zone = (out / "example.com.zone").read_text()
    assert re.search(r"^exported\.example\.com\.\s+60\s+IN\s+A\s+192\.0\.2\.99$", zone, re.M)
    traffic = (out / "traffic.yaml").read_text()
    assert "www.example.com." in traffic and "us-east" in traffic
    # What was exported loads back: a config made of the exported files checks.
    (out / "geo.mmdb").write_bytes((api.workdir / "geo.mmdb").read_bytes())
    cfg = out / "runway.yaml"
    cfg.write_text("zones:\n  - name: example.com.\n    file: example.com.zone\n"
                   "geoip:\n  mmdb: geo.mmdb\n" + traffic)
    r = subprocess.run([str(h.RUNWAY), "check", "-c", str(cfg)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr + r.stdout


def test_cli_query_subnet(api):
    wait_health(api, "eu-west", "down")
    r = subprocess.run([str(h.RUNWAY), "query", "www.example.com", "A", "@127.0.0.1", "-p",
                        str(api.port), "--subnet", "198.51.100.0/24"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "CLIENT-SUBNET: 198.51.100.0/24/24" in r.stdout, r.stdout
    assert re.search(r"IN\s+A\s+192\.0\.2\.2[01]$", r.stdout, re.M), r.stdout
    r = subprocess.run([str(h.RUNWAY), "query", "www.example.com", "--subnet", "300.1.1.0/24"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--subnet" in r.stderr
