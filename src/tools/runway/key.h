/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * TSIG keys in text, for the tool (key.c): `runway key generate` writes
 * them, `runway query -y / --key-file` reads them back.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct key_text {
	char alg[16];                  /* "hmac-sha256" */
	char name[256];                /* absolute: "xfr." */
	char secret[128];              /* base64 */
};

/* The canonical name of an algorithm ("hmac-sha256"; "sha256" is accepted
 * too, any case), or NULL when it is not one runway knows. */
const char *key_algorithm(const char *text);

/* A key name made absolute into out ("xfr" -> "xfr."); false when it is not
 * a domain name of letters, digits, '-', '_' and dots. */
bool key_name(const char *text, char out[256]);

/* dig's and kdig's -y form, [ALGORITHM:]NAME:SECRET (default hmac-sha256).
 * false with a message in err. */
bool key_parse_y(const char *arg, struct key_text *k, char *err, size_t errlen);

/* The first key in a file: any format `runway key generate` writes (yaml,
 * knot, bind, nsd), tsig-keygen's and keymgr's output, or a line
 * ALGORITHM:NAME:SECRET. false with a message in err ("FILE: ..."). */
bool key_parse_file(const char *path, struct key_text *k, char *err, size_t errlen);
