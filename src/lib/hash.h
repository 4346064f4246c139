/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Small hashing helpers shared by the server's tables (the RRL buckets, the
 * TCP per-client counts, the geolocation cache).
 */
#pragma once
#include <stdint.h>

/* MurmurHash3's 64-bit finaliser: every input bit reaches every output bit.
 * Not keyed: mix a secret in first where clients choose the input. */
static inline uint64_t rw_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}
