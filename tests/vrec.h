/* vrec.h — honest vector-check records for tests (protocols/vcheck.h), made the way the
 * spec says: random 64-bit shares of a chosen vector and of the D pads per party, each
 * party's commitment, a seed drawn after them, z from the sums and the seed's coin words. */
#ifndef MPC_TEST_VREC_H
#define MPC_TEST_VREC_H

#include <stdint.h>

/* n records (malloc'ed, mpc_vcheck_record_bytes(L, n) bytes each, in a malloc'ed array) of
 * the vector v[0..L−1] (NULL: zero), as n honest daemons would send them.  Aborts on a bad
 * argument or no memory (a test fixture). */
uint8_t **mpc_test_vrecs(uint32_t n, uint64_t L, const uint64_t *v);
void mpc_test_vrecs_free(uint8_t **recs, uint32_t n);

/* Party p's commitment over its record's report as it is now, written into every record's
 * com[p] (what a cheating party does before the seed exists). */
void mpc_test_vrec_recommit(uint8_t **recs, uint32_t n, uint64_t L, uint32_t p);

/* z recomputed in every record from the records' reports and seed (what a party that knew
 * the seed before committing could arrange). */
void mpc_test_vrec_rez(uint8_t **recs, uint32_t n, uint64_t L);


#endif
