/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A bump allocator: many small allocations, freed all at once.
 * Zones live in one arena each (no per-record malloc, one free at unload);
 * the same type serves as a per-query scratch arena, reset after each query.
 * Not thread-safe: one owner at a time.
 */
#pragma once
#include <stddef.h>

struct rw_arena_chunk;

struct rw_arena {
	struct rw_arena_chunk *head;   /* current chunk; older ones chained behind it */
	size_t chunk_size;             /* size of the next chunk: doubles up to 2 MiB */
	size_t total;                  /* bytes obtained from malloc, for statistics */
};

void rw_arena_init(struct rw_arena *a, size_t chunk_size);
/* 8-byte aligned, uninitialised. NULL when out of memory. */
void *rw_arena_alloc(struct rw_arena *a, size_t size);
void *rw_arena_memdup(struct rw_arena *a, const void *src, size_t size);
/* Keep the first chunk, free the rest: the cheap per-query reset. */
void rw_arena_reset(struct rw_arena *a);
void rw_arena_free(struct rw_arena *a);

/*
 * Zeroed memory for big, long-lived tables (a zone's hash table, arena
 * chunks). From 2 MiB up it is mapped 2 MiB-aligned and advised for
 * transparent huge pages: one page fault and one TLB entry per 2 MiB instead
 * of 512, which is a good part of the time it takes to load a large zone and
 * of the cost of a random lookup in it. Free with rw_bigfree(p, size).
 */
void *rw_bigalloc(size_t size);
void rw_bigfree(void *p, size_t size);
