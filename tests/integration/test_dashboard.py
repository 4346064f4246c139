# SPDX-License-Identifier: GPL-3.0-or-later
"""The dashboard (GET /, docs/api.md "Dashboard"): its files are served
without a token, and the page, loaded in headless Chromium with a token in
the URL fragment, shows the zones, the policy trees with the endpoints'
health and drain, the traffic split from the counters, the health detail
and a simulated answer with its trace (each endpoint and why).

Everything listens on loopback; every wait is a bounded poll. Chromium is
Debian's `chromium` (scripts/deps.sh test installs it); the test installs
it itself when it is missing and it can, and is skipped only when it
cannot (the reason is given).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

import steer_helpers as sh
from test_api import READ, WRITE, ApiServer

pytestmark = pytest.mark.runway_only

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

# eu-west's check passes, eu-backup's fails (503), the others have no check
# (up, as queries see them); canary is drained through the API below.
TRAFFIC = """
health_checks:
  web: {{ type: http, port: {port}, path: /healthz, interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }}
endpoints:
  eu-west: {{ address: [127.0.0.31], health_check: web }}
  eu-backup: {{ address: [127.0.0.32], health_check: web }}
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
        EU: {{ failover: [eu-west, eu-backup] }}
        US-CA: {{ weighted: {{ us-west: 90, canary: 10 }} }}
        default: us-east
  api.example.com.:
    policy: {{ failover: [eu-backup, us-east] }}
"""

EU, US_CA = "192.0.2.0/24", "198.51.100.0/24"


def chromium() -> str:
    """The chromium binary; installed with apt-get when missing (root
    only). Skips, saying why, when it cannot be had."""
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("chromium is not installed and this user cannot apt-get it "
                    "(run `scripts/deps.sh test` as root)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
                       capture_output=True, text=True, timeout=900, env=env, stdin=subprocess.DEVNULL)
    if r.returncode != 0 or not shutil.which("chromium"):
        pytest.skip(f"chromium cannot be installed (apt-get install chromium: {r.returncode}): "
                    f"{(r.stderr or r.stdout).strip()[-300:]}")
    return shutil.which("chromium")


def run_chromium(exe, profile, *args, timeout=90):
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
           f"--user-data-dir={profile}", "--virtual-time-budget=8000", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"{' '.join(cmd)}: exit {r.returncode}\n{r.stderr[-2000:]}"
    return r.stdout


@pytest.fixture
def dash(tmp_path):
    pool = sh.BackendPool(["127.0.0.31", "127.0.0.32"])
    pool["127.0.0.32"].set(status=503)
    s = ApiServer(tmp_path / "srv", TRAFFIC.format(port=pool.port))
    try:
        s.start()
        yield s
    finally:
        s.stop()
        pool.stop()


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.headers, r.read()


def test_assets_need_no_token_and_fetch_nothing_outside(dash):
    types = {"/": "text/html", "/app.js": "text/javascript", "/style.css": "text/css"}
    for path, ctype in types.items():
        st, hdr, body = get(dash.api_url + path)
        assert st == 200 and hdr["Content-Type"].startswith(ctype), (path, hdr["Content-Type"])
        assert hdr["Cache-Control"], path
        assert len(body) > 100, path
        # Self-contained: no absolute URL to load anything from (CDN, fonts).
        text = body.decode()
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|@import|url\(\s*["']?(https?:)?//""",
                             text), path
        assert "http://" not in text and "https://" not in text, path
    st, _ = dash.call("GET", "/v1/zones", token=None)
    assert st == 401                        # the data still needs a token
    st, _ = dash.call("POST", "/", token=WRITE)
    assert st == 405


def test_dashboard_in_chromium(dash, tmp_path):
    exe = chromium()
    st, body = dash.call("POST", "/v1/endpoints/canary/drain", token=WRITE)
    assert st == 200, body

    def states():
        st, body = dash.call("GET", "/v1/health", token=READ)
        assert st == 200, body
        return {s["endpoint"]: s["state"] for s in body["slots"]}
    sh.wait_until(lambda: states().get("eu-west") == "up" and states().get("eu-backup") == "down",
                  10, "eu-west up and eu-backup down in /v1/health")

    # Answers to count: EU -> eu-west, US-CA -> us-west (canary drained),
    # api -> us-east (eu-backup down).
    for _ in range(30):
        assert sh.addrs(sh.ask(dash, "www.example.com", "A", subnet=EU)) == ["127.0.0.31"]
    for _ in range(10):
        assert sh.addrs(sh.ask(dash, "www.example.com", "A", subnet=US_CA)) == ["192.0.2.20"]
    for _ in range(5):
        sh.ask(dash, "api.example.com", "A")

    def counted():
        st, text = dash.call("GET", "/metrics", token=READ)
        return st == 200 and 'runway_traffic_answers_total{name="www.example.com.",endpoint="eu-west"} 30' in text
    sh.wait_until(counted, 10, "the answers in runway_traffic_answers_total")

    url = (dash.api_url + "/#token=" + READ +
           "&client=" + EU + "&name=www.example.com&type=A")
    profile = tmp_path / "chromium-profile"
    dom = run_chromium(exe, profile, "--dump-dom", url)

    assert "token refused" not in dom and "error:" not in dom, dom[:3000]
    # zones
    assert 'data-zone="example.com."' in dom
    # traffic names and the policy trees, node kinds
    for name in ("www.example.com.", "api.example.com."):
        assert f'data-traffic="{name}"' in dom, name
    for kind in ("geolocation", "failover", "weighted"):
        assert f'data-kind="{kind}"' in dom, kind
    assert ">US-CA<" in dom and ">EU<" in dom and ">weight 90<" in dom
    # endpoints with their health state, the drain mark
    chips = {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(
        r'class="ep [^"]*" data-endpoint="([^"]+)" data-state="([^"]+)" data-drained="(yes|no)"', dom)}
    assert chips.get("eu-west") == ("up", "no"), chips
    assert chips.get("eu-backup") == ("down", "no"), chips
    assert chips.get("us-east") == ("up", "no"), chips            # no check: counts as up
    assert re.search(r'data-endpoint="us-east"[^>]*>.*?\(no check\)', dom)
    assert chips.get("canary", ("", ""))[1] == "yes", chips
    # traffic split from the counters: www's answers 30 eu-west / 10 us-west
    cards = {m.group(1): m.group(0) for m in re.finditer(r'<article[^>]*data-traffic="([^"]+)".*?</article>', dom, re.S)}
    www = cards["www.example.com."]
    assert re.search(r'data-split-endpoint="eu-west">.*?eu-west 75%', www), www[-1500:]
    assert re.search(r'data-split-endpoint="us-west">.*?us-west 25%', www)
    # health detail: since, last result, transitions
    assert "connect" in dom or "503" in dom     # eu-backup's last result
    assert re.search(r'data-endpoint="eu-backup"><td>eu-backup', dom)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(\d+ s ago\)", dom)
    # the simulated answer from the fragment: EU -> failover -> eu-west
    sim = dom[dom.index('id="simulate"'):]
    assert "127.0.0.31" in sim and "NOERROR" in sim, sim[:2000]
    assert 'data-node="geolocation"' in sim and 'data-node="failover"' in sim
    # ... and the trace: the stage, the entry, each endpoint and why (not) used
    assert 'data-stage="steer"' in sim and "policy entry <code>www.example.com.</code>" in sim
    whys = dict(re.findall(r'data-sim-endpoint="([^"]+)" data-why="([^"]+)"', sim))
    assert whys == {"eu-west": "used", "eu-backup": "down", "us-west": "not chosen",
                    "canary": "drained", "us-east": "not chosen"}, whys
    row = re.search(r'data-sim-endpoint="eu-backup".*?</tr>', sim, re.S).group(0)
    assert "health check fails since" in row and "503" in row, row
    row = re.search(r'data-sim-endpoint="canary".*?</tr>', sim, re.S).group(0)
    assert "drained by the operator at " in row, row

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    shot.unlink(missing_ok=True)
    run_chromium(exe, profile, f"--screenshot={shot}", "--window-size=1280,1000", url)
    assert shot.exists() and shot.stat().st_size > 10_000, shot
    print(f"\ndashboard screenshot: {shot} ({shot.stat().st_size} bytes)")
