/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The dashboard: a static page (index.html, app.js, style.css, built into
 * the binary by dashboard_assets.S) served at GET /, /app.js, /style.css.
 * The files hold no data, so they need no token; the page calls the API
 * with the token the user gives it (docs/api.md, "Dashboard").
 */
#pragma once
#include <stdbool.h>

#include "server/api/api.h"

/* Is path one of the dashboard's files? (Served without a token.) */
bool rwd_api_dashboard_path(const char *path);

/* Answer GET path with its file; false (out untouched) when it is none. */
bool rwd_api_dashboard(const char *path, struct rwd_api_response *out);
