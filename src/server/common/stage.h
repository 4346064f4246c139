/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The query pipeline's stages, by name: shared by the pipeline (query/,
 * which runs them), the counters (common/stats.h: queries by the stage that
 * decided them) and the trace, so it sits below all three.
 */
#pragma once

/* In pipeline order (query/query.h says what each does). */
enum rwd_stage {
	RWD_STAGE_PARSE, RWD_STAGE_TSIG, RWD_STAGE_COOKIE, RWD_STAGE_FILTER, RWD_STAGE_VIEW,
	RWD_STAGE_ZONE, RWD_STAGE_NOTIFY, RWD_STAGE_TRANSFER, RWD_STAGE_STEER, RWD_STAGE_LOOKUP,
	RWD_STAGE_LIMIT, RWD_STAGE_ENCODE,
	RWD_STAGES
};

/* "parse", "cookie", ...: for traces, logs and metric labels. */
extern const char *const rwd_stage_names[RWD_STAGES];
