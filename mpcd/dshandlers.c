/* dshandlers.c — dataset requests and the job inputs read from datasets (dshandlers.h). */
#include "dshandlers.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "log.h"
#include "mpc_err.h"
#include "prg.h"
#include "program.h"
#include "table.h"

#define S_SESSIONS   16          /* uploads in progress at once */
#define S_SESSIONS_PER_CLIENT 4  /* of them, one client's */
#define S_IDLE_S     600         /* an upload idle this long is dropped */

typedef struct {
    int             used;
    char            client[MPC_NAME_MAX];
    char            name[MPC_NAME_MAX];
    uint32_t        n_cols;
    uint64_t        next_chunk;
    time_t          last;
    mpcd_ds_writer *w;
} s_session;

static mpcd_ds_store *s_store;
static s_session s_sessions[S_SESSIONS];

void mpcd_ds_set_store(mpcd_ds_store *s)
{
    s_store = s;
}

static int s_err(const mpcd_config *cfg, mpc_cwire_rep *e, uint64_t rid, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int s_err(const mpcd_config *cfg, mpc_cwire_rep *e, uint64_t rid, int code, const char *fmt, ...)
{
    memset(e, 0, sizeof *e);
    e->type = MPC_CW_ERROR;
    e->rid = rid;
    e->code = code;
    char cause[MPC_CWIRE_MSG_MAX - 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cause, sizeof cause, fmt, ap);
    va_end(ap);
    snprintf(e->msg, sizeof e->msg, "party %.63s: %s", cfg->name, cause);
    mpcd_info(NULL, "refused a dataset request: %s", cause);
    return -1;
}

static int s_client_index(const mpcd_config *cfg, const char *name)
{
    for (uint32_t i = 0; i < cfg->n_clients; i++)
        if (!strcmp(cfg->clients[i].name, name)) return (int)i;
    return -1;
}

static int s_party_index(const mpcd_config *cfg, const char *name)
{
    for (uint32_t i = 0; i < cfg->n_parties; i++)
        if (!strcmp(cfg->parties[i].name, name)) return (int)i;
    return -1;
}

/* Whether client may write dataset name (NULL) or why not. */
static const char *s_may_write(const mpcd_config *cfg, const char *client, const char *name)
{
    const mpcd_dataset_conf *d = mpcd_config_dataset(cfg, name);
    int ci = s_client_index(cfg, client);
    if (!d) return "no [dataset] section names it here, so no client may write it";
    if (ci < 0 || !(d->writers & (1ull << ci))) return "the client is not among its writers";
    return NULL;
}

static void s_session_drop(s_session *s)
{
    if (s->w) mpcd_ds_write_abort(&s->w);
    memset(s, 0, sizeof *s);
}

static s_session *s_session_find(const char *client, const char *name)
{
    time_t now = time(NULL);
    s_session *hit = NULL;
    for (int i = 0; i < S_SESSIONS; i++) {
        s_session *s = &s_sessions[i];
        if (!s->used) continue;
        if (now - s->last > S_IDLE_S) {
            mpcd_warn(NULL, "upload of dataset '%s' by client %s idle for %d s: dropped", s->name, s->client, S_IDLE_S);
            s_session_drop(s);
            continue;
        }
        if (!strcmp(s->client, client) && !strcmp(s->name, name)) hit = s;
    }
    return hit;
}

static void s_info(const mpcd_ds_meta *m, mpc_dw_info *i)
{
    memset(i, 0, sizeof *i);
    snprintf(i->name, sizeof i->name, "%s", m->name);
    snprintf(i->owner, sizeof i->owner, "%s", m->owner);
    snprintf(i->uploader, sizeof i->uploader, "%s", m->uploader);
    i->frac = m->frac;
    i->n_cols = m->n_cols;
    for (uint32_t c = 0; c < m->n_cols; c++) {
        snprintf(i->cols[c].name, sizeof i->cols[c].name, "%s", m->cols[c].name);
        i->cols[c].type = m->cols[c].type;
    }
    i->n_parties = m->n_parties;
    for (uint32_t p = 0; p < m->n_parties; p++) snprintf(i->parties[p], MPC_NAME_MAX, "%s", m->parties[p]);
    i->rows = m->rows;
    i->bytes = m->bytes;
    i->created = m->created;
    i->modified = m->modified;
    i->uploads = m->n_segs;
}

static int s_begin(const mpcd_config *cfg, const char *client, const mpc_dw_req *q, mpc_cwire_rep *e)
{
    const char *why = s_may_write(cfg, client, q->name);
    if (why) return s_err(cfg, e, q->rid, MPC_ERR_DENIED, "client '%s' may not write dataset '%s': %s", client, q->name, why);
    int owner = s_party_index(cfg, q->owner), ci = s_client_index(cfg, client);
    if (owner < 0)
        return s_err(cfg, e, q->rid, MPC_ERR_INVALID, "dataset '%s': owner '%s' is not a configured party", q->name,
                     q->owner);
    if (!(cfg->clients[ci].input_for & (1u << owner)))
        return s_err(cfg, e, q->rid, MPC_ERR_DENIED, "client '%s' may not give input for party %s, the owner of "
                     "dataset '%s'", client, q->owner, q->name);
    int me = 0;
    for (uint32_t p = 0; p < q->n_parties; p++) {
        if (s_party_index(cfg, q->parties[p]) < 0)
            return s_err(cfg, e, q->rid, MPC_ERR_INVALID, "dataset '%s': '%s' is not a configured party", q->name,
                         q->parties[p]);
        if (!strcmp(q->parties[p], cfg->name)) me = 1;
    }
    if (!me)
        return s_err(cfg, e, q->rid, MPC_ERR_INVALID, "dataset '%s' is not shared with this daemon", q->name);
    s_session *s = s_session_find(client, q->name);
    if (s) s_session_drop(s);   /* a new BEGIN restarts the upload */
    int mine = 0;
    for (int i = 0; i < S_SESSIONS; i++) mine += s_sessions[i].used && !strcmp(s_sessions[i].client, client);
    if (mine >= S_SESSIONS_PER_CLIENT)
        return s_err(cfg, e, q->rid, MPC_ERR_LIMIT, "client '%s' has %d uploads in progress here, the most one client "
                     "may have", client, S_SESSIONS_PER_CLIENT);
    for (int i = 0; i < S_SESSIONS && !s; i++)
        if (!s_sessions[i].used) s = &s_sessions[i];
    if (!s) return s_err(cfg, e, q->rid, MPC_ERR_LIMIT, "%d uploads are in progress here; try again later", S_SESSIONS);
    mpcd_ds_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "%s", q->name);
    snprintf(m.owner, sizeof m.owner, "%s", q->owner);
    snprintf(m.uploader, sizeof m.uploader, "%s", client);
    m.frac = q->frac;
    m.n_cols = q->n_cols;
    for (uint32_t c = 0; c < q->n_cols; c++) {
        snprintf(m.cols[c].name, sizeof m.cols[c].name, "%s", q->cols[c].name);
        m.cols[c].type = q->cols[c].type;
    }
    m.n_parties = q->n_parties;
    for (uint32_t p = 0; p < q->n_parties; p++) snprintf(m.parties[p], MPC_NAME_MAX, "%s", q->parties[p]);
    char err[512];
    int rc = mpcd_ds_write_begin(s_store, &m, q->append, &s->w, err, sizeof err);
    if (rc) return s_err(cfg, e, q->rid, rc, "%s", err);
    s->used = 1;
    snprintf(s->client, sizeof s->client, "%s", client);
    snprintf(s->name, sizeof s->name, "%s", q->name);
    s->n_cols = q->n_cols;
    s->next_chunk = 0;
    s->last = time(NULL);
    mpcd_info(NULL, "%s of dataset '%s' begun by client %s", q->append ? "append" : "upload", q->name, client);
    return 0;
}

static int s_chunk(const mpcd_config *cfg, s_session *s, const mpc_dw_req *q, const uint8_t *payload, size_t plen,
                   mpc_cwire_rep *e)
{
    if (q->n_cols != s->n_cols || q->chunk != s->next_chunk)
        return s_err(cfg, e, q->rid, MPC_ERR_INPUT, "dataset '%s': chunk %llu does not follow the upload (expected "
                     "chunk %llu of %u columns)", q->name, (unsigned long long)q->chunk,
                     (unsigned long long)s->next_chunk, (unsigned)s->n_cols);
    size_t nw = (size_t)q->rows * q->n_cols;
    uint64_t *w = malloc(nw * 8);
    if (!w) return s_err(cfg, e, q->rid, MPC_ERR_NOMEM, "out of memory");
    int rc = 0;
    if (q->mode == MPC_DW_SEED) {
        rc = plen == MPC_CWIRE_SEED_BYTES ? mpc_prg_expand(w, nw, payload, MPC_PRG_STREAM(MPC_PRG_D_DATASET, q->chunk), 0)
                                          : MPC_ERR_INPUT;
    } else {
        memcpy(w, payload, nw * 8);
    }
    char err[512] = "cannot expand the seed";
    if (!rc) rc = mpcd_ds_write_chunk(s->w, w, q->rows, err, sizeof err);
    sodium_memzero(w, nw * 8);
    free(w);
    if (rc) {
        s_session_drop(s);
        return s_err(cfg, e, q->rid, rc, "%s (the upload is dropped)", err);
    }
    s->next_chunk++;
    s->last = time(NULL);
    return 0;
}

static int s_put(const mpcd_config *cfg, const char *client, const mpc_dw_req *q, const uint8_t *payload, size_t plen,
                 mpc_dw_rep *rep, void **to_free, mpc_cwire_rep *e)
{
    if (q->phase == MPC_DW_BEGIN) return s_begin(cfg, client, q, e);
    s_session *s = s_session_find(client, q->name);
    if (!s) return s_err(cfg, e, q->rid, MPC_ERR_STATE, "no upload of dataset '%s' by client '%s' in progress", q->name, client);
    switch (q->phase) {
    case MPC_DW_CHUNK:
        return s_chunk(cfg, s, q, payload, plen, e);
    case MPC_DW_ABORT:
        s_session_drop(s);
        return 0;
    default: {
        mpcd_ds_meta m;
        char err[512];
        int rc = mpcd_ds_write_commit(&s->w, &m, err, sizeof err);
        s_session_drop(s);
        if (rc) return s_err(cfg, e, q->rid, rc, "%s", err);
        mpc_dw_info *i = malloc(sizeof *i);
        if (!i) return s_err(cfg, e, q->rid, MPC_ERR_NOMEM, "out of memory");
        s_info(&m, i);
        rep->items = i;
        rep->n = 1;
        rep->has_info = 1;
        *to_free = i;
        mpcd_info(NULL, "dataset '%s' stored by client %s: %llu rows, %u columns, %u uploads", m.name, client,
                  (unsigned long long)m.rows, (unsigned)m.n_cols, (unsigned)m.n_segs);
        return 0;
    }
    }
}

int mpcd_ds_handle(const mpcd_config *cfg, const char *client, const mpc_dw_req *req, const uint8_t *payload,
                   size_t plen, mpc_dw_rep *rep, void **to_free, mpc_cwire_rep *erep)
{
    memset(rep, 0, sizeof *rep);
    *to_free = NULL;
    rep->rid = req->rid;
    rep->type = (uint8_t)(req->type | 0x80);
    if (!s_store) return s_err(cfg, erep, req->rid, MPC_ERR_UNSUPPORTED, "this daemon keeps no datasets (no state_dir)");
    if (s_client_index(cfg, client) < 0) return s_err(cfg, erep, req->rid, MPC_ERR_DENIED, "unknown client");
    char err[512];
    switch (req->type) {
    case MPC_DW_PUT:
        return s_put(cfg, client, req, payload, plen, rep, to_free, erep);
    case MPC_DW_LIST: {
        mpcd_ds_meta *v = NULL;
        uint32_t n = 0;
        int rc = mpcd_ds_list(s_store, &v, &n, err, sizeof err);
        if (rc) return s_err(cfg, erep, req->rid, rc, "%s", err);
        if (n > MPC_DW_MAX_LIST) n = MPC_DW_MAX_LIST;
        mpc_dw_info *items = calloc(n ? n : 1, sizeof *items);
        if (!items) {
            free(v);
            return s_err(cfg, erep, req->rid, MPC_ERR_NOMEM, "out of memory");
        }
        for (uint32_t k = 0; k < n; k++) s_info(&v[k], &items[k]);
        free(v);
        snprintf(rep->daemon, sizeof rep->daemon, "%s", cfg->name);
        rep->items = items;
        rep->n = n;
        *to_free = items;
        return 0;
    }
    case MPC_DW_DELETE: {
        const char *why = s_may_write(cfg, client, req->name);
        if (why)
            return s_err(cfg, erep, req->rid, MPC_ERR_DENIED, "client '%s' may not delete dataset '%s': %s", client,
                         req->name, why);
        int rc = mpcd_ds_delete(s_store, req->name, err, sizeof err);
        if (rc) return s_err(cfg, erep, req->rid, rc, "%s", err);
        mpcd_info(NULL, "dataset '%s' deleted by client %s", req->name, client);
        return 0;
    }
    default:
        return s_err(cfg, erep, req->rid, MPC_ERR_PROTOCOL, "unknown dataset request");
    }
}

/* ---- jobs reading datasets ---- */

static int s_reader_ok(const mpcd_dataset_conf *d, const uint8_t prog[32], const uint8_t circ[32])
{
    for (uint32_t i = 0; i < d->n_readers; i++)
        if (sodium_memcmp(d->readers[i], prog, 32) == 0 || sodium_memcmp(d->readers[i], circ, 32) == 0) return 1;
    return 0;
}

/* Checks dataset ref r against the job and returns its record in *m.  0 or a code with why. */
static int s_check_ref(const mpcd_config *cfg, const mpc_circuit *c, const uint32_t *binding, const mpc_dataset_ref *r,
                       const uint8_t prog[32], const uint8_t hash[32], mpcd_ds_meta *m, char *why, size_t wl)
{
    char ph[65], err[512];
    sodium_bin2hex(ph, sizeof ph, prog, 32);
    const mpcd_dataset_conf *d = mpcd_config_dataset(cfg, r->dataset);
    if (!d || !s_reader_ok(d, prog, hash)) {
        snprintf(why, wl, "program %s may not read dataset '%s' (not among its readers here)", ph, r->dataset);
        return MPC_ERR_DENIED;
    }
    int rc = mpcd_ds_meta_get(s_store, r->dataset, m, err, sizeof err);
    if (rc) {
        snprintf(why, wl, "%s", err);
        return rc;
    }
    uint32_t p = 0;
    while (p < c->n_parties && strcmp(c->party_names[p], r->party) != 0) p++;
    if (p == c->n_parties || strcmp(cfg->parties[binding[p]].name, m->owner) != 0) {
        snprintf(why, wl, "dataset '%s' belongs to party %s, but table '%s' is read from party %s bound to %s",
                 r->dataset, m->owner, r->table, r->party, p < c->n_parties ? cfg->parties[binding[p]].name : "?");
        return MPC_ERR_INVALID;
    }
    int same = m->n_parties == c->n_parties;
    for (uint32_t i = 0; same && i < m->n_parties; i++) {
        uint32_t q = 0;
        while (q < c->n_parties && strcmp(cfg->parties[binding[q]].name, m->parties[i]) != 0) q++;
        if (q == c->n_parties) same = 0;
    }
    if (!same) {
        snprintf(why, wl, "dataset '%s' is shared among other daemons than the job's parties", r->dataset);
        return MPC_ERR_INVALID;
    }
    return 0;
}

/* The column of m an input "table.col" reads, or -1 with why. */
static int s_column(const mpc_circuit *c, const mpc_input *in, const mpc_dataset_ref *r, const mpcd_ds_meta *m,
                    char *why, size_t wl)
{
    const char *col = in->name + strlen(r->table) + 1;
    for (uint32_t k = 0; k < m->n_cols; k++) {
        if (strcmp(m->cols[k].name, col) != 0) continue;
        if (m->cols[k].type != in->type) {
            snprintf(why, wl, "dataset '%s' column '%s' is %s, the program reads %s", r->dataset, col,
                     mpc_type_names[m->cols[k].type], mpc_type_names[in->type]);
            return -1;
        }
        if (in->type == MPC_T_FIX && m->frac != c->frac_bits) {
            snprintf(why, wl, "dataset '%s' has %u fractional bits, the program %u", r->dataset, (unsigned)m->frac,
                     (unsigned)c->frac_bits);
            return -1;
        }
        if (in->len != m->rows) {
            snprintf(why, wl, "dataset '%s' has %llu rows, the program reads %llu (give -D %s=%llu)", r->dataset,
                     (unsigned long long)m->rows, (unsigned long long)in->len, r->row_param[0] ? r->row_param : "N",
                     (unsigned long long)m->rows);
            return -1;
        }
        return (int)k;
    }
    snprintf(why, wl, "dataset '%s' has no column '%s'", r->dataset, col);
    return -1;
}

/* Marks the inputs of table r->table as given by dataset r (checked against its record m):
 * mode STORED, no share yet (the job thread loads it, mpcd_ds_job_load). */
static int s_mark_ref(const mpc_circuit *c, const mpc_dataset_ref *r, const mpcd_ds_meta *m, mpcd_job_input *in,
                      uint32_t *n_loaded, char *why, size_t wl)
{
    size_t tl = strlen(r->table);
    for (uint32_t k = 0; k < c->n_inputs; k++) {
        const mpc_input *ci = &c->inputs[k];
        if (strncmp(ci->name, r->table, tl) != 0 || ci->name[tl] != '.') continue;
        if (s_column(c, ci, r, m, why, wl) < 0) return MPC_ERR_INPUT;
        in[k].mode = MPC_IN_STORED;
        in[k].share = NULL;
        in[k].present = 1;
        snprintf(in[k].giver, sizeof in[k].giver, "%s", r->dataset);
        (*n_loaded)++;
    }
    return 0;
}

int mpcd_ds_job_load(const mpc_circuit *c, const mpcd_job_input *in, uint64_t **vals, char *why, size_t wl)
{
    int rc = 0, any = 0;
    for (uint32_t k = 0; k < c->n_inputs; k++) {
        vals[k] = NULL;
        any |= in[k].mode == MPC_IN_STORED;
    }
    if (!any || !c->program) return 0;
    mpc_dataset_ref refs[MPC_MAX_DATASET_REFS];
    uint32_t n = 0;
    if (mpc_program_dataset_refs(c->program->text, c->program->text_len, refs, MPC_MAX_DATASET_REFS, &n) != 0)
        n = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
        if (!s_store) {
            snprintf(why, wl, "this daemon keeps no datasets");
            rc = MPC_ERR_UNSUPPORTED;
            break;
        }
        mpcd_ds_meta m;
        uint64_t *cols[MPCD_DS_MAX_COLS];
        char err[512];
        if ((rc = mpcd_ds_load(s_store, refs[i].dataset, &m, cols, err, sizeof err)) != 0) {
            snprintf(why, wl, "%s", err);
            break;
        }
        size_t tl = strlen(refs[i].table);
        for (uint32_t k = 0; k < c->n_inputs && !rc; k++) {
            const mpc_input *ci = &c->inputs[k];
            if (in[k].mode != MPC_IN_STORED || strncmp(ci->name, refs[i].table, tl) != 0 || ci->name[tl] != '.')
                continue;
            int col = s_column(c, ci, &refs[i], &m, why, wl);   /* it may have changed since the submission */
            if (col < 0) {
                rc = MPC_ERR_INPUT;
                break;
            }
            vals[k] = cols[col];   /* handed over: each column is one input */
            cols[col] = NULL;
        }
        mpcd_ds_free_cols(cols, m.n_cols, m.rows);
    }
    if (rc) mpcd_ds_free_vals(c, vals);
    return rc;
}

void mpcd_ds_free_vals(const mpc_circuit *c, uint64_t **vals)
{
    for (uint32_t k = 0; k < c->n_inputs; k++)
        if (vals[k]) {
            sodium_memzero(vals[k], (size_t)c->inputs[k].len * 8);
            free(vals[k]);
            vals[k] = NULL;
        }
}

int mpcd_ds_job_inputs(const mpcd_config *cfg, const mpc_circuit *c, const uint8_t hash[32],
                       const uint32_t *binding, const mpc_circ_limits *lim, mpcd_job_input *in,
                       uint32_t *n_loaded, char *why, size_t whylen)
{
    *n_loaded = 0;
    if (!c->program) return 0;
    mpc_dataset_ref refs[MPC_MAX_DATASET_REFS];
    uint32_t n = 0;
    if (mpc_program_dataset_refs(c->program->text, c->program->text_len, refs, MPC_MAX_DATASET_REFS, &n) != 0) {
        snprintf(why, whylen, "circuit refused: its program does not parse or reads more than %d datasets",
                 MPC_MAX_DATASET_REFS);
        return MPC_ERR_CIRCUIT;
    }
    if (n == 0) return 0;
    if (!s_store) {
        snprintf(why, whylen, "the program reads dataset '%s', but this daemon keeps no datasets (no state_dir)",
                 refs[0].dataset);
        return MPC_ERR_UNSUPPORTED;
    }
    /* Which inputs the datasets give is read from the program: it must be this circuit. */
    char err[400];
    uint8_t rc_hash[32];
    if (mpc_program_recompile(c->program, lim, rc_hash, err, sizeof err) != 0 || sodium_memcmp(rc_hash, hash, 32) != 0) {
        snprintf(why, whylen, "circuit refused: it reads datasets, and it is not the program it carries");
        return MPC_ERR_CIRCUIT;
    }
    mpc_program_canon pc;
    if (mpc_program_identify(c->program, &pc, err, sizeof err) != 0) {
        mpc_program_canon_free(&pc);
        snprintf(why, whylen, "circuit refused: %s", err);
        return MPC_ERR_CIRCUIT;
    }
    uint8_t prog[32];
    memcpy(prog, pc.hash, 32);
    mpc_program_canon_free(&pc);
    int rc = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
        mpcd_ds_meta m;
        rc = s_check_ref(cfg, c, binding, &refs[i], prog, hash, &m, why, whylen);
        if (!rc) rc = s_mark_ref(c, &refs[i], &m, in, n_loaded, why, whylen);
    }
    if (rc) {
        for (uint32_t k = 0; k < c->n_inputs; k++) memset(&in[k], 0, sizeof in[k]);
        *n_loaded = 0;
    }
    return rc;
}
