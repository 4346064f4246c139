/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The dashboard's files, from the symbols of dashboard_assets.S.
 */
#include <stdlib.h>
#include <string.h>

#include "server/api/dashboard.h"

extern const char rwd_dashboard_index_html[], rwd_dashboard_index_html_end[];
extern const char rwd_dashboard_app_js[], rwd_dashboard_app_js_end[];
extern const char rwd_dashboard_style_css[], rwd_dashboard_style_css_end[];

struct asset {
	const char *path, *type;
	const char *start, *end;
};

static const struct asset assets[] = {
	{ "/", "text/html; charset=utf-8", rwd_dashboard_index_html, rwd_dashboard_index_html_end },
	{ "/index.html", "text/html; charset=utf-8", rwd_dashboard_index_html,
	  rwd_dashboard_index_html_end },
	{ "/app.js", "text/javascript; charset=utf-8", rwd_dashboard_app_js, rwd_dashboard_app_js_end },
	{ "/style.css", "text/css; charset=utf-8", rwd_dashboard_style_css, rwd_dashboard_style_css_end },
};

static const struct asset *find(const char *path)
{
	for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)
		if (strcmp(path, assets[i].path) == 0)
			return &assets[i];
	return NULL;
}

bool rwd_api_dashboard_path(const char *path)
{
	return path && find(path) != NULL;
}

bool rwd_api_dashboard(const char *path, struct rwd_api_response *out)
{
	const struct asset *a = find(path);
	if (a == NULL)
		return false;
	size_t len = (size_t)(a->end - a->start);
	char *body = malloc(len + 1);
	if (body == NULL) {
		out->status = 500;
		out->content_type = "text/plain; charset=utf-8";
		out->body = strdup("out of memory\n");
		out->body_len = out->body ? strlen(out->body) : 0;
		return true;
	}
	memcpy(body, a->start, len);
	body[len] = '\0';
	out->status = 200;
	out->content_type = a->type;
	out->body = body;
	out->body_len = len;
	return true;
}
