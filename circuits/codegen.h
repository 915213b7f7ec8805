/* codegen.h — internals shared by the code generator's files (not a public API; compile.h
 * is).  compile.c holds the walk over the AST (values, ring operations with constant folding
 * and range tracking, typing, scopes, expressions, statements); builtins.c the table of
 * builtin functions; numeric.c the numeric library (secret division, sqrt, exp, log,
 * sigmoid, statistics) built from those operations.  Every function here reports errors
 * through cg_error, which longjmps out of the walk (mpc_compile_ex catches it). */
#ifndef MPC_CODEGEN_H
#define MPC_CODEGEN_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include "compile.h"
#include "dp.h"
#include "parse.h"
#include "program.h"

#define S_MAX_FRAC      32    /* division keeps s = 40 - f >= 8 extra bits */
#define S_DIV_BITS      40
#define S_MAX_INLINE    64    /* nested inlined calls */
#define S_MAX_PARAMS    32    /* parameters of one function */
#define CG_MAX_DP       256   /* dp_* calls in one program */

typedef struct {
    mpc_type type;
    int      pub;      /* public constant: every element equals k */
    int      is_vec;   /* declared as a vector (T[N]) rather than a scalar */
    uint64_t len;      /* 1 for scalars */
    uint64_t k;
    uint32_t wire;     /* secret values */
    int      rg;       /* range known: every element's ring value X (as a signed integer) is in [lo, hi] */
    double   lo, hi;
    /* 0, or 1 + the index of the join (joinc.c) whose rows this vector is: a joined value,
     * which carries the join's indicator and may only meet values of the same join and
     * scalars, and leave the circuit only through a reduction that applies the indicator. */
    uint32_t join;
} cg_val;

/* B_CONTRIB: a contributor input (contrib.c); v is its sum, usable only through
 * count/sum/mean.  B_KEY: a table's key column "t.k" (no value: only `on` of a join).
 * B_JOIN: `let j = join(...)` (joinc.c); v.k is the join's index. */
typedef enum { B_LET, B_VAR, B_INPUT, B_PARAM, B_LOOP, B_TABLE, B_CONTRIB, B_KEY, B_JOIN } cg_bkind;
extern const char *const cg_bkind_names[];

typedef struct cg_bind {
    const char    *name;
    cg_bkind        kind;
    cg_val          v;
    uint32_t       line, col;
    int            used;
    struct cg_bind *next;
} cg_bind;

typedef struct cg_scope {
    cg_bind         *binds;
    struct cg_scope *parent;
} cg_scope;

typedef struct cg_fn {
    const mpc_node *node;
    int             active;   /* being inlined right now */
    struct cg_fn    *next;
} cg_fn;

typedef struct {
    uint64_t key, type;
    uint32_t wire;
    int      used;
} cg_cslot;

typedef struct cg_keycol cg_keycol;

typedef struct {
    mpc_diag         *diag;
    jmp_buf           jb;
    mpc_arena        *arena;
    mpc_circuit      *c;
    const mpc_define *defs;
    size_t            n_defs;
    int              *def_used;
    unsigned          frac;
    int               precision_seen, decl_seen;
    cg_scope          *global, *scope;
    cg_fn             *fns;
    cg_bind           *free_binds;   /* bindings of finished scopes, for reuse */
    int               inline_depth;
    uint64_t          unrolled;
    uint32_t          range_warned_line;   /* one range warning per source line */
    uint32_t          unranged_warned_line;/* one unranged-operand warning per source line */
    uint32_t          overflow_warnings;   /* range and unranged warnings given (circuit->warnings) */
    cg_cslot          *cache;   /* CONST gates by (type, value) */
    size_t            cache_cap, cache_n;
    /* Every param's value in -D syntax, in declaration order (circuits/program.h); pvals_bad
     * when one cannot be stated (a vector, too many params): no program is attached then. */
    mpc_param_value   *pvals;
    uint32_t          n_pvals;
    int               pvals_bad;
    /* Values made by dp_* builtins (dpgen.c): an output of one of these wires gets the DP
     * record (circuit.h, dp.h). */
    struct { uint32_t wire; mpc_dp_output rec; } dpv[CG_MAX_DP];
    uint32_t          n_dpv;
    int               has_dataset;     /* a table is read from a stored dataset: no pushdown */
    /* Contributor inputs (contrib.c): no pushdown either (no party holds them). */
    struct cg_contrib *contrib;
    uint32_t          n_contrib;
    /* Derived entries of contributor inputs found by the previous pass (mpc_compile_ex), and
     * whether this pass found ones its declarations did not hold. */
    const struct mpc_contrib_decl *contrib_hints;
    uint32_t          n_contrib_hints;
    int               contrib_redo;
    /* Joins (joinc.c), in `let` order. */
    struct cg_join   *joins;
    uint32_t          n_joins;
    struct cg_keycol *keycols;      /* the tables' key columns (in the arena) */
    uint32_t          n_keycols;
} cg_comp;

/* ---- compile.c ---- */

_Noreturn void cg_error(cg_comp *C, const mpc_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *cg_tname(const cg_val *v, char *buf, size_t len);
cg_val cg_pub(mpc_type t, uint64_t k, int is_vec, uint64_t len);
cg_val cg_sec(mpc_type t, uint32_t w, int is_vec, uint64_t len);
void cg_shape2(cg_comp *C, const mpc_node *n, const cg_val *a, const cg_val *b, int *is_vec,
        uint64_t *len, const char *what);
uint32_t cg_gate(cg_comp *C, const mpc_node *n, mpc_gate_kind kind, mpc_type type, uint64_t len,
        uint32_t in0, uint32_t in1, uint32_t in2, uint64_t aux0, uint64_t aux1);
uint32_t cg_const(cg_comp *C, const mpc_node *n, mpc_type t, uint64_t k);
cg_val cg_broadcast(cg_comp *C, const mpc_node *n, cg_val v, int is_vec, uint64_t len);
cg_val cg_ranged(cg_comp *C, const mpc_node *n, cg_val v, int ok, double lo, double hi);
cg_val cg_raw_add(cg_comp *C, const mpc_node *n, mpc_type t, cg_val a, cg_val b);
cg_val cg_raw_neg(cg_comp *C, const mpc_node *n, mpc_type t, cg_val a);
cg_val cg_raw_sub(cg_comp *C, const mpc_node *n, mpc_type t, cg_val a, cg_val b);
void cg_prod_range(const cg_val *a, const cg_val *b, double *lo, double *hi);
cg_val cg_raw_mul(cg_comp *C, const mpc_node *n, mpc_type t, cg_val a, cg_val b);
cg_val cg_raw_trunc(cg_comp *C, const mpc_node *n, mpc_type t, cg_val a, unsigned m);
/* Exact floor(a / 2^m) (TRUNC corrected by one comparison): int division by 2^m, int(). */
cg_val cg_floor_shift(cg_comp *C, const mpc_node *n, mpc_type t, cg_val a, unsigned m);
cg_val cg_bool_to_int(cg_val v);
cg_val cg_to_fix(cg_comp *C, const mpc_node *n, cg_val v);
mpc_type cg_unify(cg_comp *C, const mpc_node *n, cg_val *a, cg_val *b, const char *what);
mpc_type cg_mul_type(cg_comp *C, const mpc_node *n, cg_val *a, cg_val *b, int *fixfix,
        const char *what);
cg_val cg_mul(cg_comp *C, const mpc_node *n, cg_val a, cg_val b);
/* a + b and a - b as the language types them. */
cg_val cg_add(cg_comp *C, const mpc_node *n, cg_val a, cg_val b);
cg_val cg_sub(cg_comp *C, const mpc_node *n, cg_val a, cg_val b);
/* Warns (once per line) that a fix product (product = 1) or ordered fix comparison at n has
 * a secret operand without a known range, with a hint naming the input to give a range. */
void cg_unranged_warn(cg_comp *C, const mpc_node *n, const cg_val *a, const cg_val *b, int product);
cg_val cg_div(cg_comp *C, const mpc_node *n, cg_val x, cg_val c);
cg_val cg_test(cg_comp *C, const mpc_node *n, mpc_gate_kind kind, cg_val d);
cg_val cg_select(cg_comp *C, const mpc_node *n, cg_val cond, cg_val a, cg_val b);
cg_bind *cg_lookup(cg_comp *C, const char *name);
cg_fn *cg_find_fn(cg_comp *C, const char *name);
void cg_arity(cg_comp *C, const mpc_node *n, uint32_t want);
cg_val cg_need_vec(cg_comp *C, const mpc_node *n, cg_val v, const char *fn);
cg_val cg_call_fn(cg_comp *C, const mpc_node *n, cg_fn *f);
cg_val cg_expr(cg_comp *C, const mpc_node *n);
/* The call n: a builtin (builtins.c) or an inlined user function. */
cg_val cg_call(cg_comp *C, const mpc_node *n);

static inline int cg_neg64(uint64_t x) { return (int)(x >> 63); }
static inline uint64_t cg_abs64(uint64_t x) { return cg_neg64(x) ? 0 - x : x; }

/* The declared range LO..HI of an input of type vtype, in its ring encoding (errors point
 * at the bounds). */
void cg_input_range(cg_comp *C, const mpc_node *lo, const mpc_node *hi, mpc_type vtype, int64_t *l, int64_t *h);

/* ---- contrib.c ---- */

/* `input NAME: T[len] from contributors in LO..HI` (n): declares the circuit input
 * NAME-contrib, emits its reduction from the daemons' field sums (circuits/contrib.h) and
 * returns the sum as a value of type T (the caller binds NAME to it as B_CONTRIB). */
cg_val cg_contrib_input(cg_comp *C, const mpc_node *n, uint64_t len);
/* count(NAME), sum(NAME), mean(NAME) of a contributor input, or sum(E), mean(E) of a
 * per-contribution expression E in one (derived entries, contrib.c): 1 and *out, or 0 when
 * the call is no such call. */
int cg_contrib_call(cg_comp *C, const mpc_node *n, cg_val *out);
/* The contributor inputs' declarations with every derived entry this pass found (malloc'ed,
 * *n of them: the hints of the next pass), or NULL when out of memory. */
struct mpc_contrib_decl *cg_contrib_found(cg_comp *C, uint32_t *n);
/* When n is the bare name of a contributor input: its declaration, and its sum and count as
 * count(NAME) and sum(NAME) give them (for dp_sum and dp_count of a collection, dpgen.c);
 * otherwise NULL. */
const struct mpc_contrib_decl *cg_contrib_named(cg_comp *C, const mpc_node *n, cg_val *sum, cg_val *count);
/* Records the contributor inputs' declarations in the finished circuit (mpc_circuit.contrib). */
void cg_contrib_attach(cg_comp *C);

/* ---- joinc.c: joins (circuits/joindecl.h, LANGUAGE.md "Joins") ---- */

/* Binds the key column of table t (at most one, not in a dataset table). */
void cg_join_key_column(cg_comp *C, const mpc_node *table, const mpc_node *col, uint32_t party, uint64_t rows);
/* `let NAME = join(...)` (n is the LET node): declares the join and binds NAME (B_JOIN). */
void cg_join_let(cg_comp *C, const mpc_node *n);
/* Whether name is "J.COL" of a join J: then 1 and *out, the column as a joined vector
 * (declaring the join output input on first use). */
int cg_join_name(cg_comp *C, const mpc_node *n, const char *name, cg_val *out);
/* The join of the result of a binary operation (or a '?:') on a and b (and c, when not NULL):
 * 0 when none is joined; an error when a joined vector meets an ordinary vector or another
 * join's. */
uint32_t cg_join_mix(cg_comp *C, const mpc_node *n, const cg_val *a, const cg_val *b, const cg_val *c);
/* A call on joined values: count(J) and the reductions that apply the indicator; 1 and *out,
 * 0 when n is not such a call.  Before any argument is evaluated (pre = 1: count(J), RAW
 * builtins) or after (pre = 0, args evaluated). */
int cg_join_call(cg_comp *C, const mpc_node *n, int pre, const cg_val *args, cg_val *out);
/* The join records, resolved against C->c's inputs (before the circuit is finished). */
void cg_join_attach(cg_comp *C);
/* The indicator of join id (1-based) as an ordinary int vector with range 0..1. */
cg_val cg_join_ind(cg_comp *C, uint32_t id);

/* ---- builtins.c ---- */

/* How the dispatcher treats each argument of a builtin, in order, as soon as it is
 * evaluated: ANY as it is; VEC must be a vector; NUM a secret number, converted to fix;
 * NUMVEC both; RAW: the emitter evaluates n->kids itself (args is unused). */
typedef enum { CG_ARG_ANY, CG_ARG_VEC, CG_ARG_NUM, CG_ARG_NUMVEC, CG_ARG_RAW } cg_argrule;

#define CG_BUILTIN_MAX_ARGS 2   /* arguments of a builtin that is not RAW */

typedef struct {
    const char *name;
    int         min_args, max_args;   /* max_args -1: any number from min_args on */
    cg_argrule  rule;
    const char *cost;                 /* rounds and material of one call, for documentation */
    cg_val    (*emit)(cg_comp *C, const mpc_node *n, const cg_val *args);
} cg_builtin;

extern const cg_builtin cg_builtins[];
extern const size_t     cg_n_builtins;
/* The row of a builtin, or NULL. */
const cg_builtin *cg_find_builtin(const char *name);

/* ---- numeric.c ---- */

cg_val cg_block(cg_comp *C, const mpc_node *n, uint32_t w, unsigned j, uint64_t len, int is_vec);
cg_val cg_secret_div(cg_comp *C, const mpc_node *n, cg_val x, cg_val y);
cg_val cg_root(cg_comp *C, const mpc_node *n, cg_val x, int want_sqrt);
cg_val cg_log(cg_comp *C, const mpc_node *n, cg_val x);
cg_val cg_exp(cg_comp *C, const mpc_node *n, cg_val x);
cg_val cg_sigmoid(cg_comp *C, const mpc_node *n, cg_val x);
cg_val cg_num_arg(cg_comp *C, const mpc_node *n, cg_val v, const char *fn);
cg_val cg_mean(cg_comp *C, const mpc_node *n, cg_val v);
cg_val cg_center(cg_comp *C, const mpc_node *n, cg_val v);
cg_val cg_var(cg_comp *C, const mpc_node *n, cg_val v);
/* mean((u - mean u)(v - mean v)) of two vectors of one length (numeric.c: two passes, per part
 * when both are concatenations of equal parts). */
cg_val cg_comoment(cg_comp *C, const mpc_node *n, cg_val u, cg_val v);
cg_val cg_histogram(cg_comp *C, const mpc_node *n);
/* histogram of the evaluated vector v; ind (a 0/1 int vector of v's length) or NULL: rows
 * with ind = 0 are counted in no bucket (a join's unmatched rows). */
cg_val cg_histogram_v(cg_comp *C, const mpc_node *n, cg_val v, const cg_val *ind);

/* ---- dpgen.c: dp_sum, dp_mean, dp_count, dp_histogram (RAW builtins) ---- */

cg_val cg_dp(cg_comp *C, const mpc_node *n, mpc_dp_kind kind);

#endif
