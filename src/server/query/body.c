/*
 * The response body: a precomputed answer (zone.h) copied behind the
 * question, its compression pointers moved to the question name's length,
 * additional records left out one RRset at a time when they do not fit.
 */
#include <string.h>

#include "lib/wire.h"
#include "server/query/stages.h"

/* Move the pointers among relocs[*i..] that lie in data [from, to), now
 * copied to p + at, by delta. Relocs are sorted by position. */
static void relocate(uint8_t *p, const uint16_t *relocs, unsigned n_relocs, unsigned *i,
                     size_t from, size_t to, size_t at, int delta)
{
	for (; *i < n_relocs && relocs[*i] < to; (*i)++) {
		if (relocs[*i] < from || delta == 0)
			continue;
		uint8_t *ptr = p + at + (relocs[*i] - from);
		rw_put16(ptr, (uint16_t)(0xc000 | ((rw_get16(ptr) & 0x3fff) + delta)));
	}
}

/* Copy the precomputed body behind the question; returns bytes written. */
size_t rwd_body_put(struct rwd_query *qr, uint8_t *p, size_t room)
{
	const struct rwd_answer *a = qr->answer;
	const uint8_t *data = rwd_answer_data(a);
	const uint16_t *relocs = rwd_answer_relocs(a);
	int delta = (int)qr->q.qname_len - (int)a->qname_len;
	unsigned r = 0;
	uint16_t ar = a->arcount;
	size_t n = a->len;

	if (n <= room) {                  /* the common case: all of it */
		memcpy(p, data, n);
		if (delta != 0)
			relocate(p, relocs, a->n_relocs, &r, 0, n, 0, delta);
	} else if (a->required > room) {
		qr->tc = true;                /* as Knot DNS: header, question, OPT only */
		return 0;
	} else {
		/* Additional RRsets that do not fit are left out, TC stays clear
		 * (RFC 2181 9); a later, smaller one may still fit. Every record
		 * carries its RRset's end, and no RRset points into another. */
		const uint16_t *ar_end = rwd_answer_ar_end(a);
		n = a->required;
		memcpy(p, data, n);
		relocate(p, relocs, a->n_relocs, &r, 0, n, 0, delta);
		size_t from = a->required;
		ar = 0;
		for (unsigned k = 0; k < a->arcount;) {
			unsigned end_k = k;
			while (end_k < a->arcount && ar_end[end_k] == ar_end[k])
				end_k++;
			size_t to = ar_end[k];
			if (n + (to - from) <= room) {
				memcpy(p + n, data + from, to - from);
				relocate(p, relocs, a->n_relocs, &r, from, to, n, delta);
				n += to - from;
				ar += (uint16_t)(end_k - k);
			}
			from = to;
			k = end_k;
		}
	}
	/* The SOA serial is the zone's, not the one the body was built with
	 * (a patched zone shares answers with its predecessor, zone.h). */
	if (a->serial_at)
		rw_put32(p + a->serial_at - 1, qr->zone->serial);
	rw_put16(qr->out + RW_HDR_ANCOUNT, a->ancount);
	rw_put16(qr->out + RW_HDR_NSCOUNT, a->nscount);
	rw_put16(qr->out + RW_HDR_ARCOUNT, ar);
	return n;
}
