/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The embedded store: what the control API changed, kept durably in LMDB
 * (as Knot DNS keeps its journal). The configuration and zone files stay
 * the starting point; the store holds the changes made on top of them, and
 * runwayd replays it at start, so a change acknowledged with 200 survives
 * kill -9.
 *
 * A flat key-value space split into named tables. Writes go through a
 * transaction committed with fsync (LMDB's default durability): all of a
 * transaction or none of it is on disk. One writer at a time (the control
 * layer serialises changes); readers never block.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct rwd_store;
struct rwd_store_txn;

/* Tables: zone record overrides, zone serials, traffic names, endpoints,
 * drains, latency averages, endpoint registration expiry times, the zones'
 * change log (journal.h). */
#define RWD_STORE_TABLES { "rrsets", "serials", "traffic", "endpoints", "drains", "latency", \
                           "expiry", "journal", "catalog" }

/* Open (creating) the store in dir. 0, or a negative RW_E* with "DIR: message" in err. */
int rwd_store_open(const char *dir, struct rwd_store **out, char err[256]);
/* The same, read only, for tools beside a running runwayd (LMDB allows
 * readers in other processes): nothing is created; RW_ENOENT when dir has
 * no store. Writes on a read-only store fail with RW_EIO. */
int rwd_store_open_readonly(const char *dir, struct rwd_store **out, char err[256]);
void rwd_store_close(struct rwd_store *s);

int rwd_store_begin(struct rwd_store *s, struct rwd_store_txn **out);
/* Put or replace; values are opaque bytes (JSON text in practice). */
int rwd_store_put(struct rwd_store_txn *t, const char *table, const char *key,
                  const void *val, size_t len);
/* Delete; deleting a missing key is not an error. */
int rwd_store_del(struct rwd_store_txn *t, const char *table, const char *key);
/* Durable on return 0; the transaction is gone either way. */
int rwd_store_commit(struct rwd_store_txn *t);
void rwd_store_abort(struct rwd_store_txn *t);

/* Call fn for every entry of table in key order (a read snapshot); stops
 * and returns fn's value when it is non-zero. */
typedef int (*rwd_store_fn)(void *ctx, const char *key, const void *val, size_t len);
int rwd_store_foreach(struct rwd_store *s, const char *table, rwd_store_fn fn, void *ctx);

/* The same from the first key >= from (in a read snapshot, or inside the
 * write transaction t, which sees its own writes). */
int rwd_store_foreach_from(struct rwd_store *s, const char *table, const char *from,
                           rwd_store_fn fn, void *ctx);
int rwd_store_txn_foreach_from(struct rwd_store_txn *t, const char *table, const char *from,
                               rwd_store_fn fn, void *ctx);

/* Entries in table (0 when it cannot be read). */
size_t rwd_store_count(struct rwd_store *s, const char *table);

/* One value into a NUL-terminated malloc'ed copy; RW_ENOENT when absent. */
int rwd_store_get(struct rwd_store *s, const char *table, const char *key, char **out, size_t *len);
