/* wirecommon.h — the msgpack scaffolding the client protocol's codecs share (cwire.c: jobs,
 * ctwire.c: contributions, dswire.c: datasets; docs/daemon.md, "Client protocol").  Internal
 * to the SDK and the daemon, not installed.
 *
 * Every header is a msgpack array [version, type, request id, fields...].  Encoding appends
 * to a growing buffer and remembers a failed allocation until mpc_wc_done; decoding checks
 * the raw bytes first (mpc_cwire_precheck: declared sizes within the frame, no types we never
 * send), then unpacks exactly one object spanning the frame, then reads fields with typed
 * readers that refuse anything else. */
#ifndef MPC_WIRECOMMON_H
#define MPC_WIRECOMMON_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

/* ---- encoding ---- */

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer  pk;
    int             bad;   /* msgpack's packers return nonzero when the buffer cannot grow */
} mpc_wc_enc;

void mpc_wc_init(mpc_wc_enc *e);
void mpc_wc_arr(mpc_wc_enc *e, uint32_t n);
void mpc_wc_u64(mpc_wc_enc *e, uint64_t v);
void mpc_wc_i64(mpc_wc_enc *e, int64_t v);
void mpc_wc_nil(mpc_wc_enc *e);
void mpc_wc_bool(mpc_wc_enc *e, int b);
void mpc_wc_bin(mpc_wc_enc *e, const uint8_t *p, size_t n);
void mpc_wc_str(mpc_wc_enc *e, const char *s);
/* The header's start: an array of `arity` elements, then version, type and request id. */
void mpc_wc_head(mpc_wc_enc *e, uint32_t arity, uint8_t type, uint64_t rid);
/* Hands the encoded bytes to the caller (*buf: free()), or MPC_ERR_NOMEM (buffer freed). */
int mpc_wc_done(mpc_wc_enc *e, uint8_t **buf, size_t *len);

/* ---- decoding ---- */

/* Formats the reason into err (when given) and returns MPC_ERR_PROTOCOL. */
int mpc_wc_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A positive integer of at most max into *v; 0, or -1 (nothing written). */
int mpc_wc_uint(const msgpack_object *o, uint64_t max, uint64_t *v);
/* A bin of exactly n bytes copied to out; 0, or -1 (nothing written). */
int mpc_wc_bin_exact(const msgpack_object *o, uint8_t *out, size_t n);

/* Prechecks and unpacks hdr[0..len-1] into u (the caller inits and destroys it), which must be
 * one array of at least 3 elements, exactly spanning the frame: its elements in *el and their
 * count in *n, then the request id (read first, so that a refused request can still be
 * answered on its id), the version (MPC_CWIRE_VERSION; a wrong one is named "unsupported
 * protocol version N" with name_version set, "bad version field" otherwise) and the message
 * type.  0, or an error code with the reason in err. */
int mpc_wc_open(const uint8_t *hdr, size_t len, msgpack_unpacked *u, const msgpack_object **el, uint32_t *n,
                uint8_t *type, uint64_t *rid, int name_version, char *err, size_t errlen);

#endif
