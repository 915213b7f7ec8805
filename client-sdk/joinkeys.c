/* joinkeys.c — the key columns of a program's private joins (circuits/joindecl.h; docs/join.md,
 * "Calling it from the daemon"): read from a table's CSV file (mpc_job_input_csv) or given
 * as strings (mpc_job_input_keys), canonical, staged with the job and sent, in the clear, to
 * the daemon of the table's own party only (a KEYS request), never to another daemon. */
#include "mpc_err.h"
#include "mpcclient.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "clock.h"
#include "joindecl.h"

/* The staged key columns of a job, per (join, side). */
struct mpc_job_jkeys {
    mpc_join_keys keys[MPC_JOIN_MAX_DECLS][2];
    uint8_t       have[MPC_JOIN_MAX_DECLS][2];
};

static void s_keys_wipe(mpc_join_keys *k)
{
    if (k->data && k->off) sodium_memzero(k->data, (size_t)k->off[k->rows]);
    if (k->off) sodium_memzero(k->off, (size_t)(k->rows + 1) * 8);
    free(k->data);
    free(k->off);
    memset(k, 0, sizeof *k);
}

void mpc_job_keys_free(mpc_job *j)
{
    if (!j->jkeys) return;
    for (uint32_t i = 0; i < MPC_JOIN_MAX_DECLS; i++)
        for (int s = 0; s < 2; s++) s_keys_wipe(&j->jkeys->keys[i][s]);
    free(j->jkeys);
    j->jkeys = NULL;
}

/* The sides (bit 2i + s) of the job's joins whose table is `table`. */
static uint32_t s_sides_of(const mpc_job *j, const char *table)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < j->circ->n_joins && i < MPC_JOIN_MAX_DECLS; i++)
        for (uint32_t s = 0; s < 2; s++)
            if (!strcmp(j->circ->joins[i].table[s], table)) m |= 1u << (2 * i + s);
    return m;
}

int mpc_job_keys_table(const mpc_job *j, const char *table) { return s_sides_of(j, table) != 0; }

static int s_send_one(mpc_client *c, mpc_job *j, uint32_t i, uint32_t s);

/* Stages copies of k for every side in `sides` (k itself is the caller's); sent at once when
 * the job is live.  0 or an error (nothing staged then, when not live). */
static int s_stage(mpc_client *c, mpc_job *j, const char *table, uint32_t sides, const mpc_join_keys *k)
{
    for (uint32_t b = 0; b < 2 * MPC_JOIN_MAX_DECLS; b++) {
        if (!(sides & (1u << b))) continue;
        const mpc_join_decl *d = &j->circ->joins[b / 2];
        if (k->rows != d->rows[b % 2])
            return mpc_client_seterr(c, MPC_ERR_INPUT, "%skey column '%s.%s' has %llu rows, the program's table has %llu",
                                     j->where, table, d->key[b % 2], (unsigned long long)k->rows,
                                     (unsigned long long)d->rows[b % 2]);
        if (j->jkeys && j->jkeys->have[b / 2][b % 2])
            return mpc_client_seterr(c, MPC_ERR_STATE, "%skey column '%s.%s' is already given", j->where, table,
                                     d->key[b % 2]);
    }
    if (!j->jkeys && !(j->jkeys = calloc(1, sizeof *j->jkeys)))
        return mpc_client_seterr(c, MPC_ERR_NOMEM, "out of memory");
    for (uint32_t b = 0; b < 2 * MPC_JOIN_MAX_DECLS; b++) {
        if (!(sides & (1u << b))) continue;
        mpc_join_keys *dst = &j->jkeys->keys[b / 2][b % 2];
        dst->off = malloc((size_t)(k->rows + 1) * 8);
        dst->data = malloc(k->off[k->rows] ? (size_t)k->off[k->rows] : 1);
        if (!dst->off || !dst->data) {
            s_keys_wipe(dst);
            return mpc_client_seterr(c, MPC_ERR_NOMEM, "out of memory");
        }
        memcpy(dst->off, k->off, (size_t)(k->rows + 1) * 8);
        memcpy(dst->data, k->data, (size_t)k->off[k->rows]);
        dst->rows = k->rows;
        j->jkeys->have[b / 2][b % 2] = 1;
    }
    int r = 0;
    for (uint32_t b = 0; j->live && !r && b < 2 * MPC_JOIN_MAX_DECLS; b++)
        if (sides & (1u << b)) r = s_send_one(c, j, b / 2, b % 2);
    return r;
}

int mpc_job_keys_csv(mpc_client *c, mpc_job *j, const char *table, const char *path, const mpc_csv_opts *o)
{
    uint32_t sides = s_sides_of(j, table);
    int r = 0;
    for (uint32_t b = 0; !r && b < 2 * MPC_JOIN_MAX_DECLS; b++) {
        if (!(sides & (1u << b))) continue;
        const mpc_join_decl *d = &j->circ->joins[b / 2];
        uint32_t same = 0;   /* every side of this table on the same key column: read once */
        for (uint32_t q = b; q < 2 * MPC_JOIN_MAX_DECLS; q++)
            if ((sides & (1u << q)) && !strcmp(j->circ->joins[q / 2].key[q % 2], d->key[b % 2])) same |= 1u << q;
        sides &= ~same;
        mpc_join_keys k;
        memset(&k, 0, sizeof k);
        char err[600];
        if (mpc_join_keys_load(path, o, d->key[b % 2], &k, err, sizeof err) != 0)
            r = mpc_client_seterr(c, MPC_ERR_INPUT, "%s%s", j->where, err);
        else
            r = s_stage(c, j, table, same, &k);
        s_keys_wipe(&k);
    }
    return r;
}

int mpc_job_input_keys(mpc_client *c, mpc_job *j, const char *table, const char *const *keys, uint64_t n)
{
    if (!c) return MPC_ERR_INVALID;
    c->errmsg[0] = 0;
    if (!j || !table || (!keys && n)) return mpc_client_seterr(c, MPC_ERR_INVALID, "invalid arguments");
    uint32_t sides = s_sides_of(j, table);
    if (!sides)
        return mpc_client_seterr(c, MPC_ERR_NOTFOUND, "%sthe program joins no table '%.64s'", j->where, table);
    if (n < 1 || n > MPC_CWIRE_KEYS_MAX_ROWS)
        return mpc_client_seterr(c, MPC_ERR_INPUT, "%skey column of table '%s': %llu rows", j->where, table,
                                 (unsigned long long)n);
    mpc_join_keys k;
    memset(&k, 0, sizeof k);
    k.rows = n;
    k.off = calloc((size_t)n + 1, 8);
    size_t total = 0;
    int r = k.off ? 0 : mpc_client_seterr(c, MPC_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; !r && i < n; i++) total += keys[i] ? strlen(keys[i]) : 0;
    if (!r && !(k.data = malloc(total ? total : 1))) r = mpc_client_seterr(c, MPC_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; !r && i < n; i++) {
        size_t start = 0, len = 0;
        char err[200];
        if (!keys[i] || mpc_join_key_canon(keys[i], strlen(keys[i]), &start, &len, err, sizeof err) != 0) {
            r = mpc_client_seterr(c, MPC_ERR_INPUT, "%skey column of table '%s', row %llu: %s", j->where, table,
                                  (unsigned long long)i + 1, keys[i] ? err : "no key");
            break;
        }
        memcpy(k.data + k.off[i], keys[i] + start, len);
        k.off[i + 1] = k.off[i] + len;
    }
    if (!r) r = s_stage(c, j, table, sides, &k);
    if (k.off) {
        if (k.data) sodium_memzero(k.data, total);
        k.off[n] = 0;
    }
    s_keys_wipe(&k);
    return r;
}

/* Sends staged key column (i, s) to its party's daemon and waits for its answer; wipes it. */
static int s_send_one(mpc_client *c, mpc_job *j, uint32_t i, uint32_t s)
{
    mpc_join_keys *k = &j->jkeys->keys[i][s];
    const mpc_join_decl *d = &j->circ->joins[i];
    mpc_cwire_req q;
    mpc_client_req_init(c, &q, MPC_CW_KEYS, j->id);
    snprintf(q.name, sizeof q.name, "%s.%s", d->table[s], d->key[s]);
    q.count = k->rows;
    q.key_bytes = k->off[k->rows];
    size_t plen = (size_t)(k->rows + 1) * 8 + (size_t)q.key_bytes;
    uint8_t *payload = sodium_malloc(plen);
    if (!payload) return mpc_client_seterr(c, MPC_ERR_NOMEM, "%sout of memory", j->where);
    memcpy(payload, k->off, (size_t)(k->rows + 1) * 8);
    memcpy(payload + (size_t)(k->rows + 1) * 8, k->data, (size_t)q.key_bytes);
    s_keys_wipe(k);
    j->jkeys->have[i][s] = 2;   /* sent */
    uint32_t dm = j->daemon_of[d->party[s]];   /* the table's own party: no other daemon */
    int64_t deadline = (int64_t)mpc_now_ms() + c->cfg.timeout_ms;
    int r = mpc_client_send_req(c, dm, &q, payload, plen, deadline, j->id_hex);   /* payload: ZeroMQ's now */
    if (!r) {
        mpc_cwire_rep rep;
        r = mpc_client_recv_rep(c, dm, q.rid, MPC_CW_KEYS, deadline, &rep, NULL, j->id_hex);
    }
    return r;
}

void mpc_job_keys_drop(mpc_job *j, const char *table)
{
    uint32_t sides = s_sides_of(j, table);
    for (uint32_t b = 0; j->jkeys && b < 2 * MPC_JOIN_MAX_DECLS; b++)
        if ((sides & (1u << b)) && j->jkeys->have[b / 2][b % 2] == 1) {
            s_keys_wipe(&j->jkeys->keys[b / 2][b % 2]);
            j->jkeys->have[b / 2][b % 2] = 0;
        }
}

int mpc_job_keys_send(mpc_client *c, mpc_job *j)
{
    int r = 0;
    for (uint32_t i = 0; j->jkeys && !r && i < MPC_JOIN_MAX_DECLS; i++)
        for (uint32_t s = 0; !r && s < 2; s++)
            if (j->jkeys->have[i][s] == 1) r = s_send_one(c, j, i, s);   /* the first failure's message */
    return r;
}

size_t mpc_job_keys_missing(const mpc_job *j, char *list, size_t cap, size_t *off, size_t missing)
{
    for (uint32_t i = 0; i < j->circ->n_joins && i < MPC_JOIN_MAX_DECLS; i++)
        for (uint32_t s = 0; s < 2; s++) {
            if (j->jkeys && j->jkeys->have[i][s]) continue;
            const mpc_join_decl *d = &j->circ->joins[i];
            if (*off < cap) {
                int w = snprintf(list + *off, cap - *off, "%skey column '%s.%s' (party %s)", missing ? ", " : "",
                                 d->table[s], d->key[s], j->circ->party_names[d->party[s]]);
                *off = w < 0 ? cap : *off + (size_t)w;
            }
            missing++;
        }
    return missing;
}
