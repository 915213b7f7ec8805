/* parse.h — the parser of the mpc language and its abstract syntax tree.  The grammar is in
 * LANGUAGE.md and, rule by rule, above each parse function in parse.c.  Every node keeps the
 * line and column of the token that names it (for a binary operation: the operator), so
 * diagnostics and gates point at the right place.  All nodes live in one arena, freed with
 * the tree. */
#ifndef MPC_PARSE_H
#define MPC_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "lex.h"

/* A bump allocator: many small allocations, one free. */
typedef struct mpc_arena mpc_arena;
mpc_arena *mpc_arena_new(void);
void       mpc_arena_destroy(mpc_arena **a);
/* Zeroed memory; NULL on allocation failure. */
void      *mpc_arena_alloc(mpc_arena *a, size_t n);
char      *mpc_arena_strndup(mpc_arena *a, const char *s, size_t n);

#define MPC_NODE_LIST(X)                                              \
    /* expressions */                                                 \
    X(INT, "int")        /* ival */                                   \
    X(DEC, "dec")        /* text: the literal as written */           \
    X(BOOL, "bool")      /* ival 0/1 */                               \
    X(NAME, "name")      /* name; a table column is one name "table.column" */ \
    X(NEG, "neg")        /* kids[0] */                                \
    X(BIN, "bin")        /* op (mpc_token_kind), kids[0], kids[1] */  \
    X(COND, "cond")      /* kids: condition, if-true, if-false */     \
    X(CALL, "call")      /* name, kids: arguments (join: `on K` is a NAME with ival 1) */ \
    X(INDEX, "index")    /* kids: vector, index */                    \
    X(SLICE, "slice")    /* kids: vector, start or NULL, end or NULL */ \
    X(LIST, "list")      /* kids: the elements of '[' e1, e2, ... ']' */ \
    /* statements */                                                  \
    X(BLOCK, "block")    /* kids: statements (the program is a block) */ \
    X(PARTY, "party")    /* names: the parties */                     \
    X(PRECISION, "precision") /* kids[0]: an INT node */              \
    X(PARAM, "param")    /* name, kids[0]: default value, NULL for `param N` (given by -D or \
                            by the row count of a table's CSV file) */ \
    X(INPUT, "input")    /* name, vtype, kids[0]: length or NULL (scalar), names[0]: party, \
                            kids[1], kids[2] (when n_kids = 3): declared range lo..hi; \
                            ival 1: `from contributors` (circuits/contrib.h) */ \
    X(TABLE, "table")    /* name, kids[0]: row count N, kids[1..]: COLUMN nodes, names[0]: party, \
                            names[1] (n_names = 2): the dataset it is read from */ \
    X(COLUMN, "column")  /* name, vtype (MPC_COLUMN_KEY: a join's key column), kids[0]: default \
                            (a literal, maybe negated) or NULL, kids[1], kids[2]: declared range \
                            lo..hi or NULL */ \
    X(LET, "let")        /* name, kids[0] */                          \
    X(VAR, "var")        /* name, kids[0] */                          \
    X(ASSIGN, "assign")  /* name, kids[0] */                          \
    X(FOR, "for")        /* name: loop variable, kids: from, to, body (BLOCK) */ \
    X(FN, "fn")          /* name, names: parameters, kids[0]: body (BLOCK) */ \
    X(RETURN, "return")  /* kids[0] */                                \
    X(OUTPUT, "output")  /* kids: OUTITEM nodes, names: recipients */ \
    X(OUTITEM, "outitem") /* name, kids[0]: expression or NULL (the name's value) */

/* The vtype of a table's `key` column (not a value type: no circuit input). */
#define MPC_COLUMN_KEY 0x100

typedef enum {
#define X(e, s) MPC_N_##e,
    MPC_NODE_LIST(X)
#undef X
    MPC_N__COUNT
} mpc_node_kind;

extern const char *const mpc_node_names[MPC_N__COUNT];

typedef struct mpc_node mpc_node;
struct mpc_node {
    mpc_node_kind kind;
    uint32_t      line, col;
    int           op;        /* BIN: the operator token */
    int           vtype;     /* INPUT: mpc_type */
    uint64_t      ival;
    char         *name;      /* NUL-terminated */
    char         *text;      /* DEC: literal text, NUL-terminated */
    mpc_node    **kids;
    uint32_t      n_kids;
    char        **names;     /* PARTY, FN, OUTPUT, INPUT: names with their positions */
    uint32_t     *name_line, *name_col;
    uint32_t      n_names;
    size_t        from, to;  /* PARAM: byte offsets in the source of the value's first token
                                and of the token after it (circuits/program.c) */
};

typedef struct {
    mpc_node  *root;    /* a BLOCK */
    mpc_arena *arena;
} mpc_ast;

/* Parses a whole program.  Returns 0 and fills *ast, or -1 with the first error in diag
 * (then *ast holds nothing to free).  Free with mpc_ast_free. */
int  mpc_parse(const char *src, size_t len, mpc_diag *diag, mpc_ast *ast);
void mpc_ast_free(mpc_ast *ast);

/* The default of a table column (a COLUMN node with kids[0] set) as the text a CSV cell
 * would hold ("-2.5", "7", "true"), for mpc_value_parse.  0, or -1 (no default, or buf too
 * small). */
int mpc_column_default_text(const mpc_node *col, char *buf, size_t len);

/* Writes an expression or statement as an S-expression, e.g. "(+ a (* b 2))", for tests
 * and debugging.  Returns the length it needed (like snprintf). */
size_t mpc_ast_sexpr(const mpc_node *n, char *buf, size_t len);

#endif
