/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the subcommands that talk to runwayd's HTTP API share (libcurl,
 * jansson): the --api / --token options (env RUNWAY_API, RUNWAY_TOKEN),
 * one call per request, and errors as one line on stderr:
 *   runway drain: 404: no endpoint 'x'
 */
#pragma once
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>

#define RUNWAY_API_DEFAULT "http://127.0.0.1:8053"

struct api_client {
	const char *cmd;               /* "drain": prefix of error messages */
	const char *base;              /* "http://127.0.0.1:8053" */
	const char *token;             /* may be NULL */
	long timeout_ms;
};

/* getopt_long codes of the shared options. */
enum { OPT_API = 1000, OPT_TOKEN, OPT_API_TIMEOUT };
#define API_LONGOPTS \
	{ "api", required_argument, NULL, OPT_API }, \
	{ "token", required_argument, NULL, OPT_TOKEN }, \
	{ "timeout", required_argument, NULL, OPT_API_TIMEOUT }
#define API_USAGE \
	"      --api URL      runwayd's API (default $RUNWAY_API, else " RUNWAY_API_DEFAULT ")\n" \
	"      --token T      bearer token (default $RUNWAY_TOKEN)\n" \
	"      --timeout MS   give up after MS milliseconds (default 10000)\n"

/* Defaults from the environment. */
void api_client_init(struct api_client *c, const char *cmd);

/* Handle a shared option; false when c is not one (or its value is bad,
 * after saying so: then *usage_error is set). */
bool api_client_option(struct api_client *c, int opt, const char *arg, bool *usage_error);

/* "runway CMD: message" on stderr; returns 1. */
int api_fail(const struct api_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * One request: method, path (already escaped, may carry a query string),
 * body (JSON text or NULL). On a 2xx answer returns 0 with the parsed JSON
 * in *out (NULL if out is NULL or the answer is not JSON); otherwise prints
 * "runway CMD: STATUS: error" (or why there is no answer) and returns 1.
 * With allow_status != 0, that status is also returned as 0 (*status tells).
 */
int api_call(const struct api_client *c, const char *method, const char *path, const char *body,
             json_t **out, long *status, long allow_status);

/* GET a text answer (2xx) into *text (malloc'ed, NUL-terminated); 0, or 1 after saying why. */
int api_get_text(const struct api_client *c, const char *path, char **text, size_t *len);

/* One path segment, %-escaped (malloc'ed). */
char *api_escape(const char *segment);
