/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the log (src/server/common/log.c): what a client can put
 * into a message (an API path with %0a, a reason from a probed server)
 * must never start a line of its own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/common/log.h"

static void expect_escaped(const char *in, const char *want)
{
	char out[256];
	size_t n = rwd_log_escape(out, sizeof(out), in);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void test_escape(void **state)
{
	expect_escaped("api: GET /v1/zones: 200", "api: GET /v1/zones: 200");
	expect_escaped("a\nb", "a\\x0ab");
	expect_escaped("a\r\nfake: error: x", "a\\x0d\\x0afake: error: x");
	expect_escaped("\t\x1b[31m\x7f", "\\x09\\x1b[31m\\x7f");
	/* UTF-8 stays readable; its line separators and C1 controls do not. */
	expect_escaped("caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac");
	expect_escaped("a\xe2\x80\xa8" "b\xc2\x85" "c", "a\\xe2\\x80\\xa8b\\xc2\\x85c");
	/* Not UTF-8: stray continuation, truncated and overlong sequences, surrogates. */
	expect_escaped("\x80x\xc3", "\\x80x\\xc3");
	expect_escaped("\xc0\xaf", "\\xc0\\xaf");
	expect_escaped("\xed\xa0\x80", "\\xed\\xa0\\x80");
	expect_escaped("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	/* Backslashes are left alone (zone names print \. and \DDD). */
	expect_escaped("a\\.b", "a\\.b");
}

static void test_escape_truncates_whole(void **state)
{
	char out[8];
	/* "ab" + \x0a would need 2 + 4 + NUL = 7: fits; the next one does not. */
	assert_int_equal(rwd_log_escape(out, sizeof(out), "ab\n\n"), 6);
	assert_string_equal(out, "ab\\x0a");
	assert_int_equal(rwd_log_escape(out, 3, "a\xc3\xa9"), 1);   /* no half character */
	assert_string_equal(out, "a");
	assert_int_equal(rwd_log_escape(out, 1, "abc"), 0);
	assert_string_equal(out, "");
}

/* Through rwd_log itself: one message is one line, whatever it holds. */
static void test_one_line_per_message(void **state)
{
	char path[] = "/tmp/test_log.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	rwd_log(RWD_LOG_INFO, "api: POST %s: %d", "/v1/zones/x\n2026-01-01T00:00:00.000Z error: forged", 404);
	rwd_log(RWD_LOG_WARNING, "health: %s", "reason\r\nwith\0hidden");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);

	char buf[1024] = { 0 };
	FILE *f = fdopen(fd, "r");
	rewind(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	unlink(path);
	buf[n] = '\0';
	unsigned lines = 0;
	for (const char *p = buf; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 2);
	assert_non_null(strstr(buf, " info: api: POST /v1/zones/x\\x0a2026-01-01T00:00:00.000Z error: forged: 404\n"));
	assert_non_null(strstr(buf, " warning: health: reason\\x0d\\x0awith\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_truncates_whole),
		cmocka_unit_test(test_one_line_per_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
