/* keys.h — CURVE (Curve25519) key pairs for the peer mesh and the client endpoint: generation
 * with libsodium, Z85 text encoding (ZeroMQ RFC 32), and key files on disk.
 *
 * A key pair holds its secret half in sodium_malloc memory; mpc_keypair_destroy() wipes and
 * frees it.  Key files hold the 40-character Z85 text of one key followed by a newline: the
 * public file is meant to be shared, the secret file is written with mode 0600 and refused on
 * load when group or others have any access to it.  This file does not depend on ZeroMQ. */
#ifndef MPC_KEYS_H
#define MPC_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define MPC_KEY_BYTES    32   /* Curve25519 public or secret key */
#define MPC_KEY_Z85_LEN  40   /* Z85 text of one key, without the terminating NUL */

typedef struct mpc_keypair mpc_keypair;

/* What a pair is for.  A CURVE pair's secret is an X25519 scalar; a SIGN pair's secret is the
 * 32-byte Ed25519 seed (libsodium's crypto_sign_seed_keypair makes the 64-byte signing key
 * from it when it is used), its public half the Ed25519 public key.  Both are 32 bytes and use
 * the same Z85 key files. */
typedef enum { MPC_KEY_CURVE = 0, MPC_KEY_SIGN = 1 } mpc_key_kind;

/* A fresh random key pair (libsodium randomness), or NULL when out of memory. */
mpc_keypair *mpc_keypair_new(void);

/* A fresh random pair of the given kind (mpc_keypair_new() is MPC_KEY_CURVE), or NULL. */
mpc_keypair *mpc_keypair_new_kind(mpc_key_kind kind);

/* The key pair whose secret is secret[0..31] (public = X25519 base-point multiple). */
mpc_keypair *mpc_keypair_from_secret(const uint8_t secret[MPC_KEY_BYTES]);

/* An independent copy (its own sodium_malloc secret), or NULL. */
mpc_keypair *mpc_keypair_dup(const mpc_keypair *kp);

/* Wipes the secret, frees the pair and sets *kp_p to NULL.  Accepts NULL and *kp_p == NULL. */
void mpc_keypair_destroy(mpc_keypair **kp_p);

/* Borrowed pointers to the 32 key bytes; valid until the pair is destroyed.  The secret
 * lives in guarded memory: never copy it out except into other wiped memory. */
const uint8_t *mpc_keypair_public(const mpc_keypair *kp);
const uint8_t *mpc_keypair_secret(const mpc_keypair *kp);

/* Z85 (ZeroMQ RFC 32).  encode: len must be a multiple of 4 and out_size >= len / 4 * 5 + 1;
 * writes a NUL-terminated string.  decode: text_len must be a multiple of 5, every character
 * in the Z85 alphabet and every 5-character group < 2^32; writes text_len / 5 * 4 bytes
 * (out_size must be at least that).  Both return 0 or MPC_ERR_INVALID (out is then zeroed). */
__attribute__((warn_unused_result))
int mpc_z85_encode(char *out, size_t out_size, const uint8_t *data, size_t len);
__attribute__((warn_unused_result))
int mpc_z85_decode(uint8_t *out, size_t out_size, const char *text, size_t text_len);

/* One key from its Z85 text: exactly MPC_KEY_Z85_LEN characters (NUL-terminated string). */
__attribute__((warn_unused_result))
int mpc_key_from_z85(uint8_t out[MPC_KEY_BYTES], const char *text);
/* out must hold MPC_KEY_Z85_LEN + 1 bytes. */
void mpc_key_to_z85(char out[MPC_KEY_Z85_LEN + 1], const uint8_t key[MPC_KEY_BYTES]);

/* Key files.  Every function returns 0 or a negative MPC_ERR_* and, on failure, writes a
 * one-line reason naming the file (never key material) into err[0..errlen-1] if err != NULL.
 * Writers create the file (O_EXCL: an existing file is never overwritten -> MPC_ERR_STATE);
 * the secret file gets mode 0600 whatever the umask.
 * load_secret refuses (MPC_ERR_DENIED) a file that is not a regular file or whose mode grants
 * any access to group or others; it also derives the public half. */
__attribute__((warn_unused_result))
int mpc_keys_write_public(const char *path, const uint8_t pub[MPC_KEY_BYTES],
                          char *err, size_t errlen);
__attribute__((warn_unused_result))
int mpc_keys_write_secret(const char *path, const mpc_keypair *kp, char *err, size_t errlen);
__attribute__((warn_unused_result))
int mpc_keys_load_public(uint8_t pub[MPC_KEY_BYTES], const char *path, char *err, size_t errlen);
__attribute__((warn_unused_result))
int mpc_keys_load_secret(mpc_keypair **out, const char *path, char *err, size_t errlen);
/* The same for a pair of the given kind (load_secret is MPC_KEY_CURVE). */
__attribute__((warn_unused_result))
int mpc_keys_load_secret_kind(mpc_keypair **out, const char *path, mpc_key_kind kind, char *err,
                              size_t errlen);

/* `mpcd keygen NAME --dir DIR`: a fresh pair written to DIR/NAME.pub and DIR/NAME.secret.
 * NAME is 1..64 characters of [A-Za-z0-9_.-] not starting with '.'.  If pub_path/secret_path
 * are not NULL they receive the paths written (buffers of path_size bytes).  Neither file is
 * left behind on failure. */
__attribute__((warn_unused_result))
int mpc_keys_generate_files(const char *dir, const char *name, char *pub_path,
                            char *secret_path, size_t path_size, char *err, size_t errlen);
/* The same for a pair of the given kind; a MPC_KEY_SIGN pair goes to DIR/NAME.sign.pub and
 * DIR/NAME.sign.secret. */
__attribute__((warn_unused_result))
int mpc_keys_generate_files_kind(const char *dir, const char *name, mpc_key_kind kind,
                                 char *pub_path, char *secret_path, size_t path_size, char *err,
                                 size_t errlen);

#endif
