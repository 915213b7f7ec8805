/* check_keys.c — Z85 known answers (ZeroMQ RFC 32, zmq_curve(7)), round trips against libzmq,
 * refusal of bad text, CURVE key pairs and key files with their modes. */
#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "runner.h"
#include "keys.h"
#include "mpc_err.h"

START_TEST(test_z85_rfc32_vector)
{
    static const uint8_t bin[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    char txt[11];
    ck_assert_int_eq(mpc_z85_encode(txt, sizeof txt, bin, sizeof bin), 0);
    ck_assert_str_eq(txt, "HelloWorld");
    uint8_t back[8];
    ck_assert_int_eq(mpc_z85_decode(back, sizeof back, "HelloWorld", 10), 0);
    ck_assert_mem_eq(back, bin, 8);
}
END_TEST

/* The server key pair printed in the zmq_curve(7) manual page: the public key must follow
 * from the secret by X25519 and both must survive Z85 both ways. */
START_TEST(test_curve_known_pair)
{
    const char *sec_z = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
    const char *pub_z = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    uint8_t sec[32], pub[32];
    ck_assert_int_eq(mpc_key_from_z85(sec, sec_z), 0);
    ck_assert_int_eq(mpc_key_from_z85(pub, pub_z), 0);
    mpc_keypair *kp = mpc_keypair_from_secret(sec);
    ck_assert_ptr_nonnull(kp);
    ck_assert_mem_eq(mpc_keypair_public(kp), pub, 32);
    char z[MPC_KEY_Z85_LEN + 1];
    mpc_key_to_z85(z, mpc_keypair_public(kp));
    ck_assert_str_eq(z, pub_z);
    mpc_key_to_z85(z, mpc_keypair_secret(kp));
    ck_assert_str_eq(z, sec_z);
    mpc_keypair_destroy(&kp);
    ck_assert_ptr_null(kp);
    mpc_keypair_destroy(&kp); /* NULL is accepted */
}
END_TEST

START_TEST(test_z85_round_trips_match_libzmq)
{
    ck_assert_int_ge(sodium_init(), 0);
    for (size_t len = 4; len <= 64; len += 4) {
        for (int rep = 0; rep < 50; rep++) {
            uint8_t bin[64], back[64];
            char ours[81], theirs[81];
            randombytes_buf(bin, len);
            if (rep == 0) memset(bin, 0xff, len);
            if (rep == 1) memset(bin, 0, len);
            ck_assert_int_eq(mpc_z85_encode(ours, sizeof ours, bin, len), 0);
            ck_assert_ptr_nonnull(zmq_z85_encode(theirs, bin, len));
            ck_assert_str_eq(ours, theirs);
            ck_assert_uint_eq(strlen(ours), len / 4 * 5);
            ck_assert_int_eq(mpc_z85_decode(back, sizeof back, ours, strlen(ours)), 0);
            ck_assert_mem_eq(back, bin, len);
        }
    }
}
END_TEST

START_TEST(test_z85_refuses_bad_text)
{
    uint8_t out[32];
    char good[MPC_KEY_Z85_LEN + 1];
    mpc_keypair *kp = mpc_keypair_new();
    ck_assert_ptr_nonnull(kp);
    mpc_key_to_z85(good, mpc_keypair_public(kp));
    ck_assert_int_eq(mpc_key_from_z85(out, good), 0);
    ck_assert_mem_eq(out, mpc_keypair_public(kp), 32);

    /* Lengths: 0, 39, 41, 80. */
    ck_assert_int_eq(mpc_key_from_z85(out, ""), MPC_ERR_INVALID);
    char shorter[MPC_KEY_Z85_LEN];
    memcpy(shorter, good, 39);
    shorter[39] = '\0';
    ck_assert_int_eq(mpc_key_from_z85(out, shorter), MPC_ERR_INVALID);
    char longer[82];
    snprintf(longer, sizeof longer, "%s0", good);
    ck_assert_int_eq(mpc_key_from_z85(out, longer), MPC_ERR_INVALID);
    snprintf(longer, sizeof longer, "%s%s", good, good);
    ck_assert_int_eq(mpc_key_from_z85(out, longer), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_key_from_z85(out, NULL), MPC_ERR_INVALID);
    /* Not multiples of 5 / 4, or too small an output. */
    ck_assert_int_eq(mpc_z85_decode(out, sizeof out, good, 39), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_z85_decode(out, 28, good, 40), MPC_ERR_INVALID);
    char t[64];
    ck_assert_int_eq(mpc_z85_encode(t, sizeof t, out, 31), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_z85_encode(t, 40, out, 32), MPC_ERR_INVALID);

    /* Characters outside the alphabet, at every position class. */
    const char bad_chars[] = " \"',;\\_`|~\x7f\x80\xff\t";
    for (size_t i = 0; i < sizeof bad_chars - 1; i++) {
        for (size_t pos = 0; pos < 40; pos += 13) {
            char k[MPC_KEY_Z85_LEN + 1];
            memcpy(k, good, sizeof k);
            k[pos] = bad_chars[i];
            memset(out, 0x55, sizeof out);
            ck_assert_int_eq(mpc_key_from_z85(out, k), MPC_ERR_INVALID);
            /* The output is cleared on failure, never half-written. */
            for (size_t b = 0; b < sizeof out; b++) ck_assert_uint_eq(out[b], 0);
        }
    }
    /* A group above 2^32 - 1 ("#####" = 85^5 - 1). */
    ck_assert_int_eq(mpc_z85_decode(out, 4, "#####", 5), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_z85_decode(out, 4, "%nSc0", 5), 0); /* 2^32 - 1 exactly */
    ck_assert_uint_eq(out[0] & out[1] & out[2] & out[3], 0xff);
    ck_assert_int_eq(mpc_z85_decode(out, 4, "%nSc1", 5), MPC_ERR_INVALID);
    mpc_keypair_destroy(&kp);
}
END_TEST

START_TEST(test_keypairs_are_fresh_and_consistent)
{
    mpc_keypair *a = mpc_keypair_new(), *b = mpc_keypair_new();
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_ne(memcmp(mpc_keypair_public(a), mpc_keypair_public(b), 32), 0);
    ck_assert_int_ne(memcmp(mpc_keypair_secret(a), mpc_keypair_secret(b), 32), 0);
    uint8_t pub[32];
    ck_assert_int_eq(crypto_scalarmult_base(pub, mpc_keypair_secret(a)), 0);
    ck_assert_mem_eq(pub, mpc_keypair_public(a), 32);
    mpc_keypair *c = mpc_keypair_dup(a);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_ne(mpc_keypair_secret(c), mpc_keypair_secret(a));
    ck_assert_mem_eq(mpc_keypair_secret(c), mpc_keypair_secret(a), 32);
    ck_assert_mem_eq(mpc_keypair_public(c), mpc_keypair_public(a), 32);
    mpc_keypair_destroy(&a);
    mpc_keypair_destroy(&b);
    mpc_keypair_destroy(&c);
    ck_assert_ptr_null(c);
}
END_TEST

static char s_dir[64];

static void s_mkdir(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/check_keys.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
}

static void s_rmdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static mode_t s_mode(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_mode & 07777;
}

START_TEST(test_key_files_modes_and_round_trip)
{
    s_mkdir();
    umask(0); /* the secret file must still come out 0600 */
    char pp[256], sp[256], err[512];
    ck_assert_int_eq(mpc_keys_generate_files(s_dir, "alice", pp, sp, sizeof pp, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(pp, "/alice.pub"));
    ck_assert_ptr_nonnull(strstr(sp, "/alice.secret"));
    ck_assert_uint_eq(s_mode(sp), 0600);
    ck_assert_uint_eq(s_mode(pp), 0644);

    uint8_t pub[32];
    mpc_keypair *kp = NULL;
    ck_assert_int_eq(mpc_keys_load_public(pub, pp, err, sizeof err), 0);
    ck_assert_int_eq(mpc_keys_load_secret(&kp, sp, err, sizeof err), 0);
    ck_assert_ptr_nonnull(kp);
    ck_assert_mem_eq(mpc_keypair_public(kp), pub, 32);

    /* The public file is the Z85 text and a newline; the secret file holds no public text. */
    char txt[64] = {0};
    FILE *f = fopen(pp, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(txt, 1, sizeof txt - 1, f), 41);
    fclose(f);
    char z[41];
    mpc_key_to_z85(z, pub);
    ck_assert_int_eq(memcmp(txt, z, 40), 0);
    ck_assert_int_eq(txt[40], '\n');

    /* Never overwrite. */
    ck_assert_int_eq(mpc_keys_generate_files(s_dir, "alice", NULL, NULL, 0, err, sizeof err),
                     MPC_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(err, "already exists"));
    mpc_keypair *kp2 = NULL;
    ck_assert_int_eq(mpc_keys_load_secret(&kp2, sp, err, sizeof err), 0);
    ck_assert_mem_eq(mpc_keypair_secret(kp2), mpc_keypair_secret(kp), 32);
    mpc_keypair_destroy(&kp2);

    /* Bad names. */
    ck_assert_int_eq(mpc_keys_generate_files(s_dir, "../x", NULL, NULL, 0, err, sizeof err),
                     MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_keys_generate_files(s_dir, ".hidden", NULL, NULL, 0, err, sizeof err),
                     MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_keys_generate_files(s_dir, "", NULL, NULL, 0, err, sizeof err),
                     MPC_ERR_INVALID);
    mpc_keypair_destroy(&kp);
    s_rmdir();
}
END_TEST

START_TEST(test_secret_file_refused_when_readable_by_others)
{
    s_mkdir();
    char pp[256], sp[256], err[512];
    ck_assert_int_eq(mpc_keys_generate_files(s_dir, "bob", pp, sp, sizeof pp, err, sizeof err), 0);
    static const mode_t bad[] = {0644, 0640, 0604, 0660, 0606, 0610, 0601};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(chmod(sp, bad[i]), 0);
        mpc_keypair *kp = (mpc_keypair *)1;
        err[0] = '\0';
        ck_assert_int_eq(mpc_keys_load_secret(&kp, sp, err, sizeof err), MPC_ERR_DENIED);
        ck_assert_ptr_null(kp);
        ck_assert_ptr_nonnull(strstr(err, "group or others"));
        ck_assert_ptr_nonnull(strstr(err, sp));
        ck_assert_ptr_nonnull(strstr(err, "chmod 600"));
    }
    /* 0400 is fine; a public file may be world readable. */
    ck_assert_int_eq(chmod(sp, 0400), 0);
    mpc_keypair *kp = NULL;
    ck_assert_int_eq(mpc_keys_load_secret(&kp, sp, err, sizeof err), 0);
    mpc_keypair_destroy(&kp);
    uint8_t pub[32];
    ck_assert_int_eq(mpc_keys_load_public(pub, pp, err, sizeof err), 0);

    /* Not a regular file; a symlink to the secret; a missing file. */
    ck_assert_int_eq(mpc_keys_load_secret(&kp, s_dir, err, sizeof err), MPC_ERR_DENIED);
    char link[256];
    snprintf(link, sizeof link, "%s/link.secret", s_dir);
    ck_assert_int_eq(symlink(sp, link), 0);
    ck_assert_int_ne(mpc_keys_load_secret(&kp, link, err, sizeof err), 0);
    ck_assert_ptr_null(kp);
    snprintf(link, sizeof link, "%s/none.secret", s_dir);
    ck_assert_int_eq(mpc_keys_load_secret(&kp, link, err, sizeof err), MPC_ERR_NOTFOUND);
    s_rmdir();
}
END_TEST

static void s_write(const char *path, const char *text, size_t len, mode_t mode)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    fclose(f);
    ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(test_malformed_key_files_refused)
{
    s_mkdir();
    char path[256], err[512], txt[128];
    snprintf(path, sizeof path, "%s/k", s_dir);
    uint8_t pub[32];
    struct { const char *text; int ok; } cases[] = {
        {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n", 1},
        {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", 1},
        {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\r\n", 1},
        {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\n", 0},
        {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7X\n", 0},
        {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n\n", 0},
        {" rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", 0},
        {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]y~7\n", 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unlink(path);
        s_write(path, cases[i].text, strlen(cases[i].text), 0600);
        int r = mpc_keys_load_public(pub, path, err, sizeof err);
        ck_assert_msg((r == 0) == cases[i].ok, "case %zu: r=%d", i, r);
        if (!cases[i].ok) ck_assert_ptr_nonnull(strstr(err, path));
        mpc_keypair *kp = NULL;
        ck_assert_int_eq(mpc_keys_load_secret(&kp, path, err, sizeof err) == 0, cases[i].ok);
        mpc_keypair_destroy(&kp);
    }
    /* A huge file is refused, not read whole. */
    unlink(path);
    memset(txt, 'a', sizeof txt);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 1000; i++) ck_assert_uint_eq(fwrite(txt, 1, sizeof txt, f), sizeof txt);
    fclose(f);
    ck_assert_int_eq(mpc_keys_load_public(pub, path, err, sizeof err), MPC_ERR_INVALID);
    s_rmdir();
}
END_TEST

/* The audit signing pair: its own file names, its public half the Ed25519 key of the seed
 * (a signature made with it verifies), and the same secret read as a CURVE key gives another
 * public key, so a key of the wrong kind never matches its public file. */
START_TEST(test_sign_key_files)
{
    s_mkdir();
    char pp[256], sp[256], err[512];
    ck_assert_int_eq(mpc_keys_generate_files_kind(s_dir, "alice", MPC_KEY_SIGN, pp, sp, sizeof pp, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(pp, "/alice.sign.pub"));
    ck_assert_ptr_nonnull(strstr(sp, "/alice.sign.secret"));
    ck_assert_uint_eq(s_mode(sp), 0600);
    mpc_keypair *kp = NULL, *curve = NULL;
    uint8_t pub[32];
    ck_assert_int_eq(mpc_keys_load_public(pub, pp, err, sizeof err), 0);
    ck_assert_int_eq(mpc_keys_load_secret_kind(&kp, sp, MPC_KEY_SIGN, err, sizeof err), 0);
    ck_assert_mem_eq(mpc_keypair_public(kp), pub, 32);
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], sig[crypto_sign_BYTES];
    ck_assert_int_eq(crypto_sign_seed_keypair(pk, sk, mpc_keypair_secret(kp)), 0);
    ck_assert_int_eq(crypto_sign_detached(sig, NULL, (const unsigned char *)"m", 1, sk), 0);
    ck_assert_int_eq(crypto_sign_verify_detached(sig, (const unsigned char *)"m", 1, pub), 0);
    sodium_memzero(sk, sizeof sk);
    ck_assert_int_eq(mpc_keys_load_secret(&curve, sp, err, sizeof err), 0);
    ck_assert(memcmp(mpc_keypair_public(curve), pub, 32) != 0);
    mpc_keypair_destroy(&kp);
    mpc_keypair_destroy(&curve);
    /* Never overwritten. */
    ck_assert_int_eq(mpc_keys_generate_files_kind(s_dir, "alice", MPC_KEY_SIGN, NULL, NULL, 0, err, sizeof err),
                     MPC_ERR_STATE);
    s_rmdir();
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("keys");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_z85_rfc32_vector);
    tcase_add_test(tc, test_curve_known_pair);
    tcase_add_test(tc, test_z85_round_trips_match_libzmq);
    tcase_add_test(tc, test_z85_refuses_bad_text);
    tcase_add_test(tc, test_keypairs_are_fresh_and_consistent);
    tcase_add_test(tc, test_key_files_modes_and_round_trip);
    tcase_add_test(tc, test_secret_file_refused_when_readable_by_others);
    tcase_add_test(tc, test_malformed_key_files_refused);
    tcase_add_test(tc, test_sign_key_files);
    suite_add_tcase(s, tc);
    return s;
}

