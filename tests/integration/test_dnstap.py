# SPDX-License-Identifier: GPL-3.0-or-later
"""dnstap query logging: runwayd writes AUTH_QUERY / AUTH_RESPONSE frames to
a file or a unix socket; Debian's dnstap-ldns must read them back with the
right names, types, rcodes, transport, addresses and ports.

Queries are sent from sockets bound to known ports, so each frame can be
matched to its exchange by the client port and the message id."""
import re
import shutil
import signal
import socket
import subprocess
import time

import dns.message
import pytest

import dnsharness as h

pytestmark = pytest.mark.runway_only

DNSTAP_LDNS = shutil.which("dnstap-ldns")
FSTRM_CAPTURE = shutil.which("fstrm_capture")


class DnstapServer(h.DnsServer):
    """runwayd with a dnstap: section (YAML text, indented under it)."""

    def __init__(self, workdir, dnstap_yaml, **kw):
        self.dnstap_yaml = dnstap_yaml
        super().__init__("runway", workdir, **kw)

    def runway_config(self) -> str:
        return super().runway_config() + "dnstap:\n" + "".join(
            f"  {line}\n" for line in self.dnstap_yaml.strip("\n").split("\n"))


def exchange(srv, qname, qtype, *, tcp=False, v6=False, qid):
    """One query from a socket of our own; returns (client port, parsed reply)."""
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    host = "::1" if v6 else "127.0.0.1"
    wire = h.make_query(qname, qtype, qid=qid).to_wire()
    with socket.socket(fam, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM) as s:
        s.settimeout(3.0)
        s.bind((host, 0))
        s.connect((host, srv.port))
        port = s.getsockname()[1]
        if tcp:
            s.sendall(h.tcp_frame(wire))
            reply = h.tcp_read_msg(s)
        else:
            s.send(wire)
            reply = s.recv(65535)
    return port, dns.message.from_wire(reply)


def read_frames(path):
    """dnstap-ldns -y: one dict per frame, message fields flattened, and the
    two DNS messages as text under query_message / response_message."""
    assert DNSTAP_LDNS, "dnstap-ldns missing (scripts/deps.sh test installs it)"
    out = subprocess.run([DNSTAP_LDNS, "-y", "-r", str(path)], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    frames = []
    for doc in out.stdout.split("---\n"):
        if not doc.strip():
            continue
        f, block = {}, None
        for line in doc.split("\n"):
            m = re.match(r"^( *)([a-z_]+): ?(.*)$", line)
            if block and (line.startswith("    ") or not line.strip()):
                f[block] += line.strip() + "\n"
                continue
            block = None
            if not m:
                continue
            key, val = m.group(2), m.group(3).strip().strip('"')
            if val == "|":
                block, f[key] = key, ""
            else:
                f[key] = val
        frames.append(f)
    return frames


def msg_id(text):
    m = re.search(r"id: (\d+)", text or "")
    return int(m.group(1)) if m else None


def msg_rcode(text):
    m = re.search(r"rcode: ([A-Z]+)", text or "")
    return m.group(1) if m else None


def question(text):
    """';www.example.com.\tIN\tA' from a message's question section."""
    m = re.search(r";; QUESTION SECTION:\n;(\S+)\s+IN\s+(\S+)", text or "")
    return (m.group(1), m.group(2)) if m else None


def find(frames, kind, qid, port):
    got = [f for f in frames if f.get("type") == kind and f.get("query_port") == str(port)
           and msg_id(f.get("query_message" if kind == "AUTH_QUERY" else "response_message")) == qid]
    assert len(got) == 1, f"{kind} id {qid} from port {port}: {len(got)} frames"
    return got[0]


EXCHANGES = [
    # qname, qtype, tcp, v6, rcode
    ("www.example.com.", "A", False, False, "NOERROR"),
    ("nothing.example.net.", "AAAA", False, False, "NXDOMAIN"),
    ("example.com.", "MX", True, False, "NOERROR"),
    ("outside.example.org.", "A", False, False, "REFUSED"),
    ("www.example.net.", "A", False, True, "NOERROR"),
    ("mail.example.net.", "AAAA", True, True, "NOERROR"),
]


def run_exchanges(srv):
    done = []
    for i, (name, qtype, tcp, v6, rcode) in enumerate(EXCHANGES):
        if v6 and not srv.listen_v6:
            continue
        qid = 0x4400 + i
        port, reply = exchange(srv, name, qtype, tcp=tcp, v6=v6, qid=qid)
        assert dns.rcode.to_text(reply.rcode()) == rcode
        done.append((name, qtype, tcp, v6, rcode, qid, port))
    return done


def check_frames(frames, done, srv, identity):
    for name, qtype, tcp, v6, rcode, qid, port in done:
        addr = "::1" if v6 else "127.0.0.1"
        for kind in ("AUTH_QUERY", "AUTH_RESPONSE"):
            f = find(frames, kind, qid, port)
            assert f["identity"] == identity
            assert f["version"].startswith("runwayd ")
            assert f["socket_family"] == ("INET6" if v6 else "INET")
            assert f["socket_protocol"] == ("TCP" if tcp else "UDP")
            assert f["query_address"] == addr
            assert f["response_address"] == addr
            assert f["response_port"] == str(srv.port)
            assert "query_time" in f
            text = f["query_message" if kind == "AUTH_QUERY" else "response_message"]
            assert question(text) == (name, qtype), text
            if kind == "AUTH_RESPONSE":
                assert msg_rcode(text) == rcode, text
                assert "response_time" in f


@pytest.mark.skipif(DNSTAP_LDNS is None, reason="dnstap-ldns not installed (scripts/deps.sh test)")
def test_dnstap_file_udp_and_tcp(tmp_path):
    srv = DnstapServer(tmp_path / "srv", "file: queries.dnstap\nidentity: ns-test")
    srv.start()
    try:
        done = run_exchanges(srv)
    finally:
        rc = srv.stop()
    assert rc == 0, srv.log_tail()
    # A clean stop flushes every frame: the readiness probes and ours.
    m = re.search(r"dnstap: (\d+) frames queued for file \S+queries.dnstap, (\d+) dropped", srv.log())
    assert m and int(m.group(2)) == 0, srv.log_tail()
    frames = read_frames(srv.workdir / "queries.dnstap")
    assert len(frames) == int(m.group(1))
    check_frames(frames, done, srv, "ns-test")
    # The plain text form names them too.
    text = subprocess.run([DNSTAP_LDNS, "-r", str(srv.workdir / "queries.dnstap")],
                          capture_output=True, text=True, timeout=30).stdout
    assert re.search(r'AQ 127\.0\.0\.1 UDP \d+b "www\.example\.com\." IN A', text), text
    assert re.search(r'AR 127\.0\.0\.1 TCP \d+b "example\.com\." IN MX', text), text


@pytest.mark.skipif(DNSTAP_LDNS is None, reason="dnstap-ldns not installed (scripts/deps.sh test)")
def test_dnstap_responses_only_default_identity(tmp_path):
    srv = DnstapServer(tmp_path / "srv", "file: r.dnstap\nlog_queries: false")
    srv.start()
    try:
        port, reply = exchange(srv, "www.example.com.", "A", qid=0x5501)
    finally:
        assert srv.stop() == 0, srv.log_tail()
    frames = read_frames(srv.workdir / "r.dnstap")
    assert frames and all(f["type"] == "AUTH_RESPONSE" for f in frames)
    f = find(frames, "AUTH_RESPONSE", 0x5501, port)
    assert f["identity"] == socket.gethostname()[:255]


@pytest.mark.skipif(DNSTAP_LDNS is None or FSTRM_CAPTURE is None,
                    reason="dnstap-ldns or fstrm_capture not installed (scripts/deps.sh test)")
def test_dnstap_unix_socket_collector(tmp_path):
    """fstrm_capture listens on the socket (as a collector would) and writes
    what it receives to a file, which dnstap-ldns reads."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    sock, out = tmp_path / "dnstap.sock", tmp_path / "captured.dnstap"
    cap = subprocess.Popen([FSTRM_CAPTURE, "-t", "protobuf:dnstap.Dnstap", "-u", str(sock),
                            "-w", str(out)], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():           # readiness: the collector's socket
            assert cap.poll() is None, cap.stderr.read().decode()
            assert time.monotonic() < deadline, "fstrm_capture did not create its socket"
            time.sleep(0.05)
        srv = DnstapServer(tmp_path / "srv", f"socket: {sock}\nidentity: ns-sock")
        srv.start()
        try:
            done = run_exchanges(srv)
        finally:
            rc = srv.stop()
        assert rc == 0, srv.log_tail()
        assert "no collector" not in srv.log()
        m = re.search(r"dnstap: (\d+) frames queued for socket \S+, (\d+) dropped", srv.log())
        assert m and int(m.group(2)) == 0, srv.log_tail()
        want = int(m.group(1))
    finally:
        # runwayd closed the stream when it stopped; SIGINT makes
        # fstrm_capture finish its file.
        if cap.poll() is None:
            cap.send_signal(signal.SIGINT)
        try:
            cap.wait(10)
        except subprocess.TimeoutExpired:
            cap.kill()
            cap.wait(10)
    frames = read_frames(out)
    assert len(frames) == want
    check_frames(frames, done, srv, "ns-sock")


def test_dnstap_bad_config(tmp_path):
    srv = DnstapServer(tmp_path / "both", "file: a.dnstap\nsocket: b.sock")
    with pytest.raises(h.ServerFailed):
        srv.start()
    srv.stop()
    assert re.search(r"runway\.yaml:\d+: dnstap: give either file or socket, not both", srv.log())

    srv = DnstapServer(tmp_path / "unwritable", "file: no/such/folder/q.dnstap")
    with pytest.raises(h.ServerFailed):
        srv.start()
    assert srv.stop() == 1
    assert "dnstap: cannot open" in srv.log() and "No such file or directory" in srv.log()


@pytest.mark.skipif(DNSTAP_LDNS is None, reason="dnstap-ldns not installed (scripts/deps.sh test)")
def test_dnstap_reload_keeps_output(tmp_path):
    """Settings apply at start: a reload that changes them says so and keeps logging as before."""
    srv = DnstapServer(tmp_path / "srv", "file: q.dnstap\nidentity: before")
    srv.start()
    try:
        start = srv.log_size()
        srv.dnstap_yaml = "file: other.dnstap\nidentity: after"
        srv.write_config()
        srv.reload()
        srv.wait_log(r"dnstap settings change only at restart", start=start)
        srv.wait_log(r"reload done", start=start)
        port, _ = exchange(srv, "www.example.com.", "A", qid=0x6601)
    finally:
        assert srv.stop() == 0, srv.log_tail()
    assert not (srv.workdir / "other.dnstap").exists()
    f = find(read_frames(srv.workdir / "q.dnstap"), "AUTH_QUERY", 0x6601, port)
    assert f["identity"] == "before"
