/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for how stored API changes meet the configuration file
 * (control.h, "stored changes"; runway check and the start-up build use
 * the same code): every stored change applies; one whose error names it is
 * skipped; one that breaks a line of the file (the error names the file,
 * not the change) is found by adding the changes one at a time; the rest
 * always applies, in order (endpoints before the traffic that uses them,
 * drains last); a skipped change is listed with its reason. A real LMDB
 * store and a configuration file in a temporary folder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"
#include "server/conf/conf.h"
#include "server/control/control.h"
#include "server/steer/model.h"
#include "server/store/store.h"

struct fixture {
	char dir[64], conf_path[128], store_dir[128];
	struct rwd_conf *conf;
	struct rwd_control *ctl;
	char reports[8][1024];
	size_t n_reports;
};

static const char conf_text[] =
	"server:\n  listen: [\"127.0.0.1:5300\"]\n"
	"zones:\n  - { name: example.com., file: example.com.zone }\n"
	"endpoints:\n"
	"  a: { address: [192.0.2.10] }\n"
	"  b: { address: [192.0.2.20] }\n"
	"traffic:\n"
	"  fo.example.com.:\n"
	"    policy: { failover: [a, b] }\n";

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/rw-stored-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->conf_path, sizeof(f->conf_path), "%s/runway.yaml", f->dir);
	snprintf(f->store_dir, sizeof(f->store_dir), "%s/state", f->dir);
	FILE *out = fopen(f->conf_path, "w");
	fputs(conf_text, out);
	fclose(out);
	char err[RWD_CONF_ERRLEN];
	if (rwd_conf_load(f->conf_path, &f->conf, err) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	char cerr[RWD_CONTROL_ERRLEN];
	if (rwd_control_open(NULL, f->store_dir, &f->ctl, cerr) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[300];
	rwd_control_close(f->ctl);
	rwd_conf_free(f->conf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Store one entry beside the control layer (as an earlier runwayd did). */
static void put(struct fixture *f, const char *table, const char *key, const char *value)
{
	struct rwd_store *s;
	struct rwd_store_txn *t;
	char err[256];
	rwd_control_close(f->ctl);
	assert_int_equal(rwd_store_open(f->store_dir, &s, err), 0);
	assert_int_equal(rwd_store_begin(s, &t), 0);
	assert_int_equal(rwd_store_put(t, table, key, value, strlen(value)), 0);
	assert_int_equal(rwd_store_commit(t), 0);
	rwd_store_close(s);
	char cerr[RWD_CONTROL_ERRLEN];
	assert_int_equal(rwd_control_open(NULL, f->store_dir, &f->ctl, cerr), 0);
}

static void report(void *ctx, const char *msg)
{
	struct fixture *f = ctx;
	if (f->n_reports < 8)
		snprintf(f->reports[f->n_reports++], sizeof(f->reports[0]), "%s", msg);
}

static int skipped(struct fixture *f)
{
	f->n_reports = 0;
	return rwd_control_check_stored(f->ctl, &f->conf, report, f);
}

static const struct rwd_endpoint *endpoint(struct fixture *f, const char *name)
{
	return rwd_model_find_endpoint(f->conf->model, name);
}

struct listing {
	char keys[8][128], errors[8][512];
	size_t n;
};

static int list_one(void *ctx, const struct rwd_stored_change *ch)
{
	struct listing *l = ctx;
	snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", ch->key);
	snprintf(l->errors[l->n], sizeof(l->errors[0]), "%s", ch->error ? ch->error : "");
	l->n++;
	return 0;
}

static void test_all_apply(void **state)
{
	struct fixture *f = *state;
	put(f, "endpoints", "c", "{\"address\": [\"192.0.2.30\"]}");
	put(f, "traffic", "c.example.com.", "{\"ttl\": 30, \"policy\": \"c\"}");
	put(f, "drains", "c", "true");
	assert_int_equal(skipped(f), 0);
	assert_int_equal(f->n_reports, 0);
	assert_non_null(endpoint(f, "c"));
	assert_true(endpoint(f, "c")->drained);
	assert_int_equal(f->conf->model->n_traffic, 2);
}

/* The error names the stored change: it alone goes. */
static void test_named_change_skipped(void **state)
{
	struct fixture *f = *state;
	put(f, "traffic", "x.example.com.", "{\"ttl\": 30, \"policy\": \"nope\"}");
	put(f, "traffic", "y.example.com.", "{\"ttl\": 30, \"policy\": \"b\"}");
	put(f, "drains", "gone", "true");
	assert_int_equal(skipped(f), 2);
	assert_int_equal(f->n_reports, 2);
	/* in the order the errors came up: a missing entry before validation */
	assert_non_null(strstr(f->reports[0], "store drains/gone: "));
	assert_non_null(strstr(f->reports[1], "store traffic/x.example.com.:"));
	assert_non_null(strstr(f->reports[1], "'runway changes drop traffic/x.example.com.'"));
	assert_int_equal(f->conf->model->n_traffic, 2);   /* fo and y */
	struct listing l = { 0 };
	assert_int_equal(rwd_control_changes(f->ctl, list_one, &l), 0);
	assert_int_equal(l.n, 3);
	/* listed in apply order: traffic, then drains */
	assert_string_equal(l.keys[0], "traffic/x.example.com.");
	assert_non_null(strstr(l.errors[0], "nope"));
	assert_string_equal(l.keys[1], "traffic/y.example.com.");
	assert_string_equal(l.errors[1], "");
	assert_string_equal(l.keys[2], "drains/gone");
	assert_true(l.errors[2][0] != '\0');
}

/* The error names a line of the file (its policy uses an endpoint a stored
 * change removed): found by adding the changes one at a time. */
static void test_file_line_blamed_change_found(void **state)
{
	struct fixture *f = *state;
	put(f, "endpoints", "a", "null");                     /* fo.example.com. uses a */
	put(f, "endpoints", "c", "{\"address\": [\"192.0.2.30\"]}");
	put(f, "traffic", "c.example.com.", "{\"ttl\": 30, \"policy\": \"c\"}");
	assert_int_equal(skipped(f), 1);
	assert_int_equal(f->n_reports, 1);
	assert_non_null(strstr(f->reports[0], "stored change endpoints/a skipped"));
	assert_non_null(strstr(f->reports[0], "runway.yaml:"));
	assert_non_null(endpoint(f, "a"));
	assert_non_null(endpoint(f, "c"));
	assert_int_equal(f->conf->model->n_traffic, 2);
}

/* A change that depends on a skipped one goes too, and only those. */
static void test_dependents_follow(void **state)
{
	struct fixture *f = *state;
	put(f, "endpoints", "c", "{\"address\": \"not an address\"}");
	put(f, "traffic", "c.example.com.", "{\"ttl\": 30, \"policy\": \"c\"}");
	put(f, "traffic", "d.example.com.", "{\"ttl\": 30, \"policy\": \"a\"}");
	assert_int_equal(skipped(f), 2);
	assert_null(endpoint(f, "c"));
	assert_int_equal(f->conf->model->n_traffic, 2);   /* fo and d */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_all_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_named_change_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_line_blamed_change_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dependents_follow, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
