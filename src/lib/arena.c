/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"

struct rw_arena_chunk {
	struct rw_arena_chunk *prev;
	size_t size, used;            /* size: of data[] */
	_Alignas(8) unsigned char data[];
};

/* 8 bytes is all any zone structure needs; 16 wasted ~10% of a zone. */
#define ALIGN(x) (((x) + 7) & ~(size_t)7)

#define HUGE_PAGE ((size_t)2 << 20)
#define MAX_CHUNK HUGE_PAGE

void *rw_bigalloc(size_t size)
{
	if (size < HUGE_PAGE)
		return calloc(1, size);
	/* Over-map by one huge page, then trim to a 2 MiB-aligned range. */
	size_t len = (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	uint8_t *m = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uint8_t *p = (uint8_t *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (p > m)
		munmap(m, (size_t)(p - m));
	if (m + HUGE_PAGE > p)
		munmap(p + len, (size_t)(m + HUGE_PAGE - p));
	madvise(p, len, MADV_HUGEPAGE);   /* a hint: fine if THP is off */
	return p;
}

void rw_bigfree(void *p, size_t size)
{
	if (p == NULL)
		return;
	if (size < HUGE_PAGE)
		free(p);
	else
		munmap(p, (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
}

void rw_arena_init(struct rw_arena *a, size_t chunk_size)
{
	a->head = NULL;
	a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
	a->total = 0;
}

void *rw_arena_alloc(struct rw_arena *a, size_t size)
{
	size = ALIGN(size ? size : 1);
	struct rw_arena_chunk *c = a->head;
	if (c == NULL || c->size - c->used < size) {
		bool own = size > a->chunk_size / 4;
		size_t csize = own ? size : a->chunk_size - sizeof(*c);
		struct rw_arena_chunk *n = rw_bigalloc(sizeof(*n) + csize);
		if (n == NULL)
			return NULL;
		n->size = csize;
		n->used = 0;
		a->total += sizeof(*n) + csize;
		if (!own && a->chunk_size < MAX_CHUNK)
			a->chunk_size *= 2;   /* small zones stay small, big ones get huge pages */
		if (c != NULL && own) {
			/* A big one-off: slip it behind the current chunk so the
			 * current one keeps filling. */
			n->prev = c->prev;
			c->prev = n;
			n->used = size;
			return n->data;
		}
		n->prev = c;
		a->head = c = n;
	}
	void *p = c->data + c->used;
	c->used += size;
	return p;
}

void *rw_arena_memdup(struct rw_arena *a, const void *src, size_t size)
{
	void *p = rw_arena_alloc(a, size);
	if (p != NULL)
		memcpy(p, src, size);
	return p;
}

void rw_arena_reset(struct rw_arena *a)
{
	struct rw_arena_chunk *c = a->head;
	if (c == NULL)
		return;
	for (struct rw_arena_chunk *p = c->prev; p != NULL;) {
		struct rw_arena_chunk *prev = p->prev;
		a->total -= sizeof(*p) + p->size;
		rw_bigfree(p, sizeof(*p) + p->size);
		p = prev;
	}
	c->prev = NULL;
	c->used = 0;
}

void rw_arena_free(struct rw_arena *a)
{
	for (struct rw_arena_chunk *c = a->head; c != NULL;) {
		struct rw_arena_chunk *prev = c->prev;
		rw_bigfree(c, sizeof(*c) + c->size);
		c = prev;
	}
	a->head = NULL;
	a->total = 0;
}
