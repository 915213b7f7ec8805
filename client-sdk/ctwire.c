/* ctwire.c — encoding and hostile-input-safe decoding of the contribution messages
 * (ctwire.h). */
#include "ctwire.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "field61.h"
#include "mpc_err.h"
#include "prg.h"
#include "wirecommon.h"

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

int mpc_ct_req_encode(const mpc_ct_req *r, uint8_t **buf, size_t *len)
{
    if (!s_req_ok(r)) return MPC_ERR_INVALID;
    mpc_wc_enc e;
    mpc_wc_init(&e);
    mpc_wc_head(&e, 10, MPC_CT_CONTRIBUTE, r->rid);
    mpc_wc_bin(&e, r->job, sizeof r->job);
    mpc_wc_str(&e, r->name);
    mpc_wc_bin(&e, r->token, sizeof r->token);
    mpc_wc_bin(&e, r->nonce, sizeof r->nonce);
    mpc_wc_u64(&e, r->mode);
    mpc_wc_u64(&e, r->count);
    mpc_wc_u64(&e, r->proof_len);
    return mpc_wc_done(&e, buf, len);
}

int mpc_ct_rep_encode(uint64_t rid, uint64_t pending, uint8_t **buf, size_t *len)
{
    mpc_wc_enc e;
    mpc_wc_init(&e);
    mpc_wc_head(&e, 4, MPC_CT_CONTRIBUTE_OK, rid);
    mpc_wc_u64(&e, pending);
    return mpc_wc_done(&e, buf, len);
}

int mpc_ct_req_decode(const uint8_t *hdr, size_t len, size_t n_payload, size_t payload_len, mpc_ct_req *out,
                      char *err, size_t errlen)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    memset(out, 0, sizeof *out);
    const msgpack_object *el = NULL;   /* set by mpc_wc_open on success (gcc -O3 cannot tell) */
    uint32_t n = 0;
    uint8_t type = 0;
    uint64_t rid = 0, v;   /* rid stays 0 unless the header's request id was read */
    int r = mpc_wc_open(hdr, len, &u, &el, &n, &type, &rid, 0, err, errlen);
    if (r) goto out;
    out->rid = rid;
    r = MPC_ERR_PROTOCOL;
    /* the daemon routes a frame to this decoder by mpc_ct_is_contribution: a header it would
     * not route here (e.g. the type as a non-minimal msgpack integer) is not a CONTRIBUTE */
    if (type != MPC_CT_CONTRIBUTE || !mpc_ct_is_contribution(hdr, len)) {
        mpc_wc_fail(err, errlen, "not a CONTRIBUTE request");
        goto out;
    }
    if (n != 10) {
        mpc_wc_fail(err, errlen, "CONTRIBUTE has %u fields, expected 10", (unsigned)n);
        goto out;
    }
    if (mpc_wc_bin_exact(&el[3], out->job, sizeof out->job)) {
        mpc_wc_fail(err, errlen, "bad job id field");
        goto out;
    }
    if (el[4].type != MSGPACK_OBJECT_STR || el[4].via.str.size == 0 || el[4].via.str.size >= MPC_NAME_MAX ||
        !mpc_name_ok(el[4].via.str.ptr, el[4].via.str.size)) {
        mpc_wc_fail(err, errlen, "bad input name field");
        goto out;
    }
    memcpy(out->name, el[4].via.str.ptr, el[4].via.str.size);
    if (mpc_wc_bin_exact(&el[5], out->token, sizeof out->token) ||
        mpc_wc_bin_exact(&el[6], out->nonce, sizeof out->nonce)) {
        mpc_wc_fail(err, errlen, "bad token or nonce field");
        goto out;
    }
    if (mpc_wc_uint(&el[7], MPC_CW_SEED, &v)) {
        mpc_wc_fail(err, errlen, "bad mode field");
        goto out;
    }
    out->mode = (uint8_t)v;
    if (mpc_wc_uint(&el[8], MPC_CWIRE_MAX_COUNT, &out->count) || out->count == 0) {
        mpc_wc_fail(err, errlen, "bad element count field");
        goto out;
    }
    if (mpc_wc_uint(&el[9], MPC_CT_MAX_PROOF, &out->proof_len)) {
        mpc_wc_fail(err, errlen, "bad proof length field");
        goto out;
    }
    size_t want = mpc_ct_req_payload_len(out);
    if (n_payload != 1 || payload_len != want) {
        mpc_wc_fail(err, errlen, "CONTRIBUTE payload is %zu bytes in %zu frames, expected %zu in 1", payload_len,
                    n_payload, want);
        goto out;
    }
    r = 0;
out:
    msgpack_unpacked_destroy(&u);
    if (r) {
        memset(out, 0, sizeof *out);
        out->rid = rid;
    }
    return r;
}

int mpc_ct_rep_decode(const uint8_t *hdr, size_t len, size_t n_payload, uint64_t *rid, uint64_t *pending,
                      char *err, size_t errlen)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    const msgpack_object *el = NULL;   /* set by mpc_wc_open on success (gcc -O3 cannot tell) */
    uint32_t n = 0;
    uint8_t type = 0;
    int r = mpc_wc_open(hdr, len, &u, &el, &n, &type, rid, 0, err, errlen);
    if (r) goto out;
    r = MPC_ERR_PROTOCOL;
    if (type != MPC_CT_CONTRIBUTE_OK || n != 4 || n_payload != 0 || mpc_wc_uint(&el[3], UINT64_MAX, pending)) {
        mpc_wc_fail(err, errlen, "not a CONTRIBUTE_OK reply");
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
