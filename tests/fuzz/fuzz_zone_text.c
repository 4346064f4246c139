/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the zone file source (zone/source_file.c, through
 * libzscanner) and the zone build behind it, under small limits: arbitrary
 * bytes are written as a zone file into a private temporary folder and
 * loaded with rwd_zone_load_limits() (max_rrset_records 50, $INCLUDE depth
 * 2, 1 MiB in all, $INCLUDE paths kept inside the folder).
 *
 * Input layout. Up to three lines "%%" split the input: the first part is
 * the zone file ("zone"), the next ones the files "inc1", "inc2", "inc3"
 * beside it, so "$INCLUDE inc1" (or "$INCLUDE zone", a loop) reaches
 * fuzzed text. The zone's origin is the name of a leading "$ORIGIN NAME"
 * line when it parses, else "example.".
 *
 * Beyond "no crash, no leak, no UB" (ASan/UBSan), the contract is checked
 * (abort on violation):
 *   - NULL comes after at least one error; every message names a file of
 *     the folder ("DIR/zone:LINE: ..." or an include's);
 *   - a zone has its apex (flagged, with SOA and NS, found by name), a
 *     table holding exactly its n_nodes nodes, each inside the zone and
 *     its own closest encloser; every RRset holds 1..50 records (the
 *     limit); every answer the node gives (the referral of its cut, at or
 *     below one) is readable to its end (ASan) and no longer than a message;
 *   - a name below the apex that is not in the zone has a closest
 *     encloser, and the zone's NXDOMAIN and NODATA answers exist.
 *
 * Environment: FUZZ_ZONE_TEXT_VERBOSE=1 prints what the loader reports
 * (to see why a seed does not load).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/wire.h"
#include "server/zone/source.h"
#include "server/zone/zone.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static char dir[64];
static const char *const files[] = { "zone", "inc1", "inc2", "inc3" };

struct reports {
	unsigned n, errors;
};

static void on_report(void *ctx, const char *msg)
{
	struct reports *r = ctx;
	static int verbose = -1;
	if (verbose < 0)
		verbose = getenv("FUZZ_ZONE_TEXT_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "report: %s\n", msg);
	r->n++;
	if (strstr(msg, ": warning: ") == NULL)
		r->errors++;
	/* "DIR/FILE:LINE: message" or "DIR/FILE: message". */
	size_t dl = strlen(dir);
	CHECK(strncmp(msg, dir, dl) == 0 && msg[dl] == '/');
	CHECK(strchr(msg + dl, ':') != NULL);
}

static void write_file(const char *name, const uint8_t *data, size_t size)
{
	char path[96];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	CHECK(size == 0 || fwrite(data, 1, size, f) == size);
	CHECK(fclose(f) == 0);
}

/* Read every byte of an answer, so ASan sees one that claims more than it has. */
static unsigned touch_answer(const struct rwd_answer *a)
{
	CHECK(a != NULL);
	CHECK(a->len <= 65535 - 12);
	unsigned sum = 0;
	const uint8_t *d = rwd_answer_data(a);
	for (unsigned i = 0; i < a->len; i++)
		sum += d[i];
	const uint16_t *rel = rwd_answer_relocs(a), *ar = rwd_answer_ar_end(a);
	for (unsigned i = 0; i < a->n_relocs; i++)
		CHECK(rel[i] + 2u <= a->len);
	for (unsigned i = 0; i < a->arcount; i++)
		CHECK(ar[i] <= a->len);
	return sum;
}

static void check_zone(const struct rwd_zone *z)
{
	CHECK(z->apex != NULL && (z->apex->flags & RWD_NODE_APEX));
	CHECK(rwd_zone_find(z, z->apex_name, z->apex_len) == z->apex);
	CHECK(rwd_node_rrset(z->apex, RW_TYPE_SOA) != NULL);
	CHECK(rwd_node_rrset(z->apex, RW_TYPE_NS) != NULL);
	touch_answer(z->nxdomain);
	touch_answer(z->nodata);
	size_t seen = 0, records = 0;
	volatile unsigned sum = 0;
	for (size_t i = 0; i <= z->table_mask; i++) {
		const struct rwd_node *n = z->table[i];
		if (n == NULL)
			continue;
		seen++;
		CHECK(n->name_len >= z->apex_len && n->name_len <= 255);
		CHECK(rw_dname_len(n->name) == n->name_len);
		CHECK(rw_dname_is_sub(n->name, z->apex_name));
		CHECK(rwd_zone_find(z, n->name, n->name_len) == n);
		CHECK(rwd_zone_encloser(z, n->name, n->name_len) == n);
		for (unsigned k = 0; k < n->n_rrsets; k++) {
			const struct rwd_rrset *rs = &n->rrsets[k];
			CHECK(rs->count >= 1 && rs->count <= 50);
			RWD_RRSET_FOREACH(rs, rd, j)   /* each record's last byte: ASan checks it */
				sum += rw_get16(rd) ? rd[1 + rw_get16(rd)] : 0;
			records += rs->count;
			if (n->cut == NULL)
				sum += touch_answer(rwd_node_answer(n, rs->type));
		}
		if (n->cut) {
			/* At or below a zone cut only the cut's referral answers. */
			CHECK(n != z->apex && rw_dname_is_sub(n->name, n->cut->name));
			CHECK(n->cut->flags & RWD_NODE_DELEG);
			sum += touch_answer(n->cut->referral);
			continue;
		}
		sum += touch_answer(rwd_node_answer(n, RW_TYPE_A));
		sum += touch_answer(rwd_node_answer(n, RW_TYPE_ANY));
	}
	CHECK(seen == z->n_nodes);
	CHECK(records == z->n_records);
	/* A name that is not in the zone still has a closest encloser. */
	uint8_t name[255] = "\x0e" "no-such-name-1";
	if (z->apex_len + 15u <= 255u) {
		memcpy(name + 15, z->apex_name, z->apex_len);
		CHECK(rwd_zone_find(z, name, 15u + z->apex_len) == NULL);
		CHECK(rwd_zone_encloser(z, name, 15u + z->apex_len) != NULL);
	}
	(void)sum;
}

/* The folder goes when the run ends (not after a crash: the files show the input). */
static void remove_dir(void)
{
	char path[96];
	for (size_t k = 0; k < 4; k++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[k]);
		unlink(path);
	}
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "%s/fuzz_zone_text.XXXXXX",
		         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		CHECK(strlen(dir) < 40 && mkdtemp(dir) != NULL);
		atexit(remove_dir);
	}
	/* The zone file, then each include after a "%%" line; missing ones go. */
	const uint8_t *p = data, *e = data + size;
	size_t nf = 0;
	while (nf < 4) {
		const uint8_t *cut = NULL;
		for (const uint8_t *q = p; nf < 3 && q + 2 <= e && cut == NULL; q++)
			if ((q == p || q[-1] == '\n') && q[0] == '%' && q[1] == '%' &&
			    (q + 2 == e || q[2] == '\n'))
				cut = q;
		write_file(files[nf++], p, (size_t)((cut ? cut : e) - p));
		if (cut == NULL)
			break;
		p = cut + 2 < e ? cut + 3 : e;
	}
	for (size_t k = nf; k < 4; k++) {
		char path[96];
		snprintf(path, sizeof(path), "%s/%s", dir, files[k]);
		unlink(path);
	}
	/* The origin: a leading "$ORIGIN NAME" when it parses. */
	uint8_t origin[255];
	int olen = -1;
	if (size > 8 && memcmp(data, "$ORIGIN ", 8) == 0) {
		char text[256];
		size_t n = 0;
		while (8 + n < size && n < sizeof(text) - 1 && data[8 + n] != '\n' &&
		       data[8 + n] != ' ' && data[8 + n] != '\t' && data[8 + n] != ';' &&
		       data[8 + n] != '\0')
			n++;
		memcpy(text, data + 8, n);
		text[n] = '\0';
		if (n > 0 && text[n - 1] == '.')
			olen = rw_dname_from_str(text, NULL, origin);
	}
	if (olen < 0)
		olen = rw_dname_from_str("example.", NULL, origin);
	CHECK(olen > 0);
	rw_dname_lower(origin);

	char path[96];
	snprintf(path, sizeof(path), "%s/zone", dir);
	struct rwd_zone_limits limits = { .max_rrset_records = 50, .max_include_depth = 2,
	                                  .max_file_bytes = 1u << 20, .include_any_path = false };
	struct reports r = { 0 };
	struct rwd_zone *z = rwd_zone_load_limits(origin, path, NULL, &limits, on_report, &r);
	if (z == NULL) {
		CHECK(r.errors >= 1);
		return 0;
	}
	CHECK(z->file != NULL && strcmp(z->file, path) == 0);
	check_zone(z);
	rwd_zone_free(z);
	return 0;
}
