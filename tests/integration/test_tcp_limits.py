# SPDX-License-Identifier: GPL-3.0-or-later
"""TCP limits: tcp.max_per_client, tcp.io_timeout (slowloris, clients that
do not read), and tcp.max_clients under a flood of idle connections.

Each test runs its own runwayd with an api: section, so the server's own
counters (/metrics: runway_tcp_connections, runway_tcp_closed_total) serve
as readiness checks and as a second witness of what the sockets saw.
Client sockets bind to 127.0.x.y to play many clients; every loop is
bounded in count and time. Run with -s to see the figures.
"""
import re
import resource
import select
import socket
import time

import dns.message
import pytest

import dnsharness as h
from abuse_helpers import AbuseServer
from dnsharness import check, make_query, tcp_frame, tcp_read_msg

pytestmark = pytest.mark.runway_only

class LimitServer(AbuseServer):
    """runwayd with extra tcp: options and a read-only API for /metrics
    (abuse_helpers.AbuseServer); metrics() keeps the runway_tcp_* figures."""

    def __init__(self, workdir, tcp, **kw):
        self.tcp = tcp
        super().__init__(workdir, **kw)

    def runway_config(self) -> str:
        text = super().runway_config()
        extra = "".join(f"  {k}: {v}\n" for k, v in self.tcp.items())
        return re.sub(r"(?m)^(  idle_timeout: .*\n)", lambda m: m.group(1) + extra, text, count=1)

    def metrics(self) -> dict:
        """The runway_tcp_* figures from /metrics."""
        text = self.metrics_text()
        out = {"open": int(re.search(r"^runway_tcp_connections (\d+)$", text, re.M).group(1)),
               "accepted": int(re.search(r"^runway_tcp_accepted_total (\d+)$", text, re.M).group(1))}
        for limit, n in re.findall(r'^runway_tcp_closed_total\{limit="(\w+)"\} (\d+)$', text, re.M):
            out[limit] = int(n)
        return out


@pytest.fixture
def limit_server(tmp_path):
    started = []

    def start(**tcp):
        s = LimitServer(tmp_path / f"srv{len(started)}", tcp, idle_timeout=10)
        started.append(s)
        s.start()
        return s

    yield start
    for s in started:
        was_running = s.alive()
        rc = s.stop()
        assert not was_running or rc == 0, f"runwayd exited with {rc}:\n{s.log_tail()}"


def connect_from(src, port, timeout=5.0):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.settimeout(timeout)
    c.bind((src, 0))
    c.connect(("127.0.0.1", port))
    return c


def ask_tcp(c, qid, name="www.example.net"):
    c.sendall(tcp_frame(make_query(name, "A", qid=qid).to_wire()))
    m = dns.message.from_wire(tcp_read_msg(c))
    assert m.id == qid
    return m


def closed_within(c, limit):
    """Seconds until the server closes c (EOF or reset); fails after limit."""
    t0 = time.monotonic()
    c.settimeout(limit)
    try:
        while True:
            data = c.recv(65535)
            if not data:
                break
    except ConnectionResetError:
        pass
    except socket.timeout:
        pytest.fail(f"connection still open after {limit}s")
    return time.monotonic() - t0


def still_open(c, wait):
    """True if the server keeps c open (and silent) for `wait` seconds."""
    c.settimeout(wait)
    try:
        c.recv(1)              # EOF or unexpected data: not what we wait for
        return False
    except socket.timeout:
        return True
    except ConnectionResetError:
        return False


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        new = min(hard, need) if hard != resource.RLIM_INFINITY else need
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    if soft < need:
        pytest.skip(f"needs {need} file descriptors, the limit is {soft}")


# --------------------------------------------------------------------------

def test_per_client_limit(limit_server):
    srv = limit_server(max_per_client=20)
    held = []
    try:
        for i in range(20):
            c = connect_from("127.0.0.1", srv.port)
            held.append(c)
            ask_tcp(c, i)
        extra = connect_from("127.0.0.1", srv.port)
        extra.sendall(tcp_frame(make_query("www.example.net", "A", qid=99).to_wire()))
        took = closed_within(extra, 3.0)
        extra.close()
        assert took < 1.0, f"the 21st connection was closed after {took:.2f}s, not at once"

        other = connect_from("127.0.0.2", srv.port)
        held.append(other)
        check(ask_tcp(other, 100), rcode="NOERROR", answer=["www.example.net. 3600 IN A 192.0.2.80"])
        for i, c in enumerate(held[:20]):         # the 20 are still served
            ask_tcp(c, 200 + i)
        m = srv.metrics()
        assert m["max_per_client"] == 1 and m["open"] == 21, m

        # A closed connection gives its place back: once the server has
        # seen the close (gauge 20), a new one from 127.0.0.1 is served.
        held.pop(0).close()
        srv.wait_metrics(lambda m: m["open"] == 20)
        again = connect_from("127.0.0.1", srv.port)
        held.append(again)
        ask_tcp(again, 300)
        m = srv.metrics()
        assert m["max_per_client"] == 1, m
        print(f"\nper-client: 20 held from 127.0.0.1, 21st closed in {took * 1000:.1f} ms, "
              f"127.0.0.2 served; metrics {m}")
    finally:
        for c in held:
            c.close()


def test_io_timeout_closes_half_sent_messages(limit_server):
    io = 0.5
    srv = limit_server(io_timeout="500ms", max_per_client=100)
    wire = tcp_frame(make_query("www.example.net", "A", qid=1).to_wire())
    figures = {}

    # One byte of the length prefix, then nothing.
    with connect_from("127.0.0.1", srv.port) as c:
        c.sendall(wire[:1])
        figures["1 byte"] = closed_within(c, 5.0)
    # The prefix and half the message.
    with connect_from("127.0.0.1", srv.port) as c:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.sendall(wire[:len(wire) // 2])
        figures["half"] = closed_within(c, 5.0)
    # Slowloris: a byte every 100 ms (the whole message would take ~4 s);
    # the bytes that keep coming do not extend the time.
    with connect_from("127.0.0.1", srv.port) as c:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.monotonic()
        sent = 0
        closed = False
        for b in wire:
            try:
                c.send(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            sent += 1
            r, _, _ = select.select([c], [], [], 0.1)  # paces the trickle, sees the close
            if r:
                closed = True
                break
        assert closed, "a message trickled over ~4 s was never cut"
        assert sent < len(wire), "the whole message went through"
        figures["trickle"] = time.monotonic() - t0
    for what, took in figures.items():
        assert io * 0.8 <= took < io + 1.5, f"{what}: closed after {took:.2f}s (io_timeout {io}s)"

    # Between messages the idle timeout (10 s) applies, not the io timeout.
    with connect_from("127.0.0.1", srv.port) as c:
        ask_tcp(c, 2)
        assert still_open(c, io * 3), "an idle connection was closed by the io timeout"
        ask_tcp(c, 3)
    m = srv.metrics()
    assert m["io_timeout"] == 3 and m["idle_timeout"] == 0, m
    print("\nio_timeout 0.5 s: closed after " +
          ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in figures.items()) + f"; metrics {m}")


def test_client_that_does_not_read_is_closed(limit_server):
    srv = limit_server(io_timeout="500ms")
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # before connect: small window
    c.connect(("127.0.0.1", srv.port))
    c.setblocking(False)
    q = b"".join(tcp_frame(make_query("big.example.net", "TXT", qid=i).to_wire()) for i in range(4000))
    off = 0
    deadline = time.monotonic() + 5
    while off < len(q) and time.monotonic() < deadline:
        try:
            off += c.send(q[off:])
        except (ConnectionResetError, BrokenPipeError):
            break                # already closed for not reading
        except BlockingIOError:
            _, w, _ = select.select([], [c], [], 0.2)
            if not w:
                break            # the server stopped reading: its answers are stuck
    t0 = time.monotonic()
    m = srv.wait_metrics(lambda m: m["io_timeout"] >= 1, timeout=5)
    took = time.monotonic() - t0
    c.close()
    assert m["open"] == 0, m
    print(f"\nunread answers: {off} bytes of queries taken, closed {took * 1000:.0f} ms after the "
          f"client stopped; metrics {m}")


def test_idle_flood_does_not_stop_udp_or_new_clients(limit_server):
    max_clients, per_client, sources = 64, 20, 25
    flood_n = per_client * sources                       # 500 idle connections
    raise_fd_limit(2 * flood_n + 200)
    srv = limit_server(max_clients=max_clients, max_per_client=per_client)
    srcs = [f"127.0.{1 + i // 200}.{1 + i % 200}" for i in range(sources)]
    flood = []
    udp_ms, tcp_ms = [], []

    def legit(qid):
        t0 = time.monotonic()
        r = h.parse(h.udp_exchange(make_query("www.example.net", "A", qid=qid).to_wire(), srv.port))
        udp_ms.append((time.monotonic() - t0) * 1000)
        check(r, rcode="NOERROR", answer=["www.example.net. 3600 IN A 192.0.2.80"])
        t0 = time.monotonic()
        with connect_from("127.0.0.2", srv.port) as c:
            r = ask_tcp(c, qid)
        tcp_ms.append((time.monotonic() - t0) * 1000)
        check(r, rcode="NOERROR", answer=["www.example.net. 3600 IN A 192.0.2.80"])

    try:
        t_flood = time.monotonic()
        for i in range(flood_n):                         # connect and say nothing
            flood.append(connect_from(srcs[i % sources], srv.port))
            if i % 50 == 24:
                legit(i)                                 # new clients in the middle of it
        # Every flood connection accepted: all but max_clients of them closed
        # as the longest idle, and the server holds exactly max_clients.
        m = srv.wait_metrics(lambda m: m["accepted"] >= flood_n + len(tcp_ms))
        assert max_clients - 1 <= m["open"] <= max_clients, m
        assert m["max_clients"] >= flood_n - max_clients, m
        t_flood = time.monotonic() - t_flood
        for qid in range(3):                             # the table is full of idle flooders
            legit(10000 + qid)
        closed = 0
        for c in flood[:flood_n - max_clients]:          # the oldest were closed by the server
            c.setblocking(False)
            try:
                closed += c.recv(1) == b""
            except ConnectionResetError:
                closed += 1
            except BlockingIOError:
                pass
        m = srv.metrics()
        assert closed >= flood_n - max_clients - len(tcp_ms), f"only {closed} flood connections closed"
        assert m["max_per_client"] == 0, m
    finally:
        for c in flood:
            c.close()
    udp_ms.sort()
    tcp_ms.sort()
    print(f"\nidle flood: {flood_n} connections from {sources} addresses in {t_flood:.2f} s, "
          f"max_clients {max_clients}: server holds {m['open']}, closed {m['max_clients']} longest-idle; "
          f"{len(udp_ms)} UDP and {len(tcp_ms)} new TCP clients all answered, "
          f"UDP median {udp_ms[len(udp_ms) // 2]:.2f} ms max {udp_ms[-1]:.2f} ms, "
          f"TCP connect+answer median {tcp_ms[len(tcp_ms) // 2]:.2f} ms max {tcp_ms[-1]:.2f} ms")
