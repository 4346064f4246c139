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
	size_t chunk_size;             /* size of new chunks; large requests get their own */
	size_t total;                  /* bytes obtained from malloc, for statistics */
};

void rw_arena_init(struct rw_arena *a, size_t chunk_size);
/* 16-byte aligned, uninitialised. NULL when out of memory. */
void *rw_arena_alloc(struct rw_arena *a, size_t size);
void *rw_arena_memdup(struct rw_arena *a, const void *src, size_t size);
/* Keep the first chunk, free the rest: the cheap per-query reset. */
void rw_arena_reset(struct rw_arena *a);
void rw_arena_free(struct rw_arena *a);
