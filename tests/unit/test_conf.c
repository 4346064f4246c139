/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the configuration loader: valid configs (defaults, every
 * option), a table of broken configs each with its exact "FILE:LINE:
 * message", listen address parsing, and docs/configuration.md against the
 * schema table.
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
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "server/conf/conf.h"

static char tmpdir[] = "/tmp/test_conf.XXXXXX";

/* Write text to tmpdir/name; returns the path (static, overwritten by the next call). */
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
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];
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

static void test_defaults(void **state)
{
	static const char *empties[] = {
		"", "# only a comment\n", "---\n", "server:\ntcp: ~\nzones:\n", "{}\n",
	};
	for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		struct rwd_conf *c = load_ok(empties[i]);
		assert_int_equal(c->n_listen, 1);
		assert_string_equal(c->listen[0].text, "127.0.0.1:53");
		const struct sockaddr_in *sa = (const struct sockaddr_in *)&c->listen[0].addr;
		assert_int_equal(sa->sin_family, AF_INET);
		assert_int_equal(ntohs(sa->sin_port), 53);
		assert_int_equal(sa->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
		assert_int_equal(c->listen[0].addr_len, sizeof(struct sockaddr_in));
		assert_int_equal(c->workers, 0);
		assert_int_equal(c->edns_udp_size, 1232);
		assert_null(c->nsid);
		assert_int_equal(c->nsid_len, 0);
		assert_int_equal(c->tcp_idle_timeout_ms, 10000);
		assert_int_equal(c->tcp_max_clients, 1000);
		assert_int_equal(c->n_zones, 0);
		assert_null(c->zones);
		assert_false(c->strict_zones);
		assert_int_equal(c->zone_limits.max_rrset_records, RWD_ZONE_MAX_RRSET_RECORDS);
		assert_int_equal(c->zone_limits.max_include_depth, RWD_ZONE_MAX_INCLUDE_DEPTH);
		assert_true(c->zone_limits.max_file_bytes == RWD_ZONE_MAX_FILE_BYTES);
		assert_false(c->zone_limits.include_any_path);
		rwd_conf_free(c);
	}
}

/* zone_limits (sizes with k/M/G/T suffixes) and server.strict_zones. */
static void test_zone_limits(void **state)
{
	static const struct { const char *text; unsigned long long bytes; } sizes[] = {
		{ "1", 1 }, { "4096", 4096 }, { "64k", 65536 }, { "512M", 512ull << 20 },
		{ "4G", 4ull << 30 }, { "1T", 1ull << 40 }, { "\"2k\"", 2048 },
	};
	char yaml[200];
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(yaml, sizeof(yaml), "zone_limits:\n  max_file_bytes: %s\n", sizes[i].text);
		struct rwd_conf *c = load_ok(yaml);
		assert_true(c->zone_limits.max_file_bytes == sizes[i].bytes);
		rwd_conf_free(c);
	}
	struct rwd_conf *c = load_ok("server:\n  strict_zones: true\n"
	                             "zone_limits:\n  max_rrset_records: 32767\n"
	                             "  max_include_depth: 0\n  include_any_path: true\n");
	assert_true(c->strict_zones);
	assert_int_equal(c->zone_limits.max_rrset_records, 32767);
	assert_int_equal(c->zone_limits.max_include_depth, 0);
	assert_true(c->zone_limits.include_any_path);
	assert_true(c->zone_limits.max_file_bytes == RWD_ZONE_MAX_FILE_BYTES);
	rwd_conf_free(c);
}

static void test_every_option(void **state)
{
	struct rwd_conf *c = load_ok(
		"# every option\n"                                         /* 1 */
		"server:\n"                                                /* 2 */
		"  listen: [\"127.0.0.1:5353\", \"[::1]:5353\", \"::2\"]\n"/* 3 */
		"  workers: 2\n"                                           /* 4 */
		"  edns_udp_size: 4096\n"                                  /* 5 */
		"  nsid: \"ns1\"\n"                                        /* 6 */
		"tcp:\n"                                                   /* 7 */
		"  idle_timeout: 500ms\n"                                  /* 8 */
		"  max_clients: \"20\"\n"                                  /* 9 */
		"zones:\n"                                                 /* 10 */
		"  - name: Example.COM.\n"                                 /* 11 */
		"    file: example.com.zone\n"                             /* 12 */
		"  - name: example.org\n"                                  /* 13 */
		"    file: /var/lib/runway/example.org.zone\n"             /* 14 */
		"  - {name: ., file: sub/root.zone}\n");                   /* 15 */
	char want[300];

	assert_string_equal(c->path, put("ok.yaml", ""));
	assert_int_equal(c->n_listen, 3);
	assert_string_equal(c->listen[0].text, "127.0.0.1:5353");
	assert_string_equal(c->listen[1].text, "[::1]:5353");
	assert_string_equal(c->listen[2].text, "[::2]:53");
	const struct sockaddr_in6 *sa6 = (const struct sockaddr_in6 *)&c->listen[1].addr;
	assert_int_equal(sa6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sa6->sin6_port), 5353);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sa6->sin6_addr));
	assert_int_equal(c->listen[1].addr_len, sizeof(struct sockaddr_in6));
	assert_int_equal(c->workers, 2);
	assert_int_equal(c->edns_udp_size, 4096);
	assert_int_equal(c->nsid_len, 3);
	assert_memory_equal(c->nsid, "ns1", 3);
	assert_int_equal(c->tcp_idle_timeout_ms, 500);
	assert_int_equal(c->tcp_max_clients, 20);

	assert_int_equal(c->n_zones, 3);
	assert_string_equal(c->zones[0].name, "Example.COM.");
	assert_memory_equal(c->zones[0].dname, "\7example\3com\0", 13);
	snprintf(want, sizeof(want), "%s/example.com.zone", tmpdir);
	assert_string_equal(c->zones[0].file, want);
	assert_int_equal(c->zones[0].line, 11);
	assert_string_equal(c->zones[1].name, "example.org.");
	assert_memory_equal(c->zones[1].dname, "\7example\3org\0", 13);
	assert_string_equal(c->zones[1].file, "/var/lib/runway/example.org.zone");
	assert_int_equal(c->zones[1].line, 13);
	assert_string_equal(c->zones[2].name, ".");
	assert_int_equal(c->zones[2].dname[0], 0);
	snprintf(want, sizeof(want), "%s/sub/root.zone", tmpdir);
	assert_string_equal(c->zones[2].file, want);
	assert_int_equal(c->zones[2].line, 15);
	rwd_conf_free(c);
}

static void test_values(void **state)
{
	static const struct { const char *text; unsigned ms; } durations[] = {
		{ "500ms", 500 }, { "10s", 10000 }, { "2m", 120000 }, { "1h", 3600000 },
		{ "7", 7000 }, { "\"7\"", 7000 }, { "1ms", 1 }, { "0060s", 60000 },
	};
	char yaml[200];
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		snprintf(yaml, sizeof(yaml), "tcp:\n  idle_timeout: %s\n", durations[i].text);
		struct rwd_conf *c = load_ok(yaml);
		assert_int_equal(c->tcp_idle_timeout_ms, durations[i].ms);
		rwd_conf_free(c);
	}

	struct rwd_conf *c = load_ok("server:\n  listen: \"[::1]\"\n  nsid: 0x00FfA0\n"
	                             "  workers: 1024\n  edns_udp_size: 512\n");
	assert_int_equal(c->n_listen, 1);
	assert_string_equal(c->listen[0].text, "[::1]:53");
	assert_int_equal(c->nsid_len, 3);
	assert_memory_equal(c->nsid, "\x00\xff\xa0", 3);
	assert_int_equal(c->workers, 1024);
	assert_int_equal(c->edns_udp_size, 512);
	rwd_conf_free(c);

	/* Block list, anchors and aliases, explicit document markers. */
	c = load_ok("---\nserver:\n  listen:\n    - &a 10.0.0.1:53\n    - 10.0.0.2\n"
	            "zones:\n  - name: a.\n    file: &f same.zone\n  - name: b.\n    file: *f\n...\n");
	assert_int_equal(c->n_listen, 2);
	assert_string_equal(c->listen[1].text, "10.0.0.2:53");
	assert_int_equal(c->n_zones, 2);
	assert_string_equal(c->zones[0].file, c->zones[1].file);
	rwd_conf_free(c);
}

/* Limits that need long inputs: 1024 listen addresses, 128 NSID bytes. */
static void test_limits(void **state)
{
	char *yaml = malloc(64 * 1100);
	size_t n = (size_t)sprintf(yaml, "server:\n  nsid: 0x");
	for (int i = 0; i < 128; i++)
		n += (size_t)sprintf(yaml + n, "%02x", i);
	n += (size_t)sprintf(yaml + n, "\n  listen:\n");
	for (int i = 0; i < 1024; i++)
		n += (size_t)sprintf(yaml + n, "    - 10.0.%d.%d\n", i / 256, i % 256);
	struct rwd_conf *c = load_ok(yaml);
	assert_int_equal(c->n_listen, 1024);
	assert_int_equal(c->nsid_len, 128);
	assert_int_equal(c->nsid[127], 127);
	rwd_conf_free(c);

	char err[RWD_CONF_ERRLEN];
	sprintf(yaml + n, "    - 10.0.4.0\n");
	assert_int_equal(rwd_conf_load_buf(yaml, strlen(yaml), "x", NULL, &c, err), RW_ECONF);
	assert_string_equal(err, "x:4: server.listen: more than 1024 addresses");
	n = (size_t)sprintf(yaml, "server:\n  nsid: 0x");
	for (int i = 0; i < 129; i++)
		n += (size_t)sprintf(yaml + n, "00");
	assert_int_equal(rwd_conf_load_buf(yaml, n, "x", NULL, &c, err), RW_ECONF);
	assert_string_equal(err, "x:2: server.nsid: expected a string or 0x-hex, 1..128 bytes");
	free(yaml);

	c = load_ok("zones: []\n");
	assert_int_equal(c->n_zones, 0);
	rwd_conf_free(c);
}

static void test_load_buf(void **state)
{
	static const char yaml[] = "zones:\n  - name: example.com\n    file: z/example.com.zone\n";
	struct rwd_conf *c = NULL;
	char err[RWD_CONF_ERRLEN];

	/* Not NUL-terminated: the length is what counts. */
	char *copy = malloc(sizeof(yaml) - 1);
	memcpy(copy, yaml, sizeof(yaml) - 1);
	assert_int_equal(rwd_conf_load_buf(copy, sizeof(yaml) - 1, "mem", NULL, &c, err), 0);
	free(copy);
	assert_string_equal(c->path, "mem");
	assert_string_equal(c->zones[0].file, "z/example.com.zone");
	rwd_conf_free(c);

	assert_int_equal(rwd_conf_load_buf(yaml, strlen(yaml), "mem", "", &c, err), 0);
	assert_string_equal(c->zones[0].file, "z/example.com.zone");
	rwd_conf_free(c);

	assert_int_equal(rwd_conf_load_buf(yaml, strlen(yaml), "mem", "/etc/runway/", &c, err), 0);
	assert_string_equal(c->zones[0].file, "/etc/runway/z/example.com.zone");
	rwd_conf_free(c);

	assert_int_equal(rwd_conf_load_buf(yaml, strlen(yaml), "mem", "/", &c, err), 0);
	assert_string_equal(c->zones[0].file, "/z/example.com.zone");
	rwd_conf_free(c);

	assert_int_equal(rwd_conf_load_buf(NULL, 0, "empty", NULL, &c, err), 0);
	assert_int_equal(c->n_zones, 0);
	rwd_conf_free(c);
	rwd_conf_free(NULL);
}

/* A relative config path gives zone paths relative to the same directory. */
static void test_relative_path(void **state)
{
	char cwd[4096], sub[300];
	struct rwd_conf *c = NULL;
	char err[RWD_CONF_ERRLEN];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(sub, sizeof(sub), "%s/rel", tmpdir);
	assert_int_equal(mkdir(sub, 0700), 0);
	put("rel/c.yaml", "zones:\n  - {name: a., file: a.zone}\n  - {name: b., file: ../b.zone}\n");
	assert_int_equal(chdir(tmpdir), 0);
	int rc = rwd_conf_load("rel/c.yaml", &c, err);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(rc, 0);
	assert_string_equal(c->path, "rel/c.yaml");
	assert_string_equal(c->zones[0].file, "rel/a.zone");
	assert_string_equal(c->zones[1].file, "rel/../b.zone");
	rwd_conf_free(c);
}

static void test_cannot_open(void **state)
{
	struct rwd_conf *c = (struct rwd_conf *)1;
	char err[RWD_CONF_ERRLEN], want[400], path[300];

	snprintf(path, sizeof(path), "%s/missing.yaml", tmpdir);
	assert_int_equal(rwd_conf_load(path, &c, err), RW_EIO);
	assert_null(c);
	snprintf(want, sizeof(want), "%s: cannot open: %s", path, strerror(ENOENT));
	assert_string_equal(err, want);

	assert_int_equal(rwd_conf_load(tmpdir, &c, err), RW_EIO);
	assert_null(c);
	snprintf(want, sizeof(want), "%s: cannot read: %s", tmpdir, strerror(EISDIR));
	assert_string_equal(err, want);
}

/* Broken configs: each must fail with exactly "FILE:" + want. */
static const struct { const char *yaml, *want; } broken[] = {
	/* unknown keys and duplicates */
	{ "steering:\n  x: 1\n", "1: unknown key 'steering' in the top level" },
	{ "server:\n  workers: 2\n  foo: 1\n", "3: unknown key 'foo' in server" },
	{ "tcp:\n  idle: 1s\n", "2: unknown key 'idle' in tcp" },
	{ "server.workers: 1\n", "1: unknown key 'server.workers' in the top level" },
	{ "zones:\n  - name: a.\n    file: a.zone\n    serial: 1\n", "4: unknown key 'serial' in zones" },
	{ "server:\n  workers: 1\n  workers: 2\n", "3: duplicate key 'workers' in server (first on line 2)" },
	{ "tcp: {}\n\ntcp: {}\n", "3: duplicate key 'tcp' in the top level (first on line 1)" },
	{ "? [a]\n: 1\n", "1: keys must be plain names (in the top level)" },
	{ "\"bad\\x01key\": 1\n", "1: unknown key 'bad?key' in the top level" },
	/* shapes */
	{ "- server\n", "1: the top level must be a mapping" },
	{ "just text\n", "1: the top level must be a mapping" },
	{ "server: [1]\n", "1: server: expected a mapping" },
	{ "\ntcp: 5\n", "2: tcp: expected a mapping" },
	{ "zones:\n  name: a.\n", "2: zones: expected a list of mappings" },
	{ "zones:\n  - {name: a., file: a}\n  - example.com\n", "3: zones: expected a list of mappings" },
	/* integers */
	{ "server:\n  workers: 2000\n", "2: server.workers: expected an integer 0..1024" },
	{ "server:\n  workers: -1\n", "2: server.workers: expected an integer 0..1024" },
	{ "server:\n  workers: two\n", "2: server.workers: expected an integer 0..1024" },
	{ "server:\n  workers: 1.0\n", "2: server.workers: expected an integer 0..1024" },
	{ "server:\n  workers:\n", "2: server.workers: expected an integer 0..1024" },
	{ "server:\n  workers: 99999999999999999999999\n", "2: server.workers: expected an integer 0..1024" },
	{ "server:\n  workers:\n    - 1\n", "3: server.workers: expected an integer 0..1024" },
	{ "server:\n  edns_udp_size: 511\n", "2: server.edns_udp_size: expected an integer 512..4096" },
	{ "server:\n  edns_udp_size: 4097\n", "2: server.edns_udp_size: expected an integer 512..4096" },
	{ "tcp:\n  max_clients: 0\n", "2: tcp.max_clients: expected an integer 1..1000000" },
	/* durations */
	{ "tcp:\n  idle_timeout: 0\n", "2: tcp.idle_timeout: expected a duration 1ms..1h" },
	{ "tcp:\n  idle_timeout: 61m\n", "2: tcp.idle_timeout: expected a duration 1ms..1h" },
	{ "tcp:\n  idle_timeout: 1.5s\n", "2: tcp.idle_timeout: expected a duration 1ms..1h" },
	{ "tcp:\n  idle_timeout: 10 s\n", "2: tcp.idle_timeout: expected a duration 1ms..1h" },
	{ "tcp:\n  idle_timeout: s\n", "2: tcp.idle_timeout: expected a duration 1ms..1h" },
	{ "tcp:\n  idle_timeout: 9999999999999999h\n", "2: tcp.idle_timeout: expected a duration 1ms..1h" },
	/* listen */
	{ "server:\n  listen: 1.2.3.4:99999\n", "2: server.listen: expected an address or list of addresses" },
	{ "server:\n  listen: localhost:53\n", "2: server.listen: expected an address or list of addresses" },
	{ "server:\n  listen: []\n", "2: server.listen: expected an address or list of addresses" },
	{ "server:\n  listen: {a: 1}\n", "2: server.listen: expected an address or list of addresses" },
	{ "server:\n  listen:\n    - 127.0.0.1\n    - ::1:53\n    - \"[::1]:0\"\n",
	  "5: server.listen: expected an address or list of addresses" },
	{ "server:\n  listen: [\n    127.0.0.1,\n    10.0.0.256\n  ]\n",
	  "4: server.listen: expected an address or list of addresses" },
	{ "server:\n  listen: [\"127.0.0.1:53\", \"::1\",\n    127.0.0.1]\n",
	  "3: server.listen: 127.0.0.1:53 is listed twice" },
	/* nsid */
	{ "server:\n  nsid: \"\"\n", "2: server.nsid: expected a string or 0x-hex, 1..128 bytes" },
	{ "server:\n  nsid: 0x123\n", "2: server.nsid: expected a string or 0x-hex, 1..128 bytes" },
	{ "server:\n  nsid: 0xzz\n", "2: server.nsid: expected a string or 0x-hex, 1..128 bytes" },
	{ "server:\n  nsid: 0x\n", "2: server.nsid: expected a string or 0x-hex, 1..128 bytes" },
	{ "server:\n  nsid: \"a\\0b\"\n", "2: server.nsid: expected a string or 0x-hex, 1..128 bytes" },
	{ "server:\n  nsid: [a]\n", "2: server.nsid: expected a string or 0x-hex, 1..128 bytes" },
	{ "server:\n  nsid: "
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
	  "2: server.nsid: expected a string or 0x-hex, 1..128 bytes" },
	/* zones */
	{ "zones:\n  - name: a.\n\n  - file: b.zone\n", "2: missing required key 'file' in zones" },
	{ "zones:\n  - name: a.\n    file: a.zone\n  - file: b.zone\n", "4: missing required key 'name' in zones" },
	{ "zones:\n  - {}\n", "2: missing required key 'name' in zones" },
	{ "zones:\n  - name: a..b\n    file: a.zone\n", "2: zones.name: expected a domain name" },
	{ "zones:\n  - name: \"\"\n    file: a.zone\n", "2: zones.name: expected a domain name" },
	{ "zones:\n  - name: a.\n    file: \"\"\n", "3: zones.file: expected a file path" },
	{ "zones:\n  - name: a.\n    file: [a]\n", "3: zones.file: expected a file path" },
	{ "zones:\n  - name: example.com.\n    file: a.zone\n  - name: example.net.\n    file: b.zone\n"
	  "  - name: EXAMPLE.com\n    file: c.zone\n",
	  "6: duplicate zone 'EXAMPLE.com.' (first on line 2)" },
	{ "zones:\n  - {name: b., file: b}\n  - {name: a., file: a}\n  - {name: A., file: a}\n"
	  "  - {name: b., file: b}\n  - {name: a, file: a}\n",
	  "4: duplicate zone 'A.' (first on line 3)" },
	/* zone_limits */
	{ "zone_limits:\n  max_rrset_records: 0\n",
	  "2: zone_limits.max_rrset_records: expected an integer 1..32767" },
	{ "zone_limits:\n  max_rrset_records: 32768\n",
	  "2: zone_limits.max_rrset_records: expected an integer 1..32767" },
	{ "zone_limits:\n  max_include_depth: 65\n",
	  "2: zone_limits.max_include_depth: expected an integer 0..64" },
	{ "zone_limits:\n  max_file_bytes: 0\n",
	  "2: zone_limits.max_file_bytes: expected a size 1..1T (bytes; k, M, G, T: powers of 1024)" },
	{ "zone_limits:\n  max_file_bytes: 2T\n",
	  "2: zone_limits.max_file_bytes: expected a size 1..1T (bytes; k, M, G, T: powers of 1024)" },
	{ "zone_limits:\n  max_file_bytes: 4GB\n",
	  "2: zone_limits.max_file_bytes: expected a size 1..1T (bytes; k, M, G, T: powers of 1024)" },
	{ "zone_limits:\n  max_file_bytes: 4g\n",
	  "2: zone_limits.max_file_bytes: expected a size 1..1T (bytes; k, M, G, T: powers of 1024)" },
	{ "zone_limits:\n  max_file_bytes: 99999999999999T\n",
	  "2: zone_limits.max_file_bytes: expected a size 1..1T (bytes; k, M, G, T: powers of 1024)" },
	{ "zone_limits:\n  max_file_bytes: k\n",
	  "2: zone_limits.max_file_bytes: expected a size 1..1T (bytes; k, M, G, T: powers of 1024)" },
	{ "server:\n  strict_zones: yes please\n",
	  "2: server.strict_zones: expected a boolean (true or false)" },
	{ "zone_limits:\n  max_records: 5\n", "2: unknown key 'max_records' in zone_limits" },
	/* YAML itself */
	{ "server:\n  workers: [1, 2\n", "3: did not find expected ',' or ']'" },
	{ "server:\n\tworkers: 1\n", "2: found character that cannot start any token" },
	{ "server: *x\n", "1: found undefined alias" },
	{ "server:\n  workers: 1\n  nsid: \"\xff\"\n", "3: invalid leading UTF-8 octet" },
	{ "server: {}\n---\ntcp: {}\n", "2: only one YAML document is allowed" },
	{ "server: {}\n---\ntcp: [\n", "4: did not find expected node content" },
};

static void test_broken(void **state)
{
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		struct rwd_conf *c = (struct rwd_conf *)1;
		char err[RWD_CONF_ERRLEN], want[RWD_CONF_ERRLEN];
		const char *path = put("broken.yaml", broken[i].yaml);
		snprintf(want, sizeof(want), "%s:%s", path, broken[i].want);
		int rc = rwd_conf_load(path, &c, err);
		if (rc != RW_ECONF || c != NULL || strcmp(err, want) != 0)
			fail_msg("case %zu: rc %d\n  got:  %s\n  want: %s", i, rc, err, want);
	}
}

static void test_parse_addr(void **state)
{
	static const struct { const char *in; uint16_t def; const char *text; } ok[] = {
		{ "127.0.0.1:5353", 53, "127.0.0.1:5353" },
		{ "127.0.0.1", 53, "127.0.0.1:53" },
		{ "0.0.0.0", 853, "0.0.0.0:853" },
		{ "[::1]:5353", 53, "[::1]:5353" },
		{ "[::1]", 53, "[::1]:53" },
		{ "::", 53, "[::]:53" },
		{ "2001:DB8:0:0::1", 53, "[2001:db8::1]:53" },
		{ "[::ffff:192.0.2.1]:65535", 53, "[::ffff:192.0.2.1]:65535" },
		{ "10.0.0.1:1", 53, "10.0.0.1:1" },
	};
	static const char *bad[] = {
		"", ":53", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:5x",
		"127.0.0.1:+53", "127.1", "256.0.0.1", "localhost", "[127.0.0.1]:53", "[::1]53",
		"[::1", "::1]:53", "[]:53", "::1:53:x", "1.2.3.4 ", "[::1]:99999999999999999999999",
		"fe80::1%eth0",
	};
	struct rw_sockaddr l;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (rw_sockaddr_parse(ok[i].in, ok[i].def, &l) != 0)
			fail_msg("'%s' rejected", ok[i].in);
		assert_string_equal(l.text, ok[i].text);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rw_sockaddr_parse(bad[i], 53, &l) != RW_EINVAL)
			fail_msg("'%s' accepted", bad[i]);
}

/* docs/configuration.md must embed rwd_conf_doc()'s table verbatim. */
static void test_docs(void **state)
{
	FILE *f = fopen("docs/configuration.md", "r");
	if (!f) {
		print_message("docs/configuration.md not found (run from the repo root); skipped\n");
		skip();
	}
	char *doc = NULL, *table = NULL;
	size_t doc_len = 0, table_len = 0;
	FILE *d = open_memstream(&doc, &doc_len);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, d);
	fclose(f);
	fclose(d);
	FILE *t = open_memstream(&table, &table_len);
	rwd_conf_doc(t);
	fclose(t);
	if (!strstr(doc, table))
		fail_msg("docs/configuration.md does not contain the current option table:\n%s", table);
	free(doc);
	free(table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_option),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_zone_limits),
		cmocka_unit_test(test_load_buf),
		cmocka_unit_test(test_relative_path),
		cmocka_unit_test(test_cannot_open),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_parse_addr),
		cmocka_unit_test(test_docs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
