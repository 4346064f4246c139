/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Access lists: named sets of address prefixes (config `acls:`), reused by
 * views (which clients see which zones), rate limiting (who is exempt), the
 * API and, later, zone transfers.
 *
 * An ACL is flat and immutable once loaded: a reference to another ACL by
 * name is expanded at load time, so matching is one scan over prefixes with
 * no indirection (lists are short: a handful of networks per name). The
 * query path calls rwd_acl_match() per query; it neither allocates nor locks.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct rwd_acl_prefix {
	uint8_t family;                /* AF_INET or AF_INET6 */
	uint8_t len;                   /* prefix length in bits */
	uint8_t bytes[16];             /* host bits zero; 4 used for AF_INET */
};

struct rwd_acl {
	struct rwd_acl_prefix *v;      /* malloc'ed, owned */
	uint32_t n;
	bool any;                      /* "any": every address matches */
};

/* A named ACL of the config (acls:). */
struct rwd_conf_acl {
	char *name;
	struct rwd_acl acl;
	int line;
};

/*
 * Whether addr (AF_INET, or AF_INET6; an IPv4-mapped IPv6 address counts as
 * its IPv4 address) lies in one of acl's prefixes. NULL addr or an empty
 * ACL: false (unless acl->any).
 */
bool rwd_acl_match(const struct rwd_acl *acl, const struct sockaddr *addr);
/* The same for raw address bytes (4 or 16 of them, by family). */
bool rwd_acl_match_bytes(const struct rwd_acl *acl, int family, const uint8_t *bytes);

/*
 * Add "ADDR" or "ADDR/LEN" to acl. Returns 0, RW_EMALFORMED (not an
 * address or prefix), RW_EINVAL (host bits set) or RW_ENOMEM.
 */
int rwd_acl_add_text(struct rwd_acl *acl, const char *text);
/* Append every prefix of src (and its any) to dst. 0 or RW_ENOMEM. */
int rwd_acl_merge(struct rwd_acl *dst, const struct rwd_acl *src);
/* A deep copy into dst (dst's old content is not freed). 0 or RW_ENOMEM. */
int rwd_acl_copy(struct rwd_acl *dst, const struct rwd_acl *src);
/* Release the prefixes; acl becomes empty. NULL is allowed. */
void rwd_acl_free(struct rwd_acl *acl);
/* "10.0.0.0/8, 127.0.0.2/32" (or "any", or "none"), truncated to size. */
void rwd_acl_format(const struct rwd_acl *acl, char *buf, size_t size);
