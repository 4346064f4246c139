/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * runway query NAME [TYPE] [CLASS] [@SERVER] [OPTIONS]: send one query and
 * print the response the way dig does.
 *
 * The query is built with runway's own protocol library (rw_msgbuilder);
 * the response is parsed and printed with libknot (knot_pkt_parse,
 * knot_rrset_txt_dump), an independent implementation, so the tool does not
 * share runwayd's blind spots. Over UDP a truncated (TC=1) answer is asked
 * again over TCP. Exit status: 0 a response was received (whatever its
 * rcode), 1 none (timeout, refused, malformed), 2 usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libknot/libknot.h>
#include <openssl/evp.h>

#include "lib/dname.h"
#include "lib/pkt.h"
#include "lib/error.h"
#include "lib/wire.h"
#include "server/common/tsig.h"
#include "tools/runway/cmd.h"
#include "tools/runway/key.h"

#define DEFAULT_TIMEOUT_MS 2000
#define QUERY_MAX 512                   /* our query, TSIG included */

struct qopts {
	const char *name;
	uint16_t qtype, qclass;
	const char *server;
	uint16_t port;
	bool tcp, norec, dnssec, nsid, noedns;
	uint16_t bufsize;
	unsigned timeout_ms;
	bool ecs;                       /* --subnet: EDNS Client Subnet (RFC 7871) */
	uint8_t ecs_family;             /* 1 IPv4, 2 IPv6 */
	uint8_t ecs_source;             /* source prefix length */
	uint8_t ecs_addr[16];
	uint32_t ixfr_serial;           /* IXFR=SERIAL: the version we have */
	char server_buf[300];           /* @SERVER#PORT: the SERVER part */
	bool tsig;                      /* -y or --key-file: sign, check the answers */
	struct key_text key;
};

/* The TSIG key of -y / --key-file (common/tsig.h, libknot underneath). */
static struct rwd_tsig_keyring keyring;

static bool is_xfr(const struct qopts *o)
{
	return o->qtype == KNOT_RRTYPE_AXFR || o->qtype == KNOT_RRTYPE_IXFR;
}

/* Where we send: the resolved address and how it is shown ("::1#53"). */
struct peer {
	struct sockaddr_storage addr;
	socklen_t len;
	char text[INET6_ADDRSTRLEN + 8];
};

__attribute__((format(printf, 1, 2)))
static int fail(const char *fmt, ...)
{
	va_list ap;
	fputs("runway query: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: runway query NAME [TYPE] [CLASS] [@SERVER[#PORT]] [OPTIONS]\n\n"
	        "Send one DNS query and print the response like dig.\n"
	        "TYPE is a mnemonic (A, MX, ...) or TYPEnnn, default A; CLASS default IN.\n"
	        "AXFR, or IXFR=SERIAL, transfers the zone NAME over TCP and prints every\n"
	        "record, one a line, then the record and message counts.\n"
	        "SERVER is an IPv4 or IPv6 address (or a host name), default 127.0.0.1.\n\n"
	        "  -p, --port PORT    server port (default 53)\n"
	        "      --tcp          use TCP (default: UDP, then TCP if the answer is truncated)\n"
	        "      --norec        do not set RD (recursion desired)\n"
	        "      --dnssec       set the DO bit (DNSSEC OK)\n"
	        "      --nsid         ask for the server's NSID (RFC 5001)\n"
	        "      --bufsize N    EDNS UDP payload size to advertise (default 1232)\n"
	        "      --noedns       send no OPT record\n"
	        "      --subnet NET   EDNS Client Subnet: ask as a client in NET (203.0.113.0/24,\n"
	        "                     2001:db8::/56, or an address: /32, /128)\n"
	        "      --timeout MS   give up after MS milliseconds (default %d; a transfer:\n"
	        "                     for each message)\n"
	        "  -y [ALG:]NAME:SECRET  sign the query with this TSIG key (RFC 8945) and check\n"
	        "                     the answer's signature (ALG default hmac-sha256)\n"
	        "  -k, --key-file FILE   the same with the key in FILE (runway key generate's\n"
	        "                     output in any format, tsig-keygen's, ALG:NAME:SECRET)\n"
	        "  -h, --help         show this help\n\n"
	        "Exit status: 0 a response was received (any rcode), 1 no response (or a\n"
	        "transfer that did not complete), 2 usage error.\n",
	        DEFAULT_TIMEOUT_MS);
}

static bool parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Milliseconds left until deadline (us), at least 0. */
static int ms_left(uint64_t deadline)
{
	uint64_t now = now_us();
	return now >= deadline ? 0 : (int)((deadline - now + 999) / 1000);
}

enum { OPT_KEYFILE = 'k', OPT_TCP = 256, OPT_NOREC, OPT_DNSSEC, OPT_NSID, OPT_BUFSIZE, OPT_NOEDNS, OPT_TIMEOUT,
       OPT_SUBNET };

/* "ADDR/LEN" or "ADDR" into o's ECS fields; host bits beyond LEN are cleared. */
static bool parse_subnet(const char *text, struct qopts *o)
{
	char buf[INET6_ADDRSTRLEN + 8];
	size_t n = strlen(text);
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, text, n + 1);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(o->ecs_addr, 0, sizeof(o->ecs_addr));
	unsigned max;
	if (inet_pton(AF_INET, buf, o->ecs_addr) == 1) {
		o->ecs_family = 1;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, o->ecs_addr) == 1) {
		o->ecs_family = 2;
		max = 128;
	} else {
		return false;
	}
	unsigned long len = max;
	if (slash && !parse_uint(slash + 1, 0, max, &len))
		return false;
	for (unsigned bit = (unsigned)len; bit < 128; bit++)
		o->ecs_addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	o->ecs_source = (uint8_t)len;
	o->ecs = true;
	return true;
}

/* 0 ok, 2 usage error (already reported), -1 help shown. */
static int parse_args(int argc, char **argv, struct qopts *o)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "tcp", no_argument, NULL, OPT_TCP },
		{ "norec", no_argument, NULL, OPT_NOREC },
		{ "dnssec", no_argument, NULL, OPT_DNSSEC },
		{ "nsid", no_argument, NULL, OPT_NSID },
		{ "bufsize", required_argument, NULL, OPT_BUFSIZE },
		{ "noedns", no_argument, NULL, OPT_NOEDNS },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "subnet", required_argument, NULL, OPT_SUBNET },
		{ "key-file", required_argument, NULL, OPT_KEYFILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct qopts){ .qtype = KNOT_RRTYPE_A, .qclass = KNOT_CLASS_IN, .server = "127.0.0.1",
	                     .port = 53, .bufsize = RW_EDNS_DEFAULT_MAX,
	                     .timeout_ms = DEFAULT_TIMEOUT_MS };
	unsigned long v;
	int c;
	optind = 0;
	char err[512];
	while ((c = getopt_long(argc, argv, "p:hy:k:", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_uint(optarg, 1, 65535, &v)) {
				fail("bad port '%s' (1..65535)", optarg);
				return 2;
			}
			o->port = (uint16_t)v;
			break;
		case OPT_TCP: o->tcp = true; break;
		case OPT_NOREC: o->norec = true; break;
		case OPT_DNSSEC: o->dnssec = true; break;
		case OPT_NSID: o->nsid = true; break;
		case OPT_NOEDNS: o->noedns = true; break;
		case OPT_BUFSIZE:
			if (!parse_uint(optarg, 0, 65535, &v)) {
				fail("bad --bufsize '%s' (0..65535)", optarg);
				return 2;
			}
			o->bufsize = (uint16_t)v;
			break;
		case OPT_TIMEOUT:
			if (!parse_uint(optarg, 1, 3600000, &v)) {
				fail("bad --timeout '%s' (milliseconds, 1..3600000)", optarg);
				return 2;
			}
			o->timeout_ms = (unsigned)v;
			break;
		case OPT_SUBNET:
			if (!parse_subnet(optarg, o)) {
				fail("bad --subnet '%s' (expected ADDRESS/LEN, e.g. 203.0.113.0/24)", optarg);
				return 2;
			}
			break;
		case 'y':
			if (!key_parse_y(optarg, &o->key, err, sizeof(err))) {
				fail("-y: %s", err);
				return 2;
			}
			o->tsig = true;
			break;
		case OPT_KEYFILE:
			if (!key_parse_file(optarg, &o->key, err, sizeof(err))) {
				fail("%s", err);
				return 2;
			}
			o->tsig = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return 2;
		}
	}
	bool have_type = false, have_class = false;
	for (int i = optind; i < argc; i++) {
		const char *a = argv[i];
		uint16_t num;
		if (a[0] == '@' && a[1]) {
			/* @SERVER#PORT (dig's and kdig's form); '#' is in no address */
			snprintf(o->server_buf, sizeof(o->server_buf), "%s", a + 1);
			o->server = o->server_buf;
			char *hash = strchr(o->server_buf, '#');
			if (hash) {
				*hash = '\0';
				if (!parse_uint(hash + 1, 1, 65535, &v) || hash == o->server_buf) {
					fail("bad server '%s' (@ADDRESS or @ADDRESS#PORT, port 1..65535)", a);
					return 2;
				}
				o->port = (uint16_t)v;
			}
		} else if (o->name == NULL) {
			o->name = a;
		} else if (!have_type && strncasecmp(a, "IXFR=", 5) == 0) {
			if (!parse_uint(a + 5, 0, UINT32_MAX, &v)) {
				fail("bad serial in '%s' (IXFR=SERIAL, 0..4294967295)", a);
				return 2;
			}
			o->qtype = KNOT_RRTYPE_IXFR;
			o->ixfr_serial = (uint32_t)v;
			have_type = true;
		} else if (!have_type && strcasecmp(a, "IXFR") == 0) {
			fail("IXFR needs the serial the transfer starts from: IXFR=SERIAL");
			return 2;
		} else if (!have_type && knot_rrtype_from_string(a, &num) == 0) {
			o->qtype = num;
			have_type = true;
		} else if (!have_class && knot_rrclass_from_string(a, &num) == 0) {
			o->qclass = num;
			have_class = true;
		} else {
			fail(have_type ? "unexpected argument '%s'" : "unknown type '%s'", a);
			return 2;
		}
	}
	if (o->name == NULL) {
		fail("which name? (runway query NAME [TYPE] [@SERVER])");
		return 2;
	}
	if (is_xfr(o) && o->qclass != KNOT_CLASS_IN) {
		fail("transfers are of class IN");
		return 2;
	}
	if (o->noedns && (o->dnssec || o->nsid || o->ecs)) {
		fail("--%s needs EDNS: drop --noedns", o->dnssec ? "dnssec" : o->nsid ? "nsid" : "subnet");
		return 2;
	}
	return 0;
}

static int resolve(const struct qopts *o, struct peer *p)
{
	char host[256];
	const char *h = o->server;
	size_t hl = strlen(h);
	if (h[0] == '[' && hl > 2 && h[hl - 1] == ']') {   /* @[::1] */
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return fail("server name too long");
	memcpy(host, h, hl);
	host[hl] = '\0';

	char port[8];
	snprintf(port, sizeof(port), "%u", o->port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
	                          .ai_flags = AI_NUMERICSERV }, *res;
	int r = getaddrinfo(host, port, &hints, &res);
	if (r != 0)
		return fail("cannot resolve server '%s': %s", host, gai_strerror(r));
	memcpy(&p->addr, res->ai_addr, res->ai_addrlen);
	p->len = res->ai_addrlen;
	freeaddrinfo(res);

	char a[INET6_ADDRSTRLEN];
	const void *in = p->addr.ss_family == AF_INET6
	                 ? (const void *)&((struct sockaddr_in6 *)&p->addr)->sin6_addr
	                 : (const void *)&((struct sockaddr_in *)&p->addr)->sin_addr;
	inet_ntop(p->addr.ss_family, in, a, sizeof(a));
	snprintf(p->text, sizeof(p->text), "%s#%u", a, o->port);
	return 0;
}

/* Build the query into buf; its length, or 0 after reporting an error. */
static size_t build_query(const struct qopts *o, uint16_t id, uint8_t *buf, size_t cap)
{
	uint8_t qname[RW_DNAME_MAXLEN];
	static const uint8_t root[1] = { 0 };
	if (rw_dname_from_str(o->name, root, qname) < 0) {
		fail("bad name '%s'", o->name);
		return 0;
	}
	struct rw_msgbuilder b;
	if (rw_msgb_init(&b, buf, cap, id, qname, o->qtype, o->qclass, true) < 0) {
		fail("query does not fit");
		return 0;
	}
	if (!o->norec && !is_xfr(o))       /* a transfer is never recursive */
		buf[2] |= RW_FLAG_RD;
	if (o->qtype == KNOT_RRTYPE_IXFR) {
		/* RFC 1995 3: the version we have, as a SOA in the authority
		 * section (only the serial counts: the names are the root) */
		rw_put16(buf + RW_HDR_NSCOUNT, 1);
		rw_msgb_put_qname_ptr(&b);
		rw_msgb_put16(&b, KNOT_RRTYPE_SOA);
		rw_msgb_put16(&b, KNOT_CLASS_IN);
		rw_msgb_put32(&b, 0);
		rw_msgb_put16(&b, 22);
		static const uint8_t roots[2] = { 0, 0 };
		rw_msgb_put(&b, roots, 2);
		rw_msgb_put32(&b, o->ixfr_serial);
		for (int i = 0; i < 4; i++)
			rw_msgb_put32(&b, 0);
	}
	if (!o->noedns) {
		rw_put16(buf + RW_HDR_ARCOUNT, 1);
		size_t at = rw_msgb_put_opt(&b, o->bufsize, 0, o->dnssec);
		if (o->nsid) {
			rw_msgb_put16(&b, RW_EDNS_NSID);
			rw_msgb_put16(&b, 0);
		}
		if (o->ecs) {                   /* RFC 7871 6: family, source, scope 0, address */
			unsigned alen = (o->ecs_source + 7u) / 8u;
			rw_msgb_put16(&b, RW_EDNS_ECS);
			rw_msgb_put16(&b, (uint16_t)(4 + alen));
			rw_msgb_put16(&b, o->ecs_family);
			uint8_t pfx[2] = { o->ecs_source, 0 };
			rw_msgb_put(&b, pfx, 2);
			rw_msgb_put(&b, o->ecs_addr, alen);
		}
		if (!b.overflow)
			rw_put16(buf + at, (uint16_t)(b.len - at - 2));
	}
	if (b.overflow) {
		fail("query does not fit");
		return 0;
	}
	return b.len;
}

/* ---- transports: 0 and *resp_len set, or 1 after reporting ---- */

static int udp_exchange(const struct qopts *o, const struct peer *p, const uint8_t *q, size_t qlen,
                        uint8_t *resp, size_t *resp_len)
{
	int fd = socket(p->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket: %s", strerror(errno));
	int rc = 1;
	uint64_t deadline = now_us() + (uint64_t)o->timeout_ms * 1000;
	/* connect: replies from elsewhere are filtered, ICMP errors reported */
	if (connect(fd, (const struct sockaddr *)&p->addr, p->len) < 0) {
		fail("cannot reach %s (UDP): %s", p->text, strerror(errno));
		goto out;
	}
	if (send(fd, q, qlen, 0) < 0) {
		fail("cannot send to %s (UDP): %s", p->text, strerror(errno));
		goto out;
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int left = ms_left(deadline);
		int r = left > 0 ? poll(&pfd, 1, left) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fail("timeout after %u ms talking to %s (UDP)", o->timeout_ms, p->text);
			goto out;
		}
		ssize_t n = recv(fd, resp, RW_MSG_MAXLEN, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ECONNREFUSED)
				fail("connection refused by %s (UDP): no DNS server there?", p->text);
			else
				fail("cannot receive from %s (UDP): %s", p->text, strerror(errno));
			goto out;
		}
		if (n < RW_HDR_LEN || rw_get16(resp) != rw_get16(q) || !(resp[2] & RW_FLAG_QR)) {
			printf(";; WARNING: ignoring a %zd-byte datagram that is not our answer\n", n);
			continue;
		}
		*resp_len = (size_t)n;
		rc = 0;
		goto out;
	}
out:
	close(fd);
	return rc;
}

/* Wait for events on fd until deadline; 1 ready, 0 timeout. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		int left = ms_left(deadline);
		if (left == 0)
			return 0;
		int r = poll(&pfd, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		return r > 0;
	}
}

/* Connect to p over TCP and send the query framed (RFC 7766); the socket
 * (non-blocking), or -1 after reporting. */
static int tcp_open(const struct qopts *o, const struct peer *p, const uint8_t *q, size_t qlen,
                    uint64_t deadline)
{
	int fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail("socket: %s", strerror(errno));
		return -1;
	}
	int err = 0;
	socklen_t elen = sizeof(err);
	if (connect(fd, (const struct sockaddr *)&p->addr, p->len) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
		} else if (!wait_fd(fd, POLLOUT, deadline)) {
			fail("timeout after %u ms connecting to %s (TCP)", o->timeout_ms, p->text);
			goto fail;
		} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0) {
			err = errno;
		}
	}
	if (err) {
		if (err == ECONNREFUSED)
			fail("connection refused by %s (TCP): no DNS server there?", p->text);
		else
			fail("cannot connect to %s (TCP): %s", p->text, strerror(err));
		goto fail;
	}

	uint8_t out[2 + QUERY_MAX];
	rw_put16(out, (uint16_t)qlen);
	memcpy(out + 2, q, qlen);
	for (size_t off = 0; off < qlen + 2;) {
		ssize_t n = send(fd, out + off, qlen + 2 - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (!wait_fd(fd, POLLOUT, deadline)) {
				fail("timeout after %u ms talking to %s (TCP)", o->timeout_ms, p->text);
				goto fail;
			}
		} else {
			fail("cannot send to %s (TCP): %s", p->text, strerror(errno));
			goto fail;
		}
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* Read one framed message of at most RW_MSG_MAXLEN bytes into resp (the
 * length prefix, then the message). 0 with *resp_len set; 1 after
 * reporting; -1 when the peer closed the connection before a message
 * began (reported by the caller, which knows whether that is an error). */
static int tcp_read(const struct qopts *o, const struct peer *p, int fd, uint64_t deadline,
                    uint8_t *resp, size_t *resp_len)
{
	uint8_t pfx[2];
	size_t want = 2, got = 0;
	uint8_t *dst = pfx;
	for (;;) {
		if (got == want) {
			if (dst == resp)
				break;
			want = rw_get16(pfx);
			got = 0;
			dst = resp;
			if (want == 0)
				break;
			continue;
		}
		ssize_t n = recv(fd, dst + got, want - got, 0);
		if (n > 0) {
			got += (size_t)n;
		} else if (n == 0) {
			if (dst == pfx && got == 0)
				return -1;
			return fail("%s closed the connection in the middle of a message (TCP)", p->text);
		} else if (errno == EAGAIN || errno == EINTR) {
			if (!wait_fd(fd, POLLIN, deadline))
				return fail("timeout after %u ms talking to %s (TCP)", o->timeout_ms, p->text);
		} else {
			return fail("cannot receive from %s (TCP): %s", p->text, strerror(errno));
		}
	}
	if (want < RW_HDR_LEN)
		return fail("%zu-byte answer from %s (TCP): shorter than a DNS header", want, p->text);
	*resp_len = want;
	return 0;
}

static int tcp_exchange(const struct qopts *o, const struct peer *p, const uint8_t *q, size_t qlen,
                        uint8_t *resp, size_t *resp_len)
{
	uint64_t deadline = now_us() + (uint64_t)o->timeout_ms * 1000;
	int fd = tcp_open(o, p, q, qlen, deadline);
	if (fd < 0)
		return 1;
	int rc = tcp_read(o, p, fd, deadline, resp, resp_len);
	close(fd);
	if (rc < 0)
		return fail("%s closed the connection without a complete answer (TCP)", p->text);
	if (rc)
		return rc;
	if (rw_get16(resp) != rw_get16(q))
		return fail("answer id %u from %s does not match query id %u (TCP)", rw_get16(resp),
		            p->text, rw_get16(q));
	return 0;
}

/* ---- printing ---- */

static void print_hex_text(const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%s%02x", i ? " " : "", d[i]);
	printf(" (\"");
	for (size_t i = 0; i < n; i++)
		putchar(d[i] >= 0x20 && d[i] < 0x7f ? d[i] : '.');
	printf("\")");
}

static void print_opt(const knot_rrset_t *opt)
{
	printf(";; OPT PSEUDOSECTION:\n");
	printf("; EDNS: version: %u, flags:%s; udp: %u\n", knot_edns_get_version(opt),
	       knot_edns_do(opt) ? " do" : "", knot_edns_get_payload(opt));
	if (opt->rrs.count == 0)
		return;
	const uint8_t *d = opt->rrs.rdata->data;
	size_t len = opt->rrs.rdata->len;
	while (len >= 4) {
		uint16_t code = rw_get16(d), olen = rw_get16(d + 2);
		d += 4;
		len -= 4;
		if (olen > len) {
			printf("; WARNING: option %u runs past the end of OPT\n", code);
			return;
		}
		switch (code) {
		case KNOT_EDNS_OPTION_NSID:
			printf("; NSID: ");
			print_hex_text(d, olen);
			putchar('\n');
			break;
		case KNOT_EDNS_OPTION_CLIENT_SUBNET:
			if (olen >= 4 && (rw_get16(d) == 1 || rw_get16(d) == 2)) {
				uint8_t a[16] = { 0 };
				size_t alen = olen - 4u;
				memcpy(a, d + 4, alen > 16 ? 16 : alen);
				char text[INET6_ADDRSTRLEN];
				inet_ntop(rw_get16(d) == 1 ? AF_INET : AF_INET6, a, text, sizeof(text));
				printf("; CLIENT-SUBNET: %s/%u/%u\n", text, d[2], d[3]);
			} else {
				printf("; CLIENT-SUBNET: ");
				print_hex_text(d, olen);
				putchar('\n');
			}
			break;
		case KNOT_EDNS_OPTION_EDE:
			if (olen >= 2) {
				const knot_lookup_t *e = knot_lookup_by_id(knot_edns_ede_names, rw_get16(d));
				printf("; EDE: %u (%s)", rw_get16(d), e ? e->name : "unknown");
				if (olen > 2)
					printf(": (%.*s)", (int)(olen - 2), (const char *)d + 2);
				putchar('\n');
				break;
			}
			/* fall through */
		default:
			if (code == KNOT_EDNS_OPTION_COOKIE)
				printf("; COOKIE: ");
			else
				printf("; OPT=%u: ", code);
			print_hex_text(d, olen);
			putchar('\n');
			break;
		}
		d += olen;
		len -= olen;
	}
}

static void print_section(const knot_pkt_t *pkt, knot_section_t id, const char *title)
{
	const knot_pktsection_t *s = knot_pkt_section(pkt, id);
	knot_dump_style_t style = KNOT_DUMP_STYLE_DEFAULT;
	style.show_class = true;            /* like dig */
	bool any = false;
	size_t size = 1024;                 /* knot_rrset_txt_dump grows it as needed */
	char *buf = malloc(size);
	if (buf == NULL) {
		printf(";; out of memory\n");
		return;
	}
	for (uint16_t i = 0; i < s->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(s, i);
		if (rr->type == KNOT_RRTYPE_OPT)
			continue;
		if (!any) {
			printf("\n;; %s SECTION:\n", title);
			any = true;
		}
		if (knot_rrset_txt_dump(rr, &buf, &size, &style) < 0) {
			char owner[KNOT_DNAME_TXT_MAXLEN + 1] = "?";
			knot_dname_to_str(owner, rr->owner, sizeof(owner));
			printf(";; cannot print a record of type %u at %s\n", rr->type, owner);
			continue;
		}
		fputs(buf, stdout);
	}
	free(buf);
}

/* The header's rcode, extended by OPT's (RFC 6891 6.1.3), as dig shows
 * it; knot_pkt_ext_rcode() would give a TSIG error instead. */
static unsigned msg_rcode(const knot_pkt_t *pkt, const uint8_t *wire)
{
	unsigned rcode = wire[3] & 0x0fu;
	if (pkt->opt_rr)
		rcode |= (unsigned)knot_edns_get_ext_rcode(pkt->opt_rr) << 4;
	return rcode;
}

static const char *rcode_name(unsigned rc, char *buf, size_t size)
{
	const knot_lookup_t *l = knot_lookup_by_id(knot_rcode_names, (int)rc);
	if (l)
		return l->name;
	snprintf(buf, size, "RCODE%u", rc);
	return buf;
}

static int print_response(const struct qopts *o, const struct peer *p, bool tcp, uint8_t *resp,
                          size_t len, uint64_t elapsed_us)
{
	knot_pkt_t *pkt = knot_pkt_new(resp, (uint16_t)len, NULL);
	if (pkt == NULL)
		return fail("out of memory");
	int r = knot_pkt_parse(pkt, 0);
	if (r != KNOT_EOK) {
		knot_pkt_free(pkt);
		return fail("malformed answer from %s (%s, %zu bytes): %s", p->text, tcp ? "TCP" : "UDP",
		            len, knot_strerror(r));
	}

	uint8_t f1 = resp[2], f2 = resp[3];
	const knot_lookup_t *op = knot_lookup_by_id(knot_opcode_names, RW_OPCODE(f1));
	char opname[16];
	if (op)
		snprintf(opname, sizeof(opname), "%s", op->name);
	else
		snprintf(opname, sizeof(opname), "OPCODE%u", RW_OPCODE(f1));
	char rcbuf[16];
	const char *rcname = rcode_name(msg_rcode(pkt, resp), rcbuf, sizeof(rcbuf));
	printf(";; ->>HEADER<<- opcode: %s, status: %s, id: %u\n", opname, rcname, rw_get16(resp));
	printf(";; flags:%s%s%s%s%s%s%s%s; QUERY: %u, ANSWER: %u, AUTHORITY: %u, ADDITIONAL: %u\n",
	       f1 & RW_FLAG_QR ? " qr" : "", f1 & RW_FLAG_AA ? " aa" : "", f1 & RW_FLAG_TC ? " tc" : "",
	       f1 & RW_FLAG_RD ? " rd" : "", f2 & RW_FLAG_RA ? " ra" : "", f2 & 0x40 ? " z" : "",
	       f2 & RW_FLAG_AD ? " ad" : "", f2 & RW_FLAG_CD ? " cd" : "",
	       rw_get16(resp + RW_HDR_QDCOUNT), rw_get16(resp + RW_HDR_ANCOUNT),
	       rw_get16(resp + RW_HDR_NSCOUNT), rw_get16(resp + RW_HDR_ARCOUNT));
	if (!o->norec && !(f2 & RW_FLAG_RA))
		printf(";; WARNING: recursion requested but not available\n");

	if (pkt->opt_rr) {
		putchar('\n');
		print_opt(pkt->opt_rr);
	}
	if (rw_get16(resp + RW_HDR_QDCOUNT) > 0 && pkt->qname_size > 0) {
		char qname[KNOT_DNAME_TXT_MAXLEN + 1] = "?", qt[32], qc[32];
		knot_dname_to_str(qname, knot_pkt_qname(pkt), sizeof(qname));
		knot_rrtype_to_string(knot_pkt_qtype(pkt), qt, sizeof(qt));
		knot_rrclass_to_string(knot_pkt_qclass(pkt), qc, sizeof(qc));
		printf("\n;; QUESTION SECTION:\n;%s\t\t%s\t%s\n", qname, qc, qt);
	}
	print_section(pkt, KNOT_ANSWER, "ANSWER");
	print_section(pkt, KNOT_AUTHORITY, "AUTHORITY");
	print_section(pkt, KNOT_ADDITIONAL, "ADDITIONAL");

	printf("\n;; Query time: %llu msec\n", (unsigned long long)(elapsed_us / 1000));
	printf(";; SERVER: %s(%s)\n", p->text, tcp ? "TCP" : "UDP");
	printf(";; MSG SIZE rcvd: %zu\n", len);
	knot_pkt_free(pkt);
	return 0;
}

/* ---- TSIG (RFC 8945) ---- */

/* The key of -y/--key-file into the keyring, and the query signed with it. */
static int sign_query(const struct qopts *o, struct rwd_tsig_ctx *ctx, uint8_t *q, size_t *qlen,
                      size_t cap)
{
	static const uint8_t root[1] = { 0 };
	uint8_t name[RW_DNAME_MAXLEN], secret[96];
	int nl = rw_dname_from_str(o->key.name, root, name);
	size_t b64 = strlen(o->key.secret);
	int sl = EVP_DecodeBlock(secret, (const unsigned char *)o->key.secret, (int)b64);
	if (nl <= 0 || sl <= 0)
		return fail("bad TSIG key %s", o->key.name);
	sl -= (b64 > 0 && o->key.secret[b64 - 1] == '=') + (b64 > 1 && o->key.secret[b64 - 2] == '=');
	rw_dname_lower(name);
	int r = rwd_tsig_keyring_add(&keyring, name, o->key.alg, secret, (size_t)sl);
	explicit_bzero(secret, sizeof(secret));
	if (r < 0)
		return fail("TSIG key %s: %s", o->key.name, rw_strerror(r));
	if (rwd_tsig_sign_request(ctx, &keyring.keys[0], q, qlen, cap, (uint64_t)time(NULL)) < 0)
		return fail("the query does not fit with its TSIG record");
	return 0;
}

/* What a TSIG check said: "BADSIG", "BADKEY", ... */
static const char *tsig_error(const struct rwd_tsig_ctx *ctx, char *buf, size_t size)
{
	switch (ctx->error) {
	case RWD_TSIG_BADSIG: return "BADSIG";
	case RWD_TSIG_BADKEY: return "BADKEY";
	case RWD_TSIG_BADTIME: return "BADTIME";
	case RWD_TSIG_BADTRUNC: return "BADTRUNC";
	}
	if (ctx->error)
		snprintf(buf, size, "error %u", ctx->error);
	else
		snprintf(buf, size, "malformed TSIG record");
	return buf;
}

/* ---- zone transfers (AXFR, RFC 5936; IXFR, RFC 1995) ---- */

/* Where the stream of answer records is: it ends at the SOA that repeats
 * the first one's serial, at the right place for its form. */
struct xfr_state {
	uint64_t records;               /* answer records so far */
	uint32_t serial;                /* the first SOA's: the primary's */
	enum { XFR_FIRST, XFR_AXFR, XFR_IXFR, XFR_DONE } form;
	bool adding;                    /* IXFR: in the added part of a sequence */
	uint32_t seq_to;                /* IXFR: the new serial of that sequence */
	unsigned sequences;
};

static bool soa_serial(const knot_rrset_t *rr, uint32_t *serial)
{
	if (rr->type != KNOT_RRTYPE_SOA || rr->rrs.count != 1 || rr->rrs.rdata->len < 20)
		return false;
	*serial = rw_get32(rr->rrs.rdata->data + rr->rrs.rdata->len - 20);
	return true;
}

/* One record of the stream; NULL, or what is wrong with it. */
static const char *xfr_record(struct xfr_state *x, const struct qopts *o, const knot_rrset_t *rr)
{
	uint32_t serial;
	bool soa = soa_serial(rr, &serial);
	x->records++;
	switch (x->form) {
	case XFR_FIRST:
		if (!soa)
			return "the transfer does not start with the zone's SOA";
		x->serial = serial;
		x->form = XFR_AXFR;            /* until the second record says otherwise */
		if (o->qtype == KNOT_RRTYPE_IXFR)
			x->seq_to = 0;
		return NULL;
	case XFR_AXFR:
		if (x->records == 2 && o->qtype == KNOT_RRTYPE_IXFR && soa && serial != x->serial) {
			x->form = XFR_IXFR;        /* the old SOA of the first sequence */
			x->adding = false;
			x->sequences = 1;
			return NULL;
		}
		if (soa)                       /* RFC 5936 2.2: the SOA again closes it */
			x->form = XFR_DONE;
		return NULL;
	case XFR_IXFR:
		if (!soa)
			return NULL;
		if (!x->adding) {              /* the new SOA of this sequence */
			x->adding = true;
			x->seq_to = serial;
		} else if (serial == x->serial && x->seq_to == x->serial) {
			x->form = XFR_DONE;        /* the closing SOA */
		} else {                       /* the old SOA of the next sequence */
			x->adding = false;
			x->sequences++;
		}
		return NULL;
	case XFR_DONE:
		return "records after the closing SOA";
	}
	return NULL;
}

/* RFC 1982: a is newer than b. */
static bool serial_newer(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(a - b) < 0x80000000u;
}

/*
 * The transfer: the query over TCP, then every message of the answer until
 * the closing SOA, each record printed as it comes (a zone of any size
 * streams through one message buffer). 0 when it completed; 1 after saying
 * why not (refused, cut, malformed, a stream that does not end right).
 */
static int xfr_run(const struct qopts *o, const struct peer *p, const uint8_t *q, size_t qlen,
                   struct rwd_tsig_ctx *tsig)
{
	uint64_t t0 = now_us();
	int fd = tcp_open(o, p, q, qlen, t0 + (uint64_t)o->timeout_ms * 1000);
	if (fd < 0)
		return 1;
	/* msg as it came (TSIG is checked on it), and a copy for libknot's
	 * parser, which takes the TSIG record off the wire it parses */
	static uint8_t msg[RW_MSG_MAXLEN], copy[RW_MSG_MAXLEN];
	struct xfr_state x = { .form = XFR_FIRST };
	uint64_t bytes = 0;
	unsigned messages = 0;
	int rc = 1;
	knot_dump_style_t style = KNOT_DUMP_STYLE_DEFAULT;
	style.show_class = true;
	size_t size = 1024;
	char *text = malloc(size), rcbuf[16], why[64];
	if (text == NULL) {
		close(fd);
		return fail("out of memory");
	}
	for (;;) {
		size_t len;
		int r = tcp_read(o, p, fd, now_us() + (uint64_t)o->timeout_ms * 1000, msg, &len);
		if (r < 0) {
			fail("%s closed the connection before the transfer ended (%u message%s, %llu "
			     "records so far)", p->text, messages, messages == 1 ? "" : "s",
			     (unsigned long long)x.records);
			goto out;
		}
		if (r)
			goto out;
		messages++;
		bytes += len;
		if (rw_get16(msg) != rw_get16(q) || !(msg[2] & RW_FLAG_QR)) {
			fail("message %u from %s is not an answer to our query (id %u, ours %u)",
			     messages, p->text, rw_get16(msg), rw_get16(q));
			goto out;
		}
		memcpy(copy, msg, len);
		knot_pkt_t *pkt = knot_pkt_new(copy, (uint16_t)len, NULL);
		if (pkt == NULL) {
			fail("out of memory");
			goto out;
		}
		int pr = knot_pkt_parse(pkt, 0);
		if (pr != KNOT_EOK) {
			fail("message %u from %s is malformed (%zu bytes): %s", messages, p->text, len,
			     knot_strerror(pr));
			knot_pkt_free(pkt);
			goto out;
		}
		unsigned rcode = msg_rcode(pkt, msg);
		if (rcode != KNOT_RCODE_NOERROR) {
			/* dig: "; Transfer failed."; with TSIG, the server's TSIG error */
			const char *terr = "";
			if (tsig && rwd_tsig_client_check(tsig, msg, len, true) < 0 && tsig->error)
				terr = tsig_error(tsig, why, sizeof(why));
			printf("; Transfer failed: %s%s%s%s\n", rcode_name(rcode, rcbuf, sizeof(rcbuf)),
			       *terr ? " (TSIG error " : "", terr, *terr ? ")" : "");
			fail("%s refused the transfer: %s%s%s%s", p->text,
			     rcode_name(rcode, rcbuf, sizeof(rcbuf)), *terr ? " (TSIG error " : "", terr,
			     *terr ? ")" : "");
			knot_pkt_free(pkt);
			goto out;
		}
		if (msg[2] & RW_FLAG_TC) {
			fail("message %u from %s has TC set: not a transfer over TCP", messages, p->text);
			knot_pkt_free(pkt);
			goto out;
		}
		/* The records move the stream on; the message is checked (TSIG,
		 * knowing whether it is the last) before any of it is printed. */
		const knot_pktsection_t *an = knot_pkt_section(pkt, KNOT_ANSWER);
		const char *bad = NULL;
		for (uint16_t i = 0; i < an->count && bad == NULL; i++)
			bad = xfr_record(&x, o, knot_pkt_rr(an, i));
		if (bad) {
			knot_pkt_free(pkt);
			fail("message %u from %s: %s", messages, p->text, bad);
			goto out;
		}
		/* IXFR, up to date: the one SOA, not newer than ours (RFC 1995 2) */
		bool last = x.form == XFR_DONE ||
		            (o->qtype == KNOT_RRTYPE_IXFR && messages == 1 && x.records == 1 &&
		             !serial_newer(x.serial, o->ixfr_serial));
		if (tsig && rwd_tsig_client_check(tsig, msg, len, last) < 0) {
			knot_pkt_free(pkt);
			fail("message %u from %s: TSIG does not verify with key %s: %s", messages, p->text,
			     o->key.name, tsig_error(tsig, why, sizeof(why)));
			goto out;
		}
		for (uint16_t i = 0; i < an->count; i++) {
			const knot_rrset_t *rr = knot_pkt_rr(an, i);
			if (knot_rrset_txt_dump(rr, &text, &size, &style) < 0)
				printf(";; cannot print a record of type %u\n", rr->type);
			else
				fputs(text, stdout);
		}
		knot_pkt_free(pkt);
		if (last)
			break;
		if (messages == 1 && x.records == 0) {
			fail("%s answered without records (%zu bytes): no transfer", p->text, len);
			goto out;
		}
	}
	uint64_t elapsed = now_us() - t0;
	if (o->qtype == KNOT_RRTYPE_IXFR) {
		if (x.form == XFR_IXFR || (x.form == XFR_DONE && x.sequences))
			printf(";; IXFR from serial %u to %u: %u difference sequence%s\n", o->ixfr_serial,
			       x.serial, x.sequences, x.sequences == 1 ? "" : "s");
		else if (x.records == 1 && x.serial == o->ixfr_serial)
			printf(";; IXFR: serial %u is up to date\n", x.serial);
		else if (x.records == 1)           /* RFC 1995 2: a newer one gets the SOA too */
			printf(";; IXFR: serial %u is newer than the server's (%u): nothing to "
			       "transfer\n", o->ixfr_serial, x.serial);
		else
			printf(";; IXFR answered with the whole zone (AXFR-style), serial %u\n", x.serial);
	}
	if (tsig)
		printf(";; TSIG: every message verified (%s %s, %u signed)\n", o->key.alg, o->key.name,
		       tsig->messages);
	printf(";; Query time: %llu msec\n", (unsigned long long)(elapsed / 1000));
	printf(";; SERVER: %s(TCP)\n", p->text);
	printf(";; XFR size: %llu records (messages %u, bytes %llu)\n",
	       (unsigned long long)x.records, messages, (unsigned long long)bytes);
	rc = 0;
out:
	free(text);
	close(fd);
	return rc;
}

int cmd_query(int argc, char **argv)
{
	/* The command line as given (getopt_long reorders argv). */
	char given[1024];
	size_t gl = 0;
	given[0] = '\0';
	for (int i = 1; i < argc && gl < sizeof(given); i++)
		gl += (size_t)snprintf(given + gl, sizeof(given) - gl, " %s", argv[i]);

	struct qopts o;
	int r = parse_args(argc, argv, &o);
	if (r != 0)
		return r < 0 ? 0 : r;

	struct peer p;
	if (resolve(&o, &p) != 0)
		return 1;

	uint16_t id;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)(now_us() ^ (uint64_t)getpid());
	uint8_t q[QUERY_MAX];
	size_t qlen = build_query(&o, id, q, sizeof(q));
	if (qlen == 0)
		return 1;
	struct rwd_tsig_ctx tsig = { 0 };
	if (o.tsig && sign_query(&o, &tsig, q, &qlen, sizeof(q)) != 0)
		return 1;

	printf("; <<>> runway %s <<>> query%s\n", RUNWAY_VERSION, given);
	if (is_xfr(&o)) {
		fflush(stdout);
		r = xfr_run(&o, &p, q, qlen, o.tsig ? &tsig : NULL);
		rwd_tsig_ctx_clear(&tsig);
		rwd_tsig_keyring_free(&keyring);
		return r;
	}

	static uint8_t resp[RW_MSG_MAXLEN];
	size_t len = 0;
	bool tcp = o.tcp;
	uint64_t t0 = now_us();
	if (tcp)
		r = tcp_exchange(&o, &p, q, qlen, resp, &len);
	else
		r = udp_exchange(&o, &p, q, qlen, resp, &len);
	if (r == 0 && !tcp && (resp[2] & RW_FLAG_TC)) {
		printf(";; Truncated, retrying in TCP mode.\n");
		tcp = true;
		t0 = now_us();
		r = tcp_exchange(&o, &p, q, qlen, resp, &len);
	}
	if (r != 0)
		return 1;
	uint64_t elapsed = now_us() - t0;
	/* before printing: knot_pkt_parse takes the TSIG record off the wire */
	int verified = o.tsig ? rwd_tsig_client_check(&tsig, resp, len, true) : 0;
	r = print_response(&o, &p, tcp, resp, len, elapsed);
	if (r == 0 && o.tsig) {
		/* the answer is shown, but one that does not verify is no answer */
		char why[64];
		if (verified == 0) {
			printf(";; TSIG: verified (%s %s)\n", o.key.alg, o.key.name);
		} else {
			printf(";; TSIG: NOT verified: %s\n", tsig_error(&tsig, why, sizeof(why)));
			r = fail("the answer's TSIG does not verify with key %s: %s", o.key.name,
			         tsig_error(&tsig, why, sizeof(why)));
		}
	}
	rwd_tsig_ctx_clear(&tsig);
	rwd_tsig_keyring_free(&keyring);
	return r;
}
