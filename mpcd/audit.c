/* audit.c — see audit.h; the format and its checks are described in docs/governance.md. */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "diag.h"
#include "mpc_err.h"

#define S_MAX_COSIG 32

static const char S_DOM_RECORD[] = "mpcd audit record v1\n";
static const char S_DOM_STMT[] = "mpcd audit statement v1\n";
static const char S_DOM_HEAD[] = "mpcd audit head v1\n";

struct mpcd_audit {
    pthread_mutex_t mu;
    int             fd;
    char            path[1024], head[1040];
    char            party[MPC_NAME_MAX];
    unsigned char  *sk;                       /* sodium_malloc: the 64-byte Ed25519 key */
    uint8_t         pub[32];
    uint64_t        seq;                      /* records in the log */
    uint8_t         last[MPCD_AUDIT_HASH_BYTES];   /* hash of the last record (zeros: none) */
    char           *line;                     /* MPCD_AUDIT_LINE_MAX bytes to build a record */
    int             head_advanced;            /* the open found the head one record behind */
};

/* A record parsed in place. */
typedef struct {
    uint64_t         seq;
    uint8_t          prev[MPCD_AUDIT_HASH_BYTES];
    char             party[MPC_NAME_MAX];
    const char      *local, *stmt;
    size_t           local_len, stmt_len;
    uint32_t         n_cs;
    mpcd_audit_cosig cs[S_MAX_COSIG];
    uint8_t          sig[MPCD_AUDIT_SIG_BYTES];
    size_t           signed_len;              /* bytes the party's signature covers */
} s_rec;

/* ---- signing ------------------------------------------------------------------------ */

static void s_sign(const unsigned char *sk, const char *dom, const void *msg, size_t len,
                   uint8_t sig[MPCD_AUDIT_SIG_BYTES])
{
    crypto_sign_state st;
    crypto_sign_init(&st);
    crypto_sign_update(&st, (const unsigned char *)dom, strlen(dom));
    crypto_sign_update(&st, msg, len);
    crypto_sign_final_create(&st, sig, NULL, sk);
}

static int s_check(const uint8_t pub[32], const char *dom, const void *msg, size_t len,
                   const uint8_t sig[MPCD_AUDIT_SIG_BYTES])
{
    crypto_sign_state st;
    crypto_sign_init(&st);
    crypto_sign_update(&st, (const unsigned char *)dom, strlen(dom));
    crypto_sign_update(&st, msg, len);
    return crypto_sign_final_verify(&st, sig, pub) == 0;
}

void mpcd_audit_cosign(const mpcd_audit *a, const char *stmt, size_t len, mpcd_audit_cosig *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->party, sizeof out->party, "%s", a->party);
    s_sign(a->sk, S_DOM_STMT, stmt, len, out->sig);
}

int mpcd_audit_cosig_ok(const uint8_t pub[32], const char *stmt, size_t len,
                        const uint8_t sig[MPCD_AUDIT_SIG_BYTES])
{
    return s_check(pub, S_DOM_STMT, stmt, len, sig);
}

/* The head's signed bytes: the record count and the last record's hash. */
static void s_head_msg(uint64_t seq, const uint8_t hash[32], uint8_t msg[40])
{
    for (int i = 0; i < 8; i++) msg[i] = (uint8_t)(seq >> (8 * i));
    memcpy(msg + 8, hash, 32);
}

/* ---- parsing ------------------------------------------------------------------------ */

static int s_lit(const char **p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0) return -1;
    *p += n;
    return 0;
}

static int s_hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Exactly 2n lower-case hex digits. */
static int s_hex(const char **p, const char *end, uint8_t *out, size_t n)
{
    if ((size_t)(end - *p) < 2 * n) return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = s_hexval((*p)[2 * i]), lo = s_hexval((*p)[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *p += 2 * n;
    return 0;
}

static int s_uint(const char **p, const char *end, uint64_t *v)
{
    const char *q = *p;
    uint64_t x = 0;
    if (q >= end || *q < '0' || *q > '9' || (*q == '0' && q + 1 < end && q[1] >= '0' && q[1] <= '9'))
        return -1;
    for (; q < end && *q >= '0' && *q <= '9'; q++) {
        if (x > (UINT64_MAX - 9) / 10) return -1;
        x = x * 10 + (uint64_t)(*q - '0');
    }
    *v = x;
    *p = q;
    return 0;
}

/* A quoted party name ("..." of name characters). */
static int s_name(const char **p, const char *end, char out[MPC_NAME_MAX])
{
    if (s_lit(p, end, "\"") != 0) return -1;
    size_t n = 0;
    while (*p < end && **p != '"') {
        char c = **p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.') || n + 1 >= MPC_NAME_MAX)
            return -1;
        out[n++] = c;
        (*p)++;
    }
    out[n] = '\0';
    return n == 0 ? -1 : s_lit(p, end, "\"");
}

/* A JSON object; sets its start and length. */
static int s_obj(const char **p, const char *end, const char **s, size_t *len)
{
    if (*p >= end || **p != '{') return -1;
    size_t n = mpcd_json_span(*p, (size_t)(end - *p));
    if (n == 0 || mpcd_json_walk(*p, n, NULL, NULL, NULL) != 0) return -1;
    *s = *p;
    *len = n;
    *p += n;
    return 0;
}

/* Parses one record (without its newline) in the exact layout the writer makes. */
static int s_parse(const char *line, size_t len, s_rec *r, const char **why)
{
    const char *p = line, *end = line + len;
    memset(r, 0, sizeof *r);
    *why = "not a record of this format";
    if (s_lit(&p, end, "{\"v\":1,\"seq\":") || s_uint(&p, end, &r->seq) || s_lit(&p, end, ",\"prev\":\"") ||
        s_hex(&p, end, r->prev, 32) || s_lit(&p, end, "\",\"party\":") || s_name(&p, end, r->party) ||
        s_lit(&p, end, ",\"local\":") || s_obj(&p, end, &r->local, &r->local_len) ||
        s_lit(&p, end, ",\"stmt\":") || s_obj(&p, end, &r->stmt, &r->stmt_len) || s_lit(&p, end, ",\"cosig\":{"))
        return -1;
    while (p < end && *p != '}') {
        if (r->n_cs > 0 && s_lit(&p, end, ",") != 0) return -1;
        if (r->n_cs == S_MAX_COSIG) return (*why = "too many co-signatures"), -1;
        mpcd_audit_cosig *c = &r->cs[r->n_cs];
        if (s_name(&p, end, c->party) || s_lit(&p, end, ":\"") || s_hex(&p, end, c->sig, 64) ||
            s_lit(&p, end, "\""))
            return -1;
        for (uint32_t k = 0; k < r->n_cs; k++)
            if (!strcmp(r->cs[k].party, c->party)) return (*why = "a party co-signs twice"), -1;
        r->n_cs++;
    }
    if (s_lit(&p, end, "}")) return -1;
    r->signed_len = (size_t)(p - line);
    if (s_lit(&p, end, ",\"sig\":\"") || s_hex(&p, end, r->sig, 64) || s_lit(&p, end, "\"}") || p != end)
        return -1;
    return 0;
}

/* ---- the head file ------------------------------------------------------------------ */

static int s_read_head(const char *path, uint64_t *seq, uint8_t hash[32], uint8_t sig[64])
{
    char buf[512];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return errno == ENOENT ? 1 : -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    const char *p = buf, *end = buf + n;
    if (end[-1] != '\n') return -1;
    end--;
    if (s_lit(&p, end, "{\"seq\":") || s_uint(&p, end, seq) || s_lit(&p, end, ",\"hash\":\"") ||
        s_hex(&p, end, hash, 32) || s_lit(&p, end, "\",\"sig\":\"") || s_hex(&p, end, sig, 64) ||
        s_lit(&p, end, "\"}") || p != end)
        return -1;
    return 0;
}

static void s_hexstr(char *out, const uint8_t *b, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[b[i] >> 4];
        out[2 * i + 1] = hx[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Replaces the head file atomically (write a temporary, fsync, rename). */
static int s_write_head(mpcd_audit *a, char *err, size_t errlen)
{
    uint8_t msg[40], sig[64];
    s_head_msg(a->seq, a->last, msg);
    s_sign(a->sk, S_DOM_HEAD, msg, sizeof msg, sig);
    char h[65], s[129], text[300], tmp[1060];
    s_hexstr(h, a->last, 32);
    s_hexstr(s, sig, 64);
    int n = snprintf(text, sizeof text, "{\"seq\":%llu,\"hash\":\"%s\",\"sig\":\"%s\"}\n",
                     (unsigned long long)a->seq, h, s);
    snprintf(tmp, sizeof tmp, "%s.tmp", a->head);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return mpc_errf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno)), MPC_ERR_IO;
    int ok = write(fd, text, (size_t)n) == n && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, a->head) != 0) {
        mpc_errf(err, errlen, "%s: cannot write: %s", a->head, strerror(errno));
        unlink(tmp);
        return MPC_ERR_IO;
    }
    return 0;
}

/* ---- opening and appending ---------------------------------------------------------- */

/* Reads the last record of an open log of `size` bytes into buf (MPCD_AUDIT_LINE_MAX + 1);
 * sets *len.  0, or -1 with *why. */
static int s_last_line(int fd, off_t size, char *buf, size_t *len, const char **why)
{
    size_t want = size < (off_t)MPCD_AUDIT_LINE_MAX + 1 ? (size_t)size : MPCD_AUDIT_LINE_MAX + 1;
    if (pread(fd, buf, want, size - (off_t)want) != (ssize_t)want) return (*why = "cannot be read"), -1;
    if (buf[want - 1] != '\n') return (*why = "ends in the middle of a record (cut short?)"), -1;
    size_t b = want - 1;
    while (b > 0 && buf[b - 1] != '\n') b--;
    if (b == 0 && want < (size_t)size) return (*why = "ends in a record longer than the limit"), -1;
    memmove(buf, buf + b, want - 1 - b);
    *len = want - 1 - b;
    return 0;
}

static int s_load_tail(mpcd_audit *a, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(a->fd, &st) != 0) return mpc_errf(err, errlen, "%s: %s", a->path, strerror(errno)), MPC_ERR_IO;
    uint64_t hseq;
    uint8_t hhash[32], hsig[64], msg[40];
    int h = s_read_head(a->head, &hseq, hhash, hsig);
    if (st.st_size == 0) {
        if (h == 0 && hseq != 0)
            return mpc_errf(err, errlen, "%s is empty but %s names %llu records: the log was emptied",
                         a->path, a->head, (unsigned long long)hseq), MPC_ERR_STATE;
        return 0;
    }
    const char *why = NULL;
    size_t len = 0;
    s_rec r;
    if (s_last_line(a->fd, st.st_size, a->line, &len, &why) != 0 || s_parse(a->line, len, &r, &why) != 0)
        return mpc_errf(err, errlen, "%s: its last record %s; run `mpcd audit verify`", a->path, why), MPC_ERR_STATE;
    if (strcmp(r.party, a->party) != 0 || !s_check(a->pub, S_DOM_RECORD, a->line, r.signed_len, r.sig))
        return mpc_errf(err, errlen, "%s: its last record is not signed by this party's audit key", a->path),
               MPC_ERR_STATE;
    a->seq = r.seq;
    crypto_generichash(a->last, 32, (const unsigned char *)a->line, len, NULL, 0);
    static const uint8_t genesis[32];   /* the first record's prev */
    if (h > 0 && a->seq == 1 && !sodium_memcmp(r.prev, genesis, 32)) {
        /* The same crash at the first record: its head file was never made.  The record is
         * this party's, signed and the first: nothing is missing; make the head. */
        a->head_advanced = 1;
        return s_write_head(a, err, errlen);
    }
    if (h != 0)
        return mpc_errf(err, errlen, "%s: %s the log's head file %s", a->path,
                     h > 0 ? "missing" : "unreadable", a->head), MPC_ERR_STATE;
    s_head_msg(hseq, hhash, msg);
    int signed_head = s_check(a->pub, S_DOM_HEAD, msg, sizeof msg, hsig);
    if (signed_head && hseq + 1 == a->seq && !sodium_memcmp(hhash, r.prev, 32)) {
        /* A crash between a record's fsync and its head's rename: the record is this party's,
         * signed, and follows the head's last record, so the head is only behind (no record is
         * missing).  Advance it and go on (docs/governance.md, "The audit log"). */
        a->head_advanced = 1;
        return s_write_head(a, err, errlen);
    }
    if (!signed_head || hseq != a->seq || sodium_memcmp(hhash, a->last, 32))
        return mpc_errf(err, errlen, "%s: the log (%llu records) does not match its head file %s (%llu records)",
                     a->path, (unsigned long long)a->seq, a->head, (unsigned long long)hseq), MPC_ERR_STATE;
    return 0;
}

int mpcd_audit_open(mpcd_audit **out, const char *path, const char *party, const mpc_keypair *kp,
                    char *err, size_t errlen)
{
    *out = NULL;
    if (!path || !party || !kp || strlen(path) >= 1024 || strlen(party) >= MPC_NAME_MAX)
        return mpc_errf(err, errlen, "audit log: bad arguments"), MPC_ERR_INVALID;
    mpcd_audit *a = calloc(1, sizeof *a);
    if (!a) return mpc_errf(err, errlen, "out of memory"), MPC_ERR_NOMEM;
    a->fd = -1;
    pthread_mutex_init(&a->mu, NULL);
    snprintf(a->path, sizeof a->path, "%s", path);
    snprintf(a->head, sizeof a->head, "%s.head", path);
    snprintf(a->party, sizeof a->party, "%s", party);
    a->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
    a->line = malloc(MPCD_AUDIT_LINE_MAX + 1);
    int rc = MPC_ERR_NOMEM;
    if (!a->sk || !a->line) {
        mpc_errf(err, errlen, "out of memory");
        goto fail;
    }
    crypto_sign_seed_keypair(a->pub, a->sk, mpc_keypair_secret(kp));
    if (sodium_memcmp(a->pub, mpc_keypair_public(kp), 32) != 0) {
        rc = MPC_ERR_INVALID;
        mpc_errf(err, errlen, "audit log: the key given is not an audit (signing) key");
        goto fail;
    }
    a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (a->fd < 0) {
        rc = MPC_ERR_IO;
        mpc_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    if ((rc = s_load_tail(a, err, errlen)) != 0) goto fail;
    *out = a;
    return 0;
fail:
    mpcd_audit_close(&a);
    return rc;
}

void mpcd_audit_close(mpcd_audit **ap)
{
    mpcd_audit *a = ap ? *ap : NULL;
    if (!a) return;
    if (a->fd >= 0) close(a->fd);
    if (a->sk) {
        sodium_memzero(a->sk, crypto_sign_SECRETKEYBYTES);
        sodium_free(a->sk);
    }
    free(a->line);
    pthread_mutex_destroy(&a->mu);
    free(a);
    *ap = NULL;
}

void mpcd_audit_own_public(const mpcd_audit *a, uint8_t pub[32])
{
    memcpy(pub, a->pub, 32);
}

uint64_t mpcd_audit_seq(const mpcd_audit *a)
{
    return a->seq;
}

/* Builds the record for seq a->seq + 1 in a->line; its length, or 0 if it does not fit. */
static size_t s_build(mpcd_audit *a, const char *local, const char *stmt, const mpcd_audit_cosig *cs,
                      uint32_t n_cs, const mpcd_audit_cosig *own)
{
    char prev[65], hx[129];
    s_hexstr(prev, a->last, 32);
    size_t cap = MPCD_AUDIT_LINE_MAX - 140, n = 0;   /* room for the signature and newline */
    int k = snprintf(a->line, cap, "{\"v\":1,\"seq\":%llu,\"prev\":\"%s\",\"party\":\"%s\",\"local\":",
                     (unsigned long long)a->seq + 1, prev, a->party);
    n = (size_t)k;
    mpcd_json_put(a->line, cap, &n, local, strlen(local));
    mpcd_json_put(a->line, cap, &n, ",\"stmt\":", 8);
    mpcd_json_put(a->line, cap, &n, stmt, strlen(stmt));
    mpcd_json_put(a->line, cap, &n, ",\"cosig\":{", 10);
    for (uint32_t i = 0; i <= n_cs; i++) {
        const mpcd_audit_cosig *c = i < n_cs ? &cs[i] : own;
        if (!c) continue;
        if (i > 0) mpcd_json_put(a->line, cap, &n, ",", 1);
        s_hexstr(hx, c->sig, 64);
        mpcd_json_put(a->line, cap, &n, "\"", 1);
        mpcd_json_put(a->line, cap, &n, c->party, strlen(c->party));
        mpcd_json_put(a->line, cap, &n, "\":\"", 3);
        mpcd_json_put(a->line, cap, &n, hx, 128);
        mpcd_json_put(a->line, cap, &n, "\"", 1);
    }
    mpcd_json_put(a->line, cap, &n, "}", 1);
    if (n + 1 >= cap - 1) return 0;
    uint8_t sig[64];
    s_sign(a->sk, S_DOM_RECORD, a->line, n, sig);
    s_hexstr(hx, sig, 64);
    n += (size_t)snprintf(a->line + n, MPCD_AUDIT_LINE_MAX - n, ",\"sig\":\"%s\"}", hx);
    return n;
}

int mpcd_audit_head_advanced(const mpcd_audit *a)
{
    return a && a->head_advanced;
}

int mpcd_audit_append(mpcd_audit *a, const char *local, const char *stmt, const mpcd_audit_cosig *cs,
                      uint32_t n_cs, char *err, size_t errlen)
{
    size_t ll = strlen(local), sl = strlen(stmt);
    if (n_cs >= S_MAX_COSIG || mpcd_json_span(local, ll) != ll || mpcd_json_span(stmt, sl) != sl ||
        local[0] != '{' || stmt[0] != '{')
        return mpc_errf(err, errlen, "audit record: malformed fields"), MPC_ERR_INVALID;
    mpcd_audit_cosig own_sig;
    const mpcd_audit_cosig *own = &own_sig;
    for (uint32_t i = 0; i < n_cs; i++)
        if (!strcmp(cs[i].party, a->party)) own = NULL;
    if (own) mpcd_audit_cosign(a, stmt, sl, &own_sig);
    pthread_mutex_lock(&a->mu);
    int rc = 0;
    size_t n = s_build(a, local, stmt, cs, n_cs, own);
    if (n == 0) {
        rc = MPC_ERR_LIMIT;
        mpc_errf(err, errlen, "audit record: longer than %u bytes", MPCD_AUDIT_LINE_MAX);
        goto out;
    }
    a->line[n] = '\n';
    ssize_t w = write(a->fd, a->line, n + 1);
    if (w != (ssize_t)(n + 1) || fsync(a->fd) != 0) {
        rc = MPC_ERR_IO;
        mpc_errf(err, errlen, "%s: cannot append: %s", a->path, w < 0 ? strerror(errno) : "short write");
        if (w > 0 && ftruncate(a->fd, lseek(a->fd, 0, SEEK_END) - w) != 0) { /* leave it to verify */ }
        goto out;
    }
    a->seq++;
    crypto_generichash(a->last, 32, (const unsigned char *)a->line, n, NULL, 0);
    rc = s_write_head(a, err, errlen);
out:
    pthread_mutex_unlock(&a->mu);
    return rc;
}

/* ---- verifying and showing ---------------------------------------------------------- */

static const mpcd_audit_key *s_key_of(const mpcd_audit_key *keys, uint32_t n, const char *party)
{
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(keys[i].party, party)) return &keys[i];
    return NULL;
}

/* Reads the next line (newline removed) into *buf; its length, -1 at the end, -2 for a last
 * line without its newline, -3 for one longer than the limit. */
static ssize_t s_getline(FILE *f, char **buf, size_t *cap)
{
    ssize_t n = getline(buf, cap, f);
    if (n < 0) return -1;
    if ((size_t)n > MPCD_AUDIT_LINE_MAX) return -3;
    if ((*buf)[n - 1] != '\n') return -2;
    (*buf)[--n] = '\0';
    return n;
}

/* Checks one record against the chain so far and the keys; NULL or what is wrong (in why[]). */
static const char *s_verify_one(const s_rec *r, uint64_t want_seq, const uint8_t prev[32], const char *self,
                                const char *line, const mpcd_audit_key *keys, uint32_t n_keys, char *why,
                                size_t whylen)
{
    const mpcd_audit_key *own = s_key_of(keys, n_keys, self);
    if (r->seq != want_seq)
        return snprintf(why, whylen, "its number is %llu, not %llu (records removed or moved)",
                        (unsigned long long)r->seq, (unsigned long long)want_seq), why;
    if (sodium_memcmp(r->prev, prev, 32) != 0)
        return "it does not hold the hash of the record before it (a record before it was changed, "
               "removed or moved)";
    if (strcmp(r->party, self) != 0)
        return snprintf(why, whylen, "it is party %s's record, not %s's", r->party, self), why;
    if (!own || !s_check(own->pub, S_DOM_RECORD, line, r->signed_len, r->sig))
        return "its signature does not match its contents (the record was edited)";
    int own_cosig = 0;
    for (uint32_t i = 0; i < r->n_cs; i++) {
        const mpcd_audit_key *k = s_key_of(keys, n_keys, r->cs[i].party);
        if (!k) return snprintf(why, whylen, "it holds a co-signature of %s, a party with no key here", r->cs[i].party), why;
        if (!s_check(k->pub, S_DOM_STMT, r->stmt, r->stmt_len, r->cs[i].sig))
            return snprintf(why, whylen, "%s's co-signature does not match the statement", r->cs[i].party), why;
        own_cosig |= !strcmp(r->cs[i].party, self);
    }
    if (!own_cosig) return "the party did not co-sign its own statement";
    return NULL;
}

/* The head check after the last record; NULL or the problem. */
static const char *s_verify_head(const char *path, const uint8_t pub[32], uint64_t seq, const uint8_t last[32],
                                 const uint8_t before[32], int *behind, char *why, size_t whylen)
{
    char head[1040];
    snprintf(head, sizeof head, "%s.head", path);
    uint64_t hseq;
    uint8_t hhash[32], hsig[64], msg[40];
    int h = s_read_head(head, &hseq, hhash, hsig);
    if (h > 0 && seq == 0) return NULL;   /* a log no record was ever written to */
    static const uint8_t genesis[32];
    if (h > 0 && seq == 1 && sodium_memcmp(before, genesis, 32) == 0) {
        *behind = 1;   /* a crash before the first record's head was made */
        return NULL;
    }
    if (h != 0)
        return snprintf(why, whylen, "its head file (%.200s) is %s", head, h > 0 ? "missing" : "malformed"), why;
    s_head_msg(hseq, hhash, msg);
    if (!s_check(pub, S_DOM_HEAD, msg, sizeof msg, hsig))
        return snprintf(why, whylen, "its head file (%.200s) is not signed by this party", head), why;
    if (hseq > seq)
        return snprintf(why, whylen, "the log ends at record %llu but its head file names %llu records: "
                        "records were removed from the end", (unsigned long long)seq, (unsigned long long)hseq), why;
    *behind = seq && hseq + 1 == seq && sodium_memcmp(hhash, before, 32) == 0;   /* a crash before the rename */
    if (*behind) return NULL;
    if (hseq != seq || sodium_memcmp(hhash, last, 32) != 0)
        return snprintf(why, whylen, "the head file names record %llu with another hash than the log's last "
                        "record %llu", (unsigned long long)hseq, (unsigned long long)seq), why;
    return NULL;
}

int mpcd_audit_verify(const char *path, const char *self, const mpcd_audit_key *keys, uint32_t n_keys,
                      FILE *out)
{
    FILE *f = fopen(path, "re");
    if (!f) return fprintf(out, "%s: error: cannot open: %s\n", path, strerror(errno)), -1;
    const mpcd_audit_key *own = s_key_of(keys, n_keys, self);
    if (!own) {
        fclose(f);
        return fprintf(out, "%s: error: no audit key for party %s\n", path, self), -1;
    }
    char *line = NULL, why[256];
    size_t cap = 0;
    uint8_t prev[32] = {0}, before[32] = {0};
    uint64_t n = 0, partial = 0;
    int behind = 0;
    s_rec *r = malloc(sizeof *r);
    const char *bad = r ? NULL : "out of memory";
    ssize_t len;
    while (!bad && (len = s_getline(f, &line, &cap)) != -1) {
        const char *pw = NULL;
        if (len == -2) bad = "it is cut short (no end of line: the file was truncated)";
        else if (len == -3) bad = "it is longer than the limit";
        else if (s_parse(line, (size_t)len, r, &pw) != 0) bad = pw;
        else bad = s_verify_one(r, n + 1, prev, self, line, keys, n_keys, why, sizeof why);
        if (bad) break;
        n++;
        partial += r->n_cs < n_keys;
        memcpy(before, prev, 32);
        crypto_generichash(prev, 32, (const unsigned char *)line, (size_t)len, NULL, 0);
    }
    int rc = 0;
    if (bad) {
        fprintf(out, "%s: record %llu: error: %s\n", path, (unsigned long long)n + 1, bad);
        rc = 1;
    } else if ((bad = s_verify_head(path, own->pub, n, prev, before, &behind, why, sizeof why)) != NULL) {
        fprintf(out, "%s: error: %s\n", path, bad);
        rc = 1;
    } else {
        fprintf(out, "%s: %llu records of party %s intact: chain, signatures, co-signatures and head checked",
                path, (unsigned long long)n, self);
        if (partial) fprintf(out, "; %llu of them lack some party's co-signature", (unsigned long long)partial);
        if (behind)
            fprintf(out, "; the head file names record %llu, one behind (a crash between the last record and its "
                    "head: the daemon advances it when it starts)", (unsigned long long)n - 1);   /* 0: none yet */
        fprintf(out, "\n");
    }
    free(r);
    free(line);
    fclose(f);
    return rc;
}

typedef struct {
    FILE       *out;
    const char *prefix;
} s_show;

static void s_show_field(void *ctx, const char *path, const char *val, size_t vlen, int is_str)
{
    (void)is_str;
    s_show *s = ctx;
    fprintf(s->out, "  %s.%s: %.*s\n", s->prefix, path, (int)vlen, val);
}

int mpcd_audit_show(const char *path, int json, FILE *out)
{
    FILE *f = fopen(path, "re");
    if (!f) return fprintf(stderr, "%s: error: cannot open: %s\n", path, strerror(errno)), -1;
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    s_rec *r = malloc(sizeof *r);
    ssize_t len;
    for (uint64_t k = 1; r && (len = s_getline(f, &line, &cap)) != -1; k++) {
        const char *why = "cut short or too long";
        if (len < 0 || s_parse(line, (size_t)len, r, &why) != 0) {
            fprintf(stderr, "%s: record %llu: error: %s\n", path, (unsigned long long)k, why);
            rc = 1;
            break;
        }
        if (json) {
            fprintf(out, "%s\n", line);
            continue;
        }
        fprintf(out, "record %llu (party %s)\n", (unsigned long long)r->seq, r->party);
        s_show sh = {out, "local"};
        mpcd_json_walk(r->local, r->local_len, s_show_field, &sh, NULL);
        sh.prefix = "stmt";
        mpcd_json_walk(r->stmt, r->stmt_len, s_show_field, &sh, NULL);
        fprintf(out, "  co-signed by:");
        for (uint32_t i = 0; i < r->n_cs; i++) fprintf(out, " %s", r->cs[i].party);
        fprintf(out, "\n");
    }
    if (!r) rc = -1;
    free(r);
    free(line);
    fclose(f);
    return rc;
}
