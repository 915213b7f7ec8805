/* compile.h — the mpc compiler's public API: source text in, a validated circuit out.
 * Semantic analysis and code generation happen in one walk over the AST (compile.c):
 * constants are folded while gates are emitted (public∘public never reaches the circuit),
 * `var` is compile-time SSA, `for` is fully unrolled, `fn` is inlined, and every gate keeps
 * the line and column of the source construct that produced it.  The circuit then goes
 * through mpc_circ_optimize (opt.h: CSE, dead-gate removal, layering).  The language is
 * documented in LANGUAGE.md. */
#ifndef MPC_COMPILE_H
#define MPC_COMPILE_H

#include <stddef.h>

#include "circuit.h"
#include "diag.h"

/* A `-D NAME=VALUE` override of `param NAME = ...`.  VALUE is an integer ("-12"), a decimal
 * ("2.5", a fix value) or true/false. */
typedef struct {
    const char *name;
    const char *value;
} mpc_define;

/* Longest unrolling (loop iterations plus inlined calls) a program may ask for. */
#define MPC_COMPILE_MAX_UNROLL 1000000u

/* Warnings.  A compile that succeeds may still have warnings in *diag: an input never used,
 * and the overflow warnings of LANGUAGE.md "Ranges and overflow warnings" (a fix product or
 * ordered comparison of a value without a declared range; a value or truncation operand
 * that the declared ranges allow to leave the ring or its headroom; a numeric argument out
 * of its valid range).  Read them with diag->n_warnings, mpc_diag_warning_at(diag, i) and
 * mpc_diag_format (diag.h) — e.g. to show them before running a job — or print them all
 * with mpc_diag_print.  The number of overflow warnings is also recorded in the circuit
 * (mpc_circuit.warnings, written to the .circ file) so that a daemon whose policy is
 * `strict` can refuse the circuit without the source. */

/* Compiles src[0..len-1] (optimised).  Initialises *diag (filename and src are borrowed by it: keep them
 * alive while you print it) and records errors and warnings there; the caller frees it with
 * mpc_diag_free in every case.  On success returns 0 and *out receives a new circuit that
 * passes mpc_circ_validate (caller destroys it); on failure returns -1, *out is NULL and
 * diag holds at least one error.  A define naming no param is an error. */
int mpc_compile(const char *src, size_t len, const char *filename, const mpc_define *defs,
                size_t n_defs, mpc_circuit **out, mpc_diag *diag);

/* mpc_compile with flags: MPC_COMPILE_NO_OPT skips mpc_circ_optimize (CSE and dead-gate
 * removal), leaving the gates exactly as code generation emitted them (tests use it to
 * check the lowering of each construct). */
#define MPC_COMPILE_NO_OPT 1u
/* MPC_COMPILE_STRICT: a program that compiles with warnings fails instead (mpcc --strict):
 * every warning becomes an error ending in " [strict]" (mpc_diag_promote_warnings), the
 * return is -1 and *out NULL. */
#define MPC_COMPILE_STRICT 2u
/* MPC_COMPILE_PUSHDOWN: split off each party's owner-local part (pushdown.h,
 * LANGUAGE.md "Owner-local pushdown").  mpcc and the SDK set it unless --no-pushdown. */
#define MPC_COMPILE_PUSHDOWN 4u
int mpc_compile_ex(const char *src, size_t len, const char *filename, const mpc_define *defs,
                   size_t n_defs, unsigned flags, mpc_circuit **out, mpc_diag *diag);

/* The exact fix encoding of a decimal literal text ("12.375", digits with at most one '.'):
 * round-half-away-from-zero of x * 2^frac.  0, or -1 if the text is malformed or
 * |x| >= 2^(63-frac). */
int mpc_compile_decimal(const char *text, unsigned frac, uint64_t *out);

#endif
