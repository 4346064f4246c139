/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * runway, the command-line tool: one subcommand per file, dispatched from
 * main.c. A subcommand gets argv with argv[0] = its own name and returns the
 * process exit status: 0 success, 1 failure, 2 usage error.
 */
#pragma once
#include <stdio.h>

/* RUNWAY_VERSION: the VERSION file, passed by the Makefile (-DRUNWAY_VERSION). */

int cmd_check(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_key(int argc, char **argv);      /* key.c: runway key generate */
/* Talking to runwayd's HTTP API (api_cmds.c, export.c; docs/api.md). */
int cmd_status(int argc, char **argv);
int cmd_set_weight(int argc, char **argv);
int cmd_drain(int argc, char **argv);
int cmd_undrain(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_changes(int argc, char **argv);
int cmd_zone(int argc, char **argv);     /* zone.c: status, refresh, retransfer */
