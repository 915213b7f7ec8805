/* auth_dealer.h — TEST AND BENCHMARK ONLY: a trusted dealer of SPDZ2k authenticated material
 * (auth.h) computed in process.  n instances made with the same 32-byte master (draw it from
 * libsodium: randombytes_buf) and called with the same sequence of requests hold consistent
 * shares of one MAC key α, of authenticated Beaver triples and of authenticated masks, without
 * any traffic.  Anyone holding the master knows α and every triple and mask: it gives no
 * security against anyone and exists so that the malicious online engine (engine_mal.h) can
 * be tested and measured before the OT-based source (docs/security.md, "Malicious security
 * (SPDZ2k)").  Never use it in a deployment.
 *
 * Derivation: a dealer seed H("mpcd auth dealer" || master) in sodium_malloc memory; every
 * party's share of every field is a ChaCha20 stream of it (prg.h, domain MPC_PRG_D_TEST) at
 * the position of the element, except the last party's MAC shares, c shares and α share,
 * which make the sums right.  α is uniform in Z_2^64, triples and masks uniform in Z_2^128. */
#ifndef MPC_AUTH_DEALER_H
#define MPC_AUTH_DEALER_H

#include <stdint.h>

#include "auth.h"

/* NULL on bad arguments (n_parties 2..16, self < n_parties) or allocation failure. */
mpc_auth_src *mpc_auth_dealer_new(const uint8_t master[32], uint32_t self, uint32_t n_parties);

#endif
