/* auth_ot.h — SPDZ2k authenticated material made by the parties themselves from oblivious
 * transfer (Cramer, Damgård, Escudero, Scholl, Xing, CRYPTO 2018, §4–5): an mpc_auth_src
 * (auth.h) that engine_mal.h runs on unchanged, secure with abort against up to n − 1
 * actively corrupt parties (docs/security.md, "Malicious security (SPDZ2k)").
 *
 * Setup (once per source, on its first call): a joint session id by commit-then-open coins
 * (mpc_auth_coin), a hello per peer (the symmetric primitives both ends can run), and for every
 * ordered pair (i, j) one batch of 192 Chou–Orlandi base OTs (baseot.h) in which j is the
 * receiver with choices Δ_ij ‖ α_j: the first 128 seed an IKNP extension with receiver i and
 * sender j (Δ_ij fresh per pair), the last 64 a vOLE with which i authenticates its values
 * under j's MAC key share α_j ∈ [0, 2^64) (sodium_malloc; the base-OT seeds are expanded into
 * PRG keys in sodium_malloc memory and wiped).  Then a MAC check (auth.h) is begun on the
 * source's stream.
 *
 * Triples, per chunk of T (every party alike):
 *   1. each party draws a_i, â_i and MPC_AUTH_OT_CAND candidates b_i,1..b_i,τ ∈ Z_2^128;
 *   2. products: for each ordered pair, 128 τ T + MPC_KOS_EXTRA IKNP OTs, receiver i with the
 *      bits of its candidates as choices (then random bits), sender j; after a joint coin the KOS15
 *      check (otext.h) — the sender verifies before it sends anything that depends on its
 *      secrets;
 *   3. Gilboa in Z_2^128: OT k of triple e gives two 128-bit pads per branch (the full TCCR
 *      outputs of the OT's row under tags 1 and 2, mpc_tccr2); j sends τ_k = P0_k − P1_k + a_j and τ'_k = Q0_k − Q1_k + â_j (the low
 *      128 − k bits, packed), so that the shares of b_i,l·a_j and b_i,l·â_j come out for every
 *      candidate l (a_j, â_j the same for all);
 *   3b. combine: a joint coin (round R_COMB) gives r_l ∈ Z_2^128 per candidate and triple;
 *      b_i = Σ_l r_l b_i,l, c_i = a_i b_i + Σ_l r_l (cross shares of l), ĉ_i alike — so a
 *      sender that learned bits of single candidates by a selective failure does not know b;
 *   4. authentication: each party authenticates its shares a_i, â_i, b_i, c_i, ĉ_i and one
 *      random r_i to every peer j by the vOLE: for bit β of α_j, with PRG keys (k0, k1) on
 *      i's side and k_{α_j,β} on j's, i sends d_β = G(k0) − G(k1) + x (the low 128 − β
 *      bits) and the shares −Σ 2^β G(k0) (i) and Σ 2^β (G(k_{α_β}) + α_β d_β) (j) sum to
 *      α_j·x;
 *   5. a joint coin gives χ ∈ Z_2^64 per value and t ∈ Z_2^64 per triple; the correlation
 *      check: each party opens y_i = Σ χ_l x_l + r_i of its own contributions (broadcast,
 *      in the MAC check's transcript) and every party adds its MAC share of it to the check;
 *      the sacrifice: ρ = t·[a] − [â] is opened and [t·c − ĉ − ρ·b] is added with value 0;
 *   6. the MAC check (auth.h: the commitments, the verdict round).  Only if it passes are
 *      ([a], [b], [c]) handed out; â, ĉ and every intermediate are wiped.
 * Masks of owner p, per call: p authenticates n + 1 random values to every peer (step 4),
 * then steps 5 (y_p only) and 6.
 *
 * Any failure (a transport error, a KOS check, a MAC check) makes the source failed: it sends
 * MPC_MSG_ABORT to every peer on its stream, every later call returns the same code, and
 * mpc_auth_ot_error() says what happened ("MAC check failed ...", "OT extension consistency
 * check failed with party j", never a value).  Messages: MPC_MSG_PREP on `stream` with one
 * sequence number per round (every round sends one message to every peer), the MAC check's
 * MPC_MSG_CONTROL at seq MPC_AUTH_OT_CHECK_SEQ + 4c + r.
 *
 * Every party must create its source with the same n, stream and chunk and make the same calls
 * in the same order.  One thread at a time. */
#ifndef MPC_AUTH_OT_H
#define MPC_AUTH_OT_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "transport.h"

#define MPC_AUTH_OT_CHUNK      1024          /* default triples per chunk */
#define MPC_AUTH_OT_CHECK_SEQ  (1ull << 40)  /* seq base of the MAC check's messages */

typedef struct {
    int      timeout_ms;      /* per receive; < 0: the transport's default */
    uint32_t chunk;           /* triples per chunk, 1..16384 (0: MPC_AUTH_OT_CHUNK) */
    int      force_portable;  /* BLAKE2b/ChaCha20 even where AES-NI exists */
} mpc_auth_ot_opts;

typedef struct {
    uint64_t bytes_sent;          /* payload + header bytes this source sent */
    uint64_t ots;                 /* IKNP OTs extended, both roles */
    uint64_t triples, masks;      /* handed out */
    uint64_t setup_ns, ot_ns, gilboa_ns, vole_ns, check_ns, wait_ns;
} mpc_auth_ot_stats;

/* A source for party `self` of n (2..16) over t (borrowed; must outlive the source).  NULL on
 * bad arguments or allocation failure.  Nothing is sent before the first call. */
mpc_auth_src *mpc_auth_ot_new(mpc_transport *t, uint32_t self, uint32_t n, uint64_t stream,
                              const mpc_auth_ot_opts *opts);

/* Runs the setup now (the first call would).  0 or MPC_ERR_*. */
__attribute__((warn_unused_result))
int mpc_auth_ot_setup(mpc_auth_src *s);

/* What made the source fail ("" while it has not). */
const char *mpc_auth_ot_error(const mpc_auth_src *s);

/* 0, or MPC_ERR_INVALID if s is not an OT source. */
int mpc_auth_ot_stats_get(const mpc_auth_src *s, mpc_auth_ot_stats *st);

/* The rounds (PREP seq numbers) of a source, so that tests can play a corrupt party by
 * changing what it sends: setup takes seq 0 .. MPC_AUTH_OT_SEQ0 − 1; then every triples chunk
 * and every masks call takes the next MPC_AUTH_OT_ROUNDS numbers, its round r at base + r. */
#define MPC_AUTH_OT_SEQ0      8
#define MPC_AUTH_OT_ROUNDS    12
enum {
    MPC_AUTH_OT_R_U = 0,       /* IKNP u (receiver → sender) */
    MPC_AUTH_OT_R_COIN1 = 1,   /* 1, 2: the coin of the KOS challenge */
    MPC_AUTH_OT_R_PROOF = 3,   /* the KOS proof */
    MPC_AUTH_OT_R_CORR = 4,    /* Gilboa corrections (sender → receiver) */
    MPC_AUTH_OT_R_VOLE = 5,    /* vOLE messages d_β of the authentication */
    MPC_AUTH_OT_R_COIN2 = 6,   /* 6, 7: the coin of χ and t */
    MPC_AUTH_OT_R_Y = 8,       /* the correlation check's y_i */
    MPC_AUTH_OT_R_RHO = 9,     /* the sacrifice's ρ */
    MPC_AUTH_OT_R_COMB = 10,   /* 10, 11: the coin of the combination coefficients */
};
/* Candidates per triple: each party's b share is Σ_j r_j b_j over MPC_AUTH_OT_CAND candidates
 * b_j, the products computed for each (docs/security.md, "Authenticated material from OT",
 * step 3b; what it does not stop: its "Known limits").  The
 * corrections of round R_CORR are candidate-major: candidate j of triple e of a chunk of T is
 * entry j·T + e, 2 · 8256 bits each. */
#define MPC_AUTH_OT_CAND      3
/* A masks call uses only R_VOLE, R_COIN2 and R_Y of its numbers. */

#endif
