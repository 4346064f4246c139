/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for access lists: matching (IPv4, IPv6, IPv4-mapped, prefix
 * boundaries, any/none) and the config's `acls:` table and K_ACL options
 * (names expanded, forward references, loops and bad items as
 * "FILE:LINE: message").
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "testaddr.h"
#include "lib/error.h"
#include "server/conf/conf.h"
#include "server/common/acl.h"

static bool match(const struct rwd_acl *acl, const char *addr)
{
	struct sockaddr_storage ss = test_sockaddr(addr);
	return rwd_acl_match(acl, (struct sockaddr *)&ss);
}

static void test_match(void **state)
{
	struct rwd_acl acl = { 0 };
	assert_false(match(&acl, "10.0.0.1"));              /* empty: none */
	assert_int_equal(rwd_acl_add_text(&acl, "10.0.0.0/8"), 0);
	assert_int_equal(rwd_acl_add_text(&acl, "192.0.2.128/25"), 0);
	assert_int_equal(rwd_acl_add_text(&acl, "127.0.0.2"), 0);
	assert_int_equal(rwd_acl_add_text(&acl, "2001:db8:40::/42"), 0);
	assert_int_equal(rwd_acl_add_text(&acl, "10.0.0.1/8"), RW_EINVAL);     /* host bits */
	assert_int_equal(rwd_acl_add_text(&acl, "10.0.0.0/33"), RW_EMALFORMED);
	assert_int_equal(rwd_acl_add_text(&acl, "internal"), RW_EMALFORMED);
	assert_int_equal(acl.n, 4);

	assert_true(match(&acl, "10.255.255.255"));
	assert_false(match(&acl, "11.0.0.0"));
	assert_true(match(&acl, "192.0.2.128"));
	assert_true(match(&acl, "192.0.2.255"));
	assert_false(match(&acl, "192.0.2.127"));          /* the bit just outside /25 */
	assert_true(match(&acl, "127.0.0.2"));
	assert_false(match(&acl, "127.0.0.1"));
	assert_true(match(&acl, "::ffff:10.1.2.3"));        /* mapped counts as IPv4 */
	assert_false(match(&acl, "::ffff:11.1.2.3"));
	assert_true(match(&acl, "2001:db8:7f::1"));
	assert_false(match(&acl, "2001:db8:80::1"));        /* outside /42 */
	assert_false(rwd_acl_match(&acl, NULL));

	char buf[128];
	rwd_acl_format(&acl, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.0/8, 192.0.2.128/25, 127.0.0.2/32, 2001:db8:40::/42");

	struct rwd_acl copy;
	assert_int_equal(rwd_acl_copy(&copy, &acl), 0);
	rwd_acl_free(&acl);
	assert_true(match(&copy, "10.9.9.9"));
	copy.any = true;
	assert_true(match(&copy, "203.0.113.1"));
	assert_true(rwd_acl_match(&copy, NULL));
	rwd_acl_free(&copy);
}

static struct rwd_conf *load(const char *text, char err[RWD_CONF_ERRLEN])
{
	struct rwd_conf *conf = NULL;
	err[0] = '\0';
	rwd_conf_load_buf(text, strlen(text), "t.yaml", NULL, &conf, err);
	return conf;
}

static void test_conf_acls(void **state)
{
	char err[RWD_CONF_ERRLEN];
	/* api.allow names an ACL written further down; ACLs nest. */
	struct rwd_conf *conf = load(
		"api:\n"
		"  listen: 127.0.0.1:8053\n"
		"  allow: [ops, 2001:db8::/32]\n"
		"acls:\n"
		"  ops: [office, 127.0.0.2]\n"
		"  office: 192.0.2.0/24\n"
		"  everyone: [any]\n", err);
	if (!conf)
		fail_msg("%s", err);
	assert_int_equal(conf->n_acls, 3);
	assert_string_equal(conf->acls[0].name, "ops");
	char buf[128];
	rwd_acl_format(&conf->acls[0].acl, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.0/24, 127.0.0.2/32");
	assert_true(conf->acls[2].acl.any);
	rwd_acl_format(&conf->api_allow, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.0/24, 127.0.0.2/32, 2001:db8::/32");
	assert_false(conf->api_allow.any);
	rwd_conf_free(conf);

	/* Default: any. */
	conf = load("api:\n  listen: 127.0.0.1:8053\n", err);
	assert_non_null(conf);
	assert_true(conf->api_allow.any);
	rwd_conf_free(conf);
}

static void test_conf_errors(void **state)
{
	static const struct { const char *text, *err; } cases[] = {
		{ "acls:\n  a: [b]\n  b: [a]\n", "t.yaml:3: acls: 'a' includes itself" },
		{ "acls:\n  a: [a]\n", "t.yaml:2: acls: 'a' includes itself" },
		{ "acls:\n  a: [10.0.0.1/8]\n", "t.yaml:2: acls: 10.0.0.1/8 has host bits set" },
		{ "acls:\n  a: [nope]\n",
		  "t.yaml:2: acls: 'nope' is neither an address, a prefix nor an ACL name" },
		{ "acls:\n  any: [10.0.0.0/8]\n", "t.yaml:2: acls: bad name 'any' (1..63 letters, digits, "
		  "'-', '_' or '.'; not 'any' or 'none')" },
		{ "acls:\n  a: 10.0.0.0/8\n  a: 10.0.0.0/8\n",
		  "t.yaml:3: duplicate ACL 'a' (first on line 2)" },
		{ "acls:\n  a: []\n",
		  "t.yaml:2: acls: expected a mapping of names to lists of prefixes" },
		{ "acls: [10.0.0.0/8]\n",
		  "t.yaml:1: acls: expected a mapping of names to lists of prefixes" },
		{ "api:\n  listen: 127.0.0.1:1\n  allow: [internal]\n",
		  "t.yaml:3: api.allow: 'internal' is neither an address, a prefix nor an ACL name" },
		{ "api:\n  listen: 127.0.0.1:1\n  allow: {a: b}\n",
		  "t.yaml:3: api.allow: expected a list of prefixes, addresses, ACL names, any or none" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[RWD_CONF_ERRLEN];
		struct rwd_conf *conf = load(cases[i].text, err);
		if (conf)
			fail_msg("case %zu loaded", i);
		if (strcmp(err, cases[i].err))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_conf_acls),
		cmocka_unit_test(test_conf_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
