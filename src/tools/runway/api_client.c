/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The HTTP client of the API subcommands (api_client.h): libcurl, one easy
 * handle per call, answers parsed with jansson.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "tools/runway/api_client.h"

void api_client_init(struct api_client *c, const char *cmd)
{
	const char *base = getenv("RUNWAY_API"), *token = getenv("RUNWAY_TOKEN");
	*c = (struct api_client){ .cmd = cmd, .base = base && *base ? base : RUNWAY_API_DEFAULT,
	                          .token = token && *token ? token : NULL, .timeout_ms = 10000 };
}

int api_fail(const struct api_client *c, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "runway %s: ", c->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

bool api_client_option(struct api_client *c, int opt, const char *arg, bool *usage_error)
{
	switch (opt) {
	case OPT_API:
		if (strncmp(arg, "http://", 7) != 0 && strncmp(arg, "https://", 8) != 0) {
			api_fail(c, "bad --api '%s' (expected http://HOST:PORT)", arg);
			*usage_error = true;
		}
		c->base = arg;
		return true;
	case OPT_TOKEN:
		c->token = arg;
		return true;
	case OPT_API_TIMEOUT: {
		char *end;
		errno = 0;
		long v = strtol(arg, &end, 10);
		if (errno || *end || end == arg || v < 1 || v > 3600000) {
			api_fail(c, "bad --timeout '%s' (milliseconds, 1..3600000)", arg);
			*usage_error = true;
		}
		c->timeout_ms = v;
		return true;
	}
	}
	return false;
}

char *api_escape(const char *segment)
{
	char *e = curl_easy_escape(NULL, segment, 0);
	char *copy = e ? strdup(e) : NULL;
	curl_free(e);
	return copy;
}

struct buf {
	char *p;
	size_t len;
	bool overflow;
};

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
	struct buf *b = ctx;
	size_t add = size * n;
	if (b->len + add > (64u << 20)) {      /* 64 MiB: more is not an answer of ours */
		b->overflow = true;
		return 0;
	}
	char *p = realloc(b->p, b->len + add + 1);
	if (p == NULL)
		return 0;
	memcpy(p + b->len, data, add);
	b->p = p;
	b->len += add;
	p[b->len] = '\0';
	return add;
}

/* The request; on an answer of any status returns 0 with *code and the
 * body in *b (the caller frees b->p); 1 after saying why there is none. */
static int perform(const struct api_client *c, const char *method, const char *path,
                   const char *body, long *code, struct buf *b)
{
	static bool inited;
	if (!inited) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		inited = true;
	}
	size_t blen = strlen(c->base);
	while (blen && c->base[blen - 1] == '/')
		blen--;
	size_t ulen = blen + strlen(path) + 1;
	char *url = malloc(ulen);
	char *auth = NULL;
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	int rc = 1;
	if (url == NULL || h == NULL) {
		api_fail(c, "out of memory");
		goto out;
	}
	snprintf(url, ulen, "%.*s%s", (int)blen, c->base, path);
	if (c->token) {
		size_t alen = strlen(c->token) + 32;
		auth = malloc(alen);
		if (auth == NULL) {
			api_fail(c, "out of memory");
			goto out;
		}
		snprintf(auth, alen, "Authorization: Bearer %s", c->token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");   /* no 100-continue round trip */
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "runway");
	CURLcode cr = curl_easy_perform(h);
	if (cr != CURLE_OK) {
		if (b->overflow)
			api_fail(c, "answer from %.*s too large", (int)blen, c->base);
		else
			api_fail(c, "cannot reach %.*s: %s", (int)blen, c->base, curl_easy_strerror(cr));
		goto out;
	}
	*code = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
	rc = 0;
out:
	curl_slist_free_all(hdrs);
	if (h)
		curl_easy_cleanup(h);
	free(auth);
	free(url);
	return rc;
}

/* "runway CMD: STATUS: error" for a failed request. */
static void say_failed(const struct api_client *c, const char *method, const char *path, long code,
                       json_t *j)
{
	const char *msg = json_string_value(json_object_get(j, "error"));
	if (msg)
		api_fail(c, "%ld: %s", code, msg);
	else
		api_fail(c, "%ld: %s %s%s", code, method, path,
		         code == 401 ? " (no token? use --token or RUNWAY_TOKEN)" : "");
}

int api_call(const struct api_client *c, const char *method, const char *path, const char *body,
             json_t **out, long *status, long allow_status)
{
	if (out)
		*out = NULL;
	struct buf b = { 0 };
	long code;
	if (perform(c, method, path, body, &code, &b)) {
		free(b.p);
		return 1;
	}
	if (status)
		*status = code;
	json_t *j = b.len ? json_loadb(b.p, b.len, 0, NULL) : NULL;
	free(b.p);
	if ((code >= 200 && code < 300) || (allow_status && code == allow_status)) {
		if (out)
			*out = j;
		else
			json_decref(j);
		return 0;
	}
	say_failed(c, method, path, code, j);
	json_decref(j);
	return 1;
}

int api_get_text(const struct api_client *c, const char *path, char **text, size_t *len)
{
	struct buf b = { 0 };
	long code;
	*text = NULL;
	*len = 0;
	if (perform(c, "GET", path, NULL, &code, &b)) {
		free(b.p);
		return 1;
	}
	if (code >= 200 && code < 300) {
		*text = b.p ? b.p : strdup("");
		*len = b.len;
		return *text ? 0 : api_fail(c, "out of memory");
	}
	json_t *j = b.len ? json_loadb(b.p, b.len, 0, NULL) : NULL;
	free(b.p);
	say_failed(c, "GET", path, code, j);
	json_decref(j);
	return 1;
}
