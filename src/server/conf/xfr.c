/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The configuration of zone transfers: TSIG keys (tsig_keys:) and each
 * zone's transfer settings (notify, allow_transfer, primaries, allow_notify,
 * the secondary's timer bounds), checked across values once a key or a zone
 * has been read by the walker (conf.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libdnssec/tsig.h>
#include <libknot/libknot.h>
#include <openssl/evp.h>

#include "lib/error.h"
#include "server/conf/conf_int.h"

bool cf_base64(const char *s, uint8_t **out, size_t *len)
{
	size_t n = strlen(s), pad = 0;
	if (n == 0 || n % 4 || n > INT_MAX)
		return false;
	/* EVP_DecodeBlock skips blanks at both ends and counts padding as
	 * bytes: only the base64 alphabet is allowed, '=' only at the end */
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alpha = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		             (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
		if (ch == '=' && i + 2 >= n && (i + 1 == n || s[i + 1] == '='))
			pad++;
		else if (!alpha || pad)
			return false;
	}
	uint8_t *b = malloc(n / 4 * 3 + 1);
	if (!b)
		return false;
	int r = EVP_DecodeBlock(b, (const unsigned char *)s, (int)n);
	if (r < 0 || (size_t)r < pad || (size_t)r - pad == 0) {
		free(b);
		return false;
	}
	*out = b;
	*len = (size_t)r - pad;
	return true;
}

int cf_check_tsig_key(struct ctx *c, const struct opt *o, void *elem, int line)
{
	struct rwd_conf_tsig_key *k = elem;
	char text[KNOT_DNAME_TXT_MAXLEN + 1];
	(void)o, (void)line;
	/* the walker stored the index of the choice: the table is in
	 * dnssec_tsig_algorithm_t order */
	static const char *const names[] = {
		"hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512",
	};
	int i = k->alg;
	k->alg = DNSSEC_TSIG_HMAC_SHA1 + i;
	if (!knot_dname_to_str(text, k->dname, sizeof(text)) || !(k->name = strdup(text)) ||
	    !(k->algorithm = strdup(names[i])))
		return cf_nomem(c);
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	const struct rwd_conf_tsig_key *x = *(const struct rwd_conf_tsig_key *const *)a;
	const struct rwd_conf_tsig_key *y = *(const struct rwd_conf_tsig_key *const *)b;
	int d = memcmp(x->dname, y->dname, sizeof(x->dname));
	return d ? d : (x->line > y->line) - (x->line < y->line);
}

/* Key names are unique, without regard to case or the trailing dot. */
int cf_check_tsig_keys(struct ctx *c, const struct opt *o, void *base)
{
	struct rwd_conf *conf = base;
	size_t n = conf->n_tsig_keys;
	const struct rwd_conf_tsig_key **v = malloc((n ? n : 1) * sizeof(*v));
	const struct rwd_conf_tsig_key *dup = NULL, *first = NULL;
	(void)o;
	if (!v)
		return cf_nomem(c);
	for (size_t i = 0; i < n; i++)
		v[i] = &conf->tsig_keys[i];
	qsort(v, n, sizeof(*v), cmp_key);
	for (size_t i = 1, start = 0; i < n; i++) {
		if (memcmp(v[start]->dname, v[i]->dname, sizeof(v[i]->dname)))
			start = i;
		else if (i == start + 1 && (!dup || v[i]->line < dup->line))
			dup = v[i], first = v[start];
	}
	free(v);
	if (dup)
		return cf_fail(c, dup->line, "duplicate TSIG key '%s' (first on line %d)", dup->name,
		               cf_ln(c, first->line));
	return 0;
}

/* A rule of allow_transfer or allow_notify: match, key or both. */
int cf_check_xfr_rule(struct ctx *c, const struct opt *o, void *elem, int line)
{
	struct rwd_conf_xfr_rule *r = elem;
	char path[128];
	snprintf(path, sizeof(path), "%s.match", o->path);
	if (cf_was_set(c, path))
		return 0;
	if (!r->key)
		return cf_fail(c, line, "%s: a rule needs match, key or both", o->path);
	r->match.any = true;               /* a key alone: from anywhere */
	return 0;
}

/* A rule admitting the address of remote r alone (/32 or /128), with its key. */
static int rule_of(const struct rwd_conf_remote *r, struct rwd_conf_xfr_rule *rule, int line)
{
	const struct sockaddr *sa = (const struct sockaddr *)&r->addr.addr;
	char text[INET6_ADDRSTRLEN];
	const void *bytes = sa->sa_family == AF_INET
	                  ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
	                  : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (!inet_ntop(sa->sa_family, bytes, text, sizeof(text)))
		return RW_EINVAL;
	rule->key = r->key;
	rule->line = line;
	return rwd_acl_add_text(&rule->match, text);
}

static int no_repeats(struct ctx *c, const char *path, const struct rwd_conf_remote *v,
                      size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t k = 0; k < i; k++)
			if (!strcmp(v[i].addr.text, v[k].addr.text))
				return cf_fail(c, cf_was_set(c, path), "%s: %s is listed twice", path,
				               v[i].addr.text);
	return 0;
}

/*
 * The folder of a secondary's file exists, or can be made: its nearest
 * existing ancestor is a folder runwayd may write in.
 */
static int check_copy_folder(struct ctx *c, const char *path, const char *file, int line)
{
	char dir[PATH_MAX], buf[260];
	size_t n = strlen(file);
	if (n >= sizeof(dir))
		return cf_fail(c, line, "%s: path too long", path);
	memcpy(dir, file, n + 1);
	bool missing = false;
	for (;;) {
		char *slash = strrchr(dir, '/');
		if (!slash)
			strcpy(dir, ".");
		else if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
		struct stat st;
		if (stat(dir, &st) == 0) {
			if (!S_ISDIR(st.st_mode))
				return cf_fail(c, line, "%s: %s is not a folder", path,
				               cf_show_path(dir, buf));
			if (missing && access(dir, W_OK | X_OK) != 0)
				return cf_fail(c, line, "%s: cannot make a folder in %s: %s", path,
				               cf_show_path(dir, buf), strerror(errno));
			return 0;
		}
		if (errno != ENOENT)
			return cf_fail(c, line, "%s: %s: %s", path, cf_show_path(dir, buf),
			               strerror(errno));
		missing = true;
		if (!strcmp(dir, ".") || !strcmp(dir, "/"))
			return 0;
	}
}

/* The path of row key of list row o, in the caller's buffer path. */
#define ROW(key) (snprintf(path, sizeof(path), "%s.%s", o->path, key), path)

/* A zone's catalog: section (top-level zones: views' have no such rows). */
static int check_catalog(struct ctx *c, const struct opt *o, struct rwd_conf_zone *z, int line)
{
	char path[128];
	int cat = cf_was_set(c, ROW("catalog")), member_of = cf_was_set(c, ROW("catalog.member_of"));
	int group = cf_was_set(c, ROW("catalog.group"));
	if (!cat) {
		z->catalog_role = RWD_CATALOG_NONE;
		return 0;
	}
	/* the walker stored the index of the choice: member, producer, consumer */
	z->catalog_role = (enum rwd_catalog_role)(z->catalog_role + 1);
	if (z->catalog_role == RWD_CATALOG_CONSUMER) {
		if (member_of || group)
			return cf_fail(c, member_of > group ? member_of : group,
			               "%s.catalog: a consumer has no member_of or group", o->path);
		if (!z->n_primaries)
			return cf_fail(c, cat, "%s.catalog: a consumer is a secondary zone: it needs "
			               "primaries (and file)", o->path);
		return 0;
	}
	if (z->catalog_role == RWD_CATALOG_MEMBER) {
		if (!member_of)
			return cf_fail(c, cat, "%s.catalog: member_of is required (or role: producer)",
			               o->path);
		if (z->catalog_group && strlen(z->catalog_group) > 255)
			return cf_fail(c, group, "%s.catalog.group: longer than 255 bytes", o->path);
		return 0;
	}
	if (member_of || group)
		return cf_fail(c, member_of > group ? member_of : group,
		               "%s.catalog: a producer has no member_of or group", o->path);
	if (z->file)
		return cf_fail(c, cf_was_set(c, ROW("file")), "%s.file: a catalog producer has no "
		               "file (its records are generated)", o->path);
	if (z->n_primaries)
		return cf_fail(c, cf_was_set(c, ROW("primaries")), "%s: a catalog producer has no "
		               "primaries", o->path);
	/* a name for messages about the zone as a whole; never opened */
	if (asprintf(&z->file, "catalog:%s", z->name) < 0) {
		z->file = NULL;
		return cf_nomem(c);
	}
	(void)line;
	return 0;
}

/* A template (templates:): the rows of a zone's transfer settings, and a
 * file pattern with {zone} in it (each member its own file). */
int cf_check_template(struct ctx *c, const struct opt *o, void *elem, int line)
{
	struct rwd_conf_zone *z = elem;
	char path[128];
	int rc;
	(void)line;
	if (!strstr(z->file, "{zone}"))
		return cf_fail(c, cf_was_set(c, ROW("file")), "%s.file: needs {zone} (each member "
		               "zone its own file)", o->path);
	if ((rc = no_repeats(c, ROW("notify"), z->notify, z->n_notify)) ||
	    (rc = no_repeats(c, ROW("primaries"), z->primaries, z->n_primaries)))
		return rc;
	const struct { const char *name; uint32_t min, max; } b[] = {
		{ "refresh", z->refresh_min, z->refresh_max },
		{ "retry", z->retry_min, z->retry_max },
		{ "expire", z->expire_min, z->expire_max },
	};
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		if (b[i].min > b[i].max)
			return cf_fail(c, line, "%s: %s_min %u is more than %s_max %u", o->path,
			               b[i].name, b[i].min, b[i].name, b[i].max);
	/* with primaries of its own, NOTIFY from them by default, as a zone's */
	if (z->n_primaries && !cf_was_set(c, ROW("allow_notify"))) {
		if (!(z->allow_notify = calloc(z->n_primaries, sizeof(*z->allow_notify))))
			return cf_nomem(c);
		for (size_t i = 0; i < z->n_primaries; i++) {
			z->n_allow_notify = i + 1;
			if (rule_of(&z->primaries[i], &z->allow_notify[i], line))
				return cf_nomem(c);
		}
	}
	return 0;
}

int cf_check_consumers(struct ctx *c, const struct rwd_conf *conf)
{
	bool dflt = false;
	for (size_t i = 0; i < conf->n_templates; i++)
		dflt |= strcmp(conf->templates[i].name, "default") == 0;
	for (size_t i = 0; i < conf->n_zones && !dflt; i++)
		if (conf->zones[i].catalog_role == RWD_CATALOG_CONSUMER)
			return cf_fail(c, conf->zones[i].line, "zones: catalog consumer '%s' needs a "
			               "template called default (templates: {default: {file: "
			               "\"members/{zone}zone\"}})", conf->zones[i].name);
	return 0;
}

int cf_check_catalogs(struct ctx *c, const struct opt *o, struct rwd_conf_zone *zones, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct rwd_conf_zone *m = &zones[i];
		if (m->catalog_role != RWD_CATALOG_MEMBER)
			continue;
		bool found = false;
		for (size_t k = 0; k < n && !found; k++)
			found = zones[k].catalog_role == RWD_CATALOG_PRODUCER &&
			        !memcmp(zones[k].dname, m->catalog_member_of,
			                knot_dname_size(m->catalog_member_of));
		if (!found) {
			char text[KNOT_DNAME_TXT_MAXLEN + 1];
			if (!knot_dname_to_str(text, m->catalog_member_of, sizeof(text)))
				snprintf(text, sizeof(text), "?");
			return cf_fail(c, m->line, "%s: zone '%s' is a member of '%s', which is no catalog "
			               "here (a zone with catalog: {role: producer})", o->path, m->name, text);
		}
	}
	return 0;
}

struct bound {
	const char *name;
	uint32_t min, max;
};

int cf_check_zone_xfr(struct ctx *c, const struct opt *o, void *elem, int line)
{
	struct rwd_conf_zone *z = elem;
	char path[128];
	int rc;
	if ((rc = check_catalog(c, o, z, line)))
		return rc;
	if (!z->file)
		return cf_fail(c, line, "missing required key 'file' in %s", o->path);
	if ((rc = no_repeats(c, ROW("notify"), z->notify, z->n_notify)) ||
	    (rc = no_repeats(c, ROW("primaries"), z->primaries, z->n_primaries)))
		return rc;
	const struct bound bounds[] = {
		{ "refresh", z->refresh_min, z->refresh_max },
		{ "retry", z->retry_min, z->retry_max },
		{ "expire", z->expire_min, z->expire_max },
	};
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		if (bounds[i].min <= bounds[i].max)
			continue;
		char lo[32], hi[32];
		snprintf(lo, sizeof(lo), "%s_min", bounds[i].name);
		snprintf(hi, sizeof(hi), "%s_max", bounds[i].name);
		int l1 = cf_was_set(c, ROW(lo)), l2 = cf_was_set(c, ROW(hi));
		return cf_fail(c, l1 > l2 ? l1 : l2, "%s: %s %u is more than %s %u", o->path, lo,
		               bounds[i].min, hi, bounds[i].max);
	}
	int an = cf_was_set(c, ROW("allow_notify"));
	if (an && !z->n_primaries)
		return cf_fail(c, an, "%s: allow_notify is only for a secondary zone (with primaries)",
		               o->path);
	if (!z->n_primaries)
		return 0;
	if (!an) {
		if (!(z->allow_notify = calloc(z->n_primaries, sizeof(*z->allow_notify))))
			return cf_nomem(c);
		for (size_t i = 0; i < z->n_primaries; i++) {
			z->n_allow_notify = i + 1;
			if (rule_of(&z->primaries[i], &z->allow_notify[i], line))
				return cf_nomem(c);
		}
	}
	return z->file ? check_copy_folder(c, ROW("file"), z->file, cf_was_set(c, ROW("file")))
	               : 0;
}

/* ---- member zones of consumed catalogs ---- */

static int copy_rules(struct rwd_conf_xfr_rule **out, size_t *n_out,
                      const struct rwd_conf_xfr_rule *v, size_t n)
{
	*out = NULL;
	*n_out = 0;
	if (n == 0)
		return 0;
	if (!(*out = calloc(n, sizeof(**out))))
		return RW_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		(*out)[i] = v[i];
		memset(&(*out)[i].match, 0, sizeof((*out)[i].match));
		*n_out = i + 1;
		if (rwd_acl_copy(&(*out)[i].match, &v[i].match) < 0)
			return RW_ENOMEM;
	}
	return 0;
}

static int copy_remotes(struct rwd_conf_remote **out, size_t *n_out,
                        const struct rwd_conf_remote *v, size_t n)
{
	*out = NULL;
	*n_out = 0;
	if (n == 0)
		return 0;
	if (!(*out = malloc(n * sizeof(**out))))
		return RW_ENOMEM;
	memcpy(*out, v, n * sizeof(**out));
	*n_out = n;
	return 0;
}

/* pattern with each {zone} replaced by name; NULL when out of memory */
static char *fill_pattern(const char *pattern, const char *name)
{
	size_t n = 0, nl = strlen(name);
	for (const char *p = pattern; (p = strstr(p, "{zone}")); p += 6)
		n++;
	char *out = malloc(strlen(pattern) + n * nl + 1), *w = out;
	if (!out)
		return NULL;
	for (const char *p = pattern; *p;) {
		if (!strncmp(p, "{zone}", 6)) {
			memcpy(w, name, nl);
			w += nl;
			p += 6;
		} else {
			*w++ = *p++;
		}
	}
	*w = '\0';
	return out;
}

/* z: member m of catalog cat, with template t's settings. 0 or RW_ENOMEM
 * (z then holds what was copied, for cf_free_zone). */
static int member_zone(struct rwd_conf_zone *z, const struct rwd_conf_zone *cat,
                       const struct rwd_conf_zone *t, const struct rwd_conf_member *m)
{
	char name[KNOT_DNAME_TXT_MAXLEN + 1];
	*z = *t;
	z->name = z->file = z->catalog_group = NULL;
	z->notify = z->primaries = NULL;
	z->allow_transfer = z->allow_notify = NULL;
	z->n_notify = z->n_primaries = z->n_allow_transfer = z->n_allow_notify = 0;
	z->view = NULL;
	z->catalog_role = RWD_CATALOG_CONSUMED;
	memset(z->dname, 0, sizeof(z->dname));
	memcpy(z->dname, m->name, knot_dname_size(m->name));
	memset(z->catalog_member_of, 0, sizeof(z->catalog_member_of));
	memcpy(z->catalog_member_of, cat->dname, knot_dname_size(cat->dname));
	if (!knot_dname_to_str(name, z->dname, sizeof(name)) || !(z->name = strdup(name)) ||
	    !(z->file = fill_pattern(t->file, name)) ||
	    (m->group && !(z->catalog_group = strdup(m->group))))
		return RW_ENOMEM;
	const struct rwd_conf_zone *from = t->n_primaries ? t : cat;
	int ret = copy_remotes(&z->notify, &z->n_notify, t->notify, t->n_notify);
	if (ret == 0)
		ret = copy_remotes(&z->primaries, &z->n_primaries, from->primaries, from->n_primaries);
	if (ret == 0)
		ret = copy_rules(&z->allow_transfer, &z->n_allow_transfer, t->allow_transfer,
		                 t->n_allow_transfer);
	/* the template's allow_notify, else the primaries' own (the catalog's) */
	if (ret == 0)
		ret = t->n_allow_notify || t->n_primaries
		    ? copy_rules(&z->allow_notify, &z->n_allow_notify, t->allow_notify,
		                 t->n_allow_notify)
		    : copy_rules(&z->allow_notify, &z->n_allow_notify, cat->allow_notify,
		                 cat->n_allow_notify);
	return ret;
}

static int cmp_apex(const void *a, const void *b)
{
	const uint8_t *x = *(const uint8_t *const *)a, *y = *(const uint8_t *const *)b;
	size_t lx = knot_dname_size(x), ly = knot_dname_size(y);
	int d = memcmp(x, y, lx < ly ? lx : ly);
	return d ? d : (lx > ly) - (lx < ly);
}

int rwd_conf_add_members(struct rwd_conf *conf, const struct rwd_conf_member *m, size_t n,
                         rwd_conf_member_skip_fn skipped, void *ctx)
{
	size_t have = conf->n_zones, added = 0;
	if (n == 0)
		return 0;
	struct rwd_conf_zone *v = calloc(have + n, sizeof(*v));
	const uint8_t **apexes = malloc((have ? have : 1) * sizeof(*apexes));
	if (!v || !apexes) {
		free(v);
		free(apexes);
		return RW_ENOMEM;
	}
	for (size_t i = 0; i < have; i++)
		apexes[i] = conf->zones[i].dname;
	if (have)
		qsort(apexes, have, sizeof(*apexes), cmp_apex);
	const struct rwd_conf_zone *dflt = NULL;
	for (size_t i = 0; i < conf->n_templates; i++)
		if (!strcmp(conf->templates[i].name, "default"))
			dflt = &conf->templates[i];
	int ret = 0;
	for (size_t k = 0; k < n && ret == 0; k++) {
		const struct rwd_conf_zone *cat = NULL, *t = NULL;
		for (size_t i = 0; i < have && !cat; i++)
			if (conf->zones[i].catalog_role == RWD_CATALOG_CONSUMER &&
			    knot_dname_is_equal(conf->zones[i].dname, m[k].catalog))
				cat = &conf->zones[i];
		const char *why = NULL;
		if (!cat)
			why = "its catalog is no consumer in the configuration";
		else if (have && bsearch(&m[k].name, apexes, have, sizeof(*apexes), cmp_apex))
			why = "a zone of the configuration has that name";
		for (size_t i = 0; !why && m[k].group && i < conf->n_templates && !t; i++)
			if (!strcmp(conf->templates[i].name, m[k].group))
				t = &conf->templates[i];
		if (!why && !t && !(t = dflt))
			why = "no template serves it";
		if (why) {
			if (skipped)
				skipped(ctx, &m[k], why);
			continue;
		}
		ret = member_zone(&v[have + added], cat, t, &m[k]);
		added++;
	}
	free(apexes);
	if (ret < 0) {
		for (size_t i = 0; i < added; i++)
			cf_free_zone(&v[have + i]);
		free(v);
		return ret;
	}
	if (have)
		memcpy(v, conf->zones, have * sizeof(*v));
	free(conf->zones);
	conf->zones = v;
	conf->n_zones = have + added;
	return 0;
}

void cf_free_zone(struct rwd_conf_zone *z)
{
	free(z->catalog_group);
	free(z->name);
	free(z->file);
	free(z->notify);
	free(z->primaries);
	for (size_t i = 0; i < z->n_allow_transfer; i++)
		rwd_acl_free(&z->allow_transfer[i].match);
	free(z->allow_transfer);
	for (size_t i = 0; i < z->n_allow_notify; i++)
		rwd_acl_free(&z->allow_notify[i].match);
	free(z->allow_notify);
}

void cf_free_tsig_key(struct rwd_conf_tsig_key *k)
{
	free(k->name);
	free(k->algorithm);
	if (k->secret)
		memset(k->secret, 0, k->secret_len);
	free(k->secret);
}
