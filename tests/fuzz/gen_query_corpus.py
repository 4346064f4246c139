#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write the seed corpus of tests/fuzz/fuzz_query.c: valid queries of
various types, with and without EDNS, mixed case, against the names of the
target's zone. Run from the repository root:

    /usr/bin/python3 tests/fuzz/gen_query_corpus.py
"""
import os

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.tsig

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_query")

# The TSIG keys of the target (fuzz_query.c).
TSIG_SECRET = b"fuzz-query-tsig-secret-32-bytes!"
TSIG_SHA1 = b"fuzz-query-tsig-sha1"

# (file, qname, qtype, options)
SEEDS = [
    ("a-www-rd", "www.example.com", "A", {}),
    ("aaaa-mixed-case-edns-do", "WwW.ExAmPlE.cOm", "AAAA", {"edns": 1232, "do": True}),
    ("mx-wildcard-edns512", "Foo.Wild.example.com", "MX", {"edns": 512}),
    ("a-cname-chain-nsid", "c1.example.com", "A", {"edns": 1232, "nsid": True}),
    ("a-referral", "host.SUB.example.com", "A", {}),
    ("txt-big-edns4096", "big.example.com", "TXT", {"edns": 4096}),
    ("a-nxdomain", "nothing.www.example.com", "A", {"edns": 1232}),
    ("any-apex", "example.com", "ANY", {}),
    ("ds-at-cut", "sub.example.com", "DS", {"edns": 1232, "do": True}),
    ("mx-many-targets", "mx.example.com", "MX", {}),
    ("a-refused-ede", "www.example.org", "A", {"edns": 1232}),
    ("srv-sip", "_sip._tcp.example.com", "SRV", {"edns": 1232}),
    ("a-cname-loop", "loop1.example.com", "A", {}),
    ("a-wildcard-cname-loop", "Ab.lw.example.com", "A", {"edns": 1232, "cookie": True}),
    ("https-svc", "svc.example.com", "HTTPS", {"edns": 1232}),
    ("a-wildcard-ns", "q.CUT.example.com", "A", {"edns": 1232}),
    ("a-cname-into-delegation", "to-deleg.example.com", "A", {}),
    ("a-many-no-edns", "many.example.com", "A", {}),
    ("naptr", "naptr.example.com", "NAPTR", {"edns": 1232, "do": True}),
    ("a-occluded-cut", "x.deep.sub.sub.example.com", "A", {}),
    # DNS Cookies (the target answers them with a fixed secret): a client
    # cookie alone, with a server cookie of 8, 16 (RFC 9018) and 32 bytes,
    # malformed lengths (FORMERR), two options, and next to NSID and ECS.
    ("cookie-client-only", "www.example.com", "A", {"edns": 1232, "cookie": bytes(range(1, 9))}),
    ("cookie-rfc9018", "www.example.com", "AAAA",
     {"edns": 1232, "cookie": bytes.fromhex("2464c4abcf10c957010000005cf79f111f8130c3eee29480")}),
    ("cookie-server-8", "mx.example.com", "MX", {"edns": 1232, "cookie": bytes(16)}),
    ("cookie-server-32", "big.example.com", "TXT", {"edns": 4096, "cookie": bytes(range(40))}),
    ("cookie-len5-formerr", "www.example.com", "A", {"edns": 1232, "cookie": b"12345"}),
    ("cookie-len15-formerr", "www.example.com", "A", {"edns": 1232, "cookie": bytes(15)}),
    ("cookie-len41-formerr", "www.example.com", "A", {"edns": 1232, "cookie": bytes(41)}),
    ("cookie-two-options", "nothing.example.com", "A",
     {"edns": 1232, "cookie": [bytes(8), bytes(range(24))]}),
    ("cookie-nsid-ecs", "foo.wild.example.com", "A",
     {"edns": 1232, "nsid": True, "ecs": True, "cookie": bytes(range(24))}),
    # TSIG (RFC 8945) with the target's keys: verified but for the time
    # (BADTIME once the seed is older than the fudge: a signed answer
    # anyway), an unknown key (BADKEY), a wrong secret (BADSIG).
    ("tsig-sha256-edns", "www.example.com", "A", {"edns": 1232, "tsig": ("xfr.", "hmac-sha256", TSIG_SECRET)}),
    ("tsig-sha1-big", "big.example.com", "TXT", {"tsig": ("sha1.xfr.", "hmac-sha1", TSIG_SHA1)}),
    ("tsig-unknown-key", "www.example.com", "A", {"tsig": ("nokey.", "hmac-sha256", TSIG_SECRET)}),
    ("tsig-wrong-secret", "mx.example.com", "MX", {"edns": 1232, "tsig": ("xfr.", "hmac-sha256", b"x" * 32)}),
]


def build(qname, qtype, o):
    use_edns = "edns" in o
    options = []
    if o.get("nsid"):
        options.append(dns.edns.GenericOption(dns.edns.NSID, b""))
    if o.get("ecs"):
        options.append(dns.edns.ECSOption("192.0.2.0", 24))
    cookie = o.get("cookie")
    if cookie is True:
        cookie = b"\x01\x02\x03\x04\x05\x06\x07\x08"
    for c in (cookie if isinstance(cookie, list) else [cookie] if cookie else []):
        options.append(dns.edns.GenericOption(dns.edns.COOKIE, c))
    q = dns.message.make_query(qname, qtype, use_edns=o.get("version", 0) if use_edns else False,
                               payload=o.get("edns", 1232), options=options,
                               want_dnssec=o.get("do", False))
    q.id = 0x1234
    q.flags |= dns.flags.RD
    if o.get("tsig"):
        name, alg, secret = o["tsig"]
        q.use_tsig({dns.name.from_text(name): dns.tsig.Key(name, secret, alg)}, keyname=name)
    return q.to_wire()


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, qname, qtype, o in SEEDS:
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(build(qname, qtype, o))


if __name__ == "__main__":
    main()
