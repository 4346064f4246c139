/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Counting allocations in a unit test: include in the test's one .c file;
 * set `counting` around the code that must not allocate and read `allocs`.
 * Not under a sanitizer, which owns malloc (COUNT_ALLOCS is then 0 and the
 * counter stays 0: check COUNT_ALLOCS before asserting a positive count).
 */
#pragma once
#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define COUNT_ALLOCS 0
#endif
#endif
#ifndef COUNT_ALLOCS
#define COUNT_ALLOCS 1
#endif

static _Thread_local volatile int counting;
static _Thread_local volatile long allocs;

#if COUNT_ALLOCS
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
__attribute__((noinline)) void *malloc(size_t n)
{
	allocs += counting;
	return __libc_malloc(n);
}
__attribute__((noinline)) void *calloc(size_t n, size_t s)
{
	allocs += counting;
	return __libc_calloc(n, s);
}
__attribute__((noinline)) void *realloc(void *p, size_t n)
{
	allocs += counting;
	return __libc_realloc(p, n);
}
#endif
