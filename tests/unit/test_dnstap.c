/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for dnstap: the dnstap: section of the configuration (defaults,
 * each error with its line), the hand-written protobuf encoder (decoded
 * here field by field with a minimal protobuf reader), and the writer end
 * to end: more frames than a queue's ring holds, through libfstrm to a
 * file, read back with libfstrm's reader; and the writer from its settings
 * alone (struct rwd_dnstap_opts), without a configuration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fstrm.h>

#include "lib/error.h"
#include "server/conf/conf.h"
#include "server/dnstap/dnstap.h"

/* ---- configuration ---- */

#define BASE "zones: []\n"

static struct rwd_conf *load_ok(const char *text)
{
	struct rwd_conf *conf = NULL;
	char err[RWD_CONF_ERRLEN];
	int rc = rwd_conf_load_buf(text, strlen(text), "t.yaml", "/etc/rw", &conf, err);
	if (rc != 0)
		fail_msg("unexpected error: %s", err);
	return conf;
}

static void test_conf_defaults(void **state)
{
	struct rwd_conf *c = load_ok(BASE);
	assert_null(c->dnstap.file);
	assert_null(c->dnstap.socket);
	struct rwd_dnstap *d = (struct rwd_dnstap *)1;
	assert_int_equal(rwd_dnstap_start(&c->dnstap, "v", 2, &d), 0);
	assert_null(d);                                /* no section: off */
	assert_null(rwd_dnstap_queue_take(NULL));
	rwd_conf_free(c);

	c = load_ok(BASE "dnstap:\n  file: q.dnstap\n");
	assert_string_equal(c->dnstap.file, "/etc/rw/q.dnstap");
	assert_null(c->dnstap.socket);
	assert_null(c->dnstap.identity);
	assert_true(c->dnstap.log_queries);
	assert_true(c->dnstap.log_responses);
	struct rwd_conf *c2 = load_ok(BASE "dnstap:\n  socket: /run/c.sock\n  identity: ns1\n"
	                              "  log_queries: false\n");
	assert_string_equal(c2->dnstap.socket, "/run/c.sock");
	assert_string_equal(c2->dnstap.identity, "ns1");
	assert_false(c2->dnstap.log_queries);
	assert_true(c2->dnstap.log_responses);
	assert_false(rwd_dnstap_opts_equal(&c->dnstap, &c2->dnstap));
	assert_true(rwd_dnstap_opts_equal(&c->dnstap, &c->dnstap));
	rwd_conf_free(c2);
	rwd_conf_free(c);
}

static void test_conf_errors(void **state)
{
	static const struct { const char *text, *err; } cases[] = {
		{ BASE "dnstap:\n  file: a\n  socket: b\n",
		  "t.yaml:4: dnstap: give either file or socket, not both" },
		{ BASE "dnstap:\n  identity: x\n", "t.yaml:2: dnstap: needs file or socket" },
		{ BASE "dnstap:\n", "t.yaml:2: dnstap: needs file or socket" },
		{ BASE "dnstap:\n  file: a\n  log_queries: false\n  log_responses: false\n",
		  "t.yaml:4: dnstap: log_queries and log_responses are both false" },
		{ BASE "dnstap:\n  file: a\n  log_queries: maybe\n",
		  "t.yaml:4: dnstap.log_queries: expected a boolean (true or false)" },
		{ BASE "dnstap:\n  file: a\n  bogus: 1\n", "t.yaml:4: unknown key 'bogus' in dnstap" },
		{ BASE "dnstap:\n  socket: /" "0123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789" "0123456789012345678901234567890123456789\n",
		  "t.yaml:3: dnstap.socket: path longer than 107 bytes" },
		{ BASE "dnstap: [1]\n", "t.yaml:2: dnstap: expected a mapping" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rwd_conf *conf = NULL;
		char err[RWD_CONF_ERRLEN];
		int rc = rwd_conf_load_buf(cases[i].text, strlen(cases[i].text), "t.yaml", NULL,
		                           &conf, err);
		if (rc != RW_ECONF || strcmp(err, cases[i].err) != 0)
			fail_msg("case %zu: rc %d, got \"%s\", want \"%s\"", i, rc, err, cases[i].err);
		assert_null(conf);
	}
}

/* ---- a minimal protobuf reader, for checking the encoder ---- */

struct field {
	unsigned num, wire_type;
	uint64_t v;                  /* varint, fixed32 */
	const uint8_t *data;         /* length-delimited */
	size_t len;
};

static uint64_t get_varint(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;
	for (unsigned shift = 0; *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
		assert_true(shift < 63);
	}
	fail_msg("truncated varint");
	return 0;
}

/* All fields of a message, in order; returns how many (at most max). */
static size_t fields(const uint8_t *p, size_t len, struct field *out, size_t max)
{
	const uint8_t *end = p + len;
	size_t n = 0;
	while (p < end) {
		assert_true(n < max);
		uint64_t key = get_varint(&p, end);
		struct field *f = &out[n++];
		memset(f, 0, sizeof(*f));
		f->num = (unsigned)(key >> 3);
		f->wire_type = (unsigned)(key & 7);
		switch (f->wire_type) {
		case 0: f->v = get_varint(&p, end); break;
		case 5:
			assert_true(end - p >= 4);
			f->v = p[0] | p[1] << 8 | p[2] << 16 | (uint64_t)p[3] << 24;
			p += 4;
			break;
		case 2:
			f->len = get_varint(&p, end);
			assert_true((size_t)(end - p) >= f->len);
			f->data = p;
			p += f->len;
			break;
		default: fail_msg("wire type %u", f->wire_type);
		}
	}
	assert_true(p == end);
	return n;
}

static const struct field *field(const struct field *v, size_t n, unsigned num)
{
	const struct field *found = NULL;
	for (size_t i = 0; i < n; i++)
		if (v[i].num == num) {
			assert_null(found);      /* each field once */
			found = &v[i];
		}
	return found;
}

static const uint8_t QUERY[] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                                 3, 'w', 'w', 'w', 0, 0, 1, 0, 1 };
static uint8_t RESPONSE[3000];

static void make_msg(struct rwd_dnstap_msg *m, struct sockaddr_in6 *client,
                     struct sockaddr_in6 *server, bool tcp, size_t response_len)
{
	memset(client, 0, sizeof(*client));
	memset(server, 0, sizeof(*server));
	client->sin6_family = server->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::7", &client->sin6_addr);
	inet_pton(AF_INET6, "2001:db8::53", &server->sin6_addr);
	client->sin6_port = htons(40000);
	server->sin6_port = htons(53);
	for (size_t i = 0; i < sizeof(RESPONSE); i++)
		RESPONSE[i] = (uint8_t)i;
	*m = (struct rwd_dnstap_msg){
		.tcp = tcp, .client = (struct sockaddr *)client, .server = (struct sockaddr *)server,
		.query_time = { .tv_sec = 1700000000, .tv_nsec = 123456789 },
		.query = QUERY, .query_len = sizeof(QUERY),
		.response = RESPONSE, .response_len = response_len,
	};
}

static void test_encode(void **state)
{
	struct sockaddr_in6 client, server;
	struct rwd_dnstap_msg m;
	make_msg(&m, &client, &server, true, 300);
	struct timespec rtime = { .tv_sec = 1700000001, .tv_nsec = 5 };
	uint8_t buf[4096];
	size_t len;
	struct field top[8], msg[20];

	/* AUTH_QUERY */
	uint8_t *frame = rwd_dnstap_encode(buf, sizeof(buf), 1, "ns1", "runwayd 9", &m, NULL, &len);
	assert_non_null(frame);
	size_t n = fields(frame, len, top, 8);
	assert_int_equal(n, 4);
	assert_int_equal(field(top, n, 1)->len, 3);
	assert_memory_equal(field(top, n, 1)->data, "ns1", 3);
	assert_memory_equal(field(top, n, 2)->data, "runwayd 9", 9);
	assert_int_equal(field(top, n, 15)->v, 1);                   /* MESSAGE */
	const struct field *inner = field(top, n, 14);
	size_t k = fields(inner->data, inner->len, msg, 20);
	assert_int_equal(field(msg, k, 1)->v, 1);                    /* AUTH_QUERY */
	assert_int_equal(field(msg, k, 2)->v, 2);                    /* INET6 */
	assert_int_equal(field(msg, k, 3)->v, 2);                    /* TCP */
	assert_int_equal(field(msg, k, 4)->len, 16);
	assert_memory_equal(field(msg, k, 4)->data, &client.sin6_addr, 16);
	assert_memory_equal(field(msg, k, 5)->data, &server.sin6_addr, 16);
	assert_int_equal(field(msg, k, 6)->v, 40000);
	assert_int_equal(field(msg, k, 7)->v, 53);
	assert_int_equal(field(msg, k, 8)->v, 1700000000);
	assert_int_equal(field(msg, k, 9)->wire_type, 5);
	assert_int_equal(field(msg, k, 9)->v, 123456789);
	assert_int_equal(field(msg, k, 10)->len, sizeof(QUERY));
	assert_memory_equal(field(msg, k, 10)->data, QUERY, sizeof(QUERY));
	assert_null(field(msg, k, 12));
	assert_null(field(msg, k, 14));

	/* AUTH_RESPONSE over UDP/IPv4, no identity: a 2-byte length varint inside */
	struct sockaddr_in c4 = { .sin_family = AF_INET, .sin_port = htons(5) };
	inet_pton(AF_INET, "192.0.2.1", &c4.sin_addr);
	m.client = (struct sockaddr *)&c4;
	m.server = NULL;
	m.tcp = false;
	frame = rwd_dnstap_encode(buf, sizeof(buf), 2, NULL, NULL, &m, &rtime, &len);
	assert_non_null(frame);
	n = fields(frame, len, top, 8);
	assert_int_equal(n, 2);
	assert_null(field(top, n, 1));
	inner = field(top, n, 14);
	k = fields(inner->data, inner->len, msg, 20);
	assert_int_equal(field(msg, k, 1)->v, 2);                    /* AUTH_RESPONSE */
	assert_int_equal(field(msg, k, 2)->v, 1);                    /* INET */
	assert_int_equal(field(msg, k, 3)->v, 1);                    /* UDP */
	assert_int_equal(field(msg, k, 4)->len, 4);
	assert_memory_equal(field(msg, k, 4)->data, &c4.sin_addr, 4);
	assert_int_equal(field(msg, k, 6)->v, 5);
	assert_null(field(msg, k, 5));
	assert_null(field(msg, k, 7));
	assert_null(field(msg, k, 10));
	assert_int_equal(field(msg, k, 12)->v, 1700000001);
	assert_int_equal(field(msg, k, 13)->v, 5);
	assert_int_equal(field(msg, k, 14)->len, 300);
	assert_memory_equal(field(msg, k, 14)->data, RESPONSE, 300);

	/* too small a buffer: NULL, nothing written past it */
	assert_null(rwd_dnstap_encode(buf, 200, 2, NULL, NULL, &m, &rtime, &len));
}

/* ---- the writer, end to end ---- */

/* Check one frame read back: identity, and a DNS message of the pattern make_msg() gives. */
static size_t check_frame(const uint8_t *data, size_t len, uint64_t *response_len)
{
	struct field top[8], msg[20];
	size_t n = fields(data, len, top, 8);
	assert_memory_equal(field(top, n, 1)->data, "unit", 4);
	const struct field *inner = field(top, n, 14);
	size_t k = fields(inner->data, inner->len, msg, 20);
	const struct field *q = field(msg, k, 10), *r = field(msg, k, 14);
	assert_true((q == NULL) != (r == NULL));
	if (q) {
		assert_int_equal(field(msg, k, 1)->v, 1);
		assert_int_equal(q->len, sizeof(QUERY));
		assert_memory_equal(q->data, QUERY, sizeof(QUERY));
		*response_len = 0;
	} else {
		assert_int_equal(field(msg, k, 1)->v, 2);
		assert_memory_equal(r->data, RESPONSE, r->len);
		*response_len = r->len;
	}
	return 1;
}

/*
 * Through libfstrm to a file and back, twice: paced (the writer keeps up),
 * then a flood of frames of many sizes (up to 3000 bytes) with no pause, so
 * rings wrap, fill and drop. Every frame written must come back intact.
 */
static void test_writer_file(void **state)
{
	char dir[] = "/tmp/test_dnstap.XXXXXX", path[64], yaml[128];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/q.dnstap", dir);
	snprintf(yaml, sizeof(yaml), BASE "dnstap:\n  file: %s\n  identity: unit\n", path);
	struct rwd_conf *conf = load_ok(yaml);
	struct rwd_dnstap *d = NULL;
	assert_int_equal(rwd_dnstap_start(&conf->dnstap, "runwayd test", 2, &d), 0);
	assert_non_null(d);
	struct rwd_dnstap_queue *q1 = rwd_dnstap_queue_take(d);
	struct rwd_dnstap_queue *q2 = rwd_dnstap_queue_take(d);
	assert_non_null(q1);
	assert_non_null(q2);
	assert_null(rwd_dnstap_queue_take(d));       /* only 2 */

	struct sockaddr_in6 client, server;
	struct rwd_dnstap_msg m;
	enum { PACED = 3000, FLOOD = 30000 };
	for (int i = 0; i < PACED + FLOOD; i++) {
		size_t rlen = i < PACED ? (i % 100 == 0 ? sizeof(RESPONSE) : 100)
		                        : 12 + (size_t)i * 37 % (sizeof(RESPONSE) - 12);
		make_msg(&m, &client, &server, i % 2, rlen);
		rwd_dnstap_log(i % 3 ? q1 : q2, &m);
		/* Load shaping, not synchronisation: the paced phase is a
		 * producer with gaps, as real traffic has, against the flood
		 * after it. Nothing waits on it and no assertion depends on its
		 * length (every frame is counted written or dropped, and every
		 * written one must come back, whatever the pacing), and there
		 * is nothing to poll for: libfstrm's thread wakes on its own,
		 * at half a queue or after a second. */
		if (i < PACED && i % 256 == 255)
			usleep(20000);
	}
	uint64_t written, dropped;
	rwd_dnstap_counts(d, &written, &dropped);
	assert_int_equal(written + dropped, 2 * (PACED + FLOOD));
	rwd_dnstap_stop(d);
	rwd_conf_free(conf);

	struct fstrm_file_options *fopt = fstrm_file_options_init();
	fstrm_file_options_set_file_path(fopt, path);
	struct fstrm_reader *r = fstrm_file_reader_init(fopt, NULL);
	fstrm_file_options_destroy(&fopt);
	assert_non_null(r);
	const uint8_t *data;
	size_t len, frames = 0, big = 0;
	uint64_t rlen;
	while (fstrm_reader_read(r, &data, &len) == fstrm_res_success) {
		frames += check_frame(data, len, &rlen);
		big += rlen > 1500;
	}
	const struct fstrm_control *start;
	assert_int_equal(fstrm_reader_get_control(r, FSTRM_CONTROL_START, &start), fstrm_res_success);
	assert_int_equal(fstrm_control_match_field_content_type(
	                     start, (const uint8_t *)"protobuf:dnstap.Dnstap", 22),
	                 fstrm_res_success);
	fstrm_reader_destroy(&r);
	print_message("%zu frames written, %llu dropped, %zu over 1500 bytes\n", frames,
	              (unsigned long long)dropped, big);
	assert_int_equal(frames, written);
	assert_true(big > 0);
	unlink(path);
	rmdir(dir);
}

/*
 * The writer from settings alone, no configuration: only responses logged
 * (log_queries false), and the writer keeps no pointer into the settings
 * (conf frees them at a reload while the writer runs): the strings are
 * overwritten after the start and the frames still carry the identity.
 */
static void test_opts_alone(void **state)
{
	char dir[] = "/tmp/test_dnstap.XXXXXX", path[64], identity[8] = "unit";
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.dnstap", dir);
	struct rwd_dnstap_opts opts = { .file = path, .identity = identity,
	                                .log_queries = false, .log_responses = true };
	struct rwd_dnstap *d = NULL;
	assert_int_equal(rwd_dnstap_start(&opts, "v", 1, &d), 0);
	assert_non_null(d);
	memset(identity, 'x', sizeof(identity) - 1);
	memset(path, 'x', sizeof(path) - 1);
	struct rwd_dnstap_queue *q = rwd_dnstap_queue_take(d);
	assert_non_null(q);
	struct sockaddr_in6 client, server;
	struct rwd_dnstap_msg m;
	enum { N = 5 };
	for (int i = 0; i < N; i++) {
		make_msg(&m, &client, &server, false, 100);
		rwd_dnstap_log(q, &m);
	}
	uint64_t written, dropped;
	rwd_dnstap_counts(d, &written, &dropped);
	assert_int_equal(written, N);                  /* one frame each: no AUTH_QUERY */
	rwd_dnstap_stop(d);

	snprintf(path, sizeof(path), "%s/r.dnstap", dir);
	struct fstrm_file_options *fopt = fstrm_file_options_init();
	fstrm_file_options_set_file_path(fopt, path);
	struct fstrm_reader *r = fstrm_file_reader_init(fopt, NULL);
	fstrm_file_options_destroy(&fopt);
	assert_non_null(r);
	const uint8_t *data;
	size_t len, frames = 0;
	uint64_t rlen;
	while (fstrm_reader_read(r, &data, &len) == fstrm_res_success) {
		frames += check_frame(data, len, &rlen);   /* identity "unit" */
		assert_int_equal(rlen, 100);               /* a response */
	}
	fstrm_reader_destroy(&r);
	assert_int_equal(frames, N);
	unlink(path);
	rmdir(dir);

	/* Off without an output; settings differ by any one field. */
	struct rwd_dnstap_opts off = { .log_queries = true, .log_responses = true };
	d = (struct rwd_dnstap *)1;
	assert_int_equal(rwd_dnstap_start(&off, "v", 1, &d), 0);
	assert_null(d);
	struct rwd_dnstap_opts a = { .file = "f", .identity = "i", .log_queries = true,
	                             .log_responses = true }, b = a;
	char f2[] = "f";
	b.file = f2;                                   /* same text, another pointer */
	assert_true(rwd_dnstap_opts_equal(&a, &b));
	b.file = NULL, b.socket = "f";
	assert_false(rwd_dnstap_opts_equal(&a, &b));
	b = a, b.identity = NULL;
	assert_false(rwd_dnstap_opts_equal(&a, &b));
	b = a, b.log_queries = false;
	assert_false(rwd_dnstap_opts_equal(&a, &b));
	b = a, b.log_responses = false;
	assert_false(rwd_dnstap_opts_equal(&a, &b));
}

static void test_unwritable_file(void **state)
{
	struct rwd_conf *conf = load_ok(BASE "dnstap:\n  file: /nonexistent-dir/q.dnstap\n");
	struct rwd_dnstap *d = NULL;
	assert_int_equal(rwd_dnstap_start(&conf->dnstap, "v", 1, &d), RW_EIO);
	assert_null(d);
	rwd_conf_free(conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_defaults),
		cmocka_unit_test(test_conf_errors),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_writer_file),
		cmocka_unit_test(test_opts_alone),
		cmocka_unit_test(test_unwritable_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
