#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"

struct rw_arena_chunk {
	struct rw_arena_chunk *prev;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

#define ALIGN16(x) (((x) + 15) & ~(size_t)15)

void rw_arena_init(struct rw_arena *a, size_t chunk_size)
{
	a->head = NULL;
	a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
	a->total = 0;
}

void *rw_arena_alloc(struct rw_arena *a, size_t size)
{
	size = ALIGN16(size ? size : 1);
	struct rw_arena_chunk *c = a->head;
	if (c == NULL || c->size - c->used < size) {
		size_t csize = size > a->chunk_size / 4 ? size : a->chunk_size;
		struct rw_arena_chunk *n = malloc(sizeof(*n) + csize);
		if (n == NULL)
			return NULL;
		n->size = csize;
		n->used = 0;
		a->total += sizeof(*n) + csize;
		if (c != NULL && csize != a->chunk_size) {
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
		free(p);
		p = prev;
	}
	c->prev = NULL;
	c->used = 0;
}

void rw_arena_free(struct rw_arena *a)
{
	for (struct rw_arena_chunk *c = a->head; c != NULL;) {
		struct rw_arena_chunk *prev = c->prev;
		free(c);
		c = prev;
	}
	a->head = NULL;
	a->total = 0;
}
