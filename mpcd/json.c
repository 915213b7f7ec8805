/* json.c — see json.h. */
#include "json.h"

#include <stdio.h>
#include <string.h>

void mpcd_json_put(char *out, size_t cap, size_t *n, const char *src, size_t len)
{
    if (*n >= cap - 1) return;
    if (len > cap - 1 - *n) len = cap - 1 - *n;
    memcpy(out + *n, src, len);
    *n += len;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if the bytes there are not one
 * (overlong forms, surrogates and code points past U+10FFFF are not). */
static size_t s_utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    size_t len;
    unsigned cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07;
    else return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;   /* also stops at the terminating NUL */
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void mpcd_json_put_str(char *out, size_t cap, size_t *n, const char *s)
{
    mpcd_json_put(out, cap, n, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        char esc[8];
        size_t el = 0, adv = 1;
        const char *src = esc;
        switch (*p) {
        case '"': src = "\\\""; el = 2; break;
        case '\\': src = "\\\\"; el = 2; break;
        case '\n': src = "\\n"; el = 2; break;
        case '\r': src = "\\r"; el = 2; break;
        case '\t': src = "\\t"; el = 2; break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                el = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p);
            } else if (*p < 0x80) {
                src = (const char *)p;
                el = 1;
            } else if ((adv = s_utf8_len(p)) != 0) {
                src = (const char *)p;
                el = adv;
            } else {
                src = "\\ufffd";
                el = 6;
                adv = 1;
            }
        }
        if (*n + el + 1 > cap - 1) break;   /* room for the closing quote */
        mpcd_json_put(out, cap, n, src, el);
        p += adv;
    }
    mpcd_json_put(out, cap, n, "\"", 1);
}

/* ---- the builder -------------------------------------------------------------------- */

void mpcd_json_begin(mpcd_json *j, char *out, size_t cap)
{
    memset(j, 0, sizeof *j);
    j->out = out;
    j->cap = cap;
    j->first[0] = 1;
    mpcd_json_put(out, cap, &j->n, "{", 1);
}

/* The separator and the key of the next value. */
static void s_key(mpcd_json *j, const char *key)
{
    if (!j->first[j->depth]) mpcd_json_put(j->out, j->cap, &j->n, ",", 1);
    j->first[j->depth] = 0;
    if (key) {
        mpcd_json_put(j->out, j->cap, &j->n, "\"", 1);
        mpcd_json_put(j->out, j->cap, &j->n, key, strlen(key));
        mpcd_json_put(j->out, j->cap, &j->n, "\":", 2);
    }
    if (j->n + 2 >= j->cap) j->full = 1;
}

void mpcd_json_str(mpcd_json *j, const char *key, const char *v)
{
    s_key(j, key);
    mpcd_json_put_str(j->out, j->cap, &j->n, v);
    if (j->n + 2 >= j->cap) j->full = 1;
}

void mpcd_json_int(mpcd_json *j, const char *key, int64_t v)
{
    char t[24];
    int k = snprintf(t, sizeof t, "%lld", (long long)v);
    s_key(j, key);
    mpcd_json_put(j->out, j->cap, &j->n, t, (size_t)k);
    if (j->n + 2 >= j->cap) j->full = 1;
}

void mpcd_json_uint(mpcd_json *j, const char *key, uint64_t v)
{
    char t[24];
    int k = snprintf(t, sizeof t, "%llu", (unsigned long long)v);
    s_key(j, key);
    mpcd_json_put(j->out, j->cap, &j->n, t, (size_t)k);
    if (j->n + 2 >= j->cap) j->full = 1;
}

void mpcd_json_hex(mpcd_json *j, const char *key, const uint8_t *b, size_t len)
{
    static const char hx[] = "0123456789abcdef";
    s_key(j, key);
    mpcd_json_put(j->out, j->cap, &j->n, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        char two[2] = {hx[b[i] >> 4], hx[b[i] & 15]};
        mpcd_json_put(j->out, j->cap, &j->n, two, 2);
    }
    mpcd_json_put(j->out, j->cap, &j->n, "\"", 1);
    if (j->n + 2 >= j->cap) j->full = 1;
}

void mpcd_json_open(mpcd_json *j, const char *key, char bracket)
{
    s_key(j, key);
    mpcd_json_put(j->out, j->cap, &j->n, &bracket, 1);
    if (j->depth + 1 >= sizeof j->first) {
        j->full = 1;
        return;
    }
    j->first[++j->depth] = 1;
}

void mpcd_json_close(mpcd_json *j, char bracket)
{
    mpcd_json_put(j->out, j->cap, &j->n, &bracket, 1);
    if (j->depth > 0) j->depth--;
    if (j->n + 2 >= j->cap) j->full = 1;
}

size_t mpcd_json_end(mpcd_json *j)
{
    mpcd_json_put(j->out, j->cap, &j->n, "}", 1);
    if (j->full || j->depth != 0 || j->n + 1 >= j->cap) return 0;
    j->out[j->n] = '\0';
    return j->n;
}

/* ---- the reader --------------------------------------------------------------------- */

typedef struct {
    const char  *s;
    size_t       len, i;
    mpcd_json_fn fn;
    void        *ctx;
    char         path[256];
} s_rd;

static void s_blanks(s_rd *r)
{
    while (r->i < r->len && (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' ||
                             r->s[r->i] == '\r'))
        r->i++;
}

/* A string at r->i (its opening quote); leaves r->i past the closing one. */
static int s_string(s_rd *r, size_t *b, size_t *e)
{
    if (r->i >= r->len || r->s[r->i] != '"') return -1;
    *b = ++r->i;
    while (r->i < r->len) {
        unsigned char c = (unsigned char)r->s[r->i];
        if (c == '"') {
            *e = r->i++;
            return 0;
        }
        if (c < 0x20) return -1;
        if (c == '\\') {
            if (++r->i >= r->len) return -1;
            c = (unsigned char)r->s[r->i];
            if (c == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (r->i + (size_t)k >= r->len || !strchr("0123456789abcdefABCDEF", r->s[r->i + (size_t)k]))
                        return -1;
                r->i += 4;
            } else if (!strchr("\"\\/bfnrt", c)) {
                return -1;
            }
        }
        r->i++;
    }
    return -1;
}

static int s_value(s_rd *r, size_t plen, int depth);

/* Appends ".seg" (or "seg" at the top) to the path; the new length, or 0 if too long. */
static size_t s_push(s_rd *r, size_t plen, const char *seg, size_t slen)
{
    size_t need = plen + (plen ? 1 : 0) + slen;
    if (need >= sizeof r->path) return 0;
    if (plen) r->path[plen++] = '.';
    memcpy(r->path + plen, seg, slen);
    r->path[need] = '\0';
    return need;
}

static int s_container(s_rd *r, size_t plen, int depth, char close)
{
    r->i++;
    s_blanks(r);
    if (r->i < r->len && r->s[r->i] == close) {
        r->i++;
        return 0;
    }
    for (unsigned k = 0;; k++) {
        size_t np;
        if (close == '}') {
            size_t b, e;
            if (s_string(r, &b, &e) != 0) return -1;
            s_blanks(r);
            if (r->i >= r->len || r->s[r->i++] != ':') return -1;
            if (!(np = s_push(r, plen, r->s + b, e - b)) && e > b) return -1;
        } else {
            char idx[12];
            int m = snprintf(idx, sizeof idx, "%u", k);
            if (!(np = s_push(r, plen, idx, (size_t)m))) return -1;
        }
        s_blanks(r);
        if (s_value(r, np, depth + 1) != 0) return -1;
        r->path[plen] = '\0';
        s_blanks(r);
        if (r->i >= r->len) return -1;
        char c = r->s[r->i++];
        if (c == close) return 0;
        if (c != ',') return -1;
        s_blanks(r);
    }
}

static int s_value(s_rd *r, size_t plen, int depth)
{
    if (depth > 16 || r->i >= r->len) return -1;
    char c = r->s[r->i];
    if (c == '{') return s_container(r, plen, depth, '}');
    if (c == '[') return s_container(r, plen, depth, ']');
    size_t b, e;
    if (c == '"') {
        if (s_string(r, &b, &e) != 0) return -1;
        if (r->fn) r->fn(r->ctx, r->path, r->s + b, e - b, 1);
        return 0;
    }
    b = r->i;
    while (r->i < r->len && strchr("0123456789+-.eEtruefalsn", r->s[r->i])) r->i++;
    e = r->i;
    if (e == b) return -1;
    size_t l = e - b;
    int word = (l == 4 && !memcmp(r->s + b, "true", 4)) || (l == 5 && !memcmp(r->s + b, "false", 5)) ||
               (l == 4 && !memcmp(r->s + b, "null", 4));
    if (!word) {
        for (size_t k = b; k < e; k++)
            if (!strchr("0123456789+-.eE", r->s[k])) return -1;
    }
    if (r->fn) r->fn(r->ctx, r->path, r->s + b, l, 0);
    return 0;
}

int mpcd_json_walk(const char *s, size_t len, mpcd_json_fn fn, void *ctx, size_t *at)
{
    s_rd r = {.s = s, .len = len, .fn = fn, .ctx = ctx};
    s_blanks(&r);
    int rc = s_value(&r, 0, 0);
    if (rc == 0) {
        s_blanks(&r);
        if (r.i != len) rc = -1;
    }
    if (rc != 0 && at) *at = r.i;
    return rc;
}

size_t mpcd_json_span(const char *s, size_t len)
{
    s_rd r = {.s = s, .len = len};
    return s_value(&r, 0, 0) == 0 ? r.i : 0;
}
