/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNS Cookies (RFC 7873), server side, with the interoperable server
 * cookies of RFC 9018: version 1, three reserved bytes, a 32-bit timestamp
 * and a SipHash-2-4 of (client cookie, those 8 bytes, client address) under
 * a 16-byte secret. Servers that share the secret (cookies.secret) accept
 * each other's cookies. The hashing is libknot's (libknot/cookies.h).
 *
 * Policy (docs/configuration.md#cookies):
 *   - a query with a COOKIE option is answered with our fresh server cookie;
 *   - a valid server cookie (ours, from 1 hour ago to 5 minutes ahead)
 *     exempts the client from rate limiting;
 *   - a client cookie alone is answered normally (RFC 7873 5.2.3), and rate
 *     limited like any query;
 *   - an invalid server cookie over UDP gets BADCOOKIE with a fresh cookie
 *     (RFC 7873 5.2.4 allows it): the client retries with the new one at
 *     once; over TCP, which proves the address, it is answered normally;
 *   - a COOKIE option of a bad length is FORMERR (rw_query_parse).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RWD_COOKIE_SECRET_LEN 16
#define RWD_COOKIE_PAST 3600           /* a server cookie is valid this long after it was made */
#define RWD_COOKIE_FUTURE 300          /* and this long before (clocks of a fleet differ) */

/* The secret used when the configuration sets none: random, made at the
 * first call and the same for the life of the process (reloads keep it). */
const uint8_t *rwd_cookie_random_secret(void);

/*
 * Make the server cookie (RWD_SERVER_COOKIE_LEN bytes, query.h) for client
 * cookie cc (8 bytes) and client address (may be NULL: tests) at time now.
 */
void rwd_cookie_make(const uint8_t secret[RWD_COOKIE_SECRET_LEN], const uint8_t cc[8],
                     const struct sockaddr *client, uint32_t now, uint8_t *out);
/* Whether server cookie sc (len bytes) is one we made for cc and client and still valid at now. */
bool rwd_cookie_valid(const uint8_t secret[RWD_COOKIE_SECRET_LEN], const uint8_t cc[8],
                      const struct sockaddr *client, uint32_t now, const uint8_t *sc, size_t len);
