/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The dashboard's files (src/server/api/dashboard/), built into the binary
 * as they are: no build step, nothing fetched at run time. Each asset is a
 * symbol NAME, its end NAME_end, and a NUL after it. Paths are relative to
 * the repository root, where make runs (the Makefile rebuilds this object
 * when a file of dashboard/ changes).
 */
#define ASSET(sym, file)                 \
	.globl sym, sym##_end;           \
	.type sym, @object;              \
	.balign 16;                      \
sym:                                     \
	.incbin file;                    \
sym##_end:                               \
	.byte 0

	.section .rodata
ASSET(rwd_dashboard_index_html, "src/server/api/dashboard/index.html")
ASSET(rwd_dashboard_app_js, "src/server/api/dashboard/app.js")
ASSET(rwd_dashboard_style_css, "src/server/api/dashboard/style.css")

	.section .note.GNU-stack, "", @progbits
