/* joindecl.c — private joins in a circuit (joindecl.h): the join records, their rules, the
 * canonical key, the reading of a key column and the plaintext join of mpcc --eval.
 * The format of the records is in circuits/format.c (version 6) and docs/circuit-format.md. */
#include "joindecl.h"
#include "contrib.h"
#include "diag.h"
#include "pushdown.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_ROWS (1ull << 22)   /* the protocol's limit on a table's rows (docs/join.md) */

int mpc_join_input_of(const char *input_name)
{
    const char *p = input_name ? strstr(input_name, MPC_JOIN_SUFFIX ".") : NULL;
    return p != NULL && p != input_name && p[sizeof MPC_JOIN_SUFFIX] != 0;
}

int mpc_circ_add_join(mpc_circuit *c, const mpc_join_decl *d)
{
    if (c->n_joins >= MPC_JOIN_MAX_DECLS) return -1;
    mpc_join_decl *n = realloc(c->joins, ((size_t)c->n_joins + 1) * sizeof *n);
    if (!n) return -1;
    c->joins = n;
    c->joins[c->n_joins++] = *d;
    return 0;
}

const mpc_join_decl *mpc_circ_join_of_input(const mpc_circuit *c, uint32_t input)
{
    for (uint32_t j = 0; j < c->n_joins; j++) {
        const mpc_join_decl *d = &c->joins[j];
        uint64_t n = 1ull + d->n_cols[0] + d->n_cols[1];
        if (d->n_cols[0] > MPC_JOIN_MAX_PAYLOAD || d->n_cols[1] > MPC_JOIN_MAX_PAYLOAD) continue;
        for (uint64_t k = 0; k < n; k++)
            if (d->out[k] == input) return d;
    }
    return NULL;
}

static int s_index_by_name(const mpc_circuit *dst, const mpc_circuit *src, uint32_t i, uint32_t *out)
{
    if (i >= src->n_inputs) return -1;
    for (uint32_t k = 0; k < dst->n_inputs; k++)
        if (!strcmp(dst->inputs[k].name, src->inputs[i].name)) {
            *out = k;
            return 0;
        }
    return -1;
}

int mpc_circ_copy_joins(mpc_circuit *dst, const mpc_circuit *src)
{
    for (uint32_t j = 0; j < src->n_joins; j++) {
        mpc_join_decl d = src->joins[j];
        if (d.n_cols[0] > MPC_JOIN_MAX_PAYLOAD || d.n_cols[1] > MPC_JOIN_MAX_PAYLOAD) return -1;
        for (int s = 0; s < 2; s++)
            for (uint32_t k = 0; k < d.n_cols[s]; k++)
                if (s_index_by_name(dst, src, src->joins[j].col[s][k], &d.col[s][k])) return -1;
        for (uint32_t k = 0; k < 1 + d.n_cols[0] + d.n_cols[1]; k++)
            if (s_index_by_name(dst, src, src->joins[j].out[k], &d.out[k])) return -1;
        if (mpc_circ_add_join(dst, &d)) return -1;
    }
    return 0;
}

int mpc_circ_join_payload(const mpc_circuit *c, uint32_t i)
{
    for (uint32_t j = 0; j < c->n_joins; j++)
        for (int s = 0; s < 2; s++)
            for (uint32_t k = 0; k < c->joins[j].n_cols[s] && k < MPC_JOIN_MAX_PAYLOAD; k++)
                if (c->joins[j].col[s][k] == i) return 1;
    return 0;
}

/* ---- validation ----------------------------------------------------------------------- */

/* The column part of payload input name "TABLE.COL" (NULL when it is not of that form). */
static const char *s_col_of(const char *input, const char *table)
{
    size_t tl = strlen(table);
    if (strncmp(input, table, tl) != 0 || input[tl] != '.' || !input[tl + 1]) return NULL;
    return input + tl + 1;
}

static int s_check_payload(const mpc_circuit *c, const mpc_join_decl *d, int side, char *err, size_t errlen)
{
    for (uint32_t k = 0; k < d->n_cols[side]; k++) {
        uint32_t i = d->col[side][k];
        if (i >= c->n_inputs)
            return mpc_errf(err, errlen, "join '%s': payload column %u of side %c is no input", d->name,
                            (unsigned)k, 'A' + side);
        const mpc_input *in = &c->inputs[i];
        if (!s_col_of(in->name, d->table[side]))
            return mpc_errf(err, errlen, "join '%s': payload input '%s' is not a column of table '%s'", d->name,
                            in->name, d->table[side]);
        if (in->party != d->party[side] || in->len != d->rows[side])
            return mpc_errf(err, errlen, "join '%s': payload input '%s' is not from party '%s' with %llu rows",
                            d->name, in->name, c->party_names[d->party[side]], (unsigned long long)d->rows[side]);
        if (mpc_join_input_of(in->name) || mpc_contrib_input_of(in->name))
            return mpc_errf(err, errlen, "join '%s': payload input '%s' is given by the daemons", d->name, in->name);
        if (c->n_locals && mpc_circ_input_local(c, i))
            return mpc_errf(err, errlen, "join '%s': payload input '%s' is computed by a local part", d->name,
                            in->name);
        for (uint32_t m = 0; m < k; m++)
            if (d->col[side][m] == i)
                return mpc_errf(err, errlen, "join '%s': payload input '%s' appears twice", d->name, in->name);
    }
    return 0;
}

/* Output k of d: input "NAME-join.COL" of B's party, rows[1] long, of the right type. */
static int s_check_output(const mpc_circuit *c, const mpc_join_decl *d, uint32_t k, char *err, size_t errlen)
{
    uint32_t i = d->out[k];
    if (i >= c->n_inputs) return mpc_errf(err, errlen, "join '%s': output %u is no input", d->name, (unsigned)k);
    const mpc_input *in = &c->inputs[i];
    const char *col = "ind";
    uint8_t type = MPC_T_INT;
    if (k > 0) {
        int side = k > d->n_cols[0];
        const mpc_input *p = &c->inputs[d->col[side][side ? k - 1 - d->n_cols[0] : k - 1]];
        col = s_col_of(p->name, d->table[side]);
        type = p->type;
    }
    char want[2 * MPC_NAME_MAX + 16];
    snprintf(want, sizeof want, "%s%s.%s", d->name, MPC_JOIN_SUFFIX, col);
    if (strcmp(in->name, want) != 0)
        return mpc_errf(err, errlen, "join '%s': output %u is input '%s', not '%s'", d->name, (unsigned)k, in->name,
                        want);
    if (in->party != d->party[1] || in->len != d->rows[1] || in->type != type)
        return mpc_errf(err, errlen, "join '%s': output '%s' is not %s[%llu] of party '%s'", d->name, in->name,
                        mpc_type_names[type], (unsigned long long)d->rows[1], c->party_names[d->party[1]]);
    if (c->n_locals && mpc_circ_input_local(c, i))
        return mpc_errf(err, errlen, "join '%s': output '%s' is computed by a local part", d->name, in->name);
    return 0;
}

static int s_check_one(const mpc_circuit *c, const mpc_join_decl *d, char *err, size_t errlen)
{
    if (!memchr(d->name, 0, sizeof d->name) || !mpc_name_ok_str(d->name) || strchr(d->name, '-') ||
        strchr(d->name, '.'))
        return mpc_errf(err, errlen, "a join has a bad name");
    for (int s = 0; s < 2; s++) {
        if (!memchr(d->table[s], 0, MPC_NAME_MAX) || !mpc_name_ok_str(d->table[s]) ||
            !memchr(d->key[s], 0, MPC_NAME_MAX) || !mpc_name_ok_str(d->key[s]))
            return mpc_errf(err, errlen, "join '%s': side %c has a bad table or key column name", d->name, 'A' + s);
        if (d->party[s] >= c->n_parties)
            return mpc_errf(err, errlen, "join '%s': side %c's party %u is not declared", d->name, 'A' + s,
                            (unsigned)d->party[s]);
        if (d->rows[s] < 1 || d->rows[s] > S_MAX_ROWS)
            return mpc_errf(err, errlen, "join '%s': side %c has %llu rows (1..%llu allowed)", d->name, 'A' + s,
                            (unsigned long long)d->rows[s], (unsigned long long)S_MAX_ROWS);
        if (d->n_cols[s] > MPC_JOIN_MAX_PAYLOAD)
            return mpc_errf(err, errlen, "join '%s': side %c has %u payload columns (at most %d)", d->name,
                            'A' + s, (unsigned)d->n_cols[s], MPC_JOIN_MAX_PAYLOAD);
    }
    if (d->party[0] == d->party[1])
        return mpc_errf(err, errlen, "join '%s': both sides are party '%s'", d->name, c->party_names[d->party[0]]);
    if (s_check_payload(c, d, 0, err, errlen) || s_check_payload(c, d, 1, err, errlen)) return -1;
    for (uint32_t k = 0; k < 1 + d->n_cols[0] + d->n_cols[1]; k++)
        if (s_check_output(c, d, k, err, errlen)) return -1;
    return 0;
}

int mpc_join_validate(const mpc_circuit *c, char *err, size_t errlen)
{
    if (c->n_joins > MPC_JOIN_MAX_DECLS || (c->n_joins && !c->joins))
        return mpc_errf(err, errlen, "%u joins (at most %d)", (unsigned)c->n_joins, MPC_JOIN_MAX_DECLS);
    for (uint32_t j = 0; j < c->n_joins; j++) {
        if (s_check_one(c, &c->joins[j], err, errlen)) return -1;
        for (uint32_t m = 0; m < j; m++)
            if (!strcmp(c->joins[m].name, c->joins[j].name))
                return mpc_errf(err, errlen, "join '%s' is declared twice", c->joins[j].name);
    }
    /* Every input named as a join output is the output of exactly one join, and none is a
     * payload of any join (a join's output is never joined again). */
    for (uint32_t i = 0; i < c->n_inputs; i++) {
        uint32_t outs = 0, pays = 0;
        for (uint32_t j = 0; j < c->n_joins; j++) {
            const mpc_join_decl *d = &c->joins[j];
            for (uint32_t k = 0; k < 1 + d->n_cols[0] + d->n_cols[1]; k++) outs += d->out[k] == i;
            for (int s = 0; s < 2; s++)
                for (uint32_t k = 0; k < d->n_cols[s]; k++) pays += d->col[s][k] == i;
        }
        if (outs > 1) return mpc_errf(err, errlen, "input '%s' is the output of two joins", c->inputs[i].name);
        if (outs && pays) return mpc_errf(err, errlen, "join output '%s' is a payload of a join", c->inputs[i].name);
        if (!outs && mpc_join_input_of(c->inputs[i].name))
            return mpc_errf(err, errlen, "input '%s' is named as a join's output but no join gives it",
                            c->inputs[i].name);
    }
    return 0;
}

/* ---- keys ------------------------------------------------------------------------------ */

/* Length of the UTF-8 sequence at s[0..n) without control characters (C0, DEL, C1), or 0. */
static size_t s_utf8_char(const unsigned char *s, size_t n)
{
    unsigned char b = s[0];
    if (b < 0x20 || b == 0x7f) return 0;
    if (b < 0x80) return 1;
    size_t len;
    uint32_t cp;
    if (b >= 0xc2 && b <= 0xdf) len = 2, cp = b & 0x1f;
    else if (b >= 0xe0 && b <= 0xef) len = 3, cp = b & 0x0f;
    else if (b >= 0xf0 && b <= 0xf4) len = 4, cp = b & 0x07;
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;   /* overlong */
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;                                               /* surrogate */
    if (cp >= 0x80 && cp <= 0x9f) return 0;                                                   /* C1 control */
    return len;
}

int mpc_join_key_canon(const char *s, size_t n, size_t *start, size_t *len, char *err, size_t errlen)
{
    size_t a = 0, b = n;
    while (a < b && (s[a] == ' ' || s[a] == '\t')) a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) b--;
    if (a == b) return mpc_errf(err, errlen, "empty key");
    if (b - a > MPC_JOIN_KEY_MAX)
        return mpc_errf(err, errlen, "key of %zu bytes (at most %d)", b - a, MPC_JOIN_KEY_MAX);
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = a; i < b;) {
        size_t k = s_utf8_char(u + i, b - i);
        if (!k)
            return mpc_errf(err, errlen, "key has a control character or invalid UTF-8 at byte %zu", i + 1);
        i += k;
    }
    *start = a;
    *len = b - a;
    return 0;
}

void mpc_join_keys_free(mpc_join_keys *k)
{
    if (!k) return;
    if (k->data && k->off) sodium_memzero(k->data, (size_t)k->off[k->rows]);
    free(k->data);
    free(k->off);
    memset(k, 0, sizeof *k);
}

/* Appends key bytes to *k (growing data and off); 0 or -1. */
static int s_keys_push(mpc_join_keys *k, uint64_t *cap_rows, uint64_t *cap_data, const char *s, size_t n)
{
    if (k->rows + 2 > *cap_rows) {
        uint64_t nc = *cap_rows ? *cap_rows * 2 : 1024;
        uint64_t *no = realloc(k->off, (size_t)nc * sizeof *no);
        if (!no) return -1;
        k->off = no;
        *cap_rows = nc;
    }
    uint64_t used = k->off[k->rows];
    if (used + n > *cap_data) {
        uint64_t nc = *cap_data ? *cap_data : 8192;
        while (nc < used + n) nc *= 2;
        uint8_t *nd = malloc((size_t)nc);
        if (!nd) return -1;
        if (k->data) {
            memcpy(nd, k->data, (size_t)used);
            sodium_memzero(k->data, (size_t)used);
            free(k->data);
        }
        k->data = nd;
        *cap_data = nc;
    }
    memcpy(k->data + used, s, n);
    k->off[++k->rows] = used + n;
    return 0;
}

int mpc_join_keys_load(const char *path, const mpc_csv_opts *o, const char *column, mpc_join_keys *out,
                       char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    mpc_csv *r = NULL;
    mpc_csv_record rec;
    char e2[200];
    uint64_t cap_rows = 0, cap_data = 0;
    if (mpc_csv_open(path, o ? o->sep : 0, &r, err, errlen)) return -1;
    int k = mpc_csv_next(r, &rec, err, errlen);
    if (k == 0) mpc_errf(err, errlen, "%s:1:1: error: the file is empty (a table's file needs a header and rows)", path);
    if (k != 1) goto fail;
    size_t idx = SIZE_MAX, nh = rec.n;
    for (size_t f = 0; f < rec.n; f++) {
        size_t a = 0, n = 0;
        if (mpc_join_key_canon(rec.text[f], rec.len[f], &a, &n, e2, sizeof e2)) continue;
        if (n != strlen(column) || memcmp(rec.text[f] + a, column, n) != 0) continue;
        if (idx != SIZE_MAX) {
            mpc_errf(err, errlen, "%s:%llu:%u: error: key column '%s' appears twice in the header", path,
                     (unsigned long long)rec.line[f], (unsigned)rec.col[f], column);
            goto fail;
        }
        idx = f;
    }
    if (idx == SIZE_MAX) {
        mpc_errf(err, errlen, "%s:%llu:%u: error: the header has no key column '%s'", path,
                 (unsigned long long)rec.line[0], (unsigned)rec.col[0], column);
        goto fail;
    }
    out->off = calloc(1, sizeof *out->off);
    if (!out->off) { mpc_errf(err, errlen, "%s: out of memory", path); goto fail; }
    cap_rows = 1;
    while ((k = mpc_csv_next(r, &rec, err, errlen)) == 1) {
        if (rec.n != nh) {
            mpc_errf(err, errlen, "%s:%llu:1: error: %zu fields where the header has %zu", path,
                     (unsigned long long)rec.line[0], rec.n, nh);
            goto fail;
        }
        if (out->rows >= MPC_CIRC_MAX_VECTOR) {
            mpc_errf(err, errlen, "%s:%llu:1: error: more than %llu rows", path, (unsigned long long)rec.line[0],
                     (unsigned long long)MPC_CIRC_MAX_VECTOR);
            goto fail;
        }
        size_t a = 0, n = 0;
        if (mpc_join_key_canon(rec.text[idx], rec.len[idx], &a, &n, e2, sizeof e2)) {
            mpc_errf(err, errlen, "%s:%llu:%u: error: key column '%s': %s", path, (unsigned long long)rec.line[idx],
                     (unsigned)rec.col[idx], column, e2);
            goto fail;
        }
        if (s_keys_push(out, &cap_rows, &cap_data, rec.text[idx] + a, n)) {
            mpc_errf(err, errlen, "%s: out of memory", path);
            goto fail;
        }
    }
    if (k < 0) goto fail;
    if (out->rows == 0) {
        mpc_errf(err, errlen, "%s:%llu:1: error: no data rows after the header", path,
                 (unsigned long long)rec.end_line + 1);
        goto fail;
    }
    mpc_csv_close(&r);
    return 0;
fail:
    mpc_csv_close(&r);
    mpc_join_keys_free(out);
    return -1;
}

/* ---- the plaintext join ---------------------------------------------------------------- */

/* An open-addressing table of row indices, keyed by SipHash under a random key (the keys
 * come from files: no crafted input can make the probes long).  Each slot keeps 32 bits of
 * the hash, so a probe compares key bytes only when they are likely equal. */
typedef struct {
    uint64_t *slot;       /* (hash >> 32) << 32 | (row + 1); 0 empty */
    uint64_t  mask;
    const mpc_join_keys *k;
} s_table;

static uint64_t s_hash(const uint8_t *hkey, const mpc_join_keys *k, uint64_t row)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, k->data + k->off[row], k->off[row + 1] - k->off[row], hkey);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | h[i];
    return v;
}

static int s_same(const mpc_join_keys *a, uint64_t i, const mpc_join_keys *b, uint64_t j)
{
    uint64_t la = a->off[i + 1] - a->off[i], lb = b->off[j + 1] - b->off[j];
    return la == lb && memcmp(a->data + a->off[i], b->data + b->off[j], (size_t)la) == 0;
}

static int s_table_init(s_table *t, const mpc_join_keys *k)
{
    uint64_t cap = 16;
    while (cap < 2 * k->rows) cap *= 2;
    t->slot = calloc((size_t)cap, sizeof *t->slot);
    t->mask = cap - 1;
    t->k = k;
    return t->slot ? 0 : -1;
}

/* The row of t's keys equal to key `row` of k (whose hash is h), or -1; with insert, adds
 * it when absent (then returns -1) — a present key is a duplicate when k is t's own keys. */
static int64_t s_find(s_table *t, const mpc_join_keys *k, uint64_t row, uint64_t h, int insert)
{
    uint64_t tag = h & 0xffffffff00000000ull;
    for (uint64_t i = h & t->mask;; i = (i + 1) & t->mask) {
        uint64_t s = t->slot[i];
        if (!s) {
            if (insert) t->slot[i] = tag | (row + 1);
            return -1;
        }
        if ((s & 0xffffffff00000000ull) == tag && s_same(t->k, (s & 0xffffffffu) - 1, k, row))
            return (int64_t)((s & 0xffffffffu) - 1);
    }
}

static int s_keys_ok(const mpc_join_keys *k, uint64_t rows, int side, char *err, size_t errlen)
{
    if (!k || !k->off || !k->data || k->rows != rows)
        return mpc_errf(err, errlen, "side %c has %llu keys for %llu rows", 'A' + side,
                        (unsigned long long)(k ? k->rows : 0), (unsigned long long)rows);
    return 0;
}

int mpc_join_eval(const mpc_join_decl *d, const mpc_join_keys *keys_a, const mpc_join_keys *keys_b,
                  const uint64_t *const *vals_a, const uint64_t *const *vals_b, uint64_t *const *out,
                  char *err, size_t errlen)
{
    if (s_keys_ok(keys_a, d->rows[0], 0, err, errlen) || s_keys_ok(keys_b, d->rows[1], 1, err, errlen)) return -1;
    if (d->rows[0] > S_MAX_ROWS || d->rows[1] > S_MAX_ROWS || d->n_cols[0] > MPC_JOIN_MAX_PAYLOAD ||
        d->n_cols[1] > MPC_JOIN_MAX_PAYLOAD)
        return mpc_errf(err, errlen, "join '%s' is out of the protocol's limits", d->name);
    if (sodium_init() < 0) return mpc_errf(err, errlen, "libsodium failed to initialise");
    s_table ta, tb;
    memset(&ta, 0, sizeof ta);
    memset(&tb, 0, sizeof tb);
    uint8_t hkey[crypto_shorthash_KEYBYTES];
    randombytes_buf(hkey, sizeof hkey);
    int rc = -1;
    if (s_table_init(&ta, keys_a) || s_table_init(&tb, keys_b)) {
        mpc_errf(err, errlen, "out of memory");
        goto out;
    }
    for (uint64_t i = 0; i < d->rows[0]; i++)
        if (s_find(&ta, keys_a, i, s_hash(hkey, keys_a, i), 1) >= 0) {
            mpc_errf(err, errlen, "join '%s': duplicate keys on side A (table '%s')", d->name, d->table[0]);
            goto out;
        }
    for (uint64_t i = 0; i < d->rows[1]; i++) {
        uint64_t h = s_hash(hkey, keys_b, i);
        if (s_find(&tb, keys_b, i, h, 1) >= 0) {
            mpc_errf(err, errlen, "join '%s': duplicate keys on side B (table '%s')", d->name, d->table[1]);
            goto out;
        }
        int64_t m = s_find(&ta, keys_b, i, h, 0);
        out[0][i] = m >= 0;
        for (uint32_t c = 0; c < d->n_cols[0]; c++) out[1 + c][i] = m >= 0 ? vals_a[c][m] : 0;
        for (uint32_t c = 0; c < d->n_cols[1]; c++) out[1 + d->n_cols[0] + c][i] = vals_b[c][i];
    }
    rc = 0;
out:
    free(ta.slot);
    free(tb.slot);
    sodium_memzero(hkey, sizeof hkey);
    return rc;
}
