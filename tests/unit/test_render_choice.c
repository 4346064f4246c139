/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The deterministic evaluation a zone's rendering uses (rwd_steer.heaviest,
 * control/render.c): no client place, no randomness. weighted: the up child
 * of the highest weight, the first of equals, weight 0 only when nothing
 * else is up; multivalue: its first `count` up children in order; every
 * evaluation of the same state gives the same answer, whatever the random
 * stream; geolocation and cidr take their default for a client of no
 * family (the rendering's); fail_open as on the wire.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/conf/conf.h"
#include "server/steer/eval.h"

static char tmpdir[] = "/tmp/test_render_choice.XXXXXX";

static const char config[] =
	"zones: [{ name: t., file: t.zone }]\n"
	"health_checks:\n"
	"  hc: { type: tcp, port: 9 }\n"
	"endpoints:\n"
	"  a: { address: [192.0.2.1], health_check: hc }\n"
	"  b: { address: [192.0.2.2], health_check: hc }\n"
	"  c: { address: [192.0.2.3], health_check: hc }\n"
	"  d: { address: [192.0.2.4], health_check: hc }\n"
	"traffic:\n"
	"  canary.t.: { policy: { weighted: { a: 10, b: 90 } } }\n"
	"  tie.t.: { policy: { weighted: { c: 50, a: 50, b: 20 } } }\n"
	"  zero.t.: { policy: { weighted: [ { weight: 1, node: a }, { weight: 0, node: b } ] } }\n"
	"  mv.t.: { policy: { multivalue: { count: 2, of: [a, b, c, d] } } }\n"
	"  geo.t.: { policy: { geolocation: { DE: a, default: c } } }\n"
	"  cidr.t.: { policy: { cidr: { 0.0.0.0/0: a, default: d } } }\n"
	"  nofo.t.: { fail_open: false, policy: { failover: [a, b] } }\n";

static struct rwd_conf *conf;
static struct rwd_model *model;

static int setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	char path[256];
	snprintf(path, sizeof(path), "%s/t.zone", tmpdir);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs("$ORIGIN t.\n@ 300 SOA ns hostmaster 1 3600 600 86400 300\n@ 300 NS ns\n"
	      "ns 300 A 192.0.2.53\n", f);
	fclose(f);
	char err[RWD_CONF_ERRLEN] = "";
	if (rwd_conf_load_buf(config, strlen(config), "render.yaml", tmpdir, &conf, err) != 0) {
		fprintf(stderr, "config: %s\n", err);
		return -1;
	}
	model = conf->model;
	return 0;
}

static int teardown(void **state)
{
	rwd_conf_free(conf);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

static const struct rwd_traffic *traffic(const char *label)
{
	uint8_t flat[64];
	size_t l = strlen(label);
	flat[0] = (uint8_t)l;
	memcpy(flat + 1, label, l);
	memcpy(flat + 1 + l, "\001t\000", 3);
	const struct rwd_traffic *t = rwd_model_find(model, flat, l + 4);
	if (t == NULL)
		fail_msg("no traffic name %s.t.", label);
	return t;
}

/* The names of what the rendering's evaluation gives, "a b", with the
 * endpoints of down failing their checks; the same for 50 random streams. */
static void expect(const char *label, const char *down, const char *want)
{
	uint8_t *st = calloc(model->n_slots ? model->n_slots : 1, 1);
	assert_non_null(st);
	for (size_t i = 0; i < model->n_endpoints; i++) {   /* one-letter names */
		const struct rwd_endpoint *e = &model->endpoints[i];
		if (strchr(down, e->name[0]))
			st[e->addrs[0].slot] = RWD_SLOT_DOWN;
	}
	struct rwd_health_state health = { .n_slots = model->n_slots, .state = st };
	char first[128] = "";
	for (uint64_t seed = 1; seed <= 50; seed++) {
		uint64_t rng = seed * 0x9e3779b97f4a7c15ULL;
		struct rwd_client client = { 0 };   /* no address, no ECS: family 0 */
		struct rwd_steer s = { .model = model, .health = &health, .rng = &rng,
		                       .client = &client, .heaviest = true };
		struct rwd_steer_result res;
		char got[128] = "";
		if (rwd_steer_eval(&s, traffic(label), AF_INET, &res))
			for (unsigned i = 0; i < res.n; i++)
				snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "",
				         res.endpoints[i]->name);
		if (seed == 1)
			snprintf(first, sizeof(first), "%s", got);
		if (strcmp(got, first) != 0)
			fail_msg("%s.t.: %s with one stream, %s with another", label, first, got);
	}
	if (strcmp(first, want) != 0)
		fail_msg("%s.t. (down: %s): got \"%s\", want \"%s\"", label, down, first, want);
	free(st);
}

static void test_weighted(void **unused)
{
	expect("canary", "", "b");             /* the 90, never the 10 canary */
	expect("canary", "b", "a");
	expect("tie", "", "c");                /* the first of the heaviest */
	expect("tie", "c", "a");
	expect("tie", "c a", "b");
	expect("zero", "", "a");               /* weight 0 only when nothing else is up */
	expect("zero", "a", "b");
}

static void test_multivalue(void **unused)
{
	expect("mv", "", "a b");               /* the first count, in order */
	expect("mv", "a", "b c");
	expect("mv", "a b c", "d");
}

static void test_no_place(void **unused)
{
	expect("geo", "", "c");                /* the default, not a rule */
	expect("cidr", "", "d");               /* even 0.0.0.0/0 holds no client of no family */
	expect("nofo", "a b", "");             /* fail_open: false: nothing */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weighted),
		cmocka_unit_test(test_multivalue),
		cmocka_unit_test(test_no_place),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
