# SPDX-License-Identifier: GPL-3.0-or-later
"""The API under slowloris: connections that trickle a request's headers
must not lock legitimate clients out (docs/api.md, api.max_per_client,
api.request_timeout).

256 connections from 127.0.0.2 each start a request and then send one more
header byte every second (bounded: at most 8 s). A legitimate client on
127.0.0.1, with no special treatment, must be answered promptly all along.
api.max_per_client (8) keeps the flood to 8 connections; the request
deadline (api.request_timeout, 2 s here) cuts those 8 although their bytes
keep coming. Before the fix the 256 took every connection MHD allowed and
MHD's idle timeout (30 s, restarted by each byte) never fired."""
import socket
import time
import urllib.request

import pytest

from abuse_helpers import TOKEN, AbuseServer, ZONES

pytestmark = pytest.mark.runway_only

SLOW = 256
TIMEOUT = 2.0        # api.request_timeout given to the server


class ApiServer(AbuseServer):
    def runway_config(self):
        return super().runway_config() + f"  request_timeout: {int(TIMEOUT * 1000)}ms\n"


def get_metrics(port, timeout=3.0):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    req.add_header("Authorization", f"Bearer {TOKEN}")
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=timeout) as r:
        assert r.status == 200
        assert b"runway_" in r.read()
    return time.monotonic() - t0


def open_slow(src, port):
    """A connection from src that has sent the start of a request; None if
    the server refused or closed it at once."""
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.settimeout(1)
    try:
        c.bind((src, 0))
        c.connect(("127.0.0.1", port))
        c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        return c
    except OSError:
        c.close()
        return None


def alive(c):
    """Still open from the server's side (no EOF, no reset)?"""
    c.setblocking(False)
    try:
        return c.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        c.settimeout(1)


@pytest.fixture
def api_srv(tmp_path):
    s = ApiServer(tmp_path / "srv", zones=ZONES)
    s.start()
    yield s
    rc = s.stop()
    assert rc == 0, f"runwayd exited with {rc}:\n{s.log_tail()}"


def test_slow_clients_do_not_lock_out_the_api(api_srv):
    port = api_srv.api_port
    assert "at most 64 connections, 8 per client address, 2000 ms for a whole request" in api_srv.log()
    slow = [c for c in (open_slow("127.0.0.2", port) for _ in range(SLOW)) if c]
    legit = []
    held_at = {}
    t0 = time.monotonic()
    try:
        # Trickle for up to 8 s, a byte a second per connection; a legitimate
        # request every half second meanwhile.
        while time.monotonic() - t0 < 8:
            legit.append(get_metrics(port))
            for c in slow:
                if c not in held_at and alive(c):
                    try:
                        c.send(b"a")
                    except OSError:
                        held_at[c] = time.monotonic() - t0
                elif c not in held_at:
                    held_at[c] = time.monotonic() - t0
            if len(held_at) == len(slow) and time.monotonic() - t0 > TIMEOUT + 1:
                break
            time.sleep(0.5)  # paces the trickle and the legitimate requests
        still = [c for c in slow if c not in held_at]
    finally:
        for c in slow:
            c.close()
    # Only 8 of 256 got past the per-address limit (the rest were closed at
    # once), and none of those outlived the request deadline.
    survivors = sorted(t for t in held_at.values() if t > 0.6)
    assert not still, f"{len(still)} slow connections still open after 8 s"
    assert len(survivors) <= 8, f"{len(survivors)} slow connections were kept past the first poll"
    assert all(TIMEOUT - 0.5 <= t <= TIMEOUT + 1.5 for t in survivors), survivors
    assert max(legit) < 1.0, f"legitimate requests took up to {max(legit):.2f} s"
    # libmicrohttpd says so for each of the ~248 refused: at most 10 lines a period.
    refusals = api_srv.log().count("api: Server reached connection limit")
    assert 1 <= refusals <= 10, f"{refusals} lines about refused connections"
    print(f"\nslowloris: {len(slow)} slow connections, {len(survivors)} held until "
          f"{max(survivors or [0]):.1f} s; {len(legit)} legitimate requests, max {max(legit) * 1000:.0f} ms")


def test_keepalive_connection_that_goes_silent_is_closed(api_srv):
    """After an answer, the next request is due within the deadline too."""
    c = socket.create_connection(("127.0.0.1", api_srv.api_port), timeout=5)
    try:
        c.sendall(f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
        data = c.recv(65536)
        assert data.startswith(b"HTTP/1.1 200")
        while b"runway_health_generation" not in data and b"\r\n0\r\n" not in data:
            more = c.recv(65536)
            if not more:
                break
            data += more
        t0 = time.monotonic()
        c.settimeout(TIMEOUT + 3)
        try:
            while c.recv(65536):
                pass
        except ConnectionResetError:
            pass
        took = time.monotonic() - t0
        assert TIMEOUT - 0.5 <= took <= TIMEOUT + 1.5, took
    finally:
        c.close()


def test_slow_clients_from_many_addresses(api_srv):
    """128 slow connections from 16 addresses (8 each, within
    api.max_per_client) are more than api.max_connections (64): each new
    connection closes the one that has waited longest for a whole request,
    so a legitimate client is still answered at once."""
    port = api_srv.api_port
    slow = []
    legit = []
    try:
        for i in range(128):
            c = open_slow(f"127.0.3.{1 + i % 16}", port)
            if c:
                slow.append(c)
            if i % 16 == 15:
                legit.append(get_metrics(port))
        for _ in range(5):
            legit.append(get_metrics(port))
        open_now = sum(alive(c) for c in slow)
    finally:
        for c in slow:
            c.close()
    assert max(legit) < 1.0, f"legitimate requests took up to {max(legit):.2f} s"
    assert open_now <= 64, f"{open_now} slow connections still open"
    print(f"\nslowloris from 16 addresses: {len(slow)} slow connections made, {open_now} still open; "
          f"{len(legit)} legitimate requests, max {max(legit) * 1000:.0f} ms")
