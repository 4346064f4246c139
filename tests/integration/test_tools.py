# SPDX-License-Identifier: GPL-3.0-or-later
"""runway's own command line: `runway check`, `runway query`, runwayd's
start-up errors and exit status. Runway-only (skipped for knot).
Exit statuses per docs/cli.md: 0 success, 1 failure, 2 usage error."""
import re
import signal
import subprocess

import pytest

import dnsharness as h
from dnsharness import DnsServer, run_tool

pytestmark = pytest.mark.runway_only

GOOD_ZONE = """$ORIGIN example.net.
$TTL 3600
@       SOA     ns1 hostmaster 1 7200 3600 1209600 300
@       NS      ns1
ns1     A       192.0.2.53
www     A       192.0.2.80
"""


def config_text(port=5399, zone_file="example.net.zone", edns="1232", listen=None, extra_server=""):
    listen = listen or f'["127.0.0.1:{port}"]'
    return (
        "server:\n"                                  # 1
        f"  listen: {listen}\n"                      # 2
        "  workers: 1\n"                             # 3
        f"  edns_udp_size: {edns}\n"                 # 4
        f"{extra_server}"
        "tcp:\n"
        "  idle_timeout: 2s\n"
        "zones:\n"
        "  - name: example.net.\n"
        f"    file: {zone_file}\n"
    )


@pytest.fixture
def cfgdir(tmp_path):
    (tmp_path / "example.net.zone").write_text(GOOD_ZONE)
    return tmp_path


def write_cfg(d, text):
    p = d / "runway.yaml"
    p.write_text(text)
    return p


def out_of(p):
    return p.stdout + p.stderr


def assert_file_line(text, fname, line):
    """line: an int, or a tuple of acceptable line numbers."""
    lines = line if isinstance(line, tuple) else (line,)
    alt = "|".join(str(n) for n in lines)
    rx = rf"(^|\s|/){re.escape(fname)}:({alt}): \S"
    assert re.search(rx, text, re.M), f"expected '{fname}:{alt}: message' in:\n{text}"


# ---- runway check -----------------------------------------------------------

def test_check_good_config(cfgdir):
    p = run_tool(["check", "-c", write_cfg(cfgdir, config_text())])
    assert p.returncode == 0, out_of(p)
    assert not re.search(r":\d+: ", out_of(p)), out_of(p)


def test_check_broken_zone_reports_file_and_line(cfgdir):
    lines = GOOD_ZONE.splitlines()
    lines.insert(5, "bad     A       300.1.2.3")   # becomes line 6
    (cfgdir / "example.net.zone").write_text("\n".join(lines) + "\n")
    p = run_tool(["check", "-c", write_cfg(cfgdir, config_text())])
    assert p.returncode == 1, out_of(p)
    assert_file_line(out_of(p), "example.net.zone", 6)


@pytest.mark.parametrize("zone,line", [
    (GOOD_ZONE.replace("www     A       192.0.2.80", 'www     TXT     "unterminated'), 6),
    (GOOD_ZONE.replace("ns1     A       192.0.2.53", "ns1     BOGUSTYPE 1"), 5),
    (GOOD_ZONE + "www     CNAME   elsewhere\n", (6, 7)),     # CNAME and other data: either line
    (GOOD_ZONE.replace("$ORIGIN example.net.\n", "$ORIGIN example.net.\n$INCLUDE missing.inc\n"), 2),
], ids=["unterminated-string", "unknown-type", "cname-and-other-data", "missing-include"])
def test_check_zone_errors(cfgdir, zone, line):
    (cfgdir / "example.net.zone").write_text(zone)
    p = run_tool(["check", "-c", write_cfg(cfgdir, config_text())])
    assert p.returncode == 1, out_of(p)
    assert_file_line(out_of(p), "example.net.zone", line)


def test_check_zone_without_soa(cfgdir):
    (cfgdir / "example.net.zone").write_text("$ORIGIN example.net.\nwww 3600 A 192.0.2.1\n")
    p = run_tool(["check", "-c", write_cfg(cfgdir, config_text())])
    assert p.returncode == 1
    assert "example.net.zone" in out_of(p)


@pytest.mark.parametrize("text,line", [
    (config_text(edns="100"), 4),                                   # below 512
    (config_text(listen='["127.0.0.1:notaport"]'), 2),
    (config_text(extra_server="  no_such_option: 1\n"), 5),
    (config_text().replace("  idle_timeout: 2s", "  idle_timeout: soon"), 6),
    ("server:\n  listen: [\"127.0.0.1:53\"\nzones: []\n", (2, 3)),     # YAML syntax error: libyaml marks 2 or 3
], ids=["edns-size-too-small", "bad-port", "unknown-option", "bad-duration", "yaml-syntax"])
def test_check_broken_config_reports_file_and_line(cfgdir, text, line):
    p = run_tool(["check", "-c", write_cfg(cfgdir, text)])
    assert p.returncode == 1, out_of(p)
    assert_file_line(out_of(p), "runway.yaml", line)


def test_check_missing_zone_file(cfgdir):
    p = run_tool(["check", "-c", write_cfg(cfgdir, config_text(zone_file="nope.zone"))])
    assert p.returncode == 1
    assert "nope.zone" in out_of(p)


def test_check_missing_config(tmp_path):
    p = run_tool(["check", "-c", tmp_path / "absent.yaml"])
    assert p.returncode == 1
    assert "absent.yaml" in out_of(p)


# ---- runwayd start-up ---------------------------------------------------------

@pytest.mark.parametrize("text,line", [
    (config_text(edns="100"), 4),
    (config_text(extra_server="  no_such_option: 1\n"), 5),
], ids=["edns-size-too-small", "unknown-option"])
def test_runwayd_broken_config_exits_nonzero(cfgdir, text, line):
    cfg = write_cfg(cfgdir, text)
    if not h.RUNWAYD.exists():
        pytest.fail(f"{h.RUNWAYD} not built")
    p = subprocess.run([str(h.RUNWAYD), "-c", str(cfg)], capture_output=True, text=True, timeout=10,
                       stdin=subprocess.DEVNULL)
    assert p.returncode != 0
    assert_file_line(out_of(p), "runway.yaml", line)
    # "the same message" as `runway check` gives (when the tool is built)
    if h.RUNWAY.exists():
        c = run_tool(["check", "-c", cfg])
        rx = re.compile(rf"runway\.yaml:{line}: (.+)$", re.M)
        got_d, got_c = rx.search(out_of(p)), rx.search(out_of(c))
        assert got_c, out_of(c)
        assert got_d.group(1).strip() == got_c.group(1).strip(), (out_of(p), out_of(c))


def test_runwayd_sigterm_exits_zero(tmp_path):
    s = DnsServer("runway", tmp_path / "s", zones=h.STANDARD_ZONES[:1])
    s.start()
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(10) == 0, s.log_tail()
    s.stop()


def test_runwayd_port_in_use_fails(tmp_path):
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        s = DnsServer("runway", tmp_path / "s", zones=h.STANDARD_ZONES[:1], port=port, listen_v6=False)
        s.start(wait=False)
        try:
            rc = s.proc.wait(10)
        except subprocess.TimeoutExpired:
            s.stop()
            pytest.fail("runwayd kept running although its UDP port was taken")
        assert rc != 0
        assert "127.0.0.1" in s.log(), s.log_tail()
        s.stop()


# ---- runway query -------------------------------------------------------------

@pytest.mark.parametrize("tcp", [False, True])
def test_query_tool_prints_answer(srv, tcp):
    args = ["query", "www.example.net", "A", "@127.0.0.1", "-p", srv.port] + (["--tcp"] if tcp else [])
    p = run_tool(args)
    assert p.returncode == 0, out_of(p)
    out = p.stdout
    assert "NOERROR" in out
    assert re.search(r"www\.example\.net\.?\s+3600\s+(IN\s+)?A\s+192\.0\.2\.80", out), out


def test_query_tool_mx_and_nxdomain(srv):
    p = run_tool(["query", "example.net", "MX", "@127.0.0.1", "-p", srv.port])
    assert p.returncode == 0, out_of(p)
    assert "mail.example.net" in p.stdout and "mx.example.org" in p.stdout
    p = run_tool(["query", "nothing.example.net", "A", "@127.0.0.1", "-p", srv.port])
    assert "NXDOMAIN" in out_of(p)


def test_query_tool_big_answer_over_tcp(srv):
    p = run_tool(["query", "big.example.net", "TXT", "@127.0.0.1", "-p", srv.port, "--tcp"])
    assert p.returncode == 0, out_of(p)
    assert p.stdout.count("big-") == 20, p.stdout


def test_query_tool_no_server(tmp_path):
    port = h.free_port()
    p = run_tool(["query", "www.example.net", "A", "@127.0.0.1", "-p", port, "--timeout", "500"], timeout=30)
    assert p.returncode == 1
    assert p.stderr.strip(), "one line on stderr must say why"


@pytest.mark.parametrize("args", [["query"], ["frobnicate"], ["check"], ["query", "www.example.net", "--port", "notaport"]],
                         ids=["query-no-name", "unknown-subcommand", "check-no-config", "bad-port"])
def test_usage_errors_exit_2(args):
    p = run_tool(args)
    assert p.returncode == 2, out_of(p)
    assert p.stderr.strip()


def test_query_tool_retries_truncated_over_tcp(srv):
    p = run_tool(["query", "big.example.net", "TXT", "@127.0.0.1", "-p", srv.port])
    assert p.returncode == 0, out_of(p)
    assert "Truncated, retrying in TCP mode" in p.stdout
    assert p.stdout.count('"big-') == 20, p.stdout


def test_query_tool_nsid(srv):
    p = run_tool(["query", "www.example.net", "A", "@127.0.0.1", "-p", srv.port, "--nsid"])
    assert p.returncode == 0, out_of(p)
    assert "runway-test" in p.stdout
