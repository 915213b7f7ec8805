/* check_wire.c — the peer header codec: round trips at the range edges and refusal of every
 * malformed header shape (arity, element types, ranges, sizes, truncation, trailing bytes). */
#include <check.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "mpc_err.h"
#include "wire.h"

static void s_rt(const mpc_msg_hdr *h)
{
    uint8_t buf[MPC_WIRE_HDR_MAX];
    size_t len = 0;
    ck_assert_int_eq(mpc_wire_hdr_encode(buf, sizeof buf, &len, h), 0);
    ck_assert_uint_le(len, 35);
    mpc_msg_hdr d;
    ck_assert_int_eq(mpc_wire_hdr_decode(&d, buf, len), 0);
    ck_assert_uint_eq(d.version, h->version);
    ck_assert_uint_eq(d.type, h->type);
    ck_assert_uint_eq(d.stream, h->stream);
    ck_assert_uint_eq(d.seq, h->seq);
    ck_assert_uint_eq(d.sender, h->sender);
    ck_assert_uint_eq(d.count, h->count);
    /* Every strict prefix is refused, and so is any trailing byte. */
    for (size_t k = 0; k < len; k++) ck_assert_int_eq(mpc_wire_hdr_decode(&d, buf, k), MPC_ERR_PROTOCOL);
    buf[len] = 0;
    ck_assert_int_eq(mpc_wire_hdr_decode(&d, buf, len + 1), MPC_ERR_PROTOCOL);
}

START_TEST(test_round_trips)
{
    ck_assert_int_ge(sodium_init(), 0);
    static const uint64_t edge[] = {0, 1, 127, 128, 255, 256, 65535, 65536, UINT32_MAX,
                                    (uint64_t)UINT32_MAX + 1, MPC_STREAM_PREP_BIT, UINT64_MAX};
    static const uint8_t types[] = {MPC_MSG_OPEN, MPC_MSG_INPUT, MPC_MSG_OUTPUT, MPC_MSG_PREP,
                                    MPC_MSG_CONTROL, MPC_MSG_ABORT, MPC_WIRE_MSG_HELLO,
                                    MPC_WIRE_MSG_HELLO_ACK, MPC_WIRE_MSG_LANE_SYNC};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
        for (size_t t = 0; t < sizeof types; t++) {
            mpc_msg_hdr h = {.version = MPC_WIRE_VERSION, .type = types[t], .stream = edge[i],
                             .seq = edge[(i + 3) % 12], .sender = (uint16_t)(i % 16),
                             .count = edge[i] > MPC_WIRE_MAX_COUNT ? MPC_WIRE_MAX_COUNT : edge[i]};
            s_rt(&h);
        }
    for (int i = 0; i < 2000; i++) {
        mpc_msg_hdr h = {.version = MPC_WIRE_VERSION,
                         .type = types[randombytes_uniform(sizeof types)],
                         .stream = ((uint64_t)randombytes_random() << 32 | randombytes_random()) >>
                                randombytes_uniform(64),
                         .seq = (uint64_t)randombytes_random() >> randombytes_uniform(32),
                         .sender = (uint16_t)randombytes_uniform(16),
                         .count = (uint64_t)randombytes_random() >> randombytes_uniform(32)};
        s_rt(&h);
    }
}
END_TEST

START_TEST(test_encode_refuses_out_of_range)
{
    uint8_t buf[MPC_WIRE_HDR_MAX];
    size_t len;
    mpc_msg_hdr ok = {.version = MPC_WIRE_VERSION, .type = MPC_MSG_OPEN, .count = 1};
    ck_assert_int_eq(mpc_wire_hdr_encode(buf, sizeof buf, &len, &ok), 0);
    mpc_msg_hdr h = ok;
    h.version = 2;
    ck_assert_int_eq(mpc_wire_hdr_encode(buf, sizeof buf, &len, &h), MPC_ERR_INVALID);
    h = ok;
    h.type = 0;
    ck_assert_int_eq(mpc_wire_hdr_encode(buf, sizeof buf, &len, &h), MPC_ERR_INVALID);
    h = ok;
    h.sender = 16;
    ck_assert_int_eq(mpc_wire_hdr_encode(buf, sizeof buf, &len, &h), MPC_ERR_INVALID);
    h = ok;
    h.count = MPC_WIRE_MAX_COUNT + 1;
    ck_assert_int_eq(mpc_wire_hdr_encode(buf, sizeof buf, &len, &h), MPC_ERR_INVALID);
    /* Too small a buffer. */
    h = ok;
    h.stream = UINT64_MAX;
    ck_assert_int_eq(mpc_wire_hdr_encode(buf, 12, &len, &h), MPC_ERR_INVALID);
}
END_TEST

/* A packer writing into an sbuffer, for building hostile headers. */
typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} s_msg;

static void s_begin(s_msg *m)
{
    msgpack_sbuffer_init(&m->sb);
    msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

static int s_decode_end(s_msg *m)
{
    mpc_msg_hdr h;
    memset(&h, 0xaa, sizeof h);
    int r = mpc_wire_hdr_decode(&h, (const uint8_t *)m->sb.data, m->sb.size);
    if (r != 0) {
        /* A refused header leaves a zeroed result, never partial data. */
        ck_assert_uint_eq(h.stream | h.seq | h.count | h.type | h.version | h.sender, 0);
    }
    msgpack_sbuffer_destroy(&m->sb);
    return r;
}

/* Six elements where element `bad` is replaced by what `kind` says. */
static int s_six_with(int bad, int kind)
{
    s_msg m;
    s_begin(&m);
    msgpack_pack_array(&m.pk, 6);
    const uint64_t good[6] = {MPC_WIRE_VERSION, MPC_MSG_OPEN, 7, 3, 1, 2};
    for (int i = 0; i < 6; i++) {
        if (i != bad) {
            msgpack_pack_uint64(&m.pk, good[i]);
            continue;
        }
        switch (kind) {
        case 0: msgpack_pack_uint64(&m.pk, good[i]); break;       /* control: valid */
        case 1: msgpack_pack_int64(&m.pk, -1); break;
        case 2: msgpack_pack_double(&m.pk, 1.0); break;
        case 3: msgpack_pack_true(&m.pk); break;
        case 4: msgpack_pack_nil(&m.pk); break;
        case 5: msgpack_pack_str(&m.pk, 1); msgpack_pack_str_body(&m.pk, "1", 1); break;
        case 6: msgpack_pack_bin(&m.pk, 1); msgpack_pack_bin_body(&m.pk, "1", 1); break;
        case 7: msgpack_pack_array(&m.pk, 1); msgpack_pack_uint8(&m.pk, 1); break;
        case 8: msgpack_pack_map(&m.pk, 0); break;
        case 9: msgpack_pack_float(&m.pk, 1.0f); break;
        case 10: msgpack_pack_ext(&m.pk, 1, 1); msgpack_pack_ext_body(&m.pk, "x", 1); break;
        }
    }
    return s_decode_end(&m);
}

START_TEST(test_decode_refuses_wrong_types)
{
    for (int bad = 0; bad < 6; bad++) {
        ck_assert_int_eq(s_six_with(bad, 0), 0);
        for (int kind = 1; kind <= 10; kind++)
            ck_assert_msg(s_six_with(bad, kind) == MPC_ERR_PROTOCOL, "element %d kind %d", bad, kind);
    }
}
END_TEST

static int s_arity(uint32_t n)
{
    s_msg m;
    s_begin(&m);
    msgpack_pack_array(&m.pk, n);
    for (uint32_t i = 0; i < n; i++) msgpack_pack_uint8(&m.pk, i == 0 ? MPC_WIRE_VERSION : 1);
    return s_decode_end(&m);
}

START_TEST(test_decode_refuses_wrong_arity_and_shapes)
{
    ck_assert_int_eq(s_arity(6), 0);
    for (uint32_t n = 0; n <= 8; n++)
        if (n != 6) ck_assert_int_eq(s_arity(n), MPC_ERR_PROTOCOL);
    /* A map instead of an array; a bare integer; an array16 holding six elements. */
    s_msg m;
    s_begin(&m);
    msgpack_pack_map(&m.pk, 3);
    for (int i = 0; i < 6; i++) msgpack_pack_uint8(&m.pk, 1);
    ck_assert_int_eq(s_decode_end(&m), MPC_ERR_PROTOCOL);
    s_begin(&m);
    msgpack_pack_uint8(&m.pk, 1);
    ck_assert_int_eq(s_decode_end(&m), MPC_ERR_PROTOCOL);
    const uint8_t a16[] = {0xdc, 0x00, 0x06, 1, 1, 0, 0, 0, 0};
    mpc_msg_hdr h;
    ck_assert_int_eq(mpc_wire_hdr_decode(&h, a16, sizeof a16), MPC_ERR_PROTOCOL);
    /* Declared-huge containers: 5 bytes that would make a naive unpacker allocate ~100 GB. */
    const uint8_t a32[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    ck_assert_int_eq(mpc_wire_hdr_decode(&h, a32, sizeof a32), MPC_ERR_PROTOCOL);
    const uint8_t m32[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    ck_assert_int_eq(mpc_wire_hdr_decode(&h, m32, sizeof m32), MPC_ERR_PROTOCOL);
    const uint8_t nested[] = {0x96, 0xdd, 0xff, 0xff, 0xff, 0xff, 1, 1, 1, 1, 1};
    ck_assert_int_eq(mpc_wire_hdr_decode(&h, nested, sizeof nested), MPC_ERR_PROTOCOL);
    /* Two headers back to back (trailing bytes). */
    const uint8_t two[] = {0x96, 1, 1, 0, 0, 0, 0, 0x96, 1, 1, 0, 0, 0, 0};
    ck_assert_int_eq(mpc_wire_hdr_decode(&h, two, 7), 0);
    ck_assert_int_eq(mpc_wire_hdr_decode(&h, two, sizeof two), MPC_ERR_PROTOCOL);
    /* Empty, NULL, and over the size bound. */
    ck_assert_int_eq(mpc_wire_hdr_decode(&h, two, 0), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_wire_hdr_decode(&h, NULL, 7), MPC_ERR_PROTOCOL);
    uint8_t big[MPC_WIRE_HDR_MAX + 1];
    memset(big, 0, sizeof big);
    memcpy(big, two, 7);
    ck_assert_int_eq(mpc_wire_hdr_decode(&h, big, sizeof big), MPC_ERR_PROTOCOL);
}
END_TEST

static int s_values(uint64_t v0, uint64_t v1, uint64_t v4, uint64_t v5)
{
    s_msg m;
    s_begin(&m);
    msgpack_pack_array(&m.pk, 6);
    msgpack_pack_uint64(&m.pk, v0);
    msgpack_pack_uint64(&m.pk, v1);
    msgpack_pack_uint64(&m.pk, UINT64_MAX);
    msgpack_pack_uint64(&m.pk, UINT64_MAX);
    msgpack_pack_uint64(&m.pk, v4);
    msgpack_pack_uint64(&m.pk, v5);
    return s_decode_end(&m);
}

START_TEST(test_decode_range_checks)
{
    ck_assert_int_eq(s_values(MPC_WIRE_VERSION, MPC_MSG_ABORT, 15, MPC_WIRE_MAX_COUNT), 0);
    ck_assert_int_eq(s_values(0, MPC_MSG_OPEN, 0, 0), MPC_ERR_PROTOCOL);           /* version */
    ck_assert_int_eq(s_values(2, MPC_MSG_OPEN, 0, 0), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_values(257, MPC_MSG_OPEN, 0, 0), MPC_ERR_PROTOCOL);         /* 257 & 255 == 1 */
    ck_assert_int_eq(s_values(MPC_WIRE_VERSION, 0, 0, 0), MPC_ERR_PROTOCOL);       /* type */
    ck_assert_int_eq(s_values(MPC_WIRE_VERSION, 7, 0, 0), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_values(MPC_WIRE_VERSION, 0x101, 0, 0), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_values(MPC_WIRE_VERSION, 0x40, 0, 0), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_values(MPC_WIRE_VERSION, 1, 16, 0), MPC_ERR_PROTOCOL);      /* sender */
    ck_assert_int_eq(s_values(MPC_WIRE_VERSION, 1, 65536 + 1, 0), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_values(MPC_WIRE_VERSION, 1, 0, MPC_WIRE_MAX_COUNT + 1), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_values(MPC_WIRE_VERSION, 1, 0, UINT64_MAX), MPC_ERR_PROTOCOL);
}
END_TEST

START_TEST(test_payload_check)
{
    mpc_msg_hdr h = {.version = 1, .type = 1, .count = 4};
    ck_assert_int_eq(mpc_wire_payload_check(&h, 32, 1024), 0);
    ck_assert_int_eq(mpc_wire_payload_check(&h, 31, 1024), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_wire_payload_check(&h, 33, 1024), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_wire_payload_check(&h, 0, 1024), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_wire_payload_check(&h, 32, 31), MPC_ERR_LIMIT);
    h.count = 0;
    ck_assert_int_eq(mpc_wire_payload_check(&h, 0, 0), 0);
    ck_assert_int_eq(mpc_wire_payload_check(&h, 8, 1024), MPC_ERR_PROTOCOL);
    h.count = MPC_WIRE_MAX_COUNT;
    ck_assert_int_eq(mpc_wire_payload_check(&h, 0, UINT64_MAX), MPC_ERR_PROTOCOL);
    h.count = MPC_WIRE_MAX_COUNT + 1; /* never produced by the decoder; no overflow either */
    ck_assert_int_eq(mpc_wire_payload_check(&h, 0, UINT64_MAX), MPC_ERR_PROTOCOL);
}
END_TEST

/* Random mutations of valid headers: the decoder never crashes and whatever it accepts
 * re-encodes to a header that decodes to the same fields. */
START_TEST(test_mutations_are_safe)
{
    ck_assert_int_ge(sodium_init(), 0);
    for (int it = 0; it < 20000; it++) {
        mpc_msg_hdr h = {.version = 1, .type = MPC_MSG_OPEN, .stream = randombytes_random(),
                         .seq = randombytes_random(), .sender = 2, .count = randombytes_random()};
        uint8_t buf[MPC_WIRE_HDR_MAX];
        size_t len;
        randombytes_buf(buf, sizeof buf);   /* bytes past the header are random, not unset */
        ck_assert_int_eq(mpc_wire_hdr_encode(buf, sizeof buf, &len, &h), 0);
        int flips = 1 + (int)randombytes_uniform(3);
        for (int f = 0; f < flips; f++) buf[randombytes_uniform((uint32_t)len)] = (uint8_t)randombytes_random();
        if (randombytes_uniform(4) == 0) len = randombytes_uniform((uint32_t)sizeof buf + 1);
        mpc_msg_hdr d, d2;
        if (mpc_wire_hdr_decode(&d, buf, len) == 0) {
            uint8_t b2[MPC_WIRE_HDR_MAX];
            size_t l2;
            ck_assert_int_eq(mpc_wire_hdr_encode(b2, sizeof b2, &l2, &d), 0);
            ck_assert_int_eq(mpc_wire_hdr_decode(&d2, b2, l2), 0);
            ck_assert_int_eq(memcmp(&d, &d2, sizeof d), 0);
        }
    }
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_round_trips);
    tcase_add_test(tc, test_encode_refuses_out_of_range);
    tcase_add_test(tc, test_decode_refuses_wrong_types);
    tcase_add_test(tc, test_decode_refuses_wrong_arity_and_shapes);
    tcase_add_test(tc, test_decode_range_checks);
    tcase_add_test(tc, test_payload_check);
    tcase_add_test(tc, test_mutations_are_safe);
    suite_add_tcase(s, tc);
    return s;
}

