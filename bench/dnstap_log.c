/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What rwd_dnstap_log() costs the calling thread: one producer logs
 * exchanges (a 56-byte query and a 120-byte response, two frames) to a
 * file in bursts of 100, with a pause after each so libfstrm's writer
 * thread keeps up; only the time inside the bursts is counted.
 *
 *   make && cc -O2 -std=gnu11 -D_GNU_SOURCE -Isrc bench/dnstap_log.c \
 *     build/librunwayd.a build/librunway.a $(pkg-config --libs libknot libzscanner \
 *     liburcu-qsbr yaml-0.1 libuv libmaxminddb openssl lmdb libmicrohttpd jansson libfstrm) \
 *     -lpthread -lm -o build/dnstap_log && build/dnstap_log
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/conf/conf.h"
#include "server/dnstap/dnstap.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
	char dir[] = "/tmp/dnstap_log.XXXXXX", yaml[128], err[RWD_CONF_ERRLEN];
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(yaml, sizeof(yaml), "dnstap:\n  file: %s/bench.dnstap\n", dir);
	struct rwd_conf *conf;
	struct rwd_dnstap *d;
	if (rwd_conf_load_buf(yaml, strlen(yaml), "bench", NULL, &conf, err) != 0 ||
	    rwd_dnstap_start(&conf->dnstap, "runwayd bench", 1, &d) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct rwd_dnstap_queue *q = rwd_dnstap_queue_take(d);
	uint8_t query[56] = { 0x12, 0x34, 0x01, 0x00, 0, 1 }, response[120] = { 0x12, 0x34, 0x84 };
	struct sockaddr_in client = { .sin_family = AF_INET, .sin_port = htons(40000) };
	struct sockaddr_in server = { .sin_family = AF_INET, .sin_port = htons(53) };
	inet_pton(AF_INET, "192.0.2.7", &client.sin_addr);
	inet_pton(AF_INET, "192.0.2.53", &server.sin_addr);
	struct rwd_dnstap_msg m = {
		.client = (struct sockaddr *)&client, .server = (struct sockaddr *)&server,
		.query = query, .query_len = sizeof(query),
		.response = response, .response_len = sizeof(response),
	};
	clock_gettime(CLOCK_REALTIME, &m.query_time);
	for (int round = 0; round < 5; round++) {
		double inside = 0;
		int n = 0;
		for (int burst = 0; burst < 2000; burst++) {
			double t0 = now();
			for (int i = 0; i < 100; i++)
				rwd_dnstap_log(q, &m);
			inside += now() - t0;
			n += 100;
			struct timespec pause = { 0, 300000 };
			nanosleep(&pause, NULL);
		}
		uint64_t written, dropped;
		rwd_dnstap_counts(d, &written, &dropped);
		printf("round %d: %.0f ns per exchange (2 frames); %llu frames queued, %llu dropped\n",
		       round + 1, inside / n * 1e9, (unsigned long long)written,
		       (unsigned long long)dropped);
	}
	rwd_dnstap_stop(d);
	rwd_conf_free(conf);
	char path[64];
	snprintf(path, sizeof(path), "%s/bench.dnstap", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}
