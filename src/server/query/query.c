/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The query pipeline (stages in query.h). Behaviour follows RFC 1034/1035,
 * and where the RFCs leave a choice, Knot DNS (docs/knot-differences.md).
 */
#include <string.h>

#include "lib/dname.h"
#include "lib/wire.h"
#include "server/query/stages.h"
#include "server/steer/model.h"

#define EDE_NOT_AUTHORITATIVE 20   /* RFC 8914 4.21 */
#define EDE_PROHIBITED 18          /* RFC 8914 4.19 */
#define EDE_INVALID_DATA 24        /* RFC 8914 4.25 */

static void set_rcode(struct rwd_query *qr, uint8_t rcode)
{
	qr->rcode = rcode;
	qr->answer = NULL;
	qr->aa = false;
}

/*
 * Stage "parse": rw_query_parse, and the answer to what it refuses. An OPT
 * goes with every answer to a query that had a sound one (RFC 6891 7, as
 * Knot DNS); on FORMERR without options, since what it asked is unknown.
 */
static enum rwd_stage_result stage_parse(const struct rwd_snapshot *s, struct rwd_query *qr)
{
	struct rw_edns *e = &qr->q.edns;
	switch (rw_query_parse(qr->wire, qr->wire_len, &qr->q)) {
	case RW_PARSE_DROP:
		return RWD_DROP;
	case RW_PARSE_FORMERR:
		set_rcode(qr, RW_RCODE_FORMERR);
		e->nsid = e->ecs = e->expire = false;
		return RWD_DONE;
	case RW_PARSE_NOTIMP:
		set_rcode(qr, RW_RCODE_NOTIMP);
		return RWD_DONE;
	case RW_PARSE_BADVERS:
		/* We do not speak this EDNS version: no options (nor a reply larger
		 * than the query), just the version we do speak. */
		e->nsid = false;
		set_rcode(qr, RW_RCODE_BADVERS);
		return RWD_DONE;
	case RW_PARSE_NOQUESTION:   /* the cookie stage decides (RFC 7873 5.4) */
	case RW_PARSE_OK:
		break;
	}
	return RWD_CONTINUE;
}

/* Stage "filter": what we never answer from a zone. */
static enum rwd_stage_result stage_filter(const struct rwd_snapshot *s, struct rwd_query *qr)
{
	const struct rw_query *q = &qr->q;
	if (q->qclass != RW_CLASS_IN && q->qclass != RW_CLASS_ANY) {
		set_rcode(qr, RW_RCODE_REFUSED);
		return RWD_DONE;
	}
	if (q->qtype == 0 || (q->qtype == RW_TYPE_AXFR && qr->transport->datagram)) {
		set_rcode(qr, RW_RCODE_NOTIMP);
		return RWD_DONE;
	}
	return RWD_CONTINUE;
}

/*
 * Stage "view": the zone set of the first view whose match list holds the
 * address the query came from (as BIND's match-clients; EDNS Client Subnet
 * does not choose views). Without views: every zone. No view: REFUSED.
 */
static enum rwd_stage_result stage_view(const struct rwd_snapshot *s, struct rwd_query *qr)
{
	const struct rwd_view *v;
	qr->zones = rwd_snapshot_zones_for(s, qr->client, &v);
	qr->view = v ? (uint32_t)(v - s->views) + 1 : 0;
	if (qr->zones != NULL)
		return RWD_CONTINUE;
	set_rcode(qr, RW_RCODE_REFUSED);
	qr->ede = EDE_PROHIBITED + 1;
	return RWD_DONE;
}

/* Stage "zone": the most specific zone of the client's set. */
static enum rwd_stage_result stage_zone(const struct rwd_snapshot *s, struct rwd_query *qr)
{
	const struct rw_query *q = &qr->q;
	if (__builtin_expect((unsigned)(q->qtype - RW_TYPE_IXFR) < 2u, 0) && q->opcode == RW_OPCODE_QUERY)
		return RWD_CONTINUE;           /* IXFR, AXFR: stage transfer (xfr.c) finds the zone */
	if (__builtin_expect(q->opcode == RW_OPCODE_NOTIFY, 0))
		return RWD_CONTINUE;           /* NOTIFY: stage notify (notify.c) finds the zone */
	const struct rwd_zonedb *db = qr->zones;
	if (db->n_zones == 1)              /* what rwd_zonedb_find says of one zone, unhashed */
		qr->zone = rwd_zone_holds(db->zones[0], q->qname, q->qname_len, q->qname_labels)
		           ? db->zones[0] : NULL;
	else
		qr->zone = rwd_zonedb_find(db, q->qname, q->qname_len, q->qtype);
	if (qr->zone == NULL) {
		set_rcode(qr, RW_RCODE_REFUSED);
		qr->ede = EDE_NOT_AUTHORITATIVE + 1;
		return RWD_DONE;
	}
	if (qr->zone->failed) {
		/* As Knot DNS: SERVFAIL, not authoritative, EDE "Invalid Data",
		 * for every name of the zone, traffic names included (their
		 * zone's data, the SOA and NS, is what failed). */
		set_rcode(qr, RW_RCODE_SERVFAIL);
		qr->ede = EDE_INVALID_DATA + 1;
		return RWD_DONE;
	}
	return RWD_CONTINUE;
}

static size_t ecs_addr_len(const struct rw_edns *e) { return (e->ecs_source + 7u) / 8; }

/* The options an answer's OPT may carry (a set of them: unsigned). */
enum opt_bits { OPT_NSID = 1, OPT_ECS = 2, OPT_COOKIE = 4, OPT_EDE = 8, OPT_EXPIRE = 16 };

/* The EXPIRE of the zone answering (RFC 7314): a primary's SOA EXPIRE; a
 * secondary's copy (expire_at set by xfr/secondary.c) the seconds it has
 * left, so a secondary of ours never outlives our copy. */
/* -1: none. (A value, not an out pointer: a local whose address is taken
 * costs every caller a stack protector check.) */
static int64_t zone_expire(const struct rwd_query *qr)
{
	const struct rwd_rrset *soa = qr->zone ? rwd_node_rrset(qr->zone->apex, RW_TYPE_SOA) : NULL;
	if (soa == NULL)
		return -1;
	uint32_t at = __atomic_load_n(&qr->zone->expire_at, __ATOMIC_RELAXED);
	if (at) {
		uint32_t now = qr->thread && qr->thread->now ? qr->thread->now : rwd_query_clock();
		return at > now ? at - now : 0;
	}
	return rw_get32(rwd_soa_serial(soa) + 12);
}

static size_t opt_size(const struct rwd_snapshot *s, const struct rwd_query *qr, unsigned opts)
{
	size_t n = 11;
	if (opts == 0)
		return n;
	if (opts & OPT_NSID)
		n += 4u + s->nsid_len;
	if (opts & OPT_EDE)
		n += 6;
	if (opts & OPT_ECS)
		n += 8u + ecs_addr_len(&qr->q.edns);
	if (opts & OPT_COOKIE)
		n += 4u + RW_COOKIE_CLIENT_LEN + RWD_SERVER_COOKIE_LEN;
	if (opts & OPT_EXPIRE)
		n += 8;
	return n;
}

/* The options this answer carries: what the query asked for and the stages
 * set; *size: the OPT record's size with them. Most queries ask for none. */
static inline unsigned opts_wanted(const struct rwd_snapshot *s, const struct rwd_query *qr,
                                   size_t *size)
{
	const struct rw_edns *e = &qr->q.edns;
	unsigned opts = 0;
	if (__builtin_expect(e->nsid | e->ecs | e->expire | qr->cookie | (qr->ede != 0), 0)) {
		opts = (e->nsid && s->nsid_len ? OPT_NSID : 0) | (e->ecs ? OPT_ECS : 0) |
		       (qr->cookie != RWD_COOKIE_NONE ? OPT_COOKIE : 0) | (qr->ede ? OPT_EDE : 0) |
		       (e->expire && zone_expire(qr) >= 0 ? OPT_EXPIRE : 0);
	}
	*size = opt_size(s, qr, opts);
	return opts;
}

/*
 * An error answer (REFUSED, NOTIMP, FORMERR, ...) or a header-only one over
 * UDP to a client that has not proved its address (no valid server cookie)
 * is no larger than the query: such answers are what a spoofed source gets,
 * so they must not amplify. Informational options go first, the cookie
 * last. What is left (header, question, OPT, ECS echo) is never larger than
 * what the query held. BADCOOKIE and the answer to a header-only query for a
 * server cookie (RFC 7873 5.4) keep the cookie: it is all they say (16 bytes
 * more than the query's client cookie at most).
 */
static unsigned opts_fit_query(const struct rwd_snapshot *s, const struct rwd_query *qr,
                               size_t pos, unsigned opts)
{
	static const unsigned drop[] = { OPT_NSID, OPT_EXPIRE, OPT_EDE, OPT_COOKIE };
	bool error = qr->rcode != RW_RCODE_NOERROR && qr->rcode != RW_RCODE_NXDOMAIN;
	bool header_only = qr->q.question_len == 0;
	if (opts == 0 || !(error || header_only) || !qr->transport->datagram ||
	    qr->transport->address_verified || qr->cookie == RWD_COOKIE_VALID)
		return opts;                   /* the common case: nothing to leave out */
	unsigned keep = qr->rcode == RW_RCODE_BADCOOKIE || header_only ? OPT_COOKIE : 0;
	for (unsigned i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
		if (pos + opt_size(s, qr, opts) <= qr->wire_len)
			break;
		opts &= ~(drop[i] & ~keep);
	}
	return opts;
}

static size_t put_opt(const struct rwd_snapshot *s, const struct rwd_query *qr, unsigned opts,
                      uint8_t *p)
{
	uint8_t *o = p + 11;
	p[0] = 0;
	rw_put16(p + 1, RW_TYPE_OPT);
	rw_put16(p + 3, s->edns_udp_size);
	p[5] = qr->rcode >> 4;             /* extended rcode, upper 8 bits */
	p[6] = 0;                          /* version */
	p[7] = qr->q.edns.do_bit ? 0x80 : 0;
	p[8] = 0;
	if (__builtin_expect(opts == 0, 1)) {   /* most answers: no option */
		rw_put16(p + 9, 0);
		return 11;
	}
	if (opts & OPT_NSID) {
		rw_put16(o, RW_EDNS_NSID);
		rw_put16(o + 2, s->nsid_len);
		memcpy(o + 4, s->nsid, s->nsid_len);
		o += 4u + s->nsid_len;
	}
	if (opts & OPT_ECS) {
		/* RFC 7871 7.2.1: echo family, source and address; the scope says
		 * how far the answer depends on them (0: not at all). */
		const struct rw_edns *e = &qr->q.edns;
		size_t alen = ecs_addr_len(e);
		rw_put16(o, RW_EDNS_ECS);
		rw_put16(o + 2, (uint16_t)(4 + alen));
		rw_put16(o + 4, e->ecs_family);
		o[6] = e->ecs_source;
		o[7] = qr->ecs_scope;
		memcpy(o + 8, e->ecs_addr, alen);
		o += 8 + alen;
	}
	if (opts & OPT_COOKIE) {           /* RFC 7873 5.2: theirs and our fresh one */
		rw_put16(o, RW_EDNS_COOKIE);
		rw_put16(o + 2, RW_COOKIE_CLIENT_LEN + RWD_SERVER_COOKIE_LEN);
		memcpy(o + 4, qr->q.edns.cookie_client, RW_COOKIE_CLIENT_LEN);
		memcpy(o + 4 + RW_COOKIE_CLIENT_LEN, qr->server_cookie, RWD_SERVER_COOKIE_LEN);
		o += 4 + RW_COOKIE_CLIENT_LEN + RWD_SERVER_COOKIE_LEN;
	}
	if (opts & OPT_EDE) {
		rw_put16(o, RW_EDNS_EDE);
		rw_put16(o + 2, 2);
		rw_put16(o + 4, (uint16_t)(qr->ede - 1));
		o += 6;
	}
	int64_t expire;
	if ((opts & OPT_EXPIRE) && (expire = zone_expire(qr)) >= 0) {
		rw_put16(o, RW_EDNS_EXPIRE);
		rw_put16(o + 2, 4);
		rw_put32(o + 4, (uint32_t)expire);
		o += 8;
	}
	rw_put16(p + 9, (uint16_t)(o - p - 11));
	return (size_t)(o - p);
}

/* The largest response this transport and client allow. */
static size_t max_size(const struct rwd_snapshot *s, const struct rwd_query *qr)
{
	const struct rw_query *q = &qr->q;
	size_t max = RW_MSG_MAXLEN;
	if (qr->transport->datagram) {
		max = RW_UDP_DEFAULT_MAX;
		if (q->edns.present)
			max = q->edns.udp_size < s->edns_udp_size ? q->edns.udp_size : s->edns_udp_size;
	}
	return max < qr->out_cap ? max : qr->out_cap;
}

/* Room for the body behind the question, leaving room for the OPT record. */
static size_t body_room(const struct rwd_snapshot *s, const struct rwd_query *qr)
{
	size_t opt = 0;
	if (qr->q.edns.present)
		opts_wanted(s, qr, &opt);
	size_t used = RW_HDR_LEN + qr->q.question_len + opt + rwd_tsig_room(qr);
	size_t max = max_size(s, qr);
	return max > used ? max - used : 0;
}

/* Stage "steer" (steer.c), with the room its body may take; the room is
 * not worked out when there is nothing to steer (no traffic names). */
static enum rwd_stage_result stage_steer(const struct rwd_snapshot *s, struct rwd_query *qr)
{
	const struct rwd_model *m = s->model;
	if (m == NULL || (m->n_traffic == 0 && m->n_views == 0))
		return RWD_CONTINUE;       /* as rwd_stage_steer would decide */
	return rwd_stage_steer(s, qr, body_room(s, qr)) ? RWD_DONE : RWD_CONTINUE;
}

/* Stage "lookup" (lookup.c): always decides. */
static enum rwd_stage_result stage_lookup(const struct rwd_snapshot *s, struct rwd_query *qr)
{
	rwd_stage_lookup(qr);
	return RWD_DONE;
}

/* The stages kept in their own files, with the test that most queries
 * fail inline: an ordinary query (no COOKIE option, opcode QUERY, not AXFR
 * or IXFR) pays a predictable branch for each instead of a call. */
static inline enum rwd_stage_result stage_cookie(const struct rwd_snapshot *s,
                                                 struct rwd_query *qr)
{
	if (__builtin_expect(!qr->q.edns.cookie && qr->q.question_len, 1))
		return RWD_CONTINUE;       /* as rwd_stage_cookie would decide */
	return rwd_stage_cookie(s, qr);
}

static inline enum rwd_stage_result stage_notify(const struct rwd_snapshot *s,
                                                 struct rwd_query *qr)
{
	if (__builtin_expect(qr->q.opcode != RW_OPCODE_NOTIFY, 1))
		return RWD_CONTINUE;
	return rwd_stage_notify(s, qr);
}

static inline enum rwd_stage_result stage_transfer(const struct rwd_snapshot *s,
                                                   struct rwd_query *qr)
{
	if (__builtin_expect((unsigned)(qr->q.qtype - RW_TYPE_IXFR) >= 2u, 1))
		return RWD_CONTINUE;       /* neither IXFR (251) nor AXFR (252) */
	return rwd_stage_transfer(s, qr);
}

/*
 * The stages that decide the outcome, in order: (enum rwd_stage, function);
 * lookup always decides. limit and encode run on every outcome
 * (rwd_query_produce). A list rather than an array of pointers: each
 * stage is a direct call, the small ones inlined, so the table costs
 * nothing per query.
 */
#define DECIDING_STAGES(X) \
	X(RWD_STAGE_PARSE, stage_parse) \
	X(RWD_STAGE_TSIG, rwd_stage_tsig) \
	X(RWD_STAGE_COOKIE, stage_cookie) \
	X(RWD_STAGE_FILTER, stage_filter) \
	X(RWD_STAGE_VIEW, stage_view) \
	X(RWD_STAGE_ZONE, stage_zone) \
	X(RWD_STAGE_NOTIFY, stage_notify) \
	X(RWD_STAGE_TRANSFER, stage_transfer) \
	X(RWD_STAGE_STEER, stage_steer) \
	X(RWD_STAGE_LOOKUP, stage_lookup)

void rwd_query_begin(const struct rwd_snapshot *s, struct rwd_query *qr)
{
	/* Every state field a stage may read before one writes it: a caller
	 * may reuse one struct for many queries, setting only the "in" fields
	 * (the UDP workers do; zeroing it whole each time costs more). */
	qr->zones = NULL;
	qr->view = 0;
	qr->zone = NULL;
	qr->answer = NULL;
	qr->synth = NULL;
	qr->body_len = 0;
	qr->body_an = qr->body_ar = 0;
	qr->ecs_scope = 0;
	qr->rcode = RW_RCODE_NOERROR;
	qr->ede = 0;
	qr->aa = false;
	qr->tc = false;
	qr->cookie = RWD_COOKIE_NONE;
	qr->more = false;
	qr->produced = 0;
	qr->producer = NULL;
	qr->cursor = 0;
	qr->tsig.key = NULL;
	qr->tsig.error = 0;
	qr->xfr_zone = NULL;
	qr->xfr_cursor2 = 0;
	qr->xfr_serial = 0;

	enum rwd_stage_result r;
#define RUN(id, fn) \
	if ((r = fn(s, qr)) != RWD_CONTINUE) { \
		qr->stage = id; \
		qr->state = (uint8_t)r; \
		return; \
	}
	DECIDING_STAGES(RUN)
#undef RUN
	qr->stage = RWD_STAGE_LOOKUP;      /* not reached: lookup always decides */
	qr->state = RWD_DONE;
}

/* Stage "encode": header, question as received, body, OPT (when the query
 * had one). A producer writes the body of each message of a stream. */
static size_t stage_encode(const struct rwd_snapshot *s, struct rwd_query *qr)
{
	const struct rw_query *q = &qr->q;
	uint8_t *o = qr->out;
	/* The TSIG RR of a signed query's answer goes last, in room kept for it
	 * (the body truncates instead, TC over UDP; a transfer's message is
	 * fuller by that much less). */
	size_t max = max_size(s, qr);
	if (__builtin_expect(!rwd_tsig_unsigned(qr), 0))
		max = rwd_tsig_max(qr, max);
	bool with_opt = q->edns.present;
	size_t opt = 0;
	unsigned opts = with_opt ? opts_wanted(s, qr, &opt) : 0;
	/* RD and CD mean something in a QUERY only (RFC 8906 3.1.4: as BIND). */
	bool query = q->opcode == RW_OPCODE_QUERY;

	rw_put16(o, q->id);
	o[2] = RW_FLAG_QR | (q->flags1 & (0x78 | (query ? RW_FLAG_RD : 0)));   /* opcode, RD */
	o[3] = query ? q->flags2 & RW_FLAG_CD : 0;
	memset(o + 4, 0, 8);
	rw_put16(o + RW_HDR_QDCOUNT, q->question_len ? 1 : 0);
	memcpy(o + RW_HDR_LEN, qr->wire + RW_HDR_LEN, q->question_len);
	size_t pos = RW_HDR_LEN + q->question_len;
	if (qr->producer != NULL) {
		qr->body_len = qr->body_an = qr->body_ar = 0;
		enum rwd_stage_result r = RWD_DROP;
		if (pos + opt <= max)
			r = qr->producer(s, qr, o + pos, max - pos - opt);
		if (r == RWD_DROP)
			return 0;
		qr->state = (uint8_t)r;
	}
	if (qr->answer != NULL && pos + opt <= max) {
		size_t room = max - pos - opt;
		if (__builtin_expect(qr->synth != qr->answer && qr->answer->len <= room, 1))
			pos += rwd_body_put_whole(qr, o + pos);
		else
			pos += rwd_body_put(qr, o + pos, room);
	} else if (qr->body_len) {         /* written in place by a stage */
		pos += qr->body_len;
		rw_put16(o + RW_HDR_ANCOUNT, qr->body_an);
		rw_put16(o + RW_HDR_ARCOUNT, qr->body_ar);
	}
	o[2] |= (qr->aa ? RW_FLAG_AA : 0) | (qr->tc ? RW_FLAG_TC : 0);
	o[3] |= qr->rcode & 0x0f;
	if (with_opt) {
		pos += put_opt(s, qr, opts_fit_query(s, qr, pos, opts), o + pos);
		rw_put16(o + RW_HDR_ARCOUNT, rw_get16(o + RW_HDR_ARCOUNT) + 1);
	}
	if (__builtin_expect(!rwd_tsig_unsigned(qr), 0))
		return rwd_tsig_sign(s, qr, pos, max_size(s, qr));
	return pos;
}

/* Count what was asked and answered (thread-local, see common/stats.h). */
static void count(struct rwd_query *qr, size_t len)
{
	struct rwd_qstats *st = qr->thread->stats;
	st->transport[qr->transport->kind]++;
	st->decided[qr->stage]++;
	if (len == 0) {
		st->dropped++;
		return;
	}
	if (qr->q.question_len)
		st->qtype[qr->q.qtype < 256 ? qr->q.qtype : 0]++;
	st->rcode[qr->rcode & 31]++;
	if (qr->zone == NULL)
		return;
	/* The zone's counter is most often in the slot rwd_stats_zone() tries
	 * first (stats.c: hash | 1, then the next ones): counted here then. */
	uint32_t h = qr->zone->apex->hash;
	struct rwd_qstats_zone *zs = &st->zones[(h | 1) % RWD_STATS_ZONES];
	if (__builtin_expect(zs->hash == (h | 1), 1))
		zs->queries++;
	else
		rwd_stats_zone(st, qr->zone->apex_name, h);
}

size_t rwd_query_produce(const struct rwd_snapshot *s, struct rwd_query *qr)
{
	size_t len = 0;
	if (qr->produced++ == 0) {         /* the first message: limit, encode, count */
		/* limit: nothing to do without rate limiting (the call only when on) */
		if (qr->state != RWD_DROP && s->rrl != NULL && rwd_stage_limit(s, qr) == RWD_DROP) {
			qr->stage = RWD_STAGE_LIMIT;
			qr->state = RWD_DROP;
		}
		if (qr->state != RWD_DROP)
			len = stage_encode(s, qr);
		if (qr->thread && qr->thread->stats)
			count(qr, len);
	} else if (qr->more) {             /* the next of a stream */
		len = stage_encode(s, qr);
	}
	qr->more = len && qr->state == RWD_MORE;
	return len;
}

size_t rwd_query_process(const struct rwd_snapshot *s, struct rwd_query *qr)
{
	rwd_query_begin(s, qr);
	return rwd_query_produce(s, qr);
}
