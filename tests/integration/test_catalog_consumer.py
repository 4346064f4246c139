# SPDX-License-Identifier: GPL-3.0-or-later
"""Catalog zones, consumer side (RFC 9432; docs/transfers.md, "Consumer"):
runwayd, a secondary of a catalog zone with `catalog: {role: consumer}`,
serves each member the catalog lists as a secondary zone of its own, with
the settings of the `templates:` entry its group names (else `default`).

- Knot 3.2 serving a catalog and its members -> runway consumer: the
  members are served with Knot's SOA; one added on Knot appears, one
  removed goes (REFUSED) and its file stays; a member of group "eu" takes
  the eu template (its file where that template says).
- A restart of runwayd while Knot is down serves the members from their
  files (the member set is in the store).
- runway producer -> runway consumer.
"""
import time

import dns.rcode
import pytest

import dnsharness as h
import peers as P

pytestmark = pytest.mark.runway_only

CATALOG = "catalog.example."
WAIT = 15.0          # seconds: a bound for what takes milliseconds to a second


def member_text(name: str, serial: int = 1) -> str:
    return f"""$ORIGIN {name}
$TTL 3600
@   SOA ns1 hostmaster {serial} 7200 3600 1209600 300
@   NS  ns1
ns1 A   192.0.2.53
www A   192.0.2.80
"""


def knot_member(name, key, runway_port) -> P.Zone:
    return P.Zone(name, text=member_text(name), allow_transfer=[P.Acl("127.0.0.0/8", key)],
                  notify=[P.Remote(P.HOST, runway_port, key)])


def catalog_text(members: dict, serial: int) -> str:
    """A catalog zone (RFC 9432) listing members {name: group or None}."""
    out = [f"$ORIGIN {CATALOG}", "$TTL 0",
           f"@ SOA invalid. invalid. {serial} 3600 600 2147483646 0", "@ NS invalid.",
           'version TXT "2"']
    for i, (name, group) in enumerate(sorted(members.items())):
        mid = "m" + name.split(".")[0]
        out.append(f"{mid}.zones PTR {name}")
        if group:
            out.append(f'group.{mid}.zones TXT "{group}"')
    return "\n".join(out) + "\n"


class KnotProducer(P.KnotPeer):
    """knotd serving CATALOG (a zone file in RFC 9432's format) and its
    members. Knot 3.2's own generated catalogs (catalog-role: generate)
    refuse every plain query, the SOA query of a secondary's refresh too
    (runwayd's secondary starts each refresh with one; so does BIND's)."""

    def __init__(self, workdir, key, runway_port, members):
        super().__init__(workdir)
        self.key, self.runway_port, self.serial = key, runway_port, 1
        self.members = dict(members)
        self.add_zone(P.Zone(CATALOG, text=catalog_text(self.members, self.serial),
                             allow_transfer=[P.Acl("127.0.0.0/8", key)],
                             notify=[P.Remote(P.HOST, runway_port, key)]))
        for name in self.members:
            self.add_zone(knot_member(name, key, runway_port))

    def set_members(self, members):
        """New members: their zones, the catalog's file, knotc reload."""
        self.members = dict(members)
        self.zones = [z for z in self.zones if z.name == CATALOG or z.name in self.members]
        for name in self.members:
            if not any(z.name == name for z in self.zones):
                self.add_zone(knot_member(name, self.key, self.runway_port))
        self.serial += 1
        self.write_zone_file(CATALOG, catalog_text(self.members, self.serial))
        self.write_config()
        self.reload()


TEMPLATES = """templates:
  default: { file: "members/{zone}zone" }
  eu: { file: "eu/{zone}zone" }
"""


def runway_consumer(workdir, key, producer_port, port, catalog="{ role: consumer }") -> P.RunwayPeer:
    rw = P.RunwayPeer(workdir, port=port, api=True, extra=TEMPLATES)
    rw.add_zone(P.Zone(CATALOG, primaries=[P.Remote(P.HOST, producer_port, key)],
                       extra={"runway": {"catalog": catalog}}))
    return rw


def wait_for(what, cond, peer, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout}s; log:\n{peer.log_tail(60)}")
        time.sleep(0.05)  # poll interval of a readiness check


def rcode(peer, name):
    m = peer.answer(name, "SOA", timeout=0.5)
    return None if m is None else m.rcode()


@pytest.fixture
def peers():
    with P.Peers() as ps:
        yield ps
        bad = ps.stop_all()
    assert not bad, "\n".join(f"{p.name} exited with {rc}:\n{p.log_tail()}" for p, rc in bad)


def test_knot_producer_to_runway_consumer(peers, tmp_path):
    if not P.have("knot"):
        pytest.skip("knotd is not installed")
    key = P.TsigKey.generate()
    rw_port = h.free_port()
    knot = KnotProducer(tmp_path / "knot", key, rw_port,
                        {"member1.example.": "eu", "member2.example.": None})
    rw = runway_consumer(tmp_path / "rw", key, knot.port, rw_port)
    peers.start(knot, rw)
    t0 = time.monotonic()
    wait_for("runway serves both members with Knot's serial",
             lambda: all(rw.soa_serial(m, timeout=0.2) == knot.soa_serial(m, timeout=0.2) == 1
                         for m in ("member1.example.", "member2.example.")), rw)
    print(f"\ncatalog knot -> runway: members served {time.monotonic() - t0:.2f} s after start")
    # group eu -> the eu template's file; no group -> default's
    wait_for("the members' copies on file",
             lambda: (rw.workdir / "eu/member1.example.zone").exists() and
             (rw.workdir / "members/member2.example.zone").exists(), rw)
    assert not (rw.workdir / "members/member1.example.zone").exists()
    # the answers are Knot's
    for m in ("member1.example.", "member2.example."):
        for qname, qtype in [(m, "SOA"), (m, "NS"), ("www." + m, "A")]:
            a, b = rw.answer(qname, qtype), knot.answer(qname, qtype)
            assert a.rcode() == b.rcode() == dns.rcode.NOERROR
            assert a.answer == b.answer, (qname, qtype)

    # a member added on Knot appears on runway
    mark = rw.log_mark()
    knot.set_members({"member1.example.": "eu", "member2.example.": None,
                      "member3.example.": "us"})
    t0 = time.monotonic()
    wait_for("member3 served", lambda: rw.soa_serial("member3.example.", timeout=0.2) == 1, rw)
    print(f"catalog knot -> runway: a new member served {time.monotonic() - t0:.2f} s after "
          "Knot's reload")
    assert "catalog catalog.example.: member member3.example. added, group us" in rw.log_since(mark)
    # group "us" has no template: default's
    wait_for("member3's file", lambda: (rw.workdir / "members/member3.example.zone").exists(), rw)

    # a member removed on Knot goes (REFUSED); its file stays
    mark = rw.log_mark()
    knot.set_members({"member1.example.": "eu", "member3.example.": "us"})
    wait_for("member2 refused", lambda: rcode(rw, "member2.example.") == dns.rcode.REFUSED, rw)
    assert "member member2.example. removed" in rw.log_since(mark)
    assert (rw.workdir / "members/member2.example.zone").exists()
    assert rw.soa_serial("member1.example.") == 1 and rw.soa_serial("member3.example.") == 1

    # runwayd restarted while Knot is down: the members from their files
    knot.stop()
    rw.restart()
    wait_for("members served from their files",
             lambda: rw.soa_serial("member1.example.", timeout=0.2) == 1 and
             rw.soa_serial("member3.example.", timeout=0.2) == 1, rw)
    assert rcode(rw, "member2.example.") == dns.rcode.REFUSED
    assert rw.answer("www.member1.example.", "A").answer[0][0].address == "192.0.2.80"


def test_catalog_without_version_is_refused(peers, tmp_path):
    """A catalog zone without version TXT "2" makes no members (logged)."""
    key = P.TsigKey.generate()
    prod = P.RunwayPeer(tmp_path / "prod")
    prod.add_zone(P.Zone(CATALOG, text=f"""$ORIGIN {CATALOG}
$TTL 0
@ SOA invalid. invalid. 1 3600 600 2147483646 0
@ NS invalid.
version TXT "1"
a1.zones PTR member1.example.
""", allow_transfer=[P.Acl("127.0.0.0/8", key)]))
    rw = runway_consumer(tmp_path / "rw", key, prod.port, h.free_port())
    peers.start(prod, rw)
    rw.wait_log(r"catalog catalog\.example\.: no version\.catalog\.example\. TXT \"2\"", timeout=WAIT)
    assert rcode(rw, "member1.example.") == dns.rcode.REFUSED


def test_max_members(peers, tmp_path):
    """Past max_members the members left out are not served (REFUSED); those
    kept are the first in name order (here served SERVFAIL: the primary
    has no such zone to transfer)."""
    key = P.TsigKey.generate()
    prod = P.RunwayPeer(tmp_path / "prod")
    lines = [f"$ORIGIN {CATALOG}", "$TTL 0", "@ SOA invalid. invalid. 1 3600 600 2147483646 0",
             "@ NS invalid.", 'version TXT "2"']
    lines += [f"id{i}.zones PTR {n}" for i, n in enumerate(["c.example.", "a.example.", "b.example."])]
    prod.add_zone(P.Zone(CATALOG, text="\n".join(lines) + "\n",
                         allow_transfer=[P.Acl("127.0.0.0/8", key)]))
    rw = runway_consumer(tmp_path / "rw", key, prod.port, h.free_port(),
                         catalog="{ role: consumer, max_members: 2 }")
    peers.start(prod, rw)
    rw.wait_log(r"1 member\(s\) past max_members \(2\) left out", timeout=WAIT)
    wait_for("a and b known", lambda: rcode(rw, "a.example.") == rcode(rw, "b.example.") ==
             dns.rcode.SERVFAIL, rw)
    assert rcode(rw, "c.example.") == dns.rcode.REFUSED


def test_runway_producer_to_runway_consumer(peers, tmp_path):
    """runway producer (catalog: {role: producer}) -> runway consumer; the
    members' bounds: the catalog itself, a name below it, a configured zone
    and an unusable file name are left out."""
    key = P.TsigKey.generate()
    rw_port = h.free_port()
    prod = P.RunwayPeer(tmp_path / "prod", extra="")
    acl = [P.Acl("127.0.0.0/8", key)]
    notify = [P.Remote(P.HOST, rw_port, key)]
    prod.add_zone(P.Zone(CATALOG, allow_transfer=acl, notify=notify,
                         extra={"runway": {"catalog": "{ role: producer }"}}))
    for name, group in [("member1.example.", "eu"), ("member2.example.", None),
                        ("local.example.", None), ("sub.catalog.example.", None)]:
        cat = f"{{ member_of: {CATALOG}" + (f", group: {group} }}" if group else " }")
        prod.add_zone(P.Zone(name, text=member_text(name), allow_transfer=acl, notify=notify,
                             extra={"runway": {"catalog": cat}}))
    prod.config_text = lambda: P.runway_conf(prod.zones, listen=f"{P.HOST}:{prod.port}").replace(
        f"  - name: {CATALOG}\n    file: catalog.example.zone\n", f"  - name: {CATALOG}\n")
    rw = runway_consumer(tmp_path / "rw", key, prod.port, rw_port)
    rw.add_zone(P.Zone("local.example.", text=member_text("local.example.", 7)))
    peers.start(prod, rw)
    wait_for("both members served",
             lambda: rw.soa_serial("member1.example.", timeout=0.2) == 1 and
             rw.soa_serial("member2.example.", timeout=0.2) == 1, rw)
    log = rw.log()
    assert "member local.example. left out: a zone of the configuration has that name" in log
    assert "member sub.catalog.example. left out: it is the catalog or a name below it" in log
    assert rw.soa_serial("local.example.") == 7          # the configured zone, untouched
    wait_for("member1's file (template eu)",
             lambda: (rw.workdir / "eu/member1.example.zone").exists(), rw)


def test_docs_example_loads(tmp_path):
    """docs/transfers.md's consumer example is a valid configuration; a
    consumer without a `default` template is refused with its line."""
    import pathlib
    import subprocess
    doc = (pathlib.Path(__file__).parents[2] / "docs/transfers.md").read_text()
    start = doc.index("```yaml\n", doc.index("### Consumer")) + len("```yaml\n")
    example = doc[start:doc.index("```", start)].replace("BASE64...", "c2VjcmV0c2VjcmV0c2VjcmV0")
    (tmp_path / "runway.yaml").write_text(example)
    r = subprocess.run([str(h.RUNWAY), "check", "-c", str(tmp_path / "runway.yaml")],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    (tmp_path / "bad.yaml").write_text(example.replace("  default: {", "  other: {"))
    r = subprocess.run([str(h.RUNWAY), "check", "-c", str(tmp_path / "bad.yaml")],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "needs a template called default" in r.stderr
