# SPDX-License-Identifier: GPL-3.0-or-later
"""Zone transfers in the HTTP API and the CLI (docs/api.md, docs/cli.md):
GET /v1/zones/{zone}/transfer, POST .../refresh and .../retransfer,
`runway zone status|refresh|retransfer`, and the transfer lines of /metrics.

runwayd serves example.net. as a primary (notify targets, allow_transfer
with a key) and secondary.example. as a secondary of a knotd primary; the
routes' JSON, their errors (unknown zone or view 404, refresh of a primary
400, a read token's POST 403) and the refresh that brings a new serial
are checked. Loopback only; every process is stopped on any exit."""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

import pytest

import dnsharness as h
import peers as P
from abuse_helpers import parse_metrics

pytestmark = pytest.mark.runway_only

WRITE, READ = "xfr-write", "xfr-read"
KEY = P.TsigKey.generate("xfr.")
ZONE = (h.ZONES_DIR / "example.net.zone").read_text() + (h.ZONES_DIR / "big.inc").read_text()
ZONE = ZONE.replace("$INCLUDE big.inc\n", "")
SECONDARY = """$ORIGIN secondary.example.
$TTL 300
@ SOA ns1 hostmaster 100 3600 3600 1209600 300
@ NS ns1
ns1 A 192.0.2.53
www A 192.0.2.80
"""


class ApiRunway(P.RunwayPeer):
    """runwayd with an API of a write and a read token."""

    def __init__(self, workdir):
        super().__init__(workdir)
        self.api_port = h.free_port()

    def api_yaml(self):
        return ("api:\n"
                f'  listen: "{P.HOST}:{self.api_port}"\n'
                f"  tokens:\n    - {{ token: {WRITE}, access: write }}\n"
                f"    - {{ token: {READ}, access: read }}\n"
                "  data: state/\n")

    def config_text(self):
        return P.runway_conf(self.zones, listen=f"{P.HOST}:{self.port}", extra=self.api_yaml())

    def call(self, method, path, body=None, timeout=5.0, token=WRITE):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://{P.HOST}:{self.api_port}{path}", data=data,
                                     method=method)
        req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, text, ctype = r.status, r.read().decode(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            status, text, ctype = e.code, e.read().decode(), e.headers.get("Content-Type", "")
        except OSError as e:
            return 0, str(e)
        return status, (json.loads(text) if ctype.startswith("application/json") else text)

    @property
    def api_url(self):
        return f"http://{P.HOST}:{self.api_port}"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    if not P.have("knot"):
        pytest.skip("knotd not installed")
    d = tmp_path_factory.mktemp("api-xfr")
    knot = P.KnotPeer(d / "knot")
    knot.add_zone(P.Zone("secondary.example.", text=SECONDARY,
                         allow_transfer=[P.Acl("127.0.0.0/8", KEY)]))
    rw = ApiRunway(d / "rw")
    rw.add_zone(P.Zone("example.net.", text=ZONE,
                       notify=[P.Remote("127.0.0.2", 5399, KEY), P.Remote("127.0.0.3", 5399)],
                       allow_transfer=[P.Acl("127.0.0.0/8", KEY)]))
    rw.add_zone(P.Zone("secondary.example.", primaries=[knot.remote(KEY)]))
    with P.Peers() as peers:
        peers.start(knot, rw)
        yield knot, rw


def transfer(rw, zone, token=READ, query=""):
    st, body = rw.call("GET", f"/v1/zones/{zone}/transfer{query}", token=token)
    assert st == 200, body
    return body


def wait_for(what, probe, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.05)  # poll interval of a readiness check


def secondary_loaded(rw, serial=None, zone="secondary.example.", transfers=1):
    """The secondary's status once it serves (serial) and the service has
    counted that many transfers (it publishes the zone, then records the
    transfer), else None; skips when this runwayd's secondary side does not
    transfer yet."""
    j = transfer(rw, zone)
    if j["state"] is None:
        pytest.skip("this runwayd's secondary service does not report zones yet")
    c = j["counters"]
    if (j["loaded"] and (serial is None or j["serial"] == serial) and
            c["axfr"] + c["ixfr"] >= transfers):
        return j
    return None


def rfc3339(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def run_cli(rw, *args, token=WRITE):
    env = dict(os.environ, RUNWAY_API=rw.api_url, RUNWAY_TOKEN=token)
    return subprocess.run([str(h.RUNWAY), *args], capture_output=True, text=True, timeout=30,
                          env=env, stdin=subprocess.DEVNULL)


# --------------------------------------------------------------------------
# a primary zone

def test_primary_status(servers):
    knot, rw = servers
    j = transfer(rw, "example.net")
    assert j["zone"] == "example.net." and j["view"] is None and j["role"] == "primary"
    assert j["loaded"] is True and j["serial"] == 2024010101 and j["records"] > 100
    assert j["notify"] == [{"address": "127.0.0.2:5399", "key": "xfr."},
                           {"address": "127.0.0.3:5399", "key": None}]
    assert j["notify_ns"] is False and j["allow_transfer"] == 1
    assert j["serial_policy"] == "increment"
    assert "primaries" not in j and "last_refresh" not in j
    # the history IXFR answers from grows with a change
    h0 = j["history"]
    st, body = rw.call("POST", "/v1/zones/example.net./changes", {"changes": [
        {"action": "UPSERT", "name": "apitest.example.net.", "type": "A", "ttl": 60,
         "records": ["192.0.2.99"]}]})
    assert st == 200, body
    j = transfer(rw, "example.net.")
    assert j["serial"] == 2024010102
    assert j["history"]["changes"] == h0["changes"] + 1
    assert j["history"]["oldest_serial"] == (h0["oldest_serial"] or 2024010101)
    assert j["history"]["bytes"] > h0["bytes"]


@pytest.mark.parametrize("method,path,token,status,error", [
    ("GET", "/v1/zones/nope.example/transfer", READ, 404, "no zone 'nope.example'"),
    ("GET", "/v1/zones/example.net/transfer?view=inside", READ, 404, "no view 'inside'"),
    ("POST", "/v1/zones/nope.example/refresh", WRITE, 404, "no zone 'nope.example'"),
    ("POST", "/v1/zones/example.net/refresh", WRITE, 400,
     "zone example.net. is not a secondary (it has no primaries:): nothing to refresh"),
    ("POST", "/v1/zones/example.net./retransfer", WRITE, 400,
     "zone example.net. is not a secondary (it has no primaries:): nothing to retransfer"),
    ("POST", "/v1/zones/secondary.example/refresh", READ, 403, "read"),
    ("POST", "/v1/zones/secondary.example/retransfer", READ, 403, "read"),
    ("PUT", "/v1/zones/secondary.example/transfer", WRITE, 405, "allowed: GET"),
    ("GET", "/v1/zones/secondary.example/refresh", READ, 405, "allowed: POST"),
])
def test_errors(servers, method, path, token, status, error):
    _, rw = servers
    st, body = rw.call(method, path, token=token)
    assert st == status, body
    assert isinstance(body, dict) and error in body["error"], body


# --------------------------------------------------------------------------
# a secondary zone

def test_secondary_status_refresh_retransfer(servers):
    knot, rw = servers
    j = wait_for("secondary.example. transferred", lambda: secondary_loaded(rw))
    assert j["role"] == "secondary" and j["serial"] == knot.soa_serial("secondary.example.")
    assert j["primaries"] == [{"address": f"127.0.0.1:{knot.port}", "key": "xfr."}]
    assert j["primary"] == f"127.0.0.1:{knot.port}"
    assert j["last_error"] is None and j["expired"] is False
    now = time.time()
    assert now - 60 < rfc3339(j["last_refresh"]) <= now + 1
    assert rfc3339(j["next_refresh"]) - rfc3339(j["last_refresh"]) == 3600   # the SOA's refresh
    assert 1209600 - 120 < j["expires_in"] <= 1209600
    t = j["last_transfer"]
    assert t["kind"] == "AXFR" and t["records"] == 5 and t["messages"] >= 1 and t["bytes"] > 100
    assert j["counters"]["axfr"] >= 1

    # a change on the primary, then refresh: the new serial, by IXFR (the
    # SOA's refresh and retry are an hour, and Knot sends no NOTIFY here:
    # only the route makes it look now)
    s0, n0 = j["serial"], j["counters"]["axfr"] + j["counters"]["ixfr"]
    knot.zone_set("secondary.example.", [("set", "new.secondary.example.", 300, "A", "192.0.2.7")])
    st, body = rw.call("POST", "/v1/zones/secondary.example/refresh")
    assert st == 202 and body == {"zone": "secondary.example.", "view": None,
                                  "queued": "refresh"}, body
    j = wait_for("the new serial", lambda: secondary_loaded(rw, s0 + 1, transfers=n0 + 1))
    assert j["last_transfer"]["kind"] == "IXFR", (j, rw.log_tail(20))
    assert j["counters"]["ixfr"] == 1

    # retransfer: a whole transfer although the serials agree
    axfr = j["counters"]["axfr"]
    st, body = rw.call("POST", "/v1/zones/secondary.example./retransfer")
    assert st == 202 and body["queued"] == "retransfer", body
    j = wait_for("an AXFR more", lambda: (lambda x: x if x["counters"]["axfr"] > axfr else None)(
        transfer(rw, "secondary.example.")))
    assert j["last_transfer"]["kind"] == "AXFR" and j["serial"] == s0 + 1


# --------------------------------------------------------------------------
# views

class ViewsRunway(ApiRunway):
    """example.net. at the top level and, with other settings, in view
    inside (127.0.0.5); view outside shares the top-level zone."""

    def config_text(self):
        return (f'server:\n  listen: ["{P.HOST}:{self.port}"]\n  workers: 1\n'
                f'tsig_keys:\n  {KEY.name}: {{ algorithm: {KEY.algorithm}, secret: "{KEY.secret}" }}\n'
                "zones:\n  - name: example.net.\n    file: example.net.zone\n"
                '    notify: [{ address: "127.0.0.2:5399" }]\n'
                "views:\n  - name: inside\n    match: [\"127.0.0.5/32\"]\n    zones:\n"
                "      - name: example.net.\n        file: example.net.inside.zone\n"
                f'        notify: [{{ address: "127.0.0.9:5399", key: {KEY.name} }}]\n'
                f"        allow_transfer: [{{ match: [any], key: {KEY.name} }}]\n"
                "  - name: outside\n    match: [any]\n" + self.api_yaml())


def test_views(tmp_path):
    rw = ViewsRunway(tmp_path / "rw")
    rw.add_zone(P.Zone("example.net.", text=ZONE))
    rw.write_zone_file("example.net.inside.", ZONE.replace("2024010101", "2024020202"))
    with P.Peers() as peers:
        peers.start(rw)
        j = transfer(rw, "example.net", query="?view=inside")
        assert (j["view"], j["serial"], j["allow_transfer"]) == ("inside", 2024020202, 1)
        assert j["notify"] == [{"address": "127.0.0.9:5399", "key": "xfr."}]
        for q in ("", "?view=outside"):        # outside shares the top-level zone
            j = transfer(rw, "example.net.", query=q)
            assert (j["view"], j["serial"], j["allow_transfer"]) == (None, 2024010101, 0), q
            assert j["notify"] == [{"address": "127.0.0.2:5399", "key": None}]
        st, body = rw.call("GET", "/v1/zones/example.net/transfer?view=nope", token=READ)
        assert st == 404 and body["error"] == "no view 'nope'"
        st, body = rw.call("GET", "/v1/zones/nope.example/transfer?view=inside", token=READ)
        assert st == 404 and body["error"] == "no zone 'nope.example' in view 'inside'"
        st, body = rw.call("POST", "/v1/zones/example.net/refresh?view=inside")
        assert st == 400 and "not a secondary" in body["error"]
        p = run_cli(rw, "zone", "status", "example.net", "--view", "inside", token=READ)
        assert p.returncode == 0, p.stderr
        assert re.search(r"^view +inside$", p.stdout, re.M) and "2024020202" in p.stdout


# --------------------------------------------------------------------------
# /metrics

def test_metrics(servers):
    knot, rw = servers
    wait_for("secondary.example. transferred", lambda: secondary_loaded(rw))
    # one transfer out to count: runwayd's own AXFR of example.net.
    p = h.run_tool(["query", "example.net", "AXFR", f"@127.0.0.1#{rw.port}", "-y",
                    f"{KEY.algorithm}:{KEY.name}:{KEY.secret}"])
    assert p.returncode == 0, p.stderr
    st, text = rw.call("GET", "/metrics", token=READ)
    assert st == 200
    m = parse_metrics(text)
    assert m['runway_zone_serial{zone="example.net."}'] >= 2024010101
    assert m['runway_zone_serial{zone="secondary.example."}'] >= 100
    exp = m['runway_zone_expires_in_seconds{zone="secondary.example.",view=""}']
    assert 1209600 - 120 < exp <= 1209600
    assert m['runway_zone_expired{zone="secondary.example.",view=""}'] == 0
    assert m['runway_xfr_in_total{zone="secondary.example.",view="",kind="axfr",result="ok"}'] >= 1
    assert 'runway_xfr_in_total{zone="secondary.example.",view="",kind="any",result="failed"}' in m
    assert m['runway_xfr_in_last_bytes{zone="secondary.example.",view=""}'] > 100
    assert m['runway_zone_refreshes_total{zone="secondary.example.",view="",result="ok"}'] >= 1
    assert m['runway_xfr_out_total{kind="axfr"}'] >= 1
    assert 'runway_xfr_out_total{kind="ixfr"}' in m and 'runway_xfr_out_running' in m
    # NOTIFY out (xfr/notify.c): example.net.'s two targets, nobody there
    assert 'runway_notify_sent_total' in m and 'runway_notify_failed_total' in m
    for name in ("runway_zone_expires_in_seconds", "runway_xfr_in_total", "runway_xfr_out_total",
                 "runway_zone_refreshes_total"):
        assert re.search(rf"^# TYPE {name} (gauge|counter)$", text, re.M), name


# --------------------------------------------------------------------------
# runway zone

def test_cli_zone_status(servers):
    knot, rw = servers
    wait_for("secondary.example. transferred", lambda: secondary_loaded(rw))
    p = run_cli(rw, "zone", "status", "example.net", token=READ)
    assert p.returncode == 0, p.stderr
    assert re.search(r"^role +primary$", p.stdout, re.M), p.stdout
    assert re.search(r"^notify +127\.0\.0\.2:5399 \(key xfr\.\), 127\.0\.0\.3:5399$", p.stdout, re.M)
    p = run_cli(rw, "zone", "status", "secondary.example", token=READ)
    assert p.returncode == 0, p.stderr
    assert re.search(r"^role +secondary$", p.stdout, re.M), p.stdout
    assert re.search(rf"^primaries +127\.0\.0\.1:{knot.port} \(key xfr\.\)$", p.stdout, re.M)
    assert re.search(r"^last transfer +[AI]XFR, \d+ records", p.stdout, re.M), p.stdout
    assert re.search(r"^next refresh +\S+ \(in \d+ s\)$", p.stdout, re.M), p.stdout
    p = run_cli(rw, "zone", "status", "secondary.example.", "--json", token=READ)
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    assert j["role"] == "secondary" and j["zone"] == "secondary.example."
    # every zone, a line each
    p = run_cli(rw, "zone", "status", token=READ)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split()[:4] == ["ZONE", "VIEW", "ROLE", "SERIAL"]
    rows = {ln.split()[0]: ln.split() for ln in lines[1:]}
    assert rows["example.net."][1:4] == ["-", "primary", str(transfer(rw, "example.net")["serial"])]
    sec = rows["secondary.example."]
    assert sec[2] == "secondary" and sec[4] in ("idle", "queued", "refreshing", "transferring")
    assert sec[5] in ("AXFR", "IXFR") and int(sec[6]) > 1209600 - 120 and sec[7] == "s"
    p = run_cli(rw, "zone", "status", "--json", token=READ)
    assert p.returncode == 0, p.stderr
    assert {z["zone"] for z in json.loads(p.stdout)} == {"example.net.", "secondary.example."}


def test_cli_zone_refresh_and_errors(servers):
    _, rw = servers
    wait_for("secondary.example. transferred", lambda: secondary_loaded(rw))
    p = run_cli(rw, "zone", "refresh", "secondary.example")
    assert p.returncode == 0, p.stderr
    assert p.stdout == ("refresh of secondary.example.: queued ('runway zone status "
                        "secondary.example' shows how it went)\n")
    p = run_cli(rw, "zone", "retransfer", "secondary.example")
    assert p.returncode == 0 and p.stdout.startswith("retransfer of secondary.example.: queued")
    p = run_cli(rw, "zone", "refresh", "example.net")
    assert p.returncode == 1
    assert p.stderr == ("runway zone: 400: zone example.net. is not a secondary (it has no "
                        "primaries:): nothing to refresh\n")
    p = run_cli(rw, "zone", "status", "nope.example", token=READ)
    assert p.returncode == 1 and p.stderr == "runway zone: 404: no zone 'nope.example'\n"
    p = run_cli(rw, "zone", "refresh", "secondary.example", token=READ)
    assert p.returncode == 1 and "runway zone: 403: " in p.stderr
    for args, msg in ((["zone"], "expected ACTION ZONE"),
                      (["zone", "status", "--view", "inside"], "--view goes with a ZONE"),
                      (["zone", "purge", "x"], "unknown action 'purge'"),
                      (["zone", "refresh", "x", "--json"], "--json goes with status")):
        p = run_cli(rw, *args)
        assert p.returncode == 2 and msg in p.stderr, (args, p.stderr)


# --------------------------------------------------------------------------
# the examples of docs/cli.md and docs/api.md, replayed: runwayd serving
# the quickstart's example.com. as a primary and example.org. as a
# secondary of knotd, the docs' key, one API change

DOC_KEY = P.TsigKey("xfr.", "4c8FZ2tOCNhhuWRpf7u82Et71neADxmVcQ7NfksU6jI=")
DOC_ORG = """$ORIGIN example.org.
$TTL 3600
@ SOA ns1.example.org. hostmaster.example.org. 2024061501 3600 900 1209600 300
@ NS ns1.example.org.
ns1 A 192.0.2.53
www A 192.0.2.80
"""
# what changes from run to run (times) or with the primary's encoder (the
# bytes of a transfer: its name compression is runwayd's choice)
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z|\((in )?\d+ s( ago)?\)|\d+ ms|"
                  r"Query time: \d+ msec|bytes \d+\)")


def examples(doc, prefix):
    """(command, output) of each `$ PREFIX...` line of doc's console blocks."""
    out = []
    text = (h.REPO / "docs" / doc).read_text()
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        cmd, lines = None, []
        for line in block.splitlines() + ["$ "]:
            if line.startswith("$ "):
                if cmd is not None and cmd.startswith(prefix):
                    out.append((cmd, "\n".join(lines) + "\n"))
                cmd, lines = line[2:], []
            else:
                lines.append(line)
    return out


@pytest.fixture(scope="module")
def docs_setup(tmp_path_factory):
    if not P.have("knot"):
        pytest.skip("knotd not installed")
    d = tmp_path_factory.mktemp("api-xfr-docs")
    knot = P.KnotPeer(d / "knot")
    knot.add_zone(P.Zone("example.org.", text=DOC_ORG, allow_transfer=[P.Acl("127.0.0.0/8", DOC_KEY)]))
    rw = ApiRunway(d / "rw")
    rw.add_zone(P.Zone("example.com.", text=(h.QUICKSTART / "example.com.zone").read_text(),
                       notify=[P.Remote("127.0.0.2", 53, DOC_KEY)],
                       allow_transfer=[P.Acl("127.0.0.0/8", DOC_KEY)]))
    (rw.workdir / "example.com.office.inc").write_text(
        (h.QUICKSTART / "example.com.office.inc").read_text())
    rw.add_zone(P.Zone("example.org.", primaries=[knot.remote(DOC_KEY)]))
    with P.Peers() as peers:
        peers.start(knot, rw)
        st, body = rw.call("POST", "/v1/zones/example.com/changes", {"changes": [
            {"action": "UPSERT", "name": "api.example.com.", "type": "A", "ttl": 60,
             "records": ["192.0.2.9"]}]})
        assert st == 200 and body["serial"] == 2024061502, body
        wait_for("example.org. transferred", lambda: secondary_loaded(rw, zone="example.org."))
        yield knot, rw


def ports(text, knot, rw):
    return (text.replace("127.0.0.1:5300", f"127.0.0.1:{knot.port}")
            .replace("127.0.0.1#5353", f"127.0.0.1#{rw.port}"))


def test_docs_cli_zone_examples(docs_setup):
    knot, rw = docs_setup
    ex = examples("cli.md", "build/runway zone ")
    assert len(ex) >= 6, ex
    for cmd, doc_out in ex:
        args = cmd.split()[1:]
        p = run_cli(rw, *args, token=READ if args[1] == "status" else WRITE)
        got = re.sub(r"\b\d+ s\b", "N s", TIME.sub("T", p.stdout + p.stderr))
        want = re.sub(r"\b\d+ s\b", "N s", TIME.sub("T", ports(doc_out, knot, rw)))
        if "example.org" in cmd and args[1] == "status":
            # counters and sizes depend on how many refreshes ran before
            got, want = (re.sub(r"\d+", "N", x) for x in (got, want))
        assert got == want, cmd


def test_docs_cli_transfer_examples(docs_setup):
    knot, rw = docs_setup
    ex = examples("cli.md", "build/runway query example.com ")
    assert len(ex) >= 4, ex
    for cmd, doc_out in ex:
        cmd, _, tail = ports(cmd, knot, rw).partition(" | tail -")
        p = h.run_tool(cmd.split()[1:])
        got = TIME.sub("T", p.stdout + p.stderr)
        want = TIME.sub("T", ports(doc_out, knot, rw))
        if tail:
            got = "\n".join(p.stdout.splitlines()[-int(tail):]) + "\n"
        assert got == want, cmd


def test_docs_api_examples(docs_setup):
    knot, rw = docs_setup
    text = (h.REPO / "docs" / "api.md").read_text()
    blocks = re.findall(r'```console\n\$ curl -s -H "\$(R|W)"( -X POST)? \$API(\S+)\n(.*?)```',
                        text, re.S)
    seen = 0
    for tok, post, path, body in blocks:
        if not re.match(r"/v1/zones/[^/]+/(transfer|refresh|retransfer)$", path):
            continue
        seen += 1
        for one in re.split(r"\n(?=\$ curl)", body):
            m = re.match(r'(?:\$ curl -s -H "\$(R|W)"( -X POST)? \$API(\S+)\n)?(.*)', one, re.S)
            if m.group(3):
                tok, post, path = m.group(1), m.group(2), m.group(3)
            want = json.loads(ports(m.group(4), knot, rw))
            st, got = rw.call("POST" if post else "GET", path, token=READ if tok == "R" else WRITE)
            assert st in (200, 202, 400), (path, got)

            def mask(x):
                if isinstance(x, dict):
                    return {k: mask(v) for k, v in x.items()}
                if isinstance(x, list):
                    return [mask(v) for v in x]
                if isinstance(x, str) and TIME.fullmatch(x):
                    return "T"
                return x
            if path.startswith("/v1/zones/example.org/transfer"):
                # counters, times and sizes move with each refresh: the shape
                assert set(got) == set(want) and set(got["counters"]) == set(want["counters"])
                assert set(got["last_transfer"]) == set(want["last_transfer"])
                for k in ("zone", "role", "serial", "records", "primaries", "state", "primary"):
                    assert got[k] == want[k], k
            else:
                assert mask(got) == mask(want), path
    assert seen >= 3


def test_docs_metrics_names(docs_setup):
    _, rw = docs_setup
    text = (h.REPO / "docs" / "api.md").read_text()
    names = set(re.findall(r"^(runway_(?:zone_expire|xfr|notify|zone_refreshes)\w*)", text, re.M))
    assert len(names) >= 8, names
    st, live = rw.call("GET", "/metrics", token=READ)
    for n in names:
        assert re.search(rf"^{n}[{{ ]", live, re.M), n
