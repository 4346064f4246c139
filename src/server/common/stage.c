/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The stage names (stage.h). */
#include "server/common/stage.h"

const char *const rwd_stage_names[RWD_STAGES] = {
	[RWD_STAGE_PARSE] = "parse", [RWD_STAGE_TSIG] = "tsig", [RWD_STAGE_COOKIE] = "cookie",
	[RWD_STAGE_FILTER] = "filter", [RWD_STAGE_VIEW] = "view", [RWD_STAGE_ZONE] = "zone",
	[RWD_STAGE_NOTIFY] = "notify", [RWD_STAGE_TRANSFER] = "transfer", [RWD_STAGE_STEER] = "steer",
	[RWD_STAGE_LOOKUP] = "lookup", [RWD_STAGE_LIMIT] = "limit", [RWD_STAGE_ENCODE] = "encode",
};
