#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check runway's module layering: no cycle, no dependency upward or sideways.

Usage: scripts/check-layers.py [--root DIR] [--objects DIR] [--strict]

A module is the first folder under src/server/ (src/lib is "lib",
src/tools/runway is "tools"); a LAYERS entry with a slash (daemon/server,
health/state) makes those files a node of their own, where a folder still
holds two layers. The edges come from every
`#include "..."` line of src/ (resolved beside the file, then under src/), and
with --objects from `nm` of the build's objects (a call into a module that its
includes do not show: the link graph). The check fails on:
  - a cycle in the module graph (whatever the layers say);
  - an edge from a module to one on the same layer or above it;
  - a folder whose layer is not declared below (a new module must be placed);
  - with --objects, src/lib holding writable data or calling I/O (LIB_IO).
Edges listed in KNOWN are reported but pass, until the code is fixed; a KNOWN
edge that no longer exists fails (remove it), and --strict ignores KNOWN.
The lines say where: FILE:LINE for an include, OBJECT: SYMBOL for a link.
"""
import argparse
import os
import re
import subprocess
import sys

# The layers, bottom first. A module may depend only on modules of lower
# layers; the modules of one layer are independent of one another.
LAYERS = [
    # The protocol library: wire format, names, packets, addresses. No I/O,
    # no globals, nothing of the server.
    ["lib"],
    # Base utilities every server module calls: log, ACLs, counters, the
    # transport descriptor. health/state: the vector of slot states that
    # steering reads (a byte per slot, published under RCU) is plain data, so
    # it sits below steer, apart from the checker that writes it (health,
    # above the pipeline).
    ["common", "health/state"],
    # The immutable models and pure functions a snapshot is made of: zones,
    # the traffic model and its evaluator, the rate limiting table.
    ["zone", "steer", "limit"],
    # The RCU aggregate that queries read: zones, model, views, limits.
    ["snapshot"],
    # The query pipeline: a message and a snapshot in, an answer out.
    ["query"],
    # Services that run beside the pipeline: the dnstap writer and the
    # key-value store (sinks: they need nothing of the pipeline) and the
    # health checker (its own loop; probes the model's endpoints).
    # dnstap sits below net, not beside it as the review has it: the UDP and
    # TCP workers write each exchange to it (net/udp.c, net/tcp.c).
    ["dnstap", "store", "health"],
    # The transports: they run the pipeline and hand it the health state.
    ["net"],
    # The configuration: YAML parsed into the models and settings of every
    # module below (conf fills rwd_model and the zone list, so it sits above
    # zone and steer). Above the services too: each takes its own option
    # struct (net has struct rwd_tcp_opts) and builds and tests without the
    # YAML schema; conf grows upward only.
    ["conf"],
    # daemon/server: builds a snapshot from the configuration and publishes
    # it (and hands the model to the health checker). Control reloads and
    # applies API changes through it, so it sits below control although its
    # folder is daemon/, whose main.c starts everything and is the top:
    # daemon/ holds two layers. Moving server.[ch] to a module of its own
    # would end this entry.
    ["daemon/server"],
    # Changes at run time: reload, API changes, leases, compaction.
    ["control"],
    # Zone transfers as services: NOTIFY out, the secondary side (refresh,
    # transfers in, expiry), which publish through control.
    ["xfr"],
    # The HTTP API and the dashboard, over control.
    ["api"],
    # main(): starts and stops everything.
    ["daemon"],
    # The CLI: check, query, export, and the API client.
    ["tools"],
]

# Edges that break the rule today and need a code change; each with its fix.
# Key: (the file the edge comes from, relative to src/; the module it
# reaches). Remove an entry when the code is fixed: a stale one fails.
KNOWN = {
}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def node_of(rel, nodes):
    """The node of a path relative to src/, or None outside the modules."""
    parts = rel.split("/")
    if parts[0] == "lib":
        return "lib"
    if parts[0] == "tools":
        return "tools"
    if parts[0] != "server" or len(parts) < 3:
        return None
    stem = os.path.splitext("/".join(parts[1:]))[0]
    for n in nodes:  # the longest file node that names it
        if "/" in n and (stem == n or stem.startswith(n + "/")):
            return n
    return parts[1]


def sources(src):
    for d, dirs, files in os.walk(src):
        dirs.sort()
        for f in sorted(files):
            if f.endswith((".c", ".h", ".S")):
                yield os.path.join(d, f)


def include_edges(src, nodes):
    """(from node, to node, where, from path) for every include into src/."""
    edges, unresolved = [], []
    for path in sources(src):
        rel = os.path.relpath(path, src)
        a = node_of(rel, nodes)
        with open(path, encoding="utf-8", errors="replace") as f:
            for no, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                kind, name = m.groups()
                cands = [os.path.join(os.path.dirname(path), name)] if kind == '"' else []
                cands.append(os.path.join(src, name))
                hit = next((c for c in cands if os.path.isfile(c)), None)
                if hit is None:
                    if kind == '"':
                        unresolved.append(f"src/{rel}:{no}: #include \"{name}\" not found")
                    continue
                b = node_of(os.path.relpath(os.path.realpath(hit), os.path.realpath(src)), nodes)
                if a and b and a != b:
                    edges.append((a, b, f"src/{rel}:{no}", rel))
    return edges, unresolved


# The protocol library holds no state and does no I/O (the review's "no I/O,
# no globals"): its objects define no writable data and call none of these.
LIB_IO = re.compile(r"^(socket|bind|connect|listen|accept4?|send|sendto|sendmsg|sendmmsg|recv|"
                    r"recvfrom|recvmsg|recvmmsg|read|write|readv|writev|open|open64|openat|"
                    r"fopen|fopen64|fdopen|printf|fprintf|vfprintf|puts|fputs|fwrite|"
                    r"perror|syslog|getaddrinfo|stdout|stderr|__printf_chk|__fprintf_chk|"
                    r"__vfprintf_chk|pthread_create|exit|abort)$")


def link_edges(src, objdir, nodes, errors):
    """(from node, to node, where, from path) for every symbol an object
    takes from another module's object (nm). Objects whose source is gone
    (a build folder older than a move) are left out. Adds to errors what
    breaks the library's purity (LIB_IO)."""
    objs = []
    for d, dirs, files in os.walk(objdir):
        dirs.sort()
        objs += [os.path.join(d, f) for f in sorted(files) if f.endswith(".o")]
    defined, wanted = {}, []
    for o in objs:
        stem = os.path.splitext(os.path.relpath(o, objdir))[0]
        rel = next((stem + x for x in (".c", ".S") if os.path.isfile(os.path.join(src, stem + x))), None)
        if rel is None:
            continue
        a = node_of(rel, nodes)
        if a is None:
            continue
        out = subprocess.run(["nm", "-P", o], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) < 2:
                continue
            where = f"{os.path.relpath(o, objdir)}: {f[0]}"
            if a == "lib" and f[1] in "BbDdCc":
                errors.append(f"{where}: lib holds state (writable data): the library has no globals")
            if a == "lib" and f[1] == "U" and LIB_IO.match(f[0]):
                errors.append(f"{where}: lib does I/O: the library leaves it to the server and tools")
            if f[1] == "U":
                wanted.append((a, f[0], os.path.relpath(o, objdir), rel))
            elif f[1].isupper() and f[1] not in "VW":  # global, not weak
                defined.setdefault(f[0], a)
    return [(a, defined[s], f"{o}: {s}", rel)
            for a, s, o, rel in wanted if s in defined and defined[s] != a]


def find_cycle(graph, scc):
    """One cycle through the nodes of a strongly connected component."""
    start = min(scc)
    prev, todo = {start: None}, [start]
    while todo:  # breadth first from start back to start, inside scc
        n = todo.pop(0)
        for m in sorted(graph.get(n, ())):
            if m not in scc:
                continue
            if m == start:
                path = [n]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if m not in prev:
                prev[m] = n
                todo.append(m)
    return [start]


def sccs(graph):
    """Tarjan's strongly connected components (iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter[0]; counter[0] += 1
        stack.append(root); on.add(root)
        while work:
            n, it = work[-1]
            for m in it:
                if m not in index:
                    index[m] = low[m] = counter[0]; counter[0] += 1
                    stack.append(m); on.add(m)
                    work.append((m, iter(sorted(graph.get(m, ())))))
                    break
                if m in on:
                    low[n] = min(low[n], index[m])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[n])
                if low[n] == index[n]:
                    comp = set()
                    while True:
                        m = stack.pop(); on.discard(m); comp.add(m)
                        if m == n:
                            break
                    out.append(comp)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."),
                    help="the tree to check (default: this script's tree)")
    ap.add_argument("--objects", help="a build's obj/ folder: add the link graph (nm)")
    ap.add_argument("--strict", action="store_true", help="KNOWN edges fail too")
    args = ap.parse_args()

    src = os.path.join(args.root, "src")
    layer = {n: i for i, names in enumerate(LAYERS) for n in names}
    nodes = sorted(layer, key=len, reverse=True)
    known = {} if args.strict else KNOWN
    errors, notes = [], []

    folders = set()
    if os.path.isdir(os.path.join(src, "lib")):
        folders.add("lib")
    if os.path.isdir(os.path.join(src, "tools")):
        folders.add("tools")
    if os.path.isdir(os.path.join(src, "server")):
        folders |= {d for d in os.listdir(os.path.join(src, "server"))
                    if os.path.isdir(os.path.join(src, "server", d))}
    for d in sorted(folders - set(layer)):
        errors.append(f"src/server/{d}/: module not in LAYERS (scripts/check-layers.py): "
                      "declare its layer")

    edges, unresolved = include_edges(src, nodes)
    errors += unresolved
    if args.objects:
        edges += link_edges(src, args.objects, nodes, errors)

    def report_cycles(edges, out, tag):
        graph = {}
        for a, b, _, _ in edges:
            graph.setdefault(a, set()).add(b)
        for comp in sccs(graph):
            if len(comp) < 2:
                continue
            cyc = find_cycle(graph, comp)
            lines = []
            for a, b in zip(cyc, cyc[1:]):
                where = [w for x, y, w, _ in edges if (x, y) == (a, b)]
                more = f" (+{len(where) - 1} more)" if len(where) > 1 else ""
                lines.append(f"  {a} -> {b}: {where[0]}{more}")
            others = sorted(comp - set(cyc))
            also = f" (also through {', '.join(others)})" if others else ""
            out.append(f"{tag}cycle: {' -> '.join(cyc)}{also}\n" + "\n".join(lines))
        return graph

    # A cycle that needs no KNOWN edge fails; one through KNOWN edges is shown.
    unknown = [e for e in edges if (e[3], e[1]) not in known]
    report_cycles(unknown, errors, "")
    graph = report_cycles(edges, notes, "[KNOWN edges] ")
    notes[:] = [n for n in notes if n.split("cycle: ")[1] not in "\n".join(errors)]

    used = set()
    for a, b, where, rel in sorted(set(edges), key=lambda e: e[2]):
        if a not in layer or b not in layer or layer[b] < layer[a]:
            continue
        how = "sideways (same layer)" if layer[a] == layer[b] else "upward"
        msg = f"{where}: {a} -> {b}: {how}"
        if (rel, b) in known:
            used.add((rel, b))
            notes.append(f"{msg} [KNOWN: {known[(rel, b)]}]")
        else:
            errors.append(msg)
    for rel, b in sorted(set(known) - used):
        errors.append(f"src/{rel} -> {b}: in KNOWN but no longer there: remove the entry")

    for n in notes:
        print("layers: " + n)
    for e in errors:
        print("layers: " + e, file=sys.stderr)
    if errors:
        print(f"layers: {len(errors)} problem(s); the order is declared in "
              "scripts/check-layers.py", file=sys.stderr)
        return 1
    pairs = {(a, b) for a, b, _, _ in edges}
    print(f"layers: ok ({len(pairs)} dependencies between {len(graph)} modules, "
          f"from {len(edges)} {'includes and symbols' if args.objects else 'includes'}"
          + (f", {len(notes)} known to fix" if notes else "") + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
