/* fuzz_cwire_rep.c — the client reply decoder (client-sdk/cwire.c), i.e. what the SDK does
 * with every frame a (possibly hostile) daemon sends back.  Input layout: fuzz_cwire.h.  The
 * same round-trip invariants as fuzz_cwire_req.c, and text fields come out printable. */
#include <string.h>

#include "auth.h"
#include "cwire.h"
#include "fuzz.h"
#include "fuzz_cwire.h"

int mpc_fuzz_cwire_rep(const uint8_t *data, size_t size);

static void s_printable(const char *s, size_t cap)
{
    const char *end = memchr(s, 0, cap);
    MPC_FUZZ_ASSERT(end != NULL);
    for (; s < end; s++) MPC_FUZZ_ASSERT(*s >= 0x20 && *s < 0x7f);
}

int mpc_fuzz_cwire_rep(const uint8_t *data, size_t size)
{
    const uint8_t *hdr;
    size_t hlen, n_payload, payload_len;
    mpc_fuzz_cwire_split(data, size, &hdr, &hlen, &n_payload, &payload_len);
    mpc_cwire_rep r, r2;
    char err[256];
    err[0] = 0;
    if (mpc_cwire_rep_decode(hdr, hlen, n_payload, payload_len, &r, err, sizeof err) != 0) {
        MPC_FUZZ_ASSERT(err[0] != 0 && memchr(err, 0, sizeof err) != NULL);
        return 0;
    }
    s_printable(r.msg, sizeof r.msg);
    s_printable(r.job.reason, sizeof r.job.reason);
    if (r.type == MPC_CW_ERROR) MPC_FUZZ_ASSERT(r.code < 0);
    size_t want = mpc_cwire_rep_payload_len(&r);
    MPC_FUZZ_ASSERT(want ? (n_payload == 1 && payload_len == want) : n_payload == 0);
    uint8_t *b1 = NULL, *b2 = NULL;
    size_t l1 = 0, l2 = 0;
    MPC_FUZZ_ASSERT(mpc_cwire_rep_encode(&r, &b1, &l1) == 0);
    MPC_FUZZ_ASSERT(mpc_cwire_rep_decode(b1, l1, want ? 1 : 0, want, &r2, err, sizeof err) == 0);
    MPC_FUZZ_ASSERT(mpc_cwire_rep_encode(&r2, &b2, &l2) == 0);
    MPC_FUZZ_ASSERT(l1 == l2 && memcmp(b1, b2, l1) == 0);
    MPC_FUZZ_ASSERT(r.rid == r2.rid && r.type == r2.type && r.code == r2.code && r.count == r2.count &&
                    !strcmp(r.msg, r2.msg) && r.ready == r2.ready && r.malicious == r2.malicious &&
                    r.job.malicious == r2.job.malicious && r.checked == r2.checked && r.parties == r2.parties);
    /* a record's parties only with a record, in range (vcheck.h sizes it) */
    MPC_FUZZ_ASSERT(r.parties == 0 || (r.parties >= 2 && r.parties <= MPC_MAX_PARTIES_AUTH && r.ready));
    free(b1);
    free(b2);
    return 0;
}

MPC_FUZZ_ENTRY(mpc_fuzz_cwire_rep)
