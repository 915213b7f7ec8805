/* cwire.c — encoding and hostile-input-safe decoding of the client protocol (cwire.h), plus
 * the input-sharing convention.  Decoding is two passes: s_precheck walks the raw msgpack
 * bytes and refuses anything whose declared sizes exceed what is left of the frame (and every
 * type we never send: maps, ext, floats), then msgpack_unpack_next builds the object tree,
 * which the per-message functions check field by field. */
#include "cwire.h"

#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpc_err.h"
#include "prg.h"
#include "vcheck.h"
#include "wirecommon.h"

static const char *const s_state_names[MPC_JOB__COUNT] = {
#define X(e, v, s) [v] = s,
    MPC_JOB_STATE_LIST(X)
#undef X
};

const char *mpc_job_state_name(int state)
{
    return (state >= 0 && state < MPC_JOB__COUNT) ? s_state_names[state] : "unknown";
}

/* ---------------------------------------------------------------------------------------
 * Encoding */

static int s_names_ok(uint32_t n, const char (*names)[MPC_NAME_MAX])
{
    if (n < 1 || n > MPC_MAX_PARTIES) return 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!mpc_name_ok(names[i], strnlen(names[i], MPC_NAME_MAX))) return 0;
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(names[i], names[j])) return 0;
    }
    return 1;
}

static int s_text_ok(const char *s)
{
    return strnlen(s, MPC_CWIRE_MSG_MAX) < MPC_CWIRE_MSG_MAX;
}

/* [version, type, rid, job, name, f5, f6]: INPUT, KEYS and MASK (their checks are the caller's). */
static int s_enc_named(const mpc_cwire_req *r, uint64_t f5, uint64_t f6, uint8_t **buf, size_t *len)
{
    mpc_wc_enc e;
    mpc_wc_init(&e);
    mpc_wc_head(&e, 7, r->type, r->rid);
    mpc_wc_bin(&e, r->job, MPC_CWIRE_JOB_BYTES);
    mpc_wc_str(&e, r->name);
    mpc_wc_u64(&e, f5);
    mpc_wc_u64(&e, f6);
    return mpc_wc_done(&e, buf, len);
}

int mpc_cwire_req_encode(const mpc_cwire_req *r, uint8_t **buf, size_t *len)
{
    mpc_wc_enc e;
    switch (r->type) {
    case MPC_CW_SUBMIT:
        if (!s_names_ok(r->n_bind, r->bind) || !r->circ || r->circ_len == 0 || r->circ_len > UINT32_MAX ||
            r->collect_ms > MPC_CWIRE_MAX_COLLECT_MS || r->collect_count > MPC_CWIRE_MAX_COLLECT_COUNT)
            return MPC_ERR_INVALID;
        mpc_wc_init(&e);
        mpc_wc_head(&e, r->collect_ms || r->collect_count ? 8 : 6, r->type, r->rid);
        mpc_wc_bin(&e, r->job, MPC_CWIRE_JOB_BYTES);
        mpc_wc_arr(&e, r->n_bind);
        for (uint32_t i = 0; i < r->n_bind; i++) mpc_wc_str(&e, r->bind[i]);
        mpc_wc_bin(&e, r->circ, r->circ_len);
        if (r->collect_ms || r->collect_count) {
            mpc_wc_u64(&e, r->collect_ms);
            mpc_wc_u64(&e, r->collect_count);
        }
        return mpc_wc_done(&e, buf, len);
    case MPC_CW_INPUT:
        if (!mpc_name_ok(r->name, strnlen(r->name, MPC_NAME_MAX)) || r->mode > MPC_CW_MASKED ||
            r->count < 1 || r->count > MPC_CWIRE_MAX_COUNT)
            return MPC_ERR_INVALID;
        return s_enc_named(r, r->mode, r->count, buf, len);
    case MPC_CW_KEYS:
        if (!mpc_name_ok(r->name, strnlen(r->name, MPC_NAME_MAX)) || r->count < 1 ||
            r->count > MPC_CWIRE_KEYS_MAX_ROWS || r->key_bytes < r->count ||
            r->key_bytes > r->count * MPC_CWIRE_KEY_MAX)
            return MPC_ERR_INVALID;
        return s_enc_named(r, r->count, r->key_bytes, buf, len);
    case MPC_CW_MASK:
        if (!mpc_name_ok(r->name, strnlen(r->name, MPC_NAME_MAX)) || r->wait_ms > MPC_CWIRE_MAX_WAIT_MS ||
            r->count < 1 || r->count > MPC_CWIRE_MAX_COUNT)
            return MPC_ERR_INVALID;
        return s_enc_named(r, r->count, r->wait_ms, buf, len);
    case MPC_CW_RESULT:
        if (!mpc_name_ok(r->name, strnlen(r->name, MPC_NAME_MAX)) || r->wait_ms > MPC_CWIRE_MAX_WAIT_MS)
            return MPC_ERR_INVALID;
        mpc_wc_init(&e);
        mpc_wc_head(&e, 6, r->type, r->rid);
        mpc_wc_bin(&e, r->job, MPC_CWIRE_JOB_BYTES);
        mpc_wc_str(&e, r->name);
        mpc_wc_u64(&e, r->wait_ms);
        return mpc_wc_done(&e, buf, len);
    case MPC_CW_STATUS:
        mpc_wc_init(&e);
        mpc_wc_head(&e, 4, r->type, r->rid);
        if (r->has_job) mpc_wc_bin(&e, r->job, MPC_CWIRE_JOB_BYTES);
        else mpc_wc_nil(&e);
        return mpc_wc_done(&e, buf, len);
    case MPC_CW_JOBS:
        mpc_wc_init(&e);
        mpc_wc_head(&e, 3, r->type, r->rid);
        return mpc_wc_done(&e, buf, len);
    case MPC_CW_CANCEL:
        mpc_wc_init(&e);
        mpc_wc_head(&e, 4, r->type, r->rid);
        mpc_wc_bin(&e, r->job, MPC_CWIRE_JOB_BYTES);
        return mpc_wc_done(&e, buf, len);
    default:
        return MPC_ERR_INVALID;
    }
}

int mpc_cwire_rep_encode(const mpc_cwire_rep *r, uint8_t **buf, size_t *len)
{
    mpc_wc_enc e;
    switch (r->type) {
    case MPC_CW_SUBMIT_OK:
        if (r->malicious > 1) return MPC_ERR_INVALID;
        mpc_wc_init(&e);
        mpc_wc_head(&e, r->malicious ? 5 : 4, r->type, r->rid);
        mpc_wc_bin(&e, r->hash, MPC_CWIRE_HASH_BYTES);
        if (r->malicious) mpc_wc_bool(&e, 1);
        return mpc_wc_done(&e, buf, len);
    case MPC_CW_MASK_OK:
        if (r->ready > 1 || r->state >= MPC_JOB__COUNT || r->count > MPC_CWIRE_MAX_COUNT ||
            (r->ready && (r->count < 1 || !mpc_vcheck_record_bytes(r->count, r->parties))) ||
            (!r->ready && (r->count != 0 || r->parties != 0)))
            return MPC_ERR_INVALID;
        mpc_wc_init(&e);
        mpc_wc_head(&e, r->ready ? 7 : 6, r->type, r->rid);
        mpc_wc_bool(&e, r->ready);
        mpc_wc_u64(&e, r->state);
        mpc_wc_u64(&e, r->count);
        if (r->ready) mpc_wc_u64(&e, r->parties);
        return mpc_wc_done(&e, buf, len);
    case MPC_CW_INPUT_OK:
    case MPC_CW_CANCEL_OK:
    case MPC_CW_KEYS_OK:
        mpc_wc_init(&e);
        mpc_wc_head(&e, 3, r->type, r->rid);
        return mpc_wc_done(&e, buf, len);
    case MPC_CW_RESULT_OK:
        if (r->ready > 1 || r->state >= MPC_JOB__COUNT || r->vtype >= MPC_T__COUNT ||
            r->count > MPC_CWIRE_MAX_COUNT || (r->ready && (r->count < 1 || r->state != MPC_JOB_DONE)) ||
            (!r->ready && (r->count != 0 || r->state == MPC_JOB_DONE)))
            return MPC_ERR_INVALID;
        if (r->withheld[0] && (!r->ready || r->count > MPC_CWIRE_WITHHELD_MAX || !s_text_ok(r->withheld)))
            return MPC_ERR_INVALID;
        if (r->checked > 1 || (r->checked && (!r->ready || !mpc_vcheck_record_bytes(r->count, r->parties))) ||
            (!r->checked && r->parties != 0))
            return MPC_ERR_INVALID;
        mpc_wc_init(&e);
        mpc_wc_head(&e, 7 + (r->withheld[0] ? 2 : 0) + r->checked, r->type, r->rid);
        mpc_wc_bool(&e, r->ready);
        mpc_wc_u64(&e, r->state);
        mpc_wc_u64(&e, r->vtype);
        mpc_wc_u64(&e, r->count);
        if (r->withheld[0]) {
            mpc_wc_str(&e, r->withheld);
            mpc_wc_bin(&e, r->withheld_bits, (size_t)(r->count + 7) / 8);
        }
        if (r->checked) mpc_wc_u64(&e, r->parties);
        return mpc_wc_done(&e, buf, len);
    case MPC_CW_STATUS_OK: {
        const mpc_cwire_job_info *j = &r->job;
        if (!mpc_name_ok(r->daemon, strnlen(r->daemon, MPC_NAME_MAX))) return MPC_ERR_INVALID;
        if (r->has_job && (j->state >= MPC_JOB__COUNT || !s_text_ok(j->reason) ||
                           j->layers_done > j->layers_total || j->inputs_given > j->inputs_total ||
                           !s_names_ok(j->n_bind, j->bind) || j->malicious > 1))
            return MPC_ERR_INVALID;
        if (r->n_peers > MPC_CWIRE_MAX_PEERS) return MPC_ERR_INVALID;
        for (uint32_t i = 0; i < r->n_peers; i++)
            if (!mpc_name_ok(r->peers[i].name, strnlen(r->peers[i].name, MPC_NAME_MAX)) ||
                r->peers[i].state > MPC_PEER_DOWN)
                return MPC_ERR_INVALID;
        mpc_wc_init(&e);
        mpc_wc_head(&e, 7, r->type, r->rid);
        mpc_wc_str(&e, r->daemon);
        mpc_wc_arr(&e, 6);
        mpc_wc_u64(&e, r->info.jobs_queued);
        mpc_wc_u64(&e, r->info.jobs_running);
        mpc_wc_u64(&e, r->info.jobs_done);
        mpc_wc_u64(&e, r->info.jobs_failed);
        mpc_wc_u64(&e, r->info.triples_stock);
        mpc_wc_u64(&e, r->info.triples_per_s);
        if (r->has_job) {
            mpc_wc_arr(&e, j->malicious ? 13 : 12);
            mpc_wc_u64(&e, j->state);
            mpc_wc_str(&e, j->reason);
            mpc_wc_u64(&e, j->layers_done);
            mpc_wc_u64(&e, j->layers_total);
            mpc_wc_u64(&e, j->triples_used);
            mpc_wc_u64(&e, j->inputs_given);
            mpc_wc_u64(&e, j->inputs_total);
            mpc_wc_bin(&e, j->hash, MPC_CWIRE_HASH_BYTES);
            mpc_wc_arr(&e, j->n_bind);
            for (uint32_t i = 0; i < j->n_bind; i++) mpc_wc_str(&e, j->bind[i]);
            mpc_wc_u64(&e, j->prep_made);
            mpc_wc_u64(&e, j->prep_needed);
            mpc_wc_u64(&e, j->prep_per_s);
            if (j->malicious) mpc_wc_bool(&e, 1);
        } else {
            mpc_wc_nil(&e);
        }
        mpc_wc_arr(&e, r->n_peers);
        for (uint32_t i = 0; i < r->n_peers; i++) {
            mpc_wc_arr(&e, 3);
            mpc_wc_str(&e, r->peers[i].name);
            mpc_wc_u64(&e, r->peers[i].state);
            mpc_wc_u64(&e, r->peers[i].for_ms);
        }
        return mpc_wc_done(&e, buf, len);
    }
    case MPC_CW_JOBS_OK:
        if (!mpc_name_ok(r->daemon, strnlen(r->daemon, MPC_NAME_MAX)) || r->n_jobs > MPC_CWIRE_MAX_JOBS ||
            r->jobs_total < r->n_jobs)
            return MPC_ERR_INVALID;
        for (uint32_t i = 0; i < r->n_jobs; i++) {
            const mpc_cwire_job_line *l = &r->jobs[i];
            if (l->state >= MPC_JOB__COUNT || !mpc_name_ok(l->client, strnlen(l->client, MPC_NAME_MAX)) ||
                l->layers_done > l->layers_total)
                return MPC_ERR_INVALID;
        }
        mpc_wc_init(&e);
        mpc_wc_head(&e, 6, r->type, r->rid);
        mpc_wc_str(&e, r->daemon);
        mpc_wc_u64(&e, r->jobs_total);
        mpc_wc_arr(&e, r->n_jobs);
        for (uint32_t i = 0; i < r->n_jobs; i++) {
            const mpc_cwire_job_line *l = &r->jobs[i];
            mpc_wc_arr(&e, 8);
            mpc_wc_bin(&e, l->id, MPC_CWIRE_JOB_BYTES);
            mpc_wc_u64(&e, l->state);
            mpc_wc_u64(&e, l->age_s);
            mpc_wc_str(&e, l->client);
            mpc_wc_u64(&e, l->layers_done);
            mpc_wc_u64(&e, l->layers_total);
            mpc_wc_u64(&e, l->prep_made);
            mpc_wc_u64(&e, l->prep_needed);
        }
        return mpc_wc_done(&e, buf, len);
    case MPC_CW_ERROR:
        if (r->code >= 0 || r->code < -127 || !s_text_ok(r->msg)) return MPC_ERR_INVALID;
        mpc_wc_init(&e);
        mpc_wc_head(&e, 5, r->type, r->rid);
        mpc_wc_i64(&e, r->code);
        mpc_wc_str(&e, r->msg);
        return mpc_wc_done(&e, buf, len);
    default:
        return MPC_ERR_INVALID;
    }
}

size_t mpc_cwire_req_payload_len(const mpc_cwire_req *r)
{
    if (r->type == MPC_CW_KEYS) return (size_t)(r->count + 1) * 8 + (size_t)r->key_bytes;
    if (r->type != MPC_CW_INPUT) return 0;
    return r->mode == MPC_CW_SEED ? MPC_CWIRE_SEED_BYTES : (size_t)r->count * 8;   /* explicit, masked */
}

size_t mpc_cwire_rep_payload_len(const mpc_cwire_rep *r)
{
    /* a record (vcheck.h): the decoders and encoders admit only counts and parties it has */
    if (r->type == MPC_CW_MASK_OK && r->ready) return mpc_vcheck_record_bytes(r->count, r->parties);
    if (r->type == MPC_CW_RESULT_OK && r->ready && r->checked) return mpc_vcheck_record_bytes(r->count, r->parties);
    return (r->type == MPC_CW_RESULT_OK && r->ready) ? (size_t)r->count * 8 : 0;
}

/* ---------------------------------------------------------------------------------------
 * Decoding */

/* Reads a big-endian unsigned integer of w bytes. */
static uint64_t s_be(const uint8_t *p, size_t w)
{
    uint64_t v = 0;
    for (size_t i = 0; i < w; i++) v = v << 8 | p[i];
    return v;
}

/* Walks the msgpack bytes of buf[0..len-1] without building anything: exactly one object must
 * span the whole buffer; every array's declared element count and every str/bin length must
 * fit in the bytes that remain.  Maps, ext and float types are refused (we never send them),
 * so msgpack_unpack_next afterwards allocates at most 24 bytes per byte of input. */
static int s_precheck(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    size_t off = 0;
    uint64_t pending = 1;
    while (pending) {
        if (off >= len) return mpc_wc_fail(err, errlen, "truncated message");
        uint8_t b = buf[off++];
        pending--;
        size_t rem = len - off;
        size_t w = 0;             /* width of a length/value field following the tag */
        uint64_t body = 0;        /* bytes of str/bin body */
        uint64_t elems = 0;       /* array elements */
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            continue;
        } else if (b >= 0x90 && b <= 0x9f) {
            elems = b & 0x0f;
        } else if (b >= 0xa0 && b <= 0xbf) {
            body = b & 0x1f;
        } else {
            switch (b) {
            case 0xcc: case 0xd0: w = 1; break;
            case 0xcd: case 0xd1: w = 2; break;
            case 0xce: case 0xd2: w = 4; break;
            case 0xcf: case 0xd3: w = 8; break;
            case 0xc4: case 0xd9: case 0xc5: case 0xda: case 0xc6: case 0xdb:
            case 0xdc: case 0xdd: {
                size_t lw = (b == 0xc4 || b == 0xd9) ? 1 : (b == 0xc5 || b == 0xda || b == 0xdc) ? 2 : 4;
                if (rem < lw) return mpc_wc_fail(err, errlen, "truncated message");
                uint64_t n = s_be(buf + off, lw);
                off += lw;
                rem -= lw;
                if (b == 0xdc || b == 0xdd) elems = n;
                else body = n;
                break;
            }
            default:
                return mpc_wc_fail(err, errlen, "unexpected msgpack type 0x%02x", b);
            }
            if (w) {
                if (rem < w) return mpc_wc_fail(err, errlen, "truncated message");
                off += w;
                continue;
            }
        }
        if (body > rem) return mpc_wc_fail(err, errlen, "string of %llu bytes exceeds the frame",
                                           (unsigned long long)body);
        off += (size_t)body;
        if (elems > rem) return mpc_wc_fail(err, errlen, "array of %llu elements exceeds the frame",
                                            (unsigned long long)elems);
        pending += elems;
    }
    if (off != len) return mpc_wc_fail(err, errlen, "%zu trailing bytes after the message", len - off);
    return 0;
}

static int s_bin(const msgpack_object *o, const uint8_t **p, size_t *n)
{
    if (o->type != MSGPACK_OBJECT_BIN) return -1;
    *p = (const uint8_t *)o->via.bin.ptr;
    *n = o->via.bin.size;
    return 0;
}

static int s_name(const msgpack_object *o, char out[MPC_NAME_MAX])
{
    if (o->type != MSGPACK_OBJECT_STR || !mpc_name_ok(o->via.str.ptr, o->via.str.size)) return -1;
    memcpy(out, o->via.str.ptr, o->via.str.size);
    out[o->via.str.size] = 0;
    return 0;
}

/* A free-text field (error message, failure reason): bounded, copied with every byte outside
 * printable ASCII replaced by '?', so a hostile daemon cannot inject lines or escapes. */
static int s_text(const msgpack_object *o, char out[MPC_CWIRE_MSG_MAX])
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= MPC_CWIRE_MSG_MAX) return -1;
    for (uint32_t i = 0; i < o->via.str.size; i++) {
        unsigned char c = (unsigned char)o->via.str.ptr[i];
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[o->via.str.size] = 0;
    return 0;
}

static int s_binding(const msgpack_object *o, uint32_t *n_out, char (*names)[MPC_NAME_MAX])
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 1 || o->via.array.size > MPC_MAX_PARTIES)
        return -1;
    uint32_t n = o->via.array.size;
    for (uint32_t i = 0; i < n; i++) {
        if (s_name(&o->via.array.ptr[i], names[i])) return -1;
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(names[i], names[j])) return -1;
    }
    *n_out = n;
    return 0;
}

static int s_payload(size_t n_payload, size_t payload_len, size_t want, char *err, size_t errlen)
{
    if (want == 0) {
        if (n_payload != 0) return mpc_wc_fail(err, errlen, "unexpected payload frame");
        return 0;
    }
    if (n_payload != 1) return mpc_wc_fail(err, errlen, "expected exactly one payload frame, got %zu", n_payload);
    if (payload_len != want)
        return mpc_wc_fail(err, errlen, "payload of %zu bytes, header announces %zu", payload_len, want);
    return 0;
}

int mpc_cwire_req_decode(const uint8_t *hdr, size_t len, size_t n_payload, size_t payload_len,
                         mpc_cwire_req *out, char *err, size_t errlen)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    memset(out, 0, sizeof *out);
    const msgpack_object *el = NULL;
    uint32_t n = 0;
    uint8_t type = 0;
    uint64_t v;
    int r = mpc_wc_open(hdr, len, &u, &el, &n, &type, &out->rid, 1, err, errlen);
    if (r) goto out;
    out->type = type;
    r = MPC_ERR_PROTOCOL;
    switch (type) {
    case MPC_CW_SUBMIT:
        if (n != 6 && n != 8) { mpc_wc_fail(err, errlen, "SUBMIT: %u fields, expected 6 or 8", n); goto out; }
        if (mpc_wc_bin_exact(&el[3], out->job, MPC_CWIRE_JOB_BYTES)) {
            mpc_wc_fail(err, errlen, "SUBMIT: bad job id");
            goto out;
        }
        if (s_binding(&el[4], &out->n_bind, out->bind)) { mpc_wc_fail(err, errlen, "SUBMIT: bad binding"); goto out; }
        if (s_bin(&el[5], &out->circ, &out->circ_len) || out->circ_len == 0) {
            mpc_wc_fail(err, errlen, "SUBMIT: bad circuit field");
            goto out;
        }
        if (n == 8 && (mpc_wc_uint(&el[6], MPC_CWIRE_MAX_COLLECT_MS, &out->collect_ms) ||
                       mpc_wc_uint(&el[7], MPC_CWIRE_MAX_COLLECT_COUNT, &out->collect_count))) {
            mpc_wc_fail(err, errlen, "SUBMIT: bad collection options");
            goto out;
        }
        break;
    case MPC_CW_INPUT:
        if (n != 7) { mpc_wc_fail(err, errlen, "INPUT: %u fields, expected 7", n); goto out; }
        if (mpc_wc_bin_exact(&el[3], out->job, MPC_CWIRE_JOB_BYTES)) {
            mpc_wc_fail(err, errlen, "INPUT: bad job id");
            goto out;
        }
        if (s_name(&el[4], out->name)) { mpc_wc_fail(err, errlen, "INPUT: bad input name"); goto out; }
        if (mpc_wc_uint(&el[5], MPC_CW_MASKED, &v)) { mpc_wc_fail(err, errlen, "INPUT: bad mode"); goto out; }
        out->mode = (uint8_t)v;
        if (mpc_wc_uint(&el[6], MPC_CWIRE_MAX_COUNT, &out->count) || out->count < 1) {
            mpc_wc_fail(err, errlen, "INPUT: bad element count");
            goto out;
        }
        break;
    case MPC_CW_KEYS:
        if (n != 7) { mpc_wc_fail(err, errlen, "KEYS: %u fields, expected 7", n); goto out; }
        if (mpc_wc_bin_exact(&el[3], out->job, MPC_CWIRE_JOB_BYTES)) {
            mpc_wc_fail(err, errlen, "KEYS: bad job id");
            goto out;
        }
        if (s_name(&el[4], out->name)) { mpc_wc_fail(err, errlen, "KEYS: bad key column name"); goto out; }
        if (mpc_wc_uint(&el[5], MPC_CWIRE_KEYS_MAX_ROWS, &out->count) || out->count < 1) {
            mpc_wc_fail(err, errlen, "KEYS: bad row count");
            goto out;
        }
        if (mpc_wc_uint(&el[6], out->count * MPC_CWIRE_KEY_MAX, &out->key_bytes) || out->key_bytes < out->count) {
            mpc_wc_fail(err, errlen, "KEYS: bad key byte count");
            goto out;
        }
        break;
    case MPC_CW_MASK:
        if (n != 7) { mpc_wc_fail(err, errlen, "MASK: %u fields, expected 7", n); goto out; }
        if (mpc_wc_bin_exact(&el[3], out->job, MPC_CWIRE_JOB_BYTES)) {
            mpc_wc_fail(err, errlen, "MASK: bad job id");
            goto out;
        }
        if (s_name(&el[4], out->name)) { mpc_wc_fail(err, errlen, "MASK: bad input name"); goto out; }
        if (mpc_wc_uint(&el[5], MPC_CWIRE_MAX_COUNT, &out->count) || out->count < 1) {
            mpc_wc_fail(err, errlen, "MASK: bad element count");
            goto out;
        }
        if (mpc_wc_uint(&el[6], MPC_CWIRE_MAX_WAIT_MS, &v)) { mpc_wc_fail(err, errlen, "MASK: bad wait"); goto out; }
        out->wait_ms = (uint32_t)v;
        break;
    case MPC_CW_RESULT:
        if (n != 6) { mpc_wc_fail(err, errlen, "RESULT: %u fields, expected 6", n); goto out; }
        if (mpc_wc_bin_exact(&el[3], out->job, MPC_CWIRE_JOB_BYTES)) {
            mpc_wc_fail(err, errlen, "RESULT: bad job id");
            goto out;
        }
        if (s_name(&el[4], out->name)) { mpc_wc_fail(err, errlen, "RESULT: bad output name"); goto out; }
        if (mpc_wc_uint(&el[5], MPC_CWIRE_MAX_WAIT_MS, &v)) { mpc_wc_fail(err, errlen, "RESULT: bad wait"); goto out; }
        out->wait_ms = (uint32_t)v;
        break;
    case MPC_CW_STATUS:
        if (n != 4) { mpc_wc_fail(err, errlen, "STATUS: %u fields, expected 4", n); goto out; }
        if (el[3].type == MSGPACK_OBJECT_NIL) {
            out->has_job = 0;
        } else if (mpc_wc_bin_exact(&el[3], out->job, MPC_CWIRE_JOB_BYTES) == 0) {
            out->has_job = 1;
        } else {
            mpc_wc_fail(err, errlen, "STATUS: bad job id");
            goto out;
        }
        break;
    case MPC_CW_JOBS:
        if (n != 3) { mpc_wc_fail(err, errlen, "JOBS: %u fields, expected 3", n); goto out; }
        break;
    case MPC_CW_CANCEL:
        if (n != 4) { mpc_wc_fail(err, errlen, "CANCEL: %u fields, expected 4", n); goto out; }
        if (mpc_wc_bin_exact(&el[3], out->job, MPC_CWIRE_JOB_BYTES)) {
            mpc_wc_fail(err, errlen, "CANCEL: bad job id");
            goto out;
        }
        break;
    default:
        mpc_wc_fail(err, errlen, "unknown request type %u", type);
        goto out;
    }
    r = s_payload(n_payload, payload_len, mpc_cwire_req_payload_len(out), err, errlen);
out:
    msgpack_unpacked_destroy(&u);
    if (r) {
        uint64_t rid = out->rid;
        memset(out, 0, sizeof *out);
        out->rid = rid;
    }
    return r;
}

static int s_job_info(const msgpack_object *o, mpc_cwire_job_info *j)
{
    /* 9 fields, or 12 with the preprocessing figures, 13 with security = malicious */
    uint32_t nf = o->type == MSGPACK_OBJECT_ARRAY ? o->via.array.size : 0;
    if (nf != 9 && nf != 12 && nf != 13) return -1;
    const msgpack_object *el = o->via.array.ptr;
    uint64_t v;
    if (mpc_wc_uint(&el[0], MPC_JOB__COUNT - 1, &v)) return -1;
    j->state = (uint8_t)v;
    if (s_text(&el[1], j->reason)) return -1;
    if (mpc_wc_uint(&el[2], UINT64_MAX, &j->layers_done) || mpc_wc_uint(&el[3], UINT64_MAX, &j->layers_total) ||
        j->layers_done > j->layers_total)
        return -1;
    if (mpc_wc_uint(&el[4], UINT64_MAX, &j->triples_used)) return -1;
    if (mpc_wc_uint(&el[5], UINT32_MAX, &v)) return -1;
    j->inputs_given = (uint32_t)v;
    if (mpc_wc_uint(&el[6], UINT32_MAX, &v)) return -1;
    j->inputs_total = (uint32_t)v;
    if (j->inputs_given > j->inputs_total) return -1;
    if (mpc_wc_bin_exact(&el[7], j->hash, MPC_CWIRE_HASH_BYTES)) return -1;
    if (s_binding(&el[8], &j->n_bind, j->bind)) return -1;
    if (nf >= 12 &&
        (mpc_wc_uint(&el[9], UINT64_MAX, &j->prep_made) || mpc_wc_uint(&el[10], UINT64_MAX, &j->prep_needed) ||
         mpc_wc_uint(&el[11], UINT64_MAX, &j->prep_per_s)))
        return -1;
    if (nf == 13) {
        if (el[12].type != MSGPACK_OBJECT_BOOLEAN || !el[12].via.boolean) return -1;
        j->malicious = 1;
    }
    return 0;
}

/* The peers of a STATUS reply: an array of [name, state, for_ms]. */
static int s_peers(const msgpack_object *o, mpc_cwire_rep *out)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > MPC_CWIRE_MAX_PEERS) return -1;
    out->n_peers = o->via.array.size;
    for (uint32_t i = 0; i < out->n_peers; i++) {
        const msgpack_object *p = &o->via.array.ptr[i];
        uint64_t v;
        if (p->type != MSGPACK_OBJECT_ARRAY || p->via.array.size != 3) return -1;
        if (s_name(&p->via.array.ptr[0], out->peers[i].name)) return -1;
        if (mpc_wc_uint(&p->via.array.ptr[1], MPC_PEER_DOWN, &v)) return -1;
        out->peers[i].state = (uint8_t)v;
        if (mpc_wc_uint(&p->via.array.ptr[2], UINT64_MAX, &out->peers[i].for_ms)) return -1;
    }
    return 0;
}

/* The lines of a JOBS reply. */
static int s_job_lines(const msgpack_object *o, mpc_cwire_rep *out)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > MPC_CWIRE_MAX_JOBS ||
        o->via.array.size > out->jobs_total)
        return -1;
    out->n_jobs = o->via.array.size;
    for (uint32_t i = 0; i < out->n_jobs; i++) {
        const msgpack_object *p = &o->via.array.ptr[i];
        mpc_cwire_job_line *l = &out->jobs[i];
        uint64_t v;
        if (p->type != MSGPACK_OBJECT_ARRAY || p->via.array.size != 8) return -1;
        const msgpack_object *f = p->via.array.ptr;
        if (mpc_wc_bin_exact(&f[0], l->id, MPC_CWIRE_JOB_BYTES)) return -1;
        if (mpc_wc_uint(&f[1], MPC_JOB__COUNT - 1, &v)) return -1;
        l->state = (uint8_t)v;
        if (mpc_wc_uint(&f[2], UINT64_MAX, &l->age_s) || s_name(&f[3], l->client) ||
            mpc_wc_uint(&f[4], UINT64_MAX, &l->layers_done) || mpc_wc_uint(&f[5], UINT64_MAX, &l->layers_total) ||
            l->layers_done > l->layers_total || mpc_wc_uint(&f[6], UINT64_MAX, &l->prep_made) ||
            mpc_wc_uint(&f[7], UINT64_MAX, &l->prep_needed))
            return -1;
    }
    return 0;
}

/* Elements 3 and 4 of a RESULT or MASK reply: the ready flag and the job state.  0 or -1
 * with the reason in err. */
/* A record's number of parties (MASK_OK, checked RESULT_OK): 2 .. MPC_MAX_PARTIES_AUTH. */
static int s_parties(const msgpack_object *o, mpc_cwire_rep *out)
{
    uint64_t v;
    if (mpc_wc_uint(o, MPC_MAX_PARTIES_AUTH, &v) || v < 2) return -1;
    out->parties = (uint32_t)v;
    return 0;
}

static int s_ready_state(const msgpack_object *el, mpc_cwire_rep *out, const char *what, char *err, size_t errlen)
{
    uint64_t v;
    if (el[3].type != MSGPACK_OBJECT_BOOLEAN) {
        mpc_wc_fail(err, errlen, "%s reply: bad ready flag", what);
        return -1;
    }
    out->ready = el[3].via.boolean ? 1 : 0;
    if (mpc_wc_uint(&el[4], MPC_JOB__COUNT - 1, &v)) {
        mpc_wc_fail(err, errlen, "%s reply: bad job state", what);
        return -1;
    }
    out->state = (uint8_t)v;
    return 0;
}

int mpc_cwire_rep_decode(const uint8_t *hdr, size_t len, size_t n_payload, size_t payload_len,
                         mpc_cwire_rep *out, char *err, size_t errlen)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    memset(out, 0, sizeof *out);
    const msgpack_object *el = NULL;
    uint32_t n = 0;
    uint8_t type = 0;
    uint64_t v;
    int r = mpc_wc_open(hdr, len, &u, &el, &n, &type, &out->rid, 1, err, errlen);
    if (r) goto out;
    out->type = type;
    r = MPC_ERR_PROTOCOL;
    switch (type) {
    case MPC_CW_SUBMIT_OK:
        if (n != 4 && n != 5) { mpc_wc_fail(err, errlen, "SUBMIT reply: %u fields, expected 4", n); goto out; }
        if (mpc_wc_bin_exact(&el[3], out->hash, MPC_CWIRE_HASH_BYTES)) {
            mpc_wc_fail(err, errlen, "SUBMIT reply: bad circuit hash");
            goto out;
        }
        if (n == 5) {   /* security = malicious */
            if (el[4].type != MSGPACK_OBJECT_BOOLEAN || !el[4].via.boolean) {
                mpc_wc_fail(err, errlen, "SUBMIT reply: bad security flag");
                goto out;
            }
            out->malicious = 1;
        }
        break;
    case MPC_CW_MASK_OK:
        if (n != 6 && n != 7) { mpc_wc_fail(err, errlen, "MASK reply: %u fields, expected 6 or 7", n); goto out; }
        if (s_ready_state(el, out, "MASK", err, errlen)) goto out;
        if (mpc_wc_uint(&el[5], MPC_CWIRE_MAX_COUNT, &out->count) ||
            (out->ready ? out->count < 1 : out->count != 0)) {
            mpc_wc_fail(err, errlen, "MASK reply: bad element count");
            goto out;
        }
        if ((n == 7) != out->ready || (n == 7 && s_parties(&el[6], out))) {   /* ready: the job's parties */
            mpc_wc_fail(err, errlen, "MASK reply: bad number of parties");
            goto out;
        }
        break;
    case MPC_CW_INPUT_OK:
        if (n != 3) { mpc_wc_fail(err, errlen, "INPUT reply: %u fields, expected 3", n); goto out; }
        break;
    case MPC_CW_CANCEL_OK:
        if (n != 3) { mpc_wc_fail(err, errlen, "CANCEL reply: %u fields, expected 3", n); goto out; }
        break;
    case MPC_CW_KEYS_OK:
        if (n != 3) { mpc_wc_fail(err, errlen, "KEYS reply: %u fields, expected 3", n); goto out; }
        break;
    case MPC_CW_RESULT_OK:
        if (n < 7 || n > 10) { mpc_wc_fail(err, errlen, "RESULT reply: %u fields, expected 7", n); goto out; }
        if (s_ready_state(el, out, "RESULT", err, errlen)) goto out;
        if (mpc_wc_uint(&el[5], MPC_T__COUNT - 1, &v)) {
            mpc_wc_fail(err, errlen, "RESULT reply: bad value type");
            goto out;
        }
        out->vtype = (uint8_t)v;
        if (mpc_wc_uint(&el[6], MPC_CWIRE_MAX_COUNT, &out->count)) {
            mpc_wc_fail(err, errlen, "RESULT reply: bad element count");
            goto out;
        }
        if (out->ready ? (out->count < 1 || out->state != MPC_JOB_DONE)
                       : (out->count != 0 || out->state == MPC_JOB_DONE)) {
            mpc_wc_fail(err, errlen, "RESULT reply: inconsistent ready flag, state and count");
            goto out;
        }
        if (n >= 9) {   /* withheld elements: 9, or 10 with the checked flag after them */
            const uint8_t *bits;
            size_t nb;
            if (!out->ready || out->count > MPC_CWIRE_WITHHELD_MAX || s_text(&el[7], out->withheld) ||
                !out->withheld[0] || s_bin(&el[8], &bits, &nb) || nb != (size_t)(out->count + 7) / 8) {
                mpc_wc_fail(err, errlen, "RESULT reply: bad withheld elements");
                goto out;
            }
            memcpy(out->withheld_bits, bits, nb);
        }
        if (n == 8 || n == 10) {   /* a checked output: a record, sized by the job's parties */
            if (!out->ready || s_parties(&el[n - 1], out)) {
                mpc_wc_fail(err, errlen, "RESULT reply: bad number of parties of a checked output");
                goto out;
            }
            out->checked = 1;
        }
        break;
    case MPC_CW_STATUS_OK:
        /* 6 fields, or 7 with the peers */
        if (n != 6 && n != 7) { mpc_wc_fail(err, errlen, "STATUS reply: %u fields, expected 7", n); goto out; }
        if (s_name(&el[3], out->daemon)) { mpc_wc_fail(err, errlen, "STATUS reply: bad daemon name"); goto out; }
        if (el[4].type != MSGPACK_OBJECT_ARRAY || el[4].via.array.size != 6) {
            mpc_wc_fail(err, errlen, "STATUS reply: bad daemon figures");
            goto out;
        }
        {
            const msgpack_object *f = el[4].via.array.ptr;
            uint64_t *dst[6] = {&out->info.jobs_queued, &out->info.jobs_running, &out->info.jobs_done,
                                &out->info.jobs_failed, &out->info.triples_stock, &out->info.triples_per_s};
            for (int i = 0; i < 6; i++)
                if (mpc_wc_uint(&f[i], UINT64_MAX, dst[i])) {
                    mpc_wc_fail(err, errlen, "STATUS reply: bad daemon figures");
                    goto out;
                }
        }
        if (el[5].type == MSGPACK_OBJECT_NIL) {
            out->has_job = 0;
        } else if (s_job_info(&el[5], &out->job) == 0) {
            out->has_job = 1;
        } else {
            mpc_wc_fail(err, errlen, "STATUS reply: bad job record");
            goto out;
        }
        if (n == 7 && s_peers(&el[6], out)) { mpc_wc_fail(err, errlen, "STATUS reply: bad peer list"); goto out; }
        break;
    case MPC_CW_JOBS_OK:
        if (n != 6) { mpc_wc_fail(err, errlen, "JOBS reply: %u fields, expected 6", n); goto out; }
        if (s_name(&el[3], out->daemon)) { mpc_wc_fail(err, errlen, "JOBS reply: bad daemon name"); goto out; }
        if (mpc_wc_uint(&el[4], UINT64_MAX, &out->jobs_total)) {
            mpc_wc_fail(err, errlen, "JOBS reply: bad total");
            goto out;
        }
        if (s_job_lines(&el[5], out)) { mpc_wc_fail(err, errlen, "JOBS reply: bad job list"); goto out; }
        break;
    case MPC_CW_ERROR: {
        if (n != 5) { mpc_wc_fail(err, errlen, "ERROR reply: %u fields, expected 5", n); goto out; }
        if (el[3].type != MSGPACK_OBJECT_NEGATIVE_INTEGER || el[3].via.i64 < -127) {
            mpc_wc_fail(err, errlen, "ERROR reply: bad error code");
            goto out;
        }
        out->code = (int)el[3].via.i64;
        if (s_text(&el[4], out->msg)) { mpc_wc_fail(err, errlen, "ERROR reply: bad message"); goto out; }
        break;
    }
    default:
        mpc_wc_fail(err, errlen, "unknown reply type %u", type);
        goto out;
    }
    r = s_payload(n_payload, payload_len, mpc_cwire_rep_payload_len(out), err, errlen);
out:
    msgpack_unpacked_destroy(&u);
    if (r) memset(out, 0, sizeof *out);
    return r;
}

/* ---------------------------------------------------------------------------------------
 * Job ids */

int mpc_cwire_precheck(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    return s_precheck(buf, len, err, errlen);
}

int mpc_cwire_job_new(uint8_t job[MPC_CWIRE_JOB_BYTES])
{
    if (sodium_init() < 0) return MPC_ERR_CRYPTO;
    randombytes_buf(job, MPC_CWIRE_JOB_BYTES);
    return 0;
}

void mpc_cwire_job_hex(const uint8_t job[MPC_CWIRE_JOB_BYTES], char hex[MPC_CWIRE_JOB_HEX + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < MPC_CWIRE_JOB_BYTES; i++) {
        hex[2 * i] = digits[job[i] >> 4];
        hex[2 * i + 1] = digits[job[i] & 15];
    }
    hex[MPC_CWIRE_JOB_HEX] = 0;
}

static int s_hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int mpc_cwire_job_parse(uint8_t job[MPC_CWIRE_JOB_BYTES], const char *hex)
{
    if (!hex || strlen(hex) != MPC_CWIRE_JOB_HEX) return MPC_ERR_INVALID;
    uint8_t tmp[MPC_CWIRE_JOB_BYTES];
    for (int i = 0; i < MPC_CWIRE_JOB_BYTES; i++) {
        int hi = s_hexval(hex[2 * i]), lo = s_hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return MPC_ERR_INVALID;
        tmp[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(job, tmp, sizeof tmp);
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * Input sharing */

/* The engine's expansion itself (protocols/engine.c expands MPC_IN_SEED inputs with the same
 * call), so client and daemon cannot drift apart. */
int mpc_cwire_seed_expand(uint64_t *out, uint64_t n, const uint8_t seed[MPC_CWIRE_SEED_BYTES],
                          uint32_t index)
{
    if (n > MPC_CWIRE_MAX_COUNT) return MPC_ERR_INVALID;
    return mpc_prg_expand(out, n, seed, MPC_PRG_STREAM(MPC_PRG_D_CLIENT, index), 0);
}

/* Words of seed stream expanded at a time: a small buffer that stays in cache, where a
 * whole-input temporary (8 MB for 10^6 values) cost the client fresh pages to fault in and
 * fill (docs/performance.md, "The client side of mpc run"). */
#define S_SHARE_BLOCK 2048

int mpc_cwire_share(uint8_t *seeds, uint64_t *explicit_share, const uint64_t *x, uint64_t n,
                    uint32_t k, uint32_t index)
{
    if (k < 2 || k > MPC_MAX_PARTIES || n < 1 || n > MPC_CWIRE_MAX_COUNT) return MPC_ERR_INVALID;
    if (sodium_init() < 0) return MPC_ERR_CRYPTO;
    uint64_t *tmp = sodium_allocarray(S_SHARE_BLOCK, 8);
    if (!tmp) return MPC_ERR_NOMEM;
    memcpy(explicit_share, x, (size_t)n * 8);
    int r = 0;
    for (uint32_t j = 0; j + 1 < k && !r; j++) {
        uint8_t *s = seeds + (size_t)j * MPC_CWIRE_SEED_BYTES;
        randombytes_buf(s, MPC_CWIRE_SEED_BYTES);
        /* the stream from position p0 on is the same words mpc_cwire_seed_expand gives there */
        for (uint64_t p0 = 0; p0 < n && !r; p0 += S_SHARE_BLOCK) {
            uint64_t m = n - p0 < S_SHARE_BLOCK ? n - p0 : S_SHARE_BLOCK;
            r = mpc_prg_expand(tmp, m, s, MPC_PRG_STREAM(MPC_PRG_D_CLIENT, index), p0);
            for (uint64_t i = 0; i < m && !r; i++) explicit_share[p0 + i] -= tmp[i];
        }
    }
    sodium_free(tmp);   /* wipes */
    if (r) {
        sodium_memzero(seeds, (size_t)(k - 1) * MPC_CWIRE_SEED_BYTES);
        sodium_memzero(explicit_share, (size_t)n * 8);
    }
    return r;
}

void mpc_cwire_add(uint64_t *acc, const uint64_t *share, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) acc[i] += share[i];
}
