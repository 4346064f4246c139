/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * runway error codes: one negative-int space for the whole project, with
 * rw_strerror(). DNS rcodes are answers, not errors, and live in wire.h.
 */
#pragma once

#define RW_ERRNO_MAP(X)                                              \
	X(ENOMEM,    -1,  "out of memory")                            \
	X(EINVAL,    -2,  "invalid argument")                         \
	X(EMALFORMED,-3,  "malformed data")                           \
	X(ESPACE,    -4,  "not enough space")                         \
	X(ENOENT,    -5,  "not found")                                \
	X(EEXIST,    -6,  "already exists")                           \
	X(ELIMIT,    -7,  "limit exceeded")                           \
	X(EIO,       -8,  "input/output error")                       \
	X(ECONF,     -9,  "configuration error")                      \
	X(EZONE,     -10, "zone error")                               \
	X(EAUTH,     -11, "authentication failed")                    \
	X(ETIMEOUT,  -12, "timed out")                                \
	X(EREFUSED,  -13, "refused by the peer")

enum {
	RW_OK = 0,
#define RW_ERR_ENUM(name, val, msg) RW_##name = (val),
	RW_ERRNO_MAP(RW_ERR_ENUM)
#undef RW_ERR_ENUM
};

/* Never NULL; unknown codes give "unknown error". */
const char *rw_strerror(int err);
