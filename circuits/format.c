/* format.c — the .circ serialisation (format.h; layout and reasoning in
 * docs/circuit-format.md).  Writing uses the msgpack-c packer.  Reading treats the bytes as
 * hostile (docs/circuit-format.md, "Reading hostile bytes"): the header is checked by hand, then the whole object tree is
 * walked once without allocating so that every declared array/bin/str size is known to fit
 * in the bytes that remain, and only then does msgpack_unpack_next build objects; each
 * object's type is checked before its value is used and every integer is range-checked.
 * The circuit finally passes mpc_circ_validate under the caller's limits. */
#include "format.h"
#include "contrib.h"
#include "diag.h"
#include "dp.h"
#include "joindecl.h"
#include "program.h"

#include <errno.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_TOP_FIELDS_V7 15    /* version 7: version 6 and the collection records */
#define S_CANON_FIELDS_C 13   /* the hashed layout of a circuit with collections: with joins too */
#define S_CONTRIB_FIXED 11    /* a collection record's fixed fields (before its terms) */
#define S_TOP_FIELDS_V6 14    /* version 6: version 5 and the join records */
#define S_TOP_FIELDS_V5 13    /* version 5: version 4 and the DP records */
#define S_CANON_FIELDS_J 12   /* the hashed layout of a circuit with joins: version 3's and the joins */
#define S_JOIN_FIXED    14    /* a join record's fixed fields (before its index lists) */
#define S_TOP_FIELDS    12    /* version 4: magic, version, frac, source, parties, inputs,
                                 outputs, consts, gates, warnings, locals, program */
#define S_TOP_FIELDS_V3 11    /* version 3: without program (the encoding that is hashed) */
#define S_TOP_FIELDS_V2 10    /* version 2: without locals */
#define S_TOP_FIELDS_V1 9     /* version 1: without warnings */
#define S_IO_FIELDS     7     /* an input or output record */
#define S_GATE_BYTES    48    /* packed gate record, see s_put_gate */
#define S_MAX_DEPTH     3     /* top array > inputs array > input record */
#define S_MAX_FILE      ((uint64_t)1 << 34)


static void s_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void s_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t s_rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint32_t s_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Gate record, little-endian, 48 bytes:
 *   0 kind u8 | 1 type u8 | 2 reserved u16 | 4 in[0] u32 | 8 in[1] u32 | 12 in[2] u32 |
 *  16 len u64 | 24 aux[0] u64 | 32 aux[1] u64 | 40 line u32 | 44 col u32
 * The layer is not stored: it is a function of the operands, recomputed on reading. */
static void s_put_gate(uint8_t *p, const mpc_gate *g)
{
    p[0] = g->kind;
    p[1] = g->type;
    p[2] = (uint8_t)g->reserved;
    p[3] = (uint8_t)(g->reserved >> 8);
    s_le32(p + 4, g->in[0]);
    s_le32(p + 8, g->in[1]);
    s_le32(p + 12, g->in[2]);
    s_le64(p + 16, g->len);
    s_le64(p + 24, g->aux[0]);
    s_le64(p + 32, g->aux[1]);
    s_le32(p + 40, g->line);
    s_le32(p + 44, g->col);
}

static void s_get_gate(const uint8_t *p, mpc_gate *g)
{
    memset(g, 0, sizeof *g);
    g->kind = p[0];
    g->type = p[1];
    g->reserved = (uint16_t)(p[2] | p[3] << 8);
    g->in[0] = s_rd32(p + 4);
    g->in[1] = s_rd32(p + 8);
    g->in[2] = s_rd32(p + 12);
    g->len = s_rd64(p + 16);
    g->aux[0] = s_rd64(p + 24);
    g->aux[1] = s_rd64(p + 32);
    g->line = s_rd32(p + 40);
    g->col = s_rd32(p + 44);
}

/* Packs the C string s, never more than max bytes (buffers filled without a NUL are cut to
 * what the reader accepts, so every written file reads back). */
static int s_pack_cstr(msgpack_packer *pk, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

/* Field 11 (version 4): nil, or [text, [name, value, name, value, ...], pushdown]. */
static int s_pack_program(msgpack_packer *pk, const mpc_program *p)
{
    if (!p) return msgpack_pack_nil(pk);
    int bad = msgpack_pack_array(pk, 3);
    bad |= msgpack_pack_str(pk, p->text_len) || msgpack_pack_str_body(pk, p->text, p->text_len);
    uint32_t n = p->n_params < MPC_PROGRAM_MAX_PARAMS ? p->n_params : MPC_PROGRAM_MAX_PARAMS;
    bad |= msgpack_pack_array(pk, 2 * n);
    for (uint32_t i = 0; i < n; i++) {
        bad |= s_pack_cstr(pk, p->params[i].name, MPC_NAME_MAX - 1);
        bad |= s_pack_cstr(pk, p->params[i].value, MPC_PARAM_VALUE_MAX - 1);
    }
    bad |= p->pushdown ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    return bad;
}

/* Whether c needs version 5: NOISE gates (here or in a local part) or DP records.  Other
 * circuits are written as version 4, which older readers accept. */
static int s_needs_v5(const mpc_circuit *c)
{
    if (c->n_dp) return 1;
    for (uint32_t i = 0; i < c->n_gates; i++)
        if (c->gates[i].kind == MPC_G_NOISE) return 1;
    for (uint32_t l = 0; l < c->n_locals; l++)
        if (s_needs_v5(c->locals[l])) return 1;
    return 0;
}

/* Field 12 (version 5): the DP records, each [output, kind, mechanism, coins, sens, divisor,
 * eps, delta] (eps and delta as float64). */
#define S_DP_FIELDS 8
static int s_pack_dp(msgpack_packer *pk, const mpc_circuit *c)
{
    int bad = msgpack_pack_array(pk, c->n_dp);
    for (uint32_t i = 0; i < c->n_dp; i++) {
        const mpc_dp_output *d = &c->dp[i];
        bad |= msgpack_pack_array(pk, S_DP_FIELDS);
        bad |= msgpack_pack_uint32(pk, d->output);
        bad |= msgpack_pack_uint32(pk, d->kind);
        bad |= msgpack_pack_uint32(pk, d->mechanism);
        bad |= msgpack_pack_uint64(pk, d->coins);
        bad |= msgpack_pack_uint64(pk, d->sens);
        bad |= msgpack_pack_uint64(pk, d->divisor);
        bad |= msgpack_pack_double(pk, d->eps);
        bad |= msgpack_pack_double(pk, d->delta);
    }
    return bad;
}

/* Field 13 (version 6; field 11 of the hashed layout): the join records, each one flat array
 * [name, party_a, party_b, table_a, table_b, key_a, key_b, rows_a, rows_b, ncols_a, ncols_b,
 *  line, col, nout, col_a..., col_b..., out...] (nout = 1 + ncols_a + ncols_b), so that the
 * nesting stays within S_MAX_DEPTH. */
static int s_pack_joins(msgpack_packer *pk, const mpc_circuit *c, int canon)
{
    int bad = msgpack_pack_array(pk, c->n_joins);
    for (uint32_t j = 0; j < c->n_joins; j++) {
        const mpc_join_decl *d = &c->joins[j];
        uint32_t na = d->n_cols[0] < MPC_JOIN_MAX_PAYLOAD ? d->n_cols[0] : MPC_JOIN_MAX_PAYLOAD;
        uint32_t nb = d->n_cols[1] < MPC_JOIN_MAX_PAYLOAD ? d->n_cols[1] : MPC_JOIN_MAX_PAYLOAD;
        uint32_t nout = 1 + na + nb;
        bad |= msgpack_pack_array(pk, S_JOIN_FIXED + na + nb + nout);
        bad |= s_pack_cstr(pk, d->name, MPC_NAME_MAX - 1);
        bad |= msgpack_pack_uint32(pk, d->party[0]);
        bad |= msgpack_pack_uint32(pk, d->party[1]);
        for (int s = 0; s < 2; s++) bad |= s_pack_cstr(pk, d->table[s], MPC_NAME_MAX - 1);
        for (int s = 0; s < 2; s++) bad |= s_pack_cstr(pk, d->key[s], MPC_NAME_MAX - 1);
        bad |= msgpack_pack_uint64(pk, d->rows[0]);
        bad |= msgpack_pack_uint64(pk, d->rows[1]);
        bad |= msgpack_pack_uint32(pk, na);
        bad |= msgpack_pack_uint32(pk, nb);
        bad |= msgpack_pack_uint32(pk, canon ? 0 : d->line);
        bad |= msgpack_pack_uint32(pk, canon ? 0 : d->col_no);
        bad |= msgpack_pack_uint32(pk, nout);
        for (uint32_t k = 0; k < na; k++) bad |= msgpack_pack_uint32(pk, d->col[0][k]);
        for (uint32_t k = 0; k < nb; k++) bad |= msgpack_pack_uint32(pk, d->col[1][k]);
        for (uint32_t k = 0; k < nout; k++) bad |= msgpack_pack_uint32(pk, d->out[k]);
    }
    return bad;
}

/* Field 14 (version 7; field 12 of the hashed layout): the collection records, each one flat
 * array [name, input, type, len, lo, hi, norm, l2_bound, unchecked, max_count, n_terms, then
 * a, b, n, each per term] (n_derived follows from the terms), within S_MAX_DEPTH. */
static int s_pack_contrib(msgpack_packer *pk, const mpc_circuit *c)
{
    int bad = msgpack_pack_array(pk, c->n_contrib);
    for (uint32_t i = 0; i < c->n_contrib; i++) {
        const mpc_contrib_decl *d = &c->contrib[i];
        uint32_t nt = d->n_terms < MPC_CONTRIB_MAX_TERMS ? d->n_terms : MPC_CONTRIB_MAX_TERMS;
        bad |= msgpack_pack_array(pk, S_CONTRIB_FIXED + 4 * nt);
        bad |= s_pack_cstr(pk, d->name, MPC_NAME_MAX - 1);
        bad |= s_pack_cstr(pk, d->input, MPC_NAME_MAX - 1);
        bad |= msgpack_pack_uint32(pk, d->type);
        bad |= msgpack_pack_uint64(pk, d->len);
        bad |= msgpack_pack_int64(pk, d->lo);
        bad |= msgpack_pack_int64(pk, d->hi);
        bad |= msgpack_pack_int64(pk, d->norm);
        bad |= msgpack_pack_uint64(pk, d->l2_bound);
        bad |= msgpack_pack_uint32(pk, d->unchecked);
        bad |= msgpack_pack_uint32(pk, d->max_count);
        bad |= msgpack_pack_uint32(pk, nt);
        for (uint32_t k = 0; k < nt; k++) {
            bad |= msgpack_pack_uint32(pk, d->terms[k].a);
            bad |= msgpack_pack_uint32(pk, d->terms[k].b);
            bad |= msgpack_pack_uint32(pk, d->terms[k].n);
            bad |= msgpack_pack_uint32(pk, d->terms[k].each);
        }
    }
    return bad;
}

/* Serialises c; canon: as hashed (the version-3 layout: no program field; no source name,
 * positions or warning count, in the local parts too). */
static int s_write(const mpc_circuit *c, int canon, uint8_t **buf, size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    uint8_t *tmp = NULL;
    int bad = 0;
    *buf = NULL;
    *len = 0;
    if (c->n_consts > UINT32_MAX / 8 || c->n_gates > UINT32_MAX / S_GATE_BYTES) return -1; /* bin32 */
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);

    /* Version 7 only with collections, 6 only with joins, 5 only with noise: every other
     * circuit keeps its bytes (and its hash). */
    int v7 = c->n_contrib > 0;
    int v6 = v7 || c->n_joins > 0;
    int v5 = !canon && (v6 || s_needs_v5(c));
    unsigned fields = canon ? (v7 ? S_CANON_FIELDS_C : v6 ? S_CANON_FIELDS_J : S_TOP_FIELDS_V3)
                            : v7 ? S_TOP_FIELDS_V7 : v6 ? S_TOP_FIELDS_V6 : v5 ? S_TOP_FIELDS_V5 : S_TOP_FIELDS;
    unsigned version = canon ? (v7 ? MPC_CIRC_VERSION_CONTRIB : v6 ? MPC_CIRC_VERSION_JOIN : MPC_CIRC_HASH_VERSION)
                             : v7 ? MPC_CIRC_VERSION_CONTRIB : v6 ? MPC_CIRC_VERSION_JOIN
                             : v5 ? MPC_CIRC_VERSION_DP : MPC_CIRC_VERSION;
    bad |= msgpack_pack_array(&pk, fields);
    bad |= s_pack_cstr(&pk, MPC_CIRC_MAGIC, sizeof MPC_CIRC_MAGIC);
    bad |= msgpack_pack_uint32(&pk, version);
    bad |= msgpack_pack_uint32(&pk, c->frac_bits);
    bad |= s_pack_cstr(&pk, canon ? "" : c->source, sizeof c->source - 1);
    uint32_t np = c->n_parties < MPC_MAX_PARTIES ? c->n_parties : MPC_MAX_PARTIES;
    bad |= msgpack_pack_array(&pk, np);
    for (uint32_t i = 0; i < np; i++)
        bad |= s_pack_cstr(&pk, c->party_names[i], MPC_NAME_MAX - 1);
    bad |= msgpack_pack_array(&pk, c->n_inputs);
    for (uint32_t i = 0; i < c->n_inputs; i++) {
        const mpc_input *in = &c->inputs[i];
        bad |= msgpack_pack_array(&pk, S_IO_FIELDS);
        bad |= s_pack_cstr(&pk, in->name, MPC_NAME_MAX - 1);
        bad |= msgpack_pack_uint32(&pk, in->party);
        bad |= msgpack_pack_uint32(&pk, in->type);
        bad |= msgpack_pack_uint64(&pk, in->len);
        bad |= msgpack_pack_uint32(&pk, in->wire);
        bad |= msgpack_pack_uint32(&pk, canon ? 0 : in->line);
        bad |= msgpack_pack_uint32(&pk, canon ? 0 : in->col);
    }
    bad |= msgpack_pack_array(&pk, c->n_outputs);
    for (uint32_t i = 0; i < c->n_outputs; i++) {
        const mpc_output *o = &c->outputs[i];
        bad |= msgpack_pack_array(&pk, S_IO_FIELDS);
        bad |= s_pack_cstr(&pk, o->name, MPC_NAME_MAX - 1);
        bad |= msgpack_pack_uint32(&pk, o->type);
        bad |= msgpack_pack_uint64(&pk, o->len);
        bad |= msgpack_pack_uint32(&pk, o->wire);
        bad |= msgpack_pack_uint32(&pk, o->recipients);
        bad |= msgpack_pack_uint32(&pk, canon ? 0 : o->line);
        bad |= msgpack_pack_uint32(&pk, canon ? 0 : o->col);
    }
    /* Constants and gates as raw little-endian blocks (one bin each). */
    size_t cb = (size_t)c->n_consts * 8, gb = (size_t)c->n_gates * S_GATE_BYTES;
    if (cb > UINT32_MAX || gb > UINT32_MAX) goto fail;
    tmp = malloc(cb > gb ? (cb ? cb : 1) : (gb ? gb : 1));
    if (!tmp) goto fail;
    for (uint64_t i = 0; i < c->n_consts; i++) s_le64(tmp + 8 * i, c->consts[i]);
    bad |= msgpack_pack_bin(&pk, cb);
    bad |= msgpack_pack_bin_body(&pk, tmp, cb);
    for (uint32_t i = 0; i < c->n_gates; i++) {
        mpc_gate g = c->gates[i];
        if (canon) g.line = g.col = 0;
        s_put_gate(tmp + (size_t)i * S_GATE_BYTES, &g);
    }
    bad |= msgpack_pack_bin(&pk, gb);
    bad |= msgpack_pack_bin_body(&pk, tmp, gb);
    bad |= msgpack_pack_uint32(&pk, canon ? 0 : c->warnings);
    free(tmp);
    tmp = NULL;
    bad |= msgpack_pack_array(&pk, c->n_locals);
    for (uint32_t l = 0; l < c->n_locals; l++) {
        uint8_t *lb = NULL;
        size_t ll = 0;
        if (s_write(c->locals[l], canon, &lb, &ll) || ll > UINT32_MAX) { free(lb); goto fail; }
        bad |= msgpack_pack_bin(&pk, ll);
        bad |= msgpack_pack_bin_body(&pk, lb, ll);
        free(lb);
    }
    if (!canon) bad |= s_pack_program(&pk, c->program);
    if (v5) bad |= s_pack_dp(&pk, c);
    if (v6) bad |= s_pack_joins(&pk, c, canon);
    if (v7) bad |= s_pack_contrib(&pk, c);
    if (bad) goto fail;
    *len = sb.size;
    *buf = (uint8_t *)msgpack_sbuffer_release(&sb);
    if (!*buf) { *len = 0; return -1; }
    return 0;
fail:
    free(tmp);
    msgpack_sbuffer_destroy(&sb);
    return -1;
}

int mpc_circ_write(const mpc_circuit *c, uint8_t **buf, size_t *len)
{
    return s_write(c, 0, buf, len);
}

/* ---- reading ------------------------------------------------------------------------ */

/* Big-endian length field of n bytes at p (n <= 4). */
static uint64_t s_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

/* Walks the single msgpack object in p[0..len) without allocating.  Every array/map count
 * must fit in the remaining bytes (each element takes at least one), every str/bin/ext
 * body must fit, nesting is at most S_MAX_DEPTH containers, and the object must end exactly
 * at len.  This bounds what msgpack_unpack_next allocates afterwards to O(len). */
static int s_scan(const uint8_t *p, size_t len, char *err, size_t errlen)
{
    uint64_t pending[S_MAX_DEPTH + 1];
    int depth = 0;
    size_t off = 0;
    pending[0] = 1;
    for (;;) {
        while (depth >= 0 && pending[depth] == 0) depth--;
        if (depth < 0) break;
        pending[depth]--;
        if (off >= len) return mpc_errf(err, errlen, "truncated at byte %zu", off);
        size_t at = off;
        uint8_t b = p[off++];
        uint64_t body = 0, count = 0;
        int lenbytes = 0, container = 0;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            body = 0;
        } else if (b >= 0x80 && b <= 0x8f) {
            container = 2; count = b & 0x0f;
        } else if (b >= 0x90 && b <= 0x9f) {
            container = 1; count = b & 0x0f;
        } else if (b >= 0xa0 && b <= 0xbf) {
            body = b & 0x1f;
        } else {
            switch (b) {
            case 0xc4: case 0xd9: lenbytes = 1; break;                 /* bin8, str8 */
            case 0xc5: case 0xda: lenbytes = 2; break;                 /* bin16, str16 */
            case 0xc6: case 0xdb: lenbytes = 4; break;                 /* bin32, str32 */
            case 0xc7: lenbytes = 1; body = 1; break;                  /* ext8 (+type) */
            case 0xc8: lenbytes = 2; body = 1; break;
            case 0xc9: lenbytes = 4; body = 1; break;
            case 0xca: body = 4; break;                                /* float32 */
            case 0xcb: body = 8; break;                                /* float64 */
            case 0xcc: case 0xd0: body = 1; break;
            case 0xcd: case 0xd1: body = 2; break;
            case 0xce: case 0xd2: body = 4; break;
            case 0xcf: case 0xd3: body = 8; break;
            case 0xd4: body = 2; break;                                /* fixext 1..16 */
            case 0xd5: body = 3; break;
            case 0xd6: body = 5; break;
            case 0xd7: body = 9; break;
            case 0xd8: body = 17; break;
            case 0xdc: container = 1; lenbytes = 2; break;
            case 0xdd: container = 1; lenbytes = 4; break;
            case 0xde: container = 2; lenbytes = 2; break;
            case 0xdf: container = 2; lenbytes = 4; break;
            default:
                return mpc_errf(err, errlen, "invalid msgpack byte 0x%02x at byte %zu", b, at);
            }
        }
        if (lenbytes) {
            if ((size_t)lenbytes > len - off)
                return mpc_errf(err, errlen, "truncated at byte %zu", off);
            uint64_t n = s_be(p + off, lenbytes);
            off += (size_t)lenbytes;
            if (container) count = n;
            else body += n;
        }
        if (container) {
            uint64_t need = container == 2 ? 2 * count : count;
            if (need > len - off)
                return mpc_errf(err, errlen, "%s at byte %zu declares %llu entries but only %zu bytes follow",
                             container == 2 ? "map" : "array", at, (unsigned long long)count, len - off);
            if (depth + 1 > S_MAX_DEPTH)
                return mpc_errf(err, errlen, "nesting deeper than %d at byte %zu", S_MAX_DEPTH, at);
            pending[++depth] = need;
        } else {
            if (body > len - off)
                return mpc_errf(err, errlen, "value at byte %zu declares %llu bytes but only %zu follow",
                             at, (unsigned long long)body, len - off);
            off += (size_t)body;
        }
    }
    if (off != len) return mpc_errf(err, errlen, "%zu trailing bytes after the circuit", len - off);
    return 0;
}

/* The top-level arity of a format version (0 for a version this build does not read). */
static unsigned s_top_fields(uint64_t ver)
{
    return ver == MPC_CIRC_VERSION_CONTRIB ? S_TOP_FIELDS_V7 : ver == MPC_CIRC_VERSION_JOIN ? S_TOP_FIELDS_V6 : ver == MPC_CIRC_VERSION_DP ? S_TOP_FIELDS_V5 : ver == MPC_CIRC_VERSION ? S_TOP_FIELDS : ver == 3 ? S_TOP_FIELDS_V3 : ver == 2 ? S_TOP_FIELDS_V2
         : ver == 1 ? S_TOP_FIELDS_V1 : 0;
}

/* The header, checked by hand before anything else so that a file of another kind or
 * version gets a message saying so.  *ver receives the version. */
static int s_check_header(const uint8_t *p, size_t len, uint64_t *verp, char *err, size_t errlen)
{
    static const uint8_t magic[] = {0xa7, 'M', 'P', 'C', 'C', 'I', 'R', 'C'};
    size_t off;
    if (len >= 1 && (p[0] & 0xf0) == 0x90) off = 1;
    else if (len >= 3 && p[0] == 0xdc) off = 3;
    else if (len >= 5 && p[0] == 0xdd) off = 5;
    else return mpc_errf(err, errlen, "not an mpcd circuit (bad magic)");
    if (len - off < sizeof magic || memcmp(p + off, magic, sizeof magic) != 0)
        return mpc_errf(err, errlen, "not an mpcd circuit (bad magic)");
    off += sizeof magic;
    uint64_t ver;
    if (off < len && p[off] <= 0x7f) ver = p[off];
    else if (len - off >= 2 && p[off] == 0xcc) ver = p[off + 1];
    else if (len - off >= 3 && p[off] == 0xcd) ver = s_be(p + off + 1, 2);
    else if (len - off >= 5 && p[off] == 0xce) ver = s_be(p + off + 1, 4);
    else return mpc_errf(err, errlen, "circuit format version missing or malformed");
    if (!s_top_fields(ver))
        return mpc_errf(err, errlen, "unsupported circuit format version %llu (this build reads 1 to %d)",
                     (unsigned long long)ver, MPC_CIRC_VERSION_CONTRIB);
    if (p[0] != (0x90 | s_top_fields(ver)))
        return mpc_errf(err, errlen, "version %d circuit must be an array of %u fields", (int)ver,
                     s_top_fields(ver));
    *verp = ver;
    return 0;
}

static int s_uint(const msgpack_object *o, uint64_t max, uint64_t *v, const char *what,
                  char *err, size_t errlen)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return mpc_errf(err, errlen, "%s is not an unsigned integer", what);
    if (o->via.u64 > max)
        return mpc_errf(err, errlen, "%s = %llu out of range (max %llu)", what,
                     (unsigned long long)o->via.u64, (unsigned long long)max);
    *v = o->via.u64;
    return 0;
}

static int s_u32(const msgpack_object *o, uint32_t *v, const char *what, char *err, size_t errlen)
{
    uint64_t t = 0;
    if (s_uint(o, UINT32_MAX, &t, what, err, errlen)) return -1;
    *v = (uint32_t)t;
    return 0;
}

/* Copies a str of min..cap-1 bytes into dst (NUL-terminated); no NUL or control bytes. */
static int s_str(const msgpack_object *o, char *dst, size_t cap, size_t min, const char *what,
                 char *err, size_t errlen)
{
    if (o->type != MSGPACK_OBJECT_STR) return mpc_errf(err, errlen, "%s is not a string", what);
    uint32_t n = o->via.str.size;
    if (n < min || n >= cap)
        return mpc_errf(err, errlen, "%s has length %u (allowed %zu..%zu)", what, (unsigned)n, min, cap - 1);
    for (uint32_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)o->via.str.ptr[i];
        if (ch < 0x20 || ch == 0x7f) return mpc_errf(err, errlen, "%s contains a control byte", what);
    }
    memcpy(dst, o->via.str.ptr, n);
    dst[n] = 0;
    return 0;
}

static int s_array(const msgpack_object *o, uint32_t *n, const char *what, char *err, size_t errlen)
{
    if (o->type != MSGPACK_OBJECT_ARRAY) return mpc_errf(err, errlen, "%s is not an array", what);
    *n = o->via.array.size;
    return 0;
}

static int s_read(const uint8_t *buf, size_t len, const mpc_circ_limits *lim, int nested,
                  mpc_circuit **out, char *err, size_t errlen);

/* Field 10 (version 3): the local parts, each a bin holding a whole circuit without local
 * parts of its own, read with the same checks. */
static int s_build_locals(const msgpack_object *f, const mpc_circ_limits *lim, int nested, mpc_circuit *c,
                          char *err, size_t errlen)
{
    uint32_t n = 0;
    char e2[256];
    if (s_array(f, &n, "local parts", err, errlen)) return -1;
    if (n == 0) return 0;
    if (nested) return mpc_errf(err, errlen, "a local part has local parts of its own");
    if (n > c->n_parties)
        return mpc_errf(err, errlen, "%u local parts for %u parties", (unsigned)n, (unsigned)c->n_parties);
    c->locals = calloc(n, sizeof *c->locals);
    if (!c->locals) return mpc_errf(err, errlen, "out of memory");
    for (uint32_t l = 0; l < n; l++) {
        const msgpack_object *o = &f->via.array.ptr[l];
        if (o->type != MSGPACK_OBJECT_BIN) return mpc_errf(err, errlen, "local part %u is not a bin", (unsigned)l);
        if (s_read((const uint8_t *)o->via.bin.ptr, o->via.bin.size, lim, 1, &c->locals[l], e2, sizeof e2))
            return mpc_errf(err, errlen, "local part %u: %s", (unsigned)l, e2);
        c->n_locals++;
    }
    return 0;
}

/* Field 12 (version 5): the DP records; mpc_circ_validate checks them against the gates. */
static int s_build_dp(const msgpack_object *f, int nested, mpc_circuit *c, char *err, size_t errlen)
{
    uint32_t n = 0;
    if (s_array(f, &n, "DP records", err, errlen)) return -1;
    if (n && nested) return mpc_errf(err, errlen, "a local part carries DP records");
    if (n > c->n_outputs) return mpc_errf(err, errlen, "%u DP records for %u outputs", (unsigned)n, (unsigned)c->n_outputs);
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *r = &f->via.array.ptr[i];
        if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size != S_DP_FIELDS)
            return mpc_errf(err, errlen, "DP record %u is not an array of %d fields", (unsigned)i, S_DP_FIELDS);
        const msgpack_object *x = r->via.array.ptr;
        mpc_dp_output d;
        memset(&d, 0, sizeof d);
        uint64_t v[6];
        for (int k = 0; k < 6; k++)
            if (s_uint(&x[k], k < 3 ? UINT32_MAX : UINT64_MAX, &v[k], "DP record field", err, errlen)) return -1;
        if (x[6].type != MSGPACK_OBJECT_FLOAT64 || x[7].type != MSGPACK_OBJECT_FLOAT64)
            return mpc_errf(err, errlen, "DP record %u: eps and delta are not float64", (unsigned)i);
        d.output = (uint32_t)v[0];
        d.kind = (uint32_t)v[1];
        d.mechanism = (uint32_t)v[2];
        d.coins = v[3];
        d.sens = v[4];
        d.divisor = v[5];
        d.eps = x[6].via.f64;
        d.delta = x[7].via.f64;
        if (mpc_circ_add_dp(c, &d)) return mpc_errf(err, errlen, "out of memory");
    }
    return 0;
}

/* One uint32 of a join record: checked to be < max. */
static int s_join_u32(const msgpack_object *o, uint64_t max, uint32_t *v, uint32_t j, char *err, size_t errlen)
{
    uint64_t t = 0;
    char what[64];
    snprintf(what, sizeof what, "join record %u field", (unsigned)j);
    if (s_uint(o, max, &t, what, err, errlen)) return -1;
    *v = (uint32_t)t;
    return 0;
}

/* Field 13 (version 6): the join records (s_pack_joins); mpc_join_validate checks them
 * against the inputs.  Every field's type and range is checked here before it is stored. */
static int s_build_joins(const msgpack_object *f, int nested, int may_be_empty, mpc_circuit *c, char *err,
                         size_t errlen)
{
    uint32_t n = 0;
    char what[96];
    if (s_array(f, &n, "join records", err, errlen)) return -1;
    if (n == 0 && !may_be_empty) return mpc_errf(err, errlen, "a version-6 circuit has no join records");
    if (nested) return mpc_errf(err, errlen, "a local part carries join records");
    if (n > MPC_JOIN_MAX_DECLS) return mpc_errf(err, errlen, "%u join records (at most %d)", (unsigned)n, MPC_JOIN_MAX_DECLS);
    for (uint32_t j = 0; j < n; j++) {
        const msgpack_object *r = &f->via.array.ptr[j];
        if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size < S_JOIN_FIXED)
            return mpc_errf(err, errlen, "join record %u is not an array of at least %d fields", (unsigned)j,
                            S_JOIN_FIXED);
        const msgpack_object *x = r->via.array.ptr;
        mpc_join_decl d;
        memset(&d, 0, sizeof d);
        uint32_t nout = 0;
        snprintf(what, sizeof what, "join record %u name", (unsigned)j);
        if (s_str(&x[0], d.name, sizeof d.name, 1, what, err, errlen)) return -1;
        for (int s = 0; s < 2; s++) {
            if (s_join_u32(&x[1 + s], c->n_parties - 1, &d.party[s], j, err, errlen)) return -1;
            snprintf(what, sizeof what, "join '%s' table", d.name);
            if (s_str(&x[3 + s], d.table[s], MPC_NAME_MAX, 1, what, err, errlen)) return -1;
            snprintf(what, sizeof what, "join '%s' key column", d.name);
            if (s_str(&x[5 + s], d.key[s], MPC_NAME_MAX, 1, what, err, errlen)) return -1;
            snprintf(what, sizeof what, "join '%s' rows", d.name);
            if (s_uint(&x[7 + s], UINT64_MAX, &d.rows[s], what, err, errlen)) return -1;
            if (s_join_u32(&x[9 + s], MPC_JOIN_MAX_PAYLOAD, &d.n_cols[s], j, err, errlen)) return -1;
        }
        if (s_join_u32(&x[11], UINT32_MAX, &d.line, j, err, errlen) ||
            s_join_u32(&x[12], UINT32_MAX, &d.col_no, j, err, errlen) ||
            s_join_u32(&x[13], 1 + 2 * MPC_JOIN_MAX_PAYLOAD, &nout, j, err, errlen))
            return -1;
        if (nout != 1 + d.n_cols[0] + d.n_cols[1] ||
            r->via.array.size != S_JOIN_FIXED + d.n_cols[0] + d.n_cols[1] + nout)
            return mpc_errf(err, errlen, "join '%s': %u fields do not match its %u + %u payload columns", d.name,
                            (unsigned)r->via.array.size, (unsigned)d.n_cols[0], (unsigned)d.n_cols[1]);
        const msgpack_object *idx = x + S_JOIN_FIXED;
        uint64_t maxi = c->n_inputs ? c->n_inputs - 1 : 0;
        for (uint32_t k = 0; k < d.n_cols[0]; k++)
            if (s_join_u32(idx++, maxi, &d.col[0][k], j, err, errlen)) return -1;
        for (uint32_t k = 0; k < d.n_cols[1]; k++)
            if (s_join_u32(idx++, maxi, &d.col[1][k], j, err, errlen)) return -1;
        for (uint32_t k = 0; k < nout; k++)
            if (s_join_u32(idx++, maxi, &d.out[k], j, err, errlen)) return -1;
        if (mpc_circ_add_join(c, &d)) return mpc_errf(err, errlen, "out of memory");
    }
    return 0;
}

/* A signed integer field of a collection record. */
static int s_int64(const msgpack_object *o, int64_t *v, const char *what, char *err, size_t errlen)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) *v = (int64_t)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) *v = o->via.i64;
    else return mpc_errf(err, errlen, "%s is not a 64-bit signed integer", what);
    return 0;
}

/* The structure of collection record d of circuit c (its fields' ranges were checked):
 * its circuit input exists with the length its values, derived entries and count take, and
 * its terms lie inside one contribution.  What the rule means (the range fits the field, the
 * max_count keeps the sums exact) is the compiler's to decide and the daemon's to recompile,
 * never taken from these bytes. */
static int s_contrib_ok(const mpc_circuit *c, mpc_contrib_decl *d, char *err, size_t errlen)
{
    char want[MPC_NAME_MAX + sizeof MPC_CONTRIB_SUFFIX];
    snprintf(want, sizeof want, "%s%s", d->name, MPC_CONTRIB_SUFFIX);
    if (!mpc_name_ok_str(d->name) || strcmp(want, d->input) != 0)
        return mpc_errf(err, errlen, "collection record '%s': its input is not named '%s'", d->name, want);
    if ((d->type != MPC_T_INT && d->type != MPC_T_FIX) || d->len == 0 || d->lo > d->hi || d->norm < 0 ||
        d->unchecked > 1 || d->max_count > MPC_CONTRIB_MAX_COUNT || (d->unchecked && d->n_terms))
        return mpc_errf(err, errlen, "collection record '%s' is malformed", d->name);
    for (uint32_t k = 0; k < d->n_terms; k++) {
        const mpc_contrib_term *t = &d->terms[k];
        if (t->n == 0 || t->each > 1 || t->a > t->b || t->n > d->len || t->b > d->len - t->n)
            return mpc_errf(err, errlen, "collection record '%s': term %u is outside a contribution", d->name,
                            (unsigned)k);
        d->n_derived += t->each ? t->n : 1;
    }
    for (uint32_t i = 0; i < c->n_inputs; i++)
        if (strcmp(c->inputs[i].name, d->input) == 0) {
            if (c->inputs[i].type != MPC_T_INT || c->inputs[i].len != d->len + d->n_derived + 1)
                return mpc_errf(err, errlen, "collection record '%s' does not match input '%s'", d->name, d->input);
            for (uint32_t j = 0; j < c->n_contrib; j++)
                if (strcmp(c->contrib[j].input, d->input) == 0)
                    return mpc_errf(err, errlen, "collection '%s' has two records", d->name);
            return 0;
        }
    return mpc_errf(err, errlen, "collection record '%s': the circuit has no input '%s'", d->name, d->input);
}

/* Field 14 (version 7): the collection records (s_pack_contrib). */
static int s_build_contrib(const msgpack_object *f, int nested, mpc_circuit *c, char *err, size_t errlen)
{
    uint32_t n = 0;
    char what[96];
    if (s_array(f, &n, "collection records", err, errlen)) return -1;
    if (n == 0) return mpc_errf(err, errlen, "a version-7 circuit has no collection records");
    if (nested) return mpc_errf(err, errlen, "a local part carries collection records");
    if (n > c->n_inputs) return mpc_errf(err, errlen, "%u collection records for %u inputs", (unsigned)n, (unsigned)c->n_inputs);
    c->contrib = calloc(n, sizeof *c->contrib);
    if (!c->contrib) return mpc_errf(err, errlen, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *r = &f->via.array.ptr[i];
        if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size < S_CONTRIB_FIXED)
            return mpc_errf(err, errlen, "collection record %u is not an array of at least %d fields", (unsigned)i,
                            S_CONTRIB_FIXED);
        const msgpack_object *x = r->via.array.ptr;
        mpc_contrib_decl d;
        memset(&d, 0, sizeof d);
        uint64_t v[5] = {0, 0, 0, 0, 0};
        snprintf(what, sizeof what, "collection record %u", (unsigned)i);
        if (s_str(&x[0], d.name, sizeof d.name, 1, what, err, errlen) ||
            s_str(&x[1], d.input, sizeof d.input, 1, what, err, errlen) ||
            s_uint(&x[2], MPC_T__COUNT - 1, &v[0], what, err, errlen) ||
            s_uint(&x[3], MPC_CIRC_MAX_VECTOR, &d.len, what, err, errlen) || s_int64(&x[4], &d.lo, what, err, errlen) ||
            s_int64(&x[5], &d.hi, what, err, errlen) || s_int64(&x[6], &d.norm, what, err, errlen) ||
            s_uint(&x[7], UINT64_MAX, &d.l2_bound, what, err, errlen) || s_uint(&x[8], 1, &v[1], what, err, errlen) ||
            s_uint(&x[9], MPC_CONTRIB_MAX_COUNT, &v[2], what, err, errlen) ||
            s_uint(&x[10], MPC_CONTRIB_MAX_TERMS, &v[3], what, err, errlen))
            return -1;
        d.type = (uint8_t)v[0];
        d.unchecked = (uint8_t)v[1];
        d.max_count = (uint32_t)v[2];
        d.n_terms = (uint32_t)v[3];
        if (r->via.array.size != S_CONTRIB_FIXED + 4 * d.n_terms)
            return mpc_errf(err, errlen, "collection record '%s': %u fields for %u terms", d.name,
                            (unsigned)r->via.array.size, (unsigned)d.n_terms);
        for (uint32_t k = 0; k < d.n_terms; k++) {
            uint32_t *t[4] = {&d.terms[k].a, &d.terms[k].b, &d.terms[k].n, &d.terms[k].each};
            for (int q = 0; q < 4; q++) {
                if (s_uint(&x[S_CONTRIB_FIXED + 4 * k + q], MPC_CIRC_MAX_VECTOR, &v[4], what, err, errlen)) return -1;
                *t[q] = (uint32_t)v[4];
            }
        }
        if (s_contrib_ok(c, &d, err, errlen)) return -1;
        c->contrib[c->n_contrib++] = d;
    }
    return 0;
}

/* Field 11 (version 4): the program, every byte untrusted.  The text is printable ASCII
 * (tokens and single blanks) of 1..MPC_PROGRAM_MAX_TEXT bytes; param names follow the name
 * rule, values are 1..MPC_PARAM_VALUE_MAX-1 bytes of -D syntax characters.  Whether the text
 * is that program at those values is the daemon's check (mpc_program_recompile), not the
 * reader's. */
static int s_build_program(const msgpack_object *f, int nested, mpc_circuit *c, char *err, size_t errlen)
{
    if (f->type == MSGPACK_OBJECT_NIL) return 0;
    if (nested) return mpc_errf(err, errlen, "a local part carries a program");
    if (f->type != MSGPACK_OBJECT_ARRAY || f->via.array.size != 3)
        return mpc_errf(err, errlen, "program is not nil or an array of 3 fields");
    const msgpack_object *x = f->via.array.ptr;
    if (x[0].type != MSGPACK_OBJECT_STR) return mpc_errf(err, errlen, "program text is not a string");
    uint32_t tn = x[0].via.str.size;
    if (tn == 0 || tn > MPC_PROGRAM_MAX_TEXT)
        return mpc_errf(err, errlen, "program text has %u bytes (allowed 1..%u)", (unsigned)tn,
                        (unsigned)MPC_PROGRAM_MAX_TEXT);
    for (uint32_t i = 0; i < tn; i++) {
        unsigned char ch = (unsigned char)x[0].via.str.ptr[i];
        if (ch < 0x20 || ch > 0x7e) return mpc_errf(err, errlen, "program text contains byte 0x%02x", ch);
    }
    if (x[1].type != MSGPACK_OBJECT_ARRAY || x[1].via.array.size % 2 ||
        x[1].via.array.size > 2 * MPC_PROGRAM_MAX_PARAMS)
        return mpc_errf(err, errlen, "program params are not an array of at most %d name/value pairs",
                        MPC_PROGRAM_MAX_PARAMS);
    if (x[2].type != MSGPACK_OBJECT_BOOLEAN) return mpc_errf(err, errlen, "program pushdown flag is not a bool");
    mpc_program *p = calloc(1, sizeof *p);
    if (!p) return mpc_errf(err, errlen, "out of memory");
    c->program = p;
    p->text = malloc((size_t)tn + 1);
    if (!p->text) return mpc_errf(err, errlen, "out of memory");
    memcpy(p->text, x[0].via.str.ptr, tn);
    p->text[tn] = 0;
    p->text_len = tn;
    p->pushdown = x[2].via.boolean;
    char what[96];
    for (uint32_t i = 0; i < x[1].via.array.size / 2; i++) {
        mpc_param_value *pv = &p->params[i];
        snprintf(what, sizeof what, "program param %u name", (unsigned)i);
        if (s_str(&x[1].via.array.ptr[2 * i], pv->name, sizeof pv->name, 1, what, err, errlen)) return -1;
        if (!mpc_name_ok_str(pv->name)) return mpc_errf(err, errlen, "%s is not a valid name", what);
        snprintf(what, sizeof what, "program param '%s' value", pv->name);
        if (s_str(&x[1].via.array.ptr[2 * i + 1], pv->value, sizeof pv->value, 1, what, err, errlen)) return -1;
        if (strspn(pv->value, "-.0123456789abcdefghijklmnopqrstuvwxyz") != strlen(pv->value))
            return mpc_errf(err, errlen, "%s has a character -D values do not use", what);
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(p->params[j].name, pv->name))
                return mpc_errf(err, errlen, "program param '%s' is given twice", pv->name);
        p->n_params++;
    }
    return 0;
}

static int s_build(const msgpack_object *top, const mpc_circ_limits *lim, int nested, mpc_circuit *c,
                   char *err, size_t errlen)
{
    char what[96];
    const msgpack_object *f = top->via.array.ptr;
    const uint32_t n_fields = top->via.array.size;
    uint64_t v = 0;
    uint32_t n = 0;
    mpc_circ_limits L = {0};
    if (lim) L = *lim;
    uint64_t max_gates = L.max_gates && L.max_gates < MPC_CIRC_MAX_GATES ? L.max_gates : MPC_CIRC_MAX_GATES;
    uint64_t max_consts = L.max_consts && L.max_consts < MPC_CIRC_MAX_CONSTS ? L.max_consts : MPC_CIRC_MAX_CONSTS;

    /* f[0] magic and f[1] version were checked on the raw bytes; check the objects too. */
    if (f[0].type != MSGPACK_OBJECT_STR || f[0].via.str.size != 7 ||
        memcmp(f[0].via.str.ptr, MPC_CIRC_MAGIC, 7) != 0)
        return mpc_errf(err, errlen, "not an mpcd circuit (bad magic)");
    if (s_uint(&f[1], UINT32_MAX, &v, "version", err, errlen)) return -1;
    if (!s_top_fields(v) || s_top_fields(v) != n_fields)
        return mpc_errf(err, errlen, "unsupported circuit format version %llu", (unsigned long long)v);
    if (v == 1) {
        c->warnings = MPC_CIRC_WARNINGS_UNKNOWN;   /* version 1 does not record them */
    } else {
        uint64_t w = 0;
        if (s_uint(&f[9], UINT32_MAX, &w, "warnings", err, errlen)) return -1;
        c->warnings = (uint32_t)w;
    }
    if (s_uint(&f[2], 62, &v, "frac_bits", err, errlen)) return -1;
    c->frac_bits = (uint32_t)v;
    if (s_str(&f[3], c->source, sizeof c->source, 0, "source name", err, errlen)) return -1;

    if (s_array(&f[4], &n, "parties", err, errlen)) return -1;
    if (n < 2 || n > MPC_MAX_PARTIES)
        return mpc_errf(err, errlen, "circuit has %u parties (2..%d allowed)", (unsigned)n, MPC_MAX_PARTIES);
    for (uint32_t i = 0; i < n; i++) {
        snprintf(what, sizeof what, "party %u name", (unsigned)i);
        if (s_str(&f[4].via.array.ptr[i], c->party_names[i], MPC_NAME_MAX, 1, what, err, errlen)) return -1;
    }
    c->n_parties = n;

    /* Gates first: their count bounds the inputs and outputs (each has its own gate). */
    if (f[8].type != MSGPACK_OBJECT_BIN) return mpc_errf(err, errlen, "gates are not a bin");
    uint32_t gsz = f[8].via.bin.size;
    if (gsz % S_GATE_BYTES) return mpc_errf(err, errlen, "gate block of %u bytes is not a multiple of %d",
                                          (unsigned)gsz, S_GATE_BYTES);
    uint64_t ng = gsz / S_GATE_BYTES;
    if (ng == 0) return mpc_errf(err, errlen, "circuit has no gates");
    if (ng > max_gates)
        return mpc_errf(err, errlen, "circuit has %llu gates, limit is %llu", (unsigned long long)ng,
                     (unsigned long long)max_gates);
    if (f[7].type != MSGPACK_OBJECT_BIN) return mpc_errf(err, errlen, "constants are not a bin");
    uint32_t csz = f[7].via.bin.size;
    if (csz % 8) return mpc_errf(err, errlen, "constant block of %u bytes is not a multiple of 8", (unsigned)csz);
    uint64_t nc = csz / 8;
    if (nc > max_consts)
        return mpc_errf(err, errlen, "circuit has %llu constants, limit is %llu", (unsigned long long)nc,
                     (unsigned long long)max_consts);

    uint32_t ni = 0, no = 0;
    if (s_array(&f[5], &ni, "inputs", err, errlen) || s_array(&f[6], &no, "outputs", err, errlen)) return -1;
    if (ni > ng || no > ng) return mpc_errf(err, errlen, "more inputs or outputs than gates");

    c->gates = calloc((size_t)ng, sizeof *c->gates);
    c->consts = malloc(nc ? (size_t)nc * 8 : 1);
    c->inputs = calloc(ni ? ni : 1, sizeof *c->inputs);
    c->outputs = calloc(no ? no : 1, sizeof *c->outputs);
    if (!c->gates || !c->consts || !c->inputs || !c->outputs) return mpc_errf(err, errlen, "out of memory");
    c->cap_gates = (uint32_t)ng;
    c->cap_consts = nc ? nc : 1;
    c->cap_inputs = ni ? ni : 1;
    c->cap_outputs = no ? no : 1;

    for (uint32_t i = 0; i < ni; i++) {
        const msgpack_object *r = &f[5].via.array.ptr[i];
        mpc_input *in = &c->inputs[i];
        uint32_t k = 0;
        snprintf(what, sizeof what, "input %u", (unsigned)i);
        if (s_array(r, &k, what, err, errlen)) return -1;
        if (k != S_IO_FIELDS) return mpc_errf(err, errlen, "input %u has %u fields, expected %d", (unsigned)i, (unsigned)k, S_IO_FIELDS);
        const msgpack_object *x = r->via.array.ptr;
        snprintf(what, sizeof what, "input %u name", (unsigned)i);
        if (s_str(&x[0], in->name, MPC_NAME_MAX, 1, what, err, errlen)) return -1;
        snprintf(what, sizeof what, "input '%s'", in->name);
        if (s_uint(&x[1], c->n_parties - 1, &v, what, err, errlen)) return -1;
        in->party = (uint32_t)v;
        if (s_uint(&x[2], MPC_T__COUNT - 1, &v, what, err, errlen)) return -1;
        in->type = (uint8_t)v;
        if (s_uint(&x[3], UINT64_MAX, &in->len, what, err, errlen)) return -1;
        if (s_u32(&x[4], &in->wire, what, err, errlen) || s_u32(&x[5], &in->line, what, err, errlen) ||
            s_u32(&x[6], &in->col, what, err, errlen))
            return -1;
        c->n_inputs++;
    }
    for (uint32_t i = 0; i < no; i++) {
        const msgpack_object *r = &f[6].via.array.ptr[i];
        mpc_output *o = &c->outputs[i];
        uint32_t k = 0;
        snprintf(what, sizeof what, "output %u", (unsigned)i);
        if (s_array(r, &k, what, err, errlen)) return -1;
        if (k != S_IO_FIELDS) return mpc_errf(err, errlen, "output %u has %u fields, expected %d", (unsigned)i, (unsigned)k, S_IO_FIELDS);
        const msgpack_object *x = r->via.array.ptr;
        snprintf(what, sizeof what, "output %u name", (unsigned)i);
        if (s_str(&x[0], o->name, MPC_NAME_MAX, 1, what, err, errlen)) return -1;
        snprintf(what, sizeof what, "output '%s'", o->name);
        if (s_uint(&x[1], MPC_T__COUNT - 1, &v, what, err, errlen)) return -1;
        o->type = (uint8_t)v;
        if (s_uint(&x[2], UINT64_MAX, &o->len, what, err, errlen)) return -1;
        if (s_u32(&x[3], &o->wire, what, err, errlen) || s_u32(&x[4], &o->recipients, what, err, errlen) ||
            s_u32(&x[5], &o->line, what, err, errlen) || s_u32(&x[6], &o->col, what, err, errlen))
            return -1;
        c->n_outputs++;
    }
    const uint8_t *cp = (const uint8_t *)f[7].via.bin.ptr;
    for (uint64_t i = 0; i < nc; i++) c->consts[i] = s_rd64(cp + 8 * i);
    c->n_consts = nc;
    const uint8_t *gp = (const uint8_t *)f[8].via.bin.ptr;
    for (uint64_t i = 0; i < ng; i++) {
        mpc_gate *g = &c->gates[i];
        s_get_gate(gp + i * S_GATE_BYTES, g);
        if (g->kind >= MPC_G__COUNT)
            return mpc_errf(err, errlen, "gate %llu has unknown kind %u", (unsigned long long)i, (unsigned)g->kind);
        /* Layers can only be computed over backward references; validate checks the rest. */
        for (int k = 0; k < mpc_gate_infos[g->kind].operands; k++)
            if (g->in[k] >= i)
                return mpc_errf(err, errlen, "gate %llu (%s): operand %d refers to wire %u, not an earlier gate",
                             (unsigned long long)i, mpc_gate_infos[g->kind].name, k, (unsigned)g->in[k]);
    }
    c->n_gates = (uint32_t)ng;
    if (n_fields >= S_TOP_FIELDS_V3 && s_build_locals(&f[10], lim, nested, c, err, errlen)) return -1;
    if (n_fields >= S_TOP_FIELDS && s_build_program(&f[11], nested, c, err, errlen)) return -1;
    if (n_fields >= S_TOP_FIELDS_V5 && s_build_dp(&f[12], nested, c, err, errlen)) return -1;
    if (n_fields >= S_TOP_FIELDS_V6 && s_build_joins(&f[13], nested, n_fields >= S_TOP_FIELDS_V7, c, err, errlen))
        return -1;
    if (n_fields >= S_TOP_FIELDS_V7 && s_build_contrib(&f[14], nested, c, err, errlen)) return -1;
    if (n_fields < S_TOP_FIELDS_V5)
        for (uint64_t i = 0; i < ng; i++)
            if (c->gates[i].kind == MPC_G_NOISE)
                return mpc_errf(err, errlen, "gate %llu: noise needs circuit format version %d",
                                (unsigned long long)i, MPC_CIRC_VERSION_DP);
    mpc_circ_assign_layers(c);
    return mpc_circ_validate(c, lim, err, errlen);
}

int mpc_circ_read(const uint8_t *buf, size_t len, const mpc_circ_limits *lim, mpc_circuit **out,
                  char *err, size_t errlen)
{
    return s_read(buf, len, lim, 0, out, err, errlen);
}

static int s_read(const uint8_t *buf, size_t len, const mpc_circ_limits *lim, int nested,
                  mpc_circuit **out, char *err, size_t errlen)
{
    msgpack_unpacked u;
    mpc_circuit *c = NULL;
    int r = -1;
    *out = NULL;
    if (!buf || len == 0) return mpc_errf(err, errlen, "empty circuit");
    uint64_t ver = 0;
    if (s_check_header(buf, len, &ver, err, errlen)) return -1;
    if (s_scan(buf, len, err, errlen)) return -1;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack_next(&u, (const char *)buf, len, &off);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
        mpc_errf(err, errlen, "malformed msgpack (%s)", ur == MSGPACK_UNPACK_NOMEM_ERROR ? "out of memory" : "parse error");
        goto out;
    }
    if (u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != s_top_fields(ver)) {
        mpc_errf(err, errlen, "circuit must be an array of %u fields", s_top_fields(ver));
        goto out;
    }
    c = mpc_circ_new();
    if (!c) { mpc_errf(err, errlen, "out of memory"); goto out; }
    if (s_build(&u.data, lim, nested, c, err, errlen)) goto out;
    *out = c;
    c = NULL;
    r = 0;
out:
    mpc_circ_destroy(&c);
    msgpack_unpacked_destroy(&u);
    return r;
}

int mpc_circ_save(const mpc_circuit *c, const char *path, char *err, size_t errlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (mpc_circ_write(c, &buf, &len)) return mpc_errf(err, errlen, "%s: cannot serialise circuit (out of memory)", path);
    FILE *f = fopen(path, "wb");
    if (!f) {
        mpc_errf(err, errlen, "%s: %s", path, strerror(errno));
        free(buf);
        return -1;
    }
    int ok = fwrite(buf, 1, len, f) == len;
    int e = errno;
    if (fclose(f) != 0 && ok) { ok = 0; e = errno; }
    free(buf);
    if (!ok) return mpc_errf(err, errlen, "%s: write failed: %s", path, strerror(e));
    return 0;
}

int mpc_circ_load(const char *path, const mpc_circ_limits *lim, mpc_circuit **out, char *err, size_t errlen)
{
    char e2[512];
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return mpc_errf(err, errlen, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return mpc_errf(err, errlen, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > S_MAX_FILE || (uint64_t)st.st_size > SIZE_MAX) {
        fclose(f);
        return mpc_errf(err, errlen, "%s: file too large", path);
    }
    size_t len = (size_t)st.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        fclose(f);
        return mpc_errf(err, errlen, "%s: out of memory", path);
    }
    size_t got = fread(buf, 1, len, f);
    fclose(f);
    if (got != len) {
        free(buf);
        return mpc_errf(err, errlen, "%s: read error", path);
    }
    int r = mpc_circ_read(buf, len, lim, out, e2, sizeof e2);
    free(buf);
    if (r) return mpc_errf(err, errlen, "%s: %s", path, e2);
    return 0;
}

/* The hash covers what the circuit computes and who takes part, not where it came from: the
 * source file name and every line/col are cleared in a copy before it is serialised, so
 * two parties compiling the same program from differently named or formatted files agree.
 * The compiler's warning count is cleared too (all of this in the local parts as well): it describes the analysis of the source, not
 * the computation (docs/circuit-format.md, "The warnings field"). */
int mpc_circ_hash(const mpc_circuit *c, uint8_t out[MPC_HASH_BYTES])
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (sodium_init() < 0) return -1;
    if (s_write(c, 1, &buf, &len)) return -1;
    int rc = crypto_generichash(out, MPC_HASH_BYTES, buf, len, NULL, 0) == 0 ? 0 : -1;
    free(buf);
    return rc;
}

void mpc_hash_hex(const uint8_t h[MPC_HASH_BYTES], char *hex)
{
    sodium_bin2hex(hex, 2 * MPC_HASH_BYTES + 1, h, MPC_HASH_BYTES);
}
