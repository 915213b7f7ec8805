/* wirecommon.c — the msgpack scaffolding of the client protocol's codecs (wirecommon.h). */
#include "wirecommon.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cwire.h"
#include "mpc_err.h"

/* ---- encoding ---- */

void mpc_wc_init(mpc_wc_enc *e)
{
    msgpack_sbuffer_init(&e->sb);
    msgpack_packer_init(&e->pk, &e->sb, msgpack_sbuffer_write);
    e->bad = 0;
}

void mpc_wc_arr(mpc_wc_enc *e, uint32_t n) { e->bad |= msgpack_pack_array(&e->pk, n) != 0; }
void mpc_wc_u64(mpc_wc_enc *e, uint64_t v) { e->bad |= msgpack_pack_uint64(&e->pk, v) != 0; }
void mpc_wc_i64(mpc_wc_enc *e, int64_t v) { e->bad |= msgpack_pack_int64(&e->pk, v) != 0; }
void mpc_wc_nil(mpc_wc_enc *e) { e->bad |= msgpack_pack_nil(&e->pk) != 0; }

void mpc_wc_bool(mpc_wc_enc *e, int b)
{
    e->bad |= (b ? msgpack_pack_true(&e->pk) : msgpack_pack_false(&e->pk)) != 0;
}

void mpc_wc_bin(mpc_wc_enc *e, const uint8_t *p, size_t n)
{
    e->bad |= msgpack_pack_bin(&e->pk, n) != 0;
    e->bad |= msgpack_pack_bin_body(&e->pk, p, n) != 0;
}

void mpc_wc_str(mpc_wc_enc *e, const char *s)
{
    size_t n = strlen(s);
    e->bad |= msgpack_pack_str(&e->pk, n) != 0;
    e->bad |= msgpack_pack_str_body(&e->pk, s, n) != 0;
}

void mpc_wc_head(mpc_wc_enc *e, uint32_t arity, uint8_t type, uint64_t rid)
{
    mpc_wc_arr(e, arity);
    mpc_wc_u64(e, MPC_CWIRE_VERSION);
    mpc_wc_u64(e, type);
    mpc_wc_u64(e, rid);
}

int mpc_wc_done(mpc_wc_enc *e, uint8_t **buf, size_t *len)
{
    if (e->bad) {
        msgpack_sbuffer_destroy(&e->sb);
        return MPC_ERR_NOMEM;
    }
    *buf = (uint8_t *)e->sb.data;
    *len = e->sb.size;
    return 0;
}

/* ---- decoding ---- */

int mpc_wc_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return MPC_ERR_PROTOCOL;
}

int mpc_wc_uint(const msgpack_object *o, uint64_t max, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max) return -1;
    *v = o->via.u64;
    return 0;
}

int mpc_wc_bin_exact(const msgpack_object *o, uint8_t *out, size_t n)
{
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != n) return -1;
    memcpy(out, o->via.bin.ptr, n);
    return 0;
}

int mpc_wc_open(const uint8_t *hdr, size_t len, msgpack_unpacked *u, const msgpack_object **el, uint32_t *n,
                uint8_t *type, uint64_t *rid, int name_version, char *err, size_t errlen)
{
    int r = mpc_cwire_precheck(hdr, len, err, errlen);
    if (r) return r;
    size_t off = 0;
    if (msgpack_unpack_next(u, (const char *)hdr, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len)
        return mpc_wc_fail(err, errlen, "malformed msgpack");
    const msgpack_object *o = &u->data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 3)
        return mpc_wc_fail(err, errlen, "header is not an array of at least 3 elements");
    *el = o->via.array.ptr;
    *n = o->via.array.size;
    uint64_t v;
    if (mpc_wc_uint(&(*el)[2], UINT64_MAX, rid)) return mpc_wc_fail(err, errlen, "bad request id field");
    if (mpc_wc_uint(&(*el)[0], UINT64_MAX, &v)) return mpc_wc_fail(err, errlen, "bad version field");
    if (v != MPC_CWIRE_VERSION) {
        if (name_version) return mpc_wc_fail(err, errlen, "unsupported protocol version %llu", (unsigned long long)v);
        return mpc_wc_fail(err, errlen, "bad version field");
    }
    if (mpc_wc_uint(&(*el)[1], 0xff, &v)) return mpc_wc_fail(err, errlen, "bad message type field");
    *type = (uint8_t)v;
    return 0;
}
