/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Record data layout by type, from libknot's descriptor table: which parts
 * of an RDATA are domain names, and whether those may be compressed
 * (RFC 3597 4: only the RFC 1035 types; never for unknown types).
 * Names inside RDATA held by runway are flat (uncompressed).
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "lib/pkt.h"

/*
 * Append rdata of the given type to b, compressing names where allowed,
 * preceded by its RDLENGTH. Sets b->overflow when it does not fit.
 * Returns 0, or RW_EMALFORMED when rdata does not match its type's layout.
 */
int rw_rdata_put(struct rw_msgbuilder *b, uint16_t type, const uint8_t *rdata, uint16_t len);

/* Equal in canonical form: names compared without case (RFC 4034 6.2,
 * RFC 2181 5: such records are duplicates). */
bool rw_rdata_equal(uint16_t type, const uint8_t *a, uint16_t alen, const uint8_t *b, uint16_t blen);

/* Check that rdata matches its type's layout (names well formed, sizes). */
int rw_rdata_check(uint16_t type, const uint8_t *rdata, uint16_t len);

/*
 * The name whose addresses belong in the additional section (RFC 1035 3.3,
 * RFC 2782, RFC 9460): NS and CNAME targets, MX exchange, SRV and SVCB/HTTPS
 * targets ("." is none). NULL for other types.
 */
const uint8_t *rw_rdata_target(uint16_t type, const uint8_t *rdata, uint16_t len);
