/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "lib/error.h"

const char *rw_strerror(int err)
{
	switch (err) {
	case RW_OK: return "ok";
#define RW_ERR_CASE(name, val, msg) case (val): return msg;
	RW_ERRNO_MAP(RW_ERR_CASE)
#undef RW_ERR_CASE
	default: return "unknown error";
	}
}
