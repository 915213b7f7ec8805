/* joinc.c — private joins in the language (circuits/LANGUAGE.md, "Joins"; the record in
 * joindecl.h): key columns, `let j = join(labs, claims, on patient_id)`, the joined columns
 * j.COL (circuit inputs "j-join.COL" that the daemons give), the rule that keeps a joined
 * vector away from ordinary ones and from outputs, and the reductions that apply the join's
 * indicator (sum, count, mean, dot, var, std, histogram, dp_sum, dp_count). */
#include "codegen.h"
#include "joindecl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A table's key column (C->keycols). */
struct cg_keycol {
    const char *table, *col;
    uint32_t    party;
    uint64_t    rows;
    uint32_t    line, colno;
};

#define S_MAX_KEYCOLS 64

typedef struct cg_join {
    mpc_join_decl d;                                   /* names, parties, rows; indices at attach */
    const cg_keycol *side[2];
    char     pay[2][MPC_JOIN_MAX_PAYLOAD][MPC_NAME_MAX]; /* payload inputs "labs.glucose" */
    cg_val   colv[2][MPC_JOIN_MAX_PAYLOAD];              /* their joined vectors */
    cg_val   ind;                                         /* the indicator, int 0/1 */
} cg_join;

static const cg_keycol *s_key_of(cg_comp *C, const char *table)
{
    for (uint32_t i = 0; i < C->n_keycols; i++)
        if (!strcmp(C->keycols[i].table, table)) return &C->keycols[i];
    return NULL;
}

void cg_join_key_column(cg_comp *C, const mpc_node *table, const mpc_node *col, uint32_t party, uint64_t rows)
{
    if (table->n_names >= 2)
        cg_error(C, col, "a table read from a dataset cannot have a key column (yet): give '%s' from a CSV "
                 "file, or join on another table", table->name);
    const cg_keycol *prev = s_key_of(C, table->name);
    if (prev)
        cg_error(C, col, "table '%s' already has a key column '%s' (at %u:%u): a table has at most one",
                 table->name, prev->col, (unsigned)prev->line, (unsigned)prev->colno);
    if (!C->keycols) C->keycols = mpc_arena_alloc(C->arena, S_MAX_KEYCOLS * sizeof *C->keycols);
    if (!C->keycols) cg_error(C, col, "out of memory");
    if (C->n_keycols >= S_MAX_KEYCOLS) cg_error(C, col, "more than %d key columns", S_MAX_KEYCOLS);
    cg_keycol *k = &C->keycols[C->n_keycols++];
    k->table = table->name;
    k->col = col->name;
    k->party = party;
    k->rows = rows;
    k->line = col->line;
    k->colno = col->col;
}

static cg_join *s_join(cg_comp *C, uint32_t id)
{
    return &C->joins[id - 1];
}

/* The table and key column of join(...) argument k: "T" with `on K`, or "T.K". */
static const cg_keycol *s_side(cg_comp *C, const mpc_node *call, uint32_t k, const char *on)
{
    const mpc_node *a = call->kids[k];
    if (a->kind != MPC_N_NAME || a->ival)
        cg_error(C, a, "join() takes two tables: join(labs, claims, on patient_id) or "
                 "join(labs.patient_id, claims.member_id)");
    char t[MPC_NAME_MAX];
    const char *dot = strchr(a->name, '.'), *keyname = on;
    if (dot && on) cg_error(C, a, "with `on %s`, name the table alone ('%.*s')", on, (int)(dot - a->name), a->name);
    if (!dot && !on) cg_error(C, a, "name the key column: join(A, B, on KEY) or join(A.KEY, B.KEY)");
    snprintf(t, sizeof t, "%.*s", dot ? (int)(dot - a->name) : (int)strlen(a->name), a->name);
    if (dot) keyname = dot + 1;
    cg_bind *b = cg_lookup(C, t);
    if (!b) cg_error(C, a, "undefined table '%s'", t);
    if (b->kind != B_TABLE) cg_error(C, a, "'%s' is %s, not a table", t, cg_bkind_names[b->kind]);
    const cg_keycol *kc = s_key_of(C, t);
    if (!kc) cg_error(C, a, "table '%s' has no key column: declare one as `%s: key` in its table(...)", t, keyname);
    if (strcmp(kc->col, keyname) != 0)
        cg_error(C, a, "table '%s' has no key column '%s' (its key column is '%s')", t, keyname, kc->col);
    b->used = 1;
    return kc;
}

/* Declares input NAME-join.COL of B's party: a vector of rows(B) elements. */
static uint32_t s_out_input(cg_comp *C, const mpc_node *n, cg_join *J, const char *col, mpc_type t)
{
    char name[MPC_NAME_MAX + 16];
    if ((size_t)snprintf(name, sizeof name, "%s%s.%s", J->d.name, MPC_JOIN_SUFFIX, col) >= MPC_NAME_MAX)
        cg_error(C, n, "the join output '%s' is longer than %d characters: use a shorter join or column name", name,
                 MPC_NAME_MAX - 1);
    for (uint32_t i = 0; i < C->c->n_inputs; i++)
        if (!strcmp(C->c->inputs[i].name, name)) cg_error(C, n, "duplicate input '%s'", name);
    uint32_t w = mpc_circ_add_input(C->c, name, J->d.party[1], t, J->d.rows[1], n->line, n->col);
    if (w == MPC_NO_WIRE) cg_error(C, n, "out of memory");
    return w;
}

void cg_join_let(cg_comp *C, const mpc_node *n)
{
    const mpc_node *call = n->kids[0];
    if (C->scope != C->global) cg_error(C, n, "a join is declared at the top level of the program");
    if (call->n_kids == 3 && (call->kids[2]->kind != MPC_N_NAME || !call->kids[2]->ival))
        cg_error(C, call->kids[2], "the third argument of join() is `on KEY`");
    if (call->n_kids != 2 && call->n_kids != 3)
        cg_error(C, call, "join() takes two tables and `on KEY`: join(labs, claims, on patient_id)");
    const char *on = call->n_kids == 3 ? call->kids[2]->name : NULL;
    const cg_keycol *ka = s_side(C, call, 0, on), *kb = s_side(C, call, 1, on);
    if (!strcmp(ka->table, kb->table)) cg_error(C, call, "a table cannot be joined with itself");
    if (ka->party == kb->party)
        cg_error(C, call, "both tables belong to party '%s': a join is between two parties' tables (one party "
                 "can join its own tables before the computation)", C->c->party_names[ka->party]);
    if (C->n_joins >= MPC_JOIN_MAX_DECLS) cg_error(C, call, "more than %d joins in one program", MPC_JOIN_MAX_DECLS);
    for (int s = 0; s < 2; s++) {
        const cg_keycol *k = s ? kb : ka;
        if (k->rows > (1ull << 22))
            cg_error(C, call->kids[s], "table '%s' has %llu rows: a join takes at most 2^22 rows a side", k->table,
                     (unsigned long long)k->rows);
    }
    cg_join *nj = realloc(C->joins, ((size_t)C->n_joins + 1) * sizeof *nj);
    if (!nj) cg_error(C, n, "out of memory");
    C->joins = nj;
    cg_join *J = &C->joins[C->n_joins];
    memset(J, 0, sizeof *J);
    snprintf(J->d.name, sizeof J->d.name, "%s", n->name);
    for (int s = 0; s < 2; s++) {
        const cg_keycol *k = s ? kb : ka;
        J->side[s] = k;
        J->d.party[s] = k->party;
        snprintf(J->d.table[s], MPC_NAME_MAX, "%s", k->table);
        snprintf(J->d.key[s], MPC_NAME_MAX, "%s", k->col);
        J->d.rows[s] = k->rows;
    }
    J->d.line = call->line;
    J->d.col_no = call->col;
    C->n_joins++;
    J->ind = cg_sec(MPC_T_INT, s_out_input(C, call, J, "ind", MPC_T_INT), 1, J->d.rows[1]);
    J->ind.rg = 1, J->ind.lo = 0, J->ind.hi = 1;
    J->ind.join = C->n_joins;
}

/* The payload column COL of J: its side and input binding, or an error. */
static cg_bind *s_payload(cg_comp *C, const mpc_node *n, cg_join *J, const char *col, int *side)
{
    cg_bind *found[2] = {NULL, NULL};
    char full[2 * MPC_NAME_MAX];
    for (int s = 0; s < 2; s++) {
        if (!strcmp(col, J->d.key[s]))
            cg_error(C, n, "'%s.%s' is the join's key column: keys never enter the computation", J->d.name, col);
        snprintf(full, sizeof full, "%s.%s", J->d.table[s], col);
        cg_bind *b = cg_lookup(C, full);
        if (b && b->kind == B_INPUT) found[s] = b;
    }
    if (found[0] && found[1])
        cg_error(C, n, "column '%s' is in both '%s' and '%s': rename it in one of the tables", col, J->d.table[0],
                 J->d.table[1]);
    if (!found[0] && !found[1])
        cg_error(C, n, "join '%s' has no column '%s' (neither '%s' nor '%s' has it)", J->d.name, col, J->d.table[0],
                 J->d.table[1]);
    if (!strcmp(col, "ind"))
        cg_error(C, n, "a joined column cannot be named 'ind' (the join's indicator): rename it in its table");
    *side = found[0] ? 0 : 1;
    return found[*side];
}

int cg_join_name(cg_comp *C, const mpc_node *n, const char *name, cg_val *out)
{
    const char *dot = strchr(name, '.');
    if (!dot || !C->n_joins) return 0;
    char t[MPC_NAME_MAX];
    snprintf(t, sizeof t, "%.*s", (int)(dot - name), name);
    cg_bind *jb = cg_lookup(C, t);
    if (!jb || jb->kind != B_JOIN) return 0;
    jb->used = 1;
    cg_join *J = s_join(C, (uint32_t)jb->v.k);
    const char *col = dot + 1;
    for (int s = 0; s < 2; s++)
        for (uint32_t k = 0; k < J->d.n_cols[s]; k++)
            if (!strcmp(J->pay[s][k] + strlen(J->d.table[s]) + 1, col)) {
                *out = J->colv[s][k];
                return 1;
            }
    int side = 0;
    cg_bind *pb = s_payload(C, n, J, col, &side);
    uint32_t k = J->d.n_cols[side];
    if (k >= MPC_JOIN_MAX_PAYLOAD)
        cg_error(C, n, "join '%s' uses more than %d columns of '%s'", J->d.name, MPC_JOIN_MAX_PAYLOAD, J->d.table[side]);
    pb->used = 1;
    snprintf(J->pay[side][k], MPC_NAME_MAX, "%s", pb->name);
    cg_val v = cg_sec(pb->v.type, s_out_input(C, n, J, col, pb->v.type), 1, J->d.rows[1]);
    /* B's values keep their range; A's are 0 in unmatched rows. */
    v.rg = pb->v.rg;
    v.lo = side == 0 ? fmin(pb->v.lo, 0) : pb->v.lo;
    v.hi = side == 0 ? fmax(pb->v.hi, 0) : pb->v.hi;
    v.join = (uint32_t)jb->v.k;
    J->colv[side][k] = v;
    J->d.n_cols[side]++;
    *out = v;
    return 1;
}

uint32_t cg_join_mix(cg_comp *C, const mpc_node *n, const cg_val *a, const cg_val *b, const cg_val *c)
{
    const cg_val *v[3] = {a, b, c};
    uint32_t id = 0;
    for (int i = 0; i < 3; i++) {
        if (!v[i] || !v[i]->join) continue;
        if (id && id != v[i]->join)
            cg_error(C, n, "columns of joins '%s' and '%s' cannot be combined: their rows do not correspond",
                     s_join(C, id)->d.name, s_join(C, v[i]->join)->d.name);
        id = v[i]->join;
    }
    if (!id) return 0;
    for (int i = 0; i < 3; i++)
        if (v[i] && !v[i]->join && v[i]->is_vec)
            cg_error(C, n, "a column of join '%s' cannot be combined with an ordinary vector: its rows are the "
                     "rows of '%s' in an order only the join knows (combine it with scalars or other columns "
                     "of '%s')", s_join(C, id)->d.name, s_join(C, id)->d.table[1], s_join(C, id)->d.name);
    return id;
}

/* Σ ind·v over the rows of v's join (v int or fix; bool counts as int). */
static cg_val s_masked_sum(cg_comp *C, const mpc_node *n, cg_val v)
{
    cg_join *J = s_join(C, v.join);
    v = cg_bool_to_int(v);
    if (v.pub) {   /* a constant column: k · count(j) */
        cg_val cnt = cg_sec(MPC_T_INT, cg_gate(C, n, MPC_G_SUM, MPC_T_INT, 1, J->ind.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), 0, 1);
        cnt = cg_ranged(C, n, cnt, 1, 0, (double)J->d.rows[1]);
        return cg_mul(C, n, cnt, cg_pub(v.type, v.k, 0, 1));
    }
    cg_val ind = J->ind;
    ind.join = 0;
    v.join = 0;
    /* ind is 0 or 1: the ring product is exact in v's type (a fix needs no truncation) */
    cg_val p = cg_raw_mul(C, n, v.type, ind, v);
    p = cg_ranged(C, n, p, v.rg, fmin(v.lo, 0), fmax(v.hi, 0));
    double len = (double)v.len;
    cg_val s = cg_sec(p.type, cg_gate(C, n, MPC_G_SUM, p.type, 1, p.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), 0, 1);
    return cg_ranged(C, n, s, p.rg, p.lo * len, p.hi * len);
}

static cg_val s_count(cg_comp *C, const mpc_node *n, uint32_t id)
{
    cg_join *J = s_join(C, id);
    cg_val cnt = cg_sec(MPC_T_INT, cg_gate(C, n, MPC_G_SUM, MPC_T_INT, 1, J->ind.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), 0, 1);
    return cg_ranged(C, n, cnt, 1, 0, (double)J->d.rows[1]);
}

/* mean = Σ ind·v / max(count, 1) as fix: 0 when no row matched (then Σ ind·v = 0). */
static cg_val s_mean(cg_comp *C, const mpc_node *n, cg_val v)
{
    cg_val s = cg_to_fix(C, n, s_masked_sum(C, n, v));
    cg_val cnt = s_count(C, n, v.join);
    cg_val z = cg_bool_to_int(cg_test(C, n, MPC_G_EQZ, cnt));
    cg_val d = cg_raw_add(C, n, MPC_T_INT, cnt, z);
    d = cg_ranged(C, n, d, 1, 1, (double)s_join(C, v.join)->d.rows[1]);
    cg_val q = cg_secret_div(C, n, s, cg_to_fix(C, n, d));
    /* A mean lies within the values' range (and 0); the division's error adds a little. */
    double lo = fmin(v.lo, 0), hi = fmax(v.hi, 0), m = (hi - lo) / 64 + 4;
    return cg_ranged(C, n, q, v.rg, lo - m, hi + m);
}

/* var = mean(v²) − mean(v)² over the matched rows (0 when none matched). */
static cg_val s_var(cg_comp *C, const mpc_node *n, cg_val v)
{
    uint32_t id = v.join;
    cg_val m = s_mean(C, n, v);
    cg_val sq = cg_mul(C, n, v, v);
    sq.join = id;
    cg_val m2 = s_mean(C, n, sq);
    cg_val r = cg_raw_sub(C, n, MPC_T_FIX, m2, cg_mul(C, n, m, m));
    return cg_ranged(C, n, r, 0, 0, 0);
}

/* Builtins whose result is elementwise in their (joined) vector arguments. */
static int s_elementwise(const char *name)
{
    static const char *const ok[] = {"min", "max", "abs", "sign", "relu", "fix", "int", "sqrt", "rsqrt", "exp",
                                     "log", "sigmoid"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strcmp(ok[i], name)) return 1;
    return 0;
}

static int s_is_join_name(cg_comp *C, const mpc_node *k, uint32_t *id)
{
    if (k->kind != MPC_N_NAME || strchr(k->name, '.')) return 0;
    cg_bind *b = cg_lookup(C, k->name);
    if (!b || b->kind != B_JOIN) return 0;
    b->used = 1;
    *id = (uint32_t)b->v.k;
    return 1;
}

int cg_join_call(cg_comp *C, const mpc_node *n, int pre, const cg_val *args, cg_val *out)
{
    uint32_t id = 0;
    if (pre) {
        if (!strcmp(n->name, "join"))
            cg_error(C, n, "join(...) is bound by a let at the top level: let j = join(labs, claims, on patient_id)");
        if (!strcmp(n->name, "count") && n->n_kids == 1 && s_is_join_name(C, n->kids[0], &id)) {
            *out = s_count(C, n, id);
            return 1;
        }
        for (uint32_t i = 0; i < n->n_kids; i++)
            if (s_is_join_name(C, n->kids[i], &id))
                cg_error(C, n->kids[i], "'%s' is a join, not a value: use its columns (%s.COLUMN), or count(%s) "
                         "for the matched rows", n->kids[i]->name, n->kids[i]->name, n->kids[i]->name);
        if (!strcmp(n->name, "histogram") && n->n_kids == 2) {
            cg_val v = cg_need_vec(C, n, cg_expr(C, n->kids[0]), "histogram");
            if (v.pub) cg_error(C, n, "histogram() of a compile-time constant is not supported");
            if (!v.join) {
                *out = cg_histogram_v(C, n, v, NULL);
                return 1;
            }
            cg_val ind = s_join(C, v.join)->ind;
            ind.join = 0;
            v.join = 0;
            *out = cg_histogram_v(C, n, v, &ind);
            return 1;
        }
        return 0;
    }
    const cg_builtin *b = cg_find_builtin(n->name);
    uint32_t n_args = n->n_kids < CG_BUILTIN_MAX_ARGS ? n->n_kids : CG_BUILTIN_MAX_ARGS;
    for (uint32_t i = 0; i < n_args; i++) id |= args[i].join;
    if (!id || !b) return 0;
    if (n_args == 2) id = cg_join_mix(C, n, &args[0], &args[1], NULL);
    if (!strcmp(n->name, "sum")) {
        *out = s_masked_sum(C, n, args[0]);
    } else if (!strcmp(n->name, "count")) {
        if (args[0].type != MPC_T_BOOL) return 0;   /* b_count says why */
        *out = s_masked_sum(C, n, args[0]);
    } else if (!strcmp(n->name, "mean")) {
        *out = s_mean(C, n, args[0]);
    } else if (!strcmp(n->name, "dot")) {
        cg_val p = cg_mul(C, n, args[0], args[1]);
        p.join = id;
        *out = s_masked_sum(C, n, p);
    } else if (!strcmp(n->name, "var")) {
        *out = s_var(C, n, args[0]);
    } else if (!strcmp(n->name, "std")) {
        *out = cg_root(C, n, s_var(C, n, args[0]), 1);
    } else if (s_elementwise(n->name)) {
        *out = b->emit(C, n, args);
        out->join = id;
    } else {
        cg_error(C, n, "%s() of a column of join '%s' is not supported: a joined column's rows include unmatched "
                 "rows in an order only the join knows; use sum, count, mean, dot, var, std or histogram (they "
                 "count matched rows only) or elementwise operations", n->name, s_join(C, id)->d.name);
    }
    return 1;
}

/* The input index of name in C->c (it exists: the compiler declared it). */
static uint32_t s_input_index(cg_comp *C, const char *name)
{
    for (uint32_t i = 0; i < C->c->n_inputs; i++)
        if (!strcmp(C->c->inputs[i].name, name)) return i;
    cg_error(C, NULL, "internal error: no input '%s'", name);
}

void cg_join_attach(cg_comp *C)
{
    char name[MPC_NAME_MAX + 16];
    for (uint32_t j = 0; j < C->n_joins; j++) {
        cg_join *J = &C->joins[j];
        mpc_join_decl d = J->d;
        snprintf(name, sizeof name, "%s%s.ind", d.name, MPC_JOIN_SUFFIX);
        d.out[0] = s_input_index(C, name);
        uint32_t o = 1;
        for (int s = 0; s < 2; s++)
            for (uint32_t k = 0; k < d.n_cols[s]; k++) {
                d.col[s][k] = s_input_index(C, J->pay[s][k]);
                snprintf(name, sizeof name, "%s%s.%s", d.name, MPC_JOIN_SUFFIX, J->pay[s][k] + strlen(d.table[s]) + 1);
                d.out[o++] = s_input_index(C, name);
            }
        if (mpc_circ_add_join(C->c, &d)) cg_error(C, NULL, "out of memory");
    }
}

cg_val cg_join_ind(cg_comp *C, uint32_t id)
{
    cg_val ind = s_join(C, id)->ind;
    ind.join = 0;
    return ind;
}
