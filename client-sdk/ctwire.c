/* ctwire.c — encoding and hostile-input-safe decoding of the contribution messages
 * (ctwire.h). */
#include "ctwire.h"

#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "field61.h"
#include "mpc_err.h"
#include "prg.h"

static int s_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int s_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return MPC_ERR_PROTOCOL;
}

int mpc_ct_is_contribution(const uint8_t *hdr, size_t len)
{
    /* [fixarray, 1, 7, ...] */
    return len >= 3 && hdr[0] >= 0x93 && hdr[0] <= 0x9f && hdr[1] == MPC_CWIRE_VERSION && hdr[2] == MPC_CT_CONTRIBUTE;
}

size_t mpc_ct_req_payload_len(const mpc_ct_req *r)
{
    if (r->proof_len) return (size_t)r->proof_len;
    return r->mode == MPC_CW_SEED ? MPC_CWIRE_SEED_BYTES : (size_t)r->count * 8;
}

static int s_req_ok(const mpc_ct_req *r)
{
    return mpc_name_ok_str(r->name) && (r->mode == MPC_CW_EXPLICIT || r->mode == MPC_CW_SEED) && r->count >= 1 &&
           r->count <= MPC_CWIRE_MAX_COUNT && r->proof_len <= MPC_CT_MAX_PROOF;
}

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer  pk;
    int             bad;
} enc;

static void e_init(enc *e)
{
    msgpack_sbuffer_init(&e->sb);
    msgpack_packer_init(&e->pk, &e->sb, msgpack_sbuffer_write);
    e->bad = 0;
}
static void e_u64(enc *e, uint64_t v) { e->bad |= msgpack_pack_uint64(&e->pk, v) != 0; }
static void e_bin(enc *e, const uint8_t *p, size_t n)
{
    e->bad |= msgpack_pack_bin(&e->pk, n) != 0;
    e->bad |= msgpack_pack_bin_body(&e->pk, p, n) != 0;
}
static int e_done(enc *e, uint8_t **buf, size_t *len)
{
    if (e->bad) {
        msgpack_sbuffer_destroy(&e->sb);
        return MPC_ERR_NOMEM;
    }
    *buf = (uint8_t *)e->sb.data;
    *len = e->sb.size;
    return 0;
}
static void e_head(enc *e, uint32_t arity, uint8_t type, uint64_t rid)
{
    e->bad |= msgpack_pack_array(&e->pk, arity) != 0;
    e_u64(e, MPC_CWIRE_VERSION);
    e_u64(e, type);
    e_u64(e, rid);
}

int mpc_ct_req_encode(const mpc_ct_req *r, uint8_t **buf, size_t *len)
{
    if (!s_req_ok(r)) return MPC_ERR_INVALID;
    enc e;
    e_init(&e);
    e_head(&e, 10, MPC_CT_CONTRIBUTE, r->rid);
    e_bin(&e, r->job, sizeof r->job);
    size_t n = strlen(r->name);
    e.bad |= msgpack_pack_str(&e.pk, n) != 0;
    e.bad |= msgpack_pack_str_body(&e.pk, r->name, n) != 0;
    e_bin(&e, r->token, sizeof r->token);
    e_bin(&e, r->nonce, sizeof r->nonce);
    e_u64(&e, r->mode);
    e_u64(&e, r->count);
    e_u64(&e, r->proof_len);
    return e_done(&e, buf, len);
}

int mpc_ct_rep_encode(uint64_t rid, uint64_t pending, uint8_t **buf, size_t *len)
{
    enc e;
    e_init(&e);
    e_head(&e, 4, MPC_CT_CONTRIBUTE_OK, rid);
    e_u64(&e, pending);
    return e_done(&e, buf, len);
}

static int d_uint(const msgpack_object *o, uint64_t max, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max) return -1;
    *v = o->via.u64;
    return 0;
}
static int d_bin(const msgpack_object *o, uint8_t *out, size_t n)
{
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != n) return -1;
    memcpy(out, o->via.bin.ptr, n);
    return 0;
}

/* The header array's elements after the precheck; the type and rid read. */
static int d_open(const uint8_t *hdr, size_t len, msgpack_unpacked *u, const msgpack_object **el, uint32_t *n,
                  uint8_t *type, uint64_t *rid, int *has_rid, char *err, size_t errlen)
{
    int r = mpc_cwire_precheck(hdr, len, err, errlen);
    if (r) return r;
    size_t off = 0;
    if (msgpack_unpack_next(u, (const char *)hdr, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len)
        return s_fail(err, errlen, "malformed msgpack");
    const msgpack_object *o = &u->data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 3)
        return s_fail(err, errlen, "header is not an array of at least 3 elements");
    *el = o->via.array.ptr;
    *n = o->via.array.size;
    uint64_t v;
    if (d_uint(&(*el)[2], UINT64_MAX, rid)) return s_fail(err, errlen, "bad request id field");
    *has_rid = 1;
    if (d_uint(&(*el)[0], UINT64_MAX, &v) || v != MPC_CWIRE_VERSION) return s_fail(err, errlen, "bad version field");
    if (d_uint(&(*el)[1], 0xff, &v)) return s_fail(err, errlen, "bad message type field");
    *type = (uint8_t)v;
    return 0;
}

int mpc_ct_req_decode(const uint8_t *hdr, size_t len, size_t n_payload, size_t payload_len, mpc_ct_req *out,
                      char *err, size_t errlen)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    memset(out, 0, sizeof *out);
    const msgpack_object *el = NULL;   /* set by d_open on success (gcc -O3 cannot tell) */
    uint32_t n = 0;
    uint8_t type = 0;
    uint64_t rid = 0, v;
    int has_rid = 0;
    int r = d_open(hdr, len, &u, &el, &n, &type, &rid, &has_rid, err, errlen);
    if (r) goto out;
    out->rid = rid;
    r = MPC_ERR_PROTOCOL;
    if (type != MPC_CT_CONTRIBUTE) {
        s_fail(err, errlen, "not a CONTRIBUTE request");
        goto out;
    }
    if (n != 10) {
        s_fail(err, errlen, "CONTRIBUTE has %u fields, expected 10", (unsigned)n);
        goto out;
    }
    if (d_bin(&el[3], out->job, sizeof out->job)) {
        s_fail(err, errlen, "bad job id field");
        goto out;
    }
    if (el[4].type != MSGPACK_OBJECT_STR || el[4].via.str.size == 0 || el[4].via.str.size >= MPC_NAME_MAX ||
        !mpc_name_ok(el[4].via.str.ptr, el[4].via.str.size)) {
        s_fail(err, errlen, "bad input name field");
        goto out;
    }
    memcpy(out->name, el[4].via.str.ptr, el[4].via.str.size);
    if (d_bin(&el[5], out->token, sizeof out->token) || d_bin(&el[6], out->nonce, sizeof out->nonce)) {
        s_fail(err, errlen, "bad token or nonce field");
        goto out;
    }
    if (d_uint(&el[7], MPC_CW_SEED, &v)) {
        s_fail(err, errlen, "bad mode field");
        goto out;
    }
    out->mode = (uint8_t)v;
    if (d_uint(&el[8], MPC_CWIRE_MAX_COUNT, &out->count) || out->count == 0) {
        s_fail(err, errlen, "bad element count field");
        goto out;
    }
    if (d_uint(&el[9], MPC_CT_MAX_PROOF, &out->proof_len)) {
        s_fail(err, errlen, "bad proof length field");
        goto out;
    }
    size_t want = mpc_ct_req_payload_len(out);
    if (n_payload != 1 || payload_len != want) {
        s_fail(err, errlen, "CONTRIBUTE payload is %zu bytes in %zu frames, expected %zu in 1", payload_len, n_payload,
               want);
        goto out;
    }
    r = 0;
out:
    msgpack_unpacked_destroy(&u);
    if (r) {
        uint64_t keep = rid;
        memset(out, 0, sizeof *out);
        if (has_rid) out->rid = keep;
    }
    return r;
}

int mpc_ct_rep_decode(const uint8_t *hdr, size_t len, size_t n_payload, uint64_t *rid, uint64_t *pending,
                      char *err, size_t errlen)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    const msgpack_object *el = NULL;   /* set by d_open on success (gcc -O3 cannot tell) */
    uint32_t n = 0;
    uint8_t type = 0;
    int has_rid = 0;
    int r = d_open(hdr, len, &u, &el, &n, &type, rid, &has_rid, err, errlen);
    if (r) goto out;
    r = MPC_ERR_PROTOCOL;
    if (type != MPC_CT_CONTRIBUTE_OK || n != 4 || n_payload != 0 || d_uint(&el[3], UINT64_MAX, pending)) {
        s_fail(err, errlen, "not a CONTRIBUTE_OK reply");
        goto out;
    }
    r = 0;
out:
    msgpack_unpacked_destroy(&u);
    return r;
}

int mpc_ct_expand(const uint8_t seed[MPC_CWIRE_SEED_BYTES], uint64_t len, uint64_t *out)
{
    return mpc_f61_expand(out, len, seed, MPC_PRG_STREAM(MPC_PRG_D_CONTRIB, 0));
}

int mpc_ct_share(const uint64_t *x, uint64_t len, uint32_t k, uint8_t *seeds, uint64_t *last)
{
    if (k < 2 || k > MPC_MAX_PARTIES) return MPC_ERR_INVALID;
    uint64_t bad = 0;
    for (uint64_t i = 0; i < len; i++) bad |= x[i] >= MPC_F61_P;
    if (bad) return MPC_ERR_INVALID;
    memcpy(last, x, len * sizeof *last);
    uint64_t *tmp = malloc((len ? len : 1) * sizeof *tmp);
    if (!tmp) return MPC_ERR_NOMEM;
    int rc = 0;
    for (uint32_t j = 0; j + 1 < k && rc == 0; j++) {
        uint8_t *sd = seeds + (size_t)j * MPC_CWIRE_SEED_BYTES;
        randombytes_buf(sd, MPC_CWIRE_SEED_BYTES);
        rc = mpc_ct_expand(sd, len, tmp);
        for (uint64_t i = 0; i < len && rc == 0; i++) last[i] = mpc_f61_sub(last[i], tmp[i]);
    }
    sodium_memzero(tmp, (len ? len : 1) * sizeof *tmp);
    free(tmp);
    if (rc) sodium_memzero(last, len * sizeof *last);
    return rc;
}
