/* agree.c — lost AGREEs (worker_int.h, docs/daemon.md "Lost AGREEs"): each AGREE a job thread
 * sends is kept in a small ring; a party that waits for a peer's AGREE asks that peer now and
 * then to send it again, and the peer's worker thread answers from the ring.  The asker's
 * agreement takes the first copy and drops the others (mpcd/run_job.c, s_agree_recv). */
#include "worker_int.h"

#include <string.h>

#include "clock.h"
#include "log.h"
#include "mpc_err.h"

void mpcd_agree_keep(mpcd_worker *w, const run_msg *r, uint64_t round, uint32_t to_mask,
                     const uint64_t words[MPCD_AGREE_WORDS])
{
    struct mpcd_slots *sl = w->slots;
    if (!sl) return;
    pthread_mutex_lock(&sl->mu);
    mpcd_agree_kept *k = &sl->kept[sl->kept_next++ % MPCD_AGREE_KEPT];
    memset(k, 0, sizeof *k);
    k->stream = r->stream;
    k->round = round;
    memcpy(k->id, r->id, sizeof k->id);
    k->to_mask = to_mask;
    memcpy(k->words, words, sizeof k->words);
    pthread_mutex_unlock(&sl->mu);
}

void mpcd_agree_ask(mpcd_worker *w, mpc_transport *view, const run_msg *r, uint32_t p, uint64_t round)
{
    /* A peer that is down gets nothing: its connection would only queue the asks. */
    if (p >= r->n || (w->peer_up && !w->peer_up(w->idle_ctx, r->binding[p]))) return;
    uint64_t m[MPCD_AGREE_ASK_WORDS] = {r->stream, round};
    (void)mpc_send(view, p, MPC_MSG_CONTROL, MPCD_AGREE_ASK_STREAM, 0, m, MPCD_AGREE_ASK_WORDS);
}

/* Under mu: copies the AGREE of (stream, round) sent to node p into out, if p may have it
 * again; 1 if so. */
static int s_copy_for(struct mpcd_slots *sl, uint32_t p, const uint64_t m[MPCD_AGREE_ASK_WORDS],
                      uint64_t out[MPCD_AGREE_WORDS], uint8_t id[MPCD_JOB_ID_BYTES], unsigned *nth)
{
    for (uint32_t i = 0; i < MPCD_AGREE_KEPT; i++) {
        mpcd_agree_kept *k = &sl->kept[i];
        if (!k->stream || k->stream != m[0] || k->round != m[1] || !(k->to_mask >> p & 1)) continue;
        if (k->resent[p] >= MPCD_AGREE_RESENDS) return 0;   /* bounded: copies cannot pile up */
        *nth = ++k->resent[p];
        memcpy(out, k->words, sizeof k->words);
        memcpy(id, k->id, MPCD_JOB_ID_BYTES);
        return 1;
    }
    return 0;
}

void mpcd_agree_serve(mpcd_worker *w)
{
    struct mpcd_slots *sl = w->slots;
    if (!sl || w->is_dealer) return;
    for (uint32_t p = 0; p < w->n_parties && p <= MPC_MAX_PARTIES; p++) {
        if (p == w->self) continue;
        uint64_t m[MPCD_AGREE_ASK_WORDS];
        int rc;
        /* At most 16 asks of a peer per pass; a malformed one is dropped by the transport. */
        for (int n = 0; n < 16 && ((rc = mpc_recv(w->mesh, p, MPC_MSG_CONTROL, MPCD_AGREE_ASK_STREAM, 0, m,
                                                  MPCD_AGREE_ASK_WORDS, 0)) == 0 || rc == MPC_ERR_PROTOCOL);
             n++) {
            if (rc != 0) continue;
            uint64_t words[MPCD_AGREE_WORDS];
            uint8_t id[MPCD_JOB_ID_BYTES];
            unsigned nth = 0;
            pthread_mutex_lock(&sl->mu);
            int found = s_copy_for(sl, p, m, words, id, &nth);
            pthread_mutex_unlock(&sl->mu);
            if (!found) continue;   /* not sent yet (this party is busy), or never to p */
            char hex[MPC_CWIRE_JOB_HEX + 1];
            mpc_cwire_job_hex(id, hex);
            int s = mpc_send(w->mesh, p, MPC_MSG_CONTROL, MPCD_AGREE_STREAM(m[0]), MPCD_AGREE_SEQ, words,
                             MPCD_AGREE_WORDS);
            mpcd_info(hex, "%s still waits for this party's agreement (round %llu): sent again (%u of %u)%s%s",
                      w->names[p], (unsigned long long)m[1], nth, (unsigned)MPCD_AGREE_RESENDS,
                      s ? ": " : "", s ? mpc_strerror(s) : "");
        }
    }
}
