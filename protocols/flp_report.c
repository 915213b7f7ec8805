/* flp_report.c — the byte layer of the validity proofs (flp.h; docs/validity.md, "What each
 * party sends" and "Joint and query randomness"): a client shards and proves one contribution,
 * each daemon checks its share and computes its prep message, the prep messages decide.
 *
 * Hashes are BLAKE2b-256 (libsodium crypto_generichash) over a header naming the circuit
 * (label, dim, lo, hi, B, number of parties) and the report's nonce; vectors come from ChaCha20
 * (mpc_prg_expand) keyed by a seed or a hash, one stream id per use (below), keeping 61-bit
 * words below p.
 *   part_i   = H(key = blind_i; hdr, "part", i, nonce, mode, S_i)   S_i: the encoded measurement
 *              share as sent (explicit) or the share's seed (compressed)
 *   jr_seed  = H(hdr, "joint", nonce, part_0, ..., part_(n-1));  the jr_len elements of the
 *              joint randomness (per proof: r_1..r_calls_range, rho) = PRG(jr_seed, 1)
 *   t_u      = the query points, one per proof: the elements of
 *              PRG(H(key = verify_key; hdr, "query", nonce), 2) that are not P-th roots of unity
 *   shares   : measurement share = PRG(seed_i, 3), proof share = PRG(seed_i, 4) for i > 0; party
 *              0's share is the rest. */
#include "flp.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "field61.h"
#include "mpc_err.h"
#include "prg.h"

enum { S_JOINT = 1, S_QUERY = 2, S_MEAS = 3, S_PROOF = 4 };
#define S_HASH 32

static void s_put64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t s_get64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static void s_put_vec(uint8_t *b, const uint64_t *v, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) s_put64(b + 8 * i, v[i]);
}

/* 0, or MPC_ERR_INPUT when an element is not below p. */
static int s_get_vec(uint64_t *v, const uint8_t *b, uint64_t n)
{
    uint64_t bad = 0;
    for (uint64_t i = 0; i < n; i++) {
        v[i] = s_get64(b + 8 * i);
        bad |= v[i] >= MPC_F61_P;
    }
    return bad ? MPC_ERR_INPUT : 0;
}

static void s_hash_hdr(crypto_generichash_state *st, const mpc_flp *f, unsigned nparties,
                       const char *what, const uint8_t nonce[MPC_FLP_NONCEBYTES])
{
    static const char label[16] = "mpcd-flp-v1";
    uint8_t h[5 * 8];
    s_put64(h, f->dim);
    s_put64(h + 8, (uint64_t)f->lo);
    s_put64(h + 16, (uint64_t)f->hi);
    s_put64(h + 24, f->l2_bound);
    s_put64(h + 32, (uint64_t)nparties | (uint64_t)f->proofs << 32);
    crypto_generichash_update(st, (const uint8_t *)label, sizeof label);
    crypto_generichash_update(st, h, sizeof h);
    for (unsigned i = 0; i < f->n_terms; i++) {   /* the derived entries (none: as before them) */
        uint8_t t[4 * 8];
        s_put64(t, f->terms[i].a);
        s_put64(t + 8, f->terms[i].b);
        s_put64(t + 16, f->terms[i].n);
        s_put64(t + 24, f->terms[i].each);
        crypto_generichash_update(st, t, sizeof t);
    }
    crypto_generichash_update(st, (const uint8_t *)what, strlen(what) + 1);
    crypto_generichash_update(st, nonce, MPC_FLP_NONCEBYTES);
}

static void s_part(const mpc_flp *f, unsigned nparties, unsigned i, const uint8_t *nonce,
                   const uint8_t *blind, int compressed, const uint8_t *data, size_t len,
                   uint8_t out[S_HASH])
{
    crypto_generichash_state st;
    uint8_t h[9];
    crypto_generichash_init(&st, blind, MPC_FLP_SEEDBYTES, S_HASH);
    s_hash_hdr(&st, f, nparties, "part", nonce);
    s_put64(h, i);
    h[8] = (uint8_t)(compressed ? 1 : 0);
    crypto_generichash_update(&st, h, sizeof h);
    crypto_generichash_update(&st, data, len);
    crypto_generichash_final(&st, out, S_HASH);
    sodium_memzero(&st, sizeof st);
}

static void s_jr_seed(const mpc_flp *f, unsigned nparties, const uint8_t *nonce,
                      const uint8_t *parts, uint8_t out[S_HASH])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, S_HASH);
    s_hash_hdr(&st, f, nparties, "joint", nonce);
    crypto_generichash_update(&st, parts, (size_t)nparties * S_HASH);
    crypto_generichash_final(&st, out, S_HASH);
}

/* out[0..n-1]: field elements from ChaCha20(key, stream), 61-bit words below p.  With
 * avoid_log_p nonzero, elements that are 2^avoid_log_p-th roots of unity are skipped too. */
static int s_sample(const uint8_t key[S_HASH], uint64_t stream, uint64_t *out, uint64_t n,
                    unsigned avoid_log_p)
{
    uint64_t buf[256], got = 0, pos = 0;
    int rc = 0;
    while (got < n && rc == 0) {
        uint64_t want = n - got + 8 < 256 ? n - got + 8 : 256;
        rc = mpc_prg_expand(buf, want, key, stream, pos);
        pos += want;
        for (uint64_t i = 0; i < want && got < n && rc == 0; i++) {
            uint64_t v = buf[i] & MPC_F61_M61;
            if (v >= MPC_F61_P) continue;
            if (avoid_log_p && mpc_f61_pow(v, UINT64_C(1) << avoid_log_p) == 1) continue;
            out[got++] = v;
        }
    }
    sodium_memzero(buf, sizeof buf);
    return rc;
}

static int s_joint_rand(const mpc_flp *f, unsigned nparties, const uint8_t *nonce,
                        const uint8_t *parts, uint8_t seed[S_HASH], uint64_t *jr)
{
    s_jr_seed(f, nparties, nonce, parts, seed);
    return s_sample(seed, S_JOINT, jr, f->jr_len, 0);
}

size_t mpc_flp_input_share_size(const mpc_flp *f, int compressed)
{
    if (compressed) return 2 * MPC_FLP_SEEDBYTES;
    return (size_t)(f->meas_len + f->proof_len) * 8 + MPC_FLP_SEEDBYTES;
}

size_t mpc_flp_public_share_size(unsigned nparties) { return (size_t)nparties * S_HASH; }

size_t mpc_flp_prep_size(const mpc_flp *f) { return 2 * S_HASH + (size_t)f->verifier_len * 8; }

static uint64_t *s_alloc(uint64_t n)
{
    return n <= SIZE_MAX / 8 ? calloc((size_t)n ? (size_t)n : 1, 8) : NULL;
}

static void s_free(uint64_t *p, uint64_t n)
{
    if (!p) return;
    sodium_memzero(p, (size_t)n * 8);
    free(p);
}

static void s_sub_vec(uint64_t *a, const uint64_t *b, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) a[i] = mpc_f61_sub(a[i], b[i]);
}

/* Shares 1..n-1 of the measurement: expanded from their seeds, subtracted from party 0's
 * (lm, which starts as the measurement), written out when explicit, and hashed into parts. */
static int s_shard_meas(const mpc_flp *f, unsigned n, int compress, const uint8_t *nonce,
                        const uint8_t *seeds, const uint8_t *blinds, uint64_t *lm, uint64_t *tmp,
                        uint8_t *const *shares, uint8_t *parts)
{
    int rc = 0;
    for (unsigned i = 1; i < n && rc == 0; i++) {
        const uint8_t *seed = seeds + (size_t)i * MPC_FLP_SEEDBYTES;
        rc = s_sample(seed, S_MEAS, tmp, f->meas_len, 0);
        if (rc) break;
        s_sub_vec(lm, tmp, f->meas_len);
        if (compress) {
            memcpy(shares[i], seed, MPC_FLP_SEEDBYTES);
            s_part(f, n, i, nonce, blinds + (size_t)i * MPC_FLP_SEEDBYTES, 1, seed,
                   MPC_FLP_SEEDBYTES, parts + (size_t)i * S_HASH);
        } else {
            s_put_vec(shares[i], tmp, f->meas_len);
            s_part(f, n, i, nonce, blinds + (size_t)i * MPC_FLP_SEEDBYTES, 0, shares[i],
                   (size_t)f->meas_len * 8, parts + (size_t)i * S_HASH);
        }
    }
    if (rc == 0) {
        s_put_vec(shares[0], lm, f->meas_len);
        s_part(f, n, 0, nonce, blinds, 0, shares[0], (size_t)f->meas_len * 8, parts);
    }
    return rc;
}

static int s_shard_proof(const mpc_flp *f, unsigned n, int compress, const uint8_t *seeds,
                         const uint8_t *blinds, uint64_t *proof, uint64_t *tmp,
                         uint8_t *const *shares)
{
    int rc = 0;
    size_t moff = (size_t)f->meas_len * 8, poff = moff + (size_t)f->proof_len * 8;
    for (unsigned i = 1; i < n && rc == 0; i++) {
        rc = s_sample(seeds + (size_t)i * MPC_FLP_SEEDBYTES, S_PROOF, tmp, f->proof_len, 0);
        if (rc) break;
        s_sub_vec(proof, tmp, f->proof_len);
        if (compress) {
            memcpy(shares[i] + MPC_FLP_SEEDBYTES, blinds + (size_t)i * MPC_FLP_SEEDBYTES,
                   MPC_FLP_SEEDBYTES);
        } else {
            s_put_vec(shares[i] + moff, tmp, f->proof_len);
            memcpy(shares[i] + poff, blinds + (size_t)i * MPC_FLP_SEEDBYTES, MPC_FLP_SEEDBYTES);
        }
    }
    if (rc == 0) {
        s_put_vec(shares[0] + moff, proof, f->proof_len);
        memcpy(shares[0] + poff, blinds, MPC_FLP_SEEDBYTES);
    }
    return rc;
}

int mpc_flp_shard(const mpc_flp *f, unsigned nparties, int compress, const uint64_t *meas,
                  const uint8_t nonce[MPC_FLP_NONCEBYTES], uint8_t *const *shares,
                  uint8_t *public_share)
{
    if (nparties < 2 || nparties > MPC_FLP_MAX_PARTIES) return MPC_ERR_INVALID;
    for (uint64_t i = 0; i < f->meas_len; i++)
        if (meas[i] >= MPC_F61_P) return MPC_ERR_INVALID;
    if (sodium_init() < 0) return MPC_ERR_CRYPTO;
    size_t kb = (size_t)nparties * MPC_FLP_SEEDBYTES;
    uint8_t *seeds = sodium_malloc(kb), *blinds = sodium_malloc(kb);
    uint64_t mx = f->meas_len > f->proof_len ? f->meas_len : f->proof_len;
    uint64_t *lm = s_alloc(f->meas_len), *tmp = s_alloc(mx), *proof = s_alloc(f->proof_len);
    uint64_t *jr = s_alloc(f->jr_len);
    uint8_t jr_seed[S_HASH];
    int rc = seeds && blinds && lm && tmp && proof && jr ? 0 : MPC_ERR_NOMEM;
    if (rc == 0) {
        randombytes_buf(seeds, kb);
        randombytes_buf(blinds, kb);
        memcpy(lm, meas, (size_t)f->meas_len * 8);
        rc = s_shard_meas(f, nparties, compress, nonce, seeds, blinds, lm, tmp, shares,
                          public_share);
    }
    if (rc == 0) rc = s_joint_rand(f, nparties, nonce, public_share, jr_seed, jr);
    if (rc == 0) rc = mpc_flp_prove(f, meas, jr, proof);
    if (rc == 0) rc = s_shard_proof(f, nparties, compress, seeds, blinds, proof, tmp, shares);
    if (seeds) sodium_free(seeds);
    if (blinds) sodium_free(blinds);
    s_free(lm, f->meas_len);
    s_free(tmp, mx);
    s_free(proof, f->proof_len);
    s_free(jr, f->jr_len);
    return rc;
}

/* Reads an input share into meas and proof and computes its part. */
static int s_read_share(const mpc_flp *f, unsigned n, unsigned party, const uint8_t *nonce,
                        const uint8_t *in, size_t in_len, uint64_t *meas, uint64_t *proof,
                        uint8_t part[S_HASH])
{
    if (party > 0 && in_len == mpc_flp_input_share_size(f, 1)) {
        int rc = s_sample(in, S_MEAS, meas, f->meas_len, 0);
        if (rc == 0) rc = s_sample(in, S_PROOF, proof, f->proof_len, 0);
        if (rc == 0)
            s_part(f, n, party, nonce, in + MPC_FLP_SEEDBYTES, 1, in, MPC_FLP_SEEDBYTES, part);
        return rc;
    }
    if (in_len != mpc_flp_input_share_size(f, 0)) return MPC_ERR_INPUT;
    size_t moff = (size_t)f->meas_len * 8, poff = moff + (size_t)f->proof_len * 8;
    int rc = s_get_vec(meas, in, f->meas_len);
    if (rc == 0) rc = s_get_vec(proof, in + moff, f->proof_len);
    if (rc == 0) s_part(f, n, party, nonce, in + poff, 0, in, moff, part);
    return rc;
}

int mpc_flp_prep(const mpc_flp *f, unsigned nparties, unsigned party,
                 const uint8_t verify_key[MPC_FLP_KEYBYTES],
                 const uint8_t nonce[MPC_FLP_NONCEBYTES], const uint8_t *public_share,
                 size_t pub_len, const uint8_t *input_share, size_t in_len, uint64_t *out,
                 uint8_t *prep_msg)
{
    if (nparties < 2 || nparties > MPC_FLP_MAX_PARTIES || party >= nparties) return MPC_ERR_INVALID;
    if (pub_len != mpc_flp_public_share_size(nparties) || !input_share) return MPC_ERR_INPUT;
    uint64_t *meas = s_alloc(f->meas_len), *proof = s_alloc(f->proof_len);
    uint64_t *ver = s_alloc(f->verifier_len), *jr = s_alloc(f->jr_len);
    uint8_t parts[MPC_FLP_MAX_PARTIES * S_HASH], part[S_HASH], jr_seed[S_HASH], qkey[S_HASH];
    uint64_t t[MPC_FLP_MAX_PROOFS];
    int rc = meas && proof && ver && jr ? 0 : MPC_ERR_NOMEM;
    if (rc == 0) rc = s_read_share(f, nparties, party, nonce, input_share, in_len, meas, proof, part);
    if (rc == 0) {
        /* the joint randomness this party can vouch for: the client's parts with its own
         * recomputed; mpc_flp_prep_decide checks that every party arrived at the same */
        memcpy(parts, public_share, pub_len);
        memcpy(parts + (size_t)party * S_HASH, part, S_HASH);
        rc = s_joint_rand(f, nparties, nonce, parts, jr_seed, jr);
    }
    if (rc == 0) {
        crypto_generichash_state st;
        crypto_generichash_init(&st, verify_key, MPC_FLP_KEYBYTES, S_HASH);
        s_hash_hdr(&st, f, nparties, "query", nonce);
        crypto_generichash_final(&st, qkey, S_HASH);
        sodium_memzero(&st, sizeof st);
        rc = s_sample(qkey, S_QUERY, t, f->proofs, f->log_p);
    }
    if (rc == 0) rc = mpc_flp_query(f, party == 0, meas, proof, jr, t, ver);
    if (rc == 0) {
        mpc_flp_output(f, party == 0, meas, out);
        memcpy(prep_msg, part, S_HASH);
        memcpy(prep_msg + S_HASH, jr_seed, S_HASH);
        s_put_vec(prep_msg + 2 * S_HASH, ver, f->verifier_len);
    }
    s_free(meas, f->meas_len);
    s_free(proof, f->proof_len);
    s_free(ver, f->verifier_len);
    s_free(jr, f->jr_len);
    sodium_memzero(qkey, sizeof qkey);
    sodium_memzero(t, sizeof t);
    return rc;
}

int mpc_flp_prep_decide(const mpc_flp *f, unsigned nparties,
                        const uint8_t nonce[MPC_FLP_NONCEBYTES], const uint8_t *const *prep_msgs)
{
    if (nparties < 2 || nparties > MPC_FLP_MAX_PARTIES) return MPC_ERR_INVALID;
    uint8_t parts[MPC_FLP_MAX_PARTIES * S_HASH], seed[S_HASH];
    for (unsigned i = 0; i < nparties; i++) memcpy(parts + (size_t)i * S_HASH, prep_msgs[i], S_HASH);
    /* the joint randomness the recomputed parts give; a party that used another (the client
     * lied about its part in the public share) rejects the contribution */
    s_jr_seed(f, nparties, nonce, parts, seed);
    uint64_t *sum = s_alloc(f->verifier_len), *one = s_alloc(f->verifier_len);
    int rc = sum && one ? 0 : MPC_ERR_NOMEM;
    for (unsigned i = 0; i < nparties && rc == 0; i++)
        if (sodium_memcmp(prep_msgs[i] + S_HASH, seed, S_HASH) != 0) rc = MPC_ERR_INPUT;
    for (unsigned i = 0; i < nparties && rc == 0; i++) {
        rc = s_get_vec(one, prep_msgs[i] + 2 * S_HASH, f->verifier_len);
        for (uint64_t k = 0; k < f->verifier_len && rc == 0; k++) sum[k] = mpc_f61_add(sum[k], one[k]);
    }
    if (rc == 0 && !mpc_flp_decide(f, sum)) rc = MPC_ERR_INPUT;
    s_free(sum, f->verifier_len);
    s_free(one, f->verifier_len);
    return rc;
}
