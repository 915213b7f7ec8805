/* keys.c — CURVE key pairs, Z85 (ZeroMQ RFC 32) and key files.  Secrets stay in sodium_malloc
 * memory or in stack buffers wiped with sodium_memzero before every return. */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "circuit.h"   /* mpc_name_ok: the one rule for names */
#include "diag.h"
#include "mpc_err.h"

struct mpc_keypair {
    uint8_t  pub[MPC_KEY_BYTES];
    uint8_t *sec;               /* sodium_malloc(MPC_KEY_BYTES) */
};

#define S_FILE_MAX 128          /* a key file holds 40 characters and a newline */

static const char s_z85_chars[86] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

static mpc_keypair *s_alloc(void)
{
    if (sodium_init() < 0) return NULL;
    mpc_keypair *kp = calloc(1, sizeof *kp);
    if (!kp) return NULL;
    kp->sec = sodium_malloc(MPC_KEY_BYTES);
    if (!kp->sec) {
        free(kp);
        return NULL;
    }
    return kp;
}

/* The public half of kp->sec for its kind: an X25519 base-point multiple, or the Ed25519
 * public key of the seed.  0 or -1. */
static int s_derive_public(mpc_keypair *kp, mpc_key_kind kind)
{
    if (kind == MPC_KEY_CURVE) return crypto_scalarmult_base(kp->pub, kp->sec) == 0 ? 0 : -1;
    unsigned char *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
    if (!sk) return -1;
    int r = crypto_sign_seed_keypair(kp->pub, sk, kp->sec) == 0 ? 0 : -1;
    sodium_memzero(sk, crypto_sign_SECRETKEYBYTES);
    sodium_free(sk);
    return r;
}

mpc_keypair *mpc_keypair_new_kind(mpc_key_kind kind)
{
    mpc_keypair *kp = s_alloc();
    if (!kp) return NULL;
    randombytes_buf(kp->sec, MPC_KEY_BYTES);
    if (s_derive_public(kp, kind) != 0) mpc_keypair_destroy(&kp);
    return kp;
}

mpc_keypair *mpc_keypair_new(void)
{
    mpc_keypair *kp = s_alloc();
    if (!kp) return NULL;
    if (crypto_box_keypair(kp->pub, kp->sec) != 0) mpc_keypair_destroy(&kp);
    return kp;
}

mpc_keypair *mpc_keypair_from_secret(const uint8_t secret[MPC_KEY_BYTES])
{
    mpc_keypair *kp = s_alloc();
    if (!kp) return NULL;
    memcpy(kp->sec, secret, MPC_KEY_BYTES);
    if (crypto_scalarmult_base(kp->pub, kp->sec) != 0) mpc_keypair_destroy(&kp);
    return kp;
}

mpc_keypair *mpc_keypair_dup(const mpc_keypair *kp)
{
    if (!kp) return NULL;
    mpc_keypair *c = s_alloc();
    if (!c) return NULL;
    memcpy(c->pub, kp->pub, MPC_KEY_BYTES);
    memcpy(c->sec, kp->sec, MPC_KEY_BYTES);
    return c;
}

void mpc_keypair_destroy(mpc_keypair **kp_p)
{
    if (!kp_p || !*kp_p) return;
    mpc_keypair *kp = *kp_p;
    if (kp->sec) {
        sodium_memzero(kp->sec, MPC_KEY_BYTES);
        sodium_free(kp->sec);
    }
    sodium_memzero(kp, sizeof *kp);
    free(kp);
    *kp_p = NULL;
}

const uint8_t *mpc_keypair_public(const mpc_keypair *kp) { return kp->pub; }
const uint8_t *mpc_keypair_secret(const mpc_keypair *kp) { return kp->sec; }

/* ---- Z85 ---------------------------------------------------------------------------- */

int mpc_z85_encode(char *out, size_t out_size, const uint8_t *data, size_t len)
{
    if (!out || (len && !data) || len % 4 != 0 || out_size < len / 4 * 5 + 1) {
        if (out && out_size) out[0] = '\0';
        return MPC_ERR_INVALID;
    }
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t v = (uint32_t)data[i] << 24 | (uint32_t)data[i + 1] << 16 |
                     (uint32_t)data[i + 2] << 8 | (uint32_t)data[i + 3];
        for (int k = 4; k >= 0; k--) {
            out[o + (size_t)k] = s_z85_chars[v % 85];
            v /= 85;
        }
        o += 5;
    }
    out[o] = '\0';
    return 0;
}

/* Index of c in the alphabet, or -1.  A table would be faster; keys are short and this
 * keeps the decoder obviously correct for every byte value. */
static int s_z85_index(char c)
{
    if (c == '\0') return -1;
    const char *p = memchr(s_z85_chars, c, 85);
    return p ? (int)(p - s_z85_chars) : -1;
}

int mpc_z85_decode(uint8_t *out, size_t out_size, const char *text, size_t text_len)
{
    if (!out) return MPC_ERR_INVALID;
    if (!text || text_len % 5 != 0 || out_size < text_len / 5 * 4) goto bad;
    size_t o = 0;
    for (size_t i = 0; i < text_len; i += 5) {
        uint64_t v = 0;
        for (size_t k = 0; k < 5; k++) {
            int d = s_z85_index(text[i + k]);
            if (d < 0) goto bad;
            v = v * 85 + (uint64_t)d;
        }
        if (v > UINT32_MAX) goto bad;
        out[o] = (uint8_t)(v >> 24);
        out[o + 1] = (uint8_t)(v >> 16);
        out[o + 2] = (uint8_t)(v >> 8);
        out[o + 3] = (uint8_t)v;
        o += 4;
    }
    return 0;
bad:
    if (out_size) sodium_memzero(out, out_size);
    return MPC_ERR_INVALID;
}

int mpc_key_from_z85(uint8_t out[MPC_KEY_BYTES], const char *text)
{
    if (!out) return MPC_ERR_INVALID;
    if (!text || strnlen(text, MPC_KEY_Z85_LEN + 1) != MPC_KEY_Z85_LEN) {
        sodium_memzero(out, MPC_KEY_BYTES);
        return MPC_ERR_INVALID;
    }
    return mpc_z85_decode(out, MPC_KEY_BYTES, text, MPC_KEY_Z85_LEN);
}

void mpc_key_to_z85(char out[MPC_KEY_Z85_LEN + 1], const uint8_t key[MPC_KEY_BYTES])
{
    /* Cannot fail: the sizes are the constants above. */
    if (mpc_z85_encode(out, MPC_KEY_Z85_LEN + 1, key, MPC_KEY_BYTES) != 0) out[0] = '\0';
}

/* ---- key files ---------------------------------------------------------------------- */

/* Writes the 40 characters and a newline to a new file of the given mode. */
static int s_write_key_file(const char *path, const char *z85, mode_t mode, char *err,
                            size_t errlen)
{
    int r = MPC_ERR_IO;
    if (!path || !*path) {
        mpc_errf(err, errlen, "empty key file path");
        return MPC_ERR_INVALID;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST) {
            mpc_errf(err, errlen, "%s: already exists (refusing to overwrite a key file)", path);
            return MPC_ERR_STATE;
        }
        mpc_errf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return errno == EACCES ? MPC_ERR_DENIED : MPC_ERR_IO;
    }
    /* The umask may only have removed bits; make the mode exact. */
    if (fchmod(fd, mode) != 0) {
        mpc_errf(err, errlen, "%s: cannot set mode %04o: %s", path, (unsigned)mode, strerror(errno));
        goto out;
    }
    char line[MPC_KEY_Z85_LEN + 1];
    memcpy(line, z85, MPC_KEY_Z85_LEN);
    line[MPC_KEY_Z85_LEN] = '\n';
    ssize_t w = write(fd, line, sizeof line);
    sodium_memzero(line, sizeof line);
    if (w != (ssize_t)sizeof line) {
        mpc_errf(err, errlen, "%s: short write: %s", path, w < 0 ? strerror(errno) : "disk full?");
        goto out;
    }
    if (fsync(fd) != 0) {
        mpc_errf(err, errlen, "%s: fsync: %s", path, strerror(errno));
        goto out;
    }
    r = 0;
out:
    if (close(fd) != 0 && r == 0) {
        mpc_errf(err, errlen, "%s: close: %s", path, strerror(errno));
        r = MPC_ERR_IO;
    }
    if (r != 0) unlink(path);
    return r;
}

int mpc_keys_write_public(const char *path, const uint8_t pub[MPC_KEY_BYTES], char *err,
                          size_t errlen)
{
    char z[MPC_KEY_Z85_LEN + 1];
    mpc_key_to_z85(z, pub);
    return s_write_key_file(path, z, 0644, err, errlen);
}

int mpc_keys_write_secret(const char *path, const mpc_keypair *kp, char *err, size_t errlen)
{
    if (!kp) return MPC_ERR_INVALID;
    char z[MPC_KEY_Z85_LEN + 1];
    mpc_key_to_z85(z, kp->sec);
    int r = s_write_key_file(path, z, 0600, err, errlen);
    sodium_memzero(z, sizeof z);
    return r;
}

/* Reads a key file into buf (size S_FILE_MAX, caller wipes it) and checks its shape:
 * 40 Z85 characters, optionally followed by "\n" or "\r\n", nothing else.
 * secret != 0: the file must be a regular file with no group/other permission bits. */
static int s_read_key_file(const char *path, char *buf, int secret, char *err, size_t errlen)
{
    int r = MPC_ERR_IO;
    if (!path || !*path) {
        mpc_errf(err, errlen, "empty key file path");
        return MPC_ERR_INVALID;
    }
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        mpc_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return errno == ENOENT ? MPC_ERR_NOTFOUND : errno == EACCES ? MPC_ERR_DENIED : MPC_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        mpc_errf(err, errlen, "%s: stat: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        mpc_errf(err, errlen, "%s: not a regular file", path);
        r = MPC_ERR_DENIED;
        goto out;
    }
    if (secret && (st.st_mode & 0077)) {
        mpc_errf(err, errlen,
              "%s: secret key file is accessible by group or others (mode %04o); "
              "refusing to use it (run: chmod 600 %s)",
              path, (unsigned)(st.st_mode & 07777), path);
        r = MPC_ERR_DENIED;
        goto out;
    }
    size_t got = 0;
    for (;;) {
        ssize_t k = read(fd, buf + got, S_FILE_MAX - got);
        if (k < 0) {
            if (errno == EINTR) continue;
            mpc_errf(err, errlen, "%s: read: %s", path, strerror(errno));
            goto out;
        }
        if (k == 0) break;
        got += (size_t)k;
        if (got == S_FILE_MAX) break;
    }
    size_t len = got;
    if (len > 0 && buf[len - 1] == '\n') len--;
    if (len > 0 && buf[len - 1] == '\r') len--;
    if (len != MPC_KEY_Z85_LEN) {
        mpc_errf(err, errlen, "%s: not a key file (expected %d Z85 characters and a newline)",
              path, MPC_KEY_Z85_LEN);
        r = MPC_ERR_INVALID;
        goto out;
    }
    buf[len] = '\0';
    r = 0;
out:
    close(fd);
    return r;
}

int mpc_keys_load_public(uint8_t pub[MPC_KEY_BYTES], const char *path, char *err, size_t errlen)
{
    char buf[S_FILE_MAX + 1];
    int r = s_read_key_file(path, buf, 0, err, errlen);
    if (r == 0 && (r = mpc_key_from_z85(pub, buf)) != 0)
        mpc_errf(err, errlen, "%s: invalid Z85 key text", path);
    return r;
}

int mpc_keys_load_secret(mpc_keypair **out, const char *path, char *err, size_t errlen)
{
    return mpc_keys_load_secret_kind(out, path, MPC_KEY_CURVE, err, errlen);
}

int mpc_keys_load_secret_kind(mpc_keypair **out, const char *path, mpc_key_kind kind, char *err,
                              size_t errlen)
{
    if (!out) return MPC_ERR_INVALID;
    *out = NULL;
    int r = MPC_ERR_NOMEM;
    mpc_keypair *kp = s_alloc();
    char *buf = sodium_malloc(S_FILE_MAX + 1);
    if (!kp || !buf) {
        mpc_errf(err, errlen, "%s: out of memory", path ? path : "(null)");
        goto out;
    }
    if ((r = s_read_key_file(path, buf, 1, err, errlen)) != 0) goto out;
    if ((r = mpc_key_from_z85(kp->sec, buf)) != 0) {
        mpc_errf(err, errlen, "%s: invalid Z85 key text", path);
        goto out;
    }
    if (s_derive_public(kp, kind) != 0) {
        mpc_errf(err, errlen, "%s: invalid secret key", path);
        r = MPC_ERR_CRYPTO;
        goto out;
    }
    *out = kp;
    kp = NULL;
out:
    if (buf) {
        sodium_memzero(buf, S_FILE_MAX + 1);
        sodium_free(buf);
    }
    mpc_keypair_destroy(&kp);
    return r;
}

int mpc_keys_generate_files(const char *dir, const char *name, char *pub_path,
                            char *secret_path, size_t path_size, char *err, size_t errlen)
{
    return mpc_keys_generate_files_kind(dir, name, MPC_KEY_CURVE, pub_path, secret_path, path_size,
                                        err, errlen);
}

int mpc_keys_generate_files_kind(const char *dir, const char *name, mpc_key_kind kind,
                                 char *pub_path, char *secret_path, size_t path_size, char *err,
                                 size_t errlen)
{
    const char *mid = kind == MPC_KEY_SIGN ? ".sign" : "";
    char pp[4096], sp[4096];
    if (!dir || !*dir || !mpc_name_ok_str(name)) {
        mpc_errf(err, errlen, "invalid key name '%.80s' (use 1-%d of A-Z a-z 0-9 _ - ., starting "
              "with a letter, digit or _)", name ? name : "(null)", MPC_NAME_MAX - 1);
        return MPC_ERR_INVALID;
    }
    int a = snprintf(pp, sizeof pp, "%s/%s%s.pub", dir, name, mid);
    int b = snprintf(sp, sizeof sp, "%s/%s%s.secret", dir, name, mid);
    if (a < 0 || b < 0 || (size_t)a >= sizeof pp || (size_t)b >= sizeof sp ||
        (pub_path && (size_t)a >= path_size) || (secret_path && (size_t)b >= path_size)) {
        mpc_errf(err, errlen, "key file path too long");
        return MPC_ERR_INVALID;
    }
    mpc_keypair *kp = mpc_keypair_new_kind(kind);
    if (!kp) {
        mpc_errf(err, errlen, "out of memory");
        return MPC_ERR_NOMEM;
    }
    int r = mpc_keys_write_secret(sp, kp, err, errlen);
    if (r == 0) {
        r = mpc_keys_write_public(pp, kp->pub, err, errlen);
        if (r != 0) unlink(sp);
    }
    mpc_keypair_destroy(&kp);
    if (r == 0) {
        if (pub_path) memcpy(pub_path, pp, (size_t)a + 1);
        if (secret_path) memcpy(secret_path, sp, (size_t)b + 1);
    }
    return r;
}
