/* value.c — exact decimal parsing and printing of int, fix and bool values (value.h).
 * fix parsing never touches binary floating point: the decimal digits are scaled by 2^frac
 * with integer arithmetic (128-bit when the fraction is short, digit-string doubling when
 * it is long), so ties and long inputs round exactly as value.h promises. */
#include "value.h"
#include "diag.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_MAX_FRAC    60     /* printing needs 10 * 2^frac < 2^64 */
#define S_SHOW_MAX    40     /* how much of an offending text a message quotes */
#define S_DEEP_ZEROS  400    /* below 10^-400 every fix value rounds to 0 */


/* Quotes at most S_SHOW_MAX characters of s[0..n-1] into q (printable characters only). */
static const char *s_quote(const char *s, size_t n, char *q, size_t qlen)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < qlen; i++) {
        if (i == S_SHOW_MAX) {
            q[k++] = '.'; q[k++] = '.'; q[k++] = '.';
            break;
        }
        unsigned char ch = (unsigned char)s[i];
        q[k++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    q[k] = 0;
    return q;
}

static int s_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Magnitude of a decimal integer; -1 if not one, -2 if it exceeds `max` (any max of at
 * least 10^18 - 1).  The first 18 digits cannot overflow (10^18 - 1 < 2^63), so only the
 * digits after them pay for the division of the range check: a 10^6-line input file is
 * parsed at memory speed (docs/performance.md, "The client side of mpc run"). */
static int s_parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0) return -1;
    uint64_t v = 0;
    size_t fast = n < 18 ? n : 18, i = 0;
    for (; i < fast; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9) return -1;
        v = v * 10 + d;
    }
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10) return -2;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int s_parse_int(const char *s, size_t n, uint64_t *out, char *err, size_t errlen)
{
    char q[S_SHOW_MAX + 8];
    int neg = 0;
    size_t i = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    uint64_t mag;
    int r = s_parse_uint(s + i, n - i, neg ? (1ull << 63) : UINT64_MAX, &mag);
    if (r == -2)
        return mpc_errf(err, errlen, "int value '%s' out of range (-2^63 .. 2^64-1)", s_quote(s, n, q, sizeof q));
    if (r != 0) return mpc_errf(err, errlen, "'%s' is not an integer", s_quote(s, n, q, sizeof q));
    *out = neg ? 0 - mag : mag;
    return 0;
}

static int s_parse_bool(const char *s, size_t n, uint64_t *out, char *err, size_t errlen)
{
    char q[S_SHOW_MAX + 8];
    if ((n == 1 && s[0] == '0') || (n == 5 && memcmp(s, "false", 5) == 0)) *out = 0;
    else if ((n == 1 && s[0] == '1') || (n == 4 && memcmp(s, "true", 4) == 0)) *out = 1;
    else return mpc_errf(err, errlen, "'%s' is not a bool (0, 1, true, false)", s_quote(s, n, q, sizeof q));
    return 0;
}

/* round(F * 2^frac) for the decimal fraction F = 0.d[0]d[1]...d[m-1] (digit values),
 * half up; *carry gets the rounding carry into the integer part (0 or 1).  Exact by
 * repeated doubling of the digit string; d is destroyed. */
static uint64_t s_frac_bits_slow(unsigned char *d, size_t m, unsigned frac, unsigned *carry)
{
    while (m > 0 && d[m - 1] == 0) m--;
    uint64_t bits = 0;
    for (unsigned j = 0; j < frac; j++) {
        unsigned c = 0;
        for (size_t i = m; i-- > 0;) {
            unsigned v = d[i] * 2u + c;
            c = v >= 10;
            d[i] = (unsigned char)(c ? v - 10 : v);
        }
        bits = (bits << 1) | c;
        while (m > 0 && d[m - 1] == 0) m--;
    }
    if (m > 0 && d[0] >= 5) bits++;
    *carry = 0;
    if (frac < 64 && bits >> frac) { /* rounded up to 1.0 */
        *carry = 1;
        bits = 0;
    }
    return bits;
}

static const uint64_t s_pow10[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
    10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull,
};

/* fix: [sign] digits [. digits] [(e|E) [sign] digits], or [sign] . digits [...]. */
static int s_parse_fix(unsigned frac, const char *s, size_t n, uint64_t *out, char *err, size_t errlen)
{
    char q[S_SHOW_MAX + 8];
    unsigned char stackbuf[512];
    unsigned char *sig = stackbuf;     /* significant digits, leading zeros stripped */
    int r = -1;
    size_t i = 0;
    int neg = 0;
    if (frac > S_MAX_FRAC) return mpc_errf(err, errlen, "fixed-point precision %u too large", frac);
    if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    size_t int_start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    size_t int_end = i, fr_start = i, fr_end = i;
    if (i < n && s[i] == '.') {
        fr_start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        fr_end = i;
    }
    if (int_end == int_start && fr_end == fr_start) goto notnum;
    long long e10 = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < n && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
        if (i >= n || s[i] < '0' || s[i] > '9') goto notnum;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (e10 < 100000000) e10 = e10 * 10 + (s[i] - '0'); /* saturates harmlessly */
            i++;
        }
        if (eneg) e10 = -e10;
    }
    if (i != n) goto notnum;

    /* Collect the significant digits; value = 0.sig * 10^point. */
    size_t total = (int_end - int_start) + (fr_end - fr_start);
    if (total > sizeof stackbuf) {
        sig = malloc(total);
        if (!sig) return mpc_errf(err, errlen, "out of memory");
    }
    size_t m = 0;
    long long point = (long long)(int_end - int_start);
    for (size_t k = int_start; k < fr_end; k++) {
        if (k == int_end) continue;            /* the '.' */
        unsigned char d = (unsigned char)(s[k] - '0');
        if (m == 0 && d == 0) {
            point--;                           /* a leading zero moves the point left */
            continue;
        }
        sig[m++] = d;
    }
    if (m == 0) { *out = 0; r = 0; goto out; }
    point += e10;
    /* Now x = 0.sig[0]sig[1]... * 10^point with sig[0] != 0, so 10^(point-1) <= x < 10^point. */
    uint64_t lim = neg ? (1ull << 63) : (1ull << 63) - 1;   /* bound on |X| */
    if (point > 20) goto range;
    uint64_t ipart = 0;
    size_t used = 0;
    if (point > 0) {
        for (long long k = 0; k < point; k++) {
            unsigned d = used < m ? sig[used] : 0;
            if (used < m) used++;
            if (ipart > (UINT64_MAX - d) / 10) goto range;
            ipart = ipart * 10 + d;
        }
    }
    if (frac < 64 && ipart > (lim >> frac)) goto range;
    uint64_t mag = ipart << frac;
    /* Fraction digits: sig[used..m-1] preceded by -point zeros when point < 0. */
    uint64_t fbits = 0;
    unsigned carry = 0;
    size_t flen = m - used;
    long long zeros = point < 0 ? -point : 0;
    if (flen > 0) {
        if (zeros > S_DEEP_ZEROS) {
            fbits = 0;                          /* x < 10^-400: rounds to 0 at any frac <= 60 */
        } else if ((size_t)zeros + flen <= 19) {
            uint64_t num = 0;
            for (size_t k = used; k < m; k++) num = num * 10 + sig[k];
            uint64_t den = s_pow10[zeros + (long long)flen];
            unsigned __int128 p = (unsigned __int128)num << frac;
            uint64_t qt = (uint64_t)(p / den), rem = (uint64_t)(p % den);
            if (rem >= den - rem) qt++;         /* half up (ties away from zero in magnitude) */
            fbits = qt;
            if (fbits >> frac) { carry = 1; fbits -= 1ull << frac; }
        } else {
            size_t dl = (size_t)zeros + flen;
            unsigned char *dig = malloc(dl);
            if (!dig) { mpc_errf(err, errlen, "out of memory"); goto out; }
            memset(dig, 0, (size_t)zeros);
            memcpy(dig + zeros, sig + used, flen);
            fbits = s_frac_bits_slow(dig, dl, frac, &carry);
            free(dig);
        }
    }
    if (carry) {
        if (mag > lim - (1ull << frac)) goto range;
        mag += 1ull << frac;
    }
    if (fbits > lim - mag) goto range;
    mag += fbits;
    *out = neg ? 0 - mag : mag;
    r = 0;
    goto out;
notnum:
    r = mpc_errf(err, errlen, "'%s' is not a number", s_quote(s, n, q, sizeof q));
    goto out;
range:
    r = mpc_errf(err, errlen, "fix value '%s' out of range (|x| must be below 2^%u at %u fractional bits)",
              s_quote(s, n, q, sizeof q), 63 - frac, frac);
out:
    if (sig != stackbuf) free(sig);
    return r;
}

int mpc_value_parse(mpc_type t, unsigned frac, const char *s, size_t n, uint64_t *out,
                    char *err, size_t errlen)
{
    while (n > 0 && s_blank(*s)) { s++; n--; }
    while (n > 0 && s_blank(s[n - 1])) n--;
    if (n == 0) return mpc_errf(err, errlen, "empty value");
    switch (t) {
    case MPC_T_INT:  return s_parse_int(s, n, out, err, errlen);
    case MPC_T_BOOL: return s_parse_bool(s, n, out, err, errlen);
    case MPC_T_FIX:  return s_parse_fix(frac, s, n, out, err, errlen);
    default:         return mpc_errf(err, errlen, "unknown value type %d", (int)t);
    }
}

/* The whole file at path into a malloc'ed buffer of *cap bytes (*len of them read, *cap >
 * *len), sized from fstat so that a large file is read in one pass and never copied by
 * realloc; a file that grows while it is read is read to its end all the same.  0, or -1
 * with a message. */
static int s_read_file(const char *path, char **out, size_t *cap, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) return mpc_errf(err, errlen, "%s: %s", path, strerror(errno));
    struct stat st;
    size_t c = 4096, l = 0;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size < ((uint64_t)1 << 34))
        c = (size_t)st.st_size + 1;   /* + 1: the read that finds the end */
    char *buf = malloc(c);
    while (buf) {
        l += fread(buf + l, 1, c - l, f);
        if (l < c) break;
        char *nb = c > ((size_t)1 << 34) ? NULL : malloc(c * 2);
        if (nb) memcpy(nb, buf, l);
        explicit_bzero(buf, c);   /* secret text or values */
        free(buf);
        buf = nb;
        c *= 2;
    }
    int ioerr = ferror(f);
    fclose(f);
    if (!buf) return mpc_errf(err, errlen, "%s: file too large or out of memory", path);
    if (ioerr) {
        explicit_bzero(buf, c);   /* secret text or values */
        free(buf);
        return mpc_errf(err, errlen, "%s: read error", path);
    }
    *out = buf;
    *cap = c;
    *len = l;
    return 0;
}

/* Parses the list text[0..tlen-1] (from the file `path`, or NULL: given inline) into
 * out[0 .. cap-1]; elements past cap are parsed and checked all the same and counted in
 * *n, not stored.  0, or -1 with a message naming the file (or "value list") and the
 * element. */
static int s_parse_list(mpc_type t, unsigned frac, const char *text, size_t tlen, const char *path, uint64_t *out,
                        uint64_t cap, uint64_t *n_out, char *err, size_t errlen)
{
    const char *where = path ? path : "value list";
    char e2[200];
    uint64_t n = 0, extra;
    size_t i = 0;
    *n_out = 0;
    if (path) {   /* a file: a UTF-8 byte-order mark, then an optional header line (one name) */
        if (tlen >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) i = 3;
        size_t e = i;
        while (e < tlen && text[e] != '\n') e++;
        size_t a = i, b = e;
        while (a < b && s_blank(text[a])) a++;
        while (b > a && s_blank(text[b - 1])) b--;
        uint64_t probe;
        if (b > a && mpc_name_ok(text + a, b - a) && !(text[a] >= '0' && text[a] <= '9') &&
            mpc_value_parse(t, frac, text + a, b - a, &probe, e2, sizeof e2) != 0)
            i = e;   /* "x" or "glucose": a column header, not a value */
    }
    int need_elem = 0;   /* a comma was seen: an element must follow (or only blanks to the end) */
    while (i < tlen) {
        char ch = text[i];
        if (s_blank(ch)) { i++; continue; }
        if (ch == ',') {
            if (need_elem || n == 0)
                return mpc_errf(err, errlen, "%s: element %llu is empty", where, (unsigned long long)n + 1);
            need_elem = 1;
            i++;
            continue;
        }
        size_t st = i;
        while (i < tlen && text[i] != ',' && !s_blank(text[i])) i++;
        if (mpc_value_parse(t, frac, text + st, i - st, n < cap ? &out[n] : &extra, e2, sizeof e2) != 0)
            return mpc_errf(err, errlen, "%s: element %llu: %s", where, (unsigned long long)n + 1, e2);
        n++;
        need_elem = 0;
    }
    extra = 0;
    if (n == 0) return mpc_errf(err, errlen, "%s: no values", where);
    *n_out = n;
    return 0;
}

/* The text of spec: the file it names (*file, malloc'ed, *file_cap bytes, to wipe and free)
 * or spec itself. */
static int s_spec_text(const char *spec, const char **text, size_t *tlen, const char **path, char **file,
                       size_t *file_cap, char *err, size_t errlen)
{
    *file = NULL;
    *file_cap = 0;
    *path = NULL;
    if (spec[0] != '@') {
        *text = spec;
        *tlen = strlen(spec);
        return 0;
    }
    *path = spec + 1;
    if (s_read_file(*path, file, file_cap, tlen, err, errlen) != 0) return -1;
    *text = *file;
    return 0;
}

int mpc_values_load(mpc_type t, unsigned frac, const char *spec, uint64_t **out, uint64_t *n_out,
                    char *err, size_t errlen)
{
    const char *text, *path;
    char *file;
    size_t tlen = 0, file_cap;
    uint64_t *vals = NULL, n = 0, cap = 1;
    int r = -1;
    *out = NULL;
    *n_out = 0;
    if (s_spec_text(spec, &text, &tlen, &path, &file, &file_cap, err, errlen) != 0) return -1;
    /* Every element but the last ends at a comma or a blank: one pass over the text bounds
     * the count, so the array is allocated once and never copied (its values are secret). */
    for (size_t k = 0; k < tlen; k++) cap += text[k] == ',' || s_blank(text[k]);
    if (cap > SIZE_MAX / sizeof *vals || !(vals = malloc((size_t)cap * sizeof *vals))) {
        mpc_errf(err, errlen, "%s: out of memory", path ? path : "value list");
        goto out;
    }
    if (s_parse_list(t, frac, text, tlen, path, vals, cap, &n, err, errlen) != 0) goto out;
    *out = vals;
    *n_out = n;
    vals = NULL;
    r = 0;
out:
    if (vals) {   /* a failed load: the values parsed so far are as secret as the file */
        explicit_bzero(vals, (size_t)cap * sizeof *vals);
        free(vals);
    }
    if (file) {
        explicit_bzero(file, file_cap);   /* the secret text */
        free(file);
    }
    return r;
}

int mpc_values_load_into(mpc_type t, unsigned frac, const char *spec, uint64_t *out, uint64_t cap,
                         uint64_t *n_out, char *err, size_t errlen)
{
    const char *text, *path;
    char *file;
    size_t tlen = 0, file_cap;
    *n_out = 0;
    if (s_spec_text(spec, &text, &tlen, &path, &file, &file_cap, err, errlen) != 0) return -1;
    int r = s_parse_list(t, frac, text, tlen, path, out, cap, n_out, err, errlen);
    if (r != 0) explicit_bzero(out, (size_t)cap * sizeof *out);
    if (file) {
        explicit_bzero(file, file_cap);   /* the secret text */
        free(file);
    }
    return r;
}

static int s_put(char *buf, size_t len, const char *s, size_t n)
{
    if (n + 1 > len) return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    return (int)n;
}

/* Decimal digits of v into the end of tmp; returns the start. */
static char *s_udec(uint64_t v, char *end)
{
    *--end = 0;
    do { *--end = (char)('0' + v % 10); v /= 10; } while (v);
    return end;
}

static int s_format_fix(unsigned frac, uint64_t v, char *buf, size_t len)
{
    char tmp[96], ib[32];
    size_t k = 0;
    int neg = (v >> 63) != 0;
    uint64_t mag = neg ? 0 - v : v;            /* 2^63 stays 2^63 */
    uint64_t mask = frac ? (1ull << frac) - 1 : 0;
    uint64_t ip = frac ? mag >> frac : mag, f = mag & mask;
    if (neg && mag) tmp[k++] = '-';
    const char *is = s_udec(ip, ib + sizeof ib);
    size_t il = strlen(is);
    memcpy(tmp + k, is, il);
    k += il;
    if (f) {
        /* Shortest digits d_1..d_j such that 0.d_1..d_j lies within half an ulp of
         * f/2^frac (inclusive below, exclusive above: parsing rounds half up in magnitude).
         * After j digits f*10^j = D*2^frac + r; the candidates are D and D+1, at distances
         * r and 2^frac - r (in units of 2^-frac * 10^-j). */
        char dg[24];
        uint64_t r = f, one = 1ull << frac;
        unsigned j = 0;
        int up = 0;
        for (;;) {
            r *= 10;
            dg[j++] = (char)('0' + (r >> frac));
            r &= mask;
            uint64_t p = j < 20 ? s_pow10[j] : UINT64_MAX;
            int down_ok = 2 * r <= p;                 /* 2r <= 10^j */
            int up_ok = 2 * (one - r) < p;
            if (down_ok && up_ok) { up = (one - r) < r; break; }
            if (down_ok) { up = 0; break; }
            if (up_ok) { up = 1; break; }
            if (j >= 20) break;                        /* unreachable for frac <= 60 */
        }
        if (up) {   /* add one unit in the last place; never carries into the integer part */
            unsigned p = j;
            while (p > 0 && dg[p - 1] == '9') dg[--p] = '0';
            if (p > 0) dg[p - 1]++;
        }
        while (j > 0 && dg[j - 1] == '0') j--;
        if (j) {
            tmp[k++] = '.';
            memcpy(tmp + k, dg, j);
            k += j;
        }
    }
    return s_put(buf, len, tmp, k);
}

int mpc_value_format(mpc_type t, unsigned frac, uint64_t v, char *buf, size_t len)
{
    char ib[32];
    switch (t) {
    case MPC_T_BOOL:
    case MPC_T_INT: {
        /* A bool is 0 or 1; any other ring value (never produced by the evaluator) prints
         * as the int it is. */
        int neg = (v >> 63) != 0;
        char *s = s_udec(neg ? 0 - v : v, ib + sizeof ib);
        if (neg) *--s = '-';
        return s_put(buf, len, s, strlen(s));
    }
    case MPC_T_FIX:
        if (frac > S_MAX_FRAC) return -1;
        return s_format_fix(frac, v, buf, len);
    default:
        return -1;
    }
}

int mpc_values_fprint(FILE *f, mpc_type t, unsigned frac, const uint64_t *v, uint64_t n,
                      const char *sep)
{
    char b[64];
    for (uint64_t i = 0; i < n; i++) {
        if (mpc_value_format(t, frac, v[i], b, sizeof b) < 0) return -1;
        if ((i && fputs(sep, f) == EOF) || fputs(b, f) == EOF) return -1;
    }
    return ferror(f) ? -1 : 0;
}

double mpc_fix_to_double(uint64_t v, unsigned frac)
{
    int64_t s = (v >> 63) ? -(int64_t)(0 - v - 1) - 1 : (int64_t)v;
    return ldexp((double)s, -(int)frac);
}

uint64_t mpc_fix_from_double(double x, unsigned frac)
{
    double y = ldexp(x, (int)frac);
    if (!(y < 9223372036854775807.0)) return (uint64_t)INT64_MAX;   /* also NaN */
    if (y <= -9223372036854775808.0) return 1ull << 63;
    return (uint64_t)llround(y);
}
