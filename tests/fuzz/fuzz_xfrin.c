/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the transfer-in parser (xfr/xfrin.c), and for the
 * zone build behind it when a stream completes as a whole zone.
 *
 * Input layout: one byte (bit 0: IXFR, else AXFR), our serial (4 bytes,
 * big-endian; IXFR only), then the answer messages, each behind a 2-byte
 * big-endian length as on a TCP stream. The apex is "example.com."; the
 * expected ID is the first message's, so that inputs go past that check.
 * Limits are small (1000 records, 256 KiB, 50 messages) so that they are
 * reached too.
 *
 * Beyond "no crash, no leak, no UB", the contract is checked (abort on
 * violation):
 *   - a return of 1 comes once, with a kind; after it or an error nothing
 *     more is taken (feeding more is an error, never a second success);
 *   - an error leaves a message in x.error;
 *   - counters never pass the limits (the one that ends a stream excepted);
 *   - AXFR: the stored records parse to the end, as many as counted, each
 *     inside the zone, class IN; the zone build of them (zone/source.h)
 *     either fails with a reason or holds the SOA serial announced;
 *   - IXFR: the difference sequences chain from our serial to the
 *     announced one, each part's records parse within its bounds, as many
 *     as counted; from serial 1, they are applied (rwd_xfrin_apply) to a
 *     served version read from a fixed zone file (the seeds' zone, serial
 *     1, loaded afresh each time): a new zone with the serial announced
 *     whose records read back whole, or an error with its reason.
 *
 * Seeds (tests/fuzz/corpus/fuzz_xfrin/) are AXFR and IXFR streams made with
 * dnspython (AXFR in one and in several messages, compressed names, IXFR
 * with two difference sequences, AXFR-style IXFR, up to date).
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
#include "server/xfr/xfrin.h"
#include "server/zone/history.h"
#include "server/zone/source.h"
#include "server/zone/zone.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static const uint8_t APEX[] = "\x07" "example" "\x03" "com";   /* + the root's 0 */

/* The served version IXFRs from serial 1 apply to (the seeds' zone). */
static const char BASE[] =
	"$ORIGIN example.com.\n$TTL 3600\n"
	"@ SOA ns1 hm 1 1 1 1209600 300\n@ NS ns1\n@ NS ns2\nns1 A 192.0.2.53\n"
	"www A 192.0.2.80\nwww A 192.0.2.81\nwww MX 10 mail\nalias CNAME www\n"
	"*.wild TXT \"hello\"\nsub NS ns.sub\nns.sub AAAA 2001:db8::1\n";
static char base_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	char dir[] = "/tmp/fuzz_xfrin.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	snprintf(base_path, sizeof(base_path), "%s/zone", dir);
	FILE *f = fopen(base_path, "w");
	CHECK(f != NULL);
	fputs(BASE, f);
	fclose(f);
	return 0;
}

static size_t count_rrs(const uint8_t *buf, size_t from, size_t to)
{
	struct rwd_xfrin_rr rr;
	size_t pos = from, n = 0;
	while (pos < to) {
		CHECK(rwd_xfrin_rr_next(buf, to, &pos, &rr));
		CHECK(rr.rclass == RW_CLASS_IN);
		CHECK(rw_dname_is_sub(rr.owner, APEX));
		n++;
	}
	CHECK(pos == to);
	return n;
}

static void report(void *ctx, const char *msg)
{
	(void)msg;
	(*(unsigned *)ctx)++;
}

static void check_done(struct rwd_xfrin *x)
{
	switch (x->kind) {
	case RWD_XFRIN_AXFR: {
		CHECK(count_rrs(x->recs, 0, x->len) == x->n_zone_records);
		struct rwd_zone_limits zl = RWD_ZONE_LIMITS_DEFAULT;
		zl.max_rrset_records = 50;
		struct rwd_source_records sr = { x->recs, x->len, "fuzz", 0 };
		struct rwd_record_source src = rwd_source_records(&sr);
		unsigned reports = 0;
		struct rwd_zone *z = rwd_zone_build_sources(APEX, "fuzz", &src, 1, &zl, report,
		                                            &reports);
		if (z == NULL) {
			CHECK(reports > 0);
		} else {
			CHECK(z->serial == x->serial);
			uint8_t *recs;
			size_t len, n;
			if (rwd_zone_records(z, &recs, &len, &n) == 0) {
				CHECK(count_rrs(recs, 0, len) == n);
				CHECK(n == z->n_records);
				free(recs);
			}
			rwd_zone_free(z);
		}
		break;
	}
	case RWD_XFRIN_IXFR: {
		CHECK(x->n_diffs > 0);
		CHECK(x->diffs[0].serial_from == x->our_serial);
		CHECK(x->diffs[x->n_diffs - 1].serial_to == x->serial);
		for (size_t i = 0; i < x->n_diffs; i++) {
			const struct rwd_xfrin_diff *d = &x->diffs[i];
			CHECK(rwd_serial_newer(d->serial_to, d->serial_from));
			CHECK(i == 0 || d->serial_from == x->diffs[i - 1].serial_to);
			CHECK(count_rrs(x->recs, d->old_soa, d->old_soa + d->old_soa_len) == 1);
			CHECK(count_rrs(x->recs, d->removed, d->removed + d->removed_len) == d->n_removed);
			CHECK(count_rrs(x->recs, d->new_soa, d->new_soa + d->new_soa_len) == 1);
			CHECK(count_rrs(x->recs, d->added, d->added + d->added_len) == d->n_added);
		}
		if (x->our_serial != 1)
			break;
		struct rwd_zone *old = rwd_zone_load(APEX, base_path, NULL, NULL), *z = NULL;
		CHECK(old != NULL && old->serial == 1);
		struct rwd_zone_limits zl = RWD_ZONE_LIMITS_DEFAULT;
		zl.max_rrset_records = 50;
		const char *how;
		char err[RWD_XFRIN_ERRLEN];
		struct rwd_zone_diff *d = NULL;
		int ret = rwd_xfrin_apply(x, old, &zl, base_path, NULL, NULL, &z, &d, &how, err);
		if (ret == 0) {
			CHECK(z != NULL && z->serial == x->serial && how != NULL);
			if (d) {
				CHECK(d->serial_from == 1 && d->serial_to == x->serial);
				rwd_zone_diff_free(d);
			}
			uint8_t *recs;
			size_t len, n;
			if (rwd_zone_records(z, &recs, &len, &n) == 0) {
				CHECK(count_rrs(recs, 0, len) == n);
				free(recs);
			}
			rwd_zone_free(z);
		} else {
			CHECK(z == NULL && err[0] != '\0');
		}
		rwd_zone_free(old);
		break;
	}
	case RWD_XFRIN_UPTODATE:
		CHECK(!rwd_serial_newer(x->serial, x->our_serial));
		break;
	default:
		CHECK(false);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 5)
		return 0;
	uint16_t qtype = (data[0] & 1) ? RW_TYPE_IXFR : RW_TYPE_AXFR;
	uint32_t ours = rw_get32(data + 1);
	data += 5;
	size -= 5;
	struct rwd_xfrin_limits lim = { .max_records = 1000, .max_bytes = 256 * 1024,
	                                .max_messages = 50 };
	struct rwd_xfrin x;
	bool init = false;
	int state = 0;                     /* 0 going, 1 done, -1 failed */
	while (size >= 2) {
		size_t n = rw_get16(data);
		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		if (!init) {
			rwd_xfrin_init(&x, APEX, qtype, n >= 2 ? rw_get16(data) : 0, ours, &lim);
			init = true;
		}
		int r = rwd_xfrin_feed(&x, data, n);
		if (state != 0) {
			CHECK(r < 0);            /* nothing after the end */
		} else if (r == 1) {
			state = 1;
			CHECK(x.done);
			check_done(&x);
		} else if (r < 0) {
			state = -1;
			CHECK(x.error[0] != '\0');
			CHECK(r == RW_EMALFORMED || r == RW_ELIMIT || r == RW_EREFUSED ||
			      r == RW_ENOMEM);
		}
		CHECK(x.records <= lim.max_records);
		CHECK(x.messages <= lim.max_messages + 1);
		data += n;
		size -= n;
	}
	if (init)
		rwd_xfrin_free(&x);
	return 0;
}
