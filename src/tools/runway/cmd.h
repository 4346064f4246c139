/*
 * runway, the command-line tool: one subcommand per file, dispatched from
 * main.c. A subcommand gets argv with argv[0] = its own name and returns the
 * process exit status: 0 success, 1 failure, 2 usage error.
 */
#pragma once
#include <stdio.h>

#define RUNWAY_VERSION "0.1.0"

int cmd_check(int argc, char **argv);
int cmd_query(int argc, char **argv);
