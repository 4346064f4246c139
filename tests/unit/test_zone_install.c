/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for rwd_control_zone_install (control.h), the way a transfer
 * in publishes a zone version, on a real control layer and LMDB store in a
 * temporary folder: a version with its difference (served, its history
 * continues, the store's serial and journal follow), a full replacement (the
 * history and journal restart), an expiry (a placeholder listed among the
 * failures with its reason, until a good version replaces it), an unknown
 * zone; and what a start makes of the store afterwards (history refilled
 * when the zone is what the journal ends at, restarted when it is not).
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

#include "lib/dname.h"
#include "lib/error.h"
#include "server/conf/conf.h"
#include "server/control/control.h"
#include "server/daemon/server.h"
#include "server/snapshot/snapshot.h"
#include "server/store/journal.h"
#include "server/store/store.h"
#include "server/zone/history.h"
#include "server/zone/source.h"

struct fixture {
	char dir[64], conf_path[128], store_dir[128];
	struct rwd_server srv;
	struct rwd_control *ctl;
};

static const char conf_text[] =
	"server:\n  listen: [\"127.0.0.1:5300\"]\n"
	"zones:\n  - { name: example.com., file: example.com.zone }\n";

#define ZONE_V(serial, extra) \
	"@ 3600 IN SOA ns.example.com. admin.example.com. " #serial " 7200 900 1209600 300\n" \
	"@ 3600 IN NS ns.example.com.\nns 3600 IN A 192.0.2.1\n" extra

static const uint8_t apex[] = "\x07" "example" "\x03" "com";

static void write_file(struct fixture *f, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	fputs(text, out);
	fclose(out);
}

static struct rwd_zone *load(struct fixture *f, const char *name, const char *text)
{
	char path[256];
	write_file(f, name, text);
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	struct rwd_zone *z = rwd_zone_load(apex, path, NULL, NULL);
	assert_non_null(z);
	return z;
}

/* Open the control layer on the store and build and publish the start state. */
static void start(struct fixture *f)
{
	char err[RWD_CONF_ERRLEN], cerr[RWD_CONTROL_ERRLEN];
	assert_int_equal(rwd_conf_load(f->conf_path, &f->srv.conf, err), 0);
	assert_int_equal(rwd_control_open(&f->srv, f->store_dir, &f->ctl, cerr), 0);
	unsigned errors = 0;
	struct rwd_snapshot *s = rwd_control_build(f->ctl, &f->srv.conf, NULL, &errors);
	assert_non_null(s);
	assert_int_equal(errors, 0);
	rwd_snapshot_publish(s);
}

static void stop(struct fixture *f)
{
	rwd_control_close(f->ctl);
	f->ctl = NULL;
	/* the snapshot stays published (reachable) until the next start's */
	rwd_conf_free(f->srv.conf);
	f->srv.conf = NULL;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/rw-install-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->conf_path, sizeof(f->conf_path), "%s/runway.yaml", f->dir);
	snprintf(f->store_dir, sizeof(f->store_dir), "%s/state", f->dir);
	write_file(f, "runway.yaml", conf_text);
	write_file(f, "example.com.zone", ZONE_V(1, "a 60 IN A 192.0.2.10\n"));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[300];
	if (f->ctl)
		stop(f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static const struct rwd_zone *served(void)
{
	return rwd_zonedb_get(rwd_snapshot_get()->zones, apex, sizeof(apex));
}

static int count_entries(void *ctx, const struct rwd_journal_entry *e)
{
	(*(size_t *)ctx)++;
	return 0;
}

static void test_install(void **state)
{
	struct fixture *f = *state;
	char err[RWD_CONTROL_ERRLEN];
	struct rwd_store *st;
	start(f);
	const struct rwd_zone *v1 = served();
	assert_non_null(v1);
	assert_int_equal(v1->serial, 1);

	/* A version with its difference: served, the history goes on. */
	struct rwd_zone *v2 = load(f, "v2.zone", ZONE_V(2, "a 60 IN A 192.0.2.20\n"));
	struct rwd_zone_diff *d = NULL;
	assert_int_equal(rwd_zone_diff_versions(v1, v2, &d), 0);
	assert_non_null(d);
	assert_int_equal(rwd_control_zone_install(f->ctl, NULL, apex, v2, d, NULL, err), 0);
	rwd_zone_diff_free(d);                   /* ours; the history holds its own */
	assert_int_equal(served()->serial, 2);
	assert_non_null(served()->history);
	assert_int_equal(served()->history->n, 1);
	assert_int_equal(rwd_zone_history_find(served()->history, 1), 0);
	size_t n = 0;
	assert_int_equal(rwd_control_zone_journal(f->ctl, "example.com.", NULL, 1, count_entries, &n,
	                                          err), 0);
	assert_int_equal(n, 1);

	/* A full replacement: the history restarts. */
	struct rwd_zone *v3 = load(f, "v3.zone", ZONE_V(3, "a 60 IN A 192.0.2.30\n"));
	assert_int_equal(rwd_control_zone_install(f->ctl, NULL, apex, v3, NULL, NULL, err), 0);
	assert_int_equal(served()->serial, 3);
	assert_true(served()->history == NULL || served()->history->n == 0);
	assert_int_equal(rwd_control_zone_journal(f->ctl, "example.com.", NULL, 2, count_entries, &n,
	                                          err), RW_ENOENT);

	/* And goes on from there. */
	struct rwd_zone *v4 = load(f, "v4.zone", ZONE_V(4, "a 60 IN A 192.0.2.40\n"));
	assert_int_equal(rwd_zone_diff_versions(served(), v4, &d), 0);
	assert_int_equal(rwd_control_zone_install(f->ctl, NULL, apex, v4, d, NULL, err), 0);
	rwd_zone_diff_free(d);
	assert_int_equal(served()->history->n, 1);
	/* The store follows: serial and journal. */
	char errs[256];
	assert_int_equal(rwd_store_open_readonly(f->store_dir, &st, errs), 0);
	struct rwd_zone_history *h = NULL;
	assert_int_equal(rwd_journal_load(st, "example.com.", 4, &h), 0);
	assert_non_null(h);
	assert_int_equal(h->n, 1);
	assert_int_equal(h->diffs[0]->serial_from, 3);
	assert_memory_equal(h->diffs[0]->data, served()->history->diffs[0]->data, h->diffs[0]->len);
	rwd_zone_history_free(h);
	char *sv = NULL;
	assert_int_equal(rwd_store_get(st, "serials", "example.com.", &sv, NULL), 0);
	assert_string_equal(sv, "4");
	free(sv);
	rwd_store_close(st);

	/* An unknown zone: refused, z taken over all the same (ASan: no leak). */
	static const uint8_t other[] = "\x07" "example" "\x03" "org";
	struct rwd_zone *o = rwd_zone_failed(other, "x");
	assert_int_equal(rwd_control_zone_install(f->ctl, NULL, other, o, NULL, NULL, err), RW_ENOENT);
	assert_non_null(strstr(err, "no zone"));

	/* Expired: a placeholder, listed among the failures with the reason. */
	struct rwd_zone *ph = rwd_zone_failed(apex, "example.com.zone");
	assert_int_equal(rwd_control_zone_install(f->ctl, NULL, apex, ph, NULL,
	                                          "expired: no refresh from the primaries for "
	                                          "1209600 s", err), 0);
	assert_true(served()->failed);
	const struct rwd_zone_failure *fl = rwd_snapshot_failure(rwd_snapshot_get(), NULL, apex);
	assert_non_null(fl);
	assert_non_null(strstr(fl->error, "expired"));
	assert_false(fl->stale);
	/* A good version again: the failure goes. */
	struct rwd_zone *v5 = load(f, "v5.zone", ZONE_V(5, "a 60 IN A 192.0.2.50\n"));
	assert_int_equal(rwd_control_zone_install(f->ctl, NULL, apex, v5, NULL, NULL, err), 0);
	assert_null(rwd_snapshot_failure(rwd_snapshot_get(), NULL, apex));
	assert_int_equal(served()->serial, 5);
	stop(f);

	/* A start with the file as it was (serial 1, other content than the
	 * store's serial 5 describes): the serial moves on, never back; no
	 * history. */
	start(f);
	assert_int_equal(served()->serial, 6);
	assert_true(served()->history == NULL || served()->history->n == 0);
	stop(f);
}

static void test_start_refills(void **state)
{
	struct fixture *f = *state;
	char err[RWD_CONTROL_ERRLEN];
	start(f);
	/* Two API changes, then a restart: the same serial, the history back. */
	const char *r1[] = { "192.0.2.77" };
	struct rwd_rr_change ch = { RWD_RR_UPSERT, "b.example.com.", "A", 60, r1, 1 };
	assert_int_equal(rwd_control_zone_change(f->ctl, "example.com.", NULL, &ch, 1, err), 0);
	const char *r2[] = { "192.0.2.78" };
	ch.records = r2;
	assert_int_equal(rwd_control_zone_change(f->ctl, "example.com.", NULL, &ch, 1, err), 0);
	assert_int_equal(served()->serial, 3);
	assert_int_equal(served()->history->n, 2);
	stop(f);
	start(f);
	assert_int_equal(served()->serial, 3);
	assert_non_null(served()->history);
	assert_int_equal(served()->history->n, 2);
	assert_int_equal(rwd_zone_history_find(served()->history, 1), 0);
	/* A reload of the same file: nothing changes. */
	unsigned errors = 0;
	struct rwd_snapshot *s = rwd_control_build(f->ctl, &f->srv.conf, rwd_snapshot_get(), &errors);
	assert_non_null(s);
	rwd_snapshot_publish(s);
	assert_int_equal(served()->serial, 3);
	assert_int_equal(served()->history->n, 2);
	stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_install, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_refills, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
