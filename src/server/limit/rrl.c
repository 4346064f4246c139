/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The RRL bucket table (rrl.h opens with the reasoning). */
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lib/error.h"
#include "lib/hash.h"
#include "server/limit/rrl.h"

#define PROBE 4                        /* slots looked at per key */
#define TRIES 4                        /* compare-and-swap attempts per answer */

struct rwd_rrl_table {
	atomic_int refs;
	uint32_t size;
	_Atomic uint64_t slot[];       /* 0: free */
};

/* One bucket in one word: fingerprint | second | tokens | slip counter. */
static inline uint64_t pack(uint16_t fp, uint16_t sec, uint32_t tokens, uint8_t slipped)
{
	return (uint64_t)fp << 48 | (uint64_t)sec << 32 | (uint64_t)(tokens & 0xffffff) << 8 | slipped;
}
static inline uint16_t fp_of(uint64_t b) { return (uint16_t)(b >> 48); }
static inline uint16_t sec_of(uint64_t b) { return (uint16_t)(b >> 32); }
static inline uint32_t tokens_of(uint64_t b) { return (uint32_t)(b >> 8) & 0xffffff; }
static inline uint8_t slipped_of(uint64_t b) { return (uint8_t)b; }

struct rwd_rrl_table *rwd_rrl_table_new(uint32_t size)
{
	if (size < PROBE)
		size = PROBE;
	struct rwd_rrl_table *t = calloc(1, sizeof(*t) + (size_t)size * sizeof(t->slot[0]));
	if (t == NULL)
		return NULL;
	atomic_init(&t->refs, 1);
	t->size = size;
	return t;
}

void rwd_rrl_table_unref(struct rwd_rrl_table *t)
{
	if (t != NULL && atomic_fetch_sub(&t->refs, 1) == 1)
		free(t);
}

enum rwd_rrl_verdict rwd_rrl_account(struct rwd_rrl_table *t, uint64_t hash, uint32_t rate,
                                     uint32_t slip, uint32_t now)
{
	uint16_t fp = (uint16_t)(hash >> 48) | 1;   /* never 0: a used slot is never 0 */
	uint16_t sec = (uint16_t)now;
	uint32_t first = (uint32_t)(hash % t->size);
	if (rate > RWD_RRL_MAX_RATE)
		rate = RWD_RRL_MAX_RATE;

	enum rwd_rrl_verdict v = RWD_RRL_PASS;
	for (int attempt = 0; attempt < TRIES; attempt++) {
		/* Our bucket, else a free slot, else the one idle longest. */
		_Atomic uint64_t *slot = NULL;
		uint64_t old = 0;
		bool found = false;
		uint16_t idle = 0;
		for (uint32_t i = 0; i < PROBE; i++) {
			_Atomic uint64_t *s = &t->slot[(first + i) % t->size];
			uint64_t b = atomic_load_explicit(s, memory_order_relaxed);
			if (b != 0 && fp_of(b) == fp) {
				slot = s, old = b, found = true;
				break;
			}
			uint16_t age = b == 0 ? UINT16_MAX : (uint16_t)(sec - sec_of(b));
			if (slot == NULL || age > idle)
				slot = s, old = b, idle = age;
		}

		uint32_t tokens = rate;        /* a new bucket starts full */
		uint8_t slipped = 0;
		if (found) {
			tokens = tokens_of(old);
			slipped = slipped_of(old);
			uint16_t elapsed = (uint16_t)(sec - sec_of(old));
			if (elapsed != 0) {
				uint64_t refill = (uint64_t)elapsed * rate;
				tokens = tokens + refill >= rate ? rate : (uint32_t)(tokens + refill);
			}
		}
		v = RWD_RRL_PASS;
		if (tokens > 0) {
			tokens--;
		} else if (slip == 0) {
			v = RWD_RRL_DROP;
		} else if (++slipped >= slip) {
			slipped = 0;
			v = RWD_RRL_SLIP;
		} else {
			v = RWD_RRL_DROP;
		}
		uint64_t b = pack(fp, sec, tokens, slipped);
		if (b == old || atomic_compare_exchange_weak_explicit(slot, &old, b, memory_order_relaxed,
		                                                      memory_order_relaxed))
			return v;
	}
	/* Lost the race every time: the verdict of the last try stands, its
	 * count is lost. An empty bucket still drops (a flood of one prefix
	 * spread over every worker must not win by contention); a bucket
	 * with tokens lets this one through uncounted. */
	return v;
}

/* A 64-bit keyed hash (FNV-1a with a random offset, then a murmur finaliser):
 * the key is the client's prefix and what the server answers, so an
 * attacker cannot aim many buckets at one slot without knowing the seed. */
static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	while (n--)
		h = (h ^ *p++) * 0x100000001b3ull;
	return h;
}

uint64_t rwd_rrl_key(const struct rwd_rrl *r, const struct sockaddr *client, uint8_t cls,
                     const void *key, size_t len)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	uint8_t head[18] = { 0 };      /* family, class, prefix */
	const uint8_t *addr;
	unsigned bits, bytes;
	if (client->sa_family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)client)->sin_addr;
		head[0] = 4;
	} else {
		addr = ((const struct sockaddr_in6 *)client)->sin6_addr.s6_addr;
		head[0] = 6;
		if (memcmp(addr, v4mapped, sizeof(v4mapped)) == 0) {
			addr += 12;
			head[0] = 4;
		}
	}
	bits = head[0] == 4 ? r->ipv4_prefix : r->ipv6_prefix;
	bytes = (bits + 7) / 8;
	head[1] = cls;
	memcpy(head + 2, addr, bytes);
	if (bits % 8)
		head[2 + bytes - 1] &= (uint8_t)(0xff << (8 - bits % 8));
	uint64_t h = hash_bytes(r->seed, head, sizeof(head));
	return rw_mix64(hash_bytes(h, key, len));
}

int rwd_rrl_build(const struct rwd_rrl_opts *opts, const struct rwd_rrl *prev,
                  struct rwd_rrl **out)
{
	*out = NULL;
	if (opts->rate == 0)
		return 0;
	struct rwd_rrl *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return RW_ENOMEM;
	r->rate = opts->rate;
	r->slip = opts->slip;
	r->ipv4_prefix = opts->ipv4_prefix;
	r->ipv6_prefix = opts->ipv6_prefix;
	if (rwd_acl_copy(&r->exempt, &opts->exempt) < 0) {
		free(r);
		return RW_ENOMEM;
	}
	if (prev != NULL && prev->table->size == (opts->table_size < PROBE ? PROBE :
	                                          opts->table_size)) {
		atomic_fetch_add(&prev->table->refs, 1);
		r->table = prev->table;
		r->seed = prev->seed;
	} else {
		r->table = rwd_rrl_table_new(opts->table_size);
		if (getrandom(&r->seed, sizeof(r->seed), 0) != sizeof(r->seed))
			r->seed = (uint64_t)(uintptr_t)r ^ 0xcbf29ce484222325ull;   /* still per process */
	}
	if (r->table == NULL) {
		rwd_acl_free(&r->exempt);
		free(r);
		return RW_ENOMEM;
	}
	*out = r;
	return 0;
}

void rwd_rrl_free(struct rwd_rrl *r)
{
	if (r == NULL)
		return;
	rwd_rrl_table_unref(r->table);
	rwd_acl_free(&r->exempt);
	free(r);
}
