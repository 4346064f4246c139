# SPDX-License-Identifier: GPL-3.0-or-later
"""DNS over TCP (RFC 7766): pipelining, idle timeout, framing."""
import socket
import struct
import time

import dns.message
import pytest

from dnsharness import IDLE_TIMEOUT, check, make_query, tcp_frame, tcp_read_msg


def connect(srv, timeout=5.0):
    return socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)


def test_pipelined_queries_all_answered(srv):
    queries = [("www.example.net", "A"), ("mail.example.net", "AAAA"), ("nothing.example.net", "A"),
               ("big.example.net", "TXT"), ("many.example.net", "A")]
    ids = [0x1001 + i for i in range(len(queries))]
    with connect(srv) as c:
        c.sendall(b"".join(tcp_frame(make_query(n, t, qid=i).to_wire()) for (n, t), i in zip(queries, ids)))
        replies = {}
        for _ in queries:
            m = dns.message.from_wire(tcp_read_msg(c))
            replies[m.id] = m
    assert sorted(replies) == ids, "every pipelined query must be answered once"
    for (n, t), i in zip(queries, ids):
        r = replies[i]
        assert r.question[0].name.to_text() == n + "."
        check(r, tc=False, rcode="NXDOMAIN" if n.startswith("nothing") else "NOERROR")
    assert len(replies[0x1004].answer[0]) == 20   # big TXT complete over TCP
    assert len(replies[0x1005].answer[0]) == 40


def test_many_queries_one_connection(srv):
    with connect(srv) as c:
        for i in range(50):
            c.sendall(tcp_frame(make_query("www.example.net", "A", qid=i).to_wire()))
            m = dns.message.from_wire(tcp_read_msg(c))
            assert m.id == i


def test_query_split_across_segments(srv):
    w = tcp_frame(make_query("www.example.net", "A", qid=77).to_wire())
    with connect(srv) as c:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.sendall(w[:1])
        c.sendall(w[1:7])
        c.sendall(w[7:])
        m = dns.message.from_wire(tcp_read_msg(c))
    check(m, rcode="NOERROR", answer=["www.example.net. 3600 IN A 192.0.2.80"])
    assert m.id == 77


def wait_closed(c, limit):
    """Seconds until the peer closes c (recv returns b'' or reset)."""
    t0 = time.monotonic()
    c.settimeout(limit)
    try:
        data = c.recv(1)
    except ConnectionResetError:
        data = b""
    except socket.timeout:
        pytest.fail(f"connection still open after {limit}s (idle_timeout {IDLE_TIMEOUT}s)")
    assert data == b"", f"unexpected data {data!r}"
    return time.monotonic() - t0


def test_idle_connection_closed_after_query(srv):
    with connect(srv) as c:
        c.sendall(tcp_frame(make_query("www.example.net", "A", qid=5).to_wire()))
        assert dns.message.from_wire(tcp_read_msg(c)).id == 5
        took = wait_closed(c, IDLE_TIMEOUT + 2)
    assert took >= IDLE_TIMEOUT * 0.5, f"closed too early ({took:.2f}s)"


def test_idle_connection_closed_without_query(srv):
    with connect(srv) as c:
        wait_closed(c, IDLE_TIMEOUT + 2)


def test_activity_keeps_connection_open(srv):
    # Queries every IDLE_TIMEOUT/2 for ~1.5 x IDLE_TIMEOUT: never idle long enough.
    with connect(srv) as c:
        t_end = time.monotonic() + IDLE_TIMEOUT * 1.5
        n = 0
        while time.monotonic() < t_end:
            c.sendall(tcp_frame(make_query("www.example.net", "A", qid=n).to_wire()))
            assert dns.message.from_wire(tcp_read_msg(c)).id == n
            n += 1
            # The gap between queries is the point of this test: wait on
            # recv (which also notices an early close) rather than sleep.
            c.settimeout(IDLE_TIMEOUT / 2)
            try:
                data = c.recv(1)
                pytest.fail(f"server closed or sent {data!r} on an active connection")
            except socket.timeout:
                pass
            c.settimeout(5)
        assert n >= 3


def test_server_still_serves_tcp_after_client_reset(srv):
    for _ in range(10):
        c = connect(srv)
        c.sendall(tcp_frame(make_query("big.example.net", "TXT").to_wire()))
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()  # RST while the server may still be writing
    check(srv.query("www.example.net", "A", tcp=True), rcode="NOERROR")
