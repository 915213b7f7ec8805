/* circuit.h — the vector arithmetic-circuit IR shared by the compiler, the plaintext
 * evaluator, the circuit file format and the MPC engine.
 *
 * A circuit is a list of gates in topological order.  Gate i produces wire i (SSA): a
 * vector of `len` elements of Z_2^64.  Element-wise gates accept an operand of length 1
 * and broadcast it.  Wires are secret (shared) except the outputs of CONST gates, which are
 * public.  Binary operations on two public wires never appear: the compiler folds them.
 * Each gate carries its layer (see below) so that the engine can batch every opening of
 * one round into one message per peer.  This header depends on nothing of ours.
 */
#ifndef MPC_CIRCUIT_H
#define MPC_CIRCUIT_H

#include <stddef.h>
#include <stdint.h>

/* Value types.  int: two's complement mod 2^64.  fix: X = round(x * 2^frac_bits) mod 2^64.
 * bool: 0 or 1 (the result of a comparison). */
#define MPC_TYPE_LIST(X) \
    X(INT,  "int")       \
    X(FIX,  "fix")       \
    X(BOOL, "bool")

typedef enum {
#define X(e, s) MPC_T_##e,
    MPC_TYPE_LIST(X)
#undef X
    MPC_T__COUNT
} mpc_type;

/* The single source of truth for gate kinds: one row per kind, every rule a column.
 *   X(ENUM, name, operands, public, shape, aux, rounds, triples_per_element)
 * operands: number of wire operands (in[0..operands-1]); unused in[k] are MPC_NO_WIRE, and an
 *           operand is an earlier gate that is not an OUTPUT.
 * public:   bit k set: operand k must be a CONST wire (public); every other operand must be
 *           secret (not CONST).
 * shape:    how the output length `len` relates to the operands (MPC_SHAPE_*, below).
 * aux:      what aux[0], aux[1] hold (MPC_AUX_*, below); fields a kind does not use are zero.
 * rounds:   communication rounds the engine needs (0 = local).
 * triples_per_element: Beaver triples consumed per output element (or, for DOT, per
 *           input element); comparison gates use other material, counted separately.  A MUL
 *           or DOT whose two operands are the same wire is a square (mpc_gate_is_square): it
 *           consumes that many square pairs instead (prep.h), not triples.
 * SELECT: in[0] is the condition (bool), in[1] the value if true, in[2] if false.
 * mpc_circ_validate (circuit.c) checks exactly these columns, plus the input, output and
 * constant tables and the layers. */
#define MPC_GATE_LIST(X)                                                       \
    X(INPUT,   "input",   0, 0, INPUT,  INDEX, 0, 0)                            \
    X(CONST,   "const",   0, 0, CONST,  INDEX, 0, 0)                            \
    X(ADD,     "add",     2, 0, BCAST,  NONE,  0, 0)                            \
    X(SUB,     "sub",     2, 0, BCAST,  NONE,  0, 0)                            \
    X(NEG,     "neg",     1, 0, SAME,   NONE,  0, 0)                            \
    X(ADD_PUB, "add_pub", 2, 2, BCAST,  NONE,  0, 0)                            \
    X(MUL_PUB, "mul_pub", 2, 2, BCAST,  NONE,  0, 0)                            \
    X(MUL,     "mul",     2, 0, BCAST,  NONE,  1, 1)                            \
    X(SUM,     "sum",     1, 0, ONE,    NONE,  0, 0)                            \
    X(DOT,     "dot",     2, 0, DOT,    INDEX, 1, 1)                            \
    X(TRUNC,   "trunc",   1, 0, SAME,   SHIFT, 1, 0)                            \
    X(LTZ,     "ltz",     1, 0, SAME,   NONE,  8, 0)                            \
    X(EQZ,     "eqz",     1, 0, SAME,   NONE,  8, 0)                            \
    X(SELECT,  "select",  3, 0, BCAST,  NONE,  1, 1)                            \
    X(SLICE,   "slice",   1, 0, SLICE,  RANGE, 0, 0)                            \
    X(CONCAT,  "concat",  2, 0, CONCAT, NONE,  0, 0)                            \
    X(OUTPUT,  "output",  1, 0, OUTPUT, INDEX, 0, 0)                            \
    X(NOISE,   "noise",   0, 0, NOISE,  COINS, 0, 0)

/* shape column:
 *   INPUT   len is the length of input aux[0] (the table entry must match the gate)
 *   CONST   the gate holds `len` values of the constant table from offset aux[0]
 *   BCAST   element-wise: every operand has length 1 (broadcast) or len
 *   SAME    in[0] has length len
 *   ONE     len = 1 (SUM of in[0])
 *   DOT     in[0], in[1] of equal length L; len = ceil(L / aux[0]), or 1 when aux[0] = 0;
 *           output element j is the dot product of elements j*s .. j*s+s-1 (s = aux[0])
 *   SLICE   output element k = in[0][aux[0] + k*aux[1]], inside in[0]
 *   CONCAT  len = len(in[0]) + len(in[1])
 *   OUTPUT  in[0] has length len and the gate's type; output aux[0] names it as its wire
 *   NOISE   no operand; len elements of int type, each the sum of aux[0] fresh shared random
 *           bits (daBits) minus aux[0]/2: binomial noise Bin(aux[0], 1/2) - aux[0]/2, centred
 *           on 0 (docs/governance.md, "Differential privacy").  Never merged with another
 *           gate by the optimiser: two NOISE gates are independent draws. */
#define MPC_SHAPE_LIST(X) X(INPUT) X(CONST) X(BCAST) X(SAME) X(ONE) X(DOT) X(SLICE) X(CONCAT) X(OUTPUT) X(NOISE)
/* aux column:
 *   NONE    aux[0] = aux[1] = 0
 *   INDEX   aux[0] only (INPUT/OUTPUT: index into the table, in gate order; CONST: offset;
 *           DOT: segment length); aux[1] = 0
 *   SHIFT   TRUNC: aux[0] = shift m (1..62), aux[1] = bound l (operand must satisfy
 *           |x| < 2^(l-1); m < l <= 63)
 *   RANGE   SLICE: aux[0] = start, aux[1] = stride (>= 1), checked with the shape
 *   COINS   NOISE: aux[0] = coins per element m (even, 2..MPC_NOISE_MAX_COINS), aux[1] = the
 *           sensitivity the noise was sized for, in noise units (1..m; metadata: the engine
 *           does not read it, but it is hashed with the gate); len * m <= MPC_NOISE_MAX_TOTAL */
#define MPC_AUX_LIST(X) X(NONE) X(INDEX) X(SHIFT) X(RANGE) X(COINS)

typedef enum {
#define X(e) MPC_SHAPE_##e,
    MPC_SHAPE_LIST(X)
#undef X
} mpc_gate_shape;

typedef enum {
#define X(e) MPC_AUX_##e,
    MPC_AUX_LIST(X)
#undef X
} mpc_gate_aux;

typedef enum {
#define X(e, s, ops, pub, shape, aux, rounds, triples) MPC_G_##e,
    MPC_GATE_LIST(X)
#undef X
    MPC_G__COUNT
} mpc_gate_kind;

typedef struct {
    const char *name;
    uint8_t     operands;
    uint8_t     public_mask;          /* bit k: operand k is public */
    uint8_t     shape;                /* mpc_gate_shape */
    uint8_t     aux;                  /* mpc_gate_aux */
    uint8_t     rounds;
    uint8_t     triples_per_element;
} mpc_gate_info;

extern const mpc_gate_info mpc_gate_infos[MPC_G__COUNT];
extern const char *const   mpc_type_names[MPC_T__COUNT];

#define MPC_NO_WIRE      UINT32_MAX
#define MPC_MAX_PARTIES  16
#define MPC_NAME_MAX     64           /* longest party, input or output name, bytes */
#define MPC_DEFAULT_FRAC 16
#define MPC_TRUNC_BOUND  63           /* default l of TRUNC: operand |x| < 2^62 */
/* Binary ANDs of one comparison (protocols/compare.h checks it uses the same numbers). */
#define MPC_CIRC_LTZ_ANDS 118
#define MPC_CIRC_EQZ_ANDS 63
/* NOISE gates: coins (daBits) per element, and in one gate. */
#define MPC_NOISE_MAX_COINS (1ull << 26)
#define MPC_NOISE_MAX_TOTAL (1ull << 34)

/* Layer.  depth(g) = rounds after which g's output is available:
 *   local gates:        layer = depth = max(depth(operands))   (0 for INPUT, CONST)
 *   interactive gates:  layer = max(depth(operands)); depth = layer + rounds(kind)
 * The engine runs round r as: every local gate with layer r (in index order), then every
 * interactive gate with layer r batched into one exchange.  Circuit rounds = max depth. */
typedef struct {
    uint8_t  kind;      /* mpc_gate_kind */
    uint8_t  type;      /* mpc_type of the output */
    uint16_t reserved;  /* zero */
    uint32_t layer;
    uint32_t in[3];     /* operand wire ids (< this gate's id), MPC_NO_WIRE when unused */
    uint64_t len;       /* output vector length, >= 1 */
    uint64_t aux[2];
    uint32_t line, col; /* source position, 0 if unknown */
} mpc_gate;

typedef struct {
    char     name[MPC_NAME_MAX];
    uint32_t party;     /* index into party_names */
    uint8_t  type;
    uint64_t len;
    uint32_t wire;      /* its INPUT gate */
    uint32_t line, col;
} mpc_input;

typedef struct {
    char     name[MPC_NAME_MAX];
    uint8_t  type;
    uint64_t len;
    uint32_t wire;      /* the wire whose value is revealed (its OUTPUT gate's operand) */
    uint32_t recipients;/* bit i set: party i receives it */
    uint32_t line, col;
} mpc_output;

typedef struct mpc_circuit {
    uint32_t    frac_bits;
    uint32_t    n_parties;
    char        party_names[MPC_MAX_PARTIES][MPC_NAME_MAX];
    char        source[MPC_NAME_MAX * 4];  /* source file name, for messages */

    mpc_input  *inputs;   uint32_t n_inputs,  cap_inputs;
    mpc_output *outputs;  uint32_t n_outputs, cap_outputs;
    mpc_gate   *gates;    uint32_t n_gates,   cap_gates;
    uint64_t   *consts;   uint64_t n_consts,  cap_consts;
    uint32_t    rounds;   /* set by mpc_circ_assign_layers */
    /* Overflow warnings the compiler gave for the source (compile.h, LANGUAGE.md "Ranges and
     * overflow warnings"): metadata for a daemon's `strict` policy, not part of what the
     * circuit computes (the circuit hash leaves it out).  MPC_CIRC_WARNINGS_UNKNOWN for a
     * circuit read from a format-1 file, which does not record it. */
    uint32_t    warnings;
    /* Owner-local parts (circuits/pushdown.h): at most one per party, each a circuit whose
     * inputs all come from that party and whose outputs, all to that party, are the values
     * of this circuit's derived inputs of the same names.  The owner computes them in the
     * clear before sharing.  A local part has no local parts itself.  Owned here. */
    struct mpc_circuit **locals;
    uint32_t    n_locals;
    /* The program the circuit was compiled from and its param values (circuits/program.h),
     * or NULL: what a daemon recompiles to admit the circuit by its program hash.  Not part
     * of what the circuit computes (the circuit hash leaves it out).  Owned here. */
    struct mpc_program *program;
    /* Differentially private outputs (circuits/dp.h): one record per output computed by a
     * dp_* builtin, in output order.  Metadata for a daemon's privacy accounting, written in
     * format version 5 and checked against the circuit's NOISE gates on reading; like the
     * warnings, not part of the hash (the NOISE gates it describes are).  Owned here. */
    struct mpc_dp_output *dp;
    uint32_t    n_dp, cap_dp;
    /* Contributor inputs (circuits/contrib.h): each `input NAME: T[D] from contributors in
     * LO..HI` and what a contribution to it must prove.  Set by the compiler; written in
     * format version 7 and part of the hash (docs/circuit-format.md, "The collection
     * records").  A daemon takes them from its own recompilation of the carried program,
     * never from the bytes it was sent.  Owned here. */
    struct mpc_contrib_decl *contrib;
    uint32_t    n_contrib;
    /* Private joins (circuits/joindecl.h): which inputs are joined on which key columns,
     * and which inputs the joins give.  Written in format version 6 and part of the hash
     * (the parties must agree on them).  Owned here. */
    struct mpc_join_decl *joins;
    uint32_t    n_joins;
} mpc_circuit;

#define MPC_CIRC_WARNINGS_UNKNOWN UINT32_MAX

/* The strict rule (`mpcc --strict`, `mpc --strict`, a daemon's [policy] strict): 0 when the
 * circuit records no compiler warning; otherwise -1 and the reason in err (a format-1 circuit
 * records none, so it is refused too).  One wording for every place that applies the rule. */
int mpc_circ_strict_check(const mpc_circuit *c, char *err, size_t errlen);

/* Resource limits a reader or a daemon enforces.  Zero fields mean "the built-in maximum". */
typedef struct {
    uint64_t max_gates;
    uint64_t max_vector;      /* longest wire */
    uint64_t max_total;       /* sum of all wire lengths (memory the engine will need / 8) */
    uint64_t max_consts;
} mpc_circ_limits;

#define MPC_CIRC_MAX_GATES   (1u << 24)
#define MPC_CIRC_MAX_VECTOR  (1ull << 32)
#define MPC_CIRC_MAX_TOTAL   (1ull << 36)
#define MPC_CIRC_MAX_CONSTS  (1ull << 28)

/* Construction.  mpc_circ_new returns NULL on allocation failure; mpc_circ_destroy accepts
 * NULL and sets *c to NULL. */
mpc_circuit *mpc_circ_new(void);
/* A new circuit without gates, with c's precision, parties, source name and warnings (what
 * a pass that rebuilds c gate by gate starts from), or NULL. */
mpc_circuit *mpc_circ_new_like(const mpc_circuit *c);
void         mpc_circ_destroy(mpc_circuit **c);

/* Returns the party index, or -1 (duplicate name, too many parties, name too long). */
/* The one rule for every name in the system — parties, clients, daemons, inputs, outputs and
 * key files (used by circuits/, protocols/keys.c, client-sdk/ and mpcd/): 1 to MPC_NAME_MAX-1
 * bytes of ASCII letters, digits, '_', '-' and '.', the first being a letter, a digit or '_'
 * (so a name is never a hidden file, "..", or taken for a command-line option).  The
 * language's identifiers (circuits/LANGUAGE.md) are a subset.  s need not be NUL-terminated:
 * n bytes are checked, so a length-prefixed wire string with a NUL inside is refused. */
int      mpc_name_ok(const char *s, size_t n);
/* mpc_name_ok for a NUL-terminated string. */
int      mpc_name_ok_str(const char *s);
int      mpc_circ_add_party(mpc_circuit *c, const char *name);
/* Appends a gate and returns its wire id, MPC_NO_WIRE on allocation failure.  No checks:
 * mpc_circ_finish validates the whole circuit. */
uint32_t mpc_circ_add_gate(mpc_circuit *c, mpc_gate_kind kind, mpc_type type, uint64_t len,
                           uint32_t in0, uint32_t in1, uint32_t in2,
                           uint64_t aux0, uint64_t aux1, uint32_t line, uint32_t col);
/* A CONST gate holding vals[0..n-1]; returns its wire or MPC_NO_WIRE. */
uint32_t mpc_circ_add_const(mpc_circuit *c, mpc_type type, const uint64_t *vals, uint64_t n,
                            uint32_t line, uint32_t col);
/* Declares an input and emits its INPUT gate; returns the wire or MPC_NO_WIRE. */
uint32_t mpc_circ_add_input(mpc_circuit *c, const char *name, uint32_t party, mpc_type type,
                            uint64_t len, uint32_t line, uint32_t col);
/* Declares an output of `wire` to the parties in `recipients` and emits its OUTPUT gate;
 * returns the output index or -1. */
int      mpc_circ_add_output(mpc_circuit *c, const char *name, uint32_t wire, uint32_t recipients,
                             uint32_t line, uint32_t col);

/* Computes every gate's layer and c->rounds.  Gates must already be valid. */
void     mpc_circ_assign_layers(mpc_circuit *c);
/* Checks every structural rule above against `lim` (NULL: built-in maxima), including
 * that stored layers equal the computed ones.  Returns 0, or -1 with a message in err. */
int      mpc_circ_validate(const mpc_circuit *c, const mpc_circ_limits *lim, char *err, size_t errlen);
/* assign_layers + validate. */
int      mpc_circ_finish(mpc_circuit *c, char *err, size_t errlen);

/* A MUL or DOT of a wire with itself (x * x, dot(x, x)).  The engine evaluates it with square
 * pairs (a, a²) and opens only x − a: one word per element instead of a triple's two
 * (docs/engine.md, "Squares").  The encoding is that of any MUL or DOT (the optimiser's common
 * subexpression elimination makes equal operands one wire), so no gate kind of its own. */
static inline int mpc_gate_is_square(const mpc_gate *g)
{
    return (g->kind == MPC_G_MUL || g->kind == MPC_G_DOT) && g->in[0] == g->in[1];
}

/* Summary figures (mpcc --stats, job admission). */
typedef struct {
    uint64_t gates;
    uint64_t triples;         /* Beaver triples consumed */
    uint64_t squares;         /* square pairs consumed (mpc_gate_is_square) */
    uint64_t trunc_elems;     /* elements truncated (each consumes one truncation tuple) */
    uint64_t comparisons;     /* elements through LTZ/EQZ */
    uint64_t edabits;         /* comparison material: one edaBit and one daBit per comparison */
    uint64_t dabits;
    uint64_t bin_ands;        /* binary AND gates (binary Beaver triples, 64 per word) */
    uint32_t rounds;
    uint64_t opened_elems;    /* ring elements each party opens, summed over rounds */
    uint64_t total_wire_elems;
    uint64_t noise_elems;     /* elements of NOISE gates */
    uint64_t noise_dabits;    /* daBits they consume (also counted in dabits) */
} mpc_circ_stats;

void mpc_circ_stats_get(const mpc_circuit *c, mpc_circ_stats *st);

#endif
