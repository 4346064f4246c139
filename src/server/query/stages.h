/*
 * Internal to the query pipeline: stages that live in their own file.
 * Each takes the snapshot and the query and says whether it decided the
 * outcome (the later stages then only encode).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "server/query/query.h"

/* Stage "steer" (steer.c): room is what the body may take behind the question. */
bool rwd_stage_steer(const struct rwd_snapshot *s, struct rwd_query *qr, size_t room);

/* Stage "cookie" (cookie.c): sets qr->cookie and qr->server_cookie; decides
 * (BADCOOKIE) on an invalid server cookie over UDP. */
bool rwd_stage_cookie(const struct rwd_snapshot *s, struct rwd_query *qr);

/* Stage "limit" (limit.c), once the outcome is known: false to send
 * nothing; may strip the answer to a truncated reply (slip). */
bool rwd_stage_limit(const struct rwd_snapshot *s, struct rwd_query *qr);
