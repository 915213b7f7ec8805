/* dswire.c — encoding and hostile-input-safe decoding of the dataset messages (dswire.h). */
#include "dswire.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cwire.h"
#include "mpc_err.h"
#include "wirecommon.h"

/* ---- encoding ---- */

static int s_cols_ok(uint32_t n, const mpc_dw_col *c, int may_be_empty)
{
    if ((!may_be_empty && n < 1) || n > MPC_DW_MAX_COLS) return 0;
    for (uint32_t i = 0; i < n; i++)
        if (!mpc_name_ok_str(c[i].name) || c[i].type >= MPC_T__COUNT) return 0;
    return 1;
}
static int s_parties_ok(uint32_t n, const char (*p)[MPC_NAME_MAX], int may_be_empty)
{
    if ((!may_be_empty && n < 2) || n > MPC_MAX_PARTIES) return 0;
    for (uint32_t i = 0; i < n; i++)
        if (!mpc_name_ok_str(p[i])) return 0;
    return 1;
}
static void e_cols(mpc_wc_enc *e, uint32_t n, const mpc_dw_col *c)
{
    mpc_wc_arr(e, n);
    for (uint32_t i = 0; i < n; i++) {
        mpc_wc_arr(e, 2);
        mpc_wc_str(e, c[i].name);
        mpc_wc_u64(e, c[i].type);
    }
}
static void e_names(mpc_wc_enc *e, uint32_t n, const char (*p)[MPC_NAME_MAX])
{
    mpc_wc_arr(e, n);
    for (uint32_t i = 0; i < n; i++) mpc_wc_str(e, p[i]);
}

int mpc_dw_req_encode(const mpc_dw_req *r, uint8_t **buf, size_t *len)
{
    mpc_wc_enc e;
    switch (r->type) {
    case MPC_DW_PUT: {
        int begin = r->phase == MPC_DW_BEGIN;
        if (!mpc_name_ok_str(r->name) || r->phase > MPC_DW_ABORT || r->append > 1 || r->mode > MPC_DW_SEED ||
            (begin && (!mpc_name_ok_str(r->owner) || r->frac > 62 || !s_cols_ok(r->n_cols, r->cols, 0) ||
                       !s_parties_ok(r->n_parties, r->parties, 0))) ||
            (r->phase == MPC_DW_CHUNK && (r->rows < 1 || r->rows > MPC_DW_CHUNK_ROWS || r->n_cols < 1 ||
                                          r->n_cols > MPC_DW_MAX_COLS)))
            return MPC_ERR_INVALID;
        mpc_wc_init(&e);
        mpc_wc_head(&e, 14, r->type, r->rid);
        mpc_wc_u64(&e, r->phase);
        mpc_wc_str(&e, r->name);
        mpc_wc_u64(&e, begin ? r->append : 0);
        mpc_wc_str(&e, begin ? r->owner : "");
        mpc_wc_u64(&e, begin ? r->frac : 0);
        e_cols(&e, begin ? r->n_cols : 0, r->cols);
        e_names(&e, begin ? r->n_parties : 0, r->parties);
        mpc_wc_u64(&e, r->phase == MPC_DW_CHUNK ? r->rows : 0);
        mpc_wc_u64(&e, r->phase == MPC_DW_CHUNK ? r->mode : 0);
        mpc_wc_u64(&e, r->phase == MPC_DW_CHUNK ? r->chunk : 0);
        mpc_wc_u64(&e, r->phase == MPC_DW_CHUNK ? r->n_cols : 0);
        return mpc_wc_done(&e, buf, len);
    }
    case MPC_DW_LIST:
        mpc_wc_init(&e);
        mpc_wc_head(&e, 3, r->type, r->rid);
        return mpc_wc_done(&e, buf, len);
    case MPC_DW_DELETE:
        if (!mpc_name_ok_str(r->name)) return MPC_ERR_INVALID;
        mpc_wc_init(&e);
        mpc_wc_head(&e, 4, r->type, r->rid);
        mpc_wc_str(&e, r->name);
        return mpc_wc_done(&e, buf, len);
    default:
        return MPC_ERR_INVALID;
    }
}

static void e_info(mpc_wc_enc *e, const mpc_dw_info *i)
{
    mpc_wc_arr(e, 11);
    mpc_wc_str(e, i->name);
    mpc_wc_str(e, i->owner);
    mpc_wc_str(e, i->uploader);
    mpc_wc_u64(e, i->frac);
    e_cols(e, i->n_cols, i->cols);
    e_names(e, i->n_parties, i->parties);
    mpc_wc_u64(e, i->rows);
    mpc_wc_i64(e, i->created);
    mpc_wc_i64(e, i->modified);
    mpc_wc_u64(e, i->bytes);
    mpc_wc_u64(e, i->uploads);
}

static int s_info_ok(const mpc_dw_info *i)
{
    return mpc_name_ok_str(i->name) && mpc_name_ok_str(i->owner) && mpc_name_ok_str(i->uploader) && i->frac <= 62 &&
           s_cols_ok(i->n_cols, i->cols, 0) && s_parties_ok(i->n_parties, i->parties, 0);
}

int mpc_dw_rep_encode(const mpc_dw_rep *r, uint8_t **buf, size_t *len)
{
    mpc_wc_enc e;
    switch (r->type) {
    case MPC_DW_PUT_OK:
        if (r->has_info && (!r->items || !s_info_ok(&r->items[0]))) return MPC_ERR_INVALID;
        mpc_wc_init(&e);
        mpc_wc_head(&e, 4, r->type, r->rid);
        if (r->has_info) e_info(&e, &r->items[0]);
        else mpc_wc_nil(&e);
        return mpc_wc_done(&e, buf, len);
    case MPC_DW_LIST_OK:
        if (!mpc_name_ok_str(r->daemon) || r->n > MPC_DW_MAX_LIST) return MPC_ERR_INVALID;
        for (uint32_t k = 0; k < r->n; k++)
            if (!s_info_ok(&r->items[k])) return MPC_ERR_INVALID;
        mpc_wc_init(&e);
        mpc_wc_head(&e, 5, r->type, r->rid);
        mpc_wc_str(&e, r->daemon);
        mpc_wc_arr(&e, r->n);
        for (uint32_t k = 0; k < r->n; k++) e_info(&e, &r->items[k]);
        return mpc_wc_done(&e, buf, len);
    case MPC_DW_DELETE_OK:
        mpc_wc_init(&e);
        mpc_wc_head(&e, 3, r->type, r->rid);
        return mpc_wc_done(&e, buf, len);
    default:
        return MPC_ERR_INVALID;
    }
}

size_t mpc_dw_req_payload_len(const mpc_dw_req *r)
{
    if (r->type != MPC_DW_PUT || r->phase != MPC_DW_CHUNK) return 0;
    return r->mode == MPC_DW_SEED ? MPC_CWIRE_SEED_BYTES : (size_t)r->rows * r->n_cols * 8;
}

/* ---- decoding ---- */

static int d_int(const msgpack_object *o, int64_t *v)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) *v = (int64_t)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) *v = o->via.i64;
    else return -1;
    return 0;
}
static int d_str(const msgpack_object *o, char *out, size_t cap, int may_be_empty)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap) return -1;
    memcpy(out, o->via.str.ptr, o->via.str.size);
    out[o->via.str.size] = 0;
    if (strlen(out) != o->via.str.size) return -1;
    if (!o->via.str.size) return may_be_empty ? 0 : -1;
    return mpc_name_ok_str(out) ? 0 : -1;
}
static int d_cols(const msgpack_object *o, uint32_t *n, mpc_dw_col *c)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > MPC_DW_MAX_COLS) return -1;
    *n = o->via.array.size;
    for (uint32_t i = 0; i < *n; i++) {
        const msgpack_object *x = &o->via.array.ptr[i];
        uint64_t t;
        if (x->type != MSGPACK_OBJECT_ARRAY || x->via.array.size != 2 ||
            d_str(&x->via.array.ptr[0], c[i].name, MPC_NAME_MAX, 0) ||
            mpc_wc_uint(&x->via.array.ptr[1], MPC_T__COUNT - 1, &t))
            return -1;
        c[i].type = (uint8_t)t;
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(c[i].name, c[j].name)) return -1;
    }
    return 0;
}
static int d_names(const msgpack_object *o, uint32_t *n, char (*p)[MPC_NAME_MAX])
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > MPC_MAX_PARTIES) return -1;
    *n = o->via.array.size;
    for (uint32_t i = 0; i < *n; i++) {
        if (d_str(&o->via.array.ptr[i], p[i], MPC_NAME_MAX, 0)) return -1;
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(p[i], p[j])) return -1;
    }
    return 0;
}

int mpc_dw_is_dataset(const uint8_t *hdr, size_t len)
{
    /* [fixarray, 1, type, ...]: the type is a positive fixint in our range */
    if (len < 3 || hdr[0] < 0x93 || hdr[0] > 0x9f || hdr[1] != MPC_CWIRE_VERSION) return 0;
    uint8_t t = hdr[2];
    return (t >= MPC_DW_PUT && t <= MPC_DW_DELETE);
}

int mpc_dw_req_decode(const uint8_t *hdr, size_t len, size_t n_payload, size_t payload_len, mpc_dw_req *out,
                      char *err, size_t errlen)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    memset(out, 0, sizeof *out);
    const msgpack_object *el;
    uint32_t n;
    uint8_t type;
    uint64_t rid, v;
    int r = mpc_wc_open(hdr, len, &u, &el, &n, &type, &rid, 0, err, errlen);
    if (r) goto out;
    out->rid = rid;
    out->type = type;
    r = MPC_ERR_PROTOCOL;
    switch (type) {
    case MPC_DW_PUT:
        if (n != 14) {
            mpc_wc_fail(err, errlen, "PUT has %u fields, expected 14", (unsigned)n);
            goto out;
        }
        if (mpc_wc_uint(&el[3], MPC_DW_ABORT, &v)) goto bad;
        out->phase = (uint8_t)v;
        if (d_str(&el[4], out->name, MPC_NAME_MAX, 0) || mpc_wc_uint(&el[5], 1, &v)) goto bad;
        out->append = (uint8_t)v;
        if (d_str(&el[6], out->owner, MPC_NAME_MAX, 1) || mpc_wc_uint(&el[7], 62, &v)) goto bad;
        out->frac = (uint32_t)v;
        if (d_cols(&el[8], &out->n_cols, out->cols) || d_names(&el[9], &out->n_parties, out->parties)) goto bad;
        if (out->phase == MPC_DW_BEGIN && (!out->owner[0] || out->n_cols < 1 || out->n_parties < 2)) goto bad;
        if (mpc_wc_uint(&el[10], MPC_DW_CHUNK_ROWS, &out->rows) || mpc_wc_uint(&el[11], MPC_DW_SEED, &v)) goto bad;
        out->mode = (uint8_t)v;
        if (mpc_wc_uint(&el[12], UINT64_MAX, &out->chunk)) goto bad;
        if (out->phase == MPC_DW_CHUNK) {
            if (mpc_wc_uint(&el[13], MPC_DW_MAX_COLS, &v) || v < 1 || out->rows < 1) goto bad;
            out->n_cols = (uint32_t)v;
        } else if (mpc_wc_uint(&el[13], 0, &v)) {
            goto bad;
        }
        break;
    case MPC_DW_LIST:
        if (n != 3) goto bad;
        break;
    case MPC_DW_DELETE:
        if (n != 4 || d_str(&el[3], out->name, MPC_NAME_MAX, 0)) goto bad;
        break;
    default:
        mpc_wc_fail(err, errlen, "not a dataset request (type %u)", (unsigned)type);
        goto out;
    }
    size_t want = mpc_dw_req_payload_len(out);
    if ((want == 0 && n_payload != 0) || (want && (n_payload != 1 || payload_len != want))) {
        mpc_wc_fail(err, errlen, "payload of %zu bytes in %zu frames, the header announces %zu", payload_len, n_payload,
                    want);
        goto out;
    }
    r = 0;
    goto out;
bad:
    mpc_wc_fail(err, errlen, "malformed dataset request (type 0x%02x)", (unsigned)type);
out:
    msgpack_unpacked_destroy(&u);
    if (r) {
        uint64_t keep = out->rid;
        memset(out, 0, sizeof *out);
        out->rid = keep;
    }
    return r;
}

static int d_info(const msgpack_object *o, mpc_dw_info *i)
{
    uint64_t v;
    memset(i, 0, sizeof *i);
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 11) return -1;
    const msgpack_object *f = o->via.array.ptr;
    if (d_str(&f[0], i->name, MPC_NAME_MAX, 0) || d_str(&f[1], i->owner, MPC_NAME_MAX, 0) ||
        d_str(&f[2], i->uploader, MPC_NAME_MAX, 0) || mpc_wc_uint(&f[3], 62, &v))
        return -1;
    i->frac = (uint32_t)v;
    if (d_cols(&f[4], &i->n_cols, i->cols) || d_names(&f[5], &i->n_parties, i->parties) ||
        mpc_wc_uint(&f[6], UINT64_MAX, &i->rows) || d_int(&f[7], &i->created) || d_int(&f[8], &i->modified) ||
        mpc_wc_uint(&f[9], UINT64_MAX, &i->bytes) || mpc_wc_uint(&f[10], UINT32_MAX, &v))
        return -1;
    i->uploads = (uint32_t)v;
    return 0;
}

int mpc_dw_rep_decode(const uint8_t *hdr, size_t len, mpc_dw_rep *out, char *err, size_t errlen)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    memset(out, 0, sizeof *out);
    const msgpack_object *el;
    uint32_t n;
    uint8_t type;
    uint64_t rid;
    int r = mpc_wc_open(hdr, len, &u, &el, &n, &type, &rid, 0, err, errlen);
    if (r) goto out;
    out->rid = rid;
    out->type = type;
    r = MPC_ERR_PROTOCOL;
    switch (type) {
    case MPC_DW_PUT_OK:
        if (n != 4) goto bad;
        if (el[3].type != MSGPACK_OBJECT_NIL) {
            out->items = calloc(1, sizeof *out->items);
            if (!out->items || d_info(&el[3], &out->items[0])) goto bad;
            out->has_info = 1;
            out->n = 1;
        }
        break;
    case MPC_DW_LIST_OK:
        if (n != 5 || d_str(&el[3], out->daemon, MPC_NAME_MAX, 0) || el[4].type != MSGPACK_OBJECT_ARRAY ||
            el[4].via.array.size > MPC_DW_MAX_LIST)
            goto bad;
        out->n = el[4].via.array.size;
        out->items = calloc(out->n ? out->n : 1, sizeof *out->items);
        if (!out->items) goto bad;
        for (uint32_t k = 0; k < out->n; k++)
            if (d_info(&el[4].via.array.ptr[k], &out->items[k])) goto bad;
        break;
    case MPC_DW_DELETE_OK:
        if (n != 3) goto bad;
        break;
    default:
        mpc_wc_fail(err, errlen, "not a dataset reply (type 0x%02x)", (unsigned)type);
        goto out;
    }
    r = 0;
    goto out;
bad:
    mpc_wc_fail(err, errlen, "malformed dataset reply (type 0x%02x)", (unsigned)type);
out:
    msgpack_unpacked_destroy(&u);
    if (r) {
        free(out->items);
        out->items = NULL;
        out->n = 0;
    }
    return r;
}
