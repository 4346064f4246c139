# SPDX-License-Identifier: GPL-3.0-or-later
"""Deterministic zone and query-mix generation for the runway benchmark.

Zones:
  small  a hand-written, realistic small zone (~20 names)
  100k   generated, 100,000 records
  1m     generated, 1,000,000 records

Generated zones are mostly A and AAAA records on host names, with some MX,
TXT and CNAME records. Everything comes from a fixed-seed random.Random, so
the same zone and query file are produced on every run and machine.
"""

import os
import random

ORIGIN = "example.com."
GEN_VERSION = 1          # bump when the generator's output changes
ZONE_SIZES = {"small": None, "100k": 100_000, "1m": 1_000_000}

HEADER = """$ORIGIN example.com.
$TTL 3600
@       IN SOA  ns1.example.com. hostmaster.example.com. (
                2024060101 ; serial
                7200       ; refresh
                3600       ; retry
                1209600    ; expire
                3600 )     ; negative-cache TTL
@       IN NS   ns1.example.com.
@       IN NS   ns2.example.com.
"""

SMALL_BODY = """@       IN A     192.0.2.10
@       IN AAAA  2001:db8::10
@       IN MX    10 mail.example.com.
@       IN MX    20 mail2.example.com.
@       IN TXT   "v=spf1 mx ip4:192.0.2.0/24 -all"
@       IN TXT   "google-site-verification=3kFh1mQ2yX9v"
ns1     IN A     192.0.2.1
ns1     IN AAAA  2001:db8::1
ns2     IN A     198.51.100.1
ns2     IN AAAA  2001:db8:1::1
mail    IN A     192.0.2.25
mail    IN AAAA  2001:db8::25
mail2   IN A     198.51.100.25
www     IN A     192.0.2.80
www     IN AAAA  2001:db8::80
api     IN A     192.0.2.81
api     IN AAAA  2001:db8::81
shop    IN A     192.0.2.82
blog    IN CNAME www.example.com.
cdn     IN CNAME www.example.com.
ftp     IN A     192.0.2.21
vpn     IN A     192.0.2.100
vpn     IN AAAA  2001:db8::100
dev     IN A     192.0.2.120
staging IN A     192.0.2.121
status  IN A     203.0.113.5
status  IN TXT   "status page"
git     IN A     192.0.2.122
git     IN AAAA  2001:db8::122
_dmarc  IN TXT   "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"
default._domainkey IN TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC1"
"""

PREFIXES = ["www", "mail", "api", "db", "web", "app", "cdn", "srv", "vpn", "host",
            "node", "edge", "cache", "lb", "git", "ci", "mx", "smtp", "static", "img"]
SUBS = ["dc1", "dc2", "eu", "us", "ap", "lab", "corp", "prod", "dev", "int"]


class ZoneInfo:
    """Names usable by the query generator, by kind of answer they give."""

    def __init__(self):
        self.a = []        # names with an A record
        self.aaaa = []     # names with an AAAA record
        self.mx = []       # names with MX
        self.txt = []      # names with TXT
        self.cname = []    # aliases (CNAME to an in-zone host with A)
        self.records = 0


def small_info():
    info = ZoneInfo()
    for line in (HEADER + SMALL_BODY).splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[1] != "IN":
            continue
        owner = ORIGIN if parts[0] == "@" else parts[0] + "." + ORIGIN
        rtype = parts[2]
        info.records += 1
        lst = {"A": info.a, "AAAA": info.aaaa, "MX": info.mx, "TXT": info.txt,
               "CNAME": info.cname}.get(rtype)
        if lst is not None and owner not in lst:
            lst.append(owner)
    return info


def _generate(path, nrecords, seed):
    """Write a zone of exactly nrecords records; return its ZoneInfo."""
    rng = random.Random(seed)
    info = ZoneInfo()
    rand = rng.random
    randrange = rng.randrange
    out = []
    out.append(HEADER)
    out.append("@ IN A 192.0.2.10\n@ IN AAAA 2001:db8::10\n@ IN MX 10 mail.example.com.\n"
               '@ IN TXT "v=spf1 mx -all"\nns1 IN A 192.0.2.1\nns2 IN A 198.51.100.1\n'
               "mail IN A 192.0.2.25\n")
    count = 10  # SOA + 2 NS + 7 above
    info.a += [ORIGIN, "ns1." + ORIGIN, "ns2." + ORIGIN, "mail." + ORIGIN]
    info.aaaa.append(ORIGIN)
    info.mx.append(ORIGIN)
    info.txt.append(ORIGIN)
    hosts = []  # relative host names with A, targets for CNAMEs
    i = 0
    with open(path, "w", buffering=1 << 20) as f:
        f.write("".join(out))
        buf = []
        while count < nrecords:
            i += 1
            if rand() < 0.03 and hosts:
                name = "alias%d" % i
                buf.append("%s IN CNAME %s\n" % (name, hosts[randrange(len(hosts))]))
                info.cname.append(name + "." + ORIGIN)
                count += 1
                continue
            p = PREFIXES[randrange(len(PREFIXES))]
            if rand() < 0.3:
                name = "%s%d.%s" % (p, i, SUBS[randrange(len(SUBS))])
            else:
                name = "%s-%d" % (p, i)
            fq = name + "." + ORIGIN
            buf.append("%s IN A 10.%d.%d.%d\n" % (name, randrange(256), randrange(256),
                                                  1 + randrange(254)))
            hosts.append(name)
            info.a.append(fq)
            count += 1
            if count < nrecords and rand() < 0.6:
                buf.append("%s IN AAAA 2001:db8:%x:%x::%x\n" % (
                    name, randrange(65536), randrange(65536), 1 + randrange(65535)))
                info.aaaa.append(fq)
                count += 1
            if count < nrecords and rand() < 0.04:
                buf.append("%s IN MX 10 mail.example.com.\n" % name)
                info.mx.append(fq)
                count += 1
            if count < nrecords and rand() < 0.04:
                buf.append('%s IN TXT "host-id=%08x"\n' % (name, rng.getrandbits(32)))
                info.txt.append(fq)
                count += 1
            if len(buf) >= 8192:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))
    info.records = count
    return info


def make_zone(outdir, zone):
    """Create outdir/zones/<zone>.zone; return (path, ZoneInfo)."""
    zdir = os.path.join(outdir, "zones")
    os.makedirs(zdir, exist_ok=True)
    path = os.path.join(zdir, "%s.zone" % zone)
    size = ZONE_SIZES[zone]
    if size is None:
        with open(path, "w") as f:
            f.write(HEADER + SMALL_BODY)
        return path, small_info()
    tmp = path + ".tmp"
    info = _generate(tmp, size, seed=20240601 + size + GEN_VERSION)
    os.replace(tmp, path)
    return path, info


def make_queries(outdir, zone, info, n=None):
    """Write outdir/queries-<zone>.txt (dnsperf format); return (path, mix).

    Mix: ~80% A/AAAA hits (A 50%, AAAA 28%, A on a CNAME alias 2%),
    8% NXDOMAIN, 6% MX, 6% TXT. MX/TXT are asked only of names that have them.
    """
    if n is None:
        n = 20_000 if zone == "small" else 200_000
    rng = random.Random(7919 + n + len(info.a))
    path = os.path.join(outdir, "queries-%s.txt" % zone)
    mix = {"A": 0, "AAAA": 0, "A-cname": 0, "NXDOMAIN": 0, "MX": 0, "TXT": 0}
    lines = []
    cname = info.cname or info.a
    for _ in range(n):
        r = rng.random()
        if r < 0.50:
            lines.append("%s A\n" % info.a[rng.randrange(len(info.a))]); mix["A"] += 1
        elif r < 0.78:
            lines.append("%s AAAA\n" % info.aaaa[rng.randrange(len(info.aaaa))]); mix["AAAA"] += 1
        elif r < 0.80:
            lines.append("%s A\n" % cname[rng.randrange(len(cname))]); mix["A-cname"] += 1
        elif r < 0.88:
            kind = rng.randrange(3)
            if kind == 0:
                q = "nx%08x.%s A\n" % (rng.getrandbits(32), ORIGIN)
            elif kind == 1:
                q = "nx%06x.%s AAAA\n" % (rng.getrandbits(24), info.a[rng.randrange(len(info.a))])
            else:
                q = "%s-nx%d.%s A\n" % (PREFIXES[rng.randrange(len(PREFIXES))],
                                        rng.randrange(10_000_000), ORIGIN)
            lines.append(q); mix["NXDOMAIN"] += 1
        elif r < 0.94:
            lines.append("%s MX\n" % info.mx[rng.randrange(len(info.mx))]); mix["MX"] += 1
        else:
            lines.append("%s TXT\n" % info.txt[rng.randrange(len(info.txt))]); mix["TXT"] += 1
    with open(path, "w", buffering=1 << 20) as f:
        f.write("".join(lines))
    return path, mix
