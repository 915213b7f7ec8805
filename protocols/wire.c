/* wire.c — msgpack encoding and hostile-input-safe decoding of the peer message header. */
#include "wire.h"

#include <msgpack.h>
#include <string.h>

#include "mpc_err.h"

#define S_ARITY 6

int mpc_wire_type_ok(unsigned type)
{
    return (type >= MPC_MSG_OPEN && type <= MPC_MSG_ABORT) || type == MPC_WIRE_MSG_HELLO ||
           type == MPC_WIRE_MSG_HELLO_ACK || type == MPC_WIRE_MSG_LANE_SYNC;
}

static int s_hdr_ok(const mpc_msg_hdr *h)
{
    return h->version == MPC_WIRE_VERSION && mpc_wire_type_ok(h->type) &&
           h->sender < MPC_WIRE_MAX_SENDERS && h->count <= MPC_WIRE_MAX_COUNT;
}

typedef struct {
    uint8_t *buf;
    size_t   cap, len;
    int      overflow;
} s_fixbuf;

static int s_fixbuf_write(void *data, const char *p, size_t n)
{
    s_fixbuf *b = data;
    if (b->overflow || n > b->cap - b->len) {
        b->overflow = 1;
        return -1;
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
    return 0;
}

int mpc_wire_hdr_encode(uint8_t *buf, size_t cap, size_t *len, const mpc_msg_hdr *h)
{
    if (!buf || !len || !h || !s_hdr_ok(h)) return MPC_ERR_INVALID;
    s_fixbuf fb = {buf, cap, 0, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &fb, s_fixbuf_write);
    if (msgpack_pack_array(&pk, S_ARITY) != 0 || msgpack_pack_uint8(&pk, h->version) != 0 ||
        msgpack_pack_uint8(&pk, h->type) != 0 || msgpack_pack_uint64(&pk, h->stream) != 0 ||
        msgpack_pack_uint64(&pk, h->seq) != 0 || msgpack_pack_uint16(&pk, h->sender) != 0 ||
        msgpack_pack_uint64(&pk, h->count) != 0 || fb.overflow)
        return MPC_ERR_INVALID;
    *len = fb.len;
    return 0;
}

/* Structural pre-check before msgpack-c sees the bytes: a fixarray of six elements, each an
 * unsigned integer (positive fixint or uint8/16/32/64) fully inside the buffer, and nothing
 * after the sixth.  With this, the unpacker allocates one 6-element array and nothing else. */
static int s_precheck(const uint8_t *p, size_t len)
{
    if (len < 1 + S_ARITY || p[0] != (0x90 | S_ARITY)) return 0;
    size_t off = 1;
    for (int i = 0; i < S_ARITY; i++) {
        if (off >= len) return 0;
        uint8_t b = p[off];
        size_t need;
        if (b <= 0x7f) need = 1;
        else if (b == 0xcc) need = 2;
        else if (b == 0xcd) need = 3;
        else if (b == 0xce) need = 5;
        else if (b == 0xcf) need = 9;
        else return 0;
        if (need > len - off) return 0;
        off += need;
    }
    return off == len;
}

int mpc_wire_hdr_decode(mpc_msg_hdr *h, const uint8_t *buf, size_t len)
{
    if (!h) return MPC_ERR_INVALID;
    memset(h, 0, sizeof *h);
    if (!buf || len == 0 || len > MPC_WIRE_HDR_MAX || !s_precheck(buf, len))
        return MPC_ERR_PROTOCOL;

    int r = MPC_ERR_PROTOCOL;
    uint64_t v[S_ARITY];
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, (const char *)buf, len, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != len)
        goto out;
    const msgpack_object *o = &u.data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != S_ARITY) goto out;
    for (uint32_t i = 0; i < S_ARITY; i++) {
        const msgpack_object *e = &o->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER) goto out;
        v[i] = e->via.u64;
    }
    if (v[0] > UINT8_MAX || v[1] > UINT8_MAX || v[4] > UINT16_MAX) goto out;
    mpc_msg_hdr t = {
        .version = (uint8_t)v[0],
        .type = (uint8_t)v[1],
        .stream = v[2],
        .seq = v[3],
        .sender = (uint16_t)v[4],
        .count = v[5],
    };
    if (!s_hdr_ok(&t)) goto out;
    *h = t;
    r = 0;
out:
    msgpack_unpacked_destroy(&u);
    return r;
}

int mpc_wire_payload_check(const mpc_msg_hdr *h, size_t payload_len, uint64_t max_payload)
{
    if (!h || h->count > MPC_WIRE_MAX_COUNT) return MPC_ERR_PROTOCOL;
    if (h->count * 8 > max_payload) return MPC_ERR_LIMIT;
    if ((uint64_t)payload_len != h->count * 8) return MPC_ERR_PROTOCOL;
    return 0;
}
