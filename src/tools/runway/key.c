/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * runway key generate [--algorithm ALG] [--format yaml|knot|bind|nsd] NAME:
 * a new TSIG key (RFC 8945) with a random secret, printed ready to paste:
 * as a tsig_keys: entry of runway.yaml (the default), or in the
 * configuration syntax of Knot DNS, BIND or NSD, so the same key can be given
 * to a peer (run it once, print the one secret in several formats with
 * --secret). The secret is as long as the algorithm's digest (RFC 8945 6:
 * "at least as long as the output of the HMAC"), from getrandom(2), in
 * base64. Exit 0, 1 (no randomness), 2 usage.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "lib/dname.h"
#include "lib/wire.h"
#include "tools/runway/cmd.h"
#include "tools/runway/key.h"

static const struct {
	const char *name;
	size_t bytes;                  /* digest size: the secret's length */
} algorithms[] = {
	{ "hmac-sha1", 20 }, { "hmac-sha224", 28 }, { "hmac-sha256", 32 },
	{ "hmac-sha384", 48 }, { "hmac-sha512", 64 },
};

#define N_ALGS (sizeof(algorithms) / sizeof(algorithms[0]))

const char *key_algorithm(const char *text)
{
	for (size_t i = 0; i < N_ALGS; i++)
		if (strcasecmp(text, algorithms[i].name) == 0 ||
		    strcasecmp(text, algorithms[i].name + 5) == 0)   /* "sha256", as NSD allows */
			return algorithms[i].name;
	return NULL;
}

bool key_name(const char *text, char out[256])
{
	static const uint8_t root[1] = { 0 };
	uint8_t dn[RW_DNAME_MAXLEN];
	size_t n = strlen(text);
	if (n == 0 || n > 253 || strcmp(text, ".") == 0)
		return false;
	/* Letters, digits, '-', '_' and dots only: every format below can
	 * carry the name without quoting or escapes. */
	for (const char *p = text; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			return false;
	if (rw_dname_from_str(text, root, dn) < 0)
		return false;
	snprintf(out, 256, "%s%s", text, text[n - 1] == '.' ? "" : ".");
	return true;
}

/* Is text base64 of 1..64 bytes (as tsig_keys: wants)? */
static bool good_secret(const char *text)
{
	size_t n = strlen(text);
	if (n == 0 || n % 4 != 0 || n > 4 * 22)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)text[i]) && text[i] != '+' && text[i] != '/' &&
		    !(text[i] == '=' && i >= n - 2))
			return false;
	unsigned char out[4 * 22];
	return EVP_DecodeBlock(out, (const unsigned char *)text, (int)n) > 0;
}

bool key_parse_y(const char *arg, struct key_text *k, char *err, size_t errlen)
{
	char buf[512];
	if (strlen(arg) >= sizeof(buf)) {
		snprintf(err, errlen, "key too long");
		return false;
	}
	memcpy(buf, arg, strlen(arg) + 1);
	char *a = buf, *n, *s;
	char *c1 = strchr(buf, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (c1 == NULL) {
		snprintf(err, errlen, "expected [ALGORITHM:]NAME:SECRET, not '%s'", arg);
		return false;
	}
	*c1 = '\0';
	if (c2) {
		*c2 = '\0';
		n = c1 + 1;
		s = c2 + 1;
	} else {
		n = a;
		s = c1 + 1;
		a = "hmac-sha256";
	}
	const char *alg = key_algorithm(a);
	if (alg == NULL) {
		snprintf(err, errlen, "unknown TSIG algorithm '%s'", a);
		return false;
	}
	if (!key_name(n, k->name)) {
		snprintf(err, errlen, "bad key name '%s'", n);
		return false;
	}
	if (!good_secret(s)) {
		snprintf(err, errlen, "the secret of key %s is not base64 of 1..64 bytes", k->name);
		return false;
	}
	snprintf(k->alg, sizeof(k->alg), "%s", alg);
	snprintf(k->secret, sizeof(k->secret), "%s", s);
	return true;
}

/* The value after "key" in a line (":" or spaces, quotes, a ';' or ',' or
 * '}' after it), into out; false when the line does not start with key. */
static bool field(const char *line, const char *key, char *out, size_t size)
{
	size_t kl = strlen(key);
	if (strncmp(line, key, kl) != 0 || (line[kl] != ':' && line[kl] != ' ' && line[kl] != '\t'))
		return false;
	const char *p = line + kl;
	while (*p == ':' || *p == ' ' || *p == '\t' || *p == '"')
		p++;
	size_t n = strcspn(p, "\";,} \t\r\n");
	if (n == 0 || n >= size)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

bool key_parse_file(const char *path, struct key_text *k, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return false;
	}
	char line[1024], name[256] = "", alg[64] = "", secret[256] = "";
	bool ok = false;
	int no = 0;
	while (!ok && no < 10000 && fgets(line, sizeof(line), f)) {
		no++;
		char *p = line;
		while (*p == ' ' || *p == '\t' || *p == '-')
			p++;
		if (*p == '#' || *p == '\0' || *p == '\n')
			continue;
		if (strchr(p, ':') && !strchr(p, ' ') && !strchr(p, '{') && !strchr(p, '"') &&
		    strchr(strchr(p, ':') + 1, ':')) {       /* ALGORITHM:NAME:SECRET */
			p[strcspn(p, "\r\n")] = '\0';
			ok = key_parse_y(p, k, err, errlen);
			fclose(f);
			return ok;
		}
		char *brace = strchr(p, '{');
		if (brace && strncmp(p, "key ", 4) != 0) {   /* yaml: NAME: { algorithm: A, secret: S } */
			size_t n = strcspn(p, ": \t");
			if (n < sizeof(name)) {
				memcpy(name, p, n);
				name[n] = '\0';
			}
			for (char *q = brace + 1; *q; q++) {
				while (*q == ' ' || *q == ',')
					q++;
				field(q, "algorithm", alg, sizeof(alg));
				field(q, "secret", secret, sizeof(secret));
				q += strcspn(q, ",}");
				if (*q == '\0')
					break;
			}
		} else if (!field(p, "id", name, sizeof(name)) && !field(p, "name", name, sizeof(name)) &&
		           !field(p, "key", name, sizeof(name)) && !field(p, "algorithm", alg, sizeof(alg))) {
			field(p, "secret", secret, sizeof(secret));
		}
		ok = name[0] && alg[0] && secret[0];
	}
	fclose(f);
	if (!ok) {
		snprintf(err, errlen, "%s: no TSIG key found (a key name, algorithm and secret)", path);
		return false;
	}
	char y[700];
	snprintf(y, sizeof(y), "%s:%s:%s", alg, name, secret);
	if (!key_parse_y(y, k, err + 0, errlen)) {
		char why[256];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s: %s", path, why);
		return false;
	}
	return true;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: runway key generate [--algorithm ALG] [--format FORMAT] [--secret B64] NAME\n\n"
	        "Make a TSIG key NAME (RFC 8945) with a random secret and print it ready to\n"
	        "paste into runway.yaml's tsig_keys: section, or into a peer's configuration.\n\n"
	        "  -a, --algorithm ALG  hmac-sha256 (default), hmac-sha384, hmac-sha512,\n"
	        "                       hmac-sha224, or hmac-sha1 (for old peers only)\n"
	        "  -f, --format FORMAT  yaml (runway, the default), knot, bind or nsd\n"
	        "      --secret B64     print this secret (base64) instead of a new one:\n"
	        "                       the same key in another format\n"
	        "  -h, --help           show this help\n\n"
	        "The first line, a comment, is the key as `runway query -y` (and kdig -y,\n"
	        "dig -y) take it: ALGORITHM:NAME:SECRET.\n\n"
	        "Exit status: 0 ok, 1 no random bytes, 2 usage error.\n");
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("runway key: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

int cmd_key(int argc, char **argv)
{
	enum { OPT_SECRET = 256 };
	static const struct option longopts[] = {
		{ "algorithm", required_argument, NULL, 'a' },
		{ "format", required_argument, NULL, 'f' },
		{ "secret", required_argument, NULL, OPT_SECRET },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *alg = "hmac-sha256", *format = "yaml", *given = NULL;
	optind = 0;
	for (int c; (c = getopt_long(argc, argv, "a:f:h", longopts, NULL)) != -1;) {
		switch (c) {
		case 'a':
			alg = key_algorithm(optarg);
			if (alg == NULL)
				return usage_error("unknown algorithm '%s' (hmac-sha256, hmac-sha384, "
				                   "hmac-sha512, hmac-sha224, hmac-sha1)", optarg);
			break;
		case 'f':
			format = optarg;
			if (strcmp(format, "yaml") && strcmp(format, "knot") && strcmp(format, "bind") &&
			    strcmp(format, "nsd"))
				return usage_error("unknown format '%s' (yaml, knot, bind, nsd)", optarg);
			break;
		case OPT_SECRET:
			given = optarg;
			if (!good_secret(given))
				return usage_error("--secret '%s' is not base64 of 1..64 bytes", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc || strcmp(argv[optind], "generate") != 0) {
		if (optind < argc)
			return usage_error("unknown action '%s' (runway key generate NAME)", argv[optind]);
		return usage_error("which action? (runway key generate NAME)");
	}
	optind++;                          /* getopt_long moved the options before it */
	if (optind >= argc)
		return usage_error("which key name? (runway key generate NAME)");
	if (optind + 1 < argc)
		return usage_error("unexpected argument '%s'", argv[optind + 1]);
	char name[256];
	if (!key_name(argv[optind], name))
		return usage_error("bad key name '%s' (a domain name of letters, digits, '-', '_')",
		                   argv[optind]);

	char secret[4 * 22 + 1];
	if (given) {
		snprintf(secret, sizeof(secret), "%s", given);
	} else {
		size_t bytes = 0;
		for (size_t i = 0; i < N_ALGS; i++)
			if (strcmp(alg, algorithms[i].name) == 0)
				bytes = algorithms[i].bytes;
		unsigned char raw[64];
		if (getrandom(raw, bytes, 0) != (ssize_t)bytes) {
			fprintf(stderr, "runway key: getrandom: cannot get %zu random bytes\n", bytes);
			return 1;
		}
		EVP_EncodeBlock((unsigned char *)secret, raw, (int)bytes);
		explicit_bzero(raw, sizeof(raw));
	}

	printf("# %s:%s:%s\n", alg, name, secret);
	if (strcmp(format, "yaml") == 0)
		printf("tsig_keys:\n  %s: { algorithm: %s, secret: \"%s\" }\n", name, alg, secret);
	else if (strcmp(format, "knot") == 0)
		printf("key:\n  - id: %s\n    algorithm: %s\n    secret: %s\n", name, alg, secret);
	else if (strcmp(format, "bind") == 0)
		printf("key \"%s\" {\n\talgorithm %s;\n\tsecret \"%s\";\n};\n", name, alg, secret);
	else
		printf("key:\n\tname: \"%s\"\n\talgorithm: %s\n\tsecret: \"%s\"\n", name, alg, secret);
	explicit_bzero(secret, sizeof(secret));
	return 0;
}
