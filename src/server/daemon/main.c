/*
 * runwayd: load the configuration and zones, publish the first snapshot,
 * start the transports, then wait for signals: SIGHUP reloads, SIGTERM and
 * SIGINT stop. All signals are taken synchronously by this thread (sigwait),
 * so no handler ever runs inside a worker.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"
#include "server/conf/conf.h"
#include "server/common/log.h"
#include "server/api/api.h"
#include "server/control/control.h"
#include "server/daemon/server.h"

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
	                          .health = srv->health };
	int ret = rwd_api_start(&o, ctl, out);
	free(tokens);
	if (ret == 0)
		rwd_info("api: listening on %s%s", conf->api_listen,
		         conf->api_data ? "" : " (read only: no api.data)");
	return ret;
}

static void stop(struct rwd_server *srv, struct rwd_control *ctl, struct rwd_api *api)
{
	rwd_api_stop(api);
	rwd_control_stop(ctl);             /* a zone compaction may publish: before health stops */
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

	char err[RWD_CONF_ERRLEN];
	struct rwd_server srv = { 0 };
	if (rwd_conf_load(path, &srv.conf, err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct rwd_control *ctl = NULL;
	char cerr[RWD_CONTROL_ERRLEN];
	if (rwd_control_open(&srv, srv.conf->api_data, &ctl, cerr) < 0) {
		rwd_error("%s", cerr);
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
	if (rwd_dnstap_start(conf, "runwayd " VERSION, workers * (unsigned)conf->n_listen + 1,
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
	if (rwd_health_start(s->model, &srv.health) < 0 ||
	    rwd_udp_start(conf->listen, conf->n_listen, workers, conf->busy_poll_us, srv.dnstap,
	                  &srv.udp) < 0 ||
	    rwd_tcp_start(conf->listen, conf->n_listen, &topts, &srv.tcp) < 0 ||
	    start_api(srv.conf, &srv, ctl, &api) < 0) {
		stop(&srv, ctl, api);
		return 1;
	}
	for (size_t i = 0; i < conf->n_listen; i++)
		rwd_info("listening on %s (UDP x%u, TCP)", conf->listen[i].text, workers);
	rwd_info("runwayd %s ready: %zu zones, %zu traffic names", VERSION, s->zones->n_zones,
	         s->model->n_traffic);

	for (;;) {
		/* Wake once a second for timed work (registration expiry). */
		struct timespec second = { .tv_sec = 1 };
		int sig = sigtimedwait(&sigs, NULL, &second);
		if (sig < 0) {
			rwd_control_tick(ctl);
			continue;
		}
		if (sig == SIGHUP) {
			rwd_control_reload(ctl);
			continue;
		}
		rwd_info("signal %d: stopping", sig);
		break;
	}
	stop(&srv, ctl, api);
	return 0;
}
