/* osn.h — Beneš networks and the oblivious switching network (OSN) of Mohassel–Sadeghian
 * ("How to Hide Circuits in MPC", EUROCRYPT 2013, §4) for permuting secret-shared vectors
 * between two parties (docs/join.md, "Permute and share").
 *
 * Permutations are gathers: src[i] is the input that output i takes, out[i] = in[src[i]].
 *
 * The Beneš network on N = 2^k wires (N >= 2; n wires padded with the identity) has 2k − 1
 * layers of N/2 two-wire switches.  Layer l, switch g: wires (e0, e1) of boundary l go to
 * (f0, f1) of boundary l + 1 with f0 ← e_c, f1 ← e_{1−c} for the switch bit c.  Layers
 * l < k − 1 split each block of M = N/2^l wires in two (switch s of a block at offset o:
 * e = (o+2s, o+2s+1), f = (o+s, o+M/2+s)), the middle layer holds blocks of 2, and layers
 * l > k − 1 merge them back (e = (o+s, o+M/2+s), f = (o+2s, o+2s+1), M = N/2^(2k−2−l)).
 * Bits are one byte per switch, layer-major: bits[l·N/2 + g].  Routing is the looping
 * algorithm, level by level, O(N log N) time and O(N) work space.
 *
 * OSN: the permutation holder P (the OT receiver, choices = its switch bits) and the data
 * holder D (the OT sender) with x (n rows × W columns).  D holds a random mask w_e for every
 * wire of every boundary and sends y_0 = x − w_0 (uniform to P).  For each switch D offers,
 * by a 1-out-of-2 OT, m_0 = (w_e0 − w_f0, w_e1 − w_f1) and m_1 = (w_e1 − w_f0, w_e0 − w_f1)
 * (W words each half); P gets m_c and computes y_f0 = y_{e_c} + m_c[0],
 * y_f1 = y_{e_{1−c}} + m_c[1], which keeps y = v − w on every wire.  At the outputs P holds
 * y = src(x) − w and D holds w: additive shares of the permuted vector, and neither learned
 * anything (P sees only uniformly masked values and mask differences along its own paths,
 * whose input masks it never sees; D only the OT sender's view).
 *
 * The OTs are the correlated OTs of otext.h derandomized with the TCCR hash under per-word
 * tweaks (pad_0, pad_1: 2W words each per switch; P gets pad_c).  Only the input masks w_0
 * are drawn (PRG); the masks of boundary l + 1 are w_f0 = w_e0 − pad_0[0], w_f1 = w_e1 −
 * pad_0[1], so m_0 = pad_0 costs no message and D sends only m_1 − pad_1 (P with c = 1 adds
 * its pad_1).  Masks never depend on P's choices, so every layer's OTs go at once: P sends
 * the 2k − 1 extension messages, D answers with y_0 and 2k − 1 correction messages (one round
 * trip in all).  Cost per switch: 16 bytes P → D, 16·W bytes D → P.
 *
 * Memory: P keeps the pads of the layers whose corrections have not arrived, 2W words a
 * switch.  Up to MPC_OSN_PAD_BUDGET words (256 MiB) that is every layer (one round trip);
 * for larger networks P keeps a window of as many layers as fit and sends the extension
 * message of layer l + window once layer l is done, so the OTs stay ahead of the corrections
 * (the wait is one round trip per window, overlapped with the computation). */
#ifndef MPC_OSN_H
#define MPC_OSN_H

#include <stdint.h>

#include "aeshash.h"
#include "par.h"
#include "transport.h"

#define MPC_OSN_MAX_N   (1ull << 26)   /* wires of one network */
#define MPC_OSN_MAX_W   256            /* columns of one run */
#define MPC_OSN_SEQS    64             /* sequence numbers one run uses from its base */
#define MPC_OSN_PAD_BUDGET (1ull << 25) /* words of pads the permutation holder keeps */

/* The network size for n wires (the next power of two, at least 2) and its layers. */
uint64_t mpc_benes_size(uint64_t n);
uint32_t mpc_benes_layers(uint64_t N);

/* bits (layers(N) · N/2 bytes, N = mpc_benes_size(n)) that route the gather src of n
 * elements.  0, MPC_ERR_INVALID (n > MPC_OSN_MAX_N or src not a permutation) or
 * MPC_ERR_NOMEM. */
__attribute__((warn_unused_result))
int mpc_benes_route(const uint32_t *src, uint64_t n, uint8_t *bits);

/* Applies the network (bits for N wires) to x (N rows × W words, row-major), in place;
 * tmp holds N·W words.  Plaintext; tests. */
void mpc_benes_apply(const uint8_t *bits, uint64_t N, uint32_t W, uint64_t *x, uint64_t *tmp);

/* Sets the permutation holder's pad budget in words (0: MPC_OSN_PAD_BUDGET), for every
 * later run in the process; tests use a small one to run the window. */
void mpc_osn_pad_budget(uint64_t words);

/* The correlated-OT pair of two parties, both directions, for the OSN runs of one job. */
typedef struct mpc_osn_ot mpc_osn_ot;

/* Sets up base OTs (baseot.h, 128 each way) and the IKNP ends between t->self and peer on
 * `stream`, MPC_MSG_PREP messages with sequence numbers seq and seq + 1.  sid: 32 bytes both
 * parties agree on, fresh per job.  The AES primitives are used when both ends have AES-NI.
 * 0 or an MPC_ERR_* code. */
__attribute__((warn_unused_result))
int mpc_osn_ot_setup(mpc_transport *t, uint32_t peer, uint64_t stream, uint64_t seq,
                     const uint8_t sid[32], int timeout_ms, mpc_osn_ot **out);
void mpc_osn_ot_free(mpc_osn_ot **o);

/* One OSN run over n rows, W columns (column-major: column c at c·n), MPC_MSG_PREP
 * messages with sequence numbers seq .. seq + MPC_OSN_SEQS − 1 each way.
 * P: src (gather of n); out (n × W) = its share.  D: x (n × W); out (n × W) = its share.
 * Both must use the same n and W.  0 or an MPC_ERR_* code. */
__attribute__((warn_unused_result))
int mpc_osn_permuter(mpc_osn_ot *o, mpc_transport *t, uint32_t peer, uint64_t stream,
                     uint64_t seq, const uint32_t *src, uint64_t n, uint32_t W, uint64_t *out,
                     int timeout_ms);
__attribute__((warn_unused_result))
int mpc_osn_sender(mpc_osn_ot *o, mpc_transport *t, uint32_t peer, uint64_t stream,
                   uint64_t seq, const uint64_t *x, uint64_t n, uint32_t W, uint64_t *out,
                   int timeout_ms);

#endif
