/* dataset.c — the client side of stored datasets (docs/datasets.md): uploading a CSV file
 * secret-shared among every daemon, listing, deleting, and the jobs that read datasets. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "client_int.h"
#include "contrib.h"
#include "clock.h"
#include "csv.h"
#include "dswire.h"
#include "mpc_err.h"
#include "parse.h"
#include "prg.h"
#include "program.h"
#include "table.h"
#include "value.h"

#define S_CHUNK_ROWS 16384          /* rows per uploaded chunk */

/* ---- one request, one reply ---- */

static int s_sockopt(void *s, int opt, int v)
{
    return zmq_setsockopt(s, opt, &v, sizeof v);
}

/* Sends q (with payload, borrowed, wiped by the caller) to daemon d. */
static int s_send(mpc_client *c, uint32_t d, const mpc_dw_req *q, const void *payload, size_t plen, int64_t deadline)
{
    uint8_t *hdr = NULL;
    size_t hlen = 0;
    if (mpc_dw_req_encode(q, &hdr, &hlen) != 0)
        return mpc_client_seterr(c, MPC_ERR_INVALID, "daemon %s: cannot encode the request", c->cfg.daemons[d].name);
    int64_t left = deadline - (int64_t)mpc_now_ms();
    s_sockopt(c->sock[d], ZMQ_SNDTIMEO, (int)(left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : left));
    int rc = zmq_send(c->sock[d], hdr, hlen, payload ? ZMQ_SNDMORE : 0);
    free(hdr);
    if (rc >= 0 && payload) rc = zmq_send(c->sock[d], payload, plen, 0);
    if (rc < 0)
        return mpc_client_seterr(c, errno == EAGAIN ? MPC_ERR_IO : MPC_ERR_IO, "daemon %s: %s", c->cfg.daemons[d].name,
                                 errno == EAGAIN ? "unreachable" : zmq_strerror(errno));
    return 0;
}

/* The reply to request rid from daemon d (stale replies skipped); an ERROR becomes its code
 * and message.  rep->items must be freed by the caller. */
static int s_recv(mpc_client *c, uint32_t d, uint64_t rid, uint8_t want, int64_t deadline, mpc_dw_rep *rep)
{
    const char *dn = c->cfg.daemons[d].name;
    for (;;) {
        int64_t left = deadline - (int64_t)mpc_now_ms();
        s_sockopt(c->sock[d], ZMQ_RCVTIMEO, (int)(left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : left));
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, c->sock[d], 0) < 0) {
            int e = errno;
            zmq_msg_close(&m);
            if (e == EINTR) continue;
            return mpc_client_seterr(c, e == EAGAIN ? MPC_ERR_TIMEOUT : MPC_ERR_IO, "daemon %s: %s", dn,
                                     e == EAGAIN ? "no reply within the deadline" : zmq_strerror(e));
        }
        size_t extra = 0;
        while (zmq_msg_more(&m) || extra) {   /* a reply has one frame: drop anything after it */
            zmq_msg_t x;
            zmq_msg_init(&x);
            int more = zmq_msg_more(&m);
            if (!more || zmq_msg_recv(&x, c->sock[d], 0) < 0) {
                zmq_msg_close(&x);
                break;
            }
            extra++;
            int again = zmq_msg_more(&x);
            zmq_msg_close(&x);
            if (!again) break;
        }
        char err[256];
        const uint8_t *h = zmq_msg_data(&m);
        size_t hl = zmq_msg_size(&m);
        int r = mpc_dw_rep_decode(h, hl, rep, err, sizeof err);
        if (r != 0) {
            mpc_cwire_rep e;
            int er = mpc_cwire_rep_decode(h, hl, extra, 0, &e, err, sizeof err);
            zmq_msg_close(&m);
            if (er == 0 && e.rid != rid) continue;
            if (er == 0 && e.type == MPC_CW_ERROR) {
                if (!strncmp(e.msg, "party ", 6)) return mpc_client_seterr(c, e.code, "%s", e.msg);
                return mpc_client_seterr(c, e.code, "daemon %s: %s", dn, e.msg);
            }
            return mpc_client_seterr(c, MPC_ERR_PROTOCOL, "daemon %s: bad reply: %s", dn, err);
        }
        zmq_msg_close(&m);
        if (rep->rid != rid) {
            free(rep->items);
            continue;
        }
        if (rep->type != want || extra) {
            free(rep->items);
            rep->items = NULL;
            return mpc_client_seterr(c, MPC_ERR_PROTOCOL, "daemon %s: unexpected reply of type 0x%02x", dn, rep->type);
        }
        return 0;
    }
}

/* The request to every daemon (payload[d] for daemon d when given), then every reply. */
static int s_all(mpc_client *c, mpc_dw_req *q, const void *const *payload, const size_t *plen, mpc_dw_rep *reps)
{
    int64_t deadline = (int64_t)mpc_now_ms() + c->cfg.timeout_ms;
    uint32_t n = c->cfg.n_daemons;
    uint64_t rid[MPC_MAX_PARTIES];
    int r = 0, sent[MPC_MAX_PARTIES] = {0};
    memset(reps, 0, n * sizeof *reps);
    for (uint32_t d = 0; d < n && !r; d++) {
        q->rid = rid[d] = c->next_rid++;
        r = s_send(c, d, q, payload ? payload[d] : NULL, plen ? plen[d] : 0, deadline);
        sent[d] = !r;
    }
    for (uint32_t d = 0; d < n; d++) {
        if (!sent[d]) continue;
        char keep[S_ERRMSG_MAX];
        snprintf(keep, sizeof keep, "%s", c->errmsg);
        int rr = s_recv(c, d, rid[d], (uint8_t)(q->type | 0x80), deadline, &reps[d]);
        if (rr && !r) r = rr;
        else if (r) snprintf(c->errmsg, sizeof c->errmsg, "%s", keep);   /* keep the first failure's message */
    }
    return r;
}

static void s_free_reps(mpc_dw_rep *reps, uint32_t n)
{
    for (uint32_t d = 0; d < n; d++) {
        free(reps[d].items);
        reps[d].items = NULL;
    }
}

/* ---- the schema ---- */

typedef struct {
    mpc_dw_col col;
    int        has_default, has_range;
    uint64_t   dflt;
    int64_t    lo, hi;           /* range, as signed ring values (fix: scaled) */
    size_t     field;            /* its index in the CSV header */
} s_col;

/* A range bound: a literal number, maybe negated. */
static int s_bound(const mpc_node *n, mpc_type t, unsigned frac, int64_t *out)
{
    int neg = 0;
    if (n->kind == MPC_N_NEG) {
        neg = 1;
        n = n->kids[0];
    }
    uint64_t v;
    char e[128];
    if (n->kind == MPC_N_INT && t == MPC_T_INT) v = n->ival;
    else if ((n->kind == MPC_N_INT || n->kind == MPC_N_DEC) && t == MPC_T_FIX) {
        char buf[64];
        if (n->kind == MPC_N_INT) snprintf(buf, sizeof buf, "%llu", (unsigned long long)n->ival);
        else snprintf(buf, sizeof buf, "%s", n->text);
        if (mpc_value_parse(MPC_T_FIX, frac, buf, strlen(buf), &v, e, sizeof e) != 0) return -1;
    } else {
        return -1;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* Parses "age: int in 0..120, glucose: fix = 5" (the columns of a table declaration,
 * circuits/LANGUAGE.md "Tables") into cols. */
static int s_schema(mpc_client *c, const char *schema, unsigned frac, s_col *cols, uint32_t *n)
{
    size_t sl = strlen(schema);
    char *src = malloc(sl + 96);
    if (!src) return mpc_client_seterr(c, MPC_ERR_NOMEM, "out of memory");
    int len = snprintf(src, sl + 96, "party p_, q_\ninput t_: table(%s)[1] from p_\n", schema);
    mpc_diag diag;
    mpc_diag_init(&diag, "schema", src, (size_t)len);
    mpc_ast ast;
    int r = mpc_parse(src, (size_t)len, &diag, &ast);
    if (r != 0) {
        char msg[512];
        const mpc_diag_item *it = mpc_diag_first_error(&diag);
        if (it) mpc_diag_format(&diag, it, msg, sizeof msg);
        else snprintf(msg, sizeof msg, "syntax error");
        mpc_diag_free(&diag);
        free(src);
        return mpc_client_seterr(c, MPC_ERR_INVALID, "--schema: not a list of columns ('age: int in 0..120, glucose: "
                                 "fix'): %s", msg);
    }
    mpc_diag_free(&diag);
    const mpc_node *t = NULL;
    for (uint32_t i = 0; i < ast.root->n_kids && !t; i++)
        if (ast.root->kids[i]->kind == MPC_N_TABLE) t = ast.root->kids[i];
    *n = 0;
    r = 0;
    for (uint32_t i = 1; t && i < t->n_kids && !r; i++) {
        const mpc_node *col = t->kids[i];
        if (*n >= MPC_DW_MAX_COLS) {
            r = mpc_client_seterr(c, MPC_ERR_LIMIT, "--schema: more than %d columns", MPC_DW_MAX_COLS);
            break;
        }
        if (col->vtype == MPC_COLUMN_KEY) {   /* a join's key column lives with its owner only */
            r = mpc_client_seterr(c, MPC_ERR_INVALID, "--schema: column '%s': a dataset cannot hold a key column yet "
                                  "(give the table with its key column to the job instead)", col->name);
            break;
        }
        s_col *sc = &cols[(*n)++];
        memset(sc, 0, sizeof *sc);
        snprintf(sc->col.name, sizeof sc->col.name, "%s", col->name);
        sc->col.type = (uint8_t)col->vtype;
        char dt[128], e[128];
        if (col->kids[0] && mpc_column_default_text(col, dt, sizeof dt) == 0) {
            if (mpc_value_parse(col->vtype, frac, dt, strlen(dt), &sc->dflt, e, sizeof e) != 0)
                r = mpc_client_seterr(c, MPC_ERR_INVALID, "--schema: column '%s': bad default", col->name);
            sc->has_default = 1;
        }
        if (!r && col->kids[1]) {
            if (col->vtype == MPC_T_BOOL || s_bound(col->kids[1], col->vtype, frac, &sc->lo) != 0 ||
                s_bound(col->kids[2], col->vtype, frac, &sc->hi) != 0 || sc->lo > sc->hi)
                r = mpc_client_seterr(c, MPC_ERR_INVALID, "--schema: column '%s': a range is two numbers LO..HI", col->name);
            sc->has_range = 1;
        }
    }
    mpc_ast_free(&ast);
    free(src);
    return r;
}

/* ---- upload ---- */

typedef struct {
    mpc_client *c;
    const char *name;
    uint32_t    k, ncols;
    uint64_t    chunk;
    uint64_t   *x;               /* sodium_malloc: a chunk's values, column after column */
    uint64_t   *share;           /* sodium_malloc: the last daemon's share */
    uint8_t    *seeds;           /* sodium_malloc: k-1 seeds */
    uint64_t   *tmp;
} s_up;

/* Shares and sends rows rows of u->x (laid out for S_CHUNK_ROWS rows: column c at c·S_CHUNK_ROWS). */
static int s_send_chunk(s_up *u, uint64_t rows)
{
    mpc_client *c = u->c;
    size_t nw = (size_t)rows * u->ncols;
    for (uint32_t col = 0; col < u->ncols; col++)   /* compact to rows·ncols, column after column */
        memmove(u->share + (size_t)col * rows, u->x + (size_t)col * S_CHUNK_ROWS, (size_t)rows * 8);
    randombytes_buf(u->seeds, (size_t)(u->k - 1) * MPC_CWIRE_SEED_BYTES);
    for (uint32_t d = 0; d + 1 < u->k; d++) {
        int r = mpc_prg_expand(u->tmp, nw, u->seeds + (size_t)d * MPC_CWIRE_SEED_BYTES,
                               MPC_PRG_STREAM(MPC_PRG_D_DATASET, u->chunk), 0);
        if (r) return mpc_client_seterr(c, r, "cannot share the values");
        for (size_t i = 0; i < nw; i++) u->share[i] -= u->tmp[i];
    }
    mpc_dw_req q;
    memset(&q, 0, sizeof q);
    q.type = MPC_DW_PUT;
    q.phase = MPC_DW_CHUNK;
    snprintf(q.name, sizeof q.name, "%s", u->name);
    q.rows = rows;
    q.n_cols = u->ncols;
    q.chunk = u->chunk;
    mpc_dw_rep reps[MPC_MAX_PARTIES];
    const void *pl[MPC_MAX_PARTIES];
    size_t pn[MPC_MAX_PARTIES];
    for (uint32_t d = 0; d < u->k; d++) {
        pl[d] = d + 1 < u->k ? (const void *)(u->seeds + (size_t)d * MPC_CWIRE_SEED_BYTES) : (const void *)u->share;
        pn[d] = d + 1 < u->k ? MPC_CWIRE_SEED_BYTES : nw * 8;
    }
    /* the mode differs per daemon: seeds for 0..k-2, the explicit share for the last */
    int64_t deadline = (int64_t)mpc_now_ms() + c->cfg.timeout_ms;
    uint64_t rid[MPC_MAX_PARTIES];
    int r = 0, sent[MPC_MAX_PARTIES] = {0};
    for (uint32_t d = 0; d < u->k && !r; d++) {
        q.mode = d + 1 < u->k ? MPC_DW_SEED : MPC_DW_EXPLICIT;
        q.rid = rid[d] = c->next_rid++;
        r = s_send(c, d, &q, pl[d], pn[d], deadline);
        sent[d] = !r;
    }
    memset(reps, 0, sizeof reps);
    for (uint32_t d = 0; d < u->k; d++)
        if (sent[d]) {
            int rr = s_recv(c, d, rid[d], MPC_DW_PUT_OK, deadline, &reps[d]);
            if (rr && !r) r = rr;
        }
    s_free_reps(reps, u->k);
    sodium_memzero(u->share, nw * 8);
    sodium_memzero(u->tmp, nw * 8);
    sodium_memzero(u->seeds, (size_t)(u->k - 1) * MPC_CWIRE_SEED_BYTES);
    u->chunk++;
    return r;
}

static int s_header(mpc_client *c, const char *path, const mpc_csv_record *h, s_col *cols, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++) {
        cols[k].field = SIZE_MAX;
        for (size_t f = 0; f < h->n; f++) {
            const char *a = h->text[f];
            size_t l = h->len[f];
            while (l && (*a == ' ' || *a == '\t')) a++, l--;
            while (l && (a[l - 1] == ' ' || a[l - 1] == '\t')) l--;
            if (l == strlen(cols[k].col.name) && !memcmp(a, cols[k].col.name, l)) cols[k].field = f;
        }
        if (cols[k].field == SIZE_MAX)
            return mpc_client_seterr(c, MPC_ERR_INPUT, "%s:1:1: error: the header has no column '%s'", path,
                                     cols[k].col.name);
    }
    return 0;
}

/* One data record into row `row` of u->x. */
static int s_row(mpc_client *c, const char *path, const mpc_csv_record *rec, size_t nh, const s_col *cols,
                 uint32_t n, unsigned frac, unsigned flags, s_up *u, uint64_t row)
{
    if (rec->n != nh)
        return mpc_client_seterr(c, MPC_ERR_INPUT, "%s:%llu:1: error: this row has %zu fields, the header %zu", path,
                                 (unsigned long long)rec->line[0], rec->n, nh);
    for (uint32_t k = 0; k < n; k++) {
        size_t f = cols[k].field;
        const char *t = rec->text[f];
        size_t l = rec->len[f], b = 0;
        while (b < l && (t[b] == ' ' || t[b] == '\t')) b++;
        uint64_t v = 0;
        char e[200];
        if (b == l) {
            if (cols[k].has_default) v = cols[k].dflt;
            else if (!(flags & MPC_CSV_MISSING_ZERO))
                return mpc_client_seterr(c, MPC_ERR_INPUT, "%s:%llu:%u: error: column '%s': missing value", path,
                                         (unsigned long long)rec->line[f], (unsigned)rec->col[f], cols[k].col.name);
        } else if (mpc_value_parse(cols[k].col.type, frac, t, l, &v, e, sizeof e) != 0) {
            sodium_memzero(e, sizeof e);   /* it quotes the cell */
            return mpc_client_seterr(c, MPC_ERR_INPUT, "%s:%llu:%u: error: column '%s': not a valid %s value", path,
                                     (unsigned long long)rec->line[f], (unsigned)rec->col[f], cols[k].col.name,
                                     mpc_type_names[cols[k].col.type]);
        }
        if (cols[k].has_range && ((int64_t)v < cols[k].lo || (int64_t)v > cols[k].hi))
            return mpc_client_seterr(c, MPC_ERR_INPUT, "%s:%llu:%u: error: column '%s': value outside its declared "
                                     "range", path, (unsigned long long)rec->line[f], (unsigned)rec->col[f],
                                     cols[k].col.name);
        u->x[(size_t)k * S_CHUNK_ROWS + row] = v;
    }
    return 0;
}

static int s_begin_all(mpc_client *c, const char *name, const char *owner, unsigned frac, const s_col *cols,
                       uint32_t n, int append)
{
    mpc_dw_req q;
    memset(&q, 0, sizeof q);
    q.type = MPC_DW_PUT;
    q.phase = MPC_DW_BEGIN;
    snprintf(q.name, sizeof q.name, "%s", name);
    snprintf(q.owner, sizeof q.owner, "%s", owner);
    q.append = append ? 1 : 0;
    q.frac = frac;
    q.n_cols = n;
    for (uint32_t k = 0; k < n; k++) q.cols[k] = cols[k].col;
    q.n_parties = c->cfg.n_daemons;
    for (uint32_t d = 0; d < c->cfg.n_daemons; d++) snprintf(q.parties[d], MPC_NAME_MAX, "%s", c->cfg.daemons[d].name);
    mpc_dw_rep reps[MPC_MAX_PARTIES];
    int r = s_all(c, &q, NULL, NULL, reps);
    s_free_reps(reps, c->cfg.n_daemons);
    return r;
}

static void s_abort_all(mpc_client *c, const char *name)
{
    mpc_dw_req q;
    memset(&q, 0, sizeof q);
    q.type = MPC_DW_PUT;
    q.phase = MPC_DW_ABORT;
    snprintf(q.name, sizeof q.name, "%s", name);
    char keep[S_ERRMSG_MAX];
    snprintf(keep, sizeof keep, "%s", c->errmsg);
    mpc_dw_rep reps[MPC_MAX_PARTIES];
    (void)s_all(c, &q, NULL, NULL, reps);
    s_free_reps(reps, c->cfg.n_daemons);
    snprintf(c->errmsg, sizeof c->errmsg, "%s", keep);
}

static int s_commit_all(mpc_client *c, const char *name, uint64_t *rows)
{
    mpc_dw_req q;
    memset(&q, 0, sizeof q);
    q.type = MPC_DW_PUT;
    q.phase = MPC_DW_COMMIT;
    snprintf(q.name, sizeof q.name, "%s", name);
    mpc_dw_rep reps[MPC_MAX_PARTIES];
    int r = s_all(c, &q, NULL, NULL, reps);
    for (uint32_t d = 0; !r && d < c->cfg.n_daemons; d++) {
        if (!reps[d].has_info || reps[d].items[0].rows != reps[0].items[0].rows)
            r = mpc_client_seterr(c, MPC_ERR_STATE, "dataset '%s': the daemons disagree on its rows after the upload "
                                  "(%s has %llu)", name, c->cfg.daemons[d].name,
                                  (unsigned long long)(reps[d].has_info ? reps[d].items[0].rows : 0));
    }
    if (!r && rows) *rows = reps[0].items[0].rows;
    s_free_reps(reps, c->cfg.n_daemons);
    return r;
}

int mpc_dataset_upload_csv(mpc_client *c, const char *name, const char *path, const char *schema, const char *owner,
                           unsigned frac, const char *sep, unsigned flags, uint64_t *rows)
{
    c->errmsg[0] = 0;
    char sepc = ',';
    if (!name || !path || !schema || !owner || !mpc_name_ok_str(name) || !mpc_name_ok_str(owner) || frac > 62 ||
        (flags & ~(MPC_DATASET_APPEND | MPC_CSV_MISSING_ZERO)) || (sep && mpc_csv_parse_sep(sep, &sepc) != 0))
        return mpc_client_seterr(c, MPC_ERR_INVALID, "invalid arguments");
    if (mpc_client_conf_daemon(&c->cfg, owner) < 0)
        return mpc_client_seterr(c, MPC_ERR_INVALID, "owner '%s' is not a daemon of %s", owner, c->cfg.path);
    s_col *cols = calloc(MPC_DW_MAX_COLS, sizeof *cols);
    if (!cols) return mpc_client_seterr(c, MPC_ERR_NOMEM, "out of memory");
    uint32_t n = 0;
    int r = s_schema(c, schema, frac, cols, &n);
    mpc_csv *csv = NULL;
    char err[512];
    if (!r && mpc_csv_open(path, sepc, &csv, err, sizeof err) != 0) r = mpc_client_seterr(c, MPC_ERR_INPUT, "%s", err);
    mpc_csv_record rec;
    int got = 0;
    if (!r && (got = mpc_csv_next(csv, &rec, err, sizeof err)) != 1)
        r = mpc_client_seterr(c, MPC_ERR_INPUT, got < 0 ? "%s" : "%s: empty file (a header is needed)", got < 0 ? err : path);
    size_t nh = r ? 0 : rec.n;
    if (!r) r = s_header(c, path, &rec, cols, n);
    s_up u = {.c = c, .name = name, .k = c->cfg.n_daemons, .ncols = n};
    size_t words = (size_t)S_CHUNK_ROWS * n;
    if (!r) {
        u.x = sodium_malloc(words * 8);
        u.share = sodium_malloc(words * 8);
        u.tmp = sodium_malloc(words * 8);
        u.seeds = sodium_malloc((size_t)u.k * MPC_CWIRE_SEED_BYTES);
        if (!u.x || !u.share || !u.tmp || !u.seeds) r = mpc_client_seterr(c, MPC_ERR_NOMEM, "out of memory");
    }
    int begun = 0;
    if (!r) r = s_begin_all(c, name, owner, frac, cols, n, flags & MPC_DATASET_APPEND);
    begun = !r;
    uint64_t row = 0, total = 0;
    while (!r && (got = mpc_csv_next(csv, &rec, err, sizeof err)) == 1) {
        if ((r = s_row(c, path, &rec, nh, cols, n, frac, flags, &u, row))) break;
        total++;
        if (++row == S_CHUNK_ROWS) {
            r = s_send_chunk(&u, row);
            row = 0;
        }
    }
    if (!r && got < 0) r = mpc_client_seterr(c, MPC_ERR_INPUT, "%s", err);
    if (!r && row) r = s_send_chunk(&u, row);
    if (!r && total == 0) r = mpc_client_seterr(c, MPC_ERR_INPUT, "%s: no data rows", path);
    if (!r) r = s_commit_all(c, name, rows);
    else if (begun) s_abort_all(c, name);
    mpc_csv_close(&csv);
    if (u.x) sodium_free(u.x);   /* sodium_free wipes */
    if (u.share) sodium_free(u.share);
    if (u.tmp) sodium_free(u.tmp);
    if (u.seeds) sodium_free(u.seeds);
    free(cols);
    return r;
}

/* ---- list and delete ---- */

static void s_to_info(const mpc_dw_info *i, mpc_dataset_info *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", i->name);
    snprintf(o->owner, sizeof o->owner, "%s", i->owner);
    snprintf(o->uploader, sizeof o->uploader, "%s", i->uploader);
    o->rows = i->rows;
    o->bytes = i->bytes;
    o->created = i->created;
    o->modified = i->modified;
    o->n_cols = i->n_cols;
    o->uploads = i->uploads;
    o->frac = i->frac;
    for (uint32_t k = 0; k < i->n_cols; k++) {
        snprintf(o->col_names[k], sizeof o->col_names[k], "%s", i->cols[k].name);
        snprintf(o->col_types[k], sizeof o->col_types[k], "%s", mpc_type_names[i->cols[k].type]);
    }
}

/* Whether two daemons describe one dataset alike (bytes and times are their own). */
static int s_agree(const mpc_dw_info *a, const mpc_dw_info *b)
{
    if (strcmp(a->name, b->name) || strcmp(a->owner, b->owner) || a->rows != b->rows || a->n_cols != b->n_cols ||
        a->frac != b->frac || a->uploads != b->uploads || a->n_parties != b->n_parties)
        return 0;
    for (uint32_t k = 0; k < a->n_cols; k++)
        if (strcmp(a->cols[k].name, b->cols[k].name) || a->cols[k].type != b->cols[k].type) return 0;
    return 1;
}

int mpc_dataset_list(mpc_client *c, mpc_dataset_info **out, size_t *n_out)
{
    c->errmsg[0] = 0;
    *out = NULL;
    *n_out = 0;
    mpc_dw_req q;
    memset(&q, 0, sizeof q);
    q.type = MPC_DW_LIST;
    mpc_dw_rep reps[MPC_MAX_PARTIES];
    uint32_t nd = c->cfg.n_daemons;
    int r = s_all(c, &q, NULL, NULL, reps);
    /* Every daemon must list the same datasets alike (each sorts by name). */
    for (uint32_t d = 1; !r && d < nd; d++) {
        int same = reps[d].n == reps[0].n;
        for (uint32_t k = 0; same && k < reps[0].n; k++) same = s_agree(&reps[0].items[k], &reps[d].items[k]);
        if (!same)
            r = mpc_client_seterr(c, MPC_ERR_STATE, "the daemons disagree about the datasets: %s lists %u, %s lists %u "
                                  "(or they differ in rows, columns or uploads)", c->cfg.daemons[0].name,
                                  (unsigned)reps[0].n, c->cfg.daemons[d].name, (unsigned)reps[d].n);
    }
    if (!r) {
        mpc_dataset_info *v = mpc_client_alloc((reps[0].n ? reps[0].n : 1) * sizeof *v);
        if (!v) r = mpc_client_seterr(c, MPC_ERR_NOMEM, "out of memory");
        for (uint32_t k = 0; v && k < reps[0].n; k++) {
            s_to_info(&reps[0].items[k], &v[k]);
            for (uint32_t d = 1; d < nd; d++) v[k].bytes += reps[d].items[k].bytes;   /* on all daemons together */
        }
        *out = v;
        *n_out = v ? reps[0].n : 0;
    }
    s_free_reps(reps, nd);
    return r;
}

int mpc_dataset_delete(mpc_client *c, const char *name)
{
    c->errmsg[0] = 0;
    if (!name || !mpc_name_ok_str(name)) return mpc_client_seterr(c, MPC_ERR_INVALID, "invalid dataset name");
    mpc_dw_req q;
    memset(&q, 0, sizeof q);
    q.type = MPC_DW_DELETE;
    snprintf(q.name, sizeof q.name, "%s", name);
    mpc_dw_rep reps[MPC_MAX_PARTIES];
    int r = s_all(c, &q, NULL, NULL, reps);
    s_free_reps(reps, c->cfg.n_daemons);
    return r;
}

/* ---- jobs reading datasets ---- */

int mpc_dataset_row_define(mpc_client *c, const char *src, size_t src_len, size_t index, char *define, size_t len)
{
    c->errmsg[0] = 0;
    if (!src || !define || len == 0) return mpc_client_seterr(c, MPC_ERR_INVALID, "invalid arguments");
    define[0] = 0;
    mpc_dataset_ref refs[MPC_MAX_DATASET_REFS];
    uint32_t n = 0;
    if (mpc_program_dataset_refs(src, src_len, refs, MPC_MAX_DATASET_REFS, &n) != 0) return MPC_ERR_NOTFOUND;
    if (index >= n) return MPC_ERR_NOTFOUND;
    if (!refs[index].row_param[0]) return 0;
    mpc_dataset_info *v = NULL;
    size_t nv = 0;
    int r = mpc_dataset_list(c, &v, &nv);
    if (r) return r;
    size_t k = 0;
    while (k < nv && strcmp(v[k].name, refs[index].dataset) != 0) k++;
    if (k == nv) r = mpc_client_seterr(c, MPC_ERR_NOTFOUND, "no dataset '%s' on the daemons", refs[index].dataset);
    else if ((size_t)snprintf(define, len, "%s=%llu", refs[index].row_param, (unsigned long long)v[k].rows) >= len)
        r = mpc_client_seterr(c, MPC_ERR_INVALID, "define buffer too small");
    mpc_client_free(v);
    return r;
}

int mpc_job_mark_datasets(mpc_client *c, mpc_job *j)
{
    /* the source compiled here, or the program a .circ carries */
    const char *src = j->src ? j->src : j->circ->program ? j->circ->program->text : NULL;
    size_t len = j->src ? j->src_len : j->circ->program ? j->circ->program->text_len : 0;
    /* Contributor inputs (docs/contributions.md) are given by the daemons too: from their
     * collections. */
    int contrib = 0;
    for (uint32_t i = 0; i < j->n_decl; i++) contrib |= mpc_contrib_input_of(j->decl[i].name);
    mpc_dataset_ref refs[MPC_MAX_DATASET_REFS];
    uint32_t n = 0;
    if (src && mpc_program_dataset_refs(src, len, refs, MPC_MAX_DATASET_REFS, &n) != 0) n = 0;
    if (n == 0 && !contrib) return 0;
    j->from_dataset = calloc(j->n_decl ? j->n_decl : 1, 1);
    if (!j->from_dataset) return mpc_client_seterr(c, MPC_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < j->n_decl; i++) j->from_dataset[i] = (uint8_t)mpc_contrib_input_of(j->decl[i].name);
    for (uint32_t i = 0; i < j->n_decl; i++)
        for (uint32_t k = 0; k < n; k++) {
            size_t tl = strlen(refs[k].table);
            if (!strncmp(j->decl[i].name, refs[k].table, tl) && j->decl[i].name[tl] == '.') j->from_dataset[i] = 1;
        }
    return 0;
}
