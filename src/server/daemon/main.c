/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * runwayd: load the configuration and zones, publish the first snapshot,
 * start the transports, then wait for signals: SIGHUP reloads, SIGTERM and
 * SIGINT stop. All signals are taken synchronously by this thread (sigwait),
 * so no handler ever runs inside a worker.
 */
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/error.h"
#include "server/conf/conf.h"
#include "server/common/log.h"
#include "server/api/api.h"
#include "server/control/control.h"
#include "server/xfr/secondary.h"
#include "server/daemon/server.h"
#include "server/xfr/notify.h"

#define VERSION RUNWAY_VERSION     /* the VERSION file, passed by the Makefile */

static void usage(FILE *f)
{
	fprintf(f, "usage: runwayd -c CONFIG [-v]\n"
	           "  -c, --config FILE   YAML configuration (docs/configuration.md)\n"
	           "  -v, --verbose       log debug messages\n"
	           "  -V, --version       print the version\n"
	           "      --config-reference  print the option table of docs/configuration.md\n"
	           "  -h, --help          this help\n"
	           "signals: HUP reloads configuration and zones, TERM/INT stop\n");
}

/* ---- file descriptors ---- */

#define FD_LIMIT_CAP (1u << 20)      /* no use asking for more (an unlimited hard limit) */
#define FD_RESERVE_RELOAD 64         /* a reload, an API change: the config, zone files and
                                        their $INCLUDEs, the GeoIP and latency files, LMDB */
#define FD_RESERVE_SPARE 32          /* dnstap's reconnects, getaddrinfo's threads, the
                                        accept of a connection over the limit, stdio */
#define FD_RESERVE_API_OWN (4 + RWD_API_OVER_LIMIT)  /* MHD: listener, epoll, its inter-thread
                                                       pipe; connections past its limit */
#define FD_RESERVE_TCP_OWN 4         /* per TCP loop: epoll, eventfds (plus a listener each) */

/* Raise the soft open-file limit to the hard one: TCP clients, health
 * probes and API connections each hold a descriptor, and a soft limit of
 * 1024 (a common default) is not a choice the operator made. (Knot DNS 3.2
 * keeps the soft limit and defaults tcp-max-clients to half of it.)
 * Returns the limit in force. */
static uint64_t raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > FD_LIMIT_CAP ? FD_LIMIT_CAP
	                                                                         : rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rlim_t was = rl.rlim_cur;
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			rwd_info("open file limit raised from %llu to %llu (the hard limit)",
			         (unsigned long long)was, (unsigned long long)want);
		else
			rl.rlim_cur = was;
	}
	return rl.rlim_cur == RLIM_INFINITY ? FD_LIMIT_CAP : (uint64_t)rl.rlim_cur;
}

/* Descriptors open in this process now. */
static unsigned fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return 64;                   /* a guess on the safe side */
	unsigned n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n ? n - 1 : 0;            /* not the directory's own */
}

/* TCP's share of the descriptors (docs/configuration.md#file-descriptors):
 * what the limit leaves after those open at start and those kept for the
 * other services, of which the health checks' share follows the model. */
struct fd_budget {
	uint64_t limit;                  /* RLIMIT_NOFILE in force */
	unsigned configured;             /* tcp.max_clients, read at start */
	unsigned open_at_start;
	uint64_t reserve;                /* all but the health checks' share */
	unsigned health;                 /* checked addresses, a descriptor each */
	unsigned api;                    /* the API's share (for the log line) */
	unsigned max_clients;            /* in force */
};

/* Health targets of model: each runs at most one probe, one socket, at a time. */
static unsigned health_targets(const struct rwd_model *m)
{
	unsigned n = 0;
	for (size_t i = 0; m && i < m->n_endpoints; i++)
		if (m->endpoints[i].check)
			n += m->endpoints[i].cname_len ? 1 : m->endpoints[i].n_addrs;
	return n;
}

/* tcp.max_clients as the descriptors allow at start; logged when lowered. */
static unsigned budget_start(struct fd_budget *b, const struct rwd_conf *conf,
                             const struct rwd_model *m, uint64_t fd_limit)
{
	b->limit = fd_limit;
	b->configured = conf->tcp_max_clients;
	b->health = health_targets(m);
	b->api = conf->api_listen ? conf->api_max_connections + FD_RESERVE_API_OWN : 0;
	b->reserve = (uint64_t)b->api + conf->n_listen + FD_RESERVE_TCP_OWN + FD_RESERVE_RELOAD +
	             FD_RESERVE_SPARE;
	b->open_at_start = fds_open();
	b->max_clients = rwd_tcp_clients_for_fds(b->configured, b->limit, b->open_at_start,
	                                         b->reserve + b->health);
	if (b->max_clients < b->configured)
		rwd_warn("tcp: max_clients lowered from %u to %u: of %llu file descriptors (the open file "
		         "limit), %u are open and %llu kept for health checks (%u), the API (%u), "
		         "reloads and the rest (%llu)", b->configured, b->max_clients,
		         (unsigned long long)b->limit, b->open_at_start,
		         (unsigned long long)(b->reserve + b->health), b->health, b->api,
		         (unsigned long long)(b->reserve - b->api));
	return b->max_clients;
}

/* The model's checked addresses changed (reload, API): move TCP's share. */
static void budget_follow(struct fd_budget *b, struct rwd_server *srv)
{
	struct rwd_health_stats st;
	rwd_health_get_stats(srv->health, &st);
	if (srv->tcp == NULL || st.targets == b->health)
		return;
	b->health = st.targets;
	unsigned n = rwd_tcp_clients_for_fds(b->configured, b->limit, b->open_at_start,
	                                     b->reserve + b->health);
	if (n == b->max_clients)
		return;
	rwd_tcp_set_max_clients(srv->tcp, n);
	if (n < b->max_clients)
		rwd_warn("tcp: max_clients lowered from %u to %u: health checks on %u address(es) "
		         "now, a file descriptor each", b->max_clients, n, b->health);
	else
		rwd_info("tcp: max_clients raised from %u to %u: health checks on %u address(es) now",
		         b->max_clients, n, b->health);
	b->max_clients = n;
}

static struct rwd_secondary *secondary;   /* defined below; the API refreshes through it */

/* The control API, when the configuration has one. */
static int start_api(const struct rwd_conf *conf, struct rwd_server *srv, struct rwd_control *ctl,
                     struct rwd_api **out)
{
	if (conf->api_listen == NULL)
		return 0;
	struct rwd_api_token *tokens = calloc(conf->n_api_tokens + 1, sizeof(*tokens));
	if (tokens == NULL)
		return RW_ENOMEM;
	for (size_t i = 0; i < conf->n_api_tokens; i++)
		tokens[i] = (struct rwd_api_token){ conf->api_tokens[i].token,
		                                    conf->api_tokens[i].access == 1 };
	struct rwd_api_opts o = { .listen = conf->api_listen, .tokens = tokens,
	                          .n_tokens = conf->n_api_tokens, .allow = &conf->api_allow,
	                          .health = srv->health, .srv = srv, .secondary = secondary,
	                          .max_connections = conf->api_max_connections,
	                          .max_per_client = conf->api_max_per_client,
	                          .request_timeout_ms = conf->api_request_timeout_ms };
	int ret = rwd_api_start(&o, ctl, out);
	free(tokens);
	if (ret == 0)
		rwd_info("api: listening on %s%s", conf->api_listen,
		         conf->api_data ? "" : " (read only: no api.data)");
	return ret;
}

/* The secondary side (xfr/secondary.h): NULL until created. */
static struct rwd_secondary *secondary;

static struct rwd_notify *notify;   /* NOTIFY out (xfr/notify.h) */

static void stop(struct rwd_server *srv, struct rwd_control *ctl, struct rwd_api *api)
{
	rwd_api_stop(api);
	rwd_secondary_stop(secondary);     /* it publishes through control: before control stops */
	secondary = NULL;
	rwd_control_stop(ctl);             /* a zone compaction may publish: before health stops */
	srv->on_zone_serial = NULL;        /* nothing publishes any more */
	rwd_notify_stop(notify);
	notify = NULL;
	rwd_tcp_stop(srv->tcp);
	rwd_udp_stop(srv->udp);
	rwd_dnstap_stop(srv->dnstap);      /* after the transports: flushes what they logged */
	rwd_health_stop(srv->health);
	rwd_control_close(ctl);
	rwd_conf_free(srv->conf);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' }, { "help", no_argument, NULL, 'h' },
		{ "config-reference", no_argument, NULL, 'R' }, { 0 }
	};
	const char *path = NULL;
	for (int c; (c = getopt_long(argc, argv, "c:vVh", opts, NULL)) != -1;) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'v': rwd_log_set_level(RWD_LOG_DEBUG); break;
		case 'V': printf("runwayd %s\n", VERSION); return 0;
		case 'h': usage(stdout); return 0;
		case 'R': rwd_conf_doc(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}

	/* Block the signals we wait for before any thread exists: threads inherit the mask. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	uint64_t fd_limit = raise_fd_limit();
	char err[RWD_CONF_ERRLEN];
	struct rwd_server srv = { 0 };
	if (rwd_conf_load(path, &srv.conf, err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct rwd_control *ctl = NULL;
	char cerr[RWD_CONTROL_ERRLEN];
	if (rwd_secondary_new(&secondary) < 0) {   /* its NOTIFY sink: before the first build */
		rwd_conf_free(srv.conf);
		return 1;
	}
	if (rwd_control_open(&srv, srv.conf->api_data, &ctl, cerr) < 0) {
		rwd_error("%s", cerr);
		rwd_secondary_stop(secondary);
		rwd_conf_free(srv.conf);
		return 1;
	}
	unsigned errors = 0;
	struct rwd_snapshot *s = rwd_control_build(ctl, &srv.conf, NULL, &errors);
	if (s == NULL) {
		rwd_error("cannot start: %u error(s)", errors);
		stop(&srv, ctl, NULL);
		return 1;
	}
	rwd_snapshot_publish(s);

	const struct rwd_conf *conf = srv.conf;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned workers = conf->workers ? conf->workers : (cores > 0 ? (unsigned)cores : 1);
	/* dnstap: one queue per UDP worker and one for TCP */
	if (rwd_dnstap_start(&conf->dnstap, "runwayd " VERSION, workers * (unsigned)conf->n_listen + 1,
	                     &srv.dnstap) < 0) {
		stop(&srv, ctl, NULL);
		return 1;
	}
	struct rwd_tcp_opts topts = { .dnstap = srv.dnstap,
	                              .idle_timeout_ms = conf->tcp_idle_timeout_ms,
	                              .io_timeout_ms = conf->tcp_io_timeout_ms,
	                              .max_clients = conf->tcp_max_clients,
	                              .max_per_client = conf->tcp_max_per_client };
	struct rwd_api *api = NULL;
	struct fd_budget budget;
	/* NOTIFY on every new serial from here on (before the API can change one) */
	if (rwd_notify_start(&srv, &notify) < 0) {
		stop(&srv, ctl, NULL);
		return 1;
	}
	srv.on_zone_serial = rwd_notify_zone_serial;
	srv.on_zone_serial_ctx = notify;
	/* TCP's share of the descriptors is counted once the others are open. */
	if (rwd_health_start(s->model, &srv.health) < 0 ||
	    rwd_udp_start(conf->listen, conf->n_listen, workers, conf->busy_poll_us, srv.dnstap,
	                  &srv.udp) < 0 ||
	    (topts.max_clients = budget_start(&budget, conf, s->model, fd_limit),
	     rwd_tcp_start(conf->listen, conf->n_listen, &topts, &srv.tcp) < 0) ||
	    start_api(srv.conf, &srv, ctl, &api) < 0 ||
	    rwd_secondary_start(secondary, &srv, ctl) < 0) {
		stop(&srv, ctl, api);
		return 1;
	}
	for (size_t i = 0; i < conf->n_listen; i++)
		rwd_info("listening on %s (UDP x%u, TCP)", conf->listen[i].text, workers);
	/* Secondaries may have missed changes made while runwayd was down: once
	 * we answer, NOTIFY every zone's serial (as BIND and Knot do after loading). */
	rwd_control_read_lock(ctl);
	rwd_notify_snapshot(notify, rwd_snapshot_get());
	rwd_control_read_unlock(ctl);
	rwd_info("runwayd %s ready: %zu zones, %zu traffic names", VERSION, s->zones->n_zones,
	         s->model->n_traffic);

	for (;;) {
		/* Wake once a second for timed work (registration expiry). */
		struct timespec second = { .tv_sec = 1 };
		int sig = sigtimedwait(&sigs, NULL, &second);
		if (sig < 0) {
			rwd_control_tick(ctl);
			budget_follow(&budget, &srv);
			continue;
		}
		if (sig == SIGHUP) {
			rwd_secondary_flush(secondary);   /* the files the reload reads */
			rwd_control_reload(ctl);
			rwd_secondary_reload(secondary);
			budget_follow(&budget, &srv);
			continue;
		}
		rwd_info("signal %d: stopping", sig);
		break;
	}
	stop(&srv, ctl, api);
	return 0;
}
