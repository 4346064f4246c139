/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/error.h"
#include "server/store/store.h"

static const char *const tables[] = RWD_STORE_TABLES;
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

struct rwd_store {
	MDB_env *env;
	MDB_dbi dbi[N_TABLES];
	bool missing[N_TABLES];        /* read only: a table not in the file (empty) */
};

struct rwd_store_txn {
	struct rwd_store *s;
	MDB_txn *txn;
};

static int table_index(const char *name)
{
	for (size_t i = 0; i < N_TABLES; i++)
		if (strcmp(tables[i], name) == 0)
			return (int)i;
	return -1;
}

static int open_env(const char *dir, bool readonly, struct rwd_store **out, char err[256])
{
	struct rwd_store *s = calloc(1, sizeof(*s));
	MDB_txn *txn = NULL;
	int rc;
	if (s == NULL)
		return RW_ENOMEM;
	if (readonly) {
		struct stat st;
		char data[4096];
		snprintf(data, sizeof(data), "%s/data.mdb", dir);
		if (stat(data, &st) < 0) {
			snprintf(err, 256, "%s: no store: %s", dir, strerror(errno));
			free(s);
			return RW_ENOENT;
		}
	} else if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, 256, "%s: cannot create: %s", dir, strerror(errno));
		free(s);
		return RW_EIO;
	}
	if ((rc = mdb_env_create(&s->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(s->env, N_TABLES)) != 0 ||
	    /* A map size is a reservation of address space, not of disk. */
	    (rc = mdb_env_set_mapsize(s->env, (size_t)1 << 32)) != 0 ||
	    (rc = mdb_env_open(s->env, dir, MDB_NOTLS | (readonly ? MDB_RDONLY : 0), 0640)) != 0 ||
	    (rc = mdb_txn_begin(s->env, NULL, readonly ? MDB_RDONLY : 0, &txn)) != 0)
		goto fail;
	for (size_t i = 0; i < N_TABLES; i++) {
		rc = mdb_dbi_open(txn, tables[i], readonly ? 0 : MDB_CREATE, &s->dbi[i]);
		if (rc == MDB_NOTFOUND && readonly)
			s->dbi[i] = 0;             /* a table this store never had: empty */
		else if (rc != 0)
			goto fail;
		s->missing[i] = rc == MDB_NOTFOUND;
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		goto fail;
	}
	*out = s;
	return 0;
fail:
	snprintf(err, 256, "%s: cannot open the store: %s", dir, mdb_strerror(rc));
	if (txn)
		mdb_txn_abort(txn);
	if (s->env)
		mdb_env_close(s->env);
	free(s);
	return RW_EIO;
}

int rwd_store_open(const char *dir, struct rwd_store **out, char err[256])
{
	return open_env(dir, false, out, err);
}

int rwd_store_open_readonly(const char *dir, struct rwd_store **out, char err[256])
{
	return open_env(dir, true, out, err);
}

void rwd_store_close(struct rwd_store *s)
{
	if (s == NULL)
		return;
	mdb_env_close(s->env);
	free(s);
}

int rwd_store_begin(struct rwd_store *s, struct rwd_store_txn **out)
{
	struct rwd_store_txn *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return RW_ENOMEM;
	t->s = s;
	if (mdb_txn_begin(s->env, NULL, 0, &t->txn) != 0) {
		free(t);
		return RW_EIO;
	}
	*out = t;
	return 0;
}

int rwd_store_put(struct rwd_store_txn *t, const char *table, const char *key,
                  const void *val, size_t len)
{
	int i = table_index(table);
	if (i < 0)
		return RW_EINVAL;
	MDB_val k = { strlen(key), (void *)key }, v = { len, (void *)val };
	return mdb_put(t->txn, t->s->dbi[i], &k, &v, 0) == 0 ? 0 : RW_EIO;
}

int rwd_store_del(struct rwd_store_txn *t, const char *table, const char *key)
{
	int i = table_index(table);
	if (i < 0)
		return RW_EINVAL;
	MDB_val k = { strlen(key), (void *)key };
	int rc = mdb_del(t->txn, t->s->dbi[i], &k, NULL);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : RW_EIO;
}

int rwd_store_commit(struct rwd_store_txn *t)
{
	int rc = mdb_txn_commit(t->txn);
	free(t);
	return rc == 0 ? 0 : RW_EIO;
}

void rwd_store_abort(struct rwd_store_txn *t)
{
	if (t == NULL)
		return;
	mdb_txn_abort(t->txn);
	free(t);
}

/* Walk the cursor of txn over table i from the first key >= from (NULL:
 * the first), calling fn until it returns non-zero. */
static int walk(MDB_txn *txn, MDB_dbi dbi, const char *from, rwd_store_fn fn, void *ctx)
{
	MDB_cursor *cur;
	if (mdb_cursor_open(txn, dbi, &cur) != 0)
		return RW_EIO;
	MDB_val k = { from ? strlen(from) : 0, (void *)from }, v;
	char key[1024];
	int ret = 0;
	int rc = mdb_cursor_get(cur, &k, &v, from ? MDB_SET_RANGE : MDB_FIRST);
	for (; ret == 0 && rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size >= sizeof(key))
			continue;   /* never written by us */
		memcpy(key, k.mv_data, k.mv_size);
		key[k.mv_size] = '\0';
		ret = fn(ctx, key, v.mv_data, v.mv_size);
	}
	mdb_cursor_close(cur);
	return ret;
}

int rwd_store_foreach_from(struct rwd_store *s, const char *table, const char *from,
                           rwd_store_fn fn, void *ctx)
{
	int i = table_index(table);
	MDB_txn *txn;
	if (i < 0)
		return RW_EINVAL;
	if (s->missing[i])
		return 0;
	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0)
		return RW_EIO;
	int ret = walk(txn, s->dbi[i], from, fn, ctx);
	mdb_txn_abort(txn);
	return ret;
}

int rwd_store_foreach(struct rwd_store *s, const char *table, rwd_store_fn fn, void *ctx)
{
	return rwd_store_foreach_from(s, table, NULL, fn, ctx);
}

int rwd_store_txn_foreach_from(struct rwd_store_txn *t, const char *table, const char *from,
                               rwd_store_fn fn, void *ctx)
{
	int i = table_index(table);
	if (i < 0)
		return RW_EINVAL;
	return walk(t->txn, t->s->dbi[i], from, fn, ctx);
}

int rwd_store_get(struct rwd_store *s, const char *table, const char *key, char **out, size_t *len)
{
	int i = table_index(table), ret = RW_ENOENT;
	MDB_txn *txn;
	if (i < 0)
		return RW_EINVAL;
	if (s->missing[i])
		return RW_ENOENT;
	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0)
		return RW_EIO;
	MDB_val k = { strlen(key), (void *)key }, v;
	if (mdb_get(txn, s->dbi[i], &k, &v) == 0) {
		*out = malloc(v.mv_size + 1);
		if (*out == NULL) {
			ret = RW_ENOMEM;
		} else {
			memcpy(*out, v.mv_data, v.mv_size);
			(*out)[v.mv_size] = '\0';
			if (len)
				*len = v.mv_size;
			ret = 0;
		}
	}
	mdb_txn_abort(txn);
	return ret;
}

size_t rwd_store_count(struct rwd_store *s, const char *table)
{
	int i = s ? table_index(table) : -1;
	MDB_txn *txn;
	MDB_stat st;
	if (i < 0 || s->missing[i] || mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0)
		return 0;
	size_t n = mdb_stat(txn, s->dbi[i], &st) == 0 ? st.ms_entries : 0;
	mdb_txn_abort(txn);
	return n;
}
