/* value.h — reading and printing values of the language's types, exactly.
 * fix values are parsed from decimal text without going through binary floating point
 * (X = round-half-away-from-zero(x * 2^frac)); printing gives the shortest decimal that
 * parses back to the same X.  Both mpcc --eval and the mpc CLI use these, so their outputs
 * are byte-identical for the same ring values. */
#ifndef MPC_VALUE_H
#define MPC_VALUE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "circuit.h"

/* Parses one value (text s[0..n-1], surrounding blanks allowed).  int: a decimal integer in
 * [-2^63, 2^64) (values >= 2^63 wrap, as in the ring); bool: 0/1/true/false; fix: a decimal
 * number, optionally with exponent, whose magnitude fits |x| < 2^(63-frac).  0 or -1 with a
 * message in err naming the text. */
int mpc_value_parse(mpc_type t, unsigned frac, const char *s, size_t n, uint64_t *out,
                    char *err, size_t errlen);

/* Parses a list separated by commas and/or whitespace/newlines into a malloc'ed array.
 * `spec` is either the list itself or "@path" naming a file holding it (a file may start with
 * a UTF-8 byte-order mark and a header line holding one name that is not a value, e.g. "x":
 * a one-column CSV file).  *out and *n_out receive
 * the array and its length (caller frees).  0 or -1 with a message (file, element index). */
int mpc_values_load(mpc_type t, unsigned frac, const char *spec, uint64_t **out, uint64_t *n_out,
                    char *err, size_t errlen);

/* As mpc_values_load, into the caller's out[0 .. cap-1]: *n_out is the number of values the
 * text holds, of which the first min(n, cap) are stored (the rest are parsed and checked
 * all the same, so a wrong count is reported with the count given).  On failure out is
 * zeroed.  For a caller that knows the length and wants the values in memory of its own
 * (the SDK stages them in sodium_malloc memory without a copy). */
int mpc_values_load_into(mpc_type t, unsigned frac, const char *spec, uint64_t *out, uint64_t cap,
                         uint64_t *n_out, char *err, size_t errlen);

/* Writes the value as text (NUL-terminated); returns the length, or -1 if buf is too small.
 * int: signed decimal; bool: 0 or 1; fix: shortest round-tripping decimal. 64 bytes suffice. */
int mpc_value_format(mpc_type t, unsigned frac, uint64_t v, char *buf, size_t len);

/* Prints n values separated by `sep` (e.g. ", ") to f, each as mpc_value_format does;
 * the line shape of mpcc --eval.  0 or -1 (unknown type or write error). */
int mpc_values_fprint(FILE *f, mpc_type t, unsigned frac, const uint64_t *v, uint64_t n,
                      const char *sep);

/* fix <-> double for tests and references (not used on exact paths). */
double   mpc_fix_to_double(uint64_t v, unsigned frac);
uint64_t mpc_fix_from_double(double x, unsigned frac);

#endif
