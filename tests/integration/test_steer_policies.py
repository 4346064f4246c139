# SPDX-License-Identifier: GPL-3.0-or-later
"""Traffic steering: every policy kind, nested trees, health, fail-open,
families, ALIAS, SRV and the ECS scope, against one runwayd.

Clients are placed with ECS (RFC 7871) from a test MaxMind database
(steer_helpers.GEO_ROWS) and an own-networks file; endpoints with health
checks live on 127.0.0.11..23, served by HTTP backends in this process that
a test turns to 503 to take an endpoint down. Each endpoint X also has a
probe name up-X.example.com (just X, fail_open: false): it answers while X
is up and is NODATA while it is down, which is how tests wait for a health
change to reach the query path (a bounded poll, not a sleep).
"""
import dns.rdatatype
import pytest

from dnsharness import check
import steer_helpers as sh
from steer_helpers import CLIENT, addrs, ask, ecs_of, ecs_scope

pytestmark = pytest.mark.runway_only

# name -> (address, (lat, lon))
CHECKED = {
    "us-east": ("127.0.0.11", (39.04, -77.49)),       # Ashburn
    "us-west": ("127.0.0.12", (37.77, -122.42)),      # San Francisco
    "us-west-canary": ("127.0.0.13", (37.77, -122.42)),
    "eu-west": ("127.0.0.14", (53.35, -6.26)),        # Dublin
    "eu-central": ("127.0.0.15", (50.11, 8.68)),      # Frankfurt
    "ap-ne": ("127.0.0.16", (35.68, 139.69)),         # Tokyo
    "ap-se": ("127.0.0.17", (1.29, 103.85)),          # Singapore
    "sa-east": ("127.0.0.18", (-23.55, -46.63)),      # Sao Paulo
}
SRV_EPS = {"srv-a": "127.0.0.21", "srv-b": "127.0.0.22", "srv-c": "127.0.0.23"}
PAIR = ["127.0.0.19", "127.0.0.20"]       # one endpoint, two checked addresses
IP = {name: a for name, (a, _) in CHECKED.items()} | SRV_EPS
LOC = {name: loc for name, (_, loc) in CHECKED.items()}
TTL = 60
SOA = "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300"


def traffic_yaml(port):
    eps = "\n".join(
        f"  {n}: {{ address: [{a}], health_check: fast, location: {{ lat: {la}, lon: {lo} }} }}"
        for n, (a, (la, lo)) in CHECKED.items())
    srv_eps = "\n".join(
        f"  {n}: {{ address: [{a}], health_check: fast, target: {n[-1]}.srv.example.com. }}"
        for n, a in SRV_EPS.items())
    probes = "\n".join(f"  up-{n}.example.com.: {{ fail_open: false, policy: {n} }}"
                       for n in list(CHECKED) + list(SRV_EPS))
    return f"""
health_checks:
  fast: {{ type: http, port: {port}, path: /healthz, expect_status: [200], expect_body: ok,
          interval: 100ms, timeout: 90ms, rise: 1, fall: 2 }}
endpoints:
{eps}
{srv_eps}
  pair: {{ address: [{PAIR[0]}, {PAIR[1]}], health_check: fast }}
  dual: {{ address: [192.0.2.50, "2001:db8::50"] }}
  v4only: {{ address: [192.0.2.51] }}
  v6only: {{ address: ["2001:db8::52"] }}
  cdn: {{ cname: edge.cdn.example.net. }}
geoip: {{ mmdb: test.mmdb, networks: networks.yaml }}
latency: {{ file: latency.csv }}
traffic:
{probes}
  www.example.com.:
    ttl: 30
    policy:
      geolocation:
        EU: {{ failover: [eu-west, us-east] }}
        US-CA: {{ weighted: {{ us-west: 90, us-west-canary: 10 }} }}
        default: {{ latency: [us-east, eu-west] }}
  example.com.:
    alias: www.example.com.
  alias-static.example.com.:
    alias: static.example.com.
  pair.example.com.:
    policy: {{ failover: [pair, us-east] }}
  w.example.com.:
    policy: {{ weighted: {{ us-east: 1, eu-west: 1 }} }}
  wl.example.com.:
    policy:
      weighted:
        - {{ weight: 3, node: us-east }}
        - {{ weight: 1, node: {{ failover: [eu-west, ap-ne] }} }}
  f.example.com.:
    policy: {{ failover: [eu-west, us-east] }}
  geo.example.com.:
    policy:
      geolocation:
        US-CA: us-west
        US: us-east
        NA: sa-east
        DE: eu-central
        EU: eu-west
        JP: ap-ne
        AS: ap-se
        default: eu-central
  prox.example.com.:
    policy: {{ geoproximity: {{ us-east: 0, eu-west: 0, ap-ne: 0, sa-east: 0 }} }}
  proxbias.example.com.:
    policy: {{ geoproximity: {{ us-east: 90, eu-west: 0 }} }}
  proxneg.example.com.:
    policy:
      geoproximity:
        - {{ bias: -50, node: eu-west }}
        - {{ bias: 0, node: eu-central }}
  lat.example.com.:
    policy: {{ latency: [us-east, eu-west, ap-ne] }}
  mv.example.com.:
    policy: {{ multivalue: [us-east, eu-west, ap-ne, ap-se] }}
  mv2.example.com.:
    policy: {{ multivalue: {{ count: 2, of: [us-east, eu-west, ap-ne, ap-se] }} }}
  cidr.example.com.:
    policy:
      cidr:
        100.64.0.0/10: us-east
        100.64.1.0/24: ap-ne
        100.64.1.128/25: ap-se
        "2001:db8:1::/48": eu-west
        default: eu-central
  cn.example.com.:
    policy: cdn
  fam.example.com.:
    policy: {{ failover: [v4only, dual] }}
  v6.example.com.:
    policy: v6only
  fo.example.com.:
    policy: {{ failover: [eu-west, us-east] }}
  nofo.example.com.:
    fail_open: false
    policy: {{ failover: [eu-west, us-east] }}
  deep.example.com.:
    policy:
      geolocation:
        EU:
          weighted:
            - {{ weight: 100, node: {{ failover: [eu-west, {{ multivalue: [eu-central, us-east] }}] }} }}
            - {{ weight: 0, node: ap-ne }}
        default:
          cidr:
            100.64.1.0/24: ap-ne
            default: {{ geoproximity: {{ us-east: 0, ap-se: 0 }} }}
  _http._tcp.example.com.:
    srv:
      - {{ endpoint: srv-a, port: 8080, priority: 10, weight: 60 }}
      - {{ endpoint: srv-b, port: 8081, priority: 10, weight: 40 }}
      - {{ endpoint: srv-c, port: 8082, priority: 20, weight: 0 }}
"""


NETWORKS = [
    {"network": "100.65.0.0/16", "continent": "EU", "country": "NL", "lat": 52.37, "lon": 4.90},
]

LATENCY = [
    # a network row: the Californian resolver measured Tokyo fastest (made up)
    ("198.51.100.0/24", "ap-ne", 10),
    ("198.51.100.0/24", "us-east", 70),
    ("198.51.100.0/24", "eu-west", 140),
    # country rows
    ("US", "us-east", 20),
    ("US", "eu-west", 90),
    ("US", "ap-ne", 150),
    ("JP", "eu-west", 20),      # disagrees with geography on purpose
    ("JP", "ap-ne", 50),
    ("JP", "us-east", 160),
    ("DE", "eu-west", 25),
    ("DE", "us-east", 95),
]


@pytest.fixture(scope="module")
def steer(tmp_path_factory):
    d = tmp_path_factory.mktemp("steer-policies")
    pool = sh.BackendPool(list(IP.values()) + PAIR)
    sh.make_mmdb(d / "test.mmdb")
    sh.write_networks(d / "networks.yaml", NETWORKS)
    sh.write_latency(d / "latency.csv", LATENCY)
    s = sh.SteerServer(d / "srv", traffic_yaml(pool.port),
                       files={"test.mmdb": d / "test.mmdb", "networks.yaml": d / "networks.yaml",
                              "latency.csv": d / "latency.csv"})
    s.pool = pool
    try:
        s.start()
        # readiness: the checks reach every backend
        for b in pool:
            b.wait_hits(1)
    except BaseException:
        s.stop()
        pool.stop()
        raise
    yield s
    rc = s.stop()
    pool.stop()
    assert rc == 0, f"runwayd exited with {rc}:\n{s.log_tail()}"


class Health:
    """Take endpoints down (HTTP 503) and bring them back, waiting until the
    probe names show the change."""

    def __init__(self, srv):
        self.srv = srv
        self.changed = set()

    def _probe_up(self, ep):
        r = self.srv.query(f"up-{ep}.example.com", "A", timeout=1.0)
        return r is not None and len(r.answer) > 0

    def down(self, *eps):
        for ep in eps:
            self.srv.pool[IP[ep]].set(status=503)
            self.changed.add(ep)
        for ep in eps:
            sh.wait_until(lambda: not self._probe_up(ep), 10, f"{ep} down")

    def up(self, *eps):
        for ep in eps:
            self.srv.pool[IP[ep]].healthy()
        for ep in eps:
            sh.wait_until(lambda: self._probe_up(ep), 10, f"{ep} up")
        self.changed -= set(eps)

    def restore(self):
        if self.changed:
            self.up(*sorted(self.changed))


@pytest.fixture
def health(steer):
    hl = Health(steer)
    yield hl
    hl.restore()


def one(srv, name, client, qtype="A"):
    """The answer addresses for one query from client (a CLIENT key, or None)."""
    return addrs(ask(srv, name, qtype, CLIENT[client] if client else None))


def ips(*eps):
    return sorted(IP[e] for e in eps)


# --------------------------------------------------------------------------
# the issue's example tree, static names, ECS echo

@pytest.mark.parametrize("client,want", [("DE", ["eu-west"]), ("IE", ["eu-west"]), ("GB", ["eu-west"]),
                                         ("FR6", ["eu-west"]), ("NL-own", ["eu-west"]),
                                         ("US-CA", ["us-west", "us-west-canary"]),
                                         ("US-VA", ["us-east"]), ("JP", ["eu-west"])])
def test_issue_example_tree(steer, client, want):
    """EU -> failover [eu-west, us-east]; US-CA -> weighted us-west 90 /
    canary 10; default -> latency [us-east, eu-west]: US-VA by its country
    row (us-east 20 < eu-west 90), JP by its (eu-west 20 < us-east 160)."""
    r = ask(steer, "www.example.com", "A", CLIENT[client])
    check(r, rcode="NOERROR", aa=True)
    got = addrs(r)
    assert len(got) == 1 and got[0] in ips(*want), f"{client}: got {got}, want one of {want}\n{r}"
    assert r.answer[0].ttl == 30
    assert r.answer[0].name.to_text() == "www.example.com."


def test_ecs_echoed_with_family_source_and_address(steer):
    r = ask(steer, "geo.example.com", "A", "198.51.100.0/24")
    o = ecs_of(r)
    assert o is not None, r.to_text()
    assert (o.family, o.srclen, o.address) == (1, 24, "198.51.100.0")
    assert o.scopelen == 24
    r = ask(steer, "geo.example.com", "A", "2001:db8:1::/48")
    o = ecs_of(r)
    assert (o.family, o.srclen, o.address, o.scopelen) == (2, 48, "2001:db8:1::", 48)


def test_no_ecs_in_reply_without_ecs_in_query(steer):
    r = ask(steer, "geo.example.com", "A")
    assert ecs_of(r) is None, r.to_text()
    # the source address 127.0.0.1 is nowhere: geolocation default
    assert addrs(r) == ips("eu-central")


def test_ecs_source_zero_uses_source_address_scope_zero(steer):
    """ECS with SOURCE PREFIX-LENGTH 0 (the resolver's client opted out):
    the answer is located by the source address, which the option does not
    describe, so the scope must be 0: any other value tells the resolver the
    answer holds for 0.0.0.0/SCOPE, a meaningless cache key."""
    r = ask(steer, "geo.example.com", "A", "0.0.0.0/0")
    assert addrs(r) == ips("eu-central")
    assert ecs_scope(r) == 0


@pytest.mark.parametrize("name,qtype", [("static.example.com", "A"), ("static.example.com", "AAAA"),
                                        ("ns1.example.com", "A"), ("www.example.com", "TXT"),
                                        ("example.com", "MX")])
def test_static_names_scope_zero(steer, name, qtype):
    r = ask(steer, name, qtype, CLIENT["US-CA"])
    check(r, rcode="NOERROR", aa=True)
    assert r.answer, r.to_text()
    assert ecs_scope(r) == 0


def test_static_name_answer_unchanged(steer):
    check(ask(steer, "static.example.com", "A", CLIENT["DE"]), rcode="NOERROR", aa=True,
          answer=["static.example.com. 3600 IN A 192.0.2.81"])


@pytest.mark.parametrize("name", ["w.example.com", "wl.example.com", "f.example.com", "cn.example.com",
                                  "fam.example.com", "mv.example.com"])
def test_client_independent_policies_scope_zero(steer, name):
    for c in ("US-CA", "DE", "JP", "FR6"):
        r = ask(steer, name, "A", CLIENT[c])
        check(r, rcode="NOERROR", aa=True)
        assert r.answer
        assert ecs_scope(r) == 0, f"{name} from {c}: scope {ecs_scope(r)}"


# --------------------------------------------------------------------------
# traffic names vs. the zone's own records

def test_traffic_wins_over_static_a(steer):
    r = ask(steer, "www.example.com", "A", CLIENT["DE"])
    check(r, rcode="NOERROR", aa=True, answer=[f"www.example.com. 30 IN A {IP['eu-west']}"])


def test_traffic_wins_over_static_aaaa(steer):
    # www's endpoints have no IPv6 address: NODATA, not the zone's 2001:db8::80
    r = ask(steer, "www.example.com", "AAAA", CLIENT["DE"])
    check(r, rcode="NOERROR", aa=True, answer=[], authority=[SOA])


def test_other_types_still_from_zone(steer):
    check(ask(steer, "www.example.com", "TXT", CLIENT["DE"]), rcode="NOERROR", aa=True,
          answer=['www.example.com. 3600 IN TXT "zone-txt"'])
    check(ask(steer, "example.com", "MX"), rcode="NOERROR", aa=True,
          answer=["example.com. 3600 IN MX 10 mail.example.com."])
    check(ask(steer, "example.com", "TXT"), rcode="NOERROR", aa=True,
          answer=['example.com. 3600 IN TXT "apex-txt"'])
    r = ask(steer, "example.com", "SOA")
    check(r, rcode="NOERROR", aa=True, answer=[SOA.replace(" 300 IN", " 3600 IN")])
    check(ask(steer, "example.com", "NS"), rcode="NOERROR", aa=True,
          answer=["example.com. 3600 IN NS ns1.example.com."])


# --------------------------------------------------------------------------
# weighted, failover

def test_weighted_both_used_and_down_child_skipped(steer, health):
    seen = {a for _ in range(60) for a in one(steer, "w.example.com", "DE")}
    assert seen == set(ips("us-east", "eu-west")), seen
    health.down("us-east")
    for _ in range(40):
        assert one(steer, "w.example.com", "DE") == ips("eu-west")


def test_weighted_list_form_with_nested_failover(steer, health):
    seen = {a for _ in range(80) for a in one(steer, "wl.example.com", None)}
    assert seen == set(ips("us-east", "eu-west")), seen
    health.down("eu-west")
    seen = {a for _ in range(80) for a in one(steer, "wl.example.com", None)}
    assert seen == set(ips("us-east", "ap-ne")), seen


def test_failover_order(steer, health):
    assert one(steer, "f.example.com", "JP") == ips("eu-west")
    health.down("eu-west")
    assert one(steer, "f.example.com", "JP") == ips("us-east")
    health.up("eu-west")
    assert one(steer, "f.example.com", "JP") == ips("eu-west")


# --------------------------------------------------------------------------
# geolocation

@pytest.mark.parametrize("client,ep,scope", [
    ("US-CA", "us-west", 24),        # subdivision beats country and continent
    ("US-VA", "us-east", 24),        # country
    ("US", "us-east", 20),           # the database's /20 network: scope 20
    ("US-OR6", "us-east", 48),       # IPv6 client, country
    ("CA-QC", "sa-east", 24),        # continent NA
    ("DE", "eu-central", 24),        # country beats continent
    ("IE", "eu-west", 24),           # continent EU
    ("GB", "eu-west", 24),
    ("EU-only", "eu-west", 24),      # the database knows only the continent
    ("FR6", "eu-west", 48),
    ("NL-own", "eu-west", 16),       # own network 100.65.0.0/16 wins, scope 16
    ("JP", "ap-ne", 24),
    ("SG", "ap-se", 24),             # continent AS
    ("AU", "eu-central", 24),        # OC: no rule, default
    ("BR", "eu-central", 24),
])
def test_geolocation_most_specific_wins(steer, client, ep, scope):
    r = ask(steer, "geo.example.com", "A", CLIENT[client])
    check(r, rcode="NOERROR", aa=True, answer=[f"geo.example.com. {TTL} IN A {IP[ep]}"])
    assert ecs_scope(r) == scope, f"{client}: scope {ecs_scope(r)}, want {scope}"


def test_geolocation_unknown_client_default(steer):
    r = ask(steer, "geo.example.com", "A", CLIENT["unknown"])
    assert addrs(r) == ips("eu-central")


def test_geolocation_falls_back_to_less_specific(steer, health):
    us_ca = "US-CA"
    assert one(steer, "geo.example.com", us_ca) == ips("us-west")
    health.down("us-west")                 # subdivision rule down -> country
    assert one(steer, "geo.example.com", us_ca) == ips("us-east")
    health.down("us-east")                 # country rule down -> continent
    assert one(steer, "geo.example.com", us_ca) == ips("sa-east")
    health.down("sa-east")                 # continent rule down -> default
    assert one(steer, "geo.example.com", us_ca) == ips("eu-central")
    r = ask(steer, "geo.example.com", "A", CLIENT[us_ca])
    assert ecs_scope(r) == 24
    # the DE country rule down -> the EU continent rule
    health.up("us-west", "us-east", "sa-east")
    health.down("eu-central")
    assert one(steer, "geo.example.com", "DE") == ips("eu-west")


def test_geolocation_all_matching_down_default_down_fails_open(steer, health):
    health.down("ap-se", "eu-central")     # SG: AS rule and default down
    # nothing the tree can give: fail open, as if all were up -> AS rule
    assert one(steer, "geo.example.com", "SG") == ips("ap-se")


# --------------------------------------------------------------------------
# geoproximity

def nearest(client_loc, eps, bias=None):
    bias = bias or {}

    def biased(e):
        d = sh.distance_km(*client_loc, *LOC[e])
        return d * (1 - bias.get(e, 0) / 100.0)   # Route 53: positive shrinks, negative stretches
    return min(eps, key=biased)


GEO_LOC = {row[0]: (row[4], row[5]) for row in sh.GEO_ROWS if row[4] != "-"}


def client_loc(c):
    return GEO_LOC[CLIENT[c]] if CLIENT[c] in GEO_LOC else None


@pytest.mark.parametrize("client", ["DE", "IE", "GB", "US-VA", "US-CA", "JP", "SG", "AU", "BR", "FR6"])
def test_geoproximity_nearest(steer, client):
    want = nearest(client_loc(client), ["us-east", "eu-west", "ap-ne", "sa-east"])
    r = ask(steer, "prox.example.com", "A", CLIENT[client])
    assert addrs(r) == ips(want), f"{client}: got {addrs(r)}, want {want}"
    assert ecs_scope(r) == (48 if client == "FR6" else 24)


def test_geoproximity_nearest_down_next_nearest(steer, health):
    health.down("eu-west")
    want = nearest(client_loc("DE"), ["us-east", "ap-ne", "sa-east"])
    assert want == "us-east"
    assert one(steer, "prox.example.com", "DE") == ips(want)


def test_geoproximity_positive_bias_changes_winner(steer):
    loc = client_loc("DE")
    assert nearest(loc, ["us-east", "eu-west"]) == "eu-west"
    assert nearest(loc, ["us-east", "eu-west"], {"us-east": 90}) == "us-east"
    assert one(steer, "proxbias.example.com", "DE") == ips("us-east")
    # in Dublin itself eu-west stays nearest even against the bias
    assert one(steer, "proxbias.example.com", "IE") == ips("eu-west")


def test_geoproximity_negative_bias_changes_winner(steer):
    """List form [{bias, node}]. London: Dublin 464 km, Frankfurt 637 km;
    bias -50 stretches Dublin to 696 km (Route 53: d * (1 - bias/100)), so
    Frankfurt wins."""
    loc = client_loc("GB")
    assert nearest(loc, ["eu-west", "eu-central"]) == "eu-west"
    assert nearest(loc, ["eu-west", "eu-central"], {"eu-west": -50}) == "eu-central"
    assert one(steer, "proxneg.example.com", "GB") == ips("eu-central")


# --------------------------------------------------------------------------
# latency

def test_latency_network_row(steer):
    # 198.51.100.0/24 has network rows (ap-ne 10) which beat the US country rows
    r = ask(steer, "lat.example.com", "A", CLIENT["US-CA"])
    assert addrs(r) == ips("ap-ne")
    assert ecs_scope(r) == 24


def test_latency_country_row(steer):
    assert one(steer, "lat.example.com", "US-VA") == ips("us-east")
    r = ask(steer, "lat.example.com", "A", CLIENT["JP"])
    assert addrs(r) == ips("eu-west")        # JP,eu-west,20 < JP,ap-ne,50
    assert ecs_scope(r) == 24
    assert one(steer, "lat.example.com", "DE") == ips("eu-west")


def test_latency_no_row_falls_back_to_geoproximity(steer):
    for c in ("SG", "BR", "AU", "FR6"):
        want = nearest(client_loc(c), ["us-east", "eu-west", "ap-ne"])
        assert one(steer, "lat.example.com", c) == ips(want), c


def test_latency_lowest_down_next_lowest(steer, health):
    health.down("eu-west")
    assert one(steer, "lat.example.com", "JP") == ips("ap-ne")     # 50 next
    health.down("ap-ne")
    assert one(steer, "lat.example.com", "US-CA") == ips("us-east")   # 70 next


# --------------------------------------------------------------------------
# multivalue

def test_multivalue_all_healthy(steer):
    r = ask(steer, "mv.example.com", "A", CLIENT["DE"])
    check(r, rcode="NOERROR", aa=True)
    assert addrs(r) == ips("us-east", "eu-west", "ap-ne", "ap-se")
    assert len(r.answer) == 1 and len(r.answer[0]) == 4


def test_multivalue_only_healthy(steer, health):
    health.down("ap-ne", "us-east")
    for _ in range(10):
        assert one(steer, "mv.example.com", "DE") == ips("eu-west", "ap-se")


def test_multivalue_count(steer, health):
    allowed = set(ips("us-east", "eu-west", "ap-ne", "ap-se"))
    for _ in range(20):
        got = one(steer, "mv2.example.com", "DE")
        assert len(got) == 2 and set(got) <= allowed, got
    health.down("us-east", "eu-west", "ap-ne")
    assert one(steer, "mv2.example.com", "DE") == ips("ap-se")   # fewer than count are up
    health.up("eu-west")
    for _ in range(10):
        got = one(steer, "mv2.example.com", "DE")
        assert got == ips("eu-west", "ap-se"), got


# --------------------------------------------------------------------------
# cidr

@pytest.mark.parametrize("subnet,ep,scope", [
    ("100.64.1.128/25", "ap-se", 25),     # longest rule
    ("100.64.1.0/25", "ap-ne", 25),       # the /24 rule
    ("100.64.1.0/24", "ap-ne", 25),
    ("100.64.9.0/24", "us-east", 25),     # the /10 rule
    ("203.0.113.0/24", "eu-central", 25), # default; the answer depends on 25 bits
    ("2001:db8:1:ab00::/56", "eu-west", 48),
    ("2001:db8:2::/48", "eu-central", 48),
])
def test_cidr_longest_prefix(steer, subnet, ep, scope):
    r = ask(steer, "cidr.example.com", "A", subnet)
    check(r, rcode="NOERROR", aa=True, answer=[f"cidr.example.com. {TTL} IN A {IP[ep]}"])
    assert ecs_scope(r) == scope, f"{subnet}: scope {ecs_scope(r)}, want {scope}"


def test_cidr_source_address_without_ecs(steer):
    assert one(steer, "cidr.example.com", None) == ips("eu-central")    # 127.0.0.1


def test_cidr_longest_down_falls_to_shorter(steer, health):
    health.down("ap-se")
    assert addrs(ask(steer, "cidr.example.com", "A", "100.64.1.128/25")) == ips("ap-ne")
    health.down("ap-ne")
    assert addrs(ask(steer, "cidr.example.com", "A", "100.64.1.128/25")) == ips("us-east")
    health.down("us-east")
    assert addrs(ask(steer, "cidr.example.com", "A", "100.64.1.128/25")) == ips("eu-central")


# --------------------------------------------------------------------------
# nesting

def test_nested_tree(steer, health):
    # EU -> weighted (100: failover [eu-west, multivalue], 0: ap-ne)
    assert one(steer, "deep.example.com", "DE") == ips("eu-west")
    # default -> cidr: 100.64.1.0/24 -> ap-ne; else geoproximity
    assert one(steer, "deep.example.com", "JP") == ips("ap-ne")
    assert one(steer, "deep.example.com", "SG") == ips("ap-se")
    assert one(steer, "deep.example.com", "US-VA") == ips("us-east")
    health.down("eu-west")
    assert one(steer, "deep.example.com", "DE") == ips("eu-central", "us-east")   # multivalue
    health.down("eu-central")
    assert one(steer, "deep.example.com", "DE") == ips("us-east")
    health.down("us-east")
    # the weight-100 branch is down: the weight-0 child
    assert one(steer, "deep.example.com", "DE") == ips("ap-ne")
    # default -> cidr default -> geoproximity: ap-se nearest (and up)
    assert one(steer, "deep.example.com", "SG") == ips("ap-se")


# --------------------------------------------------------------------------
# CNAME endpoints, address families

@pytest.mark.parametrize("qtype", ["A", "AAAA"])
def test_cname_endpoint(steer, qtype):
    r = ask(steer, "cn.example.com", qtype, CLIENT["DE"])
    check(r, rcode="NOERROR", aa=True, answer=[f"cn.example.com. {TTL} IN CNAME edge.cdn.example.net."])


def test_aaaa_uses_ipv6_addresses(steer):
    check(ask(steer, "fam.example.com", "AAAA"), rcode="NOERROR", aa=True,
          answer=[f"fam.example.com. {TTL} IN AAAA 2001:db8::50"])
    check(ask(steer, "v6.example.com", "AAAA"), rcode="NOERROR", aa=True,
          answer=[f"v6.example.com. {TTL} IN AAAA 2001:db8::52"])


def test_endpoint_without_ipv6_is_down_for_aaaa(steer):
    # failover [v4only, dual]: A takes v4only, AAAA skips it
    check(ask(steer, "fam.example.com", "A"), rcode="NOERROR", aa=True,
          answer=[f"fam.example.com. {TTL} IN A 192.0.2.51"])
    # and the other way round: no IPv4 at all -> NODATA, even failing open
    check(ask(steer, "v6.example.com", "A"), rcode="NOERROR", aa=True, answer=[], authority=[SOA])


def test_aaaa_over_ipv6_transport(steer):
    if not sh.h.HAVE_V6:
        pytest.skip("no IPv6 loopback")
    r = ask(steer, "fam.example.com", "AAAA", v6=True)
    assert addrs(r) == ["2001:db8::50"]


# --------------------------------------------------------------------------
# fail-open

def test_fail_open_when_all_down(steer, health):
    health.down("eu-west", "us-east")
    # as if all were up: failover's first child
    r = ask(steer, "fo.example.com", "A", CLIENT["DE"])
    check(r, rcode="NOERROR", aa=True, answer=[f"fo.example.com. {TTL} IN A {IP['eu-west']}"])


def test_fail_open_false_nodata(steer, health):
    assert one(steer, "nofo.example.com", "DE") == ips("eu-west")
    health.down("eu-west")
    assert one(steer, "nofo.example.com", "DE") == ips("us-east")
    health.down("us-east")
    r = ask(steer, "nofo.example.com", "A", CLIENT["DE"])
    check(r, rcode="NOERROR", aa=True, answer=[], authority=[SOA])


def test_fail_open_multivalue_gives_all(steer, health):
    health.down("us-east", "eu-west", "ap-ne", "ap-se")
    assert one(steer, "mv.example.com", "DE") == ips("us-east", "eu-west", "ap-ne", "ap-se")


# --------------------------------------------------------------------------
# ALIAS at the apex

@pytest.mark.parametrize("client,want", [("DE", ["eu-west"]), ("FR6", ["eu-west"]),
                                         ("US-CA", ["us-west", "us-west-canary"]),
                                         ("US-VA", ["us-east"])])
def test_alias_at_apex_follows_www(steer, client, want):
    r = ask(steer, "example.com", "A", CLIENT[client])
    check(r, rcode="NOERROR", aa=True)
    assert len(r.answer) == 1 and r.answer[0].name.to_text() == "example.com."
    assert r.answer[0].rdtype == dns.rdatatype.A     # flattened: no CNAME
    got = addrs(r)
    assert len(got) == 1 and got[0] in ips(*want), f"{client}: {got} not in {want}"
    assert ecs_scope(r) == (48 if client == "FR6" else 24)


def test_alias_follows_www_health(steer, health):
    health.down("eu-west")
    assert one(steer, "example.com", "DE") == ips("us-east")
    assert one(steer, "www.example.com", "DE") == ips("us-east")


# --------------------------------------------------------------------------
# SRV

def srv_records(r):
    return sorted((rd.priority, rd.weight, rd.port, rd.target.to_text())
                  for rrset in r.answer if rrset.rdtype == dns.rdatatype.SRV for rd in rrset)


def test_srv_pool(steer):
    r = ask(steer, "_http._tcp.example.com", "SRV")
    check(r, rcode="NOERROR", aa=True)
    assert srv_records(r) == [(10, 40, 8081, "b.srv.example.com."), (10, 60, 8080, "a.srv.example.com."),
                              (20, 0, 8082, "c.srv.example.com.")]
    glue = {(rrset.name.to_text(), rd.address) for rrset in r.additional
            if rrset.rdtype == dns.rdatatype.A for rd in rrset}
    assert glue == {("a.srv.example.com.", IP["srv-a"]), ("b.srv.example.com.", IP["srv-b"]),
                    ("c.srv.example.com.", IP["srv-c"])}, r.to_text()


def test_srv_pool_leaves_out_unhealthy(steer, health):
    health.down("srv-b")
    r = ask(steer, "_http._tcp.example.com", "SRV")
    check(r, rcode="NOERROR", aa=True)
    assert srv_records(r) == [(10, 60, 8080, "a.srv.example.com."), (20, 0, 8082, "c.srv.example.com.")]
    names = {rrset.name.to_text() for rrset in r.additional if rrset.rdtype == dns.rdatatype.A}
    assert "b.srv.example.com." not in names


def test_alias_to_zone_name(steer):
    """ALIAS to a static name: its addresses, TTL capped by the traffic
    entry's (60 < 3600), scope 0."""
    r = ask(steer, "alias-static.example.com", "A", CLIENT["DE"])
    check(r, rcode="NOERROR", aa=True, answer=["alias-static.example.com. 60 IN A 192.0.2.81"])
    assert ecs_scope(r) == 0
    r = ask(steer, "alias-static.example.com", "AAAA", CLIENT["DE"])
    check(r, rcode="NOERROR", aa=True, answer=["alias-static.example.com. 60 IN AAAA 2001:db8::81"])


# --------------------------------------------------------------------------
# odds and ends

def test_each_address_checked_on_its_own(steer):
    pool = steer.pool
    assert one(steer, "pair.example.com", None) == sorted(PAIR)
    try:
        pool[PAIR[0]].set(status=503)
        sh.wait_answer(steer, "pair.example.com", [PAIR[1]], timeout=10)
        pool[PAIR[1]].set(status=503)       # both addresses down: the endpoint is down
        sh.wait_answer(steer, "pair.example.com", [IP["us-east"]], timeout=10)
        pool[PAIR[0]].healthy()
        sh.wait_answer(steer, "pair.example.com", [PAIR[0]], timeout=10)
    finally:
        pool[PAIR[0]].healthy()
        pool[PAIR[1]].healthy()
        sh.wait_answer(steer, "pair.example.com", sorted(PAIR), timeout=10)


def test_steered_answer_over_tcp(steer):
    r = ask(steer, "geo.example.com", "A", CLIENT["JP"], tcp=True)
    check(r, rcode="NOERROR", aa=True, answer=[f"geo.example.com. {TTL} IN A {IP['ap-ne']}"])
    assert ecs_scope(r) == 24


def test_traffic_name_case_insensitive(steer):
    r = ask(steer, "GEO.Example.COM", "A", CLIENT["JP"])
    check(r, rcode="NOERROR", aa=True)
    assert addrs(r) == ips("ap-ne")


def test_any_on_traffic_name_gives_the_a_rrset(steer):
    r = ask(steer, "geo.example.com", "ANY", CLIENT["JP"])
    check(r, rcode="NOERROR", aa=True, answer=[f"geo.example.com. {TTL} IN A {IP['ap-ne']}"])


def test_names_below_traffic_name_come_from_zone(steer):
    check(ask(steer, "sub.geo.example.com", "A", CLIENT["JP"]), rcode="NXDOMAIN", aa=True,
          answer=[], authority=[SOA])
    check(ask(steer, "sub.www.example.com", "A", CLIENT["JP"]), rcode="NXDOMAIN", aa=True,
          answer=[], authority=[SOA])


def test_traffic_name_without_zone_records_other_type_nodata(steer):
    """geo.example.com exists only as a traffic name: MX there is NODATA
    (the name exists), not NXDOMAIN, which resolvers cache for every type
    of the name (RFC 2308) and, by RFC 8020, for every name below it."""
    r = ask(steer, "geo.example.com", "MX", CLIENT["JP"])
    check(r, rcode="NOERROR", aa=True, answer=[], authority=[SOA])
