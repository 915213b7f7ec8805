/* prep.c — request checks and accounting shared by every preprocessing source (prep.h). */
#include "prep.h"

#include "mpc_err.h"

int mpc_prep_req_check(const mpc_prep_req *req, uint64_t *trunc_total)
{
    uint64_t tot = 0;
    if (req->n_triples > MPC_PREP_MAX_BATCH || req->n_squares > MPC_PREP_MAX_BATCH ||
        req->n_trunc > MPC_PREP_MAX_GROUPS ||
        (req->n_trunc && !req->trunc) || req->n_edabits > MPC_PREP_MAX_BATCH ||
        req->n_btriples > MPC_PREP_MAX_BATCH || req->n_dabits > MPC_PREP_MAX_BATCH)
        return MPC_ERR_INVALID;
    for (uint32_t i = 0; i < req->n_trunc; i++) {
        const mpc_prep_trunc_spec *s = &req->trunc[i];
        if (s->m < 1 || s->m >= s->l || s->l > 63 || s->n > MPC_PREP_MAX_BATCH)
            return MPC_ERR_INVALID;
        tot += s->n;
        if (tot > MPC_PREP_MAX_BATCH) return MPC_ERR_INVALID;
    }
    if (trunc_total) *trunc_total = tot;
    return 0;
}

int mpc_prep_fetch(mpc_prep *p, const mpc_prep_req *req, mpc_prep_out *out)
{
    uint64_t tt;
    int r = mpc_prep_req_check(req, &tt);
    if (r) return r;
    if ((req->n_triples && (!out->a || !out->b || !out->c)) ||
        (req->n_squares && (!out->sa || !out->sa2)) ||
        (tt && (!out->r_lo || !out->r_mid || !out->r_msb)) ||
        (req->n_edabits && (!out->eda_r || !out->eda_bits)) ||
        (req->n_btriples && (!out->ba || !out->bb || !out->bc)) ||
        (req->n_dabits && (!out->da_r || !out->da_bits)))
        return MPC_ERR_INVALID;
    if ((req->n_edabits || req->n_btriples || req->n_dabits) && !(p->caps & MPC_PREP_CAP_COMPARE))
        return MPC_ERR_UNSUPPORTED;
    r = p->ops->fetch(p, req, out);
    if (r) return r;
    p->batches++;
    p->triples_out += req->n_triples;
    p->squares_out += req->n_squares;
    p->trunc_out += tt;
    p->edabits_out += req->n_edabits;
    p->btriples_out += req->n_btriples;
    p->dabits_out += req->n_dabits;
    return 0;
}

void mpc_prep_abort(mpc_prep *p, int code)
{
    if (p && p->ops->abort) p->ops->abort(p, code);
}

void mpc_prep_destroy(mpc_prep **p)
{
    if (p && *p) (*p)->ops->destroy(p);
}
