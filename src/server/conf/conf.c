/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * runwayd configuration loader.
 *
 * The whole file format is the `schema` table below: one row per option,
 * giving its key path, kind, where the value goes, default, range and a
 * one-line doc. A single walker reads the YAML document (libyaml's document
 * API, so every node still knows its line) against that table, then fills
 * in defaults and checks required keys from the same rows, and
 * rwd_conf_doc() prints the reference from them. Adding an option or a
 * section means adding rows, plus a field in struct rwd_conf (or in the
 * traffic model, steer/model.h).
 *
 * The traffic sections (health_checks, endpoints, geoip, latency, traffic:
 * rows marked .model) fill a struct rwd_model, all in its arena. They refer
 * to each other by name (an endpoint names its health check, a policy its
 * endpoints), so they are read after the rest of the file, in table order,
 * wherever they appear in it. Policy trees, the latency table and the checks
 * across values of these sections live in traffic.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <libknot/libknot.h>
#include <yaml.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/wire.h"
#include "server/conf/conf.h"
#include "server/conf/conf_int.h"
#include "server/steer/model.h"

static int check_zones(struct ctx *c, const struct opt *o, void *base);
static int check_dnstap(struct ctx *c, const struct opt *o, void *base);
static int check_cookies(struct ctx *c, const struct opt *o, void *base);
static int check_view(struct ctx *c, const struct opt *o, void *elem, int line);
static int check_views(struct ctx *c, const struct opt *o, void *base);

static const char *const check_types[] = { "tcp", "http", "https", "dns", NULL };
static const char *const access_types[] = { "read", "write", NULL };
/* tsig_keys.algorithm, in dnssec_tsig_algorithm_t order from DNSSEC_TSIG_HMAC_SHA1 (xfr.c) */
static const char *const tsig_algorithms[] = {
	"hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512", NULL,
};
/* zones.catalog.role: the index + 1 is the enum rwd_catalog_role (xfr.c) */
static const char *const catalog_roles[] = { "member", "producer", "consumer", NULL };
/* in enum rwd_serial_policy order */
static const char *const serial_policies[] = { "increment", "unixtime", "dateserial", NULL };

#define C struct rwd_conf
#define Z struct rwd_conf_zone
#define TK struct rwd_conf_token
#define V struct rwd_conf_view
#define M struct rwd_model
#define HC struct rwd_check
#define EP struct rwd_endpoint
#define NL struct rwd_network_location
#define TR struct rwd_traffic
#define SRV struct rwd_srv_member
#define TKEY struct rwd_conf_tsig_key
#define RMT struct rwd_conf_remote
#define XR struct rwd_conf_xfr_rule
#define FIELD(s, m) .off = offsetof(s, m), .size = sizeof(((s *)0)->m)
#define COUNT(s, m) .off2 = offsetof(s, m), .cnt_size = sizeof(((s *)0)->m)

/*
 * The transfer settings of a zone (docs/transfers.md), the same rows under
 * `zones` and `views.zones` (W: zones or views, for the doc strings; P: the
 * list's path).
 */
#define ZDOC_zones(full, key) full
#define ZDOC_views(full, key) "As `zones." key "`."
#define ZDOC_templates(full, key) "As `zones." key "`, for the member zones."
#define ZONE_XFR_ROWS(W, P) \
	{ P ".notify", K_LIST, .off = offsetof(Z, notify), .off2 = offsetof(Z, n_notify), \
	  .size = sizeof(RMT), .line_off = NONE, .shorthand = "address", \
	  .doc = ZDOC_##W("Secondaries sent a NOTIFY (RFC 1996) on every new serial of the zone: " \
	         "each an address, or `{address: ..., key: ...}` to sign it with a TSIG key.", \
	         "notify") }, \
	{ P ".notify.address", K_SOCKADDR, .off = offsetof(RMT, addr), .required = true, \
	  .doc = ZDOC_##W("The secondary: `ADDR:PORT`, `[ADDR6]:PORT` or `ADDR` (port 53).", \
	         "notify.address") }, \
	{ P ".notify.key", K_KEYREF, .off = offsetof(RMT, key), .def_doc = "none: unsigned", \
	  .doc = ZDOC_##W("The `tsig_keys` entry that signs the NOTIFY.", "notify.key") }, \
	{ P ".notify_ns", K_BOOL, FIELD(Z, notify_ns), .def = "false", \
	  .doc = ZDOC_##W("Also NOTIFY the zone's NS targets at the addresses the served zones " \
	         "hold for them (A, AAAA, glue), except the SOA MNAME's (RFC 1996 3.6); port 53, " \
	         "unsigned.", "notify_ns") }, \
	{ P ".allow_transfer", K_LIST, .off = offsetof(Z, allow_transfer), \
	  .off2 = offsetof(Z, n_allow_transfer), .size = sizeof(XR), .line_off = offsetof(XR, line), \
	  .elem_check = cf_check_xfr_rule, .def_doc = "none: REFUSED", \
	  .doc = ZDOC_##W("Who may transfer the zone (AXFR, IXFR): a request is allowed when one " \
	         "rule's `match` holds its source address and, if the rule has a `key`, it is " \
	         "signed with that key.", "allow_transfer") }, \
	{ P ".allow_transfer.match", K_ACL, .off = offsetof(XR, match), .def_doc = "any", \
	  .doc = ZDOC_##W("Clients: prefixes, addresses, ACL names, `any` or `none`.", \
	         "allow_transfer.match") }, \
	{ P ".allow_transfer.key", K_KEYREF, .off = offsetof(XR, key), \
	  .def_doc = "none: signed or not", \
	  .doc = ZDOC_##W("The `tsig_keys` entry the request must be signed with. A rule needs " \
	         "`match`, `key` or both.", "allow_transfer.key") }, \
	{ P ".primaries", K_LIST, .off = offsetof(Z, primaries), .off2 = offsetof(Z, n_primaries), \
	  .size = sizeof(RMT), .line_off = NONE, .shorthand = "address", \
	  .doc = ZDOC_##W("Makes runwayd a secondary of the zone: the primaries it is " \
	         "transferred from, tried in order; each an address or `{address: ..., key: ...}`. " \
	         "`file` is then where the transferred copy is kept (it need not exist yet).", \
	         "primaries") }, \
	{ P ".primaries.address", K_SOCKADDR, .off = offsetof(RMT, addr), .required = true, \
	  .doc = ZDOC_##W("The primary: `ADDR:PORT`, `[ADDR6]:PORT` or `ADDR` (port 53).", \
	         "primaries.address") }, \
	{ P ".primaries.key", K_KEYREF, .off = offsetof(RMT, key), .def_doc = "none: unsigned", \
	  .doc = ZDOC_##W("The `tsig_keys` entry that signs requests to it and its answers.", \
	         "primaries.key") }, \
	{ P ".allow_notify", K_LIST, .off = offsetof(Z, allow_notify), \
	  .off2 = offsetof(Z, n_allow_notify), .size = sizeof(XR), .line_off = offsetof(XR, line), \
	  .elem_check = cf_check_xfr_rule, \
	  .def_doc = "each primary's address (/32, /128) with its key", \
	  .doc = ZDOC_##W("Who may NOTIFY this secondary zone, in the shape of `allow_transfer`; " \
	         "only with `primaries`.", "allow_notify") }, \
	{ P ".allow_notify.match", K_ACL, .off = offsetof(XR, match), .def_doc = "any", \
	  .doc = ZDOC_##W("Senders: prefixes, addresses, ACL names, `any` or `none`.", \
	         "allow_notify.match") }, \
	{ P ".allow_notify.key", K_KEYREF, .off = offsetof(XR, key), \
	  .def_doc = "none: signed or not", \
	  .doc = ZDOC_##W("The `tsig_keys` entry the NOTIFY must be signed with.", \
	         "allow_notify.key") }, \
	{ P ".serial_policy", K_ENUM, FIELD(Z, serial_policy), .choices = serial_policies, \
	  .def = "increment", \
	  .doc = ZDOC_##W("How runwayd picks the next serial when it changes the zone (an API " \
	         "change, a reloaded file whose serial did not move): +1, the Unix time, or " \
	         "YYYYMMDDnn; +1 when that is not newer (RFC 1982), as Knot's `serial-policy`.", \
	         "serial_policy") }, \
	{ P ".journal_max_size", K_SIZE, FIELD(Z, journal_max_size), .min = 65536, \
	  .max = 1ull << 40, .def = "16M", \
	  .doc = ZDOC_##W("Bytes of change history kept for IXFR (in memory and in the store); " \
	         "past it the oldest changes are merged into one.", "journal_max_size") }, \
	{ P ".journal_max_depth", K_UINT, FIELD(Z, journal_max_depth), .min = 1, .max = 1000000, \
	  .def = "1000", \
	  .doc = ZDOC_##W("Changes kept for IXFR; past it the oldest two are merged into one.", \
	         "journal_max_depth") }, \
	{ P ".render_traffic", K_BOOL, FIELD(Z, render_traffic), .def = "true", \
	  .doc = ZDOC_##W("With `allow_transfer`: the zone transferred out holds, at each traffic " \
	         "name in it, the records runwayd would answer now to a client with no location " \
	         "(A/AAAA or CNAME, SRV), replaced by IXFR when health or policy change them, so " \
	         "secondaries that are not runway answer traffic names too (docs/transfers.md).", \
	         "render_traffic") }, \
	{ P ".refresh_min", K_UINT, FIELD(Z, refresh_min), .min = 1, .max = 2147483647, \
	  .def = "2", \
	  .doc = ZDOC_##W("Secondary: seconds, the floor of the SOA refresh.", "refresh_min") }, \
	{ P ".refresh_max", K_UINT, FIELD(Z, refresh_max), .min = 1, .max = 2147483647, \
	  .def = "86400", \
	  .doc = ZDOC_##W("Secondary: seconds, the ceiling of the SOA refresh.", "refresh_max") }, \
	{ P ".retry_min", K_UINT, FIELD(Z, retry_min), .min = 1, .max = 2147483647, .def = "2", \
	  .doc = ZDOC_##W("Secondary: seconds, the floor of the SOA retry.", "retry_min") }, \
	{ P ".retry_max", K_UINT, FIELD(Z, retry_max), .min = 1, .max = 2147483647, \
	  .def = "86400", \
	  .doc = ZDOC_##W("Secondary: seconds, the ceiling of the SOA retry.", "retry_max") }, \
	{ P ".expire_min", K_UINT, FIELD(Z, expire_min), .min = 1, .max = 2147483647, \
	  .def = "3600", \
	  .doc = ZDOC_##W("Secondary: seconds, the floor of the SOA expire.", "expire_min") }, \
	{ P ".expire_max", K_UINT, FIELD(Z, expire_max), .min = 1, .max = 2147483647, \
	  .def = "1209600", \
	  .doc = ZDOC_##W("Secondary: seconds, the ceiling of the SOA expire (14 days); past " \
	         "expire without a transfer the zone answers SERVFAIL.", "expire_max") },

/* Keep docs/configuration.md in step: it embeds rwd_conf_doc()'s output. */
static const struct opt schema[] = {
	{ "server", K_SECTION,
	  .doc = "Where and how runwayd answers." },
	{ "server.listen", K_LISTEN, .off = offsetof(C, listen), .off2 = offsetof(C, n_listen),
	  .def = "127.0.0.1:53",
	  .doc = "Addresses to serve UDP and TCP on: `ADDR:PORT`, `[ADDR6]:PORT` or `ADDR` (port 53)." },
	{ "server.workers", K_UINT, FIELD(C, workers), .min = 0, .max = 1024, .def = "0",
	  .doc = "UDP worker threads; 0 means one per CPU core." },
	{ "server.busy_poll", K_UINT, FIELD(C, busy_poll_us), .min = 0, .max = 1000, .def = "0",
	  .doc = "Microseconds a UDP worker keeps polling its socket after answering a batch, "
	         "before it sleeps. 0 (the default): it sleeps at once. Polling saves a wake-up "
	         "when the next queries come within that time, but each empty poll is a system "
	         "call: on a CPU budget (a cgroup quota, a busy machine) the polls take CPU time "
	         "from answering (measured with `bench/` at 40% of a core: 20 took 7-10% more CPU "
	         "per query than 0). Worth trying only with a core to spare per worker." },
	{ "server.edns_udp_size", K_UINT, FIELD(C, edns_udp_size), .min = 512, .max = 4096,
	  .def = "1232",
	  .doc = "Largest UDP answer sent to a client that uses EDNS, in bytes." },
	{ "server.nsid", K_NSID, .off = offsetof(C, nsid), .off2 = offsetof(C, nsid_len),
	  .doc = "NSID (RFC 5001) sent to clients that ask for it; `0x` + hex gives raw bytes." },
	{ "server.strict_zones", K_BOOL, FIELD(C, strict_zones), .def = "false",
	  .doc = "Refuse to start when any zone fails to load. `false`: the other zones are "
	         "served, queries in a zone that failed get SERVFAIL (`runway_zone_loaded` 0 in "
	         "/metrics, `runway status`), and each reload (SIGHUP) tries it again." },
	{ "tcp", K_SECTION,
	  .doc = "DNS over TCP." },
	{ "tcp.idle_timeout", K_DURATION, FIELD(C, tcp_idle_timeout_ms), .min = 1, .max = 3600000,
	  .def = "10s",
	  .doc = "Close a TCP connection that has been idle this long." },
	{ "tcp.io_timeout", K_DURATION, FIELD(C, tcp_io_timeout_ms), .min = 1, .max = 3600000,
	  .def = "2s",
	  .doc = "Close a TCP connection whose client has begun a message and not finished it, or has not read a waiting answer, in this long." },
	{ "tcp.max_clients", K_UINT, FIELD(C, tcp_max_clients), .min = 1, .max = 1000000,
	  .def = "1000",
	  .doc = "Most TCP connections open at once; a new one then closes the longest idle." },
	{ "tcp.max_per_client", K_UINT, FIELD(C, tcp_max_per_client), .min = 1, .max = 1000000,
	  .def = "20",
	  .doc = "Most TCP connections open at once from one IPv4 address or IPv6 /64; more are closed at once." },
	{ "tsig_keys", K_MAP, .early = true, .off = offsetof(C, tsig_keys),
	  .off2 = offsetof(C, n_tsig_keys), .size = sizeof(TKEY), .line_off = offsetof(TKEY, line),
	  .dname_keys = true, .key_off = offsetof(TKEY, dname), .key_off2 = NONE,
	  .noun = "TSIG key", .elem_check = cf_check_tsig_key, .check = cf_check_tsig_keys,
	  .doc = "TSIG keys (RFC 8945) by name (a domain name, as the peers call the key): zone "
	         "transfers, NOTIFY and any signed query. `keymgr -t NAME hmac-sha256` (Knot) or "
	         "`tsig-keygen NAME` (BIND) make one." },
	{ "tsig_keys.algorithm", K_ENUM, .off = offsetof(TKEY, alg), .size = sizeof(int),
	  .choices = tsig_algorithms, .def = "hmac-sha256",
	  .doc = "The HMAC." },
	{ "tsig_keys.secret", K_BASE64, .off = offsetof(TKEY, secret),
	  .off2 = offsetof(TKEY, secret_len), .required = true,
	  .doc = "The shared secret, base64 (as `tsig-keygen` and `keymgr` print it)." },
	{ "zones", K_LIST, .off = offsetof(C, zones), .off2 = offsetof(C, n_zones),
	  .size = sizeof(Z), .line_off = offsetof(Z, line), .check = check_zones,
	  .elem_check = cf_check_zone_xfr,
	  .doc = "Zones to serve, one entry each; zone names must be unique." },
	{ "zones.name", K_DNAME, .off = offsetof(Z, name), .off2 = offsetof(Z, dname),
	  .required = true,
	  .doc = "The zone's apex; a name without the trailing dot is taken as absolute." },
	{ "zones.file", K_PATH, .off = offsetof(Z, file),
	  .def_doc = "required (a catalog producer: none)",
	  .doc = "Zone file (RFC 1035 format), relative to the config file's folder." },
	ZONE_XFR_ROWS(zones, "zones")
	{ "zones.catalog", K_SECTION,
	  .doc = "Catalog zones (RFC 9432, docs/transfers.md#catalog-zones): `{role: producer}` "
	         "makes this zone a catalog generated from its members (no `file`); "
	         "`{member_of: CATALOG, group: NAME}` lists this zone in that catalog; "
	         "`{role: consumer}` serves the members of this secondary zone's catalog as zones "
	         "(`templates`). Top-level zones only." },
	{ "zones.catalog.role", K_ENUM, FIELD(Z, catalog_role), .choices = catalog_roles,
	  .def = "member",
	  .doc = "`producer`: the zone is a catalog; `member`: it is listed in `member_of`; "
	         "`consumer`: the zone (a secondary) is a catalog whose members runwayd serves, "
	         "each a secondary zone with the settings of a `templates` entry." },
	{ "zones.catalog.member_of", K_WIRENAME, .off = offsetof(Z, catalog_member_of),
	  .off2 = NONE,
	  .doc = "The catalog (a zone of this file with `catalog: {role: producer}`) that lists "
	         "this zone." },
	{ "zones.catalog.group", K_STRING, FIELD(Z, catalog_group), .def_doc = "none",
	  .doc = "The member's `group` property (RFC 9432 4.4.2), up to 255 bytes: consumers "
	         "map it to a set of settings." },
	{ "zones.catalog.max_members", K_UINT, FIELD(Z, catalog_max_members), .min = 1,
	  .max = 1000000, .def = "10000",
	  .doc = "A consumer: the most members it takes; past it the rest are left out (logged)." },
	{ "templates", K_MAP, .off = offsetof(C, templates), .off2 = offsetof(C, n_templates),
	  .size = sizeof(Z), .line_off = offsetof(Z, line), .key_off = offsetof(Z, name),
	  .noun = "template", .elem_check = cf_check_template,
	  .doc = "Settings of the zones a catalog consumer (`catalog: {role: consumer}`) makes of "
	         "its members (docs/transfers.md#consumer), by name: a member whose `group` "
	         "property names a template takes it, any other member `default` (required with "
	         "a consumer). Each takes the rows of a zone's transfer settings." },
	{ "templates.file", K_PATH, .off = offsetof(Z, file), .required = true,
	  .doc = "Where each member's transferred copy is kept, relative to the config file's "
	         "folder: `{zone}` stands for the member's name (`members/{zone}zone`: "
	         "members/example.com.zone); folders are made as needed." },
	ZONE_XFR_ROWS(templates, "templates")
	{ "zone_limits", K_SECTION,
	  .doc = "What one zone may cost to load (docs/configuration.md#zone-limits): input past "
	         "a limit is refused with `FILE:LINE: message` naming the limit, never truncated." },
	{ "zone_limits.max_rrset_records", K_UINT, FIELD(C, zone_limits.max_rrset_records),
	  .min = 1, .max = RWD_ZONE_MAX_RRSET_RECORDS_MAX, .def = "1000",
	  .doc = "Records in one RRset (one name and type), from a zone file or the API; as "
	         "BIND's `max-records-per-type`." },
	{ "zone_limits.max_include_depth", K_UINT, FIELD(C, zone_limits.max_include_depth),
	  .min = 0, .max = 64, .def = "8",
	  .doc = "How deep `$INCLUDE` may nest (a zone file's own `$INCLUDE` is depth 1); 0: "
	         "`$INCLUDE` is refused." },
	{ "zone_limits.max_file_bytes", K_SIZE, FIELD(C, zone_limits.max_file_bytes),
	  .min = 1, .max = 1ull << 40, .def = "4G",
	  .doc = "Bytes of a zone file and every file it includes, together." },
	{ "zone_limits.include_any_path", K_BOOL, FIELD(C, zone_limits.include_any_path),
	  .def = "false",
	  .doc = "Let `$INCLUDE` read any file runwayd can. `false`: only regular files under the "
	         "zone file's folder, symbolic links resolved." },
	{ "xfr", K_SECTION,
	  .doc = "Zone transfers in and out (docs/transfers.md): what they may cost." },
	{ "xfr.max_in", K_UINT, FIELD(C, xfr.max_in), .min = 1, .max = 10000, .def = "10",
	  .doc = "Transfers in (as a secondary) at once; more wait their turn." },
	{ "xfr.max_out", K_UINT, FIELD(C, xfr.max_out), .min = 1, .max = 10000, .def = "10",
	  .doc = "Transfers out (AXFR, IXFR over TCP) at once; more are REFUSED." },
	{ "xfr.max_records", K_UINT, FIELD(C, xfr.max_records), .min = 1, .max = 1ull << 40,
	  .def = "10000000",
	  .doc = "Records one transfer in may bring; past it the transfer is aborted and the "
	         "zone kept as it was." },
	{ "xfr.max_bytes", K_SIZE, FIELD(C, xfr.max_bytes), .min = 65536, .max = 1ull << 40,
	  .def = "1G",
	  .doc = "Bytes one transfer in may bring (messages together); the same." },
	{ "xfr.max_messages", K_UINT, FIELD(C, xfr.max_messages), .min = 1, .max = 1000000000,
	  .def = "1000000",
	  .doc = "Messages one transfer in may take; the same." },
	{ "xfr.timeout", K_DURATION, FIELD(C, xfr.timeout_ms), .min = 100, .max = 86400000,
	  .def = "5m",
	  .doc = "A whole transfer in must end within this long." },
	{ "xfr.io_timeout", K_DURATION, FIELD(C, xfr.io_timeout_ms), .min = 10, .max = 3600000,
	  .def = "10s",
	  .doc = "Each message of a transfer in (and the answer to a SOA query or a NOTIFY) must "
	         "come within this long." },
	{ "xfr.notify_retries", K_UINT, FIELD(C, xfr.notify_retries), .min = 0, .max = 100,
	  .def = "5",
	  .doc = "A NOTIFY without an answer is sent again this many times." },
	{ "xfr.notify_timeout", K_DURATION, FIELD(C, xfr.notify_timeout_ms), .min = 10,
	  .max = 60000, .def = "1s",
	  .doc = "The first wait for a NOTIFY's answer, doubled at each retry." },
	{ "acls", K_ACLS, .off = offsetof(C, acls), .off2 = offsetof(C, n_acls),
	  .doc = "Named access lists: each name holds a list of CIDR prefixes, addresses or other "
	         "ACL names. Options that take an access list (views, rate limiting) accept these "
	         "names, prefixes, `any` and `none`." },
	{ "views", K_LIST, .off = offsetof(C, views), .off2 = offsetof(C, n_views),
	  .size = sizeof(V), .line_off = offsetof(V, line), .elem_check = check_view,
	  .check = check_views,
	  .doc = "Split horizon (docs/configuration.md#views): each client is served by the first "
	         "view whose `match` holds its source address; no view matches: REFUSED. A view "
	         "serves its own zones and every top-level zone it does not replace." },
	{ "views.name", K_STRING, FIELD(V, name), .required = true,
	  .doc = "The view's name, unique: 1..63 letters, digits, '-', '_' or '.'." },
	{ "views.match", K_ACL, .off = offsetof(V, match), .required = true,
	  .doc = "Clients of this view, by the address queries come from (not EDNS Client Subnet)." },
	{ "views.zones", K_LIST, .off = offsetof(V, zones), .off2 = offsetof(V, n_zones),
	  .size = sizeof(Z), .line_off = offsetof(Z, line), .check = check_zones,
	  .elem_check = cf_check_zone_xfr,
	  .doc = "Zones only this view serves, like top-level `zones`; one with the apex of a "
	         "top-level zone replaces it in this view." },
	{ "views.zones.name", K_DNAME, .off = offsetof(Z, name), .off2 = offsetof(Z, dname),
	  .required = true,
	  .doc = "The zone's apex." },
	{ "views.zones.file", K_PATH, .off = offsetof(Z, file), .required = true,
	  .doc = "Zone file, relative to the config file's folder." },
	ZONE_XFR_ROWS(views, "views.zones")
	{ "views.traffic", K_VIEW_TRAFFIC,
	  .doc = "Traffic names of this view's clients, written like top-level `traffic` (same "
	         "endpoints and checks); one with the name of a top-level entry replaces it in this "
	         "view, others exist only in this view, each inside a zone the view serves." },
	{ "api", K_SECTION,
	  .doc = "The control API (docs/api.md); absent: no API." },
	{ "api.listen", K_STRING, FIELD(C, api_listen),
	  .doc = "Address of the HTTP API: `ADDR:PORT` or `[ADDR6]:PORT`." },
	{ "api.tokens", K_LIST, .off = offsetof(C, api_tokens), .off2 = offsetof(C, n_api_tokens),
	  .size = sizeof(TK), .line_off = offsetof(TK, line),
	  .doc = "Bearer tokens the API accepts, one entry each." },
	{ "api.tokens.token", K_STRING, FIELD(TK, token), .required = true,
	  .doc = "The secret, sent as `Authorization: Bearer TOKEN`." },
	{ "api.tokens.access", K_ENUM, FIELD(TK, access), .choices = access_types, .def = "read",
	  .doc = "`read` (GET only) or `write` (every route)." },
	{ "api.allow", K_ACL, .off = offsetof(C, api_allow), .def = "any",
	  .doc = "Clients that may use the API (and the dashboard): an access list. Requests from "
	         "other addresses get 403. Tokens are still required." },
	{ "api.data", K_PATH, .off = offsetof(C, api_data),
	  .doc = "Folder of the embedded store (LMDB) keeping live changes, relative to the config file's folder; without it the API cannot change anything." },
	{ "api.max_connections", K_UINT, FIELD(C, api_max_connections), .min = 1, .max = 10000,
	  .def = "64",
	  .doc = "Most API connections open at once; a new one past it closes the one that has "
	         "waited longest for a whole request. Each holds a file descriptor, kept out of "
	         "`tcp.max_clients`." },
	{ "api.max_per_client", K_UINT, FIELD(C, api_max_per_client), .min = 1, .max = 10000,
	  .def = "8",
	  .doc = "Most API connections open at once from one client address; more are closed at "
	         "once, so one client cannot take every connection." },
	{ "api.request_timeout", K_DURATION, FIELD(C, api_request_timeout_ms), .min = 100,
	  .max = 3600000, .def = "5s",
	  .doc = "A connection must send a whole request (headers and body) within this long of "
	         "opening or of its previous answer, else it is closed (slow clients, slowloris)." },
	{ "dnstap", K_SECTION, .check = check_dnstap,
	  .doc = "Query logging in the dnstap format (docs/dnstap.md); absent: off. Applies at start." },
	{ "dnstap.file", K_PATH, .off = offsetof(C, dnstap.file),
	  .doc = "Write dnstap frames to this file (truncated at start), relative to the config file's folder; or `socket`." },
	{ "dnstap.socket", K_PATH, .off = offsetof(C, dnstap.socket),
	  .doc = "Send dnstap frames to a collector on this unix socket (reconnecting); or `file`." },
	{ "dnstap.log_queries", K_BOOL, FIELD(C, dnstap.log_queries), .def = "true",
	  .doc = "Log each query received (AUTH_QUERY)." },
	{ "dnstap.log_responses", K_BOOL, FIELD(C, dnstap.log_responses), .def = "true",
	  .doc = "Log each response sent (AUTH_RESPONSE)." },
	{ "dnstap.identity", K_STRING, FIELD(C, dnstap.identity), .def_doc = "the host name",
	  .doc = "Server identity in every frame, up to 255 bytes." },
	{ "rate_limit", K_SECTION,
	  .doc = "Response rate limiting over UDP (docs/configuration.md#rate_limit); off while "
	         "`responses_per_second` is 0. Reloads apply it; the counts survive them." },
	{ "rate_limit.responses_per_second", K_UINT, FIELD(C, rrl.rate), .min = 0,
	  .max = 1000000, .def = "0",
	  .doc = "Answers per second one client prefix gets of one kind (identical answers, one "
	         "zone's NXDOMAINs or NODATAs, one delegation's referrals, errors); 0: no limit." },
	{ "rate_limit.slip", K_UINT, FIELD(C, rrl.slip), .min = 0, .max = 255, .def = "2",
	  .doc = "Of the answers over the limit, every Nth is sent truncated (TC=1, no records; "
	         "BADCOOKIE to a client that sent a cookie) so real clients retry over TCP; 0: none, 1: all." },
	{ "rate_limit.ipv4_prefix", K_UINT, FIELD(C, rrl.ipv4_prefix), .min = 8, .max = 32,
	  .def = "24",
	  .doc = "IPv4 clients are counted together by this prefix length." },
	{ "rate_limit.ipv6_prefix", K_UINT, FIELD(C, rrl.ipv6_prefix), .min = 16, .max = 128,
	  .def = "56",
	  .doc = "IPv6 clients are counted together by this prefix length." },
	{ "rate_limit.exempt", K_ACL, .off = offsetof(C, rrl.exempt), .def = "none",
	  .doc = "Clients never limited: prefixes, addresses or ACL names. Clients with a valid "
	         "server cookie are never limited either." },
	{ "rate_limit.table_size", K_UINT, FIELD(C, rrl.table_size), .min = 64, .max = 16777216,
	  .def = "393241",
	  .doc = "Buckets (8 bytes each) shared by all UDP workers; a reload that changes it starts "
	         "the counts afresh." },
	{ "cookies", K_SECTION, .check = check_cookies,
	  .doc = "DNS Cookies (RFC 7873, RFC 9018 SipHash-2-4 server cookies)." },
	{ "cookies.enabled", K_BOOL, FIELD(C, cookies_enabled), .def = "true",
	  .doc = "Answer COOKIE options with a server cookie; a valid one exempts the client from "
	         "`rate_limit`, an invalid one over UDP gets BADCOOKIE. false: the option is ignored." },
	{ "cookies.secret", K_STRING, FIELD(C, cookie_secret_text), .def_doc = "random at start",
	  .doc = "Server secret, 16 bytes as 32 hex digits; servers sharing it accept each "
	         "other's cookies. Unset: a random secret, kept across reloads." },

	/* ---- the traffic model ---- */
	{ "health_checks", K_MAP, .model = true, .off = offsetof(M, checks), COUNT(M, n_checks),
	  .size = sizeof(HC), .line_off = offsetof(HC, line), .key_off = offsetof(HC, name),
	  .noun = "health check", .elem_check = cf_check_health,
	  .doc = "Health checks by name; endpoints use them with `health_check`." },
	{ "health_checks.type", K_ENUM, FIELD(HC, type), .choices = check_types, .required = true,
	  .doc = "A TCP connect, an HTTP or HTTPS GET, or a DNS query." },
	{ "health_checks.port", K_UINT, FIELD(HC, port), .min = 1, .max = 65535,
	  .def_doc = "http 80, https 443, dns 53",
	  .doc = "Port to probe at each address; required for `tcp`." },
	{ "health_checks.path", K_STRING, FIELD(HC, path), .def = "/",
	  .doc = "http, https: the path to GET, starting with `/`." },
	{ "health_checks.host", K_STRING, FIELD(HC, host), .def_doc = "the address",
	  .doc = "http, https: the Host header, and the TLS server name for https." },
	{ "health_checks.expect_status", K_STATUS, .off = offsetof(HC, expect_status),
	  COUNT(HC, n_expect_status), .def = "200",
	  .doc = "http, https: the status codes that pass (one, or a list of up to 8)." },
	{ "health_checks.expect_body", K_STRING, FIELD(HC, expect_body),
	  .doc = "http, https: pass only if the body contains this text." },
	{ "health_checks.tls_verify", K_BOOL, FIELD(HC, tls_verify), .def = "false",
	  .doc = "https: fail unless the certificate chain and name verify." },
	{ "health_checks.cert_warn_days", K_UINT, FIELD(HC, cert_warn_days), .min = 0, .max = 3650,
	  .def = "14",
	  .doc = "https: log a warning when the certificate expires within this many days; 0 = never." },
	{ "health_checks.query", K_WIRENAME, .off = offsetof(HC, dns_qname), .off2 = NONE, .def = ".",
	  .doc = "dns: the name to ask for." },
	{ "health_checks.qtype", K_QTYPE, FIELD(HC, dns_qtype), .def = "SOA",
	  .doc = "dns: the record type to ask for." },
	{ "health_checks.expect_rcode", K_RCODE, FIELD(HC, dns_rcode), .def = "NOERROR",
	  .doc = "dns: the response code that passes." },
	{ "health_checks.expect_answer", K_STRING, FIELD(HC, dns_expect),
	  .doc = "dns: pass only if an answer record, in presentation form, contains this text." },
	{ "health_checks.interval", K_DURATION, FIELD(HC, interval_ms), .min = 10, .max = 3600000,
	  .def = "1s",
	  .doc = "Time between two probes of one address." },
	{ "health_checks.timeout", K_DURATION, FIELD(HC, timeout_ms), .min = 1, .max = 3600000,
	  .def_doc = "`1s`, at most half the interval",
	  .doc = "A probe that takes longer fails; must be shorter than `interval`." },
	{ "health_checks.rise", K_UINT, FIELD(HC, rise), .min = 1, .max = 100, .def = "2",
	  .doc = "Consecutive passes that make a down address up." },
	{ "health_checks.fall", K_UINT, FIELD(HC, fall), .min = 1, .max = 100, .def = "2",
	  .doc = "Consecutive failures that make an up address down." },
	{ "health_checks.flap_changes", K_UINT, FIELD(HC, flap_changes), .min = 0, .max = 16,
	  .def = "6",
	  .doc = "Flap dampening (docs/health-checks.md#flap-dampening): this many up/down changes "
	         "of one address within `flap_window` hold it down until it has passed for "
	         "`flap_hold`; 0: off." },
	{ "health_checks.flap_window", K_DURATION, FIELD(HC, flap_window_ms), .min = 1,
	  .max = 86400000, .def_doc = "12 intervals",
	  .doc = "The time in which `flap_changes` changes mean flapping." },
	{ "health_checks.flap_hold", K_DURATION, FIELD(HC, flap_hold_ms), .min = 1, .max = 86400000,
	  .def_doc = "12 intervals",
	  .doc = "A flapping address stays down until every probe has passed for this long." },

	{ "endpoints", K_MAP, .model = true, .off = offsetof(M, endpoints), COUNT(M, n_endpoints),
	  .size = sizeof(EP), .line_off = offsetof(EP, line), .key_off = offsetof(EP, name),
	  .noun = "endpoint", .elem_check = cf_check_endpoint,
	  .doc = "Endpoints by name: what policies answer with." },
	{ "endpoints.address", K_ADDRS, .off = offsetof(EP, addrs), COUNT(EP, n_addrs),
	  .doc = "IPv4 and IPv6 addresses answered (A, AAAA); each is health-checked on its own." },
	{ "endpoints.cname", K_WIRENAME, .off = offsetof(EP, cname), .off2 = offsetof(EP, cname_len),
	  .doc = "Answer with a CNAME to this name instead (not with `address`)." },
	{ "endpoints.health_check", K_REF, FIELD(EP, check), .ref = "health_checks",
	  .def_doc = "none: always up",
	  .doc = "Name of the health check run at each address (or once, for a `cname`)." },
	{ "endpoints.location", K_SECTION,
	  .doc = "Where the endpoint is, `{lat: ..., lon: ...}`: needed under `geoproximity`." },
	{ "endpoints.location.lat", K_FLOAT, FIELD(EP, lat), .fmin = -90, .fmax = 90,
	  .doc = "Latitude in degrees, north positive." },
	{ "endpoints.location.lon", K_FLOAT, FIELD(EP, lon), .fmin = -180, .fmax = 180,
	  .doc = "Longitude in degrees, east positive." },
	{ "endpoints.target", K_WIRENAME, .off = offsetof(EP, target), .off2 = offsetof(EP, target_len),
	  .doc = "Host name that SRV answers give for this endpoint." },
	{ "endpoints.drained", K_BOOL, FIELD(EP, drained), .def = "false",
	  .doc = "Taken out of service on purpose: counts as down, even when a name fails open." },

	{ "geoip", K_SECTION, .model = true,
	  .doc = "Where clients are, for `geolocation` and `geoproximity`." },
	{ "geoip.mmdb", K_FILE, FIELD(M, mmdb_path),
	  .doc = "MaxMind-format database (`GeoLite2-City.mmdb`), relative to the config file's folder." },
	{ "geoip.networks", K_LISTFILE, .off = offsetof(M, networks), COUNT(M, n_networks),
	  .size = sizeof(NL), .line_off = NONE, .elem_check = cf_check_network,
	  .check = cf_check_networks,
	  .doc = "YAML file listing your own networks and where they are; they win over the mmdb." },
	{ "geoip.networks.network", K_PREFIX, .off = offsetof(NL, prefix), .off2 = offsetof(NL, len),
	  .required = true,
	  .doc = "In the networks file, each entry: the network, `ADDR/LEN`." },
	{ "geoip.networks.continent", K_CODE, FIELD(NL, continent), .min = RWD_GEO_CONTINENT,
	  .doc = "Its continent." },
	{ "geoip.networks.country", K_CODE, FIELD(NL, country), .min = RWD_GEO_COUNTRY,
	  .doc = "Its country (ISO 3166-1)." },
	{ "geoip.networks.subdivision", K_CODE, FIELD(NL, subdivision), .min = RWD_GEO_SUBDIVISION,
	  .doc = "Its subdivision within `country` (ISO 3166-2, `CA` of `US-CA`)." },
	{ "geoip.networks.lat", K_FLOAT, FIELD(NL, lat), .fmin = -90, .fmax = 90,
	  .doc = "Latitude in degrees (with `lon`)." },
	{ "geoip.networks.lon", K_FLOAT, FIELD(NL, lon), .fmin = -180, .fmax = 180,
	  .doc = "Longitude in degrees (with `lat`)." },

	{ "latency", K_SECTION, .model = true,
	  .doc = "Measured round-trip times, for `latency` policies." },
	{ "latency.file", K_LATENCY, .off = offsetof(M, latency), COUNT(M, n_latency),
	  .doc = "CSV file of `client,endpoint,rtt_ms` rows, relative to the config file's folder." },

	{ "traffic", K_MAP, .model = true, .off = offsetof(M, traffic), COUNT(M, n_traffic),
	  .size = sizeof(TR), .line_off = offsetof(TR, line), .dname_keys = true,
	  .key_off = offsetof(TR, name), .key_off2 = offsetof(TR, name_len),
	  .noun = "traffic name", .elem_check = cf_check_traffic,
	  .doc = "Names answered by runwayd's traffic steering, each inside a zone." },
	{ "traffic.ttl", K_UINT, FIELD(TR, ttl), .min = 0, .max = 86400, .def = "60",
	  .doc = "TTL of the answers, in seconds." },
	{ "traffic.fail_open", K_BOOL, FIELD(TR, fail_open), .def = "true",
	  .doc = "When every endpoint is down, answer as if all were up; `false`: answer with none." },
	{ "traffic.policy", K_POLICY, FIELD(TR, policy),
	  .doc = "How to choose endpoints: an endpoint name or a policy tree; one of `policy`, "
	         "`alias`, `srv`." },
	{ "traffic.alias", K_WIRENAME, .off = offsetof(TR, alias), .off2 = offsetof(TR, alias_len),
	  .doc = "Answer with the addresses of this name (ALIAS, CNAME flattening) instead." },
	{ "traffic.srv", K_LIST, .off = offsetof(TR, srv), COUNT(TR, n_srv), .size = sizeof(SRV),
	  .line_off = NONE, .elem_check = cf_check_srv,
	  .doc = "Answer SRV records, one per healthy endpoint, instead." },
	{ "traffic.srv.endpoint", K_REF, FIELD(SRV, endpoint), .ref = "endpoints", .required = true,
	  .doc = "The endpoint; it must have a `target`." },
	{ "traffic.srv.port", K_UINT, FIELD(SRV, port), .min = 0, .max = 65535, .required = true,
	  .doc = "Port in the SRV record." },
	{ "traffic.srv.priority", K_UINT, FIELD(SRV, priority), .min = 0, .max = 65535, .def = "0",
	  .doc = "Priority in the SRV record (lower is tried first)." },
	{ "traffic.srv.weight", K_UINT, FIELD(SRV, weight), .min = 0, .max = 65535, .def = "0",
	  .doc = "Weight in the SRV record." },
};

#undef C
#undef Z
#undef V
#undef M
#undef HC
#undef EP
#undef NL
#undef TR
#undef SRV
#undef TKEY
#undef RMT
#undef XR
#undef ZONE_XFR_ROWS
#undef ZDOC_zones
#undef ZDOC_views
#undef FIELD
#undef COUNT

enum { N_OPTS = sizeof(schema) / sizeof(schema[0]) };
_Static_assert(N_OPTS <= MAX_OPTS, "raise MAX_OPTS");

/* More listen addresses than any real box has; bounds the duplicate check. */
#define MAX_LISTEN 1024
#define MAX_NSID 128
/* An endpoint's addresses; bounds the duplicate check too. */
#define MAX_ADDRS 256
#define MAX_STRING 1024
/* Files read while loading: the networks file and the latency table. */
#define MAX_FILE ((size_t)256 << 20)

/* ---- errors ---- */

/* The overlay a line of the config's document comes from, or NULL for the file's own. */
static const struct cf_origin *origin_of(struct ctx *c, int line)
{
	if (!c->n_origins || c->file != c->main_file || line <= c->main_lines)
		return NULL;
	size_t lo = 0, hi = c->n_origins;   /* the last origin with first <= line */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->origins[mid].first <= line)
			lo = mid;
		else
			hi = mid;
	}
	return &c->origins[lo];
}

int cf_ln(struct ctx *c, int line)
{
	const struct cf_origin *o = origin_of(c, line);
	return o ? line - o->first + 1 : line;
}

int cf_fail(struct ctx *c, int line, const char *fmt, ...)
{
	const struct cf_origin *o = origin_of(c, line);
	const char *file = o ? o->name : c->file;
	int n = line > 0 ? snprintf(c->err, RWD_CONF_ERRLEN, "%s:%d: ", file, cf_ln(c, line))
	                 : snprintf(c->err, RWD_CONF_ERRLEN, "%s: ", file);
	if (n >= 0 && n < RWD_CONF_ERRLEN) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err + n, RWD_CONF_ERRLEN - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return RW_ECONF;
}

int cf_nomem(struct ctx *c)
{
	snprintf(c->err, RWD_CONF_ERRLEN, "%s: out of memory", c->file);
	return RW_ENOMEM;
}

/* User text for a message: printable ASCII only, at most max characters. */
static const char *show_max(const char *s, char *buf, size_t max)
{
	size_t i;
	for (i = 0; s[i] && i < max; i++) {
		unsigned char ch = (unsigned char)s[i];
		buf[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	if (s[i])
		memcpy(buf + max - 3, "...", 3);
	buf[i] = '\0';
	return buf;
}

const char *cf_show(const char *s, char buf[68])
{
	return show_max(s, buf, 64);
}

const char *cf_show_path(const char *s, char buf[260])
{
	return show_max(s, buf, 255);
}

void cf_fmt_ms(unsigned long long ms, char *buf, size_t n)
{
	if (ms && ms % 3600000 == 0)
		snprintf(buf, n, "%lluh", ms / 3600000);
	else if (ms && ms % 60000 == 0)
		snprintf(buf, n, "%llum", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(buf, n, "%llus", ms / 1000);
	else
		snprintf(buf, n, "%llums", ms);
}

static bool digits(const char **s, unsigned long long *v);

/* Bytes as the shortest exact K_SIZE text ("4G", "1500"). */
static void fmt_size(unsigned long long v, char *buf, size_t n)
{
	static const char units[] = "kMGT";
	int u = -1;
	while (u < 3 && v && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, n, "%llu", v);
	else
		snprintf(buf, n, "%llu%c", v, units[u]);
}

/* "4096", "64k", "4G" (powers of 1024) -> bytes; false when malformed or past 2^63. */
static bool parse_size(const char *s, unsigned long long *v)
{
	static const char units[] = "kMGT";
	const char *p = s;
	if (!digits(&p, v))
		return false;
	if (*p == '\0')
		return true;
	const char *u = strchr(units, *p);
	if (u == NULL || p[1] != '\0')
		return false;
	for (long i = 0; i <= u - units; i++) {
		if (*v > (1ull << 53))
			return false;
		*v *= 1024;
	}
	return true;
}

/* What a row accepts, as a noun phrase: the docs' type column and "expected ..." in errors. */
static const char *describe(const struct opt *o, char buf[128])
{
	char lo[32], hi[32];
	switch (o->kind) {
	case K_SECTION:  return "mapping";
	case K_LIST:
		if (o->shorthand) {
			snprintf(buf, 128, "list of mappings or of `%s` values", o->shorthand);
			return buf;
		}
		return "list of mappings";
	case K_MAP:
		return o->dname_keys ? "mapping of domain names to mappings"
		                     : "mapping of names to mappings";
	case K_LISTFILE: return "file path (YAML list)";
	case K_UINT:
		snprintf(buf, 128, "integer %llu..%llu", o->min, o->max);
		return buf;
	case K_SIZE:
		fmt_size(o->min, lo, sizeof(lo));
		fmt_size(o->max, hi, sizeof(hi));
		snprintf(buf, 128, "size %s..%s (bytes; k, M, G, T: powers of 1024)", lo, hi);
		return buf;
	case K_DURATION:
		cf_fmt_ms(o->min, lo, sizeof(lo));
		cf_fmt_ms(o->max, hi, sizeof(hi));
		snprintf(buf, 128, "duration %s..%s", lo, hi);
		return buf;
	case K_LISTEN:   return "address or list of addresses";
	case K_NSID:     snprintf(buf, 128, "string or 0x-hex, 1..%d bytes", MAX_NSID); return buf;
	case K_DNAME:
	case K_WIRENAME: return "domain name";
	case K_PATH:
	case K_FILE:     return "file path";
	case K_LATENCY:  return "file path (CSV)";
	case K_BOOL:     return "boolean (true or false)";
	case K_ENUM: {
		size_t n = (size_t)snprintf(buf, 128, "one of");
		for (size_t i = 0; o->choices[i] && n < 128; i++)
			n += (size_t)snprintf(buf + n, 128 - n, "%s %s",
			                      i == 0 ? "" : o->choices[i + 1] ? "," : " or", o->choices[i]);
		return buf;
	}
	case K_STRING:   return "string without control characters";
	case K_FLOAT:
		snprintf(buf, 128, "number %g..%g", o->fmin, o->fmax);
		return buf;
	case K_REF:
		for (int i = 0; i < N_OPTS; i++)
			if (!strcmp(schema[i].path, o->ref)) {
				snprintf(buf, 128, "%s name", schema[i].noun);
				return buf;
			}
		return "name";
	case K_STATUS:   return "status code 100..599 or a list of up to 8";
	case K_QTYPE:    return "record type (A, AAAA, SOA, ...)";
	case K_RCODE:    return "response code (NOERROR, NXDOMAIN, ...)";
	case K_ADDRS:    return "IP address or list of IP addresses";
	case K_PREFIX:   return "CIDR prefix";
	case K_CODE:
		return o->min == RWD_GEO_CONTINENT ? "continent code (AF AN AS EU NA OC SA)"
		     : o->min == RWD_GEO_COUNTRY ? "country code (two letters)"
		     : "subdivision code (1..3 letters or digits)";
	case K_POLICY:   return "policy";
	case K_ACLS:     return "mapping of names to lists of prefixes";
	case K_ACL:      return "list of prefixes, addresses, ACL names, any or none";
	case K_VIEW_TRAFFIC: return "mapping of traffic names, as `traffic`";
	case K_BASE64:   return "base64 string";
	case K_KEYREF:   return "TSIG key name";
	case K_SOCKADDR: return "address (`ADDR:PORT`, `[ADDR6]:PORT` or `ADDR`)";
	}
	return "?";
}

int cf_expected(struct ctx *c, const struct opt *o, int line)
{
	char buf[128];
	const char *what = describe(o, buf);
	const char *article = !strncmp(what, "one of", 6) ? ""
	                    : strchr("aeiouAEIOU", what[0]) ? "an " : "a ";
	return cf_fail(c, line, "%s: expected %s%s", o->path, article, what);
}

/* ---- schema navigation ---- */

/* Row of key directly under row parent (-1: the top level), or -1. */
static int find_child(int parent, const char *key)
{
	size_t plen = parent < 0 ? 0 : strlen(schema[parent].path) + 1;
	for (int i = 0; i < N_OPTS; i++) {
		const char *p = schema[i].path;
		if (parent >= 0 && (strncmp(p, schema[parent].path, plen - 1) || p[plen - 1] != '.'))
			continue;
		if (strchr(p + plen, '.') == NULL && strcmp(p + plen, key) == 0)
			return i;
	}
	return -1;
}

static int parent_of(int i)
{
	const char *dot = strrchr(schema[i].path, '.');
	if (!dot)
		return -1;
	size_t n = (size_t)(dot - schema[i].path);
	for (int j = 0; j < N_OPTS; j++)
		if (strlen(schema[j].path) == n && !strncmp(schema[j].path, schema[i].path, n))
			return j;
	return -1;
}

static bool is_list_kind(enum kind k)
{
	return k == K_LIST || k == K_MAP || k == K_LISTFILE;
}

/* The list row whose element struct holds row i's value, or -1 for the top level. */
static int scope_of(int i)
{
	for (int p = parent_of(i); p >= 0; p = parent_of(p))
		if (is_list_kind(schema[p].kind))
			return p;
	return -1;
}

/* True for rows of a model section (their top level is struct rwd_model). */
static bool in_model(int i)
{
	while (parent_of(i) >= 0)
		i = parent_of(i);
	return schema[i].model;
}

/* Precomputed: the walker asks for every row once per list element. */
static struct {
	int scope[N_OPTS];
	bool model[N_OPTS];
} row_info;
static pthread_once_t row_info_once = PTHREAD_ONCE_INIT;

static void init_row_info(void)
{
	for (int i = 0; i < N_OPTS; i++) {
		row_info.scope[i] = scope_of(i);
		row_info.model[i] = in_model(i);
	}
}

static int row_scope(int i)
{
	pthread_once(&row_info_once, init_row_info);
	return row_info.scope[i];
}

static bool row_model(int i)
{
	pthread_once(&row_info_once, init_row_info);
	return row_info.model[i];
}

int cf_row_of(const char *path)
{
	for (int i = 0; i < N_OPTS; i++)
		if (!strcmp(schema[i].path, path))
			return i;
	return -1;
}

const struct opt *cf_opt(int row)
{
	return &schema[row];
}

int cf_was_set(struct ctx *c, const char *path)
{
	int i = cf_row_of(path);
	return i < 0 ? 0 : c->seen[i];
}

static void *at(void *base, size_t off)
{
	return (char *)base + off;
}

static size_t get_count(const struct opt *o, void *base)
{
	if (o->cnt_size == sizeof(unsigned))
		return *(unsigned *)at(base, o->off2);
	return *(size_t *)at(base, o->off2);
}

static void set_count(const struct opt *o, void *base, size_t n)
{
	if (o->cnt_size == sizeof(unsigned))
		*(unsigned *)at(base, o->off2) = (unsigned)n;
	else
		*(size_t *)at(base, o->off2) = n;
}

/* ---- memory: values of model sections go to the model's arena ---- */

void *cf_alloc(struct ctx *c, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	if (!c->arena)
		return calloc(n ? n : 1, size ? size : 1);
	void *p = rw_arena_alloc(c->arena, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

static char *cf_strdup(struct ctx *c, const char *s)
{
	if (!c->arena)
		return strdup(s);
	return rw_arena_memdup(c->arena, s, strlen(s) + 1);
}

/* ---- scalar values ---- */

int cf_line_of(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

yaml_node_t *cf_node_at(struct ctx *c, int index)
{
	return yaml_document_get_node(c->doc, index);
}

/* The text of a scalar node, or NULL if n is not a scalar or holds a NUL ("\0" escape). */
const char *cf_scalar(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || strlen((char *)n->data.scalar.value) != n->data.scalar.length)
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* An empty value ("key:" or "key: ~"): accepted as an empty section or list. */
bool cf_is_null(const yaml_node_t *n)
{
	const char *s = cf_scalar(n);
	return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"));
}

/* Leading decimal digits of *s (at least one, at most 19 so no overflow); advances *s. */
static bool digits(const char **s, unsigned long long *v)
{
	const char *p = *s;
	*v = 0;
	while (*p >= '0' && *p <= '9') {
		if (p - *s == 19)
			return false;
		*v = *v * 10 + (unsigned long long)(*p++ - '0');
	}
	if (p == *s)
		return false;
	*s = p;
	return true;
}

bool cf_parse_int(const char *s, long long lo, long long hi, long long *v)
{
	bool neg = *s == '-';
	unsigned long long u;
	if (*s == '-' || *s == '+')
		s++;
	if (!digits(&s, &u) || *s || u > (unsigned long long)1 << 62)
		return false;
	*v = neg ? -(long long)u : (long long)u;
	return *v >= lo && *v <= hi;
}

/*
 * [+-]digits[.digits], or [+-].digits, then an optional exponent e[+-]digits
 * (JSON writes small numbers so: 1e-06): no hex, no inf or nan.
 */
static bool parse_float(const char *s, double *v)
{
	const char *p = s;
	size_t n = 0;
	if (*p == '-' || *p == '+')
		p++;
	for (; *p >= '0' && *p <= '9'; p++)
		n++;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			n++;
	if (n > 0 && (*p == 'e' || *p == 'E')) {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		const char *e = p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == e || p - e > 5)
			return false;
	}
	if (n == 0 || *p || n > 64)
		return false;
	*v = strtod(s, NULL);
	return true;
}

static bool parse_duration(const char *s, unsigned long long *ms)
{
	static const struct { const char *unit; unsigned long long ms; } units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	unsigned long long v;
	if (!digits(&s, &v))
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s, units[i].unit) == 0) {
			if (v > ~0ULL / units[i].ms)
				return false;
			*ms = v * units[i].ms;
			return true;
		}
	}
	return false;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9') return ch - '0';
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
	return -1;
}

/* Decode NSID text into a new buffer; 0x + hex means raw bytes. Returns length, 0 if invalid. */
static size_t parse_nsid(const char *s, uint8_t **out)
{
	size_t len = strlen(s);
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	size_t n = hex ? (len - 2) / 2 : len;
	if (n == 0 || n > MAX_NSID || (hex && len % 2))
		return 0;
	if (!(*out = malloc(n)))
		return 0;
	for (size_t i = 0; i < n; i++) {
		int hi = hex ? hexval(s[2 + 2 * i]) : 0, lo = hex ? hexval(s[3 + 2 * i]) : 0;
		if (hi < 0 || lo < 0) {
			free(*out);
			*out = NULL;
			return 0;
		}
		(*out)[i] = hex ? (uint8_t)(hi << 4 | lo) : (uint8_t)s[i];
	}
	return n;
}

static int add_listen(struct ctx *c, const struct opt *o, const char *s, int line, void *base)
{
	struct rw_sockaddr *l = *(struct rw_sockaddr **)at(base, o->off);
	size_t *n = at(base, o->off2);
	if (rw_sockaddr_parse(s, 53, &l[*n]) != 0)
		return cf_expected(c, o, line);
	/* Binding the same address twice would fail later with a vaguer message. */
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(l[i].text, l[*n].text))
			return cf_fail(c, line, "%s: %s is listed twice", o->path, l[i].text);
	(*n)++;
	return 0;
}

static int add_addr(struct ctx *c, const struct opt *o, const char *s, int line, void *base)
{
	struct rwd_endpoint_addr *a = *(struct rwd_endpoint_addr **)at(base, o->off);
	size_t n = get_count(o, base);
	if (rw_addr_parse(s, &a[n].addr) != 0)
		return cf_expected(c, o, line);
	for (size_t i = 0; i < n; i++) {
		if (!memcmp(&a[i].addr, &a[n].addr, sizeof(a[n].addr))) {
			char text[RW_PREFIX_STRLEN];
			inet_ntop(a[n].addr.family, a[n].addr.bytes, text, sizeof(text));
			return cf_fail(c, line, "%s: %s is listed twice", o->path, text);
		}
	}
	set_count(o, base, n + 1);
	return 0;
}

static int add_status(struct ctx *c, const struct opt *o, const char *s, int line, void *base)
{
	uint16_t *v = at(base, o->off);
	size_t n = get_count(o, base);
	long long st;
	if (n == RWD_CHECK_MAX_STATUS || !cf_parse_int(s, 100, 599, &st) || *s == '-' || *s == '+')
		return cf_expected(c, o, line);
	v[n] = (uint16_t)st;
	set_count(o, base, n + 1);
	return 0;
}

/* An absolute path, or one joined to the config's folder; malloc'd (NULL: out of memory). */
static char *resolve_path(struct ctx *c, const char *s)
{
	char *path;
	if (s[0] == '/' || !c->base_dir || !*c->base_dir)
		return strdup(s);
	if (asprintf(&path, "%s%s%s", c->base_dir,
	             c->base_dir[strlen(c->base_dir) - 1] == '/' ? "" : "/", s) < 0)
		return NULL;
	return path;
}

/* An fd open on path, a regular file (O_NONBLOCK: a FIFO must not hang the load), or RW_ECONF. */
static int open_regular(struct ctx *c, const struct opt *o, const char *path, int line,
                        struct stat *st)
{
	char buf[260];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return cf_fail(c, line, "%s: cannot open %s: %s", o->path, cf_show_path(path, buf),
		               strerror(errno));
	if (fstat(fd, st) != 0) {
		int e = errno;
		close(fd);
		return cf_fail(c, line, "%s: cannot read %s: %s", o->path, cf_show_path(path, buf),
		               strerror(e));
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return cf_fail(c, line, "%s: cannot read %s: %s", o->path, cf_show_path(path, buf),
		               S_ISDIR(st->st_mode) ? strerror(EISDIR) : "not a regular file");
	}
	return fd;
}

static int too_large(struct ctx *c, const struct opt *o, const char *path, int line)
{
	char buf[260];
	return cf_fail(c, line, "%s: %s is larger than %zu MiB", o->path, cf_show_path(path, buf),
	               MAX_FILE >> 20);
}

int cf_read_whole(struct ctx *c, const struct opt *o, const char *path, int line, char **data,
                  size_t *len)
{
	struct stat st;
	char buf[260];
	int fd = open_regular(c, o, path, line, &st);
	if (fd < 0)
		return fd;
	if ((size_t)st.st_size > MAX_FILE) {
		close(fd);
		return too_large(c, o, path, line);
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *d = malloc(cap);
	if (!d) {
		close(fd);
		return cf_nomem(c);
	}
	for (;;) {
		if (n + 1 == cap) {   /* the file grew since fstat */
			char *p = cap > MAX_FILE ? NULL : realloc(d, 2 * cap);
			if (!p) {
				bool big = cap > MAX_FILE;
				free(d);
				close(fd);
				return big ? too_large(c, o, path, line) : cf_nomem(c);
			}
			d = p;
			cap *= 2;
		}
		ssize_t r = read(fd, d + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(d);
			close(fd);
			return cf_fail(c, line, "%s: cannot read %s: %s", o->path,
			               cf_show_path(path, buf), strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	d[n] = '\0';
	*data = d;
	*len = n;
	return 0;
}

static int load_listfile(struct ctx *c, int i, const char *path, int line, void *base);

static const struct { const char *name; int rcode; } rcodes[] = {
	{ "NOERROR", 0 }, { "FORMERR", 1 }, { "SERVFAIL", 2 }, { "NXDOMAIN", 3 }, { "NOTIMP", 4 },
	{ "REFUSED", 5 }, { "YXDOMAIN", 6 }, { "YXRRSET", 7 }, { "NXRRSET", 8 }, { "NOTAUTH", 9 },
	{ "NOTZONE", 10 },
};

const char *cf_rcode_name(int rcode)
{
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++)
		if (rcodes[i].rcode == rcode)
			return rcodes[i].name;
	return NULL;
}

static bool is_code_char(char ch, bool letters_only)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (!letters_only && ch >= '0' && ch <= '9');
}

/*
 * Store scalar text s for leaf row o into base. Also used for defaults
 * (line 0), so a default goes through the very checks a user value does.
 */
static int set_scalar(struct ctx *c, const struct opt *o, const char *s, int line, void *base)
{
	unsigned long long v = 0;
	const char *p = s;

	switch (o->kind) {
	case K_UINT:
	case K_DURATION:
	case K_SIZE:
		if (!(o->kind == K_UINT ? digits(&p, &v) && !*p
		      : o->kind == K_SIZE ? parse_size(s, &v) : parse_duration(s, &v)) ||
		    v < o->min || v > o->max)
			return cf_expected(c, o, line);
		/* max fits the field: the schema rows are written that way. */
		switch (o->size) {
		case 1: *(uint8_t *)at(base, o->off) = (uint8_t)v; break;
		case 2: *(uint16_t *)at(base, o->off) = (uint16_t)v; break;
		case 4: *(uint32_t *)at(base, o->off) = (uint32_t)v; break;
		default: *(uint64_t *)at(base, o->off) = v; break;
		}
		return 0;
	case K_LISTEN:
		if (!(*(void **)at(base, o->off) = calloc(1, sizeof(struct rw_sockaddr))))
			return cf_nomem(c);
		return add_listen(c, o, s, line, base);
	case K_NSID: {
		uint8_t *buf = NULL;
		size_t n = parse_nsid(s, &buf);
		if (n == 0)
			return cf_expected(c, o, line);
		*(uint8_t **)at(base, o->off) = buf;
		*(size_t *)at(base, o->off2) = n;
		return 0;
	}
	case K_DNAME: {
		/* libknot's parser for now; rw_dname_from_str can replace it once in lib. */
		uint8_t wire[KNOT_DNAME_MAXLEN];
		char text[KNOT_DNAME_TXT_MAXLEN + 1];
		if (!knot_dname_from_str(wire, s, sizeof(wire)) ||
		    !knot_dname_to_str(text, wire, sizeof(text)))
			return cf_expected(c, o, line);
		if (!(*(char **)at(base, o->off) = cf_strdup(c, text)))
			return cf_nomem(c);
		knot_dname_to_lower(wire);
		memcpy(at(base, o->off2), wire, knot_dname_size(wire));
		return 0;
	}
	case K_WIRENAME: {
		uint8_t wire[RW_DNAME_MAXLEN];
		int n = *s ? rw_dname_from_str(s, NULL, wire) : RW_EMALFORMED;
		if (n < 1)
			return cf_expected(c, o, line);
		rw_dname_lower(wire);
		memcpy(at(base, o->off), wire, (size_t)n);
		if (o->off2 != NONE)
			*(uint8_t *)at(base, o->off2) = (uint8_t)n;
		return 0;
	}
	case K_PATH:
	case K_FILE:
	case K_LISTFILE:
	case K_LATENCY: {
		if (!*s)
			return cf_expected(c, o, line);
		char *path = resolve_path(c, s);
		int rc = 0;
		if (!path)
			return cf_nomem(c);
		if (o->kind == K_FILE) {
			struct stat st;
			int fd = open_regular(c, o, path, line, &st);
			if (fd < 0) {
				free(path);
				return fd;
			}
			close(fd);
		}
		if (o->kind == K_LISTFILE)
			rc = load_listfile(c, (int)(o - schema), path, line, base);
		else if (o->kind == K_LATENCY)
			rc = cf_load_latency(c, o, path, line, base);
		else if (!(*(char **)at(base, o->off) = cf_strdup(c, path)))
			rc = cf_nomem(c);
		free(path);
		return rc;
	}
	case K_BOOL:
		if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
			*(bool *)at(base, o->off) = true;
		else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
			*(bool *)at(base, o->off) = false;
		else
			return cf_expected(c, o, line);
		return 0;
	case K_ENUM:
		for (int i = 0; o->choices[i]; i++) {
			if (!strcmp(s, o->choices[i])) {
				*(int *)at(base, o->off) = i;
				return 0;
			}
		}
		return cf_expected(c, o, line);
	case K_STRING: {
		size_t n = strlen(s);
		if (n == 0 || n > MAX_STRING)
			return cf_expected(c, o, line);
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return cf_expected(c, o, line);
		if (!(*(char **)at(base, o->off) = cf_strdup(c, s)))
			return cf_nomem(c);
		return 0;
	}
	case K_FLOAT: {
		double d;
		if (!parse_float(s, &d) || d < o->fmin || d > o->fmax)
			return cf_expected(c, o, line);
		*(double *)at(base, o->off) = d;
		return 0;
	}
	case K_REF: {
		char buf[68];
		int r = cf_row_of(o->ref);
		void *e = cf_lookup(c, r, s);
		if (!e)
			return cf_fail(c, line, "unknown %s '%s'", schema[r].noun, cf_show(s, buf));
		*(void **)at(base, o->off) = e;
		return 0;
	}
	case K_STATUS:
		set_count(o, base, 0);
		return add_status(c, o, s, line, base);
	case K_QTYPE: {
		uint16_t t;
		if (knot_rrtype_from_string(s, &t) != 0 || t == 0)
			return cf_expected(c, o, line);
		*(uint16_t *)at(base, o->off) = t;
		return 0;
	}
	case K_RCODE:
		for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++) {
			if (!strcasecmp(s, rcodes[i].name)) {
				*(int *)at(base, o->off) = rcodes[i].rcode;
				return 0;
			}
		}
		return cf_expected(c, o, line);
	case K_ADDRS:
		if (!(*(void **)at(base, o->off) = cf_alloc(c, 1, sizeof(struct rwd_endpoint_addr))))
			return cf_nomem(c);
		set_count(o, base, 0);
		return add_addr(c, o, s, line, base);
	case K_PREFIX: {
		char buf[68];
		int rc = rw_prefix_parse(s, at(base, o->off), at(base, o->off2));
		if (rc == RW_EINVAL)
			return cf_fail(c, line, "%s: %s has host bits set", o->path, cf_show(s, buf));
		return rc ? cf_expected(c, o, line) : 0;
	}
	case K_CODE: {
		size_t n = strlen(s);
		char *out = at(base, o->off);
		if (o->min == RWD_GEO_SUBDIVISION) {
			if (n < 1 || n > 3)
				return cf_expected(c, o, line);
		} else {
			char code[8];
			enum rwd_geo_level level;
			char forced[16];
			snprintf(forced, sizeof(forced), "%s:%.3s",
			         o->min == RWD_GEO_CONTINENT ? "continent" : "country", s);
			if (n != 2 || rwd_geo_code_parse(forced, &level, code) != 0)
				return cf_expected(c, o, line);
		}
		for (size_t i = 0; i < n; i++) {
			if (!is_code_char(s[i], o->min != RWD_GEO_SUBDIVISION))
				return cf_expected(c, o, line);
			out[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 32) : s[i];
		}
		out[n] = '\0';
		return 0;
	}
	case K_SECTION:
	case K_LIST:
	case K_MAP:
	case K_ACL:
		rwd_acl_free(at(base, o->off));
		return cf_acl_add(c, o, s, line, at(base, o->off));
	case K_BASE64: {
		uint8_t *bytes;
		size_t n;
		if (strlen(s) > MAX_STRING || !cf_base64(s, &bytes, &n))
			return cf_expected(c, o, line);
		free(*(uint8_t **)at(base, o->off));
		*(uint8_t **)at(base, o->off) = bytes;
		*(size_t *)at(base, o->off2) = n;
		return 0;
	}
	case K_KEYREF: {
		uint8_t wire[RW_DNAME_MAXLEN];
		char buf[68];
		int n = *s ? rw_dname_from_str(s, NULL, wire) : RW_EMALFORMED;
		if (n < 1)
			return cf_expected(c, o, line);
		rw_dname_lower(wire);
		for (size_t i = 0; i < c->conf->n_tsig_keys; i++) {
			const struct rwd_conf_tsig_key *k = &c->conf->tsig_keys[i];
			if (!memcmp(k->dname, wire, (size_t)n)) {
				*(const struct rwd_conf_tsig_key **)at(base, o->off) = k;
				return 0;
			}
		}
		return cf_fail(c, line, "%s: unknown TSIG key '%s' (not in tsig_keys)", o->path,
		               cf_show(s, buf));
	}
	case K_SOCKADDR:
		if (rw_sockaddr_parse(s, 53, at(base, o->off)) != 0)
			return cf_expected(c, o, line);
		return 0;
	case K_POLICY:
	case K_ACLS:
	case K_VIEW_TRAFFIC:
		break;
	}
	return cf_expected(c, o, line);
}

/* ---- the walker ---- */

static int parse_map(struct ctx *c, int parent, yaml_node_t *map, void *base);

/*
 * Defaults and required keys for every row filled into base (scope: a list
 * row, or -1 for the top level: then rows of struct rwd_conf when model is
 * false, rows of struct rwd_model when it is true).
 */
static int finish(struct ctx *c, int scope, void *base, int line, bool model)
{
	for (int i = 0; i < N_OPTS; i++) {
		const struct opt *o = &schema[i];
		if (c->seen[i] || row_scope(i) != scope || (scope < 0 && row_model(i) != model) ||
		    o->kind == K_SECTION || is_list_kind(o->kind))
			continue;
		if (o->def) {
			int rc = set_scalar(c, o, o->def, 0, base);
			if (rc)
				return rc;
		} else if (o->required) {
			int p = parent_of(i);
			return cf_fail(c, line, "missing required key '%s' in %s",
			               o->path + strlen(schema[p].path) + 1, schema[p].path);
		}
	}
	return 0;
}

static void reset_scope(struct ctx *c, int i)
{
	for (int j = 0; j < N_OPTS; j++)
		if (row_scope(j) == i)
			c->seen[j] = 0;
}

/* Also for the contents of a K_LISTFILE file (the row itself takes a path). */
static int list_expected(struct ctx *c, const struct opt *o, int line)
{
	char buf[128];
	return cf_fail(c, line, "%s: expected a %s", o->path, o->kind == K_LIST ? describe(o, buf)
	               : "list of mappings");
}

/* An item of a list with a shorthand, written as a scalar: the value of that key. */
static int parse_shorthand(struct ctx *c, int i, yaml_node_t *e, void *elem)
{
	int k = find_child(i, schema[i].shorthand);
	const char *s = cf_scalar(e);
	c->seen[k] = cf_line_of(e);
	return s ? set_scalar(c, &schema[k], s, cf_line_of(e), elem)
	         : cf_expected(c, &schema[k], cf_line_of(e));
}

static int parse_list(struct ctx *c, int i, yaml_node_t *v, void *base)
{
	const struct opt *o = &schema[i];
	if (cf_is_null(v))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return list_expected(c, o, cf_line_of(v));
	yaml_node_item_t *items = v->data.sequence.items.start;
	size_t n = (size_t)(v->data.sequence.items.top - items);
	if (n == 0)
		return 0;
	char *elems = cf_alloc(c, n, o->size);
	int *lines = calloc(n, sizeof(*lines));
	if (!elems || !lines) {
		if (!c->arena)
			free(elems);
		free(lines);
		return cf_nomem(c);
	}
	/* Attach first: on error rwd_conf_free() cleans up the zeroed rest too. */
	*(void **)at(base, o->off) = elems;
	set_count(o, base, n);
	int rc = 0;
	for (size_t k = 0; k < n && !rc; k++) {
		yaml_node_t *e = cf_node_at(c, items[k]);
		void *elem = elems + k * o->size;
		lines[k] = cf_line_of(e);
		bool scalar = o->shorthand && e->type == YAML_SCALAR_NODE;
		if (e->type != YAML_MAPPING_NODE && !scalar) {
			rc = list_expected(c, o, lines[k]);
			break;
		}
		if (o->line_off != NONE)
			*(int *)at(elem, o->line_off) = lines[k];
		reset_scope(c, i);
		rc = scalar ? parse_shorthand(c, i, e, elem) : parse_map(c, i, e, elem);
		if (!rc)
			rc = finish(c, i, elem, lines[k], false);
		if (!rc && o->elem_check)
			rc = o->elem_check(c, o, elem, lines[k]);
	}
	if (!rc && o->check) {
		c->lines = lines;
		rc = o->check(c, o, base);
		c->lines = NULL;
	}
	free(lines);
	return rc;
}

bool cf_good_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_code_char(s[i], false) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

static const char *name_at(const struct opt *o, const void *elem)
{
	return *(char *const *)((const char *)elem + o->key_off);
}

static int cmp_named(const void *a, const void *b, void *arg)
{
	const struct opt *o = arg;
	const void *x = *(void *const *)a, *y = *(void *const *)b;
	int d = strcmp(name_at(o, x), name_at(o, y));
	return d ? d : (x > y) - (x < y);   /* ties in file order */
}

void *cf_lookup(struct ctx *c, int row, const char *name)
{
	const struct opt *o = &schema[row];
	size_t lo = 0, hi = c->n_index[row];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = strcmp(name, name_at(o, c->index[row][mid]));
		if (d == 0)
			return c->index[row][mid];
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Sort the entries of K_MAP row i by name, for cf_lookup(); names are unique. */
static int index_named(struct ctx *c, int i, char *elems, size_t n)
{
	const struct opt *o = &schema[i];
	void **v = malloc(n * sizeof(*v));
	if (!v)
		return cf_nomem(c);
	for (size_t k = 0; k < n; k++)
		v[k] = elems + k * o->size;
	qsort_r(v, n, sizeof(*v), cmp_named, (void *)o);
	c->index[i] = v;
	c->n_index[i] = n;
	/* In each run of equal names the first is first in the file; report the
	 * repeat that comes first in the file. */
	const void *dup = NULL, *first = NULL;
	for (size_t k = 1, start = 0; k < n; k++) {
		if (strcmp(name_at(o, v[start]), name_at(o, v[k])))
			start = k;
		else if (k == start + 1 && (!dup || v[k] < dup))
			dup = v[k], first = v[start];
	}
	if (dup) {
		char buf[68];
		return cf_fail(c, *(const int *)((const char *)dup + o->line_off),
		               "duplicate %s '%s' (first on line %d)", o->noun, cf_show(name_at(o, dup), buf),
		               cf_ln(c, *(const int *)((const char *)first + o->line_off)));
	}
	return 0;
}

/* A mapping of names to mappings: one element each, named by its key. */
static int parse_named(struct ctx *c, int i, yaml_node_t *v, void *base)
{
	const struct opt *o = &schema[i];
	char buf[68];
	if (cf_is_null(v))
		return 0;
	if (v->type != YAML_MAPPING_NODE)
		return cf_expected(c, o, cf_line_of(v));
	yaml_node_pair_t *pairs = v->data.mapping.pairs.start;
	size_t n = (size_t)(v->data.mapping.pairs.top - pairs);
	if (n == 0)
		return 0;
	char *elems = cf_alloc(c, n, o->size);
	if (!elems)
		return cf_nomem(c);
	*(void **)at(base, o->off) = elems;
	set_count(o, base, n);
	for (size_t k = 0; k < n; k++) {
		yaml_node_t *key = cf_node_at(c, pairs[k].key);
		yaml_node_t *val = cf_node_at(c, pairs[k].value);
		const char *s = cf_scalar(key);
		void *elem = elems + k * o->size;
		int line = cf_line_of(key), rc;
		if (!s)
			return cf_fail(c, line, "keys must be plain names (in %s)", o->path);
		if (o->dname_keys) {
			uint8_t wire[RW_DNAME_MAXLEN];
			int len = *s ? rw_dname_from_str(s, NULL, wire) : RW_EMALFORMED;
			if (len < 1)
				return cf_fail(c, line, "%s: '%s' is not a domain name", o->path,
				               cf_show(s, buf));
			rw_dname_lower(wire);
			memcpy(at(elem, o->key_off), wire, (size_t)len);
			if (o->key_off2 != NONE)
				*(uint8_t *)at(elem, o->key_off2) = (uint8_t)len;
		} else {
			if (!cf_good_name(s))
				return cf_fail(c, line, "%s: bad name '%s' (1..63 letters, digits, '-', '_' "
				               "or '.')", o->path, cf_show(s, buf));
			if (!(*(char **)at(elem, o->key_off) = cf_strdup(c, s)))
				return cf_nomem(c);
		}
		*(int *)at(elem, o->line_off) = line;
		reset_scope(c, i);
		rc = parse_map(c, i, val, elem);
		if (!rc)
			rc = finish(c, i, elem, line, false);
		if (!rc && o->elem_check)
			rc = o->elem_check(c, o, elem, line);
		if (rc)
			return rc;
	}
	if (!o->dname_keys) {
		int rc = index_named(c, i, elems, n);
		if (rc)
			return rc;
	}
	return o->check ? o->check(c, o, base) : 0;
}

static int parse_listen(struct ctx *c, const struct opt *o, yaml_node_t *v, void *base)
{
	if (v->type != YAML_SEQUENCE_NODE) {
		const char *s = cf_scalar(v);
		return s ? set_scalar(c, o, s, cf_line_of(v), base) : cf_expected(c, o, cf_line_of(v));
	}
	yaml_node_item_t *items = v->data.sequence.items.start;
	size_t n = (size_t)(v->data.sequence.items.top - items);
	if (n == 0)
		return cf_expected(c, o, cf_line_of(v));
	if (n > MAX_LISTEN)
		return cf_fail(c, cf_line_of(v), "%s: more than %d addresses", o->path, MAX_LISTEN);
	if (!(*(void **)at(base, o->off) = calloc(n, sizeof(struct rw_sockaddr))))
		return cf_nomem(c);
	for (size_t k = 0; k < n; k++) {
		yaml_node_t *e = cf_node_at(c, items[k]);
		const char *s = cf_scalar(e);
		int rc = s ? add_listen(c, o, s, cf_line_of(e), base) : cf_expected(c, o, cf_line_of(e));
		if (rc)
			return rc;
	}
	return 0;
}

/* A list of scalars for K_ADDRS or K_STATUS (a single scalar goes to set_scalar). */
static int parse_scalars(struct ctx *c, const struct opt *o, yaml_node_t *v, void *base)
{
	yaml_node_item_t *items = v->data.sequence.items.start;
	size_t n = (size_t)(v->data.sequence.items.top - items);
	if (n == 0)
		return cf_expected(c, o, cf_line_of(v));
	if (o->kind == K_ADDRS) {
		if (n > MAX_ADDRS)
			return cf_fail(c, cf_line_of(v), "%s: more than %d addresses", o->path, MAX_ADDRS);
		if (!(*(void **)at(base, o->off) = cf_alloc(c, n, sizeof(struct rwd_endpoint_addr))))
			return cf_nomem(c);
	}
	set_count(o, base, 0);
	for (size_t k = 0; k < n; k++) {
		yaml_node_t *e = cf_node_at(c, items[k]);
		const char *s = cf_scalar(e);
		int rc = !s ? cf_expected(c, o, cf_line_of(e))
		       : o->kind == K_ADDRS ? add_addr(c, o, s, cf_line_of(e), base)
		       : add_status(c, o, s, cf_line_of(e), base);
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_value(struct ctx *c, int i, yaml_node_t *v, void *base)
{
	const struct opt *o = &schema[i];
	const char *s;
	switch (o->kind) {
	case K_SECTION: {
		int rc = parse_map(c, i, v, base);
		return !rc && o->check ? o->check(c, o, base) : rc;
	}
	case K_LIST:
		return parse_list(c, i, v, base);
	case K_MAP:
		return parse_named(c, i, v, base);
	case K_LISTEN:
		return parse_listen(c, o, v, base);
	case K_POLICY:
		return cf_parse_policy(c, o, v, base);
	case K_VIEW_TRAFFIC:       /* read by load_view_traffic, once endpoints are known */
		return cf_is_null(v) || v->type == YAML_MAPPING_NODE ? 0
		     : cf_expected(c, o, cf_line_of(v));
	case K_ACLS:
		return cf_parse_acls(c, o, v, base);
	case K_ACL:
		return cf_parse_acl(c, o, v, base);
	case K_ADDRS:
	case K_STATUS:
		if (v->type == YAML_SEQUENCE_NODE)
			return parse_scalars(c, o, v, base);
		/* fall through */
	default:
		s = cf_scalar(v);
		return s ? set_scalar(c, o, s, cf_line_of(v), base) : cf_expected(c, o, cf_line_of(v));
	}
}

/*
 * A mapping for row parent (-1: the whole file): each key must be a row
 * under it. Model sections at the top level are only noted here.
 */
static int parse_map(struct ctx *c, int parent, yaml_node_t *map, void *base)
{
	const char *where = parent < 0 ? "the top level" : schema[parent].path;
	char buf[68];

	if (cf_is_null(map))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return parent < 0 ? cf_fail(c, cf_line_of(map), "the top level must be a mapping")
		                  : cf_expected(c, &schema[parent], cf_line_of(map));
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = cf_node_at(c, p->key);
		yaml_node_t *v = cf_node_at(c, p->value);
		const char *key = cf_scalar(k);
		if (!key)
			return cf_fail(c, cf_line_of(k), "keys must be plain names (in %s)", where);
		int i = find_child(parent, key);
		if (i < 0)
			return cf_fail(c, cf_line_of(k), "unknown key '%s' in %s", cf_show(key, buf), where);
		if (c->seen[i])
			return cf_fail(c, cf_line_of(k), "duplicate key '%s' in %s (first on line %d)",
			               key, where, cf_ln(c, c->seen[i]));
		c->seen[i] = cf_line_of(k);
		if (parent < 0 && (schema[i].model || schema[i].kind == K_ACLS || schema[i].early)) {
			c->deferred[i] = v;       /* model: after the rest; ACLs, keys: read already */
			continue;
		}
		int rc = parse_value(c, i, v, base);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * `acls:` and `tsig_keys:` (rows marked early) before everything else,
 * wherever they stand in the file, so that any option can name an ACL or a
 * key. A repeated key is found by parse_map later (the first is read here).
 */
static int parse_acls_first(struct ctx *c, yaml_node_t *root, struct rwd_conf *conf)
{
	if (root->type != YAML_MAPPING_NODE)
		return 0;                     /* parse_map says what is wrong */
	for (int row = 0; row < N_OPTS; row++) {
		if (schema[row].kind != K_ACLS && !schema[row].early)
			continue;
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
		     p < root->data.mapping.pairs.top; p++) {
			const char *key = cf_scalar(cf_node_at(c, p->key));
			if (key && !strcmp(key, schema[row].path)) {
				int rc = parse_value(c, row, cf_node_at(c, p->value), conf);
				if (rc)
					return rc;
				break;
			}
		}
	}
	return 0;
}

/* ---- checks across values ---- */

static int cmp_zone(const void *a, const void *b)
{
	const struct rwd_conf_zone *x = *(const struct rwd_conf_zone *const *)a;
	const struct rwd_conf_zone *y = *(const struct rwd_conf_zone *const *)b;
	int d = memcmp(x->dname, y->dname, sizeof(x->dname));
	return d ? d : (x > y) - (x < y);  /* ties in file order */
}

/* cookies.secret: 16 bytes as 32 hex digits (an 0x in front is allowed). */
static int check_cookies(struct ctx *c, const struct opt *o, void *base)
{
	struct rwd_conf *conf = base;
	const char *s = conf->cookie_secret_text;
	if (s == NULL)
		return 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	size_t n = strlen(s);
	for (size_t i = 0; n == 2 * sizeof(conf->cookie_secret) && i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')))
			n = 0;
	if (n != 2 * sizeof(conf->cookie_secret))
		return cf_fail(c, cf_was_set(c, "cookies.secret"),
		               "cookies.secret: expected 32 hex digits (16 bytes)");
	for (size_t i = 0; i < sizeof(conf->cookie_secret); i++) {
		unsigned hi = (unsigned)(s[2 * i] | 0x20), lo = (unsigned)(s[2 * i + 1] | 0x20);
		hi = hi <= '9' ? hi - '0' : hi - 'a' + 10;
		lo = lo <= '9' ? lo - '0' : lo - 'a' + 10;
		conf->cookie_secret[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* dnstap: exactly one output; a socket path fits in sun_path. Runs before defaults. */
static int check_dnstap(struct ctx *c, const struct opt *o, void *base)
{
	struct rwd_conf *conf = base;
	int file = cf_was_set(c, "dnstap.file"), sock = cf_was_set(c, "dnstap.socket");
	int queries = cf_was_set(c, "dnstap.log_queries");
	int responses = cf_was_set(c, "dnstap.log_responses");
	int line = c->seen[cf_row_of(o->path)];
	if (file && sock)
		return cf_fail(c, file > sock ? file : sock,
		               "dnstap: give either file or socket, not both");
	if (!file && !sock)
		return cf_fail(c, line, "dnstap: needs file or socket");
	if (sock && strlen(conf->dnstap.socket) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return cf_fail(c, sock, "dnstap.socket: path longer than %zu bytes",
		               sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	if (conf->dnstap.identity && strlen(conf->dnstap.identity) > 255)
		return cf_fail(c, cf_was_set(c, "dnstap.identity"), "dnstap.identity: longer than 255 bytes");
	if (queries && responses && !conf->dnstap.log_queries && !conf->dnstap.log_responses)
		return cf_fail(c, queries, "dnstap: log_queries and log_responses are both false");
	return 0;
}

/*
 * Zone names are unique in a list (top-level `zones`, or a view's): sort
 * (n log n, configs can list many zones), then look at neighbours.
 */
static int check_zones(struct ctx *c, const struct opt *o, void *base)
{
	struct rwd_conf_zone *zones = *(struct rwd_conf_zone **)at(base, o->off);
	size_t n = get_count(o, base);
	const struct rwd_conf_zone **v = malloc((n ? n : 1) * sizeof(*v));
	const struct rwd_conf_zone *dup = NULL, *first = NULL;
	if (!v)
		return cf_nomem(c);
	for (size_t i = 0; i < n; i++)
		v[i] = &zones[i];
	qsort(v, n, sizeof(*v), cmp_zone);
	/* In each run of equal names, v[start] is the first in the file and the
	 * next one its first repeat; report the repeat that comes first in the file. */
	for (size_t i = 1, start = 0; i < n; i++) {
		if (memcmp(v[start]->dname, v[i]->dname, sizeof(v[i]->dname)))
			start = i;
		else if (i == start + 1 && (!dup || v[i] < dup))
			dup = v[i], first = v[start];
	}
	free(v);
	if (dup)
		return cf_fail(c, dup->line, "duplicate zone '%s' (first on line %d)", dup->name, first->line);
	return cf_check_catalogs(c, o, zones, n);
}

/* A view: a plain name (it also keys the view's zone changes in the store). */
static int check_view(struct ctx *c, const struct opt *o, void *elem, int line)
{
	struct rwd_conf_view *v = elem;
	char buf[68];
	if (!cf_good_name(v->name))
		return cf_fail(c, cf_was_set(c, "views.name"), "views: bad name '%s' (1..63 letters, "
		               "digits, '-', '_' or '.')", cf_show(v->name, buf));
	for (size_t i = 0; i < v->n_zones; i++)
		v->zones[i].view = v->name;
	return 0;
}

/* View names are unique (views are few: pairs are fine). */
static int check_views(struct ctx *c, const struct opt *o, void *base)
{
	const struct rwd_conf *conf = base;
	for (size_t i = 1; i < conf->n_views; i++)
		for (size_t k = 0; k < i; k++)
			if (!strcmp(conf->views[i].name, conf->views[k].name)) {
				char buf[68];
				return cf_fail(c, conf->views[i].line, "duplicate view '%s' (first on line %d)",
				               cf_show(conf->views[i].name, buf), cf_ln(c, conf->views[k].line));
			}
	return 0;
}

static int cmp_keyline(const void *a, const void *b)
{
	const struct keyline *x = a, *y = b;
	int d = memcmp(x->key, y->key, sizeof(x->key));
	return d ? d : (x->line > y->line) - (x->line < y->line);
}

bool cf_find_dup(struct keyline *v, size_t n, size_t *dup, size_t *first)
{
	bool found = false;
	qsort(v, n, sizeof(*v), cmp_keyline);
	for (size_t i = 1, start = 0; i < n; i++) {
		if (memcmp(v[start].key, v[i].key, sizeof(v[i].key)))
			start = i;
		else if (i == start + 1 && (!found || v[i].line < v[*dup].line))
			*dup = i, *first = start, found = true;
	}
	return found;
}

/* ---- entry points ---- */

static int yaml_error(struct ctx *c, const yaml_parser_t *p, const char *data, size_t len)
{
	int line = (int)p->problem_mark.line + 1;
	if (p->error == YAML_MEMORY_ERROR)
		return cf_nomem(c);
	if (p->error == YAML_READER_ERROR) {  /* bad encoding: only a byte offset is known */
		line = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++)
			line += data[i] == '\n';
	}
	return cf_fail(c, line, "%s", p->problem ? p->problem : "invalid YAML");
}

/* After a first document has been read: there must be no second one. */
static int no_more_documents(struct ctx *c, yaml_parser_t *parser, const char *data, size_t len)
{
	yaml_document_t doc;
	int rc = 0;
	/* Loading the rest also reports syntax errors after a first document. */
	if (!yaml_parser_load(parser, &doc))
		return yaml_error(c, parser, data, len);
	if (yaml_document_get_root_node(&doc))
		rc = cf_fail(c, (int)doc.start_mark.line + 1, "only one YAML document is allowed");
	yaml_document_delete(&doc);
	return rc;
}

/* The file of K_LISTFILE row i: a YAML list, read like a K_LIST; messages name that file. */
static int load_listfile(struct ctx *c, int i, const char *path, int line, void *base)
{
	const char *file = c->file;
	yaml_document_t *outer = c->doc, doc;
	yaml_parser_t parser;
	char *data;
	size_t len;
	int rc = cf_read_whole(c, &schema[i], path, line, &data, &len);
	if (rc)
		return rc;
	if (!yaml_parser_initialize(&parser)) {
		free(data);
		return cf_nomem(c);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	c->file = path;
	if (!yaml_parser_load(&parser, &doc)) {
		rc = yaml_error(c, &parser, data, len);
	} else {
		c->doc = &doc;
		yaml_node_t *root = yaml_document_get_root_node(&doc);
		rc = root ? parse_list(c, i, root, base) : 0;
		yaml_document_delete(&doc);
		c->doc = outer;
		if (!rc && root)
			rc = no_more_documents(c, &parser, data, len);
	}
	c->file = file;
	yaml_parser_delete(&parser);
	free(data);
	return rc;
}

/* The value of key in mapping n, or NULL. */
static yaml_node_t *value_of(struct ctx *c, yaml_node_t *n, const char *key)
{
	if (!n || n->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const char *k = cf_scalar(cf_node_at(c, p->key));
		if (k && !strcmp(k, key))
			return cf_node_at(c, p->value);
	}
	return NULL;
}

/*
 * Each view's own `traffic:`, read with the rows of the top-level section
 * (same checks, same messages) into m->views[k]. The views themselves were
 * read already, one element per item of the `views:` sequence.
 */
static int load_view_traffic(struct ctx *c)
{
	struct rwd_model *m = c->model;
	struct rwd_conf *conf = c->conf;
	yaml_node_t *views = value_of(c, yaml_document_get_root_node(c->doc), "views");
	int row = cf_row_of("traffic"), rc = 0;
	if (!views || views->type != YAML_SEQUENCE_NODE || conf->n_views == 0)
		return 0;
	for (size_t k = 0; k < conf->n_views && !rc; k++) {
		yaml_node_t *item = cf_node_at(c, views->data.sequence.items.start[k]);
		yaml_node_t *t = value_of(c, item, "traffic");
		if (!t || cf_is_null(t))
			continue;
		if (!m->views) {
			if (!(m->views = cf_alloc(c, conf->n_views, sizeof(*m->views))))
				return cf_nomem(c);
			m->n_views = conf->n_views;
		}
		struct rwd_model scratch = { .traffic = NULL };
		c->view = &conf->views[k];
		rc = parse_value(c, row, t, &scratch);
		m->views[k].traffic = scratch.traffic;
		m->views[k].n_traffic = scratch.n_traffic;
		if (!rc)
			rc = cf_finish_view_traffic(c, &m->views[k]);
		c->view = NULL;
	}
	return rc;
}

/* The model sections, in table order, then what needs all of them. */
static int load_model(struct ctx *c)
{
	struct rwd_model *m = c->model;
	int rc = 0;
	c->arena = &m->arena;
	for (int i = 0; i < N_OPTS && !rc; i++)
		if (schema[i].model && c->deferred[i])
			rc = parse_value(c, i, c->deferred[i], m);
	if (!rc)
		rc = finish(c, -1, m, 1, true);
	if (!rc)
		rc = cf_finish_model(c);
	if (!rc)
		rc = load_view_traffic(c);
	c->arena = NULL;
	return rc;
}

static void free_ctx(struct ctx *c)
{
	for (int i = 0; i < N_OPTS; i++)
		free(c->index[i]);
	cf_free_scratch(c);
	free(c->origins);
	free(c->acl_nodes);
	free(c->acl_state);
}

/* rwd_conf_load_buf and rwd_conf_load_overlay. */
static int load(const char *data, size_t len, const char *name, const char *base_dir,
                const struct rwd_conf_overlay *ov, size_t n_ov, struct rwd_conf **out,
                char err[RWD_CONF_ERRLEN])
{
	struct ctx c = { .file = name, .base_dir = base_dir, .err = err, .main_file = name };
	struct rwd_conf *conf = calloc(1, sizeof(*conf));
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc;

	*out = NULL;
	err[0] = '\0';
	if (!conf || !(conf->path = strdup(name)) || !(conf->model = rwd_model_new()) ||
	    !(conf->text = malloc(len + 1))) {
		rwd_conf_free(conf);
		return cf_nomem(&c);
	}
	if (len)
		memcpy(conf->text, data, len);
	conf->text[len] = '\0';
	conf->text_len = len;
	c.conf = conf;
	c.model = conf->model;
	if (!yaml_parser_initialize(&parser)) {
		rwd_conf_free(conf);
		return cf_nomem(&c);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)(len ? data : ""), len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = yaml_error(&c, &parser, data, len);
		goto done;
	}
	/* No root node: the stream holds no document at all, all defaults then
	 * (overlays may add one). */
	c.doc = &doc;
	bool had_root = yaml_document_get_root_node(&doc) != NULL;
	rc = n_ov ? cf_apply_overlays(&c, &doc, len, ov, n_ov) : 0;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!rc && root)
		rc = parse_acls_first(&c, root, conf);
	if (!rc && root)
		rc = parse_map(&c, -1, root, conf);
	if (!rc)
		rc = finish(&c, -1, conf, 1, false);
	if (!rc)
		rc = cf_check_consumers(&c, conf);
	if (!rc)
		rc = load_model(&c);
	if (!rc && n_ov)
		cf_clear_overlay_lines(&c);
	yaml_document_delete(&doc);
	c.n_origins = 0;   /* what follows is the file's own */
	if (!rc && had_root)
		rc = no_more_documents(&c, &parser, data, len);
done:
	yaml_parser_delete(&parser);
	free_ctx(&c);
	if (rc) {
		rwd_conf_free(conf);
		return rc;
	}
	*out = conf;
	return 0;
}

int rwd_conf_load_buf(const char *data, size_t len, const char *name, const char *base_dir,
                      struct rwd_conf **out, char err[RWD_CONF_ERRLEN])
{
	return load(data, len, name, base_dir, NULL, 0, out, err);
}

int rwd_conf_load_overlay(const char *data, size_t len, const char *name, const char *base_dir,
                          const struct rwd_conf_overlay *ov, size_t n_ov,
                          struct rwd_conf **out, char err[RWD_CONF_ERRLEN])
{
	return load(data, len, name, base_dir, ov, n_ov, out, err);
}

int rwd_conf_load(const char *path, struct rwd_conf **out, char err[RWD_CONF_ERRLEN])
{
	FILE *f = fopen(path, "rb");
	char *data = NULL, *dir = NULL;
	size_t len = 0, cap = 0;
	int rc;

	*out = NULL;
	if (!f) {
		snprintf(err, RWD_CONF_ERRLEN, "%s: cannot open: %s", path, strerror(errno));
		return RW_EIO;
	}
	for (;;) {
		if (len == cap) {
			char *p = realloc(data, cap = cap ? 2 * cap : 65536);
			if (!p) {
				snprintf(err, RWD_CONF_ERRLEN, "%s: out of memory", path);
				rc = RW_ENOMEM;
				goto done;
			}
			data = p;
		}
		size_t n = fread(data + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, RWD_CONF_ERRLEN, "%s: cannot read: %s", path, strerror(errno));
		rc = RW_EIO;
		goto done;
	}
	const char *slash = strrchr(path, '/');
	if (slash && !(dir = strndup(path, slash == path ? 1 : (size_t)(slash - path)))) {
		snprintf(err, RWD_CONF_ERRLEN, "%s: out of memory", path);
		rc = RW_ENOMEM;
		goto done;
	}
	rc = rwd_conf_load_buf(data, len, path, dir, out, err);
done:
	fclose(f);
	free(data);
	free(dir);
	return rc;
}

void rwd_conf_free(struct rwd_conf *conf)
{
	if (!conf)
		return;
	for (size_t i = 0; i < conf->n_zones; i++)
		cf_free_zone(&conf->zones[i]);
	free(conf->zones);
	for (size_t i = 0; i < conf->n_templates; i++)
		cf_free_zone(&conf->templates[i]);
	free(conf->templates);
	for (size_t i = 0; i < conf->n_tsig_keys; i++)
		cf_free_tsig_key(&conf->tsig_keys[i]);
	free(conf->tsig_keys);
	for (size_t i = 0; i < conf->n_acls; i++) {
		free(conf->acls[i].name);
		rwd_acl_free(&conf->acls[i].acl);
	}
	free(conf->acls);
	for (size_t i = 0; i < conf->n_views; i++) {
		struct rwd_conf_view *v = &conf->views[i];
		for (size_t k = 0; k < v->n_zones; k++)
			cf_free_zone(&v->zones[k]);
		free(v->zones);
		free(v->name);
		rwd_acl_free(&v->match);
	}
	free(conf->views);
	for (size_t i = 0; i < conf->n_api_tokens; i++)
		free(conf->api_tokens[i].token);
	free(conf->api_tokens);
	free(conf->api_listen);
	rwd_acl_free(&conf->api_allow);
	free(conf->api_data);
	free(conf->dnstap.file);
	free(conf->dnstap.socket);
	free(conf->dnstap.identity);
	rwd_acl_free(&conf->rrl.exempt);
	free(conf->cookie_secret_text);
	free(conf->listen);
	free(conf->nsid);
	free(conf->path);
	free(conf->text);
	rwd_model_free(conf->model);
	free(conf);
}

void rwd_conf_doc(FILE *out)
{
	fprintf(out, "| Option | Type | Default | Description |\n|---|---|---|---|\n");
	for (int i = 0; i < N_OPTS; i++) {
		const struct opt *o = &schema[i];
		char buf[128];
		fprintf(out, "| `%s` | %s | ", o->path, describe(o, buf));
		if (o->def)
			fprintf(out, "`%s`", o->def);
		else if (o->def_doc)
			fprintf(out, "%s", o->def_doc);
		else if (o->required)
			fprintf(out, "required");
		else if (o->kind != K_SECTION && o->kind != K_LIST && o->kind != K_MAP &&
		         o->kind != K_POLICY && o->kind != K_VIEW_TRAFFIC)
			fprintf(out, "unset");
		fprintf(out, " | %s |\n", o->doc);
	}
}
