/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * runway: the command-line tool. "runway SUBCOMMAND [ARGS]".
 * To add a subcommand: write cmd_NAME(argc, argv) in its own file, declare
 * it in cmd.h and add a row to the table below.
 */
#include <stdio.h>
#include <string.h>

#include "tools/runway/cmd.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *args;
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "check", cmd_check, "-c FILE",
	  "validate a configuration and every zone it serves" },
	{ "query", cmd_query, "NAME [TYPE] [@SERVER] [OPTIONS]",
	  "send one DNS query and print the response (like dig); AXFR, IXFR=SERIAL" },
	{ "key", cmd_key, "generate [-a ALG] [-f FMT] NAME",
	  "make a TSIG key for tsig_keys: (or a peer's configuration)" },
	{ "status", cmd_status, "[--api URL] [--token T]",
	  "health of every endpoint and the traffic names (HTTP API)" },
	{ "set-weight", cmd_set_weight, "NAME ENDPOINT WEIGHT",
	  "change an endpoint's weight in a traffic name's policy" },
	{ "drain", cmd_drain, "ENDPOINT", "take an endpoint out of every answer" },
	{ "undrain", cmd_undrain, "ENDPOINT", "put a drained endpoint back" },
	{ "simulate", cmd_simulate, "NAME [TYPE] --client ADDRESS",
	  "what a client would be answered, and why" },
	{ "export", cmd_export, "DIR", "write the served zones and traffic model as files" },
	{ "changes", cmd_changes, "[list | drop KEY] [-c FILE]",
	  "the changes the API stored on top of the files; drop one" },
	{ "zone", cmd_zone, "status|refresh|retransfer ZONE",
	  "a zone's transfers: serial, primaries, timers, errors; refresh now" },
};

#define N_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: runway SUBCOMMAND [ARGS]\n\nsubcommands:\n");
	for (size_t i = 0; i < N_SUBCOMMANDS; i++)
		fprintf(out, "  %-10s %-33s %s\n", subcommands[i].name, subcommands[i].args,
		        subcommands[i].summary);
	fprintf(out, "  %-10s %-33s %s\n", "help", "[SUBCOMMAND]", "show this help, or a subcommand's");
	fprintf(out, "\noptions:\n  -h, --help     show this help\n"
	             "  -V, --version  show the version\n"
	             "\nThe API subcommands take --api URL and --token T (or RUNWAY_API, RUNWAY_TOKEN).\n"
	             "\n'runway SUBCOMMAND --help' describes a subcommand's options (docs/cli.md).\n");
}

static const struct subcommand *find(const char *name)
{
	for (size_t i = 0; i < N_SUBCOMMANDS; i++)
		if (!strcmp(subcommands[i].name, name))
			return &subcommands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(name, "-V") || !strcmp(name, "--version") || !strcmp(name, "version")) {
		printf("runway %s\n", RUNWAY_VERSION);
		return 0;
	}
	if (!strcmp(name, "help")) {
		if (argc < 3) {
			usage(stdout);
			return 0;
		}
		const struct subcommand *sc = find(argv[2]);
		if (sc == NULL) {
			fprintf(stderr, "runway: unknown subcommand '%s'\n\n", argv[2]);
			usage(stderr);
			return 2;
		}
		char *help_argv[] = { argv[2], "--help", NULL };
		return sc->run(2, help_argv);
	}
	const struct subcommand *sc = find(name);
	if (sc == NULL) {
		fprintf(stderr, "runway: unknown subcommand '%s'\n\n", name);
		usage(stderr);
		return 2;
	}
	return sc->run(argc - 1, argv + 1);
}
