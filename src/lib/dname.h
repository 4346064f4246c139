/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Domain names in wire format: a sequence of length-prefixed labels ending
 * with the zero-length root label, at most 255 octets (RFC 1035 3.1).
 * Names held by runway are always uncompressed ("flat"); only rw_dname_unpack
 * reads compression pointers. "lc" means the name has been lowercased
 * (ASCII only, RFC 4343), the form used as a lookup key.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Read a possibly-compressed name at msg[*pos] into out (flat, at most 255
 * octets) and advance *pos past it in the message. Rejects pointers that do
 * not point strictly backwards (no loops), labels > 63, names > 255.
 * Returns the flat length (>= 1) or a negative RW_E* code.
 * Pre: msg, pos, out != NULL; out has RW_DNAME_MAXLEN bytes.
 */
int rw_dname_unpack(const uint8_t *msg, size_t msg_len, size_t *pos, uint8_t *out);

/* Flat length of a valid flat name, including the root label. */
size_t rw_dname_len(const uint8_t *dn);
/* Number of labels, the root not counted ("example.com." = 2). */
unsigned rw_dname_labels(const uint8_t *dn);
/* Lowercase ASCII letters in place. */
void rw_dname_lower(uint8_t *dn);
/* Case-insensitive equality of two flat names. */
bool rw_dname_eq(const uint8_t *a, const uint8_t *b);
/* True if name is equal to or below parent (case-insensitive). */
bool rw_dname_is_sub(const uint8_t *name, const uint8_t *parent);
/* Pointer to the suffix of dn with `labels` labels (0 = root). Pre: labels <= count. */
const uint8_t *rw_dname_suffix(const uint8_t *dn, unsigned labels);

/*
 * Presentation <-> wire. from_str accepts absolute ("a.example.") or, with
 * origin != NULL, relative names; escapes \X and \DDD (RFC 1035 5.1).
 * Returns flat length or negative RW_E*. to_str writes an absolute name with
 * escapes, NUL-terminated; returns length or RW_ESPACE.
 */
int rw_dname_from_str(const char *str, const uint8_t *origin, uint8_t *out);
int rw_dname_to_str(const uint8_t *dn, char *out, size_t out_size);

/*
 * The hash of a flat lowercased name that the zone's node table keys on
 * (server/zone: rwd_name_hash() is this function; tests/unit/test_pkt.c
 * checks that they agree), in steps, so rw_query_parse can compute the
 * question's while it lowercases it: init(len); then step() for each
 * 8-byte word of the name in order (loaded little-endian, as memcpy() into
 * a uint64_t does on this machine); then, when len % 8, one step() with
 * the last len % 8 bytes in the low bytes of a zeroed word; then final().
 */
static inline uint64_t rw_name_hash_init(size_t len) { return len * 0x9e3779b97f4a7c15ULL; }
static inline uint64_t rw_name_hash_step(uint64_t h, uint64_t w)
{
	return ((h << 5 | h >> 59) ^ w) * 0x517cc1b727220a95ULL;
}
static inline uint32_t rw_name_hash_final(uint64_t h) { return (uint32_t)(h ^ h >> 32); }
