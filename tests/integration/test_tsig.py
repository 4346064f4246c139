# SPDX-License-Identifier: GPL-3.0-or-later
"""TSIG (RFC 8945) on queries: runwayd with tsig_keys, and knotd with the
same keys (and an ACL letting them query) asked the same questions.

- a signed SOA query gets a signed answer that verifies (dnspython checks
  the MAC), for each algorithm, over UDP and TCP; kdig -y agrees;
- a signed answer too large for UDP is truncated with its TSIG RR (TC);
- a wrong secret is NOTAUTH with TSIG error BADSIG, an unknown key (or a
  known name with another algorithm) BADKEY, a time outside the fudge
  BADTIME, each as knotd answers (rcode, error, MAC present or not, the
  server's time in Other Data for BADTIME);
- a TSIG RR that is not the last record is FORMERR, as knotd; a MAC cut
  short BADSIG, an rdata that does not parse FORMERR, as knotd;
- a signed AXFR of several messages: every message signed, chained to the
  one before (dnspython checks each), as knotd; a wrong secret NOTAUTH/BADSIG;
- the client side (runway query -y) checks every message of a signed AXFR
  from runwayd and from knotd.
- unsigned queries get unsigned answers.
"""
from __future__ import annotations

import base64
import re
import shutil
import struct
import subprocess
import time
from unittest import mock

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import pytest

import dnsharness as h

# name -> (algorithm, secret); the secrets are fixed test values.
KEYS = {
    "xfr.": ("hmac-sha256", base64.b64encode(b"runway-test-secret-sha256-32byte").decode()),
    "sha1.key.": ("hmac-sha1", base64.b64encode(b"runway-test-secret-sha1").decode()),
    "sha384.key.": ("hmac-sha384", base64.b64encode(b"runway-test-secret-sha384-48bytes-xxxxxxxxxxxxx").decode()),
    "sha512.key.": ("hmac-sha512", base64.b64encode(b"runway-test-secret-sha512-" + b"y" * 38).decode()),
}
WRONG = base64.b64encode(b"not-the-secret-at-all-0123456789").decode()


MANY = "many.example."          # a zone whose AXFR takes several messages


def write_many(path):
    lines = ["$ORIGIN many.example.", "$TTL 300",
             "@ SOA ns1 hostmaster 2024010101 7200 3600 1209600 300", "@ NS ns1", "ns1 A 192.0.2.53"]
    lines += [f"h{i} TXT \"{i:05d} {'x' * 60}\"" for i in range(2000)]   # ~180 KB
    path.write_text("\n".join(lines) + "\n")
    return path


class TsigServer(h.DnsServer):
    """A DnsServer whose config also holds KEYS (knotd: and an ACL allowing
    them to query and transfer every zone: knotd checks a signed query
    against its ACLs, runwayd against its keyring)."""

    def runway_config(self) -> str:
        lines = ["tsig_keys:"]
        for name, (alg, secret) in KEYS.items():
            lines.append(f'  {name}: {{ algorithm: {alg}, secret: "{secret}" }}')
        text = super().runway_config().replace(
            f"    file: {MANY[:-1]}.zone\n",
            f"    file: {MANY[:-1]}.zone\n    allow_transfer: [{{ match: [127.0.0.1], key: xfr. }}]\n", 1)
        return text + "\n".join(lines) + "\n"

    def knot_config(self) -> str:
        keys = ["key:"]
        for name, (alg, secret) in KEYS.items():
            keys += [f"  - id: {name}", f"    algorithm: {alg}", f"    secret: {secret}"]
        acl = ["acl:", "  - id: tsig", f"    key: [{', '.join(KEYS)}]", "    action: [query, transfer]"]
        text = super().knot_config()
        text = text.replace("template:\n", "\n".join(keys + acl) + "\ntemplate:\n", 1)
        return text.replace("  - id: default\n", "  - id: default\n    acl: tsig\n", 1)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """runwayd and (when installed) knotd, with KEYS."""
    started = {}
    try:
        for kind in ("runway", "knot"):
            if kind == "knot" and h.KNOTD is None:
                continue
            zdir = tmp_path_factory.mktemp(f"tsig-zone-{kind}")
            zones = h.STANDARD_ZONES + [(MANY, write_many(zdir / f"{MANY[:-1]}.zone"), [])]
            s = TsigServer(kind, tmp_path_factory.mktemp(f"tsig-{kind}"), zones)
            started[kind] = s
            s.start()
        yield started
    finally:
        bad = []
        for s in started.values():
            was_running = s.alive()
            rc = s.stop()
            if was_running and rc != 0:
                bad.append(f"{s.kind} exited with {rc}:\n{s.log_tail()}")
        assert not bad, "\n".join(bad)


def keyring(name, secret=None, alg=None):
    a, s = KEYS.get(name, ("hmac-sha256", WRONG))
    return dns.tsigkeyring.from_text({name: (alg or a, secret or s)})


def signed(qname, qtype, name="xfr.", secret=None, alg=None, when=None, payload=None):
    """A signed query (dnspython signs it when rendered; when: the time it
    says it was signed at)."""
    q = dns.message.make_query(qname, qtype, use_edns=0 if payload else None,
                               payload=payload or 1232)
    kr = keyring(name, secret, alg)
    q.use_tsig(kr, keyname=name)
    if when is None:
        return q, q.to_wire()
    with mock.patch("time.time", return_value=float(when)):
        return q, q.to_wire()


def tsig_of(wire: bytes):
    """(rcode, TSIG error, MAC length, other data) of a response, read
    without a DNS library (dnspython refuses messages whose TSIG fails);
    the TSIG fields are None when it has none."""
    rcode = wire[3] & 0x0F
    qd, an, ns, ar = struct.unpack("!HHHH", wire[4:12])
    p = 12

    def skip_name(p):
        while True:
            ln = wire[p]
            if ln & 0xC0 == 0xC0:
                return p + 2
            p += 1 + ln
            if ln == 0:
                return p

    for _ in range(qd):
        p = skip_name(p) + 4
    last = None
    for _ in range(an + ns + ar):
        start = p
        p = skip_name(p)
        rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", wire[p:p + 10])
        last = (start, rtype, p + 10, rdlen)
        if rtype == dns.rdatatype.OPT:
            rcode |= wire[p + 4] << 4
        p += 10 + rdlen
    assert p == len(wire), "trailing bytes"
    if last is None or last[1] != dns.rdatatype.TSIG:
        return rcode, None, None, None
    _, _, rd, rdlen = last
    q = skip_name(rd) + 6 + 2          # algorithm, time signed, fudge
    mac_len = struct.unpack("!H", wire[q:q + 2])[0]
    q += 2 + mac_len + 2               # MAC, original ID
    error, other_len = struct.unpack("!HH", wire[q:q + 4])
    other = wire[q + 4:q + 4 + other_len]
    assert q + 4 + other_len == rd + rdlen
    return rcode, error, mac_len, other


def udp(srv, wire):
    r = h.udp_exchange(wire, srv.port)
    assert r is not None, f"{srv.kind}: no answer"
    return r


def tcp(srv, wire):
    return h.tcp_exchange(wire, srv.port)


@pytest.mark.parametrize("name", list(KEYS))
@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_signed_query_signed_answer(servers, name, proto):
    for kind, srv in servers.items():
        q = dns.message.make_query("example.net.", "SOA")
        q.use_tsig(keyring(name), keyname=name)
        ask = dns.query.udp if proto == "udp" else dns.query.tcp
        # dnspython verifies the answer's MAC against the request's; a
        # missing or wrong TSIG raises.
        r = ask(q, "127.0.0.1", port=srv.port, timeout=3)
        assert r.had_tsig, kind
        assert r.rcode() == dns.rcode.NOERROR, kind
        assert [rr.rdtype for rr in r.answer] == [dns.rdatatype.SOA], kind
        assert r.tsig_error == 0, kind


def test_unsigned_answer_unsigned(servers):
    srv = servers["runway"]
    wire = udp(srv, h.make_query("example.net.", "SOA").to_wire())
    assert tsig_of(wire)[1] is None
    assert tsig_of(wire)[0] == dns.rcode.NOERROR


def test_truncated_signed(servers):
    """20 TXT of ~100 bytes over UDP: TC, with a TSIG RR that verifies."""
    got = {}
    for kind, srv in servers.items():
        for payload in (None, 1232):
            q = dns.message.make_query("big.example.net.", "TXT", use_edns=0 if payload else None,
                                       payload=payload or 1232)
            q.use_tsig(keyring("xfr."), keyname="xfr.")
            r = dns.query.udp(q, "127.0.0.1", port=srv.port, timeout=3)
            assert r.had_tsig and r.flags & dns.flags.TC, (kind, payload)
            wire = udp(srv, q.to_wire())
            assert len(wire) <= (payload or 512), (kind, payload, len(wire))
            got[(kind, payload)] = (tsig_of(wire)[:2], bool(wire[2] & 0x02))
        # over TCP: whole, signed
        r = dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=3)
        assert r.had_tsig and not r.flags & dns.flags.TC
        assert len(r.answer[0]) == 20
    if "knot" in servers:
        for payload in (None, 1232):
            assert got[("runway", payload)] == got[("knot", payload)], payload


def errors_of(srv):
    """The answers to each failing query: (rcode, TSIG error, MAC length)."""
    now = int(time.time())
    cases = {
        "wrong secret": signed("example.net.", "SOA", secret=WRONG)[1],
        "unknown key": signed("example.net.", "SOA", name="nokey.example.")[1],
        "other algorithm": signed("example.net.", "SOA", alg="hmac-sha512")[1],
        "time -1000s": signed("example.net.", "SOA", when=now - 1000)[1],
        "time +1000s": signed("example.net.", "SOA", when=now + 1000)[1],
        "time -200s (in fudge)": signed("example.net.", "SOA", when=now - 200)[1],
    }
    out = {}
    for what, wire in cases.items():
        for proto, ask in (("udp", udp), ("tcp", tcp)):
            out[(what, proto)] = tsig_of(ask(srv, wire))
    return out


def test_tsig_errors(servers):
    srv = servers["runway"]
    got = errors_of(srv)
    notauth = dns.rcode.NOTAUTH
    for proto in ("udp", "tcp"):
        assert got[("wrong secret", proto)][:3] == (notauth, dns.rcode.BADSIG, 0)
        assert got[("unknown key", proto)][:3] == (notauth, dns.rcode.BADKEY, 0)
        assert got[("other algorithm", proto)][:3] == (notauth, dns.rcode.BADKEY, 0)
        for t in ("time -1000s", "time +1000s"):
            rcode, error, mac_len, other = got[(t, proto)]
            assert (rcode, error, mac_len) == (notauth, dns.rcode.BADTIME, 32), t
            # RFC 8945 5.2.3: the server's time in Other Data
            server_time = int.from_bytes(other, "big")
            assert len(other) == 6 and abs(server_time - time.time()) < 30
        assert got[("time -200s (in fudge)", proto)][:2] == (dns.rcode.NOERROR, 0)
    if "knot" in servers:
        ref = errors_of(servers["knot"])
        for k in got:
            assert got[k][:3] == ref[k][:3], (k, got[k], ref[k])


def test_badtime_answer_verifies(servers):
    """The BADTIME answer is signed: dnspython checks its MAC, then says
    BADTIME."""
    for kind, srv in servers.items():
        q, wire = signed("example.net.", "SOA", when=int(time.time()) - 1000)
        r = udp(srv, wire)
        with pytest.raises(dns.tsig.PeerBadTime):
            dns.message.from_wire(r, keyring=q.keyring, request_mac=q.mac)


def cut_mac(wire: bytes, keep=16) -> bytes:
    """wire (signed by xfr., hmac-sha256) with its MAC cut to keep bytes
    (RFC 8945 5.2.2.1 truncation)."""
    m = bytearray(wire)
    at = len(m) - (5 + 10 + 13 + 16 + 32)      # owner xfr., fixed, algorithm, fields, MAC
    size = at + 5 + 10 + 13 + 8
    assert m[size:size + 2] == b"\x00\x20"
    m[size:size + 2] = struct.pack("!H", keep)
    del m[size + 2 + keep:size + 2 + 32]
    rd = at + 5 + 8
    m[rd:rd + 2] = struct.pack("!H", struct.unpack("!H", m[rd:rd + 2])[0] - (32 - keep))
    return bytes(m)


def test_tsig_odd_requests(servers):
    """What knotd answers too: a MAC cut to half (BADSIG: no truncation,
    as Knot), a TSIG rdata that does not parse (FORMERR, no OPT, no TSIG),
    an NXDOMAIN (signed), a signed query for a zone not served (REFUSED:
    runway signs it, knotd does not: it checks its ACL only for a zone it
    serves)."""
    _, ok = signed("example.net.", "SOA")
    cases = {
        "half MAC": cut_mac(ok),
        "rdata cut": ok[:-2] + b"\x00\x05",
        "nxdomain": signed("nope.example.net.", "A")[1],
        "not served": signed("example.org.", "SOA")[1],
    }
    want = {
        "half MAC": (dns.rcode.NOTAUTH, dns.rcode.BADSIG, 0),
        "rdata cut": (dns.rcode.FORMERR, None, None),
        "nxdomain": (dns.rcode.NXDOMAIN, 0, 32),
        "not served": (dns.rcode.REFUSED, 0, 32),
    }
    for what, wire in cases.items():
        got = {kind: udp(srv, wire) for kind, srv in servers.items()}
        assert tsig_of(got["runway"])[:3] == want[what], what
        if "knot" in got and what != "not served":
            assert got["runway"] == got["knot"] or tsig_of(got["runway"]) == tsig_of(got["knot"]), what
            assert struct.unpack("!HHHH", got["runway"][4:12]) == struct.unpack("!HHHH", got["knot"][4:12]), what
        if "knot" in got and what == "not served":
            assert tsig_of(got["knot"])[:2] == (dns.rcode.REFUSED, None)


def test_tsig_not_last_formerr(servers):
    """A TSIG RR followed by an OPT (the TSIG must be last, RFC 8945 5.1)."""
    got = {}
    for kind, srv in servers.items():
        _, wire = signed("example.net.", "SOA")
        opt = b"\x00" + struct.pack("!HHIH", dns.rdatatype.OPT, 1232, 0, 0)
        ar = struct.unpack("!H", wire[10:12])[0]
        bad = wire[:10] + struct.pack("!H", ar + 1) + wire[12:] + opt
        r = udp(srv, bad)
        got[kind] = tsig_of(r)
        assert got[kind][:2] == (dns.rcode.FORMERR, None), kind
    if "knot" in got:
        assert got["runway"] == got["knot"]


@pytest.mark.skipif(shutil.which("kdig") is None, reason="kdig (knot-dnsutils) is not installed")
@pytest.mark.parametrize("name", ["xfr.", "sha512.key."])
def test_kdig(servers, name):
    """kdig -y signs and checks the answer's TSIG; a wrong secret is
    reported with BADSIG (kdig shows the TSIG error as the status of a
    NOTAUTH answer) and an unsigned TSIG RR it cannot verify."""
    srv = servers["runway"]
    alg, secret = KEYS[name]
    out = subprocess.run(["kdig", "-p", str(srv.port), "@127.0.0.1", "-y", f"{alg}:{name}:{secret}",
                          "example.net.", "SOA", "+retry=0", "+timeout=3"],
                         capture_output=True, text=True, timeout=20)
    text = out.stdout + out.stderr
    assert "status: NOERROR" in text, text
    assert ";; TSIG PSEUDOSECTION:" in text, text
    assert "WARNING" not in text, text
    out = subprocess.run(["kdig", "-p", str(srv.port), "@127.0.0.1", "-y", f"{alg}:{name}:{WRONG}",
                          "example.net.", "SOA", "+retry=0", "+timeout=3"],
                         capture_output=True, text=True, timeout=20)
    text = out.stdout + out.stderr
    assert "status: BADSIG" in text, text
    # time signed, fudge 300, an empty MAC, original ID, BADSIG, no other data
    assert re.search(r"TSIG\thmac-\S+ \d+ 300 0 \d+ BADSIG 0", text), text


def test_signed_axfr(servers):
    """allow_transfer with key xfr.: dnspython's xfr checks each message's
    MAC, chained (RFC 8945 5.3.1), and that the last one is signed."""
    import dns.zone
    for kind, srv in servers.items():
        kr = keyring("xfr.")
        msgs = 0
        for m in dns.query.xfr("127.0.0.1", MANY, port=srv.port, keyring=kr, keyname="xfr.",
                               relativize=False, lifetime=20):
            assert m.had_tsig, (kind, msgs)     # every message signed (dnspython allows gaps)
            msgs += 1
        assert msgs >= 3, (kind, msgs)
        # the whole zone came: 2000 TXT, SOA, NS, A
        got = dns.query.xfr("127.0.0.1", MANY, port=srv.port, keyring=kr, keyname="xfr.",
                            relativize=False, lifetime=20)
        zone = dns.zone.from_xfr(got, relativize=False)
        assert len(list(zone.iterate_rdatas("TXT"))) == 2000, kind
        # a wrong secret: NOTAUTH, BADSIG, unsigned, as for any query
        _, wire = signed(MANY, "AXFR", secret=WRONG)
        assert tsig_of(tcp(srv, wire))[:3] == (dns.rcode.NOTAUTH, dns.rcode.BADSIG, 0), kind


def test_client_side_axfr(servers):
    """The client side (common/tsig.c: rwd_tsig_sign_request,
    rwd_tsig_client_check, through `runway query -y`) against runwayd and
    knotd as primaries: every message of a signed AXFR verified; a wrong
    secret fails with the server's BADSIG."""
    alg, secret = KEYS["xfr."]
    for kind, srv in servers.items():
        args = [str(h.RUNWAY), "query", "-y", f"{alg}:xfr.:{secret}", f"@127.0.0.1#{srv.port}", MANY, "AXFR"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (kind, r.stderr)
        m = re.search(r";; TSIG: every message verified \(hmac-sha256 xfr\., (\d+) signed\)", r.stdout)
        assert m and int(m.group(1)) >= 3, (kind, r.stdout[-500:])
        assert "XFR size: 2004 records" in r.stdout, kind   # 2000 TXT, NS, A, the SOA twice
        args[3] = f"{alg}:xfr.:{WRONG}"
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and "TSIG error BADSIG" in r.stdout + r.stderr, (kind, r.stdout, r.stderr)
