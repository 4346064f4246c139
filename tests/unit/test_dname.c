/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for domain names (src/lib/dname.c): rw_dname_unpack against
 * well-formed and hostile messages (compression pointers, forward and self
 * pointers, loops, long labels and names, truncation), presentation <->
 * wire with escapes and origins, and the small helpers (eq, is_sub,
 * labels, suffix, lower, len).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lib/dname.h"
#include "lib/error.h"
#include "lib/wire.h"

#define W(s) ((const uint8_t *)(s))

/* ---- rw_dname_unpack ---- */

/* Unpack msg[pos]; on success check the flat result and the new position. */
static void unpack_ok(const uint8_t *msg, size_t len, size_t pos, const void *want,
                      size_t want_len, size_t want_pos)
{
	uint8_t out[RW_DNAME_MAXLEN];
	memset(out, 0xee, sizeof(out));
	size_t p = pos;
	int n = rw_dname_unpack(msg, len, &p, out);
	assert_int_equal(n, (int)want_len);
	assert_memory_equal(out, want, want_len);
	assert_int_equal(p, want_pos);
	assert_int_equal(rw_dname_len(out), want_len);
}

static void unpack_bad(const uint8_t *msg, size_t len, size_t pos)
{
	uint8_t out[RW_DNAME_MAXLEN];
	size_t p = pos;
	assert_int_equal(rw_dname_unpack(msg, len, &p, out), RW_EMALFORMED);
	assert_int_equal(p, pos);   /* position untouched on error */
}

static void test_unpack_flat(void **state)
{
	static const uint8_t m[] = "\x03www\x07" "example\x03" "com\x00" "\xff";
	unpack_ok(m, sizeof(m) - 1, 0, "\x03www\x07" "example\x03" "com", 17, 17);
	/* The root name alone. */
	static const uint8_t root[] = { 0 };
	unpack_ok(root, 1, 0, "", 1, 1);
	/* Case is kept: unpack does not lowercase. */
	static const uint8_t mc[] = "\x03WwW\x00";
	unpack_ok(mc, 5, 0, "\x03WwW", 5, 5);
	/* Binary bytes inside labels are data. */
	static const uint8_t bin[] = { 2, 0x00, 0xff, 0 };
	unpack_ok(bin, 4, 0, bin, 4, 4);
}

static void test_unpack_pointers(void **state)
{
	/* A header-like prefix, then "www.example.com" at 12, "ftp" + ptr to
	 * "example.com" (16) at 29, then a pointer to the ftp name (29) at 35,
	 * then "a" + pointer to 35 (pointer to a pointer) at 37. */
	uint8_t m[64] = { 0 };
	size_t o = 12;
	memcpy(m + o, "\x03www\x07" "example\x03" "com\x00", 17); o += 17;   /* 12..28 */
	assert_int_equal(o, 29);
	memcpy(m + o, "\x03" "ftp\xc0\x10", 6); o += 6;                       /* 29..34 */
	memcpy(m + o, "\xc0\x1d", 2); o += 2;                                 /* 35..36 */
	memcpy(m + o, "\x01" "a\xc0\x23", 4); o += 4;                         /* 37..40 */
	m[o++] = 0xaa;                                                        /* trailing data */

	unpack_ok(m, o, 12, "\x03www\x07" "example\x03" "com", 17, 29);
	/* Position ends right after the first pointer, not where the jump led. */
	unpack_ok(m, o, 29, "\x03" "ftp\x07" "example\x03" "com", 17, 35);
	unpack_ok(m, o, 35, "\x03" "ftp\x07" "example\x03" "com", 17, 37);
	unpack_ok(m, o, 37, "\x01" "a\x03" "ftp\x07" "example\x03" "com", 19, 41);
	/* A pointer to the root label, and to a suffix that is just "com". */
	unpack_ok(m, o, 0, "", 1, 1);   /* m[0] = 0: the root */
	static const uint8_t r[] = { 0x00, 0x01, 'x', 0xc0, 0x00 };
	unpack_ok(r, sizeof(r), 1, "\x01x", 3, 5);
	static const uint8_t c[] = "\x03" "com\x00" "\x02" "co\xc0\x00";
	unpack_ok(c, 10, 5, "\x02" "co\x03" "com", 8, 10);
	/* The 14-bit offset uses the low 6 bits of the first byte too. */
	uint8_t big[0x140] = { 0 };
	memcpy(big + 0x120, "\x01z\x00", 3);
	big[0x130] = 0xc1; big[0x131] = 0x20;
	unpack_ok(big, sizeof(big), 0x130, "\x01z", 3, 0x132);
}

static void test_unpack_bad_pointers(void **state)
{
	/* Forward pointer (target after the pointer). */
	static const uint8_t fwd[] = { 0xc0, 0x02, 0x00 };
	unpack_bad(fwd, sizeof(fwd), 0);
	/* Pointer to itself. */
	static const uint8_t self[] = { 0, 0, 0, 0, 0xc0, 0x04 };
	unpack_bad(self, sizeof(self), 4);
	/* Pointer to the start of its own name (a label then a pointer back to
	 * the label: an infinite name for a naive decoder). */
	static const uint8_t own[] = { 0x01, 'a', 0xc0, 0x00 };
	unpack_bad(own, sizeof(own), 0);
	/* Pointer into the middle of its own name. */
	static const uint8_t mid[] = { 0x01, 'a', 0x01, 'b', 0xc0, 0x02 };
	unpack_bad(mid, sizeof(mid), 0);
	/* Two pointers pointing at each other: start at the second one. */
	static const uint8_t loop2[] = { 0xc0, 0x02, 0xc0, 0x00 };
	unpack_bad(loop2, sizeof(loop2), 2);
	/* Longer cycle: 6 -> 4 -> 2 -> 6. */
	static const uint8_t loop3[] = { 0, 0, 0xc0, 0x06, 0xc0, 0x02, 0xc0, 0x04 };
	unpack_bad(loop3, sizeof(loop3), 6);
	/* Pointer beyond the message. */
	static const uint8_t far[] = { 0, 0, 0, 0, 0xc0, 0xff };
	unpack_bad(far, sizeof(far), 4);
	/* Truncated pointer: one byte only. */
	static const uint8_t half[] = { 0, 0xc0 };
	unpack_bad(half, sizeof(half), 1);
	/* Extended label types 0x40 and 0x80 (RFC 6891 5: obsolete). */
	static const uint8_t ext40[] = { 0x41, 'a', 0 };
	unpack_bad(ext40, sizeof(ext40), 0);
	static const uint8_t ext80[] = { 0x00, 0x80, 0x00 };
	unpack_bad(ext80, sizeof(ext80), 1);
	/* A pointer target that itself holds a bad label. */
	static const uint8_t badtgt[] = { 0x7f, 0, 0xc0, 0x00 };
	unpack_bad(badtgt, sizeof(badtgt), 2);
}

static void test_unpack_lengths(void **state)
{
	uint8_t m[600];
	/* Label of 63: fine. Label length 64 has bit 0x40 set: rejected. */
	m[0] = 63;
	memset(m + 1, 'a', 63);
	m[64] = 0;
	unpack_ok(m, 65, 0, m, 65, 65);
	m[0] = 64;
	memset(m + 1, 'a', 64);
	m[65] = 0;
	unpack_bad(m, 66, 0);

	/* Exactly 255 octets: 3 labels of 63, one of 61, root. */
	size_t o = 0;
	for (int i = 0; i < 3; i++) {
		m[o++] = 63;
		memset(m + o, 'a' + i, 63);
		o += 63;
	}
	m[o++] = 61;
	memset(m + o, 'd', 61);
	o += 61;
	m[o++] = 0;
	assert_int_equal(o, 255);
	unpack_ok(m, o, 0, m, 255, 255);
	/* 256: the last label one longer. */
	m[192] = 62;
	memset(m + 193, 'd', 62);
	m[255] = 0;
	unpack_bad(m, 256, 0);

	/* Over 255 through compression: a 200-octet suffix, then a 63-label
	 * prefix pointing to it (each part valid alone). */
	o = 0;
	for (int i = 0; i < 3; i++) {
		m[o++] = 63;
		memset(m + o, 'x', 63);
		o += 63;
	}
	m[o++] = 6;
	memcpy(m + o, "exampl", 6);
	o += 6;
	m[o++] = 0;                    /* 200 octets at 0 */
	assert_int_equal(o, 200);
	size_t prefix = o;
	m[o++] = 54;                   /* 55 + 200 = 255: still fine */
	memset(m + o, 'p', 54);
	o += 54;
	m[o++] = 0xc0;
	m[o++] = 0x00;
	uint8_t out[RW_DNAME_MAXLEN];
	size_t p = prefix;
	assert_int_equal(rw_dname_unpack(m, o, &p, out), 255);
	assert_int_equal(p, o);
	size_t prefix2 = o;
	m[o++] = 55;                   /* 56 + 200 = 256: too long */
	memset(m + o, 'q', 55);
	o += 55;
	m[o++] = 0xc0;
	m[o++] = 0x00;
	unpack_bad(m, o, prefix2);
}

static void test_unpack_truncated(void **state)
{
	static const uint8_t m[] = "\x03www\x07" "example\x03" "com\x00";
	/* Every strict prefix of the name is malformed. */
	for (size_t len = 0; len < 17; len++)
		unpack_bad(m, len, 0);
	unpack_ok(m, 17, 0, m, 17, 17);
	/* Starting at or past the end. */
	unpack_bad(m, 17, 17);
	unpack_bad(m, 17, 100);
	/* A pointer whose target is a name cut short by the message end: the
	 * label at 0 claims 5 octets and runs over the pointer to the end. */
	static const uint8_t cut[] = { 0x05, 'a', 'b', 'c', 0xc0, 0x00 };
	unpack_bad(cut, sizeof(cut), 4);
}

/* ---- presentation <-> wire ---- */

static void from_ok(const char *str, const uint8_t *origin, const void *want, size_t want_len)
{
	uint8_t out[RW_DNAME_MAXLEN + 8];
	memset(out, 0xee, sizeof(out));
	int n = rw_dname_from_str(str, origin, out);
	if (n != (int)want_len)
		fail_msg("rw_dname_from_str(\"%s\") = %d, want %zu", str, n, want_len);
	assert_memory_equal(out, want, want_len);
}

static void from_bad(const char *str, const uint8_t *origin)
{
	uint8_t out[RW_DNAME_MAXLEN + 8];
	int n = rw_dname_from_str(str, origin, out);
	if (n != RW_EMALFORMED)
		fail_msg("rw_dname_from_str(\"%s\") = %d, want RW_EMALFORMED", str, n);
}

static void to_is(const void *dn, const char *want)
{
	char out[RW_DNAME_MAXLEN * 4 + 2];
	int n = rw_dname_to_str(dn, out, sizeof(out));
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(out, want);
}

/* str -> wire -> str gives back canonical, and canonical -> wire is stable. */
static void round_trip(const char *str, const char *canonical)
{
	uint8_t a[RW_DNAME_MAXLEN], b[RW_DNAME_MAXLEN];
	char text[RW_DNAME_MAXLEN * 4 + 2];
	int n = rw_dname_from_str(str, NULL, a);
	assert_true(n > 0);
	assert_int_equal(rw_dname_to_str(a, text, sizeof(text)), (int)strlen(canonical));
	assert_string_equal(text, canonical);
	assert_int_equal(rw_dname_from_str(text, NULL, b), n);
	assert_memory_equal(a, b, (size_t)n);
}

static void test_from_str_absolute(void **state)
{
	from_ok(".", NULL, "", 1);
	from_ok("com.", NULL, "\x03" "com", 5);
	from_ok("www.Example.COM.", NULL, "\x03www\x07" "Example\x03" "COM", 17);
	/* An origin does not change an absolute name. */
	from_ok("a.b.", W("\x07" "example\x03" "com"), "\x01" "a\x01" "b", 5);
	from_ok(".", W("\x07" "example\x03" "com"), "", 1);
}

static void test_from_str_escapes(void **state)
{
	from_ok("a\\.b.example.", NULL, "\x03" "a.b\x07" "example", 13);
	from_ok("a\\\\b.", NULL, "\x03" "a\\b", 5);
	from_ok("\\065bc.", NULL, "\x03" "Abc", 5);
	from_ok("a\\032b.", NULL, "\x03" "a b", 5);
	from_ok("\\000.", NULL, "\x01\x00", 3);
	from_ok("\\255.", NULL, "\x01\xff", 3);
	from_ok("\\@\\$\\;.", NULL, "\x03@$;", 5);
	from_ok("\\..", NULL, "\x01.", 3);
	/* Bad escapes: too few digits, > 255, a trailing backslash. */
	from_bad("\\1.", NULL);
	from_bad("\\12.", NULL);
	from_bad("\\1x2.", NULL);
	from_bad("\\256.", NULL);
	from_bad("\\999.", NULL);
	from_bad("a\\", NULL);
	from_bad("a.\\", NULL);
}

static void test_round_trips(void **state)
{
	round_trip(".", ".");
	round_trip("www.example.com.", "www.example.com.");
	round_trip("WwW.ExAmPlE.CoM.", "WwW.ExAmPlE.CoM.");     /* case kept */
	round_trip("a\\.b.example.", "a\\.b.example.");
	round_trip("a\\\\b.", "a\\\\b.");
	round_trip("\\065bc.", "Abc.");                          /* \065 is just 'A' */
	round_trip("a\\032b.", "a\\032b.");                      /* space stays escaped */
	round_trip("a\\ b.", "a\\032b.");
	round_trip("\\000\\001\\127\\128\\255.", "\\000\\001\\127\\128\\255.");
	round_trip("\\\"\\;\\(\\)\\@\\$.", "\\\"\\;\\(\\)\\@\\$.");
	round_trip("*.wild.example.", "*.wild.example.");
	round_trip("_sip._tcp.example.", "_sip._tcp.example.");
	round_trip("\\.", "\\..");                               /* relative "\." = label "." */
}

static void test_to_str(void **state)
{
	to_is(W(""), ".");
	to_is(W("\x03www\x07" "example"), "www.example.");
	to_is(W("\x02\x7f\x20"), "\\127\\032.");
	to_is(W("\x01\x2e"), "\\..");
	to_is(W("\x01\x5c"), "\\\\.");

	/* Buffer sizes: exact fit and one short. "www." needs 5 bytes with NUL. */
	char buf[8];
	assert_int_equal(rw_dname_to_str(W("\x03www"), buf, 5), 4);
	assert_string_equal(buf, "www.");
	assert_int_equal(rw_dname_to_str(W("\x03www"), buf, 4), RW_ESPACE);
	assert_int_equal(rw_dname_to_str(W(""), buf, 2), 1);
	assert_int_equal(rw_dname_to_str(W(""), buf, 1), RW_ESPACE);
	assert_int_equal(rw_dname_to_str(W("\x01\x20"), buf, 6), 5);   /* "\032." */
	assert_int_equal(rw_dname_to_str(W("\x01\x20"), buf, 5), RW_ESPACE);

	/* The longest name with every byte escaped as \DDD fits in 4 * 255 + 1. */
	uint8_t dn[RW_DNAME_MAXLEN];
	size_t o = 0;
	for (int i = 0; i < 3; i++) {
		dn[o++] = 63;
		memset(dn + o, 0x01, 63);
		o += 63;
	}
	dn[o++] = 61;
	memset(dn + o, 0x01, 61);
	o += 61;
	dn[o++] = 0;
	char big[RW_DNAME_MAXLEN * 4 + 1];
	int n = rw_dname_to_str(dn, big, sizeof(big));
	assert_int_equal(n, 250 * 4 + 4);
	uint8_t back[RW_DNAME_MAXLEN];
	assert_int_equal(rw_dname_from_str(big, NULL, back), 255);
	assert_memory_equal(back, dn, 255);
}

static void test_from_str_relative(void **state)
{
	static const uint8_t origin[] = "\x07" "example\x03" "com";   /* + NUL = root */
	from_ok("www", origin, "\x03www\x07" "example\x03" "com", 17);
	from_ok("a.b", origin, "\x01" "a\x01" "b\x07" "example\x03" "com", 17);
	from_ok("@", origin, origin, 13);
	from_ok("a\\.b", origin, "\x03" "a.b\x07" "example\x03" "com", 17);
	/* Without an origin, a relative name is completed with the root. */
	from_ok("www", NULL, "\x03www", 5);
	/* "@" without an origin is just a label "@". */
	from_ok("@", NULL, "\x01@", 3);
	/* With the root as origin. */
	from_ok("www", W(""), "\x03www", 5);
	/* Relative name + origin over 255 octets. */
	uint8_t long_origin[RW_DNAME_MAXLEN];
	size_t o = 0;
	for (int i = 0; i < 3; i++) {
		long_origin[o++] = 63;
		memset(long_origin + o, 'o', 63);
		o += 63;
	}
	long_origin[o++] = 0;                   /* 193 octets */
	char rel[70];
	memset(rel, 'r', 60);                   /* 61 + 193 = 254: fits */
	rel[60] = '\0';
	uint8_t out[RW_DNAME_MAXLEN + 8];
	assert_int_equal(rw_dname_from_str(rel, long_origin, out), 254);
	memset(rel, 'r', 61);                   /* 62 + 193 = 255: fits */
	rel[61] = '\0';
	assert_int_equal(rw_dname_from_str(rel, long_origin, out), 255);
	memset(rel, 'r', 62);                   /* 63 + 193 = 256: too long */
	rel[62] = '\0';
	from_bad(rel, long_origin);
}

static void test_from_str_errors(void **state)
{
	from_bad("a..b.", NULL);
	from_bad("a..b", W("\x03" "com"));
	from_bad("..", NULL);
	from_bad(".a.", NULL);
	from_bad(".a", NULL);
	from_bad("a..", NULL);

	/* Labels: 63 fine, 64 not (also when the 64th byte is an escape). */
	char s[600];
	memset(s, 'a', 63);
	strcpy(s + 63, ".");
	uint8_t out[RW_DNAME_MAXLEN + 8];
	assert_int_equal(rw_dname_from_str(s, NULL, out), 65);
	memset(s, 'a', 64);
	strcpy(s + 64, ".");
	from_bad(s, NULL);
	memset(s, 'a', 63);
	strcpy(s + 63, "\\065.");
	from_bad(s, NULL);

	/* Names: 255 octets fine, 256 not. */
	size_t o = 0;
	for (int i = 0; i < 3; i++) {
		memset(s + o, 'a', 63);
		o += 63;
		s[o++] = '.';
	}
	memset(s + o, 'b', 61);
	o += 61;
	strcpy(s + o, ".");
	assert_int_equal(rw_dname_from_str(s, NULL, out), 255);
	s[o] = 'b';
	strcpy(s + o + 1, ".");
	from_bad(s, NULL);
	/* Same lengths, relative with no origin (completed with the root). */
	s[o] = '\0';
	assert_int_equal(rw_dname_from_str(s, NULL, out), 255);
	s[o] = 'b';
	s[o + 1] = '\0';
	from_bad(s, NULL);
}

/* ---- helpers ---- */

static void test_len_labels(void **state)
{
	assert_int_equal(rw_dname_len(W("")), 1);
	assert_int_equal(rw_dname_len(W("\x03" "com")), 5);
	assert_int_equal(rw_dname_len(W("\x03www\x07" "example\x03" "com")), 17);
	assert_int_equal(rw_dname_labels(W("")), 0);
	assert_int_equal(rw_dname_labels(W("\x03" "com")), 1);
	assert_int_equal(rw_dname_labels(W("\x07" "example\x03" "com")), 2);
	assert_int_equal(rw_dname_labels(W("\x01*\x03www\x07" "example\x03" "com")), 4);
}

static void test_eq(void **state)
{
	assert_true(rw_dname_eq(W(""), W("")));
	assert_true(rw_dname_eq(W("\x03www\x07" "example"), W("\x03WWW\x07" "ExAmPlE")));
	assert_false(rw_dname_eq(W("\x03www"), W("\x03www\x07" "example")));
	assert_false(rw_dname_eq(W("\x03www\x07" "example"), W("\x03www")));
	assert_false(rw_dname_eq(W("\x03www"), W("\x03wwx")));
	assert_false(rw_dname_eq(W("\x02" "ab\x01" "c"), W("\x01" "a\x02" "bc")));  /* same text "abc" */
	assert_false(rw_dname_eq(W("\x03www"), W("")));
	/* Only ASCII letters fold: '[' (0x5b) is not '{' (0x7b), 0xc4 not 0xe4. */
	assert_false(rw_dname_eq(W("\x01["), W("\x01{")));
	assert_false(rw_dname_eq(W("\x01\xc4"), W("\x01\xe4")));
	assert_false(rw_dname_eq(W("\x01@"), W("\x01`")));
	assert_true(rw_dname_eq(W("\x01Z"), W("\x01z")));
}

static void test_is_sub(void **state)
{
	const uint8_t *ex = W("\x07" "example\x03" "com");
	assert_true(rw_dname_is_sub(ex, ex));
	assert_true(rw_dname_is_sub(W("\x03www\x07" "EXAMPLE\x03" "com"), ex));
	assert_true(rw_dname_is_sub(W("\x01" "a\x01" "b\x07" "example\x03" "com"), ex));
	assert_true(rw_dname_is_sub(ex, W("")));
	assert_true(rw_dname_is_sub(W(""), W("")));
	assert_false(rw_dname_is_sub(W(""), ex));
	assert_false(rw_dname_is_sub(W("\x03" "com"), ex));
	/* Label boundaries matter: "xexample.com" is not below "example.com". */
	assert_false(rw_dname_is_sub(W("\x08xexample\x03" "com"), ex));
	assert_false(rw_dname_is_sub(W("\x07" "example\x03" "net"), ex));
	assert_false(rw_dname_is_sub(W("\x07" "example\x03" "com\x03" "org"), ex));
}

static void test_suffix(void **state)
{
	const uint8_t *n = W("\x01" "a\x03www\x07" "example\x03" "com");
	assert_ptr_equal(rw_dname_suffix(n, 4), n);
	assert_ptr_equal(rw_dname_suffix(n, 3), n + 2);
	assert_ptr_equal(rw_dname_suffix(n, 2), n + 6);
	assert_ptr_equal(rw_dname_suffix(n, 1), n + 14);
	assert_ptr_equal(rw_dname_suffix(n, 0), n + 18);
	assert_int_equal(*rw_dname_suffix(n, 0), 0);
	const uint8_t *root = W("");
	assert_ptr_equal(rw_dname_suffix(root, 0), root);
}

static void test_lower(void **state)
{
	uint8_t dn[] = "\x03WwW\x07" "ExAmPlE\x04" "@[Z\xc4";
	rw_dname_lower(dn);
	assert_memory_equal(dn, "\x03www\x07" "example\x04" "@[z\xc4", sizeof(dn));
	/* Label lengths are never touched, even when they look like letters:
	 * a 63-octet label has length byte '?' (0x3f); 'A' (0x41) cannot be a
	 * length, but the bytes of the label can be anything. */
	uint8_t l[66];
	l[0] = 63;
	memset(l + 1, 'Q', 63);
	l[64] = 0;
	rw_dname_lower(l);
	assert_int_equal(l[0], 63);
	for (int i = 1; i <= 63; i++)
		assert_int_equal(l[i], 'q');
	assert_int_equal(l[64], 0);
	uint8_t root[] = { 0 };
	rw_dname_lower(root);
	assert_int_equal(root[0], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unpack_flat),
		cmocka_unit_test(test_unpack_pointers),
		cmocka_unit_test(test_unpack_bad_pointers),
		cmocka_unit_test(test_unpack_lengths),
		cmocka_unit_test(test_unpack_truncated),
		cmocka_unit_test(test_from_str_absolute),
		cmocka_unit_test(test_from_str_escapes),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_to_str),
		cmocka_unit_test(test_from_str_relative),
		cmocka_unit_test(test_from_str_errors),
		cmocka_unit_test(test_len_labels),
		cmocka_unit_test(test_eq),
		cmocka_unit_test(test_is_sub),
		cmocka_unit_test(test_suffix),
		cmocka_unit_test(test_lower),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
