# SPDX-License-Identifier: GPL-3.0-or-later
"""The log cannot be forged: a %0a (or any control character) in an API
path reaches the log escaped, inside the one line of its request."""
import re
import urllib.error
import urllib.request

import pytest

from abuse_helpers import AbuseServer, ZONES

pytestmark = pytest.mark.runway_only

WRITE = "log-write"




def test_control_characters_in_api_path_are_escaped(tmp_path):
    srv = AbuseServer(tmp_path / "srv", zones=ZONES)
    # the api: section of AbuseServer lists tokens inline; add a write one as a block list
    srv.runway_config = lambda: (AbuseServer.runway_config(srv).replace(
        "  tokens: [{ token: abuse-read, access: read }]\n",
        f"  tokens:\n    - {{ token: abuse-read, access: read }}\n    - {{ token: {WRITE}, access: write }}\n"))
    srv.start()
    try:
        forged = "2026-01-01T00:00:00.000Z error: forged line"
        path = "/v1/zones/x%0a" + forged.replace(" ", "%20") + "%0d%1b%7f/changes"
        req = urllib.request.Request(f"http://127.0.0.1:{srv.api_port}{path}", data=b"{}",
                                     method="POST")
        req.add_header("Authorization", f"Bearer {WRITE}")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=5)
        assert 400 <= e.value.code < 500
        m = srv.wait_log(r"api: POST /v1/zones/x(.*)/changes: \d+\n")
        assert m.group(1) == "\\x0a" + forged + "\\x0d\\x1b\\x7f", m.group(0)
        log = srv.log()
        # every line starts with a timestamp: nothing began a line of its own
        for line in log.splitlines():
            assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (error|warning|info|debug): ", line), line
        assert "\nerror: forged" not in log and "\n2026-01-01T00:00:00.000Z" not in log
    finally:
        assert srv.stop() == 0, srv.log_tail()
