/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * TCP probes: a connect to address:port passes. Also the connect and close
 * used by the HTTP(S) probes.
 *
 * A probe closes its connection with a reset (SO_LINGER 0) unless the peer
 * already closed: thousands of checks a second must not leave thousands of
 * sockets in TIME_WAIT, and the peer has nothing left to tell us.
 */
#include <uv.h>

#include "server/health/internal.h"

int hc_tcp_connect(struct hc_probe *p, uv_connect_cb cb)
{
	int r = uv_tcp_init(&p->h->loop, &p->io.tcp);
	if (r < 0)
		return r;
	p->io.tcp.data = p;
	p->io_open = true;
	hc_probe_ref(p);
	p->phase = "connect";
	return uv_tcp_connect(&p->connect, &p->io.tcp, (const struct sockaddr *)&p->sa, cb);
}

void hc_tcp_close(struct hc_probe *p)
{
	if (p->connected && !p->eof &&
	    uv_tcp_close_reset(&p->io.tcp, hc_probe_on_close) == 0)
		return;
	uv_close(&p->io.handle, hc_probe_on_close);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct hc_probe *p = req->handle->data;
	if (p->done)                     /* timed out or aborted: the handle is closing */
		return;
	if (status < 0) {
		hc_probe_error(p, "connect", status);
		return;
	}
	p->connected = true;
	hc_probe_finish(p, true, "connected");
}

void hc_probe_tcp_start(struct hc_probe *p)
{
	int r = hc_tcp_connect(p, on_connect);
	if (r < 0)
		hc_probe_error(p, "connect", r);
}
