/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internal to the query pipeline: stages that live in their own file.
 * Each takes the snapshot and the query and says whether it decided the
 * outcome (the later stages then only encode): enum rwd_stage_result
 * (query.h), or a bool (true: decided) for the older ones, which query.c's
 * stage table adapts.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/query/query.h"

/* Stage "steer" (steer.c): room is what the body may take behind the question. */
bool rwd_stage_steer(const struct rwd_snapshot *s, struct rwd_query *qr, size_t room);

/* Stage "cookie" (cookie.c): sets qr->cookie and qr->server_cookie; DONE
 * (BADCOOKIE) on an invalid server cookie from an unverified address, DONE
 * for a query without a question (RFC 7873 5.4: NOERROR with the cookie,
 * FORMERR without one), else CONTINUE. */
enum rwd_stage_result rwd_stage_cookie(const struct rwd_snapshot *s, struct rwd_query *qr);

/* Stage "limit" (limit.c), once the outcome is known: DROP to send
 * nothing, else CONTINUE; may strip the answer to a truncated reply (slip). */
enum rwd_stage_result rwd_stage_limit(const struct rwd_snapshot *s, struct rwd_query *qr);

/* Stage "lookup" (lookup.c): sets qr->answer, rcode and aa from the zone. */
void rwd_stage_lookup(struct rwd_query *qr);

/* Write qr->answer behind the question at p, at most room bytes (or, when
 * qr->synth == qr->answer, the answer resolved at query time); sets the
 * section counts in qr->out and qr->tc when the required part does not fit.
 * Returns the bytes written (body.c). */
size_t rwd_body_put(struct rwd_query *qr, uint8_t *p, size_t room);

/* Lookup, for an answer built at query time (qr->synth): resolve it once
 * into qr->out to learn its rcode and AA before the limit stage (body.c). */
void rwd_body_synth_rcode(struct rwd_query *qr);
