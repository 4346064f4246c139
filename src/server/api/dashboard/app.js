/* SPDX-License-Identifier: GPL-3.0-or-later */
// runway dashboard: reads the HTTP API (docs/api.md) with the token the user
// gives it and draws zones, policy trees, health and the traffic split.
// Plain DOM, no framework, no build step; every text goes in as textContent.
"use strict";

const REFRESH_MS = 3000;
const TOKEN_KEY = "runway-token";

// ---- small helpers ----

// el("div", {class: "x"}, "text", child, ...): an element with attributes and children.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function $(id) { return document.getElementById(id); }

function pct(x) { return (100 * x).toFixed(x > 0 && x < 0.1 ? 1 : 0) + "%"; }

// "2026-11-22T21:45:59.414Z" -> "2026-11-22 21:45:59Z (3 min ago)"
function when(iso) {
  if (!iso) return "—";
  const t = Date.parse(iso);
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  const ago = s < 60 ? s + " s" : s < 3600 ? Math.round(s / 60) + " min" :
              s < 86400 ? Math.round(s / 3600) + " h" : Math.round(s / 86400) + " d";
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z") + " (" + ago + " ago)";
}

// ---- the token: from #token=..., else sessionStorage, else the input box ----

const hashParams = new URLSearchParams(location.hash.slice(1));
if (hashParams.has("token")) {
  sessionStorage.setItem(TOKEN_KEY, hashParams.get("token"));
  hashParams.delete("token");            // out of the address bar and history
  const rest = hashParams.toString();
  history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
}
function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

$("token-form").addEventListener("submit", ev => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  refresh();
});

class ApiError extends Error {
  constructor(status, msg) { super(msg); this.status = status; }
}

// GET path with the bearer token; JSON (or text for /metrics).
async function api(path) {
  const r = await fetch(path, { headers: { Authorization: "Bearer " + token() }, cache: "no-store" });
  const type = r.headers.get("Content-Type") || "";
  const body = type.startsWith("application/json") ? await r.json() : await r.text();
  if (!r.ok) throw new ApiError(r.status, (body && body.error) || r.status + " " + r.statusText);
  return body;
}

function setStatus(text, cls) {
  const s = $("status");
  s.textContent = text;
  s.className = "status " + (cls || "");
}

// ---- health: one state per endpoint, as the trees colour them ----

// {name: {state: "up"|"down"|"partial"|"unchecked"|"noaddr", drained, nocheck}}
function endpointStates(health) {
  const slots = {};
  for (const s of health.slots || []) (slots[s.endpoint] = slots[s.endpoint] || []).push(s);
  const out = {};
  for (const e of health.endpoints || []) {
    let state = e.state === "no address" ? "noaddr" : e.state;
    if (state === "drained") state = e.addresses_down ? "down" : "up";
    const mine = slots[e.name] || [];
    if (state === "up" && mine.length && mine.every(s => s.state === "unchecked")) state = "unchecked";
    out[e.name] = { state, drained: !!e.drained, nocheck: mine.length > 0 && mine.every(s => !s.check) };
  }
  return out;
}

// ---- the traffic split, from /metrics ----

function unescapeLabel(v) { return v.replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c)); }

// {name: {endpoint: count}} from runway_traffic_answers_total lines.
function parseAnswers(text) {
  const out = {};
  for (const line of text.split("\n")) {
    const m = /^runway_traffic_answers_total\{(.*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of m[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = unescapeLabel(l[2]);
    if (!labels.name || !labels.endpoint) continue;
    (out[labels.name] = out[labels.name] || {})[labels.endpoint] = Number(m[2]);
  }
  return out;
}

let lastCounts = null;      // the previous /metrics sample
let lastSampleAt = 0;

// Per name: the answers per endpoint since the last sample when there were
// any ("live"), else the totals since runwayd started.
function splitOf(counts) {
  const now = Date.now();
  const out = {};
  for (const [name, eps] of Object.entries(counts)) {
    const prev = (lastCounts && lastCounts[name]) || {};
    const delta = {};
    let dsum = 0, tsum = 0;
    for (const [ep, n] of Object.entries(eps)) {
      delta[ep] = Math.max(0, n - (prev[ep] || 0));
      dsum += delta[ep];
      tsum += n;
    }
    const live = lastCounts && dsum > 0;
    out[name] = {
      counts: live ? delta : eps,
      sum: live ? dsum : tsum,
      label: live ? "last " + Math.round((now - lastSampleAt) / 1000) + " s" : "since start",
    };
  }
  lastCounts = counts;
  lastSampleAt = now;
  return out;
}

// ---- policy trees ----

// A policy in the configuration's shape (GET /v1/traffic/{name}) to
// {kind, endpoint?, count?, children: [{label, node}]}.
function parsePolicy(v) {
  if (typeof v === "string") return { kind: "endpoint", endpoint: v, children: [] };
  if (!v || typeof v !== "object") return { kind: "?", children: [] };
  const kind = Object.keys(v)[0];
  let body = v[kind];
  const node = { kind, children: [] };
  const add = (label, child) => node.children.push({ label, node: parsePolicy(child) });
  if (kind === "weighted" || kind === "geoproximity") {
    const attr = kind === "weighted" ? "weight" : "bias";
    if (Array.isArray(body)) body.forEach(c => add(attr + " " + c[attr], c.node));
    else for (const [ep, n] of Object.entries(body || {})) add(attr + " " + n, ep);
  } else if (kind === "geolocation" || kind === "cidr") {
    for (const [rule, child] of Object.entries(body || {})) add(rule, child);
  } else {                                 // failover, latency, multivalue
    if (body && !Array.isArray(body)) { node.count = body.count; body = body.of; }
    (body || []).forEach((c, i) => add(kind === "failover" ? "#" + (i + 1) : "", c));
  }
  return node;
}

function endpointsUnder(node, acc = []) {
  if (node.kind === "endpoint") acc.push(node.endpoint);
  for (const c of node.children) endpointsUnder(c.node, acc);
  return acc;
}

function endpointChip(name, states, split, extra) {
  const h = states[name] || { state: "unknown", drained: false };
  const share = split && split.sum ? (split.counts[name] || 0) / split.sum : null;
  return el("div", {
      class: "ep " + h.state + (h.drained ? " drained" : ""),
      "data-endpoint": name, "data-state": h.state, "data-drained": h.drained ? "yes" : "no",
      title: name + ": " + h.state + (h.drained ? ", drained" : ""),
    },
    el("span", { class: "ep-name" }, name),
    el("span", { class: "ep-state" }, h.state === "noaddr" ? "no address" : h.state),
    h.nocheck && el("span", { class: "ep-state" }, "(no check)"),
    h.drained && el("span", { class: "mark" }, "drained"),
    extra && el("span", { class: "ep-extra" }, extra),
    share !== null && el("span", { class: "share", title: "share of answers, " + split.label }, pct(share)));
}

// Nested boxes: a node's kind on top, its children side by side, each
// under the label of its branch (rule, weight, rank).
function drawNode(node, states, split, repeated) {
  if (node.kind === "endpoint") return endpointChip(node.endpoint, states, split);
  let share = null;
  if (split && split.sum) {
    const eps = [...new Set(endpointsUnder(node))];
    const n = eps.reduce((s, ep) => s + (split.counts[ep] || 0), 0);
    share = (eps.some(ep => repeated.has(ep)) ? "≤ " : "") + pct(n / split.sum);
  }
  return el("div", { class: "node", "data-kind": node.kind },
    el("div", { class: "node-head" },
      el("span", { class: "kind" }, node.kind),
      node.count && el("span", { class: "count" }, "count " + node.count),
      share && el("span", { class: "share", title: "answers through this node, " + split.label }, share)),
    el("div", { class: "children" },
      node.children.map(c => el("div", { class: "branch" },
        c.label && el("div", { class: "label" }, c.label),
        drawNode(c.node, states, split, repeated)))));
}

function splitBar(split) {
  if (!split || !split.sum)
    return el("div", { class: "split empty" }, "no answers counted yet");
  const eps = Object.keys(split.counts).sort();
  return el("div", { class: "split" },
    el("div", { class: "bar" }, eps.map((ep, i) => {
      const f = split.counts[ep] / split.sum;
      return f > 0 && el("span", { class: "seg c" + (i % 8), style: "width:" + (100 * f) + "%",
                                   title: ep + " " + pct(f) });
    })),
    el("div", { class: "legend" },
      el("span", { class: "when" }, split.label + ", " + split.sum + " answers:"),
      eps.map((ep, i) => el("span", { class: "key", "data-split-endpoint": ep },
        el("span", { class: "swatch c" + (i % 8) }), ep + " " + pct(split.counts[ep] / split.sum)))));
}

function drawTraffic(entry, detail, states, split) {
  const card = el("article", { class: "traffic", "data-traffic": entry.name },
    el("h3", {}, entry.name,
      el("small", {}, entry.kind + (entry.policy ? " · " + entry.policy : "") + " · ttl " + entry.ttl +
                      (entry.fail_open ? " · fail-open" : ""))));
  if (entry.kind === "policy" && detail && detail.policy !== undefined) {
    const tree = parsePolicy(detail.policy);
    const all = endpointsUnder(tree);
    const repeated = new Set(all.filter((ep, i) => all.indexOf(ep) !== i));
    card.append(el("div", { class: "tree" }, drawNode(tree, states, split, repeated)));
  } else if (entry.kind === "alias") {
    card.append(el("p", {}, "alias of ", el("code", {}, entry.alias)));
  } else if (entry.kind === "srv" && detail && detail.srv) {
    card.append(el("div", { class: "tree" }, el("div", { class: "node", "data-kind": "srv" },
      el("div", { class: "node-head" }, el("span", { class: "kind" }, "srv")),
      el("div", { class: "children" }, detail.srv.map(m => el("div", { class: "branch" },
        el("div", { class: "label" }, "prio " + m.priority + " · weight " + m.weight + " · :" + m.port),
        endpointChip(m.endpoint, states, split)))))));
  }
  card.append(splitBar(split));
  return card;
}

// ---- sections ----

function drawZones(zones) {
  $("zones").tBodies[0].replaceChildren(...zones.map(z =>
    el("tr", { "data-zone": z.name }, el("td", {}, z.name), el("td", {}, z.serial), el("td", {}, z.records))));
}

function drawHealth(health) {
  const rows = (health.slots || []).map(s => el("tr", { "data-slot": s.slot, "data-endpoint": s.endpoint },
    el("td", {}, s.endpoint, s.drained && el("span", { class: "mark" }, "drained")),
    el("td", {}, s.address || "—"),
    el("td", {}, s.check ? s.check + (s.type ? " (" + s.type + (s.target ? " " + s.target : "") + ")" : "") : "none"),
    el("td", {}, el("span", { class: "pill " + s.state }, s.state)),
    el("td", {}, when(s.since)),
    el("td", {}, s.checks === undefined ? "—" : s.checks + " / " + s.failures),
    el("td", { class: "result" }, s.last_result || "—",
      s.last_duration_ms !== undefined && el("small", {}, " " + s.last_duration_ms + " ms")),
    el("td", {}, el("ul", { class: "transitions" }, (s.transitions || []).slice(0, 3).map(t =>
      el("li", {}, el("span", { class: "pill " + t.state }, t.state), " ", when(t.at),
        t.reason && el("small", {}, " " + t.reason)))))));
  $("health").tBodies[0].replaceChildren(...rows);
}

let trafficNames = [];

async function drawAllTraffic(list, states, splits) {
  const details = await Promise.all(list.map(t =>
    t.kind === "alias" ? null : api("/v1/traffic/" + encodeURIComponent(t.name)).catch(() => null)));
  $("traffic").replaceChildren(...list.map((t, i) => drawTraffic(t, details[i], states, splits[t.name])));
  trafficNames = list.map(t => t.name);
  $("traffic-names").replaceChildren(...trafficNames.map(n => el("option", { value: n })));
}

// ---- refresh loop ----

let timer = null;

async function refresh() {
  clearTimeout(timer);
  if (!token()) {
    setStatus("enter a read token (or open /#token=…)", "warn");
    $("token").focus();
    return;
  }
  try {
    const [zones, list, health, metrics] = await Promise.all([
      api("/v1/zones"), api("/v1/traffic"), api("/v1/health"), api("/metrics")]);
    const states = endpointStates(health);
    const splits = splitOf(parseAnswers(metrics));
    drawZones(zones);
    await drawAllTraffic(list, states, splits);
    drawHealth(health);
    setStatus("updated " + new Date().toLocaleTimeString() + " · every " + REFRESH_MS / 1000 + " s", "ok");
  } catch (e) {
    if (e.status === 401) {
      setStatus("token refused: enter a read token", "bad");
      return;                              // no retry loop with a bad token
    }
    setStatus("error: " + e.message, "bad");
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

// ---- simulate ----

function drawSimulation(r) {
  const c = r.client || {};
  const where = [c.continent, c.country, c.subdivision].filter(Boolean).join(" ");
  const answer = (r.answer || []).length
    ? el("table", { class: "answer" }, el("thead", {}, el("tr", {}, ["name", "type", "ttl", "data"].map(h => el("th", {}, h)))),
        el("tbody", {}, r.answer.map(a => el("tr", {}, el("td", {}, a.name), el("td", {}, a.type),
                                            el("td", {}, a.ttl), el("td", { class: "data" }, a.data)))))
    : el("p", {}, "(empty answer)");
  const path = (r.path || []).map(p => el("li", { "data-node": p.node },
    el("span", { class: "kind" }, p.node),
    p.endpoint ? [" ", endpointChip(p.endpoint, lastStates, null)] : null,
    el("span", { class: "why" }, " " + p.why),
    p.rule && [" · rule ", el("code", {}, p.rule)],
    p.to && [" → ", el("b", {}, p.to)],
    p.children && el("div", { class: "kids" }, p.children.map(k =>
      el("span", { class: "pill " + (k.up ? "up" : "down") }, k.node + (k.up ? " up" : " down")))),
    p.line && el("small", {}, " (line " + p.line + ")")));
  // The trace: which entry and view, the stage that decided, and every
  // endpoint of the tree with why it is (not) in the answer.
  const e = r.entry;
  const decided = el("p", { class: "sim-decided" }, "decided by stage ", el("b", { "data-stage": r.stage }, r.stage),
    e ? [": ", e.kind + " entry ", el("code", {}, e.name), e.line ? " (line " + e.line + ")" : "",
         e.view ? [", view ", el("b", {}, e.view), "'s own traffic"] : ", top-level traffic"]
      : ": not a traffic name for this client (the zone's records)",
    r.view !== undefined ? [" · view ", el("b", {}, r.view || "none")] : null,
    " · query from ", el("code", {}, r.source_address || "?"), " ECS ", el("code", {}, r.ecs || "none"));
  const failing = r.failed_open && el("p", { class: "sim-failopen" },
    "failing open: no endpoint is up, so the name answers as if every one were (drained ones stay out)");
  const eps = (r.endpoints || []).length && el("table", { class: "sim-endpoints" },
    el("thead", {}, el("tr", {}, ["endpoint", "why", "detail"].map(h => el("th", {}, h)))),
    el("tbody", {}, r.endpoints.map(x => el("tr", { "data-sim-endpoint": x.endpoint, "data-why": x.why,
                                                   class: x.used ? "used" : "unused" },
      el("td", {}, endpointChip(x.endpoint, lastStates, null)),
      el("td", { class: "why" }, x.why),
      el("td", { class: "detail" }, x.detail || "")))));
  $("simulate").replaceChildren(el("div", { class: "sim-result" },
    el("p", { class: "sim-head" },
      el("b", {}, r.name + " " + r.type), " → ", el("span", { class: "pill " + (r.rcode === "NOERROR" ? "up" : "down") }, r.rcode),
      " · scope /" + r.scope + " · source " + r.source + (r.failed_open ? " · failed open" : "")),
    el("p", {}, "client ", el("code", {}, c.network || "?"),
      c.located ? " located in " + (where || "?") + (c.lat !== undefined ? " (" + c.lat + ", " + c.lon + ")" : "")
                : " not located"),
    decided,
    failing,
    answer,
    path.length ? el("ol", { class: "path" }, path) : el("p", { class: "hint" }, "no policy path (answered by " + r.source + ")"),
    eps));
}

let lastStates = {};

async function simulate() {
  const q = new URLSearchParams({ name: $("sim-name").value.trim(), type: $("sim-type").value,
                                  client: $("sim-client").value.trim() });
  $("simulate").replaceChildren(el("p", { class: "hint" }, "asking…"));
  try {
    const [r, health] = await Promise.all([api("/v1/simulate?" + q), api("/v1/health")]);
    lastStates = endpointStates(health);
    drawSimulation(r);
  } catch (e) {
    $("simulate").replaceChildren(el("p", { class: "error" }, e.message));
  }
}

$("simulate-form").addEventListener("submit", ev => { ev.preventDefault(); simulate(); });

// #client=...&name=...&type=... fills the box and asks (a link to share).
if (hashParams.has("client") && hashParams.has("name")) {
  $("sim-client").value = hashParams.get("client");
  $("sim-name").value = hashParams.get("name");
  if (hashParams.has("type")) $("sim-type").value = hashParams.get("type").toUpperCase();
  if (token()) simulate();
}

refresh();
