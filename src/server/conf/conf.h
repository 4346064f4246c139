/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * runwayd configuration: one YAML file (libyaml), described by one schema
 * table in conf.c that drives parsing, defaults, validation and the
 * reference in docs/configuration.md.
 *
 * Every error is reported as "FILE:LINE: message" (LINE 1-based, of the
 * offending YAML node; "ORIGIN:LINE: message" for a live change, below), in
 * the caller's buffer; a config with an error is
 * never half-applied: rwd_conf_load() either returns a complete config or
 * nothing.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "lib/addr.h"
#include "server/common/acl.h"
#include "server/dnstap/dnstap.h"
#include "server/limit/rrl.h"
#include "server/zone/limits.h"

#define RWD_CONF_ERRLEN 512

struct rwd_model;   /* server/steer/model.h */

/* A TSIG key (tsig_keys:, RFC 8945). */
struct rwd_conf_tsig_key {
	char *name;                    /* absolute, as written ("xfr.") */
	uint8_t dname[255];            /* flat wire form, lowercased */
	char *algorithm;               /* "hmac-sha256", as written (lowercased) */
	int alg;                       /* dnssec_tsig_algorithm_t (libdnssec/tsig.h) */
	uint8_t *secret;               /* decoded from base64 */
	size_t secret_len;
	int line;
};

/* Another server: an address (port 53 unless given) and the key that signs
 * what goes to it and comes from it (NULL: none). primaries:, notify:. */
struct rwd_conf_remote {
	struct rw_sockaddr addr;
	const struct rwd_conf_tsig_key *key;   /* points into rwd_conf.tsig_keys */
};

/* Who may transfer a zone or NOTIFY it (allow_transfer:, allow_notify:):
 * clients whose address match holds, signing with key when key is set
 * (any request from them, signed or not, when it is NULL). */
struct rwd_conf_xfr_rule {
	struct rwd_acl match;          /* ACL names and prefixes, merged */
	const struct rwd_conf_tsig_key *key;
	int line;
};

/* How the serial of a zone changes when runway changes it (API change, a
 * file reload that did not raise it, a rendering), as Knot's serial-policy. */
enum rwd_serial_policy {
	RWD_SERIAL_INCREMENT,          /* +1 (RFC 1982) */
	RWD_SERIAL_UNIXTIME,           /* seconds since 1970, or +1 if that is not newer */
	RWD_SERIAL_DATESERIAL,         /* YYYYMMDDnn, or +1 if that is not newer */
};

enum rwd_catalog_role {
	RWD_CATALOG_NONE,
	RWD_CATALOG_MEMBER,            /* catalog: {member_of: CATALOG} */
	RWD_CATALOG_PRODUCER,          /* catalog: {role: producer} */
	RWD_CATALOG_CONSUMER,          /* catalog: {role: consumer}: members become zones */
	RWD_CATALOG_CONSUMED,          /* a member zone of a consumer (rwd_conf_add_members) */
};

struct rwd_conf_zone {
	char *name;                    /* absolute, as written ("example.com.") */
	uint8_t dname[255];            /* flat wire form, lowercased */
	char *file;                    /* path, resolved against the config's folder; for a
	                                * secondary, where the transferred copy is kept */
	int line;                      /* line of this zone's entry in the config */
	const char *view;              /* the view it belongs to (its name); NULL: top level */
	/* Transfers (docs/transfers.md). */
	struct rwd_conf_remote *notify;          /* NOTIFY on every serial change */
	size_t n_notify;
	bool notify_ns;                /* and to the addresses of the zone's NS (default false) */
	struct rwd_conf_xfr_rule *allow_transfer;   /* none: no transfers (REFUSED) */
	size_t n_allow_transfer;
	struct rwd_conf_remote *primaries;       /* set: runway is a secondary of these, in order */
	size_t n_primaries;
	struct rwd_conf_xfr_rule *allow_notify;  /* default: each primary's address with its key */
	size_t n_allow_notify;
	enum rwd_serial_policy serial_policy;    /* default increment */
	uint64_t journal_max_size;     /* bytes of change history kept (memory and store);
	                                * default 16 MiB; past it the oldest changes are condensed */
	unsigned journal_max_depth;    /* changes kept; default 1000 */
	bool render_traffic;           /* with allow_transfer: traffic names rendered into
	                                * the zone for secondaries (control/render.c); default true */
	/* Secondary timers: the SOA's refresh, retry and expire, held within these
	 * (seconds). Defaults as Knot: refresh 2..86400, retry 2..86400,
	 * expire 3600..1209600 (14 days). */
	uint32_t refresh_min, refresh_max, retry_min, retry_max, expire_min, expire_max;
	/* Catalog zones (RFC 9432), producer side (top-level zones only): a
	 * producer's records are generated from its members (zone/source_catalog.c;
	 * its file is a placeholder path, never read); a member names its catalog. */
	enum rwd_catalog_role catalog_role;
	uint8_t catalog_member_of[255];  /* a member: its catalog's apex, flat, lowercased */
	char *catalog_group;             /* a member: its group property; NULL: none */
	/* Consumer side (control/catalog.c): a consumer's members become zones
	 * of their own (RWD_CATALOG_CONSUMED, catalog_member_of the consumer,
	 * catalog_group the group), with the settings of a template. */
	unsigned catalog_max_members;    /* a consumer: members taken at most (default 10,000) */
};

/* Zone transfer limits (xfr:): what one peer or one transfer may cost. */
struct rwd_conf_xfr {
	unsigned max_in;               /* transfers in at once (default 10) */
	unsigned max_out;              /* transfers out at once (default 10); more: REFUSED */
	uint64_t max_records;          /* records one transfer in may bring (default 10,000,000) */
	uint64_t max_bytes;            /* bytes one transfer in may bring (default 1 GiB) */
	unsigned max_messages;         /* messages (default 1,000,000) */
	unsigned timeout_ms;           /* a whole transfer in (default 300,000) and each
	                                * message of it: io_timeout_ms (default 10,000) */
	unsigned io_timeout_ms;
	unsigned notify_retries;       /* NOTIFY retries per remote (default 5), */
	unsigned notify_timeout_ms;    /* first wait for an answer (default 1000), doubled each time */
};

/*
 * A view (views:): the clients whose source address its match list holds
 * see its zones plus every top-level zone it does not replace (same apex).
 * The first view in file order that matches a client is that client's.
 */
struct rwd_conf_view {
	char *name;                    /* unique; 1..63 letters, digits, '-', '_', '.' */
	struct rwd_acl match;
	struct rwd_conf_zone *zones;   /* apexes unique within the view */
	size_t n_zones;
	int line;
};

/* An API token (api.tokens). */
struct rwd_conf_token {
	char *token;
	int access;                    /* 0: read (GET only), 1: write */
	int line;
};

struct rwd_conf {
	char *path;                    /* the config file as given */
	char *text;                    /* its content as loaded (live changes re-apply on it) */
	size_t text_len;
	struct rw_sockaddr *listen;
	size_t n_listen;               /* >= 1 */
	unsigned workers;              /* UDP workers; 0 in the file = one per core */
	unsigned busy_poll_us;         /* UDP workers poll this long after a batch; 0: off */
	uint16_t edns_udp_size;        /* largest UDP answer with EDNS; default 1232, 512..4096 */
	uint8_t *nsid;                 /* NSID payload (RFC 5001), NULL if unset */
	size_t nsid_len;
	bool strict_zones;             /* a zone that fails to load stops the start */
	struct rwd_zone_limits zone_limits;  /* zone_limits: what one zone may cost to load */
	unsigned tcp_idle_timeout_ms;  /* default 10000 */
	unsigned tcp_io_timeout_ms;    /* default 2000 */
	unsigned tcp_max_clients;      /* default 1000 */
	unsigned tcp_max_per_client;   /* default 20 */
	struct rwd_conf_zone *zones;
	size_t n_zones;
	/* templates: (by name) the settings of a consumed catalog's member zones:
	 * name is the template's, file a pattern ("{zone}" is the member). */
	struct rwd_conf_zone *templates;
	size_t n_templates;
	struct rwd_conf_tsig_key *tsig_keys;   /* tsig_keys:, in file order */
	size_t n_tsig_keys;
	struct rwd_conf_xfr xfr;       /* xfr: limits of zone transfers */
	struct rwd_conf_acl *acls;     /* named access lists (acls:), flat; in file order */
	size_t n_acls;
	struct rwd_conf_view *views;   /* views:, in file order; none: every client sees zones */
	size_t n_views;
	char *api_listen;              /* control API address; NULL: no API */
	struct rwd_conf_token *api_tokens;
	size_t n_api_tokens;
	struct rwd_acl api_allow;      /* clients that may use the API; default any */
	char *api_data;                /* the store's folder, resolved; NULL: no live changes */
	unsigned api_max_connections;  /* open at once, in all */
	unsigned api_max_per_client;   /* open at once from one client address */
	unsigned api_request_timeout_ms;   /* for a whole request, headers and body */
	/* dnstap (server/dnstap/): at most one of file and socket, each resolved
	 * against the config's folder; neither: off. log_* default to true. */
	struct rwd_dnstap_opts dnstap;
	/* rate_limit (limit/rrl.h): off while rrl.rate is 0; exempt defaults to none */
	struct rwd_rrl_opts rrl;
	/* cookies (query/cookie.c) */
	bool cookies_enabled;          /* default true */
	char *cookie_secret_text;      /* as written; NULL: a random secret made at start */
	uint8_t cookie_secret[16];     /* the parsed secret, when cookie_secret_text is set */
	/* The traffic sections (health_checks, endpoints, geoip, latency,
	 * traffic), built into one model: never NULL in a loaded config, empty
	 * when the file has none of them. Freed by rwd_conf_free(). */
	struct rwd_model *model;
};

/*
 * Load and validate path. On success *out is a new config (free with
 * rwd_conf_free) and 0 is returned; on failure a negative RW_E* code is
 * returned, *out is NULL and err holds "FILE:LINE: message" (or
 * "FILE: message" when no line applies: cannot open/read, out of memory).
 * Codes: RW_ECONF bad content, RW_EIO cannot open/read, RW_ENOMEM.
 * Relative file paths (zone files, geoip.mmdb, geoip.networks, latency.file)
 * are resolved against the folder of path. The networks file and the
 * latency table are read now (their errors are "THATFILE:LINE: message");
 * the mmdb only has to be readable now, it is opened by steer/geo.c.
 * Pre: path, out, err != NULL.
 */
int rwd_conf_load(const char *path, struct rwd_conf **out, char err[RWD_CONF_ERRLEN]);

/*
 * The same from memory (len bytes of data, need not be NUL-terminated):
 * name is used as FILE in messages and as conf->path; relative file paths
 * are joined to base_dir, or kept as written if base_dir is NULL or "".
 * rwd_conf_load reads the file and calls this. Pre: data (if len > 0),
 * name, out, err != NULL.
 */
int rwd_conf_load_buf(const char *data, size_t len, const char *name, const char *base_dir,
                      struct rwd_conf **out, char err[RWD_CONF_ERRLEN]);

/* NULL is allowed. */
void rwd_conf_free(struct rwd_conf *conf);

/*
 * A live change on top of the configuration file (control API): replaces
 * the value of `key` under `section` ("traffic" or "endpoints"), or removes
 * it when json is NULL; with `field` set, only that field of the entry
 * (e.g. endpoints / us-east / drained = true). json is JSON, a subset of
 * YAML, parsed and validated exactly as if it were written in the file;
 * errors name `origin` instead of the file ("PUT /v1/traffic/x:1: ...").
 *
 * Details (overlay.c):
 * - section: "traffic", "endpoints" or "health_checks" (created if the file
 *   has none). Traffic names match without regard to case and with or
 *   without the trailing dot; other names match exactly.
 * - A replaced entry keeps its place in the file's order, a new one goes
 *   after the file's entries, which is where the same text in the file would
 *   put them. A field is replaced in place or added at the end of the entry;
 *   removing a field that is not there is not an error.
 * - Lines: messages about the overlay's own text give the line within json;
 *   messages about a whole entry that an overlay wrote, or changed a field
 *   of, give its line 1; messages about what the file still holds give
 *   FILE:LINE (a policy of the file naming an endpoint an overlay removed,
 *   an entry of the file left incomplete by removing one of its fields).
 *   A missing entry is "ORIGIN: message", without a line.
 * - In the model, entries and policy nodes an overlay wrote or changed have
 *   line 0. origin NULL is shown as "(change)".
 */
struct rwd_conf_overlay {
	const char *section;
	const char *key;
	const char *field;             /* NULL: the whole entry */
	const char *json;              /* NULL: remove */
	const char *origin;
};

/*
 * rwd_conf_load_buf with overlays applied in order to the parsed document
 * before it is validated and built. Removing an entry that does not exist is
 * an error ("no traffic name 'x'"), so is a field of a missing entry: both
 * return RW_ENOENT ("ORIGIN: no endpoint 'x'"); every other error in an
 * overlay or the file is RW_ECONF. conf->text is data (without the
 * overlays). To re-apply changes to a loaded config: data = conf->text,
 * len = conf->text_len, name = conf->path, base_dir = the folder of
 * conf->path (what rwd_conf_load passes).
 */
int rwd_conf_load_overlay(const char *data, size_t len, const char *name, const char *base_dir,
                          const struct rwd_conf_overlay *ov, size_t n_ov,
                          struct rwd_conf **out, char err[RWD_CONF_ERRLEN]);

/*
 * A member of a consumed catalog (control/catalog.c): its catalog (a
 * top-level zone with catalog: {role: consumer}), its apex and its group
 * (NULL: none), names flat and lowercased.
 */
struct rwd_conf_member {
	const uint8_t *catalog;
	const uint8_t *name;
	const char *group;
};
/*
 * Append to conf->zones a zone for each member m[0..n) whose catalog conf
 * has as a consumer: the settings of the template named as its group, else
 * of `default` (RFC 9432 4.4.2: an unknown group is as none, and Knot uses
 * its first template then); primaries (and so allow_notify) the catalog's
 * when the template has none; file the template's with each "{zone}"
 * replaced by the member's name ("example.com."). A member that conf
 * already has as a zone, whose catalog is not a consumer of conf, or that
 * no template serves is left out and told to skipped (ctx, the member,
 * why) when skipped is not NULL. Call on a fresh conf only: conf->zones
 * moves. 0 or RW_ENOMEM (conf unchanged).
 */
typedef void (*rwd_conf_member_skip_fn)(void *ctx, const struct rwd_conf_member *m,
                                        const char *why);
int rwd_conf_add_members(struct rwd_conf *conf, const struct rwd_conf_member *m, size_t n,
                         rwd_conf_member_skip_fn skipped, void *ctx);

/*
 * Write the option reference (a Markdown table generated from the schema
 * table) to out. docs/configuration.md embeds it verbatim; a unit test
 * keeps the two in step.
 */
void rwd_conf_doc(FILE *out);

