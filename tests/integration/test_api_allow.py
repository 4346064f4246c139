# SPDX-License-Identifier: GPL-3.0-or-later
"""api.allow: the API answers only clients in its access list (docs/configuration.md,
`acls`). Clients pick their loopback source address (127.0.0.x) to be inside
or outside the list."""
from __future__ import annotations

import http.client
import json

import pytest

from test_api import READ, ApiServer

pytestmark = pytest.mark.runway_only


class AllowServer(ApiServer):
    def runway_config(self) -> str:
        return super().runway_config().replace(
            "  data: state/\n",
            "  data: state/\n  allow: [ops, \"2001:db8::/32\"]\n") + (
            "acls:\n"
            "  ops: [local, 127.0.0.2]\n"
            "  local: 127.0.0.1\n")


def get_from(srv, source: str, path: str = "/v1/zones"):
    c = http.client.HTTPConnection("127.0.0.1", srv.api_port, timeout=5,
                                   source_address=(source, 0))
    try:
        c.request("GET", path, headers={"Authorization": f"Bearer {READ}"})
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


@pytest.fixture
def srv(tmp_path):
    s = AllowServer(tmp_path / "srv")
    s.start()
    yield s
    assert s.stop() == 0


def test_allowed_and_refused(srv):
    for inside in ("127.0.0.1", "127.0.0.2"):
        st, body = get_from(srv, inside)
        assert st == 200, (inside, body)
        assert [z["name"] for z in json.loads(body)] == ["example.com."]
    for outside in ("127.0.0.3", "127.1.0.1"):
        st, body = get_from(srv, outside)
        assert st == 403, (outside, body)
        assert "not allowed" in json.loads(body)["error"]
        # the dashboard too, although it needs no token
        st, _ = get_from(srv, outside, "/")
        assert st == 403
