/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the zone transfer settings of the configuration: tsig_keys,
 * each zone's notify, notify_ns, allow_transfer, primaries, allow_notify,
 * serial_policy, journal bounds and secondary timers (top level and in
 * views), the xfr: section, their defaults, and each error message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libdnssec/tsig.h>

#include "lib/error.h"
#include "server/conf/conf.h"
#include "server/daemon/server.h"
#include "server/snapshot/snapshot.h"
#include "server/zone/source.h"

static char tmpdir[] = "/tmp/test_conf_xfr.XXXXXX";

static const char *put(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	put("example.com.zone", "@ 3600 IN SOA ns hm 1 2 3 4 5\n@ 3600 IN NS ns\nns 3600 IN A 192.0.2.1\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

static struct rwd_conf *load_ok(const char *text)
{
	struct rwd_conf *conf = NULL;
	char err[RWD_CONF_ERRLEN] = "";
	int rc = rwd_conf_load(put("ok.yaml", text), &conf, err);
	if (rc != 0)
		fail_msg("unexpected error %d: %s", rc, err);
	assert_non_null(conf);
	return conf;
}

/* The error of text, without the "FILE:" in front. */
static const char *load_err(const char *text)
{
	static char err[RWD_CONF_ERRLEN];
	struct rwd_conf *conf = NULL;
	const char *path = put("bad.yaml", text);
	int rc = rwd_conf_load(path, &conf, err);
	if (rc == 0)
		fail_msg("loaded: %s", text);
	assert_null(conf);
	assert_int_equal(rc, RW_ECONF);
	size_t n = strlen(path);
	assert_memory_equal(err, path, n);
	assert_int_equal(err[n], ':');
	return err + n + 1;
}

static uint16_t port_of(const struct rw_sockaddr *a)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->addr;
	return ntohs(sa->sa_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port
	                                      : ((const struct sockaddr_in6 *)sa)->sin6_port);
}

static bool acl_has(const struct rwd_acl *acl, const char *addr)
{
	struct sockaddr_storage ss = { 0 };
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
	}
	return rwd_acl_match(acl, (const struct sockaddr *)&ss);
}

/* The issue's example, as written there. */
static void test_issue_example(void **state)
{
	(void)state;
	struct rwd_conf *c = load_ok(
		"tsig_keys:\n"
		"  xfr.: { algorithm: hmac-sha256, secret: \"AAECAwQFBgcICQoLDA0ODw==\" }\n"
		"zones:\n"
		"  - name: example.com.\n"
		"    file: example.com.zone\n"
		"    notify: [\"127.0.0.2:53\", \"127.0.0.3:53\"]\n"
		"    allow_transfer: [{ match: [any], key: xfr. }]\n"
		"  - name: other.example.\n"
		"    primaries: [{ address: \"127.0.0.4:53\", key: xfr. }]\n"
		"    file: other.example.zone\n");
	assert_int_equal(c->n_tsig_keys, 1);
	const struct rwd_conf_tsig_key *k = &c->tsig_keys[0];
	assert_string_equal(k->name, "xfr.");
	assert_memory_equal(k->dname, "\3xfr", 5);
	assert_string_equal(k->algorithm, "hmac-sha256");
	assert_int_equal(k->alg, DNSSEC_TSIG_HMAC_SHA256);
	assert_int_equal(k->secret_len, 16);
	for (int i = 0; i < 16; i++)
		assert_int_equal(k->secret[i], i);
	assert_int_equal(k->line, 2);

	assert_int_equal(c->n_zones, 2);
	const struct rwd_conf_zone *z = &c->zones[0];
	assert_int_equal(z->n_notify, 2);
	assert_string_equal(z->notify[0].addr.text, "127.0.0.2:53");
	assert_string_equal(z->notify[1].addr.text, "127.0.0.3:53");
	assert_null(z->notify[0].key);
	assert_int_equal(z->n_allow_transfer, 1);
	assert_true(z->allow_transfer[0].match.any);
	assert_ptr_equal(z->allow_transfer[0].key, k);
	assert_int_equal(z->allow_transfer[0].line, 7);
	assert_int_equal(z->n_primaries, 0);
	assert_int_equal(z->n_allow_notify, 0);

	z = &c->zones[1];
	assert_int_equal(z->n_primaries, 1);
	assert_string_equal(z->primaries[0].addr.text, "127.0.0.4:53");
	assert_ptr_equal(z->primaries[0].key, k);
	/* the file of a secondary need not exist yet */
	char want[300];
	snprintf(want, sizeof(want), "%s/other.example.zone", tmpdir);
	assert_string_equal(z->file, want);
	/* allow_notify defaults to each primary's address alone, with its key */
	assert_int_equal(z->n_allow_notify, 1);
	assert_ptr_equal(z->allow_notify[0].key, k);
	assert_false(z->allow_notify[0].match.any);
	assert_true(acl_has(&z->allow_notify[0].match, "127.0.0.4"));
	assert_false(acl_has(&z->allow_notify[0].match, "127.0.0.5"));
	rwd_conf_free(c);
}

static void test_defaults(void **state)
{
	(void)state;
	struct rwd_conf *c = load_ok(
		"zones:\n"
		"  - name: example.com\n"
		"    file: example.com.zone\n");
	const struct rwd_conf_zone *z = &c->zones[0];
	assert_int_equal(c->n_tsig_keys, 0);
	assert_int_equal(z->n_notify, 0);
	assert_false(z->notify_ns);
	assert_int_equal(z->n_allow_transfer, 0);
	assert_int_equal(z->n_primaries, 0);
	assert_int_equal(z->n_allow_notify, 0);
	assert_int_equal(z->serial_policy, RWD_SERIAL_INCREMENT);
	assert_int_equal(z->journal_max_size, 16u << 20);
	assert_int_equal(z->journal_max_depth, 1000);
	assert_int_equal(z->refresh_min, 2);
	assert_int_equal(z->refresh_max, 86400);
	assert_int_equal(z->retry_min, 2);
	assert_int_equal(z->retry_max, 86400);
	assert_int_equal(z->expire_min, 3600);
	assert_int_equal(z->expire_max, 1209600);
	assert_int_equal(c->xfr.max_in, 10);
	assert_int_equal(c->xfr.max_out, 10);
	assert_int_equal(c->xfr.max_records, 10000000);
	assert_int_equal(c->xfr.max_bytes, 1ull << 30);
	assert_int_equal(c->xfr.max_messages, 1000000);
	assert_int_equal(c->xfr.timeout_ms, 300000);
	assert_int_equal(c->xfr.io_timeout_ms, 10000);
	assert_int_equal(c->xfr.notify_retries, 5);
	assert_int_equal(c->xfr.notify_timeout_ms, 1000);
	rwd_conf_free(c);

	/* an empty file: the xfr: defaults too */
	c = load_ok("");
	assert_int_equal(c->xfr.max_out, 10);
	assert_int_equal(c->xfr.notify_timeout_ms, 1000);
	rwd_conf_free(c);
}

/* Every key with a value other than its default. */
static void test_every_option(void **state)
{
	(void)state;
	struct rwd_conf *c = load_ok(
		"acls:\n"
		"  secondaries: [192.0.2.0/24, \"2001:db8::/32\"]\n"
		"zones:\n"
		"  - name: example.com.\n"
		"    file: example.com.zone\n"
		"    notify:\n"
		"      - 127.0.0.2\n"
		"      - { address: \"[::1]:5353\", key: XFR }\n"
		"      - address: 127.0.0.3:5300\n"
		"    notify_ns: true\n"
		"    allow_transfer:\n"
		"      - { match: [secondaries, 10.0.0.0/8], key: other.key. }\n"
		"      - { key: xfr. }\n"
		"      - { match: 127.0.0.1 }\n"
		"    serial_policy: dateserial\n"
		"    journal_max_size: 1M\n"
		"    journal_max_depth: 50\n"
		"  - name: sec.example.\n"
		"    file: new/folder/sec.example.zone\n"
		"    primaries: [\"[2001:db8::53]\", { address: 127.0.0.4:5301, key: xfr }]\n"
		"    allow_notify: [{ match: [127.0.0.0/8] }]\n"
		"    serial_policy: unixtime\n"
		"    refresh_min: 10\n"
		"    refresh_max: 10\n"
		"    retry_min: 5\n"
		"    retry_max: 60\n"
		"    expire_min: 100\n"
		"    expire_max: 200\n"
		"xfr:\n"
		"  max_in: 3\n"
		"  max_out: 4\n"
		"  max_records: 1000\n"
		"  max_bytes: 64M\n"
		"  max_messages: 99\n"
		"  timeout: 1m\n"
		"  io_timeout: 500ms\n"
		"  notify_retries: 0\n"
		"  notify_timeout: 2s\n"
		/* keys after the zones that name them */
		"tsig_keys:\n"
		"  XFR:\n"
		"    secret: AAECAwQFBgcICQoLDA0ODw==\n"
		"  other.key.: { algorithm: hmac-sha512, secret: \"/w==\" }\n"
		"  k1.: { algorithm: hmac-sha1, secret: \"AAE=\" }\n"
		"  k224.: { algorithm: hmac-sha224, secret: \"AAE=\" }\n"
		"  k384.: { algorithm: hmac-sha384, secret: \"AAE=\" }\n");
	assert_int_equal(c->n_tsig_keys, 5);
	const struct rwd_conf_tsig_key *xfr = &c->tsig_keys[0], *other = &c->tsig_keys[1];
	assert_string_equal(xfr->name, "xfr.");
	assert_string_equal(xfr->algorithm, "hmac-sha256");
	assert_string_equal(other->name, "other.key.");
	assert_string_equal(other->algorithm, "hmac-sha512");
	assert_int_equal(other->alg, DNSSEC_TSIG_HMAC_SHA512);
	assert_int_equal(other->secret_len, 1);
	assert_int_equal(other->secret[0], 0xff);
	assert_int_equal(c->tsig_keys[2].alg, DNSSEC_TSIG_HMAC_SHA1);
	assert_int_equal(c->tsig_keys[3].alg, DNSSEC_TSIG_HMAC_SHA224);
	assert_int_equal(c->tsig_keys[4].alg, DNSSEC_TSIG_HMAC_SHA384);
	assert_int_equal(c->tsig_keys[4].secret_len, 2);

	const struct rwd_conf_zone *z = &c->zones[0];
	assert_int_equal(z->n_notify, 3);
	assert_string_equal(z->notify[0].addr.text, "127.0.0.2:53");
	assert_int_equal(port_of(&z->notify[0].addr), 53);
	assert_null(z->notify[0].key);
	assert_string_equal(z->notify[1].addr.text, "[::1]:5353");
	assert_int_equal(port_of(&z->notify[1].addr), 5353);
	assert_ptr_equal(z->notify[1].key, xfr);
	assert_string_equal(z->notify[2].addr.text, "127.0.0.3:5300");
	assert_true(z->notify_ns);
	assert_int_equal(z->n_allow_transfer, 3);
	const struct rwd_conf_xfr_rule *r = z->allow_transfer;
	assert_ptr_equal(r[0].key, other);
	assert_false(r[0].match.any);
	assert_true(acl_has(&r[0].match, "192.0.2.7"));
	assert_true(acl_has(&r[0].match, "2001:db8::1"));
	assert_true(acl_has(&r[0].match, "10.1.2.3"));
	assert_false(acl_has(&r[0].match, "127.0.0.1"));
	assert_ptr_equal(r[1].key, xfr);
	assert_true(r[1].match.any);           /* a key alone: from anywhere */
	assert_null(r[2].key);
	assert_true(acl_has(&r[2].match, "127.0.0.1"));
	assert_false(acl_has(&r[2].match, "127.0.0.2"));
	assert_int_equal(z->serial_policy, RWD_SERIAL_DATESERIAL);
	assert_int_equal(z->journal_max_size, 1u << 20);
	assert_int_equal(z->journal_max_depth, 50);

	z = &c->zones[1];
	assert_int_equal(z->n_primaries, 2);
	assert_string_equal(z->primaries[0].addr.text, "[2001:db8::53]:53");
	assert_null(z->primaries[0].key);
	assert_string_equal(z->primaries[1].addr.text, "127.0.0.4:5301");
	assert_ptr_equal(z->primaries[1].key, xfr);
	/* written: not the default */
	assert_int_equal(z->n_allow_notify, 1);
	assert_null(z->allow_notify[0].key);
	assert_true(acl_has(&z->allow_notify[0].match, "127.9.9.9"));
	assert_int_equal(z->serial_policy, RWD_SERIAL_UNIXTIME);
	assert_int_equal(z->refresh_min, 10);
	assert_int_equal(z->refresh_max, 10);
	assert_int_equal(z->retry_min, 5);
	assert_int_equal(z->retry_max, 60);
	assert_int_equal(z->expire_min, 100);
	assert_int_equal(z->expire_max, 200);
	/* the folder of a secondary's copy is not made by loading the config */
	char dir[300];
	struct stat st;
	snprintf(dir, sizeof(dir), "%s/new", tmpdir);
	assert_int_not_equal(stat(dir, &st), 0);

	assert_int_equal(c->xfr.max_in, 3);
	assert_int_equal(c->xfr.max_out, 4);
	assert_int_equal(c->xfr.max_records, 1000);
	assert_int_equal(c->xfr.max_bytes, 64u << 20);
	assert_int_equal(c->xfr.max_messages, 99);
	assert_int_equal(c->xfr.timeout_ms, 60000);
	assert_int_equal(c->xfr.io_timeout_ms, 500);
	assert_int_equal(c->xfr.notify_retries, 0);
	assert_int_equal(c->xfr.notify_timeout_ms, 2000);
	rwd_conf_free(c);
}

/* allow_notify's default: one rule per primary, IPv6 as /128. */
static void test_allow_notify_default(void **state)
{
	(void)state;
	struct rwd_conf *c = load_ok(
		"tsig_keys: { a.: { secret: \"AAE=\" } }\n"
		"zones:\n"
		"  - name: sec.example.\n"
		"    file: sec.zone\n"
		"    primaries: [\"[2001:db8::53]:5300\", { address: 192.0.2.1, key: a. }]\n");
	const struct rwd_conf_zone *z = &c->zones[0];
	assert_int_equal(z->n_allow_notify, 2);
	assert_null(z->allow_notify[0].key);
	assert_true(acl_has(&z->allow_notify[0].match, "2001:db8::53"));
	assert_false(acl_has(&z->allow_notify[0].match, "2001:db8::54"));
	assert_ptr_equal(z->allow_notify[1].key, &c->tsig_keys[0]);
	assert_true(acl_has(&z->allow_notify[1].match, "192.0.2.1"));
	assert_false(acl_has(&z->allow_notify[1].match, "192.0.2.2"));
	rwd_conf_free(c);

	/* allow_notify: [] written: nobody */
	c = load_ok("zones:\n"
	            "  - name: sec.example.\n"
	            "    file: sec.zone\n"
	            "    primaries: [192.0.2.1]\n"
	            "    allow_notify: []\n");
	assert_int_equal(c->zones[0].n_allow_notify, 0);
	rwd_conf_free(c);
}

/* A view's zones take the same keys. */
static void test_views(void **state)
{
	(void)state;
	struct rwd_conf *c = load_ok(
		"tsig_keys: { inner.: { secret: \"AAE=\" } }\n"
		"zones:\n"
		"  - { name: example.com., file: example.com.zone }\n"
		"views:\n"
		"  - name: inside\n"
		"    match: [10.0.0.0/8]\n"
		"    zones:\n"
		"      - name: example.com.\n"
		"        file: example.com.zone\n"
		"        notify: [10.0.0.53]\n"
		"        allow_transfer: [{ match: [10.0.0.0/8], key: inner. }]\n"
		"        serial_policy: unixtime\n"
		"      - name: sec.example.\n"
		"        file: sec-inside.zone\n"
		"        primaries: [{ address: 10.0.0.1, key: inner. }]\n"
		"        expire_max: 7200\n");
	const struct rwd_conf_view *v = &c->views[0];
	assert_int_equal(v->n_zones, 2);
	assert_int_equal(v->zones[0].n_notify, 1);
	assert_string_equal(v->zones[0].notify[0].addr.text, "10.0.0.53:53");
	assert_int_equal(v->zones[0].n_allow_transfer, 1);
	assert_ptr_equal(v->zones[0].allow_transfer[0].key, &c->tsig_keys[0]);
	assert_int_equal(v->zones[0].serial_policy, RWD_SERIAL_UNIXTIME);
	assert_int_equal(v->zones[0].journal_max_depth, 1000);
	assert_int_equal(v->zones[1].n_primaries, 1);
	assert_int_equal(v->zones[1].n_allow_notify, 1);
	assert_int_equal(v->zones[1].expire_max, 7200);
	assert_int_equal(v->zones[1].expire_min, 3600);
	/* the top-level zone keeps its defaults */
	assert_int_equal(c->zones[0].n_notify, 0);
	assert_int_equal(c->zones[0].serial_policy, RWD_SERIAL_INCREMENT);
	rwd_conf_free(c);
}

static void test_errors(void **state)
{
	(void)state;
	put("afile", "x");
	static const struct { const char *text, *want; } cases[] = {
		{ "tsig_keys:\n  k.: { secret: \"not base64!\" }\n",
		  "2: tsig_keys.secret: expected a base64 string" },
		{ "tsig_keys:\n  k.: { secret: \"AAE\" }\n",
		  "2: tsig_keys.secret: expected a base64 string" },
		{ "tsig_keys:\n  k.: { secret: \"A=AA\" }\n",
		  "2: tsig_keys.secret: expected a base64 string" },
		{ "tsig_keys:\n  k.: { secret: \"\" }\n",
		  "2: tsig_keys.secret: expected a base64 string" },
		{ "tsig_keys:\n  k.: { algorithm: hmac-md5, secret: \"AAE=\" }\n",
		  "2: tsig_keys.algorithm: expected one of hmac-sha1, hmac-sha224, hmac-sha256, "
		  "hmac-sha384 or hmac-sha512" },
		{ "tsig_keys:\n  k.: { algorithm: hmac-sha256 }\n",
		  "2: missing required key 'secret' in tsig_keys" },
		{ "tsig_keys:\n  k.: { secret: \"AAE=\" }\n  K: { secret: \"AAE=\" }\n",
		  "3: duplicate TSIG key 'k.' (first on line 2)" },
		{ "tsig_keys:\n  \"a..b\": { secret: \"AAE=\" }\n",
		  "2: tsig_keys: 'a..b' is not a domain name" },
		{ "tsig_keys:\n  k.: { secret: \"AAE=\", size: 3 }\n",
		  "2: unknown key 'size' in tsig_keys" },
		{ "zones:\n  - name: a.\n    file: afile\n    notify: [{ address: 127.0.0.2, key: nokey. }]\n",
		  "4: zones.notify.key: unknown TSIG key 'nokey.' (not in tsig_keys)" },
		{ "zones:\n  - name: a.\n    file: afile\n    allow_transfer: [{ match: any, key: k }]\n",
		  "4: zones.allow_transfer.key: unknown TSIG key 'k' (not in tsig_keys)" },
		{ "zones:\n  - name: a.\n    file: afile\n    notify: [127.0.0.2:99999]\n",
		  "4: zones.notify.address: expected an address (`ADDR:PORT`, `[ADDR6]:PORT` or `ADDR`)" },
		{ "zones:\n  - name: a.\n    file: afile\n    notify: [localhost]\n",
		  "4: zones.notify.address: expected an address (`ADDR:PORT`, `[ADDR6]:PORT` or `ADDR`)" },
		{ "zones:\n  - name: a.\n    file: afile\n    notify: 127.0.0.2\n",
		  "4: zones.notify: expected a list of mappings or of `address` values" },
		{ "zones:\n  - name: a.\n    file: afile\n    notify: [[127.0.0.2]]\n",
		  "4: zones.notify: expected a list of mappings or of `address` values" },
		{ "zones:\n  - name: a.\n    file: afile\n    notify: [{}]\n",
		  "4: missing required key 'address' in zones.notify" },
		{ "zones:\n  - name: a.\n    file: afile\n    notify: [127.0.0.2, \"127.0.0.2:53\"]\n",
		  "4: zones.notify: 127.0.0.2:53 is listed twice" },
		{ "zones:\n  - name: a.\n    file: afile\n    primaries: [127.0.0.2, 127.0.0.2]\n",
		  "4: zones.primaries: 127.0.0.2:53 is listed twice" },
		{ "zones:\n  - name: a.\n    file: afile\n    allow_transfer: [{}]\n",
		  "4: zones.allow_transfer: a rule needs match, key or both" },
		{ "zones:\n  - name: a.\n    file: afile\n    allow_transfer: [{ match: [nosuch] }]\n",
		  "4: zones.allow_transfer.match: 'nosuch' is neither an address, a prefix nor an "
		  "ACL name" },
		{ "zones:\n  - name: a.\n    file: afile\n    allow_transfer: [any]\n",
		  "4: zones.allow_transfer: expected a list of mappings" },
		{ "zones:\n  - name: a.\n    file: afile\n    allow_notify: [{ match: any }]\n",
		  "4: zones: allow_notify is only for a secondary zone (with primaries)" },
		{ "zones:\n  - name: a.\n    file: afile\n    serial_policy: date\n",
		  "4: zones.serial_policy: expected one of increment, unixtime or dateserial" },
		{ "zones:\n  - name: a.\n    file: afile\n    journal_max_size: 1k\n",
		  "4: zones.journal_max_size: expected a size 64k..1T (bytes; k, M, G, T: powers of "
		  "1024)" },
		{ "zones:\n  - name: a.\n    file: afile\n    journal_max_depth: 0\n",
		  "4: zones.journal_max_depth: expected an integer 1..1000000" },
		{ "zones:\n  - name: a.\n    file: afile\n    refresh_min: 100\n    refresh_max: 50\n",
		  "5: zones: refresh_min 100 is more than refresh_max 50" },
		{ "zones:\n  - name: a.\n    file: afile\n    retry_max: 1\n",
		  "4: zones: retry_min 2 is more than retry_max 1" },
		{ "zones:\n  - name: a.\n    file: afile\n    expire_min: 99999999\n",
		  "4: zones: expire_min 99999999 is more than expire_max 1209600" },
		{ "zones:\n  - name: a.\n    file: afile/x.zone\n    primaries: [127.0.0.2]\n",
		  NULL /* "3: zones.file: TMP/afile is not a folder", checked below */ },
		{ "views:\n  - name: v\n    match: any\n    zones:\n      - name: a.\n        file: afile\n"
		  "        notify: [{ address: 127.0.0.2, key: x. }]\n",
		  "7: views.zones.notify.key: unknown TSIG key 'x.' (not in tsig_keys)" },
		{ "views:\n  - name: v\n    match: any\n    zones:\n      - name: a.\n        file: afile\n"
		  "        retry_min: 9\n        retry_max: 8\n",
		  "8: views.zones: retry_min 9 is more than retry_max 8" },
		{ "xfr:\n  max_out: 0\n",
		  "2: xfr.max_out: expected an integer 1..10000" },
		{ "xfr:\n  timeout: forever\n",
		  "2: xfr.timeout: expected a duration 100ms..24h" },
		{ "xfr:\n  max_bytes: 1k\n",
		  "2: xfr.max_bytes: expected a size 64k..1T (bytes; k, M, G, T: powers of 1024)" },
		{ "xfr:\n  notify_retries: 101\n",
		  "2: xfr.notify_retries: expected an integer 0..100" },
		{ "xfr:\n  unknown: 1\n",
		  "2: unknown key 'unknown' in xfr" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = load_err(cases[i].text);
		char want[600];
		if (cases[i].want)
			snprintf(want, sizeof(want), "%s", cases[i].want);
		else
			snprintf(want, sizeof(want), "3: zones.file: %s/afile is not a folder", tmpdir);
		if (strcmp(got, want))
			fail_msg("case %zu:\n  got:  %s\n  want: %s", i, got, want);
	}
}

/* A secondary's folder that cannot be made is an error; a primary's file must exist later
 * (at load), not here: the config does not look at it. */
static void test_secondary_folder(void **state)
{
	(void)state;
	char text[600];
	if (geteuid() != 0) {
		char ro[300];
		snprintf(ro, sizeof(ro), "%s/ro", tmpdir);
		assert_int_equal(mkdir(ro, 0555), 0);
		snprintf(text, sizeof(text),
		         "zones:\n  - name: a.\n    file: %s/sub/a.zone\n    primaries: [127.0.0.2]\n",
		         ro);
		const char *got = load_err(text);
		char want[600];
		snprintf(want, sizeof(want), "3: zones.file: cannot make a folder in %s: %s", ro,
		         strerror(EACCES));
		assert_string_equal(got, want);
		/* the folder exists: fine, even read-only (the error comes when writing) */
		snprintf(text, sizeof(text),
		         "zones:\n  - name: a.\n    file: %s/a.zone\n    primaries: [127.0.0.2]\n", ro);
		rwd_conf_free(load_ok(text));
	}
	/* a primary's file is not looked at by the config */
	rwd_conf_free(load_ok("zones:\n  - name: a.\n    file: none/such.zone\n"));
}

/* What the snapshot holds of the transfer settings: the keyring, one entry
 * per zone with allow_transfer, primaries or allow_notify (keys pointing
 * into the keyring), the transfer limit; both build paths. */
static void test_snapshot(void **state)
{
	(void)state;
	struct rwd_conf *c = load_ok(
		"tsig_keys:\n"
		"  xfr.: { secret: \"AAECAwQFBgcICQoLDA0ODw==\" }\n"
		"  other.: { algorithm: hmac-sha512, secret: \"/w==\" }\n"
		"xfr: { max_out: 7 }\n"
		"zones:\n"
		"  - name: example.com.\n"
		"    file: example.com.zone\n"
		"    allow_transfer: [{ match: [127.0.0.0/8], key: other. }, { match: any }]\n"
		"  - name: plain.example.\n"
		"    file: example.com.zone\n"
		"    notify: [127.0.0.2]\n"
		"  - name: sec.example.\n"
		"    file: never-transferred.zone\n"
		"    primaries: [{ address: 127.0.0.4, key: xfr. }]\n"
		"views:\n"
		"  - name: inside\n"
		"    match: [10.0.0.0/8]\n"
		"    zones:\n"
		"      - name: example.com.\n"
		"        file: example.com.zone\n"
		"        allow_transfer: [{ key: xfr. }]\n"
		"  - name: outside\n"
		"    match: any\n"
		"server: { strict_zones: true }\n");
	unsigned errors = 0;
	/* strict_zones: a secondary not transferred yet does not stop the start */
	struct rwd_snapshot *s = rwd_server_build(c, NULL, &errors);
	assert_non_null(s);
	assert_int_equal(errors, 0);
	assert_int_equal(s->xfr_max_out, 7);
	assert_int_equal(s->tsig.n, 2);
	const struct rwd_tsig_key *xfr = rwd_tsig_keyring_find(&s->tsig, (const uint8_t *)"\3xfr", 5);
	const struct rwd_tsig_key *other = rwd_tsig_keyring_find(&s->tsig,
	                                                         (const uint8_t *)"\5other", 7);
	assert_non_null(xfr);
	assert_non_null(other);
	assert_int_equal(xfr->secret_len, 16);
	assert_int_equal(s->n_zone_settings, 3);

	const uint8_t ex[] = "\7example\3com", sec[] = "\3sec\7example",
	              plain[] = "\5plain\7example";
	const struct rwd_zone_settings *z = rwd_snapshot_zone_settings(s, 0, ex, sizeof(ex));
	assert_non_null(z);
	assert_false(z->secondary);
	assert_int_equal(z->n_allow_transfer, 2);
	assert_ptr_equal(z->allow_transfer[0].key, other);
	assert_false(z->allow_transfer[0].match.any);
	assert_int_equal(z->allow_transfer[0].match.n, 1);
	assert_null(z->allow_transfer[1].key);
	assert_true(z->allow_transfer[1].match.any);
	assert_int_equal(z->n_allow_notify, 0);
	/* notify alone: nothing for the query path */
	assert_null(rwd_snapshot_zone_settings(s, 0, plain, sizeof(plain)));
	/* the view's own zone has its own settings; "outside" shares the top level's */
	z = rwd_snapshot_zone_settings(s, 1, ex, sizeof(ex));
	assert_non_null(z);
	assert_int_equal(z->view, 1);
	assert_int_equal(z->n_allow_transfer, 1);
	assert_ptr_equal(z->allow_transfer[0].key, xfr);
	z = rwd_snapshot_zone_settings(s, 2, ex, sizeof(ex));
	assert_non_null(z);
	assert_int_equal(z->view, 0);
	assert_int_equal(z->n_allow_transfer, 2);
	z = rwd_snapshot_zone_settings(s, 0, sec, sizeof(sec));
	assert_non_null(z);
	assert_true(z->secondary);
	assert_int_equal(z->n_allow_transfer, 0);
	assert_int_equal(z->n_allow_notify, 1);
	assert_ptr_equal(z->allow_notify[0].key, xfr);

	/* the secondary: a SERVFAIL placeholder, listed as not transferred yet */
	const struct rwd_zone *zs = rwd_zonedb_get(s->zones, sec, sizeof(sec));
	assert_non_null(zs);
	assert_true(rwd_zone_is_placeholder(zs));
	const struct rwd_zone_failure *f = rwd_snapshot_failure(s, NULL, sec);
	assert_non_null(f);
	assert_string_equal(f->error, "not transferred yet");
	assert_int_equal(s->n_failures, 1);
	assert_int_equal(s->zone_load_failures, 0);

	/* a rebuild (a zone replaced) makes the same settings afresh */
	struct rwd_zone *again = rwd_zone_failed(ex, "x");
	assert_non_null(again);
	struct rwd_snapshot *s2 = rwd_server_rebuild(c, s, again, NULL);
	assert_non_null(s2);
	assert_int_equal(s2->tsig.n, 2);
	assert_int_equal(s2->n_zone_settings, 3);
	assert_int_equal(s2->xfr_max_out, 7);
	z = rwd_snapshot_zone_settings(s2, 0, sec, sizeof(sec));
	assert_non_null(z);
	assert_ptr_equal(z->allow_notify[0].key,
	                 rwd_tsig_keyring_find(&s2->tsig, (const uint8_t *)"\3xfr", 5));
	rwd_snapshot_free(s2);

	/* a reload (prev set) still lists it, without an error */
	struct rwd_snapshot *s3 = rwd_server_build(c, s, &errors);
	assert_non_null(s3);
	assert_int_equal(errors, 0);
	f = rwd_snapshot_failure(s3, NULL, sec);
	assert_non_null(f);
	assert_string_equal(f->error, "not transferred yet");
	rwd_snapshot_free(s3);
	rwd_snapshot_free(s);
	rwd_conf_free(c);

	/* a primary zone whose file is missing still stops a strict start */
	c = load_ok("server: { strict_zones: true }\n"
	            "zones:\n  - { name: a.example., file: missing.zone }\n");
	assert_null(rwd_server_build(c, NULL, &errors));
	rwd_conf_free(c);
}

/* The transfers example of docs/configuration.md loads, and means what the text says. */
static void test_docs_example(void **state)
{
	(void)state;
	FILE *f = fopen("docs/configuration.md", "r");
	if (!f) {
		print_message("docs/configuration.md not found (run from the repo root); skipped\n");
		skip();
	}
	char line[1024], name[64] = "", *text = NULL;
	size_t len = 0;
	FILE *out = NULL;
	int blocks = 0;
	while (fgets(line, sizeof(line), f)) {
		if (out) {
			if (!strncmp(line, "```", 3)) {
				fclose(out);
				out = NULL;
				blocks++;
				break;
			}
			fputs(line, out);
		} else if (sscanf(line, "<!-- xfr-example: %63s", name) == 1) {
			assert_non_null(fgets(line, sizeof(line), f));
			assert_memory_equal(line, "```yaml", 7);
			out = open_memstream(&text, &len);
		}
	}
	fclose(f);
	assert_int_equal(blocks, 1);
	assert_string_equal(name, "transfers.yaml");
	put("example.net.zone", "");
	struct rwd_conf *c = load_ok(text);
	free(text);
	assert_int_equal(c->n_tsig_keys, 1);
	assert_int_equal(c->tsig_keys[0].secret_len, 32);
	assert_int_equal(c->n_zones, 3);
	const struct rwd_conf_zone *z = &c->zones[1];
	assert_int_equal(z->n_notify, 2);
	assert_int_equal(port_of(&z->notify[0].addr), 53);
	assert_null(z->notify[0].key);
	assert_ptr_equal(z->notify[1].key, &c->tsig_keys[0]);
	assert_int_equal(z->n_allow_transfer, 2);
	assert_true(acl_has(&z->allow_transfer[0].match, "127.0.0.3"));
	assert_false(acl_has(&z->allow_transfer[0].match, "127.0.0.4"));
	assert_null(z->allow_transfer[0].key);
	assert_true(z->allow_transfer[1].match.any);
	assert_int_equal(z->serial_policy, RWD_SERIAL_UNIXTIME);
	assert_int_equal(z->journal_max_size, 64u << 20);
	z = &c->zones[2];
	assert_int_equal(z->n_primaries, 1);
	assert_int_equal(z->n_allow_notify, 1);
	assert_int_equal(z->refresh_max, 3600);
	rwd_conf_free(c);
}

/* The complete example at the top of docs/configuration.md loads, transfers included. */
static void test_docs_complete_example(void **state)
{
	(void)state;
	FILE *f = fopen("docs/configuration.md", "r");
	if (!f) {
		print_message("docs/configuration.md not found (run from the repo root); skipped\n");
		skip();
	}
	char line[1024], *text = NULL;
	size_t len = 0;
	FILE *out = NULL;
	bool seen = false, done = false;
	while (!done && fgets(line, sizeof(line), f)) {
		if (out) {
			if (!strncmp(line, "```", 3)) {
				fclose(out);
				out = NULL;
				done = true;
			} else {
				fputs(line, out);
			}
		} else if (!strncmp(line, "A complete example", 18)) {
			seen = true;
		} else if (seen && !strcmp(line, "```yaml\n")) {
			out = open_memstream(&text, &len);
		}
	}
	fclose(f);
	assert_true(done);
	struct rwd_conf *c = load_ok(text);
	free(text);
	assert_int_equal(c->n_tsig_keys, 1);
	assert_int_equal(c->n_zones, 3);
	assert_int_equal(c->zones[0].n_notify, 1);
	assert_int_equal(c->zones[0].n_allow_transfer, 1);
	assert_ptr_equal(c->zones[0].allow_transfer[0].key, &c->tsig_keys[0]);
	assert_int_equal(c->zones[2].n_primaries, 1);
	assert_int_equal(c->zones[2].n_allow_notify, 1);
	assert_int_equal(c->xfr.max_out, 10);
	rwd_conf_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_option),
		cmocka_unit_test(test_allow_notify_default),
		cmocka_unit_test(test_views),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_secondary_folder),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_docs_example),
		cmocka_unit_test(test_docs_complete_example),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
