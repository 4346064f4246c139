# SPDX-License-Identifier: GPL-3.0-or-later
"""The operator's tools for zone transfers (docs/cli.md):

- `runway key generate`: the tsig_keys: entry loads in `runway check` (and
  its key is used by allow_transfer), the Knot, BIND and NSD formats pass
  knotc conf-check, named-checkconf and nsd-checkconf (which do refuse a
  broken secret: checked too), secrets are random and as long as the digest;
- `runway query NAME AXFR` / `IXFR=SERIAL` with `-y` / `--key-file`: against
  knotd (the reference, signed with TSIG on every message), its records are
  dig's for the same transfer; multi-message streams, IXFR difference
  sequences, up to date, refused transfers and TSIG errors; then against
  runwayd itself once it serves AXFR.

Loopback only; servers are stopped on any exit (peers.Peers)."""
from __future__ import annotations

import base64
import re
import shutil
import subprocess

import dns.message
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

import dnsharness as h
import peers as P
from dnsharness import run_tool

pytestmark = pytest.mark.runway_only

DIGEST = {"hmac-sha1": 20, "hmac-sha224": 28, "hmac-sha256": 32, "hmac-sha384": 48,
          "hmac-sha512": 64}
DIG = shutil.which("dig")
KNOTC = shutil.which("knotc") or "/usr/sbin/knotc"
NAMED_CHECKCONF = shutil.which("named-checkconf") or "/usr/bin/named-checkconf"
NSD_CHECKCONF = shutil.which("nsd-checkconf") or "/usr/sbin/nsd-checkconf"

ZONE = (h.ZONES_DIR / "example.net.zone").read_text() + (h.ZONES_DIR / "big.inc").read_text()
ZONE = ZONE.replace("$INCLUDE big.inc\n", "")


def big_zone(n=3000) -> str:
    """A zone of n A records: several 64 KB messages."""
    lines = ["$ORIGIN big.example.", "$TTL 300",
             "@ SOA ns1 hostmaster 1 7200 3600 1209600 300", "@ NS ns1", "ns1 A 192.0.2.53"]
    lines += [f"host{i} A 10.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(n)]
    return "\n".join(lines) + "\n"


def out_of(p):
    return p.stdout + p.stderr


def gen(*args) -> str:
    p = run_tool(["key", "generate", *args])
    assert p.returncode == 0, out_of(p)
    return p.stdout


def y_line(text):
    """The first line, '# ALG:NAME:SECRET' (runway query -y's form)."""
    m = re.match(r"# (hmac-sha\d+):([^:\s]+):(\S+)\n", text)
    assert m, text
    return m.groups()


# --------------------------------------------------------------------------
# runway key generate

@pytest.mark.parametrize("alg", sorted(DIGEST))
def test_key_yaml_loads_in_runway_check(tmp_path, alg):
    out = gen("--algorithm", alg, "xfr")
    a, name, secret = y_line(out)
    assert (a, name) == (alg, "xfr.")
    assert len(base64.b64decode(secret, validate=True)) == DIGEST[alg]
    assert f'xfr.: {{ algorithm: {alg}, secret: "{secret}" }}' in out, out
    (tmp_path / "example.net.zone").write_text(ZONE)
    cfg = tmp_path / "runway.yaml"
    # the entry as printed, then a zone whose allow_transfer names the key:
    # check fails if the key did not load (an unknown key is an error)
    cfg.write_text(out + "server:\n  listen: [\"127.0.0.1:5399\"]\nzones:\n"
                   "  - name: example.net.\n    file: example.net.zone\n"
                   "    allow_transfer: [{ match: [any], key: xfr. }]\n")
    p = run_tool(["check", "-c", cfg])
    assert p.returncode == 0, out_of(p)
    # the control: a key name that is not there is refused
    cfg.write_text(cfg.read_text().replace("key: xfr. }", "key: other. }"))
    p = run_tool(["check", "-c", cfg])
    assert p.returncode == 1 and "other." in out_of(p), out_of(p)


def test_key_secrets_are_random():
    secrets = {y_line(gen("xfr."))[2] for _ in range(4)}
    assert len(secrets) == 4


CHECKERS = {
    "knot": lambda f: [KNOTC, "-c", f, "conf-check"],
    "bind": lambda f: [NAMED_CHECKCONF, f],
    "nsd": lambda f: [NSD_CHECKCONF, f],
}
# How each format writes the secret, to break it for the control.
SECRET_AT = {"knot": "secret: ", "bind": 'secret "', "nsd": 'secret: "'}


@pytest.mark.parametrize("alg", ["hmac-sha1", "hmac-sha256", "hmac-sha512"])
@pytest.mark.parametrize("fmt", ["knot", "bind", "nsd"])
def test_key_peer_formats_pass_their_checkers(tmp_path, fmt, alg):
    cmd = CHECKERS[fmt]("x")[0]
    if not shutil.which(cmd) and not __import__("os").access(cmd, __import__("os").X_OK):
        pytest.skip(f"{cmd} not installed")
    out = gen("-a", alg, "-f", fmt, "xfr.example")
    _, name, secret = y_line(out)
    assert name == "xfr.example." and secret in out
    f = tmp_path / f"{fmt}.conf"
    f.write_text(out)
    p = subprocess.run(CHECKERS[fmt](str(f)), capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"{out}\n{p.stdout}{p.stderr}"
    # the control: the same file with a secret that is not base64 is refused,
    # so the checker did read the key
    f.write_text(out.replace(SECRET_AT[fmt] + secret, SECRET_AT[fmt] + "!" + secret[1:]))
    p = subprocess.run(CHECKERS[fmt](str(f)), capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    assert p.returncode != 0, f"{fmt} checker accepted a broken secret:\n{f.read_text()}"


def test_key_same_secret_every_format():
    secret = y_line(gen("xfr"))[2]
    for fmt in ("yaml", "knot", "bind", "nsd"):
        out = gen("-f", fmt, "--secret", secret, "xfr")
        assert secret in out.split("\n", 1)[1], out


@pytest.mark.parametrize("args,msg", [
    (["key", "generate"], "which key name"),
    (["key", "generate", "-a", "hmac-md5", "x"], "unknown algorithm 'hmac-md5'"),
    (["key", "generate", "-f", "json", "x"], "unknown format 'json'"),
    (["key", "generate", "bad name"], "bad key name"),
    (["key", "generate", "a..b"], "bad key name"),
    (["key", "generate", "--secret", "not*base64", "x"], "not base64"),
    (["key", "make", "x"], "unknown action 'make'"),
    (["key", "generate", "x", "y"], "unexpected argument 'y'"),
])
def test_key_usage_errors(args, msg):
    p = run_tool(args)
    assert p.returncode == 2 and msg in p.stderr, out_of(p)
    assert p.stdout == ""


# --------------------------------------------------------------------------
# runway query AXFR / IXFR against knotd

KEY = P.TsigKey.generate("xfr.")
WRONG = P.TsigKey(KEY.name, base64.b64encode(b"\x01" * 32).decode())


@pytest.fixture(scope="module")
def knot(tmp_path_factory):
    if not P.have("knot"):
        pytest.skip("knotd not installed")
    k = P.KnotPeer(tmp_path_factory.mktemp("knot-primary"))
    acl = [P.Acl("127.0.0.0/8", KEY)]
    k.add_zone(P.Zone("example.net.", text=ZONE, allow_transfer=acl))
    k.add_zone(P.Zone("big.example.", text=big_zone(), allow_transfer=acl))
    with P.Peers() as peers:
        peers.start(k)
        yield k


def y(key):
    return f"{key.algorithm}:{key.name}:{key.secret}"


def query(server, *args):
    return run_tool(["query", *args, f"@127.0.0.1#{server.port}"], timeout=60)


def records(text):
    """The records of a transfer's output, normalised: (owner, ttl, type,
    rdata) in order."""
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        owner, ttl, cls, rtype, rdata = line.split(None, 4)
        if rtype == "TSIG":                   # dig prints each message's
            continue
        assert cls == "IN", line
        rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), rdata)
        out.append((owner.lower(), int(ttl), rtype, rd.to_text()))
    return out


def dig(server, zone, qtype, key):
    if DIG is None:
        pytest.skip("dig not installed")
    p = subprocess.run([DIG, "@127.0.0.1", "-p", str(server.port), zone, qtype, "-y", y(key),
                        "+nocmd", "+nostats"], capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stdout + p.stderr
    return records(p.stdout)


def summary(text):
    m = re.search(r"^;; XFR size: (\d+) records \(messages (\d+), bytes (\d+)\)$", text, re.M)
    assert m, text
    return tuple(int(x) for x in m.groups())


def test_axfr_is_digs(knot):
    p = query(knot, "example.net", "AXFR", "-y", y(KEY))
    assert p.returncode == 0, out_of(p)
    got = records(p.stdout)
    assert got == dig(knot, "example.net", "AXFR", KEY)
    assert got[0][2] == got[-1][2] == "SOA" and len(got) > 100
    assert ("www.example.net.", 3600, "A", "192.0.2.80") in got
    n, msgs, size = summary(p.stdout)
    assert n == len(got) and msgs == 1 and size > 5000
    assert ";; TSIG: every message verified (hmac-sha256 xfr., 1 signed)" in p.stdout
    assert f";; SERVER: 127.0.0.1#{knot.port}(TCP)" in p.stdout
    # the same records as dnspython's AXFR (a third implementation)
    assert sorted(got) == sorted((o, t, dns.rdatatype.to_text(ty), d)
                                      for o, t, ty, d in knot.axfr("example.net.", KEY))


def test_axfr_many_messages_each_signed(knot):
    p = query(knot, "big.example.", "AXFR", "-y", y(KEY))
    assert p.returncode == 0, out_of(p)
    got = records(p.stdout)
    assert len(got) == 3000 + 3 + 1
    n, msgs, _ = summary(p.stdout)
    assert n == len(got) and msgs > 1, p.stdout[-300:]
    m = re.search(r";; TSIG: every message verified \(hmac-sha256 xfr\., (\d+) signed\)", p.stdout)
    assert m and int(m.group(1)) >= 1
    assert got == dig(knot, "big.example.", "AXFR", KEY)


@pytest.mark.parametrize("kind", ["nsd", "bind"])
def test_axfr_from_nsd_and_bind(tmp_path, kind):
    """The other primaries' streams (their own message sizes, compression,
    BIND's cookie in every message): the same records as dig, every
    message verified."""
    if not P.have(kind):
        pytest.skip(f"{kind} not installed")
    peer = {"nsd": P.NsdPeer, "bind": P.BindPeer}[kind](tmp_path / kind)
    peer.add_zone(P.Zone("big.example.", text=big_zone(20000),
                         allow_transfer=[P.Acl("127.0.0.0/8", KEY)]))
    with P.Peers() as peers:
        peers.start(peer)
        p = query(peer, "big.example.", "AXFR", "-y", y(KEY))
        assert p.returncode == 0, out_of(p)
        got = records(p.stdout)
        assert len(got) == 20000 + 3 + 1
        n, msgs, _ = summary(p.stdout)
        assert n == len(got) and msgs > 1
        assert ";; TSIG: every message verified" in p.stdout
        assert got == dig(peer, "big.example.", "AXFR", KEY)
        p = query(peer, "big.example.", "AXFR", "-y", y(WRONG))
        assert p.returncode == 1 and "; Transfer failed: NOTAUTH" in p.stdout, out_of(p)


def test_axfr_every_algorithm(tmp_path):
    """A key of each algorithm, made by runway key generate, given to knotd
    in the knot format's values and used by runway query -k."""
    if not P.have("knot"):
        pytest.skip("knotd not installed")
    k = P.KnotPeer(tmp_path / "knot")
    files = {}
    for alg in ("hmac-sha1", "hmac-sha224", "hmac-sha384", "hmac-sha512"):
        out = gen("-a", alg, "-f", "knot", f"{alg}.key")
        _, name, secret = y_line(out)
        files[alg] = tmp_path / f"{alg}.conf"
        files[alg].write_text(out)
        zone = f"{alg}.example."
        k.add_zone(P.Zone(zone, text=big_zone(10).replace("big.example.", zone),
                          allow_transfer=[P.Acl("127.0.0.0/8", P.TsigKey(name, secret, alg))]))
    with P.Peers() as peers:
        peers.start(k)
        for alg, f in files.items():
            p = query(k, f"{alg}.example.", "AXFR", "-k", f)
            assert p.returncode == 0, (alg, out_of(p))
            assert f";; TSIG: every message verified ({alg} {alg}.key., 1 signed)" in p.stdout
            assert len(records(p.stdout)) == 10 + 3 + 1
        # a key of another algorithm under the same name: BADKEY
        other = files["hmac-sha1"].read_text().replace("hmac-sha1.key.", "hmac-sha512.key.")
        f = tmp_path / "mixed.conf"
        f.write_text(other)
        p = query(k, "hmac-sha512.example.", "AXFR", "-k", f)
        assert p.returncode == 1 and "NOTAUTH (TSIG error BADKEY)" in p.stdout, out_of(p)


def test_key_file_in_each_format(knot, tmp_path):
    for fmt in ("yaml", "knot", "bind", "nsd"):
        f = tmp_path / f"key.{fmt}"
        f.write_text(gen("-f", fmt, "--secret", KEY.secret, "xfr"))
        p = query(knot, "example.net", "AXFR", "--key-file", f)
        assert p.returncode == 0 and ";; TSIG: every message verified" in p.stdout, (fmt, out_of(p))
    f = tmp_path / "key.y"
    f.write_text(y(KEY) + "\n")
    p = query(knot, "example.net", "AXFR", "-k", f)
    assert p.returncode == 0, out_of(p)


@pytest.mark.parametrize("how,status", [
    ([], "NOTAUTH"),                                           # Knot: unsigned, key required
    (["-y", y(WRONG)], "NOTAUTH (TSIG error BADSIG)"),
    (["-y", y(P.TsigKey("other.", KEY.secret))], "NOTAUTH (TSIG error BADKEY)"),
    (["-y", y(P.TsigKey("xfr.", KEY.secret, "hmac-sha512"))], "NOTAUTH (TSIG error BADKEY)"),
])
def test_axfr_refused(knot, how, status):
    p = query(knot, "example.net", "AXFR", *how)
    assert p.returncode == 1, out_of(p)
    assert f"; Transfer failed: {status}\n" in p.stdout, out_of(p)
    assert f"refused the transfer: {status}" in p.stderr
    assert records(p.stdout) == []


def test_ixfr_sequences_and_up_to_date(knot):
    s0 = knot.soa_serial("example.net.")
    knot.zone_set("example.net.", [("set", "ixfr1.example.net.", 300, "A", "192.0.2.1")])
    knot.zone_set("example.net.", [("unset", "ixfr1.example.net.", 300, "A", "192.0.2.1"),
                                   ("set", "ixfr2.example.net.", 300, "TXT", '"two"')])
    s2 = knot.soa_serial("example.net.")
    assert s2 == s0 + 2
    p = query(knot, "example.net", f"IXFR={s0}", "-y", y(KEY))
    assert p.returncode == 0, out_of(p)
    got = records(p.stdout)
    assert got == dig(knot, "example.net", f"IXFR={s0}", KEY)
    soas = [int(r[3].split()[2]) for r in got if r[2] == "SOA"]
    assert soas == [s2, s0, s0 + 1, s0 + 1, s2, s2], got
    assert ("ixfr2.example.net.", 300, "TXT", '"two"') in got
    assert f";; IXFR from serial {s0} to {s2}: 2 difference sequences" in p.stdout
    assert summary(p.stdout)[0] == len(got)
    # up to date: the one SOA
    p = query(knot, "example.net", f"IXFR={s2}", "-y", y(KEY))
    assert p.returncode == 0, out_of(p)
    assert len(records(p.stdout)) == 1
    assert f";; IXFR: serial {s2} is up to date\n" in p.stdout
    # a serial newer than the server's (RFC 1982): the SOA alone too
    p = query(knot, "example.net", f"IXFR={s2 + 5}", "-y", y(KEY))
    assert p.returncode == 0, out_of(p)
    assert (f";; IXFR: serial {s2 + 5} is newer than the server's ({s2}): nothing to transfer"
            in p.stdout)
    assert records(p.stdout) == dig(knot, "example.net", f"IXFR={s2 + 5}", KEY)
    # older than the journal: Knot answers with the whole zone
    p = query(knot, "example.net", f"IXFR={s0 - 100}", "-y", y(KEY))
    assert p.returncode == 0, out_of(p)
    assert ";; IXFR answered with the whole zone (AXFR-style)" in p.stdout
    assert records(p.stdout) == dig(knot, "example.net", "AXFR", KEY)


def test_signed_plain_query(knot):
    p = query(knot, "example.net", "SOA", "-y", y(KEY))
    assert p.returncode == 0 and ";; TSIG: verified (hmac-sha256 xfr.)" in p.stdout, out_of(p)
    p = query(knot, "example.net", "SOA", "-y", y(WRONG))
    assert p.returncode == 1 and ";; TSIG: NOT verified: BADSIG" in p.stdout, out_of(p)
    assert "status: NOTAUTH" in p.stdout


@pytest.mark.parametrize("args,msg", [
    (["example.net", "IXFR"], "IXFR needs the serial"),
    (["example.net", "IXFR=x"], "bad serial in 'IXFR=x'"),
    (["example.net", "IXFR=4294967296"], "bad serial"),
    (["example.net", "AXFR", "@127.0.0.1#0"], "bad server '@127.0.0.1#0'"),
    (["example.net", "AXFR", "CH"], "transfers are of class IN"),
    (["example.net", "AXFR", "-y", "xfr.:not*base64"], "not base64"),
    (["example.net", "AXFR", "-y", "hmac-md5:xfr.:AAAA"], "unknown TSIG algorithm 'hmac-md5'"),
    (["example.net", "AXFR", "-k", "/nonexistent/key"], "/nonexistent/key: cannot open"),
])
def test_query_usage_errors(args, msg):
    p = run_tool(["query", *args])
    assert p.returncode == 2 and msg in p.stderr, out_of(p)


def test_axfr_connection_refused():
    port = h.free_port()
    p = run_tool(["query", "example.net", "AXFR", f"@127.0.0.1#{port}"])
    assert p.returncode == 1
    assert f"connection refused by 127.0.0.1#{port} (TCP)" in p.stderr


# --------------------------------------------------------------------------
# against runwayd

@pytest.fixture
def runwayd(tmp_path):
    r = P.RunwayPeer(tmp_path / "rw")
    r.add_zone(P.Zone("example.net.", text=ZONE, allow_transfer=[P.Acl("127.0.0.0/8", KEY)]))
    with P.Peers() as peers:
        peers.start(r)
        yield r


def test_axfr_from_runwayd(runwayd):
    p = query(runwayd, "example.net", "AXFR", "-y", y(KEY))
    if p.returncode != 0 and ("without records" in p.stderr or "NOTIMP" in p.stdout):
        pytest.skip("this runwayd does not serve AXFR yet")
    assert p.returncode == 0, out_of(p)
    got = records(p.stdout)
    assert got == dig(runwayd, "example.net", "AXFR", KEY)
    assert ";; TSIG: every message verified" in p.stdout
    # every record of the zone file is in it (the file's, as dnspython reads it)
    assert got[0][2] == got[-1][2] == "SOA"
    assert ("www.example.net.", 3600, "A", "192.0.2.80") in got
    p = query(runwayd, "example.net", "AXFR")
    assert p.returncode == 1 and "; Transfer failed:" in p.stdout, out_of(p)


# --------------------------------------------------------------------------
# docs/cli.md's examples

def console_examples(doc, prefix):
    """(command, output) of every `$ PREFIX...` line in the console blocks
    of doc: the output is the lines up to the next `$ ` or the block's end."""
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


def test_docs_key_generate_examples():
    ex = console_examples("cli.md", "build/runway key generate")
    assert len(ex) >= 4, ex
    for cmd, doc_out in ex:
        p = run_tool(cmd.split()[1:])
        assert p.returncode == 0, (cmd, out_of(p))
        if "--secret" in cmd:
            assert p.stdout == doc_out, cmd        # deterministic: exactly the doc's
        else:                                      # a new secret: the same text around it
            secret = y_line(p.stdout)[2]
            doc_secret = y_line(doc_out)[2]
            assert p.stdout == doc_out.replace(doc_secret, secret), cmd


def test_docs_query_usage_examples():
    for cmd, doc_out in console_examples("cli.md", "build/runway query example.com IXFR @"):
        p = run_tool(cmd.split()[1:])
        assert p.returncode == 2 and p.stderr == doc_out, (cmd, out_of(p))


# --------------------------------------------------------------------------
# a broken primary: the stream checks of runway query

class StubPrimary:
    """A loopback TCP server that answers one query with the messages
    make(query) returns (wire bytes, each framed), then closes; None: it
    sends nothing and waits until stopped."""

    def __init__(self, make):
        import socket
        import threading
        self.make = make
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            q = dns.message.from_wire(h.tcp_read_msg(conn))
            msgs = self.make(q)
            if msgs is None:
                self.stop_ev.wait(10)
                return
            for m in msgs:
                conn.sendall(h.tcp_frame(m if isinstance(m, bytes) else m.to_wire()))

    def close(self):
        self.stop_ev.set()
        self.sock.close()
        self.thread.join(10)


def answer(q, *lines):
    r = dns.message.make_response(q)
    for line in lines:
        r.answer.append(dns.rrset.from_text(*line.split(None, 4)))
    return r


SOA1 = "stub.example. 300 IN SOA ns1.stub.example. h.stub.example. 7 3600 600 86400 300"
A1 = "www.stub.example. 300 IN A 192.0.2.1"


@pytest.mark.parametrize("make,msg", [
    (lambda q: [answer(q, SOA1, A1)], "closed the connection before the transfer ended "
                                     "(1 message, 2 records so far)"),
    (lambda q: [answer(q, A1, SOA1)], "the transfer does not start with the zone's SOA"),
    (lambda q: [answer(q, SOA1, A1, SOA1, A1)], "records after the closing SOA"),
    (lambda q: [answer(q, SOA1, A1), (lambda m: (m.__setattr__("id", q.id ^ 1), m)[1])(
        answer(q, A1, SOA1))], "message 2 from 127.0.0.1#"),
    (lambda q: [answer(q, SOA1, A1).to_wire()[:40]], "malformed"),
    (lambda q: [answer(q)], "answered without records"),
    (lambda q: None, "timeout after 300 ms talking to 127.0.0.1#"),
], ids=["cut", "no-soa-first", "after-closing-soa", "wrong-id", "malformed", "empty", "silent"])
def test_axfr_broken_primary(make, msg):
    stub = StubPrimary(make)
    try:
        p = run_tool(["query", "stub.example", "AXFR", f"@127.0.0.1#{stub.port}",
                      "--timeout", "300"])
    finally:
        stub.close()
    assert p.returncode == 1, out_of(p)
    assert msg in p.stderr, out_of(p)
    assert ";; XFR size" not in p.stdout
