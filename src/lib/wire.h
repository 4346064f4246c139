/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNS wire-format constants and unaligned big-endian helpers (RFC 1035 4.1).
 * Header-only so the query path inlines them.
 */
#pragma once
#include <stdint.h>
#include <string.h>

#define RW_HDR_LEN          12
#define RW_DNAME_MAXLEN     255
#define RW_LABEL_MAXLEN     63
#define RW_MSG_MAXLEN       65535
#define RW_UDP_DEFAULT_MAX  512    /* without EDNS (RFC 1035 4.2.1) */
#define RW_EDNS_DEFAULT_MAX 1232   /* DNS Flag Day 2020 */

/* Header flags, first byte (byte 2 of the message). */
#define RW_FLAG_QR 0x80
#define RW_FLAG_AA 0x04
#define RW_FLAG_TC 0x02
#define RW_FLAG_RD 0x01
#define RW_OPCODE(b2) (((b2) >> 3) & 0x0f)
/* Second byte (byte 3). */
#define RW_FLAG_RA 0x80
#define RW_FLAG_AD 0x20
#define RW_FLAG_CD 0x10

enum rw_opcode { RW_OPCODE_QUERY = 0, RW_OPCODE_NOTIFY = 4, RW_OPCODE_UPDATE = 5 };

enum rw_rcode {
	RW_RCODE_NOERROR = 0, RW_RCODE_FORMERR = 1, RW_RCODE_SERVFAIL = 2,
	RW_RCODE_NXDOMAIN = 3, RW_RCODE_NOTIMP = 4, RW_RCODE_REFUSED = 5,
	RW_RCODE_YXDOMAIN = 6, RW_RCODE_NOTAUTH = 9,
	RW_RCODE_BADVERS = 16, /* extended: upper 8 bits in OPT TTL */
	RW_RCODE_BADCOOKIE = 23, /* extended (RFC 7873 8) */
};

enum rw_class { RW_CLASS_IN = 1, RW_CLASS_CH = 3, RW_CLASS_NONE = 254, RW_CLASS_ANY = 255 };

enum rw_type {
	RW_TYPE_A = 1, RW_TYPE_NS = 2, RW_TYPE_CNAME = 5, RW_TYPE_SOA = 6,
	RW_TYPE_PTR = 12, RW_TYPE_HINFO = 13, RW_TYPE_MX = 15, RW_TYPE_TXT = 16,
	RW_TYPE_AAAA = 28, RW_TYPE_SRV = 33, RW_TYPE_NAPTR = 35, RW_TYPE_DNAME = 39,
	RW_TYPE_OPT = 41, RW_TYPE_DS = 43, RW_TYPE_SSHFP = 44, RW_TYPE_RRSIG = 46,
	RW_TYPE_NSEC = 47, RW_TYPE_DNSKEY = 48, RW_TYPE_NSEC3 = 50, RW_TYPE_TLSA = 52,
	RW_TYPE_SVCB = 64, RW_TYPE_HTTPS = 65, RW_TYPE_IXFR = 251, RW_TYPE_AXFR = 252,
	RW_TYPE_MAILB = 253, RW_TYPE_MAILA = 254, RW_TYPE_ANY = 255, RW_TYPE_CAA = 257,
};

/* EDNS option codes (IANA). */
enum rw_edns_opt {
	RW_EDNS_NSID = 3, RW_EDNS_ECS = 8, RW_EDNS_EXPIRE = 9, RW_EDNS_COOKIE = 10, RW_EDNS_EDE = 15
};

static inline uint16_t rw_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rw_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void rw_put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static inline void rw_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = (v >> 16) & 0xff; p[2] = (v >> 8) & 0xff; p[3] = v & 0xff;
}

/* Header counts at fixed offsets. */
#define RW_HDR_QDCOUNT 4
#define RW_HDR_ANCOUNT 6
#define RW_HDR_NSCOUNT 8
#define RW_HDR_ARCOUNT 10
