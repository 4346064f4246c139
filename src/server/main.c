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
#include "server/core/log.h"
#include "server/core/server.h"

#define VERSION "0.1.0"

static void usage(FILE *f)
{
	fprintf(f, "usage: runwayd -c CONFIG [-v]\n"
	           "  -c, --config FILE   YAML configuration (docs/configuration.md)\n"
	           "  -v, --verbose       log debug messages\n"
	           "  -V, --version       print the version\n"
	           "  -h, --help          this help\n"
	           "signals: HUP reloads configuration and zones, TERM/INT stop\n");
}

static bool same_listeners(const struct rwd_conf *a, const struct rwd_conf *b)
{
	if (a->n_listen != b->n_listen || a->workers != b->workers)
		return false;
	for (size_t i = 0; i < a->n_listen; i++)
		if (strcmp(a->listen[i].text, b->listen[i].text) != 0)
			return false;
	return true;
}

static void reload(struct rwd_server *srv)
{
	char err[RWD_CONF_ERRLEN];
	struct rwd_conf *next;
	rwd_info("reloading %s", srv->conf->path);
	if (rwd_conf_load(srv->conf->path, &next, err) < 0) {
		rwd_error("%s", err);
		rwd_error("reload failed: keeping the running configuration and zones");
		return;
	}
	unsigned errors = 0;
	struct rwd_snapshot *s = rwd_server_build(next, rwd_snapshot_get(), &errors);
	if (s == NULL) {
		rwd_error("reload failed: keeping the running configuration, zones and traffic");
		rwd_conf_free(next);
		return;
	}
	rwd_server_publish(srv, s);
	if (!same_listeners(srv->conf, next))
		rwd_warn("server.listen and server.workers change only at restart");
	rwd_info("reload done: %zu zones, %zu traffic names, %u errors", s->zones->n_zones,
	         s->model->n_traffic, errors);
	rwd_conf_free(srv->conf);
	srv->conf = next;
}

static void stop(struct rwd_server *srv)
{
	rwd_tcp_stop(srv->tcp);
	rwd_udp_stop(srv->udp);
	rwd_health_stop(srv->health);
	rwd_conf_free(srv->conf);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	const char *path = NULL;
	for (int c; (c = getopt_long(argc, argv, "c:vVh", opts, NULL)) != -1;) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'v': rwd_log_set_level(RWD_LOG_DEBUG); break;
		case 'V': printf("runwayd %s\n", VERSION); return 0;
		case 'h': usage(stdout); return 0;
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
	unsigned errors = 0;
	struct rwd_snapshot *s = rwd_server_build(srv.conf, NULL, &errors);
	if (s == NULL) {
		rwd_error("cannot start: %u error(s)", errors);
		rwd_conf_free(srv.conf);
		return 1;
	}
	rwd_snapshot_publish(s);

	const struct rwd_conf *conf = srv.conf;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned workers = conf->workers ? conf->workers : (cores > 0 ? (unsigned)cores : 1);
	struct rwd_tcp_opts topts = { .idle_timeout_ms = conf->tcp_idle_timeout_ms,
	                              .max_clients = conf->tcp_max_clients };
	if (rwd_health_start(s->model, &srv.health) < 0 ||
	    rwd_udp_start(conf->listen, conf->n_listen, workers, &srv.udp) < 0 ||
	    rwd_tcp_start(conf->listen, conf->n_listen, &topts, &srv.tcp) < 0) {
		stop(&srv);
		return 1;
	}
	for (size_t i = 0; i < conf->n_listen; i++)
		rwd_info("listening on %s (UDP x%u, TCP)", conf->listen[i].text, workers);
	rwd_info("runwayd %s ready: %zu zones, %zu traffic names", VERSION, s->zones->n_zones,
	         s->model->n_traffic);

	for (;;) {
		int sig = 0;
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(&srv);
			continue;
		}
		rwd_info("signal %d: stopping", sig);
		break;
	}
	stop(&srv);
	return 0;
}
