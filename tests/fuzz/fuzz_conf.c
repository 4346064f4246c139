/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the configuration loader: arbitrary bytes go to
 * rwd_conf_load_buf(). Beyond "no crash, no leak" (ASan), it checks the
 * contract: success yields a config within the documented ranges, failure
 * yields no config and an error that starts with the file name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "server/conf/conf.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rwd_conf *conf = (struct rwd_conf *)1;
	char err[RWD_CONF_ERRLEN];
	int rc = rwd_conf_load_buf((const char *)data, size, "fuzz.yaml", "/base", &conf, err);

	if (rc != 0) {
		CHECK(rc < 0 && conf == NULL);
		CHECK(strncmp(err, "fuzz.yaml:", 10) == 0 || strcmp(err, "fuzz.yaml: out of memory") == 0);
		CHECK(strlen(err) < RWD_CONF_ERRLEN);
		return 0;
	}
	CHECK(conf != NULL && strcmp(conf->path, "fuzz.yaml") == 0);
	CHECK(conf->n_listen >= 1 && conf->listen != NULL);
	CHECK(!(conf->dnstap.file && conf->dnstap.socket));   /* at most one dnstap output */
	CHECK(conf->dnstap.log_queries || conf->dnstap.log_responses);
	for (size_t i = 0; i < conf->n_listen; i++) {
		const struct rw_sockaddr *l = &conf->listen[i];
		struct rw_sockaddr again;
		/* The canonical text parses back to the same address. */
		CHECK(rw_sockaddr_parse(l->text, 53, &again) == 0);
		CHECK(again.addr_len == l->addr_len && memcmp(&again.addr, &l->addr, l->addr_len) == 0);
	}
	CHECK(conf->workers <= 1024);
	CHECK(conf->edns_udp_size >= 512 && conf->edns_udp_size <= 4096);
	CHECK((conf->nsid == NULL) == (conf->nsid_len == 0) && conf->nsid_len <= 128);
	CHECK(conf->tcp_idle_timeout_ms >= 1 && conf->tcp_idle_timeout_ms <= 3600000);
	CHECK(conf->tcp_max_clients >= 1 && conf->tcp_max_clients <= 1000000);
	for (size_t i = 0; i < conf->n_zones; i++) {
		const struct rwd_conf_zone *z = &conf->zones[i];
		CHECK(z->name != NULL && z->name[strlen(z->name) - 1] == '.');
		CHECK(z->file != NULL && z->file[0] == '/');  /* joined to /base or absolute */
		CHECK(z->line >= 1);
	}
	rwd_conf_free(conf);
	return 0;
}
