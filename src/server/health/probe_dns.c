/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNS probes: one query over UDP to address:port (default 53).
 *
 * The query (dns_qname, dns_qtype, class IN, RD=0, EDNS with 1232 bytes) is
 * built with the project's message builder. The socket is connected, so
 * only the target's answers arrive (and an ICMP port unreachable shows up
 * as "connection refused"). An answer with another id or question is
 * ignored; the first matching one is judged: its rcode (extended, with
 * EDNS) must be dns_rcode, and when dns_expect is set, one record of the
 * answer section, printed in presentation form by libknot
 * ("www.example. 300 IN A 192.0.2.1"), must contain it. A probe sends once:
 * a lost packet is one failure, rise/fall absorb it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/libknot.h>
#include <uv.h>

#include "lib/dname.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "server/health/internal.h"

#define QUERY_MAX 512

void hc_probe_dns_free(struct hc_probe *p)
{
	free(p->query);
	p->query = NULL;
}

static void rcode_text(int rcode, char *buf, size_t size)
{
	const knot_lookup_t *l = knot_lookup_by_id(knot_rcode_names, rcode);
	if (l)
		snprintf(buf, size, "%s", l->name);
	else
		snprintf(buf, size, "RCODE%d", rcode);
}

/* Does one record of the answer section contain want in presentation form? */
static bool answer_contains(const knot_pkt_t *pkt, const char *want)
{
	const knot_pktsection_t *an = knot_pkt_section(pkt, KNOT_ANSWER);
	size_t size = 1024;
	char *buf = malloc(size);
	bool found = false;
	if (buf == NULL)
		return false;
	for (uint16_t i = 0; an && i < an->count && !found; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(an, i);
		if (knot_rrset_txt_dump(rr, &buf, &size, &KNOT_DUMP_STYLE_DEFAULT) < 0)
			continue;
		/* One line per record. */
		for (char *line = buf, *nl; line && *line && !found; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			found = strstr(line, want) != NULL;
		}
	}
	free(buf);
	return found;
}

/* Judge a datagram; false if it is not the answer to our query (keep waiting). */
static bool judge(struct hc_probe *p, const uint8_t *msg, size_t len)
{
	if (len < RW_HDR_LEN || rw_get16(msg) != p->dns_id || !(msg[2] & RW_FLAG_QR))
		return false;
	knot_pkt_t *pkt = knot_pkt_new((uint8_t *)msg, (uint16_t)len, NULL);
	if (pkt == NULL) {
		hc_probe_error(p, "memory", UV_ENOMEM);
		return true;
	}
	int r = knot_pkt_parse(pkt, 0);
	if (r != KNOT_EOK) {
		knot_pkt_free(pkt);
		hc_probe_finish(p, false, "DNS: malformed response (%s)", knot_strerror(r));
		return true;
	}
	const uint8_t *qn = knot_pkt_qname(pkt);
	if (knot_wire_get_qdcount(pkt->wire) != 1 || qn == NULL || !rw_dname_eq(qn, p->qname) ||
	    knot_pkt_qtype(pkt) != p->qtype) {
		knot_pkt_free(pkt);
		return false;
	}
	const struct rwd_check *c = p->t->check;
	int rcode = knot_pkt_ext_rcode(pkt);
	char got[24], want[24];
	rcode_text(rcode, got, sizeof(got));
	if (rcode != c->dns_rcode) {
		rcode_text(c->dns_rcode, want, sizeof(want));
		hc_probe_finish(p, false, "rcode %s (expected %s)", got, want);
	} else if (c->dns_expect && c->dns_expect[0] && !answer_contains(pkt, c->dns_expect)) {
		hc_probe_finish(p, false, "no answer contains '%.40s'%s", c->dns_expect,
		                knot_wire_get_tc(msg) ? " (truncated)" : "");
	} else {
		hc_probe_finish(p, true, "rcode %s", got);
	}
	knot_pkt_free(pkt);
	return true;
}

static void on_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
	struct hc_probe *p = u->data;
	if (p->done || (nread == 0 && addr == NULL))
		return;
	if (nread < 0) {
		hc_probe_error(p, "DNS", (int)nread);
		return;
	}
	if (flags & UV_UDP_PARTIAL)
		return;                      /* larger than our buffer: not a sane answer */
	judge(p, (const uint8_t *)buf->base, (size_t)nread);
}

static void on_send(uv_udp_send_t *req, int status)
{
	struct hc_probe *p = req->handle->data;
	free(req);
	if (status < 0 && !p->done)
		hc_probe_error(p, "DNS: send", status);
}

void hc_probe_dns_start(struct hc_probe *p)
{
	const struct rwd_check *c = p->t->check;
	p->phase = "waiting for response";
	size_t ql = rw_dname_len(c->dns_qname);
	memcpy(p->qname, c->dns_qname, ql);
	p->qtype = c->dns_qtype ? c->dns_qtype : RW_TYPE_SOA;
	p->dns_id = (uint16_t)hc_random(p->h);

	p->query = malloc(QUERY_MAX);
	if (p->query == NULL) {
		hc_probe_error(p, "memory", UV_ENOMEM);
		return;
	}
	struct rw_msgbuilder b;
	if (rw_msgb_init(&b, p->query, QUERY_MAX, p->dns_id, p->qname, p->qtype, RW_CLASS_IN, true) < 0) {
		hc_probe_finish(p, false, "DNS: cannot build the query");
		return;
	}
	rw_msgb_put_opt(&b, RW_EDNS_DEFAULT_MAX, 0, false);
	if (b.overflow) {
		hc_probe_finish(p, false, "DNS: cannot build the query");
		return;
	}
	rw_put16(p->query + RW_HDR_ARCOUNT, 1);
	p->query_len = b.len;

	int r = uv_udp_init(&p->h->loop, &p->io.udp);
	if (r < 0) {
		hc_probe_error(p, "DNS: socket", r);
		return;
	}
	p->io.udp.data = p;
	p->io_open = true;
	hc_probe_ref(p);
	uv_udp_send_t *req = malloc(sizeof(*req));
	if (req == NULL) {
		hc_probe_error(p, "memory", UV_ENOMEM);
		return;
	}
	const char *what = "DNS: connect";
	if ((r = uv_udp_connect(&p->io.udp, (const struct sockaddr *)&p->sa)) < 0 ||
	    (what = "DNS: receive", r = uv_udp_recv_start(&p->io.udp, hc_alloc_scratch, on_recv)) < 0) {
		free(req);
		hc_probe_error(p, what, r);
		return;
	}
	uv_buf_t buf = uv_buf_init((char *)p->query, (unsigned)p->query_len);
	if ((r = uv_udp_send(req, &p->io.udp, &buf, 1, NULL, on_send)) < 0) {
		free(req);
		hc_probe_error(p, "DNS: send", r);
	}
}
