#!/usr/bin/python3
"""Write the seed corpus of tests/fuzz/fuzz_query.c: valid queries of
various types, with and without EDNS, mixed case, against the names of the
target's zone. Run from the repository root:

    /usr/bin/python3 tests/fuzz/gen_query_corpus.py
"""
import os

import dns.edns
import dns.flags
import dns.message
import dns.opcode

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_query")

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
]


def build(qname, qtype, o):
    use_edns = "edns" in o
    options = []
    if o.get("nsid"):
        options.append(dns.edns.GenericOption(dns.edns.NSID, b""))
    if o.get("cookie"):
        options.append(dns.edns.GenericOption(dns.edns.COOKIE, b"\x01\x02\x03\x04\x05\x06\x07\x08"))
    q = dns.message.make_query(qname, qtype, use_edns=o.get("version", 0) if use_edns else False,
                               payload=o.get("edns", 1232), options=options,
                               want_dnssec=o.get("do", False))
    q.id = 0x1234
    q.flags |= dns.flags.RD
    return q.to_wire()


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, qname, qtype, o in SEEDS:
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(build(qname, qtype, o))


if __name__ == "__main__":
    main()
