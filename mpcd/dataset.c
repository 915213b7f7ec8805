/* dataset.c — the encrypted share store of the datasets (dataset.h, docs/datasets.md). */
#include "dataset.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "mpc_err.h"

#define S_META_MAGIC "MPCDSM1\n"
#define S_SEG_MAGIC  "MPCDSS1\n"
#define S_MAGIC_LEN  8
#define S_REC_VERSION 1
#define S_REC_MAX    16384          /* the largest record body */
#define S_PATH_MAX   1024
#define S_SS         crypto_secretstream_xchacha20poly1305_ABYTES
#define S_HDR        crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define S_AD_LEN     (16 + 4 + 8)

struct mpcd_ds_store {
    char             dir[600];
    uint8_t         *key;           /* sodium_malloc: the data key */
    pthread_rwlock_t lock;          /* readers: loads and lists; writer: commits and deletes */
};

struct mpcd_ds_writer {
    mpcd_ds_store *s;
    mpcd_ds_meta   m;               /* the record as it will be after commit */
    uint64_t       old_gen;         /* replace: the generation to wipe after commit */
    uint32_t       old_segs;
    int            replace, had_old;
    uint32_t       seg;             /* this segment's index */
    uint64_t       chunk, rows;
    FILE          *f;
    char           tmp[S_PATH_MAX], final[S_PATH_MAX];
    crypto_secretstream_xchacha20poly1305_state st;
};

int mpcd_ds_name_ok(const char *s)
{
    return mpc_name_ok_str(s);
}

const char *mpcd_ds_dir(const mpcd_ds_store *s)
{
    return s->dir;
}

/* ---- the data key ---- */

static int s_key_read(const char *path, uint8_t *key, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return mpc_errc(err, errlen, MPC_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return mpc_errc(err, errlen, MPC_ERR_CONFIG, "%s: not a regular file", path);
    }
    if (sb.st_mode & 077) {
        close(fd);
        return mpc_errc(err, errlen, MPC_ERR_CONFIG, "%s: the data key file must not be accessible to group or others "
                     "(chmod 600)", path);
    }
    char *hex = sodium_malloc(130);
    if (!hex) {
        close(fd);
        return mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory");
    }
    ssize_t n = read(fd, hex, 129);
    close(fd);
    int rc = 0;
    size_t len = n > 0 ? (size_t)n : 0;
    while (len && (hex[len - 1] == '\n' || hex[len - 1] == '\r')) len--;
    size_t got = 0;
    if (len != 2 * MPCD_DS_KEY_BYTES ||
        sodium_hex2bin(key, MPCD_DS_KEY_BYTES, hex, len, NULL, &got, NULL) != 0 || got != MPCD_DS_KEY_BYTES)
        rc = mpc_errc(err, errlen, MPC_ERR_CONFIG, "%s: not a data key (64 hex digits expected)", path);
    sodium_memzero(hex, 130);
    sodium_free(hex);
    return rc;
}

static int s_key_make(const char *path, uint8_t *key, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return mpc_errc(err, errlen, MPC_ERR_IO, "%s: cannot create the data key: %s", path, strerror(errno));
    char *hex = sodium_malloc(2 * MPCD_DS_KEY_BYTES + 2);
    if (!hex) {
        close(fd);
        unlink(path);
        return mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory");
    }
    randombytes_buf(key, MPCD_DS_KEY_BYTES);
    sodium_bin2hex(hex, 2 * MPCD_DS_KEY_BYTES + 1, key, MPCD_DS_KEY_BYTES);
    hex[2 * MPCD_DS_KEY_BYTES] = '\n';
    int ok = write(fd, hex, 2 * MPCD_DS_KEY_BYTES + 1) == 2 * MPCD_DS_KEY_BYTES + 1 && fsync(fd) == 0;
    sodium_memzero(hex, 2 * MPCD_DS_KEY_BYTES + 2);
    sodium_free(hex);
    if (close(fd) != 0) ok = 0;
    if (!ok) {
        unlink(path);
        return mpc_errc(err, errlen, MPC_ERR_IO, "%s: cannot write the data key", path);
    }
    return 0;
}

static int s_wipe_file(const char *path);

/* Uploads a previous run left unfinished (NAME.gG.sK.tmp, NAME.meta.tmp): wiped. */
static void s_drop_tmp(mpcd_ds_store *s)
{
    DIR *d = opendir(s->dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n > 4 && !strcmp(de->d_name + n - 4, ".tmp")) {
            char p[S_PATH_MAX];
            snprintf(p, sizeof p, "%s/%.255s", s->dir, de->d_name);
            s_wipe_file(p);
        }
    }
    closedir(d);
}

int mpcd_ds_store_open(const char *state_dir, const char *key_file, mpcd_ds_store **out, int *created,
                       char *err, size_t errlen)
{
    *out = NULL;
    if (created) *created = 0;
    mpcd_ds_store *s = calloc(1, sizeof *s);
    if (!s) return mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory");
    if ((size_t)snprintf(s->dir, sizeof s->dir, "%s/datasets", state_dir) >= sizeof s->dir) {
        free(s);
        return mpc_errc(err, errlen, MPC_ERR_CONFIG, "state_dir is too long");
    }
    if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        free(s);
        return mpc_errc(err, errlen, MPC_ERR_IO, "%s: %s", s->dir, strerror(e));
    }
    s->key = sodium_malloc(MPCD_DS_KEY_BYTES);
    if (!s->key) {
        free(s);
        return mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory");
    }
    int rc;
    if (access(key_file, F_OK) != 0 && errno == ENOENT) {
        rc = s_key_make(key_file, s->key, err, errlen);
        if (!rc && created) *created = 1;
    } else {
        rc = s_key_read(key_file, s->key, err, errlen);
    }
    if (rc) {
        sodium_memzero(s->key, MPCD_DS_KEY_BYTES);
        sodium_free(s->key);
        free(s);
        return rc;
    }
    sodium_mprotect_readonly(s->key);
    pthread_rwlock_init(&s->lock, NULL);
    s_drop_tmp(s);
    *out = s;
    return 0;
}

void mpcd_ds_store_close(mpcd_ds_store **sp)
{
    if (!sp || !*sp) return;
    mpcd_ds_store *s = *sp;
    sodium_free(s->key);   /* sodium_free wipes */
    pthread_rwlock_destroy(&s->lock);
    free(s);
    *sp = NULL;
}

/* ---- paths and files ---- */

static void s_meta_path(const mpcd_ds_store *s, const char *name, char *p, size_t n)
{
    snprintf(p, n, "%s/%s.meta", s->dir, name);
}

static void s_seg_path(const mpcd_ds_store *s, const char *name, uint64_t gen, uint32_t k, char *p, size_t n)
{
    snprintf(p, n, "%s/%s.g%llu.s%u", s->dir, name, (unsigned long long)gen, (unsigned)k);
}

static int s_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

/* Overwrites the file with zeros, syncs and unlinks it.  0, or -1 (errno). */
static int s_wipe_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat sb;
    int ok = fstat(fd, &sb) == 0;
    static const uint8_t zeros[65536];
    for (off_t off = 0; ok && off < sb.st_size;) {
        size_t n = (size_t)(sb.st_size - off) < sizeof zeros ? (size_t)(sb.st_size - off) : sizeof zeros;
        ssize_t w = write(fd, zeros, n);
        if (w <= 0) ok = 0;
        else off += w;
    }
    if (ok && fsync(fd) != 0) ok = 0;
    close(fd);
    if (unlink(path) != 0) return -1;
    return ok ? 0 : -1;
}

/* ---- the record ---- */

typedef struct {
    uint8_t *p;
    size_t   n, cap;
    int      bad;
} s_buf;

static void b_put(s_buf *b, const void *v, size_t n)
{
    if (b->bad || b->n + n > b->cap) {
        b->bad = 1;
        return;
    }
    memcpy(b->p + b->n, v, n);
    b->n += n;
}
static void b_u32(s_buf *b, uint32_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++) x[i] = (uint8_t)(v >> (8 * i));
    b_put(b, x, 4);
}
static void b_u64(s_buf *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (8 * i));
    b_put(b, x, 8);
}
static void b_name(s_buf *b, const char *s)
{
    char x[MPC_NAME_MAX] = {0};
    snprintf(x, sizeof x, "%s", s);
    b_put(b, x, sizeof x);
}
static void b_get(s_buf *b, void *v, size_t n)
{
    if (b->bad || b->n + n > b->cap) {
        b->bad = 1;
        memset(v, 0, n);
        return;
    }
    memcpy(v, b->p + b->n, n);
    b->n += n;
}
static uint32_t g_u32(s_buf *b)
{
    uint8_t x[4];
    b_get(b, x, 4);
    return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
}
static uint64_t g_u64(s_buf *b)
{
    uint8_t x[8];
    b_get(b, x, 8);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | x[i];
    return v;
}
static void g_name(s_buf *b, char *out, int may_be_empty)
{
    b_get(b, out, MPC_NAME_MAX);
    if (out[MPC_NAME_MAX - 1] != 0 || (!(may_be_empty && !out[0]) && !mpc_name_ok_str(out))) b->bad = 1;
}

static size_t s_rec_encode(const mpcd_ds_meta *m, uint8_t *p, size_t cap)
{
    s_buf b = {p, 0, cap, 0};
    b_u32(&b, S_REC_VERSION);
    b_name(&b, m->name);
    b_name(&b, m->owner);
    b_name(&b, m->uploader);
    b_u32(&b, m->frac);
    b_u32(&b, m->n_cols);
    for (uint32_t c = 0; c < m->n_cols; c++) {
        b_name(&b, m->cols[c].name);
        b_put(&b, &m->cols[c].type, 1);
    }
    b_u32(&b, m->n_parties);
    for (uint32_t i = 0; i < m->n_parties; i++) b_name(&b, m->parties[i]);
    b_u64(&b, m->rows);
    b_u64(&b, (uint64_t)m->created);
    b_u64(&b, (uint64_t)m->modified);
    b_u64(&b, m->gen);
    b_u32(&b, m->n_segs);
    for (uint32_t k = 0; k < m->n_segs; k++) b_u64(&b, m->seg_rows[k]);
    b_put(&b, m->id, sizeof m->id);
    return b.bad ? 0 : b.n;
}

static int s_rec_decode(const uint8_t *p, size_t len, mpcd_ds_meta *m)
{
    s_buf b = {(uint8_t *)(uintptr_t)p, 0, len, 0};
    memset(m, 0, sizeof *m);
    if (g_u32(&b) != S_REC_VERSION) return -1;
    g_name(&b, m->name, 0);
    g_name(&b, m->owner, 0);
    g_name(&b, m->uploader, 0);
    m->frac = g_u32(&b);
    m->n_cols = g_u32(&b);
    if (m->frac > 62 || m->n_cols < 1 || m->n_cols > MPCD_DS_MAX_COLS) return -1;
    for (uint32_t c = 0; c < m->n_cols && !b.bad; c++) {
        g_name(&b, m->cols[c].name, 0);
        b_get(&b, &m->cols[c].type, 1);
        if (m->cols[c].type >= MPC_T__COUNT) return -1;
    }
    m->n_parties = g_u32(&b);
    if (m->n_parties < 2 || m->n_parties > MPC_MAX_PARTIES) return -1;
    for (uint32_t i = 0; i < m->n_parties; i++) g_name(&b, m->parties[i], 0);
    m->rows = g_u64(&b);
    m->created = (int64_t)g_u64(&b);
    m->modified = (int64_t)g_u64(&b);
    m->gen = g_u64(&b);
    m->n_segs = g_u32(&b);
    if (m->n_segs < 1 || m->n_segs > MPCD_DS_MAX_SEGS) return -1;
    uint64_t total = 0;
    for (uint32_t k = 0; k < m->n_segs; k++) {
        m->seg_rows[k] = g_u64(&b);
        total += m->seg_rows[k];
    }
    b_get(&b, m->id, sizeof m->id);
    if (b.bad || b.n != len || total != m->rows || m->rows > MPC_CIRC_MAX_VECTOR) return -1;
    return 0;
}

static void s_meta_ad(const char *name, uint8_t *ad, size_t *adlen)
{
    memcpy(ad, S_META_MAGIC, S_MAGIC_LEN);
    size_t n = strnlen(name, MPC_NAME_MAX - 1);
    memcpy(ad + S_MAGIC_LEN, name, n);
    *adlen = S_MAGIC_LEN + n;
}

/* Writes the record to NAME.meta (through a temporary file and a rename). */
static int s_meta_write(mpcd_ds_store *s, const mpcd_ds_meta *m, char *err, size_t errlen)
{
    uint8_t rec[S_REC_MAX];
    size_t rlen = s_rec_encode(m, rec, sizeof rec);
    if (!rlen) return mpc_errc(err, errlen, MPC_ERR_INVALID, "dataset '%s': record too large", m->name);
    uint8_t out[S_MAGIC_LEN + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + S_REC_MAX +
                crypto_aead_xchacha20poly1305_ietf_ABYTES];
    memcpy(out, S_META_MAGIC, S_MAGIC_LEN);
    uint8_t *nonce = out + S_MAGIC_LEN;
    randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    uint8_t ad[S_MAGIC_LEN + MPC_NAME_MAX];
    size_t adlen;
    s_meta_ad(m->name, ad, &adlen);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen, rec, rlen,
                                               ad, adlen, NULL, nonce, s->key);
    size_t total = S_MAGIC_LEN + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + (size_t)clen;
    char path[S_PATH_MAX], tmp[S_PATH_MAX + 8];
    s_meta_path(s, m->name, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return mpc_errc(err, errlen, MPC_ERR_IO, "%s: %s", tmp, strerror(errno));
    int ok = write(fd, out, total) == (ssize_t)total && fsync(fd) == 0;
    if (close(fd) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return mpc_errc(err, errlen, MPC_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    }
    s_fsync_dir(s->dir);
    return 0;
}

static int s_meta_read(mpcd_ds_store *s, const char *name, mpcd_ds_meta *m, char *err, size_t errlen)
{
    char path[S_PATH_MAX];
    if (!mpcd_ds_name_ok(name)) return mpc_errc(err, errlen, MPC_ERR_INVALID, "not a dataset name");
    s_meta_path(s, name, path, sizeof path);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return mpc_errc(err, errlen, MPC_ERR_NOTFOUND, "no dataset '%s'", name);
        return mpc_errc(err, errlen, MPC_ERR_IO, "%s: %s", path, strerror(errno));
    }
    enum { CAP = S_MAGIC_LEN + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + S_REC_MAX +
                 crypto_aead_xchacha20poly1305_ietf_ABYTES + 1 };
    uint8_t in[CAP], rec[S_REC_MAX];
    ssize_t n = 0, r;
    while ((size_t)n < sizeof in && (r = read(fd, in + n, sizeof in - (size_t)n)) > 0) n += r;
    close(fd);
    size_t hdr = S_MAGIC_LEN + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    if (n < 0 || (size_t)n < hdr + crypto_aead_xchacha20poly1305_ietf_ABYTES || (size_t)n == sizeof in ||
        memcmp(in, S_META_MAGIC, S_MAGIC_LEN) != 0)
        return mpc_errc(err, errlen, MPC_ERR_CRYPTO, "%s: not a dataset record (truncated or damaged)", path);
    uint8_t ad[S_MAGIC_LEN + MPC_NAME_MAX];
    size_t adlen;
    s_meta_ad(name, ad, &adlen);
    unsigned long long rlen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(rec, &rlen, NULL, in + hdr, (size_t)n - hdr, ad, adlen,
                                                   in + S_MAGIC_LEN, s->key) != 0)
        return mpc_errc(err, errlen, MPC_ERR_CRYPTO, "%s: damaged, truncated or not encrypted with this daemon's "
                     "data key (authentication failed)", path);
    if (s_rec_decode(rec, (size_t)rlen, m) != 0 || strcmp(m->name, name) != 0)
        return mpc_errc(err, errlen, MPC_ERR_CRYPTO, "%s: malformed dataset record", path);
    struct stat sb;
    m->bytes = (uint64_t)n;
    for (uint32_t k = 0; k < m->n_segs; k++) {
        char sp[S_PATH_MAX];
        s_seg_path(s, name, m->gen, k, sp, sizeof sp);
        if (stat(sp, &sb) == 0) m->bytes += (uint64_t)sb.st_size;
    }
    return 0;
}

int mpcd_ds_meta_get(mpcd_ds_store *s, const char *name, mpcd_ds_meta *m, char *err, size_t errlen)
{
    pthread_rwlock_rdlock(&s->lock);
    int rc = s_meta_read(s, name, m, err, errlen);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

static int s_cmp_meta(const void *a, const void *b)
{
    return strcmp(((const mpcd_ds_meta *)a)->name, ((const mpcd_ds_meta *)b)->name);
}

int mpcd_ds_list(mpcd_ds_store *s, mpcd_ds_meta **out, uint32_t *n_out, char *err, size_t errlen)
{
    *out = NULL;
    *n_out = 0;
    pthread_rwlock_rdlock(&s->lock);
    DIR *d = opendir(s->dir);
    int rc = 0;
    if (!d) {
        rc = mpc_errc(err, errlen, MPC_ERR_IO, "%s: %s", s->dir, strerror(errno));
        goto out;
    }
    mpcd_ds_meta *v = NULL;
    uint32_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len <= 5 || len - 5 >= MPC_NAME_MAX || strcmp(de->d_name + len - 5, ".meta") != 0) continue;
        char name[MPC_NAME_MAX];
        memcpy(name, de->d_name, len - 5);
        name[len - 5] = 0;
        if (!mpcd_ds_name_ok(name)) continue;
        if (n == cap) {
            uint32_t nc = cap ? 2 * cap : 16;
            mpcd_ds_meta *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                rc = mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory");
                break;
            }
            v = nv;
            cap = nc;
        }
        if ((rc = s_meta_read(s, name, &v[n], err, errlen)) != 0) {
            if (rc == MPC_ERR_NOTFOUND) {   /* deleted meanwhile */
                rc = 0;
                continue;
            }
            break;
        }
        n++;
    }
    closedir(d);
    if (rc) {
        free(v);
        goto out;
    }
    if (n) qsort(v, n, sizeof *v, s_cmp_meta);
    *out = v;
    *n_out = n;
out:
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

/* ---- segments ---- */

/* Words to and from little-endian bytes (a plain copy on a little-endian host). */
static void s_put_le(uint8_t *out, const uint64_t *w, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n) memcpy(out, w, n * 8);
#else
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 8; b++) out[8 * i + (size_t)b] = (uint8_t)(w[i] >> (8 * b));
#endif
}

static void s_get_le(uint64_t *w, const uint8_t *in, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n) memcpy(w, in, n * 8);
#else
    for (size_t i = 0; i < n; i++) {
        uint64_t v = 0;
        for (int b = 7; b >= 0; b--) v = v << 8 | in[8 * i + (size_t)b];
        w[i] = v;
    }
#endif
}

static void s_seg_ad(const uint8_t id[16], uint32_t k, uint64_t chunk, uint8_t ad[S_AD_LEN])
{
    memcpy(ad, id, 16);
    for (int i = 0; i < 4; i++) ad[16 + i] = (uint8_t)(k >> (8 * i));
    for (int i = 0; i < 8; i++) ad[20 + i] = (uint8_t)(chunk >> (8 * i));
}

static int s_same_shape(const mpcd_ds_meta *a, const mpcd_ds_meta *b)
{
    if (a->frac != b->frac || a->n_cols != b->n_cols || a->n_parties != b->n_parties || strcmp(a->owner, b->owner))
        return 0;
    for (uint32_t c = 0; c < a->n_cols; c++)
        if (strcmp(a->cols[c].name, b->cols[c].name) || a->cols[c].type != b->cols[c].type) return 0;
    for (uint32_t i = 0; i < a->n_parties; i++)
        if (strcmp(a->parties[i], b->parties[i])) return 0;
    return 1;
}

int mpcd_ds_write_begin(mpcd_ds_store *s, const mpcd_ds_meta *m, int append, mpcd_ds_writer **wp,
                        char *err, size_t errlen)
{
    *wp = NULL;
    if (!mpcd_ds_name_ok(m->name) || m->n_cols < 1 || m->n_cols > MPCD_DS_MAX_COLS || m->n_parties < 2 ||
        m->n_parties > MPC_MAX_PARTIES || m->frac > 62)
        return mpc_errc(err, errlen, MPC_ERR_INVALID, "invalid dataset description");
    for (uint32_t c = 0; c < m->n_cols; c++) {
        if (!mpc_name_ok_str(m->cols[c].name) || m->cols[c].type >= MPC_T__COUNT)
            return mpc_errc(err, errlen, MPC_ERR_INVALID, "invalid column %u", (unsigned)c);
        for (uint32_t d = 0; d < c; d++)
            if (!strcmp(m->cols[c].name, m->cols[d].name))
                return mpc_errc(err, errlen, MPC_ERR_INVALID, "column '%s' given twice", m->cols[c].name);
    }
    mpcd_ds_writer *w = calloc(1, sizeof *w);
    if (!w) return mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory");
    w->s = s;
    mpcd_ds_meta old;
    char e2[512];
    int rc = mpcd_ds_meta_get(s, m->name, &old, e2, sizeof e2);
    if (rc && rc != MPC_ERR_NOTFOUND) {
        free(w);
        return mpc_errc(err, errlen, rc, "%s", e2);
    }
    time_t now = time(NULL);
    if (append) {
        if (rc == MPC_ERR_NOTFOUND) {
            free(w);
            return mpc_errc(err, errlen, MPC_ERR_NOTFOUND, "no dataset '%s' to append to", m->name);
        }
        if (!s_same_shape(&old, m)) {
            free(w);
            return mpc_errc(err, errlen, MPC_ERR_INPUT, "dataset '%s': the appended rows must have its columns, types, "
                         "owner and daemons", m->name);
        }
        if (old.n_segs >= MPCD_DS_MAX_SEGS) {
            free(w);
            return mpc_errc(err, errlen, MPC_ERR_LIMIT, "dataset '%s' has %d uploads, the most it may have; upload it "
                         "again whole", m->name, MPCD_DS_MAX_SEGS);
        }
        w->m = old;
        w->m.modified = now;
        w->seg = old.n_segs;
    } else {
        w->m = *m;
        w->had_old = rc == 0;
        w->replace = 1;
        w->old_gen = rc == 0 ? old.gen : 0;
        w->old_segs = rc == 0 ? old.n_segs : 0;
        w->m.gen = rc == 0 ? old.gen + 1 : 0;
        w->m.created = now;
        w->m.modified = now;
        w->m.rows = 0;
        w->m.n_segs = 0;
        randombytes_buf(w->m.id, sizeof w->m.id);
        w->seg = 0;
    }
    snprintf(w->m.uploader, sizeof w->m.uploader, "%s", m->uploader);
    s_seg_path(s, m->name, w->m.gen, w->seg, w->final, sizeof w->final);
    snprintf(w->tmp, sizeof w->tmp, "%.1000s.tmp", w->final);
    int fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    w->f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!w->f) {
        rc = mpc_errc(err, errlen, MPC_ERR_IO, "%s: %s", w->tmp, strerror(errno));
        if (fd >= 0) close(fd);
        free(w);
        return rc;
    }
    uint8_t hdr[S_HDR];
    crypto_secretstream_xchacha20poly1305_init_push(&w->st, hdr, s->key);
    if (fwrite(S_SEG_MAGIC, 1, S_MAGIC_LEN, w->f) != S_MAGIC_LEN || fwrite(hdr, 1, S_HDR, w->f) != S_HDR) {
        mpcd_ds_write_abort(&w);
        return mpc_errc(err, errlen, MPC_ERR_IO, "cannot write the dataset file");
    }
    *wp = w;
    return 0;
}

const char *mpcd_ds_writer_name(const mpcd_ds_writer *w)
{
    return w->m.name;
}

/* One message: rows (0 for the final one) and rows × ncols words. */
static int s_push(mpcd_ds_writer *w, const uint64_t *words, uint64_t rows, uint8_t tag)
{
    size_t nw = (size_t)rows * w->m.n_cols, plen = 8 + nw * 8;
    uint8_t *pt = malloc(plen), *ct = malloc(plen + S_SS);
    int rc = 0;
    if (!pt || !ct) {
        rc = MPC_ERR_NOMEM;
        goto out;
    }
    for (int i = 0; i < 8; i++) pt[i] = (uint8_t)(rows >> (8 * i));
    s_put_le(pt + 8, words, nw);
    uint8_t ad[S_AD_LEN];
    s_seg_ad(w->m.id, w->seg, w->chunk, ad);
    unsigned long long clen = 0;
    crypto_secretstream_xchacha20poly1305_push(&w->st, ct, &clen, pt, plen, ad, sizeof ad, tag);
    uint8_t len[4];
    for (int i = 0; i < 4; i++) len[i] = (uint8_t)(clen >> (8 * i));
    if (fwrite(len, 1, 4, w->f) != 4 || fwrite(ct, 1, (size_t)clen, w->f) != clen) rc = MPC_ERR_IO;
    w->chunk++;
out:
    if (pt) {
        sodium_memzero(pt, plen);
        free(pt);
    }
    free(ct);
    return rc;
}

int mpcd_ds_write_chunk(mpcd_ds_writer *w, const uint64_t *words, uint64_t rows, char *err, size_t errlen)
{
    if (rows < 1 || rows > MPCD_DS_CHUNK_ROWS)
        return mpc_errc(err, errlen, MPC_ERR_INPUT, "a chunk holds 1 to %d rows", MPCD_DS_CHUNK_ROWS);
    if (w->m.rows + w->rows + rows > MPC_CIRC_MAX_VECTOR)
        return mpc_errc(err, errlen, MPC_ERR_LIMIT, "dataset '%s' would have more than %llu rows", w->m.name,
                     (unsigned long long)MPC_CIRC_MAX_VECTOR);
    int rc = s_push(w, words, rows, 0);
    if (rc) return mpc_errc(err, errlen, rc, "dataset '%s': cannot write a chunk: %s", w->m.name, mpc_strerror(rc));
    w->rows += rows;
    return 0;
}

void mpcd_ds_write_abort(mpcd_ds_writer **wp)
{
    if (!wp || !*wp) return;
    mpcd_ds_writer *w = *wp;
    if (w->f) fclose(w->f);
    s_wipe_file(w->tmp);
    sodium_memzero(&w->st, sizeof w->st);
    free(w);
    *wp = NULL;
}

int mpcd_ds_write_commit(mpcd_ds_writer **wp, mpcd_ds_meta *out, char *err, size_t errlen)
{
    mpcd_ds_writer *w = *wp;
    mpcd_ds_store *s = w->s;
    int rc = 0;
    if (w->rows == 0) {
        mpcd_ds_write_abort(wp);
        return mpc_errc(err, errlen, MPC_ERR_INPUT, "an upload must hold at least one row");
    }
    if ((rc = s_push(w, NULL, 0, crypto_secretstream_xchacha20poly1305_TAG_FINAL)) != 0 || fflush(w->f) != 0 ||
        fsync(fileno(w->f)) != 0) {
        mpcd_ds_write_abort(wp);
        return mpc_errc(err, errlen, MPC_ERR_IO, "cannot write the dataset file");
    }
    fclose(w->f);
    w->f = NULL;
    pthread_rwlock_wrlock(&s->lock);
    if (!w->replace) {   /* an append: the record must still be the one we extend */
        mpcd_ds_meta now;
        char e2[256];
        if (s_meta_read(s, w->m.name, &now, e2, sizeof e2) != 0 || now.gen != w->m.gen || now.n_segs != w->seg) {
            pthread_rwlock_unlock(&s->lock);
            mpcd_ds_write_abort(wp);
            return mpc_errc(err, errlen, MPC_ERR_STATE, "dataset '%s' changed during the upload", w->m.name);
        }
    }
    if (rename(w->tmp, w->final) != 0) {
        pthread_rwlock_unlock(&s->lock);
        mpcd_ds_write_abort(wp);
        return mpc_errc(err, errlen, MPC_ERR_IO, "%s: cannot rename: %s", w->final, strerror(errno));
    }
    w->m.seg_rows[w->seg] = w->rows;
    w->m.n_segs = w->seg + 1;
    w->m.rows += w->rows;
    if ((rc = s_meta_write(s, &w->m, err, errlen)) != 0) {
        s_wipe_file(w->final);
        pthread_rwlock_unlock(&s->lock);
        sodium_memzero(&w->st, sizeof w->st);
        free(w);
        *wp = NULL;
        return rc;
    }
    if (w->had_old)
        for (uint32_t k = 0; k < w->old_segs; k++) {
            char p[S_PATH_MAX];
            s_seg_path(s, w->m.name, w->old_gen, k, p, sizeof p);
            s_wipe_file(p);
        }
    rc = s_meta_read(s, w->m.name, out ? out : &w->m, err, errlen);
    pthread_rwlock_unlock(&s->lock);
    sodium_memzero(&w->st, sizeof w->st);
    free(w);
    *wp = NULL;
    return rc;
}

/* ---- loading ---- */

static int s_read_all(FILE *f, void *p, size_t n)
{
    return fread(p, 1, n, f) == n ? 0 : -1;
}

/* Reads segment k into cols at row offset off. */
static int s_load_seg(mpcd_ds_store *s, const mpcd_ds_meta *m, uint32_t k, uint64_t off, uint64_t **cols,
                      char *err, size_t errlen)
{
    char path[S_PATH_MAX];
    s_seg_path(s, m->name, m->gen, k, path, sizeof path);
    FILE *f = fopen(path, "rbe");
    if (!f) return mpc_errc(err, errlen, MPC_ERR_IO, "%s: %s", path, strerror(errno));
    uint8_t magic[S_MAGIC_LEN], hdr[S_HDR];
    crypto_secretstream_xchacha20poly1305_state st;
    int rc = 0;
    uint8_t *ct = NULL, *pt = NULL;
    size_t maxp = 8 + (size_t)MPCD_DS_CHUNK_ROWS * m->n_cols * 8;
    if (s_read_all(f, magic, sizeof magic) || memcmp(magic, S_SEG_MAGIC, S_MAGIC_LEN) || s_read_all(f, hdr, S_HDR) ||
        crypto_secretstream_xchacha20poly1305_init_pull(&st, hdr, s->key) != 0) {
        rc = mpc_errc(err, errlen, MPC_ERR_CRYPTO, "%s: not a dataset file (truncated or damaged header)", path);
        goto out;
    }
    ct = malloc(maxp + S_SS);
    pt = malloc(maxp);
    if (!ct || !pt) {
        rc = mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory");
        goto out;
    }
    uint64_t rows = 0;
    for (uint64_t chunk = 0;; chunk++) {
        uint8_t lb[4];
        if (s_read_all(f, lb, 4)) {
            rc = mpc_errc(err, errlen, MPC_ERR_CRYPTO, "%s: truncated (it ends before its final chunk)", path);
            goto out;
        }
        size_t clen = (size_t)lb[0] | (size_t)lb[1] << 8 | (size_t)lb[2] << 16 | (size_t)lb[3] << 24;
        if (clen < 8 + S_SS || clen > maxp + S_SS) {
            rc = mpc_errc(err, errlen, MPC_ERR_CRYPTO, "%s: damaged (chunk %llu has an impossible length)", path,
                       (unsigned long long)chunk);
            goto out;
        }
        if (s_read_all(f, ct, clen)) {
            rc = mpc_errc(err, errlen, MPC_ERR_CRYPTO, "%s: truncated (in chunk %llu)", path, (unsigned long long)chunk);
            goto out;
        }
        uint8_t ad[S_AD_LEN], tag = 0;
        s_seg_ad(m->id, k, chunk, ad);
        unsigned long long plen = 0;
        if (crypto_secretstream_xchacha20poly1305_pull(&st, pt, &plen, &tag, ct, clen, ad, sizeof ad) != 0) {
            rc = mpc_errc(err, errlen, MPC_ERR_CRYPTO, "%s: damaged (chunk %llu fails authentication)", path,
                       (unsigned long long)chunk);
            goto out;
        }
        uint64_t r = 0;
        for (int i = 7; i >= 0; i--) r = r << 8 | pt[i];
        if (r > MPCD_DS_CHUNK_ROWS || plen != 8 + r * m->n_cols * 8 || rows + r > m->seg_rows[k]) {
            rc = mpc_errc(err, errlen, MPC_ERR_CRYPTO, "%s: damaged (chunk %llu does not fit the record)", path,
                       (unsigned long long)chunk);
            goto out;
        }
        for (uint32_t c = 0; c < m->n_cols; c++) s_get_le(cols[c] + off + rows, pt + 8 + 8 * (c * r), r);
        rows += r;
        if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
            if (r != 0 || fgetc(f) != EOF || rows != m->seg_rows[k])
                rc = mpc_errc(err, errlen, MPC_ERR_CRYPTO, "%s: damaged (its end does not match the record)", path);
            goto out;
        }
        if (r == 0) {
            rc = mpc_errc(err, errlen, MPC_ERR_CRYPTO, "%s: damaged (an empty chunk)", path);
            goto out;
        }
    }
out:
    if (pt) {
        sodium_memzero(pt, maxp);
        free(pt);
    }
    free(ct);
    sodium_memzero(&st, sizeof st);
    fclose(f);
    return rc;
}

void mpcd_ds_free_cols(uint64_t **cols, uint32_t n_cols, uint64_t rows)
{
    for (uint32_t c = 0; c < n_cols; c++)
        if (cols[c]) {
            sodium_memzero(cols[c], (size_t)rows * 8);
            free(cols[c]);
            cols[c] = NULL;
        }
}

int mpcd_ds_load(mpcd_ds_store *s, const char *name, mpcd_ds_meta *m, uint64_t **cols, char *err, size_t errlen)
{
    pthread_rwlock_rdlock(&s->lock);
    int rc = s_meta_read(s, name, m, err, errlen);
    if (rc) goto out;
    for (uint32_t c = 0; c < m->n_cols; c++) cols[c] = NULL;
    for (uint32_t c = 0; c < m->n_cols; c++)
        if (!(cols[c] = malloc((size_t)(m->rows ? m->rows : 1) * 8))) {
            rc = mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory");
            goto fail;
        }
    uint64_t off = 0;
    for (uint32_t k = 0; k < m->n_segs; k++) {
        if ((rc = s_load_seg(s, m, k, off, cols, err, errlen))) goto fail;
        off += m->seg_rows[k];
    }
    goto out;
fail:
    mpcd_ds_free_cols(cols, m->n_cols, m->rows);
out:
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

/* Whether rest is ".gG.sK" or ".gG.sK.tmp" (G, K decimal): a segment file of the name before it. */
static int s_is_seg_name(const char *rest)
{
    const char *p = rest;
    if (p[0] != '.' || p[1] != 'g') return 0;
    p += 2;
    if (*p < '0' || *p > '9') return 0;
    while (*p >= '0' && *p <= '9') p++;
    if (p[0] != '.' || p[1] != 's') return 0;
    p += 2;
    if (*p < '0' || *p > '9') return 0;
    while (*p >= '0' && *p <= '9') p++;
    return !*p || !strcmp(p, ".tmp");
}

int mpcd_ds_delete(mpcd_ds_store *s, const char *name, char *err, size_t errlen)
{
    pthread_rwlock_wrlock(&s->lock);
    mpcd_ds_meta m;
    int rc = s_meta_read(s, name, &m, err, errlen);
    if (rc == MPC_ERR_CRYPTO) rc = 0;   /* a damaged record: delete what is there anyway */
    if (rc) goto out;
    char path[S_PATH_MAX];
    s_meta_path(s, name, path, sizeof path);
    if (s_wipe_file(path) != 0) {
        rc = mpc_errc(err, errlen, MPC_ERR_IO, "%s: cannot delete: %s", path, strerror(errno));
        goto out;
    }
    /* Every segment file of the name, whatever its generation (a damaged record names none). */
    DIR *d = opendir(s->dir);
    if (d) {
        struct dirent *de;
        size_t nl = strlen(name);
        while ((de = readdir(d)))
            if (!strncmp(de->d_name, name, nl) && s_is_seg_name(de->d_name + nl)) {
                char p[S_PATH_MAX];
                snprintf(p, sizeof p, "%s/%.255s", s->dir, de->d_name);
                if (s_wipe_file(p) != 0 && !rc)
                    rc = mpc_errc(err, errlen, MPC_ERR_IO, "%s: cannot delete: %s", p, strerror(errno));
            }
        closedir(d);
    }
    s_fsync_dir(s->dir);
out:
    pthread_rwlock_unlock(&s->lock);
    return rc;
}
