/* contrib.c — contributor inputs (contrib.h): their code generation (the reduction of the
 * daemons' field sums to the ring, count/sum/mean) and the reading of contributions, for
 * mpcc --eval and for the contributor's client. */
#include "contrib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "value.h"

/* The field of protocols/field61.h (circuits/ depends on nothing of ours, so the constant is
 * repeated; check_field61 checks that the two agree). */
#define S_P    UINT64_C(0x1FFFFFF900000001)
#define S_HALF ((S_P - 1) / 2)

typedef struct cg_contrib {
    mpc_contrib_decl d;
    cg_val           sum, count;
} cg_contrib;

int mpc_contrib_input_of(const char *input_name)
{
    size_t n = strlen(input_name), k = sizeof MPC_CONTRIB_SUFFIX - 1;
    return n > k && memcmp(input_name + n - k, MPC_CONTRIB_SUFFIX, k) == 0;
}

const mpc_contrib_decl *mpc_circ_contrib(const mpc_circuit *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_contrib; i++)
        if (strcmp(c->contrib[i].name, name) == 0 || strcmp(c->contrib[i].input, name) == 0) return &c->contrib[i];
    return NULL;
}

/* ---- code generation ---- */

static uint64_t s_mag(int64_t x) { return x < 0 ? 0 - (uint64_t)x : (uint64_t)x; }

/* `, norm <= B` of contributor input n (type t, D = len, m = max(|LO|, |HI|) in ring units):
 * d->norm = B and d->l2_bound = B² in ring units, refused when B is not a positive public
 * number or when D·m² + B² could reach (p − 1)/2 (the validity proof's sum of squares and its
 * slack would wrap the field). */
static void s_norm_bound(cg_comp *C, const mpc_node *n, mpc_type t, uint64_t len, uint64_t m, mpc_contrib_decl *d)
{
    const mpc_node *e = n->kids[3];
    cg_val b = cg_expr(C, e);
    if (!b.pub || b.is_vec || b.type == MPC_T_BOOL) cg_error(C, e, "a norm bound must be a public number");
    if (b.type == MPC_T_FIX && t == MPC_T_INT) cg_error(C, e, "an int contributor input's norm bound must be an integer");
    if (b.type == MPC_T_INT && t == MPC_T_FIX) {
        if (cg_abs64(b.k) >> (63 - C->frac))
            cg_error(C, e, "norm bound out of range for fix with %u fractional bits", C->frac);
        b = cg_to_fix(C, e, b);
    }
    if ((int64_t)b.k <= 0) cg_error(C, e, "the norm bound of contributor input '%s' must be positive", n->name);
    unsigned __int128 B = b.k, m2 = (unsigned __int128)m * m, lim = S_HALF;
    /* D·m² + B² < (p − 1)/2, without overflowing 128 bits (m, B < 2^63, D < 2^32) */
    int wraps = B >= ((unsigned __int128)1 << 31) || m2 >= lim || m2 * len >= lim || m2 * len + B * B >= lim;
    if (wraps)
        cg_error(C, e, "the norm bound of contributor input '%s' could wrap the contribution field: D·max(|LO|, |HI|)² "
                 "+ B² must stay below 2^60 in the ring encoding%s (here D = %llu)", n->name,
                 t == MPC_T_FIX ? " (fix values times 2^frac)" : "", (unsigned long long)len);
    d->norm = (int64_t)b.k;
    d->l2_bound = (uint64_t)(B * B);
}

int mpc_contrib_norm_ok(const mpc_contrib_decl *d, const uint64_t *x)
{
    if (!d->l2_bound) return 1;
    unsigned __int128 s = 0;
    for (uint64_t i = 0; i < d->len; i++) {
        uint64_t a = x[i] > S_HALF ? S_P - x[i] : x[i];   /* |value| (x mod p, exact in range) */
        s += (unsigned __int128)a * a;
        if (s > d->l2_bound) return 0;
    }
    return 1;
}

cg_val cg_contrib_input(cg_comp *C, const mpc_node *n, uint64_t len)
{
    mpc_type t = (mpc_type)n->vtype;
    if (t == MPC_T_BOOL)
        cg_error(C, n, "a contributor input is int or fix (a yes/no answer is an int in 0..1)");
    uint32_t np = C->c->n_parties;
    if (np < 2 || np > MPC_CONTRIB_MAX_PARTIES)
        cg_error(C, n, "a program with contributor inputs has 2 to %d parties, declared before the input (it has %u)",
                 MPC_CONTRIB_MAX_PARTIES, (unsigned)np);
    int unchecked = n->ival == 2;
    if (!unchecked && n->n_kids != 3 && n->n_kids != 4)
        cg_error(C, n, "a contributor input needs its validity range: 'input %s: ... from contributors in LO..HI' "
                 "(or, without any check, '... from contributors unchecked')", n->name);
    if (len + 1 > MPC_CIRC_MAX_VECTOR) cg_error(C, n, "contributor input '%s' is too long", n->name);
    cg_contrib r;
    memset(&r, 0, sizeof r);
    if ((size_t)snprintf(r.d.input, sizeof r.d.input, "%s%s", n->name, MPC_CONTRIB_SUFFIX) >= sizeof r.d.input)
        cg_error(C, n, "contributor input name '%s' is longer than %d characters", n->name,
                 (int)(MPC_NAME_MAX - sizeof MPC_CONTRIB_SUFFIX));
    snprintf(r.d.name, sizeof r.d.name, "%s", n->name);
    if (unchecked) {   /* any value the field holds; the sums wrap mod p */
        r.d.unchecked = 1;
        r.d.lo = -(int64_t)S_HALF;
        r.d.hi = (int64_t)S_HALF;
    } else {
        cg_input_range(C, n->kids[1], n->kids[2], t, &r.d.lo, &r.d.hi);
    }
    uint64_t m = unchecked ? 1 : s_mag(r.d.lo) > s_mag(r.d.hi) ? s_mag(r.d.lo) : s_mag(r.d.hi);
    if (m == 0) m = 1;
    if (m >= S_HALF)
        cg_error(C, n->kids[1], "the range of contributor input '%s' is too wide for the contribution field "
                 "(|value| < 2^60 in the ring encoding)", n->name);
    if (n->n_kids == 4) s_norm_bound(C, n, t, len, m, &r.d);
    uint64_t mc = (S_HALF - 1) / m;
    r.d.max_count = mc > MPC_CONTRIB_MAX_COUNT ? MPC_CONTRIB_MAX_COUNT : (uint32_t)mc;
    r.d.type = (uint8_t)t;
    r.d.len = len;
    for (uint32_t i = 0; i < C->n_contrib; i++)
        if (strcmp(C->contrib[i].d.input, r.d.input) == 0)
            cg_error(C, n, "duplicate contributor input '%s'", n->name);
    uint32_t w = mpc_circ_add_input(C->c, r.d.input, 0, MPC_T_INT, len + 1, n->line, n->col);
    if (w == MPC_NO_WIRE) cg_error(C, n, "out of memory");

    /* t < np·p: v = t − p·[t ≥ p] − … − p·[t ≥ (np−1)p] = t − (np−1)p + p·Σ_k [t < kp]
     * (the comparisons are independent: one round of them), then s = v − p·[v ≥ (p+1)/2]. */
    cg_val tv = cg_sec(MPC_T_INT, w, 1, len + 1);
    tv.rg = 1, tv.lo = 0, tv.hi = (double)np * (double)S_P;
    cg_val pp = cg_pub(MPC_T_INT, S_P, 0, 1);
    cg_val v = cg_raw_sub(C, n, MPC_T_INT, tv, cg_pub(MPC_T_INT, (uint64_t)(np - 1) * S_P, 0, 1));
    for (uint32_t k = 1; k < np; k++) {
        cg_val lt = cg_test(C, n, MPC_G_LTZ, cg_raw_sub(C, n, MPC_T_INT, tv, cg_pub(MPC_T_INT, k * S_P, 0, 1)));
        v = cg_raw_add(C, n, MPC_T_INT, v, cg_raw_mul(C, n, MPC_T_INT, cg_bool_to_int(lt), pp));
    }
    v.rg = 1, v.lo = 0, v.hi = (double)S_P;
    cg_val lo_half = cg_test(C, n, MPC_G_LTZ, cg_raw_sub(C, n, MPC_T_INT, v, cg_pub(MPC_T_INT, (S_P + 1) / 2, 0, 1)));
    cg_val s = cg_raw_add(C, n, MPC_T_INT, cg_raw_sub(C, n, MPC_T_INT, v, pp),
                          cg_raw_mul(C, n, MPC_T_INT, cg_bool_to_int(lo_half), pp));
    double cnt = (double)r.d.max_count;
    int is_vec = n->kids[0] != NULL;
    uint32_t ws = cg_gate(C, n, MPC_G_SLICE, t, len, s.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 1);
    r.sum = cg_sec(t, ws, is_vec, len);
    r.sum.rg = 1;
    r.sum.lo = cnt * (double)(r.d.lo < 0 ? r.d.lo : 0);
    r.sum.hi = cnt * (double)(r.d.hi > 0 ? r.d.hi : 0);
    if (unchecked) r.sum.lo = -(double)S_HALF, r.sum.hi = (double)S_HALF;   /* the signed field value: wraps */
    uint32_t wc = cg_gate(C, n, MPC_G_SLICE, MPC_T_INT, 1, s.wire, MPC_NO_WIRE, MPC_NO_WIRE, len, 1);
    r.count = cg_sec(MPC_T_INT, wc, 0, 1);
    r.count.rg = 1, r.count.lo = 0, r.count.hi = cnt;

    cg_contrib *nc = realloc(C->contrib, (C->n_contrib + 1) * sizeof *nc);
    if (!nc) cg_error(C, n, "out of memory");
    C->contrib = nc;
    C->contrib[C->n_contrib++] = r;
    return r.sum;
}

int cg_contrib_call(cg_comp *C, const mpc_node *n, cg_val *out)
{
    if (n->n_kids != 1 || n->kids[0]->kind != MPC_N_NAME) return 0;
    cg_bind *b = cg_lookup(C, n->kids[0]->name);
    if (!b || b->kind != B_CONTRIB) return 0;
    const cg_contrib *r = NULL;
    for (uint32_t i = 0; i < C->n_contrib && !r; i++)
        if (strcmp(C->contrib[i].d.name, b->name) == 0) r = &C->contrib[i];
    if (!r) cg_error(C, n, "internal error: contributor input '%s' without a record", b->name);
    b->used = 1;
    if (strcmp(n->name, "count") == 0) {
        *out = r->count;
    } else if (strcmp(n->name, "sum") == 0) {
        *out = r->sum;
    } else if (strcmp(n->name, "mean") == 0) {   /* sum / count, as fix; element-wise */
        cg_val sum = r->sum.type == MPC_T_FIX ? r->sum : cg_to_fix(C, n, r->sum);
        *out = cg_div(C, n, sum, cg_to_fix(C, n, r->count));
    } else {
        cg_error(C, n, "'%s' is a contributor input: use count(%s), sum(%s) or mean(%s), not %s(%s)", b->name,
                 b->name, b->name, b->name, n->name, b->name);
    }
    return 1;
}

void cg_contrib_attach(cg_comp *C)
{
    if (!C->n_contrib || !C->c) return;
    C->c->contrib = calloc(C->n_contrib, sizeof *C->c->contrib);
    if (!C->c->contrib) cg_error(C, NULL, "out of memory");
    for (uint32_t i = 0; i < C->n_contrib; i++) C->c->contrib[i] = C->contrib[i].d;
    C->c->n_contrib = C->n_contrib;
}

/* ---- reading contributions ---- */

int mpc_contrib_parse(const mpc_contrib_decl *d, unsigned frac, const char *s, size_t n, uint64_t *out,
                      char *err, size_t errlen)
{
    size_t i = 0;
    uint64_t k = 0;
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n' || s[i] == ',')) i++;
        if (i == n) break;
        size_t j = i;
        while (j < n && s[j] != ' ' && s[j] != '\t' && s[j] != '\r' && s[j] != '\n' && s[j] != ',') j++;
        if (k == d->len) {
            snprintf(err, errlen, "more than %llu values (contributor input '%s' is %s[%llu])",
                     (unsigned long long)d->len, d->name, mpc_type_names[d->type], (unsigned long long)d->len);
            return -1;
        }
        uint64_t x;
        char e2[160];
        if (mpc_value_parse((mpc_type)d->type, frac, s + i, j - i, &x, e2, sizeof e2) != 0) {
            snprintf(err, errlen, "value %llu is not a %s", (unsigned long long)k + 1, mpc_type_names[d->type]);
            return -1;
        }
        if ((int64_t)x < d->lo || (int64_t)x > d->hi) {
            snprintf(err, errlen, "value %llu is outside the %s of '%s'", (unsigned long long)k + 1,
                     d->unchecked ? "field's signed values (|x| <= (p-1)/2 in the ring encoding)" : "validity range",
                     d->name);
            return -1;
        }
        out[k++] = (int64_t)x < 0 ? S_P - s_mag((int64_t)x) : x;   /* |x| < (p−1)/2: checked at compile time */
        i = j;
    }
    if (k != d->len) {
        snprintf(err, errlen, "%llu values, but contributor input '%s' is %s[%llu]", (unsigned long long)k, d->name,
                 mpc_type_names[d->type], (unsigned long long)d->len);
        return -1;
    }
    return 0;
}

/* Whether a line holds something that is not a number (a header). */
static int s_header_line(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_') {
            if (n - i >= 4 && (memcmp(s + i, "true", 4) == 0)) return 0;
            if (n - i >= 5 && (memcmp(s + i, "false", 5) == 0)) return 0;
            if (s[i] == 'e' || s[i] == 'E') continue;   /* an exponent */
            return 1;
        }
    return 0;
}

int mpc_contrib_load(const mpc_contrib_decl *d, unsigned frac, const char *path, uint64_t *out,
                     uint64_t *dropped, char *err, size_t errlen)
{
    if (dropped) *dropped = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    uint64_t *row = calloc(d->len ? d->len : 1, sizeof *row);
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    unsigned long lineno = 0;
    uint64_t count = 0;
    int rc = row ? 0 : -1;
    if (!row) snprintf(err, errlen, "out of memory");
    memset(out, 0, (d->len + 1) * sizeof *out);
    while (rc == 0 && (got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t n = (size_t)got;
        if (lineno == 1 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) memmove(line, line + 3, n -= 3);
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r' || line[k] == '\n')) k++;
        if (k == n) continue;
        if (lineno == 1 && s_header_line(line, n)) continue;
        char e2[200];
        if (mpc_contrib_parse(d, frac, line, n, row, e2, sizeof e2) != 0) {
            snprintf(err, errlen, "%s:%lu: error: %s", path, lineno, e2);
            rc = -1;
            break;
        }
        if (!mpc_contrib_norm_ok(d, row)) {   /* over the norm bound: the daemons drop it (invalid) */
            if (dropped) (*dropped)++;
            continue;
        }
        if (++count > d->max_count) {
            snprintf(err, errlen, "%s:%lu: error: more than %u contributions (the most '%s' admits)", path, lineno,
                     (unsigned)d->max_count, d->name);
            rc = -1;
            break;
        }
        for (uint64_t j = 0; j < d->len; j++) {
            uint64_t s = out[j] + row[j];
            out[j] = s >= S_P ? s - S_P : s;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = -1;
    }
    out[d->len] = count;
    free(line);
    free(row);
    fclose(f);
    return rc;
}
